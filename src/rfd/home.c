/*
 * home.c - where rfd's own threads run.
 *
 * Never on a core a subOS owns: its program is to have the core to itself
 * (an rfd there would take it at the real-time priority it runs at, at
 * every request and tick).  With host cores (--host-cores) rfd lives on
 * them for good.  Without (the host shares every managed core, as the
 * 2-core benchmarks run) rfd moves to the managed cores no subOS owns, and
 * only when every one is owned does it go where it may; the loop looks
 * again after each turn, so a create's program starts on its core while
 * rfd works on another.  The shims and spares it forks inherit the mask.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/home.h"
#include "rfd/spare.h"

#include <dirent.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The mask rfd's threads should have now. */
static void wanted(const struct rfd *d, cpu_set_t *mask)
{
	struct base_cpuset home = d->pt.online;
	base_cpuset_andnot(&home, &d->pt.managed);      /* the host's own cores */
	if (base_cpuset_empty(&home))
		rfd_ptable_free_cpus(&d->pt, &home);     /* managed, nobody's */
	if (base_cpuset_empty(&home))
		home = d->pt.online;
	CPU_ZERO(mask);
	for_each_cpu(c, &home) if (c < CPU_SETSIZE)
		CPU_SET(c, mask);
}

/* Every thread of rfd (the pool's worker too). */
static void apply(const cpu_set_t *mask)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	while (dir && (e = readdir(dir)))
		if (e->d_name[0] != '.')
			sched_setaffinity((pid_t)atoi(e->d_name), sizeof(*mask), mask);
	if (dir)
		closedir(dir);
}

void rfd_home_update(struct rfd *d)
{
	cpu_set_t mask;
	wanted(d, &mask);
	if (d->home_set && CPU_EQUAL(&mask, &d->home))
		return;
	apply(&mask);
	rfd_spare_follow(d, &mask);
	d->home = mask;
	d->home_set = true;
}
