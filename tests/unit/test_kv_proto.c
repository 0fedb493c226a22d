/*
 * test_kv_proto.c - rfkv's memcached text protocol parser (apps/rfkv/
 * proto.c, cmds.c): memcached's tokenizer and number parsing, answers to
 * valid and invalid commands, noreply, values split across receives, bad
 * data chunks, refused values being discarded, and the ways a connection
 * ends.  Runs the parser on librf cores, with rfkv's real store behind it.
 */
#include "kv_helpers.h"

static void test_tokenizer(void **state)
{
	char line[] = "  set a  0 0 1 ";
	char many[200];
	struct tok t[MAX_TOKENS];
	size_t n;

	(void)state;
	n = kv_tokenize(line, t, MAX_TOKENS);
	assert_int_equal(n, 6);
	assert_string_equal(t[0].value, "set");
	assert_string_equal(t[4].value, "1");
	assert_null(t[5].value);
	assert_int_equal(t[5].length, 0);
	/* More than 23 tokens: the terminal token points at the rest. */
	strcpy(many, "get");
	for (int i = 0; i < 30; i++)
		strcat(many, " k");
	n = kv_tokenize(many, t, MAX_TOKENS);
	assert_int_equal(n, MAX_TOKENS);
	assert_non_null(t[MAX_TOKENS - 1].value);
	assert_string_equal(t[MAX_TOKENS - 1].value, "k k k k k k k k");
}

static void test_numbers(void **state)
{
	uint32_t u;
	int32_t l;
	uint64_t ull;

	(void)state;
	assert_true(kv_strtoul("4294967297", &u));   /* truncated, as memcached */
	assert_int_equal(u, 1);
	assert_false(kv_strtoul("-1", &u));
	assert_false(kv_strtoul("12x", &u));
	assert_true(kv_strtoul("\t7", &u));
	assert_int_equal(u, 7);
	assert_true(kv_strtol("-5", &l));
	assert_int_equal(l, -5);
	assert_false(kv_strtol("", &l));
	assert_true(kv_strtoull("18446744073709551615", &ull));
	assert_false(kv_strtoull("18446744073709551616", &ull));
	assert_false(kv_strtoull("-1", &ull));     /* huge once negated: refused */
	assert_true(kv_strtoull("-18446744073709551615", &ull));   /* 1, as memcached */
	assert_int_equal(ull, 1);
}

static void test_storage(void **state)
{
	(void)state;
	KVH_EXPECT(0, "set a 5 0 3\r\nabc\r\nget a nokey\r\n",
		   "STORED\r\nVALUE a 5 3\r\nabc\r\nEND\r\n");
	KVH_EXPECT(1, "add a 0 0 1\r\nx\r\nreplace nokey 0 0 1\r\nx\r\nappend a 9 0 2\r\nde\r\n"
		   "prepend a 9 0 1\r\n_\r\nget a\r\n",
		   "NOT_STORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\nVALUE a 5 6\r\n_abcde\r\nEND\r\n");
	KVH_EXPECT(0, "cas nokey 0 0 1 5\r\nx\r\ncas a 0 0 1 1\r\nx\r\n",
		   "NOT_FOUND\r\nEXISTS\r\n");
	KVH_EXPECT(1, "delete a\r\ndelete a\r\ndelete a 0\r\ndelete a 1\r\n",
		   "DELETED\r\nNOT_FOUND\r\nNOT_FOUND\r\n"
		   "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
}

static void test_arithmetic(void **state)
{
	(void)state;
	KVH_EXPECT(0, "set n 0 0 2\r\n10\r\ndecr n 1\r\nget n\r\ndecr n 99\r\n",
		   "STORED\r\n9\r\nVALUE n 0 2\r\n9 \r\nEND\r\n0\r\n");
	KVH_EXPECT(1, "set n 0 0 20\r\n18446744073709551615\r\nincr n 2\r\n",
		   "STORED\r\n1\r\n");
	KVH_EXPECT(0, "set s 0 0 1\r\nx\r\nincr s 1\r\nincr s x\r\nincr nokey 1\r\nincr s\r\n",
		   "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
		   "CLIENT_ERROR invalid numeric delta argument\r\nNOT_FOUND\r\nERROR\r\n");
}

static void test_bad_input(void **state)
{
	(void)state;
	KVH_EXPECT(0, "\r\nx\r\nbogus\r\nget\r\nset a 0 0\r\n",
		   "ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\n");
	KVH_EXPECT(0, "set a x 0 1\r\nset a 0 0 -1\r\n",
		   "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n");
	/* A value not ending in \r\n; parsing goes on after the announced bytes. */
	KVH_EXPECT(1, "set a 0 0 3\r\nabcde\r\nget a\r\n",
		   "CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n");
	KVH_EXPECT(0, "touch a x\r\ngat x a\r\nverbosity x\r\nflush_all x\r\n",
		   "CLIENT_ERROR invalid exptime argument\r\nCLIENT_ERROR invalid exptime argument\r\n"
		   "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR invalid exptime argument\r\n");
}

static void test_noreply(void **state)
{
	(void)state;
	KVH_EXPECT(0, "set q 0 0 1 noreply\r\nx\r\nset q 0 0 x noreply\r\nincr q 1 noreply\r\n"
		   "touch q 10 noreply\r\nverbosity 1 noreply\r\nget q\r\nmn\r\n",
		   "VALUE q 0 1\r\nx\r\nEND\r\nMN\r\n");
}

static void test_key_limit(void **state)
{
	char in[700], want[400];
	int n;

	(void)state;
	n = snprintf(in, sizeof(in), "set %0250d 0 0 1\r\nx\r\nget a %0251d\r\n", 0, 0);
	struct kvh_x x = { 0 };
	kvh_feed(&x, 0, in, (size_t)n);
	/* memcached culls every answer not sent yet: STORED too */
	snprintf(want, sizeof(want), "CLIENT_ERROR bad command line format\r\n");
	assert_string_equal(x.answer, want);
	free(x.answer);
}

static void test_split_value(void **state)
{
	struct kvh_x x = { 0 };

	(void)state;
	kvh_feed(&x, 0, "set v 0 0 5\r\nab", 15);
	assert_int_equal(x.used, 13);           /* the header, now pending */
	assert_int_equal(x.need, 20);           /* header + value + \r\n, from the start */
	assert_true(x.st.nread.active);
	free(x.answer);
	kvh_feed(&x, 1, "abcde\r\nget v\r\n", 14);
	assert_string_equal(x.answer, "STORED\r\nVALUE v 0 5\r\nabcde\r\nEND\r\n");
	free(x.answer);
}

static void test_too_large_swallowed(void **state)
{
	struct kvh_x x = { 0 };

	(void)state;
	kvh_feed(&x, 0, "set big 0 0 2000000\r\nwww", 24);
	assert_string_equal(x.answer, "SERVER_ERROR object too large for cache\r\n");
	assert_int_equal(x.st.swallow, 2000002 - 3);
	free(x.answer);
}

static void test_endings(void **state)
{
	struct kvh_x x = { 0 }, y = { 0 }, z = { 0 };
	static char longline[3000];

	(void)state;
	kvh_feed(&x, 0, "version\r\nquit\r\nversion\r\n", 24);
	assert_string_equal(x.answer, "VERSION " KV_VERSION "\r\n");
	assert_true(x.st.quit);
	kvh_feed(&y, 0, "GET / HTTP/1.1\r\n", 16);
	assert_true(y.st.close_now);
	assert_string_equal(y.answer, "");
	memset(longline, 'x', sizeof(longline));
	kvh_feed(&z, 0, longline, sizeof(longline));
	assert_true(z.st.close_now);
	free(x.answer);
	free(y.answer);
	free(z.answer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokenizer),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test_setup_teardown(test_storage, kvh_setup, kvh_teardown),
		cmocka_unit_test_setup_teardown(test_arithmetic, kvh_setup, kvh_teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, kvh_setup, kvh_teardown),
		cmocka_unit_test_setup_teardown(test_noreply, kvh_setup, kvh_teardown),
		cmocka_unit_test_setup_teardown(test_key_limit, kvh_setup, kvh_teardown),
		cmocka_unit_test_setup_teardown(test_split_value, kvh_setup, kvh_teardown),
		cmocka_unit_test_setup_teardown(test_too_large_swallowed, kvh_setup, kvh_teardown),
		cmocka_unit_test_setup_teardown(test_endings, kvh_setup, kvh_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
