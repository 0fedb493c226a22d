/*
 * mempool.h - rfd's pool of pre-faulted, zeroed memory chunks.
 *
 * Memory changes owner; it is not made anew (DESIGN.md).  Each chunk is a
 * memfd (hugetlb-backed when the host can reserve huge pages) populated in
 * the background before anyone asks for it.  Creating or growing a subOS
 * hands chunks over by passing their descriptors; a returned chunk is
 * zeroed in the background before it is READY again, so no subOS ever
 * sees another's data.
 */
#ifndef RF_RFD_MEMPOOL_H
#define RF_RFD_MEMPOOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "base/err.h"

enum rfd_chunk_state {
	RF_CHUNK_EMPTY,     /* no memory yet */
	RF_CHUNK_FILLING,   /* being created and populated */
	RF_CHUNK_READY,     /* populated and zeroed, host-owned */
	RF_CHUNK_OWNED,     /* handed to a subOS */
	RF_CHUNK_SCRUBBING, /* returned, being zeroed */
};

struct rfd_chunk {
	int fd;
	enum rfd_chunk_state state;
	int owner;
	bool huge;
	void *map;          /* rfd's own mapping, for scrubbing */
};

struct rfd_pool {
	uint64_t chunk_size;
	int nchunks;
	struct rfd_chunk *chunk;
	bool want_huge;
	long huge_added;      /* huge pages this rfd added to nr_hugepages */
	pthread_mutex_t lock;
	pthread_cond_t cond;  /* worker: work to do; takers: a chunk got READY */
	pthread_t worker;
	bool stop, started;
};

/* hugepages: "auto" (reserve if possible), "on" (fail without), "off". */
int rfd_pool_init(struct rfd_pool *p, uint64_t total, uint64_t chunk_size, const char *hugepages,
		  struct base_err *err);
void rfd_pool_fini(struct rfd_pool *p);

/* Take n chunks for `owner`, filling synchronously what the worker has not
 * prepared yet.  Writes chunk ids to ids[].  Returns 0 or -errno (nothing
 * taken). */
int rfd_pool_take(struct rfd_pool *p, int n, int owner, int *ids);
/* Give a chunk back; it is scrubbed in the background. */
void rfd_pool_give_back(struct rfd_pool *p, int id);
/* Mark chunk `id` owned by `owner` at start-up recovery (no memory
 * behind it in this rfd: the subOS holds the only mapping). */
void rfd_pool_adopt(struct rfd_pool *p, int id, int owner);

int rfd_pool_fd(const struct rfd_pool *p, int id);
void rfd_pool_counts(struct rfd_pool *p, int *ready, int *owned, int *scrubbing, int *huge);

#endif
