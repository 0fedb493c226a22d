/*
 * conn.h - one control connection's framing and output queue (conn.c),
 * with no system call in it.
 *
 * The event loop (server.c) reads bytes into a connection's input buffer,
 * takes complete request lines out of it one at a time, and queues each
 * answer (a line, and maybe a descriptor that rides on its first byte);
 * when the socket can take bytes it writes what the queue offers.  Kept
 * apart from the sockets so that framing and queueing can be unit-tested
 * (tests/unit/test_conn.c) and fuzzed (fuzz/fuzz_rfd_conn.c) on their own.
 *
 * Limits: the input holds one protocol line at most (RF_PROTO_LINE_MAX
 * bytes and its newline); the output queue holds at most
 * RFD_CONN_OUT_MAX bytes, so a client that does not read fills only its
 * own queue and is then dropped.
 */
#ifndef RF_RFD_CONN_H
#define RF_RFD_CONN_H

#include <stdbool.h>
#include <stddef.h>

#define RFD_CONN_OUT_MAX (1u << 20)

struct rfd_conn_out; /* one queued answer (conn.c) */

struct rfd_conn {
	char *in;                 /* RF_PROTO_LINE_MAX + 1 bytes */
	size_t inlen;
	size_t line;              /* length of the line taken, +1 for its newline; 0: none */
	struct rfd_conn_out *head, *tail;
	size_t outbytes;          /* queued and not yet written */
};

/* 0, or -1 (no memory). */
int rfd_conn_init(struct rfd_conn *c);
/* Free the buffers; every descriptor still queued is given to drop_fd
 * (which closes it). */
void rfd_conn_fini(struct rfd_conn *c, void (*drop_fd)(int fd));

/* Where the next bytes read go, and how many fit (0: the buffer is full
 * and holds no complete line, see rfd_conn_next_line). */
size_t rfd_conn_in_space(struct rfd_conn *c, char **where);
/* n bytes were written at `where`. */
void rfd_conn_in_commit(struct rfd_conn *c, size_t n);

/* The next complete request line (without its newline): 1 with *line,
 * *len set (valid until rfd_conn_line_done); 0 if no line is complete yet;
 * -1 if the buffer is full without a newline (a line too long: its end
 * cannot be found, the connection must go).  A line taken and not yet
 * done is returned again. */
int rfd_conn_next_line(struct rfd_conn *c, const char **line, size_t *len);
/* The line taken is handled: drop it from the buffer. */
void rfd_conn_line_done(struct rfd_conn *c);

/* Queue an answer: len bytes of s and a newline, and fd (or -1) sent with
 * its first byte (the queue owns fd from now on, also on failure, when it
 * is given to drop_fd).  0; -1 if the queue would exceed RFD_CONN_OUT_MAX
 * or memory ran out (the connection must go). */
int rfd_conn_queue(struct rfd_conn *c, const char *s, size_t len, int fd,
		   void (*drop_fd)(int fd));
/* The bytes to write next (0: nothing queued) and *fd, the descriptor to
 * send with them, or -1. */
size_t rfd_conn_out_peek(const struct rfd_conn *c, const char **buf, int *fd);
/* n bytes (> 0) of those were written, with the descriptor if there was
 * one: returns that descriptor, now the caller's to close, or -1. */
int rfd_conn_out_advance(struct rfd_conn *c, size_t n);
static inline bool rfd_conn_out_pending(const struct rfd_conn *c)
{
	return c->head != NULL;
}

#endif
