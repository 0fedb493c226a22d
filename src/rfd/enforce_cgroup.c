/*
 * enforce_cgroup.c - the cgroup back ends (v2 isolated partitions, v1
 * exclusive cpusets).
 *
 * Layout: one directory per rfd instance (rf.<instance>) holding exactly
 * the managed CPUs, and under it one directory per subOS.  v1 keeps cpu and
 * memory in separate hierarchies; v2 keeps both in one directory.  The two
 * versions differ only in file names and in how exclusivity is asked for,
 * so they share this file.
 */
#include "rfd/enforce_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Find the mount point of a cgroup fs: v2 if `opt` is NULL, else the v1
 * hierarchy whose super options contain `opt`. */
static int find_mount(const char *opt, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024];
	int found = -1;
	if (!f)
		return -1;
	while (found && fgets(line, sizeof(line), f)) {
		char mnt[512], fstype[64], super[512];
		const char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*d %*d %*s %*s %511s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s %*s %511s", fstype, super) != 2)
			continue;
		if (!opt && strcmp(fstype, "cgroup2") == 0)
			found = 0;
		else if (opt && strcmp(fstype, "cgroup") == 0) {
			char *tok, *save = NULL;
			for (tok = strtok_r(super, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				if (strcmp(tok, opt) == 0)
					found = 0;
		}
		if (!found)
			snprintf(out, len, "%s", mnt);
	}
	fclose(f);
	return found;
}

void rfd_cg_sub_dir(const char *root, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", root, name);
}

static int set_cpus_file(const char *dir, const struct base_cpuset *cpus)
{
	char list[4096] = "\n"; /* none: a write of no bytes would change nothing */
	if (!base_cpuset_empty(cpus) && base_cpuset_format(cpus, list, sizeof(list)) < 0)
		return -E2BIG;
	return rfd_cg_write(dir, "cpuset.cpus", list);
}

int rfd_cg2_init(struct rfd_enforcer *e, const char *instance, const struct base_cpuset *managed,
		 struct base_err *err)
{
	char root[PATH_MAX], ctl[256];
	int rc;

	if (find_mount(NULL, root, sizeof(root))) {
		base_errf(err, BASE_E_INTERNAL, "no cgroup2 mount");
		return -1;
	}
	if (rfd_cg_read(root, "cgroup.controllers", ctl, sizeof(ctl)) || !strstr(ctl, "cpuset")) {
		base_errf(err, BASE_E_INTERNAL,
			  "the cpuset controller is not on the cgroup2 hierarchy at %s "
			  "(it is bound to cgroup v1)", root);
		return -1;
	}
	e->kind = RF_ENF_CGROUP2;
	rfd_cg_sub_dir(root, instance, e->cpu_root, sizeof(e->cpu_root));
	snprintf(e->mem_root, sizeof(e->mem_root), "%s", strstr(ctl, "memory") ? e->cpu_root : "");
	rfd_cg_write(root, "cgroup.subtree_control", "+cpuset");
	if (e->mem_root[0])
		rfd_cg_write(root, "cgroup.subtree_control", "+memory");
	if ((rc = rfd_cg_mkdir(e->cpu_root)))
		goto fail;
	e->owns_root = true;
	if ((rc = set_cpus_file(e->cpu_root, managed)) ||
	    (rc = rfd_cg_write(e->cpu_root, "cpuset.cpus.partition", "root")))
		goto fail;
	rfd_cg_write(e->cpu_root, "cgroup.subtree_control",
		     e->mem_root[0] ? "+cpuset +memory" : "+cpuset");
	e->exclusive = true;
	snprintf(e->detail, sizeof(e->detail), "cgroup v2 isolated cpuset partitions under %s",
		 e->cpu_root);
	return 0;
fail:
	base_errf(err, BASE_E_INTERNAL, "%s: %s", e->cpu_root, strerror(-rc));
	rfd_cg_fini(e);
	return -1;
}

static int cg1_make_root(struct rfd_enforcer *e, const struct base_cpuset *managed)
{
	char parent_mems[64];
	int err;
	if ((err = rfd_cg_mkdir(e->cpu_root)))
		return err;
	e->owns_root = true;
	char *slash = strrchr(e->cpu_root, '/');
	*slash = '\0';
	err = rfd_cg_read(e->cpu_root, "cpuset.mems", parent_mems, sizeof(parent_mems));
	*slash = '/';
	if (err)
		return err;
	snprintf(e->mems, sizeof(e->mems), "%s", parent_mems);
	if ((err = rfd_cg_write(e->cpu_root, "cpuset.mems", e->mems)) ||
	    (err = set_cpus_file(e->cpu_root, managed)))
		return err;
	/* Exclusive only if no sibling overlaps: another rfd instance or a
	 * container runtime may hold the same cores. */
	e->exclusive = rfd_cg_write(e->cpu_root, "cpuset.cpu_exclusive", "1") == 0;
	if (e->mem_root[0] && rfd_cg_mkdir(e->mem_root))
		e->mem_root[0] = '\0';
	if (e->freeze_root[0] && rfd_cg_mkdir(e->freeze_root))
		e->freeze_root[0] = '\0';
	return 0;
}

int rfd_cg1_init(struct rfd_enforcer *e, const char *instance, const struct base_cpuset *managed,
		 struct base_err *err)
{
	char cpu[PATH_MAX], mem[PATH_MAX];
	int rc;

	if (find_mount("cpuset", cpu, sizeof(cpu))) {
		base_errf(err, BASE_E_INTERNAL, "no cgroup v1 cpuset mount");
		return -1;
	}
	e->kind = RF_ENF_CPUSET1;
	rfd_cg_sub_dir(cpu, instance, e->cpu_root, sizeof(e->cpu_root));
	if (find_mount("memory", mem, sizeof(mem)) == 0)
		rfd_cg_sub_dir(mem, instance, e->mem_root, sizeof(e->mem_root));
	if (find_mount("freezer", mem, sizeof(mem)) == 0)
		rfd_cg_sub_dir(mem, instance, e->freeze_root, sizeof(e->freeze_root));
	if ((rc = cg1_make_root(e, managed))) {
		if (rc == -EINVAL)
			base_errf(err, BASE_E_INTERNAL,
				  "%s: the managed cores overlap an exclusive cpuset "
				  "(another rfd instance or a container runtime owns some of them)",
				  e->cpu_root);
		else
			base_errf(err, BASE_E_INTERNAL, "%s: %s", e->cpu_root, strerror(-rc));
		rfd_cg_fini(e);
		return rc == -EINVAL ? -2 : -1;
	}
	snprintf(e->detail, sizeof(e->detail), "cgroup v1 cpusets%s under %s%s%s",
		 e->exclusive ? " with cpu_exclusive" : " (cpu_exclusive refused: a sibling overlaps)",
		 e->cpu_root, e->mem_root[0] ? ", memory limits under " : ", no memory cgroup",
		 e->mem_root);
	return 0;
}

void rfd_cg_fini(struct rfd_enforcer *e)
{
	if (!e->owns_root)
		return;
	rfd_cg_rmdir(e->cpu_root);
	if (e->mem_root[0] && strcmp(e->mem_root, e->cpu_root))
		rfd_cg_rmdir(e->mem_root);
	if (e->freeze_root[0])
		rfd_cg_rmdir(e->freeze_root);
	e->owns_root = false;
}

int rfd_cg_set_mem(struct rfd_enforcer *e, const char *name, uint64_t mem_limit)
{
	char dir[PATH_MAX], val[32];
	if (!e->mem_root[0])
		return 0;
	rfd_cg_sub_dir(e->mem_root, name, dir, sizeof(dir));
	if (mem_limit == 0)
		snprintf(val, sizeof(val), e->kind == RF_ENF_CGROUP2 ? "max" : "-1");
	else
		snprintf(val, sizeof(val), "%" PRIu64, mem_limit);
	return rfd_cg_write(dir, e->kind == RF_ENF_CGROUP2 ? "memory.max" : "memory.limit_in_bytes",
			    val);
}

int rfd_cg_set_cpus(struct rfd_enforcer *e, const char *name, const struct base_cpuset *cpus)
{
	char dir[PATH_MAX];
	rfd_cg_sub_dir(e->cpu_root, name, dir, sizeof(dir));
	return set_cpus_file(dir, cpus);
}

int rfd_cg_make_cpu(struct rfd_enforcer *e, const char *name, const struct base_cpuset *cpus,
		    char *path, size_t pathlen)
{
	char dir[PATH_MAX];
	int err;

	rfd_cg_sub_dir(e->cpu_root, name, dir, sizeof(dir));
	snprintf(path, pathlen, "%s", dir);
	if ((err = rfd_cg_mkdir(dir)))
		return err;
	if (e->kind == RF_ENF_CPUSET1 && (err = rfd_cg_write(dir, "cpuset.mems", e->mems)))
		goto fail;
	if ((err = set_cpus_file(dir, cpus)))
		goto fail;
	if (e->kind == RF_ENF_CGROUP2)
		err = rfd_cg_write(dir, "cpuset.cpus.partition", "isolated");
	else if (e->exclusive && !base_cpuset_empty(cpus)) /* none: nothing to hold */
		err = rfd_cg_write(dir, "cpuset.cpu_exclusive", "1");
	if (!err)
		return 0;
fail:
	rfd_cg_rmdir(dir);
	return err;
}

int rfd_cg_create(struct rfd_enforcer *e, const char *name, const struct base_cpuset *cpus,
		  uint64_t mem_limit, char *path, size_t pathlen)
{
	char dir[PATH_MAX];
	int err;

	if ((err = rfd_cg_make_cpu(e, name, cpus, path, pathlen)))
		return err;
	if (e->mem_root[0] && strcmp(e->mem_root, e->cpu_root)) {
		rfd_cg_sub_dir(e->mem_root, name, dir, sizeof(dir));
		if ((err = rfd_cg_mkdir(dir)))
			goto fail;
	}
	if ((err = rfd_cg_set_mem(e, name, mem_limit)))
		goto fail;
	rfd_cg_sub_dir(e->freeze_root, name, dir, sizeof(dir));
	if (e->freeze_root[0] && (err = rfd_cg_mkdir(dir)))
		goto fail;
	return 0;
fail:
	rfd_cg_destroy(e, name);
	return err;
}

/* Put task `val` where the host's tasks run: the shield's host cpuset
 * (the host's cores only), else the cpuset rfd's own hangs under. */
static int attach_host(const struct rfd_enforcer *e, const char *val)
{
	char parent[PATH_MAX];
	if (e->host_root[0])
		return rfd_cg_write(e->host_root, "cgroup.procs", val);
	snprintf(parent, sizeof(parent), "%s", e->cpu_root);
	char *slash = strrchr(parent, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	return rfd_cg_write(parent, "cgroup.procs", val);
}

int rfd_cg_attach_cpu(struct rfd_enforcer *e, const char *name, pid_t pid)
{
	char dir[PATH_MAX], val[32];
	snprintf(val, sizeof(val), "%d", (int)pid);
	rfd_cg_sub_dir(e->cpu_root, name, dir, sizeof(dir));
	/* A v1 cpuset with no CPU takes no task (ENOSPC): a subOS with no core
	 * of its own (created with none, lifecycle.c) runs where the host's
	 * tasks run (its freezer cgroup still says which tasks are its own).
	 * Not in rfd's cpuset: that spans every managed core, and a task there
	 * may run on any subOS's exclusive core. */
	int err = rfd_cg_write(dir, "cgroup.procs", val);
	if (err == -ENOSPC && e->kind == RF_ENF_CPUSET1)
		err = attach_host(e, val);
	return err;
}

int rfd_cg_attach_rest(struct rfd_enforcer *e, const char *name, pid_t pid)
{
	char dir[PATH_MAX], val[32];
	int err;
	snprintf(val, sizeof(val), "%d", (int)pid);
	if (e->mem_root[0] && strcmp(e->mem_root, e->cpu_root)) {
		rfd_cg_sub_dir(e->mem_root, name, dir, sizeof(dir));
		if ((err = rfd_cg_write(dir, "cgroup.procs", val)))
			return err;
	}
	rfd_cg_sub_dir(e->freeze_root, name, dir, sizeof(dir));
	return e->freeze_root[0] ? rfd_cg_write(dir, "cgroup.procs", val) : 0;
}

int rfd_cg_attach(struct rfd_enforcer *e, const char *name, pid_t pid)
{
	int err = rfd_cg_attach_cpu(e, name, pid);
	return err ? err : rfd_cg_attach_rest(e, name, pid);
}

int rfd_cg_destroy(struct rfd_enforcer *e, const char *name)
{
	char dir[PATH_MAX];
	int err = 0, err2 = 0;
	if (e->mem_root[0] && strcmp(e->mem_root, e->cpu_root)) {
		rfd_cg_sub_dir(e->mem_root, name, dir, sizeof(dir));
		err2 = rfd_cg_rmdir(dir);
	}
	if (e->freeze_root[0]) {
		rfd_cg_sub_dir(e->freeze_root, name, dir, sizeof(dir));
		if (!err2)
			err2 = rfd_cg_rmdir(dir);
	}
	rfd_cg_sub_dir(e->cpu_root, name, dir, sizeof(dir));
	err = rfd_cg_rmdir(dir);
	return err ? err : err2;
}
