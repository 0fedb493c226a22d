/*
 * rendezvous.c - how an RFloop connection is born: the registry of
 * listeners, the client's connection request, the listener's accept.
 *
 * Registry.  A listener preloaded with librfloop that calls listen() on a
 * TCP socket makes a Unix *datagram* socket (its rendezvous, bound to a
 * kernel-chosen abstract name) and registers both with rfd (registry.c):
 * rfd records the listener only from the listening socket itself, in a
 * table only rfd can write.  A connect() finds the entry there and sends
 * to the rendezvous only after the kernel confirmed that the address:port
 * is routed to that listener and that the socket it sends to is that
 * rendezvous (registry.c); anything else takes kernel TCP.  A name whose
 * socket is gone refuses the connect (ECONNREFUSED): a stale entry costs
 * one failed call and the fall back to TCP.
 *
 * Request.  connect() to a local address (loopback, or an address of one
 * of this machine's interfaces) whose port is registered builds the whole
 * connection on the client side: a region with both rings in a sealed
 * memfd (pool.c: one this client and this listener kept from an earlier
 * connection, or a new one) and two socketpairs, and sends the listener
 * one datagram carrying the addresses and, as SCM_RIGHTS, the memfd, the
 * server's doorbell end of the client's socketpair and the server's
 * socket of the other one.  A
 * datagram arrives whole or not at all; the client never waits for the
 * listener (as the kernel completes a TCP handshake before accept), so
 * connect() returns 0 at once, also on a non-blocking socket.  If the send
 * fails (no such listener, its queue full), connect() takes the kernel
 * path: the listener listens on real TCP too.
 *
 * Listener.  The application's listening fd must report both kinds of
 * pending connection to its poll/epoll, so after listen() the library
 * moves the real TCP socket to a hidden fd and puts in its place an epoll
 * instance watching the TCP socket and the rendezvous socket: it is
 * readable exactly when either has a connection waiting, in poll, select
 * and (nested) epoll.  accept() takes an RFloop request first, then a TCP
 * connection, and blocks (if the application's fd is blocking) by polling
 * that epoll fd.  getsockname/getsockopt/setsockopt/shutdown on it go to
 * the real socket; EPOLLEXCLUSIVE is dropped when it is added to an epoll
 * set (the kernel refuses it for nested epoll).
 *
 * Validation of a request (the client may be hostile): exact datagram
 * size, no truncation, exactly three descriptors, magic and ABI, a ring
 * size within bounds, a region this process kept under the token the
 * memfd's region bears, or else a memfd sealed against shrinking whose
 * real size is the region's (pool.c), a region header that agrees
 * (ring.c), Unix stream sockets for the two sockets, sane addresses.  A bad request is dropped and
 * counted ("rejected"); the next one is served.
 */
#define _GNU_SOURCE
#include "rfloop/rfloop.h"
#include "base/fdpass.h"
#include "rfloop/req.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- addresses and registry names ------------------------------------------ */

struct dest {
	int family;             /* AF_INET or AF_INET6 (v4-mapped become AF_INET) */
	uint16_t port;          /* host order */
	unsigned char a[16];
};

static bool parse_dest(const struct sockaddr *sa, socklen_t len, struct dest *d)
{
	memset(d, 0, sizeof(*d));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s = (const void *)sa;
		d->family = AF_INET;
		d->port = ntohs(s->sin_port);
		memcpy(d->a, &s->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s = (const void *)sa;
		d->port = ntohs(s->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
			d->family = AF_INET;
			memcpy(d->a, &s->sin6_addr.s6_addr[12], 4);
		} else {
			d->family = AF_INET6;
			memcpy(d->a, &s->sin6_addr, 16);
		}
		return true;
	}
	return false;
}

static pthread_once_t ifs_once = PTHREAD_ONCE_INIT;
static struct ifaddrs *ifs;

static void load_ifs(void)
{
	if (getifaddrs(&ifs) != 0)
		ifs = NULL;
}

/* Loopback, or an address of one of this machine's interfaces (read once). */
static bool is_local(const struct dest *d)
{
	if (d->family == AF_INET && d->a[0] == 127)
		return true;
	if (d->family == AF_INET6 && IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)d->a))
		return true;
	pthread_once(&ifs_once, load_ifs);
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		struct dest x;
		if (i->ifa_addr && parse_dest(i->ifa_addr, sizeof(struct sockaddr_storage), &x) &&
		    x.family == d->family && memcmp(x.a, d->a, 16) == 0)
			return true;
	}
	return false;
}

static socklen_t make_addr(struct sockaddr_storage *ss, int family, const unsigned char *a,
			   uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (void *)ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		memcpy(&s->sin_addr, a, 4);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s = (void *)ss;
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	memcpy(&s->sin6_addr, a, 16);
	return sizeof(*s);
}

/* Put `with` at the application's descriptor number fd (the kernel closes
 * what was there), keeping fd's close-on-exec flag (fdfl); under the table
 * lock, so that no wrapped dup or close of fd runs in between.  dup3's
 * result. */
static int take_over_fd(int with, int fd, int fdfl)
{
	rfl_table_lock();
	int rc = REAL(dup3)(with, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0);
	rfl_table_unlock();
	return rc;
}

/* Drop a connection nobody holds yet (its region goes with it); its hidden
 * descriptor stays open, for the caller to close with the others. */
static void conn_discard(struct rfl_conn *c)
{
	atomic_store(&c->refs, 0);
	c->hidden = -1;
	rfl_conn_free(c);
}

/* ---- listeners ------------------------------------------------------------- */

/* May listen() on fd register with RFloop (a kernel stream socket of an
 * internet family, not already one of ours)? */
static bool listen_target(int fd, struct sockaddr_storage *ss, struct dest *d)
{
	socklen_t sl = sizeof(*ss);

	return !rfl_cfg.disabled && (unsigned)fd < RFL_MAX_FDS && !rfl_any(fd) && rfl_is_stream(fd) &&
	       !REAL(getsockname)(fd, (struct sockaddr *)ss, &sl) &&
	       parse_dest((void *)ss, sl, d);
}

/* What the application's listening fd becomes: an epoll instance that is
 * readable exactly when the TCP socket or the rendezvous socket has a
 * connection waiting (non-blocking if the fd was).  -1 on failure. */
static int listen_epoll(int tcp, int bell, bool nonblock)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	ev.data.fd = tcp;
	if (REAL(epoll_ctl)(ep, EPOLL_CTL_ADD, tcp, &ev))
		goto fail;
	ev.data.fd = bell;
	if (REAL(epoll_ctl)(ep, EPOLL_CTL_ADD, bell, &ev))
		goto fail;
	if (nonblock && REAL(fcntl)(ep, F_SETFL, O_NONBLOCK))
		goto fail;
	return ep;
fail:
	REAL(close)(ep);
	return -1;
}

static struct rfl_listener *listener_new(int tcp, int bell, bool nonblock, int family,
					 uint16_t port)
{
	struct rfl_listener *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->tcp = tcp;
	l->bell = bell;
	l->nonblock = nonblock;
	l->family = family;
	l->port = port;
	l->pool = rfl_pool_open();   /* NULL: every region is mapped anew */
	atomic_store(&l->refs, 1);
	return l;
}

/* Register the listening socket fd and its rendezvous with rfd. */
static bool listen_register(int fd, int bell, uint16_t port)
{
	int give[2] = { fd, bell };

	if (rfl_rfd_call(BASE_RFL_REQ_LISTEN, give, 2, NULL) == 0)
		return true;
	DBG("rfloop: listen fd %d: port %u not registered with rfd; plain TCP", fd, port);
	return false;
}

int rfl_listen_setup(int fd)
{
	struct sockaddr_storage ss;
	struct rfl_listener *l = NULL;
	int ep = -1, tcp = -1, bell = -1;
	struct dest d;

	if (!listen_target(fd, &ss, &d))
		return 0;
	int fl = REAL(fcntl)(fd, F_GETFL), fdfl = REAL(fcntl)(fd, F_GETFD);
	if (fl < 0 || fdfl < 0)
		return 0;
	/* The real socket moves to a hidden fd (taken before the rendezvous,
	 * so a lower number: at exit the kernel closes the listener first);
	 * its file stays shared with fd until the epoll instance takes fd's
	 * place. */
	if ((tcp = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 3)) < 0 || (unsigned)tcp >= RFL_MAX_FDS)
		goto fail;
	if ((bell = rfl_make_bell()) < 0 || (unsigned)bell >= RFL_MAX_FDS ||
	    !listen_register(fd, bell, d.port))
		goto fail;
	if ((ep = listen_epoll(tcp, bell, fl & O_NONBLOCK)) < 0)
		goto fail;
	if (!(l = listener_new(tcp, bell, fl & O_NONBLOCK, ss.ss_family, d.port)))
		goto fail;
	if (take_over_fd(ep, fd, fdfl) < 0)
		goto fail;
	REAL(fcntl)(tcp, F_SETFL, fl | O_NONBLOCK);   /* no longer fd's file: ours to accept on */
	REAL(close)(ep);
	rfl_table_set(tcp, K_HIDDEN, &l->tcp);
	rfl_table_set(bell, K_HIDDEN, &l->bell);
	rfl_table_set(fd, K_LISTEN, l);
	STAT_ADD(ST_LISTEN_RFLOOP, 1);
	DBG("rfloop: listen fd %d: port %u registered with rfd", fd, d.port);
	return 0;
fail:
	if (l)
		rfl_pool_close(l->pool);
	free(l);
	if (ep >= 0)
		REAL(close)(ep);
	if (tcp >= 0)
		REAL(close)(tcp);
	if (bell >= 0)
		REAL(close)(bell);
	return 0;
}

void rfl_listener_free(struct rfl_listener *l)
{
	REAL(close)(l->tcp);   /* first: the entry is dead before its name is free */
	REAL(close)(l->bell);
	rfl_pool_close(l->pool);   /* no longer a holder of the listener: nothing kept */
	free(l);
}

/* ---- accept ---------------------------------------------------------------- */

/* Receive one request; its descriptors in fds (the count returned), or
 * -errno.  With MSG_TRUNC recvmsg returns the datagram's real length, so a
 * longer one fails the size check; a control part cut short can only mean
 * more than BASE_FDPASS_MAX descriptors, which fails the count check.
 * Descriptors of a malformed message are closed here. */
static int recv_req(int bell, struct rfl_req *req, int *fds)
{
	int nfds = 0;
	ssize_t n = base_recv_fds(bell, req, sizeof(*req), fds, BASE_FDPASS_MAX, &nfds,
				  MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(*req) || nfds != RFL_REQ_FDS) {
		for (int i = 0; i < nfds; i++)
			REAL(close)(fds[i]);
		return -EPROTO;
	}
	return nfds;
}

/* Does a request say what our clients say?  (Its descriptors were counted
 * by recv_req; hidden and sock must be Unix stream sockets.) */
static bool req_ok(const struct rfl_req *req, int hidden, int sock)
{
	return rfl_req_ok(req) && (unsigned)hidden < RFL_MAX_FDS && (unsigned)sock < RFL_MAX_FDS &&
	       rfl_is_unix_stream(hidden) && rfl_is_unix_stream(sock);
}

/* The connection a request describes, its socket given accept4's flags;
 * NULL (nothing kept) if anything is wrong with it.  The descriptors stay
 * the caller's. */
static struct rfl_conn *accept_conn(struct rfl_listener *l, const struct rfl_req *req,
				    const int *fds, int flags)
{
	int memfd = fds[0], hidden = fds[1], sock = fds[2];
	struct rfl_region *r;
	struct rfl_conn *c;

	if (!req_ok(req, hidden, sock) || !(r = rfl_region_accept(l->pool, memfd, req->size)))
		return NULL;
	if (!(c = rfl_conn_new(r, req->size, 0, hidden))) {
		rfl_region_put(r);
		return NULL;
	}
	if ((!(flags & SOCK_CLOEXEC) && REAL(fcntl)(sock, F_SETFD, 0)) ||
	    ((flags & SOCK_NONBLOCK) && REAL(fcntl)(sock, F_SETFL, O_RDWR | O_NONBLOCK))) {
		conn_discard(c);
		return NULL;
	}
	c->nonblock = flags & SOCK_NONBLOCK;
	c->family = req->server.ss_family;
	c->local = req->server;
	c->local_len = req->server_len;
	c->peer = req->client;
	c->peer_len = req->client_len;
	return c;
}

/* Hand an accepted connection to the application: the server's socket
 * (fds[2]) is the new descriptor, the doorbell end (fds[1]) our hidden
 * one; the memfd is no longer needed (a mapping holds the region). */
static int accept_install(struct rfl_conn *c, const int *fds, struct sockaddr *addr,
			  socklen_t *alen)
{
	int sock = fds[2];

	REAL(close)(fds[0]);
	rfl_table_set(fds[1], K_HIDDEN, &c->hidden);
	rfl_table_set(sock, K_CONN, c);
	if (addr && alen) {
		socklen_t give = *alen < c->peer_len ? *alen : c->peer_len;
		memcpy(addr, &c->peer, give);
		*alen = c->peer_len;
	}
	STAT_ADD(ST_ACCEPT_RFLOOP, 1);
	DBG("rfloop: accepted fd %d over RFloop (%u-byte rings)", sock, c->rx.size);
	return sock;
}

int rfl_accept_rfloop(struct rfl_listener *l, struct sockaddr *addr, socklen_t *alen, int flags)
{
	for (int tries = 0; tries < 64; tries++) {
		struct rfl_req req;
		int fds[BASE_FDPASS_MAX];
		int n = recv_req(l->bell, &req, fds);
		if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR)
			return n;
		struct rfl_conn *c = n < 0 ? NULL : accept_conn(l, &req, fds, flags);
		if (c)
			return accept_install(c, fds, addr, alen);
		for (int i = 0; i < n; i++)
			REAL(close)(fds[i]);
		STAT_ADD(ST_REJECTED, 1);
		rfl_log("rfloop: dropped a malformed connection request for port %u", l->port);
	}
	return -EAGAIN;
}

/* ---- connect --------------------------------------------------------------- */

/* Options a program may have set before connect(): carried over. */
static void keep_opts(int fd, struct rfl_conn *c)
{
	static const int keep[][2] = {
		{ IPPROTO_TCP, TCP_NODELAY }, { SOL_SOCKET, SO_KEEPALIVE },
		{ SOL_SOCKET, SO_RCVTIMEO },  { SOL_SOCKET, SO_SNDTIMEO },
	};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]) && c->nopts < RFL_MAX_OPTS; i++) {
		struct rfl_opt *o = &c->opts[c->nopts];
		o->len = sizeof(o->val);
		if (REAL(getsockopt)(fd, keep[i][0], keep[i][1], o->val, &o->len) == 0) {
			o->level = keep[i][0];
			o->name = keep[i][1];
			c->nopts++;
		}
	}
	for (int i = 0; i < c->nopts; i++) {
		struct timeval tv;
		if (c->opts[i].level != SOL_SOCKET || c->opts[i].len != sizeof(tv))
			continue;
		memcpy(&tv, c->opts[i].val, sizeof(tv));
		int64_t ns = (int64_t)tv.tv_sec * 1000000000 + tv.tv_usec * 1000;
		if (c->opts[i].name == SO_RCVTIMEO)
			c->rcvtimeo_ns = ns;
		else if (c->opts[i].name == SO_SNDTIMEO)
			c->sndtimeo_ns = ns;
	}
}

/* Should connect(fd, addr) go over RFloop: a stream socket of ours to a
 * local address whose port a listener registered (its entry into e)? */
static bool connect_target(int fd, const struct sockaddr *addr, socklen_t alen, struct dest *d,
			   struct base_rfl_entry *e)
{
	/* the table last: a process that never connects a local stream
	 * socket (a DNS query to 127.0.0.53) never asks rfd for it */
	return !rfl_cfg.disabled && addr && (unsigned)fd < RFL_MAX_FDS &&
	       parse_dest(addr, alen, d) && is_local(d) && rfl_is_stream(fd) &&
	       rfl_reg_lookup(d->family, d->a, d->port, e);
}

/* What the client builds before it asks: the region and two socketpairs.
 * a: our doorbell (a[0], becomes fd) and its far end for the server;
 * b: the server's socket (b[0]) and its far end, our hidden fd.  -1 (and
 * NULL) for what is not made or no longer ours. */
struct conn_parts {
	struct rfl_region *reg;
	int a[2], b[2];
};
#define CONN_PARTS_NONE { .reg = NULL, .a = { -1, -1 }, .b = { -1, -1 } }

/* The region for the listener of entry e (pool.c), and the socketpairs. */
static int parts_make(struct conn_parts *p, const struct base_rfl_entry *e)
{
	if (!(p->reg = rfl_region_take(e->bell_ino, e->tcp_cookie, rfl_cfg.ring_size)))
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->a) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->b) ||
	    (unsigned)p->b[1] >= RFL_MAX_FDS)
		return -1;
	return 0;
}

/* Undo what parts_make made and is still ours; the region was never
 * offered to anyone (or its request failed): retired. */
static void parts_close(struct conn_parts *p)
{
	int fds[] = { p->a[0], p->a[1], p->b[0], p->b[1] };

	if (p->reg)
		rfl_region_drop(p->reg);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			REAL(close)(fds[i]);
	*p = (struct conn_parts)CONN_PARTS_NONE;
}

/* A port for our end, as the kernel would pick an ephemeral one (only
 * getsockname shows it: a forked child may repeat its parent's). */
static uint16_t client_port(void)
{
	static _Atomic uint32_t next_port;
	uint32_t n = atomic_fetch_add(&next_port, 1);
	if (n == 0)   /* first use in this process: start somewhere of its own */
		atomic_store(&next_port, (n = (uint32_t)getpid() * 131u) + 1);
	return (uint16_t)(40000 + n % 20000u);
}

/* Ask the listener of entry e: one datagram with the request and, as
 * SCM_RIGHTS, the region's memfd, the server's doorbell end and the
 * server's socket, sent only on a socket the kernel confirmed reaches e's
 * rendezvous.  The two sockets are the listener's once sent: closed here;
 * the memfd stays the region's (its next request sends it again). */
static bool send_req(const struct base_rfl_entry *e, const struct dest *d, uint16_t port,
		     struct conn_parts *p)
{
	struct rfl_req req = { .magic = RFL_REQ_MAGIC, .abi = RFL_ABI, .size = rfl_cfg.ring_size };
	int give[RFL_REQ_FDS] = { p->reg->memfd, p->a[1], p->b[0] };

	req.server_len = make_addr(&req.server, d->family, d->a, d->port);
	req.client_len = make_addr(&req.client, d->family, d->a, port);
	if (rfl_reg_send(e, d->family, d->a, d->port, &req, sizeof(req), give, RFL_REQ_FDS))
		return false;
	REAL(close)(p->a[1]);
	REAL(close)(p->b[0]);
	p->a[1] = p->b[0] = -1;
	return true;
}

/* The client's view of the connection: options set before connect(),
 * blocking mode, addresses. */
static void conn_describe(struct rfl_conn *c, int fd, int fl, const struct sockaddr *addr,
			  const struct dest *d, uint16_t port)
{
	keep_opts(fd, c);
	c->nonblock = fl & O_NONBLOCK;
	c->family = addr->sa_family;
	c->local_len = make_addr(&c->local, d->family, d->a, port);
	c->peer_len = make_addr(&c->peer, d->family, d->a, d->port);
}

/* The request is sent: the application's fd becomes our doorbell socket
 * (the kernel closes the TCP socket that was there).  1, or -errno. */
static int connect_install(int fd, int fdfl, struct rfl_conn *c, struct conn_parts *p)
{
	if (c->nonblock)
		REAL(fcntl)(p->a[0], F_SETFL, O_RDWR | O_NONBLOCK);
	rfl_epoll_detach(fd);   /* nginx adds its upstream socket to epoll before connect */
	int rc = take_over_fd(p->a[0], fd, fdfl), err = errno;
	rfl_epoll_attach(fd);
	REAL(close)(p->a[0]);
	if (rc < 0) {
		/* The listener will see EOF at once. */
		atomic_store(&c->refs, 0);
		rfl_conn_free(c);
		return -err;
	}
	rfl_table_set(p->b[1], K_HIDDEN, &c->hidden);
	rfl_table_set(fd, K_CONN, c);
	STAT_ADD(ST_CONNECT_RFLOOP, 1);
	return 1;
}

int rfl_connect_try(int fd, const struct sockaddr *addr, socklen_t alen)
{
	struct conn_parts p = CONN_PARTS_NONE;
	struct base_rfl_entry e;
	struct rfl_conn *c = NULL;
	struct dest d;

	if (!connect_target(fd, addr, alen, &d, &e))
		return 0;
	int fl = REAL(fcntl)(fd, F_GETFL), fdfl = REAL(fcntl)(fd, F_GETFD);
	if (fl < 0 || fdfl < 0)
		return 0;
	if (parts_make(&p, &e) < 0)
		goto fallback;
	uint16_t port = client_port();
	if (!(c = rfl_conn_new(p.reg, rfl_cfg.ring_size, 1, p.b[1])))
		goto fallback;
	if (!send_req(&e, &d, port, &p)) {
		DBG("rfloop: connect fd %d: port %u: %s; kernel TCP", fd, d.port, strerror(errno));
		goto fallback;
	}
	conn_describe(c, fd, fl, addr, &d, port);
	int rc = connect_install(fd, fdfl, c, &p);
	if (rc > 0)
		DBG("rfloop: connect fd %d to port %u over RFloop", fd, d.port);
	return rc;

fallback:
	if (c) {
		c->reg = NULL;     /* never offered: retired with the parts, not kept */
		conn_discard(c);
	}
	parts_close(&p);
	return 0;
}
