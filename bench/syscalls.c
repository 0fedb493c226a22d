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
 * loop by build/rfload over 8 connections.  Over a steady-state window:
 *   - perf stat's in-kernel counters (the raw_syscalls and syscalls
 *     tracepoints) count every system call of every rfkv thread, which
 *     they do not slow; where perf is missing, strace -c, which stops the
 *     server at every call;
 *   - the threads' minor and major fault counts (/proc/PID/task/TID/stat)
 *     give the page faults;
 *   - rfkv's own `stats` (cmd_get + cmd_set, read over its protocol before
 *     and after) give the requests it answered in the window: calls are
 *     divided by answered requests, not by the target rate.
 * futex (wake-ups between cores, sleeps) is reported apart from
 * io_uring_enter.
 *
 * Two windows, two rates.  At RATE_LOADED (about a fifth of what rfkv
 * serves here) requests overlap and a core's one io_uring_enter per pass
 * submits several replies and reaps several requests: the claim "batched"
 * is about this, and the target is judged on it.  At RATE_LOW (the
 * `_low_rate` figures) each request arrives alone, 100 us after the last,
 * and costs a reap and a reply submission of its own whatever the design;
 * only a kernel polling thread (SQPOLL), a core of its own, would remove
 * those.  Page faults and other calls are judged on both windows.  With
 * strace only the low rate is measured (loaded, a traced server falls
 * behind and batches more than it does untraced) and judged.
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

#define RATE_LOW    10000
#define RATE_LOADED 100000
#define CONNS       "8"
#define SETTLE_S    2
#define WINDOW_S    2
#define CORES       "0-1"
#define MEM         (128ull << 20)
/* One group: enabled and disabled together, so that no call falls in the
 * total but between two counters' starts (which made "other" calls). */
#define PERF_EVENTS "{raw_syscalls:sys_enter,syscalls:sys_enter_io_uring_enter," \
		    "syscalls:sys_enter_futex}"

enum counter { COUNT_NONE, COUNT_PERF, COUNT_STRACE };

/* What one window counted. */
struct window {
	int rate;
	long calls, uring, futex, other, requests, faults;
	struct json_object *by_call; /* counts by call name */
};

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
static void parse_strace(FILE *f, struct window *w)
{
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		char *tok[8];
		int n = 0;
		for (char *t = strtok(line, " \t\n"); t && n < 8; t = strtok(NULL, " \t\n"))
			tok[n++] = t;
		if (n < 5 || !strchr(tok[0], '.') || !strcmp(tok[n - 1], "total"))
			continue;
		long c = atol(tok[3]);
		json_object_object_add(w->by_call, tok[n - 1], json_object_new_int64(c));
		w->calls += c;
		if (!strcmp(tok[n - 1], "futex"))
			w->futex += c;
		else if (!strcmp(tok[n - 1], "io_uring_enter"))
			w->uring += c;
	}
}

/* Parse `perf stat -x,` output: "VALUE,UNIT,EVENT,..." ("<not counted>":
 * the threads never ran, 0). */
static void parse_perf(FILE *f, struct window *w)
{
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		char *ev = strchr(line, ',') ? strchr(strchr(line, ',') + 1, ',') : NULL;
		if (line[0] == '#' || !ev)
			continue;
		long c = atol(line); /* 0 for "<not counted>" */
		ev++;
		ev[strcspn(ev, ",")] = '\0';
		if (!strcmp(ev, "raw_syscalls:sys_enter"))
			w->calls = c;
		else if (!strcmp(ev, "syscalls:sys_enter_io_uring_enter"))
			w->uring = c;
		else if (!strcmp(ev, "syscalls:sys_enter_futex"))
			w->futex = c;
	}
	json_object_object_add(w->by_call, "io_uring_enter", json_object_new_int64(w->uring));
	json_object_object_add(w->by_call, "futex", json_object_new_int64(w->futex));
}

/* Forbidden calls and page faults are not noise: judged on the worst run
 * (the spread's bound, runs.c) of either window; the calls per request on
 * the median, at the loaded rate (at the low one each request arrives
 * alone: nothing to batch). */
void syscalls_targets(struct json_object *fig, struct json_object *t)
{
	bench_target(t, "no_page_faults", bench_fig_max(fig, "page_faults") == 0 &&
						  bench_fig_max(fig, "page_faults_low_rate") == 0);
	bench_target(t, "only_io_uring_and_futex",
		     bench_fig_min(fig, "syscalls_total") > 0 &&
			     bench_fig_max(fig, "other_syscalls") == 0 &&
			     bench_fig_max(fig, "other_syscalls_low_rate") == 0);
	bench_target(t, "syscalls_per_request_le_0.5",
		     bench_fig(fig, "syscalls_per_request") <= 0.5);
}

/* Count the calls of every thread of srv for secs seconds (perf stat's
 * in-kernel counters, or strace if this machine has no perf), with the
 * requests answered and the page faults around the window. */
static int measure(enum counter how, pid_t srv, int port, int secs, const char *out,
		   struct window *w)
{
	char pid_s[16], secs_s[16];
	snprintf(pid_s, sizeof(pid_s), "%d", (int)srv);
	snprintf(secs_s, sizeof(secs_s), "%d", secs);
	const char *perf_argv[] = { "/usr/bin/perf", "stat", "-x", ",", "-o", out, "-e", PERF_EVENTS,
				    "-p", pid_s, "--", "/bin/sleep", secs_s, NULL };
	const char *strace_argv[] = { "/usr/bin/strace", "-f", "-c", "-q", "-o", out, "-p", pid_s,
				      NULL };
	long r0 = answered(port), f0 = faults(srv);
	pid_t tr = bench_spawn(how == COUNT_PERF ? perf_argv : strace_argv, NULL, -1, NULL);
	if (how == COUNT_PERF) {
		waitpid(tr, NULL, 0);
	} else {
		sleep((unsigned)secs);
		bench_stop(tr, SIGINT);
	}
	long f1 = faults(srv), r1 = answered(port);
	FILE *f = fopen(out, "r");
	w->by_call = json_object_new_object();
	if (f) {
		(how == COUNT_PERF ? parse_perf : parse_strace)(f, w);
		fclose(f);
	}
	w->other = w->calls - w->uring - w->futex;
	w->faults = f0 < 0 || f1 < 0 ? -1 : f1 - f0;
	w->requests = r0 < 0 || r1 < 0 ? -1 : r1 - r0 - 1; /* not the stats request */
	return w->calls > 0 && w->requests > 0 && w->faults >= 0 ? 0 : -1;
}

/* One window's figures, their names ending in sfx. */
static void report(struct json_object *out, const struct window *w, const char *sfx)
{
	char k[64];
	double req = (double)w->requests;
#define PUT(name, v) (snprintf(k, sizeof(k), "%s%s", name, sfx), json_object_object_add(out, k, v))
	PUT("rate_per_s", json_object_new_int(w->rate));
	PUT("requests", json_object_new_int64(w->requests));
	PUT("syscalls", json_object_get(w->by_call));
	PUT("syscalls_total", json_object_new_int64(w->calls));
	PUT("syscalls_per_request", json_object_new_double((double)w->calls / req));
	PUT("futex_per_request", json_object_new_double((double)w->futex / req));
	PUT("io_uring_enter_per_request", json_object_new_double((double)w->uring / req));
	PUT("other_syscalls", json_object_new_int64(w->other));
	PUT("page_faults", json_object_new_int64(w->faults));
#undef PUT
}

/* perf if its system call tracepoints count here, else strace. */
static enum counter pick_counter(void)
{
	if (system("/usr/bin/perf stat -x, -o /dev/null -e " PERF_EVENTS
		   " -- /bin/true >/dev/null 2>&1") == 0)
		return COUNT_PERF;
	if (system("command -v strace >/dev/null 2>&1") == 0)
		return COUNT_STRACE;
	return COUNT_NONE;
}

/* rfload at w->rate, open loop: settled, then one window counted. */
static int window_at(const struct bench_opts *o, enum counter how, pid_t srv, int port, int secs,
		     const char *out, struct window *w)
{
	char load[512], port_s[16], rate_s[16], dur_s[16];
	snprintf(load, sizeof(load), "%s/rfload", o->build_dir);
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(rate_s, sizeof(rate_s), "%d", w->rate);
	snprintf(dur_s, sizeof(dur_s), "%d", SETTLE_S + secs + 2);
	const char *load_argv[] = { load,  "--port", port_s, "--rate",  rate_s,
				    "--seconds", dur_s,  "--conns", CONNS, NULL };
	pid_t gen = bench_spawn(load_argv, NULL, -1, NULL);
	sleep(SETTLE_S); /* preloaded, connections up, steady state */
	int rc = gen > 0 ? measure(how, srv, port, secs, out, w) : -1;
	bench_stop(gen, SIGTERM);
	return rc;
}

static void report_all(struct json_object *out, enum counter how, const struct window *low,
		       const struct window *loaded)
{
	json_object_object_add(out, "server",
			       json_object_new_string("rfkv, a libos subOS under a private rfd"));
	json_object_object_add(out, "cores", json_object_new_int(2));
	json_object_object_add(out, "host_shares_core",
			       json_object_new_string("0 (rfd --host-cores \"\"; rfload runs there)"));
	json_object_object_add(out, "counter", json_object_new_string(
		how == COUNT_PERF ? "perf stat (in-kernel counts)" :
				    "strace -c (no perf here: the low rate only, judged)"));
	report(out, loaded ? loaded : low, "");
	report(out, low, "_low_rate");
}

int bench_syscalls(const struct bench_opts *o, struct json_object *out)
{
	char trace[] = "/tmp/rfbench-syscalls.XXXXXX";
	const char *extra[] = { "--host-cores", "", NULL };
	struct private_rfd p = { 0 };
	struct window low = { .rate = RATE_LOW }, loaded = { .rate = RATE_LOADED };
	/* A port of its own per run: the last run's may still be held. */
	int rc = -1, port = bench_free_port();
	int secs = o->quick ? 1 : WINDOW_S;
	enum counter how = pick_counter();

	if (how == COUNT_NONE) {
		json_object_object_add(out, "error", json_object_new_string(
							     "neither perf nor strace is installed"));
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
	/* strace stops the server at every call: loaded, it would fall behind
	 * and batch more than it does untraced */
	rc = window_at(o, how, srv, port, secs, trace, &low);
	if (rc == 0 && how == COUNT_PERF)
		rc = window_at(o, how, srv, port, secs, trace, &loaded);
	if (rc == 0) {
		report_all(out, how, &low, how == COUNT_PERF ? &loaded : NULL);
	} else {
		char why[200];
		snprintf(why, sizeof(why), "nothing to divide: %ld/%ld calls, %ld/%ld requests, "
			 "%ld/%ld faults (low/loaded rate)", low.calls, loaded.calls, low.requests,
			 loaded.requests, low.faults, loaded.faults);
		json_object_object_add(out, "error", json_object_new_string(why));
	}
out:
	json_object_put(low.by_call);
	json_object_put(loaded.by_call);
	prfd_stop(&p);
	unlink(trace);
	return rc;
}
