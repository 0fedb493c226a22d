/*
 * cgv1.c - the container-like baseline's groups: a cgroup v1 cpuset group
 * and a memory group of one name, made by the benchmark for one program
 * and removed on every way out.
 *
 * `rfbench isolation`'s linux_cgroups system confines each program as a
 * container runtime would on these machines (DESIGN.md: the cpuset
 * controller is bound to v1): /sys/fs/cgroup/cpuset/NAME (cpuset.cpus,
 * cpuset.mems) and /sys/fs/cgroup/memory/NAME (memory.limit_in_bytes).
 * NAME is unique per rfbench process (rfbench-PID-ROLE), so parallel runs
 * never meet.  A group can only be removed once its processes are gone:
 * cgv1_remove kills what is left in it and retries the rmdir.  Groups
 * still present when rfbench exits or is told to stop (SIGINT, SIGTERM)
 * are removed by an exit hook and a signal handler, which use only
 * async-signal-safe calls.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CPUSET_ROOT "/sys/fs/cgroup/cpuset"
#define MEMORY_ROOT "/sys/fs/cgroup/memory"
#define MAX_GROUPS  4

static struct cgv1_group *live[MAX_GROUPS];
static bool hooked;

static int put(const char *dir, const char *file, const char *val)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* Kill every process in dir (signal-safe: raw reads, no stdio). */
static void kill_members(const char *dir)
{
	char path[600], buf[4096];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (char *s = buf, *e; *s; s = e) {
		long pid = strtol(s, &e, 10);
		if (e == s)
			break;
		if (pid > 0)
			kill((pid_t)pid, SIGKILL);
	}
}

/* rmdir dir, killing what is in it, for up to 2 s; 0 or -1. */
static int remove_dir(const char *dir)
{
	for (int i = 0; i < 200; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		kill_members(dir);
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

static void remove_all(void)
{
	for (int i = 0; i < MAX_GROUPS; i++)
		if (live[i])
			cgv1_remove(live[i]);
}

static void on_signal(int sig)
{
	remove_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void track(struct cgv1_group *g, bool on)
{
	for (int i = 0; i < MAX_GROUPS; i++)
		if (on ? !live[i] : live[i] == g) {
			live[i] = on ? g : NULL;
			break;
		}
	if (on && !hooked) {
		atexit(remove_all);
		hooked = true;
	}
	if (on) {   /* prfd.c's handlers may have been installed since */
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	}
}

int cgv1_create(struct cgv1_group *g, const char *role, const char *cpus, uint64_t mem)
{
	char val[32];
	memset(g, 0, sizeof(*g));
	snprintf(g->cpuset, sizeof(g->cpuset), CPUSET_ROOT "/rfbench-%d-%s", (int)getpid(), role);
	snprintf(g->memory, sizeof(g->memory), MEMORY_ROOT "/rfbench-%d-%s", (int)getpid(), role);
	if (mkdir(g->cpuset, 0755) < 0)
		goto fail;
	g->made_cpuset = true;
	track(g, true);
	if (put(g->cpuset, "cpuset.mems", "0") < 0 || put(g->cpuset, "cpuset.cpus", cpus) < 0)
		goto fail;
	if (mkdir(g->memory, 0755) < 0)
		goto fail;
	g->made_memory = true;
	snprintf(val, sizeof(val), "%llu", (unsigned long long)mem);
	if (put(g->memory, "memory.limit_in_bytes", val) < 0)
		goto fail;
	g->dirs[0] = g->cpuset;
	g->dirs[1] = g->memory;
	g->dirs[2] = NULL;
	return 0;
fail:
	fprintf(stderr, "rfbench: cgroup v1 group %s: %s\n", role, strerror(errno));
	cgv1_remove(g);
	return -1;
}

int cgv1_remove(struct cgv1_group *g)
{
	int rc = 0;
	if (g->made_cpuset && remove_dir(g->cpuset) < 0)
		rc = -1;
	if (g->made_memory && remove_dir(g->memory) < 0)
		rc = -1;
	g->made_cpuset = g->made_memory = false;
	track(g, false);
	return rc;
}
