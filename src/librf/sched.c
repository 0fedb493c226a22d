/*
 * sched.c - a core's scheduler loop, its run queue, spawning and yielding.
 *
 * One loop per core thread, no preemption: each pass checks for commands
 * from rfd (one load of the command ring's tail, a read-mostly line),
 * drains the mailbox and the allocator's remote frees, fires due timers,
 * then runs every fiber that was ready when the pass began (fibers that
 * yield go to the back and run in the next pass, so events and timers
 * interleave fairly with busy fibers), and last submits the I/O those
 * fibers queued and reaps finished I/O (one io_uring_enter at most,
 * io_ring.c), and looks at the RFloop connections its fibers wait on
 * (loop_conn.c: a load per connection, no system call).  A pass that found nothing to do goes idle (idle.c).  The
 * run queue is touched only by its own core, so it needs no
 * atomics; other cores reach it through the mailbox.
 *
 * Every fiber carries the TSC of the moment it became runnable (spawned,
 * unparked, yielded); when it is switched in, the difference is its
 * queueing delay, recorded on the core's stats page (stats.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include "librf/internal.h"
#include "librf/loop.h"

__thread struct lrf_core *lrf_self_tls;

__attribute__((noinline)) struct lrf_core *lrf_self(void)
{
	struct lrf_core *c;

	/* The empty asm keeps the compiler from caching the TLS address in a
	 * fiber across a switch that may move it to another thread. */
	__asm__ volatile("" ::: "memory");
	c = lrf_self_tls;
	__asm__ volatile("" ::: "memory");
	return c;
}

void lrf_runq_push(struct lrf_core *c, struct rf_fiber *f)
{
	f->next = NULL;
	if (c->runq_tail)
		c->runq_tail->next = f;
	else
		c->runq_head = f;
	c->runq_tail = f;
}

/* Queue f on the core it belongs to: directly if that is us, else through
 * its mailbox (which redirects if the core has left). */
void lrf_make_runnable(struct rf_fiber *f)
{
	struct lrf_core *self = lrf_self();
	struct lrf_core *to = __atomic_load_n(&f->core, __ATOMIC_RELAXED);

	f->ready_tsc = lrf_rdtsc();  /* its queueing delay starts now */
	if (to == self && self && __atomic_load_n(&self->running, __ATOMIC_RELAXED))
		lrf_runq_push(self, f);
	else
		lrf_mbox_send(to, &f->msg);
}

static void fiber_stopped(struct lrf_core *c, struct rf_fiber *f, uint64_t now)
{
	switch (f->after) {
	case RF_AFTER_YIELD:
		f->ready_tsc = now;
		lrf_runq_push(c, f);
		break;
	case RF_AFTER_PARK:
		break; /* whoever unparks it queues it again */
	case RF_AFTER_DONE:
		if (f->is_main)
			lrf_do_exit(lrf_g.exit_code);
		lrf_fiber_release(c, f);
		break;
	}
}

/* Run the fibers ready now.  One TSC read per fiber: the end of one is the
 * start of the next (its queueing delay ends) and, if it yielded, the
 * start of its own next wait. */
static int run_ready(struct lrf_core *c)
{
	struct rf_fiber *f = c->runq_head;
	uint64_t now = lrf_rdtsc();
	int n = 0;

	c->runq_head = c->runq_tail = NULL;
	while (f) {
		struct rf_fiber *next = f->next;
		lrf_stats_wait(c, f->ready_tsc, now);
		lrf_fiber_switch_in(c, f);
		now = lrf_rdtsc();
		fiber_stopped(c, f, now);
		n++;
		f = next;
	}
	return n;
}

void lrf_sched_loop(struct lrf_core *c)
{
	for (;;) {
		int work = 0;

		c->loops++;
		if (rf_unlikely(lrf_core_asked(c))) {
			lrf_reconfig_check(c);
			if (__atomic_load_n(&c->req, __ATOMIC_ACQUIRE) & RF_REQ_STOP)
				return;
			if (__atomic_load_n(&c->req, __ATOMIC_ACQUIRE) & RF_REQ_LEAVE) {
				lrf_core_leave(c);
				continue;
			}
		}
		if (__atomic_load_n(&c->mbox, __ATOMIC_RELAXED))
			work += lrf_mbox_drain(c);
		if (__atomic_load_n(&c->heap->remote, __ATOMIC_RELAXED))
			work += lrf_heap_drain_remote(c->heap);
		if (c->timers.n)
			work += lrf_timers_fire(c, rf_now_ns());
		if (c->runq_head)
			work += run_ready(c);
		if (c->io)  /* submit what the fibers queued, reap completions */
			work += lrf_io_poll(c);
		if (c->loop_wait || c->loop_bells)  /* RFloop connections (loop_conn.c) */
			work += lrf_loop_poll(c);
		c->events += (uint64_t)work;
		if ((c->loops & 1023) == 0)
			lrf_core_account(c, true);
		if (!work)
			lrf_idle(c);
	}
}

static _Noreturn void not_in_fiber(const char *what)
{
	fprintf(stderr, "librf: %s called outside a fiber\n", what);
	abort();
}

int rf_spawn(void (*fn)(void *), void *arg)
{
	struct lrf_core *c = lrf_self();
	struct rf_fiber *f;

	if (!c)
		return -1;
	f = lrf_fiber_new(c, fn, arg);
	if (!f)
		return -1;
	f->core = c;
	lrf_runq_push(c, f);
	return 0;
}

int rf_spawn_on(int core, void (*fn)(void *), void *arg)
{
	struct lrf_core *to = lrf_core_get(core);
	struct rf_fiber *f;

	if (!to)
		return -1;
	f = lrf_fiber_new(lrf_self(), fn, arg);
	if (!f)
		return -1;
	f->core = to;
	lrf_make_runnable(f);
	return 0;
}

void rf_yield(void)
{
	struct lrf_core *c = lrf_self();

	if (!c || !c->current)
		not_in_fiber("rf_yield");
	lrf_fiber_switch_out(c->current, RF_AFTER_YIELD);
}

_Noreturn void rf_exit(int code)
{
	lrf_do_exit(code);
}
