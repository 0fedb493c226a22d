/*
 * rfkv - RainForest's latency-critical example service: an in-memory
 * key-value server speaking a subset of the memcached text protocol over
 * TCP, built on librf (fibers, rf_malloc, I/O through each core's
 * io_uring).
 *
 *   rfkv [--port P] [--max-value BYTES]        (default port 11311)
 *
 * Protocol (memcached text): get KEY [KEY...], set KEY FLAGS EXPTIME BYTES
 * [noreply] + data, delete KEY [noreply], version, quit.  Requests may be
 * pipelined; the replies to everything that arrived in one receive go out
 * in one send.
 *
 * Shape.  One listening socket, shared by one acceptor fiber per core.
 * Each acceptor accepts with rf_accept on its own core's ring; the kernel
 * hands each new connection to one waiting accept (io_uring accepts wait
 * exclusively), so connections spread over the cores without a hand-off,
 * and each connection is served by a fiber on the core that accepted it:
 * receive, parse, touch the store, send, all on that core.  (SO_REUSEPORT
 * with a socket per core would spread connections too, but closing one of
 * those sockets when its core goes away resets the connections queued on
 * it; a shared socket loses nothing.)
 *
 * Cores coming and going.  A connection's fiber moves with the rest of a
 * leaving core's work, and librf re-issues its pending receive on the new
 * core, so connections survive.  The leaving core's acceptor moves the same
 * way; once its home core runs again it goes back there after its next
 * accept (by spawning itself on its home core and ending).  A core added
 * later (rf_on_cores_changed) gets an acceptor of its own, unless its old
 * one still lives elsewhere.
 *
 * The store: a hash table split into 1024 independently locked stripes,
 * each its own chained table that doubles when it fills.  Why stripes and
 * not a partition per core: a request touches one stripe for a few hundred
 * nanoseconds, so with 1024 stripes two cores meet on one only by rare
 * chance, and then the cost is a cache-line transfer (~110 ns on these
 * machines).  Owning each key on one core instead would turn every request
 * for a remote key into a mailbox round trip (two line transfers at best,
 * a ~20 us wake-up if the owner sleeps), and would have to re-partition the
 * data on every core change.  There is no global lock: the only shared
 * writes on the hot path are the stripe lock and the stripe's items.
 * Locks are held only for the lookup and a copy (never across I/O or a
 * yield), so a spinning fiber never waits for a parked one.  Item memory
 * comes from rf_malloc (per-core size classes, freed from any core).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "base/cpu.h"
#include <rf/io.h>
#include <rf/rf.h>

#define KV_VERSION     "rfkv-0.1"
#define NSTRIPES       1024u          /* power of two */
#define STRIPE_BUCKETS 64u            /* initial buckets per stripe */
#define MAX_KEY        250
#define MAX_LINE       2048
#define MAX_TOKENS     24             /* so "get" takes up to 23 keys */
#define MAX_CORES      1024
#define BUF_START      16384u
#define OUT_FLUSH      65536u         /* send once this much is queued */
#define REL_EXPTIME    (60 * 60 * 24 * 30)  /* memcached: larger = absolute */

/* ---- the store ------------------------------------------------------------- */

struct item {
	struct item *next;
	uint64_t hash;
	uint64_t expire_ns;   /* rf_now_ns() scale; 0 = never */
	uint32_t flags;
	uint32_t vlen;        /* value bytes, without the trailing \r\n */
	uint32_t klen;
	char data[];          /* key, then value + "\r\n" */
};

struct stripe {
	uint32_t lock;
	uint32_t mask;        /* buckets - 1 */
	uint32_t count;
	struct item **b;
} __attribute__((aligned(64)));

static struct stripe *stripes;

static void lock(uint32_t *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			base_cpu_relax();
}

static void unlock(uint32_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static uint64_t hash_key(const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;  /* FNV-1a, then a finaliser mix */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static struct stripe *stripe_of(uint64_t h)
{
	return &stripes[h & (NSTRIPES - 1)];
}

static struct item **bucket_of(struct stripe *s, uint64_t h)
{
	return &s->b[(h >> 10) & s->mask];
}

static int store_init(void)
{
	stripes = rf_calloc(NSTRIPES, sizeof(*stripes));
	if (!stripes)
		return -1;
	for (uint32_t i = 0; i < NSTRIPES; i++) {
		stripes[i].b = rf_calloc(STRIPE_BUCKETS, sizeof(struct item *));
		if (!stripes[i].b)
			return -1;
		stripes[i].mask = STRIPE_BUCKETS - 1;
	}
	return 0;
}

static bool expired(const struct item *it, uint64_t now)
{
	return it->expire_ns && it->expire_ns <= now;
}

/* Find key in s (locked); *pp is the link pointing at it. */
static struct item *find(struct stripe *s, uint64_t h, const char *k, size_t n,
			 struct item ***pp)
{
	struct item **p = bucket_of(s, h);

	for (; *p; p = &(*p)->next) {
		struct item *it = *p;
		if (it->hash == h && it->klen == n && !memcmp(it->data, k, n)) {
			*pp = p;
			return it;
		}
	}
	return NULL;
}

/* Double s's buckets (locked).  Allocation failure just keeps chains long. */
static void grow(struct stripe *s)
{
	uint32_t n = (s->mask + 1) * 2;
	struct item **nb = rf_calloc(n, sizeof(*nb)), **old = s->b;

	if (!nb)
		return;
	for (uint32_t i = 0; i <= s->mask; i++) {
		for (struct item *it = old[i], *next; it; it = next) {
			next = it->next;
			it->next = nb[(it->hash >> 10) & (n - 1)];
			nb[(it->hash >> 10) & (n - 1)] = it;
		}
	}
	s->b = nb;
	s->mask = n - 1;
	rf_free(old);
}

/* Insert `it`, replacing any item with its key.  Returns the replaced (or
 * an expired) item for the caller to free outside the lock. */
static struct item *store_set(struct item *it)
{
	struct stripe *s = stripe_of(it->hash);
	struct item **p, *old;

	lock(&s->lock);
	old = find(s, it->hash, it->data, it->klen, &p);
	if (old) {
		it->next = old->next;
		*p = it;
	} else {
		p = bucket_of(s, it->hash);
		it->next = *p;
		*p = it;
		if (++s->count > 2 * (s->mask + 1))
			grow(s);
	}
	unlock(&s->lock);
	return old;
}

/* Remove key; returns the removed item (to free) or NULL. */
static struct item *store_delete(const char *k, size_t n, bool *found)
{
	uint64_t h = hash_key(k, n);
	struct stripe *s = stripe_of(h);
	struct item **p, *it;

	lock(&s->lock);
	it = find(s, h, k, n, &p);
	if (it) {
		*p = it->next;
		s->count--;
	}
	unlock(&s->lock);
	*found = it && !expired(it, rf_now_ns());
	return it;
}

/* ---- a connection ------------------------------------------------------------ */

struct conn {
	int fd;
	char *in, *out;
	size_t inlen, incap, outlen, outcap;
	size_t need;          /* a set waits for this many input bytes */
	size_t swallow;       /* bytes of a refused value still to discard */
	bool quit;
};

static size_t max_value = 1u << 20;

static int reserve(char **buf, size_t *cap, size_t want)
{
	size_t n = *cap;
	char *p;

	if (want <= n)
		return 0;
	while (n < want)
		n *= 2;
	p = rf_realloc(*buf, n);
	if (!p)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

static void reply(struct conn *c, const char *s, size_t n)
{
	if (reserve(&c->out, &c->outcap, c->outlen + n) < 0) {
		c->quit = true;  /* out of memory: drop the connection */
		return;
	}
	memcpy(c->out + c->outlen, s, n);
	c->outlen += n;
}

#define REPLY(c, lit) reply(c, lit, sizeof(lit) - 1)

static int flush_out(struct conn *c)
{
	ssize_t n = c->outlen ? rf_send_all(c->fd, c->out, c->outlen) : 0;

	c->outlen = 0;
	return n < 0 ? -1 : 0;
}

/* Append "VALUE key flags bytes\r\n<data>\r\n" for key, if present. */
static void get_one(struct conn *c, const char *k, size_t n)
{
	uint64_t h = hash_key(k, n), now = rf_now_ns();
	struct stripe *s = stripe_of(h);
	struct item **p, *it, *dead = NULL;
	char hdr[MAX_KEY + 64];
	size_t want = 0;

	for (;;) {
		lock(&s->lock);
		it = find(s, h, k, n, &p);
		if (it && expired(it, now)) {
			*p = it->next;  /* drop it now that someone asked */
			s->count--;
			dead = it;
			it = NULL;
		}
		if (!it)
			break;
		want = (size_t)snprintf(hdr, sizeof(hdr), "VALUE %.*s %u %u\r\n", (int)n, k,
					it->flags, it->vlen) + it->vlen + 2;
		if (c->outlen + want <= c->outcap)
			break;
		unlock(&s->lock);  /* grow the buffer outside the lock, then retry */
		if (reserve(&c->out, &c->outcap, c->outlen + want) < 0) {
			c->quit = true;
			return;
		}
	}
	if (it) {
		size_t hl = want - it->vlen - 2;
		memcpy(c->out + c->outlen, hdr, hl);
		memcpy(c->out + c->outlen + hl, it->data + it->klen, it->vlen + 2);
		c->outlen += want;
	}
	unlock(&s->lock);
	rf_free(dead);
}

/* Split a line into at most max space-separated tokens. */
static int tokens(char *line, char **tok, size_t *len, int max)
{
	int n = 0;

	while (*line && n < max) {
		while (*line == ' ')
			line++;
		if (!*line)
			break;
		tok[n] = line;
		while (*line && *line != ' ')
			line++;
		len[n] = (size_t)(line - tok[n]);
		n++;
	}
	while (*line == ' ')
		line++;
	return *line ? -1 : n;  /* -1: too many tokens */
}

static bool parse_u64(const char *s, size_t n, uint64_t *v)
{
	char buf[24], *end;

	if (!n || n >= sizeof(buf) || *s == '-')
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return !errno && !*end;
}

static bool parse_i64(const char *s, size_t n, int64_t *v)
{
	char buf[24], *end;

	if (!n || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	errno = 0;
	*v = strtoll(buf, &end, 10);
	return !errno && !*end;
}

static uint64_t expire_at(int64_t exptime)
{
	uint64_t now = rf_now_ns();
	struct timespec ts;

	if (exptime == 0)
		return 0;
	if (exptime < 0)
		return 1;  /* already expired */
	if (exptime > REL_EXPTIME) {  /* absolute Unix time (vDSO, no syscall) */
		clock_gettime(CLOCK_REALTIME, &ts);
		if (exptime <= ts.tv_sec)
			return 1;
		exptime -= ts.tv_sec;
	}
	return now + (uint64_t)exptime * 1000000000ull;
}

/* "set" once its data is all in: data points at BYTES + 2 input bytes. */
static void do_set(struct conn *c, char **tok, size_t *len, int nt, const char *data)
{
	uint64_t flags, bytes;
	int64_t exptime;
	bool noreply = nt == 6;
	struct item *it, *old;

	parse_u64(tok[2], len[2], &flags);
	parse_i64(tok[3], len[3], &exptime);
	parse_u64(tok[4], len[4], &bytes);
	if (data[bytes] != '\r' || data[bytes + 1] != '\n') {
		REPLY(c, "CLIENT_ERROR bad data chunk\r\n");
		return;
	}
	it = rf_malloc(sizeof(*it) + len[1] + bytes + 2);
	if (!it) {
		REPLY(c, "SERVER_ERROR out of memory storing object\r\n");
		return;
	}
	it->hash = hash_key(tok[1], len[1]);
	it->expire_ns = expire_at(exptime);
	it->flags = (uint32_t)flags;
	it->vlen = (uint32_t)bytes;
	it->klen = (uint32_t)len[1];
	memcpy(it->data, tok[1], len[1]);
	memcpy(it->data + len[1], data, bytes + 2);
	old = store_set(it);
	if (old)
		rf_free(old);
	if (!noreply)
		REPLY(c, "STORED\r\n");
}

/* Check a set line.  Returns the value size, or -1 after replying. */
static int64_t check_set(struct conn *c, char **tok, size_t *len, int nt)
{
	uint64_t flags, bytes;
	int64_t exptime;

	if ((nt != 5 && nt != 6) || len[1] > MAX_KEY || !parse_u64(tok[2], len[2], &flags) ||
	    flags > UINT32_MAX || !parse_i64(tok[3], len[3], &exptime) ||
	    !parse_u64(tok[4], len[4], &bytes) ||
	    (nt == 6 && (len[5] != 7 || memcmp(tok[5], "noreply", 7)))) {
		REPLY(c, "CLIENT_ERROR bad command line format\r\n");
		return -1;
	}
	if (bytes > max_value) {
		REPLY(c, "SERVER_ERROR object too large for cache\r\n");
		c->swallow = (size_t)bytes + 2;
		return -1;
	}
	return (int64_t)bytes;
}

#define IS(t, l, lit) ((l) == sizeof(lit) - 1 && !memcmp(t, lit, sizeof(lit) - 1))

static void do_get(struct conn *c, char **tok, size_t *len, int nt)
{
	if (nt < 2) {
		REPLY(c, "ERROR\r\n");
		return;
	}
	for (int i = 1; i < nt; i++) {
		if (len[i] > MAX_KEY) {
			REPLY(c, "CLIENT_ERROR bad command line format\r\n");
			return;
		}
	}
	for (int i = 1; i < nt && !c->quit; i++)
		get_one(c, tok[i], len[i]);
	REPLY(c, "END\r\n");
}

static void do_delete(struct conn *c, char **tok, size_t *len, int nt)
{
	struct item *it;
	bool found, noreply = nt == 3 && IS(tok[2], len[2], "noreply");

	if (nt < 2 || nt > 3 || (nt == 3 && !noreply) || len[1] > MAX_KEY) {
		REPLY(c, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	it = store_delete(tok[1], len[1], &found);
	if (it)
		rf_free(it);
	if (!noreply) {
		if (found)
			REPLY(c, "DELETED\r\n");
		else
			REPLY(c, "NOT_FOUND\r\n");
	}
}

/* Handle one request at c->in + pos.  Returns the bytes it used, or 0 if
 * it is incomplete (c->need then says how many input bytes it needs). */
static size_t one_request(struct conn *c, size_t pos)
{
	char *line = c->in + pos, *nl, *end, *tok[MAX_TOKENS];
	size_t avail = c->inlen - pos, ll, len[MAX_TOKENS];
	int nt;
	int64_t bytes;
	char saved;

	nl = memchr(line, '\n', avail);
	if (!nl) {
		if (avail > MAX_LINE) {
			REPLY(c, "CLIENT_ERROR line too long\r\n");
			c->quit = true;
		}
		return 0;
	}
	ll = (size_t)(nl - line) + 1;
	if (ll > MAX_LINE + 2) {
		REPLY(c, "CLIENT_ERROR line too long\r\n");
		c->quit = true;
		return ll;
	}
	end = nl > line && nl[-1] == '\r' ? nl - 1 : nl;
	saved = *end;
	*end = 0;  /* the line is a C string now */
	nt = tokens(line, tok, len, MAX_TOKENS);
	if (nt <= 0) {
		REPLY(c, "ERROR\r\n");
		return ll;
	}
	if (IS(tok[0], len[0], "get")) {
		do_get(c, tok, len, nt);
	} else if (IS(tok[0], len[0], "set")) {
		if ((bytes = check_set(c, tok, len, nt)) < 0)
			return ll;
		if (avail < ll + (size_t)bytes + 2) {
			*end = saved;  /* parsed again once the data is in */
			c->need = pos + ll + (size_t)bytes + 2;
			return 0;
		}
		do_set(c, tok, len, nt, line + ll);
		return ll + (size_t)bytes + 2;
	} else if (IS(tok[0], len[0], "delete")) {
		do_delete(c, tok, len, nt);
	} else if (IS(tok[0], len[0], "version")) {
		REPLY(c, "VERSION " KV_VERSION "\r\n");
	} else if (IS(tok[0], len[0], "quit")) {
		c->quit = true;
	} else {
		REPLY(c, "ERROR\r\n");
	}
	return ll;
}

/* Handle every complete request in the input; keep the rest for later. */
static int process(struct conn *c)
{
	size_t pos = 0, used;

	c->need = 0;
	while (pos < c->inlen && !c->quit) {
		if (c->swallow) {
			size_t n = c->inlen - pos < c->swallow ? c->inlen - pos : c->swallow;
			pos += n;
			c->swallow -= n;
			continue;
		}
		used = one_request(c, pos);
		if (!used)
			break;
		pos += used;
		if (c->outlen >= OUT_FLUSH && flush_out(c) < 0)
			return -1;
	}
	memmove(c->in, c->in + pos, c->inlen - pos);
	c->inlen -= pos;
	if (c->need)
		c->need -= pos;
	return reserve(&c->in, &c->incap, c->need > c->inlen ? c->need : c->inlen + 1);
}

static void conn_main(void *arg)
{
	struct conn c = { .fd = (int)(intptr_t)arg, .incap = BUF_START, .outcap = BUF_START };
	ssize_t n;

	c.in = rf_malloc(c.incap);
	c.out = rf_malloc(c.outcap);
	if (!c.in || !c.out)
		goto out;
	while (!c.quit) {
		n = rf_recv(c.fd, c.in + c.inlen, c.incap - c.inlen, 0);
		if (n <= 0)
			break;
		c.inlen += (size_t)n;
		if (process(&c) < 0 || flush_out(&c) < 0)
			break;
	}
out:
	rf_closefd(c.fd);
	rf_free(c.in);
	rf_free(c.out);
}

/* ---- accepting ------------------------------------------------------------------ */

static int lfd = -1;
static uint32_t acceptor_alive[MAX_CORES];  /* per home core index */

static void acceptor(void *arg)
{
	int home = (int)(intptr_t)arg;

	for (;;) {
		int fd = rf_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (fd == -EINTR || fd == -ECONNABORTED || fd == -EAGAIN)
				continue;
			if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
				rf_sleep_ns(10000000);  /* out of descriptors: back off */
				continue;
			}
			fprintf(stderr, "rfkv: accept: %s\n", strerror(-fd));
			break;
		}
		if (rf_spawn(conn_main, (void *)(intptr_t)fd) < 0)
			close(fd);
		/* Moved away with a leaving core, and home runs again: go back. */
		if (rf_core_self() != home && rf_core_running(home) &&
		    rf_spawn_on(home, acceptor, arg) == 0)
			return;
	}
	__atomic_store_n(&acceptor_alive[home], 0, __ATOMIC_RELEASE);
}

static void start_acceptor(int core)
{
	if (core < 0 || core >= MAX_CORES ||
	    __atomic_exchange_n(&acceptor_alive[core], 1, __ATOMIC_ACQ_REL))
		return;
	if (rf_spawn_on(core, acceptor, (void *)(intptr_t)core) < 0)
		__atomic_store_n(&acceptor_alive[core], 0, __ATOMIC_RELEASE);
}

static void cores_changed(int core, int cpu, bool added)
{
	(void)cpu;
	if (added)
		start_acceptor(core);
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	/* Accepted sockets inherit TCP_NODELAY: no per-connection call. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- main --------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: rfkv [--port P] [--max-value BYTES]\n");
	exit(2);
}

static long num_arg(int argc, char **argv, int *i, long lo, long hi)
{
	char *end;
	long v;

	if (*i + 1 >= argc)
		usage();
	v = strtol(argv[++*i], &end, 10);
	if (*end || v < lo || v > hi)
		usage();
	return v;
}

static int app(int argc, char **argv)
{
	int port = 11311;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port"))
			port = (int)num_arg(argc, argv, &i, 0, 65535);
		else if (!strcmp(argv[i], "--max-value"))
			max_value = (size_t)num_arg(argc, argv, &i, 1, 1l << 30);
		else
			usage();
	}
	signal(SIGPIPE, SIG_IGN);
	if (store_init() < 0) {
		fprintf(stderr, "rfkv: no memory for the store\n");
		return 1;
	}
	lfd = listen_on(port);
	if (lfd < 0) {
		fprintf(stderr, "rfkv: cannot listen on port %d: %s\n", port, strerror(errno));
		return 1;
	}
	rf_on_cores_changed(cores_changed);  /* before starting: no core missed */
	for (int i = 0; i < rf_ncores_max(); i++)
		if (rf_core_running(i))
			start_acceptor(i);
	printf("rfkv: serving on port %d with %d cores\n", port, rf_ncores());
	fflush(stdout);
	for (;;)
		rf_park();  /* nobody unparks us: serve until rfd ends the subOS */
}

int main(int argc, char **argv)
{
	rf_main(argc, argv, app);
}
