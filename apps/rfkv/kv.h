/*
 * kv.h - the pieces of rfkv (RainForest's memcached-compatible key-value
 * service on librf) and how they meet.
 *
 * One concern per file, as memcached splits proto_text.c from items.c and
 * slabs.c:
 *   main.c   options (memcached's -p -l -m -c -t -I -U), listening,
 *            one acceptor fiber per core;
 *   conn.c   a connection: its fiber, receive/send buffers, value bodies;
 *   proto.c  the text protocol: tokenizing, every command, every answer;
 *   shard.c  who owns which shard, and running an operation there;
 *   place.c  which cores serve: a core starved of its CPU stops serving;
 *   store.c  a shard's hash table and items, the storage operations;
 *   lru.c    a shard's LRU list, memory limit and eviction;
 *   stats.c  counters and the four "stats" answers;
 *   clock.c  memcached's relative seconds and expiry times.
 *
 * Data is partitioned: a key's hash picks one of KV_SHARDS shards, and a
 * shard is touched only by the core that owns it (shard.c), so no store
 * structure is shared between cores and none has a lock.
 */
#ifndef RFKV_KV_H
#define RFKV_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <rf/rf.h>

#define KV_VERSION        "1.6.18-rfkv"
#define KV_KEY_MAX        250
#define KV_MAX_CORES      256              /* per-core stats slots */
#define KV_MAX_SHARDS     64
#define KV_CLASSES        64               /* memcached's MAX_NUMBER_OF_SLAB_CLASSES */
#define KV_ITEM_HDR       48               /* sizeof(item) in memcached 1.6, 64-bit */
#define KV_REALTIME_MAXDELTA (60 * 60 * 24 * 30)

/* ---- settings (main.c fills them before serving; read-only after) ---- */

struct kv_settings {
	uint64_t maxbytes;       /* -m, bytes */
	uint32_t maxconns;       /* -c */
	uint32_t item_size_max;  /* -I */
	int port;                /* -p */
	int threads;             /* -t (cores when standalone) */
	char inter[64];          /* -l, "NULL" when any */
	bool use_cas;            /* not -C */
	bool evict;              /* not -M */
	float factor;            /* -f */
	uint32_t chunk_size;     /* -n */
};
extern struct kv_settings kv_settings;
extern volatile uint32_t kv_verbose;       /* "verbosity" */

/* ---- clock.c: memcached's time --------------------------------------- */

void kv_clock_init(void);
uint32_t kv_now(void);                     /* seconds since start (rel time) */
uint32_t kv_realtime(int64_t exptime);     /* protocol exptime -> rel time */
int64_t kv_unix_started(void);             /* unix time of rel time 0 */
uint64_t kv_rel_to_ns(uint32_t rel);       /* rf_now_ns() when rel time begins */

/* ---- items (store.c) ------------------------------------------------- */

struct kv_item {
	struct kv_item *hnext;        /* hash chain */
	struct kv_item *prev, *next;  /* LRU, head = most recent */
	uint64_t hash;
	uint64_t cas;
	uint32_t exptime;             /* rel time, 0 = never */
	uint32_t time;                /* last access, rel time */
	uint32_t flags;
	uint32_t nbytes;              /* value bytes + 2 ("\r\n") */
	uint32_t ntotal;              /* memcached's size for the item (stats, limit) */
	uint16_t nkey;
	uint8_t clsid;
	uint8_t fetched;
	char data[];                  /* key, then value + "\r\n" */
};

static inline char *kv_item_value(struct kv_item *it)
{
	return it->data + it->nkey;
}

/* Counters of one shard per slab class, written by its owner only. */
struct kv_cls_items {
	uint64_t number, mem_requested, evicted, evicted_nonzero, evicted_time, outofmemory,
		 reclaimed, expired_unfetched, evicted_unfetched, evicted_active;
};

struct kv_shard {
	struct kv_item **buckets;
	uint32_t mask;                /* buckets - 1 */
	uint32_t count;
	struct kv_item *lru_head, *lru_tail;
	uint64_t bytes, limit;        /* memcached sizes of the items; their bound */
	uint64_t total_items;
	struct kv_cls_items cls[KV_CLASSES];
} __attribute__((aligned(64)));

/* ---- operations: one key, run on the shard's owner (shard.c) ---------- */

enum kv_op {
	KV_GET, KV_TOUCH_GET, KV_SET, KV_ADD, KV_REPLACE, KV_APPEND, KV_PREPEND, KV_CAS,
	KV_DELETE, KV_UNLINK, KV_INCR, KV_DECR, KV_TOUCH
};

enum kv_res {
	KV_STORED, KV_NOT_STORED, KV_EXISTS, KV_NOT_FOUND, KV_DELETED, KV_TOUCHED, KV_HIT,
	KV_MISS, KV_NUMBER, KV_NON_NUMERIC, KV_NO_MEMORY, KV_TOO_LARGE
};

/* An output buffer; an allocation failure sets oom and drops the bytes. */
struct kv_out {
	char *buf;
	size_t len, cap;
	bool oom;
};

struct kv_req {
	enum kv_op op;
	bool want_cas;                /* gets/gats: "VALUE" lines carry the cas */
	const char *key;
	size_t nkey;
	uint64_t hash;
	uint32_t flags, exptime;      /* exptime as rel time */
	const char *data;             /* value + "\r\n" (storage ops) */
	uint32_t nbytes;              /* its length, "\r\n" included */
	uint64_t cas, delta;
	struct kv_out *out;           /* gets append "VALUE ..." here */
	enum kv_res res;
	char num[24];                 /* incr/decr result */
	/* completion of a forwarded request (shard.c) */
	rf_fiber *waiter;
	uint32_t done;
};

/* shard.c */
int kv_shards_init(uint64_t maxbytes);
int kv_nshards(void);
int kv_shard_owner(int s);                   /* its core, or -1 while in transit */
struct kv_shard *kv_shard_at(int i);
void kv_run(struct kv_req *r);               /* fiber: run r on its shard's owner */
void kv_shards_core_changed(int core, bool added);
void kv_shards_crawl(uint64_t at_ns);        /* every core drops dead items at at_ns */
void kv_shards_reclaim(void);                /* rf_on_mem_reclaim hook */
void kv_shards_rebalance_all(void);          /* every core: give away what it should not own */

/* place.c: which cores serve (own shards, hold connections) */
void kv_place_start(int core);               /* sample core's starvation from now on */
bool kv_place_serves(int core, int not);     /* core runs, is not `not`, and should serve */
bool kv_place_judge(bool starved, uint64_t median_ns, uint64_t worst_ns, uint64_t best_ns,
		    uint64_t now_ns, uint64_t *calm_since); /* the rule, pure (tests) */
void kv_place_force(int core, bool starved); /* tests: set a verdict, rebalance */

/* store.c (on the owning core) */
int kv_store_init(struct kv_shard *s, uint64_t limit);
void kv_store_exec(struct kv_shard *s, struct kv_req *r);
uint64_t kv_hash(const char *key, size_t n);
uint32_t kv_item_ntotal(size_t nkey, uint32_t flags, uint32_t nbytes);
bool kv_item_live(const struct kv_item *it, uint32_t now);
void kv_store_unlink(struct kv_shard *s, struct kv_item *it);
uint64_t kv_cas_next(void);

/* lru.c (on the owning core) */
void kv_lru_link(struct kv_shard *s, struct kv_item *it);
void kv_lru_unlink(struct kv_shard *s, struct kv_item *it);
void kv_lru_bump(struct kv_shard *s, struct kv_item *it, uint32_t now);
struct kv_item *kv_lru_alloc(struct kv_shard *s, uint32_t ntotal, size_t size);
void kv_lru_shrink(struct kv_shard *s, uint64_t target);
void kv_lru_crawl(struct kv_shard *s, uint32_t now);
void kv_lru_reclaim(struct kv_shard *s);

/* flush_all: items stored at or before oldest_live (or older than
 * oldest_cas) are dead once oldest_live has come (memcached's rule). */
extern uint32_t kv_oldest_live;
extern uint64_t kv_oldest_cas;
void kv_flush_all(int64_t delay);

/* ---- stats.c --------------------------------------------------------- */

struct kv_cls_ops {
	uint64_t get_hits, cmd_set, delete_hits, incr_hits, decr_hits, cas_hits, cas_badval,
		 touch_hits;
};

/* Counters of one core, written only by that core's thread. */
struct kv_core_stats {
	uint64_t cmd_get, cmd_flush, cmd_touch, get_misses, get_expired, get_flushed,
		 delete_misses, incr_misses, decr_misses, cas_misses, touch_misses,
		 store_too_large, store_no_memory, bytes_read, bytes_written,
		 total_connections, curr_connections, rejected_connections, evictions_bytes;
	struct kv_cls_ops cls[KV_CLASSES];
} __attribute__((aligned(64)));

struct kv_core_stats *kv_stats_self(void);   /* the calling core's */
void kv_stats_init(void);
int kv_cls_id(uint32_t ntotal);              /* memcached's slab class */
void kv_stats_answer(struct kv_out *o, const char *sub, const char *arg);

#define KV_STAT_INC(field) (kv_stats_self()->field++)

/* ---- proto.c / conn.c ------------------------------------------------- */

bool kv_conn_start(int fd);                /* conn.c: serve fd in a new fiber */

void kv_out_add(struct kv_out *o, const char *s, size_t n);
void kv_out_str(struct kv_out *o, const char *line);   /* line + "\r\n" */

/* A connection's protocol state between receives. */
struct kv_conn_state {
	size_t swallow;               /* bytes of a refused value to discard */
	bool quit;                    /* "quit": close once answered */
	bool close_now;               /* close without answering */
	bool noreply;                 /* the current command said noreply */
	uint32_t done;                /* requests complete since the last reply (conn.c) */
	struct kv_pending {           /* a storage command waiting for its value */
		bool active, noreply;
		enum kv_op op;
		uint32_t flags, exptime, nbytes;
		uint64_t cas;
		size_t nkey;
		char key[KV_KEY_MAX + 1];
	} nread;
};

/* Handle every complete request in in[0..len); returns bytes consumed
 * (0 if the first request is incomplete; *need then says how many bytes
 * it wants in total, or 0 if a line is incomplete). */
size_t kv_proto_process(struct kv_conn_state *st, char *in, size_t len, struct kv_out *out,
			size_t *need);

#endif
