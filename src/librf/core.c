/*
 * core.c - core threads: creating, starting, leaving, resuming; rf_main;
 * the hooks and the introspection calls.
 *
 * One pthread per owned CPU, pinned to exactly that CPU and running the
 * scheduler loop.  Thread stacks and core structs come from the partition
 * memory when the core is first created (at start or on a hot-add), never
 * on the hot path; so is each core's io_uring (io_ring.c), set up by the
 * thread itself as it starts.  A core that is taken away does not end its
 * thread: it sleeps on its CPU's doorbell in the status page, so giving the
 * CPU back later costs one wake-up (which rfd's own doorbell ring can
 * deliver directly) instead of a thread creation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "librf/internal.h"
#include "librf/loop.h"
#ifdef RF_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

static struct lrf_core *core_alloc(void)
{
	/* Large blocks are 64-byte aligned, as struct lrf_core wants. */
	size_t sz = sizeof(struct lrf_core) + sizeof(struct lrf_heap) + RF_CACHELINE;
	char *p = rf_malloc(sz < 16385 ? 16385 : sz);

	if (p)
		memset(p, 0, sz);
	return (struct lrf_core *)p;
}

struct lrf_core *lrf_core_create(int cpu)
{
	struct lrf_core *c = core_alloc();
	int index;

	if (!c)
		return NULL;
	c->thread_stack = rf_malloc(RF_THREAD_STACK);
	if (!c->thread_stack) {
		rf_free(c);
		return NULL;
	}
	index = __atomic_load_n(&lrf_g.ncores_max, __ATOMIC_RELAXED);
	c->index = index;
	c->cpu = cpu;
	c->st = &lrf_g.status->core[cpu];
	c->heap = (struct lrf_heap *)(((uintptr_t)(c + 1) + RF_CACHELINE - 1) &
				      ~(uintptr_t)(RF_CACHELINE - 1));
	lrf_heap_init(c->heap, (uint32_t)index);
	lrf_g.cpu_core[cpu] = c;
	lrf_g.cores[index] = c;
	__atomic_store_n(&lrf_g.ncores_max, index + 1, __ATOMIC_RELEASE);
	return c;
}

static int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* Still pinned to exactly `cpu`?  A cpuset change may have widened a
 * parked thread's mask (cgroup v1 before Linux 6.2 rewrote it); reading it
 * costs far less than setting it (about 10 us on a VM, on the path of a
 * core's return). */
static bool pinned_to(int cpu)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) == 1 &&
	       CPU_ISSET(cpu, &set);
}

static void main_body(void *arg)
{
#ifdef RF_ASAN
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
	lrf_core_thread_body(arg);
	exit(0); /* not reached: the main fiber's end exits */
}

_Noreturn void lrf_core_run_main(struct lrf_core *c)
{
#ifdef RF_ASAN
	/* the main thread's own stack is left for good (NULL: not kept) */
	__sanitizer_start_switch_fiber(NULL, c->thread_stack, RF_THREAD_STACK);
#endif
	lrf_run_on_stack((char *)c->thread_stack + RF_THREAD_STACK, main_body, c);
}

static void *thread_main(void *arg)
{
	lrf_core_thread_body(arg);
	return NULL;
}

int lrf_core_start_thread(struct lrf_core *c)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, c->thread_stack, RF_THREAD_STACK);
	CPU_ZERO(&set);
	CPU_SET(c->cpu, &set);
	pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	err = pthread_create(&c->thread, &attr, thread_main, c);
	pthread_attr_destroy(&attr);
	if (err) {
		fprintf(stderr, "librf: cannot start a thread on cpu %d: %s\n", c->cpu,
			strerror(err));
		return -1;
	}
	c->has_thread = 1;
	return 0;
}

/* Serving from now on: visible to rfd (status) and to other cores. */
static void core_up(struct lrf_core *c, bool announce)
{
	c->acct_tsc = lrf_rdtsc();
	__atomic_store_n(&c->heir, NULL, __ATOMIC_RELAXED);
	lrf_mbox_reopen(c);
	__atomic_store_n(&c->running, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&lrf_g.nrunning, 1, __ATOMIC_RELAXED);
	lrf_stats_core_up(c);
	__atomic_store_n(&c->st->state, RF_CORE_RUNNING, __ATOMIC_RELEASE);
	if (announce)
		lrf_run_cores_hooks(c, true);
	lrf_reconfig_try_complete();
}

void lrf_core_thread_body(struct lrf_core *c)
{
	lrf_self_tls = c;
	/* every core's scheduler runs on its thread stack from the partition
	 * (the main thread's too: lrf_core_run_main), locked, never faulting */
	c->stack_lo = c->thread_stack;
	c->stack_size = RF_THREAD_STACK;
	if (c->is_main_thread && pin_self(c->cpu) < 0)
		fprintf(stderr, "librf: cannot pin to cpu %d\n", c->cpu);
	lrf_io_core_init(c);  /* failure is reported; I/O calls then fail */
	core_up(c, c->announce);
	lrf_sched_loop(c);
	lrf_io_core_exit(c);
	lrf_self_tls = NULL;
}

/* Should this parked core run again?  Read straight from the live desc: it
 * is only a hint to stop sleeping early (the applier re-checks everything
 * against a consistent copy and asks us to leave again if it was wrong). */
static bool wanted_back(struct lrf_core *c)
{
	const struct rf_desc *d = lrf_g.desc;

	return __atomic_load_n(&d->cpu[c->cpu], __ATOMIC_ACQUIRE) == RF_CPU_ACTIVE &&
	       !__atomic_load_n(&d->shutdown, __ATOMIC_ACQUIRE);
}

/* Wait, parked, until the CPU is given back (or the test tears down).  The
 * thread sleeps on its CPU's doorbell, so rfd's ring when it gives the CPU
 * back wakes it directly, without a hop through the applying core. */
static bool park_until_resumed(struct lrf_core *c)
{
	for (;;) {
		uint32_t bell = __atomic_load_n(&c->st->doorbell, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&c->req, __ATOMIC_ACQUIRE) & RF_REQ_STOP)
			return false;
		if (wanted_back(c))
			break;
		if (lrf_io_sleeps_in_ring(c))
			lrf_io_park_sleep(c, bell);  /* I/O that outlived the leave */
		else
			lrf_futex_wait(&c->st->doorbell, bell, -1);
	}
	if (!pinned_to(c->cpu) && pin_self(c->cpu) < 0)
		fprintf(stderr, "librf: cannot pin to cpu %d on resume\n", c->cpu);
	return true;
}

/* Ring a core's doorbell whether or not it says it sleeps (parked cores). */
void lrf_core_ring(struct lrf_core *c)
{
	__atomic_fetch_add(&c->st->doorbell, 1, __ATOMIC_SEQ_CST);
	lrf_futex_wake(&c->st->doorbell, 1);
}

void lrf_core_resume(struct lrf_core *c)
{
	__atomic_fetch_and(&c->req, ~RF_REQ_LEAVE, __ATOMIC_ACQ_REL);
	if (!__atomic_load_n(&c->running, __ATOMIC_ACQUIRE))
		lrf_core_ring(c);
}

struct lrf_core *lrf_core_any_running(struct lrf_core * not )
{
	int n = __atomic_load_n(&lrf_g.ncores_max, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n; i++) {
		struct lrf_core *c = lrf_g.cores[i];
		if (c != not && __atomic_load_n(&c->running, __ATOMIC_ACQUIRE) &&
		    !(__atomic_load_n(&c->req, __ATOMIC_ACQUIRE) & RF_REQ_LEAVE))
			return c;
	}
	return NULL;
}

/* Hand the work of this core (no longer running) to `to`: timers, mailbox,
 * run queue and heap.  On the core's own thread, in scheduler context. */
static void hand_over(struct lrf_core *c, struct lrf_core *to)
{
	struct lrf_msg *m;

	__atomic_store_n(&c->heir, to, __ATOMIC_RELEASE);
	/* Timers first: a moved fiber must find its timer already re-armed. */
	lrf_timers_move(c, to);
	for (m = lrf_mbox_take(c, true); m;) {
		struct lrf_msg *next = m->next;
		lrf_mbox_send(to, m);
		m = next;
	}
	while (c->runq_head) {
		struct rf_fiber *f = c->runq_head;
		c->runq_head = f->next;
		lrf_mbox_send(to, &f->msg);
	}
	c->runq_tail = NULL;
	lrf_heap_give_away(c, to);
	lrf_fiber_pool_trim(c);
}

/* Has rfd taken every CPU (a pause, not a shutdown)?  From the live desc,
 * as a hint like wanted_back. */
static bool pause_asked(void)
{
	const struct rf_desc *d = lrf_g.desc;

	return !__atomic_load_n(&d->ncpus, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&d->shutdown, __ATOMIC_ACQUIRE);
}

enum hold { HOLD_STOP, HOLD_BACK, HOLD_GONE };

/* Paused (rfd took every CPU, so there is no heir): the core keeps its work
 * and sleeps on its doorbell, which rfd rings for a paused subOS's parked
 * cores (rfd/libos.c), until a CPU comes back.  Its own: it runs on, work
 * and all (HOLD_BACK).  Another, or a shutdown: it applies the change itself
 * (nobody else runs to), hands its work to the first core running and parks
 * like any core that left (HOLD_GONE). */
static enum hold hold_paused(struct lrf_core *c)
{
	for (;;) {
		uint32_t bell = __atomic_load_n(&c->st->doorbell, __ATOMIC_SEQ_CST);
		struct lrf_core *to;
		if (__atomic_load_n(&c->req, __ATOMIC_ACQUIRE) & RF_REQ_STOP)
			return HOLD_STOP;
		if (wanted_back(c)) {
			if (!pinned_to(c->cpu) && pin_self(c->cpu) < 0)
				fprintf(stderr, "librf: cannot pin to cpu %d on resume\n", c->cpu);
			return HOLD_BACK;
		}
		if (!pause_asked()) {
			lrf_reconfig_check(c); /* starts the new CPUs' threads, or shuts down */
			if ((to = lrf_core_any_running(c))) {
				lrf_run_cores_hooks(c, false);
				hand_over(c, to);
				return HOLD_GONE;
			}
			lrf_futex_wait(&c->st->doorbell, bell, 1000000); /* a thread starting */
		} else if (lrf_io_sleeps_in_ring(c)) {
			lrf_io_park_sleep(c, bell);
		} else {
			lrf_futex_wait(&c->st->doorbell, bell, -1);
		}
	}
}

/* Move everything off this core, park, and come back when resumed.  Runs
 * on the leaving core's own thread, in scheduler context.  With no other
 * core running it either stays (a desc that is wrong) or, when rfd paused
 * the subOS, parks holding its work (hold_paused). */
void lrf_core_leave(struct lrf_core *c)
{
	struct lrf_core *to = lrf_core_any_running(c);

	if (!to && !pause_asked()) {
		fprintf(stderr, "librf: cpu %d asked to leave but no other core runs; "
			"staying\n", c->cpu);
		__atomic_fetch_and(&c->req, ~RF_REQ_LEAVE, __ATOMIC_ACQ_REL);
		return;
	}
	if (to)
		lrf_run_cores_hooks(c, false);
	/* Cancel in-flight I/O while still running: the fibers it wakes land
	 * on our run queue and move with it below (io_ring.c, "Leaving");
	 * RFloop clients owed a wake-up get it first (its send completes, or
	 * is cancelled and sent again, before the ring is left). */
	lrf_loop_leave(c);   /* fibers waiting on RFloop connections: with the rest */
	lrf_io_leave(c);
	__atomic_store_n(&c->running, 0, __ATOMIC_RELEASE);
	__atomic_fetch_sub(&lrf_g.nrunning, 1, __ATOMIC_RELAXED);
	if (to)
		hand_over(c, to);
	lrf_core_account(c, true);
	__atomic_store_n(&c->st->sleeping, 0, __ATOMIC_RELAXED);
	__atomic_fetch_and(&c->req, ~RF_REQ_LEAVE, __ATOMIC_ACQ_REL);
	__atomic_store_n(&c->st->state, RF_CORE_PARKED, __ATOMIC_RELEASE);
	lrf_reconfig_try_complete();
	if (!to) {
		enum hold h = hold_paused(c);
		if (h != HOLD_GONE) {
			if (h == HOLD_BACK)
				core_up(c, false); /* its work never left */
			return;
		}
	}
	if (park_until_resumed(c))
		core_up(c, true);
}

/* ---- hooks and exit --------------------------------------------------- */

static int hook_slot(int *n)
{
	int i = __atomic_fetch_add(n, 1, __ATOMIC_ACQ_REL);
	if (i >= RF_MAX_HOOKS) {
		__atomic_fetch_sub(n, 1, __ATOMIC_ACQ_REL);
		return -1;
	}
	return i;
}

int rf_on_shutdown(void (*fn)(void))
{
	int i = hook_slot(&lrf_g.nshutdown_hooks);
	if (i < 0)
		return -1;
	__atomic_store_n(&lrf_g.shutdown_hooks[i], fn, __ATOMIC_RELEASE);
	return 0;
}

int rf_on_cores_changed(void (*fn)(int, int, bool))
{
	int i = hook_slot(&lrf_g.ncores_hooks);
	if (i < 0)
		return -1;
	__atomic_store_n(&lrf_g.cores_hooks[i], fn, __ATOMIC_RELEASE);
	return 0;
}

int rf_on_mem_reclaim(void (*fn)(void))
{
	int i = hook_slot(&lrf_g.nreclaim_hooks);
	if (i < 0)
		return -1;
	__atomic_store_n(&lrf_g.reclaim_hooks[i], fn, __ATOMIC_RELEASE);
	return 0;
}

bool lrf_run_reclaim_hooks(void)
{
	int n = __atomic_load_n(&lrf_g.nreclaim_hooks, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n && i < RF_MAX_HOOKS; i++) {
		void (*fn)(void) = __atomic_load_n(&lrf_g.reclaim_hooks[i], __ATOMIC_ACQUIRE);
		if (fn)
			fn();
	}
	return n > 0;
}

void lrf_run_cores_hooks(struct lrf_core *c, bool added)
{
	int n = __atomic_load_n(&lrf_g.ncores_hooks, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n && i < RF_MAX_HOOKS; i++) {
		void (*fn)(int, int, bool) =
			__atomic_load_n(&lrf_g.cores_hooks[i], __ATOMIC_ACQUIRE);
		if (fn)
			fn(c->index, c->cpu, added);
	}
}

/* Run the shutdown hooks once; returns false if another core already is. */
bool lrf_run_exit_hooks(void)
{
	int n;

	if (__atomic_exchange_n(&lrf_g.exiting, 1, __ATOMIC_ACQ_REL))
		return false;
	n = __atomic_load_n(&lrf_g.nshutdown_hooks, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n && i < RF_MAX_HOOKS; i++) {
		void (*fn)(void) = __atomic_load_n(&lrf_g.shutdown_hooks[i], __ATOMIC_ACQUIRE);
		if (fn)
			fn();
	}
	__atomic_store_n(&lrf_g.status->state, RF_SUBOS_EXITING, __ATOMIC_RELEASE);
	return true;
}

_Noreturn void lrf_do_exit(int code)
{
	if (!lrf_run_exit_hooks()) {
		/* Another core is ending the process: just wait for it. */
		for (;;)
			lrf_futex_wait(&lrf_g.stopped, 0, -1);
	}
	fflush(NULL);
	exit(code);
}

/* ---- introspection ---------------------------------------------------- */

struct lrf_core *lrf_core_get(int index)
{
	if (index < 0 || index >= __atomic_load_n(&lrf_g.ncores_max, __ATOMIC_ACQUIRE))
		return NULL;
	return lrf_g.cores[index];
}

int rf_core_self(void)
{
	struct lrf_core *c = lrf_self();
	return c ? c->index : -1;
}

int rf_cpu_self(void)
{
	struct lrf_core *c = lrf_self();
	return c ? c->cpu : -1;
}

int rf_ncores(void)
{
	return __atomic_load_n(&lrf_g.nrunning, __ATOMIC_ACQUIRE);
}

int rf_ncores_max(void)
{
	return __atomic_load_n(&lrf_g.ncores_max, __ATOMIC_ACQUIRE);
}

int rf_core_cpu(int core)
{
	struct lrf_core *c = lrf_core_get(core);
	return c ? c->cpu : -1;
}

bool rf_core_running(int core)
{
	struct lrf_core *c = lrf_core_get(core);
	return c && __atomic_load_n(&c->running, __ATOMIC_ACQUIRE);
}

const char *rf_name(void)
{
	return lrf_g.desc ? lrf_g.desc->name : "";
}
