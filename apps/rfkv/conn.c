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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <rf/io.h>
#include <rf/rf.h>
#include "kv.h"

#define BUF_START 16384u
#define BUF_KEEP  (256u * 1024u)

struct conn {
	int fd;
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

static void conn_main(void *arg)
{
	struct conn c = { .fd = (int)(intptr_t)arg, .incap = BUF_START };
	ssize_t n;

	c.in = rf_malloc(c.incap);
	if (!c.in)
		goto out;
	while (!c.st.quit && !c.st.close_now) {
		n = rf_recv(c.fd, c.in + c.inlen, c.incap - c.inlen, 0);
		if (n <= 0)
			break;
		uint64_t t0 = rf_now_ns();
		kv_stats_self()->bytes_read += (uint64_t)n;
		c.inlen += (size_t)n;
		if (handle(&c) < 0 || c.st.close_now || flush_out(&c) < 0)
			break;
		record_latency(&c.st, rf_now_ns() - t0);
	}
out:
	kv_stats_self()->curr_connections--;
	rf_closefd(c.fd);
	rf_free(c.in);
	rf_free(c.out.buf);
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
