/*
 * rfhijack.c - the RFloop port hijacker of tests/integration/91-escape-rfloop.sh:
 * run as root inside a subOS, it tries every way we know to be handed the
 * RFloop connections of a port whose real server runs elsewhere, and says
 * what each attempt got.
 *
 *   rfhijack before PORT   attempts while nobody listens on PORT, then
 *                          registers a listener of its own on PORT, closes
 *                          its TCP socket and keeps the rendezvous, so the
 *                          entry goes stale (the real server starts next)
 *   rfhijack after PORT    attempts while the real server listens on PORT
 *   rfhijack stale SECONDS waits on the stale rendezvous of `before` (run
 *                          as `before PORT stale SECONDS`) for requests
 *
 * One line per attempt: "refused: WHAT (why)" or "HIJACKED: WHAT"; the
 * exit status is 1 if any attempt was not refused.  rfd is RF_SOCKET.
 */
#define _GNU_SOURCE
#include "base/fdpass.h"
#include "base/rfloop_table.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int hijacked, target_port;

static void verdict(bool refused, const char *what, const char *why)
{
	printf("%s: %s (%s)\n", refused ? "refused" : "HIJACKED", what, why);
	fflush(stdout);
	hijacked |= !refused;
}

/* One request to rfd with fds; the answer line into ans; a passed fd. */
static int call(const char *verb, const int *fds, int nfds, char *ans, size_t size, int *fd)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char line[128];
	int s = socket(AF_UNIX, SOCK_STREAM, 0), n = 0;

	snprintf(un.sun_path, sizeof(un.sun_path), "%s", getenv("RF_SOCKET"));
	snprintf(line, sizeof(line), "{\"version\":1,\"verb\":\"%s\"}\n", verb);
	if (s < 0 || connect(s, (struct sockaddr *)&un, sizeof(un)) ||
	    base_send_fds(s, line, strlen(line), fds, nfds, 0) < 0) {
		snprintf(ans, size, "cannot reach rfd: %s", strerror(errno));
		return -1;
	}
	ssize_t r = base_recv_fds(s, ans, size - 1, fd, fd ? 1 : 0, &n, 0);
	ans[r > 0 ? r : 0] = '\0';
	ans[strcspn(ans, "\n")] = '\0';
	close(s);
	return strstr(ans, "\"ok\":true") ? 0 : -1;
}

static int bell(void)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	bind(s, (struct sockaddr *)&un, sizeof(sa_family_t));
	return s;
}

static struct sockaddr_in lo(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int tcp(int type, int port, bool do_bind, bool do_listen, int opt)
{
	struct sockaddr_in a = lo(port);
	int one = 1, s = socket(AF_INET, type, 0);
	if (opt)
		setsockopt(s, SOL_SOCKET, opt, &one, sizeof(one));
	if (do_bind && bind(s, (struct sockaddr *)&a, sizeof(a)))
		perror("rfhijack: bind");
	if (do_listen)
		listen(s, 4);
	return s;
}

/* Register `fd` (with a fresh rendezvous): must not register the target
 * port (a listener of ours on another port is registered for that port). */
static void try_register(const char *what, int fd)
{
	char ans[1024];
	int fds[2] = { fd, bell() };
	int rc = call("rfloop_listen", fds, fd < 0 ? 0 : 2, ans, sizeof(ans), NULL);
	const char *p = strstr(ans, "\"port\":");
	verdict(rc != 0 || !p || atoi(p + 7) != target_port, what, ans);
	close(fds[1]);
	if (fd >= 0)
		close(fd);
}

/* The table rfd hands out: no way to write it. */
static void try_table(void)
{
	char ans[1024], path[64];
	int fd = -1;

	if (call("rfloop_table", NULL, 0, ans, sizeof(ans), &fd) || fd < 0) {
		verdict(false, "rfloop_table gave no table", ans);
		return;
	}
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	verdict(m == MAP_FAILED, "map the registry table writable", strerror(errno));
	verdict(pwrite(fd, "x", 1, 64) < 0, "write(2) the registry table", strerror(errno));
	verdict(ftruncate(fd, 0) < 0, "truncate the registry table", strerror(errno));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int again = open(path, O_RDWR);
	verdict(again < 0 || pwrite(again, "x", 1, 64) < 0, "reopen the table read-write and write",
		strerror(errno));
	if (again >= 0)
		close(again);
	close(fd);
}

/* The old registry: bind /dev/shm/rfloop.0/PORT.* names (clients must no
 * longer look there); the sockets, to watch for requests. */
static int old_names(int port, int *socks)
{
	static const char *const tails[] = { "4.7f000001", "any" };
	int n = 0;

	mkdir("/dev/shm/rfloop.0", 0700);
	for (int i = 0; i < 2; i++) {
		struct sockaddr_un un = { .sun_family = AF_UNIX };
		snprintf(un.sun_path, sizeof(un.sun_path), "/dev/shm/rfloop.0/%d.%s", port, tails[i]);
		unlink(un.sun_path);
		socks[n] = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (bind(socks[n], (struct sockaddr *)&un, sizeof(un)) == 0)
			n++;
		else
			close(socks[n]);
	}
	printf("bound %d names of the old /dev/shm registry for port %d\n", n, port);
	return n;
}

static void common(int port)
{
	try_register("register with no descriptor", -1);
	try_register("register /dev/null", open("/dev/null", O_RDONLY));
	try_register("register an unbound TCP socket", tcp(SOCK_STREAM, 0, false, false, 0));
	try_register("register a UDP socket on the port", tcp(SOCK_DGRAM, port, true, false,
							      SO_REUSEADDR));
	try_register("register a TCP listener on another port", tcp(SOCK_STREAM, 0, false, true, 0));
	try_register("register an SO_REUSEPORT listener", tcp(SOCK_STREAM, 0, false, true,
							      SO_REUSEPORT));
	try_table();
}

/* Bound to the port, then connected to itself (TCP simultaneous open):
 * a socket on the port that is not a listener. */
static int self_connected(int port)
{
	struct sockaddr_in a = lo(port);
	int s = tcp(SOCK_STREAM, port, true, false, SO_REUSEADDR);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)))
		perror("rfhijack: self-connect");
	return s;
}

/* A real registration of our own on the port, whose TCP socket we then
 * close: the entry stays, its rendezvous is ours.  Watch it and the old
 * names for `secs` seconds: a request arriving is a hijack. */
static void stale(int port, int secs)
{
	char ans[1024];
	struct pollfd p[3];
	int t = tcp(SOCK_STREAM, port, true, true, SO_REUSEADDR), b = bell();
	int fds[2] = { t, b }, n = 1;

	int rc = call("rfloop_listen", fds, 2, ans, sizeof(ans), NULL);
	printf("registered a listener of our own on port %d while nobody else listened: %s\n",
	       port, rc ? ans : "ok");
	close(t);
	p[0] = (struct pollfd){ .fd = b, .events = POLLIN };
	int old[2];
	for (int i = 0, k = old_names(port, old); i < k; i++)
		p[n++] = (struct pollfd){ .fd = old[i], .events = POLLIN };
	printf("waiting\n");
	fflush(stdout);
	int r = poll(p, (nfds_t)n, secs * 1000);
	verdict(r == 0, "take connections through a stale entry or the old registry",
		r == 0 ? "no request came" : "a connection request arrived");
}

static void after(int port)
{
	char ans[1024];
	struct sockaddr_in a = lo(port);
	int c = socket(AF_INET, SOCK_STREAM, 0);

	if (connect(c, (struct sockaddr *)&a, sizeof(a)))
		perror("rfhijack: connect to the real server");
	try_register("register a client socket connected to the port first", c);
	try_register("register an unbound TCP socket listening", tcp(SOCK_STREAM, 0, false, true, 0));
	int fd = -1;
	if (call("rfloop_table", NULL, 0, ans, sizeof(ans), &fd) == 0) {
		const struct base_rfl_table *tab =
			mmap(NULL, sizeof(*tab), PROT_READ, MAP_SHARED, fd, 0);
		int named = 0, bound = 0;
		for (int w = 0; w < BASE_RFL_WAYS; w++) {
			const struct base_rfl_entry *e = &tab->e[port][w];
			struct sockaddr_un un = { .sun_family = AF_UNIX };
			if (!e->family)
				continue;
			memcpy(un.sun_path + 1, e->bell, e->bell_len);
			int s = socket(AF_UNIX, SOCK_DGRAM, 0);
			named++;
			bound += bind(s, (struct sockaddr *)&un,
				      (socklen_t)(sizeof(sa_family_t) + 1 + e->bell_len)) == 0;
			close(s);
		}
		verdict(named && !bound, "bind the real server's rendezvous name",
			named ? strerror(errno) : "the real server is not registered");
		close(fd);
	}
	common(port);
}

int main(int argc, char **argv)
{
	if (argc < 3 || !getenv("RF_SOCKET")) {
		fprintf(stderr, "usage: rfhijack before|after PORT [stale SECONDS] (RF_SOCKET set)\n");
		return 2;
	}
	int port = target_port = atoi(argv[2]);
	if (strcmp(argv[1], "before") == 0) {
		int s = self_connected(port);
		try_register("register a socket on the port connected to itself", s);
		try_register("register a TCP socket bound to the port, not listening",
			     tcp(SOCK_STREAM, port, true, false, SO_REUSEADDR));
		common(port);
		if (argc >= 5 && strcmp(argv[3], "stale") == 0)
			stale(port, atoi(argv[4]));
	} else {
		after(port);
	}
	printf("done: %s\n", hijacked ? "HIJACKED" : "all refused");
	return hijacked;
}
