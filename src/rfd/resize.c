/*
 * resize.c - moving cores and memory in and out of a running subOS.
 *
 * Cores: a new core is added to the subOS's cpuset before librf is told,
 * so its thread can be placed at once; a leaving core stays in the cpuset
 * until librf acknowledged (or the deadline forced it), so the work is
 * never stranded on a core it may no longer use.  The timings returned are
 * the mechanism alone, from publishing the description to the
 * acknowledgement; journalling comes after.
 *
 * Memory: growth hands pool chunks over as new regions; a shrink asks
 * librf for its highest regions back and takes those it says it returned.
 * Its word (the status page) is only a hint of which regions to take:
 * taking one is rfd's own act (the pool punches the chunk out and drops its
 * memfd), so a region is free again whatever the subOS kept of it, and a
 * lie can only cost the liar its memory.  A region it says nothing of, or
 * BUSY, stays its own: rfd's accounting never moves on a subOS's word
 * alone.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/resize.h"
#include "rfd/confine.h"
#include "rfd/libos.h"
#include "rfd/placement.h"
#include "rfd/subos.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "base/timing.h"
#include "base/units.h"

struct resize_out {
	bool forced;
	uint64_t cores_ns, mem_ns;
};

static int target_cores(struct rfd *d, struct rfd_subos *s, const struct base_cores_arg *ca,
			struct base_cpuset *out, struct base_err *err)
{
	struct base_cores_arg abs = *ca;
	if (ca->form == RF_CORES_DELTA) {
		abs.form = RF_CORES_COUNT;
		abs.n = base_cpuset_count(&s->cpus) + ca->n;
		if (abs.n < 1)
			return base_errf(err, BASE_E_BAD_REQUEST,
					 "\"%s\" has %d cores; a subOS keeps at "
					 "least one", s->name, base_cpuset_count(&s->cpus));
	}
	return rfd_place_pick_cores(d, s->id, &abs, out, err);
}

static int cores_linux(struct rfd *d, struct rfd_subos *s, const struct base_cpuset *want,
		       struct resize_out *ro, struct base_err *err)
{
	uint64_t t0 = base_now_ns();
	int rc = rfd_place_enforce_cpus(d, s, want);
	if (rc)
		return base_errf(err, BASE_E_INTERNAL, "cannot set the cores of \"%s\": %s",
				 s->name, strerror(-rc));
	ro->cores_ns = base_now_ns() - t0;
	return 0;
}

static int cores_libos(struct rfd *d, struct rfd_subos *s, const struct base_cpuset *want,
		       struct resize_out *ro, struct base_err *err)
{
	struct base_cpuset both = s->cpus;
	base_cpuset_or(&both, want);
	int rc = rfd_place_enforce_cpus(d, s, &both);
	if (rc)
		return base_errf(err, BASE_E_INTERNAL, "cannot widen the cpuset of \"%s\": %s",
				 s->name, strerror(-rc));
	struct base_cpuset acting = both;  /* added and leaving cores: not kept ones */
	struct base_cpuset kept = s->cpus;
	base_cpuset_and_into(&kept, want);
	base_cpuset_andnot(&acting, &kept);
	struct rfd_aside aside;
	rfd_libos_step_aside(s, &acting, &aside);
	uint64_t t0 = base_now_ns();
	rfd_desc_begin(s);
	for_each_cpu(c, &both)
		s->desc->cpu[c] = base_cpuset_has(want, c) ? RF_CPU_ACTIVE : RF_CPU_LEAVING;
	s->desc->ncpus = (uint32_t)base_cpuset_count(want);
	uint32_t gen = rfd_desc_end(s, RF_CMD_APPLY);
	rc = rfd_libos_kick_and_wait(d, s, gen, &aside);
	ro->cores_ns = base_now_ns() - t0;
	ro->forced = rc != 0;
	/* Acknowledged or not, the leaving cores go now (forced on timeout). */
	rfd_desc_begin(s);
	for_each_cpu(c, &both) if (!base_cpuset_has(want, c)) s->desc->cpu[c] = RF_CPU_NONE;
	rfd_desc_end(s, RF_CMD_APPLY);
	rc = rfd_place_enforce_cpus(d, s, want);
	if (rc)
		return base_errf(err, BASE_E_INTERNAL, "cannot narrow the cpuset of \"%s\": %s",
				 s->name, strerror(-rc));
	return 0;
}

static int free_slot(const struct rfd_subos *s)
{
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		if (s->region_chunk[i] < 0)
			return i;
	return -1;
}

static int mem_grow(struct rfd *d, struct rfd_subos *s, int n, struct resize_out *ro,
		    struct base_err *err)
{
	int ids[RF_MAX_REGIONS], slots[RF_MAX_REGIONS];
	if (rfd_place_take_chunks(d, s, n, ids, err))
		return -1;
	uint64_t t0 = base_now_ns();
	rfd_desc_begin(s);
	for (int i = 0; i < n; i++) {
		slots[i] = free_slot(s);
		s->region_chunk[slots[i]] = ids[i];
		s->desc->region[slots[i]].id = (uint32_t)ids[i];
		s->desc->region[slots[i]].size = d->pool.chunk_size;
		s->desc->region[slots[i]].state = RF_REGION_OFFERED;
	}
	s->nregions += n;
	s->mem += (uint64_t)n * d->pool.chunk_size;
	s->desc->mem_bytes = s->mem;
	for (int i = 0; i < n; i++)
		rfd_libos_send_region(s, slots[i], rfd_pool_fd(&d->pool, ids[i]));
	uint32_t gen = rfd_desc_end(s, RF_CMD_APPLY);
	int rc = rfd_libos_kick_and_wait(d, s, gen, NULL);
	ro->mem_ns = base_now_ns() - t0;
	if (rc)
		ro->forced = true; /* the regions are its own either way: it holds the fds */
	return 0;
}

static int mem_shrink(struct rfd *d, struct rfd_subos *s, int n, struct resize_out *ro,
		      struct base_err *err)
{
	int asked[RF_MAX_REGIONS], nasked = 0;
	uint64_t t0 = base_now_ns();
	rfd_desc_begin(s);
	for (int i = RF_MAX_REGIONS - 1; i >= 0 && nasked < n; i--)
		if (s->region_chunk[i] >= 0) {
			s->desc->region[i].state = RF_REGION_RECLAIM;
			asked[nasked++] = i;
		}
	uint32_t gen = rfd_desc_end(s, RF_CMD_APPLY);
	int rc = rfd_libos_kick_and_wait(d, s, gen, NULL);
	ro->mem_ns = base_now_ns() - t0;
	int got = 0;
	rfd_desc_begin(s);
	for (int k = 0; k < nasked; k++) {
		int i = asked[k];
		/* one read: the subOS may change the word under us */
		uint32_t said = atomic_load_explicit((_Atomic uint32_t *)&s->status->region[i],
						     memory_order_acquire);
		if (said == RF_REGION_RETURNED) {
			rfd_pool_give_back(&d->pool, s->region_chunk[i]);
			s->region_chunk[i] = -1;
			memset(&s->desc->region[i], 0, sizeof(s->desc->region[i]));
			got++;
		} else {
			s->desc->region[i].state = RF_REGION_OFFERED; /* still its own */
		}
	}
	s->nregions -= got;
	s->mem -= (uint64_t)got * d->pool.chunk_size;
	rfd_ptable_mem_release(&d->pt, (uint64_t)got * d->pool.chunk_size);
	s->desc->mem_bytes = s->mem;
	rfd_desc_end(s, RF_CMD_APPLY);
	if (got < n) {
		char h[32];
		base_format_size(s->mem, h, sizeof(h));
		return base_errf(err, rc == -ETIMEDOUT ? BASE_E_TIMEOUT : BASE_E_MEM_BUSY,
				 "\"%s\" returned %d of %d regions (its memory is in use); it now "
				 "holds %s", s->name, got, n, h);
	}
	return 0;
}

static int mem_libos(struct rfd *d, struct rfd_subos *s, uint64_t want, struct resize_out *ro,
		     struct base_err *err)
{
	int delta = (int)((int64_t)(want - s->mem) / (int64_t)d->pool.chunk_size), rc = 0;
	if (delta > 0) {
		if (rfd_place_reserve_mem(d, (uint64_t)delta * d->pool.chunk_size, err))
			return -1;
		/* Its memory limits (confine.h) first: librf locks what it maps. */
		rfd_confine_set_mem(d, s, want);
		if (mem_grow(d, s, delta, ro, err)) {
			rfd_ptable_mem_release(&d->pt, (uint64_t)delta * d->pool.chunk_size);
			rc = -1;
		}
	} else if (delta < 0) {
		rc = mem_shrink(d, s, -delta, ro, err);
	}
	rfd_confine_set_mem(d, s, s->mem);
	return rc;
}

static int mem_linux(struct rfd *d, struct rfd_subos *s, uint64_t want, struct resize_out *ro,
		     struct base_err *err)
{
	if (want > s->mem && rfd_place_reserve_mem(d, want - s->mem, err))
		return -1;
	uint64_t t0 = base_now_ns();
	int rc = rfd_enforce_set_mem(&d->enf, s->name, want);
	ro->mem_ns = base_now_ns() - t0;
	if (rc) {
		if (want > s->mem)
			rfd_ptable_mem_release(&d->pt, want - s->mem);
		return base_errf(err, rc == -EBUSY ? BASE_E_MEM_BUSY : BASE_E_INTERNAL,
				 "cannot set the memory limit of \"%s\": %s", s->name,
				 strerror(-rc));
	}
	if (want < s->mem)
		rfd_ptable_mem_release(&d->pt, s->mem - want);
	s->mem = want;
	return 0;
}

static struct json_object *resize_extra(const struct resize_out *ro)
{
	static const char *const steps[] = { "cores", "mem" };
	const uint64_t us[] = { ro->cores_ns / BASE_NS_PER_US, ro->mem_ns / BASE_NS_PER_US };
	struct json_object *x = json_object_new_object();
	base_timing_us_add(x, steps, us, 2);
	json_object_object_add(x, "forced", json_object_new_boolean(ro->forced));
	return x;
}

int rfd_subos_resize(struct rfd *d, struct rfd_subos *s, const struct base_request *req,
		     struct json_object **result, struct base_err *err)
{
	struct resize_out ro = { 0 };
	struct base_cpuset want = s->cpus;
	uint64_t mem = s->mem, cs = d->pool.chunk_size;
	int rc = 0;
	bool cores_changed = false;

	if (s->life != RF_LIFE_RUNNING)
		return base_errf(err, BASE_E_NOT_RUNNING, "\"%s\" is not running", s->name);
	/* An adopted libos subOS (recover.c) may lack its description pages or
	 * control rings, and always lacks its control socket, which carries
	 * new memory. */
	if (s->kind == RF_KIND_LIBOS && (!s->desc || !s->status || !s->msgs))
		return base_errf(err, BASE_E_INTERNAL,
				 "the description of \"%s\" was not recovered "
				 "after rfd restarted; it can only be destroyed", s->name);
	if (s->kind == RF_KIND_LIBOS && s->ctl_fd < 0 && req->has_mem &&
	    base_round_up(req->mem, cs) > s->mem)
		return base_errf(err, BASE_E_MEM_UNAVAILABLE,
				 "\"%s\" was adopted by a restarted rfd and "
				 "cannot receive new memory (no control channel); destroy and "
				 "create it anew", s->name);
	if (req->cores.form != RF_CORES_NONE && target_cores(d, s, &req->cores, &want, err))
		return -1;
	if (req->has_mem)
		mem = base_round_up(req->mem, cs);
	if (!base_cpuset_equal(&want, &s->cpus)) {
		rc = s->kind == RF_KIND_LIBOS ? cores_libos(d, s, &want, &ro, err)
					      : cores_linux(d, s, &want, &ro, err);
		if (rc)
			return -1;
		rfd_ptable_assign(&d->pt, s->id, &want);
		s->cpus = want;
		cores_changed = true;
		rfd_confine_set_mem(d, s, s->mem); /* libos: its allowance per core */
	}
	uint64_t mem_before = s->mem;
	if (mem != s->mem)
		rc = s->kind == RF_KIND_LIBOS ? mem_libos(d, s, mem, &ro, err)
					      : mem_linux(d, s, mem, &ro, err);
	/* A refused request that changed nothing leaves no journal record. */
	if (rc && !cores_changed && s->mem == mem_before)
		return rc;
	struct json_object *x = resize_extra(&ro);
	if (s->kind == RF_KIND_LIBOS && s->mem != mem_before)
		rfd_place_chunks_json(d, s, x);
	*result = rfd_subos_json(d, s, false);
	json_object_object_foreach(x, k, v)
		json_object_object_add(*result, k, json_object_get(v));
	if (ro.forced)
		rfd_journal_subos(d, "force", s, json_object_get(x));
	if (rfd_journal_subos(d, "resize", s, x) && !rc)
		rc = base_errf(err, BASE_E_INTERNAL, "resized, but the journal write failed");
	if (rc) {
		json_object_put(*result);
		*result = NULL;
	}
	return rc;
}

/* One step: a resize's handshake is still waited for here, bounded by
 * the deadline (README, Known limits); as an op it queues behind the other
 * ops on its subOS, so it never acts on one being created or destroyed. */
enum rfd_op_rc rfd_subos_resize_step(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s;
	if (op->state == RFD_OP_CANCEL)
		return RFD_OP_DONE;
	if (!(s = rfd_subos_find(d, op->name))) {
		base_errf(&op->err, BASE_E_NO_SUCH_SUBOS, "no subOS named \"%s\"", op->name);
		return RFD_OP_DONE;
	}
	rfd_subos_resize(d, s, &op->req, &op->result, &op->err);
	return RFD_OP_DONE;
}
