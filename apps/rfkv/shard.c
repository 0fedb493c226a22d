/*
 * shard.c - rfkv's partitioning: which core owns which shard, and running
 * a request on the owner.
 *
 * A key's hash picks one of nshards shards (a power of two, at most
 * KV_MAX_SHARDS).  owner[s] names the one core allowed to touch shard s;
 * every other core forwards: the connection's fiber posts the request to
 * the owner's librf mailbox (rf_post) and parks until the owner ran it in
 * scheduler context and unparked it.  So no shard, item or LRU has a lock,
 * and the only lines cores share on the hot path are the read-mostly
 * owner table and the mailboxes.  A request whose key the serving core
 * owns is run inline, with no hand-off at all.
 *
 * Why not one lock per stripe (the old rfkv): the lock word and the items
 * move between cores on every access, and memory, LRU and eviction
 * cannot be per core.  Why not one listening socket per core with clients
 * choosing: memcached clients spread keys, not connections.
 *
 * Cores coming and going.  Ownership only ever changes hands in two
 * steps, so that at no moment two cores run requests on one shard:
 *   1. the owner, on its own core, publishes owner[s] = target | TRANSIT
 *      (it stops touching s) and posts "take s" to the target;
 *   2. whichever core runs "take s" (the target, or the core librf
 *      forwarded the target's mailbox to if it left meanwhile) publishes
 *      owner[s] = itself.
 * A request that finds owner[s] != self is posted on to the core that
 * word names, so it reaches the owner once the hand-off is done.  A
 * leaving core gives all its shards away in librf's cores-changed hook,
 * which runs on it before its work moves (rf.h); a new core asks every
 * core to give it the shards it should now own ("rebalance"); so does a
 * core that starts or stops serving (place.c: a core starved of its CPU
 * owns no shard while another core can own them).  The
 * memory of moved items stays where it is: librf frees across cores.
 */
#include <stdio.h>
#include <string.h>
#include "kv.h"

#define TRANSIT 0x80000000u

static struct kv_shard *shards;
static uint32_t owner[KV_MAX_SHARDS];
static int nshards;

int kv_nshards(void)
{
	return nshards;
}

int kv_shard_owner(int s)
{
	uint32_t o = __atomic_load_n(&owner[s], __ATOMIC_ACQUIRE);

	return o & TRANSIT ? -1 : (int)o;
}

struct kv_shard *kv_shard_at(int i)
{
	return &shards[i];
}

/* The core that should own s among the serving ones (place.c), skipping
 * `not`. */
static int desired(int s, int not)
{
	int run[KV_MAX_CORES], n = 0;

	for (int c = 0; c < rf_ncores_max() && n < KV_MAX_CORES; c++)
		if (kv_place_serves(c, not))
			run[n++] = c;
	return n ? run[s % n] : -1;
}

/* Shards: -m split evenly, but each able to hold four of the largest
 * items (a smaller -m gets fewer shards). */
int kv_shards_init(uint64_t maxbytes)
{
	uint64_t per;

	nshards = KV_MAX_SHARDS;
	while (nshards > 1 && maxbytes / (uint64_t)nshards < 4ull * kv_settings.item_size_max)
		nshards /= 2;
	per = maxbytes / (uint64_t)nshards;
	shards = rf_calloc((size_t)nshards, sizeof(*shards));
	if (!shards)
		return -1;
	for (int s = 0; s < nshards; s++) {
		int c = desired(s, -1);
		if (kv_store_init(&shards[s], per) < 0)
			return -1;
		__atomic_store_n(&owner[s], (uint32_t)(c < 0 ? 0 : c), __ATOMIC_RELEASE);
	}
	return 0;
}

static void hand_off(int s, int to);

/* Step 2 of a hand-off, on the new owner; the serving cores may have
 * changed while the shard was in transit: then it moves on. */
static void take(void *arg)
{
	int s = (int)(intptr_t)arg, self = rf_core_self(), d = desired(s, -1);

	__atomic_store_n(&owner[s], (uint32_t)self, __ATOMIC_RELEASE);
	if (d >= 0 && d != self)
		hand_off(s, d);
}

/* Step 1 of a hand-off, on the owner. */
static void hand_off(int s, int to)
{
	__atomic_store_n(&owner[s], (uint32_t)to | TRANSIT, __ATOMIC_RELEASE);
	if (rf_post(to, take, (void *)(intptr_t)s) < 0)   /* no memory: keep it */
		__atomic_store_n(&owner[s], (uint32_t)rf_core_self(), __ATOMIC_RELEASE);
}

/* On core `self`: give away the shards another core should own now. */
static void rebalance(void *arg)
{
	int self = rf_core_self(), not = (int)(intptr_t)arg;

	for (int s = 0; s < nshards; s++) {
		int d;
		if (__atomic_load_n(&owner[s], __ATOMIC_ACQUIRE) != (uint32_t)self)
			continue;
		d = desired(s, not);
		if (d >= 0 && d != self)
			hand_off(s, d);
	}
}

/* librf's cores-changed hook (scheduler context, on that core). */
void kv_shards_core_changed(int core, bool added)
{
	if (!shards)
		return;
	if (!added) {
		rebalance((void *)(intptr_t)core);   /* everything goes elsewhere */
		return;
	}
	kv_shards_rebalance_all();
}

/* The set of serving cores changed: every core gives away what it should
 * not own now (a core with nothing to give does nothing). */
void kv_shards_rebalance_all(void)
{
	if (!shards)
		return;
	for (int c = 0; c < rf_ncores_max(); c++)
		if (rf_core_running(c))
			rf_post(c, rebalance, (void *)(intptr_t)-1);
}

static int shard_of(const struct kv_req *r)
{
	return (int)(r->hash & (uint64_t)(nshards - 1));
}

/* Run r here if this core owns its shard; true if it did. */
static bool run_here(struct kv_req *r, uint32_t *who)
{
	int s = shard_of(r);

	*who = __atomic_load_n(&owner[s], __ATOMIC_ACQUIRE);
	if (*who != (uint32_t)rf_core_self())
		return false;
	kv_store_exec(&shards[s], r);
	return true;
}

/* A forwarded request, in scheduler context on some core. */
static void remote(void *arg)
{
	struct kv_req *r = arg;
	rf_fiber *f = r->waiter;
	uint32_t who;

	if (!run_here(r, &who)) {
		while (rf_post((int)(who & ~TRANSIT), remote, r) < 0)
			;   /* out of memory for a 32-byte message: keep trying */
		return;
	}
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	rf_unpark(f);
	/* The fiber may only go on (and its r die) once the unpark is done. */
	__atomic_store_n(&r->done, 2, __ATOMIC_RELEASE);
}

void kv_run(struct kv_req *r)
{
	uint32_t who;

	r->hash = kv_hash(r->key, r->nkey);
	if (run_here(r, &who))
		return;
	r->waiter = rf_fiber_self();
	r->done = 0;
	if (rf_post((int)(who & ~TRANSIT), remote, r) < 0) {
		r->res = KV_NO_MEMORY;
		return;
	}
	for (;;) {
		uint32_t d = __atomic_load_n(&r->done, __ATOMIC_ACQUIRE);
		if (d == 2)
			break;
		if (d == 1)
			rf_yield();
		else
			rf_park();
	}
}

/* On one core: drop the dead items of the shards it owns (flush_all's
 * crawl, as memcached's LRU crawler does; a shard in transit is left to
 * lazy removal). */
static void crawl(void *arg)
{
	uint32_t self = (uint32_t)rf_core_self();

	(void)arg;
	for (int s = 0; s < nshards; s++)
		if (__atomic_load_n(&owner[s], __ATOMIC_ACQUIRE) == self)
			kv_lru_crawl(&shards[s], kv_now());
}

static void crawl_at(void *arg)
{
	uint64_t at = (uint64_t)(uintptr_t)arg;

	if (rf_now_ns() >= at || !rf_timer_add(at, crawl, NULL))
		crawl(NULL);
}

void kv_shards_crawl(uint64_t at_ns)
{
	for (int c = 0; c < rf_ncores_max(); c++)
		if (rf_core_running(c))
			rf_post(c, crawl_at, (void *)(uintptr_t)at_ns);
}

/* librf's reclaim hook, on every core: evict the items of the shards it
 * owns that lie in memory rfd is taking back. */
void kv_shards_reclaim(void)
{
	uint32_t self = (uint32_t)rf_core_self();

	for (int s = 0; s < nshards; s++)
		if (__atomic_load_n(&owner[s], __ATOMIC_ACQUIRE) == self)
			kv_lru_reclaim(&shards[s]);
}
