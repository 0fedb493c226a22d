/*
 * test_units.c - byte sizes and clocks (src/base/units.c).
 *
 * Covers: base_parse_size with every suffix form ("64M", "1G", "512MiB",
 * "1.5G", "100", "4k", "100B") and its refusals ("12Q", "", "-1", fractions
 * of a byte, overflow, stray characters; *out untouched on error);
 * base_format_size for exact and approximate values and the round trip
 * format -> parse; base_format_wallclock's RFC 3339 shape; base_now_ns.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/units.h"

static void expect_size(const char *s, uint64_t want)
{
	uint64_t v = 0xdeadbeef;
	if (base_parse_size(s, &v) != 0)
		fail_msg("\"%s\" refused", s);
	if (v != want)
		fail_msg("\"%s\" -> %llu, want %llu", s, (unsigned long long)v,
			 (unsigned long long)want);
}

static void expect_bad(const char *s)
{
	uint64_t v = 777;
	if (base_parse_size(s, &v) != -1)
		fail_msg("\"%s\" accepted as %llu", s ? s : "(null)", (unsigned long long)v);
	assert_true(v == 777); /* untouched */
}

static void test_parse_suffixes(void **state)
{
	expect_size("64M", 64ull << 20);
	expect_size("1G", 1ull << 30);
	expect_size("512MiB", 512ull << 20);
	expect_size("512mib", 512ull << 20);
	expect_size("1.5G", 3ull << 29);
	expect_size("100", 100);
	expect_size("0", 0);
	expect_size("100B", 100);
	expect_size("4k", 4096);
	expect_size("4K", 4096);
	expect_size("4KB", 4096);
	expect_size("4KiB", 4096);
	expect_size("2T", 2ull << 40);
	expect_size("0.5K", 512);
	expect_size("64MB", 64ull << 20);
	expect_size("16383T", 16383ull << 40);
}

static void test_parse_errors(void **state)
{
	expect_bad("12Q");
	expect_bad("");
	expect_bad("-1");
	expect_bad(NULL);
	expect_bad("G");
	expect_bad("M64");
	expect_bad("1.5");        /* half a byte */
	expect_bad("1.1K");       /* 1126.4 bytes */
	expect_bad("1 G");
	expect_bad(" 1G");
	expect_bad("1G ");
	expect_bad("1GiBx");
	expect_bad("1iB");        /* "iB" only after a multiplier */
	expect_bad("1GG");
	expect_bad("16777216T");  /* 2^64 */
	expect_bad("99999999999999999999999");
	expect_bad("+1");
	expect_bad(".5G");
	expect_bad("0x10");       /* strtod forms that are not plain decimals */
	expect_bad("1e3");
	expect_bad("1E3K");
}

static void expect_fmt(uint64_t b, const char *want)
{
	char buf[32];
	memset(buf, 'x', sizeof(buf));
	base_format_size(b, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("%llu -> \"%s\", want \"%s\"", (unsigned long long)b, buf, want);
}

static void test_format_exact(void **state)
{
	expect_fmt(0, "0B");
	expect_fmt(100, "100B");
	expect_fmt(1023, "1023B");
	expect_fmt(1024, "1K");
	expect_fmt(1536, "1.5K");
	expect_fmt(512ull << 10, "512K");
	expect_fmt(64ull << 20, "64M");
	expect_fmt(1ull << 30, "1G");
	expect_fmt(3ull << 29, "1.5G");
	expect_fmt(1280ull << 20, "1280M");   /* 1.25G: not one decimal, stays exact */
	expect_fmt(2ull << 40, "2T");
	expect_fmt(2048ull << 40, "2048T");   /* no unit above T */
	expect_fmt(5000, "5000B");            /* exact below 10 units */
}

static void test_format_approximate(void **state)
{
	expect_fmt(12345, "12.1K");            /* 12.056K */
	expect_fmt((10ull << 30) + 1, "10.0G");
	expect_fmt(20ull * 1000 * 1000 * 1000, "18.6G");
}

static void test_format_small_buffer(void **state)
{
	char buf[4];
	base_format_size(64ull << 20, buf, sizeof(buf));
	assert_string_equal(buf, "64M");
	char tiny[3];
	base_format_size(1ull << 30, tiny, sizeof(tiny)); /* truncated, still terminated */
	assert_string_equal(tiny, "1G");
	base_format_size(100, tiny, sizeof(tiny));
	assert_string_equal(tiny, "10");
}

static void test_format_parse_round_trip(void **state)
{
	uint64_t vals[] = { 0, 1, 100, 1023, 1024, 1536, 4096, 5000, 512ull << 10,
			    64ull << 20, 3ull << 29, 1280ull << 20, 1ull << 30, 2ull << 40 };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		char buf[32];
		uint64_t back = 0;
		base_format_size(vals[i], buf, sizeof(buf));
		assert_int_equal(base_parse_size(buf, &back), 0);
		if (back != vals[i])
			fail_msg("%llu -> \"%s\" -> %llu", (unsigned long long)vals[i], buf,
				 (unsigned long long)back);
	}
}

static void test_wallclock_shape(void **state)
{
	char buf[40];
	base_format_wallclock(buf, sizeof(buf));
	/* 2026-11-24T10:00:00.123Z */
	assert_int_equal(strlen(buf), 24);
	const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
	for (int i = 0; i < 24; i++) {
		if (shape[i] == 'd')
			assert_true(isdigit((unsigned char)buf[i]));
		else
			assert_int_equal(buf[i], shape[i]);
	}
	assert_true(strncmp(buf, "2020", 4) > 0);
}

static void test_now_ns_monotonic(void **state)
{
	uint64_t a = base_now_ns(), b = base_now_ns();
	assert_true(a > 0);
	assert_true(b >= a);
	assert_true(b - a < 1000000000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_suffixes),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_format_exact),
		cmocka_unit_test(test_format_approximate),
		cmocka_unit_test(test_format_small_buffer),
		cmocka_unit_test(test_format_parse_round_trip),
		cmocka_unit_test(test_wallclock_shape),
		cmocka_unit_test(test_now_ns_monotonic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
