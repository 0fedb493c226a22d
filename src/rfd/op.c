/*
 * op.c - operations as state machines on rfd's event loop (op.h).
 *
 * The loop knows an op only by its id (the RFD_EV_OP tag): each op owns a
 * timerfd and up to RFD_OP_FDS watched descriptors, all tagged with it.
 * Before each step everything is unwatched and the timer disarmed, so a
 * step states afresh what it waits for and a level-triggered descriptor
 * that stays readable (a pidfd after the exit) cannot fire again unasked.
 * The list d->ops holds running and waiting ops in submission order, so
 * the first waiting op on a subOS is the next to run on it.
 */
#define _GNU_SOURCE
#include "rfd/op.h"
#include "rfd/check.h"
#include "rfd/watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "base/time.h"

static uint32_t next_id = 1;

struct rfd_op *rfd_op_new(const char *name, rfd_op_step step)
{
	struct rfd_op *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->id = next_id++;
	if (!next_id)
		next_id = 1;
	snprintf(op->name, sizeof(op->name), "%s", name ? name : "");
	op->step = step;
	op->timer_fd = -1;
	for (int i = 0; i < RFD_OP_FDS; i++)
		op->fds[i] = -1;
	return op;
}

static void quiet(struct rfd *d, struct rfd_op *op)
{
	for (int i = 0; i < RFD_OP_FDS; i++)
		if (op->fds[i] >= 0) {
			rfd_unwatch_fd(d, op->fds[i]);
			op->fds[i] = -1;
		}
	if (op->timer_fd >= 0) {
		struct itimerspec off = { { 0, 0 }, { 0, 0 } };
		timerfd_settime(op->timer_fd, 0, &off, NULL);
	}
}

int rfd_op_watch(struct rfd *d, struct rfd_op *op, int fd)
{
	for (int i = 0; i < RFD_OP_FDS; i++)
		if (op->fds[i] < 0) {
			if (rfd_watch_fd(d, fd, rfd_ev_tag(RFD_EV_OP, op->id)))
				return -errno;
			op->fds[i] = fd;
			return 0;
		}
	return -ENOSPC;
}

int rfd_op_timer(struct rfd *d, struct rfd_op *op, uint64_t at_ns)
{
	if (op->timer_fd < 0) {
		op->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (op->timer_fd < 0)
			return -errno;
		if (rfd_watch_fd(d, op->timer_fd, rfd_ev_tag(RFD_EV_OP, op->id))) {
			int e = errno;
			close(op->timer_fd);
			op->timer_fd = -1;
			return -e;
		}
	}
	/* base_now_ns is CLOCK_MONOTONIC: an absolute time on the same clock */
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(at_ns / BASE_NS_PER_SEC),
						.tv_nsec = (long)(at_ns % BASE_NS_PER_SEC) } };
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	return timerfd_settime(op->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) ? -errno : 0;
}

void rfd_op_tick(struct rfd *d, struct rfd_op *op, int fd, uint64_t min_ns, uint64_t max_ns,
		 uint64_t until)
{
	uint64_t now = base_now_ns();
	if (fd >= 0)
		rfd_op_watch(d, op, fd);
	op->tick_ns = op->tick_ns ? op->tick_ns * 2 : min_ns;
	if (op->tick_ns > max_ns)
		op->tick_ns = max_ns;
	rfd_op_timer(d, op, now + op->tick_ns < until ? now + op->tick_ns : until);
}

static void op_free(struct rfd *d, struct rfd_op *op)
{
	quiet(d, op);
	if (op->timer_fd >= 0) {
		rfd_unwatch_fd(d, op->timer_fd);
		close(op->timer_fd);
	}
	if (op->result)
		json_object_put(op->result);
	base_request_free(&op->req);
	free(op);
}

static void unlink_op(struct rfd *d, struct rfd_op *op)
{
	for (struct rfd_op **pp = &d->ops; *pp; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			return;
		}
}

static struct rfd_op *first_on(struct rfd *d, const char *name)
{
	for (struct rfd_op *o = d->ops; o; o = o->next)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/* Step op until it waits or is done; done: answer, free, and start the
 * next op on the same subOS. */
static enum rfd_op_rc run(struct rfd *d, struct rfd_op *op)
{
	quiet(d, op);
	op->running = true;
	enum rfd_op_rc rc = op->step(d, op);
	rfd_check(d); /* after every step */
	if (rc == RFD_OP_WAIT)
		return RFD_OP_WAIT;
	char name[RF_NAME_MAX];
	snprintf(name, sizeof(name), "%s", op->name);
	if (op->finish)
		op->finish(d, op);
	unlink_op(d, op);
	op_free(d, op);
	struct rfd_op *next = first_on(d, name);
	if (next && !next->running)
		run(d, next);
	return RFD_OP_DONE;
}

enum rfd_op_rc rfd_op_submit(struct rfd *d, struct rfd_op *op)
{
	bool behind = first_on(d, op->name) != NULL;
	struct rfd_op **pp = &d->ops;
	while (*pp)
		pp = &(*pp)->next;
	*pp = op;
	return behind ? RFD_OP_WAIT : run(d, op);
}

void rfd_op_event(struct rfd *d, uint32_t id)
{
	struct rfd_op *op = d->ops;
	while (op && op->id != id)
		op = op->next;
	if (!op || !op->running)
		return;
	if (op->timer_fd >= 0) {
		uint64_t n;
		if (read(op->timer_fd, &n, sizeof(n)) < 0) {
			/* not expired yet (EAGAIN): a descriptor fired */
		}
	}
	run(d, op);
}

static bool listed(struct rfd *d, uint32_t id)
{
	for (struct rfd_op *o = d->ops; o; o = o->next)
		if (o->id == id)
			return true;
	return false;
}

void rfd_op_drive(struct rfd *d, struct rfd_op *op)
{
	int saved = d->epfd;
	uint32_t id = op->id;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (rfd_op_submit(d, op) == RFD_OP_WAIT)
		while (listed(d, id)) {
			struct epoll_event ev;
			if (epoll_wait(d->epfd, &ev, 1, 100) < 0 && errno != EINTR)
				usleep(1000); /* no epoll set: the op's deadlines still end it */
			rfd_op_event(d, id);
		}
	if (d->epfd >= 0)
		close(d->epfd);
	d->epfd = saved;
}

bool rfd_op_busy(struct rfd *d, const char *name)
{
	return first_on(d, name) != NULL;
}

void rfd_op_cancel_all(struct rfd *d)
{
	while (d->ops) {
		struct rfd_op *op = d->ops;
		d->ops = op->next;
		if (op->running) {
			quiet(d, op);
			op->state = RFD_OP_CANCEL;
			op->step(d, op);
		}
		op_free(d, op);
	}
}
