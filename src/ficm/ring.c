/*
 * ring.c - FICM single-producer single-consumer rings: format, attach,
 * send and receive (rf/ficm.h; layout in ficm/shm.h).
 *
 * One line per message.  The producer writes a batch's payloads, then the
 * valid marks of its slots (ficm_mark: the lap number, in the message's
 * own `seq` byte), the first slot's last, and only then publishes its
 * tail.  The consumer never reads the tail to receive: it polls the mark
 * of the slot it expects next and copies the message out of that same
 * line, so a message costs one cache-line transfer, where a separate index
 * would cost a second one on the critical path (the index line, then the
 * slot).  The tail is kept for what needs a count: pollers
 * (rf_ficm_tail_word), the sleep protocol (wait.c) and attaching.
 *
 * Batching: the producer publishes a whole batch with its first mark (a
 * consumer that sees it sees the rest) and its tail once; the consumer
 * copies any number of messages out and publishes its head once.  The
 * producer keeps a cached copy of the head and reads the shared one only
 * when the cache says the ring is full, so while a ring streams neither
 * index line is bounced per message.
 *
 * Validation (the peer may be hostile or dead): geometry is checked at
 * attach against what the caller expects and copied into the private
 * handle, never re-read.  Every index read from the region must keep
 * 0 <= tail - head <= slots (unsigned, so a head ahead of the tail fails
 * too); a tail that says there are messages where no mark is valid is
 * corrupt (wait.c).  A mark that is not the expected one only means "not
 * yet".  Each message is copied out of the region before its length is
 * checked, so the peer cannot change it between check and use.  Any
 * violation marks the ring corrupt (ficm_corrupt): -EBADMSG from then on.
 * Slot addresses are always (index & mask) within the checked geometry,
 * so no value in the region can lead an access outside it.
 */
#include "ficm/shm.h"
#include "base/cpu.h"

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

/* Where a producer attaching to a ring that another producer may have left
 * mid-commit starts.  A predecessor that died between its marks and its
 * tail committed messages the tail does not count (valid marks from the
 * tail on): start after them, so none is sent twice and no slot the
 * consumer may already have read is overwritten.  One that died before
 * its batch's first mark may have left valid marks after that unmarked
 * slot: the consumer cannot have passed the unmarked one, so clear them
 * (0 is no lap's mark), or our next batch would make them visible. */
static uint64_t producer_start(const struct rf_ficm_ring *r, uint64_t head, uint64_t tail)
{
	uint64_t pos = tail;
	while (pos - head < r->slots &&
	       ficm_mark_load(&r->slot[pos & r->mask]) == ficm_mark(pos, r->shift))
		pos++;
	for (uint64_t i = pos + 1; i - head < r->slots; i++) {
		struct rf_ficm_msg *m = &r->slot[i & r->mask];
		if (ficm_mark_load(m) == ficm_mark(i, r->shift))
			__atomic_store_n(&m->seq, 0, __ATOMIC_RELAXED);
	}
	return pos;
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
	r->shift = (uint32_t)__builtin_ctz(slots);
	r->role = role;
	if (role == RF_FICM_PRODUCER) {
		r->pos = producer_start(r, head, tail);
		r->peer = head;
		if (r->pos != tail)
			ST(&shm->tail, r->pos, release);
	} else {
		r->pos = r->peer = head;
	}
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

void ficm_slot_fill(struct rf_ficm_msg *slot, const struct rf_ficm_msg *m)
{
	_Static_assert(offsetof(struct rf_ficm_msg, seq) == 1, "the mark is byte 1");
	slot->len = m->len;
	memcpy((char *)slot + 2, (const char *)m + 2, sizeof(*m) - 2);
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
	uint64_t first = r->pos;
	for (uint64_t i = first + 1; i < first + (uint64_t)k; i++)
		__atomic_store_n(&r->slot[i & r->mask].seq, ficm_mark(i, r->shift),
				 __ATOMIC_RELEASE);
	/* The first mark last, sequentially consistent: it publishes the whole
	 * batch (release), and it is the store that notify's load of
	 * `sleeping` must not pass (wait.c explains why no wake-up is lost). */
	__atomic_store_n(&r->slot[first & r->mask].seq, ficm_mark(first, r->shift),
			 __ATOMIC_SEQ_CST);
	r->pos += (uint64_t)k;
	ST(&r->shm->tail, r->pos, release);
	ficm_notify(r->shm);
	/* Measured on two vCPUs a slow hop (~200 ns) apart: a sender that
	 * polls its reply ring right after this commit made round trips of
	 * 1.45x the cache-line floor, and 1.05x once the commit is let finish
	 * before anything later starts (likely: the poll loads no longer run
	 * speculatively ahead of the first-mark store still waiting for its
	 * line).  The floor's own store-then-poll gains nothing from it.  A
	 * streaming sender pays it once per batch. */
	base_cpu_settle();
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
		ficm_slot_fill(&r->slot[(r->pos + (uint64_t)i) & r->mask], &m[i]);
	return rf_ficm_commit(r, k);
}

/* ---- consumer ------------------------------------------------------------ */

const _Atomic uint64_t *rf_ficm_tail_word(const struct rf_ficm_ring *r)
{
	return r->shm ? &r->shm->tail : NULL;
}

/* Extend the run of messages known ready (pos..peer) by reading the marks
 * after it, until `want` are known or a mark is not (yet) valid.  Only
 * slots: the consumer's one line per message. */
static uint32_t scan(struct rf_ficm_ring *r, uint32_t want)
{
	while (r->peer - r->pos < want &&
	       ficm_mark_load(&r->slot[r->peer & r->mask]) == ficm_mark(r->peer, r->shift))
		r->peer++;
	return (uint32_t)(r->peer - r->pos);
}

/* Up to `want` (1..slots) messages ready, 0 when empty, or an error. */
static int ready_upto(struct rf_ficm_ring *r, uint32_t want)
{
	if (r->err)
		return r->err;
	if (r->role != RF_FICM_CONSUMER)
		return -EINVAL;
	uint32_t n = scan(r, want);
	if (n)
		return (int)n;
	/* Empty: closed or corrupt?  Read the marks again after the state, so
	 * messages sent before a close are still delivered. */
	int st = peer_state(r);
	if (!st)
		return 0;
	n = scan(r, want);
	return n ? (int)n : (r->err = st);
}

int rf_ficm_ready(struct rf_ficm_ring *r)
{
	return ready_upto(r, r->slots);
}

int rf_ficm_recv(struct rf_ficm_ring *r, struct rf_ficm_msg *out, int max)
{
	if (max < 0)
		return -EINVAL;
	if (max == 0)
		return rf_ficm_ready(r);
	int k = ready_upto(r, (uint32_t)max < r->slots ? (uint32_t)max : r->slots), i;
	if (k <= 0)
		return k;
	if (k > max)
		k = max;     /* marks seen earlier by rf_ficm_ready */
	for (i = 0; i < k; i++) {
		memcpy(&out[i], &r->slot[(r->pos + (uint64_t)i) & r->mask], sizeof(*out));
		if (out[i].len > RF_FICM_PAYLOAD)
			break;
		out[i].seq = 0;
	}
	r->pos += (uint64_t)i;
	ST(&r->shm->head, r->pos, release);
	if (i < k) {
		ficm_corrupt(r);
		return i ? i : -EBADMSG;   /* the good ones first; -EBADMSG next */
	}
	return k;
}

/* The consumer about to sleep (wait.c, after announcing it): 1 if the
 * slot it expects is marked, 0 if it may sleep, or -EBADMSG.  The mark is
 * read sequentially consistent (the other half of commit's first-mark
 * store).  The tail is read too, for validation only: one that says there
 * are messages where the mark says none, or that is more than a ring away
 * from the head, is corrupt.  A tail up to a ring behind the head is a
 * producer that died between its marks and its tail (attach repairs it). */
int ficm_may_sleep(struct rf_ficm_ring *r)
{
	const struct rf_ficm_msg *m = &r->slot[r->pos & r->mask];
	uint8_t want = ficm_mark(r->pos, r->shift);
	if (__atomic_load_n(&m->seq, __ATOMIC_SEQ_CST) == want)
		return 1;
	uint64_t tail = LD(&r->shm->tail, acquire);
	if (tail == r->pos || r->pos - tail <= r->slots)
		return 0;
	if (tail - r->pos > r->slots || ficm_mark_load(m) != want)
		return ficm_corrupt(r);
	return 1;
}

int ficm_skip_all(struct rf_ficm_ring *r)
{
	uint64_t tail = LD(&r->shm->tail, acquire);
	if (r->err)
		return r->err;
	if (tail - r->pos > r->slots)
		return ficm_corrupt(r);
	r->pos = r->peer = tail;
	ST(&r->shm->head, r->pos, release);
	return 0;
}
