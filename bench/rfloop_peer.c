/*
 * rfloop_peer.c - the two programs of `rfbench rfloop`: a TCP server and a
 * TCP client in plain socket code (socket, connect, accept, read, write,
 * close; blocking, TCP_NODELAY), knowing nothing of RFloop.  rfloop.c runs
 * them once per transport, re-executing rfbench as `rfbench rfloop-peer
 * server|client`, with LD_PRELOAD=librfloop.so or without; what differs
 * between the runs is only the preload, its spin setting, and SPIN_US.
 *
 * SPIN_US (default 0) makes both programs busy-poll as a blocking RFloop
 * read does: a read first tries recv(MSG_DONTWAIT) for up to SPIN_US
 * microseconds, then sleeps in poll() and reads.  That is the kernel
 * loopback peer with RFloop's spin budget (run without the preload only).
 *
 * The server serves one connection at a time.  A connection whose first
 * byte is 'S' is a stream sink: it counts the bytes until EOF and answers
 * with the count (8 bytes).  Any other connection is echoed back read by
 * read until EOF (request/response).
 *
 * The client runs, each for `ms` milliseconds:
 *   rr      one connection, 1-byte request, 1-byte response, repeated
 *   crr     connect, 1-byte request, 1-byte response, close, repeated
 *   stream  one connection, 64 KiB writes, then the sink's count
 * (crr for half as long) and prints one line:
 * "rr_per_s=N crr_per_s=N stream_gbps=X"; with TESTS "rr", only rr
 * ("rr_per_s=N").
 *
 *   rfbench rfloop-peer server PORT [SPIN_US]
 *   rfbench rfloop-peer client PORT MS [SPIN_US [rr|all]]
 */
#define _GNU_SOURCE
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "base/units.h"

#define CHUNK (64 << 10)

static uint64_t spin_ns;   /* SPIN_US: the busy-polling peer's budget */

/* read(), after spinning on recv(MSG_DONTWAIT) for spin_ns and sleeping in
 * poll() if that is set (a blocking RFloop read's spin, in plain code). */
static ssize_t rd(int fd, void *buf, size_t len)
{
	if (spin_ns) {
		uint64_t until = base_now_ns() + spin_ns;
		do {
			ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
			if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				return n;
		} while (base_now_ns() < until);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0)
			return -1;
	}
	return read(fd, buf, len);
}

static int full_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int nodelay(int fd)
{
	int one = 1;
	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void serve(int c, char *buf)
{
	ssize_t n = rd(c, buf, CHUNK);
	if (n <= 0)
		return;
	if (buf[0] == 'S') {
		uint64_t total = (uint64_t)n - 1;
		while ((n = rd(c, buf, CHUNK)) > 0)
			total += (uint64_t)n;
		full_write(c, &total, sizeof(total));
		return;
	}
	do {
		if (full_write(c, buf, (size_t)n))
			return;
	} while ((n = rd(c, buf, CHUNK)) > 0);
}

static int server(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char *buf = malloc(CHUNK);
	if (s < 0 || !buf || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 128)) {
		perror("rfbench rfloop-peer server");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			perror("rfbench rfloop-peer accept");
			return 1;
		}
		nodelay(c);
		serve(c, buf);
		close(c);
	}
}

static int dial(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) || nodelay(fd)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int exchange(int fd)
{
	char c = 'x';
	return write(fd, &c, 1) == 1 && rd(fd, &c, 1) == 1 ? 0 : -1;
}

static long run_rr(int port, uint64_t ns)
{
	int fd = dial(port);
	long n = 0;
	if (fd < 0)
		return -1;
	uint64_t end = base_now_ns() + ns;
	for (;;) {
		for (int i = 0; i < 64; i++, n++)
			if (exchange(fd)) {
				close(fd);
				return -1;
			}
		if (base_now_ns() >= end)
			break;
	}
	close(fd);
	return n;
}

static long run_crr(int port, uint64_t ns)
{
	long n = 0;
	uint64_t end = base_now_ns() + ns;
	while (base_now_ns() < end) {
		int fd = dial(port);
		if (fd < 0 || exchange(fd)) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
		n++;
	}
	return n;
}

static int run_stream(int port, uint64_t ns, uint64_t *bytes, uint64_t *took)
{
	int fd = dial(port);
	char *buf = calloc(1, CHUNK);
	uint64_t total = 0, sent = 0;
	if (fd < 0 || !buf || full_write(fd, "S", 1))
		goto fail;
	uint64_t t0 = base_now_ns(), end = t0 + ns;
	while (base_now_ns() < end) {
		if (full_write(fd, buf, CHUNK))
			goto fail;
		sent += CHUNK;
	}
	shutdown(fd, SHUT_WR);
	if (rd(fd, &total, sizeof(total)) != (ssize_t)sizeof(total) || total != sent)
		goto fail;
	*took = base_now_ns() - t0;
	*bytes = total;
	free(buf);
	close(fd);
	return 0;
fail:
	fprintf(stderr, "rfbench rfloop-peer: stream failed (sent %llu, sink counted %llu)\n",
		(unsigned long long)sent, (unsigned long long)total);
	free(buf);
	if (fd >= 0)
		close(fd);
	return -1;
}

static int client(int port, uint64_t ns, bool rr_only)
{
	uint64_t bytes = 0, took = 0;
	long rr = run_rr(port, ns);
	if (rr >= 0 && rr_only) {
		printf("rr_per_s=%.0f\n", (double)rr * 1e9 / (double)ns);
		return 0;
	}
	long crr = rr < 0 ? -1 : run_crr(port, ns / 2);
	if (rr < 0 || crr < 0 || run_stream(port, ns, &bytes, &took)) {
		fprintf(stderr, "rfbench rfloop-peer client: %s failed: %s\n",
			rr < 0 ? "rr" : crr < 0 ? "crr" : "stream", strerror(errno));
		return 1;
	}
	printf("rr_per_s=%.0f crr_per_s=%.0f stream_gbps=%.3f\n", (double)rr * 1e9 / (double)ns,
	       (double)crr * 2e9 / (double)ns, (double)bytes * 8.0 / (double)took);
	return 0;
}

int rfloop_peer_main(int argc, char **argv)
{
	bool srv = argc >= 2 && strcmp(argv[0], "server") == 0;
	bool cli = argc >= 3 && strcmp(argv[0], "client") == 0;
	int spin_at = srv ? 2 : 3;
	if (argc > spin_at)
		spin_ns = (uint64_t)atoll(argv[spin_at]) * 1000;
	if (srv)
		return server(atoi(argv[1]));
	if (cli)
		return client(atoi(argv[1]), (uint64_t)atoll(argv[2]) * 1000000ull,
			      argc > 4 && strcmp(argv[4], "rr") == 0);
	fprintf(stderr, "usage: rfbench rfloop-peer server PORT [SPIN_US] | "
			"client PORT MS [SPIN_US [rr|all]]\n");
	return 2;
}
