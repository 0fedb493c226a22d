/*
 * time.h - the monotonic clock every part of RainForest measures with.
 *
 * Header-only so that the layers that link no base library (librfloop.so)
 * use the same clock as the rest: CLOCK_MONOTONIC in nanoseconds, through
 * the vDSO (no system call).  librf's fast TSC clock (rf_now_ns) is scaled
 * onto this axis, so values from both can be compared.
 */
#ifndef RF_BASE_TIME_H
#define RF_BASE_TIME_H

#include <stdint.h>
#include <time.h>

#define BASE_NS_PER_US  1000ull
#define BASE_NS_PER_MS  1000000ull
#define BASE_NS_PER_SEC 1000000000ull

static inline uint64_t base_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * BASE_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Microseconds between two base_now_ns() readings (0 if end < start). */
static inline uint64_t base_us_between(uint64_t start_ns, uint64_t end_ns)
{
	return end_ns > start_ns ? (end_ns - start_ns) / BASE_NS_PER_US : 0;
}

/* The n steps between n + 1 base_now_ns() marks, in microseconds. */
static inline void base_steps_us(const uint64_t *marks_ns, int n, uint64_t *us)
{
	for (int i = 0; i < n; i++)
		us[i] = base_us_between(marks_ns[i], marks_ns[i + 1]);
}

#endif
