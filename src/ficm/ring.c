/*
 * ring.c - FICM single-producer single-consumer rings: format, attach,
 * send and receive (rf/ficm.h; layout in ficm_shm.h).
 *
 * Batching: the producer writes any number of payloads and then publishes
 * the tail once (a release store, so the consumer that sees the tail sees
 * the payloads); the consumer copies any number of messages out and then
 * publishes the head once.  Each side keeps a cached copy of the other's
 * index and reads the shared one only when the cache says the ring is
 * full (producer) or empty (consumer): while a ring streams, the lines
 * holding the indices are not bounced on every message.
 *
 * Validation (the peer may be hostile or dead): geometry is checked at
 * attach against what the caller expects and copied into the private
 * handle, never re-read.  Every index read from the region must keep
 * 0 <= tail - head <= slots (unsigned, so a head ahead of the tail fails
 * too).  Each message is copied out of the region before its length is
 * checked, so the peer cannot change it between check and use.  Any
 * violation marks the ring corrupt (ficm_corrupt): -EBADMSG from then
 * on.  Slot addresses are always (index & mask) within the checked
 * geometry, so no value in the region can lead an access outside it.
 */
#include "ficm/shm.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define LD(p, mo)    atomic_load_explicit((p), memory_order_##mo)
#define ST(p, v, mo) atomic_store_explicit((p), (v), memory_order_##mo)

size_t rf_ficm_ring_size(uint32_t slots)
{
	if (slots < RF_FICM_SLOTS_MIN || slots > RF_FICM_SLOTS_MAX || (slots & (slots - 1)))
		return 0;
	return RF_FICM_HDR_SIZE + (size_t)slots * RF_FICM_MSG_SIZE;
}

int rf_ficm_ring_format(void *mem, size_t len, uint32_t slots)
{
	size_t need = rf_ficm_ring_size(slots);
	struct rf_ficm_shm *shm = mem;

	if (!mem || !need || len < need || ((uintptr_t)mem % RF_FICM_ALIGN))
		return -EINVAL;
	memset(mem, 0, need);
	ST(&shm->abi, RF_FICM_ABI, relaxed);
	ST(&shm->slots, slots, relaxed);
	ST(&shm->msg_size, RF_FICM_MSG_SIZE, relaxed);
	ST(&shm->bytes, need, relaxed);
	ST(&shm->state, RF_FICM_OPEN, relaxed);
	ST(&shm->magic, RF_FICM_MAGIC, release);
	return 0;
}

int ficm_corrupt(struct rf_ficm_ring *r)
{
	r->err = -EBADMSG;
	if (r->shm) {
		ST(&r->shm->state, RF_FICM_CORRUPT, release);
		ficm_kick(r->shm);
	}
	return -EBADMSG;
}

static bool header_ok(struct rf_ficm_shm *shm, size_t need, uint32_t slots)
{
	return LD(&shm->magic, acquire) == RF_FICM_MAGIC && LD(&shm->abi, relaxed) == RF_FICM_ABI &&
	       LD(&shm->slots, relaxed) == slots &&
	       LD(&shm->msg_size, relaxed) == RF_FICM_MSG_SIZE &&
	       LD(&shm->bytes, relaxed) == need && LD(&shm->state, relaxed) == RF_FICM_OPEN;
}

int rf_ficm_attach(struct rf_ficm_ring *r, void *mem, size_t len, uint32_t slots,
		   enum rf_ficm_role role)
{
	size_t need = rf_ficm_ring_size(slots);
	struct rf_ficm_shm *shm = mem;

	memset(r, 0, sizeof(*r));
	r->err = -EINVAL;
	if (!mem || !need || len < need || ((uintptr_t)mem % RF_FICM_ALIGN) ||
	    (role != RF_FICM_PRODUCER && role != RF_FICM_CONSUMER))
		return -EINVAL;
	if (!header_ok(shm, need, slots))
		return -EINVAL;
	uint64_t head = LD(&shm->head, acquire), tail = LD(&shm->tail, acquire);
	if (tail - head > slots)
		return -EINVAL;
	r->slot = (struct rf_ficm_msg *)((char *)mem + RF_FICM_HDR_SIZE);
	r->slots = slots;
	r->mask = slots - 1;
	r->role = role;
	r->pos = role == RF_FICM_PRODUCER ? tail : head;
	r->peer = role == RF_FICM_PRODUCER ? head : tail;
	r->shm = shm;
	r->err = 0;
	return 0;
}

void rf_ficm_close(struct rf_ficm_ring *r)
{
	uint32_t open = RF_FICM_OPEN;

	if (!r->shm)
		return;
	atomic_compare_exchange_strong_explicit(&r->shm->state, &open, RF_FICM_CLOSED,
						memory_order_acq_rel, memory_order_relaxed);
	ficm_kick(r->shm);
	if (!r->err)
		r->err = -EPIPE;
}

/* The ring's state once it looks empty or full: 0 if open, else an error
 * (an unknown value is corruption). */
static int peer_state(struct rf_ficm_ring *r)
{
	uint32_t s = LD(&r->shm->state, acquire);
	if (s == RF_FICM_OPEN)
		return 0;
	if (s == RF_FICM_CLOSED)
		return -EPIPE;
	return ficm_corrupt(r);
}

/* ---- producer ------------------------------------------------------------ */

int rf_ficm_reserve(struct rf_ficm_ring *r, int n)
{
	if (r->err)
		return r->err;
	if (r->role != RF_FICM_PRODUCER || n < 0)
		return -EINVAL;
	uint64_t used = r->pos - r->peer;
	if (used + (uint64_t)n > r->slots) {
		uint64_t head = LD(&r->shm->head, acquire);
		if (r->pos - head > r->slots)
			return ficm_corrupt(r);
		r->peer = head;
		used = r->pos - head;
	}
	int st = peer_state(r);
	if (st)
		return r->err = st;
	uint64_t room = r->slots - used;
	r->reserved = (uint32_t)((uint64_t)n < room ? (uint64_t)n : room);
	return (int)r->reserved;
}

struct rf_ficm_msg *rf_ficm_slot(struct rf_ficm_ring *r, int i)
{
	if (i < 0 || (uint32_t)i >= r->reserved)
		return NULL;
	return &r->slot[(r->pos + (uint64_t)i) & r->mask];
}

int rf_ficm_commit(struct rf_ficm_ring *r, int k)
{
	if (r->err)
		return r->err;
	if (r->role != RF_FICM_PRODUCER || k < 0 || (uint32_t)k > r->reserved)
		return -EINVAL;
	r->reserved = 0;
	if (!k)
		return 0;
	r->pos += (uint64_t)k;
	/* A sequentially consistent RMW: publishes the payloads (release) and
	 * orders this store before notify's load of `sleeping` (ficm_wait.c
	 * explains why that ordering loses no wake-up). */
	atomic_exchange_explicit(&r->shm->tail, r->pos, memory_order_seq_cst);
	ficm_notify(r->shm);
	return k;
}

int rf_ficm_send(struct rf_ficm_ring *r, const struct rf_ficm_msg *m, int n)
{
	for (int i = 0; i < n; i++)
		if (m[i].len > RF_FICM_PAYLOAD)
			return -EINVAL;
	int k = rf_ficm_reserve(r, n);
	if (k <= 0)
		return k;
	for (int i = 0; i < k; i++)
		memcpy(&r->slot[(r->pos + (uint64_t)i) & r->mask], &m[i], sizeof(*m));
	return rf_ficm_commit(r, k);
}

/* ---- consumer ------------------------------------------------------------ */

const _Atomic uint64_t *rf_ficm_tail_word(const struct rf_ficm_ring *r)
{
	return r->shm ? &r->shm->tail : NULL;
}

/* Messages between the local head and the (validated) shared tail. */
static int64_t refresh_tail(struct rf_ficm_ring *r)
{
	uint64_t tail = LD(&r->shm->tail, acquire);
	if (tail - r->pos > r->slots)
		return ficm_corrupt(r);
	r->peer = tail;
	return (int64_t)(tail - r->pos);
}

int rf_ficm_ready(struct rf_ficm_ring *r)
{
	if (r->err)
		return r->err;
	if (r->role != RF_FICM_CONSUMER)
		return -EINVAL;
	if (r->peer != r->pos)
		return (int)(r->peer - r->pos);
	int64_t n = refresh_tail(r);
	if (n)
		return (int)n;
	/* Empty: closed or corrupt?  Read the tail again after the state, so
	 * messages sent before a close are still delivered. */
	int st = peer_state(r);
	if (!st)
		return 0;
	n = refresh_tail(r);
	return n ? (int)n : (r->err = st);
}

int rf_ficm_recv(struct rf_ficm_ring *r, struct rf_ficm_msg *out, int max)
{
	if (max < 0)
		return -EINVAL;
	int n = rf_ficm_ready(r);
	if (n <= 0 || max == 0)
		return n;
	int k = n < max ? n : max, i;
	for (i = 0; i < k; i++) {
		memcpy(&out[i], &r->slot[(r->pos + (uint64_t)i) & r->mask], sizeof(*out));
		if (out[i].len > RF_FICM_PAYLOAD)
			break;
	}
	r->pos += (uint64_t)i;
	ST(&r->shm->head, r->pos, release);
	if (i < k) {
		ficm_corrupt(r);
		return i ? i : -EBADMSG;   /* the good ones first; -EBADMSG next */
	}
	return k;
}
