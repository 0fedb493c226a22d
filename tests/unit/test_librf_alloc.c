/*
 * test_librf_alloc.c - the per-core allocator: every size class, large
 * and huge blocks, realloc/calloc, frees across cores, exhaustion, and the
 * foreign-thread path.  (Region add/reclaim, including a busy region, is in
 * test_librf_reconfig.c, where the test can play rfd.)
 */
#include "librf_harness.h"
#include <string.h>

static int setup(void **state)
{
	(void)state;
	return h_standalone_two("32M");
}

static int teardown(void **state)
{
	(void)state;
	lrf_test_stop();
	return 0;
}

static void all_sizes(void *arg)
{
	static void *ptrs[2100];
	int n = 0;
	(void)arg;
	for (size_t sz = 0; sz <= 20000; sz += (sz < 512 ? 1 : 37)) {
		unsigned char *p = rf_malloc(sz);
		CHECK((p) != NULL);
		CHECK(((uintptr_t)p % 16) == (0));
		memset(p, (int)(sz & 0xff), sz);
		ptrs[n++] = p;
		CHECK(n < 2100);
	}
	/* Nothing overlapped: each block still holds its own pattern. */
	n = 0;
	for (size_t sz = 0; sz <= 20000; sz += (sz < 512 ? 1 : 37)) {
		unsigned char *p = ptrs[n++];
		for (size_t i = 0; i < sz; i += 97)
			CHECK((p[i]) == (sz & 0xff));
		rf_free(p);
	}
}

static void test_size_classes(void **state)
{
	uint64_t free1;
	(void)state;
	h_run_on(0, all_sizes, NULL);
	free1 = rf_mem_free();
	/* A second identical round reuses the cached slabs: no growth
	 * beyond the stack of the fiber h_run_on adds to core 0's pool. */
	h_run_on(0, all_sizes, NULL);
	assert_true(rf_mem_free() + RF_FIBER_BLOCK >= free1);
}

static void large_blocks(void *arg)
{
	uint64_t free0 = rf_mem_free();
	char *a = rf_malloc(100000), *b = rf_malloc(1u << 20), *h = rf_malloc(5u << 20);
	(void)arg;
	CHECK((a) != NULL);
	CHECK((b) != NULL);
	CHECK((h) != NULL);  /* more than one 2 MiB segment */
	memset(a, 1, 100000);
	memset(b, 2, 1u << 20);
	memset(h, 3, 5u << 20);
	CHECK(rf_mem_free() < free0 - (6u << 20));
	rf_free(a);
	rf_free(b);
	rf_free(h);
	CHECK(rf_mem_free() == free0);
}

static void test_large_blocks(void **state)
{
	(void)state;
	h_run_on(0, large_blocks, NULL);
}

static void reallocs(void *arg)
{
	char *p = rf_malloc(10), *q;
	int *z;
	(void)arg;
	strcpy(p, "rainforest");
	q = rf_realloc(p, 100000);
	CHECK((q) != NULL);
	CHECK(!memcmp(q, "rainforest", 10));
	q = rf_realloc(q, 20);  /* shrinking keeps the block */
	CHECK(!memcmp(q, "rainforest", 10));
	rf_free(q);
	z = rf_calloc(1000, sizeof(int));
	for (int i = 0; i < 1000; i++)
		CHECK((z[i]) == (0));
	rf_free(z);
	CHECK((rf_calloc(SIZE_MAX / 2, 4)) == NULL);
	CHECK((rf_realloc(rf_malloc(8), 0)) == NULL);
	rf_free(NULL);
}

static void test_realloc_calloc(void **state)
{
	(void)state;
	h_run_on(0, reallocs, NULL);
}

/* ---- frees across cores ------------------------------------------------ */

#define NOBJ 20000
static void *objs[NOBJ];

static void alloc_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < NOBJ; i++) {
		objs[i] = rf_malloc(48 + (size_t)(i % 5) * 100);
		CHECK((objs[i]) != NULL);
		*(int *)objs[i] = i;
	}
}

static void free_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < NOBJ; i++) {
		CHECK((*(int *)objs[i]) == (i));
		rf_free(objs[i]);
	}
}

static void trim_self(void *arg)
{
	(void)arg;
	lrf_heap_trim(lrf_self()->heap);
	lrf_fiber_pool_trim(lrf_self());  /* this fiber joins the pool after */
}

static void test_cross_core_free(void **state)
{
	uint64_t free0;
	(void)state;
	if (rf_ncores() < 2)
		skip();
	h_run_on(0, alloc_many, NULL);  /* warm the slab caches */
	h_run_on(1, free_many, NULL);
	h_run_on(0, trim_self, NULL);
	h_run_on(1, trim_self, NULL);
	free0 = rf_mem_free();
	for (int round = 0; round < 5; round++) {
		h_run_on(0, alloc_many, NULL);
		h_run_on(1, free_many, NULL);
	}
	/* Core 0 takes remote frees back when it runs; an idle core sleeps
	 * and does not, so give it an event (rfd's doorbell does the same
	 * before a reclaim). */
	h_run_on(0, trim_self, NULL);
	h_run_on(1, trim_self, NULL);
	assert_true(rf_mem_free() >= free0);
}

static void free_first_1000(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		CHECK((*(int *)objs[i]) == (i));
		rf_free(objs[i]);
	}
}

static void alloc_first_1000(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		objs[i] = rf_malloc(64);
}

/* A foreign thread (this one) allocates and cores free, and vice versa. */
static void test_foreign_thread(void **state)
{
	uint64_t free1 = 0;
	(void)state;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 1000; i++) {
			objs[i] = rf_malloc(64);
			assert_non_null(objs[i]);
			*(int *)objs[i] = i;
		}
		h_run_on(rf_ncores() - 1, free_first_1000, NULL);
		if (round == 1)
			free1 = rf_mem_free();
	}
	/* Fibers' stacks may sit in a core's pool: allow for a full pool. */
	assert_true(rf_mem_free() + 16 * RF_FIBER_BLOCK >= free1);
	h_run_on(0, alloc_first_1000, NULL);
	for (int i = 0; i < 1000; i++)
		rf_free(objs[i]);
}

/* ---- running out ---------------------------------------------------------- */

#define MAXBIG 64
static void exhaust(void *arg)
{
	void *big[MAXBIG];
	void **chain = NULL;
	int n = 0, small = 0;
	(void)arg;
	while (n < MAXBIG && (big[n] = rf_malloc(1u << 20)) != NULL)
		n++;
	/* 32 MiB partition; a 1 MiB block (+ header) takes half a 2 MiB
	 * segment, and thread stacks and core structs take some. */
	CHECK(n >= 8 && n < 32);
	/* Then small objects until nothing is left either. */
	for (void **p; (p = rf_malloc(4000)); small++) {
		*p = chain;
		chain = p;
	}
	CHECK((rf_malloc(1u << 20)) == NULL);
	while (chain) {
		void **next = *chain;
		rf_free(chain);
		chain = next;
	}
	for (int i = 0; i < n; i++)
		rf_free(big[i]);
	CHECK((big[0] = rf_malloc(1u << 20)) != NULL);
	rf_free(big[0]);
	printf("# 32 MiB partition: %d x 1 MiB, then %d x 4000 B\n", n, small);
}

static void test_exhaustion_returns_null(void **state)
{
	(void)state;
	h_run_on(0, exhaust, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_size_classes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_realloc_calloc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cross_core_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion_returns_null, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
