/*
 * test_ficm_group.c - FICM multicast and broadcast groups
 * (src/ficm/group.c).
 *
 * Covers: sizes and argument checks; joining (a given id, the lowest free
 * one, a taken id, a full group, a region that is not a group or has other
 * geometry); multicast to a subset (only those members get it); broadcast
 * to all joined members, with members not joined reported as missed; the
 * whole-batch-or-nothing rule when one member's ring is full (the others
 * still get it); a member that corrupts its ring is dropped for good
 * without hurting the others; the joined set in the region masked to the
 * group size; leaving and rejoining drops leftovers; members in other
 * processes asleep on their rings all woken by one broadcast.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
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

#define MEMBERS 4
#define SLOTS   8

struct fx {
	void *mem;
	size_t len;
	struct rf_ficm_group g;
	struct rf_ficm_member m[MEMBERS];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->len = rf_ficm_group_size(MEMBERS, SLOTS);
	f->mem = region_new(f->len);
	if (!f->mem || rf_ficm_group_create(&f->g, f->mem, f->len, MEMBERS, SLOTS))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	region_free(f->mem, f->len);
	free(f);
	return 0;
}

static void join_all(struct fx *f)
{
	for (int i = 0; i < MEMBERS; i++)
		assert_int_equal(rf_ficm_group_join(&f->m[i], f->mem, f->len, MEMBERS, SLOTS, i), i);
}

/* Member i's next message must be number seq; or, seq < 0, none. */
static void expect(struct fx *f, int i, int seq)
{
	struct rf_ficm_msg m;
	int n = rf_ficm_recv(&f->m[i].ring, &m, 1);
	if (seq < 0) {
		assert_int_equal(n, 0);
		return;
	}
	assert_int_equal(n, 1);
	assert_true(msg_ok(&m, (uint32_t)seq));
}

static void test_sizes_and_args(void **state)
{
	struct fx *f = *state;
	struct rf_ficm_group g;
	struct rf_ficm_member m;
	assert_int_equal(rf_ficm_group_size(0, 8), 0);
	assert_int_equal(rf_ficm_group_size(65, 8), 0);
	assert_int_equal(rf_ficm_group_size(2, 3), 0);
	assert_true(rf_ficm_group_size(2, 8) > 2 * rf_ficm_ring_size(8));
	assert_int_equal(rf_ficm_group_create(&g, f->mem, f->len - 1, MEMBERS, SLOTS), -EINVAL);
	assert_int_equal(rf_ficm_group_join(&m, f->mem, f->len, MEMBERS, SLOTS, MEMBERS), -EINVAL);
	assert_int_equal(rf_ficm_group_join(&m, f->mem, f->len, MEMBERS - 1, SLOTS, -1), -EINVAL);
	assert_int_equal(rf_ficm_group_join(&m, f->mem, f->len, MEMBERS, SLOTS * 2, -1), -EINVAL);
	char *junk = aligned_alloc(64, f->len);
	memset(junk, 0x5a, f->len);
	assert_int_equal(rf_ficm_group_join(&m, junk, f->len, MEMBERS, SLOTS, -1), -EINVAL);
	free(junk);
	struct rf_ficm_msg msg = { .len = 1 };
	uint64_t missed = 0;
	assert_true(rf_ficm_group_send(&f->g, RF_FICM_ALL, &msg, 0, &missed) == 0);
	assert_true(missed == RF_FICM_ALL);
	assert_true(rf_ficm_group_send(&f->g, RF_FICM_ALL, &msg, SLOTS + 1, &missed) == 0);
	msg.len = RF_FICM_PAYLOAD + 1;
	assert_true(rf_ficm_group_send(&f->g, RF_FICM_ALL, &msg, 1, &missed) == 0);
}

static void test_join(void **state)
{
	struct fx *f = *state;
	struct rf_ficm_member extra;
	assert_int_equal(rf_ficm_group_join(&f->m[2], f->mem, f->len, MEMBERS, SLOTS, 2), 2);
	assert_int_equal(rf_ficm_group_join(&extra, f->mem, f->len, MEMBERS, SLOTS, 2), -EBUSY);
	assert_int_equal(rf_ficm_group_join(&f->m[0], f->mem, f->len, MEMBERS, SLOTS, -1), 0);
	assert_int_equal(rf_ficm_group_join(&f->m[1], f->mem, f->len, MEMBERS, SLOTS, -1), 1);
	assert_int_equal(rf_ficm_group_join(&f->m[3], f->mem, f->len, MEMBERS, SLOTS, -1), 3);
	assert_int_equal(rf_ficm_group_join(&extra, f->mem, f->len, MEMBERS, SLOTS, -1), -EBUSY);
	assert_true(rf_ficm_group_joined(&f->g) == 0xf);
	rf_ficm_group_leave(&f->m[1]);
	assert_true(rf_ficm_group_joined(&f->g) == 0xd);
	assert_int_equal(rf_ficm_group_join(&extra, f->mem, f->len, MEMBERS, SLOTS, -1), 1);
}

static void test_multicast_subset(void **state)
{
	struct fx *f = *state;
	struct rf_ficm_msg m;
	uint64_t missed = 1;
	join_all(f);
	msg_make(&m, 7);
	assert_true(rf_ficm_group_send(&f->g, 0x5, &m, 1, &missed) == 0x5);
	assert_true(missed == 0);
	expect(f, 0, 7);
	expect(f, 1, -1);
	expect(f, 2, 7);
	expect(f, 3, -1);
}

static void test_broadcast(void **state)
{
	struct fx *f = *state;
	struct rf_ficm_msg m[3];
	uint64_t missed = 0;
	for (int i = 0; i < 3; i++)
		msg_make(&m[i], 100 + (uint32_t)i);
	assert_int_equal(rf_ficm_group_join(&f->m[1], f->mem, f->len, MEMBERS, SLOTS, 1), 1);
	assert_int_equal(rf_ficm_group_join(&f->m[3], f->mem, f->len, MEMBERS, SLOTS, 3), 3);
	assert_true(rf_ficm_group_send(&f->g, RF_FICM_ALL, m, 3, &missed) == 0xa);
	assert_true(missed == (RF_FICM_ALL & ~0xaull));   /* 0 and 2 not joined, 4.. none */
	for (int k = 0; k < 3; k++) {
		expect(f, 1, 100 + k);
		expect(f, 3, 100 + k);
	}
	expect(f, 1, -1);
}

/* A member whose ring is too full for the batch misses all of it. */
static void test_full_member_skipped(void **state)
{
	struct fx *f = *state;
	struct rf_ficm_msg m[SLOTS];
	uint64_t missed;
	join_all(f);
	for (int i = 0; i < SLOTS; i++)
		msg_make(&m[i], (uint32_t)i);
	assert_true(rf_ficm_group_send(&f->g, 0x2, m, SLOTS - 2, &missed) == 0x2);
	assert_true(rf_ficm_group_send(&f->g, 0xf, m, 3, &missed) == 0xd);
	assert_true(missed == 0x2);
	expect(f, 0, 0);
	expect(f, 0, 1);
	expect(f, 0, 2);
	expect(f, 0, -1);
	for (int i = 0; i < SLOTS - 2; i++)
		expect(f, 1, i);
	expect(f, 1, -1);                 /* none of the batch of 3 */
}

/* Member 2 scribbles over its head: only member 2 is dropped. */
static void test_corrupt_member_isolated(void **state)
{
	struct fx *f = *state;
	struct rf_ficm_msg m[SLOTS];
	uint64_t missed;
	join_all(f);
	for (int i = 0; i < SLOTS; i++)
		msg_make(&m[i], (uint32_t)i);
	assert_true(rf_ficm_group_send(&f->g, 0xf, m, SLOTS, &missed) == 0xf);
	for (int i = 0; i < MEMBERS; i++) {
		struct rf_ficm_msg out[SLOTS];
		assert_int_equal(rf_ficm_recv(&f->m[i].ring, out, SLOTS), SLOTS);
	}
	atomic_store(&f->m[2].ring.shm->head, 12345);
	/* the sender's cached head says full: it reads the bad one */
	assert_true(rf_ficm_group_send(&f->g, 0xf, m, 1, &missed) == 0xb);
	assert_true(missed == 0x4);
	assert_true(rf_ficm_group_joined(&f->g) == 0xb);   /* dropped for good */
	/* the region's joined set is untrusted: bits past the group are masked */
	struct { _Atomic uint32_t w[4]; _Atomic uint64_t joined; } *h = f->mem;
	atomic_store(&h->joined, ~0ull);
	assert_true(rf_ficm_group_joined(&f->g) == 0xb);
}

static void test_rejoin_drops_leftovers(void **state)
{
	struct fx *f = *state;
	struct rf_ficm_msg m[2];
	uint64_t missed;
	msg_make(&m[0], 1);
	msg_make(&m[1], 2);
	assert_int_equal(rf_ficm_group_join(&f->m[0], f->mem, f->len, MEMBERS, SLOTS, 0), 0);
	assert_true(rf_ficm_group_send(&f->g, 0x1, m, 1, &missed) == 0x1);
	rf_ficm_group_leave(&f->m[0]);
	assert_true(rf_ficm_group_send(&f->g, 0x1, m, 1, &missed) == 0);
	assert_true(missed == 0x1);
	assert_int_equal(rf_ficm_group_join(&f->m[0], f->mem, f->len, MEMBERS, SLOTS, -1), 0);
	expect(f, 0, -1);                 /* message 1 was the former member's */
	assert_true(rf_ficm_group_send(&f->g, 0x1, m + 1, 1, &missed) == 0x1);
	expect(f, 0, 2);
}

/* Members in three processes sleep; one broadcast wakes them all. */
static void test_broadcast_wakes_processes(void **state)
{
	struct fx *f = *state;
	pid_t pid[3];
	for (int i = 0; i < 3; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			struct rf_ficm_member m;
			struct rf_ficm_msg msg;
			if (rf_ficm_group_join(&m, f->mem, f->len, MEMBERS, SLOTS, i) != i)
				_exit(2);
			int rc = rf_ficm_wait(&m.ring, 0, 5000000000ll);
			_exit(rc == 1 && rf_ficm_recv(&m.ring, &msg, 1) == 1 && msg_ok(&msg, 9) ? 0 : 1);
		}
		assert_true(pid[i] > 0);
	}
	/* all three joined and asleep */
	uint64_t deadline = base_now_ns() + 5000000000ull;
	for (int i = 0; i < 3; i++) {
		struct rf_ficm_shm *shm = f->g.ring[i].shm;
		while (!(rf_ficm_group_joined(&f->g) & (1ull << i)) || !atomic_load(&shm->sleeping))
			if (base_now_ns() > deadline)
				fail_msg("member %d never slept", i);
	}
	sleep_ms(2);
	struct rf_ficm_msg m;
	uint64_t missed;
	msg_make(&m, 9);
	assert_true(rf_ficm_group_send(&f->g, RF_FICM_ALL, &m, 1, &missed) == 0x7);
	for (int i = 0; i < 3; i++) {
		int st;
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_sizes_and_args),
		T(test_join),
		T(test_multicast_subset),
		T(test_broadcast),
		T(test_full_member_skipped),
		T(test_corrupt_member_isolated),
		T(test_rejoin_drops_leftovers),
		T(test_broadcast_wakes_processes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
