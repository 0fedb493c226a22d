/*
 * topo.h - what rfd knows of the machine, discovered once with hwloc.
 */
#ifndef RF_RFD_TOPO_H
#define RF_RFD_TOPO_H

#include <stdint.h>
#include "base/cpuset.h"

#define RF_TOPO_MAX_CACHES 64
#define RF_TOPO_MAX_NODES  64

struct rf_topo_cache {
	int level;
	uint64_t size;
	struct rf_cpuset cpus;
};

struct rf_topo {
	int ncpus;                 /* processing units (hardware threads) */
	int ncores;                /* physical cores */
	int npackages;
	int nnodes;
	struct rf_cpuset online;
	struct rf_cpuset node_cpus[RF_TOPO_MAX_NODES];
	int cpu_node[RF_MAX_CPUS];
	int core_of[RF_MAX_CPUS];  /* physical core index of each PU (SMT siblings share) */
	uint64_t mem_total;        /* bytes, from the OS (hwloc may see less in a VM) */
	int ncaches;               /* shared caches (level >= 2), deduplicated */
	struct rf_topo_cache cache[RF_TOPO_MAX_CACHES];
	int order[RF_MAX_CPUS];    /* PUs in depth-first topology order */
	int norder;
};

/* Returns 0 or -1 with a message on stderr. */
int rf_topo_discover(struct rf_topo *t);

#endif
