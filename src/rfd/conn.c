/*
 * conn.c - a control connection's framing and output queue (conn.h).
 *
 * No system call here: the event loop does the reading and writing, this
 * file only decides what a line is and what goes out next, so both can be
 * tested and fuzzed without sockets.  Answers are queued as whole lines in
 * a list; the descriptor of an answer (chan_open's memfd) travels with the
 * first byte of its line, so the client gets it with the line it belongs
 * to.
 */
#include "rfd/conn.h"
#include "base/proto.h"

#include <stdlib.h>
#include <string.h>

struct rfd_conn_out {
	struct rfd_conn_out *next;
	size_t len, off;
	int fd;                   /* -1 once sent, or if none */
	char data[];
};

int rfd_conn_init(struct rfd_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->in = malloc(RF_PROTO_LINE_MAX + 1);
	return c->in ? 0 : -1;
}

void rfd_conn_fini(struct rfd_conn *c, void (*drop_fd)(int fd))
{
	struct rfd_conn_out *o = c->head, *next;
	for (; o; o = next) {
		next = o->next;
		if (o->fd >= 0 && drop_fd)
			drop_fd(o->fd);
		free(o);
	}
	free(c->in);
	memset(c, 0, sizeof(*c));
}

size_t rfd_conn_in_space(struct rfd_conn *c, char **where)
{
	*where = c->in + c->inlen;
	return RF_PROTO_LINE_MAX + 1 - c->inlen;
}

void rfd_conn_in_commit(struct rfd_conn *c, size_t n)
{
	c->inlen += n;
}

int rfd_conn_next_line(struct rfd_conn *c, const char **line, size_t *len)
{
	char *nl = c->inlen ? memchr(c->in, '\n', c->inlen) : NULL;
	if (!nl) {
		c->line = 0;
		return c->inlen > RF_PROTO_LINE_MAX ? -1 : 0;
	}
	*line = c->in;
	*len = (size_t)(nl - c->in);
	c->line = *len + 1;
	return 1;
}

void rfd_conn_line_done(struct rfd_conn *c)
{
	if (!c->line)
		return;
	memmove(c->in, c->in + c->line, c->inlen - c->line);
	c->inlen -= c->line;
	c->line = 0;
}

int rfd_conn_queue(struct rfd_conn *c, const char *s, size_t len, int fd,
		   void (*drop_fd)(int fd))
{
	struct rfd_conn_out *o = NULL;
	if (len < RFD_CONN_OUT_MAX && c->outbytes + len + 1 <= RFD_CONN_OUT_MAX)
		o = malloc(sizeof(*o) + len + 1);
	if (!o) {
		if (fd >= 0 && drop_fd)
			drop_fd(fd);
		return -1;
	}
	memcpy(o->data, s, len);
	o->data[len] = '\n';
	o->len = len + 1;
	o->off = 0;
	o->fd = fd;
	o->next = NULL;
	if (c->tail)
		c->tail->next = o;
	else
		c->head = o;
	c->tail = o;
	c->outbytes += o->len;
	return 0;
}

size_t rfd_conn_out_peek(const struct rfd_conn *c, const char **buf, int *fd)
{
	const struct rfd_conn_out *o = c->head;
	*fd = o ? o->fd : -1;
	*buf = o ? o->data + o->off : NULL;
	return o ? o->len - o->off : 0;
}

int rfd_conn_out_advance(struct rfd_conn *c, size_t n)
{
	struct rfd_conn_out *o = c->head;
	int fd = -1;
	if (!o || n == 0)
		return -1;
	if (n > o->len - o->off)
		n = o->len - o->off; /* a caller's slip must not run past the line */
	fd = o->fd;
	o->fd = -1;
	o->off += n;
	c->outbytes -= n;
	if (o->off == o->len) {
		c->head = o->next;
		if (!c->head)
			c->tail = NULL;
		free(o);
	}
	return fd;
}
