/*
 * dynamic.c - `rfbench dynamic`: the RainForest paper's agility experiment
 * (section 6.3.2, Figures 10 and 11, Table 5) on this machine.  The KV
 * service (build/rfkv) takes a fluctuating request rate with peaks and
 * troughs (a trace of "TIME RATE" lines, open loop, build/rfload) beside a
 * batch job that counts its work (build/rfbatch: 16 KiB chunks hashed), in
 * four systems in the same run, one after the other (dynamic_sys.c):
 * static, rainforest_policy, linux_cgroups, linux.
 *
 * The machine has two cores, so the design is forced:
 *   - rfd manages both (--host-cores ""): with core 0 kept for the host,
 *     kv and batch would share one core and nothing could move;
 *   - the service's home is cpu 1, the batch job's cpu 0;
 *   - the generator runs on cpu 1 too, SCHED_FIFO: it stands for the
 *     clients and their network, which the machine under test does not
 *     get to delay (its send lag is reported), and it makes cpu 1 alone
 *     too small for the peaks: at the trough rate kv keeps up on what the
 *     generator leaves it, at the peak rate it does not, so whether it
 *     gets cpu 0 is what decides the peaks' tail.  Were the generator on
 *     cpu 0, one core of kv would serve more than one core of generator
 *     can send, and no core move could matter;
 *   - static is the fixed split sized for the average load (kv 1 core,
 *     batch 1: the average rate is served by one core), linux_cgroups the
 *     same split as cgroup v1 cpusets made here, linux no split at all;
 *     rainforest_policy is static plus rfd's elastic policy: kv latency
 *     (1..2 cores, lt/ut below, window window_ms), batch batch (0..1 core:
 *     paused at zero);
 *   - rfkv spreads its connections over the cores that serve
 *     (apps/rfkv/conn.c, place.c), so a core it gains serves clients, not
 *     only a shard share.
 * What this machine shows: rfkv on cpu 1 alone with the generator keeps
 * up with the peak (p99 of a few ms, over ut).  rfkv on both cpus used to
 * do far worse (half its requests went to the shard owner on cpu 1, which
 * runs only in the generator's gaps, and the policy's futile-take rule
 * (src/rfd/policy_decide.h) gave the core back); now rfkv stops serving
 * on a core starved of its CPU (apps/rfkv/place.c), so with cpu 0 all of
 * its shards and connections are there and the peak's p99 falls to tens
 * of microseconds.  With two cores the p99 is far below lt, which says
 * nothing about whether one core would do: the policy's load memory
 * (src/rfd/policy_decide.h) keeps a core whose give-back had to be undone
 * while the load that needed it lasts.  What is left over ut is mostly
 * the reaction to each step.
 *
 * Thresholds: the static system first runs the trough rate alone for a
 * few seconds; the median of its window p99s is `unloaded_p99_us`, and
 * lt = LT_X and ut = UT_X times it (the JSON says both), the same for
 * every system of the run.
 *
 * Figures (each system measured by the same generator, windows of
 * window_ms by intended send time):
 *   windows_over_ut_pct  {system: % of the measured windows whose p99 > ut}
 *   batch_work           {system: rfbatch chunks over the measured period,
 *                         from its progress lines (--progress), the same
 *                         way in every system}
 *   moves                policy records in rfd's journal (rainforest_policy)
 *   reaction_ms_p50      the median over the load steps up (a rate rise
 *                        while kv had one core) of: the time of the first
 *                        journal record of op "policy" moving a core to kv
 *                        after the step (written once both resizes are
 *                        done: librf acknowledged that kv's thread runs on
 *                        the core) minus the start of the first generator
 *                        window after the step whose p99 exceeded ut.  A
 *                        step with no violating window is not counted, one
 *                        with no move before the next step is
 *                        (`steps_unreacted`).  Journal times are wall
 *                        clock (ms), laid on the generator's monotonic
 *                        clock by the offset between the two.
 * results/dynamic.csv: per run and window, the rate, each system's p99 and
 * kv cores; results/dynamic.png plots both over time (dynamic_out.c).
 */
#include "dynamic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW_MS 50
#define LT_X      2.0
#define UT_X      4.0
#define MIN_UT_US 200
#define TROUGH    15000.0
#define MIDDLE    30000.0
#define PEAK      50000.0
#define CAL_S     3.0

/* The trace: two peaks, the second climbing through a middle rate; a
 * third of the time at the peak (the static split is sized for the
 * average, which one core serves). */
static const double full[][2] = {
	{ 0, TROUGH }, { 3, PEAK }, { 6, TROUGH }, { 10, MIDDLE }, { 12, PEAK },
	{ 15, TROUGH },
};
#define FULL_S 20.0
static const double quick[][2] = { { 0, TROUGH }, { 1, PEAK }, { 3, TROUGH } };
#define QUICK_S 4.0

static int write_trace(struct dyn_cfg *c, bool short_run)
{
	const double (*t)[2] = short_run ? quick : full;
	int n = short_run ? (int)(sizeof(quick) / sizeof(quick[0]))
			  : (int)(sizeof(full) / sizeof(full[0]));
	snprintf(c->trace, sizeof(c->trace), "/tmp/rfbench-trace.XXXXXX");
	int fd = mkstemp(c->trace);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f)
		return -1;
	for (int i = 0; i < n; i++) {
		c->at_s[i] = t[i][0];
		c->rate[i] = t[i][1];
		fprintf(f, "%g %.0f\n", t[i][0], t[i][1]);
	}
	c->nsteps = n;
	c->seconds = short_run ? QUICK_S : FULL_S;
	return fclose(f);
}

static double over_ut_pct(const struct dyn_result *r, uint32_t ut_us)
{
	int n = 0, over = 0;
	for (int i = 0; i < r->nwin; i++)
		if (!isnan(r->p99_us[i])) {
			n++;
			over += r->p99_us[i] > ut_us;
		}
	return n ? 100.0 * over / n : NAN;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* reaction_ms_p50 and its counts (see the top comment) into out. */
static void reactions(const struct dyn_cfg *c, const struct dyn_result *r,
		      struct json_object *out)
{
	double ms[DYN_MAX_STEPS];
	int n = 0, unreacted = 0;
	for (int s = 1; s < c->nsteps; s++) {
		double t = c->at_s[s], end = s + 1 < c->nsteps ? c->at_s[s + 1] : c->seconds;
		int w = (int)(t * 1e3 / c->window_ms);
		if (c->rate[s] <= c->rate[s - 1] || w >= r->nwin || r->cores[w] != 1)
			continue;
		double v0 = NAN, v1 = NAN;
		for (int i = w; i < r->nwin && (i * c->window_ms) / 1e3 < end && isnan(v0); i++)
			if (!isnan(r->p99_us[i]) && r->p99_us[i] > c->ut_us)
				v0 = i * c->window_ms / 1e3;
		for (int k = 0; k < r->nmoves && isnan(v1); k++)
			if (r->moves[k].to_kv > 0 && r->moves[k].t_s >= t && r->moves[k].t_s < end)
				v1 = r->moves[k].t_s;
		if (isnan(v0))
			continue;
		if (isnan(v1))
			unreacted++;
		else
			ms[n++] = fmax(0, v1 - v0) * 1e3;
	}
	struct json_object *each = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(each, json_object_new_double(ms[i]));
	json_object_object_add(out, "reaction_ms_each", each);
	qsort(ms, (size_t)n, sizeof(ms[0]), cmp_d);
	json_object_object_add(out, "reactions", json_object_new_int(n));
	json_object_object_add(out, "steps_unreacted", json_object_new_int(unreacted));
	if (n)
		json_object_object_add(out, "reaction_ms_p50", json_object_new_double(
			n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2));
}

static void put_d(struct json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, isnan(v) ? NULL : json_object_new_double(v));
}

/* One system's figures into the per-system objects of out. */
static void figures(struct json_object *out, enum dyn_sys s, const struct dyn_cfg *c,
		    const struct dyn_result *r)
{
	static const char *const keys[] = { "windows_over_ut_pct", "batch_work",
					    "send_lag_p99_us", "window_p99_us_max" };
	double max = 0;
	for (int i = 0; i < r->nwin; i++)
		if (!isnan(r->p99_us[i]) && r->p99_us[i] > max)
			max = r->p99_us[i];
	double v[] = { over_ut_pct(r, c->ut_us), r->batch_work, r->send_lag_p99_us, max };
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		struct json_object *o;
		if (!json_object_object_get_ex(out, keys[k], &o)) {
			o = json_object_new_object();
			json_object_object_add(out, keys[k], o);
		}
		put_d(o, dyn_sys_name(s), v[k]);
	}
	if (s == DYN_POLICY) {
		struct json_object *mv = json_object_new_array();
		for (int k = 0; k < r->nmoves; k++) {
			struct json_object *m = json_object_new_object();
			put_d(m, "t_s", r->moves[k].t_s);
			json_object_object_add(m, "to", json_object_new_string(
							       r->moves[k].to_kv > 0 ? "kv" : "batch"));
			put_d(m, "p99_us", r->moves[k].p99_us);
			json_object_array_add(mv, m);
		}
		json_object_object_add(out, "moves_detail", mv);
		json_object_object_add(out, "moves", json_object_new_int(r->nmoves));
		reactions(c, r, out);
	}
}

static void describe(struct json_object *out, const struct dyn_cfg *c, const struct dyn_result *cal)
{
	struct json_object *sched = json_object_new_array();
	for (int i = 0; i < c->nsteps; i++) {
		struct json_object *st = json_object_new_array();
		json_object_array_add(st, json_object_new_double(c->at_s[i]));
		json_object_array_add(st, json_object_new_double(c->rate[i]));
		json_object_array_add(sched, st);
	}
	json_object_object_add(out, "schedule", sched);
	json_object_object_add(out, "seconds", json_object_new_double(c->seconds));
	json_object_object_add(out, "window_ms", json_object_new_int(c->window_ms));
	json_object_object_add(out, "unloaded_p99_us", json_object_new_double(cal->unloaded_p99_us));
	json_object_object_add(out, "lt_us", json_object_new_int64(c->lt_us));
	json_object_object_add(out, "ut_us", json_object_new_int64(c->ut_us));
	json_object_object_add(out, "generator_rt", json_object_new_boolean(cal->rt));
	json_object_object_add(out, "design", json_object_new_string(
		"2 cpus, both managed by rfd (--host-cores \"\"); kv home cpu 1 shared with the "
		"SCHED_FIFO generator, batch cpu 0; static = kv 1 core + batch 1 core (the "
		"average rate fits one core), policy moves cpu 0 between them; "
		"lt/ut = 2x/4x the unloaded window p99 at the trough rate"));
}

static int run_all(const struct bench_opts *o, struct dyn_cfg *c, struct json_object *out,
		   struct dyn_result *res)
{
	static const enum dyn_sys order[] = { DYN_STATIC, DYN_POLICY, DYN_CGROUPS, DYN_LINUX };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum dyn_sys s = order[i];
		c->port = bench_free_port();
		c->calibrate = s == DYN_STATIC;
		if (dyn_system_run(o, s, c, &res[s])) {
			json_object_object_add(out, "error", json_object_new_string(res[s].error));
			return -1;
		}
		if (s == DYN_STATIC) {
			double ut = fmax(MIN_UT_US, UT_X * res[s].unloaded_p99_us);
			c->ut_us = (uint32_t)ut;
			c->lt_us = (uint32_t)(ut * LT_X / UT_X);
			describe(out, c, &res[s]);
		}
	}
	for (int s = 0; s < DYN_NSYS; s++)
		figures(out, (enum dyn_sys)s, c, &res[s]);
	dyn_csv(o, c, res);
	return 0;
}

int bench_dynamic(const struct bench_opts *o, struct json_object *out)
{
	struct dyn_cfg c = { .window_ms = WINDOW_MS, .warmup = 1, .cal_rate = TROUGH,
			     .cal_s = o->quick ? 1 : CAL_S };
	struct dyn_result res[DYN_NSYS] = { 0 };
	if (write_trace(&c, o->quick))
		return -1;
	int rc = run_all(o, &c, out, res);
	for (int s = 0; s < DYN_NSYS; s++)
		dyn_result_free(&res[s]);
	unlink(c.trace);
	return rc;
}

static double sys_fig(struct json_object *fig, const char *key, enum dyn_sys s)
{
	struct json_object *o;
	return json_object_object_get_ex(fig, key, &o) ? bench_fig(o, dyn_sys_name(s)) : NAN;
}

void dynamic_targets(struct json_object *fig, struct json_object *t)
{
	const char *w = "windows_over_ut_pct";
	double pol = sys_fig(fig, w, DYN_POLICY);
	bench_target(t, "policy_windows_over_ut_pct <= 5", pol <= 5);
	bench_target(t, "policy_windows_over_ut < static", pol < sys_fig(fig, w, DYN_STATIC));
	bench_target(t, "policy_windows_over_ut < linux", pol < sys_fig(fig, w, DYN_LINUX));
	bench_target(t, "policy_batch_work >= static",
		     sys_fig(fig, "batch_work", DYN_POLICY) >=
			     sys_fig(fig, "batch_work", DYN_STATIC));
	bench_target(t, "reaction_ms_p50 <= 2 x window_ms",
		     bench_fig(fig, "reaction_ms_p50") <= 2 * bench_fig(fig, "window_ms"));
}
