/*
 * stats.h - what rfd reads of a subOS's activity (stats.c): its stats page
 * (latency and queueing-delay histograms, include/rf/desc.h), its cores'
 * busy time from the status page, and its recent journal records.  The
 * `stats` verb (rfm top) and /metrics (metrics.c) are built on it.
 */
#ifndef RF_RFD_STATS_H
#define RF_RFD_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "base/cpuset.h"
#include "base/lathist.h"

struct rfd;
struct rfd_subos;

struct rfd_stats {
	struct base_lat lat;  /* rf_latency_record: the requests */
	struct base_lat wait; /* librf's queueing delay */
	uint64_t busy_ns, idle_ns; /* over every CPU read */
	struct base_cpuset cpus;   /* the CPUs whose slots were read */
	int refused;          /* slots that failed the bounds checks */
	bool page;            /* a libos subOS's stats page: all of the above */
	bool probe;           /* a linux subOS's probe (probe.h): lat only */
	bool busy;            /* busy_ns, idle_ns and cpus mean something */
};

/* Read s's latency signal: a libos subOS's pages (every word
 * bounds-checked; nothing read is trusted beyond being reported), or a
 * linux subOS's probe (lat only).  True if there was either; else false
 * and *st empty.  Memory reads only: the policy's tick calls it. */
bool rfd_stats_read(const struct rfd_subos *s, struct rfd_stats *st);
/* Add a linux subOS's busy time (cpustat.h: /proc/stat, read here) to
 * what rfd_stats_read filled; a libos subOS's came with its page. */
void rfd_stats_busy(struct rfd_subos *s, struct rfd_stats *st);
/* CPU c's busy and idle time: as a libos subOS reports it, each bounded
 * by the time since boot (0 if beyond); for a linux subOS, since rfd
 * first reported the core for it (after rfd_stats_busy). */
void rfd_stats_core_time(const struct rfd_subos *s, int c, uint64_t *busy, uint64_t *idle);
/* A core's RFloop counters (include/rf/desc.h) as rfloop_conns,
 * rfloop_bytes and rfloop_wakes of object o: `show`'s cores_detail, and
 * summed as `stats`' "rfloop". */
void rfd_stats_rfloop_json(struct json_object *o, const struct rf_status_core *sc);
/* s's performance counters (hwc.h) since rfd first saw each of its cores:
 * ok[e] says whether event e is counted.  False if none is (the subOS is
 * not running, or the host counts nothing). */
bool rfd_stats_counters(struct rfd_subos *s, uint64_t *v, bool *ok);
/* The `stats` verb's answer: every subOS (or only `only`), docs/protocol.md. */
struct json_object *rfd_stats_json(struct rfd *d, const char *only);

#endif
