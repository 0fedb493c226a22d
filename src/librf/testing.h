/*
 * testing.h - entry points for unit tests that drive librf without rf_main.
 *
 * A test attaches librf to a desc/status it owns (shared anonymous memory
 * it can write, playing rfd: publish a generation, send the command on the
 * control rings, ring doorbells, wait for the ack on the reply ring) or to
 * a standalone partition, with every core on a new thread so
 * the test's own thread stays outside librf as a "foreign" thread.  A
 * shutdown requested by rfd stops the core threads instead of
 * ending the process.  lrf_test_stop() tears everything down so the next
 * test can attach again.  Not part of the public API.
 */
#ifndef RF_LIBRF_TESTING_H
#define RF_LIBRF_TESTING_H

#include "rf/desc.h"
#include "rf/rf.h"

/* Attach to desc/status and the control rings `msgs` (RF_MSGS_SIZE bytes
 * formatted with ficm_ctl_format, ficm/ctlmsg.h; the test attaches rfd's
 * side with ficm_ctl_attach), regions as in RF_REGIONS ("id:fd,...", or
 * NULL), ctl_fd the control socket or -1; start all cores.  0 or -1. */
int lrf_test_attach(const struct rf_desc *desc, struct rf_status *status, void *msgs, int ctl_fd,
		    const char *regions);
/* Standalone (RF_CORES / RF_MEM from the environment), all cores started. */
int lrf_test_attach_standalone(void);
/* Stop every core thread, unmap everything, forget all state. */
void lrf_test_stop(void);

#endif
