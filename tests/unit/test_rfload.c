/*
 * test_rfload.c - the parts of the load generator (apps/rfload) that its
 * figures rest on and that a run against a server cannot check exactly:
 *
 *   - the schedule: parsing of --schedule and --trace (units, errors), the
 *     warm-up step, and the map from arrival number to intended time
 *     across steps, pauses (rate 0) and the end;
 *   - the arrival process: a Poisson run's count within 4 sigma of
 *     rate x time, a uniform run's exact;
 *   - the request mix: zipf's first ranks at their exact shares, uniform
 *     keys in range, ETC sizes (mean, median, floor, cap) against the
 *     generalized Pareto's closed forms, seeds repeatable;
 *   - the protocol: requests byte for byte, replies recognised when fed
 *     whole or one byte at a time, value bytes that look like END skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "rfload.h"

static struct rfload_sched *sched_of(const char *spec, double seconds, double warmup)
{
	struct rfload_sched *s = calloc(1, sizeof(*s));
	char err[256];

	assert_non_null(s);
	assert_int_equal(rfload_sched_parse(s, spec, err, sizeof(err)), 0);
	assert_int_equal(rfload_sched_finish(s, (uint64_t)(seconds * 1e9), (uint64_t)(warmup * 1e9),
					     err, sizeof(err)), 0);
	return s;
}

static void test_sched_steps(void **state)
{
	struct rfload_sched *s = sched_of("0s:10000,5s:40k", 10, 0);
	int cur = 0;

	assert_int_equal(s->n, 2);
	assert_int_equal(s->first, 0);
	assert_true(s->start_ns[1] == 5000000000ull);
	assert_true(s->rate[1] == 40000.0);
	assert_true(fabs(s->lambda[2] - 250000.0) < 1e-6);
	assert_true(rfload_sched_at(s, 25000, &cur) == 2500000000ull);
	assert_int_equal(cur, 0);
	assert_true(rfload_sched_at(s, 60000, &cur) == 5250000000ull);
	assert_int_equal(cur, 1);
	assert_true(rfload_sched_at(s, 250000, &cur) == UINT64_MAX);
	free(s);
}

static void test_sched_units_pause_warmup(void **state)
{
	struct rfload_sched *s = sched_of("0:1000,1000ms:0,2000000us:1k", 3, 0);
	int cur = 0;

	/* Arrival 1000.5 falls after the pause: 2 s + 0.5 ms. */
	assert_true(rfload_sched_at(s, 1000.5, &cur) == 2000500000ull);
	assert_int_equal(cur, 2);
	free(s);
	s = sched_of("0s:1000", 2, 1);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->first, 1);
	assert_true(s->start_ns[1] == 1000000000ull && s->end_ns == 3000000000ull);
	assert_true(s->rate[0] == 1000.0 && fabs(s->lambda[2] - 3000.0) < 1e-9);
	free(s);
}

static void test_sched_errors(void **state)
{
	struct rfload_sched *s = calloc(1, sizeof(*s));
	const char *bad[] = { "5s:100", "0:1,0:2", "0s:abc", "0s:-1", "0s", "", "0x:1", "0s:1,,1s:2" };
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rfload_sched_parse(s, bad[i], err, sizeof(err)), -1);
	assert_int_equal(rfload_sched_parse(s, "0s:1,12s:5", err, sizeof(err)), 0);
	assert_int_equal(rfload_sched_finish(s, 10000000000ull, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "last step"));
	free(s);
}

static void test_sched_trace(void **state)
{
	char path[] = "/tmp/test_rfload.XXXXXX", err[256];
	struct rfload_sched *s = calloc(1, sizeof(*s));
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fprintf(f, "# time rate\n0s 2000\n\n  1.5 8k   # the burst\n3s 0\n");
	fclose(f);
	assert_int_equal(rfload_sched_trace(s, path, err, sizeof(err)), 0);
	assert_int_equal(s->n, 3);
	assert_true(s->start_ns[1] == 1500000000ull && s->rate[1] == 8000.0 && s->rate[2] == 0);
	f = fopen(path, "w");
	fprintf(f, "0 100\n2 x\n");
	fclose(f);
	assert_int_equal(rfload_sched_trace(s, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2"));
	unlink(path);
	free(s);
}

/* Arrivals drawn as worker.c draws them, counted before the end. */
static uint64_t arrivals(const struct rfload_sched *s, bool uniform, uint64_t seed)
{
	struct rfload_rng r;
	double lam = 0;
	int cur = 0;
	uint64_t n = 0;

	rfload_rng_seed(&r, seed, 1);
	for (;;) {
		lam += uniform ? 1.0 : rfload_rng_exp(&r);
		if (rfload_sched_at(s, lam, &cur) == UINT64_MAX)
			return n;
		n++;
	}
}

static void test_arrival_counts(void **state)
{
	struct rfload_sched *s = sched_of("0s:1000,4s:3000", 6, 0);   /* 10000 expected */

	for (uint64_t seed = 1; seed <= 5; seed++) {
		uint64_t n = arrivals(s, false, seed);
		assert_true(n > 10000 - 400 && n < 10000 + 400);
	}
	assert_true(arrivals(s, true, 1) == 9999);   /* arrivals 1..9999; 10000 is the end */
	free(s);
}

static void test_zipf_and_uniform_keys(void **state)
{
	struct rfload_workload wl = { .keys = 100, .keydist = RFLOAD_KEYS_ZIPF, .zipf_s = 1.0,
				      .value_size = 8, .get_ratio = 1 };
	struct rfload_rng r;
	unsigned count[100] = { 0 };
	double h = 0;
	const int n = 200000;

	assert_int_equal(rfload_workload_init(&wl), 0);
	rfload_rng_seed(&r, 7, 1);
	for (int i = 0; i < n; i++) {
		uint32_t k = rfload_key(&wl, &r);
		assert_true(k < 100);
		count[k]++;
	}
	for (int i = 1; i <= 100; i++)
		h += 1.0 / i;
	assert_true(fabs((double)count[0] / n - 1 / h) < 0.005);
	assert_true(fabs((double)count[1] / n - 0.5 / h) < 0.005);
	assert_true(fabs((double)count[9] / n - 0.1 / h) < 0.003);
	rfload_workload_free(&wl);
	wl.keydist = RFLOAD_KEYS_UNIFORM;
	assert_int_equal(rfload_workload_init(&wl), 0);
	memset(count, 0, sizeof(count));
	for (int i = 0; i < n; i++)
		count[rfload_key(&wl, &r)]++;
	for (int i = 0; i < 100; i++)
		assert_true(count[i] > n / 100 * 0.85 && count[i] < n / 100 * 1.15);
	rfload_workload_free(&wl);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void test_etc_sizes(void **state)
{
	struct rfload_workload wl = { .keys = 1, .valdist = RFLOAD_VALS_ETC, .value_max = 1 << 20 };
	struct rfload_rng r;
	const int n = 400000;
	uint32_t *v = malloc(n * sizeof(*v));
	double sum = 0, k = 0.348238, sigma = 214.476;

	assert_int_equal(rfload_workload_init(&wl), 0);
	rfload_rng_seed(&r, 3, 1);
	for (int i = 0; i < n; i++) {
		v[i] = rfload_value_size(&wl, &r);
		assert_true(v[i] >= 15);
		sum += v[i];
	}
	qsort(v, n, sizeof(*v), cmp_u32);
	/* Rounded down: mean about 0.5 below 15 + sigma / (1 - k). */
	assert_true(fabs(sum / n - (15 + sigma / (1 - k) - 0.5)) < 8);
	assert_true(fabs(v[n / 2] - (15 + sigma * (pow(2, k) - 1) / k)) < 3);
	rfload_workload_free(&wl);
	wl.value_max = 1000;
	assert_int_equal(rfload_workload_init(&wl), 0);
	uint32_t top = 0;
	for (int i = 0; i < n; i++) {
		uint32_t x = rfload_value_size(&wl, &r);
		top = x > top ? x : top;
	}
	assert_int_equal(top, 1000);
	rfload_workload_free(&wl);
	free(v);
}

static void test_seeds(void **state)
{
	struct rfload_rng a, b, c;

	rfload_rng_seed(&a, 42, 1);
	rfload_rng_seed(&b, 42, 1);
	rfload_rng_seed(&c, 42, 2);
	for (int i = 0; i < 100; i++) {
		uint64_t x = rfload_rng_next(&a);
		assert_true(x == rfload_rng_next(&b));
		assert_true(x != rfload_rng_next(&c));
	}
}

static void test_requests(void **state)
{
	char buf[128];
	size_t n = rfload_req_format(buf, RFLOAD_GET, 42, 0, "vvv");

	assert_int_equal(n, strlen("get key:00000042\r\n"));
	assert_memory_equal(buf, "get key:00000042\r\n", n);
	n = rfload_req_format(buf, RFLOAD_SET, 7, 3, "vvv");
	assert_int_equal(n, strlen("set key:00000007 0 0 3\r\nvvv\r\n"));
	assert_memory_equal(buf, "set key:00000007 0 0 3\r\nvvv\r\n", n);
}

static const char replies[] = "VALUE key:1 0 5\r\nhello\r\nEND\r\nEND\r\nSTORED\r\n"
			      "VALUE k 0 7\r\nEND\r\nxy\r\nEND\r\nSERVER_ERROR out of memory\r\n"
			      "ERROR\r\n";
static const enum rfload_reply expect[] = { RFLOAD_R_HIT, RFLOAD_R_MISS, RFLOAD_R_STORED,
					    RFLOAD_R_HIT, RFLOAD_R_ERROR, RFLOAD_R_ERROR };

/* Feeds `replies` `step` bytes at a time; checks the final answers. */
static void feed(size_t step)
{
	struct rfload_parse p = { 0 };
	char buf[sizeof(replies)];
	size_t len = 0, given = 0, got = 0, used;

	while (given < sizeof(replies) - 1 || len) {
		size_t k = sizeof(replies) - 1 - given < step ? sizeof(replies) - 1 - given : step;
		size_t pos = 0;
		enum rfload_reply r;
		memcpy(buf + len, replies + given, k);
		len += k;
		given += k;
		while ((r = rfload_reply_next(&p, buf + pos, len - pos, &used)) != RFLOAD_R_MORE) {
			pos += used;
			if (r != RFLOAD_R_VALUE)
				assert_int_equal(r, expect[got++]);
		}
		memmove(buf, buf + pos, len - pos);
		len -= pos;
		if (k == 0)
			break;
	}
	assert_int_equal(got, sizeof(expect) / sizeof(expect[0]));
	assert_int_equal(len, 0);
}

static void test_replies(void **state)
{
	feed(sizeof(replies));
	feed(1);
	feed(7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sched_steps),
		cmocka_unit_test(test_sched_units_pause_warmup),
		cmocka_unit_test(test_sched_errors),
		cmocka_unit_test(test_sched_trace),
		cmocka_unit_test(test_arrival_counts),
		cmocka_unit_test(test_zipf_and_uniform_keys),
		cmocka_unit_test(test_etc_sizes),
		cmocka_unit_test(test_seeds),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
