/*
 * test_librf_sched.c - the scheduler: spawn/yield order, sleeping and
 * timers, mailboxes between cores, park/unpark, wait queues, posting from
 * a foreign thread; the stats page (requests recorded per core and from a
 * foreign thread, the scheduler's queueing delay).
 */
#include "librf_harness.h"
#include "base/lathist.h"

static int setup_two(void **state)
{
	(void)state;
	return h_standalone_two("16M");
}

static int teardown(void **state)
{
	(void)state;
	lrf_test_stop();
	return 0;
}

/* ---- spawn and yield order ------------------------------------------- */

static char order[64];
static int norder;

static void worker(void *arg)
{
	for (int i = 0; i < 3; i++) {
		order[norder++] = (char)(uintptr_t)arg;
		rf_yield();
	}
}

static void spawn_three(void *arg)
{
	(void)arg;
	norder = 0;
	rf_spawn(worker, (void *)(uintptr_t)'A');
	rf_spawn(worker, (void *)(uintptr_t)'B');
	rf_spawn(worker, (void *)(uintptr_t)'C');
	while (norder < 9)
		rf_yield();
	order[norder] = 0;
}

static void test_spawn_yield_order(void **state)
{
	(void)state;
	h_run_on(0, spawn_three, NULL);
	assert_string_equal(order, "ABCABCABC");
}

/* ---- sleeping and timers --------------------------------------------- */

static uint64_t slept_ns;

static void sleeper(void *arg)
{
	uint64_t t0 = rf_now_ns();
	(void)arg;
	rf_sleep_ns(3000000);
	slept_ns = rf_now_ns() - t0;
}

static void test_sleep(void **state)
{
	(void)state;
	h_run_on(0, sleeper, NULL);
	assert_true(slept_ns >= 3000000);
	assert_true(slept_ns < 500000000);
}

static int fired[4], nfired;

static void on_timer(void *arg)
{
	fired[nfired++] = (int)(uintptr_t)arg;
}

static void add_timers(void *arg)
{
	uint64_t now = rf_now_ns();
	rf_timer *t;
	(void)arg;
	nfired = 0;
	rf_timer_add(now + 3000000, on_timer, (void *)3);
	rf_timer_add(now + 1000000, on_timer, (void *)1);
	t = rf_timer_add(now + 1500000, on_timer, (void *)9);
	rf_timer_add(now + 2000000, on_timer, (void *)2);
	CHECK((rf_timer_cancel(t)) == (0));
	while (nfired < 3)
		rf_sleep_ns(500000);
}

static void test_timers_order_and_cancel(void **state)
{
	(void)state;
	h_run_on(0, add_timers, NULL);
	assert_int_equal(nfired, 3);
	assert_int_equal(fired[0], 1);
	assert_int_equal(fired[1], 2);
	assert_int_equal(fired[2], 3);
}

/* Many concurrent sleepers on one core wake in deadline order.  Deadlines
 * are absolute from one base, so a preemption while the fibers start (a
 * noisy 2-core VM) cannot reorder them. */
static int wake_seq[32], nwake;
static uint64_t sleep_base;
static void timed_sleeper(void *arg)
{
	int i = (int)(uintptr_t)arg;
	rf_sleep_until(sleep_base + (uint64_t)(32 - i) * 200000);
	wake_seq[nwake++] = i;
}

static void many_sleepers(void *arg)
{
	(void)arg;
	nwake = 0;
	sleep_base = rf_now_ns() + 1000000;
	for (int i = 0; i < 32; i++)
		rf_spawn(timed_sleeper, (void *)(uintptr_t)i);
	while (nwake < 32)
		rf_sleep_ns(200000);
}

static void test_many_sleepers(void **state)
{
	(void)state;
	h_run_on(0, many_sleepers, NULL);
	for (int i = 0; i < 32; i++)
		assert_int_equal(wake_seq[i], 31 - i);
}

/* ---- mailboxes across cores ------------------------------------------- */

#define PINGS 20000
static int pongs_seen;
static int ping_cpu_ok;

static void pong(void *arg)
{
	(void)arg;
	pongs_seen++;   /* runs on core 0 only: no race */
}

static void ping(void *arg)
{
	(void)arg;
	if (rf_core_self() != 1)
		ping_cpu_ok = 0;
	rf_post(0, pong, NULL);
}

static void pinger(void *arg)
{
	(void)arg;
	pongs_seen = 0;
	ping_cpu_ok = 1;
	for (int i = 0; i < PINGS; i++) {
		CHECK((rf_post(1, ping, NULL)) == (0));
		if (i % 64 == 0)
			rf_yield();
	}
	while (pongs_seen < PINGS)
		rf_yield();
}

static void test_mailbox_two_cores(void **state)
{
	uint64_t t0;
	(void)state;
	if (rf_ncores() < 2)
		skip();
	t0 = base_now_ns();
	h_run_on(0, pinger, NULL);
	assert_int_equal(pongs_seen, PINGS);
	assert_true(ping_cpu_ok);
	printf("# %d cross-core event round trips in %.2f ms\n", PINGS,
	       (double)(base_now_ns() - t0) / 1e6);
}

/* ---- park / unpark ---------------------------------------------------- */

static rf_fiber *parked_fiber;
static volatile int park_phase;

static void parker(void *arg)
{
	(void)arg;
	parked_fiber = rf_fiber_self();
	__atomic_store_n(&park_phase, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&park_phase, __ATOMIC_ACQUIRE) != 2)
		rf_park();
	__atomic_store_n(&park_phase, 3, __ATOMIC_RELEASE);
}

static void unparker(void *arg)
{
	(void)arg;
	__atomic_store_n(&park_phase, 2, __ATOMIC_RELEASE);
	rf_unpark(parked_fiber);
}

static void test_park_unpark_cross_core(void **state)
{
	int other;
	(void)state;
	other = rf_ncores() > 1 ? 1 : 0;
	park_phase = 0;
	assert_int_equal(rf_spawn_on(0, parker, NULL), 0);
	WAIT_FOR(__atomic_load_n(&park_phase, __ATOMIC_ACQUIRE) == 1, 5000);
	h_run_on(other, unparker, NULL);
	WAIT_FOR(__atomic_load_n(&park_phase, __ATOMIC_ACQUIRE) == 3, 5000);
}

static void permit_first(void *arg)
{
	int *ok = arg;
	rf_unpark(rf_fiber_self());
	rf_park();      /* must not block: the permit is there */
	*ok = 1;
}

static void test_unpark_before_park(void **state)
{
	int ok = 0;
	(void)state;
	h_run_on(0, permit_first, &ok);
	assert_int_equal(ok, 1);
}

/* Unpark from a foreign thread (the test's). */
static void test_unpark_from_foreign(void **state)
{
	(void)state;
	park_phase = 0;
	assert_int_equal(rf_spawn_on(rf_ncores() - 1, parker, NULL), 0);
	WAIT_FOR(__atomic_load_n(&park_phase, __ATOMIC_ACQUIRE) == 1, 5000);
	__atomic_store_n(&park_phase, 2, __ATOMIC_RELEASE);
	rf_unpark(parked_fiber);
	WAIT_FOR(__atomic_load_n(&park_phase, __ATOMIC_ACQUIRE) == 3, 5000);
}

/* ---- wait queues ------------------------------------------------------ */

static rf_waitq wq = RF_WAITQ_INIT;
static volatile int wq_waiting, wq_done;

static void wq_waiter(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&wq_waiting, 1, __ATOMIC_ACQ_REL);
	rf_wq_wait(&wq);
	__atomic_fetch_add(&wq_done, 1, __ATOMIC_ACQ_REL);
}

static void wq_timeout_check(void *arg)
{
	int *ret = arg;
	uint64_t t0 = rf_now_ns();
	*ret = rf_wq_wait_until(&wq, t0 + 2000000);
	if (rf_now_ns() - t0 < 2000000)
		*ret = 99;
}

static void test_waitq(void **state)
{
	int n = rf_ncores(), ret = 0;
	(void)state;
	wq_waiting = wq_done = 0;
	for (int i = 0; i < 6; i++)
		assert_int_equal(rf_spawn_on(i % n, wq_waiter, NULL), 0);
	WAIT_FOR(__atomic_load_n(&wq_waiting, __ATOMIC_ACQUIRE) == 6, 5000);
	/* The fibers announce before they enqueue: wait until all are in. */
	WAIT_FOR(({ int k = 0; lrf_spin_lock(&wq.lock);
		    for (struct rf_waiter *w = wq.head; w; w = w->next) k++;
		    lrf_spin_unlock(&wq.lock); k == 6; }), 5000);
	assert_int_equal(rf_wq_wake_one(&wq), 1);
	WAIT_FOR(__atomic_load_n(&wq_done, __ATOMIC_ACQUIRE) == 1, 5000);
	assert_int_equal(rf_wq_wake_all(&wq), 5);
	WAIT_FOR(__atomic_load_n(&wq_done, __ATOMIC_ACQUIRE) == 6, 5000);
	h_run_on(0, wq_timeout_check, &ret);
	assert_int_equal(ret, -1);
	assert_null(wq.head);
}

/* ---- events from a foreign thread -------------------------------------- */

static volatile int foreign_hits;
static void hit(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&foreign_hits, 1, __ATOMIC_ACQ_REL);
}

static void test_post_from_foreign(void **state)
{
	(void)state;
	foreign_hits = 0;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rf_post(i % rf_ncores(), hit, NULL), 0);
	WAIT_FOR(__atomic_load_n(&foreign_hits, __ATOMIC_ACQUIRE) == 1000, 5000);
	assert_int_equal(rf_post(999, hit, NULL), -1);
	assert_int_equal(rf_post(-1, hit, NULL), -1);
}

/* ---- status counters --------------------------------------------------- */

static void test_idle_core_sleeps(void **state)
{
	struct rf_status_core *st = &lrf_g.status->core[rf_core_cpu(0)];
	(void)state;
	/* An idle core goes to sleep on its doorbell after its spin window. */
	WAIT_FOR(__atomic_load_n(&st->sleeping, __ATOMIC_ACQUIRE) == 1, 5000);
	assert_int_equal(st->state, RF_CORE_RUNNING);
	/* ... and a post wakes it. */
	foreign_hits = 0;
	assert_int_equal(rf_post(0, hit, NULL), 0);
	WAIT_FOR(__atomic_load_n(&foreign_hits, __ATOMIC_ACQUIRE) == 1, 5000);
	assert_true(st->loops > 0);
}

/* ---- the stats page ------------------------------------------------------ */

static void record_and_yield(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++) {
		rf_latency_record(40000);
		rf_yield();
	}
}

static uint64_t slot_count(const struct rf_stats_hist *h)
{
	struct base_lat sum = { 0 };
	assert_int_equal(base_lat_add_slot(&sum, h), 0);
	return sum.count;
}

static void test_stats_page(void **state)
{
	struct rf_stats_core *slots = rf_status_stats(lrf_g.status);
	const struct rf_stats_hist *lat = &slots[rf_core_cpu(1)].lat, *wait = &slots[rf_core_cpu(1)].wait;
	uint64_t waits = slot_count(wait);
	(void)state;
	/* Recorded on core 1: that core's slot, and no other. */
	h_run_on(1, record_and_yield, NULL);
	assert_true(slot_count(lat) == 10);
	assert_true(lat->bucket[base_lat_bucket(40000)] == 10 && lat->sum_ns == 400000);
	assert_true(slot_count(&slots[rf_core_cpu(0)].lat) == 0);
	/* Each of its ten yields made it runnable again: queueing delays. */
	assert_true(slot_count(wait) >= waits + 10);
	/* A foreign thread (this one) shares the foreign slot. */
	rf_latency_record(7);
	assert_true(slot_count(&slots[RF_STATS_FOREIGN].lat) == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spawn_yield_order, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_sleep, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_timers_order_and_cancel, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_many_sleepers, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_two_cores, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_park_unpark_cross_core, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_unpark_before_park, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_unpark_from_foreign, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_waitq, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_post_from_foreign, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_idle_core_sleeps, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_stats_page, setup_two, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
