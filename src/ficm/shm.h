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
 *   512  slots     (slots x 64 bytes)
 *
 * Indices are free-running 64-bit counters; slot = index & (slots - 1).
 * Nothing here is trusted by the reader: see ring.c.
 */
#ifndef RF_FICM_SHM_H
#define RF_FICM_SHM_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "rf/ficm.h"

#define RF_FICM_MAGIC 0x4d434946u /* "FICM" little endian */
#define RF_FICM_ABI   1

enum rf_ficm_state {
	RF_FICM_OPEN    = 1,
	RF_FICM_CLOSED  = 2,
	RF_FICM_CORRUPT = 3,
};

struct rf_ficm_shm {
	alignas(128) _Atomic uint32_t magic;
	_Atomic uint32_t abi;
	_Atomic uint32_t slots;
	_Atomic uint32_t msg_size;
	_Atomic uint64_t bytes;      /* rf_ficm_ring_size(slots) */
	_Atomic uint32_t state;      /* enum rf_ficm_state */
	alignas(128) _Atomic uint64_t tail;
	alignas(128) _Atomic uint64_t head;
	alignas(128) _Atomic uint32_t sleeping;
	_Atomic uint32_t bell;
};

_Static_assert(offsetof(struct rf_ficm_shm, tail) == 128, "layout");
_Static_assert(offsetof(struct rf_ficm_shm, head) == 256, "layout");
_Static_assert(offsetof(struct rf_ficm_shm, sleeping) == 384, "layout");
_Static_assert(sizeof(struct rf_ficm_shm) == RF_FICM_HDR_SIZE, "layout");

/* Mark the ring corrupt, locally for good and in the region for the peer. */
int rf__ficm_corrupt(struct rf_ficm_ring *r);
/* Wake the consumer if it sleeps (producer, after publishing). */
void rf__ficm_notify(struct rf_ficm_shm *shm);
/* Wake the consumer whatever the flag says (close, corruption). */
void rf__ficm_kick(struct rf_ficm_shm *shm);

#endif
