/*
 * kv_plot.c - the latency curves of `rfbench kv`: every load point of
 * every run in results/kv.csv, and results/kv.png (gnuplot) drawn from it,
 * p99 latency against the achieved rate, one curve per system and client,
 * with each run's objective as a dashed line.
 *
 * The CSV has one row per load point, retries included, so that a reader
 * can redo the search's decisions: run, system, client (what rfload was
 * asked: tcp, or rfloop for --rfloop), carried (what librfloop's counters
 * say carried the point's connections: tcp, rfloop or mixed), the offered
 * and achieved rates, p50/p99/p99.9, the generator's send lag, the
 * server's busy share of its CPU meanwhile (kv_server.c; -1: unknown), the
 * run's objective and whether the point met it.  The plot is drawn from the CSV
 * itself (so it shows what the CSV holds), and a curve's title says what
 * carried it: an RFloop client whose connections fell back to TCP is
 * labelled so, never as RFloop.
 */
#define _GNU_SOURCE
#include "kv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CSV_HEAD "run,system,client,carried,offered_rate,achieved_rate,p50_us,p99_us," \
		 "p999_us,send_lag_p99_us,server_busy,slo_us,meets_slo"
#define MAX_RUNS 99

static const char *carried(const struct kv_point *pt, enum kv_client cl)
{
	if (cl == KV_TCP || pt->conn_rfloop == 0)
		return "tcp";
	return pt->conn_tcp == 0 ? "rfloop" : "mixed";
}

void kv_csv_write(const struct bench_opts *o, enum kv_system sys, enum kv_client cl,
		  const struct kv_curve *c, double slo_us)
{
	char path[512];
	struct stat st;

	if (!o->results_dir)
		return;
	mkdir(o->results_dir, 0755);
	snprintf(path, sizeof(path), "%s/kv.csv", o->results_dir);
	bool fresh = stat(path, &st) != 0;
	FILE *f = fopen(path, "a");
	if (!f)
		return;
	if (fresh)
		fprintf(f, CSV_HEAD "\n");
	for (int i = 0; i < c->n; i++) {
		const struct kv_point *p = &c->pt[i];
		fprintf(f, "%d,%s,%s,%s,%.0f,%.0f,%.1f,%.1f,%.1f,%.1f,%.3f,%.1f,%d\n", o->run,
			kv_system_name[sys], kv_client_name[cl], carried(p, cl), p->rate,
			p->achieved, p->p50_us, p->p99_us, p->p999_us, p->lag_p99_us,
			p->server_busy, slo_us, p->ok ? 1 : 0);
	}
	fclose(f);
}

/* What the CSV says: which carriers each curve saw (bits: 1 tcp, 2 rfloop,
 * 4 mixed) and each run's objective. */
struct seen {
	unsigned carriers[KV_SYSTEMS][KV_CLIENTS];
	double slo[MAX_RUNS + 1];
};

static int index_of(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static int scan(const char *csv, struct seen *sn)
{
	char line[512], sys[32], cl[32], car[32];
	int run;
	double slo;
	FILE *f = fopen(csv, "r");

	memset(sn, 0, sizeof(*sn));
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d,%31[^,],%31[^,],%31[^,],%*f,%*f,%*f,%*f,%*f,%*f,%*f,%lf", &run, sys,
			   cl, car, &slo) != 5 || run < 1 || run > MAX_RUNS)
			continue;
		int s = index_of(kv_system_name, KV_SYSTEMS, sys);
		int c = index_of(kv_client_name, KV_CLIENTS, cl);
		if (s < 0 || c < 0)
			continue;
		sn->carriers[s][c] |= !strcmp(car, "tcp") ? 1u : !strcmp(car, "rfloop") ? 2u : 4u;
		sn->slo[run] = slo;
	}
	fclose(f);
	return 0;
}

static void title(char *buf, size_t size, int s, int c, unsigned carriers)
{
	static const char *const server[KV_SYSTEMS] = { "RainForest (rfkv, libos subOS)",
							"memcached -t 1" };
	const char *how = c == KV_TCP ? "TCP" : carriers == 2 ? "RFloop" :
			  carriers == 1 ? "rfload --rfloop, fell back to TCP" :
			  "rfload --rfloop, partly TCP";
	snprintf(buf, size, "%s, %s", server[s], how);
}

static int write_script(const char *gp, const char *csv, const char *png, const struct seen *sn)
{
	static const char *const style[KV_SYSTEMS][KV_CLIENTS] = {
		{ "lc rgb '#1b7837' pt 7", "lc rgb '#5aae61' pt 5" },
		{ "lc rgb '#b2182b' pt 9", "lc rgb '#ef8a62' pt 11" } };
	char t[128];
	FILE *f = fopen(gp, "w");
	int curves = 0;

	if (!f)
		return -1;
	fprintf(f, "set terminal pngcairo size 900,600\nset output '%s'\n"
		   "set datafile separator ','\nset termoption noenhanced\nset logscale y\n"
		   "set xlabel 'achieved rate (requests/s)'\nset ylabel 'p99 latency (us)'\n"
		   "set key top left\nset grid\n"
		   "set title 'rfbench kv: p99 against achieved rate, every run (objective dashed)'\n",
		png);
	for (int r = 1; r <= MAX_RUNS; r++)
		if (sn->slo[r] > 0)
			fprintf(f, "set arrow from graph 0, first %g to graph 1, first %g nohead "
				   "dt 2 lc rgb '#555555'\n", sn->slo[r], sn->slo[r]);
	fprintf(f, "plot ");
	for (int s = 0; s < KV_SYSTEMS; s++)
		for (int c = 0; c < KV_CLIENTS; c++) {
			if (!sn->carriers[s][c])
				continue;
			title(t, sizeof(t), s, c, sn->carriers[s][c]);
			fprintf(f, "%s'%s' skip 1 using (strcol(2) eq '%s' && strcol(3) eq '%s' ? "
				   "$6 : 1/0):8 smooth unique with linespoints %s title '%s'",
				curves++ ? ", \\\n     " : "", csv, kv_system_name[s],
				kv_client_name[c], style[s][c], t);
		}
	fprintf(f, "\n");
	fclose(f);
	return curves ? 0 : -1;
}

void kv_plot(const struct bench_opts *o)
{
	char csv[512], gp[512], png[512], cmd[600];
	struct seen sn;

	if (!o->results_dir || system("command -v gnuplot >/dev/null 2>&1") != 0)
		return;
	snprintf(csv, sizeof(csv), "%s/kv.csv", o->results_dir);
	snprintf(gp, sizeof(gp), "%s/kv.gp", o->results_dir);
	snprintf(png, sizeof(png), "%s/kv.png", o->results_dir);
	if (scan(csv, &sn) || write_script(gp, csv, png, &sn))
		return;
	snprintf(cmd, sizeof(cmd), "gnuplot '%s' 2>/dev/null", gp);
	if (system(cmd) != 0)
		fprintf(stderr, "rfbench kv: gnuplot failed; CSV only\n");
}
