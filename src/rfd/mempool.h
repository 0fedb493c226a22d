/*
 * mempool.h - rfd's pool of pre-faulted, zeroed memory chunks.
 *
 * Memory changes owner; it is not made anew on the request path
 * (DESIGN.md).  Each chunk is a memfd (hugetlb-backed when the host can
 * reserve huge pages) populated in the background before anyone asks for
 * it.  Creating or growing a subOS, or making a channel, hands chunks over
 * by passing their descriptors.  A memfd handed out once is never handed
 * out again: a returned chunk is retired (its pages punched out, so the
 * memory is freed even if the old owner kept a dup or a mapping, and its
 * memfd closed) and a fresh memfd is made and populated in its place by
 * the pool's worker thread.
 */
#ifndef RF_RFD_MEMPOOL_H
#define RF_RFD_MEMPOOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "base/err.h"

enum rfd_chunk_state {
	RF_CHUNK_EMPTY,     /* no memory: the worker will fill it */
	RF_CHUNK_FILLING,   /* a fresh memfd being created and populated */
	RF_CHUNK_READY,     /* populated and zeroed, host-owned, never handed out */
	RF_CHUNK_OWNED,     /* handed to a subOS or a channel */
	RF_CHUNK_RETIRING,  /* returned: being punched out and dropped */
};

struct rfd_chunk {
	int fd;
	enum rfd_chunk_state state;
	int owner;
	bool huge;
	bool punch;         /* RETIRING: punch the memory out first */
};

/* What `rfm info` reports of the pool (rfd_pool_counts). */
struct rfd_pool_counts {
	int ready;          /* can be handed out now */
	int owned;
	int refilling;      /* retiring, empty or filling: READY again soon */
	int huge;           /* hugetlb-backed chunks among ready and owned */
	uint64_t refills;   /* fresh chunks populated since start */
	uint64_t retired;   /* returned memfds rfd dropped (punched) since start */
	double refill_mib_s; /* populating rate over every refill, 0 if none */
};

struct rfd_pool {
	uint64_t chunk_size;
	int nchunks;
	struct rfd_chunk *chunk;
	bool want_huge;
	bool huge_only;       /* --hugepages on: no plain-page fallback */
	long huge_added;      /* huge pages this rfd added to nr_overcommit_hugepages */
	pthread_mutex_t lock;
	pthread_cond_t work;  /* the worker: something to retire or fill */
	pthread_cond_t done;  /* takers: a chunk became READY or a fill failed */
	pthread_t worker;
	bool stop, started;
	bool stalled;         /* the last fill failed: no filling until a look asks */
	int fill_err;         /* -errno of that failure */
	uint64_t refills, retired, refill_bytes, refill_ns;
	int ready_fd;         /* eventfd: the worker finished a job (rfd_pool_ready); -1 */
	long fill_delay_ms;   /* added to every fill (fault.h's pool_slow; tests only) */
};

/* hugepages: "auto" (huge pages where the kernel has them, plain pages
 * where not), "on" (huge pages or no chunk), "off". */
int rfd_pool_init(struct rfd_pool *p, uint64_t total, uint64_t chunk_size, const char *hugepages,
		  struct base_err *err);
void rfd_pool_fini(struct rfd_pool *p);

/* Take n READY chunks for `owner`; never waits.  Writes chunk ids to
 * ids[].  Returns 0 or -errno (nothing taken): -ENOMEM when the pool
 * cannot hold n more, -EAGAIN when fewer are READY now (the worker is
 * asked to fill; wait on ready_fd as rfd_pool_ready says), or why the
 * worker's last fill failed (said once: the next look asks it again). */
int rfd_pool_take(struct rfd_pool *p, int n, int owner, int *ids);
/* How long an op waits for the pool to refill before it gives up. */
#define RFD_POOL_WAIT_MS 5000
/* Would a take of n chunks get them without waiting (or be refused at
 * once)?  If not, the worker is asked to fill, and p->ready_fd becomes
 * readable when it has done a job: look again then (the event loop waits
 * on it, never on the pool). */
bool rfd_pool_ready(struct rfd_pool *p, int n);
/* Give a chunk back: it is retired (memory punched out, memfd dropped) and
 * replaced by a fresh one in the background. */
void rfd_pool_give_back(struct rfd_pool *p, int id);
/* Give a chunk back whose holders may keep using what they mapped (a
 * closed channel that peers still drain): dropped and replaced, not
 * punched out; its memory lives until the last holder lets go. */
void rfd_pool_drop(struct rfd_pool *p, int id);
/* Mark chunk `id` owned by `owner` at start-up recovery (no memory
 * behind it in this rfd: the subOS holds the only mapping). */
void rfd_pool_adopt(struct rfd_pool *p, int id, int owner);

/* After recovery: rfd holds chunk `id`'s memfd again (fd, found in its
 * owner), so returning it punches it out as usual.  Takes fd (closed if
 * the chunk is not an adopted one). */
void rfd_pool_hold(struct rfd_pool *p, int id, int fd);

int rfd_pool_fd(const struct rfd_pool *p, int id);
/* owner[i] (nchunks entries): chunk i's owner if it is OWNED, else -1
 * (for the invariant checker, check.h). */
void rfd_pool_owners(struct rfd_pool *p, int *owner);
/* The inode of chunk id's memfd, 0 if rfd holds none. */
uint64_t rfd_pool_inode(const struct rfd_pool *p, int id);
void rfd_pool_counts(struct rfd_pool *p, struct rfd_pool_counts *c);
/* The pool as `rfm info` shows it (docs/protocol.md, "pool"). */
struct json_object *rfd_pool_json(struct rfd_pool *p);

#endif
