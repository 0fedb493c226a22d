/*
 * kv_load.c - one load point of `rfbench kv`: build/rfload run once at one
 * rate against one server, pinned to the generator's CPU, its JSON report
 * read back, and - for an RFloop client - how its connections were really
 * carried.
 *
 * Every point of both systems is driven by the same command line but for
 * the port, the rate, --rfloop and whether the keys are stored first (the
 * first point of a server instance stores them; later points find them
 * there).  The workload is fixed here, in one place, so that nothing can
 * differ between the two systems but the server.
 *
 * RFloop honesty.  `rfload --rfloop` preloads librfloop.so, which takes an
 * RFloop connection only where rfd's registry names a listener for the port
 * and the kernel confirms it; anything else falls back to kernel TCP.  So
 * the client's request proves nothing: librfloop's own counters
 * (RF_LOOP_STATS, written by rfload at exit) say how many of rfload's
 * connections went over RFloop (connect_rfloop) and how many over TCP
 * (connect_tcp), and the driver reports those, not what was asked.
 *
 * A generator that cannot issue its schedule (an open loop sends every
 * request it was due to, however late) would run on for as long as its
 * backlog takes; rfload gets its schedule, its drain and SLACK_NS (three
 * times that when it stores the keys first), then is killed and the point
 * counts as failed (`timed_out`, latencies unknown: -1).
 */
#define _GNU_SOURCE
#include "kv.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define GEN_CPU   0               /* the generator's CPU (kv.c: the placement) */
#define KEYS      "10000"
#define KEY_DIST  "zipf:0.99"
#define GET_RATIO "0.9"
#define VAL_DIST  "etc"
#define VAL_MAX   "4096"
#define SEED      "1"
#define DRAIN     "0.5"           /* s: replies still awaited after the last send */
#define SPIN_US   "1000"          /* rfload polls when its next send is this close */
#define SLACK_NS  1500000000ull   /* rfload's run beyond its schedule and drain */

const char *const kv_system_name[KV_SYSTEMS] = { "rainforest", "memcached" };
const char *const kv_client_name[KV_CLIENTS] = { "tcp", "rfloop" };

struct json_object *kv_load_describe(const struct kv_load *l)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "generator", json_object_new_string(
		"build/rfload: open loop, Poisson arrivals, latency from the intended send time"));
	json_object_object_add(d, "cpu", json_object_new_int(GEN_CPU));
	json_object_object_add(d, "threads", json_object_new_int(1));
	json_object_object_add(d, "conns", json_object_new_int(KV_CONNS));
	json_object_object_add(d, "keys", json_object_new_int(atoi(KEYS)));
	json_object_object_add(d, "key_dist", json_object_new_string(KEY_DIST));
	json_object_object_add(d, "get_ratio", json_object_new_double(atof(GET_RATIO)));
	json_object_object_add(d, "value_dist", json_object_new_string(
		"etc (Facebook ETC sizes, rfload workload.c), capped at " VAL_MAX " bytes"));
	json_object_object_add(d, "seed", json_object_new_int(atoi(SEED)));
	json_object_object_add(d, "seconds_per_point", json_object_new_double(l->seconds));
	json_object_object_add(d, "warmup_s_per_point", json_object_new_double(l->warmup));
	json_object_object_add(d, "where", json_object_new_string(
		"on CPU 0 with the host (rfd, rfbench), the same command line for both systems; "
		"the server alone on CPU 1"));
	return d;
}

/* Read the child's stdout to its end into a growing buffer (caller frees);
 * NULL if deadline (base_now_ns) passes first. */
static char *slurp(int fd, uint64_t deadline)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);

	while (buf) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		uint64_t now = base_now_ns();
		if (now >= deadline || poll(&pf, 1, (int)((deadline - now) / 1000000 + 1)) == 0)
			break;
		if (len + 1 == cap) {
			char *b = realloc(buf, cap *= 2);
			if (!b)
				break;
			buf = b;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			buf[len] = '\0';
			return buf;
		}
		len += (size_t)n;
	}
	free(buf);
	return NULL;
}

static double num(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_double(v) : -1;
}

/* rfload's totals into pt; -1 if the report is not one. */
static int parse(const char *text, struct kv_point *pt)
{
	struct json_object *r = text ? json_tokener_parse(text) : NULL;

	if (!r)
		return -1;
	pt->achieved = num(r, "achieved_rate");
	pt->p50_us = num(r, "p50_us");
	pt->p99_us = num(r, "p99_us");
	pt->p999_us = num(r, "p999_us");
	pt->lag_p99_us = num(r, "send_lag_p99_us");
	pt->unanswered = (long)num(r, "unanswered");
	pt->errors = (long)num(r, "errors");
	json_object_put(r);
	return pt->achieved < 0 || pt->p99_us < 0 ? -1 : 0;
}

/* rfload's argument vector for this point, into argv (at least 40). */
static void args(const struct kv_load *l, const char **argv, char bufs[6][300], double rate)
{
	int n = 0;

	snprintf(bufs[0], 300, "%s/rfload", l->o->build_dir);
	snprintf(bufs[1], 300, "%d", l->srv->port);
	snprintf(bufs[2], 300, "%.0f", rate);
	snprintf(bufs[3], 300, "%g", l->seconds);
	snprintf(bufs[4], 300, "%g", l->warmup);
	snprintf(bufs[5], 300, "%d", KV_CONNS);
	const char *fixed[] = { bufs[0], "--port", bufs[1], "--rate", bufs[2], "--seconds",
				bufs[3], "--warmup", bufs[4], "--drain", DRAIN, "--conns", bufs[5],
				"--threads", "1", "--keys", KEYS, "--key-dist", KEY_DIST,
				"--get-ratio", GET_RATIO, "--value-dist", VAL_DIST, "--value-max",
				VAL_MAX, "--seed", SEED, "--spin-us", SPIN_US, "--json", NULL };
	for (; fixed[n]; n++)
		argv[n] = fixed[n];
	if (!l->preload)
		argv[n++] = "--no-preload";
	if (l->client == KV_RFLOOP)
		argv[n++] = "--rfloop";   /* librfloop.so beside rfload */
	argv[n] = NULL;
}

int kv_load_point(struct kv_load *l, double rate, struct kv_point *pt)
{
	char bufs[6][300], sock_env[400], stats_env[400];
	const char *argv[40], *env[3] = { NULL };
	int out = -1, st;

	memset(pt, 0, sizeof(*pt));
	pt->rate = rate;
	args(l, argv, bufs, rate);
	if (l->client == KV_RFLOOP) {
		snprintf(sock_env, sizeof(sock_env), "RF_SOCKET=%s", l->rf_socket);
		snprintf(stats_env, sizeof(stats_env), "RF_LOOP_STATS=%s", l->stats);
		env[0] = sock_env;
		env[1] = stats_env;
		unlink(l->stats);
	}
	int64_t b0 = kv_server_busy_ns(l->srv);
	uint64_t t0 = base_now_ns();
	pid_t pid = bench_spawn(argv, env, GEN_CPU, &out);
	if (pid < 0)
		return -1;
	char *text = slurp(out, t0 + (uint64_t)((l->warmup + l->seconds + atof(DRAIN)) * 1e9) +
				     SLACK_NS + (l->preload ? 2 * SLACK_NS : 0));
	close(out);
	/* No report in time: a generator that could not issue its schedule. */
	st = bench_stop(pid, text ? 0 : SIGKILL);   /* 0: only reaps */
	pt->timed_out = !text;
	if (!text)
		pt->p50_us = pt->p99_us = pt->p999_us = pt->lag_p99_us = -1;   /* unknown */
	int64_t b1 = kv_server_busy_ns(l->srv);
	pt->server_busy = b0 < 0 || b1 < b0 ? -1 : (double)(b1 - b0) / (double)(base_now_ns() - t0);
	int rc = text ? parse(text, pt) : 0;
	free(text);
	pt->failed = !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (l->client == KV_RFLOOP) {
		pt->conn_rfloop = bench_rfloop_stat(l->stats, "rfload", "connect_rfloop");
		pt->conn_tcp = bench_rfloop_stat(l->stats, "rfload", "connect_tcp");
	}
	if (text && rc == 0)
		l->preload = false;   /* the keys are in the server now */
	else if (rc)
		fprintf(stderr, "rfbench kv: rfload gave no report at %.0f/s (port %d)\n", rate,
			l->srv->port);
	return rc;
}
