/*
 * placement.h - choosing and claiming a subOS's cores and memory, shared
 * by create (lifecycle.c), resize (resize.c) and channels (chan.c)
 * (placement.c).
 *
 * Error contract: 0, or -1 with err filled in words a user can act on
 * (what was asked, what is free, who holds it).
 */
#ifndef RF_RFD_PLACEMENT_H
#define RF_RFD_PLACEMENT_H

#include <stdint.h>
#include "base/cpuset.h"
#include "base/err.h"
#include "base/proto.h"
#include <json-c/json.h>

struct rfd;
struct rfd_subos;
struct rfd_op;

/* The cores `ca` names (a count or a list) for owner `id`, in *out;
 * nothing is assigned yet. */
int rfd_place_pick_cores(struct rfd *d, int id, const struct base_cores_arg *ca,
			 struct base_cpuset *out, struct base_err *err);
/* Reserve `bytes` of managed memory in the partition table. */
int rfd_place_reserve_mem(struct rfd *d, uint64_t bytes, struct base_err *err);
/* The same for `want` rounded up to whole pool chunks (*rounded). */
int rfd_place_reserve_chunks(struct rfd *d, uint64_t want, uint64_t *rounded,
			     struct base_err *err);
/* Are n pool chunks ready to take?  For an op's step (op.h): 0 yes;
 * 1 not yet: the op is armed on the pool's ready_fd (or a tick) and its
 * timer, never after op->deadline_ns; -1 the deadline passed (op->err).
 * The loop never waits on the pool, only this op does. */
int rfd_place_pool_wait(struct rfd *d, struct rfd_op *op, int n);
/* Take n pool chunks for s (ids[n] gets their ids), within the regions
 * a subOS may hold; they are s's once the caller records them.  Never
 * waits: a take the pool cannot serve now is refused (the caller asked
 * rfd_place_pool_wait first). */
int rfd_place_take_chunks(struct rfd *d, struct rfd_subos *s, int n, int *ids,
			  struct base_err *err);
/* Mirror `cpus` as s's cores into the enforcement back end. */
int rfd_place_enforce_cpus(struct rfd *d, struct rfd_subos *s, const struct base_cpuset *cpus);

#endif
