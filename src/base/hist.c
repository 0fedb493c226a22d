/*
 * hist.c - log-linear histogram (see hist.h).
 *
 * Bucket index: values below RF_HIST_SUB map one to one; above, the
 * position of the highest set bit picks the power of two and the next
 * RF_HIST_SUB_BITS bits pick the linear sub-bucket.
 */
#include "base/hist.h"

#include <string.h>

static unsigned bucket_of(uint64_t v)
{
	if (v < RF_HIST_SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - RF_HIST_SUB_BITS;
	unsigned sub = (unsigned)(v >> shift) - RF_HIST_SUB; /* 0 .. SUB-1 */
	return (shift + 1) * RF_HIST_SUB + sub;
}

/* The largest value that falls in bucket b. */
static uint64_t bucket_top(unsigned b)
{
	if (b < RF_HIST_SUB)
		return b;
	unsigned shift = b / RF_HIST_SUB - 1, sub = b % RF_HIST_SUB;
	uint64_t lo = ((uint64_t)(RF_HIST_SUB + sub)) << shift;
	return lo + ((1ull << shift) - 1);
}

void base_hist_init(struct base_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void base_hist_record(struct base_hist *h, uint64_t v)
{
	h->bucket[bucket_of(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void base_hist_merge(struct base_hist *into, const struct base_hist *from)
{
	for (unsigned i = 0; i < RF_HIST_BUCKETS; i++)
		into->bucket[i] += from->bucket[i];
	into->count += from->count;
	into->sum += from->sum;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t base_hist_percentile(const struct base_hist *h, double p)
{
	if (h->count == 0)
		return 0;
	if (p <= 0)
		return h->min;
	unsigned i = base_hist_rank_bucket(h->bucket, RF_HIST_BUCKETS, h->count, p / 100.0);
	if (i == RF_HIST_BUCKETS)
		return h->max;
	uint64_t v = bucket_top(i);
	return v < h->min ? h->min : v > h->max ? h->max : v;
}

unsigned base_hist_rank_bucket(const uint64_t *bucket, unsigned n, uint64_t count, double q)
{
	uint64_t rank = (uint64_t)(q * (double)count + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > count)
		rank = count;
	uint64_t seen = 0;
	for (unsigned i = 0; i < n; i++) {
		seen += bucket[i];
		if (seen >= rank)
			return i;
	}
	return n;
}

double base_hist_mean(const struct base_hist *h)
{
	return h->count ? h->sum / (double)h->count : 0;
}
