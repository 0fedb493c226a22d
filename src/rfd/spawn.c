/*
 * spawn.c - starting a subOS's program through a small per-subOS shim.
 *
 * A subOS must outlive rfd (DESIGN.md), so its program is not rfd's child:
 * rfd forks a shim (in the manner of conmon), the shim clones the program
 * into new PID, mount, UTS and IPC namespaces, moves it into the subOS's
 * cgroups while it waits on a pipe, lets it confine itself (confine.h:
 * filesystem, cgroup namespace, capabilities, no_new_privs, seccomp) and
 * exec, reports the outcome to
 * rfd, then waits for it and records its exit status in a file that a
 * restarted rfd can still read.  Nothing ties the program's life to rfd:
 * no parent-death signal, no pipe whose closing kills it.
 *
 * The shim is forked from a multi-threaded rfd, so everything it and the
 * child need (argv, envp, file names) is prepared before fork and the code
 * after fork sticks to plain system calls.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/confine.h"
#include "rfd/fork.h"
#include "rfd/spawn.h"
#include "rfd/spawn_impl.h"
#include "rfd/spare.h"
#include "rfd/spare_spec.h"
#include "rfd/subos.h"
#include "base/exitstatus.h"
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
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define SHIM_ANSWER_NS (10ull * 1000000000ull) /* exec reported, or the shim is lost */

extern char **environ;

struct prepared {
	const char **envp;   /* the array is ours, the strings their owners' */
	int log_fd, null_fd;
	cpu_set_t mask;
	struct rfd_confine conf;
};

void rfd_shim_put_msg(int fd, int type, int val, int step, int detail)
{
	struct rfd_shim_msg m = { type, val, step, detail };
	if (write(fd, &m, sizeof(m)) != sizeof(m)) {
		/* rfd went away; the shim carries on and records the exit. */
	}
}

void rfd_child_place_fds(const int *fds, int n, int null_fd, int log_fd, int *keep)
{
	int high[RF_MAX_REGIONS + 8];
	/* Copies above the targets 3 .. 3+n-1 (F_DUPFD takes the lowest free
	 * number from there, never an open one), *keep too, then into place. */
	for (int i = 0; i < n; i++)
		high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + n);
	if (*keep < 3 + n)
		*keep = fcntl(*keep, F_DUPFD_CLOEXEC, 3 + n);
	dup2(null_fd, 0);
	dup2(log_fd, 1);
	dup2(log_fd, 2);
	for (int i = 0; i < n; i++)
		dup2(high[i], 3 + i);
	syscall(SYS_close_range, 3 + n, ~0U, CLOSE_RANGE_CLOEXEC);
}

void rfd_shim_begin(void)
{
	sigset_t none;
	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction dfl = { .sa_handler = SIG_DFL }; /* drop rfd's SA_NOCLDWAIT */
	sigaction(SIGCHLD, &dfl, NULL);
}

_Noreturn void rfd_shim_watch(int report_fd, pid_t child, const char *exit_path)
{
	int status;
	/* Keep only the report pipe (as fd 3): the exit status goes to rfd
	 * through it at once, and to a file for an rfd that restarted. */
	if (report_fd != 3)
		dup2(report_fd, 3);
	syscall(SYS_close_range, 4, ~0U, 0);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	rfd_shim_put_msg(3, RFD_SHIM_EXIT, status, 0, 0);
	if (exit_path[0])
		rfd_shim_record_exit(exit_path, status);
	_exit(0);
}

pid_t rfd_shim_clone(int go[2], int errp[2])
{
	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
		return -1;
	pid_t child = (pid_t)syscall(SYS_clone, RFD_SPAWN_NS_FLAGS | SIGCHLD, NULL, NULL, NULL, 0);
	if (child < 0)
		return -1;
	close(child ? go[0] : go[1]);
	close(child ? errp[1] : errp[0]);
	return child;
}

_Noreturn void rfd_shim_go(int report_fd, pid_t child, int err, int go_fd, int err_fd,
			   const char *exit_path)
{
	struct rfd_child_err ce;
	int status;
	if (err) {
		rfd_shim_put_msg(report_fd, RFD_SHIM_FAIL, -err, RFD_STEP_CGROUP, 0);
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		_exit(1);
	}
	if (write(go_fd, "g", 1) != 1)
		_exit(1);
	if (read(err_fd, &ce, sizeof(ce)) == sizeof(ce))
		rfd_shim_put_msg(report_fd, RFD_SHIM_FAIL, ce.err, ce.step, ce.detail);
	else
		rfd_shim_put_msg(report_fd, RFD_SHIM_EXEC_OK, 0, 0, 0);
	rfd_shim_watch(report_fd, child, exit_path);
}

/* The program's side: wait for the go, enter the partition, exec. */
static void child_main(const struct rfd_spawn *sp, struct prepared *pr, int go_fd, int err_fd)
{
	char c;
	if (read(go_fd, &c, 1) != 1)
		_exit(127); /* the shim died before letting us run */
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	if (sethostname(sp->hostname, strlen(sp->hostname))) {
		/* not fatal: the UTS namespace still isolates the host's name */
	}
	sched_setaffinity(0, sizeof(pr->mask), &pr->mask);
	rfd_child_place_fds(sp->pass_fds, sp->npass, pr->null_fd, pr->log_fd, &err_fd);
	struct rfd_child_err ce = { 0, RFD_STEP_CONFINE, 0 };
	int rc = rfd_confine_apply(&pr->conf, &ce.detail);
	if (rc) {
		ce.err = -rc;
	} else {
		/* exec's prototype predates const; it copies argv and envp,
		 * never writes them. */
		execvpe(sp->argv[0], (char *const *)sp->argv, (char *const *)pr->envp);
		ce = (struct rfd_child_err){ errno, RFD_STEP_EXEC, 0 };
	}
	if (write(err_fd, &ce, sizeof(ce)) != sizeof(ce)) {
		/* nothing to do: the shim sees EOF and a dead child */
	}
	_exit(127);
}

void rfd_shim_record_exit(const char *path, int status)
{
	char buf[64];
	int st = base_exit_status_of_wait(status);
	int n = st < 0 ? snprintf(buf, sizeof(buf), "signal %d\n", -st)
		       : snprintf(buf, sizeof(buf), "exit %d\n", st);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd >= 0) {
		if (write(fd, buf, (size_t)n) != n) {
			/* disk full: a restarted rfd reports the exit as unknown */
		}
		/* No fsync: the file serves an rfd restart, not a machine crash
		 * (after which the subOS is gone anyway), and rfd waits for it. */
		close(fd);
	}
}

static void shim_main(struct rfd *d, struct rfd_subos *s, const struct rfd_spawn *sp,
		      struct prepared *pr, int report_fd)
{
	int go[2], errp[2];

	rfd_shim_begin();
	pid_t child = rfd_shim_clone(go, errp);
	if (child < 0)
		goto fail_clone;
	if (child == 0)
		child_main(sp, pr, go[0], errp[1]);
	rfd_shim_put_msg(report_fd, RFD_SHIM_PID, child, 0, 0);
	rfd_shim_go(report_fd, child, rfd_enforce_attach(&d->enf, s->name, child), go[1], errp[0],
		    sp->exit_path);
fail_clone:
	rfd_shim_put_msg(report_fd, RFD_SHIM_FAIL, errno, RFD_STEP_CLONE, 0);
	_exit(1);
}

static size_t count(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* The program's environment: rfd's own without its RF_ variables, then
 * the request's, then the RF_ ones rfd sets for this subOS. */
static int make_envp(const struct rfd_spawn *sp, struct prepared *pr)
{
	size_t n = count((const char *const *)environ), ne = count(sp->env),
	       nr = count(sp->rf_env), k = 0;
	pr->envp = calloc(n + ne + nr + 1, sizeof(*pr->envp));
	if (!pr->envp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "RF_", 3) != 0) /* never leak rfd's own RF_ vars */
			pr->envp[k++] = environ[i];
	for (size_t i = 0; i < ne; i++)
		pr->envp[k++] = sp->env[i];
	for (size_t i = 0; i < nr; i++)
		pr->envp[k++] = sp->rf_env[i];
	return 0;
}

/* envp, files and the confinement, made before fork so the shim need not
 * allocate. */
static int prepare(const struct rfd_spawn *sp, struct prepared *pr, bool spare,
		   struct base_err *err)
{
	struct rfd_confine_opts conf = *sp->confine;
	conf.no_fs = spare; /* a spare's process has its view already */
	if (make_envp(sp, pr))
		return base_errf(err, BASE_E_INTERNAL, "out of memory");
	pr->log_fd = open(sp->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	pr->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	CPU_ZERO(&pr->mask);
	for_each_cpu(c, sp->cpus)
		if (c < CPU_SETSIZE)
			CPU_SET(c, &pr->mask);
	if (pr->log_fd < 0 || pr->null_fd < 0)
		return base_errf(err, BASE_E_INTERNAL, "cannot prepare %s: %s", sp->argv[0],
				 strerror(errno));
	return rfd_confine_prepare(&pr->conf, &conf, err);
}

static void unprepare(struct prepared *pr)
{
	rfd_confine_release(&pr->conf);
	free(pr->envp);
	if (pr->log_fd >= 0)
		close(pr->log_fd);
	if (pr->null_fd >= 0)
		close(pr->null_fd);
}

static const char *step_name(int step)
{
	return step == RFD_STEP_CGROUP ? "cannot enter its cgroup" :
	       step == RFD_STEP_CLONE ? "cannot create its namespaces" :
	       step == RFD_STEP_SPEC ? "cannot read how to start" : "cannot execute";
}

static int shim_failed(struct rfd_subos *s, const struct prepared *pr,
		       const struct rfd_shim_msg *m, struct base_err *err)
{
	char what[PATH_MAX + 64];
	if (m->step != RFD_STEP_CONFINE)
		return base_errf(err, BASE_E_SPAWN_FAILED, "%s %s: %s", step_name(m->step),
				 s->argv[0], strerror(m->val));
	rfd_confine_describe_step(&pr->conf, m->detail, what, sizeof(what));
	return base_errf(err, BASE_E_SPAWN_FAILED, "%s: %s: %s", s->argv[0], what,
			 strerror(m->val));
}

/* A program being started: what telling its outcome needs. */
struct rfd_spawning {
	struct prepared pr;  /* only its confinement is still needed */
	int report_fd;       /* the shim's reports */
	uint64_t deadline_ns;
};

/* The program in the spare its create took (spare.h): 0, or -1 (the
 * spare is gone; start it the ordinary way). */
static int spawn_in_spare(struct rfd_subos *s, const struct rfd_spawn *sp, struct rfd_spawning *h)
{
	int fds[RFD_SPARE_MAX_FDS] = { h->pr.null_fd, h->pr.log_fd };
	if (sp->npass + 2 > RFD_SPARE_MAX_FDS)
		return rfd_spare_discard(s), -1;
	memcpy(fds + 2, sp->pass_fds, sizeof(int) * (size_t)sp->npass);
	struct rfd_spare_spec spec = {
		.argv = sp->argv, .envp = h->pr.envp, .hostname = sp->hostname,
		.exit_path = sp->exit_path, .mask = h->pr.mask, .caps = h->pr.conf.caps,
		.memlock = h->pr.conf.memlock, .filter = h->pr.conf.filter,
		.nfilter = h->pr.conf.nfilter, .nfds = sp->npass + 2,
	};
	if (rfd_spare_launch(s, &spec, fds, &h->report_fd))
		return -1;
	h->deadline_ns = base_now_ns() + SHIM_ANSWER_NS;
	return 0;
}

int rfd_spawn_start(struct rfd *d, struct rfd_subos *s, const struct rfd_spawn *sp,
		    struct rfd_spawning **out, struct base_err *err)
{
	struct rfd_spawning *h = calloc(1, sizeof(*h));
	int report[2] = { -1, -1 };
	if (!h)
		return base_errf(err, BASE_E_INTERNAL, "out of memory");
	h->pr = (struct prepared){ .log_fd = -1, .null_fd = -1 };
	if (prepare(sp, &h->pr, s->spare != NULL, err))
		goto fail;
	/* With a cpuset the cgroup alone confines the program.  Its own mask
	 * must then be "everything": since Linux 6.2 a mask set with
	 * sched_setaffinity (also rfd's host mask, inherited through fork) is
	 * kept and intersected with every later cpuset, so a linux subOS
	 * would never run on the cores a resize adds. */
	if (d->enf.kind != RF_ENF_AFFINITY)
		for (int c = 0; c < CPU_SETSIZE; c++)
			CPU_SET(c, &h->pr.mask);
	if (s->spare) {
		if (spawn_in_spare(s, sp, h) == 0) {
			*out = h;
			return 0;
		}
		/* started anew: this child needs the filesystem plan too */
		rfd_confine_release(&h->pr.conf);
		if (rfd_confine_prepare(&h->pr.conf, sp->confine, err))
			goto fail;
	}
	if (pipe2(report, O_CLOEXEC | O_NONBLOCK)) {
		base_errf(err, BASE_E_INTERNAL, "pipe: %s", strerror(errno));
		goto fail;
	}
	pid_t shim = rfd_fork(d);
	if (shim < 0) {
		base_errf(err, BASE_E_INTERNAL, "fork: %s", strerror(errno));
		goto fail;
	}
	if (shim == 0) {
		close(report[0]);
		fcntl(report[1], F_SETFL, 0); /* the shim writes blocking */
		shim_main(d, s, sp, &h->pr, report[1]);
	}
	close(report[1]);
	s->shim_pid = shim;
	s->shim_pidfd = pidfd_open(shim, 0);
	h->report_fd = report[0];
	h->deadline_ns = base_now_ns() + SHIM_ANSWER_NS;
	*out = h;
	return 0;
fail:
	if (report[0] >= 0)
		close(report[0]);
	if (report[1] >= 0)
		close(report[1]);
	unprepare(&h->pr);
	free(h);
	return -1;
}

int rfd_spawn_fd(const struct rfd_spawning *h)
{
	return h->report_fd;
}

uint64_t rfd_spawn_deadline(const struct rfd_spawning *h)
{
	return h->deadline_ns;
}

/* The outcome is known: the handle goes; the pipe stays the subOS's (the
 * exit status comes on it), and so does a program to stop on failure. */
static int spawn_done(struct rfd_subos *s, struct rfd_spawning **hp, int rc)
{
	struct rfd_spawning *h = *hp;
	if (s->pid > 0)
		s->pidfd = pidfd_open(s->pid, 0);
	s->report_fd = h->report_fd;
	unprepare(&h->pr);
	free(h);
	*hp = NULL;
	return rc;
}

int rfd_spawn_poll(struct rfd_subos *s, struct rfd_spawning **hp, struct base_err *err)
{
	struct rfd_spawning *h = *hp;
	struct rfd_shim_msg m;
	for (;;) {
		ssize_t n = read(h->report_fd, &m, sizeof(m));
		if (n < 0 && errno == EAGAIN) {
			if (base_now_ns() < h->deadline_ns)
				return 1;
			base_errf(err, BASE_E_SPAWN_FAILED, "the shim for \"%s\" did not answer",
				  s->name);
			return spawn_done(s, hp, -1);
		}
		if (n != sizeof(m)) { /* a message is written whole, or the shim died */
			base_errf(err, BASE_E_SPAWN_FAILED, "the shim for \"%s\" died", s->name);
			return spawn_done(s, hp, -1);
		}
		if (m.type == RFD_SHIM_PID) {
			s->pid = m.val;
		} else if (m.type == RFD_SHIM_EXEC_OK) {
			return spawn_done(s, hp, 0);
		} else {
			shim_failed(s, &h->pr, &m, err);
			return spawn_done(s, hp, -1);
		}
	}
}

void rfd_spawn_abandon(struct rfd_spawning *h)
{
	if (!h)
		return;
	close(h->report_fd);
	unprepare(&h->pr);
	free(h);
}

int rfd_spawn_report_exit(int report_fd, int timeout_ms)
{
	struct rfd_shim_msg m;
	struct pollfd pfd = { .fd = report_fd, .events = POLLIN };
	while (poll(&pfd, 1, timeout_ms) == 1 && read(report_fd, &m, sizeof(m)) == sizeof(m))
		if (m.type == RFD_SHIM_EXIT)
			return base_exit_status_of_wait(m.val);
	return INT_MIN;
}

int rfd_spawn_read_exit(const char *exit_path)
{
	char buf[64] = "";
	int v;
	FILE *f = fopen(exit_path, "re");
	if (!f)
		return INT_MIN;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	if (sscanf(buf, "exit %d", &v) == 1)
		return v;
	if (sscanf(buf, "signal %d", &v) == 1)
		return -v;
	return INT_MIN;
}
