/*
 * enforce_shield.c - keeping host tasks off the managed cores (cgroup v1).
 *
 * v1 cpu_exclusive only separates sibling cpusets: every task still in the
 * root cpuset (the rest of the system) may run on a subOS's cores.  With
 * --shield rfd moves those tasks into a "host" cpuset holding only the
 * host's cores, as `cset shield` does, and moves them back when it stops.
 * Per-CPU kernel threads cannot move and stay; the count is reported.
 * New processes inherit their parent's cpuset, so children of shielded
 * tasks stay shielded.  cgroup v2 needs none of this: an isolated
 * partition takes its CPUs away from the root partition itself.
 */
#include "rfd/enforce_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Move every process listed in from/cgroup.procs into `to`.  Counts moved
 * processes and refusals (kernel threads). */
static void move_all(const char *from, const char *to, int *moved, int *stuck)
{
	char path[PATH_MAX], line[32];
	snprintf(path, sizeof(path), "%s/cgroup.procs", from);
	FILE *f = fopen(path, "re");
	*moved = *stuck = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (rfd_cg_write(to, "cgroup.procs", line) == 0)
			(*moved)++;
		else
			(*stuck)++;
	}
	fclose(f);
}

static void parent_of(const char *dir, char *out, size_t len)
{
	snprintf(out, len, "%s", dir);
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
}

int rfd_enforce_shield(struct rfd_enforcer *e, const struct base_cpuset *host)
{
	char root[PATH_MAX], list[4096];
	int err;

	if (e->kind != RF_ENF_CPUSET1)
		return -EOPNOTSUPP;
	if (base_cpuset_empty(host) || base_cpuset_format(host, list, sizeof(list)) < 0)
		return -EINVAL;
	parent_of(e->cpu_root, root, sizeof(root));
	snprintf(e->host_root, sizeof(e->host_root), "%s.host", e->cpu_root);
	if ((err = rfd_cg_mkdir(e->host_root)) ||
	    (err = rfd_cg_write(e->host_root, "cpuset.mems", e->mems)) ||
	    (err = rfd_cg_write(e->host_root, "cpuset.cpus", list))) {
		rfd_cg_rmdir(e->host_root);
		e->host_root[0] = '\0';
		return err;
	}
	move_all(root, e->host_root, &e->shield_moved, &e->shield_stuck);
	snprintf(e->shield_cpus, sizeof(e->shield_cpus), "%s", list);
	return 0;
}

void rfd_enforce_unshield(struct rfd_enforcer *e)
{
	char root[PATH_MAX];
	int moved, stuck;
	if (!e->host_root[0])
		return;
	parent_of(e->cpu_root, root, sizeof(root));
	move_all(e->host_root, root, &moved, &stuck);
	rfd_cg_rmdir(e->host_root);
	e->host_root[0] = '\0';
}
