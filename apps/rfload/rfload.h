/*
 * rfload.h - the pieces of rfload, the open-loop load generator every
 * experiment drives a memcached-protocol service with (README "rfload").
 *
 * One header for the whole program because its parts are small and share
 * a handful of types: the options (opts.c), the rate schedule and the
 * arrival process (sched.c), the request mix (workload.c), the memcached
 * text protocol (proto.c), connections (conn.c), the per-thread event
 * loop (worker.c), the preload of the keys (preload.c) and the report
 * (report.c).  Everything here is the program's own: prefix rfload_.
 */
#ifndef RFLOAD_H
#define RFLOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/hist.h"

#define RFLOAD_MAX_STEPS 1024      /* schedule steps, the warm-up included */
#define RFLOAD_KEY_FMT   "key:%08u"
#define RFLOAD_RBUF      65536     /* a connection's read buffer */

/* ---- the rate schedule (sched.c) ------------------------------------------ */

/* Piecewise-constant target rate: step i runs from start_ns[i] (offset from
 * the run's start) to the next step's start (or end_ns) at rate[i] req/s.
 * lambda[i] is the expected number of arrivals before start_ns[i] (the
 * integral of the rate), lambda[n] the run's total. */
struct rfload_sched {
	int n;
	int first;                 /* steps before it are the warm-up: not measured */
	uint64_t start_ns[RFLOAD_MAX_STEPS];
	double rate[RFLOAD_MAX_STEPS];
	double lambda[RFLOAD_MAX_STEPS + 1];
	uint64_t end_ns;
};

int rfload_sched_parse(struct rfload_sched *s, const char *spec, char *err, size_t errlen);
int rfload_sched_trace(struct rfload_sched *s, const char *path, char *err, size_t errlen);
int rfload_sched_finish(struct rfload_sched *s, uint64_t seconds_ns, uint64_t warmup_ns,
			char *err, size_t errlen);
/* The offset of expected arrival number `lam` (lambda space), advancing the
 * caller's step cursor; UINT64_MAX past the end. */
uint64_t rfload_sched_at(const struct rfload_sched *s, double lam, int *cursor);

/* ---- randomness and the request mix (workload.c) -------------------------- */

struct rfload_rng { uint64_t s; };

void rfload_rng_seed(struct rfload_rng *r, uint64_t seed, uint64_t stream);
uint64_t rfload_rng_next(struct rfload_rng *r);
double rfload_rng_01(struct rfload_rng *r);          /* [0, 1) */
double rfload_rng_exp(struct rfload_rng *r);         /* Exp(1) */

enum rfload_keydist { RFLOAD_KEYS_UNIFORM, RFLOAD_KEYS_ZIPF };
enum rfload_valdist { RFLOAD_VALS_FIXED, RFLOAD_VALS_ETC };

struct rfload_workload {
	uint32_t keys;
	enum rfload_keydist keydist;
	double zipf_s;
	double *zipf_cdf;          /* keys entries, for zipf */
	enum rfload_valdist valdist;
	uint32_t value_size;       /* fixed size */
	uint32_t value_max;        /* the cap of a drawn size */
	double get_ratio;
	char *filler;              /* value_max bytes of value */
};

int rfload_workload_init(struct rfload_workload *wl);
void rfload_workload_free(struct rfload_workload *wl);
uint32_t rfload_key(const struct rfload_workload *wl, struct rfload_rng *r);
uint32_t rfload_value_size(const struct rfload_workload *wl, struct rfload_rng *r);

/* ---- the memcached text protocol (proto.c) --------------------------------- */

enum rfload_op { RFLOAD_GET, RFLOAD_SET };

/* Bytes a request can take at most (its header, value and CRLF). */
size_t rfload_req_max(const struct rfload_workload *wl);
/* Writes one request at buf; returns its length. */
size_t rfload_req_format(char *buf, enum rfload_op op, uint32_t key, uint32_t vlen,
			 const char *filler);

enum rfload_reply { RFLOAD_R_MORE, RFLOAD_R_VALUE, RFLOAD_R_HIT, RFLOAD_R_MISS,
		    RFLOAD_R_STORED, RFLOAD_R_ERROR };

/* Parser state of one connection's reply stream. */
struct rfload_parse {
	size_t skip;               /* value bytes (and CRLF) still to skip */
	bool hit;                  /* a VALUE line came for the current get */
};

/* Reads one reply item from buf[0, len): sets *used to the bytes taken and
 * returns what it was (RFLOAD_R_MORE: incomplete, nothing taken;
 * RFLOAD_R_VALUE: a VALUE line or value bytes, the reply goes on). */
enum rfload_reply rfload_reply_next(struct rfload_parse *p, const char *buf, size_t len,
				    size_t *used);

/* ---- options (opts.c) ------------------------------------------------------ */

struct rfload_opts {
	const char *host;
	int port, conns, threads;
	double seconds, warmup, drain;
	bool uniform, preload, json, rfloop;
	const char *rfloop_lib;
	uint64_t spin_ns, seed;
	const char *schedule_text;   /* as given, for the report */
	struct rfload_sched sched;
	struct rfload_workload wl;
};

void rfload_opts_parse(struct rfload_opts *o, int argc, char **argv);

/* ---- connections (conn.c) -------------------------------------------------- */

struct rfload_pending {
	uint64_t intended;         /* intended send time, ns */
	uint16_t step;
	uint8_t op;
};

struct rfload_conn {
	int fd;
	struct rfload_pending *fifo;   /* outstanding requests, in order: [head, tail) */
	size_t head, tail, cap;
	char *wbuf;                /* bytes the socket has not taken yet: [woff, wlen) */
	size_t woff, wlen, wcap;
	char *rbuf;
	size_t rlen;
	struct rfload_parse parse;
	bool want_out, dirty;
};

int rfload_connect(const struct rfload_opts *o);
int rfload_conn_init(struct rfload_conn *c, int fd, size_t req_max);
void rfload_conn_free(struct rfload_conn *c);
int rfload_conn_push(struct rfload_conn *c, const struct rfload_pending *p);
char *rfload_conn_reserve(struct rfload_conn *c, size_t n);
size_t rfload_conn_outstanding(const struct rfload_conn *c);

/* ---- the workers (worker.c) ------------------------------------------------ */

/* What one thread measured in one step. */
struct rfload_tally {
	struct base_hist *hist;    /* latency from the intended send time, ns */
	uint64_t sent, errors, hits, misses, sets;
};

struct rfload_worker {
	pthread_t th;
	int index;
	const struct rfload_opts *o;
	struct rfload_conn *conns;
	int nconns, ep;
	struct rfload_rng rng;
	uint64_t start;            /* the run's start, ns (monotonic) */
	double lam, lam_gap;       /* next arrival and the mean gap, lambda space */
	int cursor, rr;
	uint64_t next;             /* next intended send time (absolute), or UINT64_MAX */
	struct rfload_tally step[RFLOAD_MAX_STEPS];
	struct base_hist lag;      /* how late requests left (generator health) */
	uint64_t unanswered, stray;
	int fail;
	bool started;
};

int rfload_workers_start(struct rfload_worker *w, const struct rfload_opts *o);
void rfload_workers_free(struct rfload_worker *w, const struct rfload_opts *o);

/* ---- preload (preload.c) and report (report.c) ----------------------------- */

int rfload_preload(const struct rfload_opts *o);
int rfload_report(const struct rfload_opts *o, struct rfload_worker *w);

#endif
