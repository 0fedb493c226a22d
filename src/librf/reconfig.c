/*
 * reconfig.c - applying a new desc generation: the core hot-add/remove
 * handshake, memory changes, shutdown, and the acknowledgement to rfd.
 *
 * rfd announces every change with a command on the control ring
 * (rfdlink.c).  Every core compares the ring's tail with the last value it
 * saw on each scheduler pass (one load of a line only rfd writes, so it
 * stays in every core's cache until rfd sends).  The first core that sees
 * a change takes the subOS-internal reconfiguration lock (a trylock: the
 * others carry on and retry next pass), consumes the commands and applies
 * whatever the desc says now: it reads the desc under rfd's seqlock,
 * starts or resumes threads for new CPUs, asks leaving CPUs' threads to
 * move their work off (only a core's own thread may do that: its run queue
 * and timers are unlocked), maps or returns memory.  The desc is the truth;
 * a command only says "look", so a lost or duplicated command cannot make
 * librf apply anything but the latest generation.
 *
 * Completion is a separate, short critical section that anyone may run:
 * the applier, a new thread that just started, a core that just parked.
 * Whoever finds every ACTIVE CPU running and every LEAVING CPU parked
 * sends RF_REPLY_ACK on the reply ring (waking rfd only if it sleeps) and
 * mirrors it in status.applied_gen.  So the ack goes out from the very
 * thread that finished the last step, with no extra hop.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "librf/internal.h"

static struct rf_desc scratch;   /* under reconfig_lock */
static uint32_t last_seen_gen;   /* under reconfig_lock */
static bool shutdown_asked;      /* under reconfig_lock: RF_CMD_SHUTDOWN came */

int lrf_desc_read(struct rf_desc *out)
{
	const struct rf_desc *d = lrf_g.desc;

	for (long tries = 0; tries < 1000000; tries++) {
		uint32_t s1 = __atomic_load_n(&d->seq, __ATOMIC_ACQUIRE), s2;
		if (s1 & 1) {
			base_cpu_relax();
			continue;
		}
		memcpy(out, (const void *)d, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&d->seq, __ATOMIC_RELAXED);
		if (s1 == s2)
			return 0;
	}
	return -1;
}

int lrf_desc_validate(const struct rf_desc *d, char *why, size_t len)
{
	uint32_t active = 0;

	if (d->magic != RF_DESC_MAGIC)
		return snprintf(why, len, "bad desc magic %#x", d->magic), -1;
	if (d->abi != RF_DESC_ABI)
		return snprintf(why, len, "desc abi %u, librf speaks %u", d->abi, RF_DESC_ABI), -1;
	if (!memchr(d->name, 0, RF_NAME_MAX))
		return snprintf(why, len, "desc name not terminated"), -1;
	for (int c = 0; c < RF_MAX_CPUS; c++) {
		if (d->cpu[c] > RF_CPU_LEAVING)
			return snprintf(why, len, "cpu %d: bad state %u", c, d->cpu[c]), -1;
		active += d->cpu[c] == RF_CPU_ACTIVE;
	}
	if (active != d->ncpus)
		return snprintf(why, len, "ncpus %u but %u cpus active", d->ncpus, active), -1;
	/* No active cpu and no shutdown: a pause (core.c, hold_paused). */
	for (int r = 0; r < RF_MAX_REGIONS; r++) {
		const struct rf_desc_region *g = &d->region[r];
		if (g->state > RF_REGION_RECLAIM)
			return snprintf(why, len, "region %d: bad state %u", r, g->state), -1;
		if (g->state == RF_REGION_OFFERED &&
		    (!g->size || g->size % RF_SEG || g->size > (60ull << 30)))
			return snprintf(why, len, "region %d: bad size %llu", r,
					(unsigned long long)g->size), -1;
	}
	return 0;
}

void lrf_reconfig_try_complete(void)
{
	const struct rf_desc *d = &lrf_g.snap;
	struct rf_status *st = lrf_g.status;
	bool done = true;

	lrf_spin_lock(&lrf_g.complete_lock);
	if (lrf_g.pending_gen == lrf_g.applied_gen && lrf_g.applied_gen)
		goto out;
	for (int cpu = 0; cpu < RF_MAX_CPUS && done; cpu++) {
		uint32_t s = __atomic_load_n(&st->core[cpu].state, __ATOMIC_ACQUIRE);
		if (d->cpu[cpu] == RF_CPU_ACTIVE)
			done = s == RF_CORE_RUNNING;
		else
			done = s != RF_CORE_RUNNING;
	}
	if (done) {
		lrf_g.applied_gen = lrf_g.pending_gen;
		__atomic_store_n(&st->applied_gen, lrf_g.pending_gen, __ATOMIC_RELEASE);
		__atomic_fetch_add(&st->ack, 1, __ATOMIC_RELEASE);
		lrf_link_reply_locked(RF_REPLY_ACK, lrf_g.pending_gen);
	}
out:
	lrf_spin_unlock(&lrf_g.complete_lock);
}

/* Test mode: stop every core thread instead of ending the process. */
void lrf_stop_all(void)
{
	__atomic_store_n(&lrf_g.stopped, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < rf_ncores_max(); i++) {
		struct lrf_core *c = lrf_g.cores[i];
		__atomic_fetch_or(&c->req, RF_REQ_STOP, __ATOMIC_SEQ_CST);
		lrf_core_ring(c);
	}
}

static void shutdown_now(const struct rf_desc *d)
{
	struct rf_status *st = lrf_g.status;

	lrf_run_exit_hooks();
	lrf_spin_lock(&lrf_g.complete_lock);
	__atomic_store_n(&st->applied_gen, d->gen, __ATOMIC_RELEASE);
	__atomic_fetch_add(&st->ack, 1, __ATOMIC_RELEASE);
	lrf_link_reply_locked(RF_REPLY_ACK, d->gen);
	lrf_spin_unlock(&lrf_g.complete_lock);
	if (lrf_g.no_exit) {
		lrf_stop_all();
		return;
	}
	fflush(NULL);
	exit(0);
}

static void apply_cpus(const struct rf_desc *d)
{
	for (int cpu = 0; cpu < RF_MAX_CPUS; cpu++) {
		struct lrf_core *c = lrf_g.cpu_core[cpu];
		if (d->cpu[cpu] == RF_CPU_ACTIVE) {
			if (!c) {
				c = lrf_core_create(cpu);
				if (!c) {
					fprintf(stderr, "librf: no memory for cpu %d\n", cpu);
					continue;
				}
				c->announce = 1;
				lrf_core_start_thread(c);
			} else if (!c->has_thread) {
				lrf_core_start_thread(c);  /* an earlier start failed */
			} else {
				lrf_core_resume(c);
			}
		} else if (c && __atomic_load_n(&c->running, __ATOMIC_ACQUIRE)) {
			__atomic_fetch_or(&c->req, RF_REQ_LEAVE, __ATOMIC_SEQ_CST);
			if (c != lrf_self())
				lrf_core_kick(c);
		}
	}
}

static void apply_one(const struct rf_desc *d)
{
	uint64_t wait = d->deadline_ns ? d->deadline_ns / 2 : 100000000ull;

	if (d->shutdown) {
		shutdown_now(d);
		return;
	}
	lrf_regions_apply(d, rf_now_ns() + (wait > 100000000ull ? 100000000ull : wait));
	apply_cpus(d);
	lrf_spin_lock(&lrf_g.complete_lock);
	memcpy(&lrf_g.snap, d, sizeof(*d));
	lrf_g.pending_gen = d->gen;
	lrf_spin_unlock(&lrf_g.complete_lock);
	lrf_reconfig_try_complete();
}

/* Take rfd's commands and apply the desc's latest generation, once.
 * Under reconfig_lock.  One generation per call, not "until the desc stops
 * changing": when rfd announces the next change as soon as the last one is
 * acknowledged, such a loop kept the applying core there for as long as
 * rfd kept going, running none of its fibers (and, draining only on entry,
 * let rfd's commands fill the ring).  Nothing is missed by returning: a
 * generation published after the drain comes with a command after it, so
 * the ring's tail moves and the next scheduler pass calls us again. */
int lrf_reconfig_apply_locked(void)
{
	char why[128];
	uint32_t gen;

	lrf_link_drain(&shutdown_asked);
	gen = __atomic_load_n(&lrf_g.desc->gen, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&lrf_g.stopped, __ATOMIC_ACQUIRE) ||
	    (gen == last_seen_gen && !shutdown_asked))
		return 0;
	if (lrf_desc_read(&scratch) < 0)
		return -1;  /* rfd mid-write for long: retry next pass */
	last_seen_gen = scratch.gen;
	if (shutdown_asked)
		shutdown_now(&scratch);  /* tests: stops the cores, returns */
	else if (lrf_desc_validate(&scratch, why, sizeof(why)) < 0)
		fprintf(stderr, "librf: ignoring desc gen %u: %s\n", scratch.gen, why);
	else
		apply_one(&scratch);
	return 0;
}

void lrf_reconfig_set_seen(uint32_t gen)
{
	last_seen_gen = gen;
	shutdown_asked = false;
}

/* Is rfd asking for a region back in the current desc? */
static bool reclaiming(void)
{
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		if (lrf_regions[i].base && rf_mem_reclaiming(lrf_regions[i].base))
			return true;
	return false;
}

/* Give back empty slabs and pooled stacks once per generation, so a
 * region reclaim is not refused because of a cache; when a region is
 * being reclaimed, the application's reclaim hooks free what they can of
 * it first (rf_on_mem_reclaim), so their frees are trimmed too. */
void lrf_reconfig_trim(struct lrf_core *c, uint32_t gen)
{
	if (__atomic_load_n(&c->trim_gen, __ATOMIC_RELAXED) == gen)
		return;
	if (reclaiming())
		lrf_run_reclaim_hooks();
	lrf_heap_trim(c->heap);
	lrf_fiber_pool_trim(c);
	__atomic_store_n(&c->trim_gen, gen, __ATOMIC_RELEASE);
}

void lrf_reconfig_check(struct lrf_core *c)
{
	uint64_t tail = __atomic_load_n(lrf_g.cmd_tail, __ATOMIC_ACQUIRE);

	if (tail == c->seen_cmds)
		return;
	/* Apply first (latency matters to rfd), trim after.  A core that
	 * finds the lock taken keeps seen_cmds and retries next pass. */
	if (lrf_spin_trylock(&lrf_g.reconfig_lock)) {
		if (lrf_reconfig_apply_locked() == 0)
			c->seen_cmds = tail;
		lrf_spin_unlock(&lrf_g.reconfig_lock);
	}
	lrf_reconfig_trim(c, __atomic_load_n(&lrf_g.desc->gen, __ATOMIC_ACQUIRE));
}
