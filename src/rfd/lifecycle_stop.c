/*
 * lifecycle_stop.c - stopping a subOS's program without waiting on the
 * event loop, and destroy, which is built on it (lifecycle_impl.h).
 *
 * The stop is a few states any op can enter (a failed create kills what
 * it started; destroy asks first): each waits on the program's pidfd or
 * the shim's report pipe and on the op's timer for its deadline, so the
 * loop serves everyone else meanwhile.  Destroy journals a "destroying"
 * intent before it asks the program to stop, so that an rfd killed in
 * between finishes the destroy when it restarts (recover.c) rather than
 * adopting a subOS that is going away.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/lifecycle.h"
#include "rfd/lifecycle_impl.h"
#include "rfd/chan.h"
#include "rfd/libos.h"
#include "rfd/log.h"
#include "rfd/subos.h"
#include "rfd/watch.h"
#include "base/exitstatus.h"
#include "base/time.h"
#include "base/timing.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define KILL_WAIT_NS (5ull * BASE_NS_PER_SEC)

enum { DS_BEGIN = 0, DS_STOPPED };

/* Has the process behind pidfd (or, with none, the report pipe) ended? */
static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return fd < 0 || poll(&p, 1, 0) == 1;
}

enum rfd_op_rc rfd_lc_stop_start(struct rfd *d, struct rfd_op *op, int from, int then)
{
	op->how = from == RFD_STOP_KILL ? RFD_STOP_KILLED : 0;
	op->then = then;
	op->state = from;
	return op->step(d, op);
}

/* Wait for fd (if any) or the deadline. */
static enum rfd_op_rc wait_on(struct rfd *d, struct rfd_op *op, int fd)
{
	if (fd >= 0)
		rfd_op_watch(d, op, fd);
	rfd_op_timer(d, op, op->deadline_ns);
	return RFD_OP_WAIT;
}

enum rfd_op_rc rfd_lc_stop_step(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s = op->s;
	uint64_t now = base_now_ns();
	switch (op->state) {
	case RFD_STOP_GRACE:
		if (!readable(s->pidfd) && now < op->deadline_ns)
			return wait_on(d, op, s->pidfd);
		if (!readable(s->pidfd))
			op->how = RFD_STOP_KILLED;
		/* fall through */
	case RFD_STOP_KILL:
		/* A frozen task ignores even SIGKILL: thawed whatever rfd's
		 * table says of its cores (a pause or resume cut short); a
		 * write that changes nothing costs less than a stop that
		 * cannot end. */
		if (rfd_enforce_thaw(&d->enf, s->name) && base_cpuset_empty(&s->cpus))
			rfd_log("subOS %s: cannot thaw it to stop it", s->name);
		if (s->pid > 0)
			kill(s->pid, SIGKILL); /* also ends everything in its PID namespace */
		op->state = RFD_STOP_GONE;
		op->deadline_ns = now + KILL_WAIT_NS;
		/* fall through */
	case RFD_STOP_GONE:
		if (!readable(s->pidfd) && now < op->deadline_ns)
			return wait_on(d, op, s->pidfd);
		op->state = RFD_STOP_REAP;
		op->deadline_ns = now + KILL_WAIT_NS;
		/* fall through */
	default: { /* RFD_STOP_REAP: the shim reports the exit, then ends */
		int fd = s->report_fd >= 0 ? s->report_fd : s->shim_pidfd;
		if (!readable(fd) && now < op->deadline_ns)
			return wait_on(d, op, fd);
		s->exit_code = rfd_lc_reap(d, s, 0);
		op->state = op->then;
		return RFD_OP_DONE;
	}
	}
}

/* Ask it to stop (a libos subOS gracefully, up to the deadline). */
static enum rfd_op_rc destroy_begin(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s = op->s;
	op->t[0] = op->t[1] = op->t[2] = op->t[3] = base_now_ns();
	if (s->life == RF_LIFE_RESTARTING) {
		rfd_lc_release(d, s); /* nothing runs: the timer, the partition */
		s->life = RF_LIFE_EXITED;
		op->state = DS_STOPPED;
		return op->step(d, op);
	}
	if (s->life == RF_LIFE_EXITED) {
		op->state = DS_STOPPED;
		return op->step(d, op);
	}
	rfd_journal_subos_intent(d, "destroying", s);
	rfd_unwatch_subos(d, s);
	if (s->kind != RF_KIND_LIBOS || !s->desc)
		return rfd_lc_stop_start(d, op, RFD_STOP_KILL, DS_STOPPED); /* thaws */
	/* Asked to shut down, a paused subOS's parked cores must run (even
	 * where they wait, the instance's cpuset, enforce.h): thawed whatever
	 * the table says, as the kill step does. */
	if (rfd_enforce_thaw(&d->enf, s->name) && base_cpuset_empty(&s->cpus))
		rfd_log("subOS %s: cannot thaw it to stop it", s->name);
	rfd_desc_begin(s);
	s->desc->shutdown = 1;
	rfd_desc_end(s, RF_CMD_SHUTDOWN);
	rfd_libos_ring(s);
	op->deadline_ns = base_now_ns() + d->deadline_ns;
	return rfd_lc_stop_start(d, op, RFD_STOP_GRACE, DS_STOPPED);
}

/* Stopped (or never running): release, journal, answer. */
static enum rfd_op_rc destroy_end(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s = op->s;
	static const char *const steps[] = { "stop", "reap", "release", "journal" };
	uint64_t us[4];
	if (s->life != RF_LIFE_EXITED) {
		op->t[1] = op->t[2] = base_now_ns();
		rfd_lc_release(d, s);
		s->life = RF_LIFE_EXITED;
		op->t[3] = base_now_ns();
	}
	struct json_object *x = json_object_new_object(), *res = json_object_new_object();
	json_object_object_add(x, "status", json_object_new_string(
						   op->how == RFD_STOP_KILLED ? "killed" : "exited"));
	if (s->exit_code != BASE_EXIT_UNKNOWN) /* destroy says nothing of an unseen end */
		base_exit_status_to_json(x, s->exit_code);
	json_object_object_add(res, "name", json_object_new_string(s->name));
	json_object_object_foreach(x, k, v)
		json_object_object_add(res, k, json_object_get(v));
	rfd_chan_subos_gone(d, s->name); /* its channels, journalled before the destroy */
	int rc = rfd_journal_subos(d, "destroy", s, x);
	op->t[4] = base_now_ns();
	base_steps_us(op->t, 4, us);
	base_timing_us_add(res, steps, us, 4);
	rfd_subos_remove(d, s);
	rfd_subos_free(d, s);
	op->s = NULL;
	if (rc) {
		json_object_put(res);
		base_errf(&op->err, BASE_E_INTERNAL, "destroyed, but the journal write failed: %s",
			  strerror(-rc));
		return RFD_OP_DONE;
	}
	op->result = res;
	return RFD_OP_DONE;
}

enum rfd_op_rc rfd_subos_destroy_step(struct rfd *d, struct rfd_op *op)
{
	if (op->state == RFD_OP_CANCEL) /* rfd stops: its intent record finishes it later */
		return RFD_OP_DONE;
	if (op->state == DS_BEGIN) {
		if (!(op->s = rfd_subos_find(d, op->name))) {
			base_errf(&op->err, BASE_E_NO_SUCH_SUBOS, "no subOS named \"%s\"",
				  op->name);
			return RFD_OP_DONE;
		}
		return destroy_begin(d, op);
	}
	if (op->state >= RFD_STOP_GRACE) {
		if (rfd_lc_stop_step(d, op) == RFD_OP_WAIT)
			return RFD_OP_WAIT;
		op->t[1] = base_now_ns();
	}
	return destroy_end(d, op);
}
