/*
 * dynamic.h - what the pieces of `rfbench dynamic` share (dynamic.c: the
 * benchmark, its schedule and figures; dynamic_sys.c: bringing up and
 * tearing down each system and reading what it did; dynamic_out.c: the
 * CSV and the plot).  See dynamic.c's top comment for the design.
 */
#ifndef RF_BENCH_DYNAMIC_H
#define RF_BENCH_DYNAMIC_H

#include <stdbool.h>
#include <stdint.h>
#include "bench.h"

enum dyn_sys { DYN_STATIC, DYN_POLICY, DYN_CGROUPS, DYN_LINUX, DYN_NSYS };

#define DYN_KV_CPU    1   /* the service's home core (and the generator's) */
#define DYN_BATCH_CPU 0   /* the batch job's core when the cores are split */
#define DYN_MAX_MOVES 256
#define DYN_MAX_STEPS 64

/* The load and the thresholds of one run, the same for every system. */
struct dyn_cfg {
	int window_ms;
	uint32_t lt_us, ut_us;
	double seconds, warmup;    /* the trace's measured length, rfload's warm-up */
	int nsteps;                /* the trace: rate[i] from at_s[i] */
	double at_s[DYN_MAX_STEPS], rate[DYN_MAX_STEPS];
	char trace[64];            /* the trace file rfload reads */
	int port;                  /* this system's port (set per system) */
	bool calibrate;            /* measure the unloaded p99 first (static) */
	double cal_rate, cal_s;
};

/* A policy move as the journal recorded it. */
struct dyn_move {
	double t_s;                /* the record's time, from the measured start */
	int to_kv;                 /* +1: a core to kv, -1: from kv */
	double p99_us;             /* the window p99 rfd saw */
};

/* What one system did. */
struct dyn_result {
	int nwin;
	double *p99_us;            /* per window; NAN: no request in it */
	int *cores;                /* the service's cores per window */
	double batch_work;         /* rfbatch chunks over the measured period */
	struct dyn_move moves[DYN_MAX_MOVES];
	int nmoves;
	double unloaded_p99_us;    /* calibrate: the median window p99 at cal_rate */
	double send_lag_p99_us;    /* the generator's own health */
	bool rt;                   /* the generator ran SCHED_FIFO */
	char error[160];
};

/* Bring system s up, drive the trace through it, tear it down: 0 or -1
 * (r->error says why).  r's arrays are allocated here (dyn_result_free). */
int dyn_system_run(const struct bench_opts *o, enum dyn_sys s, struct dyn_cfg *c,
		   struct dyn_result *r);
void dyn_result_free(struct dyn_result *r);
const char *dyn_sys_name(enum dyn_sys s);

/* results/dynamic.csv (append per run) and results/dynamic.png. */
void dyn_csv(const struct bench_opts *o, const struct dyn_cfg *c, const struct dyn_result *r);
void dyn_plot(const struct bench_opts *o, const char *bench);

#endif
