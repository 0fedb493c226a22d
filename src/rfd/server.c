/*
 * server.c - rfd's event loop: the control socket, the connections
 * (server_conn.c), the signals, the shims' exits and the operations in
 * flight (op.c), all on one epoll set.
 *
 * One thread serves everything, which keeps the partition table free of
 * locks; nothing it does waits: a request either ends at once or starts
 * an operation that events (a pidfd, a pipe, a timer) carry on, so one
 * slow subOS or client delays nobody else.
 *
 * The socket is rfd's user's alone (0600), or also its group's (0660 with
 * `rfd --group`): a subOS program may run as root, so who may connect is
 * only the first fence; each connection's caller is placed once, at
 * accept (caller.c), and every request is judged on that (authority.c).
 *
 * The subOSes' door: a program inside a subOS may run as any uid (nginx's
 * workers run as nobody), and authority.c judges it by its subOS, not its
 * uid, but a 0600 socket would turn away all but root.  So rfd also
 * listens on door/subos.sock in its state directory, 0666, and confine_fs.c
 * binds that socket, not the host's, at the control socket's path inside
 * every subOS, and keeps the door/ directory itself visible there, where
 * RF_SOCKET points: a restarted rfd's new socket (a new inode) is then
 * reached by the subOSes it adopted, which a bind of the old file is not.  On the host the state directory (0750) keeps others away
 * from it, and in case its group is wider than the socket's, the door
 * admits (server_conn.c) only callers placed inside a subOS, root and
 * rfd's user: no host caller gets in that the 0600 socket kept out.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/server.h"
#include "rfd/spare.h"
#include "rfd/home.h"
#include "rfd/hwc.h"
#include "rfd/policy.h"
#include "rfd/probe.h"
#include "rfd/restart.h"
#include "rfd/server_conn.h"
#include "rfd/op.h"
#include "rfd/check.h"
#include "rfd/lifecycle.h"
#include "rfd/log.h"
#include "rfd/metrics.h"
#include "rfd/subos.h"
#include "rfd/watch.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Block the signals rfd handles through its signalfd.  Called before any
 * thread starts, so that no thread takes them with the default action. */
void rfd_server_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Bind the control socket with no moment open to others: made under a
 * umask that leaves it 0600, then given to the group (--group) and 0660. */
static int bind_socket(struct rfd *d, const struct sockaddr_un *sa)
{
	mode_t old = umask(0177);
	int rc = bind(d->listen_fd, (const struct sockaddr *)sa, sizeof(*sa));
	umask(old);
	if (rc < 0)
		return -1;
	if (d->socket_gid == (gid_t)-1)
		return 0;
	if (chown(d->socket_path, (uid_t)-1, d->socket_gid) < 0 ||
	    chmod(d->socket_path, 0660) < 0)
		return -1;
	return 0;
}

/* The subOSes' door, made 0666 (umask 0111 at bind: no moment of another
 * mode).  Without it (a state directory too deep for a socket's name)
 * subOSes get the control socket itself, as before: only root reaches it. */
static void listen_subos(struct rfd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/door/subos.sock", d->state_dir);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		rfd_log("no subOS socket: %s/door is too long a path; only root inside a subOS "
			"reaches rfd", d->state_dir);
		return;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlink(sa.sun_path);
	mode_t old = umask(0111);
	int rc = fd < 0 ? -1 : bind(fd, (const struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 128) < 0 ||
	    rfd_watch_fd(d, fd, rfd_ev_tag(RFD_EV_LISTEN, 1))) {
		rfd_log("no subOS socket at %s: %s; only root inside a subOS reaches rfd",
			sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	d->subos_fd = fd;
	snprintf(d->subos_socket, sizeof(d->subos_socket), "%s", sa.sun_path);
}

int rfd_server_listen(struct rfd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(d->socket_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "rfd: socket path too long: %s\n", d->socket_path);
		return -1;
	}
	strcpy(sa.sun_path, d->socket_path);
	/* Programs in subOSes get the path in RF_SOCKET: make it absolute
	 * (rfd may change directory when it becomes a daemon). */
	char cwd[PATH_MAX], abs_path[2 * PATH_MAX];
	if (d->socket_path[0] != '/' && getcwd(cwd, sizeof(cwd)) &&
	    (size_t)snprintf(abs_path, sizeof(abs_path), "%s/%s", cwd, d->socket_path) <
		    sizeof(d->socket_path))
		snprintf(d->socket_path, sizeof(d->socket_path), "%s", abs_path);
	d->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlink(d->socket_path); /* a stale socket: the state-dir lock says we own it */
	if (d->listen_fd < 0 || bind_socket(d, &sa) < 0 || listen(d->listen_fd, 128) < 0) {
		fprintf(stderr, "rfd: cannot listen on %s: %s\n", d->socket_path, strerror(errno));
		return -1;
	}
	d->answer = rfd_conns_answer;
	sigset_t set;
	rfd_server_signals(&set);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->epfd < 0 ||
	    rfd_watch_fd(d, d->listen_fd, rfd_ev_tag(RFD_EV_LISTEN, 0)) ||
	    rfd_watch_fd(d, d->sigfd, rfd_ev_tag(RFD_EV_SIGNAL, 0))) {
		fprintf(stderr, "rfd: cannot set up the event loop: %s\n", strerror(errno));
		return -1;
	}
	listen_subos(d);
	/* The subOSes adopted at start-up (rfd_recover ran before the epoll set
	 * existed): watch them now, or their end would go unnoticed. */
	for (int i = 0; i < RF_MAX_SUBOS; i++) {
		struct rfd_subos *s = d->subos[i];
		if (s && s->life == RF_LIFE_RESTARTING && rfd_restart_arm(d, s) < 0)
			rfd_log("subOS %s: cannot arm its restart: %s", s->name, strerror(errno));
		else if (s && s->life != RF_LIFE_EXITED && s->life != RF_LIFE_RESTARTING)
			rfd_watch_subos(d, s);
	}
	if (rfd_policy_start(d) < 0) { /* the policies recovered need their timer */
		fprintf(stderr, "rfd: cannot make the policy's timer: %s\n", strerror(errno));
		return -1;
	}
	if (rfd_probe_start(d) < 0) { /* the probes recovered, likewise */
		fprintf(stderr, "rfd: cannot make the probes' timer: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static void do_signal(struct rfd *d)
{
	struct signalfd_siginfo si;
	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		rfd_log("signal %u: shutting down", si.ssi_signo);
		d->stopping = true;
	}
}

/* One event: its tag (watch.h) says what it is. */
static void dispatch(struct rfd *d, uint64_t tag, uint32_t events)
{
	uint32_t val = rfd_ev_val(tag);
	struct rfd_subos *s;
	switch (rfd_ev_type(tag)) {
	case RFD_EV_LISTEN:
		rfd_conns_accept(d, val ? d->subos_fd : d->listen_fd, val != 0);
		break;
	case RFD_EV_SIGNAL:
		do_signal(d);
		break;
	case RFD_EV_CONN:
		rfd_conns_event(d, val, events);
		break;
	case RFD_EV_TIMER:
		s = rfd_subos_by_id(d, (int)val);
		if (s && s->life == RF_LIFE_RESTARTING)
			rfd_subos_restart_due(d, s);
		rfd_check(d);
		break;
	case RFD_EV_OP:
		rfd_op_event(d, val);
		break;
	case RFD_EV_METRICS:
		rfd_metrics_event(d, val, events);
		break;
	case RFD_EV_POLICY:
		rfd_policy_tick(d);
		break;
	case RFD_EV_PROBE:
		rfd_probe_event(d, val, events);
		break;
	case RFD_EV_SHIM:
		s = rfd_subos_by_id(d, (int)val);
		if (s && (s->life == RF_LIFE_RUNNING || s->life == RF_LIFE_STARTING)) {
			rfd_unwatch_subos(d, s);
			rfd_subos_exited(d, s);
		}
		rfd_check(d);
		break;
	}
}

int rfd_server_run(struct rfd *d)
{
	struct epoll_event evs[64];
	while (!d->stopping) {
		rfd_home_update(d); /* off the cores a turn gave to subOSes */
		rfd_spare_make(d); /* between requests: the next create's process */
		int n = epoll_wait(d->epfd, evs, 64, -1);
		if (n < 0 && errno != EINTR)
			return -1;
		for (int i = 0; i < n; i++)
			dispatch(d, evs[i].data.u64, evs[i].events);
	}
	return 0;
}

void rfd_server_close(struct rfd *d)
{
	rfd_op_cancel_all(d);
	rfd_policy_stop(d);
	rfd_probe_stop(d);
	rfd_conns_close_all(d);
	rfd_metrics_close(d);
	rfd_hwc_close();
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->socket_path);
	}
	if (d->subos_fd >= 0) {
		close(d->subos_fd);
		unlink(d->subos_socket);
		d->subos_fd = -1;
	}
	if (d->epfd >= 0)
		close(d->epfd);
	d->epfd = -1;
	if (d->sigfd >= 0)
		close(d->sigfd);
}
