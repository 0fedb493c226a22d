/*
 * lathist.c - reading, merging and summarising the stats page's latency
 * histograms (see lathist.h; the writer is librf's stats.c).
 */
#include "base/lathist.h"
#include "base/hist.h"

#include <string.h>

#define SUB (1u << RF_LAT_SUB_BITS)

/* The smallest value (ns) in bucket b. */
static uint64_t bucket_bottom(unsigned b)
{
	if (b < SUB)
		return (uint64_t)b << RF_LAT_UNIT_SHIFT;
	unsigned shift = b / SUB - 1, sub = b % SUB;
	return ((uint64_t)(SUB + sub) << shift) << RF_LAT_UNIT_SHIFT;
}

uint64_t base_lat_bucket_top(unsigned b)
{
	if (b + 1 >= RF_LAT_BUCKETS)
		return UINT64_MAX;
	return bucket_bottom(b + 1) - 1;
}

int base_lat_add_slot(struct base_lat *into, const struct rf_stats_hist *slot)
{
	uint64_t b[RF_LAT_BUCKETS], total = 0;
	for (unsigned i = 0; i < RF_LAT_BUCKETS; i++) {
		b[i] = __atomic_load_n(&slot->bucket[i], __ATOMIC_RELAXED);
		if (b[i] > BASE_LAT_SLOT_MAX || (total += b[i]) > BASE_LAT_SLOT_MAX)
			return -1;
	}
	for (unsigned i = 0; i < RF_LAT_BUCKETS; i++)
		into->bucket[i] += b[i];
	into->count += total;
	into->sum_ns += (double)__atomic_load_n(&slot->sum_ns, __ATOMIC_RELAXED);
	return 0;
}

void base_lat_merge(struct base_lat *into, const struct base_lat *from)
{
	for (unsigned i = 0; i < RF_LAT_BUCKETS; i++)
		into->bucket[i] += from->bucket[i];
	into->count += from->count;
	into->sum_ns += from->sum_ns;
}

void base_lat_diff(struct base_lat *out, const struct base_lat *now, const struct base_lat *before)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < RF_LAT_BUCKETS; i++) {
		uint64_t d = now->bucket[i] > before->bucket[i] ? now->bucket[i] - before->bucket[i] : 0;
		out->bucket[i] = d;
		out->count += d;
	}
	out->sum_ns = now->sum_ns > before->sum_ns ? now->sum_ns - before->sum_ns : 0;
}

void base_lat_cumulative(const struct base_lat *h, const uint64_t *le_ns, int n, uint64_t *out)
{
	uint64_t seen = 0;
	unsigned b = 0;
	for (int i = 0; i < n; i++) {
		while (b < RF_LAT_BUCKETS && base_lat_bucket_top(b) <= le_ns[i])
			seen += h->bucket[b++];
		out[i] = seen;
	}
}

uint64_t base_lat_quantile(const struct base_lat *h, double q)
{
	if (h->count == 0)
		return 0;
	unsigned i = base_hist_rank_bucket(h->bucket, RF_LAT_BUCKETS, h->count, q);
	return i + 1 < RF_LAT_BUCKETS ? base_lat_bucket_top(i) : bucket_bottom(RF_LAT_BUCKETS - 1);
}
