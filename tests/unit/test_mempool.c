/*
 * test_mempool.c - rfd's pool of pre-faulted memory chunks (src/rfd/mempool.c).
 *
 * Small pools of 2 MiB chunks with hugepages "off" (nr_hugepages is never
 * touched).  Covers: refused chunk sizes; the worker filling every chunk
 * READY in the background (and timing it: a refill rate); take (distinct
 * ids, owner recorded, sealed fds of the chunk size, zeroed memory), taking
 * more than the pool can hold failing with nothing taken, taking before the
 * worker filled anything; give back (the chunk is retired and refilled:
 * never the same memfd twice, by inode; the returned memfd's pages are
 * punched out, so an old owner's kept dup holds no memory and its kept
 * mapping reads zeros, and a pattern it writes there never reaches the
 * next owner; readiness comes back by itself); counts and the JSON of
 * `rfm info`; adopt, and holding an adopted chunk's memfd again (then it
 * is punched out when returned); bad ids; an empty pool; a host that cannot create
 * memory (no descriptors left: the take fails with nothing taken, and
 * works again once it can; fini does not hang).  Waits are bounded (5 s).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
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
#include "base/time.h"

#define CHUNK (2ull << 20)

static struct rfd_pool_counts counts(struct rfd_pool *p)
{
	struct rfd_pool_counts c;
	rfd_pool_counts(p, &c);
	return c;
}

static void assert_counts(struct rfd_pool *p, int ready, int owned, int refilling)
{
	struct rfd_pool_counts c = counts(p);
	if (c.ready != ready || c.owned != owned || c.refilling != refilling || c.huge != 0)
		fail_msg("counts ready %d owned %d refilling %d huge %d, want %d %d %d 0",
			 c.ready, c.owned, c.refilling, c.huge, ready, owned, refilling);
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

/* Take n chunks the way rfd's ops do: ask rfd_pool_ready, and while it
 * says no, wait on ready_fd (at most 5 s in all), never in the take. */
static int take_ready(struct rfd_pool *p, int n, int owner, int *ids)
{
	for (int i = 0; i < 50 && !rfd_pool_ready(p, n); i++) {
		struct pollfd pf = { .fd = p->ready_fd, .events = POLLIN };
		poll(&pf, 1, 100);
	}
	return rfd_pool_take(p, n, owner, ids);
}

/* Wait (at most 5 s) until `n` chunks have been retired since start. */
static void wait_retired(struct rfd_pool *p, uint64_t n)
{
	for (int i = 0; i < 5000; i++) {
		if (counts(p).retired >= n)
			return;
		usleep(1000);
	}
	fail_msg("only %llu chunks retired after 5 s, want %llu",
		 (unsigned long long)counts(p).retired, (unsigned long long)n);
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

static void *map_fd(int fd)
{
	assert_true(fd >= 0);
	void *m = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	return m;
}

static void assert_zero_map(const uint64_t *m, const char *what)
{
	for (size_t i = 0; i < CHUNK / sizeof(*m); i++)
		if (m[i] != 0)
			fail_msg("%s: word %zu is %#llx, not zero", what, i,
				 (unsigned long long)m[i]);
}

static void assert_zero(struct rfd_pool *p, int id)
{
	uint64_t *m = map_fd(rfd_pool_fd(p, id));
	assert_zero_map(m, "chunk");
	munmap(m, CHUNK);
}

static void fill_pattern(struct rfd_pool *p, int id)
{
	void *m = map_fd(rfd_pool_fd(p, id));
	memset(m, 0xa5, CHUNK);
	munmap(m, CHUNK);
}

static ino_t inode_of(int fd)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
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
	struct rfd_pool_counts c = counts(p);
	assert_true(c.refills == 4);
	assert_true(c.refill_mib_s > 0);
	for (int i = 0; i < 4; i++) {
		struct stat st;
		assert_int_equal(fstat(rfd_pool_fd(p, i), &st), 0);
		assert_true((uint64_t)st.st_size == CHUNK);
		/* populated before anyone asks: every page is there */
		assert_true((uint64_t)st.st_blocks * 512 >= CHUNK);
	}
	struct json_object *j = rfd_pool_json(p), *v;
	const char *keys[] = { "chunks", "ready", "owned", "refilling", "hugepage_chunks",
			       "refills", "retired", "refill_mib_s" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!json_object_object_get_ex(j, keys[i], &v))
			fail_msg("rfd_pool_json lacks \"%s\"", keys[i]);
	json_object_object_get_ex(j, "ready", &v);
	assert_int_equal(json_object_get_int(v), 4);
	json_object_put(j);
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
		int fd = rfd_pool_fd(p, ids[i]);
		assert_true(fd >= 0);
		/* no size change, and no write seal that would stop the punch */
		assert_int_equal(fcntl(fd, F_GET_SEALS),
				 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
		assert_int_equal(ftruncate(fd, 2 * CHUNK), -1);
		assert_int_equal(fallocate(fd, 0, CHUNK, CHUNK), -1);
		assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), -1);
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
	assert_true(counts(p).retired == 3);
	assert_true(counts(p).refills == 7);
}

/* Rounds of take-all and give-back-all: every memfd handed out is new
 * (inode numbers of shmem files are not reused while a dup is open; the
 * test keeps one of each, as a hostile old owner would). */
static void test_never_the_same_memfd_twice(void **state)
{
	struct rfd_pool *p = *state;
	enum { ROUNDS = 5 };
	int kept[ROUNDS * 4];
	ino_t seen[ROUNDS * 4];
	int n = 0;
	for (int round = 0; round < ROUNDS; round++) {
		int ids[4];
		assert_int_equal(take_ready(p, 4, 1 + round, ids), 0);
		for (int i = 0; i < 4; i++) {
			kept[n] = dup(rfd_pool_fd(p, ids[i]));
			seen[n] = inode_of(kept[n]);
			for (int k = 0; k < n; k++)
				if (seen[k] == seen[n])
					fail_msg("round %d: chunk %d is memfd inode %lu again",
						 round, ids[i], (unsigned long)seen[n]);
			n++;
		}
		for (int i = 0; i < 4; i++)
			rfd_pool_give_back(p, ids[i]);
	}
	for (int i = 0; i < n; i++)
		close(kept[i]);
}

/* A take the READY chunks cannot serve is refused at once with -EAGAIN,
 * takes nothing, and sets the worker filling: ready_fd tells when to look
 * again (rfd's ops wait on it, the loop never waits on the pool). */
static void test_take_never_waits(void **state)
{
	struct rfd_pool *p = *state;
	int ids[4];
	wait_ready(p, 4);
	assert_int_equal(rfd_pool_take(p, 4, 1, ids), 0);
	p->fill_delay_ms = 300; /* as fault.h's pool_slow: the refill is slow */
	rfd_pool_give_back(p, ids[0]);
	rfd_pool_give_back(p, ids[1]);
	int more[2] = { -1, -1 };
	uint64_t t0 = base_now_ns();
	assert_int_equal(rfd_pool_take(p, 2, 2, more), -EAGAIN);
	assert_false(rfd_pool_ready(p, 2));
	assert_true(base_now_ns() - t0 < 100 * BASE_NS_PER_MS); /* at once */
	assert_int_equal(more[0], -1);
	assert_int_equal(counts(p).owned, 2);
	struct pollfd pf = { .fd = p->ready_fd, .events = POLLIN };
	assert_int_equal(poll(&pf, 1, 5000), 1); /* the worker says when to look */
	assert_int_equal(take_ready(p, 2, 2, more), 0);
	assert_true(base_now_ns() - t0 >= 2 * 300 * BASE_NS_PER_MS);
	p->fill_delay_ms = 0;
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

/* The old owner of a returned chunk kept a dup and a mapping and wrote a
 * pattern: once retired, the memfd holds no memory (punched out), the
 * mapping reads zeros, and writing the pattern again through it (fresh
 * pages, the old owner's) never reaches the chunk's next owner. */
static void test_returned_chunk_is_punched_out(void **state)
{
	struct rfd_pool *p = *state;
	int ids[4];
	wait_ready(p, 4);
	assert_int_equal(rfd_pool_take(p, 4, 1, ids), 0);
	int kept = dup(rfd_pool_fd(p, ids[3]));
	ino_t old = inode_of(kept);
	uint64_t *m = map_fd(kept);
	memset(m, 0xa5, CHUNK);
	rfd_pool_give_back(p, ids[3]);
	wait_retired(p, 1);
	struct stat st;
	assert_int_equal(fstat(kept, &st), 0);
	assert_int_equal(st.st_blocks, 0);
	assert_zero_map(m, "the old owner's kept mapping");
	memset(m, 0xa5, CHUNK);
	int again = -1;
	/* the only chunk not owned: it must be the refilled one */
	assert_int_equal(rfd_pool_take(p, 1, 2, &again), 0);
	assert_int_equal(again, ids[3]);
	assert_int_not_equal(inode_of(rfd_pool_fd(p, again)), old);
	assert_zero(p, again);
	munmap(m, CHUNK);
	close(kept);
}

/* A take right after a give back gets the chunk once it is refilled,
 * never the returned memfd. */
static void test_take_after_refill(void **state)
{
	struct rfd_pool *p = *state;
	int ids[4];
	wait_ready(p, 4);
	assert_int_equal(rfd_pool_take(p, 4, 1, ids), 0);
	for (int round = 0; round < 5; round++) {
		ino_t old = inode_of(rfd_pool_fd(p, ids[0]));
		fill_pattern(p, ids[0]);
		rfd_pool_give_back(p, ids[0]);
		int again = -1;
		assert_int_equal(take_ready(p, 1, 9, &again), 0);
		assert_int_equal(again, ids[0]);
		assert_int_not_equal(inode_of(rfd_pool_fd(p, again)), old);
		assert_zero(p, again);
	}
	assert_counts(p, 0, 4, 0);
}

/* Readiness comes back by itself once everything is returned. */
static void test_refill_restores_readiness(void **state)
{
	struct rfd_pool *p = *state;
	int ids[4];
	assert_int_equal(take_ready(p, 4, 1, ids), 0);
	assert_counts(p, 0, 4, 0);
	for (int i = 0; i < 4; i++)
		rfd_pool_give_back(p, ids[i]);
	wait_ready(p, 4);
	assert_counts(p, 4, 0, 0);
	struct rfd_pool_counts c = counts(p);
	assert_true(c.retired == 4);
	assert_true(c.refills == 8);
	assert_true(c.refill_mib_s > 0);
}

static void test_take_before_worker_filled(void **state)
{
	struct rfd_pool p;
	struct base_err why = { 0 };
	assert_int_equal(rfd_pool_init(&p, 6 * CHUNK, CHUNK, "off", &why), 0);
	int ids[6];
	assert_int_equal(take_ready(&p, 6, 4, ids), 0); /* as the worker fills them */
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
	assert_int_equal(p->chunk[2].fd, -1); /* the subOS holds the only copy */
	assert_counts(p, 3, 1, 0);
	rfd_pool_adopt(p, 2, 12); /* already owned: unchanged */
	assert_int_equal(p->chunk[2].owner, 11);
	rfd_pool_adopt(p, -1, 1);
	rfd_pool_adopt(p, 4, 1);
	rfd_pool_give_back(p, -1);
	rfd_pool_give_back(p, 4);
	rfd_pool_give_back(p, 0); /* not owned: unchanged */
	assert_counts(p, 3, 1, 0);
	assert_int_equal(rfd_pool_fd(p, -1), -1);
	assert_int_equal(rfd_pool_fd(p, 4), -1);
	rfd_pool_give_back(p, 2);
	wait_ready(p, 4);
	assert_counts(p, 4, 0, 0);
	assert_true(counts(p).retired == 0); /* rfd held no memfd of it */
}

/* After a restart rfd finds an adopted chunk's memfd in its owner and
 * holds it again: returning the chunk then punches it out. */
static void test_hold_adopted(void **state)
{
	struct rfd_pool *p = *state;
	wait_ready(p, 4);
	int owner_fd = memfd_create("rf-chunk", MFD_CLOEXEC); /* the subOS's */
	assert_true(owner_fd >= 0);
	assert_int_equal(ftruncate(owner_fd, (off_t)CHUNK), 0);
	void *m = map_fd(owner_fd);
	memset(m, 0xa5, CHUNK);
	rfd_pool_adopt(p, 1, 5);
	assert_true(rfd_pool_inode(p, 1) == 0);
	rfd_pool_hold(p, 1, dup(owner_fd));
	assert_true(rfd_pool_inode(p, 1) == (uint64_t)inode_of(owner_fd));
	rfd_pool_hold(p, 1, dup(owner_fd)); /* held already: closed, unchanged */
	rfd_pool_hold(p, 0, dup(owner_fd)); /* not adopted: closed, unchanged */
	assert_int_not_equal(inode_of(rfd_pool_fd(p, 0)), inode_of(owner_fd));
	rfd_pool_give_back(p, 1);
	wait_retired(p, 1);
	struct stat st;
	assert_int_equal(fstat(owner_fd, &st), 0);
	assert_int_equal(st.st_blocks, 0);
	assert_zero_map(m, "the adopted owner's mapping");
	munmap(m, CHUNK);
	close(owner_fd);
	wait_ready(p, 4);
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
	int taken = rc == 0 ? take_ready(&p, 2, 3, ids) : 1;
	struct rfd_pool_counts c = rc == 0 ? counts(&p) : (struct rfd_pool_counts){ 0 };
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);

	assert_int_equal(rc, 0);
	assert_int_equal(taken, -EMFILE);
	assert_int_equal(c.ready + c.owned, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(p.chunk[i].owner, -1);
	/* Descriptors again: the next look asks the worker to fill once more. */
	assert_int_equal(take_ready(&p, 4, 3, ids), 0);
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
		cmocka_unit_test_setup_teardown(test_take_never_waits, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_take_too_many_takes_nothing, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_never_the_same_memfd_twice, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_returned_chunk_is_punched_out, setup4,
						teardown),
		cmocka_unit_test_setup_teardown(test_take_after_refill, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_refill_restores_readiness, setup4, teardown),
		cmocka_unit_test(test_take_before_worker_filled),
		cmocka_unit_test_setup_teardown(test_adopt_and_bad_ids, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_hold_adopted, setup4, teardown),
		cmocka_unit_test(test_empty_pool),
		cmocka_unit_test(test_fill_failure_takes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
