/*
 * rfraw - write raw bytes to rfd's control socket and print what comes back
 * (integration tests: requests rfm would never send).
 *
 *   rfraw [--timeout MS] [--eof] SOCKET ITEM...
 *
 * ITEM is one of
 *   TEXT          TEXT and a newline (one request line)
 *   --raw TEXT    TEXT without a newline
 *   --fill N      N bytes of 'x', no newline
 *
 * Everything is sent on one connection, in order, while answers are read.
 * rfraw prints every byte rfd sends on stdout and stops when it has as many
 * answer lines as newlines it sent, or, with --eof, when rfd closes the
 * connection.  If rfd closes the connection, "rfraw: connection closed by
 * rfd" goes to stderr.
 *
 * Exit status: 0 done, 1 timed out (default 5000 ms), 3 closed before the
 * expected answers came, 2 usage or connection error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "base/time.h"

static long long now_ms(void)
{
	return (long long)(base_now_ns() / BASE_NS_PER_MS);
}

static void usage(void)
{
	fprintf(stderr, "usage: rfraw [--timeout MS] [--eof] SOCKET (TEXT | --raw TEXT | --fill N)...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long timeout_ms = 5000;
	int want_eof = 0, i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout_ms = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--eof") == 0)
			want_eof = 1;
		else
			usage();
	}
	if (i >= argc)
		usage();
	const char *path = argv[i++];

	/* Build the whole output first. */
	size_t cap = 4096, len = 0;
	long want_lines = 0;
	char *out = malloc(cap);
	for (; i < argc; i++) {
		const char *add = NULL;
		size_t addlen = 0, fill = 0;
		int nl = 0;
		if (strcmp(argv[i], "--raw") == 0 && i + 1 < argc) {
			add = argv[++i];
			addlen = strlen(add);
		} else if (strcmp(argv[i], "--fill") == 0 && i + 1 < argc) {
			fill = (size_t)strtoul(argv[++i], NULL, 10);
		} else {
			add = argv[i];
			addlen = strlen(add);
			nl = 1;
		}
		size_t need = len + addlen + fill + 1;
		if (need > cap) {
			while (cap < need)
				cap *= 2;
			out = realloc(out, cap);
		}
		if (!out) {
			perror("rfraw");
			return 2;
		}
		memcpy(out + len, add ? add : "", addlen);
		len += addlen;
		memset(out + len, 'x', fill);
		len += fill;
		if (nl) {
			out[len++] = '\n';
			want_lines++;
		}
	}

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "rfraw: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "rfraw: cannot connect to %s: %s\n", path, strerror(errno));
		return 2;
	}

	long long deadline = now_ms() + timeout_ms;
	size_t sent = 0;
	long lines = 0;
	int write_open = 1;
	for (;;) {
		if (!want_eof && lines >= want_lines && sent == len)
			return 0;
		long long left = deadline - now_ms();
		if (left <= 0) {
			fprintf(stderr, "rfraw: timed out after %ld ms (%zu of %zu bytes sent, %ld "
				"of %ld answers)\n", timeout_ms, sent, len, lines, want_lines);
			return 1;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (write_open && sent < len)
			p.events |= POLLOUT;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			perror("rfraw: poll");
			return 2;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			char buf[65536];
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n > 0) {
				fwrite(buf, 1, (size_t)n, stdout);
				fflush(stdout);
				for (ssize_t k = 0; k < n; k++)
					lines += buf[k] == '\n';
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			fprintf(stderr, "rfraw: connection closed by rfd\n");
			return want_eof || lines >= want_lines ? 0 : 3;
		}
		if (p.revents & POLLOUT) {
			ssize_t n = send(fd, out + sent, len - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				write_open = 0; /* rfd closed its end; read what it said */
			if (!write_open)
				sent = len;
		}
	}
}
