/*
 * test_ficm_marks.c - the valid marks of FICM ring slots (src/ficm/ring.c,
 * ficm/shm.h): a message is visible when its slot's `seq` byte holds its
 * lap's mark, and the consumer reads nothing else to receive.
 *
 * Covers: the mark values (never 0, never equal for two consecutive laps,
 * wrapping after 255 laps) and many laps of traffic across that wrap;
 * the caller's `seq` ignored on send and 0 on receive; stale marks (last
 * lap's), a mark ahead of an unmarked slot and a corrupt length behind a
 * valid mark; a producer process killed mid-message (payload written, no
 * mark); a producer dead between its marks and its tail, and one dead
 * after some marks of a batch but before its first, each followed by a
 * successor producer that neither repeats nor exposes anything.  ASan and
 * UBSan run this; every wait is bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ficm_helpers.h"
#include "ficm/shm.h"

#define SLOTS RING_FX_SLOTS
#define SHIFT 4   /* log2(SLOTS) */

_Static_assert(SLOTS == 1 << SHIFT, "the fixture's geometry");

static struct rf_ficm_msg *slot(struct ring_fx *f, uint64_t index)
{
	return (struct rf_ficm_msg *)((char *)f->mem + RF_FICM_HDR_SIZE) + (index & (SLOTS - 1));
}

/* Receive exactly the messages from..from+n-1, in order, then nothing. */
static void expect_seq(struct ring_fx *f, uint32_t from, int n)
{
	struct rf_ficm_msg out[SLOTS];
	int got = 0;
	while (got < n) {
		int k = rf_ficm_recv(&f->c, out, SLOTS);
		assert_true(k > 0);
		for (int i = 0; i < k; i++)
			assert_true(msg_ok(&out[i], from + (uint32_t)got++));
	}
	assert_int_equal(got, n);
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), 0);
}

static void test_mark_values(void **state)
{
	(void)state;
	for (uint64_t lap = 0; lap < 1000; lap++) {
		uint64_t i = lap << SHIFT;
		assert_int_not_equal(ficm_mark(i, SHIFT), 0);
		assert_int_not_equal(ficm_mark(i, SHIFT), ficm_mark(i + SLOTS, SHIFT));
		assert_int_equal(ficm_mark(i, SHIFT), ficm_mark(i + SLOTS - 1, SHIFT));
	}
	assert_int_equal(ficm_mark(254ull << SHIFT, SHIFT), 255);
	assert_int_equal(ficm_mark(255ull << SHIFT, SHIFT), 1);   /* the wrap */
	/* free-running 64-bit indices: the wrap of the index itself */
	assert_int_not_equal(ficm_mark(UINT64_MAX, SHIFT), ficm_mark(UINT64_MAX + 1, SHIFT));
}

/* 600 laps (the marks wrap twice) with odd batch sizes on both sides. */
static void test_marks_wrap_under_traffic(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_msg out[8];
	uint32_t sent = 0, got = 0;
	while (got < 600 * SLOTS) {
		int n = send_seq(&f->p, sent, 1 + (int)(sent % 7));
		assert_true(n >= 0);
		sent += (uint32_t)n;
		int k = rf_ficm_recv(&f->c, out, 1 + (int)(got % 5));
		assert_true(k >= 0);
		for (int i = 0; i < k; i++)
			assert_true(msg_ok(&out[i], got++));
	}
	expect_seq(f, got, (int)(sent - got));
	/* the slots hold wrapped marks now, and the tail is right */
	assert_int_equal(slot(f, sent - 1)->seq, ficm_mark(sent - 1, SHIFT));
	assert_true(f->shm->tail == sent && f->shm->head == sent);
}

static void test_caller_mark_ignored(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_msg m, out;
	msg_make(&m, 7);
	m.seq = ficm_mark(SLOTS, SHIFT);   /* next lap's: would be wrong here */
	assert_int_equal(rf_ficm_send(&f->p, &m, 1), 1);
	assert_int_equal(slot(f, 0)->seq, ficm_mark(0, SHIFT));
	assert_int_equal(rf_ficm_recv(&f->c, &out, 1), 1);
	assert_true(msg_ok(&out, 7));       /* seq 0, all else as sent */
}

static void test_stale_and_misplaced_marks(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_msg out[SLOTS];
	assert_int_equal(send_seq(&f->p, 0, SLOTS), SLOTS);
	expect_seq(f, 0, SLOTS);
	/* every slot holds last lap's mark: nothing to receive */
	assert_int_equal(rf_ficm_ready(&f->c), 0);
	/* a valid mark after an unmarked slot is not reached */
	slot(f, SLOTS + 1)->seq = ficm_mark(SLOTS + 1, SHIFT);
	assert_int_equal(rf_ficm_ready(&f->c), 0);
	/* a valid mark on a slot whose length is impossible */
	slot(f, SLOTS)->len = RF_FICM_PAYLOAD + 1;
	slot(f, SLOTS)->seq = ficm_mark(SLOTS, SHIFT);
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), -EBADMSG);
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), -EBADMSG);   /* sticky */
	assert_int_equal(f->shm->state, RF_FICM_CORRUPT);
}

/* A child writes a whole message into a reserved slot, never commits it,
 * and is killed: nothing is visible; a successor producer's first message
 * is the first one received. */
static void test_killed_mid_message(void **state)
{
	struct ring_fx *f = *state;
	assert_int_equal(send_seq(&f->p, 0, 2), 2);
	pid_t pid = fork();
	if (pid == 0) {
		if (rf_ficm_reserve(&f->p, 1) != 1)
			_exit(2);
		msg_make(rf_ficm_slot(&f->p, 0), 99);   /* all but the mark */
		raise(SIGKILL);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	expect_seq(f, 0, 2);
	assert_int_equal(rf_ficm_wait(&f->c, 0, 1000000), -ETIMEDOUT);
	struct rf_ficm_ring next;
	assert_int_equal(rf_ficm_attach(&next, f->mem, f->len, SLOTS, RF_FICM_PRODUCER), 0);
	assert_int_equal(send_seq(&next, 2, 3), 3);
	expect_seq(f, 2, 3);
}

/* Marks written, tail not (the producer died between the two): the
 * consumer takes the messages and may sleep; a successor starts after
 * them, received or not, and repairs the tail. */
static void test_dead_between_marks_and_tail(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_ring next;
	assert_int_equal(send_seq(&f->p, 0, 3), 3);
	f->shm->tail = 0;
	expect_seq(f, 0, 3);
	assert_int_equal(rf_ficm_wait(&f->c, 0, 1000000), -ETIMEDOUT);   /* not corrupt */
	assert_int_equal(send_seq(&f->p, 3, 2), 2);
	f->shm->tail = 3;                   /* and again, not yet received */
	assert_int_equal(rf_ficm_attach(&next, f->mem, f->len, SLOTS, RF_FICM_PRODUCER), 0);
	assert_true(f->shm->tail == 5);
	assert_int_equal(send_seq(&next, 5, SLOTS - 2), SLOTS - 2);
	assert_int_equal(send_seq(&next, 0, 1), 0);   /* full: nothing was overwritten */
	expect_seq(f, 3, SLOTS);
}

/* Payloads and the marks of a batch's later slots written, its first mark
 * not: nothing is visible, and the successor's messages do not expose the
 * dead batch's slots behind them. */
static void test_dead_before_first_mark(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_ring next;
	assert_int_equal(send_seq(&f->p, 0, 2), 2);
	expect_seq(f, 0, 2);
	assert_int_equal(rf_ficm_reserve(&f->p, 4), 4);
	for (int i = 0; i < 4; i++)
		msg_make(rf_ficm_slot(&f->p, i), 50 + (uint32_t)i);
	for (uint64_t i = 3; i < 6; i++)
		slot(f, i)->seq = ficm_mark(i, SHIFT);
	assert_int_equal(rf_ficm_ready(&f->c), 0);
	assert_int_equal(rf_ficm_attach(&next, f->mem, f->len, SLOTS, RF_FICM_PRODUCER), 0);
	assert_int_equal(send_seq(&next, 2, 1), 1);
	expect_seq(f, 2, 1);
	assert_int_equal(send_seq(&next, 3, 5), 5);
	expect_seq(f, 3, 5);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, ring_fx_setup, ring_fx_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mark_values),
		T(test_marks_wrap_under_traffic),
		T(test_caller_mark_ignored),
		T(test_stale_and_misplaced_marks),
		T(test_killed_mid_message),
		T(test_dead_between_marks_and_tail),
		T(test_dead_before_first_mark),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
