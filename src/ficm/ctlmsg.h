/*
 * ctlmsg.h - the control rings between rfd and a libos subOS (rf/desc.h,
 * RF_ENV_MSGS): formatting the region, attaching either side, and one-line
 * messages on them.  Shared by rfd, librf and the unit tests that play rfd.
 */
#ifndef RF_FICM_CTLMSG_H
#define RF_FICM_CTLMSG_H

#include <stddef.h>
#include <stdint.h>
#include "rf/desc.h"
#include "rf/ficm.h"

enum ficm_ctl_side { RF_MSGS_RFD = 1, RF_MSGS_SUBOS = 2 };

/* Write two empty rings into mem (RF_MSGS_SIZE bytes, page-aligned).  rfd
 * does this once, before the subOS starts. */
int ficm_ctl_format(void *mem, size_t len);

/* Attach one side: rfd produces commands and consumes replies; the subOS
 * the other way round.  *tx and *rx get the handles.  -EINVAL if the region
 * is too small or its rings do not have the geometry rf/desc.h fixes. */
int ficm_ctl_attach(void *mem, size_t len, enum ficm_ctl_side side, struct rf_ficm_ring *tx,
		    struct rf_ficm_ring *rx);

/* Send one message (len 0): 1 sent, 0 the ring is full, or a FICM error. */
int ficm_ctl_send(struct rf_ficm_ring *tx, enum rf_ctl_type type, uint32_t tag);

#endif
