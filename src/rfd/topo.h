/*
 * topo.h - what rfd knows of the machine, discovered once with hwloc.
 */
#ifndef RF_RFD_TOPO_H
#define RF_RFD_TOPO_H

#include <stdint.h>
#include "base/cpuset.h"

#define RF_TOPO_MAX_CACHES 64
#define RF_TOPO_MAX_NODES  64

struct rfd_topo_cache {
	int level;
	uint64_t size;
	struct base_cpuset cpus;
};

struct rfd_topo {
	int ncpus;                 /* processing units (hardware threads) */
	int ncores;                /* physical cores */
	int npackages;
	int nnodes;
	struct base_cpuset online;
	struct base_cpuset node_cpus[RF_TOPO_MAX_NODES];
	int cpu_node[RF_MAX_CPUS];
	int core_of[RF_MAX_CPUS];  /* physical core index of each PU (SMT siblings share) */
	uint64_t mem_total;        /* bytes, from the OS (hwloc may see less in a VM) */
	int ncaches;               /* shared caches (level >= 2), deduplicated */
	struct rfd_topo_cache cache[RF_TOPO_MAX_CACHES];
	int order[RF_MAX_CPUS];    /* PUs in depth-first topology order */
	int norder;
};

/* Returns 0 or -1 with a message on stderr. */
int rfd_topo_discover(struct rfd_topo *t);

#endif
