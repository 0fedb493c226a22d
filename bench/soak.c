/*
 * soak.c - `rfbench soak`: rfd run long, hard and crashed, checked for
 * leaks (issue "Isolation that holds", item 8).
 *
 * Against one private rfd (--host-cores "", both cores managed, a small
 * --journal-max so compaction happens often):
 *   cycles    create a linux subOS (/bin/sleep) on core 1, destroy it
 *   resizes   a libos subOS (build/rfhello) on core 0, moved between
 *             cores 0 and 0-1 and between 64 and 128 MiB, in turn
 *   faults    the fault build of rfd (build/tests/rfd-faults) killed at a
 *             random journal point inside create/destroy cycles, then a
 *             normal rfd restarted on the same state directory, which must
 *             leave the table consistent: every listed running subOS alive,
 *             the instance's cgroups exactly the running subOSes, free
 *             memory plus held memory the whole
 * and reports what a leak would move: rfd's descriptors, its RSS, the
 * instance's cgroup directories (after a warm-up, against the end), the
 * journal's bytes on disk, and how long a restart takes to replay the
 * journal against the floor of a fresh rfd's start in the same run.
 *
 * --quick (make test) runs 100 cycles, 1,000 resizes and 3 faults; the
 * default is 10,000 cycles, 100,000 resizes and 20 faults (make soak).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soak.h"

/* What a leak would move, read from /proc and the cgroup tree. */
struct probe {
	int fds;
	long rss_kb;
	int cgroups;
};

bool soak_answer_ok(struct json_object *a, const char *what)
{
	bool ok = a && base_answer_ok(a);
	if (!ok)
		fprintf(stderr, "rfbench soak: %s: %s\n", what, a ? base_answer_message(a) : "no answer");
	json_object_put(a);
	return ok;
}

int soak_count_dir(const char *dir, bool dirs_only)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && e->d_name[0] != '~' && (!dirs_only || e->d_type == DT_DIR))
			n++;
	if (d)
		closedir(d);
	return n;
}

static void probe(struct soak *k, struct probe *pr)
{
	/* the pool's refills (fresh memfds) and rfd's spare (four descriptors)
	 * done: descriptors are counted at rest */
	prfd_idle(&k->p, 2000, 10);
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)k->p.pid);
	pr->fds = soak_count_dir(path, false);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)k->p.pid);
	FILE *f = fopen(path, "re");
	pr->rss_kb = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &pr->rss_kb) == 1)
			break;
	if (f)
		fclose(f);
	pr->cgroups = soak_count_dir(k->cg[0], true) + soak_count_dir(k->cg[1], true);
}

/* The instance's cgroup directories, as rfd describes its enforcement. */
void soak_find_cgroups(struct soak *k)
{
	struct base_request info = req_named(RF_VERB_INFO, NULL);
	struct json_object *a = prfd_call(&k->p, &info, NULL), *d;
	const char *roots[2] = { "/sys/fs/cgroup/cpuset/", "/sys/fs/cgroup/memory/" };
	k->cg[0][0] = k->cg[1][0] = '\0';
	if (a && json_object_object_get_ex(base_answer_result(a), "enforcement_detail", &d))
		for (int i = 0; i < 2; i++) {
			const char *at = strstr(json_object_get_string(d), roots[i]);
			if (at)
				snprintf(k->cg[i], sizeof(k->cg[i]), "%.*s", (int)strcspn(at, ",; "),
					 at);
		}
	json_object_put(a);
}

int soak_cycles(struct soak *k, int n, bool stop_on_error)
{
	const char *argv[] = { "/bin/sleep", "1000", NULL };
	struct base_request create = req_create("c", RF_KIND_LINUX, "1", 64ull << 20, argv);
	struct base_request destroy = req_named(RF_VERB_DESTROY, "c");
	uint64_t t1, t2;
	for (int i = 0; i < n; i++) {
		struct json_object *a = prfd_call(&k->p, &create, &t1);
		if (!soak_answer_ok(a, "create"))
			return stop_on_error ? -1 : i;
		a = prfd_call(&k->p, &destroy, &t2);
		if (!soak_answer_ok(a, "destroy"))
			return stop_on_error ? -1 : i;
		series_add(&k->s[0], t1 + t2);
	}
	return n;
}

static int resize_once(struct soak *k, int i)
{
	static const char *const cpus[] = { "0-1", "0" };
	struct base_request req = req_named(RF_VERB_RESIZE, "r");
	uint64_t t;
	if (i % 4 < 2) {
		req.cores = req_cpus(cpus[i % 2]);
	} else {
		req.has_mem = true;
		req.mem = (i % 2 ? 64ull : 128ull) << 20;
	}
	if (!soak_answer_ok(prfd_call(&k->p, &req, &t), "resize"))
		return -1;
	series_add(&k->s[1], t);
	return 0;
}

static int resizes(struct soak *k, int n)
{
	const char *argv[] = { k->hello, NULL };
	struct base_request create = req_create("r", RF_KIND_LIBOS, "0", 64ull << 20, argv);
	struct base_request destroy = req_named(RF_VERB_DESTROY, "r");
	if (!soak_answer_ok(prfd_call(&k->p, &create, NULL), "create r"))
		return -1;
	for (int i = 0; i < n; i++)
		if (resize_once(k, i))
			return -1;
	return soak_answer_ok(prfd_call(&k->p, &destroy, NULL), "destroy r") ? 0 : -1;
}

static uint64_t journal_bytes(const struct soak *k)
{
	static const char *const names[] = { "journal", "journal.snap", "journal.1", "journal.2",
					     "journal.3", "journal.4" };
	char path[400];
	struct stat st;
	uint64_t n = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", k->p.dir, names[i]);
		if (stat(path, &st) == 0)
			n += (uint64_t)st.st_size;
	}
	return n;
}

static void put_int(struct json_object *out, const char *k, int64_t v)
{
	json_object_object_add(out, k, json_object_new_int64(v));
}

struct soak_result {
	int cycles, resizes;
	struct probe warm, end;
	uint64_t journal, fresh_ns, replay_ns;
};

static void report(struct soak *k, const struct soak_result *r, struct json_object *out)
{
	double fresh_ms = (double)r->fresh_ns / 1e6, replay_ms = (double)r->replay_ns / 1e6;
	put_int(out, "cycles", r->cycles);
	put_int(out, "resizes", r->resizes);
	put_int(out, "fd_growth", r->end.fds - r->warm.fds);
	put_int(out, "rss_growth_kb", r->end.rss_kb - r->warm.rss_kb);
	put_int(out, "cgroup_growth", r->end.cgroups - r->warm.cgroups);
	put_int(out, "journal_bytes", (int64_t)r->journal);
	json_object_object_add(out, "replay_ms", json_object_new_double(replay_ms));
	json_object_object_add(out, "fresh_start_ms", json_object_new_double(fresh_ms));
	put_int(out, "faults_injected", k->injected);
	put_int(out, "faults_survived", k->survived);
	json_object_object_add(out, "create_destroy_ms_p50",
			       json_object_new_double(series_pct(&k->s[0], 50)));
	json_object_object_add(out, "resize_us_p50", json_object_new_double(series_pct(&k->s[1], 50)));
}

/* A leak or a lost crash in any run is a failure, not noise: those are
 * judged on the worst run (the spread's bound); the replay time, a timing,
 * on the median (runs.c).  With one run (--quick) all are that run. */
void soak_targets(struct json_object *fig, struct json_object *t)
{
	bench_target(t, "fd_growth == 0", bench_fig_max(fig, "fd_growth") == 0);
	bench_target(t, "cgroup_growth == 0", bench_fig_max(fig, "cgroup_growth") == 0);
	bench_target(t, "rss_growth_kb <= 1024", bench_fig_max(fig, "rss_growth_kb") <= 1024);
	bench_target(t, "journal_bytes <= 6 x journal_max",
		     bench_fig_max(fig, "journal_bytes") <= 6 * JOURNAL_MAX_BYTES);
	/* each the quickest of three starts (restart_min) */
	bench_target(t, "replay_ms <= 2 x fresh_start_ms",
		     bench_fig(fig, "replay_ms") <= 2 * bench_fig(fig, "fresh_start_ms"));
	bench_target(t, "faults_survived == faults_injected",
		     bench_fig_min(fig, "faults_survived") ==
			     bench_fig_max(fig, "faults_injected"));
}

/* Restart rfd three times; *ns the quickest (a start is tens of ms, and
 * a loaded machine adds as much to any one of them). */
static int restart_min(struct soak *k, uint64_t *ns)
{
	uint64_t t;
	*ns = UINT64_MAX;
	for (int i = 0; i < 3; i++) {
		if (prfd_restart(&k->p, k->o, NULL, NULL, extra, &t))
			return -1;
		*ns = t < *ns ? t : *ns;
	}
	return 0;
}

/* Cycles (a tenth of them as warm-up), resizes, the probes of that one
 * rfd, then the faults and the replay of all that by a last restart. */
static int run(struct soak *k, int ncycles, int nresizes, int nfaults, struct soak_result *r)
{
	int warm = ncycles / 10;
	if (restart_min(k, &r->fresh_ns) || soak_cycles(k, warm, true) < 0)
		return -1;
	soak_find_cgroups(k);
	probe(k, &r->warm);
	if (soak_cycles(k, ncycles - warm, true) < 0 || resizes(k, nresizes))
		return -1;
	r->cycles = ncycles;
	r->resizes = nresizes;
	probe(k, &r->end); /* the same rfd as the warm probe: before any fault */
	r->journal = journal_bytes(k);
	for (int i = 0; i < nfaults; i++)
		if (soak_fault(k, i))
			return -1;
	return restart_min(k, &r->replay_ns);
}

int bench_soak(const struct bench_opts *o, struct json_object *out)
{
	static struct soak k;
	struct soak_result r = { 0 };
	int ncycles = o->quick ? 100 : 10000, nresizes = o->quick ? 1000 : 100000;
	int nfaults = o->quick ? 3 : 20;
	if (getenv("RFBENCH_SOAK_FAULTS")) /* more crashes, fewer cycles: to chase one */
		ncycles = 20, nresizes = 4, nfaults = atoi(getenv("RFBENCH_SOAK_FAULTS"));
	memset(&k, 0, sizeof(k)); /* a fresh count of faults for every run */
	k.o = o;
	snprintf(k.hello, sizeof(k.hello), "%s/rfhello", o->build_dir);
	series_init(&k.s[0], "create_destroy", "ms", ncycles);
	series_init(&k.s[1], "resize", "us", nresizes);
	srandom(41 + (unsigned)o->run); /* run 1 as before --runs; others elsewhere */
	int rc = prfd_start(&k.p, o, extra) ? -1 : run(&k, ncycles, nresizes, nfaults, &r);
	if (rc == 0) {
		report(&k, &r, out);
		series_write(o, "soak", k.s, 2);
	}
	prfd_stop(&k.p);
	series_free(&k.s[0]);
	series_free(&k.s[1]);
	return rc;
}
