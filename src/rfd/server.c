/*
 * server.c - rfd's event loop: the control socket, the connections, the
 * signals and the shims' exits, all on one epoll set.
 *
 * One thread serves everything in order, which keeps the partition table
 * free of locks: a request runs to completion (handshakes included, bounded
 * by the deadline) before the next is read.  Each connection buffers at
 * most one protocol line; a longer line is refused and the connection
 * closed, since its end cannot be found reliably.
 *
 * The socket is rfd's user's alone (0600), or also its group's (0660 with
 * `rfd --group`): a subOS program may run as root, so who may connect is
 * only the first fence; each connection's caller is placed once, at
 * accept (caller.c), and every request is judged on that (authority.c).
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/server.h"
#include "rfd/caller.h"
#include "rfd/lifecycle.h"
#include "rfd/log.h"
#include "rfd/subos.h"
#include "rfd/verbs.h"
#include "rfd/watch.h"
#include "base/fdpass.h"

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

#define MAX_CONNS 4096

struct conn {
	int fd;
	struct rfd_caller caller; /* placed at accept */
	char *buf;
	size_t len;
	int fds[BASE_FDPASS_MAX];   /* passed with the next request (rfloop_listen) */
	int nfds;
};

static struct conn *conns[MAX_CONNS];

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
	/* The subOSes adopted at start-up (rfd_recover ran before the epoll set
	 * existed): watch them now, or their end would go unnoticed. */
	for (int i = 0; i < RF_MAX_SUBOS; i++)
		if (d->subos[i] && d->subos[i]->life != RF_LIFE_EXITED)
			rfd_watch_subos(d, d->subos[i]);
	return 0;
}

/* Descriptors a client passed belong to one request: gone after it. */
static void conn_drop_fds(struct conn *c)
{
	while (c->nfds > 0)
		close(c->fds[--c->nfds]);
}

static void conn_close(struct rfd *d, struct conn *c)
{
	conn_drop_fds(c);
	rfd_unwatch_fd(d, c->fd);
	close(c->fd);
	conns[c->fd] = NULL;
	free(c->buf);
	free(c);
}

static void do_accept(struct rfd *d)
{
	int fd;
	while ((fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		struct conn *c = calloc(1, sizeof(*c));
		if (fd >= MAX_CONNS || !c || !(c->buf = malloc(RF_PROTO_LINE_MAX + 1))) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		/* Now, while the peer is most likely still the process that
		 * connected: its pid is not trusted later. */
		rfd_caller_classify(d, fd, &c->caller);
		conns[fd] = c;
		rfd_watch_fd(d, fd, rfd_ev_tag(RFD_EV_CONN, (uint32_t)fd));
	}
}

/* Write the answer line; a descriptor to pass (chan_open) rides on its
 * first bytes. */
static int send_answer(struct conn *c, struct json_object *ans, int pass_fd)
{
	const char *s = json_object_to_json_string_ext(ans, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s), off = 0;
	char *line = malloc(len + 1);
	int rc = 0;
	if (!line)
		return -1;
	memcpy(line, s, len);
	line[len++] = '\n';
	/* Answers are written whole; a client that stops reading is dropped. */
	int fl = fcntl(c->fd, F_GETFL);
	fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	struct timeval tv = { 5, 0 };
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (off < len) {
		ssize_t n = base_send_fd(c->fd, line + off, len - off, off ? -1 : pass_fd, 0);
		if (n <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)n;
	}
	fcntl(c->fd, F_SETFL, fl);
	free(line);
	return rc;
}

static void do_read(struct rfd *d, struct conn *c)
{
	for (;;) {
		int got = 0;
		ssize_t n = base_recv_fds(c->fd, c->buf + c->len, RF_PROTO_LINE_MAX + 1 - c->len,
					  c->fds + c->nfds, BASE_FDPASS_MAX - c->nfds, &got, 0);
		c->nfds += got;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(d, c);
			return;
		}
		if (n < 0)
			return;
		c->len += (size_t)n;
		char *nl;
		while ((nl = memchr(c->buf, '\n', c->len))) {
			struct json_object *ans = NULL;
			size_t linelen = (size_t)(nl - c->buf);
			int pass_fd = -1;
			rfd_handle_request(d, c->buf, linelen, &c->caller, c->fds, c->nfds, &ans,
					   &pass_fd);
			conn_drop_fds(c);
			int rc = send_answer(c, ans, pass_fd);
			json_object_put(ans);
			if (pass_fd >= 0)
				close(pass_fd);
			memmove(c->buf, nl + 1, c->len - linelen - 1);
			c->len -= linelen + 1;
			if (rc) {
				conn_close(d, c);
				return;
			}
		}
		if (c->len > RF_PROTO_LINE_MAX) {
			struct json_object *ans =
				base_answer_new_err(false, 0, BASE_E_REQUEST_TOO_LARGE,
						    "request exceeds %d bytes", RF_PROTO_LINE_MAX);
			send_answer(c, ans, -1);
			json_object_put(ans);
			conn_close(d, c);
			return;
		}
	}
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
static void dispatch(struct rfd *d, uint64_t tag)
{
	uint32_t val = rfd_ev_val(tag);
	struct rfd_subos *s;
	switch (rfd_ev_type(tag)) {
	case RFD_EV_LISTEN:
		do_accept(d);
		break;
	case RFD_EV_SIGNAL:
		do_signal(d);
		break;
	case RFD_EV_CONN:
		if (conns[val])
			do_read(d, conns[val]);
		break;
	case RFD_EV_TIMER:
		s = rfd_subos_by_id(d, (int)val);
		if (s && s->life == RF_LIFE_RESTARTING)
			rfd_subos_restart_due(d, s);
		break;
	case RFD_EV_SHIM:
		s = rfd_subos_by_id(d, (int)val);
		if (s && (s->life == RF_LIFE_RUNNING || s->life == RF_LIFE_STARTING)) {
			rfd_unwatch_subos(d, s);
			rfd_subos_exited(d, s);
		}
		break;
	}
}

int rfd_server_run(struct rfd *d)
{
	struct epoll_event evs[64];
	while (!d->stopping) {
		int n = epoll_wait(d->epfd, evs, 64, -1);
		if (n < 0 && errno != EINTR)
			return -1;
		for (int i = 0; i < n; i++)
			dispatch(d, evs[i].data.u64);
	}
	return 0;
}

void rfd_server_close(struct rfd *d)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i])
			conn_close(d, conns[i]);
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->socket_path);
	}
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
}
