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

struct rf_cpuset {
	uint64_t w[RF_CPUSET_WORDS];
};

static inline void rf_cpuset_zero(struct rf_cpuset *s)
{
	for (int i = 0; i < RF_CPUSET_WORDS; i++)
		s->w[i] = 0;
}
static inline void rf_cpuset_set(struct rf_cpuset *s, int cpu)
{
	s->w[cpu / 64] |= 1ull << (cpu % 64);
}
static inline void rf_cpuset_clr(struct rf_cpuset *s, int cpu)
{
	s->w[cpu / 64] &= ~(1ull << (cpu % 64));
}
static inline bool rf_cpuset_has(const struct rf_cpuset *s, int cpu)
{
	return cpu >= 0 && cpu < RF_MAX_CPUS && (s->w[cpu / 64] >> (cpu % 64)) & 1;
}

int rf_cpuset_count(const struct rf_cpuset *s);
/* Next CPU in s at or after `from`, or -1. */
int rf_cpuset_next(const struct rf_cpuset *s, int from);
bool rf_cpuset_empty(const struct rf_cpuset *s);
bool rf_cpuset_equal(const struct rf_cpuset *a, const struct rf_cpuset *b);
bool rf_cpuset_subset(const struct rf_cpuset *a, const struct rf_cpuset *of);
bool rf_cpuset_intersects(const struct rf_cpuset *a, const struct rf_cpuset *b);
void rf_cpuset_or(struct rf_cpuset *d, const struct rf_cpuset *a);
void rf_cpuset_andnot(struct rf_cpuset *d, const struct rf_cpuset *a);
void rf_cpuset_and_into(struct rf_cpuset *d, const struct rf_cpuset *a);

/* Parse "0-3,8" (whitespace and a trailing newline allowed).  Returns 0, or
 * -1 on a syntax error or a CPU >= RF_MAX_CPUS. */
int rf_cpuset_parse(struct rf_cpuset *s, const char *list);
/* Format as the kernel does ("0-3,8"); "" for the empty set.  Returns the
 * length, or -1 if it does not fit. */
int rf_cpuset_format(const struct rf_cpuset *s, char *buf, size_t len);

#define for_each_cpu(cpu, set) \
	for (int cpu = rf_cpuset_next((set), 0); cpu >= 0; cpu = rf_cpuset_next((set), cpu + 1))

#endif
