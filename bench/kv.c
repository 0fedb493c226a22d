/*
 * kv.c - `rfbench kv`: the highest request rate a memcached-protocol
 * service sustains with its p99 latency within an objective, RainForest's
 * KV service against Debian's memcached on the same core, driven by the
 * same open-loop generator (Figure 12 of the RainForest paper; EbbRT's
 * memcached experiment, whose library OS sustained about 1.5x Linux's
 * rate at its latency objective).
 *
 *   rainforest  build/rfkv (apps/rfkv, on librf) as a libos subOS of a
 *               private rfd, on CPU 1;
 *   memcached   /usr/bin/memcached -t 1 (one worker thread for one core),
 *               pinned to CPU 1 (sched_setaffinity, as taskset does: every
 *               thread it starts inherits it).
 *
 * Placement, and why.  These machines have two cores.  Each server gets
 * CPU 1 to itself; build/rfload (one thread, 16 connections) runs on CPU 0
 * with the host (rfd and rfbench, idle while a point runs).  The other
 * ways to use two cores measure something else: a server on both cores
 * would share one with the generator, and the result would be how the
 * kernel's scheduler splits that core between a spinning generator and
 * the server's threads (librf's pinned, polling core threads and
 * memcached's sleeping ones fare very differently there), not what the
 * server sustains; and rfd keeps CPU 0 for the host anyway.  With loopback
 * TCP the kernel does a send's delivery on the sender's core, so both
 * servers pay the same kernel share on CPU 1 and the generator's on CPU 0.
 * rfd is never in the data path (it pins itself to the host's CPU 0).
 *
 * The objective.  Each run first measures both servers unloaded (5000
 * requests/s over TCP; the keys are stored first) and takes slo_us =
 * SLO_FACTOR x the worse of the two p99s, so the objective is the
 * machine's own (these virtual machines lose milliseconds to the
 * hypervisor now and then, which sets their tail) and the same for both
 * systems.  Then, for each system, the search of kv_sweep.c: coarse steps
 * x2 from 20000/s (up to 3M/s), then bisection to within 5 %, a point
 * passing when p99 <= slo_us and the achieved rate is >= 95 % of the
 * offered one.
 *
 * RFloop.  Both systems are measured again with the generator under
 * RFloop (rfload --rfloop: librfloop.so, the private rfd's registry),
 * memcached then under LD_PRELOAD=librfloop.so too; rfkv is the same
 * subOS (librf serves RFloop natively once it can; until then its client
 * falls back to kernel TCP).  What carried the connections is read from
 * librfloop's counters (kv_load.c) and reported as rfloop_carried, so a
 * fallback is never reported as RFloop.
 *
 * Order.  Odd runs measure rainforest first, even runs memcached first, so
 * that slow drift of the machine's noise does not always favour one side.
 * Every server instance is stopped before the next starts: one server on
 * CPU 1 at a time.
 *
 * Figures: max_rate_{rainforest,memcached}[_rfloop] (requests/s
 * achieved), ratio (rainforest / memcached over TCP), ratio_rfloop,
 * slo_us and how it was chosen, unloaded_p99_us, cores, placement, load
 * (the generator's settings and where it ran), rfloop_carried,
 * rfloop_connections, generator_bound and rate_capped (a figure that is
 * only a lower bound: rfload could not finish its schedule while the
 * server had spare time, or the search reached its
 * highest rate), points.  Curves: results/kv.csv and
 * results/kv.png (kv_plot.c).  Target: ratio >= 1.5.  -n N: each point
 * measures N x 10 ms (default 1 s); --quick: shorter points, coarser
 * steps, no retries.
 */
#define _GNU_SOURCE
#include "kv.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLO_FACTOR     5
#define UNLOADED_RATE  5000.0

struct kv_run {
	const struct bench_opts *o;
	struct private_rfd p;
	char stats[320];
	struct kv_server srv;         /* the live instance */
	struct kv_search search;
	struct kv_curve unloaded[KV_SYSTEMS];
	struct kv_curve curve[KV_SYSTEMS][KV_CLIENTS];
};

static struct kv_load load_for(struct kv_run *r, enum kv_client cl)
{
	bool quick = r->o->quick;
	return (struct kv_load){ .o = r->o, .srv = &r->srv, .client = cl, .rf_socket = r->p.sock,
				 .stats = r->stats, .seconds = r->o->iterations / 100.0,
				 .warmup = quick ? 0.1 : 0.3, .preload = true };
}

/* Both systems unloaded, over TCP: the objective. */
static int unloaded(struct kv_run *r)
{
	static const enum kv_session first[KV_SYSTEMS] = { S_RAINFOREST, S_MEMCACHED_TCP };
	double worse = 0;

	for (int sys = 0; sys < KV_SYSTEMS; sys++) {
		struct kv_curve *c = &r->unloaded[sys];
		if (kv_server_start(&r->srv, first[sys]))
			return -1;
		struct kv_load l = load_for(r, KV_TCP);
		l.seconds = r->o->quick ? 0.3 : 3;
		int rc = kv_load_point(&l, UNLOADED_RATE, &c->pt[0]);
		kv_server_stop(&r->srv);
		if (rc || c->pt[0].failed)
			return -1;
		c->n = 1;
		if (c->pt[0].p99_us > worse)
			worse = c->pt[0].p99_us;
	}
	r->search.slo_us = SLO_FACTOR * worse;
	for (int sys = 0; sys < KV_SYSTEMS; sys++) {
		kv_point_judge(&r->unloaded[sys].pt[0], r->search.slo_us);
		kv_csv_write(r->o, (enum kv_system)sys, KV_TCP, &r->unloaded[sys], r->search.slo_us);
	}
	return 0;
}

/* One server instance and its sweeps: rfkv's subOS serves both clients. */
static int session_sweeps(struct kv_run *r, enum kv_session s)
{
	enum kv_system sys = s == S_RAINFOREST ? KV_RAINFOREST : KV_MEMCACHED;
	int rc = kv_server_start(&r->srv, s);

	for (int cl = 0; rc == 0 && cl < KV_CLIENTS; cl++) {
		if ((s == S_MEMCACHED_TCP && cl == KV_RFLOOP) ||
		    (s == S_MEMCACHED_RFLOOP && cl == KV_TCP))
			continue;
		struct kv_load l = load_for(r, (enum kv_client)cl);
		l.preload = cl == KV_TCP || s != S_RAINFOREST;   /* first use of this instance */
		rc = kv_sweep(&l, &r->search, &r->curve[sys][cl]);
		kv_csv_write(r->o, sys, (enum kv_client)cl, &r->curve[sys][cl], r->search.slo_us);
	}
	kv_server_stop(&r->srv);
	return rc;
}

static void put_d(struct json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, json_object_new_double(v));
}

static struct json_object *pair_b(bool rf, bool mc)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, kv_system_name[KV_RAINFOREST], json_object_new_boolean(rf));
	json_object_object_add(o, kv_system_name[KV_MEMCACHED], json_object_new_boolean(mc));
	return o;
}

static struct json_object *connections(const struct kv_curve *c)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "rfloop", json_object_new_int64(c->conn_rfloop));
	json_object_object_add(o, "tcp", json_object_new_int64(c->conn_tcp));
	return o;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/* Were c's connections carried by RFloop?  Nearly all, not all: one
 * connection of hundreds that found the rendezvous busy and fell back does
 * not make the curve a TCP one (kv.csv says so per point). */
static bool carried(const struct kv_curve *c)
{
	return c->conn_rfloop > 0 && c->conn_rfloop >= 0.95 * (double)(c->conn_rfloop + c->conn_tcp);
}

/* The RFloop figures: what carried each system's --rfloop connections. */
static void report_rfloop(const struct kv_run *r, struct json_object *out)
{
	const struct kv_curve *rf = &r->curve[KV_RAINFOREST][KV_RFLOOP];
	const struct kv_curve *mc = &r->curve[KV_MEMCACHED][KV_RFLOOP];
	struct json_object *conns = json_object_new_object();

	put_d(out, "max_rate_rainforest_rfloop", rf->max_rate);
	put_d(out, "max_rate_memcached_rfloop", mc->max_rate);
	put_d(out, "ratio_rfloop", ratio(rf->max_rate, mc->max_rate));
	json_object_object_add(out, "rfloop_carried", pair_b(carried(rf), carried(mc)));
	json_object_object_add(out, "rfloop_carried_rule", json_object_new_string(
		"at least 95 % of the generator's --rfloop connections went over RFloop "
		"(librfloop's connect_rfloop against connect_tcp, summed over the sweep)"));
	json_object_object_add(conns, kv_system_name[KV_RAINFOREST], connections(rf));
	json_object_object_add(conns, kv_system_name[KV_MEMCACHED], connections(mc));
	json_object_object_add(out, "rfloop_connections", conns);
}

static void report_how(const struct kv_run *r, struct json_object *out)
{
	char s[400];
	struct kv_load l = load_for((struct kv_run *)r, KV_TCP);

	json_object_object_add(out, "cores", json_object_new_int(1));
	json_object_object_add(out, "placement", json_object_new_string(
		"each server alone on CPU 1 (rfkv: libos subOS of a private rfd; memcached -t 1: "
		"sched_setaffinity); rfload, rfd and rfbench on CPU 0; one server at a time"));
	json_object_object_add(out, "load", kv_load_describe(&l));
	snprintf(s, sizeof(s), "%d x the worse unloaded p99 of the two systems (%.0f requests/s "
		 "over TCP, %s s each, first in this run)", SLO_FACTOR, UNLOADED_RATE,
		 r->o->quick ? "0.3" : "3");
	json_object_object_add(out, "slo_rule", json_object_new_string(s));
	snprintf(s, sizeof(s), "coarse x%g from %.0f/s (at most %.0f/s) until a rate fails%s, "
		 "then bisection to within %.0f %%; pass: p99 <= slo_us and achieved >= 0.95 x "
		 "offered", r->search.factor, r->search.start, r->search.rate_max,
		 r->search.retry ? " twice" : "", r->search.precision * 100);
	json_object_object_add(out, "search", json_object_new_string(s));
}

static void report(const struct kv_run *r, struct json_object *out)
{
	const struct kv_curve *rf = &r->curve[KV_RAINFOREST][KV_TCP];
	const struct kv_curve *mc = &r->curve[KV_MEMCACHED][KV_TCP];
	struct json_object *un = json_object_new_object(), *gen = json_object_new_object();
	struct json_object *cap = json_object_new_object();
	int points = 2;

	put_d(out, "max_rate_rainforest", rf->max_rate);
	put_d(out, "max_rate_memcached", mc->max_rate);
	put_d(out, "ratio", ratio(rf->max_rate, mc->max_rate));
	put_d(out, "slo_us", r->search.slo_us);
	for (int s = 0; s < KV_SYSTEMS; s++) {
		put_d(un, kv_system_name[s], r->unloaded[s].pt[0].p99_us);
		for (int c = 0; c < KV_CLIENTS; c++) {
			char k[40];
			snprintf(k, sizeof(k), "%s%s", kv_system_name[s], c ? "_rfloop" : "");
			json_object_object_add(gen, k, json_object_new_boolean(
				r->curve[s][c].generator_bound));
			json_object_object_add(cap, k, json_object_new_boolean(
				r->curve[s][c].rate_capped));
			points += r->curve[s][c].n;
		}
	}
	json_object_object_add(out, "unloaded_p99_us", un);
	report_rfloop(r, out);
	json_object_object_add(out, "generator_bound", gen);
	json_object_object_add(out, "rate_capped", cap);
	json_object_object_add(out, "points", json_object_new_int(points));
	report_how(r, out);
}

void kv_targets(struct json_object *fig, struct json_object *t)
{
	bench_target(t, "ratio >= 1.5", bench_fig(fig, "ratio") >= 1.5);
}

int bench_kv(const struct bench_opts *o, struct json_object *out)
{
	static const enum kv_session order[2][S_COUNT] = {
		{ S_MEMCACHED_TCP, S_MEMCACHED_RFLOOP, S_RAINFOREST },   /* even runs */
		{ S_RAINFOREST, S_MEMCACHED_TCP, S_MEMCACHED_RFLOOP } };  /* odd runs */
	struct kv_run *r = calloc(1, sizeof(*r));
	int rc = -1;

	if (!r)
		return -1;
	r->o = o;
	r->srv = (struct kv_server){ .o = o, .p = &r->p, .pid = -1 };
	r->search = (struct kv_search){ .start = 20000, .factor = o->quick ? 3 : 2,
					.precision = o->quick ? 0.5 : 0.05,
					.rate_max = o->quick ? 6e5 : 3e6, .retry = !o->quick,
					.settle_ns = 200000000 };   /* the server drops a backlog */
	if (access(KV_MEMCACHED_BIN, X_OK) != 0) {
		json_object_object_add(out, "error", json_object_new_string(
			KV_MEMCACHED_BIN " is not installed (mk/deps.sh)"));
		goto out;
	}
	if (prfd_start(&r->p, o, NULL))
		goto out;
	snprintf(r->stats, sizeof(r->stats), "%s/rfloop.stats", r->p.dir);
	if (unloaded(r))
		goto out;
	for (int i = 0; i < S_COUNT; i++)
		if (session_sweeps(r, order[o->run % 2][i]))
			goto out;
	report(r, out);
	rc = 0;
out:
	kv_server_stop(&r->srv);
	prfd_stop(&r->p);
	free(r);
	return rc;
}
