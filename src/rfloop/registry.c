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
 * checked against the kernel, two sock_diag questions of a few
 * microseconds: would a TCP connection to this address:port reach the
 * registered listener (its cookie), and is the socket our request goes
 * to the registered rendezvous socket (its inode; the request socket is
 * connected first, which pins the peer, so the answer cannot change
 * before the send).  Any doubt means kernel TCP.
 */
#define _GNU_SOURCE
#include "rfloop/rfloop.h"
#include "base/fdpass.h"
#include "base/sockdiag.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- asking rfd --------------------------------------------------------------- */

static int rfd_connect(void)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct timeval tv = { 2, 0 };   /* a stuck rfd costs listen() 2 s, then TCP */
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -1;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", rfl_cfg.socket);
	if (REAL(setsockopt)(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    REAL(setsockopt)(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    REAL(connect)(s, (struct sockaddr *)&un, sizeof(un))) {
		REAL(close)(s);
		return -1;
	}
	return s;
}

/* Send `req` with fds, read the one answer line (and a descriptor into
 * *fd_out if given).  0 if rfd said ok, else -1 (DBG says why). */
int rfl_rfd_call(const char *req, const int *fds, int nfds, int *fd_out)
{
	char ans[1024];
	size_t got = 0;
	int s = rfd_connect(), rc = -1;

	if (fd_out)
		*fd_out = -1;
	if (s < 0 || base_send_fds(s, req, strlen(req), fds, nfds, 0) != (ssize_t)strlen(req))
		goto out;
	while (got < sizeof(ans) - 1 && !memchr(ans, '\n', got)) {
		int fd = -1, n = 0;
		ssize_t r = base_recv_fds(s, ans + got, sizeof(ans) - 1 - got, &fd, 1, &n, 0);
		if (r <= 0)
			goto out;
		got += (size_t)r;
		if (n && fd_out && *fd_out < 0)
			*fd_out = fd;
		else if (n)
			REAL(close)(fd);
	}
	ans[got] = '\0';
	rc = strstr(ans, "\"ok\":true") ? 0 : -1;
	if (rc)
		DBG("rfloop: rfd at %s refused: %s", rfl_cfg.socket, ans);
out:
	if (rc && fd_out && *fd_out >= 0) {
		REAL(close)(*fd_out);
		*fd_out = -1;
	}
	if (s >= 0)
		REAL(close)(s);
	else
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

/* Is the datagram socket s (connected) talking to e's rendezvous socket,
 * and does the kernel route family/addr:port to e's listener? */
static bool entry_true(int s, const struct base_rfl_entry *e, int family, const uint8_t *addr,
		       uint16_t port)
{
	struct stat st;
	uint64_t peer = 0;
	bool ok = false;

	if (fstat(s, &st))
		return false;
	pthread_mutex_lock(&nl_lock);
	int nl = nl_get();
	ok = nl >= 0 && base_sockdiag_unix_peer(nl, st.st_ino, &peer) == 0 &&
	     peer == e->bell_ino &&
	     base_sockdiag_tcp_listener_is(nl, family, addr, port, e->tcp_cookie) == 1;
	pthread_mutex_unlock(&nl_lock);
	return ok;
}

int rfl_reg_open_bell(const struct base_rfl_entry *e, int family, const uint8_t *addr,
		      uint16_t port)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + e->bell_len);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -1;
	memcpy(un.sun_path + 1, e->bell, e->bell_len);
	if (REAL(connect)(s, (struct sockaddr *)&un, len)) {
		DBG("rfloop: port %u: its rendezvous is gone (%s); kernel TCP", port,
		    strerror(errno));
		goto fail;
	}
	if (!entry_true(s, e, family, addr, port)) {
		DBG("rfloop: port %u: the registered listener is not the kernel's; kernel TCP",
		    port);
		goto fail;
	}
	return s;
fail:
	REAL(close)(s);
	return -1;
}
