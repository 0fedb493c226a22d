/*
 * rfloop_table.h - the RFloop registry's layout: which listener serves a
 * TCP port over RFloop, as rfd publishes it and librfloop reads it.
 *
 * The table lives in one memfd per rfd instance (src/rfd/rfloop_reg.c).
 * rfd maps it writable, then seals it with F_SEAL_FUTURE_WRITE, so from
 * then on nobody (root included) can write it through a new mapping or
 * write(2): rfd keeps the only writable mapping.  Clients get the fd once
 * per process (the rfloop_table verb) and map it read-only, so a look-up
 * at connect() is a memory read, not a round trip to rfd.
 *
 * One slot per port and address family pair of ways, direct-indexed by
 * port (a sparse 8 MiB file: only pages of registered ports are ever
 * touched).  Each entry has its own sequence count (odd while rfd writes
 * it), read with base_rfl_entry_read.
 *
 * An entry is only a claim made when rfd checked it: that the listening
 * TCP socket with cookie `tcp_cookie` was bound to addr:port and that the
 * Unix datagram socket with inode `bell_ino`, bound to the abstract name
 * `bell`, was passed along with it.  A client trusts it only after it
 * checks, at every connect, that the kernel would hand a TCP connection to
 * that very listener (sock_diag) and that the socket its datagram goes to
 * is that very rendezvous socket (src/base/sockdiag.h).
 */
#ifndef RF_BASE_RFLOOP_TABLE_H
#define RF_BASE_RFLOOP_TABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#define BASE_RFL_MAGIC 0x54524c52u   /* "RLRT" */
#define BASE_RFL_ABI   1
#define BASE_RFL_PORTS 65536
#define BASE_RFL_WAYS  2             /* listeners on one port, on other addresses */
#define BASE_RFL_NAME  22            /* bytes of an abstract name (after its NUL) */

/* The two requests librfloop sends rfd, written by hand (the preloaded
 * library links no JSON library); tests/unit/test_rfloop_reg.c checks that
 * rfd's codec reads them as these verbs. */
#define BASE_RFL_REQ_LISTEN "{\"version\":1,\"id\":1,\"verb\":\"rfloop_listen\"}\n"
#define BASE_RFL_REQ_TABLE  "{\"version\":1,\"id\":1,\"verb\":\"rfloop_table\"}\n"

struct base_rfl_entry {
	_Atomic uint32_t seq;     /* odd while rfd writes the entry */
	uint16_t family;          /* AF_INET, AF_INET6; 0: the entry is free */
	uint16_t port;            /* host order */
	uint8_t addr[16];         /* bound address; all zero: any address */
	uint64_t tcp_cookie;      /* SO_COOKIE of the listening TCP socket */
	uint64_t bell_ino;        /* inode of the rendezvous socket */
	uint8_t bell_len;         /* bytes of bell */
	uint8_t any;              /* bound to the wildcard address */
	char bell[BASE_RFL_NAME]; /* abstract name, without its leading NUL */
};

struct base_rfl_table {
	uint32_t magic, abi;
	uint32_t ports, ways;
	uint8_t pad[48];
	struct base_rfl_entry e[BASE_RFL_PORTS][BASE_RFL_WAYS];
};

_Static_assert(sizeof(struct base_rfl_entry) == 64, "an entry is one cache line");

/* A consistent copy of *e into *out; false if it is free or being
 * rewritten too often to read. */
static inline bool base_rfl_entry_read(const struct base_rfl_entry *e, struct base_rfl_entry *out)
{
	for (int tries = 0; tries < 64; tries++) {
		uint32_t s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		memcpy((char *)out + sizeof(out->seq), (const char *)e + sizeof(e->seq),
		       sizeof(*e) - sizeof(e->seq));
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&e->seq, memory_order_relaxed) == s1)
			return out->family != 0;
	}
	return false;
}

/* Does entry x serve a connection to family/addr (16 bytes, v4 in the
 * first 4)?  (A wildcard entry serves its own family only.) */
static inline bool base_rfl_entry_serves(const struct base_rfl_entry *x, int family,
					 const uint8_t *addr)
{
	return x->family == family &&
	       (x->any || memcmp(x->addr, addr, family == AF_INET ? 4 : 16) == 0);
}

/* Would x and y take the same connections (rfd keeps one of them)? */
static inline bool base_rfl_entry_overlaps(const struct base_rfl_entry *x,
					   const struct base_rfl_entry *y)
{
	return x->port == y->port && x->family == y->family &&
	       (x->any || y->any || memcmp(x->addr, y->addr, 16) == 0);
}

#endif
