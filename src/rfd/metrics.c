/*
 * metrics.c - what rfd's /metrics says: every subOS's cores, memory,
 * requests, latency and queueing-delay histograms and per-core busy time
 * (from its pages, stats.c), and rfd's own journal, pool and policy
 * counters, in the Prometheus text format (base/prom.h).
 *
 * Histogram bounds are fixed decimal steps from 1 us to 10 s, the usual
 * Prometheus choice; the stats page's finer buckets (12.5 %) are summed
 * into them, a straddling bucket under the next bound (base_lat_cumulative).
 */
#include "rfd/rfd.h"
#include "rfd/metrics.h"
#include "rfd/hwc.h"
#include "rfd/probe.h"
#include "rfd/stats.h"
#include "rfd/subos.h"

#include <stdio.h>
#include <stdlib.h>
#include "base/prom.h"

static const uint64_t le_ns[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 25000000, 50000000, 100000000,
	250000000, 500000000, 1000000000, 2500000000ull, 5000000000ull, 10000000000ull,
};
#define NLE ((int)(sizeof(le_ns) / sizeof(le_ns[0])))

static void histogram(struct base_prom *p, const char *name, const char *const *labels,
		      const struct base_lat *h)
{
	double le[NLE];
	uint64_t cum[NLE];
	for (int i = 0; i < NLE; i++)
		le[i] = (double)le_ns[i] / 1e9;
	base_lat_cumulative(h, le_ns, NLE, cum);
	base_prom_histogram(p, name, labels, le, cum, NLE, h->count, h->sum_ns / 1e9);
}

/* One family over every subOS; `one` writes a subOS's samples of it. */
typedef void (*per_subos_fn)(struct base_prom *p, const char *name, const struct rfd_subos *s,
			     const char *const *labels, const struct rfd_stats *st);

static void family(struct rfd *d, struct base_prom *p, struct rfd_stats **st, const char *name,
		   const char *type, const char *help, per_subos_fn one)
{
	base_prom_family(p, name, type, help);
	for (int i = 0; i < RF_MAX_SUBOS; i++) {
		const struct rfd_subos *s = d->subos[i];
		if (!s || !st[i])
			continue;
		const char *labels[] = { "subos", s->name, "kind", base_kind_name(s->kind), NULL };
		one(p, name, s, labels, st[i]);
	}
}

static void m_cores(struct base_prom *p, const char *name, const struct rfd_subos *s,
		    const char *const *labels, const struct rfd_stats *st)
{
	base_prom_sample_u64(p, name, labels, (uint64_t)base_cpuset_count(&s->cpus));
}

static void m_mem(struct base_prom *p, const char *name, const struct rfd_subos *s,
		  const char *const *labels, const struct rfd_stats *st)
{
	base_prom_sample_u64(p, name, labels, s->mem);
}

/* Requests and their latency: a libos subOS's stats page, or a linux
 * subOS's probe (probe.h); queueing delay and refused slots: the page. */
static void m_requests(struct base_prom *p, const char *name, const struct rfd_subos *s,
		       const char *const *labels, const struct rfd_stats *st)
{
	if (st->page || st->probe)
		base_prom_sample_u64(p, name, labels, st->lat.count);
}

static void m_lat(struct base_prom *p, const char *name, const struct rfd_subos *s,
		  const char *const *labels, const struct rfd_stats *st)
{
	if (st->page || st->probe)
		histogram(p, name, labels, &st->lat);
}

static void m_probe_failures(struct base_prom *p, const char *name, const struct rfd_subos *s,
			     const char *const *labels, const struct rfd_stats *st)
{
	if (st->probe)
		base_prom_sample_u64(p, name, labels, rfd_probe_failures(s));
}

static void m_wait(struct base_prom *p, const char *name, const struct rfd_subos *s,
		   const char *const *labels, const struct rfd_stats *st)
{
	if (st->page)
		histogram(p, name, labels, &st->wait);
}

static void m_refused(struct base_prom *p, const char *name, const struct rfd_subos *s,
		      const char *const *labels, const struct rfd_stats *st)
{
	if (st->page)
		base_prom_sample_u64(p, name, labels, (uint64_t)st->refused);
}

/* Per core: librf's accounting (libos), /proc/stat's (linux, cpustat.h). */
static void m_busy(struct base_prom *p, const char *name, const struct rfd_subos *s,
		   const char *const *labels, const struct rfd_stats *st)
{
	if (!st->busy)
		return;
	for_each_cpu(c, &st->cpus) {
		char cpu[16];
		uint64_t busy, idle;
		snprintf(cpu, sizeof(cpu), "%d", c);
		const char *l[] = { labels[0], labels[1], labels[2], labels[3], "cpu", cpu, NULL };
		rfd_stats_core_time(s, c, &busy, &idle);
		base_prom_sample(p, name, l, (double)busy / 1e9);
	}
}

static void subos_families(struct rfd *d, struct base_prom *p, struct rfd_stats **st)
{
	family(d, p, st, "rainforest_subos_cores", "gauge", "Cores the subOS owns.", m_cores);
	family(d, p, st, "rainforest_subos_memory_bytes", "gauge",
	       "Memory the subOS holds, in bytes.", m_mem);
	family(d, p, st, "rainforest_subos_requests_total", "counter",
	       "Requests the subOS recorded with rf_latency_record (libos), or rfd's probe "
	       "requests that ended (linux).", m_requests);
	family(d, p, st, "rainforest_subos_latency_seconds", "histogram",
	       "Request time from arrival to reply, as the service recorded it (libos) or "
	       "rfd's probe measured it (linux; a failure counts as the probe's timeout).", m_lat);
	family(d, p, st, "rainforest_subos_probe_failures_total", "counter",
	       "Probe requests that failed (no reply in time, an error reply, a lost "
	       "connection), each counted in the latency histogram at the timeout.",
	       m_probe_failures);
	family(d, p, st, "rainforest_subos_queueing_delay_seconds", "histogram",
	       "How long runnable fibers waited before librf ran them.", m_wait);
	family(d, p, st, "rainforest_subos_core_busy_seconds_total", "counter",
	       "Time each core of the subOS spent running work (libos: librf's accounting; "
	       "linux: the kernel's, /proc/stat, since rfd first reported the core).", m_busy);
	family(d, p, st, "rainforest_subos_stats_refused_slots", "gauge",
	       "Per-core stats slots rfd refused as implausible (a corrupt stats page).",
	       m_refused);
}

/* The performance counters (hwc.h): one family per event the host counts,
 * each subOS's count since rfd first saw each of its cores. */
static void counter_families(struct rfd *d, struct base_prom *p)
{
	static uint64_t v[RF_MAX_SUBOS][RFD_HWC_N];
	static bool ok[RF_MAX_SUBOS][RFD_HWC_N], any[RF_MAX_SUBOS];
	for (int i = 0; i < RF_MAX_SUBOS; i++)
		any[i] = d->subos[i] && rfd_stats_counters(d->subos[i], v[i], ok[i]);
	for (int e = 0; e < RFD_HWC_N; e++) {
		char name[96], help[160];
		bool listed = false;
		snprintf(name, sizeof(name), "rainforest_subos_%s_total",
			 rfd_hwc_name((enum rfd_hwc_event)e));
		snprintf(help, sizeof(help), "The subOS's cores' %s (perf_event_open per core), "
			 "since rfd first reported each core for it.",
			 rfd_hwc_name((enum rfd_hwc_event)e));
		for (int i = 0; i < RF_MAX_SUBOS; i++) {
			const struct rfd_subos *s = d->subos[i];
			if (!any[i] || !ok[i][e])
				continue;
			if (!listed)
				base_prom_family(p, name, "counter", help);
			listed = true;
			const char *labels[] = { "subos", s->name, "kind", base_kind_name(s->kind),
						 NULL };
			base_prom_sample_u64(p, name, labels, v[i][e]);
		}
	}
}

static void rfd_families(struct rfd *d, struct base_prom *p)
{
	struct rfd_pool_counts pc;
	rfd_pool_counts(&d->pool, &pc);
	base_prom_family(p, "rainforest_journal_bytes", "gauge", "Bytes in the live journal.");
	base_prom_sample_u64(p, "rainforest_journal_bytes", NULL, (uint64_t)d->journal.size);
	base_prom_family(p, "rainforest_journal_records_total", "counter",
			 "Journal records written since rfd started.");
	base_prom_sample_u64(p, "rainforest_journal_records_total", NULL, d->journal.appended);
	base_prom_family(p, "rainforest_journal_written_bytes_total", "counter",
			 "Journal bytes written since rfd started.");
	base_prom_sample_u64(p, "rainforest_journal_written_bytes_total", NULL,
			     d->journal.appended_bytes);
	base_prom_family(p, "rainforest_pool_chunks", "gauge",
			 "Memory pool chunks by state (ready: pre-faulted, owned: handed out, "
			 "refilling: being made ready again).");
	const char *st_ready[] = { "state", "ready", NULL }, *st_owned[] = { "state", "owned", NULL },
		   *st_refill[] = { "state", "refilling", NULL };
	base_prom_sample_u64(p, "rainforest_pool_chunks", st_ready, (uint64_t)pc.ready);
	base_prom_sample_u64(p, "rainforest_pool_chunks", st_owned, (uint64_t)pc.owned);
	base_prom_sample_u64(p, "rainforest_pool_chunks", st_refill, (uint64_t)pc.refilling);
	base_prom_family(p, "rainforest_pool_refills_total", "counter",
			 "Fresh chunks the pool populated since rfd started.");
	base_prom_sample_u64(p, "rainforest_pool_refills_total", NULL, pc.refills);
	base_prom_family(p, "rainforest_policy_moves_total", "counter",
			 "Core moves the elastic policy made (its journal records).");
	base_prom_sample_u64(p, "rainforest_policy_moves_total", NULL, d->journal.policy_records);
}

void rfd_metrics_write(struct rfd *d, struct base_prom *p)
{
	/* Each subOS's pages are read once per scrape, then written out. */
	struct rfd_stats **st = calloc(RF_MAX_SUBOS, sizeof(*st));
	for (int i = 0; st && i < RF_MAX_SUBOS; i++) {
		if (d->subos[i] && !(st[i] = malloc(sizeof(*st[i]))))
			p->failed = true;
		if (st[i]) {
			rfd_stats_read(d->subos[i], st[i]);
			rfd_stats_busy(d->subos[i], st[i]);
		}
	}
	if (st && !p->failed) {
		subos_families(d, p, st);
		counter_families(d, p);
		rfd_families(d, p);
	}
	for (int i = 0; st && i < RF_MAX_SUBOS; i++)
		free(st[i]);
	p->failed |= !st;
	free(st);
}
