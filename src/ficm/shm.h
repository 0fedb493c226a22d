/*
 * shm.h - the shared-memory layout of a FICM ring (internal).
 *
 * Shared between ring.c (indices, send, receive), wait.c
 * (sleeping and waking) and group.c.  The layout is an ABI between
 * two processes: fixed-size naturally aligned fields, bump RF_FICM_ABI on
 * any change.  Each part that one side writes often sits on its own pair of
 * cache lines (128 bytes: the adjacent-line prefetcher pulls lines in
 * pairs), so the producer's tail, the consumer's head and the rarely
 * written notification words never share a line:
 *
 *     0  geometry (written once by rf_ficm_ring_format) and state
 *   128  tail      (producer: index of the next slot it will fill)
 *   256  head      (consumer: index of the next slot it will read)
 *   384  sleeping  (consumer: 1 while it sleeps or is about to)
 *        bell      (producer: bumped before a FUTEX_WAKE; the futex word)
 *   512  slots     (slots x 64 bytes; each message's `seq` byte is its
 *                  valid mark)
 *
 * Indices are free-running 64-bit counters; slot = index & (slots - 1).
 * The message of index i is valid when its `seq` equals ficm_mark(i): the
 * lap (i / slots) modulo 255, plus one.  A slot still holds the previous
 * lap's mark until the producer rewrites it, and a freshly formatted
 * (zeroed) slot holds 0, which no lap uses, so the consumer tells a new
 * message from an old one by the slot alone.  Nothing here is trusted by
 * the reader: see ring.c.
 */
#ifndef RF_FICM_SHM_H
#define RF_FICM_SHM_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "rf/ficm.h"

#define RF_FICM_MAGIC 0x4d434946u /* "FICM" little endian */
#define RF_FICM_ABI   2   /* 2: valid marks in the slots */

enum ficm_state {
	RF_FICM_OPEN    = 1,
	RF_FICM_CLOSED  = 2,
	RF_FICM_CORRUPT = 3,
};

/*
 * Who touches which line, and how often (P producer, C consumer):
 *
 *   0    geometry  written once by the creator (format); read by both
 *                  sides at attach only.  `state` is written on close or
 *                  corruption and read when a side finds the ring empty or
 *                  full, never per message.
 *   128  tail      P writes once per batch (commit), after the marks; C
 *                  reads it only before it sleeps (wait.c) and at attach,
 *                  never to receive (and rfd's and librf's cores poll it
 *                  through rf_ficm_tail_word: a line C never writes).
 *   256  head      C writes once per batch (recv); P reads it only when its
 *                  cached copy says full.
 *   512  slots     P writes a batch's payloads and marks; C polls the mark
 *                  of the next slot and copies the messages out: the one
 *                  line a message needs.
 *   384  sleeping  C writes when it goes to sleep, P clears it to wake C;
 *        bell      P bumps it (and C re-reads it) only around a sleep.  P
 *                  reads `sleeping` after every commit, so this line is read
 *                  per batch and written only around a sleep: the two words
 *                  are one wake-up protocol (wait.c) and belong together.
 *
 * Each group sits in the first line of a 128-byte block whose second line
 * is empty, so even a region only RF_FICM_ALIGN (64) aligned keeps every
 * group in a pair of lines of its own.
 */
struct rf_ficm_shm {
	/* ---- 0: geometry and state ---------------------------------------- */
	alignas(128) _Atomic uint32_t magic;
	_Atomic uint32_t abi;
	_Atomic uint32_t slots;
	_Atomic uint32_t msg_size;
	_Atomic uint64_t bytes;      /* rf_ficm_ring_size(slots) */
	_Atomic uint32_t state;      /* enum ficm_state */
	/* ---- 128: written by the producer only ---------------------------- */
	alignas(128) _Atomic uint64_t tail;
	/* ---- 256: written by the consumer only ---------------------------- */
	alignas(128) _Atomic uint64_t head;
	/* ---- 384: the wake-up words ---------------------------------------- */
	alignas(128) _Atomic uint32_t sleeping;
	_Atomic uint32_t bell;
};

/* The ABI between the two processes: these offsets never move (bump
 * RF_FICM_ABI if they must). */
_Static_assert(offsetof(struct rf_ficm_shm, magic) == 0, "layout");
_Static_assert(offsetof(struct rf_ficm_shm, abi) == 4, "layout");
_Static_assert(offsetof(struct rf_ficm_shm, slots) == 8, "layout");
_Static_assert(offsetof(struct rf_ficm_shm, msg_size) == 12, "layout");
_Static_assert(offsetof(struct rf_ficm_shm, bytes) == 16, "layout");
_Static_assert(offsetof(struct rf_ficm_shm, state) == 24, "layout");
_Static_assert(offsetof(struct rf_ficm_shm, tail) == 128, "layout");
_Static_assert(offsetof(struct rf_ficm_shm, head) == 256, "layout");
_Static_assert(offsetof(struct rf_ficm_shm, sleeping) == 384, "layout");
_Static_assert(offsetof(struct rf_ficm_shm, bell) == 388, "layout");
_Static_assert(sizeof(_Atomic uint64_t) == 8 && sizeof(_Atomic uint32_t) == 4,
	       "layout: lock-free words of the plain sizes");
_Static_assert(sizeof(struct rf_ficm_shm) == RF_FICM_HDR_SIZE, "layout");
/* Each group stays within the first line of its block. */
_Static_assert(offsetof(struct rf_ficm_shm, state) + 4 <= 64, "geometry fits one line");
_Static_assert(offsetof(struct rf_ficm_shm, bell) + 4 <= 384 + 64, "wake words fit one line");
/* Slots follow the header, each exactly one line. */
_Static_assert(RF_FICM_HDR_SIZE % 128 == 0 && sizeof(struct rf_ficm_msg) == 64, "layout");

/* The valid mark of the message of index i in a ring of 1 << shift slots
 * (never 0, and never the same for two consecutive laps). */
static inline uint8_t ficm_mark(uint64_t i, uint32_t shift)
{
	return (uint8_t)((i >> shift) % 255 + 1);
}

/* The mark in slot m, as the consumer reads it (acquire: the payload the
 * producer wrote before it is visible once it is seen). */
static inline uint8_t ficm_mark_load(const struct rf_ficm_msg *m)
{
	return __atomic_load_n(&m->seq, __ATOMIC_ACQUIRE);
}

/* Mark the ring corrupt, locally for good and in the region for the peer. */
int ficm_corrupt(struct rf_ficm_ring *r);
/* Wake the consumer if it sleeps (producer, after publishing). */
void ficm_notify(struct rf_ficm_shm *shm);
/* Wake the consumer whatever the flag says (close, corruption). */
void ficm_kick(struct rf_ficm_shm *shm);
/* The consumer about to sleep: 1 if a message is ready after all, 0 if it
 * may sleep, -EBADMSG if the tail contradicts the marks (ring.c). */
int ficm_may_sleep(struct rf_ficm_ring *r);
/* Consumer: skip every message the producer has published (its tail,
 * validated), as a joining group member does.  0 or -EBADMSG. */
int ficm_skip_all(struct rf_ficm_ring *r);
/* Copy m into a reserved slot, all but the mark (the producer's commit
 * writes that last). */
void ficm_slot_fill(struct rf_ficm_msg *slot, const struct rf_ficm_msg *m);

#endif
