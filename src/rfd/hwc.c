/*
 * hwc.c - per-CPU performance counters for rfd's subOSes (see hwc.h for
 * what is counted and whose counts they are).
 *
 * One counting event per CPU and event, opened on first use and read with
 * read(2) (8 bytes: no group, no multiplexing information asked for; a
 * counter the PMU had to multiplex is scaled by the kernel only if asked,
 * so PMU events are opened pinned: never multiplexed, or in error).  rfd
 * has one thread, so the state is static.
 */
#define _GNU_SOURCE
#include "rfd/hwc.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct event_def {
	const char *name;
	uint32_t type;
	uint64_t config;
};

static const struct event_def defs[RFD_HWC_N] = {
	[RFD_HWC_CYCLES] = { "cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES },
	[RFD_HWC_INSTRUCTIONS] = { "instructions", PERF_TYPE_HARDWARE,
				   PERF_COUNT_HW_INSTRUCTIONS },
	/* "Usually last level cache misses" (perf_event_open(2)). */
	[RFD_HWC_LLC_MISSES] = { "llc_misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES },
	[RFD_HWC_CSWITCHES] = { "context_switches", PERF_TYPE_SOFTWARE,
				PERF_COUNT_SW_CONTEXT_SWITCHES },
	[RFD_HWC_FAULTS] = { "page_faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS },
	[RFD_HWC_MIGRATIONS] = { "cpu_migrations", PERF_TYPE_SOFTWARE,
				 PERF_COUNT_SW_CPU_MIGRATIONS },
};

static int fds[RFD_HWC_N][RF_MAX_CPUS];
static bool opened[RFD_HWC_N][RF_MAX_CPUS];
static char refused[RFD_HWC_N][128]; /* the first refusal: the event is given up */
static struct rfd_hwc_now snap;

const char *rfd_hwc_name(enum rfd_hwc_event e)
{
	return e < RFD_HWC_N ? defs[e].name : "?";
}

/* Open event e on CPU c; on a refusal, give the event up and say why. */
static void open_one(enum rfd_hwc_event e, int c)
{
	struct perf_event_attr a = {
		.size = sizeof(a), .type = defs[e].type, .config = defs[e].config,
		.pinned = defs[e].type == PERF_TYPE_HARDWARE,
	};
	opened[e][c] = true;
	fds[e][c] = (int)syscall(SYS_perf_event_open, &a, -1, c, -1, PERF_FLAG_FD_CLOEXEC);
	if (fds[e][c] < 0) {
		int err = errno;
		snprintf(refused[e], sizeof(refused[e]), "perf_event_open(%s) on CPU %d: %s%s",
			 defs[e].name, c, strerror(err),
			 err == ENOENT || err == EOPNOTSUPP ? " (the host exposes no such counter)"
			 : err == EACCES ? " (kernel.perf_event_paranoid)" : "");
		fds[e][c] = -1;
	}
}

const struct rfd_hwc_now *rfd_hwc_read(const struct base_cpuset *cpus)
{
	bool any = false;
	base_cpuset_zero(&snap.have);
	for (int e = 0; e < RFD_HWC_N; e++) {
		snap.ok[e] = !refused[e][0];
		for_each_cpu(c, cpus) {
			if (c >= RF_MAX_CPUS || refused[e][0])
				break;
			if (!opened[e][c])
				open_one((enum rfd_hwc_event)e, c);
			uint64_t v;
			if (fds[e][c] < 0)
				continue; /* refused: open_one said why */
			if (read(fds[e][c], &v, sizeof(v)) != sizeof(v)) {
				/* A pinned PMU event the PMU could not keep is in
				 * error for good (end of file): give it up too. */
				snprintf(refused[e], sizeof(refused[e]),
					 "%s on CPU %d: the PMU could not keep it counting",
					 defs[e].name, c);
				break;
			}
			snap.v[e][c] = v;
			base_cpuset_set(&snap.have, c);
			any = true;
		}
		snap.ok[e] = snap.ok[e] && !refused[e][0];
	}
	return any ? &snap : NULL;
}

int rfd_hwc_track(struct rfd_hwc_base **base, const struct base_cpuset *held,
		  const struct rfd_hwc_now *now)
{
	struct rfd_hwc_base *b = *base;
	struct base_cpuset joining;
	if (!b && !(b = *base = calloc(1, sizeof(*b))))
		return -1;
	base_cpuset_follow(&b->have, held, &now->have, &joining);
	for_each_cpu(c, &joining)
		for (int e = 0; e < RFD_HWC_N; e++)
			b->v[e][c] = now->v[e][c];
	return 0;
}

uint64_t rfd_hwc_since(const struct rfd_hwc_base *base, const struct rfd_hwc_now *now,
		       enum rfd_hwc_event e)
{
	uint64_t sum = 0;
	if (!base || !now || e >= RFD_HWC_N)
		return 0;
	for_each_cpu(c, &base->have)
		if (base_cpuset_has(&now->have, c) && now->v[e][c] > base->v[e][c])
			sum += now->v[e][c] - base->v[e][c];
	return sum;
}

struct json_object *rfd_hwc_info_json(void)
{
	struct json_object *o = json_object_new_object(), *counted = json_object_new_array(),
			   *no = json_object_new_object();
	struct base_cpuset first;
	base_cpuset_zero(&first);
	base_cpuset_set(&first, 0);
	rfd_hwc_read(&first); /* knows nothing yet: try, on CPU 0 */
	for (int e = 0; e < RFD_HWC_N; e++) {
		if (refused[e][0])
			json_object_object_add(no, defs[e].name, json_object_new_string(refused[e]));
		else
			json_object_array_add(counted, json_object_new_string(defs[e].name));
	}
	json_object_object_add(o, "counted", counted);
	json_object_object_add(o, "unavailable", no);
	return o;
}

void rfd_hwc_close(void)
{
	for (int e = 0; e < RFD_HWC_N; e++)
		for (int c = 0; c < RF_MAX_CPUS; c++) {
			if (opened[e][c] && fds[e][c] >= 0)
				close(fds[e][c]);
			opened[e][c] = false;
		}
}
