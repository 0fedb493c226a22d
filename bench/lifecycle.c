/*
 * lifecycle.c - `rfbench lifecycle`: Table 4 of the RainForest paper.
 *
 * Measures, N times each, against one private rfd:
 *   create   request sent -> answer (rfd answers once librf called the
 *            application's main), libos subOS running build/rfhello
 *   destroy  request -> answer (program gone, resources back)
 *   core add / remove   the mechanism time rfd reports (description
 *            published -> librf acknowledged the core runs / has left),
 *            and the whole request round trip (with the journal fsync);
 *            a core the subOS never ran on (its thread and I/O ring set
 *            up: core_add_cold) apart from one it ran on before
 *   mem add / remove    512 MiB, the same two ways
 * and, in the same run, the floors each is judged against (floors.c):
 *   spawn    fork+exec of the same program on the same core (standalone
 *            librf, smallest memory), told the TSC frequency as rfd tells
 *            a subOS, until librf reports that main runs on the same kind
 *            of control socket rfd waits on (RF_CTL_FD)
 *   wake_rtt a futex wake-up round trip between the two cores (and
 *            wake_rtt_idle: the same with the woken side idle for 2 ms
 *            first, as a parked core is; reported, not judged)
 *   fsync    a journal-sized append fdatasync'd in rfd's state directory,
 *            1 ms after the last (and fsync_hot: back to back; reported)
 *   mem_fresh  512 MiB of fresh anonymous memory mapped and faulted
 *
 * On a 2-core machine a core can only be added if rfd manages both, so
 * this benchmark lets the host share core 0 (rfd --host-cores "").
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "base/tsc.h"
#include "base/units.h"

#define MEM_BASE (64ull << 20)
#define MEM_ADD  (512ull << 20)

/* The subOS starts on SUBOS_CPU and grows onto BOTH_CPUS (both_cpus). */
#define SUBOS_CPU "1"
#define BOTH_CPUS "0-1"
/* The idle-sleeper wake floor: a parked core sleeps at least this long
 * between two resizes here (floors.c). */
#define WAKE_IDLE_NS (2ull * 1000000)
/* The fsync floor: appends this far apart, about as often as a resize
 * journals here (floors.c); back to back it is reported (fsync_hot). */
#define FSYNC_IDLE_NS (1ull * 1000000)
static const int both_cpus[2] = { 0, 1 };

enum { S_CREATE, S_DESTROY, S_CORE_ADD, S_CORE_REM, S_CORE_ADD_RTT, S_CORE_REM_RTT,
       S_MEM_ADD, S_MEM_REM, S_MEM_ADD_RTT, S_MEM_REM_RTT, S_SPAWN, S_SPAWN_TRUE,
       S_CORE_ADD_COLD, S_CORE_ADD_COLD_RTT, S_WAKE, S_FSYNC, S_MEM_FRESH, S_WAKE_IDLE,
       S_CREATE_BURST, S_FSYNC_HOT, S_N };

static bool ok(struct json_object *ans, const char *what)
{
	if (ans && base_answer_ok(ans))
		return true;
	fprintf(stderr, "rfbench: %s failed: %s (%s)\n", what,
		ans ? base_answer_message(ans) : strerror(errno),
		ans ? base_answer_error(ans) : "io");
	return false;
}

static int64_t get_i64(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v = o;
	if (!json_object_object_get_ex(v, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
		return -1;
	return json_object_get_int64(v);
}

/* Has the program said its main runs (librf's byte, attach.c)? */
static bool said_running(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;
	return poll(&p, 1, (int)(BENCH_STALL_NS / 1000000)) == 1 && recv(fd, &c, 1, 0) == 1;
}

/* fork+exec; `env` NULL-terminated.  With a socket pair `ctl`, the child
 * gets ctl[1] as fd 3 (RF_CTL_FD=3 in env) and the time ends when librf
 * says main runs; without (NULL), when the child has exited.  0 if it
 * failed. */
static uint64_t spawn_once(const char *const *argv, char *const *env, const int *ctl)
{
	uint64_t t0 = base_now_ns(), t = 0;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		if (ctl && (ctl[1] == 3 ? fcntl(3, F_SETFD, 0) : dup2(ctl[1], 3)) < 0)
			_exit(126);
		execve(argv[0], (char *const *)argv, env);
		_exit(127);
	}
	if (pid < 0)
		return 0;
	if (ctl && said_running(ctl[0]))
		t = base_now_ns() - t0;
	int st;
	waitpid(pid, &st, 0);
	if (!ctl)
		t = base_now_ns() - t0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? t : 0;
}

/* n creates each with rfd idle first (S_CREATE), then n back to back,
 * each right after the last destroy (S_CREATE_BURST). */
static int create_destroy(struct private_rfd *p, const char *hello, int n, struct series *s)
{
	const char *argv[] = { hello, NULL };
	struct base_request create = req_create("lc", RF_KIND_LIBOS, SUBOS_CPU, MEM_BASE, argv);
	struct base_request destroy = req_named(RF_VERB_DESTROY, "lc");
	for (int i = 0; i < 2 * n; i++) {
		uint64_t t;
		if (i < n)
			prfd_idle(p, 3000, 1);
		struct json_object *a = prfd_call(p, &create, &t);
		if (!ok(a, "create"))
			return json_object_put(a), -1;
		json_object_put(a);
		series_add(&s[i < n ? S_CREATE : S_CREATE_BURST], t);
		a = prfd_call(p, &destroy, &t);
		if (!ok(a, "destroy"))
			return json_object_put(a), -1;
		json_object_put(a);
		series_add(&s[S_DESTROY], t);
	}
	return 0;
}

/* One resize of `name` to `cpus` (a CPU list) or, if NULL, to `mem`
 * bytes; records the mechanism time (timing_us.KEY) and the RTT. */
static int resize(struct private_rfd *p, const char *name, const char *cpus, uint64_t mem,
		  const char *key, struct series *mech, struct series *rtt, int *forced)
{
	uint64_t t;
	struct base_request req = req_named(RF_VERB_RESIZE, name);
	if (cpus) {
		req.cores = req_cpus(cpus);
	} else {
		req.has_mem = true;
		req.mem = mem;
	}
	struct json_object *a = prfd_call(p, &req, &t);
	if (!ok(a, "resize"))
		return json_object_put(a), -1;
	struct json_object *r = base_answer_result(a), *f;
	series_add(mech, (uint64_t)get_i64(r, "timing_us", key) * 1000);
	series_add(rtt, t);
	if (json_object_object_get_ex(r, "forced", &f) && json_object_get_boolean(f))
		(*forced)++;
	json_object_put(a);
	return 0;
}

/* Create `name` on SUBOS_CPU (true), or destroy it; 0 or -1. */
static int subos(struct private_rfd *p, const char *hello, const char *name, bool create)
{
	const char *argv[] = { hello, NULL };
	struct base_request req = create ? req_create(name, RF_KIND_LIBOS, SUBOS_CPU, MEM_BASE, argv)
					 : req_named(RF_VERB_DESTROY, name);
	struct json_object *a = prfd_call(p, &req, NULL);
	bool good = ok(a, create ? "create" : "destroy");
	json_object_put(a);
	return good ? 0 : -1;
}

/* A fresh subOS grown onto a core it never ran on, n times. */
static int cold_adds(struct private_rfd *p, const char *hello, int n, struct series *s, int *forced)
{
	for (int i = 0; i < n; i++)
		if (subos(p, hello, "cold", true) ||
		    resize(p, "cold", BOTH_CPUS, 0, "cores", &s[S_CORE_ADD_COLD],
			   &s[S_CORE_ADD_COLD_RTT], forced) ||
		    subos(p, hello, "cold", false))
			return -1;
	return 0;
}

/* One subOS resized n times; its first core add is a cold one. */
static int resizes(struct private_rfd *p, const char *hello, int n, struct series *s, int *forced)
{
	if (subos(p, hello, "rs", true))
		return -1;
	for (int i = 0; i < n; i++) {
		int add = i ? S_CORE_ADD : S_CORE_ADD_COLD, add_rtt = i ? S_CORE_ADD_RTT
								 : S_CORE_ADD_COLD_RTT;
		if (resize(p, "rs", BOTH_CPUS, 0, "cores", &s[add], &s[add_rtt], forced) ||
		    resize(p, "rs", SUBOS_CPU, 0, "cores", &s[S_CORE_REM], &s[S_CORE_REM_RTT],
			   forced) ||
		    resize(p, "rs", NULL, MEM_BASE + MEM_ADD, "mem", &s[S_MEM_ADD],
			   &s[S_MEM_ADD_RTT], forced) ||
		    resize(p, "rs", NULL, MEM_BASE, "mem", &s[S_MEM_REM], &s[S_MEM_REM_RTT],
			   forced))
			return -1;
	}
	return subos(p, hello, "rs", false);
}

static int spawns(const char *hello, int n, struct series *s)
{
	const char *argv[] = { hello, "--exit-after", "0", NULL };
	const char *tru[] = { "/bin/true", NULL };
	char hz[64];
	int ctl[2];
	snprintf(hz, sizeof(hz), "RF_TSC_HZ=%llu", (unsigned long long)base_tsc_hz_measure());
	char *env[] = { "RF_MEM=2M", "RF_CORES=" SUBOS_CPU, hz, "RF_CTL_FD=3", NULL };
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl))
		return -1;
	for (int i = 0; i < n; i++) {
		uint64_t t = spawn_once(argv, env, ctl);
		if (t)
			series_add(&s[S_SPAWN], t);
		t = spawn_once(tru, env, NULL);
		if (t)
			series_add(&s[S_SPAWN_TRUE], t);
	}
	close(ctl[0]);
	close(ctl[1]);
	return s[S_SPAWN].n ? 0 : -1;
}

static void put(struct json_object *out, const char *k, double v)
{
	json_object_object_add(out, k, json_object_new_double(((int64_t)(v * 1000 + 0.5)) / 1000.0));
}

/* p50 and p99 of series i as NAME_UNIT_p50/_p99 (p50 only if !p99). */
static void put_pcts(struct json_object *out, const struct series *s, bool p99)
{
	char k[80];
	snprintf(k, sizeof(k), "%s_%s_p50", s->name, s->unit);
	put(out, k, series_pct(s, 50));
	snprintf(k, sizeof(k), "%s_%s_p99", s->name, s->unit);
	if (p99)
		put(out, k, series_pct(s, 99));
}

static void report(struct json_object *out, struct series *s, struct json_object *info, int forced)
{
	static const int with_p99[] = { S_CREATE, S_CREATE_BURST, S_DESTROY, S_CORE_ADD, S_CORE_REM,
					S_CORE_ADD_COLD, S_WAKE, S_WAKE_IDLE };
	static const int p50_only[] = { S_CORE_ADD_RTT, S_CORE_REM_RTT, S_CORE_ADD_COLD_RTT,
					S_MEM_ADD, S_MEM_REM, S_MEM_ADD_RTT, S_MEM_REM_RTT,
					S_SPAWN, S_SPAWN_TRUE, S_FSYNC, S_FSYNC_HOT, S_MEM_FRESH };
	for (size_t i = 0; i < sizeof(with_p99) / sizeof(with_p99[0]); i++)
		put_pcts(out, &s[with_p99[i]], true);
	for (size_t i = 0; i < sizeof(p50_only) / sizeof(p50_only[0]); i++)
		put_pcts(out, &s[p50_only[i]], false);
	/* The ratios the targets judge, per run (the targets use the medians
	 * of the figures above). */
	double wake = series_pct(&s[S_WAKE], 50);
	put(out, "create_over_spawn", series_pct(&s[S_CREATE], 50) / series_pct(&s[S_SPAWN], 50));
	put(out, "core_add_over_wake", series_pct(&s[S_CORE_ADD], 50) / wake);
	put(out, "core_remove_over_wake", series_pct(&s[S_CORE_REM], 50) / wake);
	/* Not judged (the floor is the warm one): the same ratio
	 * against a wake of a CPU idle as long as a parked core's. */
	put(out, "core_add_over_wake_idle",
	    series_pct(&s[S_CORE_ADD], 50) / series_pct(&s[S_WAKE_IDLE], 50));
	put(out, "core_add_rtt_over_floor", series_pct(&s[S_CORE_ADD_RTT], 50) /
		(series_pct(&s[S_CORE_ADD], 50) + series_pct(&s[S_FSYNC], 50)));
	put(out, "mem_add_rtt_over_fresh",
	    series_pct(&s[S_MEM_ADD_RTT], 50) / series_pct(&s[S_MEM_FRESH], 50));
	json_object_object_add(out, "forced", json_object_new_int(forced));
	struct json_object *v;
	if (info && json_object_object_get_ex(info, "hugepages", &v))
		json_object_object_add(out, "hugepages", json_object_get(v));
	if (info && json_object_object_get_ex(info, "enforcement", &v))
		json_object_object_add(out, "enforcement", json_object_get(v));
}

/* Judged on the median of the runs (runs.c): each against its floor or
 * peer measured in the same run. */
void lifecycle_targets(struct json_object *fig, struct json_object *t)
{
	double wake = bench_fig(fig, "wake_rtt_us_p50"), add = bench_fig(fig, "core_add_us_p50");
	bench_target(t, "create_ms_p50<=1.2*spawn_ms_p50",
		     bench_fig(fig, "create_ms_p50") <= 1.2 * bench_fig(fig, "spawn_ms_p50"));
	bench_target(t, "core_add_us_p50<=1.5*wake_rtt_us_p50", add <= 1.5 * wake);
	bench_target(t, "core_remove_us_p50<=1.5*wake_rtt_us_p50",
		     bench_fig(fig, "core_remove_us_p50") <= 1.5 * wake);
	bench_target(t, "core_add_rtt_us_p50<=2*(core_add_us_p50+fsync_us_p50)",
		     bench_fig(fig, "core_add_rtt_us_p50") <=
			     2 * (add + bench_fig(fig, "fsync_us_p50")));
	bench_target(t, "mem_add_rtt_ms_p50<=0.1*mem_fresh_ms_p50",
		     bench_fig(fig, "mem_add_rtt_ms_p50") <= 0.1 * bench_fig(fig, "mem_fresh_ms_p50"));
}

/* The floors, on the cores and disk the subOSes use, before any exists. */
static int floors(const struct private_rfd *p, const char *hello, int n, struct series *s)
{
	if (spawns(hello, n, s) || floor_wake_rtt(both_cpus, s[S_WAKE].cap, 0, &s[S_WAKE]) ||
	    floor_wake_rtt(both_cpus, s[S_WAKE_IDLE].cap, WAKE_IDLE_NS, &s[S_WAKE_IDLE]) ||
	    floor_fsync(p->dir, s[S_FSYNC].cap, FSYNC_IDLE_NS, &s[S_FSYNC]) ||
	    floor_fsync(p->dir, s[S_FSYNC_HOT].cap, 0, &s[S_FSYNC_HOT]) ||
	    floor_mem_fresh(MEM_ADD, s[S_MEM_FRESH].cap, &s[S_MEM_FRESH]))
		return -1;
	return 0;
}

int bench_lifecycle(const struct bench_opts *o, struct json_object *out)
{
	static const char *names[S_N] = { "create", "destroy", "core_add", "core_remove",
		"core_add_rtt", "core_remove_rtt", "mem_add", "mem_remove", "mem_add_rtt",
		"mem_remove_rtt", "spawn", "spawn_true", "core_add_cold", "core_add_cold_rtt",
		"wake_rtt", "fsync", "mem_fresh", "wake_rtt_idle", "create_burst", "fsync_hot" };
	static const char *units[S_N] = { "ms", "ms", "us", "us", "us", "us", "ms", "ms", "ms",
		"ms", "ms", "ms", "us", "us", "us", "us", "ms", "us", "ms", "us" };
	const char *extra[] = { "--host-cores", "", "--mem", "1G", "--chunk", "64M", NULL };
	struct series s[S_N];
	struct private_rfd p = { 0 };
	char hello[PATH_MAX];
	int forced = 0, rc = -1, n = o->iterations;
	/* fewer of the slow ones: a cold add costs a create and a destroy, a
	 * fresh mapping a few hundred ms */
	int cap[S_N] = { [S_CORE_ADD_COLD] = n / 4 > 3 ? n / 4 : 3,
			 [S_CORE_ADD_COLD_RTT] = n / 4 > 3 ? n / 4 : 3,
			 [S_WAKE] = 10 * n, [S_WAKE_IDLE] = n, [S_MEM_FRESH] = n / 20 > 3 ? n / 20 : 3,
			 [S_DESTROY] = 2 * n };

	snprintf(hello, sizeof(hello), "%s/rfhello", o->build_dir);
	for (int i = 0; i < S_N; i++)
		series_init(&s[i], names[i], units[i], cap[i] ? cap[i] : n);
	json_object_object_add(out, "iterations", json_object_new_int(n));
	json_object_object_add(out, "host_shares_core0", json_object_new_boolean(true));
	if (prfd_start(&p, o, extra) || prfd_settle(&p, 30000))
		goto out;
	struct base_request info_req = req_named(RF_VERB_INFO, NULL);
	struct json_object *info = prfd_call(&p, &info_req, NULL);
	if (floors(&p, hello, n, s) || create_destroy(&p, hello, n, s) ||
	    resizes(&p, hello, n, s, &forced) ||
	    cold_adds(&p, hello, s[S_CORE_ADD_COLD].cap - 1, s, &forced)) {
		json_object_put(info);
		goto out;
	}
	report(out, s, info ? base_answer_result(info) : NULL, forced);
	json_object_put(info);
	series_write(o, "lifecycle", s, S_N);
	rc = 0;
out:
	prfd_stop(&p);
	for (int i = 0; i < S_N; i++)
		series_free(&s[i]);
	return rc;
}
