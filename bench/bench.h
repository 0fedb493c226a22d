/*
 * bench.h - shared pieces of rfbench: a private rfd, timing, reports, runs.
 *
 * Every benchmark starts its own rfd in a temporary state directory, runs
 * its baselines in the same run, and can write raw samples as CSV (and a
 * gnuplot PNG) under results/.  rfbench repeats a benchmark's run --runs
 * times (bench/runs.c) and prints one JSON object: the median of the runs,
 * their spread, and the targets judged on the medians.
 */
#ifndef RF_BENCH_H
#define RF_BENCH_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "base/client.h"
#include "base/cpu.h"
#include "base/hist.h"
#include "base/units.h"

struct bench_opts {
	bool json;
	int iterations;
	const char *results_dir;  /* NULL: no CSV/PNG */
	const char *build_dir;    /* where rfd and the examples are */
	bool quick;               /* --quick: a short run (for make test) */
	int runs;                 /* --runs N: how many times the measurement is repeated */
	int run;                  /* the run under way, 1..runs (series_write appends) */
};

/* One benchmark.  run() makes one complete measurement, baselines included,
 * and adds its figures to an object (no targets: runs.c merges the runs'
 * figures by median first); targets() then judges the merged figures (with
 * their "spread"), adding "target" -> met for each to t (bench_target). */
struct bench {
	const char *name;
	const char *what;
	int (*run)(const struct bench_opts *, struct json_object *);
	void (*targets)(struct json_object *fig, struct json_object *t);
	int quick_n;              /* -n under --quick unless -n is given */
	/* results/NAME.png from the CSV, if not series_plot's latency CDFs */
	void (*plot)(const struct bench_opts *, const char *name);
};

/* Run b o->runs times and put the merged report into out (runs.c): bench,
 * runs, the median figures, spread, targets, targets_met, per_run.  0, or
 * -1 if a run failed (out then says which, with the runs before it). */
int bench_runs(const struct bench *b, struct bench_opts *o, struct json_object *out);
/* A merged figure (NAN if missing, so every comparison with it fails). */
double bench_fig(struct json_object *fig, const char *key);
/* A figure's least and greatest value across the runs (from fig's spread;
 * NAN if missing): for what one bad run must fail, as a leak. */
double bench_fig_min(struct json_object *fig, const char *key);
double bench_fig_max(struct json_object *fig, const char *key);
/* Add target `name`, met or not, to t. */
void bench_target(struct json_object *t, const char *name, bool met);

struct private_rfd {
	char dir[256];
	char sock[300];
	pid_t pid;
	struct base_client cl;
};

/* Start rfd with extra arguments (NULL-terminated); waits for its socket. */
int prfd_start(struct private_rfd *p, const struct bench_opts *o, const char *const *extra);
/* The same with rfd (and so its threads) on CPU cpu only: with
 * --host-cores "" rfd has no host core of its own and would otherwise run
 * its SCHED_FIFO loop and its pool worker on the cores it hands out. */
int prfd_start_on(struct private_rfd *p, const struct bench_opts *o, const char *const *extra,
		  int cpu);
void prfd_stop(struct private_rfd *p);
/* Stop p's rfd (SIGTERM; a dead one is just reaped) and start `bin` (NULL:
 * rfd; "tests/rfd-faults" for the fault build, with RFD_FAULT=fault) on
 * the same state directory.  0 once it answers (*ns: how long that took),
 * 1 if it died first, -1 otherwise. */
int prfd_restart(struct private_rfd *p, const struct bench_opts *o, const char *bin,
		 const char *fault, const char *const *extra, uint64_t *ns);
/* Is p's rfd still running (reaps it if not)? */
bool prfd_alive(struct private_rfd *p);
/* Wait (up to timeout_ms) until rfd's pool refilled every chunk: its
 * background faulting of fresh memory is heavy work a measurement should
 * not run beside.  0, or -1 on timeout. */
int prfd_settle(struct private_rfd *p, int timeout_ms);
/* The same, and rfd's spare made (src/rfd/spare.h), looking every step_ms:
 * rfd as a create finds it at any rate the host sustains. */
int prfd_idle(struct private_rfd *p, int timeout_ms, int step_ms);
/* Call a verb; returns the answer (caller puts) or NULL.  Times it. */
struct json_object *prfd_call(struct private_rfd *p, const struct base_request *req, uint64_t *ns);
/* Requests (base/proto.h), borrowing the strings given: `verb` on `name`
 * (NULL: none); a create of `argv` (NULL-terminated) on the CPUs of `cpus`
 * (a CPU list) with `mem` bytes. */
struct base_request req_named(enum base_verb verb, const char *name);
struct base_request req_create(const char *name, enum base_kind kind, const char *cpus,
			       uint64_t mem, const char **argv);
/* `cpus` (a CPU list, or "none": no core of its own) as the cores of a
 * request. */
struct base_cores_arg req_cpus(const char *cpus);

/* Child processes and ports (proc.c).  bench_spawn: fork + exec argv
 * (argv[0] a path) with stdin and stderr on /dev/null, stdout to a new
 * pipe whose read end goes to *out (NULL: /dev/null), the "NAME=VALUE"
 * strings of env (NULL-terminated, may be NULL) added to the environment,
 * pinned to cpu (< 0: every CPU), no other descriptor of rfbench's, and
 * killed if rfbench dies (proc_spawn of a proc_spec with only these); its
 * pid or -1.  bench_stop: signal and reap; the
 * wait status, or -1. */
pid_t bench_spawn(const char *const *argv, const char *const *env, int cpu, int *out);
int bench_stop(pid_t pid, int sig);
/* A port a server may bind right now, below the kernel's ephemeral range
 * (so no client connection takes it meanwhile), or -1. */
int bench_free_port(void);
/* A TCP connection to 127.0.0.1:port, or -1; wait (5 s at most) until one
 * succeeds: 0, or -1. */
int bench_connect_port(int port);
int bench_wait_port(int port);
/* build/rfkv -p port as libos subOS `name` of p on the CPUs of `cpus` with
 * `mem` bytes, once its port answers: its pid, or -1 (said on stderr). */
pid_t bench_kv_subos(struct private_rfd *p, const struct bench_opts *o, const char *name,
		     const char *cpus, uint64_t mem, int port);
/* The sum of value(f) over /proc/PID/task/TID/<file> of pid's threads
 * (one opened for reading each), or -1 if pid is gone. */
int64_t bench_threads_sum(pid_t pid, const char *file, int64_t (*value)(FILE *));
/* The sum of counter `key` over the lines of an RF_LOOP_STATS file
 * (src/rfloop/real.c) of the processes named comm (NULL: every one). */
long bench_rfloop_stat(const char *path, const char *comm, const char *key);

/* Spin waits between two pinned peers: a side that hears nothing for
 * BENCH_STALL_NS takes the other for gone and gives up. */
#define BENCH_STALL_NS 3000000000ull

/* Call on every spin (i and since start at 0 for each wait); true once
 * nothing happened for BENCH_STALL_NS.  Reads the clock every 4096 spins. */
static inline bool stalled(unsigned *i, uint64_t *since)
{
	if ((++*i & 0xfff) != 0)
		return false;
	uint64_t t = base_now_ns();
	if (!*since)
		*since = t;
	return t - *since > BENCH_STALL_NS;
}

/* Samples kept raw (for CSV) and in a histogram (for percentiles). */
struct series {
	const char *name;
	const char *unit;   /* "us" or "ms" for the report */
	struct base_hist h;
	uint64_t *raw;
	int n, cap;
};
void series_init(struct series *s, const char *name, const char *unit, int cap);
void series_add(struct series *s, uint64_t ns);
double series_pct(const struct series *s, double p);   /* in the series' unit */
void series_free(struct series *s);
/* Write this run's samples to results/NAME.csv: a `run` column, then one
 * column per series; run 1 starts the file, later runs append to it. */
void series_write(const struct bench_opts *o, const char *bench, struct series *s, int n);
/* results/NAME.png from results/NAME.csv (every run's samples), if gnuplot
 * exists and the CSV does. */
void series_plot(const struct bench_opts *o, const char *bench);

/* A plain process of an experiment (proc.c): argv[0] a path; cpu -1 for
 * every CPU (unpinned); fifo > 0 a SCHED_FIFO priority (the child exits
 * 125 if refused, unless fifo_optional: then it runs as an ordinary task);
 * cgroups a NULL-terminated list of cgroup directories to join (or NULL);
 * env extra "K=V" strings (or NULL); out_path a file its stdout goes to
 * (created or truncated; NULL: see proc_spawn). */
struct proc_spec {
	const char *const *argv;
	int cpu, fifo;
	bool fifo_optional;
	const char *const *cgroups;
	const char *const *env;
	const char *out_path;
};
/* Start it; with out, its stdout comes on *out (a pipe), else to out_path
 * or /dev/null. */
pid_t proc_spawn(const struct proc_spec *spec, int *out);
/* Read fd to its end, reap pid (*status), return what was read (free it).
 * After timeout_ms pid is killed (SIGKILL) and what came so far returned. */
char *proc_output(pid_t pid, int fd, int *status, int timeout_ms);
/* SIGTERM, 2 s, then SIGKILL; reaps; *pid = 0.  Nothing if *pid <= 0. */
void proc_stop(pid_t *pid);
/* A subOS of p running argv on cpus with mem bytes: its pid, or -1 (said
 * on stderr).  Destroy: 0 or -1. */
pid_t subos_create(struct private_rfd *p, const char *name, enum base_kind kind, const char *cpus,
		   uint64_t mem, const char **argv);
int subos_destroy(struct private_rfd *p, const char *name);
/* Has subOS name's program exited (or is the subOS unknown, or rfd gone)? */
bool subos_exited(struct private_rfd *p, const char *name);

/* A cgroup v1 cpuset + memory group pair of one unique name (cgv1.c),
 * removed by cgv1_remove, or at exit or SIGINT/SIGTERM if still there. */
struct cgv1_group {
	char cpuset[300], memory[300];
	const char *dirs[3];      /* for proc_spec.cgroups */
	bool made_cpuset, made_memory;
};
int cgv1_create(struct cgv1_group *g, const char *role, const char *cpus, uint64_t mem);
int cgv1_remove(struct cgv1_group *g);

int bench_lifecycle(const struct bench_opts *o, struct json_object *out);
/* lifecycle's floors (floors.c), n samples each into s; 0 or -1 (said on
 * stderr): a futex wake-up round trip between threads on cpu[0] and
 * cpu[1]; a journal-sized append fdatasync'd in dir (idle_ns apart); `bytes` of fresh
 * anonymous memory mapped and faulted. */
int floor_wake_rtt(const int cpu[2], int n, uint64_t idle_ns, struct series *s);
int floor_fsync(const char *dir, int n, uint64_t idle_ns, struct series *s);
int floor_mem_fresh(uint64_t bytes, int n, struct series *s);
void lifecycle_targets(struct json_object *fig, struct json_object *t);
int bench_ficm(const struct bench_opts *o, struct json_object *out);
void ficm_targets(struct json_object *fig, struct json_object *t);
int bench_syscalls(const struct bench_opts *o, struct json_object *out);
void syscalls_targets(struct json_object *fig, struct json_object *t);
int bench_rfloop(const struct bench_opts *o, struct json_object *out);
void rfloop_targets(struct json_object *fig, struct json_object *t);
int bench_soak(const struct bench_opts *o, struct json_object *out);
int bench_kv(const struct bench_opts *o, struct json_object *out);
void kv_targets(struct json_object *fig, struct json_object *t);
/* results/kv.png from results/kv.csv: p99 against achieved rate (kv_plot.c). */
void kv_plot(const struct bench_opts *o, const char *bench);
void soak_targets(struct json_object *fig, struct json_object *t);
int bench_isolation(const struct bench_opts *o, struct json_object *out);
void isolation_targets(struct json_object *fig, struct json_object *t);
int bench_microtail(const struct bench_opts *o, struct json_object *out);
void microtail_targets(struct json_object *fig, struct json_object *t);
int bench_dynamic(const struct bench_opts *o, struct json_object *out);
void dynamic_targets(struct json_object *fig, struct json_object *t);
void dyn_plot(const struct bench_opts *o, const char *bench);
/* `rfbench rfloop-peer ...`: the plain socket programs bench_rfloop runs. */
int rfloop_peer_main(int argc, char **argv);
/* bench_ficm's headline: the ping-pong between two subOSes of a private rfd
 * over rfd-granted channels, on cpu[0] and cpu[1], with its cache-line
 * floors interleaved: n round trips of each kind; adds rtt_ns_*,
 * cacheline_rtt_ns_*, cacheline_pair_rtt_ns_* and their ratios to out
 * (which holds the process figures already; busy_ns: the busy-polling Unix
 * socket round trip on the same CPUs), and the raw trips to raw[0..3]
 * (line, pair, 56- and 64-byte payloads).  And `rfbench ficm-peer ...`,
 * the programs it runs inside the subOSes. */
int ficm_subos(const struct bench_opts *o, const int cpu[2], int n, uint64_t busy_ns,
	       struct json_object *out, struct series raw[4]);
int ficm_peer_main(int argc, char **argv);

#endif
