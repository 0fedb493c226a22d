/*
 * stats.c - rfkv's counters and memcached's "stats", "stats settings",
 * "stats items", "stats slabs", "stats reset" and "stats detail" answers.
 *
 * Counters live where they are counted, so no counter line is shared
 * between cores: per core (kv_core_stats, written only by that core's
 * thread: the connection side and the operations a core runs for its
 * shards) and per shard (item counts, written by the owner).  An answer
 * sums them with relaxed reads; a number may lag a request in flight on
 * another core, as memcached's per-thread stats do.  "stats reset" keeps
 * a baseline and reports differences, instead of writing other cores'
 * counters.
 *
 * Items are reported by memcached's slab classes (chunk sizes from 96
 * bytes growing by -f up to 512 KiB), computed from each item's memcached
 * size, so "stats items" / "stats slabs" group items as memcached would.
 * Stats that describe memcached's own machinery (libevent, response
 * objects, read buffers, slab pages and rebalancing, the LRU crawler and
 * maintainer, hot/warm/cold LRUs, logger, NAPI, extstore, TLS) are left
 * out; every name that is printed is printed in memcached 1.6's order.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "kv.h"

#define CHUNK_ALIGN 8
#define SLAB_CHUNK_MAX (512u * 1024u)
#define NCORE_FIELDS (offsetof(struct kv_core_stats, cls) / sizeof(uint64_t))
#define NCLS_OPS (sizeof(struct kv_cls_ops) / sizeof(uint64_t))
#define NCLS_ITEMS (sizeof(struct kv_cls_items) / sizeof(uint64_t))

static struct kv_core_stats core_stats[KV_MAX_CORES];
/* Per-core scratch for an answer's sums: too big for a fiber's stack, and
 * from the heap an answer would fail just when memory is full. */
static struct kv_core_stats sum_core[KV_MAX_CORES + 1];
static struct kv_cls_items sum_cls[KV_MAX_CORES + 1][KV_CLASSES];
static struct kv_core_stats foreign_stats;   /* never used by a core */
static uint32_t cls_size[KV_CLASSES];
static int cls_largest;

/* The baseline "stats reset" took. */
static struct kv_core_stats base_core;
static struct kv_cls_items base_items[KV_CLASSES];
static uint64_t base_total_items;

struct kv_core_stats *kv_stats_self(void)
{
	int c = rf_core_self();

	return c >= 0 && c < KV_MAX_CORES ? &core_stats[c] : &foreign_stats;
}

/* memcached's slabs_init class sizes. */
void kv_stats_init(void)
{
	double size = KV_ITEM_HDR + kv_settings.chunk_size;
	int i = 0;

	while (++i < KV_CLASSES - 1) {
		uint32_t sz = (uint32_t)size;
		if (size >= SLAB_CHUNK_MAX / kv_settings.factor)
			break;
		if (sz % CHUNK_ALIGN)
			sz += CHUNK_ALIGN - sz % CHUNK_ALIGN;
		cls_size[i] = sz;
		size = sz * kv_settings.factor;
	}
	cls_largest = i;
	cls_size[i] = SLAB_CHUNK_MAX;
}

int kv_cls_id(uint32_t ntotal)
{
	int id = 1;

	while (id < cls_largest && ntotal > cls_size[id])
		id++;
	return id;
}

/* ---- sums -------------------------------------------------------------- */

static uint64_t rd(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void sum_cores(struct kv_core_stats *t)
{
	memset(t, 0, sizeof(*t));
	for (int c = 0; c < KV_MAX_CORES && c < rf_ncores_max(); c++) {
		const uint64_t *f = (const uint64_t *)&core_stats[c];
		uint64_t *o = (uint64_t *)t;
		for (size_t i = 0; i < sizeof(*t) / sizeof(uint64_t); i++)
			o[i] += rd(&f[i]);
	}
}

static void sum_items(struct kv_cls_items *t, uint64_t *total_items, uint64_t *bytes,
		      uint64_t *buckets)
{
	memset(t, 0, sizeof(*t) * KV_CLASSES);
	*total_items = *bytes = *buckets = 0;
	for (int s = 0; s < kv_nshards(); s++) {
		const struct kv_shard *sh = kv_shard_at(s);
		*total_items += rd(&sh->total_items);
		*bytes += rd(&sh->bytes);
		*buckets += __atomic_load_n(&sh->mask, __ATOMIC_RELAXED) + 1ull;
		for (int k = 0; k < KV_CLASSES; k++) {
			const uint64_t *f = (const uint64_t *)&sh->cls[k];
			uint64_t *o = (uint64_t *)&t[k];
			for (size_t i = 0; i < NCLS_ITEMS; i++)
				o[i] += rd(&f[i]);
		}
	}
}

/* Current minus the reset baseline (gauges: number, mem_requested kept). */
static void since_reset(struct kv_core_stats *c, struct kv_cls_items *it, uint64_t *total_items)
{
	uint64_t *o = (uint64_t *)c;
	const uint64_t *b = (const uint64_t *)&base_core;

	for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t); i++)
		if (i != offsetof(struct kv_core_stats, curr_connections) / sizeof(uint64_t))
			o[i] -= b[i];
	for (int k = 0; k < KV_CLASSES; k++) {
		uint64_t *f = (uint64_t *)&it[k];
		const uint64_t *g = (const uint64_t *)&base_items[k];
		for (size_t i = 2; i < NCLS_ITEMS; i++)
			f[i] -= g[i];
	}
	*total_items -= base_total_items;
}

static void stats_reset(void)
{
	uint64_t bytes, buckets;

	sum_cores(&base_core);
	sum_items(base_items, &base_total_items, &bytes, &buckets);
}

/* ---- answers ------------------------------------------------------------ */

static void stat(struct kv_out *o, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void stat(struct kv_out *o, const char *name, const char *fmt, ...)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "STAT %s ", name);
	va_list ap;

	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	kv_out_add(o, line, (size_t)n);
	kv_out_add(o, "\r\n", 2);
}

#define U(o, name, v) stat(o, name, "%llu", (unsigned long long)(v))

static uint64_t cls_op_sum(const struct kv_core_stats *c, size_t field)
{
	uint64_t t = 0;

	for (int k = 0; k < KV_CLASSES; k++)
		t += ((const uint64_t *)&c->cls[k])[field];
	return t;
}

#define OPS(c, f) cls_op_sum(c, offsetof(struct kv_cls_ops, f) / sizeof(uint64_t))

static void general(struct kv_out *o, const struct kv_core_stats *c,
		    const struct kv_cls_items *it, uint64_t total_items, uint64_t bytes,
		    uint64_t buckets)
{
	struct rusage ru;
	struct kv_cls_items t = { 0 };
	int hp = 0;

	getrusage(RUSAGE_SELF, &ru);
	for (int k = 0; k < KV_CLASSES; k++)
		for (size_t i = 0; i < NCLS_ITEMS; i++)
			((uint64_t *)&t)[i] += ((const uint64_t *)&it[k])[i];
	while ((1ull << hp) < buckets)
		hp++;
	stat(o, "pid", "%d", (int)getpid());
	stat(o, "uptime", "%u", kv_now() - 62);
	stat(o, "time", "%lld", (long long)(kv_unix_started() + kv_now()));
	stat(o, "version", "%s", KV_VERSION);
	stat(o, "pointer_size", "%d", (int)(8 * sizeof(void *)));
	stat(o, "rusage_user", "%ld.%06ld", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
	stat(o, "rusage_system", "%ld.%06ld", (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec);
	U(o, "max_connections", kv_settings.maxconns);
	U(o, "curr_connections", c->curr_connections);
	U(o, "total_connections", c->total_connections);
	U(o, "rejected_connections", c->rejected_connections);
	U(o, "connection_structures", c->curr_connections);
	U(o, "cmd_get", c->cmd_get);
	U(o, "cmd_set", OPS(c, cmd_set));
	U(o, "cmd_flush", c->cmd_flush);
	U(o, "cmd_touch", c->cmd_touch);
	U(o, "cmd_meta", 0);
	U(o, "get_hits", OPS(c, get_hits));
	U(o, "get_misses", c->get_misses);
	U(o, "get_expired", c->get_expired);
	U(o, "get_flushed", c->get_flushed);
	U(o, "delete_misses", c->delete_misses);
	U(o, "delete_hits", OPS(c, delete_hits));
	U(o, "incr_misses", c->incr_misses);
	U(o, "incr_hits", OPS(c, incr_hits));
	U(o, "decr_misses", c->decr_misses);
	U(o, "decr_hits", OPS(c, decr_hits));
	U(o, "cas_misses", c->cas_misses);
	U(o, "cas_hits", OPS(c, cas_hits));
	U(o, "cas_badval", OPS(c, cas_badval));
	U(o, "touch_hits", OPS(c, touch_hits));
	U(o, "touch_misses", c->touch_misses);
	U(o, "store_too_large", c->store_too_large);
	U(o, "store_no_memory", c->store_no_memory);
	U(o, "auth_cmds", 0);
	U(o, "auth_errors", 0);
	U(o, "bytes_read", c->bytes_read);
	U(o, "bytes_written", c->bytes_written);
	U(o, "limit_maxbytes", kv_settings.maxbytes);
	U(o, "accepting_conns", 1);
	U(o, "threads", rf_ncores());
	U(o, "hash_power_level", hp);
	U(o, "hash_bytes", buckets * sizeof(void *));
	U(o, "hash_is_expanding", 0);
	U(o, "bytes", bytes);
	U(o, "curr_items", t.number);
	U(o, "total_items", total_items);
	U(o, "expired_unfetched", t.expired_unfetched);
	U(o, "evicted_unfetched", t.evicted_unfetched);
	U(o, "evictions", t.evicted);
	U(o, "reclaimed", t.reclaimed);
}

static void settings(struct kv_out *o)
{
	stat(o, "maxbytes", "%llu", (unsigned long long)kv_settings.maxbytes);
	stat(o, "maxconns", "%u", kv_settings.maxconns);
	stat(o, "tcpport", "%d", kv_settings.port);
	stat(o, "udpport", "%d", 0);
	stat(o, "inter", "%s", kv_settings.inter);
	stat(o, "verbosity", "%u", kv_verbose);
	stat(o, "oldest", "%lu", (unsigned long)__atomic_load_n(&kv_oldest_live, __ATOMIC_RELAXED));
	stat(o, "evictions", "%s", kv_settings.evict ? "on" : "off");
	stat(o, "growth_factor", "%.2f", kv_settings.factor);
	stat(o, "chunk_size", "%u", kv_settings.chunk_size);
	stat(o, "num_threads", "%d", rf_ncores());
	stat(o, "cas_enabled", "%s", kv_settings.use_cas ? "yes" : "no");
	stat(o, "tcp_backlog", "%d", 4096);
	stat(o, "binding_protocol", "%s", "ascii");
	stat(o, "item_size_max", "%u", kv_settings.item_size_max);
	stat(o, "flush_enabled", "%s", "yes");
	stat(o, "hash_algorithm", "%s", "fnv1a");
	stat(o, "idle_timeout", "%d", 0);
}

static void items(struct kv_out *o, const struct kv_cls_items *it)
{
	static const char *const names[] = {
		"number", "mem_requested", "evicted", "evicted_nonzero", "evicted_time",
		"outofmemory", "reclaimed", "expired_unfetched", "evicted_unfetched",
		"evicted_active",
	};
	char name[64];

	for (int k = 1; k < KV_CLASSES; k++) {
		const uint64_t *f = (const uint64_t *)&it[k];
		if (!it[k].number)
			continue;
		for (size_t i = 0; i < NCLS_ITEMS; i++) {
			snprintf(name, sizeof(name), "items:%d:%s", k, names[i]);
			U(o, name, f[i]);
		}
	}
}

static void slabs(struct kv_out *o, const struct kv_core_stats *c,
		  const struct kv_cls_items *it, uint64_t bytes)
{
	static const char *const names[] = {
		"get_hits", "cmd_set", "delete_hits", "incr_hits", "decr_hits", "cas_hits",
		"cas_badval", "touch_hits",
	};
	char name[64];
	int active = 0;

	for (int k = 1; k < KV_CLASSES; k++) {
		const uint64_t *f = (const uint64_t *)&c->cls[k];
		if (!it[k].number && !c->cls[k].cmd_set)
			continue;
		active++;
		snprintf(name, sizeof(name), "%d:chunk_size", k);
		U(o, name, cls_size[k]);
		snprintf(name, sizeof(name), "%d:used_chunks", k);
		U(o, name, it[k].number);
		for (size_t i = 0; i < NCLS_OPS; i++) {
			snprintf(name, sizeof(name), "%d:%s", k, names[i]);
			U(o, name, f[i]);
		}
	}
	U(o, "active_slabs", active);
	U(o, "total_malloced", bytes);
}

/* "stats [sub]": sub is NULL for plain stats.  Unknown subcommands get
 * memcached's "ERROR". */
void kv_stats_answer(struct kv_out *o, const char *sub, const char *arg)
{
	struct kv_core_stats *c;
	struct kv_cls_items *it;
	uint64_t total_items, bytes, buckets;
	int self = rf_core_self() >= 0 && rf_core_self() < KV_MAX_CORES ? rf_core_self()
									: KV_MAX_CORES;

	if (sub && !strcmp(sub, "reset")) {
		stats_reset();
		kv_out_str(o, "RESET");
		return;
	}
	if (sub && !strcmp(sub, "detail")) {
		if (arg && (!strcmp(arg, "on") || !strcmp(arg, "off")))
			kv_out_str(o, "OK");
		else if (arg && !strcmp(arg, "dump"))
			kv_out_str(o, "END");
		else
			kv_out_str(o, "CLIENT_ERROR usage: stats detail on|off|dump");
		return;
	}
	if (sub && strcmp(sub, "settings") && strcmp(sub, "items") && strcmp(sub, "slabs")) {
		kv_out_str(o, "ERROR");
		return;
	}
	c = &sum_core[self];
	it = sum_cls[self];
	sum_cores(c);
	sum_items(it, &total_items, &bytes, &buckets);
	since_reset(c, it, &total_items);
	if (!sub)
		general(o, c, it, total_items, bytes, buckets);
	else if (!strcmp(sub, "settings"))
		settings(o);
	else if (!strcmp(sub, "items"))
		items(o, it);
	else
		slabs(o, c, it, bytes);
	kv_out_str(o, "END");
}
