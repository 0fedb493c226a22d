/*
 * topo.c - machine discovery with hwloc.
 *
 * rfd needs three things from the topology: which CPUs exist, which of them
 * are close (share a core, a cache, a NUMA node) so that a subOS gets
 * neighbouring cores, and how much memory there is.  The depth-first order
 * of PUs in hwloc's tree gives "close" for free: neighbours in that order
 * share the deepest common ancestor.
 */
#include "rfd/topo.h"

#include <hwloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>

static void to_cpuset(hwloc_const_bitmap_t b, struct base_cpuset *out)
{
	base_cpuset_zero(out);
	int i;
	hwloc_bitmap_foreach_begin(i, b) {
		if (i < RF_MAX_CPUS)
			base_cpuset_set(out, i);
	}
	hwloc_bitmap_foreach_end();
}

static void collect_caches(hwloc_topology_t topo, struct rfd_topo *t)
{
	for (hwloc_obj_type_t ty = HWLOC_OBJ_L2CACHE; ty <= HWLOC_OBJ_L3CACHE; ty++) {
		int n = hwloc_get_nbobjs_by_type(topo, ty);
		for (int i = 0; i < n && t->ncaches < RF_TOPO_MAX_CACHES; i++) {
			hwloc_obj_t o = hwloc_get_obj_by_type(topo, ty, i);
			struct rfd_topo_cache *c = &t->cache[t->ncaches++];
			c->level = (int)o->attr->cache.depth;
			c->size = o->attr->cache.size;
			to_cpuset(o->cpuset, &c->cpus);
		}
	}
}

static void collect_pus(hwloc_topology_t topo, struct rfd_topo *t)
{
	int npu = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
	for (int i = 0; i < npu; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, i);
		int cpu = (int)pu->os_index;
		if (cpu < 0 || cpu >= RF_MAX_CPUS)
			continue;
		base_cpuset_set(&t->online, cpu);
		t->order[t->norder++] = cpu;
		hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, pu);
		t->core_of[cpu] = core ? (int)core->logical_index : i;
		t->cpu_node[cpu] = 0;
	}
	t->ncpus = base_cpuset_count(&t->online);
}

static void collect_nodes(hwloc_topology_t topo, struct rfd_topo *t)
{
	int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	t->nnodes = 0;
	for (int i = 0; i < n && i < RF_TOPO_MAX_NODES; i++) {
		hwloc_obj_t o = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, i);
		to_cpuset(o->cpuset, &t->node_cpus[i]);
		for_each_cpu(c, &t->node_cpus[i])
			t->cpu_node[c] = i;
		t->nnodes++;
	}
	if (t->nnodes == 0) {
		t->nnodes = 1;
		t->node_cpus[0] = t->online;
	}
}

int rfd_topo_discover(struct rfd_topo *t)
{
	hwloc_topology_t topo;
	struct sysinfo si;

	memset(t, 0, sizeof(*t));
	if (hwloc_topology_init(&topo) < 0 || hwloc_topology_load(topo) < 0) {
		fprintf(stderr, "rfd: hwloc could not read this machine's topology\n");
		return -1;
	}
	collect_pus(topo, t);
	collect_nodes(topo, t);
	collect_caches(topo, t);
	t->ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
	t->npackages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
	if (t->ncores <= 0)
		t->ncores = t->ncpus;
	/* hwloc reads NUMA memory from firmware tables, which some VMs get wrong
	 * (memory hot-plugged after boot is missing); the kernel's count wins. */
	hwloc_obj_t root = hwloc_get_root_obj(topo);
	t->mem_total = root->total_memory;
	if (sysinfo(&si) == 0 && (uint64_t)si.totalram * si.mem_unit > t->mem_total)
		t->mem_total = (uint64_t)si.totalram * si.mem_unit;
	hwloc_topology_destroy(topo);
	if (t->ncpus == 0) {
		fprintf(stderr, "rfd: hwloc found no CPUs\n");
		return -1;
	}
	return 0;
}
