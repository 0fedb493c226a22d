/*
 * ficm.h - FICM channels: 64-byte messages on shared-memory rings.
 *
 * The paper's FICM (fast inter-subOS communication) sends one cache line
 * at a time between subOSes with shared memory plus an IPI.  Here a channel
 * is a lock-free single-producer single-consumer ring of 64-byte messages
 * in a region both sides map (a memfd that rfd grants; for now any shared
 * mapping).  The receiver polls while busy and sleeps on a futex word in
 * the region only when idle; a sender pays for a FUTEX_WAKE only when the
 * receiver said it sleeps (the NAPI pattern).  Multicast and broadcast
 * groups are a set of such rings, one per member.
 *
 * A message carries its own valid mark (`seq`, a lap number) in its line,
 * so a polling receiver reads nothing but the slot it waits for: one
 * cache-line transfer per message, as a raw shared variable costs.  The
 * producer's published tail remains (a hint for pollers, the sleep
 * protocol, attaching), but the receive path does not wait on it.
 *
 * Trust: the peer may write anything into the shared region at any time.
 * Every index and length read from it is checked; the ring geometry in the
 * region must match what the caller expects and is never re-read after
 * attaching.  A ring found corrupt is marked so (in the region, and
 * locally for good) and every later call returns -EBADMSG: never a crash,
 * a hang or an access outside the region.  A batch becomes visible only
 * when the producer writes the valid mark of its first slot, after every
 * payload and the other marks, so a producer that dies mid-batch leaves
 * only whole batches behind.
 *
 * Errors are negative errno values:
 *   -EINVAL     bad arguments, or (attach) a region whose header does not
 *               match the expected geometry
 *   -EBADMSG    the ring is corrupt (a bad index or length was seen)
 *   -EPIPE      the ring was closed (by either side); the consumer gets it
 *               only after draining what was sent before the close
 *   -ETIMEDOUT  rf_ficm_wait gave up
 *   -EBUSY      (group join) no free member slot / the slot is taken
 *
 * Threads: each side of a ring is used by one thread at a time.
 */
#ifndef RF_FICM_H
#define RF_FICM_H

#include <stddef.h>
#include <stdint.h>

#define RF_FICM_MSG_SIZE   64
#define RF_FICM_PAYLOAD    56      /* data bytes in one message */
#define RF_FICM_SLOTS_MIN  2
#define RF_FICM_SLOTS_MAX  (1u << 20)
#define RF_FICM_HDR_SIZE   512     /* ring header before the slots */
#define RF_FICM_ALIGN      64      /* regions must be this aligned */

/* One message: exactly one cache line.  `seq` belongs to the ring: it is
 * the slot's valid mark, written by rf_ficm_send/rf_ficm_commit after the
 * rest of the message.  rf_ficm_send ignores the caller's, a zero-copy
 * producer must not write it into a reserved slot (a slot whose mark looks
 * valid too early could be read half-written), and rf_ficm_recv returns 0
 * in it. */
struct rf_ficm_msg {
	uint8_t  len;                   /* bytes of data used, <= RF_FICM_PAYLOAD */
	uint8_t  seq;                   /* the ring's; see above */
	uint16_t type;                  /* free for the application */
	uint32_t tag;                   /* free for the application */
	uint8_t  data[RF_FICM_PAYLOAD];
} __attribute__((aligned(RF_FICM_MSG_SIZE)));

_Static_assert(sizeof(struct rf_ficm_msg) == RF_FICM_MSG_SIZE, "one cache line");

/* The shared layout of a ring lives in ficm_ring.c; callers see sizes. */
struct rf_ficm_shm;

enum rf_ficm_role { RF_FICM_PRODUCER = 1, RF_FICM_CONSUMER = 2 };

/* One side's private handle.  Plain memory of the caller's; fields are
 * internal (listed so handles can live on the stack or in arrays).
 *
 * Only the thread using this side touches it; the peer never sees it.
 * Everything up to `role` is fixed at attach and read on every call (and
 * `shift`, log2 of slots); `pos`, `peer` and `reserved` are written on
 * every call.  The producer's `peer` is its cached copy of the consumer's
 * head, re-read from the shared line only when the cache says full; the
 * consumer's is how far it has seen valid marks (messages known ready),
 * found by reading the slots themselves (ring.c).  The handle fits one
 * cache line; a program that uses two handles from two threads (one
 * sends, one receives) should keep them on different lines, as librf does
 * (struct rf_sys). */
struct rf_ficm_ring {
	/* fixed at attach */
	struct rf_ficm_shm *shm;
	struct rf_ficm_msg *slot;
	uint32_t slots, mask;
	enum rf_ficm_role role;
	/* this side's state */
	int err;              /* sticky: 0 or a negative errno */
	uint64_t pos;         /* producer: local tail; consumer: local head */
	uint64_t peer;        /* producer: cached head; consumer: end of the marks seen */
	uint32_t reserved;    /* producer: slots handed out by rf_ficm_reserve */
	uint32_t shift;       /* fixed at attach: slots == 1 << shift */
};

_Static_assert(offsetof(struct rf_ficm_ring, pos) == 32 &&
	       offsetof(struct rf_ficm_ring, peer) == 40,
	       "the cached indices sit together");
_Static_assert(sizeof(struct rf_ficm_ring) <= RF_FICM_MSG_SIZE, "a handle fits one cache line");

/* ---- one ring ------------------------------------------------------------ */

/* Bytes a ring of `slots` messages occupies (slots: a power of two in
 * [RF_FICM_SLOTS_MIN, RF_FICM_SLOTS_MAX]); 0 if slots is invalid. */
size_t rf_ficm_ring_size(uint32_t slots);

/* Write an empty ring into mem (len bytes, RF_FICM_ALIGN-aligned).  Done
 * once, by whoever creates the channel, before either side attaches. */
int rf_ficm_ring_format(void *mem, size_t len, uint32_t slots);

/* Attach one side.  `slots` is the geometry the caller expects; a header
 * that says otherwise, or indices that make no sense, give -EINVAL.  The
 * consumer starts at the ring's current head (messages sent before it
 * attached are delivered). */
int rf_ficm_attach(struct rf_ficm_ring *r, void *mem, size_t len, uint32_t slots,
		   enum rf_ficm_role role);

/* Mark the ring closed and wake a sleeping consumer.  Either side. */
void rf_ficm_close(struct rf_ficm_ring *r);

/* ---- producer ------------------------------------------------------------ */

/* Enqueue up to n messages (copies), publish the tail once, wake the
 * consumer if it sleeps.  Returns how many were sent (0 when full) or an
 * error.  Lengths above RF_FICM_PAYLOAD give -EINVAL, nothing sent. */
int rf_ficm_send(struct rf_ficm_ring *r, const struct rf_ficm_msg *m, int n);

/* Zero-copy sending: reserve up to n free slots (returns how many), fill
 * them through rf_ficm_slot(r, 0..count-1), then rf_ficm_commit(r, k)
 * publishes the first k of them (k <= reserved; the rest are dropped).
 * Nothing is visible to the consumer before the commit. */
int rf_ficm_reserve(struct rf_ficm_ring *r, int n);
struct rf_ficm_msg *rf_ficm_slot(struct rf_ficm_ring *r, int i);
int rf_ficm_commit(struct rf_ficm_ring *r, int k);

/* ---- consumer ------------------------------------------------------------ */

/* Dequeue up to max messages into out (copies, validated), publish the
 * head once.  Returns the count, 0 when empty, or an error. */
int rf_ficm_recv(struct rf_ficm_ring *r, struct rf_ficm_msg *out, int max);

/* Messages ready to receive now (0 when empty), or an error. */
int rf_ficm_ready(struct rf_ficm_ring *r);

/* For a ring whose consumer side moves between threads under a lock (the
 * lock keeps it single-consumer), so that many threads can cheaply ask
 * "anything new?": the address of the producer's published tail (a count
 * of messages ever sent).  Loading it is one read of a line the consumer
 * never writes.  A hint only, not validated: take the lock and call
 * rf_ficm_recv, which validates, when it differs from the last value seen.
 * NULL for a handle that is not attached. */
const _Atomic uint64_t *rf_ficm_tail_word(const struct rf_ficm_ring *r);

/* Wait until a message is ready: poll for spin_ns, then sleep on the
 * ring's futex (setting the sleeping flag) until a send wakes it or
 * timeout_ns passes in all (timeout_ns < 0: no limit).  Returns the number
 * of ready messages (> 0), -ETIMEDOUT, -EPIPE or -EBADMSG. */
int rf_ficm_wait(struct rf_ficm_ring *r, uint64_t spin_ns, int64_t timeout_ns);

/* ---- groups: multicast and broadcast ------------------------------------- */

#define RF_FICM_GROUP_MAX 64    /* members; a member set is a uint64_t mask */
#define RF_FICM_ALL       (~0ull)

/*
 * A group has one sender and up to `members` receivers.  Its region holds a
 * small header (the set of joined members) and one ring per member slot;
 * the sender produces into every ring, member i consumes ring i.  For many
 * senders, make one group per sender over the same members.  A slow or
 * hostile member only loses its own messages: a full ring skips that
 * member, a corrupt one is closed, the others are unaffected.
 */
struct rf_ficm_group {
	void *mem;
	uint32_t members, slots;
	struct rf_ficm_ring ring[RF_FICM_GROUP_MAX];
	uint64_t dead;           /* members whose ring is corrupt or closed */
};

struct rf_ficm_member {
	void *mem;
	int id;
	struct rf_ficm_ring ring; /* consume with rf_ficm_recv / rf_ficm_wait */
};

size_t rf_ficm_group_size(uint32_t members, uint32_t slots);

/* Format mem as an empty group and attach as its sender. */
int rf_ficm_group_create(struct rf_ficm_group *g, void *mem, size_t len, uint32_t members,
			 uint32_t slots);

/* Join as member `id` (or the lowest free one if id < 0): returns the id,
 * -EBUSY, or -EINVAL for a region that is not such a group.  Messages left
 * in the slot's ring by a former member are dropped. */
int rf_ficm_group_join(struct rf_ficm_member *m, void *mem, size_t len, uint32_t members,
		       uint32_t slots, int id);
void rf_ficm_group_leave(struct rf_ficm_member *m);

/* The members currently joined (as the sender sees them). */
uint64_t rf_ficm_group_joined(struct rf_ficm_group *g);

/* Send the batch m[0..n) to every joined member in `to` (RF_FICM_ALL:
 * broadcast).  A member gets the whole batch or nothing.  Returns the set
 * of members that got it; *missed (if not NULL) gets the members of `to`
 * that did not (not joined, full, corrupt).  Bad arguments: 0 and *missed
 * = to. */
uint64_t rf_ficm_group_send(struct rf_ficm_group *g, uint64_t to, const struct rf_ficm_msg *m,
			    int n, uint64_t *missed);

#endif
