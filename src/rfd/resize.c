/*
 * resize.c - moving cores and memory in and out of a running subOS.
 *
 * Cores: a new core is added to the subOS's cpuset before librf is told,
 * so its thread can be placed at once; a leaving core stays in the cpuset
 * until librf acknowledged (or the deadline forced it), so the work is
 * never stranded on a core it may no longer use.  The timings returned are
 * the mechanism alone, from publishing the description to the
 * acknowledgement; journalling comes after, except for a change that only
 * adds cores: its outcome is certain, so its record goes first
 * (record_ahead).
 *
 * A resize is an op (op.h): after publishing a change rfd polls for the
 * acknowledgement for the spin libos.c grants (a busy librf answers within
 * it, so the common case ends in this turn of the loop), then leaves it to
 * the loop: a tick looks at the reply ring again (it cannot wake the loop),
 * often at first, and the program's pidfd tells its death, until the
 * deadline forces the change.
 *
 * No core is a pause (enforce.h): a libos subOS's cores park holding its
 * work (librf acknowledges that like any leave), then its tasks are
 * frozen; a linux subOS is frozen at once.  The first core back resumes it
 * (placement.c) before librf is told.
 *
 * Memory: growth hands pool chunks over as new regions, once the pool has
 * them ready (a step waiting on the pool's eventfd, never a wait inside
 * the loop: a pool being refilled delays only this resize); a shrink asks
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
#include "rfd/op.h"

#include <errno.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "base/timing.h"
#include "base/units.h"

struct resize_out {
	bool forced;
	uint64_t cores_ns, mem_ns;
};

/* After the spin: look every ACK_TICK_NS for ACK_FINE_NS (a core's thread
 * woken from its sleep answers within that), then on a tick growing to
 * ACK_TICK_MAX_NS until the deadline. */
#define ACK_TICK_NS     (50ull * 1000)
#define ACK_TICK_COARSE_NS (100ull * 1000) /* first tick where rfd could not step aside */
#define ACK_FINE_NS     (2ull * 1000000)
#define ACK_TICK_MAX_NS (1000ull * 1000)

/* A resize in flight (op->own). */
struct rz {
	struct resize_out ro;
	struct base_cpuset want, both; /* cores: the target; target and current */
	uint64_t mem, mem_before;    /* memory: the target; before */
	bool cores_changed;
	uint32_t gen;                /* the change librf is to acknowledge */
	uint64_t t0;                 /* when it was published */
	int asked[RF_MAX_REGIONS];   /* a shrink: the regions asked back */
	int nasked;
	int ngrow;                   /* a growth: the chunks to hand over */
	int rc;                      /* -1: refused after something changed */
	struct rfd_aside aside;      /* where rfd waits for a core handshake */
	bool ahead;                  /* its record is written (record_ahead) */
	struct rfd_journal_mark mark; /* ... where it went */
};

enum { RZ_BEGIN, RZ_CORES_WAIT, RZ_MEM, RZ_POOL, RZ_GROW_WAIT, RZ_SHRINK_WAIT };

static int target_cores(struct rfd *d, struct rfd_subos *s, const struct base_cores_arg *ca,
			struct base_cpuset *out, struct base_err *err)
{
	struct base_cores_arg abs = *ca;
	/* No core at all: a pause, which only the policy asks (the codec never
	 * decodes an empty list) and only where the host can freeze. */
	if (ca->form == RF_CORES_LIST && base_cpuset_empty(&ca->set)) {
		if (!rfd_enforce_can_pause(&d->enf))
			return base_errf(err, BASE_E_BAD_REQUEST, "\"%s\" cannot be paused: "
					 "enforcement %s has no freezer", s->name,
					 rfd_enforce_name(d->enf.kind));
		base_cpuset_zero(out);
		return 0;
	}
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

/* The cores are the subOS's now: the table, the record, its allowance. */
static void cores_apply(struct rfd *d, struct rfd_subos *s, struct rz *z)
{
	rfd_ptable_assign(&d->pt, s->id, &z->want);
	s->cpus = z->want;
	z->cores_changed = true;
	rfd_confine_set_mem(d, s, s->mem); /* libos: its allowance per core */
}

/* Only cores added, nothing else: nothing after the publish can undo
 * that (a missed acknowledgement forces it), so the outcome is known
 * before the handshake and its record is written first, before the
 * cpuset widens: rfd dying in between leaves a subOS that owns a core it
 * does not run on yet, never one running on a core the next rfd counts
 * as free (written after the handshake, as other changes are, the window
 * between widening and the record was the latter).  The table keeps the
 * cores as they are until then: placement reads them to tell a resume
 * from a widening.  0, or -1 with err (nothing changed). */
static int record_ahead(struct rfd *d, struct rfd_subos *s, struct rz *z, struct base_err *err)
{
	struct base_cpuset now = s->cpus;
	rfd_journal_mark(&d->journal, &z->mark);
	s->cpus = z->want; /* what the record says */
	int rc = rfd_journal_subos(d, "resize", s, NULL);
	s->cpus = now;
	if (rc)
		return base_errf(err, BASE_E_INTERNAL, "cannot journal the resize of \"%s\": %s",
				 s->name, strerror(-rc));
	z->ahead = true;
	return 0;
}

/* The cpuset did not widen: the record taken back (or undone by another
 * when it can no longer be). */
static void unrecord(struct rfd *d, struct rfd_subos *s, struct rz *z)
{
	z->ahead = false;
	if (rfd_journal_retract(&d->journal, &z->mark))
		rfd_journal_subos(d, "resize", s, NULL);
}

/* Does the change only add cores (and touch nothing else)? */
static bool only_adds(const struct rfd_subos *s, const struct rz *z)
{
	struct base_cpuset both = s->cpus;
	base_cpuset_or(&both, &z->want);
	return base_cpuset_equal(&both, &z->want) && z->mem == s->mem;
}

/* A linux subOS: its cpuset is the whole mechanism.  0, or -1 with err
 * (nothing changed). */
static int cores_linux(struct rfd *d, struct rfd_subos *s, struct rz *z, struct base_err *err)
{
	if (only_adds(s, z) && record_ahead(d, s, z, err))
		return -1;
	uint64_t t0 = base_now_ns();
	int rc = rfd_place_enforce_cpus(d, s, &z->want);
	if (rc) {
		if (z->ahead)
			unrecord(d, s, z);
		return base_errf(err, BASE_E_INTERNAL, "cannot set the cores of \"%s\": %s",
				 s->name, strerror(-rc));
	}
	z->ro.cores_ns = base_now_ns() - t0;
	cores_apply(d, s, z);
	return 0;
}

/* Widen the cpuset, publish the change; 0 (z->gen published, the spin
 * spent: op->how holds its outcome) or -1 with err. */
static int cores_publish(struct rfd *d, struct rfd_subos *s, struct rz *z, struct rfd_op *op,
			 struct base_err *err)
{
	struct base_cpuset acting, kept = s->cpus;
	z->both = s->cpus;
	base_cpuset_or(&z->both, &z->want);
	acting = z->both;  /* added and leaving cores: not kept ones */
	base_cpuset_and_into(&kept, &z->want);
	base_cpuset_andnot(&acting, &kept);
	bool widen = !base_cpuset_equal(&z->both, &s->cpus);
	if (only_adds(s, z) && record_ahead(d, s, z, err))
		return -1;
	/* Only cores leaving: the cpuset stays as it is.  Rewriting it with
	 * its own value is not free: the kernel resets the affinity of every
	 * task in it, un-pinning the librf threads that are to stay. */
	int rc = widen ? rfd_place_enforce_cpus(d, s, &z->both) : 0;
	if (rc) {
		if (z->ahead)
			unrecord(d, s, z);
		return base_errf(err, BASE_E_INTERNAL, "cannot widen the cpuset of \"%s\": %s",
				 s->name, strerror(-rc));
	}
	rfd_libos_step_aside(s, &acting, &z->aside);
	z->t0 = base_now_ns();
	rfd_desc_begin(s);
	for_each_cpu(c, &z->both)
		s->desc->cpu[c] = base_cpuset_has(&z->want, c) ? RF_CPU_ACTIVE : RF_CPU_LEAVING;
	s->desc->ncpus = (uint32_t)base_cpuset_count(&z->want);
	z->gen = rfd_desc_end(s, RF_CMD_APPLY);
	op->how = rfd_libos_kick_and_spin(s, z->gen, &z->aside);
	return 0;
}

/* Acknowledged (ack 0) or not, the leaving cores go now (forced). */
static int cores_finish(struct rfd *d, struct rfd_subos *s, struct rz *z, int ack,
			struct base_err *err)
{
	z->ro.cores_ns = base_now_ns() - z->t0;
	z->ro.forced = ack != 0;
	rfd_libos_step_back(&z->aside);
	if (base_cpuset_equal(&z->both, &z->want))
		return 0; /* only added cores: the description and cpuset are the target */
	rfd_desc_begin(s);
	for_each_cpu(c, &z->both) if (!base_cpuset_has(&z->want, c)) s->desc->cpu[c] = RF_CPU_NONE;
	rfd_desc_end(s, RF_CMD_APPLY);
	int rc = rfd_place_enforce_cpus(d, s, &z->want);
	if (rc)
		return base_errf(err, BASE_E_INTERNAL, "cannot narrow the cpuset of \"%s\": %s",
				 s->name, strerror(-rc));
	return 0;
}

/* librf's acknowledgement of z->gen: 0, -ESRCH (it died) or -ETIMEDOUT
 * (both force the change), or 1: waiting (armed). */
static int ack_poll(struct rfd *d, struct rfd_op *op, struct rfd_subos *s, struct rz *z)
{
	int rc = rfd_libos_acked(s, z->gen);
	uint64_t now = base_now_ns(), until = z->t0 + d->deadline_ns;
	if (rc != -EAGAIN)
		return rc;
	if (now >= until)
		return -ETIMEDOUT;
	/* Fine ticks only where rfd sits on no core that has to act. */
	bool fine = z->aside.spin && now - z->t0 < ACK_FINE_NS;
	rfd_op_tick(d, op, s->pidfd, fine ? ACK_TICK_NS : ACK_TICK_COARSE_NS,
		    fine ? ACK_TICK_NS : ACK_TICK_MAX_NS, until);
	return 1;
}

static int free_slot(const struct rfd_subos *s)
{
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		if (s->region_chunk[i] < 0)
			return i;
	return -1;
}

/* Hand n chunks over as new regions and publish; op->how: the spin's
 * outcome.  0, or -1 with err (nothing changed). */
static int grow_publish(struct rfd *d, struct rfd_subos *s, struct rz *z, int n,
			struct rfd_op *op, struct base_err *err)
{
	int ids[RF_MAX_REGIONS], slots[RF_MAX_REGIONS];
	if (rfd_place_take_chunks(d, s, n, ids, err))
		return -1;
	z->t0 = base_now_ns();
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
	z->gen = rfd_desc_end(s, RF_CMD_APPLY);
	op->how = rfd_libos_kick_and_spin(s, z->gen, NULL);
	return 0;
}

/* Ask librf for its highest regions back and publish. */
static void shrink_publish(struct rfd_subos *s, struct rz *z, int n, struct rfd_op *op)
{
	z->t0 = base_now_ns();
	z->nasked = 0;
	rfd_desc_begin(s);
	for (int i = RF_MAX_REGIONS - 1; i >= 0 && z->nasked < n; i--)
		if (s->region_chunk[i] >= 0) {
			s->desc->region[i].state = RF_REGION_RECLAIM;
			z->asked[z->nasked++] = i;
		}
	z->gen = rfd_desc_end(s, RF_CMD_APPLY);
	op->how = rfd_libos_kick_and_spin(s, z->gen, NULL);
}

/* Take the regions it says it returned (ack: the handshake's outcome). */
static int shrink_finish(struct rfd *d, struct rfd_subos *s, struct rz *z, int ack,
			 struct base_err *err)
{
	int got = 0;
	z->ro.mem_ns = base_now_ns() - z->t0;
	rfd_desc_begin(s);
	for (int k = 0; k < z->nasked; k++) {
		int i = z->asked[k];
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
	if (got < z->nasked) {
		char h[32];
		base_format_size(s->mem, h, sizeof(h));
		return base_errf(err, ack == -ETIMEDOUT ? BASE_E_TIMEOUT : BASE_E_MEM_BUSY,
				 "\"%s\" returned %d of %d regions (its memory is in use); it now "
				 "holds %s", s->name, got, z->nasked, h);
	}
	return 0;
}

/* Start a libos memory change: the state to wait in, RZ_MEM (nothing to
 * wait for: done or refused) with z->rc set on refusal.  A growth first
 * reserves the memory in the table: no other op can take it while this
 * one waits for the pool. */
static int mem_libos_begin(struct rfd *d, struct rfd_subos *s, struct rz *z, struct rfd_op *op)
{
	int64_t delta = ((int64_t)z->mem - (int64_t)s->mem) / (int64_t)d->pool.chunk_size;
	if (delta > 0) {
		if (rfd_place_reserve_mem(d, (uint64_t)delta * d->pool.chunk_size, &op->err))
			return z->rc = -1, RZ_MEM;
		z->ngrow = (int)delta;
		s->mem_growing = (uint64_t)delta * d->pool.chunk_size;
		op->deadline_ns = base_now_ns() + RFD_POOL_WAIT_MS * BASE_NS_PER_MS;
		return RZ_POOL;
	}
	shrink_publish(s, z, (int)-delta, op);
	return RZ_SHRINK_WAIT;
}

/* The pool has the chunks (0: its limits raised (confine.h: librf locks
 * what it maps), then published, op->how the spin's outcome), is
 * refilling (1: armed), or did not refill in time or the take failed (-1:
 * refused, the reservation and limits given back, z->rc set). */
static int grow_when_ready(struct rfd *d, struct rfd_subos *s, struct rz *z, struct rfd_op *op)
{
	int w = rfd_place_pool_wait(d, op, z->ngrow);
	if (w > 0)
		return 1;
	s->mem_growing = 0; /* held from here (grow_publish), or given back */
	if (w == 0) {
		rfd_confine_set_mem(d, s, z->mem);
		if (!grow_publish(d, s, z, z->ngrow, op, &op->err))
			return 0;
		rfd_confine_set_mem(d, s, s->mem);
	}
	rfd_ptable_mem_release(&d->pt, (uint64_t)z->ngrow * d->pool.chunk_size);
	z->rc = -1;
	return -1;
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

/* The checks and targets; 0, or -1 with err (nothing changed). */
static int resize_check(struct rfd *d, struct rfd_subos *s, const struct base_request *req,
			struct rz *z, struct base_err *err)
{
	uint64_t cs = d->pool.chunk_size;
	z->want = s->cpus;
	z->mem = z->mem_before = s->mem;
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
	if (req->cores.form != RF_CORES_NONE && target_cores(d, s, &req->cores, &z->want, err))
		return -1;
	if (req->has_mem)
		z->mem = base_round_up(req->mem, cs);
	return 0;
}

/* Journal it and make the answer (op->result), or the refusal. */
static enum rfd_op_rc resize_end(struct rfd *d, struct rfd_subos *s, struct rz *z,
				 struct rfd_op *op)
{
	/* A refused request that changed nothing leaves no journal record. */
	if (z->rc && !z->cores_changed && s->mem == z->mem_before)
		return RFD_OP_DONE;
	struct json_object *x = resize_extra(&z->ro);
	struct json_object *res = rfd_subos_json(d, s, false);
	json_object_object_foreach(x, k, v)
		json_object_object_add(res, k, json_object_get(v));
	if (z->ro.forced)
		rfd_journal_subos(d, "force", s, json_object_get(x));
	/* a record written ahead carries the state, not the timings */
	int jrc = z->ahead ? (json_object_put(x), 0) : rfd_journal_subos(d, "resize", s, x);
	if (jrc && !z->rc)
		z->rc = base_errf(&op->err, BASE_E_INTERNAL,
				  "resized, but the journal write failed");
	if (z->rc)
		json_object_put(res);
	else
		op->result = res;
	return RFD_OP_DONE;
}

/* A memory change published: librf's acknowledgement (ack, or -EAGAIN:
 * look), then the end. */
static enum rfd_op_rc mem_ack(struct rfd *d, struct rfd_op *op, struct rfd_subos *s,
			      struct rz *z, int ack)
{
	if (ack == -EAGAIN && (ack = ack_poll(d, op, s, z)) == 1)
		return RFD_OP_WAIT;
	z->ro.mem_ns = base_now_ns() - z->t0;
	if (op->state == RZ_GROW_WAIT)
		z->ro.forced |= ack != 0; /* the regions are its own either way: it holds the fds */
	else
		z->rc = shrink_finish(d, s, z, ack, &op->err);
	rfd_confine_set_mem(d, s, s->mem);
	return resize_end(d, s, z, op);
}

/* Cores first (their handshake may wait), then memory (so may its). */
static enum rfd_op_rc resize_run(struct rfd *d, struct rfd_op *op, struct rfd_subos *s,
				 struct rz *z)
{
	int ack;
	switch (op->state) {
	case RZ_BEGIN:
		if (resize_check(d, s, &op->req, z, &op->err))
			return RFD_OP_DONE;
		if (base_cpuset_equal(&z->want, &s->cpus))
			goto mem;
		if (s->kind != RF_KIND_LIBOS) {
			if (cores_linux(d, s, z, &op->err))
				return RFD_OP_DONE;
			goto mem;
		}
		if (cores_publish(d, s, z, op, &op->err))
			return RFD_OP_DONE;
		op->state = RZ_CORES_WAIT;
		ack = op->how;
		goto cores;
	case RZ_CORES_WAIT:
		ack = -EAGAIN;
	cores:
		if (ack == -EAGAIN && (ack = ack_poll(d, op, s, z)) == 1)
			return RFD_OP_WAIT;
		if (cores_finish(d, s, z, ack, &op->err))
			return RFD_OP_DONE;
		cores_apply(d, s, z);
	mem:
		op->state = RZ_MEM;
		op->tick_ns = 0;
		if (z->mem == s->mem)
			return resize_end(d, s, z, op);
		if (s->kind != RF_KIND_LIBOS) {
			z->rc = mem_linux(d, s, z->mem, &z->ro, &op->err);
			return resize_end(d, s, z, op);
		}
		if ((op->state = mem_libos_begin(d, s, z, op)) == RZ_MEM)
			return resize_end(d, s, z, op);
		if (op->state == RZ_SHRINK_WAIT) {
			ack = op->how;
			break;
		}
		/* a growth waits for the pool */
		/* fall through */
	case RZ_POOL:
		if ((ack = grow_when_ready(d, s, z, op)) != 0)
			return ack > 0 ? RFD_OP_WAIT : resize_end(d, s, z, op);
		op->state = RZ_GROW_WAIT;
		ack = op->how;
		break;
	default:
		ack = -EAGAIN;
	}
	return mem_ack(d, op, s, z, ack);
}

enum rfd_op_rc rfd_subos_resize_step(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s = rfd_subos_find(d, op->name);
	enum rfd_op_rc rc;
	if (op->state == RFD_OP_CANCEL) {
		if (s && s->mem_growing) { /* a growth waiting on the pool */
			rfd_ptable_mem_release(&d->pt, s->mem_growing);
			s->mem_growing = 0;
		}
		if (op->own)
			rfd_libos_step_back(&((struct rz *)op->own)->aside);
		free(op->own);
		op->own = NULL;
		return RFD_OP_DONE;
	}
	if (!op->own && !(op->own = calloc(1, sizeof(struct rz)))) {
		base_errf(&op->err, BASE_E_INTERNAL, "out of memory");
		return RFD_OP_DONE;
	}
	if (!s) {
		base_errf(&op->err, BASE_E_NO_SUCH_SUBOS, "no subOS named \"%s\"", op->name);
		rc = RFD_OP_DONE;
	} else {
		rc = resize_run(d, op, s, op->own);
	}
	if (rc == RFD_OP_DONE) {
		free(op->own);
		op->own = NULL;
	}
	return rc;
}
