/*
 * lru.c - a shard's memory bound and its least-recently-used eviction
 * (memcached's lru_pull_tail, with one list per shard instead of
 * hot/warm/cold lists per slab class).
 *
 * Each shard may hold items worth `limit` of memcached's item sizes
 * (-m divided among the shards, shard.c).  Making room for a new item
 * first reclaims dead items from the tail (expired or flushed), then
 * evicts live ones, counting both the way memcached's "stats" and "stats
 * items" report them.  When librf's allocator itself fails (the subOS's
 * memory is smaller than -m, or was taken away by a resize), or would
 * leave less than a small reserve for everything else, the same tail is
 * evicted until the allocation succeeds or the shard is empty; and
 * when rfd takes memory back, the items in the leaving regions are
 * evicted (kv_lru_reclaim), so a shrinking partition costs items, not
 * a refused resize or failed stores.
 */
#include <stdlib.h>
#include "kv.h"

void kv_lru_link(struct kv_shard *s, struct kv_item *it)
{
	it->prev = NULL;
	it->next = s->lru_head;
	if (s->lru_head)
		s->lru_head->prev = it;
	else
		s->lru_tail = it;
	s->lru_head = it;
}

void kv_lru_unlink(struct kv_shard *s, struct kv_item *it)
{
	if (it->prev)
		it->prev->next = it->next;
	else
		s->lru_head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		s->lru_tail = it->prev;
	it->prev = it->next = NULL;
}

void kv_lru_bump(struct kv_shard *s, struct kv_item *it, uint32_t now)
{
	it->time = now;
	if (s->lru_head == it)
		return;
	kv_lru_unlink(s, it);
	kv_lru_link(s, it);
}

/* Drop it: reclaimed if dead, evicted if alive. */
static void drop(struct kv_shard *s, struct kv_item *it, uint32_t now)
{
	struct kv_cls_items *ci = &s->cls[it->clsid];

	if (!kv_item_live(it, now)) {
		ci->reclaimed++;
		if (!it->fetched)
			ci->expired_unfetched++;
	} else {
		ci->evicted++;
		ci->evicted_time = now - it->time;
		if (it->exptime)
			ci->evicted_nonzero++;
		if (!it->fetched)
			ci->evicted_unfetched++;
	}
	kv_store_unlink(s, it);
}

/* Free partition memory items must leave: 1/8 of it, at most 8 MiB. */
static uint64_t reserve(void)
{
	uint64_t r = rf_mem_total() / 8;

	return r < (8u << 20) ? r : (8u << 20);
}

/* Memory for an item of memcached size ntotal and `size` real bytes, or
 * NULL (counted as outofmemory) when even an empty shard cannot hold it. */
struct kv_item *kv_lru_alloc(struct kv_shard *s, uint32_t ntotal, size_t size)
{
	uint32_t now = kv_now();
	struct kv_item *it;

	while (s->bytes + ntotal > s->limit && s->lru_tail) {
		if (!kv_settings.evict && kv_item_live(s->lru_tail, now))
			goto oom;
		drop(s, s->lru_tail, now);
	}
	if (s->bytes + ntotal > s->limit)
		goto oom;
	/* Keep librf's partition from filling up with items: connections,
	 * messages and fibers need memory too. */
	while (rf_mem_free() < reserve() && s->lru_tail)
		drop(s, s->lru_tail, now);
	while (!(it = rf_malloc(size))) {
		if (!s->lru_tail)
			goto oom;
		drop(s, s->lru_tail, now);
	}
	return it;
oom:
	s->cls[kv_cls_id(ntotal)].outofmemory++;
	return NULL;
}

/* Evict from the tail until the shard holds at most target bytes. */
void kv_lru_shrink(struct kv_shard *s, uint64_t target)
{
	uint32_t now = kv_now();

	while (s->bytes > target && s->lru_tail)
		drop(s, s->lru_tail, now);
}

/* Drop every dead item (flushed or expired), oldest first. */
void kv_lru_crawl(struct kv_shard *s, uint32_t now)
{
	for (struct kv_item *it = s->lru_tail, *prev; it; it = prev) {
		prev = it->prev;
		if (!kv_item_live(it, now)) {
			s->cls[it->clsid].reclaimed++;
			kv_store_unlink(s, it);
		}
	}
}

/* The subOS is giving memory back (rf_on_mem_reclaim): evict every item
 * that lies in a leaving region, so the region can go. */
void kv_lru_reclaim(struct kv_shard *s)
{
	uint32_t now = kv_now();

	for (struct kv_item *it = s->lru_tail, *prev; it; it = prev) {
		prev = it->prev;
		if (rf_mem_reclaiming(it))
			drop(s, it, now);
	}
}
