/*
 * enforce.c - choosing the enforcement back end and dispatching to it.
 *
 * Detection order follows strength: a cgroup2 hierarchy with the cpuset
 * controller, then a v1 cpuset mount, then plain affinity.  What is
 * missing for a stronger back end is recorded in `detail`, so `rfm info`
 * tells the user why they got what they got.
 */
#include "rfd/enforce.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "rfd/enforce_impl.h"

const char *rfd_enforce_name(enum rfd_enforce_kind k)
{
	switch (k) {
	case RF_ENF_CGROUP2: return "cgroup2";
	case RF_ENF_CPUSET1: return "cpuset1";
	default: return "affinity";
	}
}

/* A shielded rfd that was killed leaves the host confined: let it go. */
static void undo_stale_shield(struct rfd_enforcer *e)
{
	snprintf(e->host_root, sizeof(e->host_root), "%s.host", e->cpu_root);
	if (access(e->host_root, F_OK) == 0)
		rfd_enforce_unshield(e);
	e->host_root[0] = '\0';
}

int rfd_enforce_init(struct rfd_enforcer *e, const char *mode, const char *instance,
		     const struct base_cpuset *managed, struct base_err *err)
{
	struct base_err no2 = { 0 }, no1 = { 0 };

	memset(e, 0, sizeof(*e));
	snprintf(e->mems, sizeof(e->mems), "0");
	bool any = strcmp(mode, "auto") == 0;
	if (!any && strcmp(mode, "cgroup2") && strcmp(mode, "cpuset1") && strcmp(mode, "affinity")) {
		base_errf(err, BASE_E_BAD_REQUEST,
			  "unknown enforcement \"%s\" (auto, cgroup2, cpuset1, affinity)", mode);
		return -1;
	}
	if (any || strcmp(mode, "cgroup2") == 0) {
		if (rfd_cg2_init(e, instance, managed, &no2) == 0)
			return 0;
		if (!any) {
			base_errf(err, BASE_E_INTERNAL, "cgroup2 enforcement unavailable: %s",
				  no2.msg);
			return -1;
		}
	}
	if (any || strcmp(mode, "cpuset1") == 0) {
		int rc = rfd_cg1_init(e, instance, managed, &no1);
		if (rc == -2) { /* the cores are someone else's: degrading would hide it */
			*err = no1;
			return -1;
		}
		if (rc == 0) {
			undo_stale_shield(e);
			if (any) {
				size_t n = strlen(e->detail);
				snprintf(e->detail + n, sizeof(e->detail) - n,
					 "; cgroup2 isolated partitions unavailable: %s", no2.msg);
			}
			return 0;
		}
		if (!any) {
			base_errf(err, BASE_E_INTERNAL, "cpuset1 enforcement unavailable: %s",
				  no1.msg);
			return -1;
		}
	}
	e->kind = RF_ENF_AFFINITY;
	snprintf(e->detail, sizeof(e->detail),
		 "CPU affinity only (no cgroup confinement)%s%s%s%s", any ? "; cgroup2: " : "",
		 any ? no2.msg : "", any ? "; cpuset1: " : "", any ? no1.msg : "");
	return 0;
}

void rfd_enforce_fini(struct rfd_enforcer *e)
{
	rfd_enforce_unshield(e);
	if (e->kind != RF_ENF_AFFINITY)
		rfd_cg_fini(e);
}

void rfd_enforce_describe(const struct rfd_enforcer *e, char *buf, size_t len)
{
	if (e->kind != RF_ENF_CPUSET1)
		snprintf(buf, len, "%s", e->detail);
	else if (e->host_root[0])
		snprintf(buf, len, "%s; shield: %d host processes confined to cpus %s (%d kernel "
			 "threads stay)", e->detail, e->shield_moved, e->shield_cpus, e->shield_stuck);
	else /* v1 exclusivity is only between siblings: say what is not covered */
		snprintf(buf, len, "%s; host tasks outside rfd's cpusets are not kept off the managed "
			 "cores (rfd --shield does)", e->detail);
}

int rfd_enforce_create(struct rfd_enforcer *e, const char *name, const struct base_cpuset *cpus,
		       uint64_t mem_limit, char *path, size_t pathlen)
{
	if (e->kind == RF_ENF_AFFINITY) {
		path[0] = '\0';
		return 0;
	}
	return rfd_cg_create(e, name, cpus, mem_limit, path, pathlen);
}

int rfd_enforce_set_cpus(struct rfd_enforcer *e, const char *name, const struct base_cpuset *cpus,
			 pid_t pid)
{
	if (e->kind == RF_ENF_AFFINITY)
		return rfd_affinity_apply(pid, cpus);
	return rfd_cg_set_cpus(e, name, cpus);
}

int rfd_enforce_set_mem(struct rfd_enforcer *e, const char *name, uint64_t mem_limit)
{
	if (e->kind == RF_ENF_AFFINITY)
		return 0;
	return rfd_cg_set_mem(e, name, mem_limit);
}

int rfd_enforce_attach(struct rfd_enforcer *e, const char *name, pid_t pid)
{
	if (e->kind == RF_ENF_AFFINITY)
		return 0; /* the child sets its own affinity before exec */
	return rfd_cg_attach(e, name, pid);
}

int rfd_enforce_destroy(struct rfd_enforcer *e, const char *name)
{
	if (e->kind == RF_ENF_AFFINITY)
		return 0;
	return rfd_cg_destroy(e, name);
}
