/*
 * lifecycle.h - creating a subOS, and its end: destroyed, or exited by
 * itself (lifecycle.c).
 *
 * Error contract: 0, or -1 with err filled; a refused create leaves no
 * trace on the host or in the table.  Create starts watching the subOS's
 * end (watch.h) and destroy stops; whoever saw the end (the event loop)
 * stops watching before it calls exited.
 */
#ifndef RF_RFD_LIFECYCLE_H
#define RF_RFD_LIFECYCLE_H

#include <json-c/json.h>
#include "base/err.h"
#include "base/proto.h"
#include "rfd/op.h"

struct rfd;
struct rfd_subos;

/* Op steps (op.h) of create and destroy, on op->req / the subOS
 * op->name.  Create: start the subOS the request describes; it is in the
 * table (starting) from the first step, and answers once librf attached
 * (libos) or the program runs (linux); op->result is its description.
 * Destroy: stop it (gracefully for libos, up to the deadline, then
 * SIGKILL), release, journal, free; op->result is the answer (name,
 * status, timing_us). */
enum rfd_op_rc rfd_subos_create_step(struct rfd *d, struct rfd_op *op);
enum rfd_op_rc rfd_subos_destroy_step(struct rfd *d, struct rfd_op *op);
/* Its program ended by itself: reap, close its channels, journal; then it
 * waits to restart (its policy says so, restart.h) or is released and
 * stays listed as exited until destroyed.  While an op works on the
 * subOS (a resize), this waits behind it as an op of its own. */
void rfd_subos_exited(struct rfd *d, struct rfd_subos *s);
/* Its restart timer fired (restart.h): start the program again on the
 * partition it kept, or, if that fails, treat it as another end. */
void rfd_subos_restart_due(struct rfd *d, struct rfd_subos *s);

#endif
