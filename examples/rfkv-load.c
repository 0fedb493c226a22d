/* plain linux program */
/*
 * rfkv-load - open-loop load generator for rfkv (or any server speaking
 * the memcached text protocol's get/set).
 *
 *   rfkv-load [--host A] [--port P] [--rate R] [--seconds S] [--conns C]
 *             [--threads T] [--get-ratio F] [--keys K] [--value-size V]
 *             [--warmup S] [--uniform] [--no-preload] [--spin-us U] [--json]
 *
 * Not a librf program: it uses plain sockets and epoll, one event loop per
 * thread, so it measures the server and not itself.  (The Makefile links
 * librf.a into every example; only the histogram code is taken from it.)
 *
 * Open loop, no coordinated omission: every request has an intended send
 * time fixed in advance (Poisson arrivals at R/C per connection, or evenly
 * spaced with --uniform), is sent at that time whether or not earlier
 * replies have come back (requests pipeline on a connection), and its
 * latency is measured from the intended time to the end of its reply.  A
 * server (or a generator) that falls behind therefore shows up in the
 * latencies instead of silently lowering the offered rate.  Replies on a
 * connection come back in order, so each connection keeps a FIFO of the
 * intended times of its outstanding requests.
 *
 * Latencies go into log-linear histograms (src/base/hist.h), one per
 * thread, merged at the end.  Output: p50/p99/p99.9/max in microseconds,
 * the achieved rate, errors and requests still unanswered 2 s after the
 * last send; with --json one JSON object on one line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "base/hist.h"
#include "base/time.h"

#define DRAIN_NS 2000000000ull   /* wait this long for replies after the end */

struct opts {
	const char *host;
	int port, conns, threads, keys, value_size;
	double rate, seconds, warmup, get_ratio;
	bool uniform, preload, json;
	uint64_t spin_ns;
};

struct conn {
	int fd;
	uint64_t next;             /* intended time of the next request */
	uint64_t *fifo;            /* intended times of outstanding requests */
	size_t fhead, ftail, fcap; /* ring: [fhead, ftail) */
	char *wbuf;                /* bytes not yet accepted by the socket */
	size_t wlen, wcap;
	char rbuf[65536];
	size_t rlen;
	size_t skip;               /* value bytes of a VALUE reply to skip */
	bool want_out;
};

struct worker {
	pthread_t th;
	const struct opts *o;
	struct conn *conns;
	int nconns, ep;
	uint64_t seed;
	uint64_t start, warm_end, send_end;
	struct base_hist hist;
	uint64_t sent, done, errors, unanswered, max_lag;
	int fail;
};

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;  /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static double rnd01(uint64_t *s)
{
	return (double)(rnd(s) >> 11) / 9007199254740992.0;
}

/* Nanoseconds to the next request of one connection. */
static uint64_t gap_ns(struct worker *w)
{
	double mean = 1e9 * w->o->conns / w->o->rate;

	if (w->o->uniform)
		return (uint64_t)mean;
	return (uint64_t)(-log(1.0 - rnd01(&w->seed)) * mean);
}

static int connect_to(const struct opts *o)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || inet_pton(AF_INET, o->host, &a.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* ---- sending ------------------------------------------------------------ */

static int grow(void *pp, size_t *cap, size_t want, size_t elem)
{
	void **p = pp;
	size_t n = *cap ? *cap : 64;
	void *q;

	if (want <= *cap)
		return 0;
	while (n < want)
		n *= 2;
	q = realloc(*p, n * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

static int fifo_push(struct conn *c, uint64_t t)
{
	if (c->ftail - c->fhead == c->fcap) {
		/* Full: unroll into a bigger array. */
		size_t n = c->fcap ? c->fcap * 2 : 256, k = c->ftail - c->fhead;
		uint64_t *f = malloc(n * sizeof(*f));
		if (!f)
			return -1;
		for (size_t i = 0; i < k; i++)
			f[i] = c->fifo[(c->fhead + i) % c->fcap];
		free(c->fifo);
		c->fifo = f;
		c->fcap = n;
		c->fhead = 0;
		c->ftail = k;
	}
	c->fifo[c->ftail++ % c->fcap] = t;
	return 0;
}

static int queue_request(struct worker *w, struct conn *c)
{
	const struct opts *o = w->o;
	int key = (int)(rnd(&w->seed) % (uint64_t)o->keys);
	size_t need = 64 + (size_t)o->value_size;
	int n;

	if (grow(&c->wbuf, &c->wcap, c->wlen + need, 1) < 0 || fifo_push(c, c->next) < 0)
		return -1;
	if (rnd01(&w->seed) < o->get_ratio) {
		n = sprintf(c->wbuf + c->wlen, "get key:%08d\r\n", key);
	} else {
		n = sprintf(c->wbuf + c->wlen, "set key:%08d 0 0 %d\r\n", key, o->value_size);
		memset(c->wbuf + c->wlen + n, 'v', (size_t)o->value_size);
		n += o->value_size;
		memcpy(c->wbuf + c->wlen + n, "\r\n", 2);
		n += 2;
	}
	c->wlen += (size_t)n;
	w->sent++;
	return 0;
}

static void set_out_interest(struct worker *w, struct conn *c, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c };

	if (c->want_out != out) {
		epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_out = out;
	}
}

static int flush(struct worker *w, struct conn *c)
{
	size_t off = 0;

	while (off < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + off, c->wlen - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN)
				break;
			return -1;
		}
		off += (size_t)n;
	}
	memmove(c->wbuf, c->wbuf + off, c->wlen - off);
	c->wlen -= off;
	set_out_interest(w, c, c->wlen > 0);
	return 0;
}

/* Queue every request whose intended time has come; send them. */
static int send_due(struct worker *w, struct conn *c, uint64_t now)
{
	bool any = false;

	while (c->next <= now && c->next < w->send_end) {
		if (now - c->next > w->max_lag)
			w->max_lag = now - c->next;
		if (queue_request(w, c) < 0)
			return -1;
		c->next += gap_ns(w);
		any = true;
	}
	return any || c->wlen ? flush(w, c) : 0;
}

/* ---- receiving ----------------------------------------------------------- */

static void complete(struct worker *w, struct conn *c, uint64_t now, bool err)
{
	uint64_t t;

	if (c->fhead == c->ftail) {
		w->errors++;  /* a reply nobody asked for */
		return;
	}
	t = c->fifo[c->fhead++ % c->fcap];
	w->done++;
	if (err)
		w->errors++;
	if (t >= w->warm_end)
		base_hist_record(&w->hist, now > t ? now - t : 0);
}

/* Consume whole replies from c->rbuf; returns bytes used. */
static size_t parse(struct worker *w, struct conn *c, uint64_t now)
{
	size_t pos = 0;

	while (pos < c->rlen) {
		char *line = c->rbuf + pos, *nl;
		if (c->skip) {
			size_t k = c->rlen - pos < c->skip ? c->rlen - pos : c->skip;
			pos += k;
			c->skip -= k;
			continue;
		}
		nl = memchr(line, '\n', c->rlen - pos);
		if (!nl)
			break;
		pos += (size_t)(nl - line) + 1;
		if (!strncmp(line, "VALUE ", 6)) {
			char *sp = memrchr(line, ' ', (size_t)(nl - line));
			c->skip = (size_t)strtoul(sp ? sp + 1 : line, NULL, 10) + 2;
		} else if (!strncmp(line, "END", 3) || !strncmp(line, "STORED", 6) ||
			   !strncmp(line, "NOT_FOUND", 9) || !strncmp(line, "DELETED", 7)) {
			complete(w, c, now, false);
		} else {
			complete(w, c, now, true);  /* ERROR, CLIENT_ERROR, SERVER_ERROR */
		}
	}
	return pos;
}

static int on_readable(struct worker *w, struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, MSG_DONTWAIT);
		size_t used;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0)
			return -1;
		c->rlen += (size_t)n;
		used = parse(w, c, base_now_ns());
		memmove(c->rbuf, c->rbuf + used, c->rlen - used);
		c->rlen -= used;
		if (c->rlen == sizeof(c->rbuf))
			return -1;  /* a line longer than the buffer: not our server */
	}
}

/* ---- the event loop -------------------------------------------------------- */

static size_t outstanding(struct worker *w)
{
	size_t n = 0;
	for (int i = 0; i < w->nconns; i++)
		n += w->conns[i].ftail - w->conns[i].fhead;
	return n;
}

static int loop_once(struct worker *w, uint64_t now, bool sending)
{
	struct epoll_event ev[64];
	uint64_t next = UINT64_MAX;
	int timeout = 0, n;

	for (int i = 0; sending && i < w->nconns; i++) {
		if (send_due(w, &w->conns[i], now) < 0)
			return -1;
		if (w->conns[i].next < next)
			next = w->conns[i].next;
	}
	if (next > w->send_end)
		next = w->send_end;
	if (!sending)
		timeout = 10;
	else if (next > now + w->o->spin_ns)
		timeout = (int)((next - now - w->o->spin_ns) / 1000000);
	n = epoll_wait(w->ep, ev, 64, timeout);
	for (int i = 0; i < n; i++) {
		struct conn *c = ev[i].data.ptr;
		if ((ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && on_readable(w, c) < 0)
			return -1;
		if ((ev[i].events & EPOLLOUT) && flush(w, c) < 0)
			return -1;
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t now;

	for (int i = 0; i < w->nconns; i++)
		w->conns[i].next = w->start + (w->o->uniform
			? (uint64_t)(rnd01(&w->seed) * 1e9 * w->o->conns / w->o->rate)
			: gap_ns(w));
	while ((now = base_now_ns()) < w->send_end)
		if (loop_once(w, now, true) < 0)
			goto broken;
	while (outstanding(w) && (now = base_now_ns()) < w->send_end + DRAIN_NS)
		if (loop_once(w, now, false) < 0)
			goto broken;
	w->unanswered = outstanding(w);
	return NULL;
broken:
	w->fail = 1;
	w->unanswered = outstanding(w);
	return NULL;
}

/* ---- set-up: preloading, connections, threads ------------------------------- */

/* Store every key once, pipelined, so gets hit. */
static int preload(const struct opts *o)
{
	int fd = connect_to(o), batch = 256;
	char *buf = malloc((size_t)batch * (64 + (size_t)o->value_size)), rb[4096];

	if (fd < 0 || !buf)
		goto fail;
	for (int k = 0; k < o->keys; k += batch) {
		size_t len = 0;
		int n = k + batch > o->keys ? o->keys - k : batch, got = 0;
		for (int i = 0; i < n; i++) {
			len += (size_t)sprintf(buf + len, "set key:%08d 0 0 %d\r\n", k + i, o->value_size);
			memset(buf + len, 'v', (size_t)o->value_size);
			len += (size_t)o->value_size;
			memcpy(buf + len, "\r\n", 2);
			len += 2;
		}
		if (send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
			goto fail;
		while (got < n) {  /* count "STORED\r\n" lines */
			ssize_t r = recv(fd, rb, sizeof(rb), 0);
			if (r <= 0)
				goto fail;
			for (ssize_t i = 0; i < r; i++)
				got += rb[i] == '\n';
		}
	}
	free(buf);
	close(fd);
	return 0;
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return -1;
}

static int workers_start(struct worker *w, const struct opts *o)
{
	uint64_t start = base_now_ns() + 20000000;  /* every thread set up by then */

	for (int t = 0; t < o->threads; t++) {
		w[t].o = o;
		w[t].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
		w[t].start = start;
		w[t].warm_end = start + (uint64_t)(o->warmup * 1e9);
		w[t].send_end = w[t].warm_end + (uint64_t)(o->seconds * 1e9);
		w[t].ep = epoll_create1(EPOLL_CLOEXEC);
		w[t].conns = calloc((size_t)o->conns, sizeof(struct conn));
		base_hist_init(&w[t].hist);
		if (w[t].ep < 0 || !w[t].conns)
			return -1;
	}
	for (int i = 0; i < o->conns; i++) {
		struct worker *x = &w[i % o->threads];
		struct conn *c = &x->conns[x->nconns];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if ((c->fd = connect_to(o)) < 0 || epoll_ctl(x->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			return -1;
		x->nconns++;
	}
	for (int t = 0; t < o->threads; t++)
		if (pthread_create(&w[t].th, NULL, worker_main, &w[t]))
			return -1;
	return 0;
}

/* ---- options and report --------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: rfkv-load [--host A] [--port P] [--rate R] [--seconds S] "
		"[--conns C] [--threads T] [--get-ratio F] [--keys K] [--value-size V] "
		"[--warmup S] [--uniform] [--no-preload] [--spin-us U] [--json]\n");
	exit(2);
}

static double num(int argc, char **argv, int *i, double lo, double hi)
{
	char *end;
	double v;

	if (*i + 1 >= argc)
		usage();
	v = strtod(argv[++*i], &end);
	if (*end || !(v >= lo && v <= hi))
		usage();
	return v;
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	*o = (struct opts){ .host = "127.0.0.1", .port = 11311, .conns = 8, .threads = 1,
			    .keys = 10000, .value_size = 32, .rate = 10000, .seconds = 5,
			    .get_ratio = 0.9, .preload = true, .spin_ns = 200000 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--host") && i + 1 < argc)
			o->host = argv[++i];
		else if (!strcmp(a, "--port"))
			o->port = (int)num(argc, argv, &i, 1, 65535);
		else if (!strcmp(a, "--rate"))
			o->rate = num(argc, argv, &i, 1, 1e8);
		else if (!strcmp(a, "--seconds"))
			o->seconds = num(argc, argv, &i, 0.001, 1e6);
		else if (!strcmp(a, "--conns"))
			o->conns = (int)num(argc, argv, &i, 1, 100000);
		else if (!strcmp(a, "--threads"))
			o->threads = (int)num(argc, argv, &i, 1, 1024);
		else if (!strcmp(a, "--get-ratio"))
			o->get_ratio = num(argc, argv, &i, 0, 1);
		else if (!strcmp(a, "--keys"))
			o->keys = (int)num(argc, argv, &i, 1, 1e8);
		else if (!strcmp(a, "--value-size"))
			o->value_size = (int)num(argc, argv, &i, 0, 1 << 20);
		else if (!strcmp(a, "--warmup"))
			o->warmup = num(argc, argv, &i, 0, 1e6);
		else if (!strcmp(a, "--spin-us"))
			o->spin_ns = (uint64_t)(num(argc, argv, &i, 0, 1e6) * 1000);
		else if (!strcmp(a, "--uniform"))
			o->uniform = true;
		else if (!strcmp(a, "--no-preload"))
			o->preload = false;
		else if (!strcmp(a, "--json"))
			o->json = true;
		else
			usage();
	}
	if (o->threads > o->conns)
		o->threads = o->conns;
}

static void report(const struct opts *o, struct worker *w)
{
	struct base_hist *h = malloc(sizeof(*h));
	uint64_t sent = 0, done = 0, errors = 0, unanswered = 0, lag = 0;
	double us[5], achieved;

	if (!h)
		exit(1);
	base_hist_init(h);
	for (int t = 0; t < o->threads; t++) {
		base_hist_merge(h, &w[t].hist);
		sent += w[t].sent;
		done += w[t].done;
		errors += w[t].errors;
		unanswered += w[t].unanswered;
		lag = w[t].max_lag > lag ? w[t].max_lag : lag;
	}
	us[0] = (double)base_hist_percentile(h, 50) / 1e3;
	us[1] = (double)base_hist_percentile(h, 99) / 1e3;
	us[2] = (double)base_hist_percentile(h, 99.9) / 1e3;
	us[3] = (double)h->max / 1e3;
	us[4] = base_hist_mean(h) / 1e3;
	achieved = (double)h->count / o->seconds;
	if (o->json)
		printf("{\"target_rate\":%.1f,\"achieved_rate\":%.1f,\"seconds\":%.3f,"
		       "\"conns\":%d,\"threads\":%d,\"get_ratio\":%.3f,\"sent\":%llu,"
		       "\"measured\":%llu,\"errors\":%llu,\"unanswered\":%llu,"
		       "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
		       "\"mean_us\":%.1f,\"max_send_lag_us\":%.1f}\n",
		       o->rate, achieved, o->seconds, o->conns, o->threads, o->get_ratio,
		       (unsigned long long)sent, (unsigned long long)h->count,
		       (unsigned long long)errors, (unsigned long long)unanswered,
		       us[0], us[1], us[2], us[3], us[4], (double)lag / 1e3);
	else
		printf("rfkv-load: target %.0f req/s, achieved %.0f req/s over %.1f s "
		       "(%llu sent, %llu measured, %llu errors, %llu unanswered)\n"
		       "latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (mean %.1f; "
		       "max send lag %.1f)\n",
		       o->rate, achieved, o->seconds, (unsigned long long)sent,
		       (unsigned long long)h->count, (unsigned long long)errors,
		       (unsigned long long)unanswered, us[0], us[1], us[2], us[3], us[4],
		       (double)lag / 1e3);
	free(h);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct worker *w;
	int fail = 0;

	parse_opts(&o, argc, argv);
	if (o.preload && preload(&o) < 0) {
		fprintf(stderr, "rfkv-load: cannot preload %s:%d: %s\n", o.host, o.port,
			strerror(errno));
		return 1;
	}
	w = calloc((size_t)o.threads, sizeof(*w));
	if (!w || workers_start(w, &o) < 0) {
		fprintf(stderr, "rfkv-load: cannot set up %d connections to %s:%d: %s\n",
			o.conns, o.host, o.port, strerror(errno));
		return 1;
	}
	for (int t = 0; t < o.threads; t++) {
		pthread_join(w[t].th, NULL);
		fail |= w[t].fail;
	}
	if (fail)
		fprintf(stderr, "rfkv-load: a connection failed; results are partial\n");
	report(&o, w);
	return fail ? 1 : 0;
}
