/*
 * test_check.c - the partition table's invariant checker (src/rfd/check.c).
 *
 * A made-up rfd: CPUs 0-3, 1-3 managed, a pool of 4 chunks (no worker),
 * two live subOSes "a" (core 1, chunk 0) and "b" (starting: core 2,
 * chunk 1) and an exited one (core 3 free).  Covers: that table
 * passes; each invariant broken in turn is caught with a message naming
 * it: a core owned by a missing subOS, by a live subOS whose record lacks
 * it, a subOS listing a core the table gives to someone else, a chunk the
 * pool gives to another owner, a chunk held twice, a chunk owned but held
 * by nobody, memory accounting off by a chunk.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cpuset_helpers.h"

#include "rfd/rfd.h"
#include "rfd/check.h"
#include "rfd/subos.h"

#define CHUNK (64ull << 20)

static struct rfd_subos *add(struct rfd *d, int id, const char *name, const char *cpus,
			     int chunk, enum rfd_subos_life life)
{
	struct rfd_subos *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->id = id;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->life = life;
	s->cpus = set_of(cpus);
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		s->region_chunk[i] = -1;
	d->subos[id - 1] = s;
	if (life == RF_LIFE_EXITED)
		return s;
	rfd_ptable_assign(&d->pt, id, &s->cpus);
	s->region_chunk[0] = chunk;
	s->mem = CHUNK;
	d->pool.chunk[chunk].state = RF_CHUNK_OWNED;
	d->pool.chunk[chunk].owner = id;
	rfd_ptable_mem_reserve(&d->pt, CHUNK);
	return s;
}

static int setup(void **state)
{
	struct rfd *d = calloc(1, sizeof(*d));
	struct base_cpuset online = set_of("0-3"), managed = set_of("1-3");
	assert_non_null(d);
	rfd_ptable_init(&d->pt, &online, &managed, NULL, 0, 4 * CHUNK);
	d->pool.chunk_size = CHUNK;
	d->pool.nchunks = 4;
	d->pool.chunk = calloc(4, sizeof(*d->pool.chunk));
	for (int i = 0; i < 4; i++)
		d->pool.chunk[i] = (struct rfd_chunk){ .fd = -1, .state = RF_CHUNK_READY, .owner = -1 };
	pthread_mutex_init(&d->pool.lock, NULL);
	add(d, 1, "a", "1", 0, RF_LIFE_RUNNING);
	add(d, 2, "b", "2", 1, RF_LIFE_STARTING);
	add(d, 3, "gone", "3", -1, RF_LIFE_EXITED);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct rfd *d = *state;
	for (int i = 0; i < 3; i++)
		free(d->subos[i]);
	free(d->pool.chunk);
	pthread_mutex_destroy(&d->pool.lock);
	free(d);
	return 0;
}

static void expect_breach(struct rfd *d, const char *words)
{
	char why[256] = "";
	assert_int_equal(rfd_check_invariants(d, why, sizeof(why)), -1);
	if (!strstr(why, words))
		fail_msg("breach \"%s\" does not say \"%s\"", why, words);
}

static void test_sound(void **state)
{
	char why[256] = "";
	assert_int_equal(rfd_check_invariants(*state, why, sizeof(why)), 0);
}

static void test_core_owner_missing(void **state)
{
	struct rfd *d = *state;
	d->pt.owner[3] = 3; /* the exited subOS */
	expect_breach(d, "core 3 is owned by 3, which is no live subOS");
}

static void test_core_not_in_record(void **state)
{
	struct rfd *d = *state;
	d->pt.owner[3] = 1;
	expect_breach(d, "core 3 is owned by \"a\", whose record lacks it");
}

static void test_record_core_elsewhere(void **state)
{
	struct rfd *d = *state;
	d->subos[0]->cpus = set_of("1,3");
	expect_breach(d, "\"a\" lists core 3");
}

static void test_chunk_other_owner(void **state)
{
	struct rfd *d = *state;
	d->pool.chunk[0].owner = 2;
	expect_breach(d, "\"a\" holds chunk 0, which the pool gives to 2");
}

static void test_chunk_held_twice(void **state)
{
	struct rfd *d = *state;
	d->subos[0]->region_chunk[1] = 0;
	expect_breach(d, "chunk 0 is held 2 times");
}

static void test_chunk_held_by_nobody(void **state)
{
	struct rfd *d = *state;
	d->pool.chunk[2].state = RF_CHUNK_OWNED;
	d->pool.chunk[2].owner = 1;
	expect_breach(d, "chunk 2 is owned by 1 but held by nobody");
}

static void test_memory_accounting(void **state)
{
	struct rfd *d = *state;
	d->pt.mem_used += CHUNK;
	expect_breach(d, "the table counts");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_core_owner_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_core_not_in_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_core_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunk_other_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunk_held_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunk_held_by_nobody, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_accounting, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
