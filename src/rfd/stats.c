/*
 * stats.c - reading a subOS's stats page and status page for rfm top and
 * /metrics (see stats.h).
 *
 * The pages are the subOS's to write while rfd reads: every slot is read
 * with atomic loads of whole words and refused if its counts are
 * implausible (base/lathist.h); busy times are bounded by the time since
 * boot.  Which slots are read is rfd's choice, not the subOS's: the CPUs
 * the subOS holds, and those whose status says a librf thread ran there
 * (a CPU it held before a resize keeps its counts; at most RF_MAX_CPUS
 * pages, of the subOS's own memfd).
 */
#include "rfd/rfd.h"
#include "rfd/cpustat.h"
#include "rfd/hwc.h"
#include "rfd/policy.h"
#include "rfd/probe.h"
#include "rfd/stats.h"
#include "rfd/subos.h"

#include <stdlib.h>
#include <string.h>
#include "base/time.h"

static void cpus_to_read(const struct rfd_subos *s, struct base_cpuset *out)
{
	*out = s->cpus;
	for (int c = 0; c < RF_MAX_CPUS; c++) {
		uint32_t state = __atomic_load_n(&s->status->core[c].state, __ATOMIC_RELAXED);
		if (state == RF_CORE_RUNNING || state == RF_CORE_PARKED)
			base_cpuset_set(out, c);
	}
}

void rfd_stats_core_time(const struct rfd_subos *s, int c, uint64_t *busy, uint64_t *idle)
{
	uint64_t limit = base_now_ns();
	*busy = *idle = 0;
	if (s->kind == RF_KIND_LINUX) {
		rfd_cpustat_since(s->busy_base, rfd_cpustat_now(), c, busy, idle);
		return;
	}
	if (!s->status || c < 0 || c >= RF_MAX_CPUS)
		return;
	uint64_t b = __atomic_load_n(&s->status->core[c].busy_ns, __ATOMIC_RELAXED);
	uint64_t i = __atomic_load_n(&s->status->core[c].idle_ns, __ATOMIC_RELAXED);
	*busy = b <= limit ? b : 0;
	*idle = i <= limit ? i : 0;
}

/* Merge one slot's two histograms, or neither. */
static void add_slot(struct rfd_stats *st, const struct rf_stats_core *slot)
{
	struct base_lat lat = { 0 }, wait = { 0 };
	if (base_lat_add_slot(&lat, &slot->lat) || base_lat_add_slot(&wait, &slot->wait)) {
		st->refused++;
		return;
	}
	base_lat_merge(&st->lat, &lat);
	base_lat_merge(&st->wait, &wait);
}

bool rfd_stats_read(const struct rfd_subos *s, struct rfd_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (s->kind == RF_KIND_LINUX && rfd_probe_lat(s)) {
		st->lat = *rfd_probe_lat(s);
		return st->probe = true;
	}
	if (s->kind != RF_KIND_LIBOS || !s->status)
		return false;
	st->page = st->busy = true;
	const struct rf_stats_core *slots = rf_status_stats(s->status);
	cpus_to_read(s, &st->cpus);
	for_each_cpu(c, &st->cpus) {
		uint64_t busy, idle;
		add_slot(st, &slots[c]);
		rfd_stats_core_time(s, c, &busy, &idle);
		st->busy_ns += busy;
		st->idle_ns += idle;
	}
	add_slot(st, &slots[RF_STATS_FOREIGN]);
	return true;
}

void rfd_stats_busy(struct rfd_subos *s, struct rfd_stats *st)
{
	const struct rfd_cpustat *now;
	if (s->kind != RF_KIND_LINUX || s->life != RF_LIFE_RUNNING || !(now = rfd_cpustat_now()) ||
	    rfd_cpustat_track(&s->busy_base, &s->cpus, now))
		return;
	st->busy = true;
	st->cpus = s->busy_base->have;
	st->busy_ns = st->idle_ns = 0;
	for_each_cpu(c, &st->cpus) {
		uint64_t busy, idle;
		rfd_cpustat_since(s->busy_base, now, c, &busy, &idle);
		st->busy_ns += busy;
		st->idle_ns += idle;
	}
}

/* A histogram as the protocol carries it: its sum and its non-empty
 * buckets as [index, count] pairs (docs/protocol.md, "stats"). */
static struct json_object *lat_json(const struct base_lat *h)
{
	struct json_object *o = json_object_new_object(), *b = json_object_new_array();
	json_object_object_add(o, "count", json_object_new_int64((int64_t)h->count));
	json_object_object_add(o, "sum_ns", json_object_new_double(h->sum_ns));
	for (unsigned i = 0; i < RF_LAT_BUCKETS; i++) {
		if (!h->bucket[i])
			continue;
		struct json_object *pair = json_object_new_array();
		json_object_array_add(pair, json_object_new_int((int)i));
		json_object_array_add(pair, json_object_new_int64((int64_t)h->bucket[i]));
		json_object_array_add(b, pair);
	}
	json_object_object_add(o, "buckets", b);
	return o;
}

static struct json_object *cpus_json(const struct rfd_subos *s, const struct base_cpuset *cpus)
{
	struct json_object *arr = json_object_new_array();
	for_each_cpu(c, cpus) {
		uint64_t busy, idle;
		struct json_object *o = json_object_new_object();
		rfd_stats_core_time(s, c, &busy, &idle);
		json_object_object_add(o, "cpu", json_object_new_int(c));
		json_object_object_add(o, "busy_ns", json_object_new_int64((int64_t)busy));
		json_object_object_add(o, "idle_ns", json_object_new_int64((int64_t)idle));
		json_object_array_add(arr, o);
	}
	return arr;
}

void rfd_stats_rfloop_json(struct json_object *o, const struct rf_status_core *sc)
{
	json_object_object_add(o, "rfloop_conns", json_object_new_int64(
		(int64_t)(__atomic_load_n(&sc->rfloop_conns, __ATOMIC_RELAXED) & INT64_MAX)));
	json_object_object_add(o, "rfloop_bytes", json_object_new_int64(
		(int64_t)(__atomic_load_n(&sc->rfloop_bytes, __ATOMIC_RELAXED) & INT64_MAX)));
	json_object_object_add(o, "rfloop_wakes", json_object_new_int64(
		(int64_t)__atomic_load_n(&sc->rfloop_wakes, __ATOMIC_RELAXED)));
}

/* The RFloop connections librf served natively on the cores read, summed
 * (the subOS's own counts: reported, never acted on). */
static struct json_object *rfloop_totals(const struct rfd_subos *s, const struct base_cpuset *cpus)
{
	struct rf_status_core sum = { 0 };
	struct json_object *o = json_object_new_object();
	for_each_cpu(c, cpus) {
		const struct rf_status_core *sc = &s->status->core[c];
		sum.rfloop_conns += __atomic_load_n(&sc->rfloop_conns, __ATOMIC_RELAXED);
		sum.rfloop_bytes += __atomic_load_n(&sc->rfloop_bytes, __ATOMIC_RELAXED);
		sum.rfloop_wakes += __atomic_load_n(&sc->rfloop_wakes, __ATOMIC_RELAXED);
	}
	rfd_stats_rfloop_json(o, &sum);
	return o;
}

bool rfd_stats_counters(struct rfd_subos *s, uint64_t *v, bool *ok)
{
	const struct rfd_hwc_now *now;
	bool any = false;
	if (s->life != RF_LIFE_RUNNING || !(now = rfd_hwc_read(&s->cpus)) ||
	    rfd_hwc_track(&s->hwc_base, &s->cpus, now))
		return false;
	for (int e = 0; e < RFD_HWC_N; e++) {
		ok[e] = now->ok[e];
		v[e] = ok[e] ? rfd_hwc_since(s->hwc_base, now, (enum rfd_hwc_event)e) : 0;
		any |= ok[e];
	}
	return any;
}

static void counters_json(struct json_object *o, struct rfd_subos *s)
{
	uint64_t v[RFD_HWC_N];
	bool ok[RFD_HWC_N];
	if (!rfd_stats_counters(s, v, ok))
		return;
	struct json_object *c = json_object_new_object();
	for (int e = 0; e < RFD_HWC_N; e++)
		if (ok[e])
			json_object_object_add(c, rfd_hwc_name((enum rfd_hwc_event)e),
					       json_object_new_int64((int64_t)(v[e] & INT64_MAX)));
	json_object_object_add(o, "counters", c);
}

/* What there is of s's activity: its requests' latency (a libos subOS's
 * page, or a linux subOS's probe), librf's queueing delay, busy time. */
static void activity_json(struct json_object *o, struct rfd_subos *s, struct rfd_stats *st)
{
	rfd_stats_read(s, st);
	rfd_stats_busy(s, st);
	if (st->page || st->probe) {
		json_object_object_add(o, "requests", json_object_new_int64((int64_t)st->lat.count));
		json_object_object_add(o, "lat", lat_json(&st->lat));
	}
	if (st->probe)
		json_object_object_add(o, "probe_status", rfd_probe_json(s));
	if (st->page)
		json_object_object_add(o, "wait", lat_json(&st->wait));
	if (st->busy) {
		json_object_object_add(o, "busy_ns", json_object_new_int64((int64_t)st->busy_ns));
		json_object_object_add(o, "idle_ns", json_object_new_int64((int64_t)st->idle_ns));
		json_object_object_add(o, "cpus", cpus_json(s, &st->cpus));
	}
	if (st->page) {
		json_object_object_add(o, "rfloop", rfloop_totals(s, &st->cpus));
		json_object_object_add(o, "refused_slots", json_object_new_int(st->refused));
	}
	counters_json(o, s);
}

static struct json_object *subos_stats(struct rfd *d, struct rfd_subos *s)
{
	struct rfd_stats *st = malloc(sizeof(*st));
	struct json_object *o = rfd_subos_json(d, s, false), *recent = json_object_new_array();
	if (st)
		activity_json(o, s, st);
	free(st);
	for (int i = 0; i < RFD_RECENT; i++)
		if (s->recent[i])
			json_object_array_add(recent, json_object_get(s->recent[i]));
	json_object_object_add(o, "recent", recent);
	json_object_object_add(o, "policy", rfd_policy_json(d, s)); /* null: none */
	return o;
}

struct json_object *rfd_stats_json(struct rfd *d, const char *only)
{
	struct json_object *arr = json_object_new_array(), *r = json_object_new_object();
	for (int i = 0; i < RF_MAX_SUBOS; i++)
		if (d->subos[i] && (!only || strcmp(d->subos[i]->name, only) == 0))
			json_object_array_add(arr, subos_stats(d, d->subos[i]));
	json_object_object_add(r, "time_ns", json_object_new_int64((int64_t)base_now_ns()));
	json_object_object_add(r, "bucket_unit_shift", json_object_new_int(RF_LAT_UNIT_SHIFT));
	json_object_object_add(r, "subos", arr);
	return r;
}
