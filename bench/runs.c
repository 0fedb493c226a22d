/*
 * runs.c - noise handled, not hoped away: a benchmark's measurement repeated
 * --runs times, reported as the median of the runs with their spread, and
 * its targets judged on the medians.
 *
 * Each run is complete (its own rfd, its baselines in the same run and in
 * the same order), so a run is a sample of the whole comparison, not of one
 * side of it.  The printed object is:
 *   bench, runs          the benchmark and how many runs were merged
 *   <figures>            each number the median across runs (merge.c),
 *                        under the names one run gives them
 *   spread               "figure": [min, max] across the runs
 *   targets              "target": met, judged on the medians (or, for what
 *                        one bad run must fail, as a leak, on the worst run)
 *   targets_met          every target met (false if there is none)
 *   per_run              each run's own object, in order
 * The raw samples of every run are in results/NAME.csv (report.c).  A
 * benchmark with no series of samples (one number per quantity and run,
 * as rfloop's rates) gets its figures there instead: one row per run, one
 * column per number (nested ones named by their dotted path).
 */
#include "bench.h"
#include "merge.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

double bench_fig(struct json_object *fig, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(fig, key, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return NAN;
	return json_object_get_double(v);
}

static double spread_at(struct json_object *fig, const char *key, size_t i)
{
	struct json_object *sp, *r;
	if (!json_object_object_get_ex(fig, "spread", &sp) ||
	    !json_object_object_get_ex(sp, key, &r) || !json_object_is_type(r, json_type_array))
		return NAN;
	return json_object_get_double(json_object_array_get_idx(r, i));
}

double bench_fig_min(struct json_object *fig, const char *key)
{
	return spread_at(fig, key, 0);
}

double bench_fig_max(struct json_object *fig, const char *key)
{
	return spread_at(fig, key, 1);
}

void bench_target(struct json_object *t, const char *name, bool met)
{
	json_object_object_add(t, name, json_object_new_boolean(met));
}

/* The targets of b judged on the merged figures and spread in out. */
static void judge(const struct bench *b, struct json_object *out)
{
	struct json_object *t = json_object_new_object();
	bool all = true;
	int n = 0;
	if (b->targets)
		b->targets(out, t);
	json_object_object_foreach(t, k, v) {
		(void)k;
		all = all && json_object_get_boolean(v);
		n++;
	}
	json_object_object_add(out, "targets", t);
	json_object_object_add(out, "targets_met", json_object_new_boolean(n > 0 && all));
}

/* The number at dotted path in o, or NULL. */
static struct json_object *at_path(struct json_object *o, const char *path)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *save, *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, k, &o))
			o = NULL;
	return o;
}

/* results/NAME.csv of the figures when the runs wrote no samples there. */
static void figures_csv(const struct bench_opts *o, const char *name, struct json_object **run,
			int n, struct json_object *spread)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s.csv", o->results_dir, name);
	FILE *f = stat(path, &st) == 0 ? NULL : fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "run");
	json_object_object_foreach(spread, key, range) {
		(void)range;
		fprintf(f, ",%s", key);
	}
	for (int i = 0; i < n; i++) {
		fprintf(f, "\n%d", i + 1);
		json_object_object_foreach(spread, k, r) {
			struct json_object *v = at_path(run[i], k);
			(void)r;
			fprintf(f, ",%s", v ? json_object_to_json_string(v) : "");
		}
	}
	fputc('\n', f);
	fclose(f);
}

/* Samples of an earlier invocation must not mix with this one's. */
static void clear_results(const struct bench_opts *o, const char *name)
{
	char path[512];
	if (!o->results_dir)
		return;
	mkdir(o->results_dir, 0755);
	snprintf(path, sizeof(path), "%s/%s.csv", o->results_dir, name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s.png", o->results_dir, name);
	unlink(path);
}

int bench_runs(const struct bench *b, struct bench_opts *o, struct json_object *out)
{
	struct json_object *per_run = json_object_new_array(), *run[o->runs];
	int done = 0, rc = 0;

	clear_results(o, b->name);
	for (o->run = 1; o->run <= o->runs; o->run++) {
		struct json_object *r = json_object_new_object();
		json_object_array_add(per_run, r);
		if (b->run(o, r)) {
			fprintf(stderr, "rfbench %s: run %d of %d failed\n", b->name, o->run,
				o->runs);
			rc = -1;
			break;
		}
		run[done++] = r;
	}
	json_object_object_add(out, "runs", json_object_new_int(done));
	if (rc)
		json_object_object_add(out, "error", json_object_new_string("a run failed"));
	if (done > 0) {
		struct json_object *spread = json_object_new_object();
		struct json_object *merged = bench_merge(run, done, spread);
		json_object_object_foreach(merged, k, v)
			json_object_object_add(out, k, json_object_get(v));
		json_object_object_add(out, "spread", spread);
		judge(b, out);
		json_object_put(merged);
		if (b->plot)
			b->plot(o);
		else
			series_plot(o, b->name);
		if (o->results_dir)
			figures_csv(o, b->name, run, done, spread);
	}
	json_object_object_add(out, "per_run", per_run);
	return rc;
}
