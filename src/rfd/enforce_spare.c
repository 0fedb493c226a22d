/*
 * enforce_spare.c - the cgroups of a spare (spare.h), and how a create
 * makes them its own.
 *
 * A spare's process waits in a memory and a freezer cgroup of its own,
 * named so that no subOS can be (a '~' is not allowed in a name): moving
 * a task into a cgroup is the slow part of a start (cgroup.procs takes a
 * lock every fork and exit in the system waits on), so the spare pays it
 * ahead.  Not in a cpuset: a v1 cpuset with tasks cannot be empty, and
 * one with cores could not stay clear of the exclusive ones a later
 * create claims.  The create that takes the spare renames those two
 * directories to the subOS's name (the task stays where it is), makes the
 * cpuset as any create does and moves the task into it: one move, not
 * three.  Only cpuset1 has spares (enforce.h: rfd_enforce_has_spares).
 * After a restart the sweep (enforce_sweep.c) finds a spare's directories
 * unclaimed by the journal and removes them with what runs there.
 */
#define _GNU_SOURCE
#include "rfd/enforce_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

bool rfd_enforce_has_spares(const struct rfd_enforcer *e)
{
	return e->kind == RF_ENF_CPUSET1;
}

/* The hierarchies a spare lives in: memory (if apart from the cpusets),
 * freezer; "" for one this host lacks. */
static void roots(const struct rfd_enforcer *e, const char *out[2])
{
	out[0] = e->mem_root[0] && strcmp(e->mem_root, e->cpu_root) ? e->mem_root : "";
	out[1] = e->freeze_root;
}

int rfd_enforce_spare_make(struct rfd_enforcer *e, const char *name, uint64_t mem_limit)
{
	const char *r[2];
	char dir[PATH_MAX];
	int err = 0;
	roots(e, r);
	for (int i = 0; i < 2 && !err; i++) {
		rfd_cg_sub_dir(r[i], name, dir, sizeof(dir));
		err = r[i][0] ? rfd_cg_mkdir(dir) : 0;
	}
	if (!err && (err = rfd_cg_set_mem(e, name, mem_limit)) == 0)
		return 0;
	rfd_enforce_spare_remove(e, name);
	return err;
}

int rfd_enforce_spare_join(struct rfd_enforcer *e, const char *name, pid_t pid)
{
	return rfd_cg_attach_rest(e, name, pid);
}

/* Rename `from` to `to` in every hierarchy a spare lives in; on failure
 * the ones done are renamed back. */
static int rename_all(const struct rfd_enforcer *e, const char *from, const char *to)
{
	const char *r[2];
	char a[PATH_MAX], b[PATH_MAX];
	roots(e, r);
	for (int i = 0; i < 2; i++) {
		rfd_cg_sub_dir(r[i], from, a, sizeof(a));
		rfd_cg_sub_dir(r[i], to, b, sizeof(b));
		if (r[i][0] && rename(a, b)) {
			int err = -errno;
			while (--i >= 0)
				if (r[i][0]) {
					rfd_cg_sub_dir(r[i], from, a, sizeof(a));
					rfd_cg_sub_dir(r[i], to, b, sizeof(b));
					rename(b, a);
				}
			return err;
		}
	}
	return 0;
}

int rfd_enforce_spare_adopt(struct rfd_enforcer *e, const char *spare, const char *name,
			    const struct base_cpuset *cpus, uint64_t mem_limit, pid_t pid,
			    char *path, size_t pathlen)
{
	char dir[PATH_MAX];
	int err = rfd_cg_make_cpu(e, name, cpus, path, pathlen);
	if (err)
		return err;
	if ((err = rename_all(e, spare, name)))
		goto fail_cpu;
	if ((err = rfd_cg_set_mem(e, name, mem_limit)) || (err = rfd_cg_attach_cpu(e, name, pid)))
		goto fail_names;
	return 0;
fail_names:
	rename_all(e, name, spare);
fail_cpu:
	rfd_cg_sub_dir(e->cpu_root, name, dir, sizeof(dir));
	rfd_cg_rmdir(dir);
	return err;
}

int rfd_enforce_spare_remove(struct rfd_enforcer *e, const char *name)
{
	const char *r[2];
	char dir[PATH_MAX];
	int err = 0;
	roots(e, r);
	for (int i = 0; i < 2; i++) {
		rfd_cg_sub_dir(r[i], name, dir, sizeof(dir));
		int rc = r[i][0] ? rfd_cg_rmdir(dir) : 0;
		if (rc && rc != -ENOENT && !err)
			err = rc;
	}
	return err;
}
