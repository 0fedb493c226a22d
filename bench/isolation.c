/*
 * isolation.c - `rfbench isolation` (Figure 9 of the RainForest paper): the
 * KV service's p99 at a fixed load, alone and beside each interference
 * workload, on three systems in the same run.
 *
 *   rainforest     a private rfd deployed as RainForest is: CPU 0 the
 *                  host's, CPU 1 managed and shielded (--host-cores 0
 *                  --shield: the host's tasks are kept off it);
 *                  build/rfkv a libos subOS on CPU 1 (256 MiB), the
 *                  interferer a linux subOS with no core of its own
 *                  (cores 0: it runs on the host's CPU 0, 512 MiB);
 *   linux          the same programs, no cgroups ("share first"): the
 *                  interferer unpinned; rfkv standalone with RF_CORES=1,
 *                  because librf pins its one core thread whatever we do
 *                  (its own choice, not the system's), and CPU 1 is the
 *                  core the other systems give it;
 *   linux_cgroups  the same two programs in cgroup v1 cpuset + memory
 *                  groups made here (bench/cgv1.c): rfkv in {CPU 1,
 *                  256 MiB}, the interferer in {CPU 0, 512 MiB}: the
 *                  container-like baseline.
 * The interferer is build/rfinterfere MODE --threads 2, one mode at a
 * time (mmap, pagefault, malloc, open, fork, cache, membw, cpu): a batch
 * job that takes the whole machine unless something stops it, which is
 * exactly what isolation is for.  Each system's KV is started once and
 * measured alone first, then beside each mode in turn.
 *
 * Placement on 2 CPUs.  The KV gets CPU 1 to itself (as far as the system
 * lets it); the load generator, build/rfload, runs on CPU 0 with the host
 * and beside the interferer.  rfd is started pinned to CPU 0 too (its
 * loop and pool worker stay off the KV's core).  The shield is what sets
 * rainforest apart from linux_cgroups, whose KV cpuset is exclusive among
 * its siblings only: there every task of the root cpuset (the host's, the
 * generator's) may still run on CPU 1, as in a container runtime.  The
 * generator runs the same way in
 * every system: pinned to CPU 0 and SCHED_FIFO (priority 10), so the
 * interferer sharing its CPU delays its sends as little as possible, and
 * with --spin-us 20 (it sleeps in epoll_pwait2 until 20 us before each
 * send), so it leaves most of CPU 0 to the interferer.  What it still suffers shows in its own
 * send lag (send_lag_p99_us, reported), and is the same in all three
 * systems; latency runs from the intended send time (open loop).  The load
 * is RATE requests/s, 8 connections, seed 7, 90% gets over 10,000 keys:
 * far below what rfkv serves on one core (~100k/s here; rfbench syscalls,
 * rfload), also in the linux system where it shares CPU 1.
 *
 * Figures: p99_us {system: {alone, MODE...}}, p99_slowdown_pct {system:
 * {MODE: (p99 beside - p99 alone) / p99 alone x 100}}, worst_slowdown_pct
 * {system} (one run's worst), send_lag_p99_us like p99_us,
 * interferer_ops_per_s {system: {MODE}} (rfinterfere's own rate over its
 * run: how hard each system let it work), load (how the
 * generator ran: cpus, sched, rate, connections, duration, seed, and
 * rfload's own config).  Targets, on the medians over --runs: every mode's
 * slowdown <= 10% in rainforest, and rainforest's worst below both
 * baselines' worst (each the worst of the per-mode medians).  -n N:
 * N x 100 requests per measurement (default 100: 10,000, 2.5 s at
 * 4,000/s).  results/isolation.csv: one row per run, every figure;
 * results/isolation.png: each run's p99s per mode and system.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <arpa/inet.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RATE       4000
#define KV_CPU     "1"
#define BG_CPU     "0"
#define GEN_CPU    0
#define GEN_FIFO   10
#define KV_MEM     (256ull << 20)
#define BG_MEM     (512ull << 20)
#define CONNS      "8"
#define SEED       "7"
#define SPIN_US    "20"
#define WARMUP_S   "0.5"

enum { SYS_RF, SYS_LINUX, SYS_CG, NSYS };
static const char *const sys_name[NSYS] = { "rainforest", "linux", "linux_cgroups" };
static const char *const all_modes[] = { "mmap", "pagefault", "malloc", "open", "fork",
					 "cache", "membw", "cpu" };
static const char *const quick_modes[] = { "mmap", "cpu" };
#define NALL   (sizeof(all_modes) / sizeof(all_modes[0]))
#define NQUICK (sizeof(quick_modes) / sizeof(quick_modes[0]))

struct iso {
	const struct bench_opts *o;
	char kv[PATH_MAX], load[PATH_MAX], interf[PATH_MAX], dir[64];
	const char *const *modes;
	size_t nmodes;
	double secs;
	int port;
	struct private_rfd p;
	struct cgv1_group cg_kv, cg_bg;
	pid_t kvpid, bgpid;
	int bgfd;                    /* the plain interferer's stdout */
	pid_t bgsub;                 /* the interferer in its subOS (rfd's) */
	struct json_object *config;  /* rfload's, from the first measurement */
};

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int wait_port(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 500; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
		ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (fd >= 0)
			close(fd);
		if (ok)
			return 0;
		nap_ms(10);
	}
	return -1;
}

/* ---- the three systems ------------------------------------------------------ */

static int kv_start(struct iso *s, int sys)
{
	static const char *const env[] = { "RF_CORES=" KV_CPU, NULL };
	char port[16];
	snprintf(port, sizeof(port), "%d", s->port);
	const char *argv[] = { s->kv, "-p", port, "-m", "64", "-t", "1", NULL };
	struct proc_spec spec = { .argv = argv, .cpu = -1, .env = env };
	const char *extra[] = { "--host-cores", "0", "--shield", NULL };

	if (sys == SYS_RF) {
		argv[5] = NULL;   /* -t is for standalone; rfd gives the cores */
		/* rfd stops it (kv_stop) */
		if (prfd_start_on(&s->p, s->o, extra, GEN_CPU) ||
		    subos_create(&s->p, "kv", RF_KIND_LIBOS, KV_CPU, KV_MEM, argv) < 0)
			return -1;
		prfd_settle(&s->p, 10000);
	} else {
		if (sys == SYS_CG) {
			if (cgv1_create(&s->cg_kv, "kv", KV_CPU, KV_MEM) < 0 ||
			    cgv1_create(&s->cg_bg, "bg", BG_CPU, BG_MEM) < 0)
				return -1;
			spec.cgroups = s->cg_kv.dirs;
		}
		if ((s->kvpid = proc_spawn(&spec, NULL)) < 0)
			return -1;
	}
	return wait_port(s->port);
}

static void kv_stop(struct iso *s, int sys)
{
	if (sys == SYS_RF)
		prfd_stop(&s->p);   /* --cleanup: destroys every subOS */
	proc_stop(&s->kvpid);
	if (sys == SYS_CG) {
		cgv1_remove(&s->cg_kv);
		cgv1_remove(&s->cg_bg);
	}
}

static int bg_start(struct iso *s, int sys, const char *mode)
{
	const char *argv[] = { s->interf, mode, "--threads", "2", "--dir", s->dir, "--json",
			       NULL };
	struct proc_spec spec = { .argv = argv, .cpu = -1,
				  .cgroups = sys == SYS_CG ? s->cg_bg.dirs : NULL };
	if (sys == SYS_RF) {
		if ((s->bgsub = subos_create(&s->p, "bg", RF_KIND_LINUX, "none", BG_MEM, argv)) < 0)
			return -1;
	} else if ((s->bgpid = proc_spawn(&spec, &s->bgfd)) < 0) {
		return -1;
	}
	nap_ms(300);   /* its workers are going */
	return 0;
}

/* The ops_per_s of the last rfinterfere report in text, or NAN. */
static double ops_rate(char *text)
{
	double r = NAN;
	for (char *save, *l = text ? strtok_r(text, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save)) {
		struct json_object *j = *l == '{' ? json_tokener_parse(l) : NULL;
		if (j && !isnan(bench_fig(j, "ops_per_s")))
			r = bench_fig(j, "ops_per_s");
		json_object_put(j);
	}
	return r;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = f ? calloc(1, 1 << 20) : NULL;
	if (buf && fread(buf, 1, (1 << 20) - 1, f) == 0)
		buf[0] = '\0';
	if (f)
		fclose(f);
	return buf;
}

/* Stop the interferer (SIGTERM: it reports and leaves); its rate, or NAN. */
static double bg_stop(struct iso *s, int sys)
{
	char *text = NULL, path[400];
	int status;
	if (sys == SYS_RF) {
		/* rfd's destroy kills a linux subOS outright: asked first, it
		 * reports its rate (to rfd's log of its stdout) and exits. */
		kill(s->bgsub, SIGTERM);
		for (int i = 0; i < 50 && !subos_exited(&s->p, "bg"); i++)
			nap_ms(100);
		subos_destroy(&s->p, "bg");
		snprintf(path, sizeof(path), "%s/logs/bg.log", s->p.dir);
		text = slurp(path);   /* rfd's copy of its stdout */
		unlink(path);         /* the next mode's "bg" starts a log of its own */
		prfd_settle(&s->p, 10000);
	} else if (s->bgpid > 0) {
		kill(s->bgpid, SIGTERM);
		text = proc_output(s->bgpid, s->bgfd, &status, 5000);
		s->bgpid = 0;
	}
	double r = ops_rate(text);
	free(text);
	return r;
}

/* ---- the load ----------------------------------------------------------------- */

/* One rfload run against the KV: its p99 and send lag (us); 0 or -1. */
static int measure(struct iso *s, double *p99, double *lag)
{
	char port[16], rate[16], secs[16];
	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(rate, sizeof(rate), "%d", RATE);
	snprintf(secs, sizeof(secs), "%.2f", s->secs);
	const char *argv[] = { s->load, "--port", port, "--rate", rate, "--seconds", secs,
			       "--conns", CONNS, "--seed", SEED, "--spin-us", SPIN_US,
			       "--warmup", WARMUP_S, "--json", NULL };
	struct proc_spec spec = { .argv = argv, .cpu = GEN_CPU, .fifo = GEN_FIFO };
	int fd, status = -1;
	pid_t pid = proc_spawn(&spec, &fd);
	if (pid < 0)
		return -1;
	char *text = proc_output(pid, fd, &status, (int)(s->secs * 1000) + 30000);
	struct json_object *j = text && status == 0 ? json_tokener_parse(text) : NULL, *cfg;
	free(text);
	*p99 = j ? bench_fig(j, "p99_us") : NAN;
	*lag = j ? bench_fig(j, "send_lag_p99_us") : NAN;
	if (j && !s->config && json_object_object_get_ex(j, "config", &cfg))
		s->config = json_object_get(cfg);
	long errors = j ? (long)bench_fig(j, "errors") + (long)bench_fig(j, "unanswered") : -1;
	json_object_put(j);
	if (isnan(*p99) || errors != 0) {
		fprintf(stderr, "rfbench isolation: rfload failed (status %d, %ld errors)\n",
			status, errors);
		return -1;
	}
	return 0;
}

/* NAN (a figure that could not be had) as null: JSON has no NaN. */
static void put(struct json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, isfinite(v) ? json_object_new_double(v) : NULL);
}

/* One system: alone, then beside each mode, into fig's p99, lag and the
 * interferer's rates under sys's name. */
static int run_system(struct iso *s, int sys, struct json_object *fig[3])
{
	struct json_object *p = json_object_new_object(), *l = json_object_new_object();
	struct json_object *r = json_object_new_object();
	double v, w;
	int rc = -1;
	json_object_object_add(fig[0], sys_name[sys], p);
	json_object_object_add(fig[1], sys_name[sys], l);
	json_object_object_add(fig[2], sys_name[sys], r);
	if (kv_start(s, sys) < 0 || measure(s, &v, &w) < 0) {
		fprintf(stderr, "rfbench isolation: %s: the KV alone failed\n", sys_name[sys]);
		goto out;
	}
	put(p, "alone", v);
	put(l, "alone", w);
	for (size_t m = 0; m < s->nmodes; m++) {
		int failed = bg_start(s, sys, s->modes[m]) < 0 || measure(s, &v, &w) < 0;
		put(r, s->modes[m], bg_stop(s, sys));
		if (failed) {
			fprintf(stderr, "rfbench isolation: %s beside %s failed\n", sys_name[sys],
				s->modes[m]);
			goto out;
		}
		put(p, s->modes[m], v);
		put(l, s->modes[m], w);
	}
	rc = 0;
out:
	kv_stop(s, sys);
	return rc;
}

/* ---- figures, targets, plot ------------------------------------------------------ */

static double get2(struct json_object *o, const char *a, const char *b)
{
	struct json_object *x, *y;
	if (!json_object_object_get_ex(o, a, &x) || !json_object_object_get_ex(x, b, &y))
		return NAN;
	return json_object_get_double(y);
}

static void slowdowns(struct iso *s, struct json_object *out, struct json_object *p99)
{
	struct json_object *slow = json_object_new_object(), *worst = json_object_new_object();
	for (int y = 0; y < NSYS; y++) {
		struct json_object *sy = json_object_new_object();
		double alone = get2(p99, sys_name[y], "alone"), top = -INFINITY;
		for (size_t m = 0; m < s->nmodes; m++) {
			double pct = (get2(p99, sys_name[y], s->modes[m]) - alone) / alone * 100;
			put(sy, s->modes[m], pct);
			top = fmax(top, pct);
		}
		json_object_object_add(slow, sys_name[y], sy);
		put(worst, sys_name[y], top);
	}
	json_object_object_add(out, "p99_slowdown_pct", slow);
	json_object_object_add(out, "worst_slowdown_pct", worst);
}

/* The worst of a system's per-mode medians (fig is merged). */
static double worst_of_medians(struct json_object *fig, const char *sys)
{
	struct json_object *slow, *sy;
	double top = NAN;
	if (!json_object_object_get_ex(fig, "p99_slowdown_pct", &slow) ||
	    !json_object_object_get_ex(slow, sys, &sy))
		return NAN;
	json_object_object_foreach(sy, mode, v) {
		(void)mode;
		double d = json_object_get_double(v);
		top = isnan(top) || d > top ? d : top;
	}
	return top;
}

void isolation_targets(struct json_object *fig, struct json_object *t)
{
	struct json_object *slow, *rf, *worst = json_object_new_object();
	bool all_ok = json_object_object_get_ex(fig, "p99_slowdown_pct", &slow) &&
		      json_object_object_get_ex(slow, "rainforest", &rf);
	if (all_ok) {
		json_object_object_foreach(rf, mode, v) {
			(void)mode;
			all_ok = all_ok && json_object_get_double(v) <= 10;
		}
	}
	for (int y = 0; y < NSYS; y++)
		put(worst, sys_name[y], worst_of_medians(fig, sys_name[y]));
	/* The figure the second target compares, kept beside it. */
	json_object_object_add(fig, "worst_of_medians_pct", worst);
	double w_rf = worst_of_medians(fig, "rainforest");
	bench_target(t, "rainforest_slowdown_pct <= 10 for every workload", all_ok);
	bench_target(t, "rainforest_worst < linux_worst and < linux_cgroups_worst",
		     w_rf < worst_of_medians(fig, "linux") &&
		     w_rf < worst_of_medians(fig, "linux_cgroups"));
}

/* This run's p99s, alone (x = 0) and beside each mode, appended to
 * results/isolation.dat; the PNG shows every run's so far (a log axis:
 * p99s, not slowdowns, which can be negative).  The last run removes the
 * data file: the CSV holds the same numbers. */
static void plot(const struct iso *s, struct json_object *p99)
{
	char dat[512], gp[512], png[512], cmd[1200];
	const struct bench_opts *o = s->o;
	if (!o->results_dir)
		return;
	snprintf(dat, sizeof(dat), "%s/isolation.dat", o->results_dir);
	snprintf(gp, sizeof(gp), "%s/isolation.gp", o->results_dir);
	snprintf(png, sizeof(png), "%s/isolation.png", o->results_dir);
	FILE *f = fopen(dat, o->run == 1 ? "w" : "a");
	if (!f)
		return;
	for (size_t m = 0; m <= s->nmodes; m++) {
		const char *mode = m ? s->modes[m - 1] : "alone";
		fprintf(f, "%d %zu %s", o->run, m, mode);
		for (int y = 0; y < NSYS; y++)
			fprintf(f, " %.3f", get2(p99, sys_name[y], mode));
		fputc('\n', f);
	}
	fclose(f);
	if (system("command -v gnuplot >/dev/null 2>&1") == 0 && (f = fopen(gp, "w"))) {
		fprintf(f, "set terminal png size 900,500\nset output '%s'\n"
			   "set title 'rfkv p99 at %d req/s, alone and beside each workload "
			   "(every run)'\nset ylabel 'p99 (us)'\nset logscale y\n"
			   "set key top left\nset xrange [-0.5:%zu.5]\nset grid ytics\n"
			   "plot '%s' using ($2-0.2):4:xtic(3) with points pt 7 title 'rainforest', "
			   "'' using 2:5 with points pt 5 title 'linux', "
			   "'' using ($2+0.2):6 with points pt 9 title 'linux\\_cgroups'\n",
			png, RATE, s->nmodes, dat);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "gnuplot '%s' 2>/dev/null", gp);
		if (system(cmd) != 0)
			fprintf(stderr, "rfbench isolation: gnuplot failed\n");
		unlink(gp);
	}
	if (o->run == o->runs)
		unlink(dat);
}

static void load_figure(struct iso *s, struct json_object *out)
{
	struct json_object *l = json_object_new_object();
	json_object_object_add(l, "generator", json_object_new_string(
		"build/rfload on the host, pinned to CPU 0 (with the host, rfd and the "
		"interferer), SCHED_FIFO 10, --spin-us " SPIN_US ", the same in every system"));
	json_object_object_add(l, "cpus", json_object_new_string("0"));
	json_object_object_add(l, "rainforest_rfd", json_object_new_string(
		"--host-cores 0 --shield: CPU 1 managed, the host's tasks kept off it; the "
		"interferer a linux subOS with no core of its own (on CPU 0)"));
	put(l, "rate_per_s", RATE);
	json_object_object_add(l, "connections", json_object_new_int(atoi(CONNS)));
	put(l, "seconds", s->secs);
	put(l, "warmup_s", atof(WARMUP_S));
	json_object_object_add(l, "seed", json_object_new_int(atoi(SEED)));
	json_object_object_add(l, "why_this_rate", json_object_new_string(
		"well below saturation: rfkv serves ~100k/s on one core; 4k/s leaves it mostly "
		"idle in every system, also sharing CPU 1 in linux"));
	if (s->config)
		json_object_object_add(l, "rfload_config", s->config);
	s->config = NULL;
	json_object_object_add(out, "load", l);
	json_object_object_add(out, "placement", json_object_new_string(
		"rfkv on CPU 1 (rainforest: libos subOS; linux: librf pins it there, nothing keeps "
		"others off; linux_cgroups: cpuset {1}); interferer rfinterfere MODE --threads 2 on "
		"CPU 0 (rainforest: linux subOS; linux: unpinned; linux_cgroups: cpuset {0}); "
		"generator on CPU 0"));
}

int bench_isolation(const struct bench_opts *o, struct json_object *out)
{
	struct iso s = { .o = o, .modes = o->quick ? quick_modes : all_modes,
			 .nmodes = o->quick ? NQUICK : NALL };
	/* p99_us, send_lag_p99_us, interferer_ops_per_s */
	struct json_object *fig[3] = { json_object_new_object(), json_object_new_object(),
				       json_object_new_object() };
	int rc = -1;

	s.secs = (double)o->iterations * 100 / RATE;
	snprintf(s.kv, sizeof(s.kv), "%s/rfkv", o->build_dir);
	snprintf(s.load, sizeof(s.load), "%s/rfload", o->build_dir);
	snprintf(s.interf, sizeof(s.interf), "%s/rfinterfere", o->build_dir);
	snprintf(s.dir, sizeof(s.dir), "/tmp/rfbench-iso.XXXXXX");
	if (!mkdtemp(s.dir)) {
		s.dir[0] = '\0';
		goto out;
	}
	chmod(s.dir, 0777);   /* `open` makes its files here, also from a subOS */
	for (int y = 0; y < NSYS; y++) {
		/* A port of its own per run and system: the last may still be held. */
		s.port = bench_free_port();
		if (run_system(&s, y, fig) < 0)
			goto out;
	}
	json_object_object_add(out, "p99_us", json_object_get(fig[0]));
	slowdowns(&s, out, fig[0]);
	json_object_object_add(out, "send_lag_p99_us", json_object_get(fig[1]));
	json_object_object_add(out, "interferer_ops_per_s", json_object_get(fig[2]));
	load_figure(&s, out);
	plot(&s, fig[0]);
	rc = 0;
out:
	for (int i = 0; i < 3; i++)
		json_object_put(fig[i]);
	json_object_put(s.config);
	if (s.dir[0] == '/') {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "rfbench isolation: could not remove %s\n", s.dir);
	}
	return rc;
}
