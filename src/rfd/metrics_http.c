/*
 * metrics_http.c - serving GET /metrics over HTTP/1.x in rfd's event loop.
 *
 * Nothing here may stall the loop, whoever connects: the listener and
 * every connection are non-blocking; a connection reads its request into
 * its own small buffer, gets its whole answer built at once (the
 * exposition is a few kilobytes per subOS) and written as the socket
 * takes it, EPOLLOUT driven, then closed (Connection: close).  At most
 * RFD_METRICS_CONNS at a time: a new one pushes out the oldest, so a
 * scraper that connects and stays silent delays nobody, and a request
 * header over the buffer is refused.  Only GET (and HEAD) of /metrics.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/metrics.h"
#include "rfd/log.h"
#include "rfd/watch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "base/prom.h"

#define RFD_METRICS_CONNS 16
#define REQ_MAX 4096

struct mconn {
	int fd;            /* -1: free slot */
	uint64_t serial;   /* accept order: the oldest is pushed out */
	size_t in_len;
	char in[REQ_MAX];
	char *out;         /* the answer, once the request is whole */
	size_t out_len, out_off;
};

/* The listener itself is d->metrics_fd (rfd_fork closes it in children). */
static struct {
	uint64_t serial;
	struct mconn conn[RFD_METRICS_CONNS];
} m;

static void conn_close(struct rfd *d, struct mconn *c)
{
	if (c->fd < 0)
		return;
	rfd_unwatch_fd(d, c->fd);
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
}

/* "PORT", "ADDR:PORT" or "[ADDR]:PORT" into a socket address. */
static int parse_spec(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64] = "127.0.0.1";
	const char *colon = strrchr(spec, ':'), *port = colon ? colon + 1 : spec;
	char *end;
	long p = strtol(port, &end, 10);
	if (!*port || *end || p < 1 || p > 65535)
		return -1;
	if (colon) {
		size_t n = (size_t)(colon - spec);
		if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']')
			spec++, n -= 2;
		if (n == 0 || n >= sizeof(host))
			return -1;
		memcpy(host, spec, n);
		host[n] = '\0';
	}
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	memset(ss, 0, sizeof(*ss));
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		*len = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*v6);
		return 0;
	}
	return -1;
}

int rfd_metrics_listen(struct rfd *d, const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;
	for (int i = 0; i < RFD_METRICS_CONNS; i++)
		m.conn[i].fd = -1;
	if (parse_spec(spec, &ss, &len) < 0) {
		fprintf(stderr, "rfd: --metrics %s: not PORT, ADDR:PORT or [ADDR]:PORT\n", spec);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0 ||
	    rfd_watch_fd(d, fd, rfd_ev_tag(RFD_EV_METRICS, 0)) < 0) {
		fprintf(stderr, "rfd: --metrics %s: %s\n", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	d->metrics_fd = fd;
	rfd_log("metrics on http://%s/metrics", spec);
	return 0;
}

/* A free slot, or the oldest connection's, closed. */
static struct mconn *slot_for_new(struct rfd *d)
{
	struct mconn *oldest = &m.conn[0];
	for (int i = 0; i < RFD_METRICS_CONNS; i++) {
		if (m.conn[i].fd < 0)
			return &m.conn[i];
		if (m.conn[i].serial < oldest->serial)
			oldest = &m.conn[i];
	}
	conn_close(d, oldest);
	return oldest;
}

static void accept_all(struct rfd *d)
{
	for (;;) {
		int fd = accept4(d->metrics_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a transient error: the next event retries */
		struct mconn *c = slot_for_new(d);
		uint32_t val = (uint32_t)(c - m.conn) + 1;
		*c = (struct mconn){ .fd = fd, .serial = ++m.serial };
		if (rfd_watch_fd(d, fd, rfd_ev_tag(RFD_EV_METRICS, val)) < 0) {
			close(fd);
			c->fd = -1;
		}
	}
}

/* Send what the socket takes; close when all is sent or it fails. */
static void flush(struct rfd *d, struct mconn *c)
{
	uint32_t val = (uint32_t)(c - m.conn) + 1;
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (rfd_watch_mod(d, c->fd, rfd_ev_tag(RFD_EV_METRICS, val), EPOLLOUT) < 0)
				conn_close(d, c);
			return;
		}
		if (n <= 0) {
			conn_close(d, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	conn_close(d, c);
}

static void respond(struct rfd *d, struct mconn *c, const char *status, const char *body,
		    size_t blen, bool head)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", status,
			 strncmp(status, "200", 3) == 0 ? "text/plain; version=0.0.4; charset=utf-8"
							: "text/plain; charset=utf-8",
			 blen);
	size_t total = (size_t)n + (head ? 0 : blen);
	c->out = malloc(total);
	if (!c->out) {
		conn_close(d, c);
		return;
	}
	memcpy(c->out, hdr, (size_t)n);
	if (!head)
		memcpy(c->out + n, body, blen);
	c->out_len = total;
	c->out_off = 0;
	flush(d, c);
}

static void respond_text(struct rfd *d, struct mconn *c, const char *status, const char *text)
{
	respond(d, c, status, text, strlen(text), false);
}

/* The request line: METHOD SP TARGET SP VERSION. */
static void handle_request(struct rfd *d, struct mconn *c)
{
	char method[8], target[256];
	c->in[c->in_len] = '\0';
	if (sscanf(c->in, "%7s %255s HTTP/1.%*c", method, target) != 2) {
		respond_text(d, c, "400 Bad Request", "bad request\n");
		return;
	}
	bool head = strcmp(method, "HEAD") == 0;
	char *query = strchr(target, '?');
	if (query)
		*query = '\0';
	if (!head && strcmp(method, "GET") != 0) {
		respond_text(d, c, "405 Method Not Allowed", "only GET /metrics\n");
		return;
	}
	if (strcmp(target, "/metrics") != 0) {
		respond_text(d, c, "404 Not Found", "see /metrics\n");
		return;
	}
	struct base_prom p;
	base_prom_init(&p);
	rfd_metrics_write(d, &p);
	if (p.failed)
		respond_text(d, c, "500 Internal Server Error", "out of memory\n");
	else
		respond(d, c, "200 OK", p.buf ? p.buf : "", p.len, head);
	base_prom_free(&p);
}

/* Read what arrived; answer once the header is whole. */
static void read_request(struct rfd *d, struct mconn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len, REQ_MAX - 1 - c->in_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_close(d, c);
			return;
		}
		c->in_len += (size_t)n;
		if (c->in_len == REQ_MAX - 1)
			break;
	}
	if (memmem(c->in, c->in_len, "\r\n\r\n", 4) || memmem(c->in, c->in_len, "\n\n", 2))
		handle_request(d, c);
	else if (c->in_len == REQ_MAX - 1)
		respond_text(d, c, "431 Request Header Fields Too Large", "header too large\n");
}

void rfd_metrics_event(struct rfd *d, uint32_t val, uint32_t events)
{
	if (val == 0) {
		accept_all(d);
		return;
	}
	if (val > RFD_METRICS_CONNS || m.conn[val - 1].fd < 0)
		return;
	struct mconn *c = &m.conn[val - 1];
	if (c->out)
		flush(d, c);
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		read_request(d, c);
}

void rfd_metrics_close(struct rfd *d)
{
	/* Connections come only through a listener.  Without one the slots
	 * were never set: their zero would be rfd's stdin. */
	if (d->metrics_fd < 0)
		return;
	for (int i = 0; i < RFD_METRICS_CONNS; i++)
		conn_close(d, &m.conn[i]);
	rfd_unwatch_fd(d, d->metrics_fd);
	close(d->metrics_fd);
	d->metrics_fd = -1;
}
