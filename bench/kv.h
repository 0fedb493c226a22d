/*
 * kv.h - the parts of `rfbench kv` (Figure 12 of the RainForest paper,
 * EbbRT's memcached experiment) and what they share: one load point
 * driven by build/rfload (kv_load.c), the servers and how busy they were
 * (kv_server.c), the search for the highest rate a server sustains within
 * the latency objective (kv_sweep.c), the curves' CSV and plot
 * (kv_plot.c), and the driver that runs both systems (kv.c, whose top
 * comment says what is measured and why so).
 */
#ifndef RF_BENCH_KV_H
#define RF_BENCH_KV_H

#include <stdbool.h>
#include <stdint.h>
#include "bench.h"

#define KV_MAX_POINTS 40          /* load points of one sweep, retries included */
#define KV_CONNS      16          /* rfload's connections, one thread */
#define KV_SERVER_CPU 1           /* the servers' CPU; the generator's is 0 (kv.c) */
#define KV_MEMCACHED_BIN "/usr/bin/memcached"

enum kv_system { KV_RAINFOREST, KV_MEMCACHED, KV_SYSTEMS };
enum kv_client { KV_TCP, KV_RFLOOP, KV_CLIENTS };   /* rfload plain, or --rfloop */

extern const char *const kv_system_name[KV_SYSTEMS];   /* "rainforest", "memcached" */
extern const char *const kv_client_name[KV_CLIENTS];   /* "tcp", "rfloop" */

/* One server instance: rfkv's subOS, or memcached plain or under
 * librfloop.so (its RFloop session). */
enum kv_session { S_RAINFOREST, S_MEMCACHED_TCP, S_MEMCACHED_RFLOOP, S_COUNT };

struct kv_server {
	const struct bench_opts *o;
	struct private_rfd *p;
	enum kv_session kind;
	int port;
	pid_t pid;                /* rfkv's or memcached's; -1: none */
	bool subos;               /* rfkv's subOS was created */
};

/* Start s->kind's server on a free port; 0, or -1 (said on stderr; stop it
 * anyway).  Stop: destroy the subOS or SIGTERM memcached, and reap. */
int kv_server_start(struct kv_server *s, enum kv_session kind);
void kv_server_stop(struct kv_server *s);
/* The server's busy time so far (ns), or -1 if it cannot be read. */
int64_t kv_server_busy_ns(struct kv_server *s);

/* One rfload invocation at one rate, as rfload measured it. */
struct kv_point {
	double rate;              /* offered: the target rate, requests/s */
	double achieved;          /* replies measured per second */
	double p50_us, p99_us, p999_us;
	double lag_p99_us;        /* how late rfload itself sent (its health) */
	double server_busy;       /* the server's busy share of its CPU meanwhile; -1: unknown */
	long unanswered, errors;
	long conn_rfloop, conn_tcp;   /* rfload's connections by carrier (--rfloop only) */
	bool failed;              /* rfload exited with an error, or was killed */
	bool timed_out;           /* killed: it had not finished in time (kv_load.c) */
	bool ok;                  /* within the objective (kv_sweep.c) */
};

/* How every point of one sweep is driven. */
struct kv_load {
	const struct bench_opts *o;
	struct kv_server *srv;
	enum kv_client client;
	const char *rf_socket;    /* the private rfd's (RFloop's registry) */
	const char *stats;        /* RF_LOOP_STATS file for rfload's counters */
	double seconds, warmup;   /* per point */
	bool preload;             /* the next invocation stores every key first */
};

/* Run rfload once at `rate` against l; 0, or -1 if it gave no report. */
int kv_load_point(struct kv_load *l, double rate, struct kv_point *pt);
/* The generator's workload, for the JSON (kv_load.c). */
struct json_object *kv_load_describe(const struct kv_load *l);

/* The search and its result. */
struct kv_search {
	double start, factor;     /* coarse steps: start, start*factor, ... */
	double precision;         /* bisection stops when hi/lo <= 1 + precision */
	double rate_max;          /* never offer more */
	double slo_us;
	bool retry;               /* a failing point is measured once more */
	long settle_ns;           /* pause after a failing point (the server drains) */
};

struct kv_curve {
	struct kv_point pt[KV_MAX_POINTS];
	int n;
	double max_rate;          /* achieved rate of the highest passing point; 0: none */
	bool generator_bound;     /* stopped because rfload, not the server, fell behind */
	bool rate_capped;         /* stopped at rate_max with every point passing */
	long conn_rfloop, conn_tcp;
};

/* Is pt within the objective (sets pt->ok)? */
bool kv_point_judge(struct kv_point *pt, double slo_us);
/* Sweep l's server per s into c; 0, or -1 if rfload failed to report. */
int kv_sweep(struct kv_load *l, const struct kv_search *s, struct kv_curve *c);

/* results/kv.csv: run 1 starts it, later runs append (kv_plot.c). */
void kv_csv_write(const struct bench_opts *o, enum kv_system sys, enum kv_client cl,
		  const struct kv_curve *c, double slo_us);

#endif
