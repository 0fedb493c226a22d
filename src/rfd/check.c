/*
 * check.c - checking the partition table's invariants (check.h).
 *
 * Everything here only reads: the table, the subOS records, the pool's
 * owners (under its lock, briefly) and the channels' holdings.  It costs
 * a pass over the CPUs, the subOS slots and the chunks, a few
 * microseconds, so rfd runs it always rather than in a special build: a
 * breach found in the field is worth more than one found in a test.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/check.h"
#include "rfd/chan.h"
#include "rfd/log.h"
#include "rfd/subos.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int breach(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static bool live(const struct rfd_subos *s)
{
	return s && s->life != RF_LIFE_EXITED;
}

static int check_cores(struct rfd *d, char *why, size_t len)
{
	const struct rfd_ptable *pt = &d->pt;
	for_each_cpu(c, &pt->managed) {
		int o = pt->owner[c];
		struct rfd_subos *s = rfd_subos_by_id(d, o);
		if (o == RF_OWNER_HOST)
			continue;
		if (!live(s))
			return breach(why, len, "core %d is owned by %d, which is no live subOS", c, o);
		if (!base_cpuset_has(&s->cpus, c))
			return breach(why, len, "core %d is owned by \"%s\", whose record lacks it", c,
				      s->name);
	}
	for (int i = 0; i < RF_MAX_SUBOS; i++) {
		struct rfd_subos *s = d->subos[i];
		if (!live(s))
			continue;
		for_each_cpu(c, &s->cpus)
			if (!base_cpuset_has(&pt->managed, c) || pt->owner[c] != s->id)
				return breach(why, len, "\"%s\" lists core %d, which the table "
						  "gives to %d", s->name, c, pt->owner[c]);
	}
	return 0;
}

/* holds[i]: how many records hold chunk i (subOSes, then channels). */
static int check_regions(struct rfd *d, const int *owner, int *holds, char *why, size_t len)
{
	int n = d->pool.nchunks;
	for (int i = 0; i < RF_MAX_SUBOS; i++) {
		struct rfd_subos *s = d->subos[i];
		for (int k = 0; live(s) && k < RF_MAX_REGIONS; k++) {
			int id = s->region_chunk[k];
			if (id < 0)
				continue;
			if (id >= n || owner[id] != s->id)
				return breach(why, len, "\"%s\" holds chunk %d, which the pool gives "
						  "to %d", s->name, id, id < n ? owner[id] : -1);
			holds[id]++;
		}
	}
	return 0;
}

static int check_chunks(struct rfd *d, uint64_t *charged, char *why, size_t len)
{
	int n = d->pool.nchunks, rc = 0;
	int *owner = calloc((size_t)n + 1, sizeof(int)), *holds = calloc((size_t)n + 1, sizeof(int));
	if (!owner || !holds)
		goto out; /* no memory to check with: say nothing */
	rfd_pool_owners(&d->pool, owner);
	if ((rc = check_regions(d, owner, holds, why, len)))
		goto out;
	*charged = rfd_chan_holdings(d, holds, n);
	for (int i = 0; i < n && !rc; i++) {
		if (holds[i] > 1)
			rc = breach(why, len, "chunk %d is held %d times", i, holds[i]);
		else if (owner[i] >= 0 && !holds[i])
			rc = breach(why, len, "chunk %d is owned by %d but held by nobody", i,
				    owner[i]);
	}
out:
	free(owner);
	free(holds);
	return rc;
}

int rfd_check_invariants(struct rfd *d, char *why, size_t len)
{
	uint64_t charged = 0, held = 0;
	if (check_cores(d, why, len) || check_chunks(d, &charged, why, len))
		return -1;
	for (int i = 0; i < RF_MAX_SUBOS; i++)
		if (live(d->subos[i]))
			held += d->subos[i]->mem + d->subos[i]->mem_growing;
	if (held + charged != d->pt.mem_used)
		return breach(why, len, "the table counts %llu bytes used; subOSes hold %llu and "
				  "channels are charged %llu", (unsigned long long)d->pt.mem_used,
			      (unsigned long long)held, (unsigned long long)charged);
	return 0;
}

void rfd_check(struct rfd *d)
{
	char why[256];
	if (rfd_check_invariants(d, why, sizeof(why)))
		rfd_log("partition table invariant broken: %s", why);
}
