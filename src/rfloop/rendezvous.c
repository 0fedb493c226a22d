/*
 * rendezvous.c - how an RFloop connection is born: the registry of
 * listeners, the client's connection request, the listener's accept.
 *
 * Registry.  A listener preloaded with librfloop that calls listen() on a
 * TCP socket binds a Unix *datagram* socket at DIR/<port>.any (wildcard
 * bind) or DIR/<port>.<4|6>.<address in hex>, DIR being RF_LOOP_DIR or
 * /dev/shm/rfloop.<euid> (a subOS of kind linux shares /dev/shm with the
 * host: rfd gives it new mount, pid, UTS and IPC namespaces, not a new
 * network or /dev/shm).  The kernel keeps this registry honest: a name
 * whose socket is gone refuses datagrams (ECONNREFUSED), so a stale entry
 * costs one failed send and the fall back to TCP, and pids (meaningless
 * across pid namespaces) are never needed.  No shared table to validate.
 *
 * Request.  connect() to a local address (loopback, or an address of one
 * of this machine's interfaces) whose port is registered builds the whole
 * connection on the client side: a sealed memfd with both rings (sealed
 * against shrinking, so the listener can map it without fearing SIGBUS)
 * and two socketpairs, and sends the listener one datagram carrying the
 * addresses and, as SCM_RIGHTS, the memfd, the server's doorbell end of
 * the client's socketpair and the server's socket of the other one.  A
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
 * size within bounds, a memfd sealed against shrinking whose real size is
 * the region's, a region header that agrees (ring.c), Unix stream sockets
 * for the two sockets, sane addresses.  A bad request is dropped and
 * counted ("rejected"); the next one is served.
 */
#define _GNU_SOURCE
#include "rfloop/rfloop.h"
#include "base/fdpass.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define REQ_MAGIC 0x51524c52u   /* "RLRQ" */
#define REQ_FDS   3             /* memfd, server's doorbell end, server's socket */

struct rfl_req {
	uint32_t magic, abi;
	uint32_t size;
	uint32_t client_len, server_len;
	uint32_t pad;
	struct sockaddr_storage client, server;
};

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

static bool is_any(const struct dest *d)
{
	static const unsigned char zero[16];
	return memcmp(d->a, zero, d->family == AF_INET ? 4 : 16) == 0;
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

/* DIR/<port>.any or DIR/<port>.<4|6>.<hex>; false if it does not fit. */
static bool reg_path(char *out, size_t size, const struct dest *d, bool any)
{
	int n;
	if (any)
		n = snprintf(out, size, "%s/%u.any", rfl_cfg.dir, d->port);
	else {
		char hex[33];
		int len = d->family == AF_INET ? 4 : 16;
		for (int i = 0; i < len; i++)
			snprintf(hex + 2 * i, 3, "%02x", d->a[i]);
		n = snprintf(out, size, "%s/%u.%c.%s", rfl_cfg.dir, d->port,
			     d->family == AF_INET ? '4' : '6', hex);
	}
	return n > 0 && (size_t)n < size;
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

static bool addr_ok(const struct sockaddr_storage *ss, uint32_t len)
{
	return (ss->ss_family == AF_INET && len == sizeof(struct sockaddr_in)) ||
	       (ss->ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6));
}

/* ---- listeners ------------------------------------------------------------- */

/* Bind a datagram socket at path; a stale name (nobody bound) is replaced.
 * Returns the socket, or -1 (a live listener owns the name, or an error). */
static int bind_bell(const char *path)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (bind(s, (struct sockaddr *)&un, sizeof(un)) == 0)
		return s;
	if (errno == EADDRINUSE) {
		int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int rc = probe < 0 ? 0 : REAL(connect)(probe, (struct sockaddr *)&un, sizeof(un));
		int err = errno;
		if (probe >= 0)
			REAL(close)(probe);
		if (rc < 0 && err == ECONNREFUSED && unlink(path) == 0 &&
		    bind(s, (struct sockaddr *)&un, sizeof(un)) == 0)
			return s;
	}
	REAL(close)(s);
	return -1;
}

int rfl_listen_setup(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int type = 0, ep = -1, tcp = -1, bell = -1;
	socklen_t tl = sizeof(type);
	struct rfl_listener *l = NULL;
	struct dest d;
	char path[108];

	if (rfl_cfg.disabled || (unsigned)fd >= RFL_MAX_FDS || rfl_any(fd))
		return 0;
	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &type, &tl) || type != SOCK_STREAM ||
	    REAL(getsockname)(fd, (struct sockaddr *)&ss, &sl) || !parse_dest((void *)&ss, sl, &d))
		return 0;
	if (!reg_path(path, sizeof(path), &d, is_any(&d)))
		return 0;
	mkdir(rfl_cfg.dir, 0700);
	if ((bell = bind_bell(path)) < 0) {
		DBG("rfloop: listen fd %d: %s is taken; plain TCP", fd, path);
		return 0;
	}
	int fl = REAL(fcntl)(fd, F_GETFL), fdfl = REAL(fcntl)(fd, F_GETFD);
	if (fl < 0 || fdfl < 0)
		goto fail;
	if ((tcp = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 3)) < 0 || (unsigned)tcp >= RFL_MAX_FDS ||
	    (unsigned)bell >= RFL_MAX_FDS)
		goto fail;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto fail;
	struct epoll_event ev = { .events = EPOLLIN };
	ev.data.fd = tcp;
	if (REAL(epoll_ctl)(ep, EPOLL_CTL_ADD, tcp, &ev))
		goto fail;
	ev.data.fd = bell;
	if (REAL(epoll_ctl)(ep, EPOLL_CTL_ADD, bell, &ev))
		goto fail;
	if ((fl & O_NONBLOCK) && REAL(fcntl)(ep, F_SETFL, O_NONBLOCK))
		goto fail;
	if (!(l = calloc(1, sizeof(*l))))
		goto fail;
	l->tcp = tcp;
	l->bell = bell;
	l->owner = getpid();
	l->nonblock = fl & O_NONBLOCK;
	l->family = ss.ss_family;
	snprintf(l->path, sizeof(l->path), "%s", path);
	atomic_store(&l->refs, 1);
	rfl_table_lock();
	/* From here the application's fd is the epoll instance; the real socket
	 * (its file shared with the dup) is non-blocking for our accepts. */
	if (REAL(dup3)(ep, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		rfl_table_unlock();
		goto fail;
	}
	REAL(fcntl)(tcp, F_SETFL, fl | O_NONBLOCK);
	rfl_table_unlock();
	REAL(close)(ep);
	rfl_table_set(tcp, K_HIDDEN, &l->tcp);
	rfl_table_set(bell, K_HIDDEN, &l->bell);
	rfl_table_set(fd, K_LISTEN, l);
	STAT_ADD(ST_LISTEN_RFLOOP, 1);
	DBG("rfloop: listen fd %d: port %u registered as %s", fd, d.port, path);
	return 0;
fail:
	free(l);
	if (ep >= 0)
		REAL(close)(ep);
	if (tcp >= 0)
		REAL(close)(tcp);
	unlink(path);
	REAL(close)(bell);
	return 0;
}

void rfl_listener_free(struct rfl_listener *l)
{
	if (l->owner == getpid())
		unlink(l->path);
	REAL(close)(l->tcp);
	REAL(close)(l->bell);
	free(l);
}

/* ---- accept ---------------------------------------------------------------- */

static bool is_unix_stream(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);
	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) || v != AF_UNIX)
		return false;
	len = sizeof(v);
	return REAL(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == SOCK_STREAM;
}

/* Map the request's memfd; NULL if it is not what the request says. */
static void *map_region(int memfd, uint32_t size, size_t *len)
{
	struct stat st;
	size_t need = rfl_region_size(size);
	int seals = REAL(fcntl)(memfd, F_GET_SEALS);
	if (!need || seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(memfd, &st) ||
	    !S_ISREG(st.st_mode) || (size_t)st.st_size != need)
		return NULL;
	void *mem = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (mem == MAP_FAILED)
		return NULL;
	if (rfl_region_check(mem, need) != (long)size) {
		munmap(mem, need);
		return NULL;
	}
	*len = need;
	return mem;
}

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
	if (n != (ssize_t)sizeof(*req) || nfds != REQ_FDS) {
		for (int i = 0; i < nfds; i++)
			REAL(close)(fds[i]);
		return -EPROTO;
	}
	return nfds;
}

int rfl_accept_rfloop(struct rfl_listener *l, struct sockaddr *addr, socklen_t *alen, int flags)
{
	for (int tries = 0; tries < 64; tries++) {
		struct rfl_req req;
		int fds[BASE_FDPASS_MAX];
		size_t len = 0;
		void *mem = NULL;
		struct rfl_conn *c = NULL;
		int n = recv_req(l->bell, &req, fds);
		if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR)
			return n;
		if (n < 0)
			goto reject;
		int memfd = fds[0], hidden = fds[1], sock = fds[2];
		if (req.magic != REQ_MAGIC || req.abi != RFL_ABI ||
		    !addr_ok(&req.client, req.client_len) || !addr_ok(&req.server, req.server_len) ||
		    (unsigned)hidden >= RFL_MAX_FDS || (unsigned)sock >= RFL_MAX_FDS ||
		    !is_unix_stream(hidden) || !is_unix_stream(sock))
			goto reject_fds;
		if (!(mem = map_region(memfd, req.size, &len)))
			goto reject_fds;
		if (!(c = rfl_conn_new(mem, len, req.size, 0, hidden)))
			goto reject_fds;
		if (!(flags & SOCK_CLOEXEC) && REAL(fcntl)(sock, F_SETFD, 0))
			goto reject_fds;
		if ((flags & SOCK_NONBLOCK) && REAL(fcntl)(sock, F_SETFL, O_RDWR | O_NONBLOCK))
			goto reject_fds;
		c->nonblock = flags & SOCK_NONBLOCK;
		c->family = req.server.ss_family;
		c->local = req.server;
		c->local_len = req.server_len;
		c->peer = req.client;
		c->peer_len = req.client_len;
		REAL(close)(memfd);
		rfl_table_set(hidden, K_HIDDEN, &c->hidden);
		rfl_table_set(sock, K_CONN, c);
		if (addr && alen) {
			socklen_t give = *alen < c->peer_len ? *alen : c->peer_len;
			memcpy(addr, &c->peer, give);
			*alen = c->peer_len;
		}
		STAT_ADD(ST_ACCEPT_RFLOOP, 1);
		DBG("rfloop: accepted fd %d over RFloop (%u-byte rings)", sock, req.size);
		return sock;
reject_fds:
		if (c) {
			atomic_store(&c->refs, 0);
			c->hidden = -1;   /* closed below with the others */
			rfl_conn_free(c);
		} else if (mem) {
			munmap(mem, len);
		}
		for (int i = 0; i < n; i++)
			REAL(close)(fds[i]);
reject:
		STAT_ADD(ST_REJECTED, 1);
		rfl_log("rfloop: dropped a malformed connection request on %s", l->path);
	}
	return -EAGAIN;
}

/* ---- connect --------------------------------------------------------------- */

static pthread_mutex_t sender_lock = PTHREAD_MUTEX_INITIALIZER;
static int sender = -1;   /* one unbound datagram socket per process */

static int get_sender(void)
{
	pthread_mutex_lock(&sender_lock);
	if (sender < 0) {
		int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s >= 0 && (unsigned)s < RFL_MAX_FDS) {
			sender = s;
			rfl_table_set(s, K_HIDDEN, &sender);
		} else if (s >= 0) {
			REAL(close)(s);
		}
	}
	int s = sender;
	pthread_mutex_unlock(&sender_lock);
	return s;
}

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

int rfl_connect_try(int fd, const struct sockaddr *addr, socklen_t alen)
{
	struct dest d;
	char path[108];
	int type = 0, memfd = -1, a[2] = { -1, -1 }, b[2] = { -1, -1 };
	socklen_t tl = sizeof(type);
	void *mem = MAP_FAILED;
	size_t len = rfl_region_size(rfl_cfg.ring_size);
	struct rfl_conn *c = NULL;

	if (rfl_cfg.disabled || !addr || (unsigned)fd >= RFL_MAX_FDS || !parse_dest(addr, alen, &d) ||
	    !is_local(&d))
		return 0;
	if (!reg_path(path, sizeof(path), &d, false) || access(path, F_OK) != 0)
		if (!reg_path(path, sizeof(path), &d, true) || access(path, F_OK) != 0)
			return 0;
	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &type, &tl) || type != SOCK_STREAM)
		return 0;
	int fl = REAL(fcntl)(fd, F_GETFL), fdfl = REAL(fcntl)(fd, F_GETFD);
	int s = get_sender();
	if (fl < 0 || fdfl < 0 || s < 0)
		return 0;

	if ((memfd = memfd_create("rfloop", MFD_CLOEXEC | MFD_ALLOW_SEALING)) < 0 ||
	    ftruncate(memfd, (off_t)len) ||
	    REAL(fcntl)(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		goto fallback;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (mem == MAP_FAILED || rfl_region_format(mem, len, rfl_cfg.ring_size))
		goto fallback;
	/* a: our doorbell (a[0], becomes fd) and its far end for the server;
	 * b: the server's socket (b[0]) and its far end, our hidden fd. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b) || (unsigned)b[1] >= RFL_MAX_FDS)
		goto fallback;
	struct rfl_req req = { .magic = REQ_MAGIC, .abi = RFL_ABI, .size = rfl_cfg.ring_size };
	static _Atomic uint32_t next_port;
	uint16_t port = (uint16_t)(40000 + ((uint32_t)getpid() * 131u +
					    atomic_fetch_add(&next_port, 1)) % 20000u);
	req.server_len = make_addr(&req.server, d.family, d.a, d.port);
	req.client_len = make_addr(&req.client, d.family, d.a, port);
	if (!(c = rfl_conn_new(mem, len, rfl_cfg.ring_size, 1, b[1])))
		goto fallback;

	struct sockaddr_un un = { .sun_family = AF_UNIX };
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	int give[REQ_FDS] = { memfd, a[1], b[0] };
	if (base_sendto_fds(s, (struct sockaddr *)&un, sizeof(un), &req, sizeof(req), give, REQ_FDS,
			    MSG_DONTWAIT) != (ssize_t)sizeof(req)) {
		DBG("rfloop: connect fd %d: %s: %s; kernel TCP", fd, path, strerror(errno));
		goto fallback;
	}
	REAL(close)(memfd);
	REAL(close)(a[1]);
	REAL(close)(b[0]);
	memfd = a[1] = b[0] = -1;

	keep_opts(fd, c);
	c->nonblock = fl & O_NONBLOCK;
	c->family = addr->sa_family;
	c->local_len = make_addr(&c->local, d.family, d.a, port);
	c->peer_len = make_addr(&c->peer, d.family, d.a, d.port);
	if (c->nonblock)
		REAL(fcntl)(a[0], F_SETFL, O_RDWR | O_NONBLOCK);
	/* The application's fd becomes our doorbell socket (the kernel closes
	 * the TCP socket that was there). */
	rfl_table_lock();
	int rc = REAL(dup3)(a[0], fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0);
	rfl_table_unlock();
	if (rc < 0) {
		/* The request is sent: the listener will see EOF at once. */
		int err = errno;
		atomic_store(&c->refs, 0);
		rfl_conn_free(c);
		REAL(close)(a[0]);
		return -err;
	}
	REAL(close)(a[0]);
	rfl_table_set(b[1], K_HIDDEN, &c->hidden);
	rfl_table_set(fd, K_CONN, c);
	STAT_ADD(ST_CONNECT_RFLOOP, 1);
	DBG("rfloop: connect fd %d to port %u over RFloop", fd, d.port);
	return 1;

fallback:
	if (c) {
		atomic_store(&c->refs, 0);
		c->hidden = -1;
		rfl_conn_free(c);
		mem = MAP_FAILED;
	}
	if (mem != MAP_FAILED)
		munmap(mem, len);
	int fds[] = { memfd, a[0], a[1], b[0], b[1] };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			REAL(close)(fds[i]);
	return 0;
}
