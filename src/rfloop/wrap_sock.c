/*
 * wrap_sock.c - the socket-management calls librfloop wraps: connect,
 * listen, accept, accept4, close, shutdown, dup, dup2, dup3, fcntl
 * (F_GETFL/F_SETFL/F_DUPFD*), ioctl (FIONBIO, FIONREAD, SIOCOUTQ),
 * setsockopt, getsockopt, getsockname, getpeername, poll and select
 * (the epoll calls are in epoll.c).
 *
 * On an RFloop connection the application's fd is a Unix socket, so
 * everything that would tell it so is answered from the connection:
 * names are the TCP addresses, SO_DOMAIN/SO_PROTOCOL/SO_TYPE say TCP,
 * options set are remembered and read back (SO_RCVTIMEO and SO_SNDTIMEO
 * are honoured; TCP_NODELAY and the rest need no work: there is no Nagle
 * to turn off).  On an RFloop listener (an epoll fd, see rendezvous.c)
 * they go to the real TCP socket.  Every other fd goes to the real call.
 *
 * poll and select add one thing: a connection flagged `unsignalled`
 * (conn.c) is reported readable.  They cost one load when none is.
 * close, dup2 and dup3 tell epoll.c which fd they close, so that it
 * forgets the epoll registrations it recorded for it.
 */
#define _GNU_SOURCE
#include "rfloop/rfloop.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (rfl_any(fd)) {
		if (rfl_conn_of(fd)) {
			errno = EISCONN;
			return -1;
		}
		struct rfl_listener *l = rfl_listener_of(fd);
		return REAL(connect)(l ? l->tcp : fd, addr, len);
	}
	int r = rfl_connect_try(fd, addr, len);
	if (r > 0)
		return 0;
	if (r < 0) {
		errno = -r;
		return -1;
	}
	if (addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6))
		STAT_ADD(ST_CONNECT_TCP, 1);
	return REAL(connect)(fd, addr, len);
}

EXPORT int listen(int fd, int backlog)
{
	struct rfl_listener *l = rfl_listener_of(fd);
	if (l)
		return REAL(listen)(l->tcp, backlog);
	if (rfl_conn_of(fd)) {
		errno = EINVAL;
		return -1;
	}
	int r = REAL(listen)(fd, backlog);
	if (r == 0)
		rfl_listen_setup(fd);
	return r;
}

static int do_accept(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	struct rfl_listener *l = rfl_listener_of(fd);
	if (!l) {
		if (rfl_conn_of(fd)) {
			errno = EINVAL;
			return -1;
		}
		return REAL(accept4)(fd, addr, alen, flags);
	}
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		errno = EINVAL;
		return -1;
	}
	for (;;) {
		int r = rfl_accept_rfloop(l, addr, alen, flags);
		if (r >= 0)
			return r;
		r = REAL(accept4)(l->tcp, addr, alen, flags);
		if (r >= 0) {
			STAT_ADD(ST_ACCEPT_TCP, 1);
			return r;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (l->nonblock)
			return -1;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (REAL(poll)(&p, 1, -1) < 0 && errno == EINTR)
			return -1;
	}
}

EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *alen)
{
	return do_accept(fd, addr, alen, 0);
}

EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	return do_accept(fd, addr, alen, flags);
}

EXPORT int close(int fd)
{
	rfl_epoll_forget(fd);
	if (!rfl_any(fd))
		return REAL(close)(fd);
	return rfl_table_close(fd);
}

EXPORT int shutdown(int fd, int how)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (c)
		return rfl_conn_shutdown(c, fd, how);
	struct rfl_listener *l = rfl_listener_of(fd);
	return REAL(shutdown)(l ? l->tcp : fd, how);
}

/* ---- descriptors ------------------------------------------------------------ */

EXPORT int dup(int fd)
{
	int r = REAL(dup)(fd);
	if (r >= 0 && rfl_any(fd))
		rfl_table_dup(fd, r);
	return r;
}

static int do_dup3(int from, int to, int flags, bool is_dup2)
{
	if (from == to)
		return is_dup2 ? REAL(dup2)(from, to) : REAL(dup3)(from, to, flags);
	if (rfl_is_hidden(from) || (rfl_any(to) && rfl_table_clobber(to) < 0)) {
		if (rfl_is_hidden(from))
			errno = EBADF;
		return -1;
	}
	rfl_epoll_forget(to);   /* the kernel closes what `to` was */
	int r = is_dup2 ? REAL(dup2)(from, to) : REAL(dup3)(from, to, flags);
	if (r >= 0 && rfl_any(from))
		rfl_table_dup(from, r);
	return r;
}

EXPORT int dup2(int from, int to)
{
	return do_dup3(from, to, 0, true);
}

EXPORT int dup3(int from, int to, int flags)
{
	return do_dup3(from, to, flags, false);
}

static int do_fcntl(int fd, int cmd, void *arg)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	struct rfl_listener *l = c ? NULL : rfl_listener_of(fd);
	if (!c && !l)
		return REAL(fcntl)(fd, cmd, arg);
	int r = REAL(fcntl)(fd, cmd, arg);
	if (r < 0)
		return r;
	switch (cmd) {
	case F_SETFL: {
		bool nb = ((int)(intptr_t)arg & O_NONBLOCK) != 0;
		if (c)
			c->nonblock = nb;
		else
			l->nonblock = nb;
		break;
	}
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		rfl_table_dup(fd, r);
		break;
	}
	return r;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	struct rfl_conn *c = rfl_conn_of(fd);
	struct rfl_listener *l = c ? NULL : rfl_listener_of(fd);
	if (c && (req == FIONREAD || req == SIOCOUTQ)) {
		if (!arg) {
			errno = EFAULT;
			return -1;
		}
		*(int *)arg = (int)(req == FIONREAD ? rfl_conn_inq(c) : rfl_conn_outq(c));
		return 0;
	}
	int r = REAL(ioctl)(fd, req, arg);
	if (r == 0 && req == FIONBIO && arg) {
		bool nb = *(int *)arg != 0;
		if (c)
			c->nonblock = nb;
		else if (l)
			l->nonblock = nb;
	}
	return r;
}

/* ---- options and names -------------------------------------------------------- */

static struct rfl_opt *find_opt(struct rfl_conn *c, int level, int name)
{
	for (int i = 0; i < c->nopts; i++)
		if (c->opts[i].level == level && c->opts[i].name == name)
			return &c->opts[i];
	return NULL;
}

EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (!c) {
		struct rfl_listener *l = rfl_listener_of(fd);
		return REAL(setsockopt)(l ? l->tcp : fd, level, name, val, len);
	}
	if (len > 0 && !val) {
		errno = EFAULT;
		return -1;
	}
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		struct timeval tv;
		if (len < sizeof(tv)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(&tv, val, sizeof(tv));
		if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) {
			errno = EDOM;
			return -1;
		}
		int64_t ns = tv.tv_sec < 0 ? 0 : (int64_t)tv.tv_sec * 1000000000 + tv.tv_usec * 1000;
		if (name == SO_RCVTIMEO)
			c->rcvtimeo_ns = ns;
		else
			c->sndtimeo_ns = ns;
	}
	struct rfl_opt *o = find_opt(c, level, name);
	if (!o && c->nopts < RFL_MAX_OPTS)
		o = &c->opts[c->nopts++];
	if (o && len <= sizeof(o->val)) {
		o->level = level;
		o->name = name;
		o->len = len;
		memcpy(o->val, val, len);
	}
	return 0;
}

static int give(void *val, socklen_t *len, const void *v, socklen_t vlen)
{
	if (!val || !len) {
		errno = EFAULT;
		return -1;
	}
	socklen_t n = *len < vlen ? *len : vlen;
	memcpy(val, v, n);
	*len = n;
	return 0;
}

EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (!c) {
		struct rfl_listener *l = rfl_listener_of(fd);
		return REAL(getsockopt)(l ? l->tcp : fd, level, name, val, len);
	}
	struct rfl_opt *o = find_opt(c, level, name);
	int v = 0;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_TYPE: v = SOCK_STREAM; return give(val, len, &v, sizeof(v));
		case SO_DOMAIN: v = c->family; return give(val, len, &v, sizeof(v));
		case SO_PROTOCOL: v = IPPROTO_TCP; return give(val, len, &v, sizeof(v));
		case SO_ACCEPTCONN: return give(val, len, &v, sizeof(v));
		case SO_ERROR: v = c->err; return give(val, len, &v, sizeof(v));
		case SO_RCVBUF:
		case SO_SNDBUF:
			if (!o) {
				v = (int)c->rx.size;
				return give(val, len, &v, sizeof(v));
			}
			break;
		case SO_RCVTIMEO:
		case SO_SNDTIMEO:
		case SO_LINGER:
			if (!o) {
				unsigned char z[16] = { 0 };
				return give(val, len, z, name == SO_LINGER ? sizeof(struct linger)
									 : sizeof(struct timeval));
			}
			break;
		}
	} else if (level == IPPROTO_TCP && name == TCP_INFO) {
		struct tcp_info ti;
		memset(&ti, 0, sizeof(ti));
		ti.tcpi_state = TCP_ESTABLISHED;
		return give(val, len, &ti, sizeof(ti));
	}
	if (o)
		return give(val, len, o->val, o->len);
	return give(val, len, &v, sizeof(v));
}

static int name_of(int fd, struct sockaddr *addr, socklen_t *alen, bool peer)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (!c) {
		struct rfl_listener *l = rfl_listener_of(fd);
		return (peer ? REAL(getpeername) : REAL(getsockname))(l ? l->tcp : fd, addr, alen);
	}
	if (peer && (c->eof || c->err)) {
		errno = ENOTCONN;
		return -1;
	}
	socklen_t full = peer ? c->peer_len : c->local_len;
	if (give(addr, alen, peer ? &c->peer : &c->local, full))
		return -1;
	*alen = full;   /* the whole length, even when truncated */
	return 0;
}

EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *alen)
{
	return name_of(fd, addr, alen, false);
}

EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *alen)
{
	return name_of(fd, addr, alen, true);
}

/* ---- readiness ------------------------------------------------------------------ */

static bool unsignalled_ready(int fd)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	return c && atomic_load_explicit(&c->unsignalled, memory_order_relaxed) &&
	       rfl_conn_inq(c) > 0;
}

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (!atomic_load_explicit(&rfl_unsignalled, memory_order_relaxed))
		return REAL(poll)(fds, n, timeout);
	bool any = false;
	for (nfds_t i = 0; i < n && !any; i++)
		any = (fds[i].events & POLLIN) && unsignalled_ready(fds[i].fd);
	if (!any)
		return REAL(poll)(fds, n, timeout);
	int r = REAL(poll)(fds, n, 0);
	if (r < 0)
		return r;
	r = 0;
	for (nfds_t i = 0; i < n; i++) {
		if ((fds[i].events & POLLIN) && unsignalled_ready(fds[i].fd))
			fds[i].revents |= POLLIN;
		r += fds[i].revents != 0;
	}
	return r;
}

EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	extern void __chk_fail(void) __attribute__((noreturn));
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return poll(fds, n, timeout);
}

EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	if (!atomic_load_explicit(&rfl_unsignalled, memory_order_relaxed) || !r)
		return REAL(select)(nfds, r, w, e, tv);
	fd_set extra;
	FD_ZERO(&extra);
	bool any = false;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++)
		if (FD_ISSET(fd, r) && unsignalled_ready(fd)) {
			FD_SET(fd, &extra);
			any = true;
		}
	if (!any)
		return REAL(select)(nfds, r, w, e, tv);
	struct timeval zero = { 0, 0 };
	int n = REAL(select)(nfds, r, w, e, &zero);
	if (n < 0)
		return n;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++)
		if (FD_ISSET(fd, &extra) && !FD_ISSET(fd, r)) {
			FD_SET(fd, r);
			n++;
		}
	return n;
}
