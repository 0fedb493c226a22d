/*
 * report.c - raw samples to CSV, and a gnuplot PNG when gnuplot exists.
 *
 * The CSV has one column per series (values in the series' unit), one row
 * per iteration, so a reader can redo any statistic.  The plot shows each
 * series' latency distribution as a CDF on a log axis.
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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void write_csv(const char *path, struct series *s, int n)
{
	FILE *f = fopen(path, "w");
	int rows = 0;
	if (!f)
		return;
	for (int k = 0; k < n; k++) {
		fprintf(f, "%s%s_%s", k ? "," : "", s[k].name, s[k].unit);
		if (s[k].n > rows)
			rows = s[k].n;
	}
	fputc('\n', f);
	for (int r = 0; r < rows; r++) {
		for (int k = 0; k < n; k++) {
			if (k)
				fputc(',', f);
			if (r < s[k].n)
				fprintf(f, "%.3f", in_unit(&s[k], s[k].raw[r]));
		}
		fputc('\n', f);
	}
	fclose(f);
}

static void write_plot(const char *dir, const char *bench, struct series *s, int n)
{
	char path[512], cmd[600];
	if (system("command -v gnuplot >/dev/null 2>&1") != 0)
		return;
	snprintf(path, sizeof(path), "%s/%s.cdf", dir, bench);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	for (int k = 0; k < n; k++) {
		uint64_t *v = malloc((size_t)s[k].n * sizeof(uint64_t) + 1);
		if (!v)
			continue;
		memcpy(v, s[k].raw, (size_t)s[k].n * sizeof(uint64_t));
		qsort(v, (size_t)s[k].n, sizeof(uint64_t), cmp_u64);
		fprintf(f, "# %s (%s)\n", s[k].name, s[k].unit);
		for (int i = 0; i < s[k].n; i++)
			fprintf(f, "%.3f %.4f\n", (double)v[i] / 1e3, (double)(i + 1) / s[k].n);
		fprintf(f, "\n\n");
		free(v);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.gp", dir, bench);
	f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "set terminal pngcairo size 900,600\nset output '%s/%s.png'\n"
		   "set termoption noenhanced\nset logscale x\nset xlabel 'latency (us)'\nset ylabel 'CDF'\n"
		   "set key bottom right\nset title 'rfbench %s'\nplot ", dir, bench, bench);
	for (int k = 0; k < n; k++)
		fprintf(f, "%s'%s/%s.cdf' index %d with lines title '%s'", k ? ", " : "", dir,
			bench, k, s[k].name);
	fprintf(f, "\n");
	fclose(f);
	snprintf(cmd, sizeof(cmd), "gnuplot '%s' 2>/dev/null", path);
	if (system(cmd) != 0)
		fprintf(stderr, "rfbench: gnuplot failed; CSV only\n");
}

void series_write(const struct bench_opts *o, const char *bench, struct series *s, int n)
{
	char path[512];
	if (!o->results_dir)
		return;
	mkdir(o->results_dir, 0755);
	snprintf(path, sizeof(path), "%s/%s.csv", o->results_dir, bench);
	write_csv(path, s, n);
	write_plot(o->results_dir, bench, s, n);
}
