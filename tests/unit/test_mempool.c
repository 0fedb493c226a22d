/*
 * test_mempool.c - rfd's pool of pre-faulted memory chunks (src/rfd/mempool.c).
 *
 * Small pools of 2 MiB chunks with hugepages "off" (nr_hugepages is never
 * touched).  Covers: refused chunk sizes; the worker filling every chunk
 * READY in the background; take (distinct ids, owner recorded, fds of the
 * chunk size, zeroed memory), taking more than exist failing with nothing
 * taken, taking before the worker filled anything; give back (the chunk is
 * scrubbed and READY again, zeroed: a pattern written through rfd_pool_fd is
 * gone on the next take, whether taken after it is READY or at once while
 * it is still being scrubbed); counts; adopt; bad ids; an empty pool; a
 * host that cannot create memory (no descriptors left: the take fails
 * with nothing taken, and works again once it can; fini does not hang).
 * Waits are bounded (5 s).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "rfd/mempool.h"

#define CHUNK (2ull << 20)

struct counts {
	int ready, owned, scrubbing, huge;
};

static struct counts counts(struct rfd_pool *p)
{
	struct counts c;
	rfd_pool_counts(p, &c.ready, &c.owned, &c.scrubbing, &c.huge);
	return c;
}

static void assert_counts(struct rfd_pool *p, int ready, int owned, int scrubbing)
{
	struct counts c = counts(p);
	if (c.ready != ready || c.owned != owned || c.scrubbing != scrubbing || c.huge != 0)
		fail_msg("counts ready %d owned %d scrubbing %d huge %d, want %d %d %d 0",
			 c.ready, c.owned, c.scrubbing, c.huge, ready, owned, scrubbing);
}

/* Wait (at most 5 s) until `ready` chunks are READY. */
static void wait_ready(struct rfd_pool *p, int ready)
{
	for (int i = 0; i < 5000; i++) {
		if (counts(p).ready >= ready)
			return;
		usleep(1000);
	}
	fail_msg("only %d chunks READY after 5 s, want %d", counts(p).ready, ready);
}

static void wait_state(struct rfd_pool *p, int id, enum rfd_chunk_state st)
{
	for (int i = 0; i < 5000; i++) {
		pthread_mutex_lock(&p->lock);
		enum rfd_chunk_state now = p->chunk[id].state;
		pthread_mutex_unlock(&p->lock);
		if (now == st)
			return;
		usleep(1000);
	}
	fail_msg("chunk %d never reached state %d", id, (int)st);
}

static int setup4(void **state)
{
	struct rfd_pool *p = calloc(1, sizeof(*p));
	struct base_err why = { 0 };
	if (!p || rfd_pool_init(p, 4 * CHUNK, CHUNK, "off", &why) != 0) {
		fprintf(stderr, "rfd_pool_init: %s\n", why.msg);
		free(p);
		return -1;
	}
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct rfd_pool *p = *state;
	rfd_pool_fini(p);
	free(p);
	return 0;
}

static void *map_chunk(struct rfd_pool *p, int id)
{
	int fd = rfd_pool_fd(p, id);
	assert_true(fd >= 0);
	void *m = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	return m;
}

static void assert_zero(struct rfd_pool *p, int id)
{
	const uint64_t *m = map_chunk(p, id);
	for (size_t i = 0; i < CHUNK / sizeof(*m); i++)
		if (m[i] != 0)
			fail_msg("chunk %d: word %zu is %#llx, not zero", id, i,
				 (unsigned long long)m[i]);
	munmap((void *)m, CHUNK);
}

static void fill_pattern(struct rfd_pool *p, int id)
{
	void *m = map_chunk(p, id);
	memset(m, 0xa5, CHUNK);
	munmap(m, CHUNK);
}

static void test_bad_chunk_size(void **state)
{
	struct rfd_pool p;
	struct base_err why = { 0 };
	assert_int_equal(rfd_pool_init(&p, 8 * CHUNK, 1ull << 20, "off", &why), -1);
	assert_true(strlen(why.msg) > 0);
	why.msg[0] = '\0';
	assert_int_equal(rfd_pool_init(&p, 8 * CHUNK, 3ull << 20, "off", &why), -1);
	assert_true(strlen(why.msg) > 0);
	assert_int_equal(rfd_pool_init(&p, 8 * CHUNK, 0, "off", &why), -1);
	rfd_pool_fini(&p); /* harmless on a pool that never started */
}

static void test_init_fills_ready(void **state)
{
	struct rfd_pool *p = *state;
	assert_int_equal(p->nchunks, 4);
	assert_true(p->chunk_size == CHUNK);
	assert_false(p->want_huge);
	assert_int_equal(p->huge_added, 0);
	wait_ready(p, 4);
	assert_counts(p, 4, 0, 0);
	for (int i = 0; i < 4; i++) {
		struct stat st;
		assert_int_equal(fstat(rfd_pool_fd(p, i), &st), 0);
		assert_true((uint64_t)st.st_size == CHUNK);
	}
}

static void test_take_and_give_back(void **state)
{
	struct rfd_pool *p = *state;
	wait_ready(p, 4);
	int ids[4] = { -1, -1, -1, -1 };
	assert_int_equal(rfd_pool_take(p, 3, 7, ids), 0);
	for (int i = 0; i < 3; i++) {
		assert_true(ids[i] >= 0 && ids[i] < 4);
		for (int k = 0; k < i; k++)
			assert_int_not_equal(ids[i], ids[k]);
		assert_int_equal(p->chunk[ids[i]].state, RF_CHUNK_OWNED);
		assert_int_equal(p->chunk[ids[i]].owner, 7);
		assert_true(rfd_pool_fd(p, ids[i]) >= 0);
		assert_zero(p, ids[i]);
	}
	assert_int_equal(ids[3], -1);
	assert_counts(p, 1, 3, 0);

	rfd_pool_give_back(p, ids[1]);
	wait_ready(p, 2);
	assert_counts(p, 2, 2, 0);
	assert_int_equal(p->chunk[ids[1]].owner, -1);
	rfd_pool_give_back(p, ids[0]);
	rfd_pool_give_back(p, ids[2]);
	wait_ready(p, 4);
	assert_counts(p, 4, 0, 0);
}

static void test_take_too_many_takes_nothing(void **state)
{
	struct rfd_pool *p = *state;
	wait_ready(p, 4);
	int ids[8];
	assert_int_equal(rfd_pool_take(p, 1, 3, ids), 0);
	int first = ids[0];
	assert_counts(p, 3, 1, 0);
	memset(ids, 0xff, sizeof(ids));
	assert_int_equal(rfd_pool_take(p, 4, 5, ids), -ENOMEM);
	assert_counts(p, 3, 1, 0);
	for (int i = 0; i < 4; i++)
		if (i != first) {
			assert_int_equal(p->chunk[i].state, RF_CHUNK_READY);
			assert_int_equal(p->chunk[i].owner, -1);
		}
	assert_int_equal(p->chunk[first].owner, 3);
	assert_int_equal(rfd_pool_take(p, 8, 5, ids), -ENOMEM);
	assert_counts(p, 3, 1, 0);
	/* exactly what is left still works */
	assert_int_equal(rfd_pool_take(p, 3, 5, ids), 0);
	assert_counts(p, 0, 4, 0);
	assert_int_equal(rfd_pool_take(p, 1, 5, ids), -ENOMEM);
	assert_int_equal(rfd_pool_take(p, 0, 5, ids), 0);
	assert_counts(p, 0, 4, 0);
}

/* All other chunks owned, so the next take must get the returned one. */
static int take_all_but_one(struct rfd_pool *p, int *others)
{
	int ids[4];
	wait_ready(p, 4);
	assert_int_equal(rfd_pool_take(p, 4, 1, ids), 0);
	for (int i = 0; i < 3; i++)
		others[i] = ids[i];
	return ids[3];
}

static void test_given_back_is_zeroed_after_ready(void **state)
{
	struct rfd_pool *p = *state;
	int others[3];
	int id = take_all_but_one(p, others);
	fill_pattern(p, id);
	rfd_pool_give_back(p, id);
	wait_state(p, id, RF_CHUNK_READY);
	assert_counts(p, 1, 3, 0);
	int again = -1;
	assert_int_equal(rfd_pool_take(p, 1, 2, &again), 0);
	assert_int_equal(again, id);
	assert_int_equal(p->chunk[id].owner, 2);
	assert_zero(p, id);
}

static void test_given_back_is_zeroed_when_taken_at_once(void **state)
{
	struct rfd_pool *p = *state;
	int others[3];
	int id = take_all_but_one(p, others);
	for (int round = 0; round < 5; round++) {
		fill_pattern(p, id);
		rfd_pool_give_back(p, id);
		int again = -1;
		/* waits for the scrub: never hands out dirty memory */
		assert_int_equal(rfd_pool_take(p, 1, 9, &again), 0);
		assert_int_equal(again, id);
		assert_zero(p, id);
	}
	assert_counts(p, 0, 4, 0);
}

static void test_take_before_worker_filled(void **state)
{
	struct rfd_pool p;
	struct base_err why = { 0 };
	assert_int_equal(rfd_pool_init(&p, 6 * CHUNK, CHUNK, "off", &why), 0);
	int ids[6];
	assert_int_equal(rfd_pool_take(&p, 6, 4, ids), 0); /* fills or waits as needed */
	assert_counts(&p, 0, 6, 0);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(p.chunk[ids[i]].owner, 4);
		assert_zero(&p, ids[i]);
	}
	rfd_pool_fini(&p);
}

static void test_adopt_and_bad_ids(void **state)
{
	struct rfd_pool *p = *state;
	wait_ready(p, 4);
	rfd_pool_adopt(p, 2, 11);
	assert_int_equal(p->chunk[2].state, RF_CHUNK_OWNED);
	assert_int_equal(p->chunk[2].owner, 11);
	assert_null(p->chunk[2].map);   /* the subOS holds the only copy */
	assert_int_equal(p->chunk[2].fd, -1);
	assert_counts(p, 3, 1, 0);
	rfd_pool_adopt(p, 2, 12); /* already owned: unchanged */
	assert_int_equal(p->chunk[2].owner, 11);
	rfd_pool_adopt(p, -1, 1);
	rfd_pool_adopt(p, 4, 1);
	rfd_pool_give_back(p, -1);
	rfd_pool_give_back(p, 4);
	assert_counts(p, 3, 1, 0);
	assert_int_equal(rfd_pool_fd(p, -1), -1);
	assert_int_equal(rfd_pool_fd(p, 4), -1);
	rfd_pool_give_back(p, 2);
	wait_ready(p, 4);
	assert_counts(p, 4, 0, 0);
}

static void test_empty_pool(void **state)
{
	struct rfd_pool p;
	struct base_err why = { 0 };
	assert_int_equal(rfd_pool_init(&p, CHUNK - 1, CHUNK, "off", &why), 0);
	assert_int_equal(p.nchunks, 0);
	int id;
	assert_int_equal(rfd_pool_take(&p, 1, 1, &id), -ENOMEM);
	assert_counts(&p, 0, 0, 0);
	rfd_pool_fini(&p);
}

static void test_fill_failure_takes_nothing(void **state)
{
	struct rfd_pool p;
	struct base_err why = { 0 };
	struct rlimit old, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(probe >= 0);
	close(probe);
	low = old;
	low.rlim_cur = (rlim_t)probe; /* no new descriptor can be made */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);

	int rc = rfd_pool_init(&p, 4 * CHUNK, CHUNK, "off", &why);
	int ids[4] = { -1, -1, -1, -1 };
	int taken = rc == 0 ? rfd_pool_take(&p, 2, 3, ids) : 1;
	struct counts c = rc == 0 ? counts(&p) : (struct counts){ 0 };
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);

	assert_int_equal(rc, 0);
	assert_int_equal(taken, -EMFILE);
	assert_int_equal(c.ready + c.owned + c.scrubbing, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(p.chunk[i].owner, -1);
	/* Descriptors again: the take fills on demand. */
	assert_int_equal(rfd_pool_take(&p, 4, 3, ids), 0);
	assert_counts(&p, 0, 4, 0);
	for (int i = 0; i < 4; i++)
		assert_zero(&p, ids[i]);
	rfd_pool_fini(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_chunk_size),
		cmocka_unit_test_setup_teardown(test_init_fills_ready, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_take_and_give_back, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_take_too_many_takes_nothing, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_given_back_is_zeroed_after_ready, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_given_back_is_zeroed_when_taken_at_once, setup4,
						teardown),
		cmocka_unit_test(test_take_before_worker_filled),
		cmocka_unit_test_setup_teardown(test_adopt_and_bad_ids, setup4, teardown),
		cmocka_unit_test(test_empty_pool),
		cmocka_unit_test(test_fill_failure_takes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
