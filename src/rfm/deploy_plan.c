/*
 * deploy_plan.c - what `rfm apply` (and `rfm diff`) would do: a declared
 * deployment compared with what rfd reports, as a list of actions, one
 * line each.  Pure (JSON in, actions out), so the unit tests drive it
 * with answers written by hand.
 *
 * The rule (docs/rfm.md, "Deployments"): cores and memory change live
 * (resize); anything else of a subOS that differs from the file (kind,
 * program, env, caps, root, binds, restart) or a channel that differs
 * needs the subOS or channel made anew, which stops its program or
 * breaks its peers' rings, so it happens only when asked (--recreate);
 * without it the item is refused and apply changes nothing at all.  An
 * exited subOS is made anew without asking: nothing runs to disturb.
 *
 * The order avoids needing what is not yet free: channels close first,
 * then subOSes are destroyed (reverse start order), shrunk, created
 * (start order, waiting for each ready port), grown; channels and
 * policies come last, once every subOS exists.
 */
#include "rfm/deploy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpuset.h"
#include "base/units.h"
#include "rfm/rfm.h"

/* What differs for one subOS of the file. */
struct verdict {
	struct json_object *cur;   /* rfd's show, or NULL: absent */
	bool remake;               /* destroy + create */
	char why[200];             /* why it is remade or refused */
	bool refused;
	bool cores_shrink, cores_grow, mem_shrink, mem_grow;
	bool policy;               /* send the policy (set or off) */
};

static int push(struct deploy_plan *p, enum deploy_op op, const char *name)
{
	struct deploy_action *na = realloc(p->a, ((size_t)p->n + 1) * sizeof(*na));
	if (!na)
		return -1;
	p->a = na;
	memset(&na[p->n], 0, sizeof(na[p->n]));
	na[p->n].op = op;
	snprintf(na[p->n].name, sizeof(na[p->n].name), "%s", name);
	p->n++;
	return 0;
}

static struct deploy_action *last(struct deploy_plan *p)
{
	return &p->a[p->n - 1];
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* v against a JSON array of strings (NULL: empty); `any_order`: as sets. */
static bool same_strings(const struct deploy_strv *v, struct json_object *arr, bool any_order)
{
	int n = arr && json_object_is_type(arr, json_type_array) ?
		(int)json_object_array_length(arr) : 0;
	if (n != v->n)
		return false;
	if (n == 0)
		return true;
	const char **a = calloc((size_t)n, sizeof(*a)), **b = calloc((size_t)n, sizeof(*b));
	bool same = a && b;
	for (int i = 0; same && i < n; i++) {
		a[i] = v->v[i];
		b[i] = json_object_get_string(json_object_array_get_idx(arr, i));
		same = b[i] != NULL;
	}
	if (same && any_order) {
		qsort(a, (size_t)n, sizeof(*a), cmp_str);
		qsort(b, (size_t)n, sizeof(*b), cmp_str);
	}
	for (int i = 0; same && i < n; i++)
		same = strcmp(a[i], b[i]) == 0;
	free(a);
	free(b);
	return same;
}

static bool same_restart(const struct deploy_subos *s, struct json_object *cur)
{
	struct json_object *r = rfm_field(cur, "restart", json_type_object);
	int64_t max = -1;
	if (!r)
		return s->restart == RF_RESTART_NO;
	rfm_int(r, "max", &max);
	return strcmp(rfm_str(r, "policy", ""), base_restart_name(s->restart)) == 0 &&
	       max == s->max_restarts;
}

static void add_why(char *buf, size_t len, const char *what)
{
	size_t off = strlen(buf);
	snprintf(buf + off, len - off, "%s%s", off ? ", " : "", what);
}

/* The names of what differs and only a new subOS can change. */
static void fixed_diff(const struct deploy_subos *s, struct json_object *cur, char *buf,
		       size_t len)
{
	const char *root = rfm_str(cur, "root", NULL);
	buf[0] = '\0';
	if (strcmp(rfm_str(cur, "kind", ""), base_kind_name(s->kind)) != 0)
		add_why(buf, len, "kind");
	if (!same_strings(&s->argv, rfm_field(cur, "argv", json_type_array), false))
		add_why(buf, len, "program");
	if (!same_strings(&s->env, rfm_field(cur, "env", json_type_array), true))
		add_why(buf, len, "env");
	if (!same_strings(&s->caps, rfm_field(cur, "caps", json_type_array), true))
		add_why(buf, len, "caps");
	if (!same_strings(&s->binds, rfm_field(cur, "binds", json_type_array), true))
		add_why(buf, len, "binds");
	if (!same_strings(&s->ro_binds, rfm_field(cur, "ro_binds", json_type_array), true))
		add_why(buf, len, "ro_binds");
	if ((root == NULL) != (s->root == NULL) || (root && strcmp(root, s->root) != 0))
		add_why(buf, len, "root");
	if (!same_restart(s, cur))
		add_why(buf, len, "restart");
}

/* Cores and memory: which way each changes (memory as rfd rounds it). */
static void live_diff(const struct deploy_subos *s, struct json_object *cur, uint64_t chunk,
		      struct verdict *v)
{
	int64_t n = 0, mem = 0;
	rfm_int(cur, "ncores", &n);
	rfm_int(cur, "mem", &mem);
	if (s->cores.form == RF_CORES_COUNT) {
		v->cores_shrink = s->cores.n < n;
		v->cores_grow = s->cores.n > n;
	} else {
		struct base_cpuset now;
		if (base_cpuset_parse(&now, rfm_str(cur, "cores", "")) < 0 ||
		    !base_cpuset_equal(&now, &s->cores.set)) {
			bool fewer = base_cpuset_count(&s->cores.set) <= n;
			v->cores_shrink = fewer;
			v->cores_grow = !fewer;
		}
	}
	uint64_t want = chunk ? base_round_up(s->mem, chunk) : s->mem;
	v->mem_shrink = want < (uint64_t)mem;
	v->mem_grow = want > (uint64_t)mem;
}

static bool same_policy(const struct deploy_policy *p, struct json_object *cur)
{
	/* rfd shows the verb's fields: lt and ut in microseconds */
	const char *keys[] = { "lt_us", "ut_us", "window_ms", "min_cores", "max_cores" };
	const int64_t vals[] = { p->lt_us, p->ut_us, p->window_ms, p->min_cores, p->max_cores };
	if (!cur || !p->set)
		return !cur && !p->set;
	if (strcmp(rfm_str(cur, "priority", ""), p->latency ? "latency" : "batch") != 0)
		return false;
	if (p->signal >= 0 && strcmp(rfm_str(cur, "signal", ""),
				     base_signal_name((enum base_signal)p->signal)) != 0)
		return false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int64_t v = -1;
		if (vals[i] >= 0 && (!rfm_int(cur, keys[i], &v) || v != vals[i]))
			return false;
	}
	return true;
}

/*
 * A policy is sent for a subOS this apply creates, or when rfd reports a
 * `policy` (null when off) that differs; an rfd that reports none has no
 * policies, and saying so once, when the subOS is created, is enough.
 */
static bool policy_due(const struct deploy_subos *s, const struct verdict *v)
{
	struct json_object *cur;
	if (!v->cur || v->remake)
		return s->policy.set || s->probe[0];
	if (strcmp(rfm_str(v->cur, "probe", ""), s->probe)) /* the probe goes with it */
		return true;
	if (!json_object_object_get_ex(v->cur, "policy", &cur))
		return false;
	return !same_policy(&s->policy, json_object_is_type(cur, json_type_object) ? cur : NULL);
}

static void judge(const struct deploy_subos *s, const struct deploy_state *st, bool recreate,
		  struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->cur = rfm_field(st->subos, s->name, json_type_object);
	if (v->cur && strcmp(rfm_str(v->cur, "state", ""), "exited") == 0) {
		v->remake = true;
		snprintf(v->why, sizeof(v->why), "its program exited");
	} else if (v->cur) {
		fixed_diff(s, v->cur, v->why, sizeof(v->why));
		v->remake = v->why[0] && recreate;
		v->refused = v->why[0] && !recreate;
		if (!v->remake)
			live_diff(s, v->cur, st->chunk, v);
	}
	v->policy = policy_due(s, v);
}

void deploy_plan_free(struct deploy_plan *p)
{
	free(p->a);
	memset(p, 0, sizeof(*p));
}

/* ---- channels ---------------------------------------------------------- */

static struct json_object *find_chan(const struct deploy_state *st, const char *name)
{
	size_t n = st->chans ? json_object_array_length(st->chans) : 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(st->chans, i);
		if (strcmp(rfm_str(c, "name", ""), name) == 0)
			return c;
	}
	return NULL;
}

static const char *side(struct json_object *chan, int i)
{
	struct json_object *b = rfm_field(chan, "between", json_type_array);
	struct json_object *e = b ? json_object_array_get_idx(b, (size_t)i) : NULL;
	return e && json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "";
}

/* A channel of rfd's between two subOSes of the file: the file's to manage. */
static bool owned(const struct deploy *d, struct json_object *chan)
{
	return deploy_find(d, side(chan, 0)) && deploy_find(d, side(chan, 1));
}

static void chan_diff(const struct deploy_chan *c, struct json_object *cur, char *buf,
		      size_t len)
{
	int64_t v = 0;
	buf[0] = '\0';
	if (strcmp(side(cur, 0), c->between[0]) || strcmp(side(cur, 1), c->between[1]))
		add_why(buf, len, "between");
	if (strcmp(rfm_str(cur, "kind", ""), base_chan_kind_name(c->kind)) != 0)
		add_why(buf, len, "kind");
	else if (c->kind == RF_CHAN_MSG && (!rfm_int(cur, "slots", &v) || (uint64_t)v != c->slots))
		add_why(buf, len, "slots");
	else if (c->kind == RF_CHAN_MAP &&
		 (!rfm_int(cur, "size", &v) || (uint64_t)v != base_round_up(c->size, 4096)))
		add_why(buf, len, "size");
}

/* The first of c's two subOSes that is made anew, or NULL. */
static const char *remade_side(const struct deploy *d, const struct verdict *v,
			       const struct deploy_chan *c)
{
	for (int k = 0; k < 2; k++) {
		const struct deploy_subos *s = deploy_find(d, c->between[k]);
		if (v[s - d->subos].remake || !v[s - d->subos].cur)
			return s->name;
	}
	return NULL;
}

static void describe_chan(struct deploy_action *a, const struct deploy_chan *c)
{
	char size[32];
	base_format_size(c->size, size, sizeof(size));
	if (c->kind == RF_CHAN_MSG)
		snprintf(a->what, sizeof(a->what), "chan create %s: msg between %s,%s, %llu slots",
			 c->name, c->between[0], c->between[1], (unsigned long long)c->slots);
	else
		snprintf(a->what, sizeof(a->what), "chan create %s: map between %s,%s, %s",
			 c->name, c->between[0], c->between[1], size);
}

/* Each channel of the file: refused, closed (to be made anew), or made. */
static int plan_chans(const struct deploy *d, const struct deploy_state *st, bool recreate,
		      const struct verdict *v, struct deploy_plan *close, struct deploy_plan *make)
{
	char why[128];
	for (int i = 0; i < d->nchans; i++) {
		const struct deploy_chan *c = &d->chans[i];
		struct json_object *cur = find_chan(st, c->name);
		const char *remade = remade_side(d, v, c);
		if (cur)
			chan_diff(c, cur, why, sizeof(why));
		if (cur && why[0] && (!recreate || !owned(d, cur))) {
			if (push(close, DEPLOY_REFUSED, c->name) < 0)
				return -1;
			snprintf(last(close)->what, sizeof(last(close)->what),
				 owned(d, cur) ? "refuse chan %s: %s changed; that needs a new "
				 "channel (apply --recreate closes and re-creates it)"
					       : "refuse chan %s: it exists between %s,%s, which "
				 "are not both subOSes of this file", c->name,
				 owned(d, cur) ? why : side(cur, 0), side(cur, 1));
			close->refused = true;
			continue;
		}
		if (cur && (why[0] || remade)) {
			if (push(close, DEPLOY_CHAN_CLOSE, c->name) < 0)
				return -1;
			snprintf(last(close)->what, sizeof(last(close)->what), "chan close %s (%s%s)",
				 c->name, why[0] ? why : "its subOS ", why[0] ? " changed" : remade);
		}
		if (!cur || why[0] || remade) {
			if (push(make, DEPLOY_CHAN_CREATE, c->name) < 0)
				return -1;
			last(make)->c = c;
			describe_chan(last(make), c);
		}
	}
	return 0;
}

/* rfd's channels between two subOSes of the file that the file lacks. */
static int plan_chan_removals(const struct deploy *d, const struct deploy_state *st,
			      struct deploy_plan *close)
{
	size_t n = st->chans ? json_object_array_length(st->chans) : 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *cur = json_object_array_get_idx(st->chans, i);
		const char *name = rfm_str(cur, "name", "");
		int j;
		for (j = 0; j < d->nchans && strcmp(d->chans[j].name, name) != 0; j++)
			;
		if (j < d->nchans || !owned(d, cur))
			continue;
		if (push(close, DEPLOY_CHAN_CLOSE, name) < 0)
			return -1;
		snprintf(last(close)->what, sizeof(last(close)->what),
			 "chan close %s (between %s,%s; not in the file)", name, side(cur, 0),
			 side(cur, 1));
	}
	return 0;
}

/* ---- subOSes ----------------------------------------------------------- */

static void cores_text(const struct base_cores_arg *c, char *buf, size_t len)
{
	char list[200];
	if (c->form == RF_CORES_COUNT) {
		snprintf(buf, len, "%d core%s", c->n, c->n == 1 ? "" : "s");
		return;
	}
	base_cpuset_format(&c->set, list, sizeof(list));
	snprintf(buf, len, "cpus %s", list);
}

static void describe_create(struct deploy_action *a, const struct deploy_subos *s, bool again)
{
	char cores[220], mem[32], ready[48] = "";
	cores_text(&s->cores, cores, sizeof(cores));
	base_format_size(s->mem, mem, sizeof(mem));
	if (s->ready_port)
		snprintf(ready, sizeof(ready), ", ready on tcp %d", s->ready_port);
	snprintf(a->what, sizeof(a->what), "create %s%s: %s, %s, memory %s%s%s: %s", s->name,
		 again ? " (again)" : "", base_kind_name(s->kind), cores, mem,
		 s->rfloop ? ", rfloop" : "", ready, s->argv.v[0]);
}

/* One resize action, of the dimensions that change in one direction. */
static int push_resize(struct deploy_plan *p, enum deploy_op op, const struct deploy_subos *s,
		       struct json_object *cur, bool cores, bool mem, uint64_t chunk)
{
	char to[220], from_mem[32], to_mem[32], what[300] = "";
	int64_t m = 0, n = 0;
	if (!cores && !mem)
		return 0;
	if (push(p, op, s->name) < 0)
		return -1;
	struct deploy_action *a = last(p);
	a->s = s;
	a->cores = cores;
	a->mem = mem;
	a->to_cores = s->cores;
	snprintf(a->from_cpus, sizeof(a->from_cpus), "%s", rfm_str(cur, "cores", ""));
	rfm_int(cur, "mem", &m);
	rfm_int(cur, "ncores", &n);
	a->from_mem = (uint64_t)m;
	a->to_mem = chunk ? base_round_up(s->mem, chunk) : s->mem;
	cores_text(&s->cores, to, sizeof(to));
	if (cores)
		snprintf(what, sizeof(what), "cores %lld (cpus %s) -> %s", (long long)n,
			 a->from_cpus, to);
	base_format_size(a->from_mem, from_mem, sizeof(from_mem));
	base_format_size(a->to_mem, to_mem, sizeof(to_mem));
	if (mem)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%smemory %s -> %s",
			 cores ? ", " : "", from_mem, to_mem);
	snprintf(a->what, sizeof(a->what), "resize %s: %s", s->name, what);
	return 0;
}

static void describe_policy(struct deploy_action *a, const struct deploy_subos *s)
{
	const struct deploy_policy *p = &s->policy;
	const char *keys[] = { "lt_ms", "ut_ms", "window_ms", "min_cores", "max_cores" };
	const int64_t vals[] = { p->lt_us, p->ut_us, p->window_ms, p->min_cores, p->max_cores };
	const double scale[] = { 1000, 1000, 1, 1, 1 };
	size_t off = (size_t)snprintf(a->what, sizeof(a->what), "policy %s: %s", s->name,
				      !p->set ? "off" : p->latency ? "priority latency"
								   : "priority batch");
	for (size_t i = 0; p->set && i < sizeof(keys) / sizeof(keys[0]); i++)
		if (vals[i] >= 0 && off < sizeof(a->what))
			off += (size_t)snprintf(a->what + off, sizeof(a->what) - off, ", %s %g",
						keys[i], (double)vals[i] / scale[i]);
	if (p->set && p->signal >= 0 && off < sizeof(a->what))
		off += (size_t)snprintf(a->what + off, sizeof(a->what) - off, ", signal %s",
					base_signal_name((enum base_signal)p->signal));
	if (s->probe[0] && off < sizeof(a->what))
		snprintf(a->what + off, sizeof(a->what) - off, ", probe %s", s->probe);
}

/* One phase of the subOS actions, in start order (reverse: destroys). */
static int plan_phase(const struct deploy *d, const struct verdict *v, enum deploy_op op,
		      uint64_t chunk, struct deploy_plan *p)
{
	for (int j = 0; j < d->nsubos; j++) {
		int i = op == DEPLOY_DESTROY ? d->nsubos - 1 - j : j;
		const struct deploy_subos *s = &d->subos[i];
		const struct verdict *w = &v[i];
		bool create = !w->cur || w->remake;
		int rc = 0;
		if (op == DEPLOY_REFUSED && w->refused && (rc = push(p, op, s->name)) == 0)
			snprintf(last(p)->what, sizeof(last(p)->what), "refuse %s: %s changed; that "
				 "needs a new subOS (apply --recreate destroys and re-creates "
				 "it)", s->name, w->why);
		if (op == DEPLOY_DESTROY && w->remake && (rc = push(p, op, s->name)) == 0)
			snprintf(last(p)->what, sizeof(last(p)->what), "destroy %s (%s%s)", s->name,
				 w->why, strstr(w->why, "exited") ? "" : " changed");
		if (op == DEPLOY_SHRINK)
			rc = push_resize(p, op, s, w->cur, w->cores_shrink, w->mem_shrink, chunk);
		if (op == DEPLOY_GROW)
			rc = push_resize(p, op, s, w->cur, w->cores_grow, w->mem_grow, chunk);
		if (op == DEPLOY_CREATE && create && (rc = push(p, op, s->name)) == 0)
			describe_create(last(p), s, w->remake);
		if (op == DEPLOY_POLICY && w->policy && (rc = push(p, op, s->name)) == 0)
			describe_policy(last(p), s);
		if (rc < 0)
			return -1;
		if (p->n && strcmp(last(p)->name, s->name) == 0 && last(p)->op == op)
			last(p)->s = s;
	}
	return 0;
}

static int append(struct deploy_plan *p, struct deploy_plan *from)
{
	for (int i = 0; i < from->n; i++) {
		if (push(p, from->a[i].op, "") < 0)
			return -1;
		*last(p) = from->a[i];
	}
	p->refused |= from->refused;
	deploy_plan_free(from);
	return 0;
}

int deploy_plan_apply(const struct deploy *d, const struct deploy_state *st, bool recreate,
		      struct deploy_plan *p)
{
	static const enum deploy_op early[] = { DEPLOY_DESTROY, DEPLOY_SHRINK, DEPLOY_CREATE,
						DEPLOY_GROW };
	struct deploy_plan close = { 0 }, make = { 0 };
	struct verdict *v = calloc((size_t)d->nsubos + 1, sizeof(*v));
	int rc = -1;
	memset(p, 0, sizeof(*p));
	if (!v)
		return -1;
	for (int i = 0; i < d->nsubos; i++) {
		judge(&d->subos[i], st, recreate, &v[i]);
		p->refused |= v[i].refused;
	}
	if (plan_phase(d, v, DEPLOY_REFUSED, st->chunk, p) < 0 ||
	    plan_chans(d, st, recreate, v, &close, &make) < 0 ||
	    plan_chan_removals(d, st, &close) < 0 || append(p, &close) < 0)
		goto out;
	for (size_t k = 0; k < sizeof(early) / sizeof(early[0]); k++)
		if (plan_phase(d, v, early[k], st->chunk, p) < 0)
			goto out;
	if (append(p, &make) < 0 || plan_phase(d, v, DEPLOY_POLICY, st->chunk, p) < 0)
		goto out;
	rc = 0;
out:
	deploy_plan_free(&close);
	deploy_plan_free(&make);
	free(v);
	if (rc < 0)
		deploy_plan_free(p);
	return rc;
}

int deploy_plan_delete(const struct deploy *d, const struct deploy_state *st,
		       struct deploy_plan *p)
{
	size_t n = st->chans ? json_object_array_length(st->chans) : 0;
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		struct json_object *cur = json_object_array_get_idx(st->chans, i);
		if (!owned(d, cur))
			continue;
		if (push(p, DEPLOY_CHAN_CLOSE, rfm_str(cur, "name", "")) < 0)
			goto fail;
		snprintf(last(p)->what, sizeof(last(p)->what), "chan close %s", last(p)->name);
	}
	for (int i = d->nsubos - 1; i >= 0; i--) {
		if (!rfm_field(st->subos, d->subos[i].name, json_type_object))
			continue;
		if (push(p, DEPLOY_DESTROY, d->subos[i].name) < 0)
			goto fail;
		snprintf(last(p)->what, sizeof(last(p)->what), "destroy %s", d->subos[i].name);
	}
	return 0;
fail:
	deploy_plan_free(p);
	return -1;
}
