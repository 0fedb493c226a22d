/*
 * microtail.c - `rfbench microtail` (Figure 6 of the RainForest paper): the
 * latency distributions of mmap, malloc, page fault and open, each with a
 * neighbour doing the same operation on the other core, inside a libos
 * subOS and on Linux.
 *
 * The paper's claim is that a subOS's tail does not carry its neighbours'
 * contention on shared kernel state (free lists, mmap and page-table
 * locks, TLB shootdowns, the dentry cache).  One measuring program,
 * build/rfmicro (bench/libos/rfmicro.c, which says what each operation is
 * on each side), runs:
 *   rainforest  under a private rfd (--host-cores "": both CPUs managed):
 *               the measuring program a libos subOS on CPU 1, the
 *               neighbour another libos subOS on CPU 0, 256 MiB each; rfd
 *               itself pinned to CPU 0 (it has no host core to keep to);
 *   linux       the same program standalone (glibc, plain system calls),
 *               pinned to CPU 1, the neighbour a process pinned to CPU 0;
 *   linux_threads  the same, the neighbour a thread of the measuring
 *               process (the paper's Linux: will-it-scale's threads share
 *               one address space, so munmap's TLB shootdowns and the
 *               mmap lock reach the measured thread).  Reported beside,
 *               as p999_ratio_threads; the target is judged on `linux`.
 * Pinning both sides of both systems keeps the comparison to what the
 * operations share (the kernel's state, the machine), not to who gets a
 * CPU.  Operations are measured op by op, one system after another, so that
 * the machine's noise of the moment hits both.  Each sample is rdtscp
 * ticks around one operation, turned into ns with one TSC frequency
 * measured here.  librf has no mmap, no page fault and no open of its own:
 * the libos side measures what a libos program does instead (rf_malloc of
 * a page span; the first write to a page of one; the host's open), as the
 * JSON's `ops` says.  open goes to the host kernel on both sides: reported,
 * not judged.
 *
 * Figures: p50_ns, p99_ns, p999_ns, max_ns = {op: {system: ns}};
 * p999_ratio = {op: linux / rainforest}, p999_ratio_threads = {op:
 * linux_threads / rainforest}.  Target: p999_ratio >= 10 for
 * mmap, malloc and pagefault.  -n N: N x 1000 samples per operation and
 * system (pagefault: 255 per 1 MiB region).  Raw samples (ns) in
 * results/microtail.csv, one column per operation and system.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "base/tsc.h"

#define NOPS        4
#define MEM         (256ull << 20)
#define MEASURE_CPU "1"
#define NEIGHB_CPU  "0"

enum { SYS_RF, SYS_LINUX, SYS_THREADS, NSYS };
static const char *const sys_name[NSYS] = { "rainforest", "linux", "linux_threads" };
static const char *const op_name[NOPS] = { "mmap", "malloc", "pagefault", "open" };
static const char *const op_what[NOPS][NSYS] = {
	{ "rf_malloc + rf_free of 1 MiB (a page span): librf has no mmap",
	  "mmap + munmap of an untouched 1 MiB anonymous region", "as linux" },
	{ "rf_free + rf_malloc, log-uniform 16 B..1 MiB, pool of 256",
	  "glibc free + malloc, log-uniform 16 B..1 MiB, pool of 256", "as linux" },
	{ "first write to a page of a fresh 1 MiB rf_malloc span (pre-faulted by rfd: "
	  "no fault)", "first write to a page of a fresh 1 MiB mmap region (a fault)",
	  "as linux" },
	{ "open + close of its own file: the host kernel's (librf has no file open)",
	  "open + close of its own file", "as linux" },
};

struct mt {
	const struct bench_opts *o;
	struct private_rfd p;
	char dir[64], rfmicro[PATH_MAX];
	double tsc_hz;
	long n;
};

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* OUT's ticks as ns into s; 0, or -1 if it holds fewer than want. */
static int read_samples(const struct mt *m, const char *path, long want, struct series *s)
{
	uint64_t buf[4096];
	long got = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	for (size_t k; (k = fread(buf, sizeof(buf[0]), 4096, f)) > 0;)
		for (size_t i = 0; i < k; i++, got++)
			series_add(s, (uint64_t)((double)buf[i] * 1e9 / m->tsc_hz));
	fclose(f);
	unlink(path);
	return got >= want ? 0 : -1;
}

static int measure_rf(struct mt *m, const char *op, long n, const char *out, const char *nstr)
{
	const char *nb_argv[] = { m->rfmicro, "libos", op, "0", "-", m->dir, NULL };
	const char *m_argv[] = { m->rfmicro, "libos", op, nstr, out, m->dir, NULL };
	int rc = -1;
	if (subos_create(&m->p, "neighbour", RF_KIND_LIBOS, NEIGHB_CPU, MEM, nb_argv) < 0)
		return -1;
	prfd_settle(&m->p, 10000);   /* no refill beside the measurement */
	if (subos_create(&m->p, "measured", RF_KIND_LIBOS, MEASURE_CPU, MEM, m_argv) < 0)
		goto out;
	/* It exits once OUT is written. */
	for (int i = 0; i < 12000 && access(out, F_OK) != 0; i++) {
		if (i % 10 == 9 && subos_exited(&m->p, "measured") && access(out, F_OK) != 0)
			break;
		nap_ms(10);
	}
	rc = access(out, F_OK);
	subos_destroy(&m->p, "measured");
out:
	subos_destroy(&m->p, "neighbour");
	if (rc)
		fprintf(stderr, "rfbench microtail: %s in a subOS wrote nothing (see %s/logs)\n",
			op, m->p.dir);
	return rc;
}

static int measure_linux(struct mt *m, const char *op, const char *out, const char *nstr)
{
	const char *nb_argv[] = { m->rfmicro, "linux", op, "0", "-", m->dir, NULL };
	const char *m_argv[] = { m->rfmicro, "linux", op, nstr, out, m->dir, NULL };
	struct proc_spec nb = { .argv = nb_argv, .cpu = atoi(NEIGHB_CPU) };
	struct proc_spec me = { .argv = m_argv, .cpu = atoi(MEASURE_CPU) };
	int status = -1;
	pid_t nbpid = proc_spawn(&nb, NULL);
	if (nbpid < 0)
		return -1;
	nap_ms(100);   /* the neighbour is going, as in a subOS once created */
	pid_t pid = proc_spawn(&me, NULL);
	if (pid > 0)
		waitpid(pid, &status, 0);
	proc_stop(&nbpid);
	if (status != 0)
		fprintf(stderr, "rfbench microtail: %s on linux failed (status %d)\n", op, status);
	return status == 0 ? 0 : -1;
}

/* The neighbour a thread of the measuring process (rfmicro threads). */
static int measure_threads(struct mt *m, const char *op, const char *out, const char *nstr)
{
	const char *argv[] = { m->rfmicro, "threads", op, nstr, out, m->dir,
			       MEASURE_CPU "," NEIGHB_CPU, NULL };
	struct proc_spec me = { .argv = argv, .cpu = -1 };
	int status = -1;
	pid_t pid = proc_spawn(&me, NULL);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (status != 0)
		fprintf(stderr, "rfbench microtail: %s on linux_threads failed (status %d)\n", op,
			status);
	return status == 0 ? 0 : -1;
}

static int measure_op(struct mt *m, int k, struct series s[NSYS])
{
	char out[NSYS][128], nstr[24];
	long n = k == 2 ? (m->n + 254) / 255 * 255 : m->n;   /* pagefault: whole regions */
	snprintf(nstr, sizeof(nstr), "%ld", n);
	for (int y = 0; y < NSYS; y++)
		snprintf(out[y], sizeof(out[y]), "%s/%s.%s", m->dir, op_name[k], sys_name[y]);
	if (measure_rf(m, op_name[k], n, out[SYS_RF], nstr) < 0 ||
	    read_samples(m, out[SYS_RF], n, &s[SYS_RF]) < 0)
		return -1;
	if (measure_linux(m, op_name[k], out[SYS_LINUX], nstr) < 0 ||
	    read_samples(m, out[SYS_LINUX], n, &s[SYS_LINUX]) < 0)
		return -1;
	if (measure_threads(m, op_name[k], out[SYS_THREADS], nstr) < 0 ||
	    read_samples(m, out[SYS_THREADS], n, &s[SYS_THREADS]) < 0)
		return -1;
	return 0;
}

/* {op: {system: pct}} for one percentile, and p999_ratio. */
static void report(struct json_object *out, struct series s[NOPS][NSYS])
{
	static const struct { const char *key; double p; } pct[] = {
		{ "p50_ns", 50 }, { "p99_ns", 99 }, { "p999_ns", 99.9 }, { "max_ns", 100 },
	};
	struct json_object *ratio = json_object_new_object(), *what = json_object_new_object();
	struct json_object *ratio_t = json_object_new_object();
	for (size_t q = 0; q < sizeof(pct) / sizeof(pct[0]); q++) {
		struct json_object *by_op = json_object_new_object();
		for (int k = 0; k < NOPS; k++) {
			struct json_object *by_sys = json_object_new_object();
			for (int y = 0; y < NSYS; y++)
				json_object_object_add(by_sys, sys_name[y], json_object_new_double(
						series_pct(&s[k][y], pct[q].p)));
			json_object_object_add(by_op, op_name[k], by_sys);
		}
		json_object_object_add(out, pct[q].key, by_op);
	}
	for (int k = 0; k < NOPS; k++) {
		double r = series_pct(&s[k][SYS_LINUX], 99.9) / series_pct(&s[k][SYS_RF], 99.9);
		json_object_object_add(ratio, op_name[k], json_object_new_double(r));
		r = series_pct(&s[k][SYS_THREADS], 99.9) / series_pct(&s[k][SYS_RF], 99.9);
		json_object_object_add(ratio_t, op_name[k], json_object_new_double(r));
		struct json_object *w = json_object_new_object();
		for (int y = 0; y < NSYS; y++)
			json_object_object_add(w, sys_name[y], json_object_new_string(op_what[k][y]));
		json_object_object_add(what, op_name[k], w);
	}
	json_object_object_add(out, "p999_ratio", ratio);
	json_object_object_add(out, "p999_ratio_threads", ratio_t);
	json_object_object_add(out, "ops", what);
	json_object_object_add(out, "placement", json_object_new_string(
		"measured on CPU 1, neighbour (the same operation, untimed) on CPU 0; rainforest: "
		"two libos subOSes of 256 MiB under rfd --host-cores \"\"; linux: two processes "
		"pinned (taskset-like); linux_threads: one process, its two threads pinned"));
}

static double ratio_of(struct json_object *fig, const char *op)
{
	struct json_object *r, *v;
	if (!json_object_object_get_ex(fig, "p999_ratio", &r) ||
	    !json_object_object_get_ex(r, op, &v))
		return 0;
	return json_object_get_double(v);
}

void microtail_targets(struct json_object *fig, struct json_object *t)
{
	bench_target(t, "mmap_p999_ratio >= 10", ratio_of(fig, "mmap") >= 10);
	bench_target(t, "malloc_p999_ratio >= 10", ratio_of(fig, "malloc") >= 10);
	bench_target(t, "pagefault_p999_ratio >= 10", ratio_of(fig, "pagefault") >= 10);
}

static void series_names(struct series s[NOPS][NSYS], char names[NOPS][NSYS][40], long cap)
{
	for (int k = 0; k < NOPS; k++)
		for (int y = 0; y < NSYS; y++) {
			snprintf(names[k][y], sizeof(names[k][y]), "%s_%s", op_name[k], sys_name[y]);
			series_init(&s[k][y], names[k][y], "ns", (int)cap);
		}
}

int bench_microtail(const struct bench_opts *o, struct json_object *out)
{
	static char names[NOPS][NSYS][40];
	struct series s[NOPS][NSYS];
	const char *extra[] = { "--host-cores", "", NULL };
	struct mt m = { .o = o, .n = (long)o->iterations * 1000 };
	int rc = -1;

	snprintf(m.rfmicro, sizeof(m.rfmicro), "%s/rfmicro", o->build_dir);
	snprintf(m.dir, sizeof(m.dir), "/tmp/rfbench-micro.XXXXXX");
	if (!mkdtemp(m.dir))
		return -1;
	chmod(m.dir, 0777);   /* the subOSes' programs write their samples here */
	series_names(s, names, m.n + 255);
	m.tsc_hz = (double)base_tsc_hz_measure();
	if (m.tsc_hz <= 0 || prfd_start_on(&m.p, o, extra, atoi(NEIGHB_CPU)))
		goto out;
	for (int k = 0; k < NOPS; k++)
		if (measure_op(&m, k, s[k]) < 0)
			goto out;
	report(out, s);
	json_object_object_add(out, "samples_per_op", json_object_new_int64(m.n));
	json_object_object_add(out, "tsc_hz", json_object_new_double(m.tsc_hz));
	series_write(o, "microtail", &s[0][0], NOPS * NSYS);
	rc = 0;
out:
	prfd_stop(&m.p);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", m.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "rfbench microtail: could not remove %s\n", m.dir);
	for (int k = 0; k < NOPS; k++)
		for (int y = 0; y < NSYS; y++)
			series_free(&s[k][y]);
	return rc;
}
