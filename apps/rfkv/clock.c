/*
 * clock.c - memcached's notion of time for rfkv: whole seconds relative to
 * the process start ("rel time"), and the protocol's expiry times turned
 * into it.
 *
 * memcached counts from process_started = start - 62 s, so rel times are
 * never 0 (0 means "never expires") and flush_all's "now - 1" never wraps;
 * we keep the same origin so that every expiry and flush decision is made
 * on the same numbers.  The clock is read from the TSC (rf_now_ns) and
 * CLOCK_REALTIME through the vDSO: no system call on the hot path.
 */
#define _GNU_SOURCE
#include <time.h>
#include "kv.h"

#define KV_TIME_ORIGIN 62   /* memcached: ITEM_UPDATE_INTERVAL + 2 */

static uint64_t start_ns;         /* rf_now_ns() at start */
static int64_t unix_started;      /* unix time of rel time 0 */

void kv_clock_init(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	start_ns = rf_now_ns();
	unix_started = (int64_t)ts.tv_sec - KV_TIME_ORIGIN;
}

uint32_t kv_now(void)
{
	return (uint32_t)((rf_now_ns() - start_ns) / 1000000000ull) + KV_TIME_ORIGIN;
}

uint64_t kv_rel_to_ns(uint32_t rel)
{
	return start_ns + (uint64_t)(rel - KV_TIME_ORIGIN) * 1000000000ull;
}

int64_t kv_unix_started(void)
{
	return unix_started;
}

/* memcached's realtime(): 0 stays 0 (never); up to 30 days is relative;
 * more is a unix time, and one before the process started is already
 * past (1).  Negative exptimes arrive as 30 days + 1, i.e. absolute and
 * in the past: expired at once. */
uint32_t kv_realtime(int64_t exptime)
{
	if (exptime == 0)
		return 0;
	if (exptime < 0)
		exptime = KV_REALTIME_MAXDELTA + 1;
	if (exptime > KV_REALTIME_MAXDELTA) {
		if (exptime <= unix_started)
			return 1;
		return (uint32_t)(exptime - unix_started);
	}
	return (uint32_t)(exptime + kv_now());
}
