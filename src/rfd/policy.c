/*
 * policy.c - the elastic policy's glue to rfd (see policy.h): the verb,
 * the timer, reading each latency subOS's window, and the tick that hands
 * policy_decide.c its members.  Carrying a move out is policy_move.c.
 *
 * The timer's period is the shortest window among the latency subOSes
 * (recomputed every tick, so a policy turned off or a subOS gone stops the
 * ticks); a subOS whose window is longer is read when its own window has
 * passed.  A tick reads only memory (the stats pages, the table), so its
 * cost is counted apart from the moves it starts and shown by
 * `rfm policy NAME` (controller.tick_ns_avg, tick_ns_max).
 */
#define _GNU_SOURCE
#include "rfd/policy.h"
#include "rfd/policy_impl.h"
#include "rfd/rfd.h"
#include "rfd/log.h"
#include "rfd/op.h"
#include "rfd/probe.h"
#include "rfd/stats.h"
#include "rfd/subos.h"
#include "rfd/watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "base/time.h"

/* A window ends at the first tick within this fraction of its end: the
 * timer's jitter must not push every window to the next tick. */
#define WINDOW_SLACK_DIV 16
#define MAX_MOVES 8

struct rfd_policy_run *rfd_policy_run_of(struct rfd_subos *s)
{
	if (!s->prun && (s->prun = calloc(1, sizeof(*s->prun))))
		s->prun->last_in = -1;
	return s->prun;
}

/* Start the next window now, from the subOS's counters (rebase). */
void rfd_policy_rebase(struct rfd *d, struct rfd_subos *s, uint64_t now)
{
	static struct rfd_stats st; /* 4 KiB: rfd has one thread */
	struct rfd_policy_run *r = rfd_policy_run_of(s);
	if (!r || !rfd_stats_read(s, &st))
		return;
	d->policy_cost.reads++;
	r->lat = st.lat;
	r->wait = st.wait;
	r->pid = s->pid;
	r->start_ns = now;
}

/* A probed (linux) subOS's window: the probe's replies, and no faster
 * than its oldest request still unanswered has waited, so that a service
 * that stopped answering reads as slow at once, not only at the timeout. */
static void probe_window(const struct rfd_subos *s, struct policy_window *w, uint64_t now)
{
	uint64_t oldest = rfd_probe_oldest_ns(s, now);
	w->used = RF_SIGNAL_PROBE;
	if (oldest > w->p99_ns)
		w->p99_ns = oldest;
}

/* The window of s, if it has passed: its signal into r->win (fresh), and
 * the next one begins.  A program restarted meanwhile starts over. */
static void sample(struct rfd *d, struct rfd_subos *s, struct rfd_policy_run *r, uint64_t now)
{
	static struct rfd_stats st;
	uint64_t w = (uint64_t)s->policy.window_ms * BASE_NS_PER_MS;
	if (r->start_ns && r->pid == s->pid && now + w / WINDOW_SLACK_DIV < r->start_ns + w)
		return;
	if (!rfd_stats_read(s, &st))
		return;
	d->policy_cost.reads++;
	if (r->start_ns && r->pid == s->pid) {
		policy_signal(&s->policy, &st.lat, &r->lat, &st.wait, &r->wait, &r->win);
		r->win.fresh = true;
		if (s->kind == RF_KIND_LINUX)
			probe_window(s, &r->win, now);
	}
	r->lat = st.lat;
	r->wait = st.wait;
	r->pid = s->pid;
	r->start_ns = now;
}

/* Arm the timer every period_ns (0: disarm), if that changes it. */
static void arm(struct rfd *d, uint64_t period_ns)
{
	if (d->policy_timer < 0 || period_ns == d->policy_period_ns)
		return;
	struct timespec ts = { (time_t)(period_ns / BASE_NS_PER_SEC),
			       (long)(period_ns % BASE_NS_PER_SEC) };
	struct itimerspec its = { .it_interval = ts, .it_value = ts };
	if (timerfd_settime(d->policy_timer, 0, &its, NULL) == 0)
		d->policy_period_ns = period_ns;
	else
		rfd_log("policy: cannot arm the timer: %s", strerror(errno));
}

static bool active(const struct rfd_subos *s)
{
	return s && s->policy.priority != RF_PRIO_OFF && s->life == RF_LIFE_RUNNING;
}

/* The shortest window of a running latency subOS, in ns (0: none). */
static uint64_t shortest_window(struct rfd *d)
{
	uint64_t best = 0;
	for (int i = 0; i < RF_MAX_SUBOS; i++) {
		struct rfd_subos *s = d->subos[i];
		uint64_t w = active(s) && s->policy.priority == RF_PRIO_LATENCY
				     ? (uint64_t)s->policy.window_ms * BASE_NS_PER_MS : 0;
		if (w && (!best || w < best))
			best = w;
	}
	return best;
}

/* s as a member of this tick; eff: its settings as this host can honour
 * them (a batch subOS keeps a core where nothing can pause it). */
static void member(struct rfd *d, struct rfd_subos *s, struct policy_member *m,
		   struct base_policy *eff, uint64_t now)
{
	struct rfd_policy_run *r = s->policy.priority == RF_PRIO_LATENCY ? rfd_policy_run_of(s)
									  : s->prun;
	*eff = s->policy;
	if (!rfd_enforce_can_pause(&d->enf) && eff->min_cores < 1)
		eff->min_cores = 1;
	*m = (struct policy_member){ .pol = eff, .cores = base_cpuset_count(&s->cpus) };
	m->busy = rfd_op_busy(d, s->name) || (r && r->moving);
	if (s->policy.priority != RF_PRIO_LATENCY || !r)
		return;
	if (!m->busy)
		sample(d, s, r, now);
	m->win = r->win;
	m->tr = &r->tr;
}

void rfd_policy_tick(struct rfd *d)
{
	static struct policy_member m[RF_MAX_SUBOS];
	static struct base_policy eff[RF_MAX_SUBOS];
	static struct rfd_subos *who[RF_MAX_SUBOS];
	struct policy_move mv[MAX_MOVES];
	struct base_cpuset fr;
	uint64_t t0 = base_now_ns(), expirations;
	int n = 0;
	if (read(d->policy_timer, &expirations, sizeof(expirations)) < 0) {
		/* EAGAIN: nothing expired (a spurious wake) */
	}
	for (int i = 0; i < RF_MAX_SUBOS; i++)
		if (active(d->subos[i])) {
			who[n] = d->subos[i];
			member(d, who[n], &m[n], &eff[n], t0);
			n++;
		}
	rfd_ptable_free_cpus(&d->pt, &fr);
	int k = policy_decide(m, n, base_cpuset_count(&fr), mv, MAX_MOVES);
	for (int i = 0; i < n; i++)
		if (who[i]->prun)
			who[i]->prun->win.fresh = false;
	uint64_t dt = base_now_ns() - t0; /* the controller's own cost: not the moves' */
	d->policy_cost.ticks++;
	d->policy_cost.ns_total += dt;
	if (dt > d->policy_cost.ns_max)
		d->policy_cost.ns_max = dt;
	for (int i = 0; i < k; i++)
		rfd_policy_move_start(d, &mv[i], who);
	arm(d, shortest_window(d));
}

int rfd_policy_start(struct rfd *d)
{
	d->policy_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->policy_timer < 0)
		return -1;
	if (rfd_watch_fd(d, d->policy_timer, rfd_ev_tag(RFD_EV_POLICY, 0))) {
		int e = errno;
		close(d->policy_timer);
		d->policy_timer = -1;
		errno = e;
		return -1;
	}
	d->policy_period_ns = 0;
	arm(d, shortest_window(d));
	return 0;
}

void rfd_policy_stop(struct rfd *d)
{
	if (d->policy_timer >= 0) {
		rfd_unwatch_fd(d, d->policy_timer);
		close(d->policy_timer);
	}
	d->policy_timer = -1;
}

/* ---- the verb and its answer ----------------------------------------------- */

/* What the controller makes of s now. */
static const char *state_of(struct rfd *d, const struct rfd_subos *s)
{
	const struct rfd_policy_run *r = s->prun;
	if (!base_cpuset_count(&s->cpus))
		return "paused";
	if ((r && r->moving) || rfd_op_busy(d, s->name))
		return "moving";
	if (s->policy.priority != RF_PRIO_LATENCY)
		return "running";
	if (!r || !r->win.seen)
		return "watching";
	if (r->tr.cooldown)
		return "cooldown";
	if (r->win.p99_ns > (uint64_t)s->policy.ut_us * 1000)
		return "over_ut";
	return r->win.p99_ns < (uint64_t)s->policy.lt_us * 1000 ? "under_lt" : "within";
}

static struct json_object *controller_json(struct rfd *d)
{
	struct json_object *c = json_object_new_object();
	uint64_t t = d->policy_cost.ticks;
	json_object_object_add(c, "period_ms", json_object_new_int64(
						       (int64_t)(d->policy_period_ns / BASE_NS_PER_MS)));
	json_object_object_add(c, "ticks", json_object_new_int64((int64_t)t));
	json_object_object_add(c, "stats_reads", json_object_new_int64(
							 (int64_t)d->policy_cost.reads));
	json_object_object_add(c, "tick_ns_avg", json_object_new_int64(
							 t ? (int64_t)(d->policy_cost.ns_total / t) : 0));
	json_object_object_add(c, "tick_ns_max", json_object_new_int64(
							 (int64_t)d->policy_cost.ns_max));
	return c;
}

struct json_object *rfd_policy_json(struct rfd *d, const struct rfd_subos *s)
{
	if (s->policy.priority == RF_PRIO_OFF)
		return NULL;
	struct json_object *o = base_policy_json(&s->policy);
	const struct rfd_policy_run *r = s->prun;
	json_object_object_add(o, "state", json_object_new_string(state_of(d, s)));
	if (r && r->win.seen) {
		struct json_object *w = json_object_new_object();
		json_object_object_add(w, "p99_ns", json_object_new_int64((int64_t)r->win.p99_ns));
		json_object_object_add(w, "samples", json_object_new_int64((int64_t)r->win.samples));
		json_object_object_add(w, "signal", json_object_new_string(
							    base_signal_name(r->win.used)));
		json_object_object_add(o, "last_window", w);
		json_object_object_add(o, "windows_under_lt", json_object_new_int(r->tr.under));
	}
	json_object_object_add(o, "controller", controller_json(d));
	return o;
}

/* The check that needs the subOS (and the probe it will have); 0, or -1
 * with err. */
static int check_subos(const struct rfd_subos *s, const struct base_policy *p,
		       const char *probe, struct base_err *err)
{
	if (p->priority != RF_PRIO_LATENCY || s->kind == RF_KIND_LIBOS)
		return 0;
	if (!probe[0])
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "\"%s\" is a linux subOS: it has no stats page, so its latency "
				 "signal is a probe of its service (--probe memcached://ADDR:PORT "
				 "or http://ADDR:PORT/PATH)", s->name);
	if (p->ut_us >= RFD_PROBE_TIMEOUT_MS * 1000u)
		return base_errf(err, BASE_E_BAD_REQUEST, "policy: ut (%u us) must be below the "
				 "probe's timeout (%d ms), the most a probe can show", p->ut_us,
				 RFD_PROBE_TIMEOUT_MS);
	return 0;
}

/* Set what req gives (policy, probe), journalled; 0, or -1 with err and
 * nothing changed. */
static int set(struct rfd *d, struct rfd_subos *s, const struct base_request *req,
	       struct base_err *err)
{
	struct base_policy old = s->policy;
	char old_probe[sizeof(s->probe_url)];
	const char *probe = !req->probe ? s->probe_url : strcmp(req->probe, "off") ? req->probe : "";
	if ((req->probe && rfd_probe_check(s, req->probe, err)) ||
	    check_subos(s, req->has_policy ? &req->policy : &s->policy, probe, err))
		return -1;
	memcpy(old_probe, s->probe_url, sizeof(old_probe));
	snprintf(s->probe_url, sizeof(s->probe_url), "%s", probe);
	if (req->has_policy)
		s->policy = req->policy;
	int rc = rfd_journal_subos(d, "policy_set", s, NULL);
	if (rc) {
		s->policy = old;
		memcpy(s->probe_url, old_probe, sizeof(old_probe));
		return base_errf(err, BASE_E_INTERNAL, "the journal write failed: %s", strerror(-rc));
	}
	if (strcmp(old_probe, s->probe_url))
		rfd_probe_apply(d, s);
	if (req->has_policy && s->prun && !s->prun->moving) { /* the windows start over */
		free(s->prun);
		s->prun = NULL;
	}
	return 0;
}

struct json_object *rfd_policy_verb(struct rfd *d, const struct base_request *req,
				    struct base_err *err)
{
	struct rfd_subos *s = rfd_subos_find(d, req->name);
	if (!s) {
		base_errf(err, BASE_E_NO_SUCH_SUBOS, "no subOS named \"%s\"", req->name);
		return NULL;
	}
	if (req->has_policy || req->probe) {
		if (set(d, s, req, err))
			return NULL;
		arm(d, shortest_window(d));
	}
	struct json_object *o = rfd_policy_json(d, s);
	if (!o) {
		o = json_object_new_object();
		json_object_object_add(o, "priority", json_object_new_string("off"));
	}
	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "probe", rfd_probe_json(s)); /* null: none */
	return o;
}
