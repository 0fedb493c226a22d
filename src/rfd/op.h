/*
 * op.h - operations that take longer than one turn of the event loop
 * (op.c): a create waiting for librf to attach, a destroy waiting for the
 * program to stop, ...  Each is a state machine whose step function the
 * loop calls again when something it waits for happens: a descriptor
 * readable (a pidfd, the shim's report pipe), or its timer (a deadline,
 * or a short tick where nothing can signal, such as librf's RUNNING on
 * the status page).  No step ever sleeps or waits.
 *
 * Order: ops on one subOS (by name) run one after the other, in the order
 * submitted; ops on different subOSes run side by side.  A connection
 * sends nothing else while its request is in flight (server_conn.c), so
 * each client still sees its answers in order.
 */
#ifndef RF_RFD_OP_H
#define RF_RFD_OP_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "base/err.h"
#include "base/proto.h"
#include "rfd/rfd.h"

enum rfd_op_rc { RFD_OP_WAIT, RFD_OP_DONE };

struct rfd_op;
/* Advance the op: do what can be done now; return RFD_OP_WAIT having
 * armed what it waits for (rfd_op_watch, rfd_op_timer), or RFD_OP_DONE
 * with op->result or op->err set. */
typedef enum rfd_op_rc (*rfd_op_step)(struct rfd *d, struct rfd_op *op);

#define RFD_OP_FDS 2

struct rfd_op {
	uint32_t id;                /* its epoll tag's value (RFD_EV_OP) */
	char name[RF_NAME_MAX + 8]; /* the subOS it acts on (ops on it queue), or
				     * "chan:NAME" for a channel (chan.h) */
	struct rfd_subos *s;        /* set by the op's own steps */
	rfd_op_step step;
	int state;                  /* the step's own */
	uint64_t deadline_ns;       /* the step's own (base_now_ns) */
	uint64_t tick_ns;           /* the step's own polling interval */
	bool running;               /* started (not waiting behind another) */
	int timer_fd;
	int fds[RFD_OP_FDS];        /* watched for this op, or -1 */
	struct base_request req;    /* the request (owned), if any */
	struct json_object *result; /* the outcome: a result, or err */
	struct base_err err;
	uint64_t t[6];              /* the step's own timing marks */
	int how;                    /* the step's own */
	int then;                   /* the state a stop returns to (lifecycle_impl.h) */
	/* Called once, when the op is done, to answer (verbs.c); may be NULL
	 * (a restart: nobody to answer). */
	void (*finish)(struct rfd *d, struct rfd_op *op);
	void *ctx;                  /* finish's own */
	void *own;                  /* the step's own (freed by the step) */
	struct rfd_op *next;
};

/* A new op on subOS `name` (not yet submitted), or NULL (no memory). */
struct rfd_op *rfd_op_new(const char *name, rfd_op_step step);
/* Run it now, or queue it behind the ops on the same subOS.  Returns
 * RFD_OP_DONE if it ended within this call (finish was called and op is
 * freed), else RFD_OP_WAIT. */
enum rfd_op_rc rfd_op_submit(struct rfd *d, struct rfd_op *op);
/* Its descriptor or timer fired (RFD_EV_OP, id). */
void rfd_op_event(struct rfd *d, uint32_t id);
/* Is an op on `name` running or waiting? */
bool rfd_op_busy(struct rfd *d, const char *name);

/* For steps: watch fd until the op's next step (each step starts with
 * nothing watched), and fire the timer at `at_ns` (base_now_ns clock;
 * one timer per op, the later call wins).  0 or -errno. */
int rfd_op_watch(struct rfd *d, struct rfd_op *op, int fd);
int rfd_op_timer(struct rfd *d, struct rfd_op *op, uint64_t at_ns);

/* Poll something no descriptor signals: watch fd (if >= 0), and fire the
 * timer after op->tick_ns, which grows from min_ns (the first look soon)
 * by doubling to max_ns, but never after `until`.  Reset op->tick_ns to 0
 * to start over. */
void rfd_op_tick(struct rfd *d, struct rfd_op *op, int fd, uint64_t min_ns, uint64_t max_ns,
		 uint64_t until);

/* Run op to its end here and now, on an epoll set of its own: for rfd's
 * teardown (--cleanup), after the loop stopped, where waiting is fine. */
void rfd_op_drive(struct rfd *d, struct rfd_op *op);

/* rfd stops: drop every op (their own `cancel` in state RFD_OP_CANCEL:
 * the step is called once with op->state set to it, and must not wait). */
#define RFD_OP_CANCEL (-1)
void rfd_op_cancel_all(struct rfd *d);

#endif
