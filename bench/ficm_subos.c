/*
 * ficm_subos.c - the part of `rfbench ficm` that runs between two real
 * subOSes: a ping-pong over an RFcom channel that rfd brokers, next to the
 * two-process measurements of ficm.c, in the same run and JSON object.
 *
 * A private rfd (--host-cores "", so a 2-core machine holds two subOSes:
 * one on each of the CPUs ficm.c measured on) runs two `linux` subOSes,
 * each a re-executed rfbench (`rfbench ficm-peer ...`, a plain program
 * using RFcom as any application would):
 *
 *   ficm-a  client, on the first CPU: opens channel "ficm" with rf_open,
 *           then for a 56-byte message (one FICM slot: RFcom's fast path)
 *           and for a 64-byte one (RFcom fragments past 56 bytes: two
 *           slots each way) runs a tenth of N unrecorded round trips and
 *           N recorded ones: rf_write, then rf_read of the echo (checked),
 *           one clock read per trip as in ficm.c.  It prints its
 *           percentiles as one JSON line to stdout, which rfd keeps in
 *           STATE/logs/ficm-a.log.
 *   ficm-b  server, on the second CPU: echoes every message until the
 *           channel closes.
 *
 * Both start first and wait for the channel by name; the driver then
 * creates it (chan_create, between the two), waits for the client to exit,
 * reads its line back and adds the subos_* fields.  prfd_stop ends rfd,
 * which (--cleanup) destroys both subOSes and the channel on every path.
 * rf_read/rf_write wait the RFcom way (spin, then the ring's futex), so the
 * numbers include what RFcom adds to a bare FICM ring: fragment marks,
 * reassembly, one publish per message.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "common/units.h"
#include "rf/rfcom.h"

#define CHAN        "ficm"
#define CHAN_SLOTS  1024
#define MARK        "rfbench ficm-peer: result "
#define PEER_BUF    4096

static const size_t sizes[2] = { 56, 64 };

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

static int peer_serve(const char *chan)
{
	static unsigned char buf[PEER_BUF];
	int h = open_wait(chan);
	if (h < 0) {
		fprintf(stderr, "rfbench ficm-peer: open %s: %s\n", chan, strerror(-h));
		return 1;
	}
	for (;;) {
		ssize_t r = rf_read(h, buf, sizeof(buf));
		if (r == -EPIPE)
			break;
		if (r < 0 || r > (ssize_t)sizeof(buf) || rf_write(h, buf, (size_t)r) != r) {
			fprintf(stderr, "rfbench ficm-peer: echo on %s failed (%ld)\n", chan, (long)r);
			rf_close(h);
			return 1;
		}
	}
	rf_close(h);
	return 0;
}

/* warm + n round trips of `size` bytes; the recorded ones go into h. */
static int ping_pong(int h, size_t size, int n, int warm, struct rf_hist *hist)
{
	unsigned char out[64] = { 0 }, in[PEER_BUF];
	uint64_t prev = rf_mono_ns();
	for (int i = 0; i < n + warm; i++) {
		memcpy(out, &i, sizeof(i));
		if (rf_write(h, out, size) != (ssize_t)size ||
		    rf_read(h, in, sizeof(in)) != (ssize_t)size || memcmp(in, out, size) != 0)
			return -1;
		uint64_t t = rf_mono_ns();
		if (i >= warm)
			rf_hist_record(hist, t - prev);
		prev = t;
	}
	return 0;
}

static void put_hist(struct json_object *o, size_t size, const struct rf_hist *h)
{
	static const struct {
		const char *name;
		double p;
	} pcts[] = { { "p50", 50 }, { "p99", 99 }, { "p999", 99.9 } };
	char k[32];
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		snprintf(k, sizeof(k), "%s_%zub", pcts[i].name, size);
		json_object_object_add(o, k, json_object_new_int64(
			(int64_t)rf_hist_percentile(h, pcts[i].p)));
	}
	snprintf(k, sizeof(k), "max_%zub", size);
	json_object_object_add(o, k, json_object_new_int64((int64_t)h->max));
}

static int peer_client(const char *chan, int n)
{
	static struct rf_hist hist[2];
	int h = open_wait(chan), cpu = sched_getcpu();
	if (h < 0) {
		fprintf(stderr, "rfbench ficm-peer: open %s: %s\n", chan, strerror(-h));
		return 1;
	}
	for (int k = 0; k < 2; k++) {
		rf_hist_init(&hist[k]);
		if (ping_pong(h, sizes[k], n, n / 10, &hist[k])) {
			fprintf(stderr, "rfbench ficm-peer: %zu-byte ping-pong on %s failed\n",
				sizes[k], chan);
			rf_close(h);
			return 1;
		}
	}
	rf_close(h);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "round_trips", json_object_new_int(n));
	json_object_object_add(o, "cpu", json_object_new_int(cpu));
	for (int k = 0; k < 2; k++)
		put_hist(o, sizes[k], &hist[k]);
	printf("%s%s\n", MARK, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
	return 0;
}

int ficm_peer_main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[0], "serve") == 0)
		return peer_serve(argv[1]);
	if (argc == 3 && strcmp(argv[0], "client") == 0 && atoi(argv[2]) > 0)
		return peer_client(argv[1], atoi(argv[2]));
	fprintf(stderr, "usage: rfbench ficm-peer serve CHAN | client CHAN N\n");
	return 2;
}

/* ---- the driver --------------------------------------------------------------- */

/* Send a request; 0 if rfd said ok, else -1 with the reason in err. */
static int call(struct private_rfd *p, struct json_object *req, struct json_object **res,
		char *err, size_t errlen, const char *what)
{
	struct json_object *a = req ? prfd_call(p, req, NULL) : NULL;
	if (!a || !rf_answer_ok(a)) {
		snprintf(err, errlen, "%s: %s", what, a ? rf_answer_message(a) : "no answer from rfd");
		json_object_put(a);
		return -1;
	}
	if (res)
		*res = json_object_get(rf_answer_result(a));
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
		if (call(p, req_json("{\"verb\":\"show\",\"name\":\"%s\"}", name), &r, err, errlen,
			 what))
			return -1;
		const char *state = json_object_object_get_ex(r, "state", &v) ?
					    json_object_get_string(v) : "";
		if (strcmp(state, "exited") == 0) {
			int code = json_object_object_get_ex(r, "exit_code", &v) && v ?
					   json_object_get_int(v) : -1;
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

static void report(struct json_object *out, struct json_object *r, const int cpu[2],
		   uint64_t floor_ns)
{
	static const char *keys[] = { "p50", "p99", "p999", "max" };
	struct json_object *cpus = json_object_new_array();
	char src[32], dst[48];
	json_object_object_add(out, "subos_transport", json_object_new_string(
		"RFcom channel brokered by rfd between two linux subOSes"));
	/* where the client found itself running (rfd placed it), and the server's */
	json_object_array_add(cpus, json_object_new_int((int)get(r, "cpu")));
	json_object_array_add(cpus, json_object_new_int(cpu[1]));
	json_object_object_add(out, "subos_cpus", cpus);
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			snprintf(src, sizeof(src), "%s_%zub", keys[i], sizes[k]);
			snprintf(dst, sizeof(dst), "subos_rtt_ns_%s_%zub", keys[i], sizes[k]);
			json_object_object_add(out, dst, json_object_new_int64(get(r, src)));
		}
	json_object_object_add(out, "subos_round_trips",
			       json_object_new_int64(get(r, "round_trips")));
	int64_t p50 = get(r, "p50_56b");
	json_object_object_add(out, "subos_over_cacheline", json_object_new_double(
		floor_ns > 0 && p50 > 0 ? (double)p50 / (double)floor_ns : -1));
}

int ficm_subos(const struct bench_opts *o, const int cpu[2], int n, uint64_t floor_ns,
	       struct json_object *out)
{
	const char *extra[] = { "--host-cores", "", NULL };
	struct private_rfd p = { 0 };
	struct json_object *res = NULL;
	char err[512] = "", self[300];
	int rc = -1;

	if (cpu[0] == cpu[1]) {
		json_object_object_add(out, "subos_error", json_object_new_string(
			"two subOSes need two CPUs; only one is available"));
		return 0;
	}
	snprintf(self, sizeof(self), "%s/rfbench", o->build_dir);
	if (prfd_start(&p, o, extra)) {
		snprintf(err, sizeof(err), "rfd did not start");
		goto out;
	}
	/* The server first (it only waits), then the client, then the channel. */
	if (call(&p, req_json("{\"verb\":\"create\",\"name\":\"ficm-b\",\"kind\":\"linux\","
			      "\"cores\":\"%d\",\"mem\":%llu,\"argv\":[\"%s\",\"ficm-peer\","
			      "\"serve\",\"" CHAN "\"]}", cpu[1], 64ull << 20, self),
		 NULL, err, sizeof(err), "create ficm-b") ||
	    call(&p, req_json("{\"verb\":\"create\",\"name\":\"ficm-a\",\"kind\":\"linux\","
			      "\"cores\":\"%d\",\"mem\":%llu,\"argv\":[\"%s\",\"ficm-peer\","
			      "\"client\",\"" CHAN "\",\"%d\"]}", cpu[0], 64ull << 20, self, n),
		 NULL, err, sizeof(err), "create ficm-a") ||
	    call(&p, req_json("{\"verb\":\"chan_create\",\"name\":\"" CHAN "\",\"kind\":\"msg\","
			      "\"between\":[\"ficm-a\",\"ficm-b\"],\"slots\":%d}", CHAN_SLOTS),
		 NULL, err, sizeof(err), "chan_create"))
		goto out;
	/* 2 x 1.1 n round trips of a few microseconds at most, and the start. */
	if (wait_exit(&p, "ficm-a", 30000 + (long)n / 10, err, sizeof(err)) != 0)
		goto out;
	if (!(res = read_result(&p, "ficm-a"))) {
		snprintf(err, sizeof(err), "no result line in ficm-a's log");
		goto out;
	}
	if (wait_exit(&p, "ficm-b", 5000, err, sizeof(err)) != 0)
		goto out;
	report(out, res, cpu, floor_ns);
	rc = 0;
out:
	if (rc) {
		fprintf(stderr, "rfbench ficm: subOS ping-pong: %s\n", err);
		dump_log(&p, "ficm-a");
		dump_log(&p, "ficm-b");
		json_object_object_add(out, "subos_error", json_object_new_string(err));
	}
	json_object_put(res);
	prfd_stop(&p);
	return rc;
}
