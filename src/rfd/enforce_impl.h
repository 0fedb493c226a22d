/*
 * enforce_impl.h - the back ends behind enforce.h (private to rfd/enforce*).
 */
#ifndef RF_RFD_ENFORCE_IMPL_H
#define RF_RFD_ENFORCE_IMPL_H

#include "rfd/enforce.h"

int rfd_cg2_init(struct rfd_enforcer *e, const char *instance, const struct base_cpuset *managed,
		 struct base_err *err);
int rfd_cg1_init(struct rfd_enforcer *e, const char *instance, const struct base_cpuset *managed,
		 struct base_err *err);
void rfd_cg_fini(struct rfd_enforcer *e);
int rfd_cg_create(struct rfd_enforcer *e, const char *name, const struct base_cpuset *cpus,
		  uint64_t mem_limit, char *path, size_t pathlen);
int rfd_cg_set_cpus(struct rfd_enforcer *e, const char *name, const struct base_cpuset *cpus);
int rfd_cg_set_mem(struct rfd_enforcer *e, const char *name, uint64_t mem_limit);
int rfd_cg_attach(struct rfd_enforcer *e, const char *name, pid_t pid);
/* The parts of create and attach a spare splits (enforce_spare.c): the
 * cpuset directory alone, the cpuset alone, the other hierarchies alone. */
int rfd_cg_make_cpu(struct rfd_enforcer *e, const char *name, const struct base_cpuset *cpus,
		    char *path, size_t pathlen);
int rfd_cg_attach_cpu(struct rfd_enforcer *e, const char *name, pid_t pid);
int rfd_cg_attach_rest(struct rfd_enforcer *e, const char *name, pid_t pid);
/* dir of `name` under root. */
void rfd_cg_sub_dir(const char *root, const char *name, char *out, size_t len);
int rfd_cg_destroy(struct rfd_enforcer *e, const char *name);

/* Set the affinity of every thread of every process in pid's PID namespace. */
int rfd_affinity_apply(pid_t pid, const struct base_cpuset *cpus);

#endif
