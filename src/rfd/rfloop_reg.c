/*
 * rfloop_reg.c - the RFloop registry: who may receive RFloop connections
 * for a TCP port, decided by rfd alone.
 *
 * A listener registers by passing rfd, with rfloop_listen, the listening
 * TCP socket itself and the Unix datagram socket (bound to an abstract
 * name) on which it takes connection requests.  Holding the listening
 * socket is the proof: rfd checks with the kernel that it is TCP, in
 * LISTEN state, not shared through SO_REUSEPORT, and reads its address,
 * port and cookie; nothing the caller says is believed.  The port's slot
 * is taken only if no live listener holds it on the same address (live:
 * the kernel still routes the address:port to that listener's cookie;
 * sock_diag), so a registration can replace only a dead one or its own.
 *
 * rfd keeps no descriptor of either socket: holding the TCP socket would
 * keep the port bound after its owner closed it, and holding the
 * rendezvous socket would keep a name whose reader is gone.  It keeps
 * identities instead (the TCP socket's cookie, the rendezvous socket's
 * inode), and clients check them at every connect (src/rfloop), so an
 * entry whose listener died is harmless until a new registration of the
 * port replaces it.
 *
 * The table is a sealed memfd (src/base/rfloop_table.h): created and
 * mapped on first use, then sealed with F_SEAL_FUTURE_WRITE, so only the
 * mapping made before the seal (rfd's) can write it; rfloop_table hands
 * clients the fd.  One table per rfd process: a restarted rfd starts an
 * empty one (listeners registered before are reached over TCP).
 */
#define _GNU_SOURCE
#include "rfd/rfloop_reg.h"
#include "base/sockdiag.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

static struct {
	int memfd;
	struct base_rfl_table *tab;
	int nl;
} reg = { .memfd = -1, .nl = -1 };

static int sockopt_int(int fd, int opt, int *v)
{
	socklen_t len = sizeof(*v);
	*v = 0;
	return getsockopt(fd, SOL_SOCKET, opt, v, &len);
}

/* Store the TCP socket's bound address (v4-mapped stay v6). */
static int tcp_addr(int fd, struct base_rfl_entry *e)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	static const uint8_t zero[16];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return -1;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&ss;
		e->port = ntohs(s->sin_port);
		memcpy(e->addr, &s->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *s = (const void *)&ss;
		e->port = ntohs(s->sin6_port);
		memcpy(e->addr, &s->sin6_addr, 16);
	}
	e->family = ss.ss_family;
	e->any = memcmp(e->addr, zero, 16) == 0;
	return 0;
}

int rfd_rfloop_check_tcp(int fd, struct base_rfl_entry *e, struct base_err *err)
{
	int dom, type, proto, acc, reuse;
	uint64_t cookie = 0;
	socklen_t cl = sizeof(cookie);

	if (sockopt_int(fd, SO_DOMAIN, &dom) || (dom != AF_INET && dom != AF_INET6) ||
	    sockopt_int(fd, SO_TYPE, &type) || type != SOCK_STREAM ||
	    sockopt_int(fd, SO_PROTOCOL, &proto) || proto != IPPROTO_TCP)
		return base_errf(err, BASE_E_PERMISSION_DENIED,
				 "rfloop_listen: the first descriptor is not a TCP socket");
	if (sockopt_int(fd, SO_ACCEPTCONN, &acc) || !acc)
		return base_errf(err, BASE_E_PERMISSION_DENIED,
				 "rfloop_listen: the TCP socket is not listening (call listen first)");
	if (sockopt_int(fd, SO_REUSEPORT, &reuse) || reuse)
		return base_errf(err, BASE_E_PERMISSION_DENIED,
				 "rfloop_listen: a socket with SO_REUSEPORT shares its port with "
				 "others; it is served over TCP only");
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &cl) || tcp_addr(fd, e))
		return base_errf(err, BASE_E_INTERNAL, "rfloop_listen: cannot read the socket: %s",
				 strerror(errno));
	e->tcp_cookie = cookie;
	return 0;
}

int rfd_rfloop_check_bell(int fd, struct base_rfl_entry *e, struct base_err *err)
{
	struct sockaddr_un un;
	socklen_t sl = sizeof(un);
	struct stat st;
	int dom, type;

	if (sockopt_int(fd, SO_DOMAIN, &dom) || dom != AF_UNIX ||
	    sockopt_int(fd, SO_TYPE, &type) || type != SOCK_DGRAM || fstat(fd, &st))
		return base_errf(err, BASE_E_PERMISSION_DENIED,
				 "rfloop_listen: the second descriptor is not a Unix datagram "
				 "socket");
	memset(&un, 0, sizeof(un));
	if (getsockname(fd, (struct sockaddr *)&un, &sl) ||
	    sl <= offsetof(struct sockaddr_un, sun_path) + 1 || un.sun_path[0] != '\0' ||
	    sl - offsetof(struct sockaddr_un, sun_path) - 1 > BASE_RFL_NAME)
		return base_errf(err, BASE_E_PERMISSION_DENIED,
				 "rfloop_listen: the rendezvous socket is not bound to an abstract "
				 "name of at most %d bytes", BASE_RFL_NAME);
	e->bell_len = (uint8_t)(sl - offsetof(struct sockaddr_un, sun_path) - 1);
	memcpy(e->bell, un.sun_path + 1, e->bell_len);
	e->bell_ino = st.st_ino;
	return 0;
}

int rfd_rfloop_place(const struct base_rfl_table *t, const struct base_rfl_entry *e,
		     rfd_rfloop_live_fn *live, void *ctx, struct base_err *err)
{
	const struct base_rfl_entry *slot = t->e[e->port];
	int freeway = -1;

	for (int w = 0; w < BASE_RFL_WAYS; w++) {
		const struct base_rfl_entry *x = &slot[w];
		bool dead = !x->family || (x->tcp_cookie != e->tcp_cookie && !live(x, ctx));
		if (x->family && x->tcp_cookie == e->tcp_cookie)
			return w;   /* the same listener again: its new rendezvous wins */
		if (!dead && base_rfl_entry_overlaps(x, e))
			return base_errf(err, BASE_E_PERMISSION_DENIED,
					 "rfloop_listen: port %u is served over RFloop by another "
					 "live listener", e->port);
		if (dead && freeway < 0)
			freeway = w;
	}
	if (freeway < 0)
		return base_errf(err, BASE_E_PERMISSION_DENIED,
				 "rfloop_listen: port %u has %d live RFloop listeners on other "
				 "addresses already", e->port, BASE_RFL_WAYS);
	return freeway;
}

void rfd_rfloop_store(struct base_rfl_table *t, int way, const struct base_rfl_entry *e)
{
	struct base_rfl_entry *x = &t->e[e->port][way];
	uint32_t s = atomic_load_explicit(&x->seq, memory_order_relaxed);

	atomic_store_explicit(&x->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy((char *)x + sizeof(x->seq), (const char *)e + sizeof(e->seq),
	       sizeof(*e) - sizeof(e->seq));
	atomic_store_explicit(&x->seq, s + 2, memory_order_release);
}

/* The table, made on first use: a memfd mapped by rfd, then sealed so no
 * other mapping or write can change it. */
static int table_init(struct base_err *err)
{
	if (reg.tab)
		return 0;
	int fd = memfd_create("rfloop-registry", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *mem = MAP_FAILED;

	if (fd < 0 || ftruncate(fd, sizeof(struct base_rfl_table)))
		goto fail;
	mem = mmap(NULL, sizeof(struct base_rfl_table), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL))
		goto fail;
	reg.tab = mem;   /* zero-filled: every entry free */
	reg.tab->ports = BASE_RFL_PORTS;
	reg.tab->ways = BASE_RFL_WAYS;
	reg.tab->abi = BASE_RFL_ABI;
	reg.tab->magic = BASE_RFL_MAGIC;
	reg.memfd = fd;
	return 0;
fail:
	base_errf(err, BASE_E_INTERNAL, "cannot make the RFloop registry: %s", strerror(errno));
	if (mem != MAP_FAILED)
		munmap(mem, sizeof(struct base_rfl_table));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Live: the kernel still routes x's address:port to x's listener.  When
 * it cannot tell, the entry is kept (a live listener is never displaced). */
static bool live_diag(const struct base_rfl_entry *x, void *ctx)
{
	int *nl = ctx;

	if (*nl < 0 && (*nl = base_sockdiag_open()) < 0)
		return true;
	return base_sockdiag_tcp_listener_is(*nl, x->family, x->addr, x->port, x->tcp_cookie) != 0;
}

static struct json_object *do_listen(const int *fds, int nfds, struct base_err *err)
{
	struct base_rfl_entry e;
	struct json_object *r;
	int way;

	memset(&e, 0, sizeof(e));
	if (nfds != 2) {
		base_errf(err, BASE_E_BAD_REQUEST,
			  "rfloop_listen takes two descriptors (the listening TCP socket and the "
			  "rendezvous socket), not %d", nfds);
		return NULL;
	}
	if (rfd_rfloop_check_tcp(fds[0], &e, err) || rfd_rfloop_check_bell(fds[1], &e, err) ||
	    table_init(err) || (way = rfd_rfloop_place(reg.tab, &e, live_diag, &reg.nl, err)) < 0)
		return NULL;
	rfd_rfloop_store(reg.tab, way, &e);
	r = json_object_new_object();
	json_object_object_add(r, "port", json_object_new_int(e.port));
	json_object_object_add(r, "any_address", json_object_new_boolean(e.any));
	return r;
}

struct json_object *rfd_rfloop_verb(const struct base_request *req, const int *fds, int nfds,
				    int *pass_fd, struct base_err *err)
{
	if (req->verb == RF_VERB_RFLOOP_LISTEN)
		return do_listen(fds, nfds, err);
	if (table_init(err))
		return NULL;
	if ((*pass_fd = fcntl(reg.memfd, F_DUPFD_CLOEXEC, 0)) < 0) {
		base_errf(err, BASE_E_INTERNAL, "cannot pass the RFloop registry: %s",
			  strerror(errno));
		return NULL;
	}
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "size", json_object_new_int64(sizeof(struct base_rfl_table)));
	return r;
}
