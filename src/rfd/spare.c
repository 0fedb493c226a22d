/*
 * spare.c - rfd's side of the spare (spare.h): making one, a create taking
 * it, starting the program in it, and ending one nobody took.
 *
 * Making a spare is done by rfd's loop between requests (the fork), the
 * rest by the shim on whatever CPU is free; a create only asks, without
 * waiting, whether the child has said "ready" on its spec socket.  The
 * shim's first report, the child's pid, is on the report pipe before that.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/confine.h"
#include "rfd/fork.h"
#include "rfd/libos.h"
#include "rfd/log.h"
#include "rfd/op.h"
#include "rfd/spare.h"
#include "rfd/spare_proc.h"
#include "rfd/spare_spec.h"
#include "rfd/spawn_impl.h"
#include "rfd/subos.h"
#include "base/fdpass.h"
#include "base/strv.h"
#include "base/time.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define SPARE_MEM      (64ull << 20)               /* its cgroup's limit while it waits */
#define SPARE_RETRY_NS (1000ull * 1000 * 1000)     /* after a spare failed */
#define GONE_WAIT_MS   1000                        /* for a killed child to leave */

struct rfd_spare {
	char name[48];        /* its cgroups' (enforce_spare.c) */
	pid_t shim_pid, child;
	int shim_pidfd;
	int report_fd;        /* the shim's reports (spawn_impl.h) */
	int spec_fd;          /* the child's message socket */
	bool ready;           /* the child said so; child known */
	int desc_fd;          /* a description page for a libos subOS */
	struct rf_desc *desc;
};

static void spare_free(struct rfd_spare *sp)
{
	int *fds[] = { &sp->shim_pidfd, &sp->report_fd, &sp->spec_fd, &sp->desc_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	if (sp->desc)
		munmap(sp->desc, RF_DESC_SIZE);
	free(sp);
}

/* The filesystem view of a subOS without --root or binds (as
 * lifecycle.c's start_program would ask for it). */
static int make_plan(struct rfd *d)
{
	char door_dir[PATH_MAX];
	struct base_err err = { 0 };
	rfd_confine_door_dir(d, false, door_dir, sizeof(door_dir));
	struct rfd_confine_opts o = {
		.kind = RF_KIND_LINUX, .state_dir = d->state_dir, .socket_path = d->socket_path,
		.subos_socket = d->subos_socket[0] ? d->subos_socket : NULL,
		.door_dir = door_dir[0] ? door_dir : NULL,
	};
	struct rfd_confine *plan = calloc(1, sizeof(*plan));
	if (!plan || rfd_confine_prepare(plan, &o, &err)) {
		rfd_log("spare: cannot plan its filesystem view: %s", err.msg);
		free(plan);
		return -1;
	}
	d->spare_plan = plan;
	return 0;
}

/* Fork its shim; 0, or -1 with errno. */
static int start_shim(struct rfd *d, struct rfd_spare *sp)
{
	int spec[2], report[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, spec))
		return -1;
	if (pipe2(report, O_CLOEXEC | O_NONBLOCK)) {
		close(spec[0]);
		close(spec[1]);
		return -1;
	}
	pid_t shim = rfd_fork(d);
	if (shim == 0) {
		fcntl(report[1], F_SETFL, 0); /* the shim writes blocking */
		rfd_spare_shim_main(d, sp->name, d->spare_plan, report[1], spec[1]);
	}
	int saved = errno;
	close(report[1]);
	close(spec[1]);
	sp->report_fd = report[0];
	sp->spec_fd = spec[0];
	if (shim < 0)
		return errno = saved, -1;
	sp->shim_pid = shim;
	sp->shim_pidfd = pidfd_open(shim, 0);
	return 0;
}

void rfd_spare_make(struct rfd *d)
{
	/* Not beside an op: a create's program starting, or a resize, must
	 * not share rfd's CPU (or lock out forks, in the cgroup moves) with
	 * the making of the next create's process. */
	if (d->spare || d->stopping || d->ops ||
	    !rfd_enforce_has_spares(&d->enf) ||
	    base_now_ns() < d->spare_retry_ns)
		return;
	d->spare_retry_ns = base_now_ns() + SPARE_RETRY_NS; /* unless it works */
	if (!d->spare_plan && make_plan(d))
		return;
	struct rfd_spare *sp = calloc(1, sizeof(*sp));
	if (!sp)
		return;
	*sp = (struct rfd_spare){ .shim_pidfd = -1, .report_fd = -1, .spec_fd = -1,
				  .desc_fd = -1 };
	snprintf(sp->name, sizeof(sp->name), "~spare.%d.%u", (int)getpid(), ++d->spare_seq);
	int rc = rfd_enforce_spare_make(&d->enf, sp->name, SPARE_MEM);
	if (rc) {
		rfd_log("spare: cannot make its cgroups: %s", strerror(-rc));
		spare_free(sp);
		return;
	}
	sp->desc = rfd_libos_new_desc(&sp->desc_fd);
	if (!sp->desc || start_shim(d, sp)) {
		rfd_log("spare: cannot start it: %s", strerror(errno));
		rfd_enforce_spare_remove(&d->enf, sp->name);
		spare_free(sp);
		return;
	}
	d->spare = sp;
	d->spare_retry_ns = 0;
}

/* The child's host pid from the shim's first report, waiting for it up to
 * timeout_ms: > 0, or 0 (none came). */
static pid_t child_pid(struct rfd_spare *sp, int timeout_ms)
{
	struct rfd_shim_msg m;
	struct pollfd p = { .fd = sp->report_fd, .events = POLLIN };
	if (sp->child > 0)
		return sp->child;
	if (poll(&p, 1, timeout_ms) == 1 && read(sp->report_fd, &m, sizeof(m)) == sizeof(m) &&
	    m.type == RFD_SHIM_PID)
		sp->child = m.val;
	return sp->child;
}

/* SIGKILL pid (if > 0) and wait until it is gone: by pidfd (its own, or
 * -1: one opened here). */
static void kill_wait(pid_t pid, int pidfd)
{
	int fd = pidfd >= 0 ? pidfd : pid > 0 ? pidfd_open(pid, 0) : -1;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (pid > 0)
		kill(pid, SIGKILL);
	if (fd >= 0)
		poll(&p, 1, GONE_WAIT_MS);
	if (fd >= 0 && fd != pidfd)
		close(fd);
}

/* End the spare's processes, the child first (it leaves the spare's
 * cgroups), then its shim, and wait until both are gone: nothing of a
 * spare outlives it. */
static void end_processes(struct rfd_spare *sp, int timeout_ms)
{
	kill_wait(child_pid(sp, timeout_ms), -1);
	kill_wait(sp->shim_pid, sp->shim_pidfd);
}

/* End a spare: its processes, then (enf: its cgroups are still its own)
 * its cgroups, then it. */
static void spare_end(struct rfd_spare *sp, struct rfd_enforcer *enf)
{
	end_processes(sp, 100);
	int rc = enf ? rfd_enforce_spare_remove(enf, sp->name) : 0;
	if (rc)
		rfd_log("spare %s: cannot remove its cgroups: %s", sp->name, strerror(-rc));
	spare_free(sp);
}

void rfd_spare_drop(struct rfd *d)
{
	struct rfd_spare *sp = d->spare;
	d->spare = NULL;
	if (sp)
		spare_end(sp, &d->enf);
}

void rfd_spare_follow(struct rfd *d, const cpu_set_t *mask)
{
	struct rfd_spare *sp = d->spare;
	if (!sp)
		return;
	sched_setaffinity(sp->shim_pid, sizeof(*mask), mask);
	if (child_pid(sp, 0) > 0)
		sched_setaffinity(sp->child, sizeof(*mask), mask);
}

/* Has the child said it is ready?  1 yes, 0 not yet, -1 it never will. */
static int is_ready(struct rfd_spare *sp)
{
	char c;
	if (sp->ready)
		return 1;
	ssize_t n = recv(sp->spec_fd, &c, 1, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n != 1 || c != 'R' || child_pid(sp, 0) <= 0)
		return -1;
	sp->ready = true;
	return 1;
}

/* Could s use a spare (spare.h)? */
static bool usable(const struct rfd_subos *s)
{
	return !s->fs_root && !base_strv_len(s->binds) && !base_strv_len(s->ro_binds);
}

int rfd_spare_wait(struct rfd *d, struct rfd_subos *s, struct rfd_op *op, uint64_t until_ns)
{
	struct rfd_spare *sp = d->spare;
	if (!sp || !usable(s) || base_now_ns() >= until_ns || is_ready(sp) != 0)
		return 0;
	if (rfd_op_watch(d, op, sp->spec_fd) || rfd_op_timer(d, op, until_ns))
		return 0;
	return 1;
}

int rfd_spare_adopt(struct rfd *d, struct rfd_subos *s, uint64_t mem_limit)
{
	struct rfd_spare *sp = d->spare;
	if (!sp || !usable(s))
		return 0;
	int ready = is_ready(sp);
	if (ready == 0)
		return 0;
	if (ready < 0) {
		rfd_log("spare %s: its process died: made again", sp->name);
		rfd_spare_drop(d);
		return 0;
	}
	int rc = rfd_enforce_spare_adopt(&d->enf, sp->name, s->name, &s->cpus, mem_limit,
					 sp->child, s->cgroup, sizeof(s->cgroup));
	if (rc) {
		rfd_log("spare %s: cannot give its cgroups: %s", sp->name, strerror(-rc));
		rfd_spare_drop(d);
		return 0;
	}
	d->spare = NULL;
	s->spare = sp;
	/* the message follows: its child polls for it meanwhile */
	if (send(sp->spec_fd, "W", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
		/* it sleeps instead: the message wakes it */
	}
	return 1;
}

struct rf_desc *rfd_spare_take_desc(struct rfd_spare *sp, int *fd)
{
	struct rf_desc *desc = sp->desc;
	*fd = sp->desc_fd;
	sp->desc = NULL;
	sp->desc_fd = -1;
	return desc;
}

int rfd_spare_launch(struct rfd_subos *s, const struct rfd_spare_spec *spec, const int *fds,
		     int *report_fd)
{
	struct rfd_spare *sp = s->spare;
	char *buf = malloc(RFD_SPARE_SPEC_MAX);
	ssize_t n = buf ? rfd_spare_spec_encode(spec, buf, RFD_SPARE_SPEC_MAX) : -ENOMEM;
	/* the message and its descriptors, in one datagram */
	int rc = n < 0 || base_send_fds(sp->spec_fd, buf, (size_t)n, fds, spec->nfds,
					MSG_DONTWAIT) != n ? -1 : 0;
	free(buf);
	if (rc) {
		rfd_log("subOS %s: its spare cannot take the program (%s): started anew",
			s->name, n < 0 ? strerror((int)-n) : strerror(errno));
		rfd_spare_discard(s);
		return -1;
	}
	s->shim_pid = sp->shim_pid;
	s->shim_pidfd = sp->shim_pidfd;
	s->pid = sp->child;
	*report_fd = sp->report_fd;
	sp->shim_pidfd = sp->report_fd = -1;
	spare_free(sp);
	s->spare = NULL;
	return 0;
}

void rfd_spare_discard(struct rfd_subos *s)
{
	struct rfd_spare *sp = s->spare;
	s->spare = NULL;
	if (sp)
		spare_end(sp, NULL); /* its cgroups are the subOS's now */
}

const char *rfd_spare_state(struct rfd *d)
{
	if (!rfd_enforce_has_spares(&d->enf))
		return "unsupported";
	if (!d->spare)
		return "none";
	return is_ready(d->spare) > 0 ? "ready" : "making";
}
