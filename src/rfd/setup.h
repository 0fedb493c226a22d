/*
 * setup.h - rfd's start-up and shutdown (setup.c): the state directory and
 * its lock, topology, enforcement, memory pool, journal, in that order.
 *
 * Error contract: rfd_setup returns 0, or -1 with err filled and whatever
 * it had set up undone.
 */
#ifndef RF_RFD_SETUP_H
#define RF_RFD_SETUP_H

#include <stdbool.h>
#include "base/err.h"

struct rfd;

struct rfd_opts {
	const char *state_dir, *socket, *cores, *host_cores, *mem, *chunk, *hugepages, *enforce;
	const char *group;           /* --group: who besides rfd's user may connect */
	const char *journal_max;
	const char *metrics;         /* --metrics ADDR:PORT, or NULL */
	long deadline_ms;
	bool foreground, cleanup, no_rt, shield;
};

int rfd_setup(struct rfd *d, const struct rfd_opts *o, struct base_err *err);
/* cleanup: also destroy the enforcement state (cgroups) and the pool;
 * without it subOSes outlive rfd and a restarted rfd adopts them. */
void rfd_teardown(struct rfd *d, bool cleanup);

#endif
