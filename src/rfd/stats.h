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
};

/* Read s's pages (libos with a status page: true; else false and *st
 * empty).  Every word is bounds-checked; nothing read is trusted beyond
 * being reported. */
bool rfd_stats_read(const struct rfd_subos *s, struct rfd_stats *st);
/* CPU c's busy and idle time as the subOS reports it, each bounded by
 * the time since boot (0 if beyond). */
void rfd_stats_core_time(const struct rfd_subos *s, int c, uint64_t *busy, uint64_t *idle);
/* A core's RFloop counters (include/rf/desc.h) as rfloop_conns,
 * rfloop_bytes and rfloop_wakes of object o: `show`'s cores_detail, and
 * summed as `stats`' "rfloop". */
void rfd_stats_rfloop_json(struct json_object *o, const struct rf_status_core *sc);
/* The `stats` verb's answer: every subOS (or only `only`), docs/protocol.md. */
struct json_object *rfd_stats_json(struct rfd *d, const char *only);

#endif
