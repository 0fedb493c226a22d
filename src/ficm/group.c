/*
 * group.c - FICM multicast and broadcast groups over SPSC rings.
 *
 * A group region is a header (geometry and the set of joined members)
 * followed by one ring per member slot:
 *
 *     0    struct group_hdr (256 bytes)
 *   256    ring 0, ring 1, ... each rf_ficm_ring_size(slots) bytes
 *
 * The group's one sender produces into every ring; member i consumes ring
 * i and nothing else, so each ring keeps its single producer and single
 * consumer and everything in ring.c holds per member: batching,
 * validation, sleeping.  Sending to a set walks its bits and gives each
 * member the whole batch or nothing.  The joined set in the region is
 * written by members and so is untrusted: the sender masks it to the
 * group's size, and a member whose ring turns out corrupt or closed is
 * dropped for good (`dead`) without affecting the others.
 *
 * Joining: the member claims its bit with a compare-and-swap, then
 * attaches to its ring and moves the ring's head to its tail, so that
 * leftovers of a former member are skipped.  A batch sent while a member
 * joins or leaves may or may not reach it.
 */
#include "ficm/shm.h"

#include <errno.h>
#include <string.h>

#define GROUP_MAGIC 0x47434946u /* "FICG" */
#define GROUP_HDR   256

struct group_hdr {
	_Atomic uint32_t magic;
	_Atomic uint32_t abi;
	_Atomic uint32_t members;
	_Atomic uint32_t slots;
	_Atomic uint64_t joined;
};

_Static_assert(sizeof(struct group_hdr) <= GROUP_HDR, "group header");

size_t rf_ficm_group_size(uint32_t members, uint32_t slots)
{
	size_t ring = rf_ficm_ring_size(slots);
	if (!ring || members < 1 || members > RF_FICM_GROUP_MAX)
		return 0;
	return GROUP_HDR + (size_t)members * ring;
}

static void *ring_at(void *mem, uint32_t slots, int i)
{
	return (char *)mem + GROUP_HDR + (size_t)i * rf_ficm_ring_size(slots);
}

static uint64_t all_of(uint32_t members)
{
	return members >= 64 ? ~0ull : (1ull << members) - 1;
}

int rf_ficm_group_create(struct rf_ficm_group *g, void *mem, size_t len, uint32_t members,
			 uint32_t slots)
{
	size_t need = rf_ficm_group_size(members, slots);
	size_t ring = rf_ficm_ring_size(slots);
	struct group_hdr *h = mem;
	int rc;

	memset(g, 0, sizeof(*g));
	if (!mem || !need || len < need || ((uintptr_t)mem % RF_FICM_ALIGN))
		return -EINVAL;
	memset(mem, 0, GROUP_HDR);
	for (uint32_t i = 0; i < members; i++) {
		if ((rc = rf_ficm_ring_format(ring_at(mem, slots, (int)i), ring, slots)) ||
		    (rc = rf_ficm_attach(&g->ring[i], ring_at(mem, slots, (int)i), ring, slots,
					 RF_FICM_PRODUCER)))
			return rc;
	}
	atomic_store_explicit(&h->abi, RF_FICM_ABI, memory_order_relaxed);
	atomic_store_explicit(&h->members, members, memory_order_relaxed);
	atomic_store_explicit(&h->slots, slots, memory_order_relaxed);
	atomic_store_explicit(&h->magic, GROUP_MAGIC, memory_order_release);
	g->mem = mem;
	g->members = members;
	g->slots = slots;
	return 0;
}

/* Take member slot id: claim its bit, then attach to ring id as its
 * consumer and skip what a former member left there.  The bit comes first
 * so that two joiners never both move the head of one ring. */
static int claim(struct rf_ficm_member *m, void *mem, uint32_t slots, int id)
{
	struct group_hdr *h = mem;
	struct rf_ficm_ring *r = &m->ring;
	uint64_t bit = 1ull << id;
	uint64_t old = atomic_load_explicit(&h->joined, memory_order_acquire);
	do {
		if (old & bit)
			return -EBUSY;
	} while (!atomic_compare_exchange_weak_explicit(&h->joined, &old, old | bit,
							memory_order_acq_rel,
							memory_order_acquire));
	int rc = rf_ficm_attach(r, ring_at(mem, slots, id), rf_ficm_ring_size(slots), slots,
				RF_FICM_CONSUMER);
	if (!rc)
		rc = ficm_skip_all(r);
	if (rc) {
		atomic_fetch_and_explicit(&h->joined, ~bit, memory_order_acq_rel);
		return rc;
	}
	m->mem = mem;
	m->id = id;
	return id;
}

int rf_ficm_group_join(struct rf_ficm_member *m, void *mem, size_t len, uint32_t members,
		       uint32_t slots, int id)
{
	size_t need = rf_ficm_group_size(members, slots);
	struct group_hdr *h = mem;

	memset(m, 0, sizeof(*m));
	m->id = -1;
	if (!mem || !need || len < need || ((uintptr_t)mem % RF_FICM_ALIGN) ||
	    id >= (int)members)
		return -EINVAL;
	if (atomic_load_explicit(&h->magic, memory_order_acquire) != GROUP_MAGIC ||
	    atomic_load_explicit(&h->abi, memory_order_relaxed) != RF_FICM_ABI ||
	    atomic_load_explicit(&h->members, memory_order_relaxed) != members ||
	    atomic_load_explicit(&h->slots, memory_order_relaxed) != slots)
		return -EINVAL;
	if (id >= 0)
		return claim(m, mem, slots, id);
	for (int i = 0; i < (int)members; i++) {
		uint64_t joined = atomic_load_explicit(&h->joined, memory_order_acquire);
		if (!(joined & (1ull << i)) && claim(m, mem, slots, i) == i)
			return i;
	}
	memset(m, 0, sizeof(*m));
	m->id = -1;
	return -EBUSY;
}

void rf_ficm_group_leave(struct rf_ficm_member *m)
{
	struct group_hdr *h = m->mem;
	if (!h || m->id < 0)
		return;
	atomic_fetch_and_explicit(&h->joined, ~(1ull << m->id), memory_order_acq_rel);
	m->id = -1;
	m->mem = NULL;
}

uint64_t rf_ficm_group_joined(struct rf_ficm_group *g)
{
	struct group_hdr *h = g->mem;
	if (!h)
		return 0;
	return atomic_load_explicit(&h->joined, memory_order_acquire) & all_of(g->members) &
	       ~g->dead;
}

/* The whole batch to one member's ring, or nothing.  1 sent, 0 not. */
static int send_one(struct rf_ficm_group *g, int i, const struct rf_ficm_msg *m, int n)
{
	struct rf_ficm_ring *r = &g->ring[i];
	int k = rf_ficm_reserve(r, n);
	if (k < 0) {
		g->dead |= 1ull << i;
		return 0;
	}
	if (k < n) {
		rf_ficm_commit(r, 0);
		return 0;
	}
	for (int j = 0; j < n; j++)
		ficm_slot_fill(rf_ficm_slot(r, j), &m[j]);
	if (rf_ficm_commit(r, n) != n) {
		g->dead |= 1ull << i;
		return 0;
	}
	return 1;
}

uint64_t rf_ficm_group_send(struct rf_ficm_group *g, uint64_t to, const struct rf_ficm_msg *m,
			    int n, uint64_t *missed)
{
	uint64_t got = 0;

	if (missed)
		*missed = to;
	if (!g->mem || n < 1 || (uint32_t)n > g->slots)
		return 0;
	for (int j = 0; j < n; j++)
		if (m[j].len > RF_FICM_PAYLOAD)
			return 0;
	uint64_t want = to & rf_ficm_group_joined(g);
	while (want) {
		int i = __builtin_ctzll(want);
		want &= want - 1;
		if (send_one(g, i, m, n))
			got |= 1ull << i;
	}
	if (missed)
		*missed = to & ~got;
	return got;
}
