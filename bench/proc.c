/*
 * proc.c - the child processes and ports of rfbench's service benchmarks
 * (syscalls, kv, rfloop): starting a program pinned to one CPU with some
 * environment, stopping it, finding a free port, waiting for a server's
 * port, the rfkv service as a libos subOS, a sum over a process's
 * threads (/proc/PID/task), and RFloop's counters.
 *
 * Kept in one place because every benchmark that runs servers and load
 * generators needs the same care: a child gets nothing of rfbench's but
 * stdio (an inherited descriptor - flock's, on the benchmarks' lock file -
 * would stay held by a child outliving a killed rfbench and lock everyone
 * out), and it dies with rfbench (PR_SET_PDEATHSIG), so a failed or
 * interrupted run leaves no stray server behind.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* In the child: stdio, environment, CPU, then exec; never returns. */
static _Noreturn void child(const char *const *argv, const char *const *env, int cpu, int out)
{
	int null = open("/dev/null", O_RDWR);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out >= 0 ? out : null, 1) < 0 ||
	    dup2(null, 2) < 0)
		_exit(126);
	close_range(3, ~0U, 0);
	for (int i = 0; env && env[i]; i++)
		if (putenv((char *)env[i]))
			_exit(126);
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			_exit(125);
	}
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

pid_t bench_spawn(const char *const *argv, const char *const *env, int cpu, int *out)
{
	int p[2] = { -1, -1 };

	if (out && pipe2(p, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		child(argv, env, cpu, p[1]);
	if (p[1] >= 0)
		close(p[1]);
	if (pid < 0 && p[0] >= 0)
		close(p[0]);
	else if (out)
		*out = p[0];
	return pid;
}

int bench_stop(pid_t pid, int sig)
{
	int st = 0;

	if (pid <= 0)
		return -1;
	kill(pid, sig);
	return waitpid(pid, &st, 0) == pid ? st : -1;
}

int bench_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

int bench_connect_port(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

int bench_wait_port(int port)
{
	for (int i = 0; i < 500; i++) {
		int fd = bench_connect_port(port);
		if (fd >= 0)
			return close(fd), 0;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

pid_t bench_kv_subos(struct private_rfd *p, const struct bench_opts *o, const char *name,
		     const char *cpus, uint64_t mem, int port)
{
	char kv[512], port_s[16];
	snprintf(kv, sizeof(kv), "%s/rfkv", o->build_dir);
	snprintf(port_s, sizeof(port_s), "%d", port);
	const char *argv[] = { kv, "-p", port_s, NULL };
	struct base_request create = req_create(name, RF_KIND_LIBOS, cpus, mem, argv);
	struct json_object *a = prfd_call(p, &create, NULL), *res, *pid;
	pid_t got = -1;

	if (a && json_object_object_get_ex(a, "result", &res) &&
	    json_object_object_get_ex(res, "pid", &pid))
		got = (pid_t)json_object_get_int(pid);
	else
		fprintf(stderr, "rfbench: create %s: %s\n", name,
			a ? json_object_to_json_string(a) : "no answer");
	json_object_put(a);
	return got > 0 && bench_wait_port(port) == 0 ? got : -1;
}

int64_t bench_threads_sum(pid_t pid, const char *file, int64_t (*value)(FILE *))
{
	char path[96];
	int64_t sum = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/%s", (int)pid, e->d_name, file);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;   /* the thread ended meanwhile */
		sum += value(f);
		fclose(f);
	}
	closedir(d);
	return sum;
}

long bench_rfloop_stat(const char *path, const char *comm, const char *key)
{
	FILE *f = fopen(path, "r");
	char line[1024], pat[64], who[80];
	long sum = 0;

	if (!f)
		return 0;
	snprintf(pat, sizeof(pat), " %s=", key);
	snprintf(who, sizeof(who), " comm=%s ", comm ? comm : "");
	while (fgets(line, sizeof(line), f)) {
		char *at = strstr(line, pat);
		if (at && (!comm || strstr(line, who)))
			sum += atol(at + strlen(pat));
	}
	fclose(f);
	return sum;
}
