/*
 * workload.c - what rfload asks for: its random numbers, which key (uniform
 * or zipf popularity), how large a set's value (fixed or Facebook's ETC)
 * and get or set.
 *
 * Randomness: splitmix64, one stream per thread and one for the preload,
 * each derived from --seed and the stream number, so that a run with the
 * same options asks for the same keys, sizes and operations at the same
 * intended times.
 *
 * Zipf: key of rank r (0 = hottest; key r is named key:%08u of r) is asked
 * with probability proportional to 1/(r+1)^s.  Drawn by a binary search in
 * the cumulative table (keys doubles: 8 MB for a million keys, 20 steps a
 * draw), exact for every s >= 0 (s = 0 is uniform).
 *
 * ETC value sizes: Atikoglu et al., "Workload Analysis of a Large-Scale
 * Key-Value Store" (SIGMETRICS 2012), Table 5, fit the value sizes of
 * Facebook's ETC pool with a generalized Pareto distribution of scale
 * 214.476 and shape 0.348238.  We draw from it by inversion, shifted to
 * start at 15 bytes as mutilate's "fb_value" does (the paper's fit is of
 * the sizes above its discrete head; the spikes below 15 bytes are not
 * modelled), rounded down, capped at --value-max.  Mean about 344 bytes,
 * median about 187.
 */
#include "rfload.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ETC_LOCATION 15.0
#define ETC_SCALE    214.476
#define ETC_SHAPE    0.348238

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rfload_rng_seed(struct rfload_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed;
	r->s = splitmix(&x) ^ (stream * 0xd1b54a32d192ed03ull);
}

uint64_t rfload_rng_next(struct rfload_rng *r)
{
	return splitmix(&r->s);
}

double rfload_rng_01(struct rfload_rng *r)
{
	return (double)(rfload_rng_next(r) >> 11) * 0x1.0p-53;
}

double rfload_rng_exp(struct rfload_rng *r)
{
	return -log1p(-rfload_rng_01(r));
}

static int zipf_table(struct rfload_workload *wl)
{
	double sum = 0;

	wl->zipf_cdf = malloc((size_t)wl->keys * sizeof(double));
	if (!wl->zipf_cdf)
		return -1;
	for (uint32_t r = 0; r < wl->keys; r++) {
		sum += pow((double)r + 1, -wl->zipf_s);
		wl->zipf_cdf[r] = sum;
	}
	for (uint32_t r = 0; r < wl->keys; r++)
		wl->zipf_cdf[r] /= sum;
	wl->zipf_cdf[wl->keys - 1] = 1.0;   /* no rounding gap at the top */
	return 0;
}

int rfload_workload_init(struct rfload_workload *wl)
{
	uint32_t fill = wl->valdist == RFLOAD_VALS_FIXED ? wl->value_size : wl->value_max;

	wl->zipf_cdf = NULL;
	wl->filler = malloc((size_t)fill + 1);
	if (!wl->filler)
		return -1;
	memset(wl->filler, 'v', fill);
	if (wl->keydist == RFLOAD_KEYS_ZIPF && zipf_table(wl) < 0) {
		free(wl->filler);
		wl->filler = NULL;
		return -1;
	}
	return 0;
}

void rfload_workload_free(struct rfload_workload *wl)
{
	free(wl->zipf_cdf);
	free(wl->filler);
	wl->zipf_cdf = NULL;
	wl->filler = NULL;
}

uint32_t rfload_key(const struct rfload_workload *wl, struct rfload_rng *r)
{
	double u;
	uint32_t lo = 0, hi;

	if (wl->keydist == RFLOAD_KEYS_UNIFORM)
		return (uint32_t)(rfload_rng_next(r) % wl->keys);
	u = rfload_rng_01(r);
	hi = wl->keys - 1;
	while (lo < hi) {   /* the first rank whose cumulative share exceeds u */
		uint32_t mid = lo + (hi - lo) / 2;
		if (wl->zipf_cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

uint32_t rfload_value_size(const struct rfload_workload *wl, struct rfload_rng *r)
{
	double u, x;

	if (wl->valdist == RFLOAD_VALS_FIXED)
		return wl->value_size;
	u = rfload_rng_01(r);
	x = ETC_LOCATION + ETC_SCALE * (pow(1.0 - u, -ETC_SHAPE) - 1.0) / ETC_SHAPE;
	return x >= (double)wl->value_max ? wl->value_max : (uint32_t)x;
}
