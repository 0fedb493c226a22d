/*
 * test_librf_reconfig.c - the rfd handshake, with this test playing rfd on
 * a desc/status and control rings it owns (commands out, acknowledgements
 * back, as rfd does): initial attach, core hot-add and hot-remove (with
 * work moving off the leaving core), memory offered over the control
 * socket, reclaim of a free and of a busy region, shutdown, duplicate and
 * unknown commands, and a malformed desc or control rings.  Prints the
 * p50/p90/max acknowledgement latencies.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include "librf_harness.h"
#include "base/fdpass.h"

static struct rf_desc *D;
static struct rf_status *S;
static struct h_rfd R;        /* the control rings, rfd's ends */
static int ctl[2] = { -1, -1 };
static int cpu_a, cpu_b;      /* the subOS starts on a; b comes and goes */

/* A region as rfd hands it over: a memfd whose pages are already there. */
static int memfd_of(uint64_t size)
{
	int fd = memfd_create("rftest", MFD_CLOEXEC);
	void *p;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	assert_true(p != MAP_FAILED);
	munmap(p, size);
	return fd;
}

/* rfd's side of the seqlock: writes happen between begin and end. */
static void pub_begin(void)
{
	__atomic_store_n(&D->seq, D->seq + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Publish, then announce like rfd: the command (RF_CMD_APPLY or
 * RF_CMD_SHUTDOWN) and the doorbells of every CPU the subOS has, gains or
 * is losing. */
static uint32_t pub_end_cmd(enum rf_ctl_type cmd)
{
	uint32_t gen = D->gen + 1;
	__atomic_store_n(&D->seq, D->seq + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&D->gen, gen, __ATOMIC_SEQ_CST);
	h_rfd_send(&R, D, S, cmd, gen);
	return gen;
}

static uint32_t pub_end(void)
{
	return pub_end_cmd(RF_CMD_APPLY);
}

/* Wait like rfd for the acknowledgement on the reply ring.  Returns the
 * time from `t0` to the ack, or fails the test after 5 s.  The status
 * page mirrors it. */
static uint64_t wait_ack(uint32_t gen, uint64_t t0)
{
	h_rfd_wait_ack(&R, gen, 5000);
	uint64_t t = base_now_ns() - t0;
	assert_true((int32_t)(__atomic_load_n(&S->applied_gen, __ATOMIC_ACQUIRE) - gen) >= 0);
	return t;
}

static int setup(void **state)
{
	int fd;
	char regions[32];

	(void)state;
	h_two_cpus(&cpu_a, &cpu_b);
	D = mmap(NULL, RF_DESC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	S = mmap(NULL, RF_STATUS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (D == MAP_FAILED || S == MAP_FAILED)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0 || h_rfd_rings(&R) < 0)
		return -1;
	D->magic = RF_DESC_MAGIC;
	D->abi = RF_DESC_ABI;
	D->gen = 1;
	strcpy(D->name, "rftest");
	D->cpu[cpu_a] = RF_CPU_ACTIVE;
	D->ncpus = 1;
	D->deadline_ns = 100000000;
	D->region[0] = (struct rf_desc_region){ 32u << 20, 100, RF_REGION_OFFERED };
	fd = memfd_of(32u << 20);
	snprintf(regions, sizeof(regions), "100:%d", fd);
	if (lrf_test_attach(D, S, R.msgs, ctl[1], regions) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lrf_test_stop();
	close(ctl[0]);
	munmap(D, RF_DESC_SIZE);
	munmap(S, RF_STATUS_SIZE);
	h_rfd_free(&R);
	return 0;
}

static void test_initial_attach(void **state)
{
	(void)state;
	wait_ack(1, base_now_ns());
	assert_int_equal(S->magic, RF_STATUS_MAGIC);
	assert_int_equal(S->pid, getpid());
	assert_int_equal(S->state, RF_SUBOS_RUNNING);
	assert_int_equal(S->core[cpu_a].state, RF_CORE_RUNNING);
	assert_int_equal(S->region[0], RF_REGION_MAPPED);
	assert_int_equal(rf_ncores(), 1);
	assert_string_equal(rf_name(), "rftest");
	assert_true(rf_mem_total() == 32u << 20);
}

/* ---- core hot-add and hot-remove -------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	printf("# %s ack latency over %d: p50 %.1f us  p90 %.1f us  max %.1f us\n", what, n,
	       (double)v[n / 2] / 1e3, (double)v[n * 9 / 10] / 1e3, (double)v[n - 1] / 1e3);
}

static uint64_t set_cpu_b(uint8_t want)
{
	uint64_t t0 = base_now_ns();
	uint32_t gen;

	pub_begin();
	D->cpu[cpu_b] = want;
	D->ncpus = want == RF_CPU_ACTIVE ? 2 : 1;
	gen = pub_end();
	return wait_ack(gen, t0);
}

#define ROUNDS 40

static void test_core_add_remove(void **state)
{
	uint64_t add[ROUNDS], rem[ROUNDS], first;
	(void)state;
	if (cpu_b < 0)
		skip();
	wait_ack(1, base_now_ns());
	first = set_cpu_b(RF_CPU_ACTIVE);   /* creates the thread */
	assert_int_equal(S->core[cpu_b].state, RF_CORE_RUNNING);
	assert_int_equal(rf_ncores(), 2);
	rem[0] = set_cpu_b(RF_CPU_LEAVING);
	assert_int_equal(S->core[cpu_b].state, RF_CORE_PARKED);
	assert_int_equal(rf_ncores(), 1);
	for (int i = 0; i < ROUNDS; i++) {
		add[i] = set_cpu_b(RF_CPU_ACTIVE);
		assert_int_equal(S->core[cpu_b].state, RF_CORE_RUNNING);
		rem[i] = set_cpu_b(RF_CPU_LEAVING);
		assert_int_equal(S->core[cpu_b].state, RF_CORE_PARKED);
	}
	printf("# first core add (thread creation): %.1f us\n", (double)first / 1e3);
	report("core add (resume)", add, ROUNDS);
	report("core remove", rem, ROUNDS);
}

/* Busy subOS: a fiber that never sleeps keeps every core polling. */
static volatile int spin_stop;
static int spin_live;          /* spawned and not yet ended */

static void spinner(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	/* Ends once off the CPU it was spawned for (also when the core left
	 * before it first ran). */
	while (!__atomic_load_n(&spin_stop, __ATOMIC_ACQUIRE) && rf_cpu_self() == cpu)
		rf_yield();
	__atomic_fetch_sub(&spin_live, 1, __ATOMIC_RELEASE);
}

/* A spinner for cpu, unless a few are still on their way out: a core the
 * host starves for milliseconds (another process on its CPU) ends them
 * late, and their stacks must not use up the subOS's memory meanwhile. */
static void spin_on(int core, int cpu)
{
	if (__atomic_load_n(&spin_live, __ATOMIC_ACQUIRE) >= 4)
		return;
	__atomic_fetch_add(&spin_live, 1, __ATOMIC_ACQ_REL);
	assert_int_equal(rf_spawn_on(core, spinner, (void *)(intptr_t)cpu), 0);
}

/* BUSY_ROUNDS sends the command ring round several times (2 commands per
 * round, RF_MSGS_SLOTS slots): commands must leave the ring even while rfd
 * announces the next change as soon as the last one is acknowledged. */
#define BUSY_ROUNDS (2 * RF_MSGS_SLOTS)

static void test_core_add_remove_busy(void **state)
{
	uint64_t add[BUSY_ROUNDS], rem[BUSY_ROUNDS];
	(void)state;
	if (cpu_b < 0)
		skip();
	wait_ack(1, base_now_ns());
	spin_stop = 0;
	spin_live = 0;
	set_cpu_b(RF_CPU_ACTIVE);
	spin_on(0, cpu_a);
	spin_on(1, cpu_b);
	set_cpu_b(RF_CPU_LEAVING);
	for (int i = 0; i < BUSY_ROUNDS; i++) {
		add[i] = set_cpu_b(RF_CPU_ACTIVE);
		spin_on(1, cpu_b);
		rem[i] = set_cpu_b(RF_CPU_LEAVING);
	}
	__atomic_store_n(&spin_stop, 1, __ATOMIC_RELEASE);
	WAIT_FOR(__atomic_load_n(&spin_live, __ATOMIC_ACQUIRE) == 0, 5000);
	report("busy core add", add, BUSY_ROUNDS);
	report("busy core remove", rem, BUSY_ROUNDS);
}

/* Work on a leaving core moves: fibers, sleeping fibers, timers, events. */
static volatile int mig_cpu_after, mig_done, mig_timer_cpu;
static volatile int mig_phase;

static void mig_worker(void *arg)
{
	(void)arg;
	__atomic_store_n(&mig_phase, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&mig_phase, __ATOMIC_ACQUIRE) == 1)
		rf_sleep_ns(100000);
	mig_cpu_after = rf_cpu_self();
	__atomic_store_n(&mig_done, 1, __ATOMIC_RELEASE);
}

static void mig_timer(void *arg)
{
	(void)arg;
	mig_timer_cpu = rf_cpu_self();
}

static void arm_timer(void *arg)
{
	(void)arg;
	rf_timer_add(rf_now_ns() + 20000000, mig_timer, NULL);
}

static void test_work_moves_off_leaving_core(void **state)
{
	(void)state;
	if (cpu_b < 0)
		skip();
	wait_ack(1, base_now_ns());
	set_cpu_b(RF_CPU_ACTIVE);
	mig_phase = mig_done = 0;
	mig_timer_cpu = -1;
	assert_int_equal(rf_spawn_on(1, mig_worker, NULL), 0);
	WAIT_FOR(__atomic_load_n(&mig_phase, __ATOMIC_ACQUIRE) == 1, 5000);
	assert_int_equal(rf_post(1, arm_timer, NULL), 0);
	set_cpu_b(RF_CPU_LEAVING);
	__atomic_store_n(&mig_phase, 2, __ATOMIC_RELEASE);
	WAIT_FOR(__atomic_load_n(&mig_done, __ATOMIC_ACQUIRE), 5000);
	assert_int_equal(mig_cpu_after, cpu_a);
	WAIT_FOR(mig_timer_cpu >= 0, 5000);
	assert_int_equal(mig_timer_cpu, cpu_a);
	/* Posting to the parked core lands on a running one. */
	mig_timer_cpu = -1;
	assert_int_equal(rf_post(1, mig_timer, NULL), 0);
	WAIT_FOR(mig_timer_cpu >= 0, 5000);
	assert_int_equal(mig_timer_cpu, cpu_a);
}

/* ---- memory: offer, reclaim, busy --------------------------------------- */

static void send_region(int slot, uint32_t id, int fd, uint64_t size)
{
	struct rf_ctl_msg m = { RF_DESC_MAGIC, RF_CTL_REGION, (uint32_t)slot, id, size };

	assert_int_equal(base_send_fd(ctl[0], &m, sizeof(m), fd, 0), (ssize_t)sizeof(m));
	close(fd);
}

static uint64_t offer(int slot, uint32_t id, uint64_t size)
{
	int fd = memfd_of(size);
	uint64_t t0 = base_now_ns();
	uint32_t gen;

	send_region(slot, id, fd, size);
	pub_begin();
	D->region[slot] = (struct rf_desc_region){ size, id, RF_REGION_OFFERED };
	gen = pub_end();
	return wait_ack(gen, t0);
}

static uint64_t reclaim(int slot)
{
	uint64_t t0 = base_now_ns();
	uint32_t gen;

	pub_begin();
	D->region[slot].state = RF_REGION_RECLAIM;
	gen = pub_end();
	return wait_ack(gen, t0);
}

static void test_memory_add_and_reclaim(void **state)
{
	uint64_t total0, t_add, t_rec;
	(void)state;
	wait_ack(1, base_now_ns());
	total0 = rf_mem_total();
	t_add = offer(3, 200, 4u << 20);
	assert_int_equal(S->region[3], RF_REGION_MAPPED);
	assert_true(rf_mem_total() == total0 + (4u << 20));
	t_rec = reclaim(3);
	assert_int_equal(S->region[3], RF_REGION_RETURNED);
	assert_true(rf_mem_total() == total0);
	printf("# memory add (4 MiB memfd) ack %.1f us, reclaim ack %.1f us\n",
	       (double)t_add / 1e3, (double)t_rec / 1e3);
}

/* Fill region 0 with large blocks until one lands in region 1. */
#define MAXB 128
static void *blocks[MAXB];
static int nblocks;
static void fill(void *arg)
{
	char *lo = lrf_regions[1].base, *hi = lo + lrf_regions[1].size;
	(void)arg;
	nblocks = 0;
	while (nblocks < MAXB) {
		char *p = rf_malloc(1u << 20);
		CHECK((p) != NULL);
		if (!p)
			break;
		blocks[nblocks++] = p;
		if (p >= lo && p < hi)
			break;
	}
}

static void unfill(void *arg)
{
	(void)arg;
	for (int i = 0; i < nblocks; i++)
		rf_free(blocks[i]);
	nblocks = 0;
}

static void test_reclaim_busy_region(void **state)
{
	(void)state;
	wait_ack(1, base_now_ns());
	offer(1, 300, 4u << 20);
	assert_int_equal(S->region[1], RF_REGION_MAPPED);
	h_run_on(0, fill, NULL);
	assert_true(nblocks > 1 && nblocks < MAXB);
	reclaim(1);
	assert_int_equal(S->region[1], RF_REGION_BUSY);
	assert_non_null(lrf_regions[1].base);
	h_run_on(0, unfill, NULL);
	/* rfd asks again: now it is free. */
	reclaim(1);
	assert_int_equal(S->region[1], RF_REGION_RETURNED);
	assert_null(lrf_regions[1].base);
}

/* A reclaim hook (rf_on_mem_reclaim) frees the blocks in the leaving
 * region, on whichever core runs it: the region goes back at once. */
static int hook_freed;
static void free_leaving(void)
{
	for (int i = 0; i < MAXB; i++) {
		void *p = __atomic_load_n(&blocks[i], __ATOMIC_ACQUIRE);
		if (p && rf_mem_reclaiming(p) &&
		    __atomic_compare_exchange_n(&blocks[i], &p, NULL, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			rf_free(p);
			__atomic_fetch_add(&hook_freed, 1, __ATOMIC_RELAXED);
		}
	}
}

static void test_reclaim_hook_frees(void **state)
{
	(void)state;
	wait_ack(1, base_now_ns());
	offer(1, 400, 4u << 20);
	h_run_on(0, fill, NULL);
	assert_true(nblocks > 1 && nblocks < MAXB);
	assert_false(rf_mem_reclaiming(blocks[nblocks - 1]));   /* not asked back yet */
	assert_int_equal(rf_on_mem_reclaim(free_leaving), 0);
	reclaim(1);
	assert_int_equal(S->region[1], RF_REGION_RETURNED);
	assert_true(hook_freed >= 1);
	h_run_on(0, unfill, NULL);                      /* the rest, in region 0 */
}

/* ---- shutdown and bad input ------------------------------------------- */

static volatile int hook_ran;
static void on_shutdown(void)
{
	hook_ran = 1;
}

static void test_shutdown(void **state)
{
	uint64_t t0;
	uint32_t gen;
	(void)state;
	wait_ack(1, base_now_ns());
	hook_ran = 0;
	assert_int_equal(rf_on_shutdown(on_shutdown), 0);
	t0 = base_now_ns();
	pub_begin();
	D->shutdown = 1;
	gen = pub_end_cmd(RF_CMD_SHUTDOWN);
	printf("# shutdown ack %.1f us\n", (double)wait_ack(gen, t0) / 1e3);
	assert_int_equal(hook_ran, 1);
	assert_int_equal(S->state, RF_SUBOS_EXITING);
	WAIT_FOR(__atomic_load_n(&lrf_g.stopped, __ATOMIC_ACQUIRE), 5000);
}

/* Attach to a copy of the fixture's desc and fresh rings, one of them
 * spoilt (rings == NULL: none at all): it must fail cleanly. */
static void expect_attach_fails_with(void (*spoil)(struct rf_desc *),
				     void (*spoil_rings)(void *msgs), bool rings)
{
	struct rf_desc *d = mmap(NULL, RF_DESC_SIZE, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct rf_status *s = mmap(NULL, RF_STATUS_SIZE, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct h_rfd r;
	assert_true(d != MAP_FAILED && s != MAP_FAILED);
	assert_int_equal(h_rfd_rings(&r), 0);
	memcpy(d, D, sizeof(*d));
	if (spoil)
		spoil(d);
	if (spoil_rings)
		spoil_rings(r.msgs);
	assert_int_equal(lrf_test_attach(d, s, rings ? r.msgs : NULL, -1, NULL), -1);
	assert_int_equal(s->state, RF_SUBOS_FAILED);
	lrf_test_stop();
	munmap(d, RF_DESC_SIZE);
	munmap(s, RF_STATUS_SIZE);
	h_rfd_free(&r);
}

static void expect_attach_fails(void (*spoil)(struct rf_desc *))
{
	expect_attach_fails_with(spoil, NULL, true);
}

static void spoil_magic(struct rf_desc *d) { d->magic = 0xdeadbeef; }
static void spoil_abi(struct rf_desc *d) { d->abi = 99; }
static void spoil_ncpus(struct rf_desc *d) { d->ncpus = 7; }
static void spoil_cpu(struct rf_desc *d) { d->cpu[5] = 9; }
static void spoil_name(struct rf_desc *d) { memset(d->name, 'x', RF_NAME_MAX); }
static void spoil_region(struct rf_desc *d) { d->region[0].size = 12345; }
static void spoil_seq(struct rf_desc *d) { d->seq = 1; }

static void test_malformed_desc(void **state)
{
	(void)state;
	/* The fixture's subOS is irrelevant here: stop it, keep its desc. */
	lrf_test_stop();
	expect_attach_fails(spoil_magic);
	expect_attach_fails(spoil_abi);
	expect_attach_fails(spoil_ncpus);
	expect_attach_fails(spoil_cpu);
	expect_attach_fails(spoil_name);
	expect_attach_fails(spoil_region);
	expect_attach_fails(spoil_seq);
}

/* Control rings: missing, zeroed, or with another geometry. */
static void zero_rings(void *m) { memset(m, 0, RF_MSGS_SIZE); }
static void small_cmd_ring(void *m)
{
	assert_int_equal(rf_ficm_ring_format((char *)m + RF_MSGS_CMD_OFF, RF_MSGS_ACK_OFF, 8), 0);
}
static void bad_ack_ring(void *m) { memset((char *)m + RF_MSGS_ACK_OFF, 0x5a, 64); }

static void test_malformed_rings(void **state)
{
	(void)state;
	lrf_test_stop();
	expect_attach_fails_with(NULL, NULL, false);
	expect_attach_fails_with(NULL, zero_rings, true);
	expect_attach_fails_with(NULL, small_cmd_ring, true);
	expect_attach_fails_with(NULL, bad_ack_ring, true);
}

/* Commands are only "look at the desc": a repeated one, an unknown type,
 * or an APPLY with no new desc apply nothing twice and do no harm; the
 * next real change is acknowledged as usual. */
static void test_spurious_commands(void **state)
{
	uint32_t gen;
	(void)state;
	wait_ack(1, base_now_ns());
	h_rfd_send(&R, D, S, RF_CMD_APPLY, D->gen);
	h_rfd_send(&R, D, S, RF_CMD_APPLY, D->gen);
	h_rfd_send(&R, D, S, 77, D->gen);
	offer(2, 400, 2u << 20);
	assert_int_equal(S->region[2], RF_REGION_MAPPED);
	gen = D->gen;
	assert_int_equal(S->applied_gen, gen);
	assert_int_equal(S->state, RF_SUBOS_RUNNING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_initial_attach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_core_add_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_core_add_remove_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_work_moves_off_leaving_core, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_add_and_reclaim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_busy_region, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_hook_frees, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_desc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spurious_commands, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
