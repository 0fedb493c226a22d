/*
 * dynamic_out.c - what `rfbench dynamic` leaves under results/: the CSV of
 * latency and cores over time, and the plot of both (gnuplot), the way
 * the paper's Figures 10 and 11 show them.
 *
 * results/dynamic.csv: one row per run and window: run, t_s (the window's
 * start from the measured start), rate (the trace's target rate then),
 * then per system its window p99 in us (empty: no request in the window)
 * and the service's cores.  The plot draws every run's rows (runs follow
 * one another in time order per run; the lines restart with each run):
 * p99 per system on a log axis with lt and ut, and below it the cores.
 */
#include "dynamic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static double rate_at(const struct dyn_cfg *c, double t)
{
	double r = c->rate[0];
	for (int i = 0; i < c->nsteps && c->at_s[i] <= t; i++)
		r = c->rate[i];
	return r;
}

void dyn_csv(const struct bench_opts *o, const struct dyn_cfg *c, const struct dyn_result *r)
{
	char path[512];
	int rows = 0;
	if (!o->results_dir)
		return;
	mkdir(o->results_dir, 0755);
	snprintf(path, sizeof(path), "%s/dynamic.csv", o->results_dir);
	FILE *f = fopen(path, o->run <= 1 ? "w" : "a");
	if (!f)
		return;
	if (o->run <= 1) {
		fprintf(f, "run,t_s,rate");
		for (int s = 0; s < DYN_NSYS; s++)
			fprintf(f, ",%s_p99_us", dyn_sys_name((enum dyn_sys)s));
		for (int s = 0; s < DYN_NSYS; s++)
			fprintf(f, ",%s_cores", dyn_sys_name((enum dyn_sys)s));
		fprintf(f, ",lt_us,ut_us\n");
	}
	for (int s = 0; s < DYN_NSYS; s++)
		if (r[s].nwin > rows)
			rows = r[s].nwin;
	for (int i = 0; i < rows; i++) {
		double t = i * c->window_ms / 1e3;
		fprintf(f, "%d,%.3f,%.0f", o->run, t, rate_at(c, t));
		for (int s = 0; s < DYN_NSYS; s++)
			if (i < r[s].nwin && !isnan(r[s].p99_us[i]))
				fprintf(f, ",%.1f", r[s].p99_us[i]);
			else
				fputc(',', f);
		for (int s = 0; s < DYN_NSYS; s++)
			if (i < r[s].nwin)
				fprintf(f, ",%d", r[s].cores[i]);
			else
				fputc(',', f);
		fprintf(f, ",%u,%u\n", c->lt_us, c->ut_us);
	}
	fclose(f);
}

void dyn_plot(const struct bench_opts *o, const char *bench)
{
	char csv[512], gp[512], png[512], cmd[600];
	struct stat st;
	if (!o->results_dir || system("command -v gnuplot >/dev/null 2>&1") != 0)
		return;
	snprintf(csv, sizeof(csv), "%s/%s.csv", o->results_dir, bench);
	snprintf(gp, sizeof(gp), "%s/%s.gp", o->results_dir, bench);
	snprintf(png, sizeof(png), "%s/%s.png", o->results_dir, bench);
	FILE *f = stat(csv, &st) ? NULL : fopen(gp, "w");
	if (!f)
		return;
	/* columns: 1 run, 2 t_s, 3 rate, 4-7 p99 per system, 8-11 cores, 12 lt, 13 ut */
	fprintf(f, "set terminal pngcairo size 1000,800\nset output '%s'\n"
		   "set datafile separator ','\nset termoption noenhanced\n"
		   "set multiplot layout 2,1 title 'rfbench dynamic: KV p99 and cores over time'\n"
		   "set logscale y\nset ylabel 'window p99 (us)'\nset key outside right\n"
		   "set y2tics\nset y2label 'rate (req/s)'\n"
		   "plot '%s' skip 1 using 2:3 axes x1y2 with lines lc rgb 'gray' title 'rate'",
		png, csv);
	for (int s = 0; s < DYN_NSYS; s++)
		fprintf(f, ", '' skip 1 using 2:%d with lines title '%s'", 4 + s,
			dyn_sys_name((enum dyn_sys)s));
	fprintf(f, ", '' skip 1 using 2:13 with lines dt 2 lc rgb 'red' title 'ut', "
		   "'' skip 1 using 2:12 with lines dt 3 lc rgb 'blue' title 'lt'\n"
		   "unset logscale y\nunset y2tics\nunset y2label\nset yrange [0:3]\n"
		   "set xlabel 'time (s)'\nset ylabel 'KV cores'\nplot ");
	for (int s = 0; s < DYN_NSYS; s++)
		fprintf(f, "%s'%s' skip 1 using 2:($%d+%g) with steps title '%s'", s ? ", " : "",
			csv, 8 + s, 0.03 * s, dyn_sys_name((enum dyn_sys)s));
	fprintf(f, "\nunset multiplot\n");
	fclose(f);
	snprintf(cmd, sizeof(cmd), "gnuplot '%s' 2>/dev/null", gp);
	if (system(cmd) != 0)
		fprintf(stderr, "rfbench: gnuplot failed; CSV only\n");
}
