/*
 * io_internal.h - what the two halves of librf's I/O share: the per-core
 * ring engine (io_ring.c: setup, submission, completion, sleeping in the
 * ring, cancelling on leave) and the fiber-facing calls (io.c, rf/io.h).
 * Kept apart from internal.h so only these two files see liburing.
 */
#ifndef RF_LIBRF_IO_INTERNAL_H
#define RF_LIBRF_IO_INTERNAL_H

#include <liburing.h>
#include "librf/internal.h"

/* user_data values that are not operations (an operation's user_data is
 * the address of its struct lrf_io_op, never this small). */
#define RF_IO_UD_NONE   0ull   /* cancel requests, the start-up probe */
#define RF_IO_UD_WATCH  1ull   /* the FUTEX_WAIT watching the doorbell */

#define RF_IO_SQ_ENTRIES 256u
#define RF_IO_CQ_ENTRIES 4096u

/* One operation a fiber waits for (on the fiber's stack), or one that
 * calls `cb` on the core's thread when it completes (the RFloop
 * connections' doorbell operations, in their connection: loop_conn.c). */
struct lrf_io_op {
	struct rf_fiber *f;
	void (*cb)(struct lrf_io_op *op);   /* NULL: wake f */
	int32_t res;          /* the CQE's result */
	uint32_t done;        /* atomic: res is valid */
	uint32_t again;       /* cancelled because its core left: issue again */
	uint32_t leave_gen;   /* the ring's leave_gen when it was queued */
};

/* A core's ring and its bookkeeping; owner-only (the core's thread). */
struct lrf_io {
	struct io_uring ring;
	uint32_t inflight;    /* operations queued or in the kernel */
	uint32_t leave_gen;   /* bumped each time the core leaves */
	bool watch_armed;     /* the doorbell FUTEX_WAIT is queued or in flight */
	bool futex_ok;        /* IORING_OP_FUTEX_WAIT works on this kernel */
	bool stopping;        /* the thread ends: complete without waking */
	uint32_t setup_flags; /* the IORING_SETUP_* flags the ring got */
	/* statistics, for tests and for checking the syscall budget */
	uint64_t enters;      /* io_uring_enter calls made */
	uint64_t ring_sleeps; /* idle sleeps taken inside the ring */
	uint64_t completions; /* operation CQEs handled */
};

/* A free SQE of the calling core's ring, submitting what is queued if the
 * submission ring is full; NULL if even that did not free one. */
struct io_uring_sqe *lrf_io_get_sqe(struct lrf_io *io);
/* Tag a prepared SQE with op (waited for by fiber f) and count it. */
void lrf_io_queue_op(struct lrf_io *io, struct io_uring_sqe *sqe, struct lrf_io_op *op,
		     struct rf_fiber *f);
/* Tag a prepared SQE with op, whose completion calls cb (op->res set). */
void lrf_io_queue_cb(struct lrf_io *io, struct io_uring_sqe *sqe, struct lrf_io_op *op,
		     void (*cb)(struct lrf_io_op *op));
/* Ask the kernel to cancel op, queued on this ring (it completes with
 * -ECANCELED, or with its result if it won the race).  false if no SQE. */
bool lrf_io_cancel(struct lrf_io *io, struct lrf_io_op *op);

#endif
