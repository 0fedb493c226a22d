/*
 * test_librf_loop.c - librf serving RFloop connections natively
 * (src/librf/loop_listen.c, loop_conn.c): a fiber echo server that
 * listens and accepts with the ordinary calls, against a client played
 * here byte for byte as librfloop.so plays it (a sealed memfd region, two
 * socketpairs, one request datagram), and a fake rfd (RF_SOCKET) that
 * takes the listener's registration and tells us its rendezvous name.
 *
 * Covered: registration and a round trip with kernel TCP beside it on the
 * same listener; the core sleeping and woken by the client's doorbell;
 * the client sleeping and woken by ours (counted); non-blocking reads;
 * a client that dies mid-request; a server that closes; a corrupt ring;
 * every kind of malformed request dropped while the next good one is
 * served; rfd refusing a listener (it stays kernel TCP); the listener's
 * request checks on their own (src/rfloop/req.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "librf_harness.h"
#include "base/fdpass.h"
#include "librf/loop.h"
#include "rf/io.h"
#include "rfloop/req.h"
#include "rfloop/ring.h"

#define RING 4096u

/* ---- a fake rfd: takes rfloop_listen, remembers the rendezvous name ------------ */

static char dir[64], rfd_path[108];
static int rfd_lfd = -1;
static volatile int rfd_refuse, rfd_calls;
static struct sockaddr_un bell_addr;
static socklen_t bell_len;

static void *fake_rfd(void *arg)
{
	(void)arg;
	for (;;) {
		char buf[512];
		int fds[BASE_FDPASS_MAX], nfds = 0, s = accept(rfd_lfd, NULL, NULL);
		if (s < 0)
			return NULL;
		ssize_t n = base_recv_fds(s, buf, sizeof(buf) - 1, fds, BASE_FDPASS_MAX, &nfds, 0);
		const char *ans = "{\"version\":1,\"id\":1,\"ok\":false,\"error\":\"permission_denied\"}\n";
		if (n > 0 && nfds == 2 && !rfd_refuse) {
			socklen_t l = sizeof(bell_addr);
			if (getsockname(fds[1], (struct sockaddr *)&bell_addr, &l) == 0) {
				bell_len = l;
				ans = "{\"version\":1,\"id\":1,\"ok\":true}\n";
			}
		}
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		if (write(s, ans, strlen(ans)) < 0)
			break;
		close(s);
		__atomic_fetch_add(&rfd_calls, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* ---- the server: fibers echo until EOF; "Q" closes at once ---------------------- */

struct server {
	int lfd;
	uint16_t port;
	volatile int accepted, done, acceptor_done;
	volatile int first_nb;       /* the first read's result (MSG_DONTWAIT, MSG_PEEK) */
	volatile int write_ok;       /* the client may write now */
	volatile long last;          /* the last read's result */
};
static struct server srv;

static void echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	ssize_t n;

	srv.first_nb = (int)rf_recv(fd, buf, 1, MSG_DONTWAIT | MSG_PEEK);
	__atomic_store_n(&srv.write_ok, 1, __ATOMIC_RELEASE);
	while ((n = rf_recv(fd, buf, sizeof(buf), 0)) > 0 && buf[0] != 'Q')
		if (rf_send_all(fd, buf, (size_t)n) != n)
			break;
	srv.last = n;
	CHECK(rf_closefd(fd) == 0);
	__atomic_fetch_add(&srv.done, 1, __ATOMIC_RELEASE);
}

static void acceptor(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = rf_accept(srv.lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			break;
		__atomic_fetch_add(&srv.accepted, 1, __ATOMIC_RELEASE);
		CHECK(rf_spawn(echo_conn, (void *)(intptr_t)fd) == 0);
	}
	__atomic_store_n(&srv.acceptor_done, 1, __ATOMIC_RELEASE);
}

static void server_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);

	memset(&srv, 0, sizeof(srv));
	srv.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(srv.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(srv.lfd, 64), 0);
	assert_int_equal(getsockname(srv.lfd, (struct sockaddr *)&a, &l), 0);
	srv.port = ntohs(a.sin_port);
	assert_int_equal(rf_spawn_on(rf_ncores() - 1, acceptor, NULL), 0);
}

/* The listener stays open (its record is found by fd number). */
static void server_stop(void)
{
	shutdown(srv.lfd, SHUT_RDWR);
	WAIT_FOR(__atomic_load_n(&srv.acceptor_done, __ATOMIC_ACQUIRE), 5000);
	h_check();
}

/* ---- the client, as librfloop.so makes one ---------------------------------------- */

struct cl {
	int memfd, fd, hidden;     /* fd: the application's; hidden: ours of the other pair */
	void *mem;
	size_t len;
	struct rfl_ring tx, rx;    /* direction 0 we write, 1 we read */
	int give[RFL_REQ_FDS];
};

static void cl_make(struct cl *c, bool seal)
{
	int a[2], b[2];

	c->len = rfl_region_size(RING);
	c->memfd = memfd_create("cl", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(c->memfd >= 0);
	assert_int_equal(ftruncate(c->memfd, (off_t)c->len), 0);
	if (seal)
		assert_int_equal(fcntl(c->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	c->mem = mmap(NULL, c->len, PROT_READ | PROT_WRITE, MAP_SHARED, c->memfd, 0);
	assert_true(c->mem != MAP_FAILED);
	assert_int_equal(rfl_region_format(c->mem, c->len, RING), 0);
	assert_int_equal(rfl_ring_attach(&c->tx, c->mem, c->len, RING, 0, RFL_WRITER), 0);
	assert_int_equal(rfl_ring_attach(&c->rx, c->mem, c->len, RING, 1, RFL_READER), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
	c->fd = a[0];
	c->hidden = b[1];
	c->give[0] = c->memfd;
	c->give[1] = a[1];
	c->give[2] = b[0];
}

static struct rfl_req cl_req(void)
{
	struct rfl_req r = { .magic = RFL_REQ_MAGIC, .abi = RFL_ABI, .size = RING };
	struct sockaddr_in *s = (void *)&r.server, *c = (void *)&r.client;

	s->sin_family = c->sin_family = AF_INET;
	s->sin_port = htons(srv.port);
	c->sin_port = htons(40000);
	r.server_len = r.client_len = sizeof(struct sockaddr_in);
	return r;
}

static void send_raw(const void *buf, size_t len, const int *fds, int nfds)
{
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(base_sendto_fds(s, (struct sockaddr *)&bell_addr, bell_len, buf, len, fds, nfds,
				    0) == (ssize_t)len);
	close(s);
}

/* Connect: the request goes; the listener's ends are the listener's. */
static void cl_connect(struct cl *c)
{
	struct rfl_req r = cl_req();
	send_raw(&r, sizeof(r), c->give, RFL_REQ_FDS);
	close(c->give[1]);
	close(c->give[2]);
}

static void cl_close(struct cl *c)
{
	close(c->fd);
	close(c->hidden);
	close(c->memfd);
	munmap(c->mem, c->len);
}

/* Write s; ring if the server armed (returns whether it had). */
static bool cl_write(struct cl *c, const char *s)
{
	struct iovec iov = { (void *)s, strlen(s) };
	assert_int_equal(rfl_ring_write(&c->tx, &iov, 1, strlen(s)), (long)strlen(s));
	if (!rfl_ring_take_arm(&c->tx))
		return false;
	char b = 1;
	assert_int_equal(send(c->hidden, &b, 1, MSG_DONTWAIT), 1);
	return true;
}

static void cl_expect(struct cl *c, const char *want)
{
	char buf[256] = { 0 };
	struct iovec iov = { buf, strlen(want) };
	WAIT_FOR(rfl_ring_ready(&c->rx) >= (long)strlen(want), 5000);
	assert_int_equal(rfl_ring_read(&c->rx, &iov, 1, strlen(want), false), (long)strlen(want));
	assert_string_equal(buf, want);
}

static uint32_t wakes_sum(void)
{
	uint32_t n = 0;
	for (int i = 0; i < rf_ncores(); i++)
		n += lrf_g.status->core[rf_core_cpu(i)].rfloop_wakes;
	return n;
}

static uint64_t core_sum(size_t off)
{
	uint64_t n = 0;
	for (int i = 0; i < rf_ncores(); i++)
		n += *(uint64_t *)((char *)&lrf_g.status->core[rf_core_cpu(i)] + off);
	return n;
}

/* ---- setup -------------------------------------------------------------------------- */

static int setup(void **state)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	pthread_t t;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rfloopXXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(rfd_path, sizeof(rfd_path), "%s/rfd.sock", dir);
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", rfd_path);
	rfd_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bind(rfd_lfd, (struct sockaddr *)&un, sizeof(un)) || listen(rfd_lfd, 8) ||
	    pthread_create(&t, NULL, fake_rfd, NULL))
		return -1;
	pthread_detach(t);
	setenv("RF_SOCKET", rfd_path, 1);
	return h_standalone_two("64M");
}

static int teardown(void **state)
{
	(void)state;
	lrf_test_stop();
	shutdown(rfd_lfd, SHUT_RDWR);
	unlink(rfd_path);
	rmdir(dir);
	return 0;
}

/* The server runs and has registered; its calls counted from here. */
static void registered_server(void)
{
	int calls = __atomic_load_n(&rfd_calls, __ATOMIC_ACQUIRE);
	bell_len = 0;
	server_start();
	/* requests sent from now on wait in the rendezvous socket's queue */
	WAIT_FOR(__atomic_load_n(&rfd_calls, __ATOMIC_ACQUIRE) > calls && bell_len, 5000);
}

/* A registered server and a client connected to it, its server fiber
 * past its first (non-blocking) read. */
static void connected(struct cl *c)
{
	registered_server();
	cl_make(c, true);
	cl_connect(c);
	WAIT_FOR(__atomic_load_n(&srv.write_ok, __ATOMIC_ACQUIRE), 5000);
}

/* The server fiber ended with `last`; the server stops. */
static void ended(long last)
{
	WAIT_FOR(__atomic_load_n(&srv.done, __ATOMIC_ACQUIRE) == 1, 5000);
	assert_int_equal(srv.last, last);
	server_stop();
}

/* ---- tests ---------------------------------------------------------------------------- */

/* One kernel TCP round trip to the server, which must echo it. */
static void tcp_echo(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(srv.port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char buf[4] = { 0 };
	int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_int_equal(connect(t, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(send(t, "tcp", 3, 0), 3);
	assert_int_equal(recv(t, buf, 3, MSG_WAITALL), 3);
	assert_string_equal(buf, "tcp");
	close(t);
}

static void test_echo_beside_tcp(void **state)
{
	uint64_t conns = core_sum(offsetof(struct rf_status_core, rfloop_conns));
	uint64_t bytes = core_sum(offsetof(struct rf_status_core, rfloop_bytes));
	struct cl c;

	(void)state;
	connected(&c);
	assert_int_equal(srv.first_nb, -EAGAIN);   /* non-blocking, nothing yet */
	cl_write(&c, "hello");
	cl_expect(&c, "hello");
	tcp_echo();   /* kernel TCP on the same listener, meanwhile */
	cl_write(&c, "world");
	cl_expect(&c, "world");
	cl_close(&c);
	WAIT_FOR(__atomic_load_n(&srv.done, __ATOMIC_ACQUIRE) == 2, 5000);
	assert_int_equal(srv.last, 0);   /* the client's end: EOF */
	assert_int_equal(srv.accepted, 2);
	assert_int_equal(core_sum(offsetof(struct rf_status_core, rfloop_conns)), conns + 1);
	assert_int_equal(core_sum(offsetof(struct rf_status_core, rfloop_bytes)), bytes + 20);
	server_stop();
}

/* Both sides sleep in turn: the server's core armed and is rung by the
 * client; the client armed and is rung by the server (counted). */
static void test_sleepers_woken(void **state)
{
	uint32_t wakes = wakes_sum();
	struct cl c;

	(void)state;
	connected(&c);
	usleep(50000);   /* the server's core is asleep: it armed the ring */
	assert_true(cl_write(&c, "ping"));
	cl_expect(&c, "ping");
	/* The client waits as librfloop does: armed, asleep in poll() (the
	 * doorbell bytes so far drained first). */
	char b[64];
	ssize_t n;
	usleep(20000);
	while (recv(c.fd, b, sizeof(b), MSG_DONTWAIT) > 0)
		;
	__atomic_store_n(&c.rx.d->armed, 1, __ATOMIC_SEQ_CST);
	usleep(50000);
	assert_true(cl_write(&c, "pong"));
	struct pollfd p = { .fd = c.fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);   /* our doorbell byte */
	cl_expect(&c, "pong");
	assert_true(wakes_sum() > wakes);
	/* the server closes: the client reads EOF on its descriptor */
	cl_write(&c, "Q");
	WAIT_FOR(__atomic_load_n(&srv.done, __ATOMIC_ACQUIRE) == 1, 5000);
	assert_int_equal(__atomic_load_n(&c.rx.d->wr_closed, __ATOMIC_ACQUIRE), 1);
	while ((n = recv(c.fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
		;   /* doorbell bytes, then EOF */
	assert_int_equal(n, 0);
	cl_close(&c);
	server_stop();
}

/* A client dies mid-request: its descriptors close, the read ends. */
static void test_client_dies(void **state)
{
	struct cl c;

	(void)state;
	connected(&c);
	cl_write(&c, "half a req");
	cl_expect(&c, "half a req");
	close(c.fd);
	close(c.hidden);   /* as the kernel does for a dead process; no flag set */
	ended(0);
	close(c.memfd);
	munmap(c.mem, c.len);
}

/* A client that corrupts its ring resets the connection. */
static void test_corrupt_ring(void **state)
{
	struct cl c;

	(void)state;
	connected(&c);
	__atomic_store_n(&c.tx.d->tail, (uint64_t)RING * 3, __ATOMIC_SEQ_CST);
	char b = 1;
	send(c.hidden, &b, 1, MSG_DONTWAIT);
	ended(-ECONNRESET);
	cl_close(&c);
}

/* Malformed requests are dropped; the next good one is served. */
static void test_malformed_requests(void **state)
{
	struct cl bad, good;
	struct rfl_req r;

	(void)state;
	registered_server();
	cl_make(&bad, true);
	r = cl_req();
	send_raw(&r, sizeof(r) - 1, bad.give, RFL_REQ_FDS);      /* short */
	send_raw(&r, sizeof(r), bad.give, 2);                     /* a descriptor missing */
	r.magic++;
	send_raw(&r, sizeof(r), bad.give, RFL_REQ_FDS);          /* bad magic */
	r = cl_req();
	r.client_len = 3;
	send_raw(&r, sizeof(r), bad.give, RFL_REQ_FDS);          /* bad address */
	r = cl_req();
	r.size = RING * 2;
	send_raw(&r, sizeof(r), bad.give, RFL_REQ_FDS);          /* not the memfd's size */
	r.size = LRF_LOOP_RING_MAX * 2;
	send_raw(&r, sizeof(r), bad.give, RFL_REQ_FDS);          /* too big to map */
	r = cl_req();
	int swapped[RFL_REQ_FDS] = { bad.give[0], bad.memfd, bad.give[2] };
	send_raw(&r, sizeof(r), swapped, RFL_REQ_FDS);           /* not a socket */
	struct cl unsealed;
	cl_make(&unsealed, false);
	send_raw(&r, sizeof(r), unsealed.give, RFL_REQ_FDS);     /* may shrink */
	cl_make(&good, true);
	cl_connect(&good);
	cl_write(&good, "ok");
	cl_expect(&good, "ok");
	assert_int_equal(srv.accepted, 1);
	cl_close(&good);
	WAIT_FOR(__atomic_load_n(&srv.done, __ATOMIC_ACQUIRE) == 1, 5000);
	for (int i = 1; i < RFL_REQ_FDS; i++) {
		close(bad.give[i]);
		close(unsealed.give[i]);
	}
	cl_close(&bad);
	cl_close(&unsealed);
	server_stop();
}

/* rfd refuses the listener: it is kernel TCP only. */
static void test_refused(void **state)
{
	int calls = __atomic_load_n(&rfd_calls, __ATOMIC_ACQUIRE);

	(void)state;
	rfd_refuse = 1;
	bell_len = 0;
	server_start();
	WAIT_FOR(__atomic_load_n(&rfd_calls, __ATOMIC_ACQUIRE) > calls, 5000);
	assert_int_equal(bell_len, 0);
	tcp_echo();
	WAIT_FOR(__atomic_load_n(&srv.done, __ATOMIC_ACQUIRE) == 1, 5000);
	rfd_refuse = 0;
	server_stop();
}

/* req.c on its own: the request's words, the memfd's shape. */
static void test_req_checks(void **state)
{
	struct rfl_req r = cl_req();
	struct cl c;

	(void)state;
	assert_true(rfl_req_ok(&r));
	r.abi++;
	assert_false(rfl_req_ok(&r));
	r = cl_req();
	r.server.ss_family = AF_UNIX;
	assert_false(rfl_req_ok(&r));
	cl_make(&c, true);
	void *m = rfl_region_map_fd(c.memfd, RING, 0);
	assert_non_null(m);
	munmap(m, c.len);
	assert_null(rfl_region_map_fd(c.memfd, RING * 2, 0));   /* size disagrees */
	assert_null(rfl_region_map_fd(c.give[1], RING, 0));     /* a socket */
	memset(c.mem, 0, 64);                                    /* header gone */
	assert_null(rfl_region_map_fd(c.memfd, RING, 0));
	assert_true(rfl_is_unix_stream(c.give[1]));
	assert_false(rfl_is_unix_stream(c.memfd));
	for (int i = 1; i < RFL_REQ_FDS; i++)
		close(c.give[i]);
	cl_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req_checks),
		cmocka_unit_test(test_echo_beside_tcp),
		cmocka_unit_test(test_sleepers_woken),
		cmocka_unit_test(test_client_dies),
		cmocka_unit_test(test_corrupt_ring),
		cmocka_unit_test(test_malformed_requests),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
