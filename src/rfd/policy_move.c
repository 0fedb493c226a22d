/*
 * policy_move.c - carrying out one move the policy decided (policy.h): the
 * core leaves its giver in a resize op on the giver, then joins its taker
 * in a resize op on the taker (so each side is journalled and checked like
 * any resize, and queues behind whatever else runs on it), then one record
 * of op "policy" says why.  The free cores stand in for a missing side.
 *
 * Between the two ops the core is free; a create could take it then, and
 * the second op then fails: the move is logged as incomplete and nothing
 * is journalled for it but the first resize (which is true).
 */
#define _GNU_SOURCE
#include "rfd/policy_impl.h"
#include "rfd/rfd.h"
#include "rfd/log.h"
#include "rfd/op.h"
#include "rfd/resize.h"
#include "rfd/subos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/time.h"

struct move {
	char from[RF_NAME_MAX], to[RF_NAME_MAX], cause[RF_NAME_MAX]; /* "": the free cores */
	int core;
	struct policy_move pm;
	struct base_policy pol; /* the cause's settings when it was decided */
	bool paused, resumed;
};

static struct rfd_subos *side(struct rfd *d, const char *name)
{
	return name[0] ? rfd_subos_find(d, name) : NULL;
}

/* The core `from` gives: the one a latency subOS received last if it still
 * holds it, else its highest; from the free cores, the lowest free. */
static int pick_core(struct rfd *d, struct rfd_subos *from)
{
	struct base_cpuset set;
	int core = -1;
	if (!from) {
		rfd_ptable_free_cpus(&d->pt, &set);
		return base_cpuset_next(&set, 0);
	}
	if (from->prun && from->prun->last_in >= 0 &&
	    base_cpuset_has(&from->cpus, from->prun->last_in))
		return from->prun->last_in;
	for_each_cpu(c, &from->cpus)
		core = c;
	return core;
}

static void set_moving(struct rfd *d, const struct move *mv, bool on)
{
	const char *names[] = { mv->from, mv->to };
	for (int i = 0; i < 2; i++) {
		struct rfd_subos *s = side(d, names[i]);
		if (s && (on || s->prun) && rfd_policy_run_of(s))
			s->prun->moving = on;
	}
}

static const char *free_or(const char *name)
{
	return name[0] ? name : "free";
}

/* The record that says why: docs/protocol.md, "Journal records". */
static struct json_object *move_record(const struct move *mv)
{
	struct json_object *r = json_object_new_object(), *between = json_object_new_array();
	const struct policy_window *w = &mv->pm.win;
	json_object_object_add(r, "op", json_object_new_string("policy"));
	json_object_object_add(r, "from", json_object_new_string(free_or(mv->from)));
	json_object_object_add(r, "to", json_object_new_string(free_or(mv->to)));
	json_object_object_add(r, "core", json_object_new_int(mv->core));
	json_object_object_add(r, "rule", json_object_new_string(policy_rule_name(mv->pm.rule)));
	json_object_object_add(r, "for", json_object_new_string(mv->cause));
	json_object_object_add(r, "p99_ns", json_object_new_int64((int64_t)w->p99_ns));
	json_object_object_add(r, "samples", json_object_new_int64((int64_t)w->samples));
	json_object_object_add(r, "signal", json_object_new_string(base_signal_name(w->used)));
	json_object_object_add(r, "lt_us", json_object_new_int64(mv->pol.lt_us));
	json_object_object_add(r, "ut_us", json_object_new_int64(mv->pol.ut_us));
	json_object_object_add(r, "window_ms", json_object_new_int64(mv->pol.window_ms));
	json_object_object_add(r, "windows", json_object_new_int(mv->pm.windows));
	if (mv->paused)
		json_object_object_add(r, "paused", json_object_new_string(mv->from));
	if (mv->resumed)
		json_object_object_add(r, "resumed", json_object_new_string(mv->to));
	/* `rfm log NAME` finds a record by the subOSes it is "between". */
	if (mv->from[0])
		json_object_array_add(between, json_object_new_string(mv->from));
	if (mv->to[0])
		json_object_array_add(between, json_object_new_string(mv->to));
	json_object_object_add(r, "between", between);
	return r;
}

/* Both sides done (ok) or not: journal, start the windows anew, forget. */
static void end_move(struct rfd *d, struct move *mv, bool ok)
{
	const char *names[] = { mv->from, mv->to };
	uint64_t now = base_now_ns();
	struct json_object *rec = ok ? move_record(mv) : NULL;
	int64_t seq = rec ? rfd_journal_append(&d->journal, rec) : 0;
	if (seq < 0)
		rfd_log("policy: journal write failed: %s", strerror((int)-seq));
	set_moving(d, mv, false);
	for (int i = 0; i < 2; i++) {
		struct rfd_subos *s = side(d, names[i]);
		if (!s)
			continue;
		if (rec && seq > 0)
			rfd_subos_keep_recent(s, rec);
		if (s->policy.priority == RF_PRIO_LATENCY)
			rfd_policy_rebase(d, s, now);
	}
	struct rfd_subos *to = side(d, mv->to), *cause = side(d, mv->cause);
	if (ok && to && rfd_policy_run_of(to))
		to->prun->last_in = mv->core;
	/* A move that failed is not tried again at the next window: the
	 * cooldown holds for failures too, or a refusal would repeat each
	 * window. */
	if (!ok && cause && cause->prun)
		cause->prun->tr.cooldown = RF_POLICY_COOLDOWN_WINDOWS;
	json_object_put(rec);
	free(mv);
}

static void after_give(struct rfd *d, struct rfd_op *op)
{
	struct move *mv = op->ctx;
	if (!op->result)
		rfd_log("policy: core %d left %s but cannot join %s: %s", mv->core,
			free_or(mv->from), mv->to, op->err.msg);
	end_move(d, mv, op->result != NULL);
}

/* A resize op of subOS s to `want`, finished by fin with mv. */
static void resize(struct rfd *d, struct rfd_subos *s, const struct base_cpuset *want,
		   struct move *mv, void (*fin)(struct rfd *, struct rfd_op *))
{
	struct rfd_op *op = rfd_op_new(s->name, rfd_subos_resize_step);
	if (!op) {
		rfd_log("policy: out of memory for a move");
		end_move(d, mv, false);
		return;
	}
	base_request_init(&op->req, RF_VERB_RESIZE);
	op->req.name = op->name; /* the op owns both */
	op->req.cores.form = RF_CORES_LIST;
	op->req.cores.set = *want;
	op->ctx = mv;
	op->finish = fin;
	rfd_op_submit(d, op);
}

/* The core is free now: to its taker (or leave it free). */
static void give(struct rfd *d, struct move *mv)
{
	struct rfd_subos *to = side(d, mv->to);
	if (!to) {
		end_move(d, mv, !mv->to[0]); /* a taker gone meanwhile: nothing to say */
		return;
	}
	struct base_cpuset want = to->cpus;
	mv->resumed = base_cpuset_empty(&to->cpus);
	base_cpuset_set(&want, mv->core);
	resize(d, to, &want, mv, after_give);
}

static void after_take(struct rfd *d, struct rfd_op *op)
{
	struct move *mv = op->ctx;
	struct rfd_subos *from = side(d, mv->from);
	if (!op->result) {
		rfd_log("policy: cannot take core %d from %s: %s", mv->core, mv->from,
			op->err.msg);
		end_move(d, mv, false);
		return;
	}
	mv->paused = from && base_cpuset_empty(&from->cpus);
	give(d, mv);
}

void rfd_policy_move_start(struct rfd *d, const struct policy_move *pm,
			   struct rfd_subos *const *who)
{
	struct rfd_subos *from = pm->from >= 0 ? who[pm->from] : NULL;
	struct rfd_subos *to = pm->to >= 0 ? who[pm->to] : NULL;
	struct move *mv = calloc(1, sizeof(*mv));
	if (!mv)
		return;
	mv->pm = *pm;
	mv->pol = who[pm->cause]->policy;
	snprintf(mv->cause, sizeof(mv->cause), "%s", who[pm->cause]->name);
	snprintf(mv->from, sizeof(mv->from), "%s", from ? from->name : "");
	snprintf(mv->to, sizeof(mv->to), "%s", to ? to->name : "");
	if ((mv->core = pick_core(d, from)) < 0) {
		free(mv);
		return;
	}
	set_moving(d, mv, true);
	if (!from) {
		give(d, mv);
		return;
	}
	struct base_cpuset want = from->cpus;
	base_cpuset_clr(&want, mv->core);
	resize(d, from, &want, mv, after_take);
}
