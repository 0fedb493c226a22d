/*
 * chan_caller.c - which subOS a client process belongs to.
 *
 * chan_open is authorised by where the caller runs, not by who it is: rfd
 * takes the pid from SO_PEERCRED (the kernel's word, not the client's) and
 * finds the running subOS that holds it.
 *   - cgroup back ends: the process's cpuset cgroup (/proc/PID/cgroup, the
 *     cpuset line in v1 or the unified line in v2) is rfd's instance
 *     directory's child "<instance>/<subOS name>";
 *   - affinity back end (no cgroups): the process shares the PID namespace
 *     of the subOS's program (every program starts in a new one).
 * A process outside every subOS (the host, another rfd's subOS) gets NULL.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/chan.h"
#include "rfd/subos.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct rfd_subos *running(struct rfd *d, const char *name)
{
	struct rfd_subos *s = rfd_subos_find(d, name);
	return s && s->life != RF_LIFE_EXITED ? s : NULL;
}

/* "…/<instance>/<name>" -> the subOS <name>, if it is one of ours. */
static struct rfd_subos *by_path(struct rfd *d, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return NULL;
	size_t il = strlen(d->instance);
	size_t plen = (size_t)(slash - path);
	if (plen < il + 1 || path[plen - il - 1] != '/' ||
	    strncmp(path + plen - il, d->instance, il) != 0)
		return NULL;
	return running(d, slash + 1);
}

static struct rfd_subos *by_cgroup(struct rfd *d, pid_t pid)
{
	char path[64], line[1024];
	struct rfd_subos *s = NULL;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	while (!s && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		/* hierarchy-ID:controller-list:path */
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctl = c1 + 1;
		bool v2 = *ctl == '\0';
		bool cpuset = false;
		for (char *save = NULL, *t = strtok_r(c1 + 1, ",", &save); t;
		     t = strtok_r(NULL, ",", &save))
			cpuset |= strcmp(t, "cpuset") == 0;
		if ((v2 && d->enf.kind == RF_ENF_CGROUP2) || (cpuset && d->enf.kind == RF_ENF_CPUSET1))
			s = by_path(d, c2 + 1);
	}
	fclose(f);
	return s;
}

static int pid_ns(pid_t pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	ssize_t n = readlink(path, buf, len - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static struct rfd_subos *by_pid_ns(struct rfd *d, pid_t pid)
{
	char ns[64], self[64], sns[64];
	if (pid_ns(pid, ns, sizeof(ns)) || pid_ns(getpid(), self, sizeof(self)) ||
	    strcmp(ns, self) == 0)
		return NULL;
	for (int i = 0; i < RF_MAX_SUBOS; i++) {
		struct rfd_subos *s = d->subos[i];
		if (s && s->life != RF_LIFE_EXITED && s->pid > 0 &&
		    pid_ns(s->pid, sns, sizeof(sns)) == 0 && strcmp(ns, sns) == 0)
			return s;
	}
	return NULL;
}

struct rfd_subos *rfd_chan_caller(struct rfd *d, pid_t pid)
{
	if (pid <= 0)
		return NULL;
	return d->enf.kind == RF_ENF_AFFINITY ? by_pid_ns(d, pid) : by_cgroup(d, pid);
}
