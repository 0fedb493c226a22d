/*
 * mem.c - rfinterfere's memory-management modes, the ones that hit the
 * kernel's shared memory state (the mm lock, page tables, the page
 * allocator's zone locks and per-CPU lists, LRU lists, memory cgroup
 * charging):
 *
 *   mmap       mmap and munmap an untouched anonymous region (--size,
 *              default 128 MiB as will-it-scale's mmap1): VMA churn;
 *   pagefault  mmap a region (--size, default 32 MiB), write one byte per
 *              page, munmap: page allocation, zeroing and freeing, counted
 *              per page faulted (will-it-scale's page_fault1);
 *   malloc     a pool of 1024 blocks, each operation frees one at random
 *              and allocates a new one there, of a size log-uniform from
 *              16 bytes to --size (default 1 MiB) with its first and last
 *              bytes written: glibc's arenas, and mmap/munmap beyond its
 *              mmap threshold.
 */
#define _GNU_SOURCE
#include "rfinterfere.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define MALLOC_POOL 1024

static size_t mmap_size(void) { return 128u << 20; }
static size_t fault_size(void) { return 32u << 20; }
static size_t malloc_size(void) { return 1u << 20; }

static int run_mmap(struct rfi_ctx *ctx)
{
	do {
		void *p = mmap(NULL, ctx->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		munmap(p, ctx->size);
	} while (!rfi_count(ctx, 1));
	return 0;
}

static int run_pagefault(struct rfi_ctx *ctx)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = ctx->size / page;

	for (;;) {
		volatile char *p = mmap(NULL, ctx->size, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		/* Counted in batches of 64 pages: the stop flag is seen within
		 * a few hundred microseconds whatever the region's size. */
		for (size_t i = 0; i < pages; i++) {
			p[i * page] = 1;
			if ((i % 64 == 63 || i + 1 == pages) && rfi_count(ctx, i % 64 + 1)) {
				munmap((void *)p, ctx->size);
				return 0;
			}
		}
		munmap((void *)p, ctx->size);
	}
}

static int run_malloc(struct rfi_ctx *ctx)
{
	char *pool[MALLOC_POOL] = { 0 };
	uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(ctx->index + 1);
	double span = log((double)ctx->size / 16.0);
	int rc = 0;

	do {
		size_t slot = rfi_xorshift(&seed) % MALLOC_POOL;
		double u = (double)(rfi_xorshift(&seed) >> 11) * 0x1.0p-53;
		size_t n = (size_t)(16.0 * exp(u * span));
		free(pool[slot]);
		pool[slot] = malloc(n);
		if (!pool[slot]) {
			rc = -1;
			break;
		}
		pool[slot][0] = pool[slot][n - 1] = 1;
	} while (!rfi_count(ctx, 1));
	for (int i = 0; i < MALLOC_POOL; i++)
		free(pool[i]);
	return rc;
}

const struct rfi_mode rfi_mode_mmap = {
	"mmap", "mmap+munmap pairs", "mmap and munmap an untouched region (--size)",
	mmap_size, run_mmap,
};
const struct rfi_mode rfi_mode_pagefault = {
	"pagefault", "pages faulted", "fault in a fresh region page by page (--size)",
	fault_size, run_pagefault,
};
const struct rfi_mode rfi_mode_malloc = {
	"malloc", "free+malloc pairs", "free and malloc blocks of 16 B..--size",
	malloc_size, run_malloc,
};
