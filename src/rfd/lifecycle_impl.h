/*
 * lifecycle_impl.h - what lifecycle.c (create, a program's own end,
 * restarts) and lifecycle_stop.c (stopping a program, destroy) share;
 * not for the rest of rfd.
 */
#ifndef RF_RFD_LIFECYCLE_IMPL_H
#define RF_RFD_LIFECYCLE_IMPL_H

#include "rfd/op.h"

struct rfd;
struct rfd_subos;

/* Give everything the subOS held back to the host (its program ended). */
void rfd_lc_release(struct rfd *d, struct rfd_subos *s);
/* The program's exit status: from the shim's report pipe (waiting up to
 * timeout_ms), or (a subOS adopted after a restart) from the file the
 * shim writes before it exits.  Closes the report pipe and shim pidfd.
 * Shims are reaped by the kernel (SA_NOCLDWAIT in main.c). */
int rfd_lc_reap(struct rfd *d, struct rfd_subos *s, int timeout_ms);

/*
 * Stopping op->s's program, as states of any op (numbered from
 * RFD_STOP_GRACE, above the op's own): GRACE waits up to op->deadline_ns
 * for it to end by itself (a libos shutdown asked), KILL sends SIGKILL
 * (which also ends everything in its PID namespace) and waits up to 5 s
 * for it to go, then for its shim's report, up to 5 s more.  Once done,
 * s->exit_code holds how it ended, op->how says RFD_STOP_KILLED if it had
 * to be killed, and op->state is the `then` given to stop_start.
 */
enum { RFD_STOP_GRACE = 100, RFD_STOP_KILL, RFD_STOP_GONE, RFD_STOP_REAP };
#define RFD_STOP_KILLED 1
/* Go to `from` (GRACE or KILL) with `then` to come back to; runs the op's
 * step at once. */
enum rfd_op_rc rfd_lc_stop_start(struct rfd *d, struct rfd_op *op, int from, int then);
/* The stop's states; RFD_OP_DONE when the program is reaped (op->state
 * is `then` again). */
enum rfd_op_rc rfd_lc_stop_step(struct rfd *d, struct rfd_op *op);

#endif
