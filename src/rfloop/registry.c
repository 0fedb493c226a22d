/*
 * registry.c - librfloop's side of rfd's RFloop registry
 * (src/rfd/rfloop_reg.c, src/base/rfloop_table.h): registering a
 * listener, finding one at connect(), and checking it is who it says.
 *
 * rfd is reached at RF_SOCKET (set in every subOS's environment), else
 * /run/rfd.sock, with the control protocol's own lines written here by
 * hand: the library is preloaded into unmodified programs and links no
 * JSON library, and its two requests have no field but the verb
 * (BASE_RFL_REQ_*; tests/unit/test_rfloop_reg.c checks rfd's codec reads
 * them).
 *
 * listen(): one call, rfloop_listen, passing the listening TCP socket and
 * the rendezvous socket; rfd checks both with the kernel.
 *
 * connect(): the table is fetched once per process (rfloop_table: one
 * round trip, then a read-only mapping that rfd keeps current, inherited
 * across fork), so a look-up is a memory read.  The entry found is then
 * checked against the kernel with sock_diag: the socket the request goes
 * to must be the registered rendezvous (its inode; asked once per process
 * and rendezvous: the request socket is connected first, which pins its
 * peer, and kept), and a TCP connection to the destination must reach the
 * registered listener (its cookie; asked at every connect, a few
 * microseconds).  Any doubt means kernel TCP.
 */
#define _GNU_SOURCE
#include "rfloop/rfloop.h"
#include "base/fdpass.h"
#include "base/rfloop_call.h"
#include "base/sockdiag.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- asking rfd --------------------------------------------------------------- */

/* Send `req` with fds to rfd (base/rfloop_call.c); 0 if it answered ok. */
int rfl_rfd_call(const char *req, const int *fds, int nfds, int *fd_out)
{
	char ans[1024];
	int rc = base_rfl_call(rfl_cfg.socket, req, fds, nfds, fd_out, ans, sizeof(ans));

	if (rc && ans[0])
		DBG("rfloop: rfd at %s refused: %s", rfl_cfg.socket, ans);
	else if (rc)
		DBG("rfloop: no rfd at %s: %s", rfl_cfg.socket, strerror(errno));
	return rc;
}

/* ---- the table ----------------------------------------------------------------- */

static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static const struct base_rfl_table *table;

static void table_fetch(void)
{
	int fd = -1;
	struct stat st;

	if (rfl_rfd_call(BASE_RFL_REQ_TABLE, NULL, 0, &fd) || fstat(fd, &st) ||
	    (size_t)st.st_size != sizeof(struct base_rfl_table))
		goto out;
	void *m = mmap(NULL, sizeof(struct base_rfl_table), PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		goto out;
	const struct base_rfl_table *t = m;
	if (t->magic != BASE_RFL_MAGIC || t->abi != BASE_RFL_ABI ||
	    t->ports != BASE_RFL_PORTS || t->ways != BASE_RFL_WAYS) {
		munmap(m, sizeof(struct base_rfl_table));
		goto out;
	}
	table = t;
out:
	if (fd >= 0)
		REAL(close)(fd);
	if (!table)
		DBG("rfloop: no RFloop registry from rfd at %s: connections use TCP",
		    rfl_cfg.socket);
}

bool rfl_reg_lookup(int family, const uint8_t *addr, uint16_t port, struct base_rfl_entry *out)
{
	pthread_once(&table_once, table_fetch);
	if (!table)
		return false;
	for (int w = 0; w < BASE_RFL_WAYS; w++)
		if (base_rfl_entry_read(&table->e[port][w], out) &&
		    base_rfl_entry_serves(out, family, addr))
			return true;
	return false;
}

/* ---- checking an entry against the kernel ------------------------------------------ */

/* One NETLINK_SOCK_DIAG socket per process (a forked child opens its own:
 * answers must not go to the wrong process), used under a lock. */
static pthread_mutex_t nl_lock = PTHREAD_MUTEX_INITIALIZER;
static int nl_fd = -1;
static pid_t nl_pid;

static int nl_get(void)
{
	if (nl_fd >= 0 && nl_pid == getpid())
		return nl_fd;
	if (nl_fd >= 0) {   /* the parent's: this process's copy goes, the parent keeps it */
		rfl_table_set(nl_fd, K_NONE, NULL);
		REAL(close)(nl_fd);
	}
	nl_fd = base_sockdiag_open();
	if (nl_fd >= 0 && (unsigned)nl_fd < RFL_MAX_FDS && rfl_table_set(nl_fd, K_HIDDEN, &nl_fd))
		nl_pid = getpid();
	else if (nl_fd >= 0) {
		REAL(close)(nl_fd);
		nl_fd = -1;
	}
	return nl_fd;
}

/* Rendezvous sockets already checked, per process: a datagram socket
 * connected to a name stays with the socket it reached (the peer is
 * pinned), so its inode is asked once; the listener's cookie is asked at
 * every connect (a listener may close while its rendezvous lives on).
 * Shared with a forked child, which is harmless: each request is one
 * datagram.  Under nl_lock. */
#define BELLS 8
static struct bell {
	uint64_t ino, cookie;
	int fd;       /* -1: empty (a hidden fd of ours otherwise) */
} bells[BELLS] = { [0 ... BELLS - 1] = { .fd = -1 } };
static unsigned bell_next;

static void bell_drop(struct bell *b)
{
	if (b->fd < 0)
		return;
	rfl_table_set(b->fd, K_NONE, NULL);
	REAL(close)(b->fd);
	b->fd = -1;
}

/* A new socket connected to e's rendezvous, if the kernel says it is. */
static int bell_open(int nl, const struct base_rfl_entry *e)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + e->bell_len);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint64_t peer = 0;
	struct stat st;

	if (s < 0 || (unsigned)s >= RFL_MAX_FDS)
		goto fail;
	memcpy(un.sun_path + 1, e->bell, e->bell_len);
	if (REAL(connect)(s, (struct sockaddr *)&un, len)) {
		DBG("rfloop: port %u: its rendezvous is gone (%s)", e->port, strerror(errno));
		goto fail;
	}
	if (fstat(s, &st) || base_sockdiag_unix_peer(nl, st.st_ino, &peer) || peer != e->bell_ino) {
		DBG("rfloop: port %u: the socket at its rendezvous name is not the registered one",
		    e->port);
		goto fail;
	}
	return s;
fail:
	if (s >= 0)
		REAL(close)(s);
	return -1;
}

/* The checked rendezvous socket of e, from the cache or new (cached). */
static struct bell *bell_get(int nl, const struct base_rfl_entry *e)
{
	for (int i = 0; i < BELLS; i++)
		if (bells[i].fd >= 0 && bells[i].ino == e->bell_ino &&
		    bells[i].cookie == e->tcp_cookie)
			return &bells[i];
	int s = bell_open(nl, e);
	if (s < 0)
		return NULL;
	struct bell *b = &bells[bell_next++ % BELLS];
	bell_drop(b);
	*b = (struct bell){ .ino = e->bell_ino, .cookie = e->tcp_cookie, .fd = s };
	rfl_table_set(s, K_HIDDEN, &b->fd);
	return b;
}

/* A rendezvous queues few requests (net.unix.max_dgram_qlen, 10 by
 * default), and a burst of connects (nginx opening 32 upstream
 * connections at once) fills it faster than a busy listener takes them.
 * A full queue waits for room (poll on a connected datagram socket says
 * when its peer's queue has some) up to BELL_WAIT_MS in all: a connection
 * that falls back to kernel TCP stays there for its whole life.  (Under
 * nl_lock: this process's other connects wait too, as their requests
 * would find the same queue full.) */
#define BELL_WAIT_MS 200

static int bell_send(int s, const void *buf, size_t len, const int *fds, int nfds)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (base_send_fds(s, buf, len, fds, nfds, MSG_DONTWAIT) == (ssize_t)len)
			return 0;
		if (errno != EAGAIN)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = BELL_WAIT_MS - ((t.tv_sec - t0.tv_sec) * 1000 +
					    (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = { .fd = s, .events = POLLOUT };
		if (left <= 0 || REAL(poll)(&p, 1, (int)left) <= 0) {
			errno = EAGAIN;
			return -1;
		}
	}
}

int rfl_reg_send(const struct base_rfl_entry *e, int family, const uint8_t *addr, uint16_t port,
		 const void *buf, size_t len, const int *fds, int nfds)
{
	int rc = -1;

	pthread_mutex_lock(&nl_lock);
	int nl = nl_get();
	struct bell *b = nl < 0 ? NULL : bell_get(nl, e);
	if (!b)
		goto out;
	if (base_sockdiag_tcp_listener_is(nl, family, addr, port, e->tcp_cookie) != 1) {
		DBG("rfloop: port %u: the registered listener is not the kernel's", port);
		goto out;
	}
	if (bell_send(b->fd, buf, len, fds, nfds) == 0)
		rc = 0;
	else if (errno == ECONNREFUSED)
		bell_drop(b);   /* its listener is gone */
out:
	pthread_mutex_unlock(&nl_lock);
	return rc;
}
