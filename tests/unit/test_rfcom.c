/*
 * test_rfcom.c - RFcom messages over FICM rings (src/rfcom/frag.c, msg.c,
 * wait.c), without rfd: a channel's two rings are formatted in a memfd
 * region as rfd would, and both sides attach to it with rfcom__attach.
 *
 * Covers: fragment counts and contents at the slot boundaries (0, 1, 55,
 * 56, 57, 112, 113 bytes, RFCOM_MSG_MAX); reassembly of every size from 0
 * to 600 bytes, and of the largest message; a short read buffer (the
 * message length is returned, the rest discarded, the next message
 * intact); every malformed fragment a hostile peer could send (unknown
 * type, a total above RFCOM_MSG_MAX, a one-slot message whose length is
 * not its total, a short slot marked "more", a continuation with another
 * total, a last slot that overshoots or stops short), each giving -EBADMSG
 * and a closed channel on the reader's side; non-blocking reads and
 * writes (-EAGAIN, whole messages or nothing, -EMSGSIZE for a message
 * longer than the ring); a non-blocking read that returns -EAGAIN in the
 * middle of a long message and finishes it later; blocking messages
 * longer than the ring streamed by two threads; a peer that closes
 * mid-message (-EPIPE, no partial message) and after sending (drained,
 * then -EPIPE); a blocked reader woken by a write; writes to a closed
 * channel.  Every wait is bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ficm_helpers.h"
#include "rfcom/rfcom_internal.h"

#define SLOTS 16

struct fx {
	void *mem;
	size_t len, rb;
	struct rfcom_chan a, b;   /* a produces into ring 0, b into ring 1 */
};

static int fx_open(struct fx *f, uint32_t slots, int flags_a, int flags_b)
{
	f->rb = rf_ficm_ring_size(slots);
	f->len = 2 * f->rb;
	f->mem = region_new(f->len);
	if (!f->mem || rf_ficm_ring_format(f->mem, f->rb, slots) ||
	    rf_ficm_ring_format((char *)f->mem + f->rb, f->rb, slots))
		return -1;
	if (rfcom__attach(&f->a, f->mem, f->len, slots, 0, f->rb, flags_a) ||
	    rfcom__attach(&f->b, f->mem, f->len, slots, f->rb, 0, flags_b))
		return -1;
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || fx_open(f, SLOTS, RFCOM_NONBLOCK, RFCOM_NONBLOCK))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	rfcom__detach(&f->a);
	rfcom__detach(&f->b);
	region_free(f->mem, f->len);
	free(f);
	return 0;
}

static void pattern(uint8_t *b, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

/* --- fragmenting ------------------------------------------------------------ */

static void test_frag_count(void **state)
{
	(void)state;
	assert_int_equal(rfcom__frag_count(0), 1);
	assert_int_equal(rfcom__frag_count(1), 1);
	assert_int_equal(rfcom__frag_count(56), 1);
	assert_int_equal(rfcom__frag_count(57), 2);
	assert_int_equal(rfcom__frag_count(112), 2);
	assert_int_equal(rfcom__frag_count(113), 3);
	assert_int_equal(rfcom__frag_count(RFCOM_MSG_MAX), (RFCOM_MSG_MAX + 55) / 56);
}

static void test_frag_fill(void **state)
{
	(void)state;
	uint8_t buf[113];
	struct rf_ficm_msg m;
	pattern(buf, sizeof(buf), 1);
	for (uint32_t i = 0; i < 3; i++) {
		rfcom__frag_fill(&m, buf, sizeof(buf), i);
		assert_int_equal(m.tag, 113);
		assert_int_equal(m.type, i < 2 ? RFCOM_FRAG_MORE : RFCOM_FRAG_LAST);
		assert_int_equal(m.len, i < 2 ? 56 : 1);
		assert_memory_equal(m.data, buf + i * 56, m.len);
	}
	rfcom__frag_fill(&m, NULL, 0, 0);
	assert_int_equal(m.len, 0);
	assert_int_equal(m.tag, 0);
	assert_int_equal(m.type, RFCOM_FRAG_LAST);
}

/* Fragment then reassemble every size, without rings. */
static void test_reassembly_all_sizes(void **state)
{
	(void)state;
	static uint8_t in[RFCOM_MSG_MAX], out[RFCOM_MSG_MAX];
	struct rfcom_rx rx = { .stage = malloc(RFCOM_MSG_MAX) };
	assert_non_null(rx.stage);
	for (size_t len = 0; len <= RFCOM_MSG_MAX; len = len < 600 ? len + 1 : len * 2) {
		if (len > RFCOM_MSG_MAX)
			len = RFCOM_MSG_MAX;
		pattern(in, len, (uint32_t)len);
		uint32_t k = rfcom__frag_count(len);
		size_t got = 0;
		for (uint32_t i = 0; i < k; i++) {
			struct rf_ficm_msg m;
			rfcom__frag_fill(&m, in, len, i);
			assert_int_equal(rfcom__rx_remaining(&rx), i ? k - i : 0);
			int rc = rfcom__rx_push(&rx, &m, out, sizeof(out), &got);
			assert_int_equal(rc, i + 1 < k ? 0 : 1);
		}
		assert_int_equal(got, len);
		assert_memory_equal(out, in, len);
		if (len == RFCOM_MSG_MAX)
			break;
	}
	free(rx.stage);
}

/* Feed slots; expect -EBADMSG at the last one. */
static void expect_bad(const struct rf_ficm_msg *m, int n)
{
	uint8_t out[256];
	size_t got;
	struct rfcom_rx rx = { .stage = malloc(RFCOM_MSG_MAX) };
	for (int i = 0; i < n; i++) {
		int rc = rfcom__rx_push(&rx, &m[i], out, sizeof(out), &got);
		if (i + 1 < n)
			assert_int_equal(rc, 0);
		else
			assert_int_equal(rc, -EBADMSG);
	}
	assert_false(rx.active);
	free(rx.stage);
}

static struct rf_ficm_msg slot(uint16_t type, uint16_t len, uint32_t tag)
{
	struct rf_ficm_msg m;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.len = len;
	m.tag = tag;
	return m;
}

static void test_malformed_fragments(void **state)
{
	(void)state;
	struct rf_ficm_msg m[2];
	m[0] = slot(7, 1, 1);                          /* unknown type */
	expect_bad(m, 1);
	m[0] = slot(RFCOM_FRAG_MORE, 56, RFCOM_MSG_MAX + 1); /* too long */
	expect_bad(m, 1);
	m[0] = slot(RFCOM_FRAG_LAST, 10, 11);          /* one slot, len != total */
	expect_bad(m, 1);
	m[0] = slot(RFCOM_FRAG_MORE, 40, 100);         /* short slot marked more */
	expect_bad(m, 1);
	m[0] = slot(RFCOM_FRAG_MORE, 56, 50);          /* more, but 56 >= total */
	expect_bad(m, 1);
	m[0] = slot(RFCOM_FRAG_MORE, 56, 100);
	m[1] = slot(RFCOM_FRAG_LAST, 44, 101);         /* another total */
	expect_bad(m, 2);
	m[1] = slot(RFCOM_FRAG_LAST, 40, 100);         /* stops short */
	expect_bad(m, 2);
	m[1] = slot(RFCOM_FRAG_MORE, 56, 100);         /* overshoots */
	expect_bad(m, 2);
	m[1] = slot(RFCOM_FRAG_LAST, 56, 100);         /* overshoots at the end */
	expect_bad(m, 2);
	m[0] = slot(RFCOM_FRAG_LAST, 57, 57);          /* len above a slot */
	expect_bad(m, 1);
}

/* --- over rings ---------------------------------------------------------------- */

static void test_roundtrip_sizes(void **state)
{
	struct fx *f = *state;
	uint8_t in[800], out[800];
	/* Each fits the 16-slot ring (16 x 56 = 896 bytes). */
	for (size_t len = 0; len <= sizeof(in); len += 13) {
		pattern(in, len, (uint32_t)len + 3);
		assert_int_equal(rfcom__write(&f->a, in, len), (ssize_t)len);
		memset(out, 0, sizeof(out));
		assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), (ssize_t)len);
		assert_memory_equal(out, in, len);
		/* and the other direction */
		assert_int_equal(rfcom__write(&f->b, in, len), (ssize_t)len);
		assert_int_equal(rfcom__read(&f->a, out, sizeof(out)), (ssize_t)len);
		assert_memory_equal(out, in, len);
	}
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), -EAGAIN);
}

static void test_short_buffer(void **state)
{
	struct fx *f = *state;
	uint8_t in[200], out[200];
	pattern(in, sizeof(in), 9);
	assert_int_equal(rfcom__write(&f->a, in, 150), 150);
	assert_int_equal(rfcom__write(&f->a, in, 20), 20);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(rfcom__read(&f->b, out, 10), 150);  /* truncated */
	assert_memory_equal(out, in, 10);
	assert_int_equal(out[10], 0xee);
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), 20); /* next one intact */
	assert_memory_equal(out, in, 20);
	assert_int_equal(rfcom__read(&f->b, NULL, 0), -EAGAIN);
}

static void test_nonblocking_full(void **state)
{
	struct fx *f = *state;
	uint8_t in[RFCOM_MSG_MAX + 1], out[1024];
	pattern(in, 1024, 5);
	assert_int_equal(rfcom__write(&f->a, in, RFCOM_MSG_MAX + 1), -EMSGSIZE);
	assert_int_equal(rfcom__write(&f->a, in, SLOTS * 56 + 1), -EMSGSIZE); /* > the ring */
	assert_int_equal(rfcom__write(&f->a, in, 10 * 56), 10 * 56);  /* 10 slots */
	assert_int_equal(rfcom__write(&f->a, in, 7 * 56), -EAGAIN);   /* 6 free: nothing sent */
	assert_int_equal(rfcom__write(&f->a, in, 6 * 56), 6 * 56);    /* exactly full */
	assert_int_equal(rfcom__write(&f->a, in, 0), -EAGAIN);
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), 10 * 56);
	assert_memory_equal(out, in, 10 * 56);
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), 6 * 56);
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), -EAGAIN);
}

/* A reader that finds half a message returns -EAGAIN and finishes later. */
static void test_nonblocking_partial(void **state)
{
	struct fx *f = *state;
	uint8_t in[300], out[300];
	struct rf_ficm_msg m;
	pattern(in, sizeof(in), 11);
	for (uint32_t i = 0; i < 3; i++) { /* 3 of the 6 slots of a 300-byte message */
		rfcom__frag_fill(&m, in, sizeof(in), i);
		assert_int_equal(rf_ficm_send(&f->a.tx, &m, 1), 1);
	}
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), -EAGAIN);
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), -EAGAIN);
	for (uint32_t i = 3; i < 6; i++) {
		rfcom__frag_fill(&m, in, sizeof(in), i);
		assert_int_equal(rf_ficm_send(&f->a.tx, &m, 1), 1);
	}
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), 300);
	assert_memory_equal(out, in, 300);
}

/* A hostile peer's slot closes the channel for the reader. */
static void test_corrupt_peer(void **state)
{
	struct fx *f = *state;
	uint8_t out[64];
	struct rf_ficm_msg m = slot(RFCOM_FRAG_MORE, 10, 100);
	assert_int_equal(rf_ficm_send(&f->a.tx, &m, 1), 1);
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), -EBADMSG);
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), -EBADMSG); /* sticky */
	assert_int_equal(rfcom__write(&f->b, out, 1), -EBADMSG);
	/* the peer sees its channel closed */
	assert_int_equal(rfcom__write(&f->a, out, 1), -EPIPE);
}

static void test_close_mid_message(void **state)
{
	struct fx *f = *state;
	uint8_t in[300], out[300];
	struct rf_ficm_msg m;
	pattern(in, sizeof(in), 2);
	assert_int_equal(rfcom__write(&f->a, in, 30), 30);      /* a whole one first */
	for (uint32_t i = 0; i < 2; i++) {                      /* then 2 of 6 slots */
		rfcom__frag_fill(&m, in, sizeof(in), i);
		assert_int_equal(rf_ficm_send(&f->a.tx, &m, 1), 1);
	}
	rf_ficm_close(&f->a.tx);                                 /* the writer dies */
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), 30);
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), -EPIPE); /* no half message */
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), -EPIPE);
}

static void test_close_drains(void **state)
{
	struct fx *f = *state;
	uint8_t in[100], out[100];
	pattern(in, sizeof(in), 4);
	assert_int_equal(rfcom__write(&f->a, in, 100), 100);
	assert_int_equal(rfcom__write(&f->a, in, 1), 1);
	rfcom__detach(&f->a);         /* rfcom_close: both rings closed */
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), 100);
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), 1);
	assert_int_equal(rfcom__read(&f->b, out, sizeof(out)), -EPIPE);
	assert_int_equal(rfcom__write(&f->b, out, 1), -EPIPE);
	/* teardown detaches a again: harmless */
}

/* --- blocking, two threads --------------------------------------------------- */

#define STREAM_MSGS 200

struct stream {
	struct rfcom_chan *ch;
	int failures;
};

static size_t stream_len(int i)
{
	return (size_t)(i * 4099) % (RFCOM_MSG_MAX + 1); /* many much longer than the ring */
}

static void *stream_writer(void *arg)
{
	struct stream *s = arg;
	static uint8_t buf[RFCOM_MSG_MAX];
	for (int i = 0; i < STREAM_MSGS; i++) {
		size_t len = stream_len(i);
		pattern(buf, len, (uint32_t)i);
		if (rfcom__write(s->ch, buf, len) != (ssize_t)len)
			s->failures++;
	}
	return NULL;
}

static void test_blocking_stream(void **state)
{
	(void)state;
	struct fx f = { 0 };
	static uint8_t want[RFCOM_MSG_MAX], got[RFCOM_MSG_MAX];
	assert_int_equal(fx_open(&f, 8, 0, 0), 0);
	struct stream s = { &f.a, 0 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, stream_writer, &s), 0);
	uint64_t t0 = base_now_ns();
	for (int i = 0; i < STREAM_MSGS; i++) {
		size_t len = stream_len(i);
		pattern(want, len, (uint32_t)i);
		ssize_t n = rfcom__read(&f.b, got, sizeof(got));
		assert_int_equal(n, (ssize_t)len);
		assert_memory_equal(got, want, len);
		assert_true(base_now_ns() - t0 < 20000000000ull);
	}
	pthread_join(t, NULL);
	assert_int_equal(s.failures, 0);
	rfcom__detach(&f.a);
	rfcom__detach(&f.b);
	region_free(f.mem, f.len);
}

static ssize_t late_written;

static void *late_writer(void *arg)
{
	sleep_ms(50);
	late_written = rfcom__write(arg, "wake", 4);
	sleep_ms(20);
	rfcom__detach(arg);
	return NULL;
}

/* A blocked reader sleeps (futex) and is woken by a write, then by a close. */
static void test_blocked_reader_woken(void **state)
{
	(void)state;
	struct fx f = { 0 };
	char out[16];
	assert_int_equal(fx_open(&f, 4, 0, 0), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, late_writer, &f.a), 0);
	assert_int_equal(rfcom__read(&f.b, out, sizeof(out)), 4);
	assert_memory_equal(out, "wake", 4);
	assert_int_equal(rfcom__read(&f.b, out, sizeof(out)), -EPIPE);
	pthread_join(t, NULL);
	assert_int_equal(late_written, 4);
	rfcom__detach(&f.b);
	region_free(f.mem, f.len);
}

static void test_attach_checks(void **state)
{
	(void)state;
	struct rfcom_chan ch;
	size_t rb = rf_ficm_ring_size(SLOTS);
	void *mem = region_new(2 * rb);
	assert_non_null(mem);
	assert_int_equal(rf_ficm_ring_format(mem, rb, SLOTS), 0);
	assert_int_equal(rf_ficm_ring_format((char *)mem + rb, rb, SLOTS), 0);
	assert_int_equal(rfcom__attach(&ch, mem, 2 * rb, 3, 0, rb, 0), -EPROTO);     /* slots */
	assert_int_equal(rfcom__attach(&ch, mem, 2 * rb, SLOTS, 0, 0, 0), -EPROTO);  /* overlap */
	assert_int_equal(rfcom__attach(&ch, mem, 2 * rb, SLOTS, 0, rb + 64, 0), -EPROTO);
	assert_int_equal(rfcom__attach(&ch, mem, 2 * rb, SLOTS * 2, 0, rb, 0), -EPROTO);
	/* a ring already closed: the channel is over */
	struct rf_ficm_ring r;
	assert_int_equal(rf_ficm_attach(&r, mem, rb, SLOTS, RF_FICM_CONSUMER), 0);
	rf_ficm_close(&r);
	assert_int_equal(rfcom__attach(&ch, mem, 2 * rb, SLOTS, rb, 0, 0), -EPIPE);
	region_free(mem, 2 * rb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frag_count),
		cmocka_unit_test(test_frag_fill),
		cmocka_unit_test(test_reassembly_all_sizes),
		cmocka_unit_test(test_malformed_fragments),
		cmocka_unit_test_setup_teardown(test_roundtrip_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonblocking_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonblocking_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_mid_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_drains, setup, teardown),
		cmocka_unit_test(test_blocking_stream),
		cmocka_unit_test(test_blocked_reader_woken),
		cmocka_unit_test(test_attach_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
