/*
 * enforce.h - making the partition table true on the host.
 *
 * Three back ends, strongest first; rfd picks the best the host offers at
 * start (or the one --enforce names) and reports it in `rfm info`:
 *   cgroup2   cgroup v2 cpuset partitions of type "isolated" (the cores leave
 *             the host scheduler's load balancing) + memory.max
 *   cpuset1   cgroup v1 cpusets with cpu_exclusive + v1 memory cgroup limits
 *   affinity  sched_setaffinity on every thread of the subOS, nothing else
 * The table is the authority; a back end only mirrors it.  Each call is
 * idempotent so that a restarted rfd can re-apply the table.
 */
#ifndef RF_RFD_ENFORCE_H
#define RF_RFD_ENFORCE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "base/cpuset.h"
#include "base/err.h"

enum rfd_enforce_kind { RF_ENF_CGROUP2, RF_ENF_CPUSET1, RF_ENF_AFFINITY };

struct rfd_enforcer {
	enum rfd_enforce_kind kind;
	char detail[512];          /* human description for rfm info */
	char cpu_root[PATH_MAX];   /* instance cgroup holding the subOS cpusets */
	char mem_root[PATH_MAX];   /* instance memory cgroup ("" if none) */
	char freeze_root[PATH_MAX]; /* v1: instance freezer cgroup ("" if none) */
	char mems[64];             /* NUMA nodes for cpuset.mems */
	bool exclusive;            /* v1: cpu_exclusive took effect */
	bool owns_root;            /* we created cpu_root (remove at exit) */
	char host_root[PATH_MAX];  /* v1 shield: the host tasks' cpuset, "" if none */
	char shield_cpus[64];
	int shield_moved, shield_stuck;
};

const char *rfd_enforce_name(enum rfd_enforce_kind k);

/* mode: "auto", "cgroup2", "cpuset1" or "affinity".  instance names the
 * per-rfd cgroup directory.  Returns 0 or -1 with *err filled. */
int rfd_enforce_init(struct rfd_enforcer *e, const char *mode, const char *instance,
		     const struct base_cpuset *managed, struct base_err *err);
void rfd_enforce_fini(struct rfd_enforcer *e);

/* A subOS's confinement.  mem_limit 0 means no memory cgroup limit.
 * `path` receives the subOS's cpu cgroup directory ("" for affinity). */
int rfd_enforce_create(struct rfd_enforcer *e, const char *name, const struct base_cpuset *cpus,
		       uint64_t mem_limit, char *path, size_t pathlen);
int rfd_enforce_set_cpus(struct rfd_enforcer *e, const char *name, const struct base_cpuset *cpus,
			 pid_t pid);
int rfd_enforce_set_mem(struct rfd_enforcer *e, const char *name, uint64_t mem_limit);
/* Move a process (by host pid) into the subOS's cgroups. */
int rfd_enforce_attach(struct rfd_enforcer *e, const char *name, pid_t pid);
/* Remove the subOS's cgroups (its processes must be gone). */
int rfd_enforce_destroy(struct rfd_enforcer *e, const char *name);

/* Spares (spare.h, enforce_spare.c): cgroups made for a program's process
 * before the create that takes it.  has_spares: this back end can
 * (cpuset1).  make: the spare's cgroups under `name` (never a subOS's);
 * join: move pid into them; adopt: they become subOS `name`'s, with its
 * cpuset made and pid moved there (undone on failure); remove: the spare's
 * cgroups (its tasks gone).  0 or -errno. */
bool rfd_enforce_has_spares(const struct rfd_enforcer *e);
int rfd_enforce_spare_make(struct rfd_enforcer *e, const char *name, uint64_t mem_limit);
int rfd_enforce_spare_join(struct rfd_enforcer *e, const char *name, pid_t pid);
int rfd_enforce_spare_adopt(struct rfd_enforcer *e, const char *spare, const char *name,
			    const struct base_cpuset *cpus, uint64_t mem_limit, pid_t pid,
			    char *path, size_t pathlen);
int rfd_enforce_spare_remove(struct rfd_enforcer *e, const char *name);

/* After a restart: kill what runs in, and remove, every subOS cgroup of
 * this instance that known(name, ctx) does not claim (a create that rfd
 * died in the middle of).  Returns how many were swept (0 for affinity). */
typedef bool (*rfd_enforce_known_fn)(const char *name, void *ctx);
int rfd_enforce_sweep(struct rfd_enforcer *e, rfd_enforce_known_fn known, void *ctx);

/* Pausing (enforce_pause.c): a subOS the policy left with no core.  Its
 * tasks are frozen (the v1 freezer cgroup every subOS's tasks join at
 * attach), and since a v1 cpuset with tasks cannot be empty, they wait in
 * the instance's own cpuset, frozen, while the subOS's cpuset is emptied;
 * resume gives the cpuset its cores, moves the tasks back and thaws them.
 * Only cpuset1 with a freezer hierarchy can pause (can_pause says so);
 * elsewhere the policy keeps a batch subOS at one core.  thaw: for a stop
 * (its tasks must run to die), without a core to move them back to. */
bool rfd_enforce_can_pause(const struct rfd_enforcer *e);
int rfd_enforce_pause(struct rfd_enforcer *e, const char *name);
int rfd_enforce_resume(struct rfd_enforcer *e, const char *name, const struct base_cpuset *cpus);
int rfd_enforce_thaw(struct rfd_enforcer *e, const char *name);
/* What the host holds of a subOS: its cpuset's cores into cpus, and 1 if
 * its tasks are frozen (or freezing), 0 if not; -errno (-EOPNOTSUPP where
 * nothing can pause). */
int rfd_enforce_inspect(struct rfd_enforcer *e, const char *name, struct base_cpuset *cpus);

/* What is enforced, for people (rfm info). */
void rfd_enforce_describe(const struct rfd_enforcer *e, char *buf, size_t len);

/* v1 only: move the host's tasks into a cpuset of the `host` CPUs, so that
 * nothing but subOSes runs on managed cores; undone by unshield (and by
 * rfd_enforce_fini).  Returns 0 or -errno (-EOPNOTSUPP on other back ends). */
int rfd_enforce_shield(struct rfd_enforcer *e, const struct base_cpuset *host);
void rfd_enforce_unshield(struct rfd_enforcer *e);

/* cgfs.c: small file helpers shared by the back ends. */
int rfd_cg_write(const char *dir, const char *file, const char *val);
int rfd_cg_read(const char *dir, const char *file, char *buf, size_t len);
int rfd_cg_rmdir(const char *dir);
int rfd_cg_mkdir(const char *dir);

#endif
