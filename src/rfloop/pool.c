/*
 * pool.c - RFloop connection regions: made, mapped, kept after their
 * connection and handed over again, ready (layout in ring.h; used by
 * rendezvous.c and conn.c).
 *
 * Why.  A fresh region costs more than all the rest of a connection's
 * set-up: memfd_create, ftruncate, seals, an mmap on each side and above
 * all the first touch of each page (an allocation and a zeroing; in a
 * virtual machine, an exit) - about 130 us on the test machines, when a
 * whole kernel loopback connect, request, response and close takes about
 * 70.  So a region outlives its connection: both processes keep it
 * mapped, and the next connection between the same client process and
 * the same listener takes it as it is, formatted again by the client, its
 * pages present on both sides.
 *
 * Who may see a region again.  A region holds bytes of the connections
 * that used it, and whoever maps it reads what later connections write.
 * So it is reused only between the two parties that already share it:
 * the client process that made it, and the listener it was made for (its
 * registry entry: rendezvous inode and TCP listener cookie, both checked
 * with the kernel at every connect, registry.c).  On the listener's side
 * the party is whoever holds the listening socket - any holder could
 * accept any of its connections - and a process keeps mappings only while
 * it holds the listener (rfl_pool_close when it lets go).  Beyond that:
 *   - fork: kept regions are mapped MADV_DONTFORK, so a child never has
 *     them; a region in use is made inheritable just before a fork (the
 *     child may serve its connection) and is then never kept again by
 *     either process (tainted); a child closes the kept memfds it
 *     inherited before it returns from fork.  exec drops every mapping,
 *     and every descriptor here is close-on-exec.
 *   - each side says in the region how it let go (gone[], ring.h):
 *     released (kept) or retired (never again).  The client takes a kept
 *     region again only once the listener's side released it too; the
 *     listener's side drops a kept mapping the client retired.
 * A peer that lies can keep a mapping it said it released, or have its
 * own connections share a region: it sees only what it is party to.
 *
 * Handing over.  The client sends the region's memfd with every request,
 * a reused region's too.  The listener's side first looks among the
 * mappings it keeps for the token of the region the memfd really holds
 * (one pread from the file): a 64-bit random number the client drew when
 * it made the region, known only to those who map it.  A hit takes the
 * kept mapping (no mmap, no page fault); a miss - a forked listener's
 * other process, a mapping evicted - maps and checks the memfd as new.
 *
 * Bounds: a client keeps CLIENT_KEEP regions for each of CLIENT_POOLS
 * listeners, a listener process SERVER_KEEP mappings; the oldest goes
 * (retired) when a new one would not fit.  Everything here is under one
 * lock, taken after the fd table's (table.c) and never held while calling
 * into the table.
 */
#define _GNU_SOURCE
#include "rfloop/rfloop.h"
#include "rfloop/req.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLIENT_POOLS 8     /* listeners a client keeps regions for */
#define CLIENT_KEEP  8     /* regions a client keeps per listener */
#define SERVER_KEEP  64    /* mappings a listener process keeps */

struct rfl_pool {
	int refs;                  /* its owner's, and one per region it holds */
	bool closed;               /* the owner let go: nothing more is kept */
	uint64_t ino, cookie;      /* a client's: the listener entry it serves */
	int nkept;
	struct rfl_region *kept;   /* most recently released first */
	struct rfl_pool *next;     /* every pool of the process */
};

static pthread_mutex_t plock = PTHREAD_MUTEX_INITIALIZER;
static struct rfl_region *in_use;
static struct rfl_pool *pools;
static struct rfl_pool *clients[CLIENT_POOLS];
static unsigned client_next;

/* ---- lists and references (under plock) ------------------------------------ */

static void list_add(struct rfl_region **head, struct rfl_region *r)
{
	r->prev = NULL;
	r->next = *head;
	if (*head)
		(*head)->prev = r;
	*head = r;
}

static void list_del(struct rfl_region **head, struct rfl_region *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		*head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static struct rfl_pool *pool_new(uint64_t ino, uint64_t cookie)
{
	struct rfl_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->refs = 1;
	p->ino = ino;
	p->cookie = cookie;
	p->next = pools;
	pools = p;
	return p;
}

static void pool_unref(struct rfl_pool *p)
{
	if (--p->refs > 0)
		return;
	for (struct rfl_pool **pp = &pools; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	free(p);
}

/* Take a kept region out of its pool's kept list. */
static void unkeep(struct rfl_region *r)
{
	list_del(&r->pool->kept, r);
	r->pool->nkept--;
	r->kept = false;
}

/* A kept region goes into use (its pool stays its own). */
static void reuse(struct rfl_region *r)
{
	unkeep(r);
	list_add(&in_use, r);
}

/* Take r out of its pool (kept or not): it no longer goes back there. */
static void detach(struct rfl_region *r)
{
	if (r->kept)
		unkeep(r);
	if (r->pool)
		pool_unref(r->pool);
	r->pool = NULL;
}

/* ---- unmapping (never under plock: the table is called) ---------------------- */

static void region_unmap(struct rfl_region *r)
{
	munmap(r->mem, r->len);
	if (r->memfd >= 0) {
		rfl_table_unhide(r->memfd, &r->memfd);
		REAL(close)(r->memfd);
	}
	free(r);
}

/* Never again: say so, so that the other side drops its mapping too. */
static void region_retire(struct rfl_region *r)
{
	rfl_region_leave(r->mem, r->side, RFL_RETIRED);
	region_unmap(r);
}

/* Retire a chain of regions linked by next (collected under plock). */
static void retire_all(struct rfl_region *r)
{
	while (r) {
		struct rfl_region *next = r->next;
		region_retire(r);
		r = next;
	}
}

/* Move the kept regions p no longer wants onto *dead: those the other side
 * retired, and the oldest beyond `keep`. */
static void prune(struct rfl_pool *p, int keep, struct rfl_region **dead)
{
	int n = 0;
	for (struct rfl_region *r = p->kept, *next; r; r = next) {
		next = r->next;
		if (++n > keep || rfl_region_peer(r->mem, r->side) == RFL_RETIRED) {
			detach(r);
			list_add(dead, r);
		}
	}
}

/* The owner lets go: kept regions onto *dead, nothing kept from now on. */
static void pool_shut(struct rfl_pool *p, struct rfl_region **dead)
{
	p->closed = true;
	prune(p, 0, dead);
	pool_unref(p);
}

/* ---- a new region ------------------------------------------------------------- */

/* A mapping of len bytes of memfd that no child inherits; NULL if none. */
static void *map_shared(int memfd, size_t len)
{
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (mem == MAP_FAILED)
		return NULL;
	if (madvise(mem, len, MADV_DONTFORK)) {
		munmap(mem, len);
		return NULL;
	}
	return mem;
}

/* Put a new region in use, in pool p (a reference taken for it), or in
 * none if p is NULL or closed. */
static struct rfl_region *region_new(void *mem, size_t len, int memfd, enum rfl_side side,
				     struct rfl_pool *p)
{
	struct rfl_region *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	*r = (struct rfl_region){ .mem = mem, .len = len, .memfd = memfd, .side = side };
	pthread_mutex_lock(&plock);
	if (p && !p->closed) {
		r->pool = p;
		p->refs++;
	}
	list_add(&in_use, r);
	pthread_mutex_unlock(&plock);
	STAT_ADD(ST_REGION_FRESH, 1);
	return r;
}

/* The client's new region: a memfd sealed against shrinking (so the
 * listener maps it without fearing SIGBUS), mapped, formatted, named by a
 * random token, the memfd hidden from the application. */
static struct rfl_region *region_make(struct rfl_pool *p, uint32_t size)
{
	size_t len = rfl_region_size(size);
	uint64_t token = 0;
	void *mem = NULL;
	int fd = memfd_create("rfloop", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || (unsigned)fd >= RFL_MAX_FDS || ftruncate(fd, (off_t)len) ||
	    REAL(fcntl)(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) ||
	    !(mem = map_shared(fd, len)) || rfl_region_format(mem, len, size))
		goto fail;
	/* Without a token (no randomness) the region is never kept. */
	if (getrandom(&token, sizeof(token), GRND_NONBLOCK) != sizeof(token))
		token = 0;
	rfl_region_set_token(mem, token);
	struct rfl_region *r = region_new(mem, len, fd, RFL_CREATOR, token ? p : NULL);
	if (!r)
		goto fail;
	r->token = token;
	rfl_table_set(fd, K_HIDDEN, &r->memfd);
	return r;
fail:
	if (mem)
		munmap(mem, len);
	if (fd >= 0)
		REAL(close)(fd);
	return NULL;
}

/* ---- the client's side ------------------------------------------------------------ */

/* The client's pool for a listener entry, made (the oldest one shut, onto
 * *dead) if there is none.  Under plock; NULL if out of memory. */
static struct rfl_pool *client_pool(uint64_t ino, uint64_t cookie, struct rfl_region **dead)
{
	for (int i = 0; i < CLIENT_POOLS; i++)
		if (clients[i] && clients[i]->ino == ino && clients[i]->cookie == cookie)
			return clients[i];
	struct rfl_pool *p = pool_new(ino, cookie);
	if (!p)
		return NULL;
	unsigned slot = client_next++ % CLIENT_POOLS;
	if (clients[slot])
		pool_shut(clients[slot], dead);
	clients[slot] = p;
	return p;
}

/* A kept region of p the listener released too, taken into use; NULL if
 * none.  Regions the listener retired go onto *dead.  Under plock. */
static struct rfl_region *client_reuse(struct rfl_pool *p, size_t len, struct rfl_region **dead)
{
	prune(p, CLIENT_KEEP, dead);
	for (struct rfl_region *r = p->kept; r; r = r->next) {
		if (r->len != len || rfl_region_peer(r->mem, r->side) != RFL_RELEASED)
			continue;
		reuse(r);
		return r;
	}
	return NULL;
}

struct rfl_region *rfl_region_take(uint64_t bell_ino, uint64_t tcp_cookie, uint32_t size)
{
	struct rfl_region *dead = NULL, *r = NULL;
	size_t len = rfl_region_size(size);

	pthread_mutex_lock(&plock);
	struct rfl_pool *p = client_pool(bell_ino, tcp_cookie, &dead);
	if (p) {
		r = client_reuse(p, len, &dead);
		p->refs++;   /* held across the unlock for region_make */
	}
	pthread_mutex_unlock(&plock);
	retire_all(dead);
	if (r) {
		rfl_region_format(r->mem, r->len, size);
		rfl_region_set_token(r->mem, r->token);
		STAT_ADD(ST_REGION_REUSED, 1);
	} else {
		r = region_make(p, size);
	}
	if (p) {
		pthread_mutex_lock(&plock);
		pool_unref(p);
		pthread_mutex_unlock(&plock);
	}
	return r;
}

/* ---- the listener's side ---------------------------------------------------------- */

struct rfl_pool *rfl_pool_open(void)
{
	pthread_mutex_lock(&plock);
	struct rfl_pool *p = pool_new(0, 0);
	pthread_mutex_unlock(&plock);
	return p;
}

void rfl_pool_close(struct rfl_pool *p)
{
	struct rfl_region *dead = NULL;

	if (!p)
		return;
	pthread_mutex_lock(&plock);
	pool_shut(p, &dead);
	pthread_mutex_unlock(&plock);
	retire_all(dead);
}

/* The mapping p keeps under `token`, taken into use; NULL if none. */
static struct rfl_region *server_reuse(struct rfl_pool *p, uint64_t token)
{
	struct rfl_region *r;

	pthread_mutex_lock(&plock);
	for (r = p->kept; r; r = r->next)
		if (r->token == token)
			break;
	if (r)
		reuse(r);
	pthread_mutex_unlock(&plock);
	return r;
}

/* A request's memfd mapped as a new region, if it is what the request
 * says (req.c), kept from any child. */
static struct rfl_region *server_map(struct rfl_pool *p, int memfd, uint32_t size)
{
	size_t len = rfl_region_size(size);
	void *mem = rfl_region_map_fd(memfd, size, 0);
	struct rfl_region *r = NULL;

	if (!mem)
		return NULL;
	if (madvise(mem, len, MADV_DONTFORK) ||
	    !(r = region_new(mem, len, -1, RFL_ATTACHER, p))) {
		munmap(mem, len);
		return NULL;
	}
	r->token = rfl_region_token(mem);
	return r;
}

struct rfl_region *rfl_region_accept(struct rfl_pool *p, int memfd, uint32_t size)
{
	uint64_t token = 0;
	struct rfl_region *r = NULL;

	if (p && pread(memfd, &token, sizeof(token), offsetof(struct rfl_hdr, token)) ==
			 (ssize_t)sizeof(token) && token)
		r = server_reuse(p, token);
	if (!r)
		return server_map(p, memfd, size);
	if (rfl_region_check(r->mem, r->len) != (long)size) {
		rfl_region_drop(r);   /* the client formatted it otherwise: its loss */
		return NULL;
	}
	STAT_ADD(ST_REGION_REUSED, 1);
	return r;
}

/* ---- the end of a connection ------------------------------------------------------- */

void rfl_region_drop(struct rfl_region *r)
{
	pthread_mutex_lock(&plock);
	list_del(&in_use, r);
	detach(r);
	pthread_mutex_unlock(&plock);
	region_retire(r);
}

/* Keep r in its pool, the oldest kept going onto *dead if there is no
 * room; true if kept.  Under plock. */
static bool keep(struct rfl_region *r, struct rfl_region **dead)
{
	struct rfl_pool *p = r->pool;
	if (!p || p->closed || r->tainted || !r->token)
		return false;
	prune(p, (r->side == RFL_CREATOR ? CLIENT_KEEP : SERVER_KEEP) - 1, dead);
	list_del(&in_use, r);
	list_add(&p->kept, r);
	p->nkept++;
	r->kept = true;
	return true;
}

void rfl_region_put(struct rfl_region *r)
{
	struct rfl_region *dead = NULL;

	if (!r)
		return;
	pthread_mutex_lock(&plock);
	bool kept = keep(r, &dead);
	/* Kept first, released after: a client that reads our release finds
	 * the mapping kept.  If the other side is done with it for good, so
	 * are we.  (Under the lock: a kept region may be pruned by anyone.) */
	if (kept && rfl_region_leave(r->mem, r->side, RFL_RELEASED) == RFL_RETIRED) {
		detach(r);
		list_add(&dead, r);
	}
	pthread_mutex_unlock(&plock);
	retire_all(dead);
	if (!kept)
		rfl_region_drop(r);
}

/* ---- fork ------------------------------------------------------------------------ */

void rfl_pool_prefork(void)
{
	pthread_mutex_lock(&plock);
	for (struct rfl_region *r = in_use; r; r = r->next)
		if (!r->tainted) {
			madvise(r->mem, r->len, MADV_DOFORK);
			r->tainted = true;
		}
}

void rfl_pool_postfork(bool child)
{
	if (child) {
		/* Kept regions are not mapped in the child: forget them (no
		 * munmap), closing the memfds it inherited.  They stay
		 * released in the region: the parent keeps them. */
		for (struct rfl_pool *p = pools, *next; p; p = next) {
			next = p->next;   /* p may go with its last region */
			while (p->kept) {
				struct rfl_region *r = p->kept;
				detach(r);
				if (r->memfd >= 0) {
					rfl_table_unhide(r->memfd, &r->memfd);
					REAL(close)(r->memfd);
				}
				free(r);
			}
		}
	}
	pthread_mutex_unlock(&plock);
}
