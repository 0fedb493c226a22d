/*
 * ctlmsg.c - the control rings between rfd and a libos subOS (ctlmsg.h).
 *
 * Two FICM rings at fixed offsets of one region (rf/desc.h, RF_MSGS_*).
 * All the checking is FICM's: attach compares each ring's header with the
 * geometry fixed here, and every index and length is validated on use, so
 * a region the peer scribbled on gives -EINVAL or -EBADMSG, never a fault.
 */
#include "ficm/ctlmsg.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define RING_BYTES(slots) (RF_FICM_HDR_SIZE + (size_t)(slots) * RF_FICM_MSG_SIZE)

_Static_assert(RF_MSGS_CMD_OFF + RING_BYTES(RF_MSGS_SLOTS) <= RF_MSGS_ACK_OFF, "rings overlap");
_Static_assert(RF_MSGS_ACK_OFF + RING_BYTES(RF_MSGS_SLOTS) <= RF_MSGS_SIZE, "rings too big");
_Static_assert(RF_MSGS_ACK_OFF % RF_FICM_ALIGN == 0, "ring alignment");

static void *at(void *mem, size_t off)
{
	return (char *)mem + off;
}

int ficm_ctl_format(void *mem, size_t len)
{
	size_t ring = RING_BYTES(RF_MSGS_SLOTS);
	int rc;

	if (!mem || len < RF_MSGS_SIZE)
		return -EINVAL;
	memset(mem, 0, RF_MSGS_SIZE);
	if ((rc = rf_ficm_ring_format(at(mem, RF_MSGS_CMD_OFF), ring, RF_MSGS_SLOTS)))
		return rc;
	return rf_ficm_ring_format(at(mem, RF_MSGS_ACK_OFF), ring, RF_MSGS_SLOTS);
}

int ficm_ctl_attach(void *mem, size_t len, enum ficm_ctl_side side, struct rf_ficm_ring *tx,
		    struct rf_ficm_ring *rx)
{
	size_t ring = RING_BYTES(RF_MSGS_SLOTS);
	bool rfd = side == RF_MSGS_RFD;
	int rc;

	memset(tx, 0, sizeof(*tx));
	memset(rx, 0, sizeof(*rx));
	if (!mem || len < RF_MSGS_SIZE || (side != RF_MSGS_RFD && side != RF_MSGS_SUBOS))
		return -EINVAL;
	rc = rf_ficm_attach(tx, at(mem, rfd ? RF_MSGS_CMD_OFF : RF_MSGS_ACK_OFF), ring,
			    RF_MSGS_SLOTS, RF_FICM_PRODUCER);
	if (!rc)
		rc = rf_ficm_attach(rx, at(mem, rfd ? RF_MSGS_ACK_OFF : RF_MSGS_CMD_OFF), ring,
				    RF_MSGS_SLOTS, RF_FICM_CONSUMER);
	if (rc) {
		memset(tx, 0, sizeof(*tx));
		memset(rx, 0, sizeof(*rx));
	}
	return rc;
}

int ficm_ctl_send(struct rf_ficm_ring *tx, enum rf_ctl_type type, uint32_t tag)
{
	struct rf_ficm_msg m = { .len = 0, .type = (uint16_t)type, .tag = tag };
	return rf_ficm_send(tx, &m, 1);
}
