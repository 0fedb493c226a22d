/*
 * dynamic_sys.c - the four systems of `rfbench dynamic` (dynamic.c says
 * why they are what they are): bringing each up, driving the load through
 * it, reading back what happened, tearing it down, also on failure.
 *
 *   static            private rfd, kv (libos rfkv) on cpu 1, batch (libos
 *                     rfbatch) on cpu 0, no policy
 *   rainforest_policy the same, kv with a latency policy (1..2 cores),
 *                     batch with a batch policy (0..1: paused at zero)
 *   linux_cgroups     the same two programs standalone, each in a cgroup v1
 *                     cpuset this file creates (kv: cpu 1, batch: cpu 0)
 *                     and removes
 *   linux             the same two programs standalone on both cpus, no
 *                     partition (librf still runs a thread per cpu)
 *
 * In every system the generator (build/rfload) runs on cpu 1 as SCHED_FIFO
 * (when allowed), the batch job prints its progress every 50 ms
 * (rfbatch --progress), and the service is the same binary with the same
 * memory budget, so only the partition and its policy differ.
 */
#define _GNU_SOURCE
#include "dynamic.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "base/time.h"

#define CG_ROOT     "/sys/fs/cgroup/cpuset"
#define KV_MEM      (256ull << 20)
#define BATCH_MEM   (64ull << 20)
#define PROGRESS_MS "50"

const char *dyn_sys_name(enum dyn_sys s)
{
	static const char *const n[] = { "static", "rainforest_policy", "linux_cgroups", "linux" };
	return n[s];
}

/* One system while it runs. */
struct sys {
	enum dyn_sys kind;
	struct private_rfd rfd;
	bool have_rfd;
	char cg[128];              /* cgroups: our parent cpuset, "" if none */
	pid_t kv, batch;           /* standalone programs (linux systems) */
	char tmp[64];              /* a directory for outputs */
	char batch_out[320];       /* where rfbatch's progress goes */
};

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void stop_pid(pid_t *pid)
{
	if (*pid > 0)
		bench_stop(*pid, SIGKILL);
	*pid = 0;
}

/* ---- the systems ---------------------------------------------------------------- */

static int cg_make(struct sys *s, const char *name, const char *cpus)
{
	char dir[200], f[260];
	snprintf(dir, sizeof(dir), "%s%s%s", s->cg, name[0] ? "/" : "", name);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	snprintf(f, sizeof(f), "%s/cpuset.mems", dir);
	if (write_file(f, "0") < 0)
		return -1;
	snprintf(f, sizeof(f), "%s/cpuset.cpus", dir);
	return write_file(f, cpus);
}

static void cg_remove(struct sys *s)
{
	char dir[200];
	if (!s->cg[0])
		return;
	snprintf(dir, sizeof(dir), "%s/kv", s->cg);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/batch", s->cg);
	rmdir(dir);
	rmdir(s->cg);
	s->cg[0] = '\0';
}

/* The two programs standalone (linux, linux_cgroups). */
static int up_standalone(struct sys *s, const struct bench_opts *o, const struct dyn_cfg *c)
{
	char kv[512], batch[512], port[16], cgk[200], cgb[200];
	snprintf(kv, sizeof(kv), "%s/rfkv", o->build_dir);
	snprintf(batch, sizeof(batch), "%s/rfbatch", o->build_dir);
	snprintf(port, sizeof(port), "%d", c->port);
	if (s->kind == DYN_CGROUPS) {
		snprintf(s->cg, sizeof(s->cg), CG_ROOT "/rfbench-dynamic.%d", (int)getpid());
		if (cg_make(s, "", "0-1") || cg_make(s, "kv", "1") || cg_make(s, "batch", "0"))
			return -1;
		snprintf(cgk, sizeof(cgk), "%s/kv", s->cg);
		snprintf(cgb, sizeof(cgb), "%s/batch", s->cg);
	}
	bool cg = s->kind == DYN_CGROUPS;
	const char *kv_argv[] = { kv, "-p", port, NULL };
	const char *b_argv[] = { batch, "--progress", PROGRESS_MS, NULL };
	const char *kv_cg[] = { cgk, NULL }, *b_cg[] = { cgb, NULL };
	static const char *const env[] = { "RF_MEM=384M", NULL }; /* as rfd gives kv: 256M,
								    * and batch's share */
	struct proc_spec ke = { .argv = kv_argv, .cpu = -1, .cgroups = cg ? kv_cg : NULL,
				.env = env };
	struct proc_spec be = { .argv = b_argv, .cpu = -1, .cgroups = cg ? b_cg : NULL,
				.env = env, .out_path = s->batch_out };
	s->kv = proc_spawn(&ke, NULL);
	s->batch = proc_spawn(&be, NULL);
	return s->kv > 0 && s->batch > 0 ? 0 : -1;
}

/* rq to s's rfd: 0 if it answered with a result, else -1 (said). */
static int call(struct sys *s, const struct base_request *rq, const char *what)
{
	struct json_object *a = prfd_call(&s->rfd, rq, NULL);
	int ok = a && json_object_object_get_ex(a, "result", NULL);
	if (!ok)
		fprintf(stderr, "rfbench dynamic: %s %s: %s\n", what, rq->name,
			a ? json_object_to_json_string(a) : "no answer");
	json_object_put(a);
	return ok ? 0 : -1;
}

static int create(struct sys *s, const char *name, const char *cpus, uint64_t mem,
		  const char **argv)
{
	struct base_request rq = req_create(name, RF_KIND_LIBOS, cpus, mem, argv);
	return call(s, &rq, "create");
}

static int set_policy(struct sys *s, const char *name, const struct base_policy *pol)
{
	struct base_request rq = req_named(RF_VERB_POLICY, name);
	rq.has_policy = true;
	rq.policy = *pol;
	return call(s, &rq, "policy");
}

/* The policies of rainforest_policy (dynamic.c's top comment). */
static int policies(struct sys *s, const struct dyn_cfg *c)
{
	struct base_policy kv = { .priority = RF_PRIO_LATENCY, .signal = RF_SIGNAL_LATENCY,
				  .lt_us = c->lt_us, .ut_us = c->ut_us,
				  .window_ms = (uint32_t)c->window_ms, .min_cores = 1,
				  .max_cores = 2,
				  .given = RF_POL_LT | RF_POL_UT | RF_POL_WINDOW | RF_POL_MIN |
					   RF_POL_MAX | RF_POL_SIGNAL };
	struct base_policy b = { .priority = RF_PRIO_BATCH, .min_cores = 0, .max_cores = 1,
				 .given = RF_POL_MIN | RF_POL_MAX };
	return set_policy(s, "batch", &b) || set_policy(s, "kv", &kv) ? -1 : 0;
}

/* The two programs as libos subOSes of a private rfd (static, policy). */
static int up_rfd(struct sys *s, const struct bench_opts *o, const struct dyn_cfg *c)
{
	/* Both cpus managed: with the host's core 0 kept, kv and batch would
	 * have one core to share and nothing could move. */
	const char *extra[] = { "--host-cores", "", NULL };
	char kv[512], batch[512], port[16];
	if (prfd_start(&s->rfd, o, extra))
		return -1;
	s->have_rfd = true;
	snprintf(s->batch_out, sizeof(s->batch_out), "%s/logs/batch.log", s->rfd.dir);
	snprintf(kv, sizeof(kv), "%s/rfkv", o->build_dir);
	snprintf(batch, sizeof(batch), "%s/rfbatch", o->build_dir);
	snprintf(port, sizeof(port), "%d", c->port);
	const char *kv_argv[] = { kv, "-p", port, NULL };
	const char *b_argv[] = { batch, "--progress", PROGRESS_MS, NULL };
	if (create(s, "kv", "1", KV_MEM, kv_argv) || create(s, "batch", "0", BATCH_MEM, b_argv))
		return -1;
	return s->kind == DYN_POLICY ? policies(s, c) : 0;
}

static void down(struct sys *s)
{
	if (s->have_rfd)
		prfd_stop(&s->rfd); /* --cleanup: its subOSes go with it */
	s->have_rfd = false;
	stop_pid(&s->kv);
	stop_pid(&s->batch);
	cg_remove(s);
	if (s->tmp[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "rfbench dynamic: could not remove %s\n", s->tmp);
	}
}

/* ---- the load, and what it measured -------------------------------------------- */

/* Run rfload (args after the common ones) into out; its JSON or NULL. */
static struct json_object *load(struct sys *s, const struct bench_opts *o,
				const struct dyn_cfg *c, const char *const *args)
{
	char bin[512], port[16], win[16], out[128];
	const char *argv[32];
	int n = 0, st;
	snprintf(bin, sizeof(bin), "%s/rfload", o->build_dir);
	snprintf(port, sizeof(port), "%d", c->port);
	snprintf(win, sizeof(win), "%d", c->window_ms);
	snprintf(out, sizeof(out), "%s/load.json", s->tmp);
	const char *common[] = { bin, "--port", port, "--conns", "16", "--spin-us", "0",
				 "--seed", "1", "--window", win, "--drain", "1", "--json", NULL };
	for (int i = 0; common[i]; i++)
		argv[n++] = common[i];
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct proc_spec e = { .argv = argv, .cpu = DYN_KV_CPU, .fifo = 1, .fifo_optional = true,
			       .out_path = out };
	pid_t pid = proc_spawn(&e, NULL);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return NULL;
	return json_object_from_file(out);
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median window p99 at the trough rate, nothing else moving. */
static int calibrate(struct sys *s, const struct bench_opts *o, const struct dyn_cfg *c,
		     struct dyn_result *r)
{
	char rate[32], secs[32];
	snprintf(rate, sizeof(rate), "%.0f", c->cal_rate);
	snprintf(secs, sizeof(secs), "%g", c->cal_s);
	const char *args[] = { "--rate", rate, "--seconds", secs, "--warmup", "0.5", NULL };
	struct json_object *j = load(s, o, c, args), *w, *p;
	int n = 0;
	if (!j || !json_object_object_get_ex(j, "windows", &w) ||
	    !json_object_object_get_ex(w, "p99_us", &p)) {
		json_object_put(j);
		return -1;
	}
	size_t len = json_object_array_length(p);
	double v[len];
	for (size_t i = 0; i < len; i++) {
		struct json_object *x = json_object_array_get_idx(p, i);
		if (x)
			v[n++] = json_object_get_double(x);
	}
	json_object_put(j);
	if (!n)
		return -1;
	qsort(v, (size_t)n, sizeof(v[0]), by_double);
	r->unloaded_p99_us = v[n / 2];
	return 0;
}

/* Windows of the trace run into r; *start: the measured start (mono ns). */
static int measure(struct sys *s, const struct bench_opts *o, const struct dyn_cfg *c,
		   struct dyn_result *r, uint64_t *start)
{
	char secs[32], warm[32];
	snprintf(secs, sizeof(secs), "%g", c->seconds);
	snprintf(warm, sizeof(warm), "%g", c->warmup);
	const char *args[] = { "--trace", c->trace, "--seconds", secs, "--warmup", warm, NULL };
	struct json_object *j = load(s, o, c, args), *w, *p, *v;
	if (!j || !json_object_object_get_ex(j, "windows", &w) ||
	    !json_object_object_get_ex(w, "p99_us", &p) ||
	    !json_object_object_get_ex(w, "start_mono_ns", &v)) {
		json_object_put(j);
		snprintf(r->error, sizeof(r->error), "rfload failed or gave no windows");
		return -1;
	}
	*start = (uint64_t)json_object_get_int64(v);
	r->nwin = (int)json_object_array_length(p);
	r->p99_us = calloc((size_t)r->nwin, sizeof(double));
	r->cores = calloc((size_t)r->nwin, sizeof(int));
	for (int i = 0; r->p99_us && i < r->nwin; i++) {
		struct json_object *x = json_object_array_get_idx(p, (size_t)i);
		r->p99_us[i] = x ? json_object_get_double(x) : NAN;
	}
	if (json_object_object_get_ex(j, "send_lag_p99_us", &v))
		r->send_lag_p99_us = json_object_get_double(v);
	json_object_put(j);
	return r->p99_us && r->cores ? 0 : -1;
}

/* The batch job's chunks between start and end (mono ns): from its
 * progress lines, the count of the last line at or before each moment. */
static double batch_work(const char *path, uint64_t start, uint64_t end)
{
	char line[256];
	unsigned long long t, n, at_start = 0, at_end = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "rfbatch: at %llu total %llu", &t, &n) != 2)
			continue;
		if (t <= start)
			at_start = n;
		if (t <= end)
			at_end = n; /* none after the end: paused then, and not working */
	}
	fclose(f);
	return (double)(at_end - at_start);
}

/* A journal time ("2026-12-03T06:55:01.123Z") as CLOCK_MONOTONIC ns,
 * given off = realtime - monotonic. */
static int64_t journal_mono(const char *when, int64_t off)
{
	struct tm tm = { 0 };
	int ms = 0;
	if (sscanf(when, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000000000 + (int64_t)ms * 1000000 - off;
}

static const char *str_of(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

/* The policy moves of rfd's journal, timed from the measured start. */
static void journal_moves(struct sys *s, struct dyn_result *r, uint64_t start, int64_t off)
{
	char path[320], line[4096];
	snprintf(path, sizeof(path), "%s/journal", s->rfd.dir);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f) && r->nmoves < DYN_MAX_MOVES) {
		struct json_object *rec = json_tokener_parse(line), *v;
		if (rec && !strcmp(str_of(rec, "op"), "policy")) {
			struct dyn_move *m = &r->moves[r->nmoves++];
			int64_t t = journal_mono(str_of(rec, "time"), off);
			m->t_s = t < 0 ? NAN : (double)(t - (int64_t)start) / 1e9;
			m->to_kv = !strcmp(str_of(rec, "to"), "kv") ? 1 : -1;
			m->p99_us = json_object_object_get_ex(rec, "p99_ns", &v)
					    ? (double)json_object_get_int64(v) / 1e3 : NAN;
		}
		json_object_put(rec);
	}
	if (f)
		fclose(f);
}

/* The service's cores in each window (its middle). */
static void cores_over_time(enum dyn_sys kind, const struct dyn_cfg *c, struct dyn_result *r)
{
	for (int i = 0; i < r->nwin; i++) {
		double mid = (i + 0.5) * c->window_ms / 1e3;
		int n = kind == DYN_LINUX ? 2 : 1;
		for (int k = 0; kind == DYN_POLICY && k < r->nmoves; k++)
			if (r->moves[k].t_s <= mid)
				n += r->moves[k].to_kv;
		r->cores[i] = n;
	}
}

static int64_t real_minus_mono(void)
{
	struct timespec rt;
	uint64_t m = base_now_ns();
	clock_gettime(CLOCK_REALTIME, &rt);
	return (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec - (int64_t)m;
}

static int up(struct sys *s, const struct bench_opts *o, const struct dyn_cfg *c)
{
	snprintf(s->tmp, sizeof(s->tmp), "/tmp/rfbench-dyn.XXXXXX");
	if (!mkdtemp(s->tmp)) {
		s->tmp[0] = '\0';
		return -1;
	}
	snprintf(s->batch_out, sizeof(s->batch_out), "%s/batch.out", s->tmp);
	int rc = s->kind == DYN_STATIC || s->kind == DYN_POLICY ? up_rfd(s, o, c)
								: up_standalone(s, o, c);
	if (rc)
		return -1;
	return bench_wait_port(c->port) ? -2 : 0;
}

int dyn_system_run(const struct bench_opts *o, enum dyn_sys kind, struct dyn_cfg *c,
		   struct dyn_result *r)
{
	struct sys s = { .kind = kind };
	uint64_t start = 0;
	int rc = -1;
	memset(r, 0, sizeof(*r));
	int up_rc = up(&s, o, c);
	if (up_rc) {
		snprintf(r->error, sizeof(r->error), up_rc == -2 ?
			 "%s: kv did not answer on port %d within 5 s" : "%s did not come up",
			 dyn_sys_name(kind), c->port);
		goto out;
	}
	if (c->calibrate && calibrate(&s, o, c, r)) {
		snprintf(r->error, sizeof(r->error), "the calibration load failed");
		goto out;
	}
	if (measure(&s, o, c, r, &start))
		goto out;
	r->batch_work = batch_work(s.batch_out, start, start + (uint64_t)(c->seconds * 1e9));
	if (kind == DYN_POLICY)
		journal_moves(&s, r, start, real_minus_mono());
	cores_over_time(kind, c, r);
	r->rt = geteuid() == 0; /* root may take SCHED_FIFO (RLIMIT_RTPRIO aside) */
	rc = 0;
out:
	down(&s);
	return rc;
}

void dyn_result_free(struct dyn_result *r)
{
	free(r->p99_us);
	free(r->cores);
	r->p99_us = NULL;
	r->cores = NULL;
}
