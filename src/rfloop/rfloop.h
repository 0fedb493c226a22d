/*
 * rfloop.h - librfloop.so internals: the libc calls it wraps, its per-fd
 * table, connections, listeners, counters (internal; the library has no
 * API of its own: it is loaded with LD_PRELOAD and changes what the
 * socket calls of an unmodified program do).
 *
 * Files: ring.c (the byte rings), pool.c (connection regions: made,
 * kept, handed over again), conn.c (one connection's data path and
 * doorbells), table.c (fd -> object, dup, fork, close), rendezvous.c
 * (registry of listeners, connection requests), wrap_io.c and
 * wrap_sock.c (the wrapped calls), epoll.c (the epoll calls, and what
 * they must know of unsignalled connections), real.c (the real calls,
 * settings, counters).  The design is described at the top of conn.c and
 * rendezvous.c.
 */
#ifndef RF_RFLOOP_RFLOOP_H
#define RF_RFLOOP_RFLOOP_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include "rfloop/ring.h"
#include "base/rfloop_table.h"

/* ---- the real calls (real.c) --------------------------------------------- */

struct rfl_real {
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*close)(int);
	int (*shutdown)(int, int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
	int (*epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *,
			    const sigset_t *);
};

extern struct rfl_real rfl_real;
void rfl_resolve(void);
#define REAL(name) (rfl_real.name ? rfl_real.name : (rfl_resolve(), rfl_real.name))

/* ---- settings and counters (real.c) -------------------------------------- */

struct rfl_config {
	bool disabled;          /* RF_LOOP_DISABLE=1: pass everything through */
	bool debug;             /* RF_LOOP_DEBUG=1: one stderr line per event */
	uint64_t spin_ns;       /* RF_LOOP_SPIN_US (default 20) */
	uint32_t ring_size;     /* RF_LOOP_RING_KB (default 256) */
	char socket[108];       /* rfd's control socket: RF_SOCKET or /run/rfd.sock */
};
extern struct rfl_config rfl_cfg;

enum rfl_stat {
	ST_CONNECT_RFLOOP, ST_CONNECT_TCP, ST_ACCEPT_RFLOOP, ST_ACCEPT_TCP, ST_LISTEN_RFLOOP,
	ST_TX_BYTES, ST_RX_BYTES, ST_BELLS, ST_SLEEPS, ST_CORRUPT, ST_REJECTED,
	ST_REGION_FRESH, ST_REGION_REUSED, ST_COUNT
};
extern _Atomic uint64_t rfl_stats[ST_COUNT];
#define STAT_ADD(s, n) atomic_fetch_add_explicit(&rfl_stats[(s)], (uint64_t)(n), memory_order_relaxed)

void rfl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define DBG(...) do { if (rfl_cfg.debug) rfl_log(__VA_ARGS__); } while (0)

/* ---- connection regions (pool.c) ------------------------------------------ */

struct rfl_pool;

/* One mapped region (ring.h) and what its side knows of it. */
struct rfl_region {
	void *mem;
	size_t len;
	uint64_t token;           /* its name (ring.h); 0: never kept */
	int memfd;                /* the creator's, sent with each request; -1 on the attacher's side */
	enum rfl_side side;
	bool kept;                /* in its pool's kept list (else in use) */
	bool tainted;             /* in use at a fork: never kept again */
	struct rfl_pool *pool;    /* where it goes when its connection ends; NULL: unmapped then */
	struct rfl_region *prev, *next;   /* in its pool's kept list, or the list in use */
};

/* The client: a formatted region of `size`-byte rings for a connection to
 * the listener of registry entry e (bell_ino, tcp_cookie): one this
 * process and that listener both keep, or a new one.  NULL on failure. */
struct rfl_region *rfl_region_take(uint64_t bell_ino, uint64_t tcp_cookie, uint32_t size);
/* The listener: the region a request's memfd holds - the mapping p kept
 * under the token the memfd's region bears, or the memfd mapped and
 * checked - if it has `size`-byte rings; NULL if not.  memfd stays the
 * caller's. */
struct rfl_region *rfl_region_accept(struct rfl_pool *p, int memfd, uint32_t size);
/* Its connection is gone: kept for the pair's next one, or unmapped. */
void rfl_region_put(struct rfl_region *r);
/* Unmapped at once, and retired (a request that was never sent). */
void rfl_region_drop(struct rfl_region *r);
/* A listener's pool of kept mappings; closing it unmaps them. */
struct rfl_pool *rfl_pool_open(void);
void rfl_pool_close(struct rfl_pool *p);
/* fork (table.c's handlers, the table lock held): regions in use become
 * inheritable and tainted; a child forgets the kept ones (never mapped in
 * it) and closes their memfds. */
void rfl_pool_prefork(void);
void rfl_pool_postfork(bool child);

/* ---- connections (conn.c) ------------------------------------------------ */

#define RFL_MAX_OPTS 12

struct rfl_opt {
	int level, name;
	socklen_t len;
	unsigned char val[16];
};

struct rfl_conn {
	_Atomic int refs;         /* app fds in this process naming it */
	int hidden;               /* the other end of the peer's doorbell socket */
	uint64_t epoch;           /* rfl_fork_epoch when made: shared after a fork */
	struct rfl_region *reg;   /* the shared region of its rings */
	struct rfl_ring tx, rx;
	pthread_mutex_t rxl, txl;
	bool nonblock;
	bool eof;                 /* the peer's writing end is gone: EOF after the ring */
	bool rd_shut, wr_shut;
	bool peer_gone;           /* a doorbell could not be sent: EPIPE */
	bool sndbuf_small;        /* our doorbell's send buffer shrunk for stuffing */
	_Atomic bool unsignalled; /* ring may hold bytes without a doorbell byte */
	int err;                  /* sticky errno (ECONNRESET, EPIPE) or 0 */
	uint64_t drained;         /* doorbell bytes drained so far */
	int64_t rcvtimeo_ns, sndtimeo_ns;   /* 0: none */
	int family;
	struct sockaddr_storage local, peer;
	socklen_t local_len, peer_len;
	int nopts;
	struct rfl_opt opts[RFL_MAX_OPTS];
};

/* Attach a mapped, checked region: `dir_rx` is the direction it reads.
 * The connection owns the region from then on. */
struct rfl_conn *rfl_conn_new(struct rfl_region *r, uint32_t size, int dir_rx, int hidden);
/* Last reference gone: give back the region (if any) and close the hidden fd. */
void rfl_conn_free(struct rfl_conn *c);

ssize_t rfl_conn_read(struct rfl_conn *c, int fd, const struct iovec *iov, int n, int flags);
ssize_t rfl_conn_write(struct rfl_conn *c, int fd, const struct iovec *iov, int n, int flags);
int rfl_conn_shutdown(struct rfl_conn *c, int fd, int how);
/* Bytes readable now (FIONREAD) and bytes not yet taken by the peer. */
long rfl_conn_inq(struct rfl_conn *c);
long rfl_conn_outq(struct rfl_conn *c);
extern _Atomic int rfl_unsignalled;   /* conns with unsignalled set */

/* ---- listeners (rendezvous.c) -------------------------------------------- */

struct rfl_listener {
	_Atomic int refs;
	int tcp;                  /* the real listening socket (hidden fd) */
	int bell;                 /* the rendezvous datagram socket (hidden fd) */
	bool nonblock;
	int family;
	uint16_t port;
	struct rfl_pool *pool;    /* the mappings this process keeps for its clients */
};

/* listen() was called on fd (a kernel socket): register it. */
int rfl_listen_setup(int fd);
/* One RFloop connection request from l, or -EAGAIN if none is queued. */
int rfl_accept_rfloop(struct rfl_listener *l, struct sockaddr *addr, socklen_t *alen, int flags);
void rfl_listener_free(struct rfl_listener *l);
/* connect(): 1 if fd is now an RFloop connection, 0 to take the kernel path,
 * -errno on failure. */
int rfl_connect_try(int fd, const struct sockaddr *addr, socklen_t len);

/* ---- rfd's registry (registry.c) ------------------------------------------ */

/* Send a request (BASE_RFL_REQ_*) with fds to rfd; 0 if it answered ok (a descriptor it
 * passed into *fd_out if not NULL), else -1. */
int rfl_rfd_call(const char *req, const int *fds, int nfds, int *fd_out);
/* The registered listener serving family/addr:port, from the table
 * (fetched from rfd on the first call in a process). */
bool rfl_reg_lookup(int family, const uint8_t *addr, uint16_t port, struct base_rfl_entry *out);
/* Send a connection request (buf, len and fds) to e's rendezvous, once
 * the kernel confirmed that the socket it goes to is e's rendezvous and
 * that family/addr:port routes to e's listener.  0, or -1 (errno) if not
 * sent: the caller takes kernel TCP. */
int rfl_reg_send(const struct base_rfl_entry *e, int family, const uint8_t *addr, uint16_t port,
		 const void *buf, size_t len, const int *fds, int nfds);

/* ---- epoll (epoll.c) ---------------------------------------------------- */

/* fd is being closed (close, or the target of dup2/dup3): forget the
 * epoll registrations recorded for it, as a connection fd or as an epoll
 * fd.  One load when there are none. */
void rfl_epoll_forget(int fd);
/* connect() is about to put an RFloop connection's file at fd in place of
 * the socket the program made: detach takes the socket out of the epoll
 * sets the program put it in (dropping records the kernel no longer has),
 * attach then adds what fd holds (the connection; the socket again if the
 * switch failed) with the same events and data. */
void rfl_epoll_detach(int fd);
void rfl_epoll_attach(int fd);

/* ---- the fd table (table.c) ---------------------------------------------- */

#define RFL_MAX_FDS 65536
enum rfl_kind { K_NONE = 0, K_CONN = 1, K_LISTEN = 2, K_HIDDEN = 3 };

struct rfl_ent {
	enum rfl_kind kind;
	void *obj;
};

extern _Atomic uint64_t rfl_fork_epoch;

/* Lock-free lookup for the data path; NULL kind K_NONE if not ours. */
struct rfl_conn *rfl_conn_of(int fd);
struct rfl_listener *rfl_listener_of(int fd);
bool rfl_is_hidden(int fd);
bool rfl_any(int fd);             /* anything of ours at fd */

/* Forget hidden fd `fd` if it still is the one at *num (lock-free: for
 * callers that may hold the table lock or not); the caller closes it. */
void rfl_table_unhide(int fd, int *num);
/* Install (takes a reference the caller made); false if fd is too big. */
bool rfl_table_set(int fd, enum rfl_kind kind, void *obj);
/* close(fd) for one of ours: drops the reference, closes; -1/errno style. */
int rfl_table_close(int fd);
/* After the kernel duplicated `from` to `to` (dup, dup2, fcntl F_DUPFD). */
void rfl_table_dup(int from, int to);
/* `to` is about to be overwritten by dup2/dup3: move a hidden fd away,
 * or forget whatever of ours was there (the kernel closes it). */
int rfl_table_clobber(int to);
/* Hidden fds move out of the way of app fds: returns the new number. */
void rfl_table_lock(void);
void rfl_table_unlock(void);

#endif
