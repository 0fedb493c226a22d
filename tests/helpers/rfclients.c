/*
 * rfclients - many clients, or misbehaving ones, on rfd's control socket
 * (tests/integration/35-noblock.sh: rfd never blocks).
 *
 *   rfclients SOCKET many N K BUDGET_MS   N connections at once, each
 *       sending K requests (list, info, show) without waiting; every
 *       answer must come, in order per connection (ids), within BUDGET_MS
 *       in all.  Prints "answered A of B in T ms".
 *   rfclients SOCKET flood N      one connection sends N requests as fast
 *       as the socket takes them and never reads; then waits to be killed.
 *   rfclients SOCKET half         half a request line, then waits to be
 *       killed.
 *   rfclients SOCKET latency R MAX_MS   R info requests, one at a time;
 *       prints "max_ms M"; fails if one took more than MAX_MS.
 *
 * Exit status: 0 done, 1 a check failed, 2 usage or connection error.
 * Waiting ones print "ready" on stdout once they have sent what they send.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct peer {
	int fd;
	char *out;             /* requests not yet sent */
	size_t outlen, outoff;
	char in[1 << 16];
	size_t inlen;
	long next_id, last_id; /* answers expected: next_id .. last_id */
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int dial(const char *path, bool nonblock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "rfclients: cannot connect to %s: %s\n", path, strerror(errno));
		exit(2);
	}
	if (nonblock)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Request number `id`, cycling through the read-only verbs. */
static int request(char *buf, size_t len, long id)
{
	static const char *const verbs[] = {
		"\"verb\":\"list\"", "\"verb\":\"info\"", "\"verb\":\"show\",\"name\":\"nobody\"",
	};
	return snprintf(buf, len, "{\"version\":1,\"id\":%ld,%s}\n", id, verbs[id % 3]);
}

/* Check the complete answers in p->in: each must carry the next id. */
static int take_answers(struct peer *p)
{
	char *nl;
	while ((nl = memchr(p->in, '\n', p->inlen))) {
		char *idp = strstr(p->in, "\"id\":");
		long id = idp && idp < nl ? strtol(idp + 5, NULL, 10) : -1;
		if (id != p->next_id) {
			fprintf(stderr, "rfclients: answer %ld where %ld was due: %.*s\n", id,
				p->next_id, (int)(nl - p->in), p->in);
			return -1;
		}
		p->next_id++;
		p->inlen -= (size_t)(nl + 1 - p->in);
		memmove(p->in, nl + 1, p->inlen);
	}
	return 0;
}

/* One peer's turn: send what is left, read what came.  -1: failed. */
static int peer_io(struct peer *p, short revents)
{
	if (p->outoff < p->outlen) {
		ssize_t n = send(p->fd, p->out + p->outoff, p->outlen - p->outoff, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN)
			return -1;
		p->outoff += n > 0 ? (size_t)n : 0;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	ssize_t n = recv(p->fd, p->in + p->inlen, sizeof(p->in) - p->inlen, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		fprintf(stderr, "rfclients: connection closed after %ld answers\n", p->next_id);
		return -1;
	}
	p->inlen += n > 0 ? (size_t)n : 0;
	return take_answers(p);
}

static void peer_init(struct peer *p, const char *sock, long first, int k)
{
	char line[256];
	p->fd = dial(sock, true);
	p->out = malloc((size_t)k * sizeof(line));
	p->outlen = p->outoff = p->inlen = 0;
	for (int j = 0; j < k; j++)
		p->outlen += (size_t)request(p->out + p->outlen, sizeof(line), first + j);
	p->next_id = first;
	p->last_id = first + k - 1;
}

static int many(const char *sock, int n, int k, long budget)
{
	struct peer *ps = calloc((size_t)n, sizeof(*ps));
	struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
	long t0 = now_ms(), done = 0, total = (long)n * k;
	for (int i = 0; i < n; i++)
		peer_init(&ps[i], sock, (long)i * 100000, k);
	while (done < n) {
		long left = budget - (now_ms() - t0);
		for (int i = 0; i < n; i++) {
			bool open = ps[i].next_id <= ps[i].last_id;
			pf[i].fd = open ? ps[i].fd : -1;
			pf[i].events = POLLIN | (ps[i].outoff < ps[i].outlen ? POLLOUT : 0);
		}
		if (left <= 0 || poll(pf, (nfds_t)n, (int)left) <= 0)
			break;
		for (int i = 0; i < n; i++)
			if (pf[i].fd >= 0 && pf[i].revents) {
				if (peer_io(&ps[i], pf[i].revents))
					return 1;
				done += ps[i].next_id > ps[i].last_id;
			}
	}
	long got = 0;
	for (int i = 0; i < n; i++)
		got += ps[i].next_id - (long)i * 100000;
	printf("answered %ld of %ld in %ld ms\n", got, total, now_ms() - t0);
	return got == total ? 0 : 1;
}

/* Send n requests without reading; then stay, so rfd holds the
 * connection until the test kills us. */
static _Noreturn void flood(const char *sock, int n)
{
	int fd = dial(sock, true);
	char line[256];
	int sent = 0;
	struct pollfd pf = { .fd = fd, .events = POLLOUT };
	for (; sent < n; sent++) {
		int len = request(line, sizeof(line), sent), off = 0;
		while (off < len) {
			ssize_t w = send(fd, line + off, (size_t)(len - off), MSG_NOSIGNAL);
			if (w < 0 && errno == EAGAIN && poll(&pf, 1, 2000) == 1)
				continue;
			if (w <= 0)
				goto stop; /* rfd stopped reading us (2 s), or dropped us */
			off += (int)w;
		}
	}
stop:
	printf("ready %d\n", sent);
	fflush(stdout);
	for (;;)
		pause();
}

static int half(const char *sock)
{
	int fd = dial(sock, false);
	const char part[] = "{\"version\":1,\"id\":1,\"ve";
	if (send(fd, part, sizeof(part) - 1, MSG_NOSIGNAL) < 0)
		return 2;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

static int latency(const char *sock, int rounds, long max_ms)
{
	static struct peer p;
	char line[256];
	long worst = 0;
	p.fd = dial(sock, false);
	for (int r = 0; r < rounds; r++) {
		long t0 = now_ms();
		int len = request(line, sizeof(line), (long)r * 3 + 1); /* info */
		if (send(p.fd, line, (size_t)len, MSG_NOSIGNAL) != len)
			return 2;
		p.next_id = (long)r * 3 + 1;
		while (p.next_id == (long)r * 3 + 1) {
			ssize_t n = recv(p.fd, p.in + p.inlen, sizeof(p.in) - p.inlen, 0);
			if (n <= 0)
				return 2;
			p.inlen += (size_t)n;
			if (take_answers(&p))
				return 1;
		}
		worst = now_ms() - t0 > worst ? now_ms() - t0 : worst;
	}
	printf("max_ms %ld\n", worst);
	return worst <= max_ms ? 0 : 1;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 6 && strcmp(argv[2], "many") == 0)
		return many(argv[1], atoi(argv[3]), atoi(argv[4]), atol(argv[5]));
	if (argc >= 4 && strcmp(argv[2], "flood") == 0)
		flood(argv[1], atoi(argv[3]));
	if (argc >= 3 && strcmp(argv[2], "half") == 0)
		return half(argv[1]);
	if (argc >= 5 && strcmp(argv[2], "latency") == 0)
		return latency(argv[1], atoi(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: rfclients SOCKET many N K BUDGET_MS | flood N | half | "
			"latency R MAX_MS\n");
	return 2;
}
