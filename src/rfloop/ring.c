/*
 * ring.c - RFloop byte-stream rings: format, check, attach, write, read,
 * and the words by which the two sides let go of a region (layout and
 * contract in ring.h).
 *
 * A writer copies bytes in at its private tail and then publishes the tail
 * once per call; a reader copies bytes out at its private head and then
 * publishes the head once.  Each side reads the other's index only when
 * its cached copy says the ring is full (writer) or empty (reader), so a
 * streaming ring does not bounce the index lines on every call.
 *
 * Validation: the geometry is read once (rfl_region_check, against the
 * real length of the mapping) and kept privately.  Every index read from
 * the region must keep 0 <= tail - head <= size in unsigned arithmetic (a
 * head ahead of the tail, or a tail more than a ring ahead, fails).  Data
 * offsets are always (private index & mask) within the checked geometry,
 * so no value the peer writes can lead an access outside the region; the
 * peer can at worst change the bytes being copied, which it owns anyway.
 * A violation makes the view corrupt for good: -EBADMSG from then on.
 */
#include "rfloop/ring.h"

#include <errno.h>
#include <string.h>

#define LD(p, mo)    atomic_load_explicit((p), memory_order_##mo)
#define ST(p, v, mo) atomic_store_explicit((p), (v), memory_order_##mo)

size_t rfl_region_size(uint32_t size)
{
	if (size < RFL_SIZE_MIN || size > RFL_SIZE_MAX || (size & (size - 1)))
		return 0;
	return RFL_DATA_OFF + 2 * (size_t)size;
}

int rfl_region_format(void *mem, size_t len, uint32_t size)
{
	size_t need = rfl_region_size(size);
	struct rfl_hdr *h = mem;

	if (!mem || !need || len < need || ((uintptr_t)mem % 128))
		return -EINVAL;
	memset(mem, 0, RFL_DATA_OFF);
	for (int i = 0; i < 2; i++)
		ST(&h->dir[i].armed, 1, relaxed);   /* a new reader may wait: ring */
	ST(&h->abi, RFL_ABI, relaxed);
	ST(&h->size, size, relaxed);
	ST(&h->bytes, need, relaxed);
	ST(&h->magic, RFL_MAGIC, release);
	return 0;
}

void rfl_region_set_token(void *mem, uint64_t token)
{
	ST(&((struct rfl_hdr *)mem)->token, token, release);
}

uint64_t rfl_region_token(void *mem)
{
	return LD(&((struct rfl_hdr *)mem)->token, acquire);
}

/* A side's word; a value no side writes (a lying peer) means never again. */
static enum rfl_gone gone_of(struct rfl_hdr *h, enum rfl_side side)
{
	uint32_t v = LD(&h->gone[side], seq_cst);
	return v == RFL_LIVE || v == RFL_RELEASED ? (enum rfl_gone)v : RFL_RETIRED;
}

enum rfl_gone rfl_region_leave(void *mem, enum rfl_side side, enum rfl_gone how)
{
	struct rfl_hdr *h = mem;
	ST(&h->gone[side], (uint32_t)how, seq_cst);
	return gone_of(h, 1 - side);
}

enum rfl_gone rfl_region_peer(void *mem, enum rfl_side side)
{
	return gone_of(mem, 1 - side);
}

long rfl_region_check(void *mem, size_t len)
{
	struct rfl_hdr *h = mem;

	if (!mem || len < RFL_DATA_OFF || ((uintptr_t)mem % 128))
		return -EINVAL;
	if (LD(&h->magic, acquire) != RFL_MAGIC || LD(&h->abi, relaxed) != RFL_ABI)
		return -EINVAL;
	uint32_t size = LD(&h->size, relaxed);
	size_t need = rfl_region_size(size);
	if (!need || need > len || LD(&h->bytes, relaxed) != need)
		return -EINVAL;
	return (long)size;
}

int rfl_ring_attach(struct rfl_ring *r, void *mem, size_t len, uint32_t size, int dir,
		    enum rfl_role role)
{
	size_t need = rfl_region_size(size);

	memset(r, 0, sizeof(*r));
	if (!mem || !need || len < need || (dir != 0 && dir != 1) ||
	    (role != RFL_WRITER && role != RFL_READER))
		return -EINVAL;
	struct rfl_hdr *h = mem;
	r->d = &h->dir[dir];
	r->data = (uint8_t *)mem + RFL_DATA_OFF + (size_t)dir * size;
	r->size = size;
	r->mask = size - 1;
	r->role = role;
	/* Start from what the region says, validated like any later read. */
	uint64_t tail = LD(&r->d->tail, acquire), head = LD(&r->d->head, acquire);
	if (tail - head > size)
		return -EINVAL;
	r->pos = role == RFL_WRITER ? tail : head;
	r->peer = role == RFL_WRITER ? head : tail;
	return 0;
}

/* ---- writer ---- */

static long corrupt(struct rfl_ring *r)
{
	r->err = -EBADMSG;
	return -EBADMSG;
}

/* Free bytes; re-reads the head only when the cached one gives less than
 * `want`. */
static long space_for(struct rfl_ring *r, size_t want)
{
	if (r->err)
		return r->err;
	uint64_t used = r->pos - r->peer;
	if (r->size - used >= want && used < r->size)
		return (long)(r->size - used);
	uint64_t head = LD(&r->d->head, acquire);
	if (r->pos - head > r->size)
		return corrupt(r);
	r->peer = head;
	return (long)(r->size - (r->pos - head));
}

long rfl_ring_space(struct rfl_ring *r)
{
	return space_for(r, r->size);
}

/* Copy len bytes at ring index `at` (with wrap-around).  An empty iovec
 * may have a NULL base (writev/readv allow it): never handed to memcpy. */
static void copy_in(struct rfl_ring *r, uint64_t at, const uint8_t *src, size_t len)
{
	if (!len)
		return;
	size_t off = (size_t)(at & r->mask);
	size_t first = r->size - off < len ? r->size - off : len;
	memcpy(r->data + off, src, first);
	if (len > first)
		memcpy(r->data, src + first, len - first);
}

static void copy_out(struct rfl_ring *r, uint64_t at, uint8_t *dst, size_t len)
{
	if (!len)
		return;
	size_t off = (size_t)(at & r->mask);
	size_t first = r->size - off < len ? r->size - off : len;
	memcpy(dst, r->data + off, first);
	if (len > first)
		memcpy(dst + first, r->data, len - first);
}

long rfl_ring_write(struct rfl_ring *r, const struct iovec *iov, int n, size_t max)
{
	long space = space_for(r, max);
	if (space <= 0)
		return space;
	size_t room = (size_t)space < max ? (size_t)space : max;
	size_t done = 0;
	for (int i = 0; i < n && done < room; i++) {
		size_t len = iov[i].iov_len < room - done ? iov[i].iov_len : room - done;
		copy_in(r, r->pos + done, iov[i].iov_base, len);
		done += len;
	}
	if (done) {
		r->pos += done;
		ST(&r->d->tail, r->pos, seq_cst);
	}
	return (long)done;
}

bool rfl_ring_take_arm(struct rfl_ring *r)
{
	if (!LD(&r->d->armed, seq_cst) || !atomic_exchange_explicit(&r->d->armed, 0, memory_order_seq_cst))
		return false;
	atomic_fetch_add_explicit(&r->d->rings, 1, memory_order_seq_cst);
	return true;
}

/* ---- reader ---- */

/* Ready bytes; re-reads the tail only when the cached one gives less than
 * `want`. */
static long ready_for(struct rfl_ring *r, size_t want)
{
	if (r->err)
		return r->err;
	if (r->peer - r->pos >= want && r->peer != r->pos)
		return (long)(r->peer - r->pos);
	uint64_t tail = LD(&r->d->tail, acquire);
	if (tail - r->pos > r->size)
		return corrupt(r);
	r->peer = tail;
	return (long)(tail - r->pos);
}

long rfl_ring_ready(struct rfl_ring *r)
{
	return ready_for(r, r->size);
}

long rfl_ring_read(struct rfl_ring *r, const struct iovec *iov, int n, size_t max, bool peek)
{
	long ready = ready_for(r, max);
	if (ready <= 0)
		return ready;
	size_t avail = (size_t)ready < max ? (size_t)ready : max;
	size_t done = 0;
	for (int i = 0; i < n && done < avail; i++) {
		size_t len = iov[i].iov_len < avail - done ? iov[i].iov_len : avail - done;
		copy_out(r, r->pos + done, iov[i].iov_base, len);
		done += len;
	}
	if (done && !peek) {
		r->pos += done;
		ST(&r->d->head, r->pos, seq_cst);
	}
	return (long)done;
}

long rfl_ring_skip(struct rfl_ring *r, size_t max)
{
	long ready = ready_for(r, max);
	if (ready <= 0)
		return ready;
	size_t n = (size_t)ready < max ? (size_t)ready : max;
	r->pos += n;
	ST(&r->d->head, r->pos, seq_cst);
	return (long)n;
}

bool rfl_ring_take_want_space(struct rfl_ring *r)
{
	return LD(&r->d->want_space, seq_cst) &&
	       atomic_exchange_explicit(&r->d->want_space, 0, memory_order_seq_cst);
}
