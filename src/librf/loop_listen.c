/*
 * loop_listen.c - a librf service's listening socket as an RFloop
 * listener: found, registered with rfd, its connection requests taken,
 * and rf_accept answering with whichever connection comes first, kernel
 * TCP or RFloop.  (The connections themselves: loop_conn.c.)
 *
 * Found.  The service listens with the ordinary calls and accepts with
 * rf_accept; it does not change.  The first rf_accept on a descriptor
 * asks the kernel once whether it is a listening TCP socket (three
 * getsockopt); if so the listener is recorded and a fiber of librf's, its
 * rendezvous fiber, is spawned on that core.  RF_LOOP_DISABLE=1 in the
 * environment turns all of this off (every accept is kernel TCP).
 *
 * Registered, off the cores.  Registering is a round trip to rfd (the
 * rfloop_listen verb, the same as librfloop.so's, src/rfloop/
 * rendezvous.c: the listening socket itself and a rendezvous datagram
 * socket are passed, and rfd checks both with the kernel).  It blocks, so
 * a helper thread makes it and unparks the rendezvous fiber when done.
 * Meanwhile rf_accept waits (a few hundred microseconds, once; 2 s at
 * most if rfd is stuck) and kernel TCP connections queue in the backlog:
 * so once the service has answered anyone, its listener is in the
 * registry, and a client that connects after the service was seen to
 * answer gets RFloop (only the connections made before can be TCP).  If
 * rfd cannot be reached or refuses, the listener stays kernel TCP only
 * (nothing is retried).
 * Clients check an entry with the kernel before they use it (registry.c
 * there), so a subOS can register only its own listening socket: the
 * isolation tested by tests/integration/91-escape-rfloop.sh holds.
 *
 * Requests.  The rendezvous fiber waits for the rendezvous socket with
 * rf_poll (the core's io_uring), then takes every queued request (one
 * recvmsg each, MSG_DONTWAIT), checks it (src/rfloop/req.c: the client
 * may be hostile; a bad one is dropped and said on stderr), maps the
 * region with MAP_POPULATE (so that serving it never faults; the client
 * chooses the ring size, so it is bounded: LRF_LOOP_RING_MAX) and offers
 * the connection to a waiting rf_accept, or queues it.  A few system
 * calls per connection, none per request.
 *
 * Accept.  Every rf_accept on a recorded listener takes a queued
 * connection if there is one; else it registers as a waiter and issues
 * the kernel accept on its core's ring, parked until that completes or a
 * request is handed to it; then it cancels the accept (lrf_io_accept_or).
 * A TCP connection that completed in that race is offered to the next
 * accept, not lost.  The fiber that accepts a connection serves it: its
 * core polls the rings whenever the fiber waits.  So connections spread
 * over the cores as the service's acceptors do (rfkv runs one per core).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "base/client.h"
#include "base/fdpass.h"
#include "base/rfloop_call.h"
#include "base/rfloop_table.h"
#include "librf/loop.h"
#include "rf/io.h"
#include "rfloop/req.h"
#include "rfloop/ring.h"

#define LD(p)    __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#define MAX_LISTENERS 32
#define REGISTER_POLL_NS 100000   /* an accept waiting for its listener's registration */

enum lsn_state { LSN_REGISTERING, LSN_ACTIVE, LSN_PLAIN };

/* A connection waiting for an rf_accept: RFloop's, or a kernel TCP one
 * that raced in while its accept was handed an RFloop one. */
struct item {
	struct item *next;
	struct lrf_loop_conn *conn;   /* or NULL: */
	int tcp;
};

/* An rf_accept parked on a listener; on its fiber's stack. */
struct waiter {
	struct waiter *next;
	struct rf_fiber *f;
	struct item *handed;          /* set (under the lock) by offer() */
};

struct lsn {
	int fd;                       /* the application's listening socket */
	int bell;                     /* our rendezvous socket, or -1 */
	uint32_t state;               /* enum lsn_state */
	uint32_t lock;                /* waiters and ready */
	struct waiter *waiters;       /* LIFO: the newest accept is the warmest */
	struct item *ready, *ready_tail;
	struct rf_fiber *rv;          /* the rendezvous fiber */
	uint32_t gen;                 /* loop_gen when made */
	uint16_t port;
};

static struct lsn *lsns[MAX_LISTENERS];   /* slots taken once, never freed */
static uint32_t lsns_lock;
static int loop_off = -1;                 /* RF_LOOP_DISABLE, read once */
static uint32_t loop_gen;                 /* bumped when librf starts again (tests) */

/* ---- the ready queue and the waiters (under l->lock) ------------------------------- */

/* Hand `it` to a waiting accept, or queue it for the next one. */
static void offer(struct lsn *l, struct item *it)
{
	lrf_spin_lock(&l->lock);
	struct waiter *w = l->waiters;
	if (w) {
		l->waiters = w->next;
		__atomic_store_n(&w->handed, it, __ATOMIC_RELEASE);
		rf_unpark(w->f);   /* under the lock: the waiter takes it before it goes */
	} else {
		it->next = NULL;
		if (l->ready_tail)
			l->ready_tail->next = it;
		else
			l->ready = it;
		l->ready_tail = it;
	}
	lrf_spin_unlock(&l->lock);
}

static struct item *take_ready(struct lsn *l)
{
	struct item *it = l->ready;
	if (it) {
		l->ready = it->next;
		if (!l->ready)
			l->ready_tail = NULL;
	}
	return it;
}

static void waiter_remove(struct lsn *l, struct waiter *w)
{
	for (struct waiter **p = &l->waiters; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return;
		}
}

/* ---- registration (a helper thread) --------------------------------------------------- */

static void *register_thread(void *arg)
{
	struct lsn *l = arg;
	int bell = rfl_make_bell();
	int give[2] = { l->fd, bell };
	char ans[512];

	uint32_t from = LSN_REGISTERING;

	ans[0] = '\0';
	l->bell = bell;
	/* Active unless the application closed the listener meanwhile. */
	bool ok = bell >= 0 && base_rfl_call(base_client_socket_path(NULL), BASE_RFL_REQ_LISTEN,
					      give, 2, NULL, ans, sizeof(ans)) == 0;
	if (!ok || !__atomic_compare_exchange_n(&l->state, &from, LSN_ACTIVE, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		if (!ok && getenv("RF_LOOP_DEBUG"))
			fprintf(stderr, "librf: port %u not registered for RFloop (%s); kernel TCP\n",
				l->port, ans[0] ? ans : strerror(errno));
		l->bell = -1;
		if (bell >= 0)
			close(bell);
		ST(&l->state, LSN_PLAIN);
	}
	if (LD(&loop_gen) == l->gen)   /* librf did not stop meanwhile (tests) */
		rf_unpark(l->rv);
	return NULL;
}

/* ---- requests --------------------------------------------------------------------------- */

/* The connection one request (n bytes received, nfds descriptors)
 * describes, if it is sound.  The connection keeps the two sockets; every
 * other descriptor is closed here (the memfd: the mapping holds the
 * region). */
static struct lrf_loop_conn *take_request(const struct rfl_req *req, ssize_t n, const int *fds,
					  int nfds)
{
	struct lrf_loop_conn *c = NULL;
	void *mem = NULL;

	if (n == (ssize_t)sizeof(*req) && nfds == RFL_REQ_FDS && rfl_req_ok(req) &&
	    req->size <= LRF_LOOP_RING_MAX && (unsigned)fds[2] < LRF_LOOP_FDS &&
	    rfl_is_unix_stream(fds[1]) && rfl_is_unix_stream(fds[2]) &&
	    (mem = rfl_region_map_fd(fds[0], req->size, MAP_POPULATE)))
		c = lrf_loop_conn_new(mem, req->size, fds[2], fds[1], &req->client,
				      (socklen_t)req->client_len);
	if (mem && !c)
		munmap(mem, rfl_region_size(req->size));
	for (int i = 0; i < nfds; i++)
		if (!c || i == 0)
			close(fds[i]);
	return c;
}

/* Every request queued on l's rendezvous socket, offered. */
static void take_requests(struct lsn *l)
{
	for (;;) {
		struct rfl_req req;
		int fds[BASE_FDPASS_MAX], nfds = 0;
		ssize_t n = base_recv_fds(l->bell, &req, sizeof(req), fds, BASE_FDPASS_MAX, &nfds,
					  MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			return;   /* EAGAIN: all taken */
		struct lrf_loop_conn *c = take_request(&req, n, fds, nfds);
		struct item *it = c ? rf_malloc(sizeof(*it)) : NULL;
		if (!it) {
			if (c)
				lrf_loop_conn_drop(c);
			fprintf(stderr, "librf: port %u: dropped an RFloop connection request "
				"(malformed, or no memory)\n", l->port);
			continue;
		}
		*it = (struct item){ .conn = c, .tcp = -1 };
		offer(l, it);
	}
}

static void rendezvous(void *arg)
{
	struct lsn *l = arg;
	pthread_attr_t at;
	pthread_t t;

	l->rv = lrf_self()->current;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, register_thread, l) != 0)
		ST(&l->state, LSN_PLAIN);
	pthread_attr_destroy(&at);
	while (LD(&l->state) == LSN_REGISTERING)
		rf_park();
	while (LD(&l->state) == LSN_ACTIVE) {
		int r = rf_poll(l->bell, POLLIN);
		if (r < 0 && r != -EINTR)
			break;
		take_requests(l);
	}
}

/* ---- finding listeners ------------------------------------------------------------------- */

static bool sockopt_int(int fd, int level, int opt, int *v)
{
	socklen_t len = sizeof(*v);
	return getsockopt(fd, level, opt, v, &len) == 0;
}

/* Is fd a listening TCP socket?  Its port into *port. */
static bool is_tcp_listener(int fd, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int acc = 0, dom = 0, proto = 0;

	if (!sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc) || !acc ||
	    !sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &dom) || (dom != AF_INET && dom != AF_INET6) ||
	    !sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL, &proto) || proto != IPPROTO_TCP ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl))
		return false;
	*port = ntohs(dom == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
				     : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return true;
}

/* The connection table, made once (partition memory, pre-faulted). */
static bool table_ready(void)
{
	if (LD(&lrf_loop_tab))
		return true;
	struct lrf_loop_conn **t = rf_calloc(LRF_LOOP_FDS, sizeof(*t));
	if (t)
		ST(&lrf_loop_tab, t);
	return t != NULL;
}

/* A new listener record for fd (its rendezvous fiber spawned here), a
 * plain one if it is not a TCP listener; NULL if no slot or memory.
 * Process memory, not the partition's: its registration thread may
 * outlive a librf that stops (tests).  Under lsns_lock. */
static struct lsn *lsn_new(int fd)
{
	struct lsn *l = calloc(1, sizeof(*l));
	int slot = -1;

	for (int i = 0; i < MAX_LISTENERS && slot < 0; i++)
		if (!lsns[i])
			slot = i;
	if (!l || slot < 0) {
		free(l);
		return NULL;
	}
	*l = (struct lsn){ .fd = fd, .bell = -1, .state = LSN_PLAIN, .gen = LD(&loop_gen) };
	if (is_tcp_listener(fd, &l->port) && table_ready() && rf_spawn(rendezvous, l) == 0)
		l->state = LSN_REGISTERING;
	ST(&lsns[slot], l);
	return l;
}

/* fd's record, made at its first accept. */
static struct lsn *lsn_get(int fd)
{
	for (int i = 0; i < MAX_LISTENERS; i++) {
		struct lsn *l = LD(&lsns[i]);
		if (l && l->fd == fd)
			return l;
	}
	lrf_spin_lock(&lsns_lock);
	struct lsn *l = NULL;
	for (int i = 0; i < MAX_LISTENERS && !l; i++)
		if (lsns[i] && lsns[i]->fd == fd)
			l = lsns[i];
	if (!l)
		l = lsn_new(fd);
	lrf_spin_unlock(&lsns_lock);
	return l;
}

static bool disabled(void)
{
	if (loop_off < 0) {
		const char *e = getenv("RF_LOOP_DISABLE");
		loop_off = e && strcmp(e, "0") != 0;
	}
	return loop_off;
}

/* ---- accept -------------------------------------------------------------------------------- */

/* A kernel TCP connection that raced in: queue it (closed if no memory). */
static void offer_tcp(struct lsn *l, int fd)
{
	struct item *it = rf_malloc(sizeof(*it));
	if (!it) {
		close(fd);
		return;
	}
	*it = (struct item){ .conn = NULL, .tcp = fd };
	offer(l, it);
}

/* What rf_accept returns for an item taken from the queue or handed. */
static int item_install(struct item *it, struct sockaddr *addr, socklen_t *alen, int flags)
{
	struct lrf_loop_conn *c = it->conn;
	int fd = it->tcp;

	rf_free(it);
	if (c)
		return lrf_loop_conn_install(c, flags, addr, alen);
	if ((addr && alen && getpeername(fd, addr, alen) < 0) ||
	    ((flags & SOCK_NONBLOCK) && fcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK) < 0) ||
	    fcntl(fd, F_SETFD, (flags & SOCK_CLOEXEC) ? FD_CLOEXEC : 0) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

int lrf_loop_accept(int fd, struct sockaddr *addr, socklen_t *alen, int flags, bool *mine)
{
	struct lrf_core *core = lrf_self();
	struct lsn *l;

	*mine = false;
	if (!core || !core->current || !core->io || disabled() || !(l = lsn_get(fd)) ||
	    LD(&l->state) == LSN_PLAIN)
		return 0;
	*mine = true;
	while (LD(&l->state) == LSN_REGISTERING)   /* at the first accepts only */
		rf_sleep_ns(REGISTER_POLL_NS);
	struct waiter w = { .f = core->current };
	lrf_spin_lock(&l->lock);
	struct item *it = take_ready(l);
	if (!it) {
		w.next = l->waiters;
		l->waiters = &w;
	}
	lrf_spin_unlock(&l->lock);
	if (!it) {
		long r = lrf_io_accept_or(fd, addr, alen, flags, (void **)&w.handed);
		lrf_spin_lock(&l->lock);
		it = w.handed;
		if (!it)
			waiter_remove(l, &w);
		lrf_spin_unlock(&l->lock);
		if (!it)
			return (int)r;
		if (r >= 0)
			offer_tcp(l, (int)r);   /* both came: the TCP one is the next accept's */
	}
	return item_install(it, addr, alen, flags);
}

void lrf_loop_listener_closed(int fd)
{
	for (int i = 0; i < MAX_LISTENERS; i++) {
		struct lsn *l = LD(&lsns[i]);
		if (!l || l->fd != fd)
			continue;
		/* The record stays (a slot is never reused while its fiber
		 * may run); it serves nobody now. */
		l->fd = -1;
		if (__atomic_exchange_n(&l->state, LSN_PLAIN, __ATOMIC_ACQ_REL) == LSN_ACTIVE)
			shutdown(l->bell, SHUT_RDWR);   /* its fiber's poll ends */
	}
}

void lrf_loop_reset(void)
{
	__atomic_fetch_add(&loop_gen, 1, __ATOMIC_ACQ_REL);
	for (int i = 0; i < MAX_LISTENERS; i++) {
		struct lsn *l = __atomic_exchange_n(&lsns[i], NULL, __ATOMIC_ACQ_REL);
		if (!l || LD(&l->state) == LSN_REGISTERING)
			continue;   /* left to its registration thread, still running */
		if (l->bell >= 0)
			close(l->bell);
		free(l);
	}
	ST(&lrf_loop_tab, NULL);      /* it was partition memory */
}
