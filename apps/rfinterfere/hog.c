/*
 * hog.c - rfinterfere's hardware hogs, the interference no kernel
 * partition removes (shared last-level cache, memory bandwidth, a core's
 * time when cores are shared):
 *
 *   cache  random read-modify-writes of cache lines over a buffer the
 *          size of the last-level cache (--size): every access likely
 *          evicts a neighbour's line, and random order defeats the
 *          prefetchers; counted per line;
 *   membw  sequential read-modify-write of every word of a buffer four
 *          times the last-level cache (--size): streams from memory both
 *          ways; counted per 64-byte line;
 *   cpu    integer arithmetic in registers (xorshift), no memory
 *          traffic; counted per block of 4096 steps.
 *
 * The last-level cache's size is sysconf's; a virtual machine may report
 * the whole package's (this project's build machines say 508 MiB), so a
 * size above 64 MiB, or none, is taken as 32 MiB, one EPYC CCD's L3.
 */
#define _GNU_SOURCE
#include "rfinterfere.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LINE        64
#define CACHE_BATCH 4096      /* lines between counts */
#define BW_CHUNK    (64 << 10)
#define CPU_BLOCK   4096

size_t rfi_llc_bytes(void)
{
	long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);

	return l3 <= 0 || l3 > (64l << 20) ? (size_t)32 << 20 : (size_t)l3;
}

static size_t cache_size(void) { return rfi_llc_bytes(); }
static size_t membw_size(void) { return 4 * rfi_llc_bytes(); }

/* A buffer of n bytes, faulted in before the clock matters. */
static char *buffer(size_t n)
{
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 1, n);
	return p;
}

static int run_cache(struct rfi_ctx *ctx)
{
	size_t lines = ctx->size / LINE;
	volatile char *p = buffer(lines * LINE);
	uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(ctx->index + 1);

	if (!p)
		return -1;
	do {
		for (int i = 0; i < CACHE_BATCH; i++)
			p[(rfi_xorshift(&x) % lines) * LINE]++;
	} while (!rfi_count(ctx, CACHE_BATCH));
	munmap((void *)p, lines * LINE);
	return 0;
}

static int run_membw(struct rfi_ctx *ctx)
{
	size_t chunks = ctx->size / BW_CHUNK, words = BW_CHUNK / sizeof(uint64_t);
	uint64_t *p = (uint64_t *)buffer(chunks * BW_CHUNK);
	size_t c = 0;

	if (!p)
		return -1;
	do {
		volatile uint64_t *w = p + c * words;
		for (size_t i = 0; i < words; i++)
			w[i] += 1;
		c = (c + 1) % chunks;
	} while (!rfi_count(ctx, BW_CHUNK / LINE));
	munmap(p, chunks * BW_CHUNK);
	return 0;
}

static int run_cpu(struct rfi_ctx *ctx)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(ctx->index + 1);

	do {
		for (int i = 0; i < CPU_BLOCK; i++)
			rfi_xorshift(&x);
		__asm__ volatile("" : : "r"(x));   /* the result is used: no loop to fold */
	} while (!rfi_count(ctx, 1));
	return 0;
}

const struct rfi_mode rfi_mode_cache = {
	"cache", "cache lines touched", "random cache-line writes over an LLC-sized buffer (--size)",
	cache_size, run_cache,
};
const struct rfi_mode rfi_mode_membw = {
	"membw", "64-byte lines streamed", "stream over 4x the LLC, read and write (--size)",
	membw_size, run_membw,
};
const struct rfi_mode rfi_mode_cpu = {
	"cpu", "blocks of 4096 xorshift steps", "arithmetic in registers, no memory traffic",
	NULL, run_cpu,
};
