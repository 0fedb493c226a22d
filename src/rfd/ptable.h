/*
 * ptable.h - the partition table: who owns each core and how much memory.
 *
 * The IFTS invariant lives here: every managed core has exactly one owner,
 * the host (RF_OWNER_HOST) or one subOS, and the memory handed to subOSes
 * never exceeds what rfd manages.  Operations check first and change after,
 * so a refused request leaves the table exactly as it was.  Owners are small
 * integers chosen by rfd; the table knows nothing else about subOSes.
 */
#ifndef RF_RFD_PTABLE_H
#define RF_RFD_PTABLE_H

#include <stdint.h>
#include "base/cpuset.h"
#include "base/err.h"

#define RF_OWNER_HOST 0
#define RF_OWNER_NONE (-1) /* a CPU rfd does not manage (host-kept) */
#define RF_MAX_OWNERS 4096

struct rfd_ptable {
	int ncpus;                   /* CPUs the machine has */
	struct base_cpuset online;     /* CPUs that exist */
	struct base_cpuset managed;    /* CPUs rfd may hand out */
	int owner[RF_MAX_CPUS];      /* RF_OWNER_HOST, a subOS id, or RF_OWNER_NONE */
	int order[RF_MAX_CPUS];      /* managed CPUs, nearest neighbours adjacent */
	int norder;
	uint64_t mem_managed;
	uint64_t mem_used;
};

/*
 * Refusals are the protocol's codes (base/err.h), so a handler reports them
 * as they are: BASE_E_OK; BASE_E_UNKNOWN_CORE (not a CPU of this machine,
 * or not managed); BASE_E_CORES_BUSY (owned by someone else, or fewer free
 * cores than asked); BASE_E_MEM_UNAVAILABLE; BASE_E_BAD_REQUEST (it would
 * leave a subOS without cores).
 */

/* `order` lists the managed CPUs in topology order (may be NULL: numeric). */
void rfd_ptable_init(struct rfd_ptable *pt, const struct base_cpuset *online,
		     const struct base_cpuset *managed, const int *order, int norder,
		     uint64_t mem_managed);

void rfd_ptable_owned(const struct rfd_ptable *pt, int owner, struct base_cpuset *out);
void rfd_ptable_free_cpus(const struct rfd_ptable *pt, struct base_cpuset *out);

/* Can `owner` hold exactly `want`?  On error *bad_cpu names the culprit and
 * *holder its owner (for BASE_E_CORES_BUSY). */
enum base_errc rfd_ptable_check_set(const struct rfd_ptable *pt, int owner,
				    const struct base_cpuset *want, int *bad_cpu, int *holder);
/* Choose `n` cores for `owner`: those it has first, then free cores nearest
 * to them.  Fills *out (not applied). */
enum base_errc rfd_ptable_pick(const struct rfd_ptable *pt, int owner, int n,
			       struct base_cpuset *out);
/* Make `owner` hold exactly `want` (after a successful check). */
void rfd_ptable_assign(struct rfd_ptable *pt, int owner, const struct base_cpuset *want);
void rfd_ptable_release(struct rfd_ptable *pt, int owner);

enum base_errc rfd_ptable_mem_reserve(struct rfd_ptable *pt, uint64_t bytes);
void rfd_ptable_mem_release(struct rfd_ptable *pt, uint64_t bytes);

#endif
