/*
 * conn.c - rfload's connections: connecting (kernel TCP, or RFloop when
 * the program runs under librfloop.so, which takes over connect()), the
 * bytes waiting to be sent, and the FIFO of outstanding requests that
 * replies are matched against (memcached answers in order).
 *
 * Requests pipeline: a request is queued at its intended time whatever is
 * outstanding, so a connection may hold many; the FIFO and the send
 * buffer grow as needed (a stalled server makes them grow, which is the
 * point of an open loop) and are never dropped.
 */
#define _GNU_SOURCE
#include "rfload.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int rfload_connect(const struct rfload_opts *o)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai, *a;
	char port[16];
	int fd = -1, one = 1;

	snprintf(port, sizeof(port), "%d", o->port);
	if (getaddrinfo(o->host, port, &hints, &ai) != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int rfload_conn_init(struct rfload_conn *c, int fd, size_t req_max)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->rbuf = malloc(RFLOAD_RBUF);
	c->wcap = req_max * 4;
	c->wbuf = malloc(c->wcap);
	c->cap = 256;
	c->fifo = malloc(c->cap * sizeof(*c->fifo));
	if (!c->rbuf || !c->wbuf || !c->fifo) {
		rfload_conn_free(c);
		return -1;
	}
	return 0;
}

void rfload_conn_free(struct rfload_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->rbuf);
	free(c->wbuf);
	free(c->fifo);
	memset(c, 0, sizeof(*c));
}

size_t rfload_conn_outstanding(const struct rfload_conn *c)
{
	return c->tail - c->head;
}

int rfload_conn_push(struct rfload_conn *c, const struct rfload_pending *p)
{
	if (c->tail - c->head == c->cap) {
		/* Full: unroll into one twice as large. */
		size_t n = c->cap * 2, k = c->tail - c->head;
		struct rfload_pending *f = malloc(n * sizeof(*f));
		if (!f)
			return -1;
		for (size_t i = 0; i < k; i++)
			f[i] = c->fifo[(c->head + i) % c->cap];
		free(c->fifo);
		c->fifo = f;
		c->cap = n;
		c->head = 0;
		c->tail = k;
	}
	c->fifo[c->tail++ % c->cap] = *p;
	return 0;
}

/* The bytes already sent leave the front of the send buffer only when
 * everything went (worker.c's flush) or, when room is needed, if they are
 * at least half of it (else the buffer doubles): moving the rest down after
 * every partial send would cost the whole backlog each time, and a
 * generator facing a stalled server would slow down with its backlog. */
char *rfload_conn_reserve(struct rfload_conn *c, size_t n)
{
	if (c->wlen + n > c->wcap && c->woff > 0 && c->woff >= c->wlen / 2) {
		memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
		c->wlen -= c->woff;
		c->woff = 0;
	}
	if (c->wlen + n > c->wcap) {
		size_t cap = c->wcap * 2;
		char *b;
		while (cap < c->wlen + n)
			cap *= 2;
		b = realloc(c->wbuf, cap);
		if (!b)
			return NULL;
		c->wbuf = b;
		c->wcap = cap;
	}
	return c->wbuf + c->wlen;
}
