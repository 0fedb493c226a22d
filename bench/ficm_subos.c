/*
 * ficm_subos.c - the headline part of `rfbench ficm`: the ping-pong between
 * two real subOSes, over channels rfd brokers, with its physical floor
 * measured by the same two programs on the same two CPUs in the same run.
 *
 * A private rfd (--host-cores "", so a 2-core machine holds two subOSes:
 * one on each of the CPUs ficm.c measured on) runs two `linux` subOSes,
 * each a re-executed rfbench (`rfbench ficm-peer ...`, a plain program
 * using RFcom as any application would), and grants them two channels:
 * "ficm" (messages) and "ficm-line" (a shared page, rf_map).
 *
 *   ficm-a  client, on the first CPU.  Runs BLOCKS rounds, each of n/BLOCKS
 *           round trips of four kinds, after a tenth of that unrecorded:
 *             line  the floor: a raw shared-variable ping-pong on the page
 *                   (writes an odd value, waits for the next even one);
 *             pair  the floor of a pair of one-way channels: the same on
 *                   two lines, one per direction (the client writes a
 *                   word, the server echoes it into another, two lines
 *                   away), as any two rings need at least;
 *             56b   one FICM message each way (56-byte payload: one
 *                   64-byte cache line on the wire, RFcom's one-slot path);
 *             64b   a 64-byte payload (RFcom fragments past 56 bytes: two
 *                   slots each way).
 *           Interleaving the kinds, instead of one long run each, is what
 *           makes their ratio mean something on a shared VM: a vCPU
 *           migration or a noisy neighbour hits all three alike.  One clock
 *           read per trip, as in ficm.c.  It prints its percentiles as one
 *           JSON line to stdout (rfd keeps it in STATE/logs/ficm-a.log).
 *   ficm-b  server, on the second CPU: echoes every message until the
 *           channel closes; a LINE or PAIR request (struct line_req, 16
 *           bytes, a length no echo uses) makes it answer that many trips
 *           of that floor.  Every floor spins as RFcom's reader does: the
 *           same pause (base_cpu_relax) between two looks.
 *
 * Both start first and wait for the channels by name; the driver then
 * creates them (chan_create, between the two), waits for the client to
 * exit, reads its line back and adds the fields.  prfd_stop ends rfd,
 * which (--cleanup) destroys both subOSes and the channels on every path.
 * rf_read/rf_write wait the RFcom way (spin, then the ring's futex), so the
 * numbers include what RFcom adds to a bare FICM ring: fragment marks,
 * reassembly, one publish per message.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/exitstatus.h"
#include "base/units.h"
#include "rf/rfcom.h"

#define CHAN        "ficm"
#define LINE_CHAN   "ficm-line"
#define CHAN_SLOTS  1024
#define MARK        "rfbench ficm-peer: result "
#define RAW_MARK    "rfbench ficm-peer: raw "
#define RAW_PER_LINE 256
#define PEER_BUF    4096
#define BLOCKS      10

enum { K_LINE, K_PAIR, K_56, K_64, K_N };
static const char *const kind_name[K_N] = { "line", "pair", "56b", "64b" };
static const size_t kind_size[K_N] = { 0, 0, 56, 64 };

/* The pair floor's answer word: two lines after the request word (the
 * page's first), so that neither adjacent-line prefetch nor false sharing
 * joins them. */
#define PAIR_ANSWER (128 / sizeof(uint64_t))

/* Client -> server: "answer `count` trips of the floor `tag`, the first
 * at start + 1". */
struct line_req {
	char tag[4];           /* "LINE" or "PAIR" */
	uint32_t count;
	uint64_t start;
};

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ---- the programs inside the subOSes ---------------------------------------- */

static int open_wait(const char *name)
{
	for (int i = 0; i < 1000; i++) {   /* up to 10 s: the driver creates it */
		int h = rf_open(name, 0);
		if (h != -ENOENT)
			return h;
		nap_ms(10);
	}
	return -ETIMEDOUT;
}

static _Atomic uint64_t *map_wait(const char *name)
{
	for (int i = 0; i < 1000; i++) {
		size_t len = 0;
		void *p = rf_map(name, &len);
		if (p && len >= sizeof(uint64_t))
			return p;
		if (p)
			rf_unmap(p);
		nap_ms(10);
	}
	return NULL;
}

/* Wait until *ball == want; false if the peer seems gone (stalled). */
static bool line_wait(_Atomic uint64_t *ball, uint64_t want)
{
	unsigned spins = 0;
	uint64_t since = 0;
	while (atomic_load_explicit(ball, memory_order_acquire) != want) {
		base_cpu_relax();
		if (stalled(&spins, &since))
			return false;
	}
	return true;
}

static int serve_line(_Atomic uint64_t *ball, const struct line_req *q)
{
	if (memcmp(q->tag, "PAIR", 4) == 0) {
		for (uint64_t v = q->start + 1; v <= q->start + q->count; v++) {
			if (!line_wait(ball, v))
				return -1;
			atomic_store_explicit(&ball[PAIR_ANSWER], v, memory_order_release);
		}
		return 0;
	}
	for (uint64_t v = q->start + 1; v < q->start + 2ull * q->count; v += 2) {
		if (!line_wait(ball, v))
			return -1;
		atomic_store_explicit(ball, v + 1, memory_order_release);
	}
	return 0;
}

static bool is_floor_req(const unsigned char *buf, ssize_t r)
{
	return r == (ssize_t)sizeof(struct line_req) &&
	       (memcmp(buf, "LINE", 4) == 0 || memcmp(buf, "PAIR", 4) == 0);
}

static int peer_serve(const char *chan, const char *line_chan)
{
	static unsigned char buf[PEER_BUF];
	_Atomic uint64_t *ball = map_wait(line_chan);
	int h = open_wait(chan), rc = 1;
	if (h < 0 || !ball) {
		fprintf(stderr, "rfbench ficm-peer: cannot open %s and map %s\n", chan, line_chan);
		goto out;
	}
	for (;;) {
		ssize_t r = rf_read(h, buf, sizeof(buf));
		if (r == -EPIPE) {
			rc = 0;
			break;
		}
		if (is_floor_req(buf, r)) {
			struct line_req q;
			memcpy(&q, buf, sizeof(q));
			if (serve_line(ball, &q))
				break;
			continue;
		}
		if (r < 0 || r > (ssize_t)sizeof(buf) || rf_write(h, buf, (size_t)r) != r) {
			fprintf(stderr, "rfbench ficm-peer: echo on %s failed (%ld)\n", chan, (long)r);
			break;
		}
	}
out:
	if (h >= 0)
		rf_close(h);
	if (ball)
		rf_unmap(ball);
	return rc;
}

/* One clock read per round trip: each trip is the time since the last. */
struct laps {
	uint64_t prev;
	struct series *s;   /* NULL: warm-up, not recorded */
};

static struct laps laps_start(struct series *s)
{
	return (struct laps){ base_now_ns(), s };
}

static void lap(struct laps *l)
{
	uint64_t t = base_now_ns();
	if (l->s)
		series_add(l->s, t - l->prev);
	l->prev = t;
}

/* Round trips of a floor: on the shared line (the client writes v + 1, the
 * server answers v + 2 in the same word), or on two lines (pair: the
 * server echoes v + 1 into the answer word).  *v is the last value
 * written; both floors only count it up, so they share the request word. */
static int floor_trips(int h, _Atomic uint64_t *ball, bool pair, uint64_t *v, int n,
		       struct series *hist)
{
	struct line_req q = { { 0 }, (uint32_t)n, *v };
	_Atomic uint64_t *answer = pair ? &ball[PAIR_ANSWER] : ball;
	uint64_t step = pair ? 1 : 2;
	memcpy(q.tag, pair ? "PAIR" : "LINE", sizeof(q.tag));
	if (rf_write(h, &q, sizeof(q)) != (ssize_t)sizeof(q))
		return -1;
	struct laps l = laps_start(hist);
	for (int i = 0; i < n; i++) {
		atomic_store_explicit(ball, *v + 1, memory_order_release);
		if (!line_wait(answer, *v + step))
			return -1;
		*v += step;
		lap(&l);
	}
	return 0;
}

/* n round trips of `size` bytes on the message channel. */
static int msg_trips(int h, size_t size, int n, struct series *hist)
{
	unsigned char out[64] = { 0 }, in[PEER_BUF];
	struct laps l = laps_start(hist);
	for (int i = 0; i < n; i++) {
		memcpy(out, &i, sizeof(i));
		if (rf_write(h, out, size) != (ssize_t)size ||
		    rf_read(h, in, sizeof(in)) != (ssize_t)size || memcmp(in, out, size) != 0)
			return -1;
		lap(&l);
	}
	return 0;
}

/* One block: n trips of every kind (hist NULL: warm-up, not recorded). */
static int block(int h, _Atomic uint64_t *ball, uint64_t *v, int n, struct series *hist)
{
	for (int k = K_LINE; k <= K_PAIR; k++)
		if (floor_trips(h, ball, k == K_PAIR, v, n, hist ? &hist[k] : NULL))
			return k + 1;
	for (int k = K_56; k < K_N; k++)
		if (msg_trips(h, kind_size[k], n, hist ? &hist[k] : NULL))
			return k + 1;
	return 0;
}

static void put_hist(struct json_object *o, const char *kind, const struct base_hist *h)
{
	static const struct {
		const char *name;
		double p;
	} pcts[] = { { "p50", 50 }, { "p99", 99 }, { "p999", 99.9 } };
	char k[32];
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		snprintf(k, sizeof(k), "%s_%s", pcts[i].name, kind);
		json_object_object_add(o, k, json_object_new_int64(
			(int64_t)base_hist_percentile(h, pcts[i].p)));
	}
	snprintf(k, sizeof(k), "max_%s", kind);
	json_object_object_add(o, k, json_object_new_int64((int64_t)h->max));
}

/* Every recorded trip of s, RAW_PER_LINE to a line after RAW_MARK and the
 * kind, for the driver's CSV (read_raw). */
static void put_raw(const char *kind, const struct series *s)
{
	for (int i = 0; i < s->n; i++) {
		if (i % RAW_PER_LINE == 0)
			printf("%s%s:", RAW_MARK, kind);
		printf(" %" PRIu64, s->raw[i]);
		if (i % RAW_PER_LINE == RAW_PER_LINE - 1 || i == s->n - 1)
			putchar('\n');
	}
}

static int peer_client(const char *chan, const char *line_chan, int n)
{
	static struct series hist[K_N];
	_Atomic uint64_t *ball = map_wait(line_chan);
	int h = open_wait(chan), cpu = sched_getcpu(), per = n / BLOCKS > 0 ? n / BLOCKS : 1;
	uint64_t v = 0;
	int bad = 0;
	if (h < 0 || !ball) {
		fprintf(stderr, "rfbench ficm-peer: cannot open %s and map %s\n", chan, line_chan);
		bad = 1;
		goto out;
	}
	atomic_store(ball, 0);
	for (int k = 0; k < K_N; k++)
		series_init(&hist[k], kind_name[k], "ns", per * BLOCKS);
	bad = block(h, ball, &v, per / 10 + 1, NULL);
	for (int b = 0; b < BLOCKS && !bad; b++)
		bad = block(h, ball, &v, per, hist);
	if (bad) {
		fprintf(stderr, "rfbench ficm-peer: the %s ping-pong failed\n", kind_name[bad - 1]);
		goto out;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "round_trips", json_object_new_int(per * BLOCKS));
	json_object_object_add(o, "blocks", json_object_new_int(BLOCKS));
	json_object_object_add(o, "cpu", json_object_new_int(cpu));
	for (int k = 0; k < K_N; k++) {
		put_hist(o, kind_name[k], &hist[k].h);
		put_raw(kind_name[k], &hist[k]);
	}
	printf("%s%s\n", MARK, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
out:
	if (h >= 0)
		rf_close(h);
	if (ball)
		rf_unmap(ball);
	return bad ? 1 : 0;
}

int ficm_peer_main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[0], "serve") == 0)
		return peer_serve(argv[1], argv[2]);
	if (argc == 4 && strcmp(argv[0], "client") == 0 && atoi(argv[3]) > 0)
		return peer_client(argv[1], argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: rfbench ficm-peer serve CHAN LINECHAN | client CHAN LINECHAN N\n");
	return 2;
}

/* ---- the driver --------------------------------------------------------------- */

/* Send a request; 0 if rfd said ok, else -1 with the reason in err. */
static int call(struct private_rfd *p, const struct base_request *req, struct json_object **res,
		char *err, size_t errlen, const char *what)
{
	struct json_object *a = prfd_call(p, req, NULL);
	if (!a || !base_answer_ok(a)) {
		snprintf(err, errlen, "%s: %s", what,
			 a ? base_answer_message(a) : "no answer from rfd");
		json_object_put(a);
		return -1;
	}
	if (res)
		*res = json_object_get(base_answer_result(a));
	json_object_put(a);
	return 0;
}

/* Wait for subOS `name` to exit; its exit code, or -1 (timeout: err). */
static int wait_exit(struct private_rfd *p, const char *name, long ms, char *err, size_t errlen)
{
	for (long t = 0; t < ms; t += 20) {
		struct json_object *r = NULL, *v;
		char what[64];
		snprintf(what, sizeof(what), "show %s", name);
		struct base_request show = req_named(RF_VERB_SHOW, name);
		if (call(p, &show, &r, err, errlen, what))
			return -1;
		const char *state = json_object_object_get_ex(r, "state", &v) ?
					    json_object_get_string(v) : "";
		if (strcmp(state, "exited") == 0) {
			int st = base_exit_status_from_json(r), code = st >= 0 ? st : -1;
			json_object_put(r);
			if (code != 0)
				snprintf(err, errlen, "%s exited with status %d", name, code);
			return code;
		}
		json_object_put(r);
		nap_ms(20);
	}
	snprintf(err, errlen, "%s did not finish within %ld s", name, ms / 1000);
	return -1;
}

/* The client's result line from its log, parsed; NULL if none. */
static struct json_object *read_result(const struct private_rfd *p, const char *name)
{
	char path[400], line[2048];
	struct json_object *res = NULL;
	snprintf(path, sizeof(path), "%s/logs/%s.log", p->dir, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, MARK, strlen(MARK)) == 0) {
			json_object_put(res);
			res = json_tokener_parse(line + strlen(MARK));
		}
	fclose(f);
	return res;
}

/* The client's raw trips from its log (put_raw's lines) into raw[kind]. */
static void read_raw(const struct private_rfd *p, const char *name, struct series raw[K_N])
{
	char path[400], *line = NULL;
	size_t cap = 0, mark = strlen(RAW_MARK);
	snprintf(path, sizeof(path), "%s/logs/%s.log", p->dir, name);
	FILE *f = fopen(path, "re");
	while (f && getline(&line, &cap, f) > 0) {
		char *colon, *end;
		if (strncmp(line, RAW_MARK, mark) != 0 || !(colon = strchr(line + mark, ':')))
			continue;
		int k = 0;
		while (k < K_N && strncmp(line + mark, kind_name[k], (size_t)(colon - line) - mark))
			k++;
		for (char *q = colon + 1; k < K_N; q = end) {
			uint64_t v = strtoull(q, &end, 10);
			if (end == q)
				break;
			series_add(&raw[k], v);
		}
	}
	free(line);
	if (f)
		fclose(f);
}

/* On failure: what a subOS program said (its log goes with the state dir). */
static void dump_log(const struct private_rfd *p, const char *name)
{
	char path[400], line[512];
	snprintf(path, sizeof(path), "%s/logs/%s.log", p->dir, name);
	FILE *f = p->dir[0] ? fopen(path, "re") : NULL;
	for (int i = 0; f && i < 20 && fgets(line, sizeof(line), f); i++)
		fprintf(stderr, "  %s: %s", name, line);
	if (f)
		fclose(f);
}

static int64_t get(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : -1;
}

static void add_kind(struct json_object *out, struct json_object *r, const char *prefix,
		     const char *kind)
{
	static const char *const keys[] = { "p50", "p99", "p999", "max" };
	char src[32], dst[64];
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(src, sizeof(src), "%s_%s", keys[i], kind);
		snprintf(dst, sizeof(dst), "%s_%s", prefix, keys[i]);
		json_object_object_add(out, dst, json_object_new_int64(get(r, src)));
	}
}

static void add_ratio(struct json_object *out, const char *name, int64_t num, int64_t den)
{
	json_object_object_add(out, name, json_object_new_double(
		num > 0 && den > 0 ? (double)num / (double)den : -1));
}

/* The headline fields: FICM between the subOSes against the floors between
 * the same subOSes (interleaved), against the bare ring pair ficm.c
 * measured between two processes on the same two CPUs (already in out),
 * and against the busy-polling Unix socket there (busy_ns). */
static void report(struct json_object *out, struct json_object *r, const int cpu[2],
		   uint64_t busy_ns)
{
	struct json_object *cpus = json_object_new_array();
	int64_t rtt = get(r, "p50_56b");
	json_object_object_add(out, "transport", json_object_new_string(
		"RFcom channel brokered by rfd between two linux subOSes; one FICM message "
		"(56-byte payload, one 64-byte line) each way"));
	/* where the client found itself running (rfd placed it), and the server's */
	json_object_array_add(cpus, json_object_new_int((int)get(r, "cpu")));
	json_object_array_add(cpus, json_object_new_int(cpu[1]));
	json_object_object_add(out, "cpus", cpus);
	add_kind(out, r, "rtt_ns", "56b");
	add_kind(out, r, "cacheline_rtt_ns", "line");
	add_kind(out, r, "cacheline_pair_rtt_ns", "pair");
	add_kind(out, r, "rtt_64b_payload_ns", "64b");
	json_object_object_add(out, "round_trips", json_object_new_int64(get(r, "round_trips")));
	json_object_object_add(out, "interleaved_blocks", json_object_new_int64(get(r, "blocks")));
	add_ratio(out, "rtt_over_cacheline", rtt, get(r, "p50_line"));
	add_ratio(out, "rtt_over_cacheline_pair", rtt, get(r, "p50_pair"));
	add_ratio(out, "rtt_over_process_rtt", rtt, get(out, "process_rtt_ns_p50"));
	add_ratio(out, "unix_busypoll_over_rtt", (int64_t)busy_ns, rtt);
}

/* Judged on the median of the runs (runs.c); a missing figure (-1 or
 * absent: the subOS part failed) meets nothing.  The floor is the one-line
 * ping-pong; the peer is the same ring pair without rfd and RFcom. */
void ficm_targets(struct json_object *fig, struct json_object *t)
{
	double rtt = bench_fig(fig, "rtt_ns_p50"), line = bench_fig(fig, "cacheline_rtt_ns_p50");
	double proc = bench_fig(fig, "process_rtt_ns_p50");
	bench_target(t, "rtt_ns_p50 <= 1.5 x cacheline_rtt_ns_p50",
		     rtt > 0 && line > 0 && rtt <= 1.5 * line);
	bench_target(t, "rtt_ns_p50 <= 1.1 x process_rtt_ns_p50",
		     rtt > 0 && proc > 0 && rtt <= 1.1 * proc);
}

/* A channel of `kind` between the two peers: msg with `geometry` slots,
 * map of `geometry` bytes. */
static struct base_request chan_between(const char *name, enum base_chan_kind kind,
					uint64_t geometry)
{
	struct base_request r = req_named(RF_VERB_CHAN_CREATE, name);
	r.chan_kind = kind;
	r.has_chan_kind = true;
	r.between[0] = "ficm-a";
	r.between[1] = "ficm-b";
	r.has_slots = kind == RF_CHAN_MSG;
	r.has_size = kind == RF_CHAN_MAP;
	r.slots = r.size = geometry;
	return r;
}

/* The server first (it only waits), then the client, then the channels. */
static int start_peers(struct private_rfd *p, const char *self, const int cpu[2], int n,
		       char *err, size_t errlen)
{
	char cpus[2][16], count[16];
	snprintf(cpus[0], sizeof(cpus[0]), "%d", cpu[0]);
	snprintf(cpus[1], sizeof(cpus[1]), "%d", cpu[1]);
	snprintf(count, sizeof(count), "%d", n);
	const char *argv_b[] = { self, "ficm-peer", "serve", CHAN, LINE_CHAN, NULL };
	const char *argv_a[] = { self, "ficm-peer", "client", CHAN, LINE_CHAN, count, NULL };
	struct base_request b = req_create("ficm-b", RF_KIND_LINUX, cpus[1], 64ull << 20, argv_b);
	struct base_request a = req_create("ficm-a", RF_KIND_LINUX, cpus[0], 64ull << 20, argv_a);
	struct base_request msg = chan_between(CHAN, RF_CHAN_MSG, CHAN_SLOTS);
	struct base_request map = chan_between(LINE_CHAN, RF_CHAN_MAP, 4096);
	return call(p, &b, NULL, err, errlen, "create ficm-b") ||
	       call(p, &a, NULL, err, errlen, "create ficm-a") ||
	       call(p, &msg, NULL, err, errlen, "chan_create " CHAN) ||
	       call(p, &map, NULL, err, errlen, "chan_create " LINE_CHAN) ? -1 : 0;
}

int ficm_subos(const struct bench_opts *o, const int cpu[2], int n, uint64_t busy_ns,
	       struct json_object *out, struct series raw[K_N])
{
	const char *extra[] = { "--host-cores", "", NULL };
	struct private_rfd p = { 0 };
	struct json_object *res = NULL;
	char err[512] = "", self[300];
	int rc = -1;

	if (cpu[0] == cpu[1]) {
		json_object_object_add(out, "error", json_object_new_string(
			"two subOSes need two CPUs; only one is available"));
		return 0;
	}
	snprintf(self, sizeof(self), "%s/rfbench", o->build_dir);
	if (prfd_start(&p, o, extra)) {
		snprintf(err, sizeof(err), "rfd did not start");
		goto out;
	}
	if (start_peers(&p, self, cpu, n, err, sizeof(err)))
		goto out;
	/* 4 x 1.01 n round trips of a few microseconds at most, and the start. */
	if (wait_exit(&p, "ficm-a", 30000 + (long)n / 10, err, sizeof(err)) != 0)
		goto out;
	if (!(res = read_result(&p, "ficm-a"))) {
		snprintf(err, sizeof(err), "no result line in ficm-a's log");
		goto out;
	}
	if (wait_exit(&p, "ficm-b", 5000, err, sizeof(err)) != 0)
		goto out;
	report(out, res, cpu, busy_ns);
	read_raw(&p, "ficm-a", raw);
	rc = 0;
out:
	if (rc) {
		fprintf(stderr, "rfbench ficm: subOS ping-pong: %s\n", err);
		dump_log(&p, "ficm-a");
		dump_log(&p, "ficm-b");
		json_object_object_add(out, "error", json_object_new_string(err));
	}
	json_object_put(res);
	prfd_stop(&p);
	return rc;
}
