/*
 * rfloop_peer.c - the two programs of `rfbench rfloop`: a TCP server and a
 * TCP client in plain socket code (socket, connect, accept, read, write,
 * close; blocking, TCP_NODELAY), knowing nothing of RFloop.  rfloop.c runs
 * them twice, re-executing rfbench as `rfbench rfloop-peer server|client`,
 * once with LD_PRELOAD=librfloop.so and once without; what differs between
 * the two runs is only the preload.
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
 * "rr_per_s=N crr_per_s=N stream_gbps=X".
 */
#define _GNU_SOURCE
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "base/units.h"

#define CHUNK (64 << 10)

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
	ssize_t n = read(c, buf, CHUNK);
	if (n <= 0)
		return;
	if (buf[0] == 'S') {
		uint64_t total = (uint64_t)n - 1;
		while ((n = read(c, buf, CHUNK)) > 0)
			total += (uint64_t)n;
		full_write(c, &total, sizeof(total));
		return;
	}
	do {
		if (full_write(c, buf, (size_t)n))
			return;
	} while ((n = read(c, buf, CHUNK)) > 0);
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
	return write(fd, &c, 1) == 1 && read(fd, &c, 1) == 1 ? 0 : -1;
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
	if (read(fd, &total, sizeof(total)) != (ssize_t)sizeof(total) || total != sent)
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

static int client(int port, uint64_t ns)
{
	uint64_t bytes = 0, took = 0;
	long rr = run_rr(port, ns);
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
	if (argc >= 2 && strcmp(argv[0], "server") == 0)
		return server(atoi(argv[1]));
	if (argc >= 3 && strcmp(argv[0], "client") == 0)
		return client(atoi(argv[1]), (uint64_t)atoll(argv[2]) * 1000000ull);
	fprintf(stderr, "usage: rfbench rfloop-peer server PORT | client PORT MS\n");
	return 2;
}
