/*
 * enforce_impl.h - the back ends behind enforce.h (private to rfd/enforce*).
 */
#ifndef RF_RFD_ENFORCE_IMPL_H
#define RF_RFD_ENFORCE_IMPL_H

#include "rfd/enforce.h"

int rf_cg2_init(struct rf_enforcer *e, const char *instance, const struct rf_cpuset *managed,
		struct rf_err *err);
int rf_cg1_init(struct rf_enforcer *e, const char *instance, const struct rf_cpuset *managed,
		struct rf_err *err);
void rf_cg_fini(struct rf_enforcer *e);
int rf_cg_create(struct rf_enforcer *e, const char *name, const struct rf_cpuset *cpus,
		 uint64_t mem_limit, char *path, size_t pathlen);
int rf_cg_set_cpus(struct rf_enforcer *e, const char *name, const struct rf_cpuset *cpus);
int rf_cg_set_mem(struct rf_enforcer *e, const char *name, uint64_t mem_limit);
int rf_cg_attach(struct rf_enforcer *e, const char *name, pid_t pid);
int rf_cg_destroy(struct rf_enforcer *e, const char *name);

/* Set the affinity of every thread of every process in pid's PID namespace. */
int rf_affinity_apply(pid_t pid, const struct rf_cpuset *cpus);

#endif
