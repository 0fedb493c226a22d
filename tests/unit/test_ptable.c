/*
 * test_ptable.c - the partition table (src/rfd/ptable.c).
 *
 * A made-up machine: CPUs 0-7 online, rfd manages 1-7 (the host keeps 0).
 * Covers: init (ownership, the pick order filtered to managed CPUs); every
 * managed core having exactly one owner through assign/release; check_set
 * refusals (unknown core, unmanaged core, another owner's core, empty set)
 * with bad_cpu/holder filled; pick (exact count, keeping held cores,
 * preferring cores near them in the given topology order rather than in
 * numeric order, BASE_E_CORES_BUSY, keeping the first held cores when
 * shrinking, never changing the table); memory reservations (refused
 * beyond the limit with mem_used unchanged, release clamped at zero).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cpuset_helpers.h"

#include "rfd/ptable.h"

#define MEM (1ull << 30)

/* 0-7 online, 1-7 managed; `order` may be NULL (numeric). */
static struct rfd_ptable *new_table(const int *order, int norder)
{
	struct rfd_ptable *pt = malloc(sizeof(*pt));
	assert_non_null(pt);
	struct base_cpuset online = set_of("0-7"), managed = set_of("1-7");
	rfd_ptable_init(pt, &online, &managed, order, norder, MEM);
	return pt;
}

static void assert_owned(const struct rfd_ptable *pt, int owner, const char *want)
{
	struct base_cpuset s;
	rfd_ptable_owned(pt, owner, &s);
	assert_set(&s, want);
}

/* Every managed CPU belongs to exactly one of host, owners[]. */
static void assert_one_owner_each(const struct rfd_ptable *pt, const int *owners, int n)
{
	struct base_cpuset all;
	rfd_ptable_free_cpus(pt, &all);
	for (int i = 0; i < n; i++) {
		struct base_cpuset s;
		rfd_ptable_owned(pt, owners[i], &s);
		assert_false(base_cpuset_intersects(&all, &s));
		base_cpuset_or(&all, &s);
	}
	assert_true(base_cpuset_equal(&all, &pt->managed));
	assert_int_equal(pt->owner[0], RF_OWNER_NONE);
}

static void test_init(void **state)
{
	int order[] = { 0, 4, 5, 9, 6, 7, 1, 2, 3 }; /* 0 unmanaged, 9 offline */
	struct rfd_ptable *pt = new_table(order, 9);
	assert_int_equal(pt->ncpus, 8);
	assert_int_equal(pt->owner[0], RF_OWNER_NONE);
	for (int c = 1; c <= 7; c++)
		assert_int_equal(pt->owner[c], RF_OWNER_HOST);
	assert_int_equal(pt->owner[8], RF_OWNER_NONE);
	assert_int_equal(pt->norder, 7);
	int want[] = { 4, 5, 6, 7, 1, 2, 3 };
	assert_memory_equal(pt->order, want, sizeof(want));
	assert_true(pt->mem_managed == MEM);
	assert_true(pt->mem_used == 0);
	struct base_cpuset f;
	rfd_ptable_free_cpus(pt, &f);
	assert_set(&f, "1-7");
	free(pt);

	/* No order: numeric; managed is cut to what is online. */
	pt = malloc(sizeof(*pt));
	struct base_cpuset online = set_of("0-3"), managed = set_of("2-9");
	rfd_ptable_init(pt, &online, &managed, NULL, 0, MEM);
	assert_set(&pt->managed, "2-3");
	assert_int_equal(pt->ncpus, 4);
	assert_int_equal(pt->norder, 2);
	assert_int_equal(pt->order[0], 2);
	assert_int_equal(pt->order[1], 3);
	free(pt);
}

static void test_assign_release_one_owner(void **state)
{
	struct rfd_ptable *pt = new_table(NULL, 0);
	int owners[] = { 1, 2 };
	struct base_cpuset a = set_of("1-2"), b = set_of("3,7");
	rfd_ptable_assign(pt, 1, &a);
	rfd_ptable_assign(pt, 2, &b);
	assert_owned(pt, 1, "1-2");
	assert_owned(pt, 2, "3,7");
	assert_owned(pt, RF_OWNER_HOST, "4-6");
	assert_one_owner_each(pt, owners, 2);

	/* Reassigning replaces: 1 gives 1 back and takes 4. */
	struct base_cpuset a2 = set_of("2,4");
	rfd_ptable_assign(pt, 1, &a2);
	assert_owned(pt, 1, "2,4");
	assert_owned(pt, RF_OWNER_HOST, "1,5-6");
	assert_one_owner_each(pt, owners, 2);

	rfd_ptable_release(pt, 1);
	assert_owned(pt, 1, "");
	assert_owned(pt, 2, "3,7");
	assert_owned(pt, RF_OWNER_HOST, "1-2,4-6");
	assert_one_owner_each(pt, owners, 2);

	rfd_ptable_release(pt, 2);
	assert_owned(pt, RF_OWNER_HOST, "1-7");
	assert_int_equal(pt->owner[0], RF_OWNER_NONE);
	free(pt);
}

static void test_check_set_errors(void **state)
{
	struct rfd_ptable *pt = new_table(NULL, 0);
	struct base_cpuset b = set_of("3-4");
	rfd_ptable_assign(pt, 2, &b);
	int bad, holder;

	struct base_cpuset w = set_of("1,9");
	bad = holder = -99;
	assert_int_equal(rfd_ptable_check_set(pt, 1, &w, &bad, &holder), BASE_E_UNKNOWN_CORE);
	assert_int_equal(bad, 9);

	w = set_of("0-1");
	bad = -99;
	assert_int_equal(rfd_ptable_check_set(pt, 1, &w, &bad, &holder), BASE_E_UNKNOWN_CORE);
	assert_int_equal(bad, 0);

	w = set_of("1023");
	assert_int_equal(rfd_ptable_check_set(pt, 1, &w, &bad, &holder), BASE_E_UNKNOWN_CORE);
	assert_int_equal(bad, 1023);

	w = set_of("1-2,4");
	bad = holder = -99;
	assert_int_equal(rfd_ptable_check_set(pt, 1, &w, &bad, &holder), BASE_E_CORES_BUSY);
	assert_int_equal(bad, 4);
	assert_int_equal(holder, 2);

	/* Its own cores and free ones are fine. */
	w = set_of("3-6");
	assert_int_equal(rfd_ptable_check_set(pt, 2, &w, &bad, &holder), BASE_E_OK);
	w = set_of("1-2,5-7");
	assert_int_equal(rfd_ptable_check_set(pt, 1, &w, &bad, &holder), BASE_E_OK);

	w = set_of("");
	assert_int_equal(rfd_ptable_check_set(pt, 1, &w, &bad, &holder), BASE_E_BAD_REQUEST);

	/* Checking changes nothing. */
	assert_owned(pt, 2, "3-4");
	assert_owned(pt, RF_OWNER_HOST, "1-2,5-7");
	free(pt);
}

static void test_pick_fresh_follows_order(void **state)
{
	int order[] = { 4, 5, 6, 7, 1, 2, 3 };
	struct rfd_ptable *pt = new_table(order, 7);
	struct base_cpuset out;
	assert_int_equal(rfd_ptable_pick(pt, 1, 3, &out), BASE_E_OK);
	assert_set(&out, "4-6");
	assert_int_equal(rfd_ptable_pick(pt, 1, 7, &out), BASE_E_OK);
	assert_set(&out, "1-7");
	free(pt);
}

static void test_pick_prefers_near_in_order(void **state)
{
	/* Topology order differs from numeric order: 7's neighbours are 3 and 4. */
	int order[] = { 1, 5, 2, 6, 3, 7, 4 };
	struct rfd_ptable *pt = new_table(order, 7);
	struct base_cpuset mine = set_of("7"), theirs = set_of("3");
	rfd_ptable_assign(pt, 1, &mine);
	rfd_ptable_assign(pt, 2, &theirs);
	struct base_cpuset out;
	assert_int_equal(rfd_ptable_pick(pt, 1, 2, &out), BASE_E_OK);
	assert_set(&out, "4,7"); /* not 6, the numeric neighbour; 3 is busy */
	assert_int_equal(rfd_ptable_pick(pt, 1, 3, &out), BASE_E_OK);
	assert_set(&out, "4,6-7"); /* then 6 (two away from 7 in order) */
	assert_false(base_cpuset_has(&out, 3));
	free(pt);
}

static void test_pick_keeps_held_cores(void **state)
{
	struct rfd_ptable *pt = new_table(NULL, 0);
	struct base_cpuset mine = set_of("5-6");
	rfd_ptable_assign(pt, 1, &mine);
	struct base_cpuset out;
	assert_int_equal(rfd_ptable_pick(pt, 1, 4, &out), BASE_E_OK);
	assert_int_equal(base_cpuset_count(&out), 4);
	assert_true(base_cpuset_subset(&mine, &out));
	assert_set(&out, "3-6"); /* 4 then 3: ties go to the first in order */
	/* Same count: exactly what it holds. */
	assert_int_equal(rfd_ptable_pick(pt, 1, 2, &out), BASE_E_OK);
	assert_set(&out, "5-6");
	free(pt);
}

static void test_pick_shrink_keeps_existing(void **state)
{
	int order[] = { 7, 6, 5, 4, 3, 2, 1 };
	struct rfd_ptable *pt = new_table(order, 7);
	struct base_cpuset mine = set_of("2-5");
	rfd_ptable_assign(pt, 1, &mine);
	struct base_cpuset out;
	assert_int_equal(rfd_ptable_pick(pt, 1, 2, &out), BASE_E_OK);
	assert_set(&out, "4-5"); /* the first held ones in pick order */
	assert_true(base_cpuset_subset(&out, &mine));
	assert_int_equal(rfd_ptable_pick(pt, 1, 1, &out), BASE_E_OK);
	assert_set(&out, "5");
	free(pt);
}

static void test_pick_not_enough_changes_nothing(void **state)
{
	struct rfd_ptable *pt = new_table(NULL, 0);
	struct base_cpuset a = set_of("1-3"), b = set_of("6-7");
	rfd_ptable_assign(pt, 1, &a);
	rfd_ptable_assign(pt, 2, &b);
	struct rfd_ptable *copy = malloc(sizeof(*copy));
	memcpy(copy, pt, sizeof(*pt));
	struct base_cpuset out;
	/* 2 holds 2, 2 are free: 4 is possible, 5 is not. */
	assert_int_equal(rfd_ptable_pick(pt, 2, 4, &out), BASE_E_OK);
	assert_set(&out, "4-7");
	assert_int_equal(rfd_ptable_pick(pt, 2, 5, &out), BASE_E_CORES_BUSY);
	assert_int_equal(rfd_ptable_pick(pt, 3, 3, &out), BASE_E_CORES_BUSY);
	assert_int_equal(rfd_ptable_pick(pt, 3, 2, &out), BASE_E_OK);
	assert_set(&out, "4-5");
	assert_int_equal(rfd_ptable_pick(pt, 3, 0, &out), BASE_E_BAD_REQUEST);
	assert_int_equal(rfd_ptable_pick(pt, 3, -1, &out), BASE_E_BAD_REQUEST);
	assert_int_equal(rfd_ptable_pick(pt, 1, 100, &out), BASE_E_CORES_BUSY);
	assert_memory_equal(copy, pt, sizeof(*pt));
	free(copy);
	free(pt);
}

static void test_pick_then_assign(void **state)
{
	struct rfd_ptable *pt = new_table(NULL, 0);
	int owners[] = { 1, 2, 3 };
	struct base_cpuset out;
	int bad, holder;
	for (int o = 1; o <= 3; o++) {
		assert_int_equal(rfd_ptable_pick(pt, o, 2, &out), BASE_E_OK);
		assert_int_equal(rfd_ptable_check_set(pt, o, &out, &bad, &holder), BASE_E_OK);
		rfd_ptable_assign(pt, o, &out);
		assert_one_owner_each(pt, owners, 3);
	}
	assert_owned(pt, 1, "1-2");
	assert_owned(pt, 2, "3-4");
	assert_owned(pt, 3, "5-6");
	assert_owned(pt, RF_OWNER_HOST, "7");
	assert_int_equal(rfd_ptable_pick(pt, 1, 4, &out), BASE_E_CORES_BUSY);
	rfd_ptable_release(pt, 2);
	assert_int_equal(rfd_ptable_pick(pt, 1, 4, &out), BASE_E_OK);
	assert_set(&out, "1-4");
	free(pt);
}

static void test_mem(void **state)
{
	struct rfd_ptable *pt = new_table(NULL, 0);
	assert_int_equal(rfd_ptable_mem_reserve(pt, 600ull << 20), BASE_E_OK);
	assert_true(pt->mem_used == 600ull << 20);
	assert_int_equal(rfd_ptable_mem_reserve(pt, 500ull << 20), BASE_E_MEM_UNAVAILABLE);
	assert_true(pt->mem_used == 600ull << 20);
	assert_int_equal(rfd_ptable_mem_reserve(pt, UINT64_MAX), BASE_E_MEM_UNAVAILABLE);
	assert_true(pt->mem_used == 600ull << 20);
	assert_int_equal(rfd_ptable_mem_reserve(pt, 424ull << 20), BASE_E_OK);
	assert_true(pt->mem_used == MEM);
	assert_int_equal(rfd_ptable_mem_reserve(pt, 1), BASE_E_MEM_UNAVAILABLE);
	assert_int_equal(rfd_ptable_mem_reserve(pt, 0), BASE_E_OK);
	assert_true(pt->mem_used == MEM);
	rfd_ptable_mem_release(pt, 300ull << 20);
	assert_true(pt->mem_used == MEM - (300ull << 20));
	rfd_ptable_mem_release(pt, 5 * MEM); /* clamped, never wraps */
	assert_true(pt->mem_used == 0);
	assert_int_equal(rfd_ptable_mem_reserve(pt, MEM), BASE_E_OK);
	free(pt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_assign_release_one_owner),
		cmocka_unit_test(test_check_set_errors),
		cmocka_unit_test(test_pick_fresh_follows_order),
		cmocka_unit_test(test_pick_prefers_near_in_order),
		cmocka_unit_test(test_pick_keeps_held_cores),
		cmocka_unit_test(test_pick_shrink_keeps_existing),
		cmocka_unit_test(test_pick_not_enough_changes_nothing),
		cmocka_unit_test(test_pick_then_assign),
		cmocka_unit_test(test_mem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
