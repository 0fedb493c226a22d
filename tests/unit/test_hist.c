/*
 * test_hist.c - log-linear latency histograms (src/base/hist.c).
 *
 * Covers: the empty histogram; exact percentiles, min, max and mean for
 * small values (one bucket per value below 128); the nearest-rank rule at
 * p99.9/p99.99 (no off-by-one from floating-point rounding); the reported
 * value being its bucket's upper bound clamped to [min, max]; relative
 * error < 1% for large values against a sorted array of pseudo-random
 * values; merging (into an empty one, of an empty one, of two halves); the
 * extreme values 0 and UINT64_MAX.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/hist.h"

static struct base_hist *new_hist(void)
{
	struct base_hist *h = malloc(sizeof(*h));
	assert_non_null(h);
	base_hist_init(h);
	return h;
}

static void test_empty(void **state)
{
	struct base_hist *h = new_hist();
	assert_true(h->count == 0);
	assert_true(base_hist_percentile(h, 0) == 0);
	assert_true(base_hist_percentile(h, 50) == 0);
	assert_true(base_hist_percentile(h, 100) == 0);
	assert_true(base_hist_mean(h) == 0.0);
	free(h);
}

static void test_small_values_exact(void **state)
{
	struct base_hist *h = new_hist();
	for (uint64_t v = 100; v >= 1; v--) /* order does not matter */
		base_hist_record(h, v);
	assert_true(h->count == 100);
	assert_true(h->min == 1);
	assert_true(h->max == 100);
	assert_true(base_hist_percentile(h, 0) == 1);
	assert_true(base_hist_percentile(h, 1) == 1);
	assert_true(base_hist_percentile(h, 1.5) == 2);
	assert_true(base_hist_percentile(h, 50) == 50);
	assert_true(base_hist_percentile(h, 50.5) == 51);
	assert_true(base_hist_percentile(h, 90) == 90);
	assert_true(base_hist_percentile(h, 99) == 99);
	assert_true(base_hist_percentile(h, 99.9) == 100);
	assert_true(base_hist_percentile(h, 100) == 100);
	assert_true(base_hist_percentile(h, 250) == 100);
	assert_true(base_hist_mean(h) == 50.5);
	free(h);
}

/* Nearest rank: p99.9 of 1000 samples is the 999th, not the 1000th. */
static void test_rank_no_rounding_off_by_one(void **state)
{
	struct base_hist *h = new_hist();
	for (int i = 0; i < 999; i++)
		base_hist_record(h, 5);
	base_hist_record(h, 100);
	assert_true(base_hist_percentile(h, 99.9) == 5);
	assert_true(base_hist_percentile(h, 99.91) == 100);
	assert_true(base_hist_percentile(h, 100) == 100);

	base_hist_init(h);
	for (int i = 0; i < 9999; i++)
		base_hist_record(h, 7);
	base_hist_record(h, 9);
	assert_true(base_hist_percentile(h, 99.99) == 7);
	assert_true(base_hist_percentile(h, 99.999) == 9);

	base_hist_init(h);
	for (int i = 0; i < 10; i++)
		base_hist_record(h, (uint64_t)i + 1);
	assert_true(base_hist_percentile(h, 10) == 1);
	assert_true(base_hist_percentile(h, 10.001) == 2);
	assert_true(base_hist_percentile(h, 70) == 7);
	free(h);
}

static void test_bucket_top_clamped(void **state)
{
	struct base_hist *h = new_hist();
	/* 1000 lies in the bucket [1000, 1003] (width 4 between 512 and 1023). */
	base_hist_record(h, 1000);
	assert_true(base_hist_percentile(h, 50) == 1000); /* clamped to max */
	base_hist_record(h, 2000);
	assert_true(base_hist_percentile(h, 50) == 1003); /* the bucket's top */
	assert_true(base_hist_percentile(h, 100) == 2000);
	assert_true(base_hist_percentile(h, 0) == 1000);

	base_hist_init(h);
	base_hist_record(h, 127);
	base_hist_record(h, 128);
	base_hist_record(h, 256);
	base_hist_record(h, 258); /* bucket [258, 259] */
	base_hist_record(h, 300);
	assert_true(base_hist_percentile(h, 20) == 127);
	assert_true(base_hist_percentile(h, 40) == 128);
	assert_true(base_hist_percentile(h, 60) == 257); /* bucket [256, 257] */
	assert_true(base_hist_percentile(h, 80) == 259);
	free(h);
}

static void test_extremes(void **state)
{
	struct base_hist *h = new_hist();
	base_hist_record(h, 0);
	base_hist_record(h, UINT64_MAX);
	assert_true(h->min == 0);
	assert_true(h->max == UINT64_MAX);
	assert_true(base_hist_percentile(h, 50) == 0);
	assert_true(base_hist_percentile(h, 100) == UINT64_MAX);
	base_hist_record(h, UINT64_MAX - 1);
	assert_true(base_hist_percentile(h, 66) == UINT64_MAX);
	assert_true(h->bucket[RF_HIST_BUCKETS - 1] == 2);
	assert_true(h->bucket[0] == 1);
	free(h);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_large_values_relative_error(void **state)
{
	enum { N = 100000 };
	uint64_t *v = malloc(N * sizeof(*v));
	assert_non_null(v);
	struct base_hist *h = new_hist();
	double sum = 0;
	rng_state = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < N; i++) {
		/* log-uniform-ish from 1 to about 2^50: every scale is covered */
		unsigned bits = (unsigned)(rng() % 50) + 1;
		v[i] = (rng() & ((1ull << bits) - 1)) | (1ull << (bits - 1));
		base_hist_record(h, v[i]);
		sum += (double)v[i];
	}
	qsort(v, N, sizeof(*v), cmp_u64);
	assert_true(h->count == N);
	assert_true(h->min == v[0]);
	assert_true(h->max == v[N - 1]);
	assert_true(base_hist_percentile(h, 0) == v[0]);
	assert_true(base_hist_percentile(h, 100) == v[N - 1]);
	double mean = base_hist_mean(h);
	assert_true(mean > sum / N * 0.999999 && mean < sum / N * 1.000001);

	/* p = num/den percent*100; nearest rank = ceil(num * N / den). */
	static const struct { double p; uint64_t num, den; } ps[] = {
		{ 1, 1, 100 }, { 10, 1, 10 }, { 25, 1, 4 }, { 50, 1, 2 }, { 75, 3, 4 },
		{ 90, 9, 10 }, { 99, 99, 100 }, { 99.9, 999, 1000 }, { 99.99, 9999, 10000 },
		{ 99.999, 99999, 100000 },
	};
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		uint64_t rank = (ps[i].num * N + ps[i].den - 1) / ps[i].den;
		uint64_t exact = v[rank - 1];
		uint64_t got = base_hist_percentile(h, ps[i].p);
		double rel = ((double)got - (double)exact) / (double)exact;
		if (got < exact || rel >= 0.01)
			fail_msg("p%g: got %llu, exact %llu (rel %g)", ps[i].p,
				 (unsigned long long)got, (unsigned long long)exact, rel);
		assert_true(rel < 1.0 / RF_HIST_SUB);
	}
	free(h);
	free(v);
}

static void test_merge(void **state)
{
	struct base_hist *a = new_hist(), *b = new_hist(), *all = new_hist(), *e = new_hist();
	for (uint64_t x = 1; x <= 50; x++) {
		base_hist_record(a, x * 1000);
		base_hist_record(all, x * 1000);
	}
	for (uint64_t x = 51; x <= 100; x++) {
		base_hist_record(b, x * 1000);
		base_hist_record(all, x * 1000);
	}
	struct base_hist *m = new_hist();
	base_hist_merge(m, a); /* into an empty one: min comes from a */
	assert_true(m->min == 1000);
	assert_true(m->max == 50000);
	base_hist_merge(m, b);
	base_hist_merge(m, e); /* an empty one changes nothing */
	assert_true(m->count == 100);
	assert_true(m->min == 1000);
	assert_true(m->max == 100000);
	assert_true(m->sum == all->sum);
	assert_memory_equal(m->bucket, all->bucket, sizeof(m->bucket));
	assert_true(base_hist_percentile(m, 50) == base_hist_percentile(all, 50));
	assert_true(base_hist_percentile(m, 99) == base_hist_percentile(all, 99));
	assert_true(base_hist_mean(m) == 50500.0);
	/* p50 is the 50th value, 50000, reported as its bucket's top */
	assert_true(base_hist_percentile(m, 50) == 50175);

	base_hist_merge(e, e);
	assert_true(e->count == 0);
	assert_true(base_hist_percentile(e, 50) == 0);
	free(a);
	free(b);
	free(all);
	free(e);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_small_values_exact),
		cmocka_unit_test(test_rank_no_rounding_off_by_one),
		cmocka_unit_test(test_bucket_top_clamped),
		cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_large_values_relative_error),
		cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
