/*
 * req.h - an RFloop connection request as it travels from a client to a
 * listener's rendezvous socket, and the checks a listener makes of it
 * (internal to RFloop; the listener side is shared by librfloop.so's
 * rendezvous.c and librf, which serves RFloop connections natively:
 * src/librf/loop_listen.c).
 *
 * One datagram: struct rfl_req, and as SCM_RIGHTS exactly RFL_REQ_FDS
 * descriptors in this order: the region's memfd, the listener's doorbell
 * end (the far end of the client's own socket: a byte written there wakes
 * the client) and the listener's socket (the application's descriptor on
 * the listener's side: the client's doorbell bytes arrive there).  The
 * client may be hostile: everything here is checked before use, and a
 * region is mapped only from a memfd sealed against shrinking whose size
 * is exactly the region's.
 */
#ifndef RF_RFLOOP_REQ_H
#define RF_RFLOOP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RFL_REQ_MAGIC 0x51524c52u   /* "RLRQ" */
#define RFL_REQ_FDS   3             /* memfd, listener's doorbell end, listener's socket */

struct rfl_req {
	uint32_t magic, abi;
	uint32_t size;                /* bytes of each direction's ring */
	uint32_t client_len, server_len;
	uint32_t pad;
	struct sockaddr_storage client, server;
};

/* Magic, ABI and two plausible internet addresses. */
bool rfl_req_ok(const struct rfl_req *req);

/* A Unix stream socket (the request's two sockets must be). */
bool rfl_is_unix_stream(int fd);
/* A stream socket of any family. */
bool rfl_is_stream(int fd);

/* A listener's rendezvous: a datagram socket (non-blocking,
 * close-on-exec) bound to an abstract name the kernel picks (autobind:
 * free by construction; whoever binds it later is told apart by its
 * inode, registry.c).  -1 on failure. */
int rfl_make_bell(void);

/* Map a request's memfd as a region of `size`-byte rings, if it is one:
 * sealed against shrinking, a regular file of exactly the region's size,
 * a header that agrees (ring.h).  mmap_flags are added to MAP_SHARED.
 * The mapping (its length rfl_region_size(size)), or NULL. */
void *rfl_region_map_fd(int memfd, uint32_t size, int mmap_flags);

#endif
