/*
 * lathist.h - the stats page's latency histograms (include/rf/desc.h,
 * struct rf_stats_hist): the value -> bucket mapping librf records with,
 * and the reader's side, used by rfd (merging a subOS's per-core slots,
 * checking every word it reads) and by rfm (quantiles over an interval).
 *
 * Geometry: a value v (nanoseconds) is bucketed as u = v >> 4 (16 ns
 * units); u < 8 has a bucket each, above that every power of two is split
 * into 8 linear buckets (12.5 % wide), and everything from bucket
 * RF_LAT_BUCKETS-1 up (~240 s) shares the last one.  Coarser than
 * base/hist.h so that a core's two histograms fit one page: the page must
 * stay small for 1024 CPUs, and a p99 12.5 % wide is fine for a policy
 * that acts on thresholds.
 */
#ifndef RF_BASE_LATHIST_H
#define RF_BASE_LATHIST_H

#include <stdbool.h>
#include <stdint.h>
#include "rf/desc.h"

/* A slot is refused (not merged) if its buckets add up past this: no real
 * core counts 2^56 requests, and merging 1025 slots of this cannot wrap. */
#define BASE_LAT_SLOT_MAX (1ull << 56)

static inline unsigned base_lat_bucket(uint64_t ns)
{
	uint64_t u = ns >> RF_LAT_UNIT_SHIFT;
	if (u < (1u << RF_LAT_SUB_BITS))
		return (unsigned)u;
	unsigned msb = 63u - (unsigned)__builtin_clzll(u);
	unsigned shift = msb - RF_LAT_SUB_BITS;
	unsigned b = (shift + 1) * (1u << RF_LAT_SUB_BITS) +
		     ((unsigned)(u >> shift) - (1u << RF_LAT_SUB_BITS));
	return b < RF_LAT_BUCKETS ? b : RF_LAT_BUCKETS - 1;
}

/* The largest value (ns) in bucket b; UINT64_MAX for the last. */
uint64_t base_lat_bucket_top(unsigned b);

/* A merged histogram, the reader's own memory. */
struct base_lat {
	uint64_t count;
	double sum_ns;
	uint64_t bucket[RF_LAT_BUCKETS];
};

/* Add one slot, read word by word with atomic loads (its writer may be
 * running).  Returns 0, or -1 if the slot is implausible (its buckets
 * add up past BASE_LAT_SLOT_MAX): then nothing of it is added. */
int base_lat_add_slot(struct base_lat *into, const struct rf_stats_hist *slot);
/* into += from (both the reader's). */
void base_lat_merge(struct base_lat *into, const struct base_lat *from);
/* out = now - before, bucket by bucket, clamped at 0 (a counter that went
 * back, as after a restart, counts as nothing). */
void base_lat_diff(struct base_lat *out, const struct base_lat *now, const struct base_lat *before);
/* Cumulative counts at bounds le_ns[0..n) (ascending): out[i] counts the
 * buckets whose every value is <= le_ns[i] (a bucket straddling a bound
 * counts under the next one: never more than the truth). */
void base_lat_cumulative(const struct base_lat *h, const uint64_t *le_ns, int n, uint64_t *out);
/* The value at quantile q (0..1): the top of the bucket holding the
 * nearest-rank sample; 0 when empty.  The last bucket reports its bottom
 * (its top is unbounded). */
uint64_t base_lat_quantile(const struct base_lat *h, double q);

#endif
