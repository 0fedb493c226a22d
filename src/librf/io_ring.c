/*
 * io_ring.c - each core's io_uring: setup, batched submission, completion
 * reaping, sleeping inside the ring, and what happens to in-flight I/O
 * when the core leaves or its thread ends.
 *
 * Why this shape.  The design allows one kind of system call on a librf
 * hot path: a batched submission to the core's own ring.  So fibers only
 * fill SQEs (io.c) and park; the scheduler loop calls lrf_io_poll once per
 * pass, which enters the kernel once, and only if SQEs are pending or the
 * kernel flagged work for us, then reads completions from the CQ ring in
 * user space and unparks their fibers.
 *
 * The ring is set up with SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG
 * where the kernel allows it (older kernels: COOP_TASKRUN | TASKRUN_FLAG,
 * else plain).  Completion work then runs only when the core enters the
 * ring, never as an interrupt in the middle of a fiber, and the kernel sets
 * IORING_SQ_TASKRUN in the SQ flags when such work waits: the loop and the
 * idle spin watch that flag, so a completion is noticed within a pass.
 *
 * Idle with I/O in flight.  A core with nothing to run first spins (idle.c),
 * then sleeps.  With no I/O in flight it keeps sleeping in FUTEX_WAIT on
 * its doorbell as before.  With I/O in flight it must wake for whichever
 * comes first, a completion or a doorbell ring (mailbox posts, unparks, rfd
 * reconfiguring), so it queues an IORING_OP_FUTEX_WAIT (kernel >= 6.7) on
 * the doorbell word, expecting the value read before the final re-check,
 * and sleeps in io_uring_enter until one CQE or the next timer.  The futex
 * is shared, not FUTEX2_PRIVATE: rfd rings it through its own mapping of
 * the status page.  The watch stays armed across busy periods (any ring of
 * the doorbell completes it; a ring between the read and the arming makes
 * it fail at once with -EAGAIN), and while it is armed the core always
 * sleeps in the ring, never in a plain FUTEX_WAIT as well: rfd and the
 * mailbox wake one waiter, and two waiters on one doorbell could lose it.
 * Support is probed once when the ring is created (a FUTEX_WAIT whose
 * expected value is wrong must fail with -EAGAIN).  Without it (or with
 * RF_IO_NO_FUTEX_WAIT=1 in the environment, for tests) the core sleeps in
 * the ring at most RF_IO_BELL_POLL_NS at a time and re-checks its doorbell
 * and mailbox in between: a doorbell ring then costs up to 1 ms.
 *
 * Leaving (the core is taken away).  Rule: the leaving core cancels all its
 * in-flight operations (one IORING_OP_ASYNC_CANCEL with CANCEL_ANY) and
 * waits, up to RF_IO_LEAVE_WAIT_NS, for every CQE; each goes to its fiber
 * as usual, before the fibers move to the heir core.  An operation that
 * ended -ECANCELED because of the leave (tracked with leave_gen) is issued
 * again by its fiber on the core it resumes on (io.c), so applications see
 * no error.  An operation the kernel could not cancel in time (a file read
 * already running in an io-wq worker) stays with the parked thread, which
 * sleeps in the ring and forwards the completion to its fiber through the
 * heir's mailbox: late, but never lost and never into freed memory.
 *
 * Thread end (test teardown): the same cancel and bounded wait, but fibers
 * are not woken (there is nowhere to run them), then the ring is closed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "librf/io_internal.h"

#define RF_IORING_OP_FUTEX_WAIT 51            /* kernel 6.7 */
#define RF_FUTEX2_SIZE_U32      0x02u         /* no FUTEX2_PRIVATE: shared */
#define RF_FUTEX_BITSET_ANY     0xffffffffu
#define RF_IO_BELL_POLL_NS      1000000ll     /* fallback: re-check each 1 ms */
#define RF_IO_LEAVE_WAIT_NS     20000000ull   /* bounded wait on leaving: well
                                              * inside rfd's handshake deadline */
#define RF_IO_EXIT_WAIT_NS      200000000ull

/* ---- setup ---------------------------------------------------------------- */

static void prep_futex_wait(struct io_uring_sqe *sqe, uint32_t *word, uint32_t val)
{
	/* io_uring/futex.c: fd = futex2 flags, addr = word, addr2 = expected
	 * value, addr3 = wake mask; len and futex_flags must be 0. */
	io_uring_prep_rw(RF_IORING_OP_FUTEX_WAIT, sqe, (int)RF_FUTEX2_SIZE_U32, word, 0, val);
	sqe->addr3 = RF_FUTEX_BITSET_ANY;
	sqe->rw_flags = 0;
}

/* Does IORING_OP_FUTEX_WAIT work?  Wait with a wrong expected value: a
 * kernel that has it answers -EAGAIN at once, others -EINVAL. */
static bool probe_futex_wait(struct lrf_io *io)
{
	uint32_t word = 0;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int res;

	if (getenv("RF_IO_NO_FUTEX_WAIT") && strcmp(getenv("RF_IO_NO_FUTEX_WAIT"), "0"))
		return false;
	sqe = io_uring_get_sqe(&io->ring);
	if (!sqe)
		return false;
	prep_futex_wait(sqe, &word, 1);
	sqe->user_data = RF_IO_UD_NONE;
	if (io_uring_submit_and_wait(&io->ring, 1) < 0 || io_uring_peek_cqe(&io->ring, &cqe))
		return false;
	res = cqe->res;
	io_uring_cqe_seen(&io->ring, cqe);
	return res == -EAGAIN;
}

static int ring_create(struct lrf_io *io)
{
	static const unsigned modes[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		0,
	};
	struct io_uring_params p;
	int err = -EINVAL;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = modes[i] | IORING_SETUP_CQSIZE;
		p.cq_entries = RF_IO_CQ_ENTRIES;
		err = io_uring_queue_init_params(RF_IO_SQ_ENTRIES, &io->ring, &p);
		if (!err) {
			io->setup_flags = p.flags;
			return 0;
		}
	}
	return err;
}

/* On the core's own thread, when it starts (SINGLE_ISSUER binds the ring
 * to the creating thread). */
int lrf_io_core_init(struct lrf_core *c)
{
	struct lrf_io *io = rf_calloc(1, sizeof(*io));
	int err;

	if (!io)
		return -ENOMEM;
	err = ring_create(io);
	if (err) {
		fprintf(stderr, "librf: cpu %d: no io_uring (%s); I/O calls will fail "
			"with ENOSYS\n", c->cpu, strerror(-err));
		rf_free(io);
		return err;
	}
	io->futex_ok = probe_futex_wait(io);
	c->io = io;
	return 0;
}

/* ---- completions ------------------------------------------------------------ */

static void complete(struct lrf_io *io, uint64_t ud, int res)
{
	struct lrf_io_op *op;
	struct rf_fiber *f;

	if (ud == RF_IO_UD_NONE)
		return;
	if (ud == RF_IO_UD_WATCH) {
		io->watch_armed = false;
		return;
	}
	op = (struct lrf_io_op *)(uintptr_t)ud;
	f = op->f;  /* read before `done`: the op dies with the fiber's frame */
	io->inflight--;
	io->completions++;
	op->res = res;
	if (op->cb) {
		op->cb(op);   /* may free op's owner, or queue it again */
		return;
	}
	op->again = res == -ECANCELED && op->leave_gen != io->leave_gen;
	__atomic_store_n(&op->done, 1, __ATOMIC_RELEASE);
	if (!io->stopping)
		rf_unpark(f);
}

static int reap(struct lrf_io *io)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&io->ring, head, cqe) {
		complete(io, cqe->user_data, cqe->res);
		n++;
	}
	io_uring_cq_advance(&io->ring, n);
	return (int)n;
}

static bool kernel_wants_enter(struct lrf_io *io)
{
	return IO_URING_READ_ONCE(*io->ring.sq.kflags) &
	       (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW);
}

bool lrf_io_has_work(struct lrf_core *c)
{
	struct lrf_io *io = c->io;

	return io_uring_sq_ready(&io->ring) || io_uring_cq_ready(&io->ring) ||
	       kernel_wants_enter(io);
}

/* Once per scheduler pass: submit what fibers queued and let the kernel
 * run deferred completion work (one io_uring_enter, only if needed), then
 * hand every CQE to its fiber.  Returns the number of CQEs handled. */
int lrf_io_poll(struct lrf_core *c)
{
	struct lrf_io *io = c->io;

	if (io_uring_sq_ready(&io->ring) || kernel_wants_enter(io)) {
		io->enters++;
		io_uring_submit_and_get_events(&io->ring);
	}
	return io_uring_cq_ready(&io->ring) ? reap(io) : 0;
}

/* ---- submission --------------------------------------------------------------- */

struct io_uring_sqe *lrf_io_get_sqe(struct lrf_io *io)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);

	if (!sqe) {
		io->enters++;
		io_uring_submit(&io->ring);
		sqe = io_uring_get_sqe(&io->ring);
	}
	return sqe;
}

void lrf_io_queue_op(struct lrf_io *io, struct io_uring_sqe *sqe, struct lrf_io_op *op,
		     struct rf_fiber *f)
{
	op->f = f;
	op->cb = NULL;
	op->done = 0;
	op->again = 0;
	op->leave_gen = io->leave_gen;
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op);
	io->inflight++;
}

void lrf_io_queue_cb(struct lrf_io *io, struct io_uring_sqe *sqe, struct lrf_io_op *op,
		     void (*cb)(struct lrf_io_op *op))
{
	lrf_io_queue_op(io, sqe, op, NULL);
	op->cb = cb;
}

bool lrf_io_cancel(struct lrf_io *io, struct lrf_io_op *op)
{
	struct io_uring_sqe *sqe = lrf_io_get_sqe(io);

	if (!sqe)
		return false;
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
	sqe->user_data = RF_IO_UD_NONE;
	return true;
}

/* ---- sleeping in the ring ------------------------------------------------------ */

bool lrf_io_sleeps_in_ring(struct lrf_core *c)
{
	return c->io && (c->io->inflight || c->io->watch_armed);
}

static void arm_watch(struct lrf_io *io, uint32_t *bell, uint32_t val)
{
	struct io_uring_sqe *sqe = lrf_io_get_sqe(io);

	if (!sqe)
		return;  /* the ring is jammed: the sleep below is short anyway */
	prep_futex_wait(sqe, bell, val);
	sqe->user_data = RF_IO_UD_WATCH;
	io->watch_armed = true;
}

/* Sleep until a CQE arrives, the doorbell (expected to hold `bell`) rings,
 * or timeout_ns passes (< 0: no timeout).  The caller re-checked for work
 * after publishing status.sleeping. */
void lrf_io_sleep(struct lrf_core *c, uint32_t bell, int64_t timeout_ns)
{
	struct lrf_io *io = c->io;
	struct __kernel_timespec ts, *tp = NULL;
	struct io_uring_cqe *cqe;

	if (io->futex_ok && !io->watch_armed)
		arm_watch(io, &c->st->doorbell, bell);
	if ((!io->futex_ok || !io->watch_armed) &&
	    (timeout_ns < 0 || timeout_ns > RF_IO_BELL_POLL_NS))
		timeout_ns = RF_IO_BELL_POLL_NS;
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tp = &ts;
	}
	io->enters++;
	io->ring_sleeps++;
	io_uring_submit_and_wait_timeout(&io->ring, &cqe, 1, tp, NULL);
}

/* A parked core with operations still in flight (see "Leaving"): sleep in
 * the ring and forward whatever completes. */
void lrf_io_park_sleep(struct lrf_core *c, uint32_t bell)
{
	lrf_io_sleep(c, bell, -1);
	io_uring_submit_and_get_events(&c->io->ring);
	reap(c->io);
}

/* ---- leaving and ending --------------------------------------------------------- */

static void cancel_all(struct lrf_io *io, uint64_t wait_ns)
{
	uint64_t end = rf_now_ns() + wait_ns, now;
	struct io_uring_sqe *sqe = lrf_io_get_sqe(io);
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;

	if (sqe) {
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		sqe->user_data = RF_IO_UD_NONE;
	}
	while ((io->inflight || io->watch_armed) && (now = rf_now_ns()) < end) {
		ts.tv_sec = (long long)((end - now) / 1000000000ull);
		ts.tv_nsec = (long long)((end - now) % 1000000000ull);
		io->enters++;
		io_uring_submit_and_wait_timeout(&io->ring, &cqe, 1, &ts, NULL);
		reap(io);
	}
}

/* The core is leaving, still marked running: what completes now reaches
 * fibers through this core's run queue, which moves to the heir next. */
void lrf_io_leave(struct lrf_core *c)
{
	struct lrf_io *io = c->io;

	if (!io)
		return;
	io->leave_gen++;
	if (!lrf_io_sleeps_in_ring(c))
		return;
	cancel_all(io, RF_IO_LEAVE_WAIT_NS);
	if (io->inflight)
		fprintf(stderr, "librf: cpu %d leaves with %u I/O operations the kernel "
			"could not cancel yet; they complete later\n", c->cpu, io->inflight);
}

/* On the core's thread when it ends (test teardown). */
void lrf_io_core_exit(struct lrf_core *c)
{
	struct lrf_io *io = c->io;

	if (!io)
		return;
	io->stopping = true;
	io->leave_gen++;
	if (lrf_io_sleeps_in_ring(c))
		cancel_all(io, RF_IO_EXIT_WAIT_NS);
	io_uring_queue_exit(&io->ring);
	c->io = NULL;
	rf_free(io);
}
