/*
 * placement.c - choosing and claiming cores and memory for a subOS, the
 * part create (lifecycle.c), resize (resize.c) and channels (chan.c) share.
 *
 * The partition table decides (ptable.c); this file turns its refusals
 * into messages that say what was asked, what is free and who holds it,
 * and rounds memory to the pool's chunks.
 */
#include "rfd/placement.h"
#include "rfd/rfd.h"
#include "rfd/subos.h"
#include "rfd/op.h"

#include <errno.h>
#include <string.h>
#include "base/time.h"
#include "base/units.h"

#define POOL_TICK_NS (10ull * 1000000) /* the pool's readiness, without its eventfd */

int rfd_place_pool_wait(struct rfd *d, struct rfd_op *op, int n)
{
	if (rfd_pool_ready(&d->pool, n))
		return 0;
	uint64_t now = base_now_ns(), at = op->deadline_ns;
	if (now >= at) {
		base_errf(&op->err, BASE_E_MEM_UNAVAILABLE,
			  "cannot prepare memory: the pool did not refill within %d ms",
			  RFD_POOL_WAIT_MS);
		return -1;
	}
	if (d->pool.ready_fd >= 0)
		rfd_op_watch(d, op, d->pool.ready_fd);
	else if (at > now + POOL_TICK_NS) /* no eventfd: look again on a tick */
		at = now + POOL_TICK_NS;
	rfd_op_timer(d, op, at);
	return 1;
}

/* On refusal, say how much was asked and how much is free. */
int rfd_place_reserve_mem(struct rfd *d, uint64_t bytes, struct base_err *err)
{
	if (rfd_ptable_mem_reserve(&d->pt, bytes) == BASE_E_OK)
		return 0;
	char a[32], f[32];
	base_format_size(bytes, a, sizeof(a));
	base_format_size(d->pt.mem_managed - d->pt.mem_used, f, sizeof(f));
	return base_errf(err, BASE_E_MEM_UNAVAILABLE, "%s more memory asked, %s free", a, f);
}

int rfd_place_reserve_chunks(struct rfd *d, uint64_t want, uint64_t *rounded,
			     struct base_err *err)
{
	*rounded = base_round_up(want, d->pool.chunk_size);
	return rfd_place_reserve_mem(d, *rounded, err);
}

int rfd_place_take_chunks(struct rfd *d, struct rfd_subos *s, int n, int *ids,
			  struct base_err *err)
{
	if (s->nregions + n > RF_MAX_REGIONS)
		return base_errf(err, BASE_E_MEM_UNAVAILABLE, "at most %d regions per subOS",
				 RF_MAX_REGIONS);
	int rc = rfd_pool_take(&d->pool, n, s->id, ids);
	if (rc)
		return base_errf(err, BASE_E_MEM_UNAVAILABLE, "cannot prepare memory: %s",
				 rc == -EAGAIN ? "the pool is refilling" : strerror(-rc));
	return 0;
}

static const char *owner_name(struct rfd *d, int owner)
{
	struct rfd_subos *o = rfd_subos_by_id(d, owner);
	return o ? o->name : "?";
}

int rfd_place_pick_cores(struct rfd *d, int id, const struct base_cores_arg *ca,
			 struct base_cpuset *out, struct base_err *err)
{
	int bad = -1, holder = -1;
	enum base_errc rc;
	char list[64];
	if (ca->form == RF_CORES_COUNT) {
		if (rfd_ptable_pick(&d->pt, id, ca->n, out) == BASE_E_OK)
			return 0;
		struct base_cpuset fr;
		rfd_ptable_free_cpus(&d->pt, &fr);
		base_cpuset_format(&fr, list, sizeof(list));
		return base_errf(err, BASE_E_CORES_BUSY, "%d cores asked, %d free (%s)", ca->n,
				 base_cpuset_count(&fr), list[0] ? list : "none");
	}
	if (ca->form != RF_CORES_LIST)
		return base_errf(err, BASE_E_BAD_REQUEST, "cores: give a count or a CPU list");
	rc = rfd_ptable_check_set(&d->pt, id, &ca->set, &bad, &holder);
	if (rc == BASE_E_OK) {
		*out = ca->set;
		return 0;
	}
	if (rc == BASE_E_UNKNOWN_CORE) {
		base_cpuset_format(&d->pt.managed, list, sizeof(list));
		return base_errf(
			err, BASE_E_UNKNOWN_CORE, "core %d is not %s (rfd manages %s)", bad,
			bad < d->pt.ncpus ? "managed by this rfd" : "a CPU of this machine",
			list[0] ? list : "no cores");
	}
	return base_errf(err, BASE_E_CORES_BUSY, "core %d is owned by subOS \"%s\"", bad,
			 owner_name(d, holder));
}

/* No core is a pause, and the first core after one a resume (enforce.h):
 * the policy's moves (policy.c) pass through resize.c like any other. */
int rfd_place_enforce_cpus(struct rfd *d, struct rfd_subos *s, const struct base_cpuset *cpus)
{
	if (base_cpuset_empty(cpus))
		return rfd_enforce_pause(&d->enf, s->name);
	if (base_cpuset_empty(&s->cpus))
		return rfd_enforce_resume(&d->enf, s->name, cpus);
	return rfd_enforce_set_cpus(&d->enf, s->name, cpus, s->pid);
}
