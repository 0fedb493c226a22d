/*
 * cpuset.h - fixed-size CPU sets and the cpuset list syntax ("0-3,8").
 *
 * Every part of RainForest speaks about cores as sets: the partition table,
 * the cgroup files, rfm's --cores, the protocol.  One small value type with
 * the kernel's list syntax keeps them agreeing.  Fixed size (RF_MAX_CPUS)
 * so it can be copied and compared without allocation.
 */
#ifndef RF_BASE_CPUSET_H
#define RF_BASE_CPUSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rf/desc.h"

#define RF_CPUSET_WORDS (RF_MAX_CPUS / 64)

struct base_cpuset {
	uint64_t w[RF_CPUSET_WORDS];
};

static inline void base_cpuset_zero(struct base_cpuset *s)
{
	for (int i = 0; i < RF_CPUSET_WORDS; i++)
		s->w[i] = 0;
}
static inline void base_cpuset_set(struct base_cpuset *s, int cpu)
{
	s->w[cpu / 64] |= 1ull << (cpu % 64);
}
static inline void base_cpuset_clr(struct base_cpuset *s, int cpu)
{
	s->w[cpu / 64] &= ~(1ull << (cpu % 64));
}
static inline bool base_cpuset_has(const struct base_cpuset *s, int cpu)
{
	return cpu >= 0 && cpu < RF_MAX_CPUS && (s->w[cpu / 64] >> (cpu % 64)) & 1;
}

int base_cpuset_count(const struct base_cpuset *s);
/* Next CPU in s at or after `from`, or -1. */
int base_cpuset_next(const struct base_cpuset *s, int from);
bool base_cpuset_empty(const struct base_cpuset *s);
bool base_cpuset_equal(const struct base_cpuset *a, const struct base_cpuset *b);
bool base_cpuset_subset(const struct base_cpuset *a, const struct base_cpuset *of);
bool base_cpuset_intersects(const struct base_cpuset *a, const struct base_cpuset *b);
void base_cpuset_or(struct base_cpuset *d, const struct base_cpuset *a);
void base_cpuset_andnot(struct base_cpuset *d, const struct base_cpuset *a);
void base_cpuset_and_into(struct base_cpuset *d, const struct base_cpuset *a);
/* Per-core baselines kept in step with the cores held (cpustat, hwc):
 * `have` forgets the cores no longer `held`; *joining gets the cores held,
 * available to read (`avail`) and not yet in `have`, which then joins them
 * (the caller records their baselines). */
void base_cpuset_follow(struct base_cpuset *have, const struct base_cpuset *held,
			const struct base_cpuset *avail, struct base_cpuset *joining);

/* Parse "0-3,8" (whitespace and a trailing newline allowed).  Returns 0, or
 * -1 on a syntax error or a CPU >= RF_MAX_CPUS. */
int base_cpuset_parse(struct base_cpuset *s, const char *list);
/* Format as the kernel does ("0-3,8"); "" for the empty set.  Returns the
 * length, or -1 if it does not fit. */
int base_cpuset_format(const struct base_cpuset *s, char *buf, size_t len);

#define for_each_cpu(cpu, set)                                                                     \
	for (int cpu = base_cpuset_next((set), 0); cpu >= 0; cpu = base_cpuset_next((set), cpu + 1))

#endif
