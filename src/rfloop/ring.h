/*
 * ring.h - RFloop's byte-stream rings: the shared layout of one RFloop
 * connection and the two sides' private views of it (internal).
 *
 * A connection is one memfd region holding two single-producer
 * single-consumer byte rings, one per direction (client to server, server
 * to client).  The layout is an ABI between two processes that do not
 * trust each other: fixed-size naturally aligned fields, RFL_ABI bumped
 * on any change.  Each direction keeps what one side writes often on its
 * own pair of cache lines (the adjacent-line prefetcher pulls lines in
 * pairs), as FICM does:
 *
 *      0  region header: magic, abi, ring size, total bytes, token (written
 *         by the creator each time it hands the region to a connection,
 *         read once by the attacher)
 *    128  direction 0 (client -> server):
 *            +0    tail, rings      (writer)
 *            +128  head             (reader)
 *            +256  armed, want_space, rd_closed, wr_closed  (flags, rarely
 *                  written)
 *    512  direction 1 (server -> client), same shape
 *    896  gone[2]: how each side let go of the region (creator, attacher)
 *   4096  data of direction 0 (size bytes), then data of direction 1
 *
 * Indices are free-running 64-bit byte counters; offset = index & (size-1).
 *
 * The flags make the doorbell protocol of conn.c work (see there): `armed`
 * is set by the reader when it may wait and taken (exchanged to 0) by the
 * writer that then rings; `rings` counts those rings so that the reader
 * drains only the doorbell bytes it knows of; `want_space` is set by a
 * writer that found the ring full and taken by the reader that frees
 * space; `rd_closed` says the reader closed its end for good, `wr_closed`
 * that the writer did (close or shutdown): EOF once the ring is drained,
 * seen by a spinning reader without a system call.  (The kernel says the
 * same through the doorbell socket's EOF; the flags only make it cheap.
 * A peer that lies with them only ends its own connection.)
 *
 * A region outlives its connection (pool.c): `token` is the creator's
 * random name for it, by which the attacher finds the mapping it kept;
 * `gone[side]` says whether that side released the region (it keeps it
 * mapped, the pair may use it again) or retired it (never again).  Any
 * other value reads as retired.
 *
 * Nothing read from the region is trusted: ring.c validates every index
 * (0 <= tail - head <= size), keeps its own side's index privately and
 * never re-reads the geometry after attaching.  A violation makes the
 * view corrupt for good (-EBADMSG), never an access outside the region.
 */
#ifndef RF_RFLOOP_RING_H
#define RF_RFLOOP_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define RFL_MAGIC     0x504f4c52u  /* "RLOP" little endian */
#define RFL_ABI       2
#define RFL_DATA_OFF  4096
#define RFL_SIZE_MIN  4096u
#define RFL_SIZE_MAX  (16u << 20)

struct rfl_dir {
	alignas(128) _Atomic uint64_t tail;
	_Atomic uint64_t rings;
	alignas(128) _Atomic uint64_t head;
	alignas(128) _Atomic uint32_t armed;
	_Atomic uint32_t want_space;
	_Atomic uint32_t rd_closed;
	_Atomic uint32_t wr_closed;
};

struct rfl_hdr {
	alignas(128) _Atomic uint32_t magic;
	_Atomic uint32_t abi;
	_Atomic uint32_t size;      /* bytes of one direction's data */
	_Atomic uint32_t pad;
	_Atomic uint64_t bytes;     /* rfl_region_size(size) */
	_Atomic uint64_t token;     /* the creator's name for the region; 0: none */
	alignas(128) struct rfl_dir dir[2];
	alignas(128) _Atomic uint32_t gone[2];   /* enum rfl_gone, per side */
};

_Static_assert(offsetof(struct rfl_hdr, dir) == 128, "layout");
_Static_assert(sizeof(struct rfl_dir) == 384, "layout");
_Static_assert(offsetof(struct rfl_hdr, gone) == 896, "layout");
_Static_assert(sizeof(struct rfl_hdr) <= RFL_DATA_OFF, "layout");

/* The two sides of a region: its creator (the client) and its attacher. */
enum rfl_side { RFL_CREATOR = 0, RFL_ATTACHER = 1 };

/* How a side let go of a region (gone[side]). */
enum rfl_gone { RFL_LIVE = 0, RFL_RELEASED = 1, RFL_RETIRED = 2 };

enum rfl_role { RFL_WRITER = 1, RFL_READER = 2 };

/* One side's private view of one direction. */
struct rfl_ring {
	struct rfl_dir *d;
	uint8_t *data;
	uint32_t size, mask;
	enum rfl_role role;
	int err;          /* sticky: 0 or -EBADMSG */
	uint64_t pos;     /* writer: its tail; reader: its head (never re-read) */
	uint64_t peer;    /* last validated index of the other side */
};

/* Bytes a region with rings of `size` bytes each takes; 0 if size is not a
 * power of two in [RFL_SIZE_MIN, RFL_SIZE_MAX]. */
size_t rfl_region_size(uint32_t size);

/* Write an empty region (both directions, both sides live, token 0)
 * into mem. */
int rfl_region_format(void *mem, size_t len, uint32_t size);

/* The creator names a formatted region (before handing it over). */
void rfl_region_set_token(void *mem, uint64_t token);
uint64_t rfl_region_token(void *mem);

/* Side `side` lets go of the region for good or not (`how`: RFL_RELEASED
 * or RFL_RETIRED); returns what the other side said so far
 * (sequentially consistent: of two sides letting go at once, at least
 * one sees the other's word). */
enum rfl_gone rfl_region_leave(void *mem, enum rfl_side side, enum rfl_gone how);
/* What the other side of `side` said so far. */
enum rfl_gone rfl_region_peer(void *mem, enum rfl_side side);

/* Read the header once and check it against the region's real length;
 * returns the ring size (> 0) or -EINVAL. */
long rfl_region_check(void *mem, size_t len);

/* Attach one side of direction `dir` (0 or 1) of a checked region. */
int rfl_ring_attach(struct rfl_ring *r, void *mem, size_t len, uint32_t size, int dir,
		    enum rfl_role role);

/* ---- writer ---- */

/* Free bytes (validated), or -EBADMSG. */
long rfl_ring_space(struct rfl_ring *r);

/* Copy up to `max` bytes gathered from iov[0..n) into the ring and publish
 * the tail (sequentially consistent, so that a following rfl_ring_take_arm
 * cannot miss a reader that armed).  Returns the bytes written (0 when
 * full) or -EBADMSG. */
long rfl_ring_write(struct rfl_ring *r, const struct iovec *iov, int n, size_t max);

/* After publishing: true if the reader armed the doorbell and this call
 * took the arm (the caller must then ring it once); counts the ring. */
bool rfl_ring_take_arm(struct rfl_ring *r);

/* ---- reader ---- */

/* Bytes ready to read (validated), or -EBADMSG. */
long rfl_ring_ready(struct rfl_ring *r);

/* Copy up to `max` bytes into iov[0..n).  Unless peek, consume them and
 * publish the head (sequentially consistent).  Returns the bytes copied
 * (0 when empty) or -EBADMSG. */
long rfl_ring_read(struct rfl_ring *r, const struct iovec *iov, int n, size_t max, bool peek);

/* Drop up to `max` ready bytes without copying them. */
long rfl_ring_skip(struct rfl_ring *r, size_t max);

/* After consuming: true if the writer said it waits for space and this
 * call took that (the caller must then release the writer). */
bool rfl_ring_take_want_space(struct rfl_ring *r);

#endif
