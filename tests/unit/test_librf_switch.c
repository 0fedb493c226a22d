/*
 * test_librf_switch.c - the hand-written context switch: callee-saved and
 * floating-point control state survive switches and stay per fiber, deep
 * stacks work, a fiber resumes exactly where it yielded, a fiber's stack
 * has a guard page below it and the scheduler runs on its core's locked
 * thread stack; and what one switch costs (printed, not asserted).
 */
#include "librf_harness.h"
#include <errno.h>
#include <unistd.h>
#include <fenv.h>
#include <xmmintrin.h>

static int setup(void **state)
{
	int a, b;
	char list[16];

	(void)state;
	h_two_cpus(&a, &b);
	snprintf(list, sizeof(list), "%d", a);
	return h_standalone(list, "16M");
}

static int teardown(void **state)
{
	(void)state;
	lrf_test_stop();
	return 0;
}

/* Each fiber sets its own rounding mode and MXCSR; both must survive the
 * other fiber setting different ones in between. */
static volatile int fp_done;

static void fp_fiber(void *arg)
{
	int mode = (int)(uintptr_t)arg;
	unsigned mx = (mode == FE_UPWARD ? 0x5f80u : 0x3f80u);  /* RC bits too */

	fesetround(mode);
	_mm_setcsr(mx);
	for (int i = 0; i < 100; i++) {
		volatile double x = 1.0, y = 3.0;
		rf_yield();
		CHECK(fegetround() == mode);
		CHECK((_mm_getcsr() & 0xffc0u) == (mx & 0xffc0u));
		/* Rounding really is per fiber: 1/3 rounds differently. */
		if (mode == FE_UPWARD)
			CHECK(x / y > 0.3333333333333333);
	}
	fesetround(FE_TONEAREST);
	_mm_setcsr(0x1f80);
	__atomic_fetch_add(&fp_done, 1, __ATOMIC_ACQ_REL);
}

static void test_fp_state_per_fiber(void **state)
{
	(void)state;
	fp_done = 0;
	assert_int_equal(rf_spawn_on(0, fp_fiber, (void *)(uintptr_t)FE_UPWARD), 0);
	assert_int_equal(rf_spawn_on(0, fp_fiber, (void *)(uintptr_t)FE_DOWNWARD), 0);
	WAIT_FOR(__atomic_load_n(&fp_done, __ATOMIC_ACQUIRE) == 2, 5000);
	h_check();
}

/* Values held in callee-saved registers and on the stack across yields. */
static uint64_t mix(uint64_t a, int depth)
{
	uint64_t r1 = a * 3 + 1, r2 = a ^ 0x5555, r3 = a + 77, r4 = a << 3;
	if (depth == 0) {
		rf_yield();
		return r1 + r2 + r3 + r4;
	}
	return mix(r1 ^ r4, depth - 1) + r2 - r3;
}

static uint64_t mix_ref(uint64_t a, int depth)
{
	uint64_t r1 = a * 3 + 1, r2 = a ^ 0x5555, r3 = a + 77, r4 = a << 3;
	if (depth == 0)
		return r1 + r2 + r3 + r4;
	return mix_ref(r1 ^ r4, depth - 1) + r2 - r3;
}

static volatile int reg_done;
static void reg_fiber(void *arg)
{
	uint64_t seed = (uintptr_t)arg;
	for (int i = 0; i < 50; i++)
		CHECK(mix(seed + (uint64_t)i, 40) == mix_ref(seed + (uint64_t)i, 40));
	__atomic_fetch_add(&reg_done, 1, __ATOMIC_ACQ_REL);
}

static void test_registers_and_stack(void **state)
{
	(void)state;
	reg_done = 0;
	for (int i = 0; i < 4; i++)
		assert_int_equal(rf_spawn_on(0, reg_fiber, (void *)(uintptr_t)(i * 1000 + 7)), 0);
	WAIT_FOR(__atomic_load_n(&reg_done, __ATOMIC_ACQUIRE) == 4, 5000);
	h_check();
}

/* A fiber can use most of its stack. */
static uint64_t deep(int n)
{
	volatile char pad[256];
	pad[0] = (char)n;
	if (n == 0)
		return 0;
	return deep(n - 1) + (uint64_t)pad[0];
}

static void deep_fiber(void *arg)
{
	uint64_t *out = arg;
	/* ~40 KiB of frames: fits a 64 KiB stack (256 KiB under ASan). */
	*out = deep(100);
}

static void test_deep_stack(void **state)
{
	uint64_t out = 0;
	(void)state;
	h_run_on(0, deep_fiber, &out);
	assert_int_equal(out, 5050);
}

/* Is the byte at p unreadable?  (write(2) from it says EFAULT, where a
 * load would kill the test.) */
static bool unreadable(const void *p)
{
	int fds[2];
	if (pipe(fds))
		return false;
	bool fault = write(fds[1], p, 1) < 0 && errno == EFAULT;
	close(fds[0]);
	close(fds[1]);
	return fault;
}

struct guard_seen {
	bool below_guarded, stack_ok, sched_in_partition;
};

static void guard_fiber(void *arg)
{
	struct guard_seen *g = arg;
	struct rf_fiber *f = rf_fiber_self();
	struct lrf_core *c = lrf_self();
	g->below_guarded = unreadable(f->stack_lo - 1);
	g->stack_ok = !unreadable(f->stack_lo);
	/* where the scheduler switched from to run this fiber */
	g->sched_in_partition = (char *)c->sched_sp >= (char *)c->thread_stack &&
				(char *)c->sched_sp < (char *)c->thread_stack + RF_THREAD_STACK;
}

static void test_stack_guard(void **state)
{
	struct guard_seen g = { 0 };
	(void)state;
	h_run_on(0, guard_fiber, &g);
	assert_true(g.below_guarded);
	assert_true(g.stack_ok);
	assert_true(g.sched_in_partition);
}

/* Two fibers ping-pong with yields: cost of one switch pair. */
static volatile int bench_done;
static void yielder(void *arg)
{
	for (long i = 0; i < (long)(uintptr_t)arg; i++)
		rf_yield();
	__atomic_fetch_add(&bench_done, 1, __ATOMIC_ACQ_REL);
}

static void test_switch_cost(void **state)
{
	const long n = 200000;
	uint64_t t0;
	(void)state;
	bench_done = 0;
	t0 = base_now_ns();
	assert_int_equal(rf_spawn_on(0, yielder, (void *)(uintptr_t)n), 0);
	assert_int_equal(rf_spawn_on(0, yielder, (void *)(uintptr_t)n), 0);
	WAIT_FOR(__atomic_load_n(&bench_done, __ATOMIC_ACQUIRE) == 2, 20000);
	printf("# rf_yield round trip (fiber->scheduler->fiber): %.1f ns\n",
	       (double)(base_now_ns() - t0) / (2.0 * (double)n));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fp_state_per_fiber, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registers_and_stack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_stack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack_guard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_switch_cost, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
