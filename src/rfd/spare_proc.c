/*
 * spare_proc.c - a spare's shim and its child (spare.h), after rfd's fork.
 *
 * Like spawn.c's shim and child, with the program not known yet: the shim
 * clones the child into the namespaces, moves it into the spare's cgroups
 * and lets it go; the child mounts the filesystem view (the plan rfd made
 * once for every spare), says "ready" on its spec socket and waits there.
 * When a create takes the spare, the message and descriptors it reads say
 * the rest; it applies them, writes the exit path where the shim reads it
 * (a page the two share) and execs.  From the exec on, the shim does what
 * every shim does (rfd_shim_watch).  An end of the spec socket without a
 * message means rfd dropped the spare (or died): the child exits, and so
 * does the shim after it.
 *
 * Forked from a threaded rfd, so only plain system calls here, and no
 * allocation but mmap.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/confine.h"
#include "rfd/spare_proc.h"
#include "rfd/spare_spec.h"
#include "rfd/spawn_impl.h"
#include "base/fdpass.h"
#include "base/time.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS   4096 /* argv + envp pointers */
#define SPEC_POLL_NS (5ull * 1000 * 1000) /* after "W": poll this long, then sleep */

struct received {
	char *buf;             /* the message (mmap'd) */
	ssize_t len;
	int fds[RFD_SPARE_MAX_FDS];
	int nfds;
};

/* One message (MSG_DONTWAIT in flags: none yet is -1 with EAGAIN); with
 * MSG_TRUNC, a longer one says its whole length and fails the check. */
static ssize_t recv_one(int spec_fd, struct received *r, int flags)
{
	ssize_t n;
	do
		n = base_recv_fds(spec_fd, r->buf, RFD_SPARE_SPEC_MAX, r->fds, RFD_SPARE_MAX_FDS,
				  &r->nfds, flags | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	return n;
}

/* Read the message and its descriptors: 0, or -1 (rfd closed the socket,
 * or sent something else than a whole message: one too long, or with
 * fewer descriptors than it lists, fails the decoder's checks).  rfd's
 * one-byte "W" says a create took the spare and the message follows
 * within a millisecond or so: the child, on the subOS's own core by then,
 * polls for it rather than sleeping (a wake-up of an idle core costs that
 * much on a VM). */
static int receive(int spec_fd, struct received *r)
{
	int flags = 0;
	uint64_t until = 0;
	for (;;) {
		r->len = recv_one(spec_fd, r, flags);
		if (r->len == 1 && r->buf[0] == 'W') {
			flags = MSG_DONTWAIT;
			until = base_now_ns() + SPEC_POLL_NS;
		} else if (r->len < 0 && errno == EAGAIN) {
			flags = base_now_ns() < until ? MSG_DONTWAIT : 0;
		} else {
			break;
		}
	}
	return r->len > 0 && r->len <= RFD_SPARE_SPEC_MAX ? 0 : -1;
}

static _Noreturn void fail(int err_fd, int err, int step, int detail)
{
	struct rfd_child_err ce = { err, step, detail };
	if (write(err_fd, &ce, sizeof(ce)) != sizeof(ce)) {
		/* the shim sees EOF and a dead child */
	}
	_exit(127);
}

/* The child's second half: the message received, become the program. */
static _Noreturn void become(struct received *r, int err_fd, char *exit_page)
{
	static const char *slots[SLOTS];
	struct rfd_spare_spec sp;
	if (rfd_spare_spec_decode(r->buf, (size_t)r->len, &sp, slots, SLOTS) ||
	    sp.nfds != r->nfds)
		fail(err_fd, EINVAL, RFD_STEP_SPEC, 0);
	if (sethostname(sp.hostname, strlen(sp.hostname))) {
		/* not fatal: the UTS namespace still isolates the host's name */
	}
	sched_setaffinity(0, sizeof(sp.mask), &sp.mask);
	size_t n = strnlen(sp.exit_path, PATH_MAX - 1);
	memcpy(exit_page, sp.exit_path, n);
	exit_page[n] = '\0';
	rfd_child_place_fds(r->fds + 2, r->nfds - 2, r->fds[0], r->fds[1], &err_fd);
	struct rfd_confine rest = { .caps = sp.caps, .memlock = sp.memlock,
				    .filter = (struct sock_filter *)sp.filter,
				    .nfilter = sp.nfilter };
	int step = 0, rc = rfd_confine_apply_rest(&rest, &step);
	if (rc)
		fail(err_fd, -rc, RFD_STEP_CONFINE, step);
	/* exec's prototype predates const; it copies argv and envp */
	execvpe(sp.argv[0], (char *const *)sp.argv, (char *const *)sp.envp);
	fail(err_fd, errno, RFD_STEP_EXEC, 0);
}

static _Noreturn void child_main(const struct rfd_confine *plan, int go_fd, int err_fd,
				 int spec_fd, char *exit_page)
{
	struct received r;
	char c;
	if (read(go_fd, &c, 1) != 1)
		_exit(127); /* the shim died before letting us run */
	close(go_fd);
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	int step = 0, rc = rfd_confine_apply_fs(plan, &step);
	if (rc)
		fail(err_fd, -rc, RFD_STEP_CONFINE, step);
	r.buf = mmap(NULL, RFD_SPARE_SPEC_MAX, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r.buf == MAP_FAILED || send(spec_fd, "R", 1, MSG_NOSIGNAL) != 1)
		_exit(127);
	if (receive(spec_fd, &r))
		_exit(0); /* dropped */
	close(spec_fd);
	become(&r, err_fd, exit_page);
}

/* Close every descriptor but a and b. */
static void keep_only(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;
	if (lo > 3)
		syscall(SYS_close_range, 3, lo - 1, 0);
	if (hi > lo + 1)
		syscall(SYS_close_range, lo + 1, hi - 1, 0);
	syscall(SYS_close_range, hi + 1, ~0U, 0);
}

_Noreturn void rfd_spare_shim_main(struct rfd *d, const char *name, const struct rfd_confine *plan,
				   int report_fd, int spec_fd)
{
	int go[2], errp[2];
	/* Nothing of rfd's but the two (rfd_fork closed its doors already). */
	keep_only(report_fd, spec_fd);
	rfd_shim_begin();
	char *exit_page = mmap(NULL, PATH_MAX, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			       -1, 0);
	if (exit_page == MAP_FAILED)
		goto fail_clone;
	exit_page[0] = '\0';
	pid_t child = rfd_shim_clone(go, errp);
	if (child < 0)
		goto fail_clone;
	if (child == 0) {
		close(report_fd);
		child_main(plan, go[0], errp[1], spec_fd, exit_page);
	}
	close(spec_fd);
	rfd_shim_put_msg(report_fd, RFD_SHIM_PID, child, 0, 0);
	rfd_shim_go(report_fd, child, rfd_enforce_spare_join(&d->enf, name, child), go[1], errp[0],
		    exit_page);
fail_clone:
	rfd_shim_put_msg(report_fd, RFD_SHIM_FAIL, errno, RFD_STEP_CLONE, 0);
	_exit(1);
}
