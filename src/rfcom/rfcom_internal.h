/*
 * rfcom_internal.h - what the parts of RFcom share (include/rf/rfcom.h is
 * the public side).
 *
 *   frag.c     messages <-> FICM slots: fragmenting and reassembly
 *   open.c     asking rfd for a channel, the handle table, map/unmap
 *   msg.c      rfcom_read / rfcom_write on an open handle
 *   wait.c     how to wait: futex for plain programs, fibers in librf
 *              (built with -DRFCOM_LIBRF into librf.a)
 *   names.c    the paper's short names (librfcom.so only)
 */
#ifndef RF_RFCOM_INTERNAL_H
#define RF_RFCOM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rf/ficm.h"
#include "rf/rfcom.h"

/* ---- frag.c ------------------------------------------------------------ */

/* Slots a message of len bytes takes (at least 1). */
uint32_t rfcom__frag_count(size_t len);

/* Fill slot i (0 <= i < rfcom__frag_count(len)) of the message buf[0..len). */
void rfcom__frag_fill(struct rf_ficm_msg *m, const void *buf, size_t len, uint32_t i);

/* The reader's reassembly state.  stage holds a message of more than one
 * slot while it arrives (RFCOM_MSG_MAX bytes, allocated by the owner). */
struct rfcom_rx {
	bool active;        /* a message of several slots is arriving */
	uint32_t total;     /* its length */
	uint32_t got;       /* bytes of it received */
	uint8_t *stage;
};

/* Take one received slot.  Returns 0 if more slots of the message are to
 * come, 1 when the message is complete (min(total, len) bytes copied to
 * out, *msglen = total), or -EBADMSG for a slot that does not fit what
 * came before (the state is then reset). */
int rfcom__rx_push(struct rfcom_rx *rx, const struct rf_ficm_msg *m, void *out, size_t len,
		   size_t *msglen);

/* Slots still to come for the message being assembled (0 if none). */
uint32_t rfcom__rx_remaining(const struct rfcom_rx *rx);

/* ---- open.c / msg.c ------------------------------------------------------ */

struct rfcom_chan {
	int flags;
	int err;                   /* sticky: -EBADMSG once the peer corrupted it */
	void *mem;
	size_t size;
	struct rf_ficm_ring tx, rx;
	struct rfcom_rx asm_;
};

/* Attach a handle to a mapped msg channel: tx/rx rings at those offsets.
 * Used by rfcom_open, and by the unit tests without rfd. */
int rfcom__attach(struct rfcom_chan *ch, void *mem, size_t size, uint32_t slots,
		  size_t tx_off, size_t rx_off, int flags);
void rfcom__detach(struct rfcom_chan *ch);

ssize_t rfcom__read(struct rfcom_chan *ch, void *buf, size_t len);
ssize_t rfcom__write(struct rfcom_chan *ch, const void *buf, size_t len);

/* ---- wait.c -------------------------------------------------------------- */

/* May the caller block here?  0, or -EWOULDBLOCK (librf scheduler context). */
int rfcom__can_block(void);

/* Spin receiving up to `want` slots into m for the reader's spin budget:
 * > 0 slots, 0 when the budget is spent, or rf_ficm_recv's error. */
int rfcom__spin_rx(struct rf_ficm_ring *r, struct rf_ficm_msg *m, int want);

/* After the spin: wait until the consumer ring has a message (sleeping on
 * its futex, or in librf yielding and napping): > 0, -EPIPE, -EBADMSG. */
int rfcom__wait_rx(struct rf_ficm_ring *r);

/* One step of waiting for room on a producer ring; *round counts the
 * steps taken for this wait (start at 0). */
void rfcom__wait_tx_step(unsigned *round);

#endif
