/*
 * syscalls.c - `rfbench syscalls`: what a librf service asks of the kernel
 * per request, served the way it is deployed.
 *
 * DESIGN.md's rule for librf: on a serving core the only system calls are
 * batched I/O submissions to the core's own io_uring (and futex/io_uring
 * sleeps when idle), and no page faults: its memory was pre-faulted by rfd.
 * This benchmark checks it on build/rfkv run as a libos subOS under a
 * private rfd on both cores of the machine (--host-cores "": the host, and
 * so build/rfload, shares core 0 with it, as the JSON says), driven open
 * loop by build/rfload.  Over a steady-state window:
 *   - `strace -f -c` counts every system call of every rfkv thread;
 *   - the threads' minor and major fault counts (/proc/PID/task/TID/stat)
 *     give the page faults;
 *   - rfkv's own `stats` (cmd_get + cmd_set, read over its protocol before
 *     and after) give the requests it answered in the window: calls are
 *     divided by answered requests, not by the target rate.
 * futex (wake-ups between cores, sleeps) is reported apart from
 * io_uring_enter.  strace slows the traced calls, not their number; the
 * rate is kept modest so the server keeps up while traced.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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
#define CORES    "0-1"
#define MEM      (128ull << 20)

/* Requests rfkv answered so far (its stats: cmd_get + cmd_set), or -1. */
static long answered(int port)
{
	char buf[8192];
	size_t len = 0;
	int fd = bench_connect_port(port);
	if (fd < 0)
		return -1;
	if (write(fd, "stats\r\n", 7) == 7)
		while (len < sizeof(buf) - 1) {
			ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			buf[len] = '\0';
			if (strstr(buf, "END\r\n"))
				break;
		}
	close(fd);
	buf[len] = '\0';
	const char *g = strstr(buf, "STAT cmd_get "), *s = strstr(buf, "STAT cmd_set ");
	return g && s ? atol(g + 13) + atol(s + 13) : -1;
}

/* Minor + major faults of one thread, from its stat line. */
static int64_t thread_faults(FILE *f)
{
	char line[1024];
	char *p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	unsigned long minflt = 0, majflt = 0;

	/* after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt */
	if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %lu %*u %lu", &minflt, &majflt) == 2)
		return (int64_t)(minflt + majflt);
	return 0;
}

/* Minor + major faults of every thread of pid so far. */
static long faults(pid_t pid)
{
	return (long)bench_threads_sum(pid, "stat", thread_faults);
}

/* Parse `strace -c` output: "% time seconds usecs/call calls [errors] syscall". */
static long parse_counts(const char *path, struct json_object *calls, long *futex, long *other)
{
	char line[256];
	long total = 0;
	FILE *f = fopen(path, "r");
	*futex = *other = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *tok[8];
		int n = 0;
		for (char *t = strtok(line, " \t\n"); t && n < 8; t = strtok(NULL, " \t\n"))
			tok[n++] = t;
		if (n < 5 || !strchr(tok[0], '.') || !strcmp(tok[n - 1], "total"))
			continue;
		long c = atol(tok[3]);
		json_object_object_add(calls, tok[n - 1], json_object_new_int64(c));
		total += c;
		if (!strcmp(tok[n - 1], "futex"))
			*futex += c;
		else if (strcmp(tok[n - 1], "io_uring_enter"))
			*other += c;
	}
	fclose(f);
	return total;
}

/* Forbidden calls and page faults are not noise: judged on the worst run
 * (the spread's bound, runs.c); the calls per request on the median. */
void syscalls_targets(struct json_object *fig, struct json_object *t)
{
	bench_target(t, "no_page_faults", bench_fig_max(fig, "page_faults") == 0);
	bench_target(t, "only_io_uring_and_futex", bench_fig_min(fig, "syscalls_total") > 0 &&
						   bench_fig_max(fig, "other_syscalls") == 0);
	bench_target(t, "syscalls_per_request_le_0.5",
		     bench_fig(fig, "syscalls_per_request") <= 0.5);
}

struct window {
	long calls, futex, other, requests, faults;
	struct json_object *by_call;
};

/* strace every thread of srv for `secs`, with requests and faults around it. */
static int measure(pid_t srv, int port, int secs, const char *trace, struct window *w)
{
	char pid_s[16];
	snprintf(pid_s, sizeof(pid_s), "%d", (int)srv);
	const char *tr_argv[] = { "/usr/bin/strace", "-f", "-c", "-q", "-o", trace, "-p", pid_s,
				  NULL };
	long r0 = answered(port);
	pid_t tr = bench_spawn(tr_argv, NULL, -1, NULL);
	sleep(1); /* attached to every thread */
	long f0 = faults(srv);
	sleep((unsigned)secs);
	long f1 = faults(srv);
	bench_stop(tr, SIGINT);
	long r1 = answered(port);
	w->by_call = json_object_new_object();
	w->calls = parse_counts(trace, w->by_call, &w->futex, &w->other);
	w->faults = f0 < 0 || f1 < 0 ? -1 : f1 - f0;
	/* the window's requests: strace's 1 s of attaching included (it counts
	 * calls from its attach), the two stats requests excluded */
	w->requests = r0 < 0 || r1 < 0 ? -1 : r1 - r0 - 1;
	return w->calls > 0 && w->requests > 0 && w->faults >= 0 ? 0 : -1;
}

static void report(struct json_object *out, const struct window *w, int secs)
{
	double req = (double)w->requests;
	json_object_object_add(out, "server",
			       json_object_new_string("rfkv, a libos subOS under a private rfd"));
	json_object_object_add(out, "cores", json_object_new_int(2));
	json_object_object_add(out, "host_shares_core",
			       json_object_new_string("0 (rfd --host-cores \"\"; rfload runs there)"));
	json_object_object_add(out, "rate_per_s", json_object_new_int(RATE));
	json_object_object_add(out, "window_s", json_object_new_int(secs + 1));
	json_object_object_add(out, "requests", json_object_new_int64(w->requests));
	json_object_object_add(out, "syscalls", w->by_call);
	json_object_object_add(out, "syscalls_total", json_object_new_int64(w->calls));
	json_object_object_add(out, "syscalls_per_request",
			       json_object_new_double((double)w->calls / req));
	json_object_object_add(out, "futex_per_request",
			       json_object_new_double((double)w->futex / req));
	json_object_object_add(out, "io_uring_enter_per_request",
			       json_object_new_double((double)(w->calls - w->futex - w->other) /
						      req));
	json_object_object_add(out, "other_syscalls", json_object_new_int64(w->other));
	json_object_object_add(out, "page_faults", json_object_new_int64(w->faults));
}

int bench_syscalls(const struct bench_opts *o, struct json_object *out)
{
	char load[512], port_s[16], rate_s[16], trace[] = "/tmp/rfbench-strace.XXXXXX";
	const char *extra[] = { "--host-cores", "", NULL };
	struct private_rfd p = { 0 };
	struct window w = { 0 };
	pid_t gen = -1;
	/* A port of its own per run: the last run's may still be held. */
	int rc = -1, port = bench_free_port();
	int secs = o->quick ? 1 : WINDOW_S;

	if (system("command -v strace >/dev/null 2>&1") != 0) {
		json_object_object_add(out, "error", json_object_new_string("strace is not installed"));
		return -1;
	}
	int tfd = mkstemp(trace);
	if (tfd < 0)
		return -1;
	close(tfd);
	if (prfd_start(&p, o, extra))
		goto out;
	pid_t srv = bench_kv_subos(&p, o, "kv", CORES, MEM, port);
	if (srv < 0) {
		json_object_object_add(out, "error", json_object_new_string("rfkv did not start"));
		goto out;
	}
	snprintf(load, sizeof(load), "%s/rfload", o->build_dir);
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(rate_s, sizeof(rate_s), "%d", RATE);
	const char *load_argv[] = { load, "--port", port_s, "--rate", rate_s, "--seconds",
				    o->quick ? "4" : "6", "--conns", "8", NULL };
	gen = bench_spawn(load_argv, NULL, -1, NULL);
	sleep(2); /* preloaded, connections up, steady state */
	if (measure(srv, port, secs, trace, &w) == 0) {
		report(out, &w, secs);
		rc = 0;
	} else {
		char why[160];
		snprintf(why, sizeof(why), "nothing to divide: %ld calls, %ld requests, %ld faults",
			 w.calls, w.requests, w.faults);
		json_object_object_add(out, "error", json_object_new_string(why));
		json_object_put(w.by_call);
	}
out:
	bench_stop(gen, SIGTERM);
	prfd_stop(&p);
	unlink(trace);
	return rc;
}
