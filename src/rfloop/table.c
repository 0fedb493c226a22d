/*
 * table.c - librfloop's table of descriptors: which fd numbers are RFloop
 * connections, RFloop listeners, or the library's own hidden fds; and how
 * the table follows close, dup/dup2/dup3/F_DUPFD and fork.
 *
 * One word per fd (below RFL_MAX_FDS; larger fds are never made RFloop):
 * an object pointer with the kind in its low two bits, read lock-free by
 * the data path, changed under one mutex.  Connections and listeners are
 * reference counted by the fds of this process that name them: dup adds
 * one, close drops one, and the last close releases the object (a
 * connection's ring mapping and hidden fd; a listener's hidden fds and
 * registry entry).
 *
 * Hidden fds (the peer's doorbell end, a listener's real TCP socket and
 * rendezvous socket) are close-on-exec and invisible to the application:
 * close() of one says EBADF without closing it, and dup2()/dup3() onto
 * one first moves it to another number.
 *
 * fork: the child inherits the table as it inherits the fds.  A fork bumps
 * rfl_fork_epoch, so a connection made before it knows it may be shared
 * with another process and, when closed here, does not tell the peer that
 * its reader is gone (the other process may still read), and the regions
 * in use become inheritable and are never kept again (pool.c).  exec: an RFloop
 * descriptor inherited across exec is a bare Unix socket to the new
 * program (not supported; hidden fds are closed by exec).
 */
#define _GNU_SOURCE
#include "rfloop/rfloop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

_Atomic uint64_t rfl_fork_epoch;

static _Atomic uintptr_t tab[RFL_MAX_FDS];
static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER;

void rfl_table_lock(void)
{
	pthread_mutex_lock(&tlock);
}

void rfl_table_unlock(void)
{
	pthread_mutex_unlock(&tlock);
}

static inline uintptr_t get(int fd)
{
	if ((unsigned)fd >= RFL_MAX_FDS)
		return 0;
	return atomic_load_explicit(&tab[fd], memory_order_acquire);
}

static inline void put(int fd, uintptr_t v)
{
	if ((unsigned)fd < RFL_MAX_FDS)
		atomic_store_explicit(&tab[fd], v, memory_order_release);
}

#define KIND(e) ((enum rfl_kind)((e) & 3))
#define OBJ(e)  ((void *)((e) & ~(uintptr_t)3))

struct rfl_conn *rfl_conn_of(int fd)
{
	uintptr_t e = get(fd);
	return KIND(e) == K_CONN ? OBJ(e) : NULL;
}

struct rfl_listener *rfl_listener_of(int fd)
{
	uintptr_t e = get(fd);
	return KIND(e) == K_LISTEN ? OBJ(e) : NULL;
}

bool rfl_is_hidden(int fd)
{
	return KIND(get(fd)) == K_HIDDEN;
}

bool rfl_any(int fd)
{
	return get(fd) != 0;
}

void rfl_table_unhide(int fd, int *num)
{
	uintptr_t want = (uintptr_t)num | (uintptr_t)K_HIDDEN;
	if ((unsigned)fd < RFL_MAX_FDS)
		atomic_compare_exchange_strong(&tab[fd], &want, 0);
}

bool rfl_table_set(int fd, enum rfl_kind kind, void *obj)
{
	if ((unsigned)fd >= RFL_MAX_FDS)
		return false;
	pthread_mutex_lock(&tlock);
	put(fd, (uintptr_t)obj | (uintptr_t)kind);
	pthread_mutex_unlock(&tlock);
	return true;
}

/* Drop one reference of the object at e; the last one releases it.  Called
 * with the lock held. */
static void unref(uintptr_t e)
{
	if (KIND(e) == K_CONN) {
		struct rfl_conn *c = OBJ(e);
		if (atomic_fetch_sub(&c->refs, 1) == 1) {
			put(c->hidden, 0);
			rfl_conn_free(c);
		}
	} else if (KIND(e) == K_LISTEN) {
		struct rfl_listener *l = OBJ(e);
		if (atomic_fetch_sub(&l->refs, 1) == 1) {
			put(l->tcp, 0);
			put(l->bell, 0);
			rfl_listener_free(l);
		}
	}
}

int rfl_table_close(int fd)
{
	pthread_mutex_lock(&tlock);
	uintptr_t e = get(fd);
	if (KIND(e) == K_HIDDEN) {
		pthread_mutex_unlock(&tlock);
		errno = EBADF;
		return -1;
	}
	put(fd, 0);
	unref(e);
	pthread_mutex_unlock(&tlock);
	return REAL(close)(fd);
}

void rfl_table_dup(int from, int to)
{
	if (from == to)
		return;
	pthread_mutex_lock(&tlock);
	uintptr_t e = get(from);
	if (KIND(e) == K_CONN || KIND(e) == K_LISTEN) {
		if ((unsigned)to >= RFL_MAX_FDS) {
			pthread_mutex_unlock(&tlock);
			return;   /* a copy we cannot track: it stays a bare socket */
		}
		if (KIND(e) == K_CONN)
			atomic_fetch_add(&((struct rfl_conn *)OBJ(e))->refs, 1);
		else
			atomic_fetch_add(&((struct rfl_listener *)OBJ(e))->refs, 1);
		put(to, e);
	}
	pthread_mutex_unlock(&tlock);
}

int rfl_table_clobber(int to)
{
	pthread_mutex_lock(&tlock);
	uintptr_t e = get(to);
	if (KIND(e) == K_HIDDEN) {
		/* Ours: move it out of the application's way.  OBJ is the int
		 * that holds its number (conn->hidden, listener->tcp/bell). */
		int n = REAL(fcntl)(to, F_DUPFD_CLOEXEC, 3);
		if (n < 0 || (unsigned)n >= RFL_MAX_FDS) {
			if (n >= 0)
				REAL(close)(n);
			pthread_mutex_unlock(&tlock);
			errno = EMFILE;
			return -1;
		}
		*(int *)OBJ(e) = n;
		put(n, e);
		put(to, 0);
		REAL(close)(to);
	} else if (e) {
		put(to, 0);
		unref(e);   /* the kernel closes `to` in dup2 */
	}
	pthread_mutex_unlock(&tlock);
	return 0;
}

static void before_fork(void)
{
	pthread_mutex_lock(&tlock);
	atomic_fetch_add(&rfl_fork_epoch, 1);
	rfl_pool_prefork();
}

static void after_fork_parent(void)
{
	rfl_pool_postfork(false);
	pthread_mutex_unlock(&tlock);
}

static void after_fork_child(void)
{
	rfl_pool_postfork(true);
	pthread_mutex_unlock(&tlock);
}

__attribute__((constructor(102))) static void table_init(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}
