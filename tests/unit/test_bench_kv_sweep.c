/*
 * test_bench_kv_sweep.c - the search of `rfbench kv` (bench/kv_sweep.c)
 * against a model server instead of rfload: a server of capacity CAP
 * answers within the objective up to CAP requests/s and falls behind
 * beyond it, so the search must find CAP to its precision.
 *
 * Covers: the point test (p99, achieved >= 95 % of offered, errors,
 * unanswered, a failed rfload); the coarse steps and the bisection land
 * within the precision below the capacity, and the figure is the achieved
 * rate of a passing point; a failing rate is measured again and passes if
 * the second try does (noise); a generator that could not finish its
 * schedule while the server had spare time ends the search
 * (generator_bound), a late one that finished does not, nor a busy server
 * that failed; every point passing up to rate_max is rate_capped;
 * nothing passing gives 0; a missing report fails the sweep.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../bench/kv.h"

/* The model: what kv_load_point reports for a rate. */
static struct {
	double cap;               /* highest rate served within the objective */
	int noisy_calls;          /* the next calls fail once each, as noise */
	bool gen_behind;          /* past cap: the generator, not the server, fell behind */
	bool lag_only;            /* ... only late, not so far behind it timed out */
	bool no_report;
	int calls;
} model;

int kv_load_point(struct kv_load *l, double rate, struct kv_point *pt)
{
	(void)l;
	memset(pt, 0, sizeof(*pt));
	model.calls++;
	if (model.no_report)
		return -1;
	pt->rate = rate;
	pt->achieved = rate * 0.999;
	pt->p50_us = 50;
	pt->p99_us = rate <= model.cap ? 200 : 50000;
	pt->lag_p99_us = rate > model.cap && model.gen_behind ? 40000 : 30;
	pt->server_busy = rate > model.cap && !model.gen_behind ? 0.99 : 0.5;
	/* A generator that cannot do the rate does not finish (kv_load.c). */
	pt->timed_out = pt->failed = rate > model.cap && model.gen_behind;
	if (model.lag_only)
		pt->timed_out = pt->failed = false;
	if (model.noisy_calls > 0) {
		model.noisy_calls--;
		pt->p99_us = 9000;   /* a hypervisor stall, whatever the rate */
	}
	return 0;
}

static const struct kv_search search = { .start = 20000, .factor = 2, .precision = 0.05,
					 .rate_max = 3e6, .slo_us = 1000, .retry = true };

/* A sweep of the model with capacity cap: kv_sweep's result; *c fresh. */
static int sweep(struct kv_curve *c, double cap)
{
	struct kv_load l = { 0 };
	memset(c, 0, sizeof(*c));
	model.cap = cap;
	return kv_sweep(&l, &search, c);
}

/* The figure is a passing rate within the precision below the capacity. */
static void assert_found(const struct kv_curve *c)
{
	assert_true(c->max_rate <= model.cap);
	assert_true(c->max_rate >= model.cap / 1.05 * 0.999 * 0.999);
}

static int setup(void **state)
{
	(void)state;
	memset(&model, 0, sizeof(model));
	return 0;
}

static void test_judge(void **state)
{
	(void)state;
	struct kv_point p = { .rate = 1000, .achieved = 960, .p99_us = 999 };
	assert_true(kv_point_judge(&p, 1000));
	assert_true(p.ok);
	p.achieved = 940;
	assert_false(kv_point_judge(&p, 1000));
	p.achieved = 1000, p.p99_us = 1001;
	assert_false(kv_point_judge(&p, 1000));
	p.p99_us = 10, p.errors = 1;
	assert_false(kv_point_judge(&p, 1000));
	p.errors = 0, p.unanswered = 1;
	assert_false(kv_point_judge(&p, 1000));
	p.unanswered = 0, p.failed = true;
	assert_false(kv_point_judge(&p, 1000));
}

static void test_finds_capacity(void **state)
{
	(void)state;
	static struct kv_curve c;
	assert_int_equal(sweep(&c, 150000), 0);
	assert_found(&c);
	assert_false(c.generator_bound);
	assert_false(c.rate_capped);
	/* every failing rate was tried twice */
	for (int i = 0; i < c.n; i++)
		if (!c.pt[i].ok) {
			assert_true(i + 1 < c.n);
			assert_true(c.pt[i + 1].rate == c.pt[i].rate);
			i++;
		}
}

static void test_noise_retried(void **state)
{
	(void)state;
	static struct kv_curve c;
	model.noisy_calls = 1;   /* the first point (20000/s) stalls once */
	assert_int_equal(sweep(&c, 150000), 0);
	assert_false(c.pt[0].ok);
	assert_true(c.pt[1].ok && c.pt[1].rate == 20000);
	assert_found(&c);
}

static void test_generator_bound(void **state)
{
	(void)state;
	static struct kv_curve c;
	model.gen_behind = true;
	assert_int_equal(sweep(&c, 300000), 0);
	assert_true(c.generator_bound);
	assert_true(c.max_rate > 0 && c.max_rate <= model.cap);
	assert_false(c.pt[c.n - 1].ok);
	/* Late but finishing (a stalled core): a failure, the search goes on. */
	model.lag_only = true;
	assert_int_equal(sweep(&c, 300000), 0);
	assert_false(c.generator_bound);
	assert_found(&c);
}

static void test_capped_and_none(void **state)
{
	(void)state;
	static struct kv_curve c;
	assert_int_equal(sweep(&c, 1e9), 0);
	assert_true(c.rate_capped);
	assert_true(c.pt[c.n - 1].rate == search.rate_max);
	assert_int_equal(sweep(&c, 10), 0);
	assert_true(c.max_rate == 0);
	assert_false(c.rate_capped);
	model.no_report = true;
	assert_int_equal(sweep(&c, 150000), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_judge, setup),
		cmocka_unit_test_setup(test_finds_capacity, setup),
		cmocka_unit_test_setup(test_noise_retried, setup),
		cmocka_unit_test_setup(test_generator_bound, setup),
		cmocka_unit_test_setup(test_capped_and_none, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
