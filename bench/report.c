/*
 * report.c - raw samples to CSV, and a gnuplot PNG when gnuplot exists.
 *
 * results/NAME.csv has a `run` column (1..--runs) and then one column per
 * series (values in the series' unit, named NAME_UNIT), one row per
 * iteration of a run, every run's rows one after the other, so a reader can
 * redo any statistic, per run or pooled.  Series of a run may differ in
 * length: a shorter one leaves its cells empty.  The plot shows each
 * series' latency distribution over all runs as a CDF on a log axis; it is
 * drawn from the CSV itself, so it shows exactly what the CSV holds.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static double in_unit(const struct series *s, uint64_t ns)
{
	return strcmp(s->unit, "us") == 0 ? (double)ns / 1e3 :
	       strcmp(s->unit, "ns") == 0 ? (double)ns : (double)ns / 1e6;
}

static void csv_path(char *path, size_t size, const struct bench_opts *o, const char *bench,
		     const char *ext)
{
	snprintf(path, size, "%s/%s.%s", o->results_dir, bench, ext);
}

void series_write(const struct bench_opts *o, const char *bench, struct series *s, int n)
{
	char path[512];
	int rows = 0, run = o->run > 0 ? o->run : 1;
	if (!o->results_dir)
		return;
	mkdir(o->results_dir, 0755);
	csv_path(path, sizeof(path), o, bench, "csv");
	FILE *f = fopen(path, run == 1 ? "w" : "a");
	if (!f)
		return;
	if (run == 1) {
		fprintf(f, "run");
		for (int k = 0; k < n; k++)
			fprintf(f, ",%s_%s", s[k].name, s[k].unit);
		fputc('\n', f);
	}
	for (int k = 0; k < n; k++)
		if (s[k].n > rows)
			rows = s[k].n;
	for (int r = 0; r < rows; r++) {
		fprintf(f, "%d", run);
		for (int k = 0; k < n; k++) {
			fputc(',', f);
			if (r < s[k].n)
				fprintf(f, "%.3f", in_unit(&s[k], s[k].raw[r]));
		}
		fputc('\n', f);
	}
	fclose(f);
}

/* The factor from a column's unit (its name's suffix) to microseconds. */
static double to_us(const char *col)
{
	const char *u = strrchr(col, '_');
	return !u ? 1 : strcmp(u, "_ns") == 0 ? 1e-3 : strcmp(u, "_ms") == 0 ? 1e3 : 1;
}

/* The gnuplot script: one CDF per column after `run`, named by header. */
static int write_script(const char *gp, const char *csv, const char *png, const char *bench)
{
	char head[4096];
	FILE *in = fopen(csv, "r"), *f = NULL;
	if (!in || !fgets(head, sizeof(head), in) || !(f = fopen(gp, "w"))) {
		if (in)
			fclose(in);
		return -1;
	}
	fclose(in);
	head[strcspn(head, "\r\n")] = '\0';
	fprintf(f, "set terminal pngcairo size 900,600\nset output '%s'\n"
		   "set datafile separator ','\nset termoption noenhanced\nset logscale x\n"
		   "set xlabel 'latency (us)'\nset ylabel 'CDF (all runs)'\n"
		   "set key bottom right\nset title 'rfbench %s'\nplot ", png, bench);
	int col = 1;
	for (char *save, *c = strtok_r(head, ",", &save); c; c = strtok_r(NULL, ",", &save), col++)
		if (col > 1)
			fprintf(f, "%s'%s' skip 1 using ($%d*%g):(1) smooth cnormal with lines "
				   "title '%s'", col > 2 ? ", " : "", csv, col, to_us(c), c);
	fprintf(f, "\n");
	fclose(f);
	return col > 2 ? 0 : -1;
}

void series_plot(const struct bench_opts *o, const char *bench)
{
	char csv[512], gp[512], png[512], cmd[600];
	struct stat st;
	if (!o->results_dir || system("command -v gnuplot >/dev/null 2>&1") != 0)
		return;
	csv_path(csv, sizeof(csv), o, bench, "csv");
	csv_path(gp, sizeof(gp), o, bench, "gp");
	csv_path(png, sizeof(png), o, bench, "png");
	if (stat(csv, &st) || write_script(gp, csv, png, bench))
		return;
	snprintf(cmd, sizeof(cmd), "gnuplot '%s' 2>/dev/null", gp);
	if (system(cmd) != 0)
		fprintf(stderr, "rfbench: gnuplot failed; CSV only\n");
}
