/*
 * test_prom.c - the Prometheus text exposition format (src/base/prom.c):
 * HELP and TYPE lines (HELP escaping backslash and newline), label values
 * escaped (backslash, double quote, newline), samples with and without
 * labels, integer and float values (NaN, +Inf), and a histogram's
 * cumulative buckets, its +Inf bucket equal to _count, _sum and _count.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/prom.h"

static void test_family_and_samples(void **state)
{
	struct base_prom p;
	base_prom_init(&p);
	base_prom_family(&p, "rf_x", "gauge", "a \\ help\nwith \"quotes\"");
	const char *l[] = { "subos", "a\"b\\c\nd", "kind", "libos", NULL };
	base_prom_sample_u64(&p, "rf_x", l, 18446744073709551615ull);
	base_prom_sample(&p, "rf_y", NULL, 0.25);
	base_prom_sample(&p, "rf_y", NULL, NAN);
	base_prom_sample(&p, "rf_y", NULL, INFINITY);
	assert_false(p.failed);
	assert_string_equal(p.buf,
		"# HELP rf_x a \\\\ help\\nwith \"quotes\"\n"
		"# TYPE rf_x gauge\n"
		"rf_x{subos=\"a\\\"b\\\\c\\nd\",kind=\"libos\"} 18446744073709551615\n"
		"rf_y 0.25\n"
		"rf_y NaN\n"
		"rf_y +Inf\n");
	base_prom_free(&p);
}

static void test_histogram(void **state)
{
	struct base_prom p;
	base_prom_init(&p);
	const char *l[] = { "subos", "kv", NULL };
	double le[] = { 1e-06, 0.001, 1 };
	uint64_t cum[] = { 0, 7, 9 };
	base_prom_histogram(&p, "rf_lat_seconds", l, le, cum, 3, 10, 2.5);
	assert_false(p.failed);
	assert_string_equal(p.buf,
		"rf_lat_seconds_bucket{subos=\"kv\",le=\"1e-06\"} 0\n"
		"rf_lat_seconds_bucket{subos=\"kv\",le=\"0.001\"} 7\n"
		"rf_lat_seconds_bucket{subos=\"kv\",le=\"1\"} 9\n"
		"rf_lat_seconds_bucket{subos=\"kv\",le=\"+Inf\"} 10\n"
		"rf_lat_seconds_sum{subos=\"kv\"} 2.5\n"
		"rf_lat_seconds_count{subos=\"kv\"} 10\n");
	base_prom_free(&p);
	/* No labels: le is the only one. */
	base_prom_init(&p);
	base_prom_histogram(&p, "h", NULL, le, cum, 1, 0, 0);
	assert_string_equal(p.buf, "h_bucket{le=\"1e-06\"} 0\nh_bucket{le=\"+Inf\"} 0\n"
				   "h_sum 0\nh_count 0\n");
	base_prom_free(&p);
}

static void test_escape_and_growth(void **state)
{
	char out[16];
	assert_true(base_prom_escape("a\"b", out, sizeof(out)));
	assert_string_equal(out, "a\\\"b");
	assert_false(base_prom_escape("0123456789abcdef", out, sizeof(out))); /* too long */
	struct base_prom p;
	base_prom_init(&p);
	char name[300];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	for (int i = 0; i < 100; i++) /* past the first buffer and a long line */
		base_prom_sample_u64(&p, name, NULL, (uint64_t)i);
	assert_false(p.failed);
	assert_int_equal(p.len, 100 * (299 + 2) + 10 * 1 + 90 * 2); /* name, blank, digits, newline */
	base_prom_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_samples),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_escape_and_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
