/*
 * clock.c - rf_now_ns() from the TSC.
 *
 * clock_gettime through the vDSO is cheap but not free, and on some VMs it
 * falls back to a real system call; the hot path reads the TSC instead and
 * scales it onto the CLOCK_MONOTONIC axis, so values can be compared with
 * timestamps taken by rfd or other processes.  The frequency comes from
 * rfd (desc.tsc_hz) or, without it, from a calibration that overlaps
 * librf's own start-up work so it costs (almost) nothing: lrf_clock_begin()
 * takes the first sample before attaching, lrf_clock_init() the second one
 * after, spinning only if less than RF_CAL_MIN_NS passed.
 */
#define _GNU_SOURCE
#include "librf/internal.h"
#include "base/time.h"

#define RF_CAL_MIN_NS 2000000ull   /* 2 ms: ~1e-5 relative error */

static struct {
	uint64_t tsc0, mono0;    /* sample taken at lrf_clock_begin */
	uint64_t mult;           /* ns per tick << 32 */
	uint64_t hz;
	uint64_t base_tsc, base_ns;
} clk;

void lrf_clock_begin(void)
{
	clk.mono0 = base_now_ns();
	clk.tsc0 = lrf_rdtsc();
}

void lrf_clock_init(uint64_t tsc_hz)
{
	uint64_t t1, m1;

	if (!clk.tsc0)
		lrf_clock_begin();
	if (!tsc_hz) {
		do {
			m1 = base_now_ns();
			t1 = lrf_rdtsc();
		} while (m1 - clk.mono0 < RF_CAL_MIN_NS);
		tsc_hz = (uint64_t)((unsigned __int128)(t1 - clk.tsc0) *
				    1000000000ull / (m1 - clk.mono0));
	}
	clk.hz = tsc_hz;
	clk.mult = (uint64_t)(((unsigned __int128)1000000000ull << 32) / tsc_hz);
	clk.base_ns = base_now_ns();
	clk.base_tsc = lrf_rdtsc();
}

uint64_t lrf_clock_tsc_hz(void)
{
	return clk.hz;
}

uint64_t lrf_clock_ticks_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * clk.mult) >> 32);
}

uint64_t rf_now_ns(void)
{
	uint64_t d = lrf_rdtsc() - clk.base_tsc;

	if (rf_unlikely(!clk.mult))
		return base_now_ns();
	return clk.base_ns + (uint64_t)(((unsigned __int128)d * clk.mult) >> 32);
}
