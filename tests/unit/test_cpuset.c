/*
 * test_cpuset.c - CPU sets and the kernel's list syntax (src/base/cpuset.c).
 *
 * Covers: parse/format round trips ("0-3,8", "1", "", whitespace, a trailing
 * newline), syntax errors ("3-1", "a", "1,,2", out of range CPUs), the set
 * operations (count, empty, equal, subset, intersects, or, andnot, and),
 * for_each_cpu, and base_cpuset_next across word boundaries (63, 64, 1023).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "cpuset_helpers.h"

#include "base/cpuset.h"

/* Parse `in`, format it back, and compare with `want`. */
static void round_trip(const char *in, const char *want, int count)
{
	struct base_cpuset s;
	char buf[256];
	assert_int_equal(base_cpuset_parse(&s, in), 0);
	assert_int_equal(base_cpuset_count(&s), count);
	assert_int_equal(base_cpuset_format(&s, buf, sizeof(buf)), (int)strlen(want));
	assert_string_equal(buf, want);
}

static void test_round_trips(void **state)
{
	round_trip("0-3,8", "0-3,8", 5);
	round_trip("1", "1", 1);
	round_trip("", "", 0);
	round_trip("0-3,8\n", "0-3,8", 5);
	round_trip("  2-5 \n", "2-5", 4);
	round_trip("\n", "", 0);
	round_trip("5,1,2,3", "1-3,5", 4);        /* sorted and merged */
	round_trip("0-1,2-3", "0-3", 4);          /* adjacent ranges merge */
	round_trip("4-4", "4", 1);
	round_trip("1,1,1", "1", 1);
	round_trip("0,2,4", "0,2,4", 3);
	round_trip("62-65", "62-65", 4);          /* across a word */
	round_trip("1023", "1023", 1);
	round_trip("0-1023", "0-1023", 1024);
}

static void test_parse_sets_exact_bits(void **state)
{
	struct base_cpuset s;
	assert_int_equal(base_cpuset_parse(&s, "0-3,8,64,127-128"), 0);
	assert_true(s.w[0] == 0x10full);
	assert_true(s.w[1] == ((1ull << 0) | (1ull << 63)));
	assert_true(s.w[2] == 1ull);
	for (int i = 3; i < RF_CPUSET_WORDS; i++)
		assert_true(s.w[i] == 0);
	assert_true(base_cpuset_has(&s, 3));
	assert_false(base_cpuset_has(&s, 4));
	assert_false(base_cpuset_has(&s, -1));
	assert_false(base_cpuset_has(&s, RF_MAX_CPUS));
}

static void expect_bad(const char *in)
{
	struct base_cpuset s;
	if (base_cpuset_parse(&s, in) != -1)
		fail_msg("\"%s\" parsed but should not", in);
}

static void test_bad_syntax(void **state)
{
	expect_bad("3-1");
	expect_bad("a");
	expect_bad("1,,2");
	expect_bad("1024");
	expect_bad("0-1024");
	expect_bad("99999999999999999999");
	expect_bad("1,");
	expect_bad(",1");
	expect_bad("1-");
	expect_bad("-1");
	expect_bad("+1");
	expect_bad("1 2");
	expect_bad("1-2-3");
	expect_bad("1x");
	expect_bad("1,a");
}

static void test_bad_parse_leaves_no_garbage_on_success_after(void **state)
{
	/* A failed parse followed by a good one gives exactly the good set. */
	struct base_cpuset s;
	char buf[32];
	assert_int_equal(base_cpuset_parse(&s, "0-5,x"), -1);
	assert_int_equal(base_cpuset_parse(&s, "7"), 0);
	assert_int_equal(base_cpuset_format(&s, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "7");
	assert_int_equal(base_cpuset_count(&s), 1);
}

static void test_format_too_small(void **state)
{
	struct base_cpuset s;
	char buf[5];
	assert_int_equal(base_cpuset_parse(&s, "0-3,8"), 0);
	assert_int_equal(base_cpuset_format(&s, buf, 5), -1);  /* needs 6 bytes */
	assert_int_equal(base_cpuset_format(&s, buf, 0), -1);
	char ok[6];
	assert_int_equal(base_cpuset_format(&s, ok, sizeof(ok)), 5);
	assert_string_equal(ok, "0-3,8");
}

static void test_set_operations(void **state)
{
	struct base_cpuset a = set_of("0-3,64"), b = set_of("2-5"), e = set_of("");
	struct base_cpuset d;

	assert_true(base_cpuset_empty(&e));
	assert_false(base_cpuset_empty(&a));
	assert_int_equal(base_cpuset_count(&e), 0);
	assert_int_equal(base_cpuset_count(&a), 5);

	assert_true(base_cpuset_intersects(&a, &b));
	assert_false(base_cpuset_intersects(&a, &e));
	struct base_cpuset hi = set_of("65");
	assert_false(base_cpuset_intersects(&a, &hi));

	struct base_cpuset sub = set_of("1,64");
	assert_true(base_cpuset_subset(&sub, &a));
	assert_false(base_cpuset_subset(&a, &sub));
	assert_true(base_cpuset_subset(&e, &a));
	assert_true(base_cpuset_subset(&a, &a));

	d = a;
	assert_true(base_cpuset_equal(&d, &a));
	base_cpuset_or(&d, &b);
	assert_set(&d, "0-5,64");
	assert_false(base_cpuset_equal(&d, &a));

	d = a;
	base_cpuset_andnot(&d, &b);
	assert_set(&d, "0-1,64");

	d = a;
	base_cpuset_and_into(&d, &b);
	assert_set(&d, "2-3");

	base_cpuset_set(&d, 1000);
	assert_set(&d, "2-3,1000");
	base_cpuset_clr(&d, 2);
	base_cpuset_clr(&d, 500); /* not there: no change */
	assert_set(&d, "3,1000");
	base_cpuset_zero(&d);
	assert_true(base_cpuset_equal(&d, &e));
}

static void test_for_each_cpu(void **state)
{
	struct base_cpuset s = set_of("0,5-6,63-64,511,1023");
	int want[] = { 0, 5, 6, 63, 64, 511, 1023 };
	int n = 0;
	for_each_cpu(c, &s) {
		assert_true(n < 7);
		assert_int_equal(c, want[n]);
		n++;
	}
	assert_int_equal(n, 7);

	struct base_cpuset e = set_of("");
	n = 0;
	for_each_cpu(c, &e)
		n++;
	assert_int_equal(n, 0);
}

static void test_next_word_boundaries(void **state)
{
	struct base_cpuset s = set_of("63,64,1023");
	assert_int_equal(base_cpuset_next(&s, 0), 63);
	assert_int_equal(base_cpuset_next(&s, 63), 63);
	assert_int_equal(base_cpuset_next(&s, 64), 64);
	assert_int_equal(base_cpuset_next(&s, 65), 1023);
	assert_int_equal(base_cpuset_next(&s, 1023), 1023);
	assert_int_equal(base_cpuset_next(&s, 1024), -1);
	assert_int_equal(base_cpuset_next(&s, 5000), -1);
	assert_int_equal(base_cpuset_next(&s, -7), 63);

	struct base_cpuset only63 = set_of("63");
	assert_int_equal(base_cpuset_next(&only63, 63), 63);
	assert_int_equal(base_cpuset_next(&only63, 64), -1);

	struct base_cpuset only64 = set_of("64");
	assert_int_equal(base_cpuset_next(&only64, 0), 64);
	assert_int_equal(base_cpuset_next(&only64, 63), 64);
	assert_int_equal(base_cpuset_next(&only64, 65), -1);

	struct base_cpuset e = set_of("");
	assert_int_equal(base_cpuset_next(&e, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_parse_sets_exact_bits),
		cmocka_unit_test(test_bad_syntax),
		cmocka_unit_test(test_bad_parse_leaves_no_garbage_on_success_after),
		cmocka_unit_test(test_format_too_small),
		cmocka_unit_test(test_set_operations),
		cmocka_unit_test(test_for_each_cpu),
		cmocka_unit_test(test_next_word_boundaries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
