/*
 * epoll.c - epoll_ctl, epoll_wait, epoll_pwait and epoll_pwait2: epoll
 * sees an RFloop connection readable while its ring holds bytes that no
 * doorbell byte stands for.
 *
 * The case (conn.c): a blocking read that spun with the doorbell lowered
 * and then read less than had arrived leaves bytes in the ring without a
 * doorbell byte, and flags the connection `unsignalled`.  poll and select
 * are handed their fds and can look at each one (wrap_sock.c); epoll_wait
 * is handed only the epoll fd, and the kernel does not say what a set
 * holds.  So this file remembers it: epoll_ctl on a connection fd records
 * the registration (epoll fd, events, data) once the real call succeeded,
 * and close, dup2 and dup3 forget the records of the fd they close, as
 * an epoll fd or as a connection fd (rfl_epoll_forget).  Only connection
 * fds can be unsignalled, but every fd's registrations are recorded: a
 * program may add a socket to its set before it connects it (nginx does,
 * for its upstreams), and an RFloop connect puts another file at that fd
 * (rendezvous.c), which the kernel's set does not follow; connect then
 * moves fd's registrations to the new file (rfl_epoll_detach, _attach).
 *
 * epoll_wait costs one load while no connection is unsignalled (the usual
 * case: only a blocking-mode program that reads less than it is sent ever
 * makes one).  Otherwise it looks for the connections this set watches
 * for EPOLLIN that are unsignalled and hold bytes.  If there are some, it
 * asks the kernel without waiting, leaving them room, and adds one event
 * per connection (its EPOLLIN OR-ed into the kernel's event when the
 * kernel reported the same registration, told by its data: a program
 * cannot tell apart two events with the same data either); if there are
 * none, the real call runs unchanged.  (The look costs a scan of the
 * records under the lock; a connection left unsignalled for good, its
 * bytes never read, keeps every wait of the process on this slow path.)
 *
 * Not synthesized, by design: edge-triggered registrations (an EPOLLET
 * program uses non-blocking fds, and a non-blocking read never spins, so
 * never leaves unsignalled bytes).  EPOLLONESHOT: a registration reported
 * here is disabled until the next EPOLL_CTL_MOD, here and in the kernel
 * (MOD to no events, as the kernel itself does after a oneshot report; the
 * kernel still adds EPOLLERR and EPOLLHUP), so that a doorbell arriving
 * before the program re-arms does not report it twice.  A oneshot
 * registration that the kernel reported (a doorbell byte came) is not
 * known here, and may be reported once more while its connection is
 * unsignalled.
 *
 * Limits: sets changed or closed by raw system calls that bypass libc
 * (or close_range) keep stale records; epoll fds at or above RFL_MAX_FDS
 * are not recorded; a registration whose fd was closed while a dup of it
 * keeps the file open lives on in the kernel, but not here.
 *
 * Records: a small array per connection fd (the kernel keys registrations
 * by fd, so dup'd fds of one connection are separate ones) under one
 * mutex, taken only by epoll_ctl on connection fds, by the slow path of
 * epoll_wait and by closing an fd some record names (a per-fd count, read
 * without the lock, says so).  epoll_ctl holds it across the real call so
 * that a oneshot disarm here cannot overwrite the program's re-arm.
 */
#define _GNU_SOURCE
#include "rfloop/rfloop.h"

#include <errno.h>
#include <stdlib.h>

#define EXPORT __attribute__((visibility("default")))
#define LD(p)    atomic_load_explicit((p), memory_order_relaxed)
#define INC(p)   atomic_fetch_add_explicit((p), 1, memory_order_relaxed)
#define DEC(p)   atomic_fetch_sub_explicit((p), 1, memory_order_relaxed)

#define BATCH 64     /* unsignalled connections reported by one wait, at most */
#define NONE  (-2)   /* no unsignalled connection in the set: the real wait */

struct reg {
	int ep;
	uint32_t events;
	bool off;            /* oneshot, reported here: nothing until MOD */
	epoll_data_t data;
};

struct regs {
	int n, cap;
	struct reg r[];
};

static pthread_mutex_t elock = PTHREAD_MUTEX_INITIALIZER;
static struct regs *by_fd[RFL_MAX_FDS];        /* connection fd -> its records */
static _Atomic uint32_t named[RFL_MAX_FDS];    /* records naming fd, either way */
static _Atomic int nrecs;                      /* records in all */
static int top;                                /* by_fd[top..] are all NULL */

/* ---- the records (elock held) -------------------------------------------------- */

static struct reg *find(int fd, int ep)
{
	struct regs *rs = by_fd[fd];
	for (int i = 0; rs && i < rs->n; i++)
		if (rs->r[i].ep == ep)
			return &rs->r[i];
	return NULL;
}

static struct reg *insert(int fd, int ep)
{
	struct regs *rs = by_fd[fd];
	if (!rs || rs->n == rs->cap) {
		int cap = rs ? rs->cap * 2 : 2;
		struct regs *bigger = realloc(rs, sizeof(*rs) + (size_t)cap * sizeof(rs->r[0]));
		if (!bigger)
			return NULL;
		if (!rs)
			bigger->n = 0;
		bigger->cap = cap;
		by_fd[fd] = rs = bigger;
	}
	if (fd >= top)
		top = fd + 1;
	INC(&named[fd]);
	INC(&named[ep]);
	INC(&nrecs);
	struct reg *r = &rs->r[rs->n++];
	r->ep = ep;
	return r;
}

static void drop(int fd, struct reg *r)
{
	struct regs *rs = by_fd[fd];
	DEC(&named[fd]);
	DEC(&named[r->ep]);
	DEC(&nrecs);
	*r = rs->r[--rs->n];
	if (rs->n)
		return;
	free(rs);
	by_fd[fd] = NULL;
	while (top > 0 && !by_fd[top - 1])
		top--;
}

/* The kernel accepted op: record what it now holds. */
static void record(int ep, int op, int fd, const struct epoll_event *ev)
{
	struct reg *r = find(fd, ep);
	if (op == EPOLL_CTL_DEL) {
		if (r)
			drop(fd, r);
		return;
	}
	if (!r && !(r = insert(fd, ep))) {
		DBG("rfloop: epoll fd %d: no memory to record fd %d", ep, fd);
		return;
	}
	r->events = ev->events;
	r->data = ev->data;
	r->off = false;
}

void rfl_epoll_forget(int fd)
{
	if (!LD(&nrecs) || (unsigned)fd >= RFL_MAX_FDS || !LD(&named[fd]))
		return;
	pthread_mutex_lock(&elock);
	while (by_fd[fd])
		drop(fd, &by_fd[fd]->r[0]);
	for (int i = 0; i < top && LD(&named[fd]); i++) {
		struct reg *r = find(i, fd);
		if (r)
			drop(i, r);
	}
	pthread_mutex_unlock(&elock);
}

/* ---- epoll_ctl -------------------------------------------------------------------- */

EXPORT int epoll_ctl(int ep, int op, int fd, struct epoll_event *ev)
{
	if (ev && (ev->events & EPOLLEXCLUSIVE) && rfl_listener_of(fd)) {
		/* Our listener is an epoll fd: nested epoll refuses EXCLUSIVE. */
		struct epoll_event copy = *ev;
		copy.events &= ~(uint32_t)EPOLLEXCLUSIVE;
		return REAL(epoll_ctl)(ep, op, fd, &copy);
	}
	if ((unsigned)fd >= RFL_MAX_FDS || (unsigned)ep >= RFL_MAX_FDS ||
	    (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL))
		return REAL(epoll_ctl)(ep, op, fd, ev);
	/* A connection's call under the lock (a oneshot disarm must not
	 * overwrite a re-arm); anyone else's outside it, recorded after. */
	bool locked = rfl_conn_of(fd) != NULL;
	if (locked)
		pthread_mutex_lock(&elock);
	int r = REAL(epoll_ctl)(ep, op, fd, ev);
	if (r == 0) {
		int saved = errno;
		if (!locked)
			pthread_mutex_lock(&elock);
		locked = true;
		record(ep, op, fd, ev);
		errno = saved;
	}
	if (locked)
		pthread_mutex_unlock(&elock);
	return r;
}

/* ---- an fd that connect() gives another file ------------------------------------ */

/* The kernel's sets hold (fd, file) pairs.  Detach takes fd's registrations
 * out of them, which also proves each record current: a record the kernel
 * does not have is one left by a close that did not pass through here
 * (fclose, a raw system call), whose data the program may have freed, and
 * it is dropped, never added to a set again.  Attach adds the records left
 * to the sets, for whatever file fd holds now.  errno kept. */
/* step(fd, r) for each record of fd; a record it says no to is dropped.
 * errno kept. */
static void each_record(int fd, bool (*step)(int fd, const struct reg *r))
{
	if (!LD(&nrecs) || (unsigned)fd >= RFL_MAX_FDS || !LD(&named[fd]))
		return;
	int saved = errno;
	pthread_mutex_lock(&elock);
	for (int i = 0; by_fd[fd] && i < by_fd[fd]->n;) {
		struct reg *r = &by_fd[fd]->r[i];
		if (step(fd, r))
			i++;
		else
			drop(fd, r);   /* the last record moved to slot i */
	}
	pthread_mutex_unlock(&elock);
	errno = saved;
}

static bool detach_one(int fd, const struct reg *r)
{
	return REAL(epoll_ctl)(r->ep, EPOLL_CTL_DEL, fd, NULL) == 0;
}

static bool attach_one(int fd, const struct reg *r)
{
	struct epoll_event ev = { .events = r->off ? EPOLLONESHOT : r->events, .data = r->data };
	if (REAL(epoll_ctl)(r->ep, EPOLL_CTL_ADD, fd, &ev) == 0)
		return true;
	DBG("rfloop: fd %d: not added to epoll fd %d again: %s", fd, r->ep, strerror(errno));
	return false;
}

void rfl_epoll_detach(int fd)
{
	each_record(fd, detach_one);
}

void rfl_epoll_attach(int fd)
{
	each_record(fd, attach_one);
}

/* ---- the waits ---------------------------------------------------------------------- */

/* A oneshot registration is being reported: disable it, here and in the
 * kernel (MOD to no events), until the program's next MOD.  (Should the
 * wait then fail, the epoll fd or the event array was bad: it stays so.) */
static void disarm(int fd, struct reg *r)
{
	int saved = errno;
	struct epoll_event ev = { .events = EPOLLONESHOT, .data = r->data };
	REAL(epoll_ctl)(r->ep, EPOLL_CTL_MOD, fd, &ev);
	errno = saved;
	r->off = true;
}

/* The events to add for the connections set `ep` watches that are
 * unsignalled with bytes: at most `max`, into out.  elock held. */
static int collect(int ep, struct epoll_event *out, int max)
{
	int k = 0;
	for (int fd = 0; fd < top && k < max; fd++) {
		if (!by_fd[fd])
			continue;
		struct rfl_conn *c = rfl_conn_of(fd);
		if (!c || !LD(&c->unsignalled))
			continue;
		struct reg *r = find(fd, ep);
		if (!r || r->off || !(r->events & EPOLLIN) || (r->events & EPOLLET))
			continue;
		if (rfl_conn_inq(c) <= 0)
			continue;
		if (r->events & EPOLLONESHOT)
			disarm(fd, r);
		out[k].events = EPOLLIN | (r->events & EPOLLRDNORM);
		out[k].data = r->data;
		k++;
	}
	return k;
}

/* Add our k events to the kernel's n in evs (room for n + k). */
static int merge(struct epoll_event *evs, int n, const struct epoll_event *ours, int k)
{
	for (int i = 0; i < k; i++) {
		int j = 0;
		while (j < n && evs[j].data.u64 != ours[i].data.u64)
			j++;
		if (j < n)
			evs[j].events |= ours[i].events;
		else
			evs[n++] = ours[i];
	}
	return n;
}

/* The slow path of every wait: NONE if the set has no unsignalled
 * connection, else the events (the kernel's, asked without waiting with
 * `mask` as the program gave it, and ours), or -1 and errno. */
static int with_unsignalled(int ep, struct epoll_event *evs, int max, const sigset_t *mask)
{
	struct epoll_event ours[BATCH];
	if (max <= 0 || !evs || !LD(&nrecs))
		return NONE;
	pthread_mutex_lock(&elock);
	int k = collect(ep, ours, max < BATCH ? max : BATCH);
	pthread_mutex_unlock(&elock);
	if (!k)
		return NONE;
	int n = 0;
	if (max > k) {
		/* With a zero timeout the kernel returns before it looks for
		 * signals, as it does when events are ready: no EINTR. */
		n = REAL(epoll_pwait)(ep, evs, max - k, 0, mask);
		if (n < 0)
			return n;
	}
	return merge(evs, n, ours, k);
}

EXPORT int epoll_wait(int ep, struct epoll_event *evs, int max, int ms)
{
	if (!LD(&rfl_unsignalled))
		return REAL(epoll_wait)(ep, evs, max, ms);
	int n = with_unsignalled(ep, evs, max, NULL);
	return n != NONE ? n : REAL(epoll_wait)(ep, evs, max, ms);
}

EXPORT int epoll_pwait(int ep, struct epoll_event *evs, int max, int ms, const sigset_t *mask)
{
	if (!LD(&rfl_unsignalled))
		return REAL(epoll_pwait)(ep, evs, max, ms, mask);
	int n = with_unsignalled(ep, evs, max, mask);
	return n != NONE ? n : REAL(epoll_pwait)(ep, evs, max, ms, mask);
}

EXPORT int epoll_pwait2(int ep, struct epoll_event *evs, int max, const struct timespec *ts,
			const sigset_t *mask)
{
	__typeof__(rfl_real.epoll_pwait2) real = REAL(epoll_pwait2);
	if (!real) {
		errno = ENOSYS;   /* a libc without it: the program cannot have called it */
		return -1;
	}
	if (!LD(&rfl_unsignalled))
		return real(ep, evs, max, ts, mask);
	int n = with_unsignalled(ep, evs, max, mask);
	return n != NONE ? n : real(ep, evs, max, ts, mask);
}

/* ---- fork ----------------------------------------------------------------------------- */

static void before_fork(void)
{
	pthread_mutex_lock(&elock);
}

static void after_fork(void)
{
	pthread_mutex_unlock(&elock);
}

__attribute__((constructor(102))) static void epoll_init(void)
{
	pthread_atfork(before_fork, after_fork, after_fork);
}
