/*
 * enforce_affinity.c - the weakest back end: CPU affinity of every thread.
 *
 * Without cgroups nothing stops a subOS from widening its own mask again,
 * and rfd has no group to enumerate, so it walks /proc for every process
 * sharing the subOS's PID namespace and sets each thread's affinity.
 */
#define _GNU_SOURCE
#include "rfd/enforce_impl.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int set_threads(const char *pid, const cpu_set_t *mask)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	DIR *d = opendir(path);
	struct dirent *de;
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			sched_setaffinity(atoi(de->d_name), sizeof(*mask), mask);
	closedir(d);
	return 0;
}

int rfd_affinity_apply(pid_t pid, const struct base_cpuset *cpus)
{
	char self_ns[64], path[64], ns[64];
	cpu_set_t mask;
	CPU_ZERO(&mask);
	for_each_cpu(c, cpus)
		if (c < CPU_SETSIZE)
			CPU_SET(c, &mask);
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	ssize_t n = readlink(path, self_ns, sizeof(self_ns) - 1);
	if (n < 0)
		return -errno;
	self_ns[n] = '\0';
	DIR *d = opendir("/proc");
	struct dirent *de;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/pid", de->d_name);
		n = readlink(path, ns, sizeof(ns) - 1);
		if (n < 0)
			continue;
		ns[n] = '\0';
		/* The subOS's init lives in its parent namespace's view too, so
		 * match it by pid as well as by namespace. */
		if (strcmp(ns, self_ns) == 0 || atoi(de->d_name) == pid)
			set_threads(de->d_name, &mask);
	}
	closedir(d);
	return 0;
}
