/*
 * rfinterfere.h - the modes of rfinterfere, the interference workloads of
 * RainForest's isolation experiments (README "rfinterfere").
 *
 * Each mode is one loop in the style of will-it-scale: a worker repeats
 * one operation (an mmap/munmap pair, a page fault, a malloc/free, an
 * open/close, a fork/exit, a cache line touched, a block of arithmetic)
 * and counts it in its own slot of a shared counter page, which main.c
 * samples.  The modes live by kind: mem.c (mmap, pagefault, malloc),
 * sys.c (open, fork), hog.c (cache, membw, cpu).  Names: prefix rfi_.
 */
#ifndef RFINTERFERE_H
#define RFINTERFERE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* One worker's view: its slot, the shared stop flag, its parameters. */
struct rfi_ctx {
	int index;                  /* worker number, 0.. */
	size_t size;                /* the mode's size parameter, bytes (0: its default) */
	const char *dir;            /* where `open` makes its files */
	_Atomic uint64_t *ops;      /* this worker's count (only it writes it) */
	uint64_t done;              /* the same, privately */
	_Atomic int *stop;          /* set by main.c: return soon */
};

struct rfi_mode {
	const char *name;
	const char *unit;           /* what one counted operation is */
	const char *what;           /* one line for --help */
	size_t (*default_size)(void);   /* NULL: the mode takes no size */
	/* Runs until *ctx->stop; 0, or -1 with errno when the operation fails. */
	int (*run)(struct rfi_ctx *ctx);
};

extern const struct rfi_mode rfi_mode_mmap, rfi_mode_pagefault, rfi_mode_malloc;
extern const struct rfi_mode rfi_mode_open, rfi_mode_fork;
extern const struct rfi_mode rfi_mode_cache, rfi_mode_membw, rfi_mode_cpu;

/* Adds n to the worker's count (a plain store: one writer per slot);
 * true when it should stop. */
static inline int rfi_count(struct rfi_ctx *ctx, uint64_t n)
{
	ctx->done += n;
	atomic_store_explicit(ctx->ops, ctx->done, memory_order_relaxed);
	return atomic_load_explicit(ctx->stop, memory_order_relaxed);
}

/* One step of a xorshift generator: the modes' cheap randomness. */
static inline uint64_t rfi_xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The last-level cache's size as the cache hogs size themselves. */
size_t rfi_llc_bytes(void);

#endif
