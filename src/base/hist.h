/*
 * hist.h - log-linear latency histograms (HdrHistogram-style buckets).
 *
 * Values are nanoseconds (any unsigned 64-bit unit works).  Each power of
 * two is split into 2^RF_HIST_SUB_BITS linear buckets, so the relative
 * error of a reported percentile is below 1/2^RF_HIST_SUB_BITS (0.8 %) at
 * every scale, with a fixed footprint and O(1) recording: fit for hot
 * paths and for merging per-thread histograms.
 */
#ifndef RF_BASE_HIST_H
#define RF_BASE_HIST_H

#include <stdint.h>

#define RF_HIST_SUB_BITS 7
#define RF_HIST_SUB      (1u << RF_HIST_SUB_BITS)
#define RF_HIST_BUCKETS  ((64 - RF_HIST_SUB_BITS + 1) * RF_HIST_SUB)

struct base_hist {
	uint64_t count;
	uint64_t min, max;
	double   sum;
	uint64_t bucket[RF_HIST_BUCKETS];
};

void base_hist_init(struct base_hist *h);
void base_hist_record(struct base_hist *h, uint64_t v);
void base_hist_merge(struct base_hist *into, const struct base_hist *from);
/* The value at percentile p (0..100): the upper bound of its bucket,
 * clamped to [min, max].  0 for an empty histogram. */
uint64_t base_hist_percentile(const struct base_hist *h, double p);
double base_hist_mean(const struct base_hist *h);
/* The bucket of bucket[0..n) holding the nearest-rank sample at quantile q
 * (0..1) of `count` samples, or n if the buckets hold fewer (count > 0).
 * Shared with the stats page's histograms (lathist.c). */
unsigned base_hist_rank_bucket(const uint64_t *bucket, unsigned n, uint64_t count, double q);

#endif
