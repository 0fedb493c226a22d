/*
 * cpustat.h - a linux subOS's per-core busy time (cpustat.c), from the
 * kernel's per-CPU accounting in /proc/stat.
 *
 * A linux subOS has no stats page, but its cores are its own (the
 * partition table gives each core one owner, enforcement confines the
 * subOS to them), so what a core ran while the subOS held it is the
 * subOS's: busy = user + nice + system + irq + softirq + steal, idle =
 * idle + iowait.  It also counts the kernel's own work on that core and,
 * without `rfd --shield`, host tasks the cpuset does not keep away (as
 * rfm info says).  The counters start when rfd first reports the core
 * for the subOS (a baseline then), so they hold only the subOS's time;
 * a restarted rfd starts them again (a counter reset to Prometheus).
 * Resolution: the kernel's tick (USER_HZ, 10 ms).
 */
#ifndef RF_RFD_CPUSTAT_H
#define RF_RFD_CPUSTAT_H

#include <stdint.h>
#include "base/cpuset.h"
#include "rf/desc.h"

struct rfd_cpustat {
	struct base_cpuset have;          /* the CPUs /proc/stat listed */
	uint64_t busy_ns[RF_MAX_CPUS], idle_ns[RF_MAX_CPUS];
};

/* The baselines of one subOS: each core's figures when first reported. */
struct rfd_cpu_base {
	struct base_cpuset have;
	uint64_t busy_ns[RF_MAX_CPUS], idle_ns[RF_MAX_CPUS];
};

/* Parse /proc/stat's text (NUL-terminated; hz: its tick rate) into out.
 * 0, or -1 if a cpuN line is malformed or there is none. */
int rfd_cpustat_parse(const char *text, long hz, struct rfd_cpustat *out);
/* Read and parse the file at path: 0, or -errno (-EINVAL: malformed). */
int rfd_cpustat_read(const char *path, struct rfd_cpustat *out);
/* /proc/stat now, read at most once a millisecond (a scrape or a stats
 * answer reads it once, whatever the number of subOSes), or NULL if it
 * cannot be read (logged once). */
const struct rfd_cpustat *rfd_cpustat_now(void);
/* Keep *base (made if NULL) to the cores held: a baseline for each core
 * new to it, none for a core it no longer holds.  0, or -1 (no memory). */
int rfd_cpustat_track(struct rfd_cpu_base **base, const struct base_cpuset *held,
		      const struct rfd_cpustat *now);
/* Core c's busy and idle ns since its baseline (0 if it has none). */
void rfd_cpustat_since(const struct rfd_cpu_base *base, const struct rfd_cpustat *now, int c,
		       uint64_t *busy, uint64_t *idle);

#endif
