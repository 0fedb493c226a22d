/*
 * conn.c - one rfkv client connection: a fiber on the core that accepted
 * it, receiving with rf_recv and answering with rf_send_all (both on that
 * core's io_uring: no other system call per request).
 *
 * Everything that arrived in one receive is handled before anything is
 * sent, so pipelined requests get their answers in one send.  Each request
 * completed by a receive is recorded (rf_latency_record) with the time from
 * that receive to the end of the send that answers it: the latency signal
 * rfd's monitoring and policy read.  The input
 * buffer grows to hold a whole value (up to -I) or a long multiget line;
 * buffers that grew past BUF_KEEP are given back once drained, so a
 * connection that once moved a large value does not keep it.
 *
 * Connections follow the cores (balance): a core added while clients are
 * connected gets no new connection from them, so without a move it would
 * only take a share of the shards while the old core kept every socket's
 * I/O, the larger part of a request's cost.  Between two receives (nothing
 * of the connection's in flight) a connection on a core holding at least
 * two more connections than the least loaded running core moves there
 * (rf_spawn_on, its state on the heap); one at a time, so the counts
 * settle within a few requests.  A connection librf moved with a leaving
 * core is counted where it runs now.  Only serving cores count (place.c):
 * a connection on a core starved of its CPU moves to a serving one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <rf/io.h>
#include <rf/rf.h>
#include "kv.h"

#define BUF_START 16384u
#define BUF_KEEP  (256u * 1024u)

struct conn {
	int fd;
	int on;                 /* the core it is counted on (conns_on) */
	char *in;
	size_t inlen, incap;
	struct kv_out out;
	struct kv_conn_state st;
};

static int grow_in(struct conn *c, size_t want)
{
	size_t cap = c->incap;
	char *p;

	if (want <= cap)
		return 0;
	while (cap < want)
		cap *= 2;
	p = rf_realloc(c->in, cap);
	if (!p)
		return -1;
	c->in = p;
	c->incap = cap;
	return 0;
}

/* Send what is queued; give back a buffer that grew large. */
static int flush_out(struct conn *c)
{
	ssize_t n = c->out.len ? rf_send_all(c->fd, c->out.buf, c->out.len) : 0;

	if (n > 0)
		kv_stats_self()->bytes_written += (uint64_t)n;
	c->out.len = 0;
	if (c->out.cap > BUF_KEEP) {
		rf_free(c->out.buf);
		c->out.buf = NULL;
		c->out.cap = 0;
	}
	return n < 0 || c->out.oom ? -1 : 0;
}

/* Handle what came in; keep the unfinished rest at the buffer's start. */
static int handle(struct conn *c)
{
	size_t need, used = kv_proto_process(&c->st, c->in, c->inlen, &c->out, &need);

	memmove(c->in, c->in + used, c->inlen - used);
	c->inlen -= used;
	if (need)
		need -= used;
	if (c->incap > BUF_KEEP && c->inlen < BUF_START && need < BUF_START) {
		char *p = rf_realloc(c->in, BUF_START);
		if (p) {
			c->in = p;
			c->incap = BUF_START;
		}
	}
	return grow_in(c, need > c->inlen + 1 ? need : c->inlen + 1);
}

static void record_latency(struct kv_conn_state *st, uint64_t ns)
{
	for (; st->done; st->done--)
		rf_latency_record(ns);
}

/* Connections per core index (balance); moved only by atomics. */
static int conns_on[KV_MAX_CORES];

static void count_on(struct conn *c, int core)
{
	if (c->on >= 0)
		__atomic_sub_fetch(&conns_on[c->on], 1, __ATOMIC_RELAXED);
	c->on = core;
	if (core >= 0)
		__atomic_add_fetch(&conns_on[core], 1, __ATOMIC_RELAXED);
}

/* The core c should move to (balance), or -1 to stay. */
static int balance_target(struct conn *c)
{
	int self = rf_core_self(), best = -1, n = rf_ncores_max();

	if (self != c->on)
		count_on(c, self < KV_MAX_CORES ? self : -1); /* librf moved it */
	if (c->on < 0 || rf_ncores() < 2)
		return -1;
	/* On a core that should not serve (place.c) any serving core is better. */
	bool serves = kv_place_serves(c->on, -1);
	int mine = __atomic_load_n(&conns_on[c->on], __ATOMIC_RELAXED);
	int least = serves ? mine : INT_MAX;
	for (int k = 0; k < n && k < KV_MAX_CORES; k++) {
		int has = __atomic_load_n(&conns_on[k], __ATOMIC_RELAXED);
		if (k != c->on && has < least && kv_place_serves(k, -1)) {
			least = has;
			best = k;
		}
	}
	return best >= 0 && (!serves || mine - least >= 2) ? best : -1;
}

static void conn_run(void *arg);

/* Serve c from now on on core `to`; false if it cannot (it stays). */
static bool move_to(struct conn *c, int to)
{
	int from = c->on;

	count_on(c, to);
	if (rf_spawn_on(to, conn_run, c) == 0)
		return true;
	count_on(c, from);
	return false;
}

static void conn_run(void *arg)
{
	struct conn *c = arg;
	ssize_t n;
	int to;

	while (!c->st.quit && !c->st.close_now) {
		if ((to = balance_target(c)) >= 0 && move_to(c, to))
			return;
		n = rf_recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
		if (n <= 0)
			break;
		uint64_t t0 = rf_now_ns();
		kv_stats_self()->bytes_read += (uint64_t)n;
		c->inlen += (size_t)n;
		if (handle(c) < 0 || c->st.close_now || flush_out(c) < 0)
			break;
		record_latency(&c->st, rf_now_ns() - t0);
	}
	kv_stats_self()->curr_connections--;
	count_on(c, -1);
	rf_closefd(c->fd);
	rf_free(c->in);
	rf_free(c->out.buf);
	rf_free(c);
}

static void conn_main(void *arg)
{
	struct conn *c = rf_calloc(1, sizeof(*c));

	if (!c || !(c->in = rf_malloc(BUF_START))) {
		kv_stats_self()->curr_connections--;
		rf_closefd((int)(intptr_t)arg);
		rf_free(c);
		return;
	}
	c->fd = (int)(intptr_t)arg;
	c->incap = BUF_START;
	c->on = -1;
	count_on(c, rf_core_self() < KV_MAX_CORES ? rf_core_self() : -1);
	conn_run(c);
}

/* Serve fd in a new fiber on this core; false (fd closed) if impossible. */
bool kv_conn_start(int fd)
{
	struct kv_core_stats *st = kv_stats_self();

	st->total_connections++;
	st->curr_connections++;
	if (rf_spawn(conn_main, (void *)(intptr_t)fd) < 0) {
		st->curr_connections--;
		st->rejected_connections++;
		rf_closefd(fd);
		return false;
	}
	return true;
}
