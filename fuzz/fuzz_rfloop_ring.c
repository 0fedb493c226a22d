/*
 * fuzz_rfloop_ring.c - libFuzzer target: arbitrary bytes as an RFloop
 * connection region (src/rfloop/ring.c) and as the index values a hostile
 * peer writes into it while one endpoint reads and writes.
 *
 * The endpoint is what conn.c makes of a region: rfl_region_check, then a
 * reader on direction d and a writer on direction 1-d.  Between its calls
 * the peer scribbles anywhere in the region, sets any index or flag to any
 * value, or behaves (publishes a tail or a head that is consistent).
 * Whatever happens, the endpoint must never crash or touch memory outside
 * the region or the caller's buffers (all exactly sized heap blocks that
 * ASan guards), must never report more bytes than asked, than its buffers
 * hold or than a ring holds, and a ring found corrupt stays corrupt.
 *
 * Input:
 *   byte 0     mode: bits 0-1 the region's real length (4096, 12160,
 *              12288, 20480 bytes); bit 2 the direction d read; bit 3 a
 *              validly formatted region (no header image follows)
 *   then       unless bit 3, the header image: sizeof(struct rfl_hdr)
 *              bytes copied over the region's start (missing bytes zero)
 *   then       12-byte steps: op, arg, off (2 bytes), val (8 bytes), all
 *              little endian; op % 8 picks
 *                0  the peer writes val (8 bytes) at region[off % len]
 *                1  the peer stores val into index or flag field arg % 12
 *                2  read into arg % 5 iovecs sized from val, at most off
 *                   bytes, peeking if arg & 0x80
 *                3  skip up to off bytes
 *                4  ready, then take want_space
 *                5  write from arg % 5 iovecs sized from val, at most off
 *                6  space, then take the doorbell arm
 *                7  a well-behaved peer: arg & 1 ? consume everything the
 *                   endpoint wrote : publish val % (size + 1) bytes
 *
 * Seeds (fuzz/corpus/fuzz_rfloop_ring) are made by
 * fuzz/mkseed_rfloop_ring.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rfloop/ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STEP 12
#define NIOV 4

static const size_t lengths[4] = { RFL_DATA_OFF, RFL_DATA_OFF + 2 * RFL_SIZE_MIN - 128,
				   RFL_DATA_OFF + 2 * RFL_SIZE_MIN, RFL_DATA_OFF + 4 * RFL_SIZE_MIN };

struct ep {
	uint8_t *mem;
	size_t len;
	uint32_t size;
	int d;
	struct rfl_ring r, w;      /* reader of d, writer of 1 - d */
	uint8_t *buf[NIOV];
};

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The index and flag fields a peer may set (offset, width). */
static void field(unsigned k, size_t *off, int *width)
{
	static const size_t f64[] = { offsetof(struct rfl_dir, tail), offsetof(struct rfl_dir, rings),
				      offsetof(struct rfl_dir, head) };
	static const size_t f32[] = { offsetof(struct rfl_dir, armed),
				      offsetof(struct rfl_dir, want_space),
				      offsetof(struct rfl_dir, rd_closed) };
	size_t dir = offsetof(struct rfl_hdr, dir) + (k & 1) * sizeof(struct rfl_dir);
	k >>= 1;
	if (k < 3) {
		*off = dir + f64[k], *width = 8;
	} else if (k < 5) {
		*off = dir + f32[k - 3], *width = 4;
	} else {   /* after attaching nobody re-reads the geometry: try anyway */
		*off = offsetof(struct rfl_hdr, size), *width = 4;
	}
}

/* Build n iovecs over exactly sized buffers; sizes from the 8 bytes v. */
static int iovs(struct ep *e, struct iovec *iov, int n, const uint8_t *v, size_t *total)
{
	*total = 0;
	for (int i = 0; i < n; i++) {
		size_t len = le(v + 2 * i, 2) % (2 * RFL_SIZE_MIN + 1);
		free(e->buf[i]);
		e->buf[i] = len ? malloc(len) : NULL;
		if (len && !e->buf[i])
			return -1;
		if (len)
			memset(e->buf[i], 0x5a, len);
		iov[i].iov_base = e->buf[i];
		iov[i].iov_len = len;
		*total += len;
	}
	return 0;
}

/* A result of a ring call: an error only -EBADMSG, and sticky. */
static void check(long got, size_t limit, const struct rfl_ring *r, bool was_bad)
{
	if (got < 0 ? got != -EBADMSG || !r->err : (size_t)got > limit || was_bad)
		abort();
}

static void peer_behaves(struct ep *e, const uint8_t *s)
{
	struct rfl_hdr *h = (struct rfl_hdr *)e->mem;
	if (s[1] & 1) {   /* consume what the endpoint wrote */
		struct rfl_dir *o = &h->dir[1 - e->d];
		atomic_store(&o->head, atomic_load(&o->tail));
		return;
	}
	struct rfl_dir *in = &h->dir[e->d];
	atomic_store(&in->tail, atomic_load(&in->head) + le(s + 4, 8) % (e->size + 1));
}

static void step(struct ep *e, const uint8_t *s)
{
	struct iovec iov[NIOV];
	size_t off = (size_t)le(s + 2, 2), total = 0, lim;
	int n = s[1] % 5, width;
	bool rbad = e->r.err != 0, wbad = e->w.err != 0;
	long got;

	switch (s[0] % 8) {
	case 0:
		memcpy(e->mem + off % (e->len - 7), s + 4, 8);
		break;
	case 1:
		field(s[1] % 12, &off, &width);
		memcpy(e->mem + off, s + 4, (size_t)width);
		break;
	case 2:
		if (iovs(e, iov, n, s + 4, &total))
			return;
		got = rfl_ring_read(&e->r, iov, n, off, s[1] & 0x80);
		lim = total < off ? total : off;
		check(got, lim < e->size ? lim : e->size, &e->r, rbad);
		break;
	case 3:
		got = rfl_ring_skip(&e->r, off);
		check(got, off < e->size ? off : e->size, &e->r, rbad);
		break;
	case 4:
		check(rfl_ring_ready(&e->r), e->size, &e->r, rbad);
		rfl_ring_take_want_space(&e->r);
		break;
	case 5:
		if (iovs(e, iov, n, s + 4, &total))
			return;
		got = rfl_ring_write(&e->w, iov, n, off);
		lim = total < off ? total : off;
		check(got, lim < e->size ? lim : e->size, &e->w, wbad);
		break;
	case 6:
		check(rfl_ring_space(&e->w), e->size, &e->w, wbad);
		rfl_ring_take_arm(&e->w);
		break;
	default:
		peer_behaves(e, s);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ep e = { 0 };
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	const uint8_t *p = data + 1, *end = data + size;
	e.len = lengths[mode & 3];
	e.d = (mode >> 2) & 1;
	if (!(e.mem = aligned_alloc(128, e.len)))
		return 0;
	memset(e.mem, 0, e.len);
	memset(e.mem + RFL_DATA_OFF, 0xa5, e.len - RFL_DATA_OFF);
	if (mode & 8) {
		rfl_region_format(e.mem, e.len, e.len >= rfl_region_size(2 * RFL_SIZE_MIN)
						? 2 * RFL_SIZE_MIN : RFL_SIZE_MIN);
	} else {
		size_t img = (size_t)(end - p) < sizeof(struct rfl_hdr) ? (size_t)(end - p)
									  : sizeof(struct rfl_hdr);
		memcpy(e.mem, p, img);
		p += img;
	}
	long sz = rfl_region_check(e.mem, e.len);
	if (sz >= 0 && (sz < RFL_SIZE_MIN || rfl_region_size((uint32_t)sz) > e.len))
		abort();
	if (sz < 0) {
		/* A caller would stop here; attach must still refuse a region
		 * too short for the geometry it is given. */
		if (e.len < rfl_region_size(RFL_SIZE_MIN) &&
		    rfl_ring_attach(&e.r, e.mem, e.len, RFL_SIZE_MIN, 0, RFL_READER) != -EINVAL)
			abort();
		goto out;
	}
	e.size = (uint32_t)sz;
	if (rfl_ring_attach(&e.r, e.mem, e.len, e.size, e.d, RFL_READER) ||
	    rfl_ring_attach(&e.w, e.mem, e.len, e.size, 1 - e.d, RFL_WRITER))
		goto out;
	for (; end - p >= STEP; p += STEP)
		step(&e, p);
out:
	for (int i = 0; i < NIOV; i++)
		free(e.buf[i]);
	free(e.mem);
	return 0;
}
