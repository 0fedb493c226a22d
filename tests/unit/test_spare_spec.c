/*
 * test_spare_spec.c - the message that starts a spare's program
 * (src/rfd/spare_spec.c).
 *
 * The spare's process trusts nothing it cannot check: a message is used
 * whole or not at all.  Covers: a round trip keeps every field (argv,
 * envp, hostname, exit path, mask, capabilities, memlock, the seccomp
 * program, the descriptor count), also with no environment; a buffer too
 * small to encode into; and decode's refusals: every truncation, a wrong
 * magic, a length that disagrees with the header, a string that does not
 * end, trailing bytes, no program, and too few pointer slots.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/filter.h>
#include <cmocka.h>

#include "rfd/spare_spec.h"

static const struct sock_filter prog[3] = {
	{ 0x20, 0, 0, 4 }, { 0x15, 0, 1, 0xc000003e }, { 0x06, 0, 0, 0x7fff0000 },
};
static const char *const argv_[] = { "/bin/prog", "--flag", "two words", NULL };
static const char *const envp_[] = { "A=1", "RF_SOCKET=/run/door/subos.sock", NULL };
static const char *const none[] = { NULL };

static struct rfd_spare_spec spec(const char *const *envp)
{
	struct rfd_spare_spec s = {
		.argv = argv_, .envp = envp, .hostname = "web", .exit_path = "/st/exit/web",
		.caps = 0x1234, .memlock = 1ull << 30, .filter = prog, .nfilter = 3, .nfds = 6,
	};
	CPU_ZERO(&s.mask);
	CPU_SET(1, &s.mask);
	CPU_SET(7, &s.mask);
	return s;
}

static _Alignas(8) char buf[RFD_SPARE_SPEC_MAX];
static const char *slots[64];

static void assert_strv(const char *const *got, const char *const *want)
{
	size_t i = 0;
	for (; want[i]; i++)
		assert_string_equal(got[i], want[i]);
	assert_null(got[i]);
}

static void round_trip(const char *const *envp)
{
	struct rfd_spare_spec in = spec(envp), out;
	ssize_t n = rfd_spare_spec_encode(&in, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(rfd_spare_spec_decode(buf, (size_t)n, &out, slots, 64), 0);
	assert_strv(out.argv, argv_);
	assert_strv(out.envp, envp);
	assert_string_equal(out.hostname, "web");
	assert_string_equal(out.exit_path, "/st/exit/web");
	assert_true(CPU_EQUAL(&out.mask, &in.mask));
	assert_int_equal(out.caps, 0x1234);
	assert_int_equal(out.memlock, 1ull << 30);
	assert_int_equal(out.nfilter, 3);
	assert_memory_equal(out.filter, prog, sizeof(prog));
	assert_int_equal(out.nfds, 6);
}

static void test_round_trip(void **state)
{
	(void)state;
	round_trip(envp_);
	round_trip(none);
}

static void test_encode_too_small(void **state)
{
	(void)state;
	struct rfd_spare_spec in = spec(envp_);
	ssize_t n = rfd_spare_spec_encode(&in, buf, sizeof(buf));
	assert_true(n > 0);
	for (size_t len = 0; len < (size_t)n; len += 7)
		assert_int_equal(rfd_spare_spec_encode(&in, buf, len), -E2BIG);
}

static ssize_t encoded(void)
{
	struct rfd_spare_spec in = spec(envp_);
	return rfd_spare_spec_encode(&in, buf, sizeof(buf));
}

static void test_truncated(void **state)
{
	(void)state;
	struct rfd_spare_spec out;
	ssize_t n = encoded();
	for (ssize_t len = 0; len < n; len++) {
		encoded();
		assert_int_equal(rfd_spare_spec_decode(buf, (size_t)len, &out, slots, 64), -EINVAL);
	}
}

static void test_malformed(void **state)
{
	(void)state;
	struct rfd_spare_spec out;
	ssize_t n = encoded();
	buf[0] ^= 1; /* magic */
	assert_int_equal(rfd_spare_spec_decode(buf, (size_t)n, &out, slots, 64), -EINVAL);
	n = encoded();
	buf[n - 1] = 'x'; /* the last string does not end */
	assert_int_equal(rfd_spare_spec_decode(buf, (size_t)n, &out, slots, 64), -EINVAL);
	n = encoded();
	buf[n] = '\0'; /* a byte more than the header says */
	assert_int_equal(rfd_spare_spec_decode(buf, (size_t)n + 1, &out, slots, 64), -EINVAL);
	/* an extra NUL inside a string splits it: the counts no longer fit */
	n = encoded();
	char *arg = memmem(buf, (size_t)n, "two words", 9);
	assert_non_null(arg);
	arg[3] = '\0';
	assert_int_equal(rfd_spare_spec_decode(buf, (size_t)n, &out, slots, 64), -EINVAL);
}

static void test_no_program(void **state)
{
	(void)state;
	struct rfd_spare_spec in = spec(envp_), out;
	in.argv = none;
	ssize_t n = rfd_spare_spec_encode(&in, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(rfd_spare_spec_decode(buf, (size_t)n, &out, slots, 64), -EINVAL);
	in = spec(envp_);
	in.nfilter = 0; /* never without a seccomp program */
	n = rfd_spare_spec_encode(&in, buf, sizeof(buf));
	assert_int_equal(rfd_spare_spec_decode(buf, (size_t)n, &out, slots, 64), -EINVAL);
}

static void test_few_slots(void **state)
{
	(void)state;
	struct rfd_spare_spec out;
	ssize_t n = encoded(); /* 3 args + 2 variables + 2 NULLs = 7 */
	assert_int_equal(rfd_spare_spec_decode(buf, (size_t)n, &out, slots, 6), -E2BIG);
	assert_int_equal(rfd_spare_spec_decode(buf, (size_t)n, &out, slots, 7), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_encode_too_small),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_no_program),
		cmocka_unit_test(test_few_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
