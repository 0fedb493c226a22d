/*
 * server_conn.c - rfd's control connections: non-blocking sockets, each
 * with an input buffer of one protocol line and an output queue
 * (conn.c), all on the one event loop.
 *
 * Order: a connection's requests are answered in the order sent.  While
 * one of them is in flight (an operation, op.h, answers it later) the
 * connection is not read at all (EPOLLIN off), so its later lines wait in
 * its buffer and the socket's, and a flood is bounded by those.  Answers
 * go out as the socket takes them (EPOLLOUT only while some are queued);
 * a client that does not read fills its own queue up to RFD_CONN_OUT_MAX
 * and is then dropped, and never delays another.  A line longer than the
 * buffer is refused and the connection closed, since its end cannot be
 * found reliably.
 *
 * Each connection's caller is placed once, at accept (caller.c), and
 * every request is judged on that (authority.c); descriptors a client
 * passes belong to the next request handled (rfloop_listen).
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/server_conn.h"
#include "rfd/caller.h"
#include "rfd/conn.h"
#include "rfd/log.h"
#include "rfd/verbs.h"
#include "rfd/watch.h"
#include "base/fdpass.h"
#include "base/proto.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 4096

struct client {
	int fd;
	uint64_t serial;            /* tells this connection from a later one on fd */
	struct rfd_caller caller;   /* placed at accept */
	struct rfd_conn io;
	int fds[BASE_FDPASS_MAX];   /* passed with the next request (rfloop_listen) */
	int nfds;
	bool busy;                  /* a request in flight: its op answers it */
	bool eof;                   /* the peer sent its last byte */
	bool closing;               /* close once the queue is written */
	uint32_t events;            /* what epoll watches now */
};

static struct client *clients[MAX_CONNS];
static uint64_t next_serial = 1;

static void drop_fd(int fd)
{
	close(fd);
}

/* Descriptors a client passed belong to one request: gone after it. */
static void drop_passed(struct client *c)
{
	while (c->nfds > 0)
		close(c->fds[--c->nfds]);
}

static void client_close(struct rfd *d, struct client *c)
{
	drop_passed(c);
	rfd_unwatch_fd(d, c->fd);
	close(c->fd);
	clients[c->fd] = NULL;
	rfd_conn_fini(&c->io, drop_fd);
	free(c);
}

/* The door's fence for a placed caller: the same callers the 0600 control
 * socket lets in (root, rfd's user), and anyone inside a subOS. */
static bool door_admits(const struct rfd *d, const struct rfd_caller *c)
{
	return c->kind == RFD_CALLER_SUBOS || c->uid == 0 || c->uid == d->owner_uid;
}

void rfd_conns_accept(struct rfd *d, int lfd, bool door)
{
	int fd;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		struct client *c = calloc(1, sizeof(*c));
		if (fd >= MAX_CONNS || !c || rfd_conn_init(&c->io)) {
			if (c)
				rfd_conn_fini(&c->io, NULL);
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->serial = next_serial++;
		/* Now, while the peer is most likely still the process that
		 * connected: its pid is not trusted later. */
		rfd_caller_classify(d, fd, &c->caller);
		if (door && !door_admits(d, &c->caller)) {
			char who[256];
			rfd_caller_describe(&c->caller, who, sizeof(who));
			rfd_log("refused %s at the subOSes' socket: it is not inside a subOS", who);
			rfd_conn_fini(&c->io, NULL);
			free(c);
			close(fd);
			continue;
		}
		c->events = EPOLLIN;
		clients[fd] = c;
		if (rfd_watch_fd(d, fd, rfd_ev_tag(RFD_EV_CONN, (uint32_t)fd)))
			client_close(d, c);
	}
}

/* Queue an answer line; -1 if the queue is over its cap (the connection
 * must go; pass_fd is closed either way). */
static int queue_answer(struct client *c, struct json_object *ans, int pass_fd)
{
	size_t len;
	const char *s = json_object_to_json_string_length(ans, JSON_C_TO_STRING_PLAIN, &len);
	if (rfd_conn_queue(&c->io, s, len, pass_fd, drop_fd) == 0)
		return 0;
	char who[256];
	rfd_caller_describe(&c->caller, who, sizeof(who));
	rfd_log("dropping the connection of %s: it does not read its answers (%u bytes queued)",
		who, (unsigned)c->io.outbytes);
	return -1;
}

/* Handle the complete lines in the buffer, in order, until one is in
 * flight.  0, or -1: the connection must go. */
static int serve(struct rfd *d, struct client *c)
{
	const char *line;
	size_t len;
	int r;
	while (!c->busy && !c->closing && (r = rfd_conn_next_line(&c->io, &line, &len)) != 0) {
		struct json_object *ans = NULL;
		int pass_fd = -1;
		if (r < 0) {
			ans = base_answer_new_err(false, 0, BASE_E_REQUEST_TOO_LARGE,
						  "request exceeds %d bytes", RF_PROTO_LINE_MAX);
			c->closing = true;
		} else {
			struct rfd_reply_to to = { c->fd, c->serial };
			rfd_handle_request(d, line, len, &c->caller, c->fds, c->nfds, &to, &ans,
					   &pass_fd);
			rfd_conn_line_done(&c->io);
			drop_passed(c);
		}
		if (!ans)
			c->busy = true; /* answered later, through rfd_conns_answer */
		else if (r = queue_answer(c, ans, pass_fd), json_object_put(ans), r)
			return -1;
	}
	return 0;
}

/* Read while no request is in flight, serving each line as it completes.
 * 0, or -1: the connection broke. */
static int take_input(struct rfd *d, struct client *c)
{
	for (;;) {
		if (serve(d, c))
			return -1;
		if (c->busy || c->closing || c->eof)
			return 0;
		char *where;
		size_t room = rfd_conn_in_space(&c->io, &where);
		int got = 0;
		ssize_t n = base_recv_fds(c->fd, where, room, c->fds + c->nfds,
					  BASE_FDPASS_MAX - c->nfds, &got, MSG_DONTWAIT);
		c->nfds += got;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0)
			c->eof = true;
		rfd_conn_in_commit(&c->io, (size_t)n);
	}
}

/* Write what the queue holds until the socket is full.  0, or -1: the
 * connection broke. */
static int flush(struct client *c)
{
	const char *buf;
	int fd;
	size_t n;
	while ((n = rfd_conn_out_peek(&c->io, &buf, &fd)) > 0) {
		ssize_t w = base_send_fd(c->fd, buf, n, fd, MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		int sent = rfd_conn_out_advance(&c->io, (size_t)w);
		if (sent >= 0)
			close(sent);
	}
	return 0;
}

/* After any change: write, then close a finished connection or watch
 * what it now waits for (input only while nothing is in flight, output
 * only while some is queued). */
static void settle(struct rfd *d, struct client *c)
{
	if (flush(c)) {
		client_close(d, c);
		return;
	}
	bool pending = rfd_conn_out_pending(&c->io);
	if (!c->busy && (c->closing || c->eof) && !pending) {
		client_close(d, c);
		return;
	}
	uint32_t want = (!c->busy && !c->closing && !c->eof ? EPOLLIN : 0) |
			(pending ? EPOLLOUT : 0);
	if (want != c->events &&
	    rfd_watch_mod(d, c->fd, rfd_ev_tag(RFD_EV_CONN, (uint32_t)c->fd), want) == 0)
		c->events = want;
}

void rfd_conns_event(struct rfd *d, uint32_t fd, uint32_t events)
{
	struct client *c = fd < MAX_CONNS ? clients[fd] : NULL;
	if (!c)
		return;
	/* Gone while a request is in flight: nobody to answer (the op finds
	 * the connection gone), and a hung-up socket would be reported again
	 * and again. */
	if ((events & (EPOLLHUP | EPOLLERR)) && c->busy) {
		client_close(d, c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && take_input(d, c)) {
		client_close(d, c);
		return;
	}
	settle(d, c);
}

/* An operation ended: its answer goes out, and the connection's later
 * lines are served. */
void rfd_conns_answer(struct rfd *d, const struct rfd_reply_to *to, struct json_object *ans,
		      int pass_fd)
{
	struct client *c = to->conn >= 0 && to->conn < MAX_CONNS ? clients[to->conn] : NULL;
	if (!c || c->serial != to->serial || !c->busy) {
		if (pass_fd >= 0)
			close(pass_fd);
		json_object_put(ans);
		return;
	}
	c->busy = false;
	int rc = queue_answer(c, ans, pass_fd);
	json_object_put(ans);
	if (rc || take_input(d, c)) {
		client_close(d, c);
		return;
	}
	settle(d, c);
}

void rfd_conns_close_all(struct rfd *d)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (clients[i])
			client_close(d, clients[i]);
}
