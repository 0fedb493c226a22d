/*
 * mempool.c - pre-faulted memory chunks and their background worker.
 *
 * One worker thread retires returned chunks and fills empty ones, so the
 * request path only hands descriptors over (and never populates memory).
 * A chunk's memfd is handed out at most once: that is what makes "no
 * subOS ever sees another's data" hold against a subOS that kept a dup()
 * of its region fd or a mapping of it.  Retiring punches the whole chunk
 * out (FALLOC_FL_PUNCH_HOLE) before closing rfd's descriptor: the memory
 * is freed at once whoever still holds the memfd, and an old owner that
 * touches it again faults in fresh zero pages, charged to its own memory
 * cgroup.  The chunk's seals (SHRINK, GROW, SEAL) allow the punch but no
 * size change, and stop an owner from adding a write seal that would
 * make the punch fail.
 *
 * Populating never maps the chunk (make_chunk: fallocate or write): rfd
 * keeps no mapping of any subOS's memory, and a fill does not hold rfd's
 * mmap_lock against its loop.
 * The worker times every fill: the refill rate `rfm info` reports.
 */
#define _GNU_SOURCE
#include "rfd/mempool.h"
#include "rfd/fault.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "base/time.h"

#define NR_OVERCOMMIT "/proc/sys/vm/nr_overcommit_hugepages"
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

/*
 * Huge pages come as surplus pages: rfd raises nr_overcommit_hugepages by
 * what its pool may hold, and each chunk's fallocate takes its pages from
 * the free pool or, past that, from the buddy allocator as surplus.  A
 * surplus page goes back to the system when the last holder of its memfd
 * lets go (or the chunk is punched), so memory cannot stay pinned after
 * rfd dies, even killed with its state directory removed; raising
 * nr_hugepages instead left a persistent reservation behind every rfd
 * that was SIGKILLed, forever.  What is left behind then is the raised
 * limit alone (STATE_DIR/hugepages tells a successor to lower it).
 */
#define OVERCOMMIT_LOCK "/run/lock/rainforest-hugepages.lock"

/* Add delta (clamped at zero) to the limit; what it actually moved by.
 * Read-modify-write under a host-wide lock: two rfds starting or stopping
 * at once each read the old value, and one change was lost (a lowering
 * lost is a raised limit left behind for good). */
static long adjust_overcommit(long delta)
{
	int lk = open(OVERCOMMIT_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lk >= 0)
		flock(lk, LOCK_EX);   /* no lock (no /run/lock): best effort */
	long before = read_long(NR_OVERCOMMIT), after = before;
	if (before >= 0 && !write_long(NR_OVERCOMMIT, before + delta > 0 ? before + delta : 0))
		after = read_long(NR_OVERCOMMIT);
	if (lk >= 0)
		close(lk);
	return before >= 0 && after >= 0 ? after - before : 0;
}

static long raise_overcommit(long want)
{
	long got = adjust_overcommit(want);
	return got > 0 ? got : 0;
}

static void lower_overcommit(long n)
{
	if (n > 0)
		adjust_overcommit(-n);
}

/* Give a plain (shmem) memfd its pages by writing zeros into it: unlike
 * fallocate, which leaves shmem pages to be cleared at their first fault
 * (in the owner's attach, on the create path), a write clears them here. */
static int zero_fill(int fd, uint64_t size)
{
	static const char zeros[1 << 16];
	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < sizeof(zeros) ? (size_t)(size - off) : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -ENOSPC;
		off += (uint64_t)w;
	}
	return 0;
}

/* A fresh memfd of the chunk size, populated and sealed.  -errno or fd.
 *
 * Populated without mapping it: a hugetlbfs fallocate allocates and clears
 * the huge pages (ENOSPC if they ran short, so no chunk is handed out with
 * holes that would SIGBUS its owner), a plain memfd is written.  Neither
 * takes rfd's mmap_lock; a MAP_POPULATE mapping held it for the whole
 * fill (160 ms for 64 MiB), and rfd's loop stalled behind it on every
 * mmap of its own and on every fork of a shim. */
static int make_chunk(uint64_t size, bool huge)
{
	unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING | (huge ? MFD_HUGETLB : 0);
	int fd = memfd_create("rf-chunk", flags), err;
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto fail;
	err = huge ? (fallocate(fd, 0, 0, (off_t)size) < 0 ? -errno : 0) : zero_fill(fd, size);
	if (err) {
		close(fd);
		return err;
	}
	/* The size never changes; SEAL: an owner cannot add a write seal
	 * that would stop rfd punching the chunk out when it comes back. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

/* Fill chunk c with a fresh memfd: hugetlb-backed while this rfd may
 * take huge pages, else (or when the kernel had none) plain pages, unless
 * --hugepages on forbids them. */
static int fill_chunk(struct rfd_pool *p, struct rfd_chunk *c)
{
	bool huge = p->huge_added > 0;
	int fd = huge ? make_chunk(p->chunk_size, true) : -1;
	if (fd < 0 && p->huge_only)
		return fd;
	if (fd < 0) {
		huge = false;
		fd = make_chunk(p->chunk_size, false);
	}
	if (fd < 0)
		return fd;
	c->fd = fd;
	c->huge = huge;
	return 0;
}

/* Free a returned chunk's memory whoever still holds its memfd (unless
 * it was dropped unpunched), then close rfd's descriptor: the memfd is
 * never handed out again. */
static void retire_chunk(struct rfd_pool *p, struct rfd_chunk *c)
{
	if (c->fd < 0)
		return; /* adopted after a restart: rfd never held it */
	if (c->punch)
		fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			  (off_t)p->chunk_size);
	close(c->fd);
	c->fd = -1;
	c->huge = false;
}

/* Work for the worker under the lock: retiring first (it frees memory a
 * fill may need), then filling unless the last fill failed; -1 if none. */
static int next_job(struct rfd_pool *p)
{
	for (int i = 0; i < p->nchunks; i++)
		if (p->chunk[i].state == RF_CHUNK_RETIRING)
			return i;
	for (int i = 0; i < p->nchunks && !p->stalled; i++)
		if (p->chunk[i].state == RF_CHUNK_EMPTY)
			return i;
	return -1;
}

/* One job, entered and left with the lock held. */
static void do_job(struct rfd_pool *p, struct rfd_chunk *c)
{
	if (c->state == RF_CHUNK_RETIRING) {
		bool held = c->fd >= 0;
		pthread_mutex_unlock(&p->lock);
		retire_chunk(p, c);
		pthread_mutex_lock(&p->lock);
		c->state = RF_CHUNK_EMPTY;
		p->retired += held;
		return;
	}
	c->state = RF_CHUNK_FILLING;
	pthread_mutex_unlock(&p->lock);
	if (p->fill_delay_ms) /* the crash-test build only (fault.h) */
		usleep((useconds_t)p->fill_delay_ms * 1000);
	uint64_t t0 = base_now_ns();
	int err = fill_chunk(p, c);
	uint64_t ns = base_now_ns() - t0;
	pthread_mutex_lock(&p->lock);
	if (err) {
		/* Out of memory or descriptors: stop filling until a take asks
		 * again, rather than spinning on the failure. */
		c->state = RF_CHUNK_EMPTY;
		p->stalled = true;
		p->fill_err = err;
	} else {
		c->state = RF_CHUNK_READY;
		p->refills++;
		p->refill_bytes += p->chunk_size;
		p->refill_ns += ns;
	}
	pthread_cond_broadcast(&p->done);
	if (p->ready_fd >= 0 && eventfd_write(p->ready_fd, 1)) {
		/* cannot overflow in practice: the loop drains it */
	}
}

static void *worker_main(void *arg)
{
	struct rfd_pool *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		int i = next_job(p);
		if (i < 0)
			pthread_cond_wait(&p->work, &p->lock);
		else
			do_job(p, &p->chunk[i]);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int start_worker(struct rfd_pool *p)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, &ca);
	pthread_condattr_destroy(&ca);
	return pthread_create(&p->worker, NULL, worker_main, p);
}

int rfd_pool_init(struct rfd_pool *p, uint64_t total, uint64_t chunk_size, const char *hugepages,
		  struct base_err *err)
{
	memset(p, 0, sizeof(*p));
	p->ready_fd = -1;
	p->fill_delay_ms = rfd_fault_value(RFD_FAULT_POOL_SLOW);
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
	p->huge_only = strcmp(hugepages, "on") == 0;
	if (p->want_huge)
		p->huge_added = raise_overcommit((long)(total / HUGE_2M));
	if (p->huge_only && p->huge_added < (long)(total / HUGE_2M)) {
		base_errf(err, BASE_E_INTERNAL, "could allow only %ld of %llu huge pages",
			  p->huge_added, (unsigned long long)(total / HUGE_2M));
		goto fail;
	}
	/* Without it (out of descriptors) the loop looks again on a tick. */
	p->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (start_worker(p)) {
		base_errf(err, BASE_E_INTERNAL, "cannot start the pool worker");
		goto fail;
	}
	p->started = true;
	return 0;
fail:
	if (p->ready_fd >= 0)
		close(p->ready_fd);
	lower_overcommit(p->huge_added);
	free(p->chunk);
	return -1;
}

void rfd_pool_fini(struct rfd_pool *p)
{
	if (!p->started)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->worker, NULL);
	/* Owned chunks stay alive in their owners (subOSes outlive rfd);
	 * closing rfd's descriptor is all that is ours to do. */
	for (int i = 0; i < p->nchunks; i++)
		if (p->chunk[i].fd >= 0)
			close(p->chunk[i].fd);
	close(p->ready_fd);
	lower_overcommit(p->huge_added);
	free(p->chunk);
	p->started = false;
}

static int count_state(const struct rfd_pool *p, enum rfd_chunk_state st)
{
	int n = 0;
	for (int i = 0; i < p->nchunks; i++)
		n += p->chunk[i].state == st;
	return n;
}

/* Under the lock: a take or a look found too few READY chunks, which is
 * a reason to try filling again after a failure. */
static void ask_fill(struct rfd_pool *p)
{
	p->stalled = false;
	p->fill_err = 0;
	pthread_cond_broadcast(&p->work);
}

bool rfd_pool_ready(struct rfd_pool *p, int n)
{
	uint64_t v;
	if (p->ready_fd >= 0 && eventfd_read(p->ready_fd, &v)) {
		/* nothing signalled since the last look */
	}
	pthread_mutex_lock(&p->lock);
	bool ok = count_state(p, RF_CHUNK_READY) >= n || p->stalled || /* take answers at once */
		  p->nchunks - count_state(p, RF_CHUNK_OWNED) < n;
	if (!ok)
		ask_fill(p);
	pthread_mutex_unlock(&p->lock);
	return ok;
}

int rfd_pool_take(struct rfd_pool *p, int n, int owner, int *ids)
{
	int err = 0, got = 0;
	pthread_mutex_lock(&p->lock);
	if (p->nchunks - count_state(p, RF_CHUNK_OWNED) < n) {
		err = -ENOMEM; /* the pool cannot hold that many more */
	} else if (count_state(p, RF_CHUNK_READY) < n && p->stalled) {
		err = p->fill_err; /* said once; the next look asks the worker again */
		p->stalled = false;
		p->fill_err = 0;
	} else if (count_state(p, RF_CHUNK_READY) < n) {
		err = -EAGAIN; /* never waits: the caller's op waits on ready_fd */
		ask_fill(p);
	}
	for (int i = 0; i < p->nchunks && got < n && !err; i++)
		if (p->chunk[i].state == RF_CHUNK_READY) {
			p->chunk[i].state = RF_CHUNK_OWNED;
			p->chunk[i].owner = owner;
			ids[got++] = i;
		}
	pthread_mutex_unlock(&p->lock);
	return err;
}

static void retire(struct rfd_pool *p, int id, bool punch)
{
	if (id < 0 || id >= p->nchunks)
		return;
	pthread_mutex_lock(&p->lock);
	struct rfd_chunk *c = &p->chunk[id];
	if (c->state == RF_CHUNK_OWNED) {
		c->owner = -1;
		c->punch = punch;
		c->state = RF_CHUNK_RETIRING;
		pthread_cond_broadcast(&p->work);
	}
	pthread_mutex_unlock(&p->lock);
}

void rfd_pool_give_back(struct rfd_pool *p, int id)
{
	retire(p, id, true);
}

void rfd_pool_drop(struct rfd_pool *p, int id)
{
	retire(p, id, false);
}

void rfd_pool_adopt(struct rfd_pool *p, int id, int owner)
{
	if (id < 0 || id >= p->nchunks)
		return;
	pthread_mutex_lock(&p->lock);
	struct rfd_chunk *c = &p->chunk[id];
	while (c->state == RF_CHUNK_FILLING)  /* the worker got there first */
		pthread_cond_wait(&p->done, &p->lock);
	if (c->state != RF_CHUNK_READY && c->state != RF_CHUNK_EMPTY) {
		pthread_mutex_unlock(&p->lock);  /* already someone's */
		return;
	}
	/* The adopted subOS holds the only copy of this chunk's memory; a
	 * fresh one this rfd prepared under the same id would sit unused. */
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->huge = false;
	c->state = RF_CHUNK_OWNED;
	c->owner = owner;
	pthread_mutex_unlock(&p->lock);
}

void rfd_pool_hold(struct rfd_pool *p, int id, int fd)
{
	if (id < 0 || id >= p->nchunks) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&p->lock);
	struct rfd_chunk *c = &p->chunk[id];
	if (c->state == RF_CHUNK_OWNED && c->fd < 0)
		c->fd = fd;
	else
		close(fd);
	pthread_mutex_unlock(&p->lock);
}

uint64_t rfd_pool_inode(const struct rfd_pool *p, int id)
{
	struct stat st;
	int fd = rfd_pool_fd(p, id);
	return fd >= 0 && fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

int rfd_pool_fd(const struct rfd_pool *p, int id)
{
	return id >= 0 && id < p->nchunks ? p->chunk[id].fd : -1;
}

void rfd_pool_counts(struct rfd_pool *p, struct rfd_pool_counts *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->nchunks; i++) {
		enum rfd_chunk_state st = p->chunk[i].state;
		c->ready += st == RF_CHUNK_READY;
		c->owned += st == RF_CHUNK_OWNED;
		c->refilling += st == RF_CHUNK_EMPTY || st == RF_CHUNK_FILLING ||
				st == RF_CHUNK_RETIRING;
		c->huge += p->chunk[i].huge;
	}
	c->refills = p->refills;
	c->retired = p->retired;
	if (p->refill_ns)
		c->refill_mib_s = (double)p->refill_bytes / (1 << 20) /
				  ((double)p->refill_ns / 1e9);
	pthread_mutex_unlock(&p->lock);
}

struct json_object *rfd_pool_json(struct rfd_pool *p)
{
	struct rfd_pool_counts c;
	struct json_object *o = json_object_new_object();
	rfd_pool_counts(p, &c);
	json_object_object_add(o, "chunks", json_object_new_int(p->nchunks));
	json_object_object_add(o, "ready", json_object_new_int(c.ready));
	json_object_object_add(o, "owned", json_object_new_int(c.owned));
	json_object_object_add(o, "refilling", json_object_new_int(c.refilling));
	json_object_object_add(o, "hugepage_chunks", json_object_new_int(c.huge));
	json_object_object_add(o, "refills", json_object_new_int64((int64_t)c.refills));
	json_object_object_add(o, "retired", json_object_new_int64((int64_t)c.retired));
	json_object_object_add(o, "refill_mib_s",
			       json_object_new_int64((int64_t)(c.refill_mib_s + 0.5)));
	return o;
}

void rfd_pool_owners(struct rfd_pool *p, int *owner)
{
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->nchunks; i++)
		owner[i] = p->chunk[i].state == RF_CHUNK_OWNED ? p->chunk[i].owner : -1;
	pthread_mutex_unlock(&p->lock);
}
