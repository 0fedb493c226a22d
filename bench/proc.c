/*
 * proc.c - the child processes, ports and subOSes of rfbench's service
 * benchmarks and experiments (syscalls, kv, rfloop, isolation, microtail):
 * starting a program the same way whatever the system (an affinity, an
 * optional SCHED_FIFO priority, cgroups to join, some environment, stdout
 * to a pipe), reading its output with a timeout, stopping it, finding a
 * free port, waiting for a server's port, a subOS created and destroyed
 * through the private rfd, the rfkv service as a libos subOS, a sum over
 * a process's threads (/proc/PID/task), and RFloop's counters.
 *
 * Kept in one place because every benchmark that runs servers, load
 * generators and workloads needs the same care: a child gets nothing of
 * rfbench's but stdio (an inherited descriptor - flock's, on the
 * benchmarks' lock file - would stay held by a child outliving a killed
 * rfbench and lock everyone out), rfbench's own mask must not leak into
 * an "unpinned" program, and it dies with rfbench (PR_SET_PDEATHSIG), so
 * a failed or interrupted run leaves no stray server or workload behind.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
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

static int write_pid(const char *dir)
{
	char path[600], pid[24];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	int fd = open(path, O_WRONLY | O_CLOEXEC), n = snprintf(pid, sizeof(pid), "%d", getpid());
	if (fd < 0)
		return -1;
	int rc = write(fd, pid, (size_t)n) == n ? 0 : -1;
	close(fd);
	return rc;
}

/* In the child: everything of spec but the exec. */
static void child_setup(const struct proc_spec *spec, int out_fd)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (spec->cpu >= 0)
		CPU_SET(spec->cpu, &set);
	else
		for (int c = 0; c < CPU_SETSIZE && c < (int)sysconf(_SC_NPROCESSORS_CONF); c++)
			CPU_SET(c, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		_exit(125);
	if (spec->fifo > 0) {
		struct sched_param sp = { .sched_priority = spec->fifo };
		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0 && !spec->fifo_optional)
			_exit(125);
	}
	for (int i = 0; spec->cgroups && spec->cgroups[i]; i++)
		if (write_pid(spec->cgroups[i]) < 0)
			_exit(125);
	for (int i = 0; spec->env && spec->env[i]; i++)
		putenv((char *)spec->env[i]);
	int null = open("/dev/null", O_RDWR);
	if (out_fd < 0 && spec->out_path &&
	    (out_fd = open(spec->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		_exit(126);
	dup2(null, 0);
	dup2(out_fd >= 0 ? out_fd : null, 1);
	dup2(null, 2);
	close_range(3, ~0U, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

pid_t proc_spawn(const struct proc_spec *spec, int *out)
{
	int pipefd[2] = { -1, -1 };
	if (out && pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		child_setup(spec, pipefd[1]);
		execv(spec->argv[0], (char *const *)spec->argv);
		_exit(127);
	}
	if (out) {
		close(pipefd[1]);
		*out = pid > 0 ? pipefd[0] : (close(pipefd[0]), -1);
	}
	return pid;
}

char *proc_output(pid_t pid, int fd, int *status, int timeout_ms)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	uint64_t end = base_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	for (ssize_t n; buf;) {
		uint64_t now = base_now_ns();
		if (now >= end || poll(&pfd, 1, (int)((end - now) / 1000000ull) + 1) == 0) {
			kill(pid, SIGKILL);   /* hung: what it printed is what there is */
			break;
		}
		if ((n = read(fd, buf + len, cap - len - 1)) == 0)
			break;
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
		if (len + 1 == cap) {
			char *more = realloc(buf, cap *= 2);
			if (!more)
				break;
			buf = more;
		}
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	if (waitpid(pid, status, 0) != pid)
		*status = -1;
	return buf;
}

void proc_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 200; i++) {   /* 2 s, then SIGKILL */
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			return;
		}
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

pid_t subos_create(struct private_rfd *p, const char *name, enum base_kind kind, const char *cpus,
		   uint64_t mem, const char **argv)
{
	struct base_request create = req_create(name, kind, cpus, mem, argv);
	struct json_object *a = prfd_call(p, &create, NULL), *res, *pid;
	pid_t got = -1;
	if (a && json_object_object_get_ex(a, "result", &res) &&
	    json_object_object_get_ex(res, "pid", &pid))
		got = (pid_t)json_object_get_int(pid);
	else
		fprintf(stderr, "rfbench: create %s: %s\n", name,
			a ? json_object_to_json_string(a) : "no answer");
	json_object_put(a);
	return got;
}

int subos_destroy(struct private_rfd *p, const char *name)
{
	struct base_request r = req_named(RF_VERB_DESTROY, name);
	struct json_object *a = prfd_call(p, &r, NULL), *res;
	int rc = a && json_object_object_get_ex(a, "result", &res) ? 0 : -1;
	json_object_put(a);
	return rc;
}

bool subos_exited(struct private_rfd *p, const char *name)
{
	struct base_request r = req_named(RF_VERB_SHOW, name);
	struct json_object *a = prfd_call(p, &r, NULL), *res, *st;
	bool ex = !a || !json_object_object_get_ex(a, "result", &res) ||
		  (json_object_object_get_ex(res, "state", &st) &&
		   !strcmp(json_object_get_string(st), "exited"));
	json_object_put(a);
	return ex;
}

pid_t bench_spawn(const char *const *argv, const char *const *env, int cpu, int *out)
{
	struct proc_spec spec = { .argv = argv, .env = env, .cpu = cpu };
	return proc_spawn(&spec, out);
}

int bench_stop(pid_t pid, int sig)
{
	int st = 0;

	if (pid <= 0)
		return -1;
	kill(pid, sig);
	return waitpid(pid, &st, 0) == pid ? st : -1;
}

/* The first port of the kernel's ephemeral range (clients' local ports). */
static int ephemeral_low(void)
{
	int lo = 32768, hi;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	if (f && fscanf(f, "%d %d", &lo, &hi) != 2)
		lo = 32768;
	if (f)
		fclose(f);
	return lo;
}

/* May a server (SO_REUSEADDR, as rfkv, memcached, nginx) bind port now? */
static bool port_bindable(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = s >= 0 && setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
		  bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (s >= 0)
		close(s);
	return ok;
}

/*
 * Below the ephemeral range: a port from it may be the local port of a
 * client connection or of one in TIME_WAIT a moment later (thousands after
 * a load run), and a server's bind then fails with EADDRINUSE - which is
 * how `rfbench dynamic` once lost a system.  The start is spread by pid so
 * concurrent runs do not race for one port.
 */
int bench_free_port(void)
{
	static unsigned next;
	int lo = 10000, hi = ephemeral_low();
	if (hi - lo < 100)
		lo = 1024;
	int span = hi - lo;
	unsigned start = (unsigned)getpid() * 7919u + next;
	for (int i = 0; i < span; i++) {
		int port = lo + (int)((start + (unsigned)i) % (unsigned)span);
		if (port_bindable(port)) {
			next += (unsigned)i + 1;   /* the next call picks another */
			return port;
		}
	}
	return -1;
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
	pid_t got = subos_create(p, name, RF_KIND_LIBOS, cpus, mem, argv);
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
