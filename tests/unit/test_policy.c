/*
 * test_policy.c - the elastic policy's decisions (src/rfd/policy_decide.c)
 * driven with synthetic signals: a load step and its end, a spike shorter
 * than the window, p99 flapping around ut, the lt/ut hysteresis, the
 * cooldown after a move, min/max cores, a batch subOS paused at zero cores
 * and resumed, free cores first, busy subOSes left alone, which signal
 * a window uses, flap damping (a lone noisy window at low load, again and
 * again) and a futile take undone (a core that made the p99 worse).
 *
 * A "world" holds a latency subOS kv and a batch subOS; each window() feeds
 * kv a p99, runs one decision, and applies its moves to the core counts as
 * rfd would once the resize ops end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rfd/policy_decide.h"

enum { KV, BATCH, OTHER, NMEMB };

struct world {
	struct base_policy pol[NMEMB];
	struct policy_member m[NMEMB];
	struct policy_track tr[NMEMB];
	int n, free_cores;
	struct policy_move last[8];
	int moves;         /* of the last window */
	int total_moves;
};

/* kv: latency, lt 0.5 ms, ut 1 ms, min 1, max 4, 1 core; batch: min 0, 1 core. */
static void setup_world(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->pol[KV] = (struct base_policy){ .priority = RF_PRIO_LATENCY, .lt_us = 500,
					   .ut_us = 1000, .window_ms = 20, .min_cores = 1,
					   .max_cores = 4 };
	w->pol[BATCH] = (struct base_policy){ .priority = RF_PRIO_BATCH, .min_cores = 0,
					      .max_cores = 1024 };
	w->n = 2;
	for (int i = 0; i < NMEMB; i++) {
		w->m[i].pol = &w->pol[i];
		w->m[i].cores = 1;
		w->m[i].tr = w->pol[i].priority == RF_PRIO_LATENCY ? &w->tr[i] : NULL;
	}
}

static void apply(struct world *w)
{
	for (int i = 0; i < w->moves; i++) {
		const struct policy_move *mv = &w->last[i];
		if (mv->from == POLICY_FREE)
			w->free_cores--;
		else
			w->m[mv->from].cores--;
		if (mv->to == POLICY_FREE)
			w->free_cores++;
		else
			w->m[mv->to].cores++;
	}
	for (int i = 0; i < w->n; i++)
		w->m[i].busy = false;
}

/* One window of kv with this p99 (microseconds) and requests ended; the
 * moves it causes. */
static int window_n(struct world *w, uint64_t p99_us, uint64_t samples)
{
	w->m[KV].win = (struct policy_window){ .fresh = true, .seen = true,
					       .p99_ns = p99_us * 1000, .samples = samples };
	w->moves = policy_decide(w->m, w->n, w->free_cores, w->last, 8);
	w->total_moves += w->moves;
	apply(w);
	w->m[KV].win.fresh = false;
	return w->moves;
}

static int window(struct world *w, uint64_t p99_us)
{
	return window_n(w, p99_us, 1000);
}

static void test_step_pauses_batch_and_gives_back(void **state)
{
	struct world w;
	setup_world(&w);
	for (int i = 0; i < 5; i++) /* low load: kv at its min keeps its core */
		assert_int_equal(window(&w, 200), 0);
	assert_int_equal(window(&w, 5000), 1); /* the step */
	assert_int_equal(w.last[0].from, BATCH);
	assert_int_equal(w.last[0].to, KV);
	assert_int_equal(w.last[0].rule, POLICY_OVER_UT);
	assert_int_equal(w.last[0].win.p99_ns, 5000000);
	assert_int_equal(w.m[BATCH].cores, 0); /* paused */
	assert_int_equal(w.m[KV].cores, 2);
	assert_int_equal(window(&w, 5000), 0); /* cooldown */
	assert_int_equal(window(&w, 5000), 0); /* nobody left to give */
	/* The load drops: three windows below lt, then one core back. */
	assert_int_equal(window(&w, 100), 0);
	assert_int_equal(window(&w, 100), 0);
	assert_int_equal(window(&w, 100), 1);
	assert_int_equal(w.last[0].from, KV);
	assert_int_equal(w.last[0].to, BATCH);
	assert_int_equal(w.last[0].rule, POLICY_UNDER_LT);
	assert_int_equal(w.last[0].windows, RF_POLICY_HOLD_WINDOWS);
	assert_int_equal(w.m[BATCH].cores, 1); /* resumed */
	assert_int_equal(w.m[KV].cores, 1);
	for (int i = 0; i < 10; i++) /* at its min: no more */
		assert_int_equal(window(&w, 100), 0);
}

static void test_cooldown_one_window(void **state)
{
	struct world w;
	setup_world(&w);
	w.m[BATCH].cores = 3;
	assert_int_equal(window(&w, 2000), 1);
	for (int k = 0; k < RF_POLICY_COOLDOWN_WINDOWS; k++)
		assert_int_equal(window(&w, 2000), 0);
	assert_int_equal(window(&w, 2000), 1); /* still over: the next core */
	assert_int_equal(w.m[KV].cores, 3);
	assert_int_equal(w.m[BATCH].cores, 1);
}

/* The window's p99 from histograms: a few slow requests in many fast ones
 * stay under the 99th percentile; a tail of 2 % does not. */
static void fill(struct base_lat *h, uint64_t n, uint64_t ns)
{
	h->bucket[base_lat_bucket(ns)] += n;
	h->count += n;
	h->sum_ns += (double)(n * ns);
}

static void test_spike_shorter_than_window(void **state)
{
	static struct base_lat before, now, wait0, wait1;
	struct world w;
	struct policy_window pw = { 0 };
	setup_world(&w);
	fill(&before, 500, 200000);
	now = before;
	fill(&now, 1000, 200000);
	fill(&now, 5, 50000000); /* a 50 ms spike: 0.5 % of the window */
	policy_signal(&w.pol[KV], &now, &before, &wait1, &wait0, &pw);
	assert_true(pw.p99_ns < 1000000);
	assert_int_equal(pw.samples, 1005);
	assert_int_equal(pw.used, RF_SIGNAL_LATENCY);
	assert_int_equal(window(&w, pw.p99_ns / 1000), 0);
	fill(&now, 20, 50000000); /* 2.5 %: the tail is the p99 now */
	policy_signal(&w.pol[KV], &now, &before, &wait1, &wait0, &pw);
	assert_true(pw.p99_ns >= 50000000);
	assert_int_equal(window(&w, pw.p99_ns / 1000), 1);
}

static void test_signal_choice(void **state)
{
	static struct base_lat lat, wait0, wait1;
	struct base_policy p = { .priority = RF_PRIO_LATENCY, .lt_us = 1, .ut_us = 2 };
	struct policy_window pw;
	fill(&wait1, 100, 3000000);
	policy_signal(&p, &lat, &lat, &wait1, &wait0, &pw); /* no request: queueing delay */
	assert_int_equal(pw.used, RF_SIGNAL_QUEUE);
	assert_true(pw.p99_ns >= 3000000);
	fill(&lat, 10, 100000);
	p.signal = RF_SIGNAL_QUEUE; /* asked for: queue even with requests */
	policy_signal(&p, &lat, &wait0, &wait1, &wait0, &pw);
	assert_int_equal(pw.used, RF_SIGNAL_QUEUE);
	assert_int_equal(pw.samples, 100);
	policy_signal(&p, &wait0, &wait0, &wait0, &wait0, &pw); /* nothing: idle, 0 */
	assert_int_equal(pw.p99_ns, 0);
	assert_int_equal(pw.samples, 0);
}

static void test_flapping_around_ut(void **state)
{
	struct world w;
	setup_world(&w);
	w.m[BATCH].cores = 4;
	/* Just over ut, then just under it (still above lt), over and over:
	 * cores only ever go to kv, never back. */
	for (int i = 0; i < 20; i++) {
		int before = w.m[KV].cores;
		window(&w, i % 2 ? 900 : 1100);
		assert_true(w.m[KV].cores >= before);
		for (int k = 0; k < w.moves; k++)
			assert_int_equal(w.last[k].rule, POLICY_OVER_UT);
	}
	assert_int_equal(w.m[KV].cores, 4); /* its max */
	assert_int_equal(w.m[BATCH].cores, 1);
}

static void test_hysteresis_resets_hold(void **state)
{
	struct world w;
	setup_world(&w);
	w.m[KV].cores = 2;
	w.m[BATCH].cores = 0;
	/* below, below, between (the hold starts over), below, below: nothing */
	const uint64_t p99[] = { 100, 100, 700, 100, 100 };
	for (size_t i = 0; i < sizeof(p99) / sizeof(p99[0]); i++)
		assert_int_equal(window(&w, p99[i]), 0);
	assert_int_equal(window(&w, 100), 1); /* the third below in a row */
	assert_int_equal(w.m[BATCH].cores, 1);
	/* and between lt and ut for long: no move at all */
	setup_world(&w);
	for (int i = 0; i < 50; i++)
		assert_int_equal(window(&w, 750), 0);
}

static void test_min_max(void **state)
{
	struct world w;
	setup_world(&w);
	w.pol[BATCH].min_cores = 1; /* may not be paused */
	w.m[BATCH].cores = 2;
	w.pol[KV].max_cores = 2;
	assert_int_equal(window(&w, 3000), 1);
	window(&w, 3000); /* cooldown */
	assert_int_equal(window(&w, 3000), 0); /* kv at its max */
	w.pol[KV].max_cores = 8;
	assert_int_equal(window(&w, 3000), 0); /* batch at its min */
	assert_int_equal(w.m[BATCH].cores, 1);
	/* kv's min: it keeps 2 however idle */
	w.pol[KV].min_cores = 2;
	for (int i = 0; i < 10; i++)
		assert_int_equal(window(&w, 10), 0);
	assert_int_equal(w.m[KV].cores, 2);
}

static void test_free_first_busy_left_alone(void **state)
{
	struct world w;
	setup_world(&w);
	w.free_cores = 1;
	assert_int_equal(window(&w, 2000), 1);
	assert_int_equal(w.last[0].from, POLICY_FREE);
	assert_int_equal(w.m[BATCH].cores, 1);
	window(&w, 2000); /* cooldown */
	w.m[BATCH].busy = true; /* a resize of it in flight */
	w.moves = 0;
	w.m[KV].win = (struct policy_window){ .fresh = true, .seen = true, .p99_ns = 2000000 };
	assert_int_equal(policy_decide(w.m, w.n, 0, w.last, 8), 0);
	/* kv busy: its window is not even counted */
	setup_world(&w);
	w.m[KV].busy = true;
	w.m[KV].win = (struct policy_window){ .fresh = true, .seen = true, .p99_ns = 2000000 };
	assert_int_equal(policy_decide(w.m, w.n, 0, w.last, 8), 0);
	/* no batch subOS: a calm latency subOS gives instead, and idle cores go free */
	setup_world(&w);
	w.n = 3;
	w.pol[BATCH] = w.pol[KV]; /* member 1 is a second latency subOS, calm */
	w.m[BATCH].tr = &w.tr[BATCH];
	w.m[BATCH].cores = 2;
	w.m[BATCH].win = (struct policy_window){ .seen = true, .p99_ns = 100000 };
	w.pol[OTHER] = w.pol[KV];
	w.m[OTHER].tr = &w.tr[OTHER];
	assert_int_equal(window(&w, 2000), 1);
	assert_int_equal(w.last[0].from, BATCH);
}

static void test_gives_back_to_free_without_batch(void **state)
{
	struct world w;
	setup_world(&w);
	w.n = 1;
	w.m[KV].cores = 3;
	for (int i = 0; i < RF_POLICY_HOLD_WINDOWS - 1; i++)
		assert_int_equal(window(&w, 0), 0); /* an idle window (no samples) is below lt */
	assert_int_equal(window(&w, 0), 1);
	assert_int_equal(w.last[0].to, POLICY_FREE);
	assert_int_equal(w.free_cores, 1);
	assert_string_equal(policy_rule_name(w.last[0].rule), "p99_under_lt");
}

/* A noisy window over ut every few windows at low load: each take soon
 * after a give-back doubles the hold, so the moves thin out. */
static void test_flap_damping(void **state)
{
	struct world w;
	int hold = RF_POLICY_HOLD_WINDOWS;
	setup_world(&w);
	for (int round = 0; round < 4; round++) {
		assert_int_equal(window(&w, 5000), 1); /* the noisy window: take */
		assert_int_equal(w.last[0].rule, POLICY_OVER_UT);
		/* calm at a lower load (the load memory of a retake does
		 * not hold the core: test_load_memory) */
		assert_int_equal(window_n(&w, 100, 500), 0); /* cooldown */
		for (int k = 1; k < hold; k++)
			assert_int_equal(window_n(&w, 100, 500), 0);
		assert_int_equal(window_n(&w, 100, 500), 1); /* the hold: give back */
		assert_int_equal(w.last[0].rule, POLICY_UNDER_LT);
		assert_int_equal(w.last[0].windows, hold);
		assert_int_equal(window(&w, 100), 0); /* cooldown */
		hold *= 2; /* the next take follows at once: a longer hold */
	}
	/* long calm: the next take resets the hold */
	for (int k = 0; k < RF_POLICY_FLAP_WINDOWS + 2; k++)
		assert_int_equal(window(&w, 100), 0);
	assert_int_equal(window(&w, 5000), 1);
	assert_int_equal(window(&w, 100), 0);
	for (int k = 1; k < RF_POLICY_HOLD_WINDOWS; k++)
		assert_int_equal(window(&w, 100), 0);
	assert_int_equal(window(&w, 100), 1);
	assert_int_equal(w.last[0].windows, RF_POLICY_HOLD_WINDOWS);
}

/* A give-back undone at once (the retake's window ended 1000 requests)
 * holds the core while windows end at least 7/8 of that, for NEED windows;
 * a lower load gives it back after the usual hold, and so does the same
 * load once the memory is old. */
static void test_load_memory(void **state)
{
	struct world w;
	int hold = RF_POLICY_HOLD_WINDOWS;
	setup_world(&w);
	assert_int_equal(window(&w, 5000), 1);        /* take: no memory yet */
	for (int k = 0; k < hold + RF_POLICY_COOLDOWN_WINDOWS; k++)
		window(&w, 100);
	assert_int_equal(w.m[KV].cores, 1);           /* given back at 1000 */
	assert_int_equal(window(&w, 100), 0);         /* cooldown */
	assert_int_equal(window(&w, 5000), 1);        /* retake: remembered */
	for (int k = 0; k < 4 * hold; k++)
		assert_int_equal(window_n(&w, 100, 900), 0); /* 900 >= 7/8 of 1000 */
	assert_int_equal(window_n(&w, 100, 800), 1);  /* less load: give back */
	assert_int_equal(w.m[KV].cores, 1);
	/* one core carries 1000 calmly after all: the memory is wrong, forgotten
	 * (a take long after the give-back remembers nothing new) */
	for (int k = 0; k < RF_POLICY_FLAP_WINDOWS + 2; k++)
		assert_int_equal(window(&w, 100), 0);
	assert_int_equal(window(&w, 5000), 1);
	for (int k = 0; k < hold + RF_POLICY_COOLDOWN_WINDOWS; k++)
		window(&w, 100);
	assert_int_equal(w.m[KV].cores, 1);
	/* the same again, but the memory runs out while the load stays */
	setup_world(&w);
	window(&w, 5000);
	for (int k = 0; k < hold + 2 * RF_POLICY_COOLDOWN_WINDOWS; k++)
		window(&w, 100);
	assert_int_equal(window(&w, 5000), 1);
	int held = 0;
	while (w.m[KV].cores == 2 && held < 2 * RF_POLICY_NEED_WINDOWS) {
		window(&w, 100);
		held++;
	}
	assert_true(held >= RF_POLICY_NEED_WINDOWS - 2 && held <= RF_POLICY_NEED_WINDOWS + 2);
}

/* kv takes a core at 5 ms and its p99 grows past it while it ends fewer
 * requests: after the cooldown and FUTILE windows the core goes back,
 * takes are blocked for BLOCK windows, and a second futile take blocks
 * twice as long.  A p99 that grows while more requests end (a load past
 * two cores too) is not futile. */
static void test_futile_take_undone(void **state)
{
	struct world w;
	setup_world(&w);
	w.pol[KV].max_cores = 2;
	assert_int_equal(window(&w, 5000), 1);
	assert_int_equal(window(&w, 50000), 0); /* cooldown */
	for (int k = 0; k < 3 * RF_POLICY_FUTILE_WINDOWS; k++) /* more ended: it helps */
		assert_int_equal(window_n(&w, 50000 * (k + 2), 1900), 0);
	assert_int_equal(w.m[KV].cores, 2);
	setup_world(&w);
	w.pol[KV].max_cores = 2;
	assert_int_equal(window(&w, 5000), 1);
	assert_int_equal(w.m[KV].cores, 2);
	assert_int_equal(window(&w, 50000), 0); /* cooldown */
	for (int k = 1; k < RF_POLICY_FUTILE_WINDOWS; k++)
		assert_int_equal(window_n(&w, 50000 * (k + 1), 600), 0);
	assert_int_equal(window_n(&w, 400000, 600), 1);
	assert_int_equal(w.last[0].from, KV);
	assert_int_equal(w.last[0].to, BATCH);
	assert_int_equal(w.last[0].rule, POLICY_FUTILE);
	assert_int_equal(w.last[0].windows, RF_POLICY_FUTILE_WINDOWS);
	assert_string_equal(policy_rule_name(w.last[0].rule), "p99_worse_with_core");
	assert_int_equal(w.m[KV].cores, 1);
	assert_int_equal(w.m[BATCH].cores, 1);
	assert_int_equal(window(&w, 9000), 0); /* cooldown */
	for (int k = 2; k < RF_POLICY_BLOCK_WINDOWS; k++)
		assert_int_equal(window(&w, 9000), 0); /* over ut, but blocked */
	assert_int_equal(window(&w, 9000), 1); /* the BLOCK-th window: try again */
	window(&w, 20000);
	for (int k = 0; k < RF_POLICY_FUTILE_WINDOWS; k++)
		window_n(&w, 20000, 900);
	assert_int_equal(w.last[0].rule, POLICY_FUTILE);
	assert_int_equal(w.m[KV].cores, 1);
	window(&w, 9000); /* cooldown */
	for (int k = 2; k < 2 * RF_POLICY_BLOCK_WINDOWS; k++)
		assert_int_equal(window(&w, 9000), 0); /* blocked twice as long */
	assert_int_equal(window(&w, 9000), 1);
	/* this time the core helps: p99 falls, nothing is undone */
	window(&w, 9000); /* cooldown */
	for (int k = 0; k < 10; k++)
		assert_int_equal(window(&w, k == 0 ? 3000 : 800), 0);
	assert_int_equal(w.m[KV].cores, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step_pauses_batch_and_gives_back),
		cmocka_unit_test(test_cooldown_one_window),
		cmocka_unit_test(test_spike_shorter_than_window),
		cmocka_unit_test(test_signal_choice),
		cmocka_unit_test(test_flapping_around_ut),
		cmocka_unit_test(test_hysteresis_resets_hold),
		cmocka_unit_test(test_min_max),
		cmocka_unit_test(test_free_first_busy_left_alone),
		cmocka_unit_test(test_gives_back_to_free_without_batch),
		cmocka_unit_test(test_flap_damping),
		cmocka_unit_test(test_futile_take_undone),
		cmocka_unit_test(test_load_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
