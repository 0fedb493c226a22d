/*
 * worker.c - one rfload thread: its connections on its own epoll set, its
 * share of the arrivals, and what it measured.
 *
 * Open loop, no coordinated omission: the thread draws its arrivals ahead
 * of time (sched.c maps them to intended send times), queues each request
 * at its intended time on one of its connections whatever that
 * connection still has outstanding (requests pipeline), and measures its
 * latency from the intended time to the end of its reply.  A server that
 * stalls therefore delays every request that fell due meanwhile, as its
 * clients would see, instead of silently lowering the offered rate; and a
 * generator that falls behind shows in its own send lag (`lag`, reported),
 * not as a lower rate.
 *
 * The thread's arrivals are a Poisson process of its share of the rate
 * (its connections out of all), each request given to one of its
 * connections at random: splitting a Poisson process at random gives
 * independent Poisson processes, so every connection and the whole are
 * Poisson too.  With --uniform the gaps are constant and connections
 * take turns.
 *
 * Why epoll and one thread for many connections rather than a blocking
 * thread per connection: the sends must leave at their intended times
 * while replies are still arriving, and a thread per connection would
 * need two (a sender and a receiver) or a timed wait per read, with as
 * many context switches as requests.  One loop per thread makes a send,
 * a recv and an epoll wait per request at most (fewer when requests
 * coalesce), about 100k requests/s per core on loopback TCP.  It sleeps
 * in epoll_pwait2 (nanosecond timeout, 1 us timer slack) until --spin-us
 * before the next send, then polls, so sends leave within a few
 * microseconds of their intended time while the rate is below what the
 * core can do.
 */
#define _GNU_SOURCE
#include "rfload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "base/time.h"

#define DRAIN_POLL_NS  10000000ull   /* the wait while draining */
#define START_DELAY_NS 20000000ull   /* every thread is running by then */

/* The next arrival: lambda advances by one gap, then maps to a time. */
static void advance(struct rfload_worker *w)
{
	const struct rfload_opts *o = w->o;
	uint64_t at;

	w->lam += o->uniform ? w->lam_gap : w->lam_gap * rfload_rng_exp(&w->rng);
	at = rfload_sched_at(&o->sched, w->lam, &w->cursor);
	w->next = at == UINT64_MAX ? UINT64_MAX : w->start + at;
}

static void set_out(struct rfload_worker *w, struct rfload_conn *c, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c };

	if (c->want_out != out && epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->want_out = out;
}

/* Sends what the socket takes; the rest stays at [woff, wlen) (conn.c). */
static int flush(struct rfload_worker *w, struct rfload_conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return -1;
		c->woff += (size_t)n;
	}
	if (c->woff == c->wlen)
		c->woff = c->wlen = 0;
	c->dirty = false;
	set_out(w, c, c->wlen > 0);
	return 0;
}

/* Queues the request due at w->next on one of the thread's connections. */
static struct rfload_conn *queue_one(struct rfload_worker *w, uint64_t now)
{
	const struct rfload_workload *wl = &w->o->wl;
	struct rfload_conn *c = &w->conns[w->o->uniform ? w->rr++ % w->nconns
					  : (int)(rfload_rng_next(&w->rng) % (uint64_t)w->nconns)];
	struct rfload_pending p = { .intended = w->next, .step = (uint16_t)w->cursor };
	uint32_t key = rfload_key(wl, &w->rng), vlen = 0;
	char *at;

	p.op = rfload_rng_01(&w->rng) < wl->get_ratio ? RFLOAD_GET : RFLOAD_SET;
	if (p.op == RFLOAD_SET)
		vlen = rfload_value_size(wl, &w->rng);
	at = rfload_conn_reserve(c, 64 + (size_t)vlen + 2);
	if (!at || rfload_conn_push(c, &p) < 0)
		return NULL;
	c->wlen += rfload_req_format(at, p.op, key, vlen, wl->filler);
	w->step[p.step].sent++;
	base_hist_record(&w->lag, now - w->next);
	return c;
}

/* Queues every request whose intended time has come, then sends. */
static int issue_due(struct rfload_worker *w, uint64_t now)
{
	bool any = false;

	while (w->next <= now) {
		struct rfload_conn *c = queue_one(w, now);
		if (!c)
			return -1;
		c->dirty = any = true;
		advance(w);
	}
	for (int i = 0; any && i < w->nconns; i++)
		if (w->conns[i].dirty && flush(w, &w->conns[i]) < 0)
			return -1;
	return 0;
}

/* One reply is complete: it answers the oldest outstanding request. */
static int complete(struct rfload_worker *w, struct rfload_conn *c, uint64_t now,
		    enum rfload_reply r)
{
	struct rfload_pending p;
	struct rfload_tally *t;

	if (c->head == c->tail) {
		w->stray++;   /* a reply nobody asked for */
		return 0;
	}
	p = c->fifo[c->head++ % c->cap];
	t = &w->step[p.step];
	if (!t->hist) {
		t->hist = malloc(sizeof(*t->hist));
		if (!t->hist)
			return -1;
		base_hist_init(t->hist);
	}
	base_hist_record(t->hist, now > p.intended ? now - p.intended : 0);
	if (p.op == RFLOAD_GET && (r == RFLOAD_R_HIT || r == RFLOAD_R_MISS))
		*(r == RFLOAD_R_HIT ? &t->hits : &t->misses) += 1;
	else if (p.op == RFLOAD_SET && r == RFLOAD_R_STORED)
		t->sets++;
	else
		t->errors++;
	return 0;
}

static int consume(struct rfload_worker *w, struct rfload_conn *c, uint64_t now)
{
	size_t pos = 0, used;

	for (;;) {
		enum rfload_reply r = rfload_reply_next(&c->parse, c->rbuf + pos, c->rlen - pos,
							&used);
		pos += used;
		if (r == RFLOAD_R_MORE)
			break;
		if (r != RFLOAD_R_VALUE && complete(w, c, now, r) < 0)
			return -1;
	}
	memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
	c->rlen -= pos;
	return c->rlen == RFLOAD_RBUF ? -1 : 0;   /* a line longer than the buffer */
}

static int on_readable(struct rfload_worker *w, struct rfload_conn *c)
{
	for (;;) {
		size_t room = RFLOAD_RBUF - c->rlen;
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0)
			return -1;   /* the server closed the connection */
		c->rlen += (size_t)n;
		if (consume(w, c, base_now_ns()) < 0)
			return -1;
		if ((size_t)n < room)
			return 0;    /* drained: level-triggered epoll says when there is more */
	}
}

/* Waits for replies until the next send is spin_ns away, then polls. */
static int wait_events(struct rfload_worker *w, uint64_t now)
{
	struct epoll_event ev[64];
	uint64_t sleep_ns = DRAIN_POLL_NS;
	struct timespec ts;
	int n;

	if (w->next != UINT64_MAX)
		sleep_ns = w->next > now + w->o->spin_ns ? w->next - now - w->o->spin_ns : 0;
	ts.tv_sec = (time_t)(sleep_ns / BASE_NS_PER_SEC);
	ts.tv_nsec = (long)(sleep_ns % BASE_NS_PER_SEC);
	n = epoll_pwait2(w->ep, ev, 64, &ts, NULL);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		struct rfload_conn *c = ev[i].data.ptr;
		if ((ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && on_readable(w, c) < 0)
			return -1;
		if ((ev[i].events & EPOLLOUT) && flush(w, c) < 0)
			return -1;
	}
	return 0;
}

static size_t outstanding(const struct rfload_worker *w)
{
	size_t n = 0;

	for (int i = 0; i < w->nconns; i++)
		n += rfload_conn_outstanding(&w->conns[i]);
	return n;
}

static void *worker_main(void *arg)
{
	struct rfload_worker *w = arg;
	uint64_t now, drain_end = w->start + w->o->sched.end_ns +
				  (uint64_t)(w->o->drain * (double)BASE_NS_PER_SEC);

	prctl(PR_SET_TIMERSLACK, 1000UL);   /* wake-ups 1 us late at most, not 50 */
	while (w->next != UINT64_MAX) {
		now = base_now_ns();
		if (issue_due(w, now) < 0 || wait_events(w, now) < 0)
			goto broken;
	}
	while (outstanding(w) && base_now_ns() < drain_end)
		if (wait_events(w, base_now_ns()) < 0)
			goto broken;
	w->unanswered = outstanding(w);
	return NULL;
broken:
	w->fail = 1;
	w->unanswered = outstanding(w);
	return NULL;
}

/* ---- set-up ------------------------------------------------------------------------- */

static int worker_init(struct rfload_worker *w, const struct rfload_opts *o, int t)
{
	int share = o->conns / o->threads + (t < o->conns % o->threads);

	w->index = t;
	w->o = o;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->conns = calloc((size_t)share, sizeof(*w->conns));
	base_hist_init(&w->lag);
	rfload_rng_seed(&w->rng, o->seed, (uint64_t)t + 1);
	w->lam_gap = (double)o->conns / share;
	return w->ep < 0 || !w->conns ? -1 : 0;
}

/* Connection i belongs to thread i % threads. */
static int connect_all(struct rfload_worker *w, const struct rfload_opts *o)
{
	size_t req_max = rfload_req_max(&o->wl);

	for (int i = 0; i < o->conns; i++) {
		struct rfload_worker *x = &w[i % o->threads];
		struct rfload_conn *c = &x->conns[x->nconns];
		int fd = rfload_connect(o);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (fd < 0)
			return -1;
		if (rfload_conn_init(c, fd, req_max) < 0) {
			close(fd);
			return -1;
		}
		x->nconns++;
		if (epoll_ctl(x->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -1;
	}
	return 0;
}

int rfload_workers_start(struct rfload_worker *w, const struct rfload_opts *o)
{
	uint64_t start;

	for (int t = 0; t < o->threads; t++)
		w[t].ep = -1;   /* nothing to close yet, whichever init fails */
	for (int t = 0; t < o->threads; t++) {
		if (worker_init(&w[t], o, t) < 0)
			return -1;
	}
	if (connect_all(w, o) < 0)
		return -1;
	start = base_now_ns() + START_DELAY_NS;
	for (int t = 0; t < o->threads; t++) {
		struct rfload_worker *x = &w[t];
		x->start = start;
		/* Uniform: the threads' first arrivals interleave. */
		x->lam = o->uniform ? x->lam_gap * t / o->threads : x->lam_gap * rfload_rng_exp(&x->rng);
		x->next = rfload_sched_at(&o->sched, x->lam, &x->cursor);
		if (x->next != UINT64_MAX)
			x->next += start;
		if (pthread_create(&x->th, NULL, worker_main, x))
			return -1;
		x->started = true;
	}
	return 0;
}

void rfload_workers_free(struct rfload_worker *w, const struct rfload_opts *o)
{
	for (int t = 0; t < o->threads; t++) {
		for (int i = 0; i < w[t].nconns; i++)
			rfload_conn_free(&w[t].conns[i]);
		for (int s = 0; s < RFLOAD_MAX_STEPS; s++)
			free(w[t].step[s].hist);
		free(w[t].conns);
		if (w[t].ep >= 0)
			close(w[t].ep);
	}
}
