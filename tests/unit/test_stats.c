/*
 * test_stats.c - the stats page's latency histograms: the bucket geometry
 * (src/base/lathist.h), merging per-core slots into one and its quantiles,
 * interval differences, cumulative counts for Prometheus, and rfd's reading
 * of a subOS's page (src/rfd/stats.c): which slots it reads, and that a
 * slot with implausible counts or a busy time beyond the clock is refused
 * while the others still count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "base/lathist.h"
#include "rfd/stats.h"
#include "rfd/subos.h"

/* What librf's owner-core write does (src/librf/stats.c). */
static void record(struct rf_stats_hist *h, uint64_t ns)
{
	h->bucket[base_lat_bucket(ns)]++;
	h->sum_ns += ns;
}

static void test_geometry(void **state)
{
	/* Every value lies within its bucket; buckets are contiguous and at
	 * most 12.5 % wide above the linear part. */
	for (uint64_t v = 1; v < (1ull << 40); v = v * 3 / 2 + 1) {
		unsigned b = base_lat_bucket(v);
		assert_true(v <= base_lat_bucket_top(b));
		assert_true(b == 0 || v > base_lat_bucket_top(b - 1));
		if (v >= 256 && b + 1 < RF_LAT_BUCKETS)
			assert_true(base_lat_bucket_top(b) - base_lat_bucket_top(b - 1) <= v / 8 + 1);
	}
	assert_int_equal(base_lat_bucket(0), 0);
	assert_int_equal(base_lat_bucket(UINT64_MAX), RF_LAT_BUCKETS - 1);
	assert_true(base_lat_bucket_top(RF_LAT_BUCKETS - 1) == UINT64_MAX);
	assert_true(base_lat_bucket_top(RF_LAT_BUCKETS - 2) > 200000000000ull); /* > 200 s */
}

static void test_merge_quantiles(void **state)
{
	struct rf_stats_hist *core = calloc(3, sizeof(*core));
	struct base_lat *h = calloc(1, sizeof(*h));
	/* Three cores: 90 fast requests on two of them, 10 slow on the third. */
	for (int i = 0; i < 45; i++) {
		record(&core[0], 10000);
		record(&core[1], 11000);
	}
	for (int i = 0; i < 10; i++)
		record(&core[2], 5000000);
	for (int c = 0; c < 3; c++)
		assert_int_equal(base_lat_add_slot(h, &core[c]), 0);
	assert_true(h->count == 100);
	assert_true(h->sum_ns == 45.0 * 10000 + 45.0 * 11000 + 10.0 * 5000000);
	uint64_t p50 = base_lat_quantile(h, 0.5), p90 = base_lat_quantile(h, 0.9),
		 p99 = base_lat_quantile(h, 0.99);
	assert_true(p50 >= 10000 && p50 <= 11000 * 9 / 8);   /* the 50th is a 10-11 us one */
	assert_true(p90 >= 11000 && p90 <= 11000 * 9 / 8);   /* the 90th: still fast */
	assert_true(p99 >= 5000000 && p99 <= 5000000 * 9 / 8); /* the 99th: slow */
	assert_true(base_lat_quantile(h, 0) >= 10000);
	struct base_lat empty = { 0 };
	assert_true(base_lat_quantile(&empty, 0.99) == 0);
	free(core);
	free(h);
}

static void test_diff_and_cumulative(void **state)
{
	struct base_lat *a = calloc(3, sizeof(*a)), *b = a + 1, *d = a + 2;
	a->bucket[base_lat_bucket(1000)] = 5;
	a->count = 5;
	a->sum_ns = 5000;
	*b = *a;
	b->bucket[base_lat_bucket(2000000)] += 3;
	b->count += 3;
	b->sum_ns += 6000000;
	base_lat_diff(d, b, a);
	assert_true(d->count == 3 && d->sum_ns == 6000000);
	assert_true(base_lat_quantile(d, 0.5) >= 2000000);
	base_lat_diff(d, a, b); /* went back (a restart): nothing, never negative */
	assert_true(d->count == 0 && d->sum_ns == 0);
	/* Cumulative: a bound counts the buckets wholly below it. */
	uint64_t le[] = { 999, 1200, 1000000, 3000000 }, cum[4];
	base_lat_cumulative(b, le, 4, cum);
	assert_true(cum[0] == 0 && cum[1] == 5 && cum[2] == 5 && cum[3] == 8);
	free(a);
}

static void test_slot_refused(void **state)
{
	struct rf_stats_hist *slot = calloc(1, sizeof(*slot));
	struct base_lat *h = calloc(1, sizeof(*h));
	record(slot, 100);
	slot->bucket[7] = BASE_LAT_SLOT_MAX; /* with the 1 above: past the bound */
	assert_int_equal(base_lat_add_slot(h, slot), -1);
	assert_true(h->count == 0 && h->sum_ns == 0); /* nothing of it added */
	slot->bucket[7] = UINT64_MAX - 1;            /* a sum that would wrap */
	slot->bucket[9] = 5;
	assert_int_equal(base_lat_add_slot(h, slot), -1);
	slot->bucket[7] = slot->bucket[9] = 0;
	assert_int_equal(base_lat_add_slot(h, slot), 0);
	assert_true(h->count == 1);
	free(slot);
	free(h);
}

/* rfd's reading of a page: the held CPUs, those librf says it ran on, the
 * foreign slot; a corrupt slot refused, the rest merged. */
static void test_rfd_read(void **state)
{
	struct rfd_subos *s = calloc(1, sizeof(*s));
	struct rfd_stats *st = malloc(sizeof(*st));
	s->kind = RF_KIND_LIBOS;
	s->status = mmap(NULL, RF_STATUS_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(s->status != MAP_FAILED);
	struct rf_stats_core *slots = rf_status_stats(s->status);
	base_cpuset_set(&s->cpus, 2);
	record(&slots[2].lat, 1000);                  /* held */
	s->status->core[5].state = RF_CORE_PARKED;    /* held before a resize */
	record(&slots[5].lat, 2000);
	record(&slots[5].wait, 300);
	record(&slots[RF_STATS_FOREIGN].lat, 3000);   /* foreign threads */
	record(&slots[7].lat, 4000);                  /* never held: not read */
	s->status->core[2].busy_ns = 123456;
	s->status->core[5].busy_ns = UINT64_MAX;      /* beyond the clock: 0 */
	assert_true(rfd_stats_read(s, st));
	assert_true(st->lat.count == 3 && st->wait.count == 1 && st->refused == 0);
	assert_true(st->busy_ns == 123456);
	assert_true(base_cpuset_has(&st->cpus, 2) && base_cpuset_has(&st->cpus, 5) &&
		    !base_cpuset_has(&st->cpus, 7));
	slots[5].wait.bucket[0] = UINT64_MAX;         /* corrupt: both its histograms go */
	assert_true(rfd_stats_read(s, st));
	assert_true(st->lat.count == 2 && st->wait.count == 0 && st->refused == 1);
	s->kind = RF_KIND_LINUX;                      /* no page for a linux subOS */
	assert_false(rfd_stats_read(s, st));
	munmap(s->status, RF_STATUS_SIZE);
	free(st);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_merge_quantiles),
		cmocka_unit_test(test_diff_and_cumulative),
		cmocka_unit_test(test_slot_refused),
		cmocka_unit_test(test_rfd_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
