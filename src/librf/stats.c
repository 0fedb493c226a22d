/*
 * stats.c - what librf writes on the subOS's stats page (include/rf/desc.h,
 * struct rf_stats_core): request latencies the service reports
 * (rf_latency_record) and how long runnable fibers waited before they ran
 * (the scheduler's queueing delay, recorded by sched.c with no help from
 * the application).
 *
 * Lock-free by ownership: a core thread writes only its own CPU's slot,
 * with plain load-add-store (no atomic read-modify-write, no line shared
 * with another writer), and rfd merges the slots.  Foreign threads share
 * one slot and use atomic adds.  Each slot is one page, written once when
 * its core starts so that recording never takes a page fault.
 */
#include "librf/internal.h"
#include "base/lathist.h"

static struct rf_stats_core *slot_of(int cpu)
{
	return &rf_status_stats(lrf_g.status)[cpu];
}

/* Single writer: the owner core.  Relaxed atomic loads and stores keep
 * every word whole for rfd, at the cost of plain moves. */
static inline void hist_add(struct rf_stats_hist *h, uint64_t ns)
{
	unsigned b = base_lat_bucket(ns);
	__atomic_store_n(&h->bucket[b], __atomic_load_n(&h->bucket[b], __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&h->sum_ns, __atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED) + ns,
			 __ATOMIC_RELAXED);
}

static void hist_add_shared(struct rf_stats_hist *h, uint64_t ns)
{
	__atomic_fetch_add(&h->bucket[base_lat_bucket(ns)], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_ns, ns, __ATOMIC_RELAXED);
}

void lrf_stats_core_up(struct lrf_core *c)
{
	struct rf_stats_core *s = slot_of(c->cpu);

	/* Fault the page in now, from its only writer (a rewrite of the value
	 * it holds changes nothing a reader could see). */
	__atomic_store_n(&s->lat.sum_ns, __atomic_load_n(&s->lat.sum_ns, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
}

void lrf_stats_wait(struct lrf_core *c, uint64_t ready_tsc, uint64_t now_tsc)
{
	if (rf_unlikely(!ready_tsc || now_tsc < ready_tsc))
		return; /* never stamped, or TSCs of two cores a hair apart */
	hist_add(&slot_of(c->cpu)->wait, lrf_clock_ticks_ns(now_tsc - ready_tsc));
}

void rf_latency_record(uint64_t ns)
{
	struct lrf_core *c = lrf_self();

	if (rf_unlikely(!lrf_g.status))
		return; /* before rf_main attached: nowhere to record */
	if (c)
		hist_add(&slot_of(c->cpu)->lat, ns);
	else
		hist_add_shared(&slot_of(RF_STATS_FOREIGN)->lat, ns);
}
