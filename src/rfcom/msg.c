/*
 * msg.c - reading and writing messages on an open RFcom channel.
 *
 * The writer reserves slots in its ring (tx), fills them with the message's
 * fragments (frag.c) and commits them: once for a message that fits, in
 * several steps for one longer than the free room (waiting in between).
 * The reader receives exactly the slots of one message, never a slot of
 * the next, so a message is either returned whole or stays in the ring;
 * slots of a message still arriving are kept in the handle's reassembly
 * state, so a non-blocking read can return -EAGAIN in the middle of a long
 * message and finish it on a later call.
 *
 * A fragment that does not fit (a hostile or broken peer) closes both
 * rings and makes the handle return -EBADMSG from then on.
 */
#include "rfcom/rfcom_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RX_BATCH 16

int rfcom__attach(struct rfcom_chan *ch, void *mem, size_t size, uint32_t slots,
		  size_t tx_off, size_t rx_off, int flags)
{
	size_t rb = rf_ficm_ring_size(slots);
	int rc;
	memset(ch, 0, sizeof(*ch));
	if (!rb || tx_off > size || rx_off > size || size - tx_off < rb || size - rx_off < rb ||
	    (tx_off < rx_off ? rx_off - tx_off : tx_off - rx_off) < rb)
		return -EPROTO;
	if ((rc = rf_ficm_attach(&ch->tx, (char *)mem + tx_off, rb, slots, RF_FICM_PRODUCER)) ||
	    (rc = rf_ficm_attach(&ch->rx, (char *)mem + rx_off, rb, slots, RF_FICM_CONSUMER)))
		return rc == -EINVAL ? -EPIPE : rc; /* a closed (or broken) channel */
	if (!(ch->asm_.stage = malloc(RFCOM_MSG_MAX)))
		return -ENOMEM;
	ch->mem = mem;
	ch->size = size;
	ch->flags = flags;
	return 0;
}

void rfcom__detach(struct rfcom_chan *ch)
{
	rf_ficm_close(&ch->tx);
	rf_ficm_close(&ch->rx);
	free(ch->asm_.stage);
	ch->asm_.stage = NULL;
}

static int corrupt(struct rfcom_chan *ch)
{
	rf_ficm_close(&ch->rx);
	rf_ficm_close(&ch->tx);
	return ch->err = -EBADMSG;
}

/* Up to `want` slots of the message: at once, or (blocking) as soon as they
 * come.  > 0 slots in m, or a negative errno (-EAGAIN: none, non-blocking). */
static int take_slots(struct rfcom_chan *ch, struct rf_ficm_msg *m, int want)
{
	for (;;) {
		int n = rf_ficm_recv(&ch->rx, m, want);
		if (n == 0 && !(ch->flags & RFCOM_NONBLOCK)) {
			int rc = rfcom__can_block();
			if (rc)
				return rc;
			n = rfcom__spin_rx(&ch->rx, m, want);
		}
		if (n == -EBADMSG)
			return corrupt(ch);
		if (n != 0)
			return n;   /* slots, or -EPIPE: closed (a partial message is lost) */
		if (ch->flags & RFCOM_NONBLOCK)
			return -EAGAIN;
		int rc = rfcom__wait_rx(&ch->rx);
		if (rc == -EBADMSG)
			return corrupt(ch);
		if (rc < 0)
			return rc;
	}
}

ssize_t rfcom__read(struct rfcom_chan *ch, void *buf, size_t len)
{
	struct rf_ficm_msg m[RX_BATCH];
	size_t msglen = 0;
	if (ch->err)
		return ch->err;
	if (!buf && len)
		return -EINVAL;
	for (;;) {
		uint32_t want = rfcom__rx_remaining(&ch->asm_);
		if (want == 0)
			want = 1;           /* the first slot tells how many follow */
		if (want > RX_BATCH)
			want = RX_BATCH;
		int n = take_slots(ch, m, (int)want);
		if (n < 0)
			return n;
		for (int i = 0; i < n; i++) {
			int rc = rfcom__rx_push(&ch->asm_, &m[i], buf, len, &msglen);
			if (rc < 0 || (rc == 1 && i + 1 < n))
				return corrupt(ch); /* we never take slots past the message */
			if (rc == 1)
				return (ssize_t)msglen;
		}
	}
}

/* Fill and commit up to k of the message's slots from slot `first`. */
static int send_some(struct rfcom_chan *ch, const void *buf, size_t len, uint32_t first,
		     uint32_t k)
{
	int got = rf_ficm_reserve(&ch->tx, (int)k);
	if (got <= 0)
		return got;
	for (int i = 0; i < got; i++)
		rfcom__frag_fill(rf_ficm_slot(&ch->tx, i), buf, len, first + (uint32_t)i);
	return rf_ficm_commit(&ch->tx, got);
}

ssize_t rfcom__write(struct rfcom_chan *ch, const void *buf, size_t len)
{
	if (ch->err)
		return ch->err;
	if (!buf && len)
		return -EINVAL;
	if (len > RFCOM_MSG_MAX)
		return -EMSGSIZE;
	uint32_t k = rfcom__frag_count(len), sent = 0;
	if (ch->flags & RFCOM_NONBLOCK) {
		if (k > ch->tx.slots)
			return -EMSGSIZE;
		int room = rf_ficm_reserve(&ch->tx, (int)k);
		if (room < 0)
			return room;
		if ((uint32_t)room < k) {
			rf_ficm_commit(&ch->tx, 0);
			return -EAGAIN;
		}
		int rc = send_some(ch, buf, len, 0, k);
		return rc < 0 ? rc : (ssize_t)len;
	}
	int rc = rfcom__can_block();
	if (rc)
		return rc;
	unsigned round = 0;
	while (sent < k) {
		int n = send_some(ch, buf, len, sent, k - sent);
		if (n < 0)
			return n;   /* -EPIPE (peer closed) or -EBADMSG */
		if (n == 0) {
			rfcom__wait_tx_step(&round);
			continue;
		}
		sent += (uint32_t)n;
		round = 0;
	}
	return (ssize_t)len;
}
