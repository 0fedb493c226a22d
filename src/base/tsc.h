/*
 * tsc.h - measuring the TSC's frequency against CLOCK_MONOTONIC.
 *
 * rfd measures it once and hands it to every libos subOS (desc.tsc_hz), so
 * librf's clock needs no calibration of its own at start; rfbench measures
 * it the same way for the standalone program it compares a create with
 * (RF_TSC_HZ), so both starts get the same shortcut.  Header-only, as
 * base/time.h.
 */
#ifndef RF_BASE_TSC_H
#define RF_BASE_TSC_H

#include <stdint.h>
#include <time.h>
#include <x86intrin.h>
#include "base/time.h"

/* Ticks per second over a 5 ms sleep (about 1e-5 relative error where the
 * two clock readings cost well under a microsecond); 0 if it failed. */
static inline uint64_t base_tsc_hz_measure(void)
{
	uint64_t t0 = base_now_ns(), c0 = __rdtsc();
	struct timespec ts = { 0, 5000000 };
	nanosleep(&ts, NULL);
	uint64_t t1 = base_now_ns(), c1 = __rdtsc();
	return t1 > t0 ? (uint64_t)((double)(c1 - c0) * 1e9 / (double)(t1 - t0)) : 0;
}

#endif
