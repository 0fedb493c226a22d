/*
 * loop.h - librf serving RFloop connections natively: what the I/O calls
 * (io.c), the scheduler (sched.c, idle.c, core.c) and the two halves
 * (loop_listen.c: listeners, registration, rendezvous, accept;
 * loop_conn.c: a connection's rings, waiting, waking, closing) share.
 * Internal.
 *
 * What it gives: a libos service that listens on a TCP port with the
 * ordinary calls and accepts with rf_accept is also an RFloop listener
 * (src/rfloop/): a connection an RFloop client (a program preloaded with
 * librfloop.so) opens to the port arrives through the same rf_accept as
 * a kernel TCP one, and rf_recv/rf_send/rf_poll/rf_closefd on it move
 * bytes through the connection's two shared-memory rings, polled by the
 * scheduler of the core whose fiber waits on it: no system call per
 * request.  The design is at the top of loop_listen.c and loop_conn.c.
 */
#ifndef RF_LIBRF_LOOP_H
#define RF_LIBRF_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include "librf/internal.h"

#define LRF_LOOP_FDS      65536u             /* descriptors that may be RFloop connections */
#define LRF_LOOP_RING_MAX (4u << 20)         /* largest ring a client may make us map */
#define LRF_LOOP_POLL_NS  1000000            /* a sleep's bound while a writer waits for room */
#define LRF_LOOP_BELL_NS  5000               /* grace before waking a client (loop_conn.c) */

struct lrf_loop_conn;

/* fd -> connection, made when the first listener is found (from
 * partition memory: looking up never faults); NULL before. */
extern struct lrf_loop_conn **lrf_loop_tab;

/* The RFloop connection at fd, or NULL (one load while there is none). */
static inline struct lrf_loop_conn *lrf_loop_conn_of(int fd)
{
	struct lrf_loop_conn **t = __atomic_load_n(&lrf_loop_tab, __ATOMIC_ACQUIRE);

	if (rf_likely(!t) || (unsigned)fd >= LRF_LOOP_FDS)
		return NULL;
	return __atomic_load_n(&t[fd], __ATOMIC_ACQUIRE);
}

/* ---- the connection (loop_conn.c) ------------------------------------------ */

/* A connection over a mapped, checked region (the listener's side of it:
 * it reads direction 0 and writes direction 1); fd is its socket, hidden
 * the far end of the client's doorbell.  NULL if out of memory (nothing
 * taken then). */
struct lrf_loop_conn *lrf_loop_conn_new(void *mem, uint32_t size, int fd, int hidden,
					const struct sockaddr_storage *peer, socklen_t peer_len);
/* Never handed to the application (the listener went away): let go. */
void lrf_loop_conn_drop(struct lrf_loop_conn *c);
/* Hand c to the application on the calling core: its fd (accept4's flags
 * applied, the client's address into addr), or -errno. */
int lrf_loop_conn_install(struct lrf_loop_conn *c, int flags, struct sockaddr *addr,
			  socklen_t *alen);

/* The calls of rf/io.h on a connection; their results. */
ssize_t lrf_loop_recv(struct lrf_loop_conn *c, void *buf, size_t len, int flags);
ssize_t lrf_loop_send(struct lrf_loop_conn *c, const void *buf, size_t len, int flags);
ssize_t lrf_loop_sendv(struct lrf_loop_conn *c, const struct iovec *iov, int n);
int lrf_loop_poll_fd(struct lrf_loop_conn *c, short events);
int lrf_loop_close(struct lrf_loop_conn *c, int fd);

/* The scheduler's side, while fibers wait on connections or clients may
 * need waking: once per pass (wakes the fibers whose connection is ready
 * and the clients whose grace ran out; their number); is any of that due
 * (idle spin); before sleeping, wake the clients still owed, let clients
 * ring us and say whether work came meanwhile (*timeout_ns capped if a
 * writer waits for room); a leaving core does the same for all, and its
 * waiters wait again where they resume. */
int lrf_loop_poll(struct lrf_core *c);
bool lrf_loop_ready(struct lrf_core *c);
bool lrf_loop_arm(struct lrf_core *c, int64_t *timeout_ns);
void lrf_loop_leave(struct lrf_core *c);

/* ---- listeners (loop_listen.c) --------------------------------------------- */

/* rf_accept on fd: *mine false if fd is not (or cannot be) an RFloop
 * listener, for the plain path; else the result (a kernel TCP connection
 * or an RFloop one, whichever came first). */
int lrf_loop_accept(int fd, struct sockaddr *addr, socklen_t *alen, int flags, bool *mine);
/* rf_closefd on what may be a listener: forget it. */
void lrf_loop_listener_closed(int fd);
/* librf starts or stops (attach.c; tests run it several times in one
 * process): forget every listener and connection record. */
void lrf_loop_reset(void);

/* ---- io.c --------------------------------------------------------------------- */

/* accept4 through the ring, given up when *stop becomes non-NULL (another
 * source gave the fiber a connection): the accept's result (a descriptor
 * that raced in, which the caller must not lose), -ECANCELED, or -errno. */
long lrf_io_accept_or(int fd, struct sockaddr *addr, socklen_t *alen, int flags, void **stop);

#endif
