/*
 * syscalls.c - `rfbench syscalls`: what a librf service asks of the kernel.
 *
 * DESIGN.md's rule for librf: on a serving core the only system calls are
 * batched I/O submissions to the core's own io_uring (and futex/io_uring
 * sleeps when idle).  This benchmark checks it on the example service:
 * build/rfkv runs standalone on one CPU, build/rfload drives it open
 * loop from another, and `strace -c` counts every system call of every
 * rfkv thread over a steady-state window.  Reported: calls per syscall,
 * calls per request, and how many calls were anything other than
 * io_uring_enter or futex.  strace slows the traced calls, not their
 * number; the rate is kept modest so the server keeps up while traced.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RATE     10000
#define WINDOW_S 2

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static pid_t start(const char *const *argv, char *const *env, int cpu, int out_fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		pin(cpu);
		dup2(null, 0);
		dup2(out_fd >= 0 ? out_fd : null, 1);
		dup2(null, 2);
		execve(argv[0], (char *const *)argv, env);
		_exit(127);
	}
	return pid;
}

static int wait_port(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 500; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return 0;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* Parse `strace -c` output: "% time seconds usecs/call calls [errors] syscall". */
static long parse_counts(const char *path, struct json_object *calls, long *other)
{
	char line[256];
	long total = 0;
	FILE *f = fopen(path, "r");
	*other = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char name[64], *tok[8];
		int n = 0;
		for (char *t = strtok(line, " \t\n"); t && n < 8; t = strtok(NULL, " \t\n"))
			tok[n++] = t;
		if (n < 5 || !strchr(tok[0], '.') || !strcmp(tok[n - 1], "total"))
			continue;
		snprintf(name, sizeof(name), "%s", tok[n - 1]);
		long c = atol(tok[3]);
		json_object_object_add(calls, name, json_object_new_int64(c));
		total += c;
		if (strcmp(name, "io_uring_enter") && strcmp(name, "futex"))
			*other += c;
	}
	fclose(f);
	return total;
}

/* A system call the rule forbids is not noise: judged on the worst run (the
 * spread's bound, runs.c), not the median. */
void syscalls_targets(struct json_object *fig, struct json_object *t)
{
	bench_target(t, "only_io_uring_and_futex", bench_fig_min(fig, "syscalls_total") > 0 &&
						   bench_fig_max(fig, "other_syscalls") == 0);
}

static void stop(pid_t pid, int sig)
{
	if (pid > 0) {
		kill(pid, sig);
		waitpid(pid, NULL, 0);
	}
}

int bench_syscalls(const struct bench_opts *o, struct json_object *out)
{
	char kv[512], load[512], port_s[16], rate_s[16], trace[] = "/tmp/rfbench-strace.XXXXXX";
	char pid_s[16];
	pid_t srv = -1, gen = -1, tr = -1;
	/* A port of its own per run: the last run's may still be held. */
	int rc = -1, port = 20000 + (int)((getpid() + 101 * o->run) % 20000);

	if (system("command -v strace >/dev/null 2>&1") != 0) {
		json_object_object_add(out, "error", json_object_new_string("strace is not installed"));
		return -1;
	}
	int tfd = mkstemp(trace);
	if (tfd < 0)
		return -1;
	close(tfd);
	snprintf(kv, sizeof(kv), "%s/rfkv", o->build_dir);
	snprintf(load, sizeof(load), "%s/rfload", o->build_dir);
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(rate_s, sizeof(rate_s), "%d", RATE);
	const char *kv_argv[] = { kv, "--port", port_s, NULL };
	char *kv_env[] = { "RF_CORES=1", "RF_MEM=64M", NULL };
	srv = start(kv_argv, kv_env, 1, -1);
	if (wait_port(port))
		goto out;
	/* --quick: a one-second window (the load outlasts it by as much). */
	int window = o->quick ? 1 : WINDOW_S;
	const char *load_argv[] = { load, "--port", port_s, "--rate", rate_s, "--seconds",
				    o->quick ? "3" : "5", "--conns", "8", "--json", NULL };
	char *no_env[] = { NULL };
	gen = start(load_argv, no_env, 0, -1);
	sleep(1); /* connections up, steady state */
	snprintf(pid_s, sizeof(pid_s), "%d", (int)srv);
	const char *tr_argv[] = { "/usr/bin/strace", "-f", "-c", "-q", "-o", trace, "-p", pid_s,
				  NULL };
	tr = start(tr_argv, no_env, 0, -1);
	sleep((unsigned)window);
	stop(tr, SIGINT);
	tr = -1;
	waitpid(gen, NULL, 0);
	gen = -1;
	struct json_object *calls = json_object_new_object();
	long other, total = parse_counts(trace, calls, &other);
	json_object_object_add(out, "server", json_object_new_string("rfkv, standalone librf on cpu 1"));
	json_object_object_add(out, "rate_per_s", json_object_new_int(RATE));
	json_object_object_add(out, "window_s", json_object_new_int(window));
	json_object_object_add(out, "syscalls", calls);
	json_object_object_add(out, "syscalls_total", json_object_new_int64(total));
	json_object_object_add(out, "syscalls_per_request",
			       json_object_new_double(total > 0 ? (double)total / (RATE * window)
							      : 0));
	json_object_object_add(out, "other_syscalls", json_object_new_int64(other));
	rc = total > 0 ? 0 : -1;
out:
	stop(tr, SIGINT);
	stop(gen, SIGTERM);
	stop(srv, SIGKILL);
	unlink(trace);
	return rc;
}
