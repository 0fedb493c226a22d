/*
 * store.c - one shard of rfkv's store: its hash table of items and the
 * storage operations (memcached's items.c/assoc.c and do_store_item,
 * do_add_delta), run only on the core that owns the shard (shard.c), so
 * nothing here takes a lock.
 *
 * Items are single allocations (header, key, value + "\r\n") from librf's
 * per-core allocator on the owning core.  An item is never modified in
 * place except by incr/decr (as memcached, a shorter number is written
 * over the old one and padded with spaces); every other change allocates
 * a new item and replaces the old one in the table and the LRU.
 *
 * The answers follow memcached 1.6's do_item_get / do_store_item /
 * do_add_delta decision by decision, including the statistics each one
 * counts, because clients see both.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kv.h"

#define KV_BUCKETS_START 256u

uint32_t kv_oldest_live;
uint64_t kv_oldest_cas;
static uint64_t cas_counter;

/* The one value shared by every core on the hot path: CAS unique ids are
 * one global sequence, as in memcached (clients compare them, and
 * matching memcached's numbers byte for byte needs the same sequence).
 * One atomic add; no lock.  -C turns it off. */
uint64_t kv_cas_next(void)
{
	if (!kv_settings.use_cas)
		return 0;
	return __atomic_add_fetch(&cas_counter, 1, __ATOMIC_RELAXED);
}

uint64_t kv_hash(const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;  /* FNV-1a, then a finaliser mix */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* memcached's item size: header, key + NUL, client flags if not zero,
 * value + "\r\n", CAS if enabled.  Counted in "bytes" and the limit. */
uint32_t kv_item_ntotal(size_t nkey, uint32_t flags, uint32_t nbytes)
{
	return (uint32_t)(KV_ITEM_HDR + nkey + 1 + (flags ? 4 : 0) + nbytes +
			  (kv_settings.use_cas ? 8 : 0));
}

int kv_store_init(struct kv_shard *s, uint64_t limit)
{
	memset(s, 0, sizeof(*s));
	s->buckets = rf_calloc(KV_BUCKETS_START, sizeof(*s->buckets));
	if (!s->buckets)
		return -1;
	s->mask = KV_BUCKETS_START - 1;
	s->limit = limit;
	return 0;
}

static struct kv_item **bucket(struct kv_shard *s, uint64_t h)
{
	return &s->buckets[(h >> 8) & s->mask];
}

/* Double the table once chains average 1.5.  Failure keeps chains long. */
static void grow(struct kv_shard *s)
{
	uint32_t n = (s->mask + 1) * 2;
	struct kv_item **nb = rf_calloc(n, sizeof(*nb)), **old = s->buckets;

	if (!nb)
		return;
	for (uint32_t i = 0; i <= s->mask; i++) {
		for (struct kv_item *it = old[i], *next; it; it = next) {
			next = it->hnext;
			it->hnext = nb[(it->hash >> 8) & (n - 1)];
			nb[(it->hash >> 8) & (n - 1)] = it;
		}
	}
	s->buckets = nb;
	s->mask = n - 1;
	rf_free(old);
}

static struct kv_item *find(struct kv_shard *s, uint64_t h, const char *k, size_t n)
{
	for (struct kv_item *it = *bucket(s, h); it; it = it->hnext)
		if (it->hash == h && it->nkey == n && !memcmp(it->data, k, n))
			return it;
	return NULL;
}

static void link_item(struct kv_shard *s, struct kv_item *it)
{
	struct kv_item **b = bucket(s, it->hash);
	struct kv_cls_items *ci = &s->cls[it->clsid];

	it->hnext = *b;
	*b = it;
	kv_lru_link(s, it);
	s->bytes += it->ntotal;
	s->total_items++;
	ci->number++;
	ci->mem_requested += it->ntotal;
	if (++s->count > (s->mask + 1) + (s->mask + 1) / 2)
		grow(s);
}

/* Take it out of the table and the LRU and free it. */
void kv_store_unlink(struct kv_shard *s, struct kv_item *it)
{
	struct kv_item **p = bucket(s, it->hash);
	struct kv_cls_items *ci = &s->cls[it->clsid];

	while (*p != it)
		p = &(*p)->hnext;
	*p = it->hnext;
	kv_lru_unlink(s, it);
	s->bytes -= it->ntotal;
	s->count--;
	ci->number--;
	ci->mem_requested -= it->ntotal;
	rf_free(it);
}

/* memcached's item_is_flushed. */
static bool flushed(const struct kv_item *it, uint32_t now)
{
	uint32_t ol = __atomic_load_n(&kv_oldest_live, __ATOMIC_RELAXED);
	uint64_t oc = __atomic_load_n(&kv_oldest_cas, __ATOMIC_RELAXED);

	if (ol == 0 || ol > now)
		return false;
	return it->time <= ol || (oc && it->cas && it->cas < oc);
}

bool kv_item_live(const struct kv_item *it, uint32_t now)
{
	return !flushed(it, now) && !(it->exptime && it->exptime <= now);
}

/* do_item_get: the live item for r's key, dropping a dead one; bump it
 * in the LRU when asked. */
static struct kv_item *get(struct kv_shard *s, const struct kv_req *r, bool update)
{
	struct kv_item *it = find(s, r->hash, r->key, r->nkey);
	uint32_t now = kv_now();

	if (!it)
		return NULL;
	if (flushed(it, now)) {
		kv_store_unlink(s, it);
		KV_STAT_INC(get_flushed);
		return NULL;
	}
	if (it->exptime && it->exptime <= now) {
		kv_store_unlink(s, it);
		KV_STAT_INC(get_expired);
		return NULL;
	}
	if (update)
		kv_lru_bump(s, it, now);
	return it;
}

/* A new unlinked item for r's key (evicting to make room). */
static struct kv_item *new_item(struct kv_shard *s, const struct kv_req *r, uint32_t flags,
				uint32_t exptime, uint32_t nbytes)
{
	uint32_t ntotal = kv_item_ntotal(r->nkey, flags, nbytes);
	struct kv_item *it = kv_lru_alloc(s, ntotal, sizeof(*it) + r->nkey + nbytes);

	if (!it)
		return NULL;
	memset(it, 0, sizeof(*it));
	it->hash = r->hash;
	it->exptime = exptime;
	it->time = kv_now();
	it->flags = flags;
	it->nbytes = nbytes;
	it->ntotal = ntotal;
	it->nkey = (uint16_t)r->nkey;
	it->clsid = (uint8_t)kv_cls_id(ntotal);
	memcpy(it->data, r->key, r->nkey);
	return it;
}

static void replace(struct kv_shard *s, struct kv_item *old, struct kv_item *it)
{
	if (old)
		kv_store_unlink(s, old);
	it->cas = kv_cas_next();
	link_item(s, it);
}

/* "VALUE key flags bytes [cas]\r\n" + data. */
static void value_line(struct kv_out *o, const struct kv_item *it, bool cas)
{
	char hdr[KV_KEY_MAX + 80];
	int n;

	if (cas)
		n = snprintf(hdr, sizeof(hdr), "VALUE %.*s %u %u %llu\r\n", (int)it->nkey, it->data,
			     it->flags, it->nbytes - 2, (unsigned long long)it->cas);
	else
		n = snprintf(hdr, sizeof(hdr), "VALUE %.*s %u %u\r\n", (int)it->nkey, it->data,
			     it->flags, it->nbytes - 2);
	kv_out_add(o, hdr, (size_t)n);
	kv_out_add(o, it->data + it->nkey, it->nbytes);
}

static void do_get(struct kv_shard *s, struct kv_req *r)
{
	struct kv_core_stats *st = kv_stats_self();
	struct kv_item *it = get(s, r, true);

	if (r->op == KV_TOUCH_GET) {
		st->cmd_touch++;
		if (it)
			it->exptime = r->exptime;
	} else {
		st->cmd_get++;
	}
	if (!it) {
		if (r->op == KV_TOUCH_GET)
			st->touch_misses++;
		else
			st->get_misses++;
		r->res = KV_MISS;
		return;
	}
	if (r->op == KV_TOUCH_GET)
		st->cls[it->clsid].touch_hits++;
	else
		st->cls[it->clsid].get_hits++;
	it->fetched = 1;
	value_line(r->out, it, r->want_cas);
	r->res = KV_HIT;
}

/* append/prepend: old's data and r's in one new item, old's flags and
 * expiry kept. */
static struct kv_item *joined(struct kv_shard *s, const struct kv_req *r, struct kv_item *old)
{
	uint32_t n = old->nbytes + r->nbytes - 2;
	struct kv_item *it = new_item(s, r, old->flags, old->exptime, n);
	char *v;

	if (!it)
		return NULL;
	v = kv_item_value(it);
	if (r->op == KV_APPEND) {
		memcpy(v, kv_item_value(old), old->nbytes - 2);
		memcpy(v + old->nbytes - 2, r->data, r->nbytes);
	} else {
		memcpy(v, r->data, r->nbytes - 2);
		memcpy(v + r->nbytes - 2, kv_item_value(old), old->nbytes);
	}
	return it;
}

/* do_store_item's decisions for an existing item. */
static enum kv_res store_over(struct kv_shard *s, struct kv_req *r, struct kv_item *old,
			      struct kv_item **it)
{
	struct kv_core_stats *st = kv_stats_self();
	bool match = r->cas == old->cas;

	switch (r->op) {
	case KV_ADD:
		kv_lru_bump(s, old, kv_now());
		return KV_NOT_STORED;
	case KV_CAS:
		if (!match) {
			st->cls[old->clsid].cas_badval++;
			return KV_EXISTS;
		}
		st->cls[old->clsid].cas_hits++;
		break;
	case KV_APPEND:
	case KV_PREPEND:
		if (r->cas && !match)
			return KV_EXISTS;
		rf_free(*it);
		*it = joined(s, r, old);
		if (!*it)
			return KV_NOT_STORED;
		break;
	default:
		break;
	}
	replace(s, old, *it);
	*it = NULL;
	return KV_STORED;
}

static void do_store(struct kv_shard *s, struct kv_req *r)
{
	struct kv_item *old = get(s, r, false), *it;

	it = new_item(s, r, r->flags, r->exptime, r->nbytes);
	if (!it) {
		/* memcached fails the allocation before reading the value and
		 * drops the old value of a set rather than keep it stale. */
		if (old && r->op == KV_SET)
			kv_store_unlink(s, old);
		kv_stats_self()->store_no_memory++;
		r->res = KV_NO_MEMORY;
		return;
	}
	memcpy(kv_item_value(it), r->data, r->nbytes);
	if (old) {
		r->res = store_over(s, r, old, &it);
	} else if (r->op == KV_SET || r->op == KV_ADD) {
		replace(s, NULL, it);
		it = NULL;
		r->res = KV_STORED;
	} else if (r->op == KV_CAS) {
		kv_stats_self()->cas_misses++;
		r->res = KV_NOT_FOUND;
	} else {
		r->res = KV_NOT_STORED;
	}
	rf_free(it);
}

/* memcached's safe_strtoull on a value: digits, then a space, "\r" or the
 * end; a huge number must not be written with a minus. */
static bool value_number(const struct kv_item *it, uint64_t *v)
{
	char buf[32], *end;
	size_t n = it->nbytes - 2;

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;   /* longer than any number: fails below */
	memcpy(buf, it->data + it->nkey, n);
	buf[n] = 0;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (errno == ERANGE || end == buf)
		return false;
	if (!(*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n' || *end == '\v' ||
	      *end == '\f' || *end == 0))
		return false;
	if (n == sizeof(buf) - 1 && it->nbytes - 2 > n && *end == 0)
		return false;
	return !((int64_t)*v < 0 && strchr(buf, '-'));
}

static void do_delta(struct kv_shard *s, struct kv_req *r)
{
	struct kv_core_stats *st = kv_stats_self();
	struct kv_item *it = get(s, r, false), *nit;
	uint64_t v;
	size_t n;

	if (!it) {
		if (r->op == KV_INCR)
			st->incr_misses++;
		else
			st->decr_misses++;
		r->res = KV_NOT_FOUND;
		return;
	}
	if (it->nbytes <= 2 || !value_number(it, &v)) {
		r->res = KV_NON_NUMERIC;
		return;
	}
	if (r->op == KV_INCR)
		v += r->delta;                /* wraps at 2^64, as memcached */
	else
		v = r->delta > v ? 0 : v - r->delta;
	if (r->op == KV_INCR)
		st->cls[it->clsid].incr_hits++;
	else
		st->cls[it->clsid].decr_hits++;
	n = (size_t)snprintf(r->num, sizeof(r->num), "%llu", (unsigned long long)v);
	r->res = KV_NUMBER;
	if (n + 2 <= it->nbytes) {    /* in place, padded with spaces */
		memcpy(kv_item_value(it), r->num, n);
		memset(kv_item_value(it) + n, ' ', it->nbytes - 2 - n);
		it->cas = kv_cas_next();
		kv_lru_bump(s, it, kv_now());
		return;
	}
	nit = new_item(s, r, it->flags, it->exptime, (uint32_t)n + 2);
	if (!nit) {
		r->res = KV_NO_MEMORY;
		return;
	}
	memcpy(kv_item_value(nit), r->num, n);
	memcpy(kv_item_value(nit) + n, "\r\n", 2);
	replace(s, it, nit);
}

static void do_delete(struct kv_shard *s, struct kv_req *r)
{
	struct kv_item *it = get(s, r, false);

	if (!it) {
		if (r->op == KV_DELETE)
			kv_stats_self()->delete_misses++;
		r->res = KV_NOT_FOUND;
		return;
	}
	if (r->op == KV_DELETE)
		kv_stats_self()->cls[it->clsid].delete_hits++;
	kv_store_unlink(s, it);
	r->res = KV_DELETED;
}

static void do_touch(struct kv_shard *s, struct kv_req *r)
{
	struct kv_core_stats *st = kv_stats_self();
	struct kv_item *it = get(s, r, true);

	st->cmd_touch++;
	if (!it) {
		st->touch_misses++;
		r->res = KV_NOT_FOUND;
		return;
	}
	it->exptime = r->exptime;
	st->cls[it->clsid].touch_hits++;
	r->res = KV_TOUCHED;
}

void kv_store_exec(struct kv_shard *s, struct kv_req *r)
{
	switch (r->op) {
	case KV_GET:
	case KV_TOUCH_GET:
		do_get(s, r);
		break;
	case KV_SET:
	case KV_ADD:
	case KV_REPLACE:
	case KV_APPEND:
	case KV_PREPEND:
	case KV_CAS:
		do_store(s, r);
		break;
	case KV_INCR:
	case KV_DECR:
		do_delta(s, r);
		break;
	case KV_DELETE:
	case KV_UNLINK:
		do_delete(s, r);
		break;
	case KV_TOUCH:
		do_touch(s, r);
		break;
	}
}

/* flush_all [delay]: memcached's rule, on two words every core reads
 * (flushed() above); items die lazily when next looked at or evicted. */
void kv_flush_all(int64_t delay)
{
	uint32_t now = kv_now(), oldest = delay > 0 ? kv_realtime(delay) : now;
	uint32_t live = kv_settings.use_cas ? oldest - 1 : oldest;

	__atomic_store_n(&kv_oldest_live, live, __ATOMIC_RELAXED);
	if (kv_settings.use_cas && live <= now)
		__atomic_store_n(&kv_oldest_cas, kv_cas_next(), __ATOMIC_RELAXED);
	kv_shards_crawl(live <= now ? 0 : kv_rel_to_ns(live));
}
