/*
 * mempool.c - pre-faulted memory chunks and their background worker.
 *
 * One worker thread fills EMPTY chunks and zeroes SCRUBBING ones, so the
 * request path only hands descriptors over.  Populating is done with a
 * MAP_POPULATE mapping that rfd keeps (MADV_DONTFORK, so forking a subOS's
 * shim does not copy it); the same mapping later zeroes returned chunks.
 */
#define _GNU_SOURCE
#include "rfd/mempool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"
#define HUGE_2M      (2ull << 20)

static long read_long(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

static int write_long(const char *path, long v)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int len = snprintf(buf, sizeof(buf), "%ld", v);
	int err = write(fd, buf, (size_t)len) == len ? 0 : -errno;
	close(fd);
	return err;
}

/* Ask the kernel for `want` more huge pages; it may give fewer. */
static long reserve_hugepages(long want)
{
	long before = read_long(NR_HUGEPAGES);
	if (before < 0 || write_long(NR_HUGEPAGES, before + want))
		return 0;
	long after = read_long(NR_HUGEPAGES);
	return after > before ? after - before : 0;
}

static void release_hugepages(long n)
{
	long now = read_long(NR_HUGEPAGES);
	if (n > 0 && now >= 0)
		write_long(NR_HUGEPAGES, now > n ? now - n : 0);
}

static int fill_chunk(struct rfd_pool *p, struct rfd_chunk *c)
{
	bool huge = p->huge_added > 0;
	int fd = -1;
	if (huge)
		fd = memfd_create("rf-chunk", MFD_CLOEXEC | MFD_HUGETLB);
	if (fd < 0) {
		huge = false;
		fd = memfd_create("rf-chunk", MFD_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	void *m = MAP_FAILED;
	if (ftruncate(fd, (off_t)p->chunk_size) == 0)
		m = mmap(NULL, p->chunk_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (m == MAP_FAILED && huge) { /* huge pages ran out: plain pages */
		close(fd);
		fd = memfd_create("rf-chunk", MFD_CLOEXEC);
		huge = false;
		if (fd >= 0 && ftruncate(fd, (off_t)p->chunk_size) == 0)
			m = mmap(NULL, p->chunk_size, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_POPULATE, fd, 0);
	}
	if (m == MAP_FAILED) {
		int err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	madvise(m, p->chunk_size, MADV_DONTFORK);
	c->fd = fd;
	c->map = m;
	c->huge = huge;
	return 0;
}

/* Find work for the worker under the lock; -1 if none. */
static int next_job(struct rfd_pool *p)
{
	for (int i = 0; i < p->nchunks; i++)
		if (p->chunk[i].state == RF_CHUNK_SCRUBBING)
			return i;
	for (int i = 0; i < p->nchunks; i++)
		if (p->chunk[i].state == RF_CHUNK_EMPTY)
			return i;
	return -1;
}

static void *worker_main(void *arg)
{
	struct rfd_pool *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		int i = next_job(p);
		if (i < 0) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		struct rfd_chunk *c = &p->chunk[i];
		bool scrub = c->state == RF_CHUNK_SCRUBBING;
		if (!scrub)
			c->state = RF_CHUNK_FILLING;
		pthread_mutex_unlock(&p->lock);
		int err = scrub ? (memset(c->map, 0, p->chunk_size), 0) : fill_chunk(p, c);
		pthread_mutex_lock(&p->lock);
		c->state = err ? RF_CHUNK_EMPTY : RF_CHUNK_READY;
		c->owner = -1;
		pthread_cond_broadcast(&p->cond);
		/* Out of memory: stop filling, takers fill on demand.  Not if
		 * rfd_pool_fini already asked to stop while we were filling: its
		 * broadcast is gone and the wait would never end. */
		if (err && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int rfd_pool_init(struct rfd_pool *p, uint64_t total, uint64_t chunk_size, const char *hugepages,
		  struct base_err *err)
{
	memset(p, 0, sizeof(*p));
	if (chunk_size < HUGE_2M || chunk_size % HUGE_2M) {
		base_errf(err, BASE_E_BAD_REQUEST, "chunk size must be a multiple of 2M");
		return -1;
	}
	p->chunk_size = chunk_size;
	p->nchunks = (int)(total / chunk_size);
	p->chunk = calloc((size_t)p->nchunks + 1, sizeof(*p->chunk));
	if (!p->chunk) {
		base_errf(err, BASE_E_INTERNAL, "out of memory");
		return -1;
	}
	for (int i = 0; i < p->nchunks; i++) {
		p->chunk[i].fd = -1;
		p->chunk[i].owner = -1;
	}
	p->want_huge = strcmp(hugepages, "off") != 0;
	if (p->want_huge)
		p->huge_added = reserve_hugepages((long)(total / HUGE_2M));
	if (strcmp(hugepages, "on") == 0 && p->huge_added < (long)(total / HUGE_2M)) {
		release_hugepages(p->huge_added);
		base_errf(err, BASE_E_INTERNAL, "could reserve only %ld of %llu huge pages",
			  p->huge_added, (unsigned long long)(total / HUGE_2M));
		free(p->chunk);
		return -1;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (pthread_create(&p->worker, NULL, worker_main, p)) {
		base_errf(err, BASE_E_INTERNAL, "cannot start the pool worker");
		release_hugepages(p->huge_added);
		free(p->chunk);
		return -1;
	}
	p->started = true;
	return 0;
}

void rfd_pool_fini(struct rfd_pool *p)
{
	if (!p->started)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->worker, NULL);
	for (int i = 0; i < p->nchunks; i++) {
		if (p->chunk[i].map)
			munmap(p->chunk[i].map, p->chunk_size);
		if (p->chunk[i].fd >= 0)
			close(p->chunk[i].fd);
	}
	release_hugepages(p->huge_added);
	free(p->chunk);
	p->started = false;
}

int rfd_pool_take(struct rfd_pool *p, int n, int owner, int *ids)
{
	int got = 0, err = 0;
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->nchunks && got < n; i++)
		if (p->chunk[i].state == RF_CHUNK_READY) {
			p->chunk[i].state = RF_CHUNK_OWNED;
			p->chunk[i].owner = owner;
			ids[got++] = i;
		}
	/* Not enough prepared: fill EMPTY ones here, or wait for the worker. */
	while (got < n && !err) {
		int i;
		for (i = 0; i < p->nchunks; i++)
			if (p->chunk[i].state == RF_CHUNK_EMPTY || p->chunk[i].state == RF_CHUNK_READY)
				break;
		if (i == p->nchunks) {
			bool busy = false;
			for (int k = 0; k < p->nchunks; k++)
				busy |= p->chunk[k].state == RF_CHUNK_FILLING ||
					p->chunk[k].state == RF_CHUNK_SCRUBBING;
			if (!busy) {
				err = -ENOMEM;
				break;
			}
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		struct rfd_chunk *c = &p->chunk[i];
		if (c->state == RF_CHUNK_EMPTY) {
			c->state = RF_CHUNK_FILLING;
			pthread_mutex_unlock(&p->lock);
			err = fill_chunk(p, c);
			pthread_mutex_lock(&p->lock);
			if (err) {
				c->state = RF_CHUNK_EMPTY;
				break;
			}
		}
		c->state = RF_CHUNK_OWNED;
		c->owner = owner;
		ids[got++] = i;
	}
	if (err)
		for (int k = 0; k < got; k++) {
			p->chunk[ids[k]].state = RF_CHUNK_READY;
			p->chunk[ids[k]].owner = -1;
		}
	pthread_mutex_unlock(&p->lock);
	return err;
}

void rfd_pool_give_back(struct rfd_pool *p, int id)
{
	if (id < 0 || id >= p->nchunks)
		return;
	pthread_mutex_lock(&p->lock);
	struct rfd_chunk *c = &p->chunk[id];
	c->owner = -1;
	c->state = c->map ? RF_CHUNK_SCRUBBING : RF_CHUNK_EMPTY;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void rfd_pool_adopt(struct rfd_pool *p, int id, int owner)
{
	if (id < 0 || id >= p->nchunks)
		return;
	pthread_mutex_lock(&p->lock);
	struct rfd_chunk *c = &p->chunk[id];
	while (c->state == RF_CHUNK_FILLING)  /* the worker got there first */
		pthread_cond_wait(&p->cond, &p->lock);
	if (c->state != RF_CHUNK_READY && c->state != RF_CHUNK_EMPTY) {
		pthread_mutex_unlock(&p->lock);  /* already someone's */
		return;
	}
	/* The adopted subOS holds the only copy of this chunk's memory; a
	 * fresh one this rfd prepared under the same id would sit unused. */
	if (c->map) {
		munmap(c->map, p->chunk_size);
		close(c->fd);
		c->map = NULL;
		c->fd = -1;
		c->huge = false;
	}
	c->state = RF_CHUNK_OWNED;
	c->owner = owner;
	pthread_mutex_unlock(&p->lock);
}

int rfd_pool_fd(const struct rfd_pool *p, int id)
{
	return id >= 0 && id < p->nchunks ? p->chunk[id].fd : -1;
}

void rfd_pool_counts(struct rfd_pool *p, int *ready, int *owned, int *scrubbing, int *huge)
{
	*ready = *owned = *scrubbing = *huge = 0;
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->nchunks; i++) {
		*ready += p->chunk[i].state == RF_CHUNK_READY;
		*owned += p->chunk[i].state == RF_CHUNK_OWNED;
		*scrubbing += p->chunk[i].state == RF_CHUNK_SCRUBBING;
		*huge += p->chunk[i].huge;
	}
	pthread_mutex_unlock(&p->lock);
}
