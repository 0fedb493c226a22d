/*
 * test_conn.c - a control connection's framing and output queue
 * (src/rfd/conn.c).
 *
 * Covers: lines split across reads and several lines in one read, taken in
 * order, a line taken twice until done; an empty line; a buffer full
 * without a newline refused (-1) while one that ends exactly at the limit
 * is a line; answers queued with a newline, written in pieces, a
 * descriptor riding on the first byte of its own line only; the queue's
 * cap (refused, the descriptor dropped); fini dropping queued descriptors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/proto.h"
#include "rfd/conn.h"

static int dropped[16], ndropped;

static void note_drop(int fd)
{
	dropped[ndropped++] = fd;
}

static void feed(struct rfd_conn *c, const char *s)
{
	char *where;
	size_t n = strlen(s);
	assert_true(rfd_conn_in_space(c, &where) >= n);
	memcpy(where, s, n);
	rfd_conn_in_commit(c, n);
}

static void expect_line(struct rfd_conn *c, const char *want)
{
	const char *line;
	size_t len;
	assert_int_equal(rfd_conn_next_line(c, &line, &len), 1);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(line, want, len);
	rfd_conn_line_done(c);
}

static void test_framing(void **state)
{
	struct rfd_conn c;
	const char *line;
	size_t len;
	assert_int_equal(rfd_conn_init(&c), 0);
	feed(&c, "{\"a\":");
	assert_int_equal(rfd_conn_next_line(&c, &line, &len), 0);
	feed(&c, "1}\n\n{\"b\":2}\n{\"c\"");
	assert_int_equal(rfd_conn_next_line(&c, &line, &len), 1);
	assert_int_equal(rfd_conn_next_line(&c, &line, &len), 1); /* again, until done */
	expect_line(&c, "{\"a\":1}");
	expect_line(&c, "");
	expect_line(&c, "{\"b\":2}");
	assert_int_equal(rfd_conn_next_line(&c, &line, &len), 0);
	feed(&c, ":3}\n");
	expect_line(&c, "{\"c\":3}");
	assert_int_equal(c.inlen, 0);
	rfd_conn_fini(&c, NULL);
}

static void fill(struct rfd_conn *c, size_t n, char byte)
{
	char *where;
	assert_true(rfd_conn_in_space(c, &where) >= n);
	memset(where, byte, n);
	rfd_conn_in_commit(c, n);
}

static void test_too_long(void **state)
{
	struct rfd_conn c;
	const char *line;
	size_t len;
	char *where;
	assert_int_equal(rfd_conn_init(&c), 0);
	fill(&c, RF_PROTO_LINE_MAX, 'x');
	assert_int_equal(rfd_conn_next_line(&c, &line, &len), 0);
	feed(&c, "\n"); /* exactly at the limit: still a line */
	assert_int_equal(rfd_conn_next_line(&c, &line, &len), 1);
	assert_int_equal(len, RF_PROTO_LINE_MAX);
	rfd_conn_line_done(&c);
	fill(&c, RF_PROTO_LINE_MAX + 1, 'y');
	assert_int_equal(rfd_conn_in_space(&c, &where), 0);
	assert_int_equal(rfd_conn_next_line(&c, &line, &len), -1);
	rfd_conn_fini(&c, NULL);
}

static void test_queue(void **state)
{
	struct rfd_conn c;
	const char *buf;
	int fd;
	assert_int_equal(rfd_conn_init(&c), 0);
	assert_false(rfd_conn_out_pending(&c));
	assert_int_equal(rfd_conn_queue(&c, "one", 3, -1, note_drop), 0);
	assert_int_equal(rfd_conn_queue(&c, "two", 3, 42, note_drop), 0);
	assert_int_equal(c.outbytes, 8);
	assert_int_equal(rfd_conn_out_peek(&c, &buf, &fd), 4);
	assert_int_equal(fd, -1);
	assert_memory_equal(buf, "one\n", 4);
	assert_int_equal(rfd_conn_out_advance(&c, 2), -1);
	assert_int_equal(rfd_conn_out_peek(&c, &buf, &fd), 2);
	assert_memory_equal(buf, "e\n", 2);
	assert_int_equal(rfd_conn_out_advance(&c, 2), -1);
	assert_int_equal(rfd_conn_out_peek(&c, &buf, &fd), 4);
	assert_int_equal(fd, 42); /* with the first byte of its own line */
	assert_int_equal(rfd_conn_out_advance(&c, 1), 42);
	assert_int_equal(rfd_conn_out_peek(&c, &buf, &fd), 3);
	assert_int_equal(fd, -1); /* sent once */
	assert_int_equal(rfd_conn_out_advance(&c, 100), -1); /* clamped to the line */
	assert_false(rfd_conn_out_pending(&c));
	assert_int_equal(c.outbytes, 0);
	rfd_conn_fini(&c, NULL);
}

static void test_cap_and_fini(void **state)
{
	struct rfd_conn c;
	static char big[RFD_CONN_OUT_MAX];
	assert_int_equal(rfd_conn_init(&c), 0);
	ndropped = 0;
	assert_int_equal(rfd_conn_queue(&c, big, RFD_CONN_OUT_MAX / 2, 7, note_drop), 0);
	assert_int_equal(rfd_conn_queue(&c, big, RFD_CONN_OUT_MAX / 2, 8, note_drop), -1);
	assert_int_equal(ndropped, 1);
	assert_int_equal(dropped[0], 8);
	assert_int_equal(rfd_conn_queue(&c, big, RFD_CONN_OUT_MAX / 2 - 2, 9, note_drop), 0);
	assert_int_equal(c.outbytes, RFD_CONN_OUT_MAX);
	rfd_conn_fini(&c, note_drop);
	assert_int_equal(ndropped, 3);
	assert_int_equal(dropped[1], 7);
	assert_int_equal(dropped[2], 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_cap_and_fini),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
