/*
 * caller.c - telling a caller inside a subOS from the host's, once per
 * connection, when rfd accepts it.
 *
 * A subOS's program may run as root, so its uid proves nothing.  What it
 * cannot change is where the kernel put it:
 *   - its PID namespace: every subOS program starts in a new one, which no
 *     process inside can leave (setns only goes down the tree); a caller
 *     whose namespace is, or descends from, a subOS program's is that
 *     subOS;
 *   - its cgroup: a path under rfd's instance directory,
 *     "<instance>/<subOS>", in any hierarchy (read from rfd's cgroup
 *     namespace, so host paths even when the subOS has its own).
 * Both are asked; a caller is on the host only if both say so.  Anything
 * unclear (the namespace is some other container's, the two disagree, the
 * process is gone) makes it RFD_CALLER_UNKNOWN, which verbs treat as the
 * least trusted caller, never as the host.
 *
 * Pid races: SO_PEERCRED's pid may be reused once its process exits.  The
 * peer is pinned with a pidfd (SO_PEERPIDFD, Linux 6.5: the very process
 * that connected; else pidfd_open on the pid, which leaves the short
 * window between connect and accept), /proc/PID is opened as a directory,
 * and only if the pidfd says the process is still alive afterwards are the
 * files read through that directory, which stays bound to that process.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/caller.h"
#include "rfd/subos.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5; Debian 12's headers predate it */
#endif

#define NS_DEPTH_MAX 40 /* the kernel nests PID namespaces 32 deep */

enum ns_place { NS_HOST, NS_SUBOS, NS_FOREIGN };

/* What the kernel says about the peer. */
struct place {
	enum ns_place ns;
	struct rfd_subos *ns_subos;
	int cg; /* rfd_caller_cgroup_place */
	char cg_name[RF_NAME_MAX];
};

static const struct rfd_caller *current;

void rfd_caller_set_current(const struct rfd_caller *c)
{
	current = c;
}

const struct rfd_caller *rfd_caller_current(void)
{
	return current;
}

static void unknown(struct rfd_caller *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	c->kind = RFD_CALLER_UNKNOWN;
}

/* The subOS component after `instance` in one cgroup path. */
static int path_place(const char *instance, const char *path, char *name, size_t len)
{
	size_t il = strlen(instance);
	for (const char *p = path; il && (p = strchr(p, '/')); p++) {
		const char *n = p + 1 + il;
		if (strncmp(p + 1, instance, il) != 0 || (*n != '/' && *n != '\0'))
			continue;
		size_t nl = *n ? strcspn(n + 1, "/") : 0;
		if (nl == 0 || nl >= len)
			return -1; /* the instance directory itself */
		memcpy(name, n + 1, nl);
		name[nl] = '\0';
		return 1;
	}
	return 0;
}

int rfd_caller_cgroup_place(const char *instance, const char *text, char *name, size_t len)
{
	char one[RF_NAME_MAX];
	int place = 0;
	for (const char *line = text; line && *line;) {
		const char *end = strchrnul(line, '\n');
		char path[PATH_MAX];
		/* hierarchy-ID:controllers:path */
		const char *c1 = memchr(line, ':', (size_t)(end - line));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		if (c2 && (size_t)(end - c2) <= sizeof(path)) {
			snprintf(path, sizeof(path), "%.*s", (int)(end - c2 - 1), c2 + 1);
			int r = path_place(instance, path, one, sizeof(one));
			if (r < 0 || (r > 0 && place > 0 && strcmp(one, name) != 0))
				return -1;
			if (r > 0 && (size_t)snprintf(name, len, "%s", one) >= len)
				return -1;
			place |= r;
		}
		line = *end ? end + 1 : NULL;
	}
	return place;
}

/* Has the process behind pidfd exited?  (A pidfd is readable then.) */
static bool exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	return pidfd >= 0 && poll(&p, 1, 0) != 0;
}

static bool same_ns(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The subOS whose program's PID namespace is *ns, if any: its program is
 * checked alive after the stat, so a reused pid cannot stand in for it. */
static struct rfd_subos *subos_of_ns(struct rfd *d, const struct stat *ns)
{
	char path[64];
	struct stat st;
	for (int i = 0; i < RF_MAX_SUBOS; i++) {
		struct rfd_subos *s = d->subos[i];
		if (!s || s->life == RF_LIFE_EXITED || s->pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)s->pid);
		if (stat(path, &st) == 0 && !exited(s->pidfd) && same_ns(&st, ns))
			return s;
	}
	return NULL;
}

/* Walk up from the peer's PID namespace (nsfd, consumed) to rfd's own. */
static enum ns_place ns_place(struct rfd *d, int nsfd, struct rfd_subos **out)
{
	struct stat self, st;
	enum ns_place place = NS_FOREIGN;
	*out = NULL;
	if (stat("/proc/self/ns/pid", &self) < 0)
		goto out;
	for (int depth = 0; depth < NS_DEPTH_MAX && fstat(nsfd, &st) == 0; depth++) {
		if (same_ns(&st, &self)) {
			place = depth == 0 ? NS_HOST : NS_FOREIGN; /* a host container */
			break;
		}
		if ((*out = subos_of_ns(d, &st))) {
			place = NS_SUBOS;
			break;
		}
		int parent = ioctl(nsfd, NS_GET_PARENT); /* EPERM above rfd's */
		if (parent < 0)
			break;
		close(nsfd);
		nsfd = parent;
	}
out:
	close(nsfd);
	return place;
}

static int peer_pidfd(int fd, pid_t pid)
{
	int pidfd = -1;
	socklen_t len = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0)
		return pidfd;
	if (errno != ENOPROTOOPT && errno != EINVAL)
		return -1; /* the peer is gone (ESRCH) */
	return pidfd_open(pid, 0);
}

/* The peer's cgroup lines into buf, through its pinned /proc directory. */
static int read_cgroup(int dirfd, char *buf, size_t len)
{
	int fd = openat(dirfd, "cgroup", O_RDONLY | O_CLOEXEC);
	size_t off = 0;
	ssize_t n = 0;
	if (fd < 0)
		return -1;
	while (off + 1 < len && (n = read(fd, buf + off, len - 1 - off)) > 0)
		off += (size_t)n;
	buf[off] = '\0';
	close(fd);
	return n < 0 ? -1 : 0;
}

/* Fill p from the kernel's view of the peer; -1 with c->why if it has
 * exited or cannot be read. */
static int peer_place(struct rfd *d, int fd, struct rfd_caller *c, struct place *p)
{
	char path[64], cg[8192];
	int rc = -1, dirfd = -1, nsfd = -1, pidfd = peer_pidfd(fd, c->pid);
	if (pidfd < 0) {
		unknown(c, "it exited before rfd could look at it");
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d", (int)c->pid);
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || exited(pidfd)) { /* a live pidfd: dirfd is that process */
		unknown(c, "it exited before rfd could look at it");
		goto out;
	}
	nsfd = openat(dirfd, "ns/pid", O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || read_cgroup(dirfd, cg, sizeof(cg)) || exited(pidfd)) {
		unknown(c, "its namespace or cgroup could not be read");
		goto out;
	}
	p->ns = ns_place(d, nsfd, &p->ns_subos);
	nsfd = -1;
	p->cg = rfd_caller_cgroup_place(d->instance, cg, p->cg_name, sizeof(p->cg_name));
	rc = 0;
out:
	if (nsfd >= 0)
		close(nsfd);
	if (dirfd >= 0)
		close(dirfd);
	close(pidfd);
	return rc;
}

/* Both views must agree on one subOS, or both say none (the host). */
static void decide(struct rfd *d, struct rfd_caller *c, const struct place *p)
{
	struct rfd_subos *cg = NULL, *s;
	if (p->cg > 0 && (cg = rfd_subos_find(d, p->cg_name)) && cg->life == RF_LIFE_EXITED)
		cg = NULL;
	if (p->cg < 0)
		unknown(c, "its cgroup is under rfd's but in no one subOS's");
	else if (p->cg > 0 && !cg)
		unknown(c, "its cgroup is that of \"%s\", no running subOS", p->cg_name);
	else if (p->ns == NS_FOREIGN)
		unknown(c, "its PID namespace is neither rfd's nor a subOS's");
	else if (p->ns_subos && cg && p->ns_subos != cg)
		unknown(c, "its PID namespace is subOS \"%s\"'s but its cgroup \"%s\"'s",
			p->ns_subos->name, cg->name);
	if (c->why[0])
		return;
	s = p->ns_subos ? p->ns_subos : cg;
	if (!s) {
		c->kind = RFD_CALLER_HOST;
		return;
	}
	c->kind = RFD_CALLER_SUBOS;
	c->subos_id = s->id;
	snprintf(c->subos, sizeof(c->subos), "%s", s->name);
	snprintf(c->created, sizeof(c->created), "%s", s->created);
}

void rfd_caller_classify(struct rfd *d, int fd, struct rfd_caller *c)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct place p = { 0 };
	*c = (struct rfd_caller){ .kind = RFD_CALLER_UNKNOWN, .uid = (uid_t)-1, .subos_id = -1 };
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.pid <= 0) {
		unknown(c, "the kernel gave no process for it");
		return;
	}
	c->uid = cr.uid;
	c->pid = cr.pid;
	if (peer_place(d, fd, c, &p) == 0)
		decide(d, c, &p);
}

struct rfd_subos *rfd_caller_subos(struct rfd *d, const struct rfd_caller *c)
{
	struct rfd_subos *s = c->kind == RFD_CALLER_SUBOS ? rfd_subos_by_id(d, c->subos_id) : NULL;
	if (s && strcmp(s->name, c->subos) == 0 && strcmp(s->created, c->created) == 0)
		return s;
	return NULL;
}

void rfd_caller_describe(const struct rfd_caller *c, char *buf, size_t len)
{
	switch (c->kind) {
	case RFD_CALLER_HOST:
		if (c->uid == 0)
			snprintf(buf, len, "root on the host (pid %d)", (int)c->pid);
		else
			snprintf(buf, len, "uid %u on the host (pid %d)", (unsigned)c->uid,
				 (int)c->pid);
		return;
	case RFD_CALLER_SUBOS:
		snprintf(buf, len, "pid %d inside subOS \"%s\"", (int)c->pid, c->subos);
		return;
	case RFD_CALLER_UNKNOWN:
		snprintf(buf, len, "pid %d, which rfd cannot place (%s)", (int)c->pid, c->why);
		return;
	}
	snprintf(buf, len, "pid %d", (int)c->pid);
}
