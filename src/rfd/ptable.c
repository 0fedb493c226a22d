/*
 * ptable.c - core ownership and memory accounting (see ptable.h).
 */
#include "rfd/ptable.h"

#include <string.h>

void rfd_ptable_init(struct rfd_ptable *pt, const struct base_cpuset *online,
		     const struct base_cpuset *managed, const int *order, int norder,
		     uint64_t mem_managed)
{
	memset(pt, 0, sizeof(*pt));
	pt->online = *online;
	pt->managed = *managed;
	base_cpuset_and_into(&pt->managed, online);
	for (int c = 0; c < RF_MAX_CPUS; c++) {
		pt->owner[c] = base_cpuset_has(&pt->managed, c) ? RF_OWNER_HOST : RF_OWNER_NONE;
		if (base_cpuset_has(online, c))
			pt->ncpus = c + 1;
	}
	if (order) {
		for (int i = 0; i < norder; i++)
			if (base_cpuset_has(&pt->managed, order[i]))
				pt->order[pt->norder++] = order[i];
	} else {
		for_each_cpu(c, &pt->managed)
			pt->order[pt->norder++] = c;
	}
	pt->mem_managed = mem_managed;
}

void rfd_ptable_owned(const struct rfd_ptable *pt, int owner, struct base_cpuset *out)
{
	base_cpuset_zero(out);
	for_each_cpu(c, &pt->managed)
		if (pt->owner[c] == owner)
			base_cpuset_set(out, c);
}

void rfd_ptable_free_cpus(const struct rfd_ptable *pt, struct base_cpuset *out)
{
	rfd_ptable_owned(pt, RF_OWNER_HOST, out);
}

enum base_errc rfd_ptable_check_set(const struct rfd_ptable *pt, int owner,
				    const struct base_cpuset *want, int *bad_cpu, int *holder)
{
	if (base_cpuset_empty(want))
		return BASE_E_BAD_REQUEST;
	for_each_cpu(c, want) {
		*bad_cpu = c;
		if (!base_cpuset_has(&pt->managed, c))
			return BASE_E_UNKNOWN_CORE;
		if (pt->owner[c] != RF_OWNER_HOST && pt->owner[c] != owner) {
			*holder = pt->owner[c];
			return BASE_E_CORES_BUSY;
		}
	}
	return BASE_E_OK;
}

/* Distance in pick order to the nearest CPU of `near` (0 if near is empty). */
static int order_distance(const struct rfd_ptable *pt, int idx, const struct base_cpuset *near)
{
	int best = RF_MAX_CPUS;
	for (int i = 0; i < pt->norder; i++) {
		if (!base_cpuset_has(near, pt->order[i]))
			continue;
		int d = i > idx ? i - idx : idx - i;
		if (d < best)
			best = d;
	}
	return best == RF_MAX_CPUS ? 0 : best;
}

enum base_errc rfd_ptable_pick(const struct rfd_ptable *pt, int owner, int n,
			       struct base_cpuset *out)
{
	struct base_cpuset have;
	rfd_ptable_owned(pt, owner, &have);
	base_cpuset_zero(out);
	if (n < 1)
		return BASE_E_BAD_REQUEST;
	/* Keep the cores it has, dropping the last ones in pick order. */
	int kept = 0;
	for (int i = 0; i < pt->norder && kept < n; i++)
		if (base_cpuset_has(&have, pt->order[i])) {
			base_cpuset_set(out, pt->order[i]);
			kept++;
		}
	while (kept < n) {
		int best = -1, best_d = RF_MAX_CPUS + 1;
		for (int i = 0; i < pt->norder; i++) {
			int c = pt->order[i];
			if (pt->owner[c] != RF_OWNER_HOST || base_cpuset_has(out, c))
				continue;
			int d = order_distance(pt, i, out);
			if (d < best_d) {
				best = c;
				best_d = d;
			}
		}
		if (best < 0)
			return BASE_E_CORES_BUSY;
		base_cpuset_set(out, best);
		kept++;
	}
	return BASE_E_OK;
}

void rfd_ptable_assign(struct rfd_ptable *pt, int owner, const struct base_cpuset *want)
{
	for_each_cpu(c, &pt->managed) {
		if (pt->owner[c] == owner && !base_cpuset_has(want, c))
			pt->owner[c] = RF_OWNER_HOST;
		else if (base_cpuset_has(want, c))
			pt->owner[c] = owner;
	}
}

void rfd_ptable_release(struct rfd_ptable *pt, int owner)
{
	struct base_cpuset none;
	base_cpuset_zero(&none);
	rfd_ptable_assign(pt, owner, &none);
}

enum base_errc rfd_ptable_mem_reserve(struct rfd_ptable *pt, uint64_t bytes)
{
	if (bytes > pt->mem_managed - pt->mem_used)
		return BASE_E_MEM_UNAVAILABLE;
	pt->mem_used += bytes;
	return BASE_E_OK;
}

void rfd_ptable_mem_release(struct rfd_ptable *pt, uint64_t bytes)
{
	pt->mem_used = bytes > pt->mem_used ? 0 : pt->mem_used - bytes;
}
