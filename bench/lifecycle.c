/*
 * lifecycle.c - `rfbench lifecycle`: Table 4 of the RainForest paper.
 *
 * Measures, N times each, against one private rfd:
 *   create   request sent -> answer (rfd answers once librf called the
 *            application's main), libos subOS running build/rfhello
 *   destroy  request -> answer (program gone, resources back)
 *   core add / remove   the mechanism time rfd reports (description
 *            published -> librf acknowledged the core runs / has left),
 *            and the whole request round trip (with the journal fsync)
 *   mem add / remove    512 MiB, the same two ways
 * and, in the same run, the floor: fork+exec of the same program
 * (standalone librf, smallest memory) until it has run main and exited.
 *
 * On a 2-core machine a core can only be added if rfd manages both, so
 * this benchmark lets the host share core 0 (rfd --host-cores "").
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "base/units.h"

#define MEM_BASE (64ull << 20)
#define MEM_ADD  (512ull << 20)

enum { S_CREATE, S_DESTROY, S_CORE_ADD, S_CORE_REM, S_CORE_ADD_RTT, S_CORE_REM_RTT,
       S_MEM_ADD, S_MEM_REM, S_MEM_ADD_RTT, S_MEM_REM_RTT, S_SPAWN, S_SPAWN_TRUE, S_N };

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

/* fork+exec until the child has exited; `env` NULL-terminated. */
static uint64_t spawn_once(const char *const *argv, char *const *env)
{
	uint64_t t0 = base_now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execve(argv[0], (char *const *)argv, env);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? base_now_ns() - t0 : 0;
}

static int wait_pool_ready(struct private_rfd *p)
{
	for (int i = 0; i < 600; i++) {
		struct base_request info = req_named(RF_VERB_INFO, NULL);
		struct json_object *a = prfd_call(p, &info, NULL);
		int64_t ready = a ? get_i64(base_answer_result(a), "pool", "ready") : -1;
		int64_t all = a ? get_i64(base_answer_result(a), "pool", "chunks") : 0;
		json_object_put(a);
		if (ready >= 0 && ready == all)
			return 0;
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int create_destroy(struct private_rfd *p, const char *hello, int n, struct series *s)
{
	const char *argv[] = { hello, NULL };
	struct base_request create = req_create("lc", RF_KIND_LIBOS, "1", MEM_BASE, argv);
	struct base_request destroy = req_named(RF_VERB_DESTROY, "lc");
	for (int i = 0; i < n; i++) {
		uint64_t t;
		struct json_object *a = prfd_call(p, &create, &t);
		if (!ok(a, "create"))
			return json_object_put(a), -1;
		json_object_put(a);
		series_add(&s[S_CREATE], t);
		a = prfd_call(p, &destroy, &t);
		if (!ok(a, "destroy"))
			return json_object_put(a), -1;
		json_object_put(a);
		series_add(&s[S_DESTROY], t);
	}
	return 0;
}

/* One resize of "rs" to `cpus` (a CPU list) or, if NULL, to `mem` bytes;
 * records the mechanism time (timing_us.KEY) and the RTT. */
static int resize(struct private_rfd *p, const char *cpus, uint64_t mem, const char *key,
		  struct series *mech, struct series *rtt, int *forced)
{
	uint64_t t;
	struct base_request req = req_named(RF_VERB_RESIZE, "rs");
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

static int resizes(struct private_rfd *p, const char *hello, int n, struct series *s, int *forced)
{
	const char *argv[] = { hello, NULL };
	struct base_request create = req_create("rs", RF_KIND_LIBOS, "1", MEM_BASE, argv);
	struct base_request destroy = req_named(RF_VERB_DESTROY, "rs");
	struct json_object *a = prfd_call(p, &create, NULL);
	if (!ok(a, "create"))
		return json_object_put(a), -1;
	json_object_put(a);
	for (int i = 0; i < n; i++) {
		if (resize(p, "0-1", 0, "cores", &s[S_CORE_ADD], &s[S_CORE_ADD_RTT], forced) ||
		    resize(p, "1", 0, "cores", &s[S_CORE_REM], &s[S_CORE_REM_RTT], forced) ||
		    resize(p, NULL, MEM_BASE + MEM_ADD, "mem", &s[S_MEM_ADD], &s[S_MEM_ADD_RTT],
			   forced) ||
		    resize(p, NULL, MEM_BASE, "mem", &s[S_MEM_REM], &s[S_MEM_REM_RTT], forced))
			return -1;
	}
	a = prfd_call(p, &destroy, NULL);
	json_object_put(a);
	return 0;
}

static void spawns(const char *hello, int n, struct series *s)
{
	const char *argv[] = { hello, "--exit-after", "0", NULL };
	const char *tru[] = { "/bin/true", NULL };
	char *env[] = { "RF_MEM=2M", "RF_CORES=1", NULL };
	for (int i = 0; i < n; i++) {
		uint64_t t = spawn_once(argv, env);
		if (t)
			series_add(&s[S_SPAWN], t);
		t = spawn_once(tru, env);
		if (t)
			series_add(&s[S_SPAWN_TRUE], t);
	}
}

static void put(struct json_object *out, const char *k, double v)
{
	json_object_object_add(out, k, json_object_new_double(((int64_t)(v * 1000 + 0.5)) / 1000.0));
}

static void report(struct json_object *out, struct series *s, struct json_object *info, int forced)
{
	put(out, "create_ms_p50", series_pct(&s[S_CREATE], 50));
	put(out, "create_ms_p99", series_pct(&s[S_CREATE], 99));
	put(out, "destroy_ms_p50", series_pct(&s[S_DESTROY], 50));
	put(out, "destroy_ms_p99", series_pct(&s[S_DESTROY], 99));
	put(out, "core_add_us_p50", series_pct(&s[S_CORE_ADD], 50));
	put(out, "core_add_us_p99", series_pct(&s[S_CORE_ADD], 99));
	put(out, "core_remove_us_p50", series_pct(&s[S_CORE_REM], 50));
	put(out, "core_remove_us_p99", series_pct(&s[S_CORE_REM], 99));
	put(out, "core_add_rtt_us_p50", series_pct(&s[S_CORE_ADD_RTT], 50));
	put(out, "core_remove_rtt_us_p50", series_pct(&s[S_CORE_REM_RTT], 50));
	put(out, "mem_add_ms_p50", series_pct(&s[S_MEM_ADD], 50));
	put(out, "mem_remove_ms_p50", series_pct(&s[S_MEM_REM], 50));
	put(out, "mem_add_rtt_ms_p50", series_pct(&s[S_MEM_ADD_RTT], 50));
	put(out, "mem_remove_rtt_ms_p50", series_pct(&s[S_MEM_REM_RTT], 50));
	put(out, "spawn_ms_p50", series_pct(&s[S_SPAWN], 50));
	put(out, "spawn_true_ms_p50", series_pct(&s[S_SPAWN_TRUE], 50));
	put(out, "create_over_spawn", series_pct(&s[S_CREATE], 50) / series_pct(&s[S_SPAWN], 50));
	json_object_object_add(out, "forced", json_object_new_int(forced));
	struct json_object *v;
	if (info && json_object_object_get_ex(info, "hugepages", &v))
		json_object_object_add(out, "hugepages", json_object_get(v));
	if (info && json_object_object_get_ex(info, "enforcement", &v))
		json_object_object_add(out, "enforcement", json_object_get(v));
}

/* Judged on the median of the runs (runs.c). */
void lifecycle_targets(struct json_object *fig, struct json_object *t)
{
	bench_target(t, "create_ms_p50<=5", bench_fig(fig, "create_ms_p50") <= 5);
	bench_target(t, "destroy_ms_p50<=2", bench_fig(fig, "destroy_ms_p50") <= 2);
	bench_target(t, "core_add_us_p50<=50", bench_fig(fig, "core_add_us_p50") <= 50);
	bench_target(t, "core_remove_us_p50<=50", bench_fig(fig, "core_remove_us_p50") <= 50);
	bench_target(t, "mem_add_ms_p50<=20", bench_fig(fig, "mem_add_ms_p50") <= 20);
}

int bench_lifecycle(const struct bench_opts *o, struct json_object *out)
{
	static const char *names[S_N] = { "create", "destroy", "core_add", "core_remove",
		"core_add_rtt", "core_remove_rtt", "mem_add", "mem_remove", "mem_add_rtt",
		"mem_remove_rtt", "spawn", "spawn_true" };
	static const char *units[S_N] = { "ms", "ms", "us", "us", "us", "us", "ms", "ms", "ms",
		"ms", "ms", "ms" };
	const char *extra[] = { "--host-cores", "", "--mem", "1G", "--chunk", "64M", NULL };
	struct series s[S_N];
	struct private_rfd p = { 0 };
	char hello[PATH_MAX];
	int forced = 0, rc = -1;

	snprintf(hello, sizeof(hello), "%s/rfhello", o->build_dir);
	for (int i = 0; i < S_N; i++)
		series_init(&s[i], names[i], units[i], o->iterations);
	json_object_object_add(out, "iterations", json_object_new_int(o->iterations));
	json_object_object_add(out, "host_shares_core0", json_object_new_boolean(true));
	if (prfd_start(&p, o, extra) || wait_pool_ready(&p))
		goto out;
	struct base_request info_req = req_named(RF_VERB_INFO, NULL);
	struct json_object *info = prfd_call(&p, &info_req, NULL);
	spawns(hello, o->iterations, s);
	if (create_destroy(&p, hello, o->iterations, s) ||
	    resizes(&p, hello, o->iterations, s, &forced)) {
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
