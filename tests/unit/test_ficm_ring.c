/*
 * test_ficm_ring.c - FICM SPSC rings (src/ficm/ring.c, wait.c).
 *
 * Covers: sizes and format/attach argument checks; geometry in the header
 * that differs from what the attacher expects (magic, ABI, slots, message
 * size, byte count, state, short or unaligned region); empty and full
 * rings; wrap-around with odd batch sizes over many laps; batching (a
 * reserved, filled batch is invisible until its commit; the head is
 * published once per receive; marks, not the tail, make messages
 * visible); zero-copy partial commits; two threads hammering one ring with
 * sequence and content checks; corrupt indices, lengths and states seen by
 * either side (an error, sticky, never a crash: ASan and UBSan run this);
 * close draining first; a producer process killed mid-batch (only whole,
 * committed messages are seen); a sleeping consumer woken by a send, also
 * across processes (shared futex); wait time-outs.  Every wait is bounded
 * and fails the test.  The valid marks themselves (their wrapping, stale
 * and misplaced marks, a producer dead between its marks and its tail) are
 * test_ficm_marks.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
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

static void test_sizes_and_args(void **state)
{
	(void)state;
	assert_int_equal(rf_ficm_ring_size(16), RF_FICM_HDR_SIZE + 16 * 64);
	assert_int_equal(rf_ficm_ring_size(0), 0);
	assert_int_equal(rf_ficm_ring_size(1), 0);
	assert_int_equal(rf_ficm_ring_size(24), 0);
	assert_int_equal(rf_ficm_ring_size(RF_FICM_SLOTS_MAX * 2), 0);
	char *buf = aligned_alloc(64, 4096);
	struct rf_ficm_ring r;
	assert_int_equal(rf_ficm_ring_format(buf, 4096, 3), -EINVAL);
	assert_int_equal(rf_ficm_ring_format(buf, 1000, 16), -EINVAL);
	assert_int_equal(rf_ficm_ring_format(buf + 8, 4000, 16), -EINVAL);
	assert_int_equal(rf_ficm_ring_format(buf, 4096, 16), 0);
	assert_int_equal(rf_ficm_attach(&r, buf, 4096, 16, 0), -EINVAL);
	assert_int_equal(rf_ficm_attach(&r, buf, 4096, 16, RF_FICM_CONSUMER), 0);
	assert_int_equal(rf_ficm_send(&r, NULL, 0), -EINVAL);   /* consumer cannot send */
	assert_int_equal(rf_ficm_attach(&r, buf, 4096, 16, RF_FICM_PRODUCER), 0);
	assert_int_equal(rf_ficm_recv(&r, NULL, 1), -EINVAL);   /* producer cannot receive */
	struct rf_ficm_msg m = { .len = RF_FICM_PAYLOAD + 1 };
	assert_int_equal(rf_ficm_send(&r, &m, 1), -EINVAL);
	free(buf);
}

/* Each field of the header, changed, makes attach refuse the region. */
static void test_geometry_checked(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_ring r;
	_Atomic uint32_t *w32[] = { &f->shm->magic, &f->shm->abi, &f->shm->slots,
				    &f->shm->msg_size, &f->shm->state };
	for (size_t i = 0; i < sizeof(w32) / sizeof(w32[0]); i++) {
		uint32_t keep = *w32[i];
		*w32[i] = keep ^ 0x40;
		assert_int_equal(rf_ficm_attach(&r, f->mem, f->len, SLOTS, RF_FICM_CONSUMER), -EINVAL);
		assert_int_equal(rf_ficm_recv(&r, NULL, 0), -EINVAL);  /* a failed handle stays failed */
		*w32[i] = keep;
	}
	f->shm->bytes += 64;
	assert_int_equal(rf_ficm_attach(&r, f->mem, f->len, SLOTS, RF_FICM_CONSUMER), -EINVAL);
	f->shm->bytes -= 64;
	/* the caller expects another size than the header says */
	assert_int_equal(rf_ficm_attach(&r, f->mem, f->len, SLOTS * 2, RF_FICM_CONSUMER), -EINVAL);
	assert_int_equal(rf_ficm_attach(&r, f->mem, f->len - 1, SLOTS, RF_FICM_CONSUMER), -EINVAL);
	/* indices that make no sense */
	f->shm->tail = 1000;
	assert_int_equal(rf_ficm_attach(&r, f->mem, f->len, SLOTS, RF_FICM_PRODUCER), -EINVAL);
	f->shm->tail = 0;
	assert_int_equal(rf_ficm_attach(&r, f->mem, f->len, SLOTS, RF_FICM_PRODUCER), 0);
}

static void test_empty_and_full(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_msg out[SLOTS + 4];
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), 0);
	assert_int_equal(rf_ficm_ready(&f->c), 0);
	assert_int_equal(send_seq(&f->p, 0, SLOTS - 1), SLOTS - 1);
	assert_int_equal(send_seq(&f->p, SLOTS - 1, 5), 1);      /* one slot left */
	assert_int_equal(send_seq(&f->p, SLOTS, 1), 0);          /* full */
	assert_int_equal(rf_ficm_ready(&f->c), SLOTS);
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS + 4), SLOTS);
	for (int i = 0; i < SLOTS; i++)
		assert_true(msg_ok(&out[i], (uint32_t)i));
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), 0);
	assert_int_equal(send_seq(&f->p, SLOTS, SLOTS), SLOTS);  /* room again */
	assert_int_equal(rf_ficm_recv(&f->c, out, 0), SLOTS);    /* max 0: just count */
}

static void test_wraparound(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_msg out[8];
	uint32_t sent = 0, got = 0;
	for (int round = 0; round < 5000; round++) {
		int n = send_seq(&f->p, sent, 1 + round % 7);
		assert_true(n >= 0);
		sent += (uint32_t)n;
		int k = rf_ficm_recv(&f->c, out, 1 + (round * 3) % 5);
		assert_true(k >= 0);
		for (int i = 0; i < k; i++)
			assert_true(msg_ok(&out[i], got++));
	}
	int k;
	while ((k = rf_ficm_recv(&f->c, out, 8)) > 0)
		for (int i = 0; i < k; i++)
			assert_true(msg_ok(&out[i], got++));
	assert_int_equal(k, 0);
	assert_int_equal(got, sent);
	assert_true(sent > 100 * SLOTS);  /* many laps */
	assert_true(f->shm->head == sent && f->shm->tail == sent);
}

/* Nothing is visible before the commit; the tail moves once per batch; the
 * consumer learns of messages from their marks, not from the tail. */
static void test_batch_publish(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_msg out[SLOTS];
	assert_int_equal(rf_ficm_reserve(&f->p, 6), 6);
	for (int i = 0; i < 6; i++)
		msg_make(rf_ficm_slot(&f->p, i), (uint32_t)i);
	assert_null(rf_ficm_slot(&f->p, 6));
	assert_null(rf_ficm_slot(&f->p, -1));
	assert_true(f->shm->tail == 0);
	assert_int_equal(rf_ficm_ready(&f->c), 0);
	assert_int_equal(rf_ficm_commit(&f->p, 7), -EINVAL);  /* more than reserved */
	assert_int_equal(rf_ficm_commit(&f->p, 4), 4);        /* the first 4 only */
	assert_true(f->shm->tail == 4);
	assert_int_equal(rf_ficm_commit(&f->p, 1), -EINVAL);  /* reservation is gone */
	assert_int_equal(rf_ficm_recv(&f->c, out, 3), 3);
	assert_true(f->shm->head == 3);                        /* published once */
	assert_int_equal(send_seq(&f->p, 4, 2), 2);
	f->shm->tail = 4;              /* a tail the consumer does not need */
	assert_int_equal(rf_ficm_recv(&f->c, out + 3, SLOTS), 3);
	for (int i = 0; i < 6; i++)
		assert_true(msg_ok(&out[i], (uint32_t)i));
	f->shm->tail = 6;
}

struct hammer {
	struct rf_ficm_ring *r;
	uint32_t n;
	int rc;
};

static void *hammer_producer(void *arg)
{
	struct hammer *h = arg;
	uint64_t deadline = base_now_ns() + 20000000000ull;
	for (uint32_t sent = 0; sent < h->n;) {
		uint32_t want = 1 + sent % 13;
		int n = send_seq(h->r, sent, (int)(want < h->n - sent ? want : h->n - sent));
		if (n < 0 || base_now_ns() > deadline) {
			h->rc = n < 0 ? n : -ETIMEDOUT;
			return NULL;
		}
		sent += (uint32_t)n;
		if (!n)
			sched_yield();   /* full: let the consumer run if it shares our CPU */
	}
	return NULL;
}

static void test_two_threads(void **state)
{
	struct ring_fx *f = *state;
	struct hammer h = { &f->p, 300000, 0 };
	struct rf_ficm_msg out[SLOTS];
	pthread_t t;
	uint64_t deadline = base_now_ns() + 20000000000ull;
	assert_int_equal(pthread_create(&t, NULL, hammer_producer, &h), 0);
	uint32_t got = 0;
	while (got < h.n && base_now_ns() < deadline) {
		int k = rf_ficm_recv(&f->c, out, 1 + (int)(got % 11));
		assert_true(k >= 0);
		if (!k)
			sched_yield();
		for (int i = 0; i < k; i++)
			if (!msg_ok(&out[i], got++))
				fail_msg("message %u damaged", got - 1);
	}
	pthread_join(t, NULL);
	assert_int_equal(h.rc, 0);
	assert_int_equal(got, h.n);
}

/* The consumer reads the tail only before it sleeps: a tail more than a
 * ring past the head, or one that claims messages no mark shows, is
 * corrupt there. */
static void test_corrupt_tail(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_msg out[SLOTS];
	assert_int_equal(send_seq(&f->p, 0, 2), 2);
	assert_int_equal(rf_ficm_recv(&f->c, out, 1), 1);
	f->shm->tail = 2 + SLOTS + 1;       /* more than a ring's worth past the head */
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), 1);  /* marked: the one still pending */
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), 0);  /* receiving reads marks only */
	assert_int_equal(rf_ficm_wait(&f->c, 1000, 1000000), -EBADMSG);
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), -EBADMSG);  /* sticky */
	assert_int_equal(f->shm->state, RF_FICM_CORRUPT);
	/* the producer learns it from the state */
	assert_int_equal(send_seq(&f->p, 2, 1), -EBADMSG);
}

/* A tail within a ring past the head whose messages carry no mark. */
static void test_tail_without_marks(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_msg out[SLOTS];
	assert_int_equal(send_seq(&f->p, 0, 3), 3);
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), 3);
	f->shm->tail = 5;
	assert_int_equal(rf_ficm_ready(&f->c), 0);
	assert_int_equal(rf_ficm_wait(&f->c, 0, 1000000), -EBADMSG);
	assert_int_equal(f->shm->state, RF_FICM_CORRUPT);
}

/* A tail behind the head: by more than a ring, corrupt; by less, what a
 * producer that died between its marks and its tail leaves (the consumer
 * may sleep; test_ficm_marks.c has the successor). */
static void test_tail_behind_head(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_msg out[SLOTS];
	for (uint32_t i = 0; i < 40; i += 4) {
		assert_int_equal(send_seq(&f->p, i, 4), 4);
		assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), 4);
	}
	f->shm->tail = 40 - SLOTS;
	assert_int_equal(rf_ficm_wait(&f->c, 0, 1000000), -ETIMEDOUT);
	f->shm->tail = 40 - SLOTS - 1;
	assert_int_equal(rf_ficm_wait(&f->c, 0, 1000000), -EBADMSG);
	assert_int_equal(rf_ficm_ready(&f->c), -EBADMSG);
}

static void test_corrupt_head(void **state)
{
	struct ring_fx *f = *state;
	assert_int_equal(send_seq(&f->p, 0, SLOTS), SLOTS);
	f->shm->head = 1000;                /* consumer claims to be ahead of the tail */
	assert_int_equal(send_seq(&f->p, SLOTS, 1), -EBADMSG);
	assert_int_equal(send_seq(&f->p, SLOTS, 1), -EBADMSG);
	assert_int_equal(f->shm->state, RF_FICM_CORRUPT);
}

static void test_corrupt_length_and_state(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_msg out[SLOTS];
	assert_int_equal(send_seq(&f->p, 0, 3), 3);
	((struct rf_ficm_msg *)((char *)f->mem + RF_FICM_HDR_SIZE))[1].len = 0xff;
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), 1);  /* the good one first */
	assert_true(msg_ok(&out[0], 0));
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), -EBADMSG);

	assert_int_equal(rf_ficm_ring_format(f->mem, f->len, SLOTS), 0);
	assert_int_equal(rf_ficm_attach(&f->c, f->mem, f->len, SLOTS, RF_FICM_CONSUMER), 0);
	f->shm->state = 77;                 /* not a state at all */
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), -EBADMSG);
}

static void test_close_drains_first(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_msg out[SLOTS];
	assert_int_equal(send_seq(&f->p, 0, 3), 3);
	rf_ficm_close(&f->p);
	assert_int_equal(send_seq(&f->p, 3, 1), -EPIPE);
	assert_int_equal(rf_ficm_recv(&f->c, out, 2), 2);
	assert_int_equal(rf_ficm_recv(&f->c, out + 2, 2), 1);
	assert_int_equal(rf_ficm_recv(&f->c, out, 2), -EPIPE);
	assert_int_equal(rf_ficm_wait(&f->c, 0, -1), -EPIPE);
	for (int i = 0; i < 3; i++)
		assert_true(msg_ok(&out[i], (uint32_t)i));
}

static void test_wait_timeout(void **state)
{
	struct ring_fx *f = *state;
	uint64_t t0 = base_now_ns();
	assert_int_equal(rf_ficm_wait(&f->c, 0, 0), -ETIMEDOUT);
	assert_int_equal(rf_ficm_wait(&f->c, 200000, 20000000), -ETIMEDOUT);
	uint64_t dt = base_now_ns() - t0;
	assert_true(dt >= 20000000 && dt < 2000000000);
	assert_int_equal(f->shm->sleeping, 0);
	assert_int_equal(send_seq(&f->p, 0, 2), 2);
	assert_int_equal(rf_ficm_wait(&f->c, 0, 0), 2);
	assert_int_equal(rf_ficm_wait(&f->p, 0, 0), -EINVAL);
}

/* Wait until the consumer says it sleeps (bounded). */
static void await_sleeper(struct rf_ficm_shm *shm)
{
	uint64_t deadline = base_now_ns() + 5000000000ull;
	while (!atomic_load(&shm->sleeping))
		if (base_now_ns() > deadline)
			fail_msg("consumer never went to sleep");
	sleep_ms(2);   /* let it get into futex_wait */
}

struct sleeper {
	struct rf_ficm_ring *r;
	int rc;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	s->rc = rf_ficm_wait(s->r, 0, 5000000000ll);
	return NULL;
}

static void test_sleeper_woken(void **state)
{
	struct ring_fx *f = *state;
	struct sleeper s = { &f->c, 0 };
	pthread_t t;
	uint32_t bell = f->shm->bell;
	assert_int_equal(pthread_create(&t, NULL, sleeper_main, &s), 0);
	await_sleeper(f->shm);
	uint64_t t0 = base_now_ns();
	assert_int_equal(send_seq(&f->p, 0, 1), 1);
	pthread_join(t, NULL);
	assert_int_equal(s.rc, 1);
	assert_true(base_now_ns() - t0 < 1000000000ull);
	assert_int_equal(f->shm->bell, bell + 1);   /* exactly one wake paid */
	assert_int_equal(send_seq(&f->p, 1, 1), 1);
	assert_int_equal(f->shm->bell, bell + 1);   /* not sleeping: no wake */
	/* close wakes a sleeper too */
	struct rf_ficm_msg out[2];
	assert_int_equal(rf_ficm_recv(&f->c, out, 2), 2);
	assert_true(msg_ok(&out[0], 0) && msg_ok(&out[1], 1));
	assert_int_equal(pthread_create(&t, NULL, sleeper_main, &s), 0);
	await_sleeper(f->shm);
	rf_ficm_close(&f->p);
	pthread_join(t, NULL);
	assert_int_equal(s.rc, -EPIPE);
}

/* Across processes: the futex must be a shared one. */
static void test_sleeper_other_process(void **state)
{
	struct ring_fx *f = *state;
	pid_t pid = fork();
	if (pid == 0) {
		struct rf_ficm_msg m;
		int rc = rf_ficm_wait(&f->c, 0, 5000000000ll);
		_exit(rc == 1 && rf_ficm_recv(&f->c, &m, 1) == 1 && msg_ok(&m, 42) ? 0 : 1);
	}
	assert_true(pid > 0);
	await_sleeper(f->shm);
	assert_int_equal(send_seq(&f->p, 42, 1), 1);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A child fills whole batches, then dies halfway through filling one. */
static void test_producer_killed_mid_batch(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_msg out[SLOTS];
	pid_t pid = fork();
	if (pid == 0) {
		if (send_seq(&f->p, 0, 5) != 5 || rf_ficm_reserve(&f->p, 8) != 8)
			_exit(2);
		for (int i = 0; i < 4; i++)
			msg_make(rf_ficm_slot(&f->p, i), 5 + (uint32_t)i);
		memset(rf_ficm_slot(&f->p, 4), 0xff, 32);   /* half a message */
		raise(SIGKILL);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), 5);
	for (int i = 0; i < 5; i++)
		assert_true(msg_ok(&out[i], (uint32_t)i));
	assert_int_equal(rf_ficm_recv(&f->c, out, SLOTS), 0);
}

/* A child streams until it is killed at a random moment; everything the
 * consumer sees, before and after the kill, is whole and in order. */
static void test_producer_killed_streaming(void **state)
{
	struct ring_fx *f = *state;
	struct rf_ficm_msg out[SLOTS];
	pid_t pid = fork();
	if (pid == 0) {
		for (uint32_t sent = 0;;) {
			int n = send_seq(&f->p, sent, 1 + (int)(sent % 5));
			if (n < 0)
				_exit(1);
			sent += (uint32_t)n;
		}
	}
	uint32_t got = 0;
	uint64_t t0 = base_now_ns(), deadline = t0 + 5000000000ull;
	while ((base_now_ns() - t0 < 30000000 || got < 1000) && base_now_ns() < deadline) {
		int k = rf_ficm_recv(&f->c, out, 1 + (int)(got % 7));
		assert_true(k >= 0);
		if (!k)
			sched_yield();
		for (int i = 0; i < k; i++)
			assert_true(msg_ok(&out[i], got++));
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	int k;
	while ((k = rf_ficm_recv(&f->c, out, SLOTS)) > 0 && base_now_ns() < deadline)
		for (int i = 0; i < k; i++)
			assert_true(msg_ok(&out[i], got++));
	assert_int_equal(k, 0);
	assert_true(got > 0);
	/* The tail counts every message, unless the kill fell between a batch's
	 * marks and its tail (a batch here is at most 5). */
	assert_true(got >= f->shm->tail && got - f->shm->tail <= 5);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, ring_fx_setup, ring_fx_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_and_args),
		T(test_geometry_checked),
		T(test_empty_and_full),
		T(test_wraparound),
		T(test_batch_publish),
		T(test_two_threads),
		T(test_corrupt_tail),
		T(test_tail_without_marks),
		T(test_tail_behind_head),
		T(test_corrupt_head),
		T(test_corrupt_length_and_state),
		T(test_close_drains_first),
		T(test_wait_timeout),
		T(test_sleeper_woken),
		T(test_sleeper_other_process),
		T(test_producer_killed_mid_batch),
		T(test_producer_killed_streaming),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
