/*
 * hwc.h - per-subOS performance counters (hwc.c): cycles, instructions
 * and last-level-cache misses where the host's PMU allows, and the
 * kernel's software counts of context switches, page faults and CPU
 * migrations (which every kernel has: they tell interference apart from
 * a slow program even on a VM without a PMU).
 *
 * A subOS's cores are its own, so rfd counts per CPU (perf_event_open
 * with pid -1 on each core, not per task: no inheritance to follow across
 * a subOS's forks and threads, and one set of counters per core however
 * many subOSes come and go).  What a core counted while a subOS held it
 * is the subOS's, as with its busy time (cpustat.h): the counts start
 * when rfd first reports the core for the subOS.  They include the
 * kernel's work on the core and, without `rfd --shield`, host tasks the
 * cpuset lets run there.
 *
 * The counters are opened the first time a core is asked about and kept
 * open.  An event the host refuses (no PMU in the VM, ENOENT; a paranoid
 * setting, EACCES) is given up on at its first refusal, and `rfm info`
 * says which and why; the rest works as before.
 */
#ifndef RF_RFD_HWC_H
#define RF_RFD_HWC_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "base/cpuset.h"
#include "rf/desc.h"

enum rfd_hwc_event {
	RFD_HWC_CYCLES, RFD_HWC_INSTRUCTIONS, RFD_HWC_LLC_MISSES,
	RFD_HWC_CSWITCHES, RFD_HWC_FAULTS, RFD_HWC_MIGRATIONS, RFD_HWC_N
};

/* The counts now, per event and CPU; ok[e]: event e is counted. */
struct rfd_hwc_now {
	struct base_cpuset have;   /* the CPUs read */
	bool ok[RFD_HWC_N];
	uint64_t v[RFD_HWC_N][RF_MAX_CPUS];
};

/* One subOS's baselines: each core's counts when first reported for it. */
struct rfd_hwc_base {
	struct base_cpuset have;
	uint64_t v[RFD_HWC_N][RF_MAX_CPUS];
};

/* The event's name in JSON and metrics ("cycles", "llc_misses", ...). */
const char *rfd_hwc_name(enum rfd_hwc_event e);
/* Read the counters of cpus (opening those not yet open): a snapshot
 * shared by the callers of one answer, or NULL if nothing is counted. */
const struct rfd_hwc_now *rfd_hwc_read(const struct base_cpuset *cpus);
/* Keep *base in step with the cores the subOS holds now: a core it no
 * longer holds is forgotten, a new one gets its baseline from now.
 * 0, or -1 (no memory). */
int rfd_hwc_track(struct rfd_hwc_base **base, const struct base_cpuset *held,
		  const struct rfd_hwc_now *now);
/* Event e counted on the cores of base since each was first reported. */
uint64_t rfd_hwc_since(const struct rfd_hwc_base *base, const struct rfd_hwc_now *now,
		       enum rfd_hwc_event e);
/* `info`'s "counters": which events are counted, and for the refused
 * ones the first refusal ({"counted": [...], "unavailable": {event:
 * reason}}); before any core was asked about, rfd opens CPU 0's to know. */
struct json_object *rfd_hwc_info_json(void);
/* Close every counter (rfd's exit). */
void rfd_hwc_close(void);

#endif
