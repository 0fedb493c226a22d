/*
 * fiber.c - fiber creation, stacks and the switch in and out of a fiber.
 *
 * Every switch goes through the core's scheduler context (fiber ->
 * scheduler -> next fiber) rather than fiber to fiber: it costs a second
 * switch, but it gives one place where the scheduler sees why a fiber
 * stopped (yield, park, done), which keeps parking race-free and lets a
 * fiber resume on another core after its core was taken away.
 *
 * A fiber and its stack are one allocation from the partition memory (the
 * struct sits at the top of its stack block), sized so the block is an
 * exact number of pages.  Each core keeps a small pool of finished fibers
 * so spawning rarely reaches the allocator's page heap.
 *
 * Below each stack lies a guard page (PROT_NONE): an overflow faults at
 * once instead of writing over the block below it.  Setting and clearing
 * it is an mprotect when a block comes from or goes back to the page heap,
 * never when a pooled fiber is reused; the page stays resident and locked
 * (it is partition memory), so making it writable again costs no fault.
 * The canary at the stack's bottom stays, for a frame that jumps the guard,
 * and is all there is where mprotect cannot split the mapping (partition
 * memory backed by 2 MiB huge pages) or the mapping count ran out.
 *
 * Under ASan every switch is announced with
 * __sanitizer_start/finish_switch_fiber, and a stack is unpoisoned before it
 * is reused: frames of a finished fiber never return, so their redzones
 * would otherwise stay poisoned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "librf/internal.h"
#ifdef RF_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#define RF_FIBER_CANARY 0x5246464942455221ull
#ifdef RF_ASAN
#define RF_POOL_MAX     4     /* sanitizer stacks are 4x bigger */
#else
#define RF_POOL_MAX     16
#endif

void lrf_fiber_entry(struct rf_fiber *f);

static void stack_unpoison(struct rf_fiber *f)
{
#ifdef RF_ASAN
	__asan_unpoison_memory_region(f->stack_lo, f->stack_size);
#else
	(void)f;
#endif
}

/* Lay out a fresh stack so that lrf_ctx_switch "returns" into the
 * trampoline with the fiber in r12 (see switch.S for the frame order). */
static void stack_prepare(struct rf_fiber *f)
{
	uintptr_t top = (uintptr_t)f & ~(uintptr_t)15;
	uint64_t *sp = (uint64_t *)(top - 16 - 8 * 8);

	memset(sp, 0, 8 * 8);
	((uint16_t *)sp)[0] = 0x037f;          /* x87 control word: default */
	((uint32_t *)sp)[1] = 0x1f80;          /* MXCSR: default */
	sp[4] = (uint64_t)(uintptr_t)f;        /* r12 */
	sp[7] = (uint64_t)(uintptr_t)lrf_ctx_trampoline;
	f->sp = sp;
}

#define GUARD 4096u

/* A fresh block: the guard is its first whole page (the allocator's
 * header sits before `block`, in the page below it). */
static struct rf_fiber *fiber_carve(char *block)
{
	char *guard = (char *)(((uintptr_t)block + GUARD - 1) & ~(uintptr_t)(GUARD - 1));
	struct rf_fiber *f = (struct rf_fiber *)(((uintptr_t)block + RF_FIBER_BLOCK -
						  RF_LARGE_HDR - sizeof(*f)) &
						 ~(uintptr_t)(RF_CACHELINE - 1));
	f->block = block;
	/* without a guard (mprotect refused: too many mappings) the canary
	 * is all that is left */
	f->stack_lo = mprotect(guard, GUARD, PROT_NONE) ? block : guard + GUARD;
	f->stack_size = (size_t)((char *)f - f->stack_lo);
	return f;
}

static void fiber_free(struct rf_fiber *f)
{
	if (f->stack_lo != f->block)
		mprotect(f->stack_lo - GUARD, GUARD, PROT_READ | PROT_WRITE);
	rf_free(f->block);
}

static struct rf_fiber *fiber_alloc(struct lrf_core *c)
{
	char *block;

	if (c && c->pool) {
		struct rf_fiber *f = c->pool;
		c->pool = f->next;
		c->npool--;
		stack_unpoison(f);
		return f;
	}
	/* Large blocks carry a header: ask for what fills the pages exactly. */
	block = rf_malloc(RF_FIBER_BLOCK - RF_LARGE_HDR);
	return block ? fiber_carve(block) : NULL;
}

struct rf_fiber *lrf_fiber_new(struct lrf_core *c, void (*fn)(void *), void *arg)
{
	struct rf_fiber *f = fiber_alloc(c);
	char *lo, *block;
	size_t size;

	if (!f)
		return NULL;
	lo = f->stack_lo;
	size = f->stack_size;
	block = f->block;
	memset(f, 0, sizeof(*f));
	f->block = block;
	f->stack_lo = lo;
	f->stack_size = size;
	f->fn = fn;
	f->arg = arg;
	f->msg.kind = RF_MSG_FIBER;
	f->canary = RF_FIBER_CANARY;
	f->ready_tsc = lrf_rdtsc();  /* runnable from birth (rf_spawn queues it) */
	*(uint64_t *)lo = RF_FIBER_CANARY;
	stack_prepare(f);
	return f;
}

void lrf_fiber_release(struct lrf_core *c, struct rf_fiber *f)
{
	stack_unpoison(f);
	if (c && c->npool < RF_POOL_MAX) {
		f->next = c->pool;
		c->pool = f;
		c->npool++;
		return;
	}
	fiber_free(f);
}

void lrf_fiber_pool_trim(struct lrf_core *c)
{
	while (c->pool) {
		struct rf_fiber *f = c->pool;
		c->pool = f->next;
		fiber_free(f);
	}
	c->npool = 0;
}

/* Scheduler side: run f until it yields, parks or ends. */
void lrf_fiber_switch_in(struct lrf_core *c, struct rf_fiber *f)
{
	c->current = f;
	__atomic_store_n(&f->core, c, __ATOMIC_RELAXED);
#ifdef RF_ASAN
	__sanitizer_start_switch_fiber(&c->asan_fake, f->stack_lo, f->stack_size);
#endif
	lrf_ctx_switch(&c->sched_sp, f->sp);
#ifdef RF_ASAN
	__sanitizer_finish_switch_fiber(c->asan_fake, NULL, NULL);
#endif
	c->current = NULL;
}

static _Noreturn void stack_smashed(struct rf_fiber *f)
{
	fprintf(stderr, "librf: fiber %p overflowed its %zu-byte stack\n",
		(void *)f, f->stack_size);
	abort();
}

/* Fiber side: give the core back to its scheduler.  When this returns the
 * fiber may be running on another core. */
void lrf_fiber_switch_out(struct rf_fiber *f, uint32_t after)
{
	struct lrf_core *c = f->core;

	if (rf_unlikely(*(uint64_t *)f->stack_lo != RF_FIBER_CANARY ||
			f->canary != RF_FIBER_CANARY))
		stack_smashed(f);
	f->after = after;
#ifdef RF_ASAN
	__sanitizer_start_switch_fiber(after == RF_AFTER_DONE ? NULL : &f->asan_fake,
				       c->stack_lo, c->stack_size);
#endif
	lrf_ctx_switch(&f->sp, c->sched_sp);
#ifdef RF_ASAN
	__sanitizer_finish_switch_fiber(f->asan_fake, NULL, NULL);
#endif
}

void lrf_fiber_entry(struct rf_fiber *f)
{
#ifdef RF_ASAN
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
	f->fn(f->arg);
	lrf_fiber_switch_out(f, RF_AFTER_DONE);
	abort(); /* a finished fiber is never switched back in */
}

rf_fiber *rf_fiber_self(void)
{
	struct lrf_core *c = lrf_self();
	return c ? c->current : NULL;
}
