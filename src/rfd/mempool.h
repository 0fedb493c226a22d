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

enum rf_chunk_state {
	RF_CHUNK_EMPTY,     /* no memory yet */
	RF_CHUNK_FILLING,   /* being created and populated */
	RF_CHUNK_READY,     /* populated and zeroed, host-owned */
	RF_CHUNK_OWNED,     /* handed to a subOS */
	RF_CHUNK_SCRUBBING, /* returned, being zeroed */
};

struct rf_chunk {
	int fd;
	enum rf_chunk_state state;
	int owner;
	bool huge;
	void *map;          /* rfd's own mapping, for scrubbing */
};

struct rf_pool {
	uint64_t chunk_size;
	int nchunks;
	struct rf_chunk *chunk;
	bool want_huge;
	long huge_added;      /* huge pages this rfd added to nr_hugepages */
	pthread_mutex_t lock;
	pthread_cond_t cond;  /* worker: work to do; takers: a chunk got READY */
	pthread_t worker;
	bool stop, started;
};

/* hugepages: "auto" (reserve if possible), "on" (fail without), "off". */
int rf_pool_init(struct rf_pool *p, uint64_t total, uint64_t chunk_size, const char *hugepages,
		 struct rf_err *err);
void rf_pool_fini(struct rf_pool *p);

/* Take n chunks for `owner`, filling synchronously what the worker has not
 * prepared yet.  Writes chunk ids to ids[].  Returns 0 or -errno (nothing
 * taken). */
int rf_pool_take(struct rf_pool *p, int n, int owner, int *ids);
/* Give a chunk back; it is scrubbed in the background. */
void rf_pool_give_back(struct rf_pool *p, int id);
/* Mark chunk `id` owned by `owner` at start-up recovery (no memory
 * behind it in this rfd: the subOS holds the only mapping). */
void rf_pool_adopt(struct rf_pool *p, int id, int owner);

int rf_pool_fd(const struct rf_pool *p, int id);
void rf_pool_counts(struct rf_pool *p, int *ready, int *owned, int *scrubbing, int *huge);

#endif
