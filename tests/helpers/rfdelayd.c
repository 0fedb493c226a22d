/*
 * rfdelayd - a memcached-protocol server whose answers take a known time,
 * to check rfload's accuracy (tests/integration/97-rfload.sh).
 *
 *   rfdelayd [--port P] [--delay-us D] [--stall-after-ms A --stall-ms M]
 *
 * Every request ("get K" is answered with a 5-byte value, "set K F E N"
 * and its data with STORED, anything else with ERROR) is answered D
 * microseconds after it was read, whatever else is outstanding: a delay
 * line, not a queue, so the latency a correct generator measures is D
 * plus the loopback's cost at any rate.  With --stall-after-ms, A ms after
 * the first request the server stops for M ms (reads nothing, answers
 * nothing), once: an open-loop generator must see every request that fell
 * due meanwhile delayed, up to M ms.
 *
 * One thread, epoll.  It sleeps until 50 us before the next answer is due
 * and spins from there, so answers leave within a few microseconds of
 * their time.  It does not spin all the time: a spinning process on a
 * machine shared with compilers loses its core for whole time slices
 * (milliseconds, seen in the p50 here), while one that sleeps is run at
 * once when it wakes.  The cost is the wake-up of an idle core when a
 * request arrives (tens of microseconds in a virtual machine), part of
 * the loopback overhead the test measures with D = 0.  Prints "rfdelayd:
 * port N" once listening (P 0: any port).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "base/time.h"

#define MAX_FD   1024
#define BUF      65536
#define QUEUE    (1 << 16)    /* answers in flight, at most */
#define SPIN_NS  50000ull

enum answer { A_VALUE, A_STORED, A_ERROR };

struct conn {
	bool open;
	char in[BUF];
	size_t inlen;
	size_t want;      /* data bytes of a set still to come (with CRLF) */
	char out[BUF];
	size_t outlen;
};

struct due {
	uint64_t at;
	int fd;
	enum answer a;
};

static struct conn *conns[MAX_FD];
static struct due queue[QUEUE];
static size_t qhead, qtail;
static uint64_t delay_ns, stall_after_ns, stall_ns, first_ns;

static void enqueue(int fd, enum answer a, uint64_t now)
{
	if (qtail - qhead == QUEUE) {
		fprintf(stderr, "rfdelayd: more than %d answers in flight\n", QUEUE);
		exit(1);
	}
	if (!first_ns)
		first_ns = now;
	queue[qtail++ % QUEUE] = (struct due){ now + delay_ns, fd, a };
}

/* Takes whole requests from c->in, each answered at its read time + D. */
static void parse(int fd, struct conn *c, uint64_t now)
{
	size_t pos = 0;

	for (;;) {
		char *line = c->in + pos, *nl;
		unsigned long n;
		if (c->want) {
			size_t k = c->inlen - pos < c->want ? c->inlen - pos : c->want;
			pos += k;
			if ((c->want -= k) == 0)
				enqueue(fd, A_STORED, now);
			if (c->want)
				break;
			continue;
		}
		nl = memchr(line, '\n', c->inlen - pos);
		if (!nl)
			break;
		pos += (size_t)(nl - line) + 1;
		if (!strncmp(line, "get ", 4))
			enqueue(fd, A_VALUE, now);
		else if (!strncmp(line, "set ", 4) &&
			 sscanf(line, "set %*s %*u %*d %lu", &n) == 1 && n < BUF)
			c->want = n + 2;
		else
			enqueue(fd, A_ERROR, now);
	}
	memmove(c->in, c->in + pos, c->inlen - pos);
	c->inlen -= pos;
}

static void flush(int fd, struct conn *c)
{
	ssize_t n = c->outlen ? send(fd, c->out, c->outlen, MSG_DONTWAIT | MSG_NOSIGNAL) : 0;

	if (n > 0) {
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
}

/* Writes every answer whose time has come. */
static void answer_due(uint64_t now)
{
	static const char *text[] = { "VALUE k 0 5\r\nhello\r\nEND\r\n", "STORED\r\n", "ERROR\r\n" };

	while (qhead != qtail && queue[qhead % QUEUE].at <= now) {
		struct due d = queue[qhead++ % QUEUE];
		struct conn *c = conns[d.fd];
		size_t len = strlen(text[d.a]);
		if (!c)
			continue;   /* its connection closed */
		if (c->outlen + len > BUF)
			flush(d.fd, c);
		if (c->outlen + len <= BUF) {
			memcpy(c->out + c->outlen, text[d.a], len);
			c->outlen += len;
		}
		flush(d.fd, c);
	}
}

static void on_event(int ep, int lfd, int fd, uint64_t now)
{
	struct conn *c;
	ssize_t n;

	if (fd == lfd) {
		int one = 1, cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = cfd };
		if (cfd < 0 || cfd >= MAX_FD || !(conns[cfd] = calloc(1, sizeof(struct conn)))) {
			if (cfd >= 0)
				close(cfd);
			return;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
		return;
	}
	c = conns[fd];
	n = recv(fd, c->in + c->inlen, BUF - c->inlen, MSG_DONTWAIT);
	if (n > 0) {
		c->inlen += (size_t)n;
		parse(fd, c, now);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close(fd);
		free(c);
		conns[fd] = NULL;
	}
}

/* Sleeps until SPIN_NS before the next answer, then polls. */
static struct timespec timeout(uint64_t now)
{
	uint64_t ns = 100 * BASE_NS_PER_MS;

	if (qhead != qtail) {
		uint64_t at = queue[qhead % QUEUE].at;
		ns = at > now + SPIN_NS ? at - now - SPIN_NS : 0;
	}
	return (struct timespec){ (time_t)(ns / BASE_NS_PER_SEC), (long)(ns % BASE_NS_PER_SEC) };
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("rfdelayd: listen");
		exit(1);
	}
	printf("rfdelayd: port %d\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

static void parse_args(int argc, char **argv, int *port)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		double v = atof(argv[i + 1]);
		if (!strcmp(argv[i], "--port"))
			*port = (int)v;
		else if (!strcmp(argv[i], "--delay-us"))
			delay_ns = (uint64_t)(v * 1e3);
		else if (!strcmp(argv[i], "--stall-after-ms"))
			stall_after_ns = (uint64_t)(v * 1e6);
		else if (!strcmp(argv[i], "--stall-ms"))
			stall_ns = (uint64_t)(v * 1e6);
		else {
			fprintf(stderr, "usage: rfdelayd [--port P] [--delay-us D] "
				"[--stall-after-ms A --stall-ms M]\n");
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	int port = 0, lfd, ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev[64];
	bool stalled = false;

	parse_args(argc, argv, &port);
	prctl(PR_SET_TIMERSLACK, 1000UL);   /* wake-ups 1 us late at most, not 50 */
	lfd = listen_on(port);
	ev[0] = (struct epoll_event){ .events = EPOLLIN, .data.fd = lfd };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev[0]);
	for (;;) {
		uint64_t now = base_now_ns();
		struct timespec ts;
		int n;
		if (stall_ns && !stalled && first_ns && now >= first_ns + stall_after_ns) {
			struct timespec st = { (time_t)(stall_ns / BASE_NS_PER_SEC),
					       (long)(stall_ns % BASE_NS_PER_SEC) };
			stalled = true;
			while (nanosleep(&st, &st) < 0 && errno == EINTR)
				;
			continue;
		}
		answer_due(now);
		ts = timeout(now);
		n = epoll_pwait2(ep, ev, 64, &ts, NULL);
		now = base_now_ns();
		for (int i = 0; i < n; i++)
			on_event(ep, lfd, ev[i].data.fd, now);
	}
}
