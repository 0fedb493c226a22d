/*
 * test_librf_io.c - librf's I/O over per-core io_uring (rf/io.h): a fiber
 * echo server and clients over loopback TCP, many connections at once on
 * both cores, an idle core with I/O in flight woken promptly both by a
 * completion and by its doorbell (with IORING_OP_FUTEX_WAIT and with the
 * 1 ms polling fallback), a connection whose core is taken away in the
 * middle of a receive (playing rfd on a desc of our own), and the calls'
 * behaviour off a core.  Prints the wake-up latencies it measured.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "librf_harness.h"
#include "librf/io_internal.h"
#include "rf/io.h"

static int ncores;

static int setup_std(void **state)
{
	(void)state;
	if (h_standalone_two("64M") < 0)
		return -1;
	ncores = rf_ncores();
	return 0;
}

static int setup_nofutex(void **state)
{
	setenv("RF_IO_NO_FUTEX_WAIT", "1", 1);
	int r = setup_std(state);
	unsetenv("RF_IO_NO_FUTEX_WAIT");
	return r;
}

static int teardown(void **state)
{
	(void)state;
	lrf_test_stop();
	return 0;
}

/* The last core: the one the test keeps idle (core 0 when only one). */
static int idle_core(void)
{
	return ncores - 1;
}

/* ---- an echo server in fibers --------------------------------------------- */

struct server {
	int lfd;
	uint16_t port;
	volatile int accepted, conns_done, acceptor_done;
};

static void echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	ssize_t n;

	while ((n = rf_recv(fd, buf, sizeof(buf), 0)) > 0)
		CHECK(rf_send_all(fd, buf, (size_t)n) == n);
	CHECK(n == 0);
	CHECK(rf_closefd(fd) == 0);
}

static struct server srv;

static void acceptor(void *arg)
{
	struct server *s = arg;

	for (;;) {
		int fd = rf_accept(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			break;  /* the test shut the listening socket down */
		__atomic_fetch_add(&s->accepted, 1, __ATOMIC_RELAXED);
		CHECK(rf_spawn(echo_conn, (void *)(intptr_t)fd) == 0);
	}
	__atomic_store_n(&s->acceptor_done, 1, __ATOMIC_RELEASE);
}

static void server_start(int core)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int one = 1;

	memset(&srv, 0, sizeof(srv));
	srv.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(srv.lfd >= 0);
	setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(srv.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(srv.lfd, 1024), 0);
	assert_int_equal(getsockname(srv.lfd, (struct sockaddr *)&a, &l), 0);
	srv.port = ntohs(a.sin_port);
	assert_int_equal(rf_spawn_on(core, acceptor, &srv), 0);
}

static void server_stop(void)
{
	shutdown(srv.lfd, SHUT_RDWR);
	WAIT_FOR(__atomic_load_n(&srv.acceptor_done, __ATOMIC_ACQUIRE), 5000);
	close(srv.lfd);
	h_check();
}

static int connect_fiber_side(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(srv.port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (rf_connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- one client, one connection ------------------------------------------- */

static void client_once(void *arg)
{
	char buf[64] = { 0 };
	int fd = connect_fiber_side();

	(void)arg;
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(rf_send(fd, "hello", 5, 0) == 5);
	CHECK(rf_recv(fd, buf, 5, MSG_WAITALL) == 5);
	CHECK(!memcmp(buf, "hello", 5));
	CHECK(rf_closefd(fd) == 0);
}

static void test_echo_one(void **state)
{
	(void)state;
	server_start(0);
	h_run_on(idle_core(), client_once, NULL);
	assert_true(rf_io_available() == false);  /* the test thread is foreign */
	server_stop();
	assert_int_equal(srv.accepted, 1);
}

/* ---- many connections on every core --------------------------------------- */

#define NCLIENTS 64
#define ROUNDS   50
static volatile int clients_done;

static void client_many(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	char out[128], in[128];
	int fd = connect_fiber_side();

	CHECK(fd >= 0);
	for (int r = 0; fd >= 0 && r < ROUNDS; r++) {
		size_t len = 1 + (id * 7 + (size_t)r * 13) % sizeof(out);
		size_t got = 0;
		for (size_t i = 0; i < len; i++)
			out[i] = (char)(id + (uintptr_t)r + i);
		CHECK(rf_send_all(fd, out, len) == (ssize_t)len);
		while (got < len) {
			ssize_t n = rf_recv(fd, in + got, len - got, 0);
			CHECK(n > 0);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		CHECK(!memcmp(in, out, len));
	}
	if (fd >= 0)
		rf_closefd(fd);
	__atomic_fetch_add(&clients_done, 1, __ATOMIC_RELEASE);
}

static void test_many_connections(void **state)
{
	(void)state;
	clients_done = 0;
	server_start(0);
	for (uintptr_t i = 0; i < NCLIENTS; i++)
		assert_int_equal(rf_spawn_on((int)(i % (uintptr_t)ncores), client_many,
					     (void *)i), 0);
	WAIT_FOR(__atomic_load_n(&clients_done, __ATOMIC_ACQUIRE) == NCLIENTS, 30000);
	h_check();
	server_stop();
	assert_int_equal(srv.accepted, NCLIENTS);
	for (int c = 0; c < ncores; c++) {
		struct lrf_io *io = lrf_g.cores[c]->io;
		printf("# core %d: %llu completions, %llu io_uring_enter, %llu ring sleeps\n", c,
		       (unsigned long long)io->completions, (unsigned long long)io->enters,
		       (unsigned long long)io->ring_sleeps);
	}
}

/* ---- waking an idle core that has I/O in flight ---------------------------- */

static int sp[2];
static volatile uint64_t recv_at, posted_at;
static volatile int recv_res = -999;

static void blocked_reader(void *arg)
{
	char c;
	(void)arg;
	recv_res = (int)rf_recv(sp[0], &c, 1, 0);
	recv_at = rf_now_ns();
}

static void mark_posted(void *arg)
{
	(void)arg;
	posted_at = rf_now_ns();
}

/* Wait until the core sleeps in its ring: status says it sleeps (the
 * flag is cleared on every wake-up, before any work runs) while I/O is in
 * flight, which makes it sleep in the ring. */
static void wait_ring_sleep(struct lrf_core *c)
{
	WAIT_FOR(__atomic_load_n(&c->st->sleeping, __ATOMIC_ACQUIRE) &&
		 __atomic_load_n(&c->io->inflight, __ATOMIC_RELAXED) == 1, 5000);
	usleep(20000);  /* let it really get into the kernel */
}

static void idle_wake(bool expect_futex)
{
	struct lrf_core *c = lrf_g.cores[idle_core()];
	uint64_t t0, bell_ns, cqe_ns;

	assert_non_null(c->io);
	assert_int_equal(c->io->futex_ok, expect_futex);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	recv_at = posted_at = 0;
	recv_res = -999;
	assert_int_equal(rf_spawn_on(idle_core(), blocked_reader, NULL), 0);
	WAIT_FOR(__atomic_load_n(&c->io->inflight, __ATOMIC_RELAXED) == 1, 5000);

	/* A doorbell ring (a mailbox post from this foreign thread). */
	wait_ring_sleep(c);
	t0 = rf_now_ns();
	assert_int_equal(rf_post(idle_core(), mark_posted, NULL), 0);
	WAIT_FOR(posted_at != 0, 100);
	bell_ns = posted_at - t0;
	assert_int_equal(c->io->inflight, 1);   /* the receive still waits */

	/* A completion: data arrives for the blocked receive. */
	wait_ring_sleep(c);
	t0 = rf_now_ns();
	assert_int_equal(write(sp[1], "x", 1), 1);
	WAIT_FOR(recv_at != 0, 100);
	cqe_ns = recv_at - t0;
	assert_int_equal(recv_res, 1);
	printf("# %s: doorbell wake %.1f us, completion wake %.1f us\n",
	       expect_futex ? "FUTEX_WAIT in the ring" : "1 ms polling fallback",
	       (double)bell_ns / 1e3, (double)cqe_ns / 1e3);
	assert_true(bell_ns < 100000000ull);
	assert_true(cqe_ns < 100000000ull);
	close(sp[0]);
	close(sp[1]);
}

static void test_idle_wake_futex(void **state)
{
	(void)state;
	idle_wake(true);
}

static void test_idle_wake_fallback(void **state)
{
	(void)state;
	idle_wake(false);
}

/* ---- calls off a core and in scheduler context ------------------------------- */

static volatile long sched_ctx_res;

static void in_event(void *arg)
{
	char c;
	(void)arg;
	sched_ctx_res = rf_recv(sp[0], &c, 1, MSG_DONTWAIT);
}

static void test_foreign_and_event(void **state)
{
	char buf[4];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	/* A foreign thread gets the plain system calls. */
	assert_int_equal(rf_send(sp[1], "abc", 3, 0), 3);
	assert_int_equal(rf_recv(sp[0], buf, sizeof(buf), 0), 3);
	assert_int_equal(rf_recv(sp[0], buf, sizeof(buf), MSG_DONTWAIT), -EAGAIN);
	assert_int_equal(rf_closefd(-1), -EBADF);
	/* Scheduler context must not block. */
	sched_ctx_res = 1;
	assert_int_equal(rf_post(0, in_event, NULL), 0);
	WAIT_FOR(sched_ctx_res != 1, 5000);
	assert_int_equal(sched_ctx_res, -EWOULDBLOCK);
	close(sp[0]);
	close(sp[1]);
}

/* ---- a receive in flight while its core is taken away ---------------------- */

/* This test plays rfd on a desc/status of its own (as test_librf_reconfig
 * does): core a stays, core b is added, gets a fiber blocked in rf_recv,
 * and is taken away.  The receive must be cancelled on b and issued again
 * on a, so the data sent afterwards reaches the fiber, on cpu a, with no
 * error in between. */
static struct rf_desc *D;
static struct rf_status *S;
static struct h_rfd R;
static int cpu_a, cpu_b;

static uint32_t publish_cpu_b(uint8_t want)
{
	uint32_t gen = D->gen + 1;

	__atomic_store_n(&D->seq, D->seq + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	D->cpu[cpu_b] = want;
	D->ncpus = want == RF_CPU_ACTIVE ? 2 : 1;
	__atomic_store_n(&D->seq, D->seq + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&D->gen, gen, __ATOMIC_SEQ_CST);
	h_rfd_send(&R, D, S, RF_CMD_APPLY, gen);
	return gen;
}

static void set_cpu_b(uint8_t want)
{
	h_rfd_wait_ack(&R, publish_cpu_b(want), 5000);
}

static int setup_rfd(void **state)
{
	int fd;
	char regions[32];
	void *p;

	(void)state;
	h_two_cpus(&cpu_a, &cpu_b);
	D = mmap(NULL, RF_DESC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	S = mmap(NULL, RF_STATUS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fd = memfd_create("rftest-io", MFD_CLOEXEC);
	if (D == MAP_FAILED || S == MAP_FAILED || fd < 0 || ftruncate(fd, 32u << 20) < 0 ||
	    h_rfd_rings(&R) < 0)
		return -1;
	p = mmap(NULL, 32u << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	munmap(p, 32u << 20);
	D->magic = RF_DESC_MAGIC;
	D->abi = RF_DESC_ABI;
	D->gen = 1;
	strcpy(D->name, "rftest-io");
	D->cpu[cpu_a] = RF_CPU_ACTIVE;
	D->ncpus = 1;
	D->deadline_ns = 100000000;
	D->region[0] = (struct rf_desc_region){ 32u << 20, 100, RF_REGION_OFFERED };
	snprintf(regions, sizeof(regions), "100:%d", fd);
	return lrf_test_attach(D, S, R.msgs, -1, regions) < 0 ? -1 : 0;
}

static int teardown_rfd(void **state)
{
	(void)state;
	lrf_test_stop();
	munmap(D, RF_DESC_SIZE);
	munmap(S, RF_STATUS_SIZE);
	h_rfd_free(&R);
	return 0;
}

static volatile int moved_cpu = -1;

static void reader_that_moves(void *arg)
{
	char buf[8] = { 0 };
	(void)arg;
	recv_res = (int)rf_recv(sp[0], buf, 5, MSG_WAITALL);
	CHECK(!memcmp(buf, "after", 5));
	moved_cpu = rf_cpu_self();
	recv_at = rf_now_ns();
}

static void test_recv_survives_leave(void **state)
{
	struct lrf_core *b;

	(void)state;
	if (cpu_b < 0)
		skip();
	WAIT_FOR(__atomic_load_n(&S->applied_gen, __ATOMIC_ACQUIRE) == 1, 5000);
	set_cpu_b(RF_CPU_ACTIVE);
	b = lrf_g.cpu_core[cpu_b];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	recv_at = 0;
	recv_res = -999;
	moved_cpu = -1;
	assert_int_equal(rf_spawn_on(b->index, reader_that_moves, NULL), 0);
	WAIT_FOR(b->io && __atomic_load_n(&b->io->inflight, __ATOMIC_RELAXED) == 1, 5000);
	set_cpu_b(RF_CPU_LEAVING);
	assert_int_equal(S->core[cpu_b].state, RF_CORE_PARKED);
	assert_int_equal(b->io->inflight, 0);   /* cancelled on the way out */
	assert_true(recv_at == 0);             /* and not failed to the fiber */
	assert_int_equal(write(sp[1], "after", 5), 5);
	WAIT_FOR(recv_at != 0, 5000);
	h_check();
	assert_int_equal(recv_res, 5);
	assert_int_equal(moved_cpu, cpu_a);
	/* The core comes back and serves I/O again. */
	set_cpu_b(RF_CPU_ACTIVE);
	recv_at = 0;
	assert_int_equal(rf_spawn_on(b->index, reader_that_moves, NULL), 0);
	WAIT_FOR(__atomic_load_n(&b->io->inflight, __ATOMIC_RELAXED) == 1, 5000);
	assert_int_equal(write(sp[1], "after", 5), 5);
	WAIT_FOR(recv_at != 0, 5000);
	assert_int_equal(moved_cpu, cpu_b);
	close(sp[0]);
	close(sp[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_echo_one, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_many_connections, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_idle_wake_futex, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_idle_wake_fallback, setup_nofutex, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_and_event, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_recv_survives_leave, setup_rfd, teardown_rfd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
