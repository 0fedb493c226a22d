/*
 * verbs.c - one handler per protocol verb (docs/protocol.md).
 *
 * rfd_handle_request() parses, asks authority.c whether the caller (placed
 * at accept, caller.c) may, and runs the handler; each handler either
 * returns a result object or fills an rf_err.  A caller allowed only its
 * own subOS gets list, log and chan_list filtered to it and info without
 * rfd's paths, pid and the other subOSes' usage.  Handlers that change the table do all
 * their checks before the first change, so an error answer means nothing
 * happened.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/verbs.h"
#include "rfd/hwc.h"
#include "rfd/authority.h"
#include "rfd/caller.h"
#include "rfd/chan.h"
#include "rfd/lifecycle.h"
#include "rfd/log.h"
#include "rfd/op.h"
#include "rfd/policy.h"
#include "rfd/check.h"
#include "rfd/resize.h"
#include "rfd/rfloop_reg.h"
#include "rfd/stats.h"
#include "rfd/spare.h"
#include "rfd/subos.h"
#include "base/timing.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* only: the one subOS a caller may see, or NULL for all. */
static struct json_object *do_list(struct rfd *d, const char *only)
{
	struct json_object *arr = json_object_new_array(), *r = json_object_new_object();
	for (int i = 0; i < RF_MAX_SUBOS; i++)
		if (d->subos[i] && (!only || strcmp(d->subos[i]->name, only) == 0))
			json_object_array_add(arr, rfd_subos_json(d, d->subos[i], false));
	json_object_object_add(r, "subos", arr);
	return r;
}

static void add_cpus(struct json_object *o, const char *key, const struct base_cpuset *set)
{
	char buf[4096];
	base_cpuset_format(set, buf, sizeof(buf));
	json_object_object_add(o, key, json_object_new_string(buf));
}

static struct json_object *machine_json(const struct rfd_topo *t)
{
	struct json_object *m = json_object_new_object(), *caches = json_object_new_array();
	json_object_object_add(m, "cpus", json_object_new_int(t->ncpus));
	json_object_object_add(m, "cores", json_object_new_int(t->ncores));
	json_object_object_add(m, "packages", json_object_new_int(t->npackages));
	json_object_object_add(m, "numa_nodes", json_object_new_int(t->nnodes));
	json_object_object_add(m, "mem", json_object_new_int64((int64_t)t->mem_total));
	for (int i = 0; i < t->ncaches; i++) {
		struct json_object *c = json_object_new_object();
		json_object_object_add(c, "level", json_object_new_int(t->cache[i].level));
		json_object_object_add(c, "size", json_object_new_int64((int64_t)t->cache[i].size));
		add_cpus(c, "cpus", &t->cache[i].cpus);
		json_object_array_add(caches, c);
	}
	json_object_object_add(m, "caches", caches);
	return m;
}

/* What rfd tells everyone: itself, the machine, the rules of its memory. */
static void info_public(struct rfd *d, struct json_object *r)
{
	struct rfd_pool_counts pc;
	json_object_object_add(r, "rfd_version", json_object_new_string(RFD_VERSION));
	json_object_object_add(r, "protocol", json_object_new_int(RF_PROTO_VERSION_CUR));
	json_object_object_add(r, "enforcement",
			       json_object_new_string(rfd_enforce_name(d->enf.kind)));
	json_object_object_add(r, "machine", machine_json(&d->topo));
	json_object_object_add(r, "chunk_size", json_object_new_int64((int64_t)d->pool.chunk_size));
	rfd_pool_counts(&d->pool, &pc);
	json_object_object_add(r, "hugepages", json_object_new_boolean(pc.huge > 0));
	json_object_object_add(r, "handshake_deadline_ms",
			       json_object_new_int64((int64_t)(d->deadline_ns / 1000000)));
	json_object_object_add(r, "counters", rfd_hwc_info_json());
}

/* What only the host sees: rfd's pid and paths, and the state of the whole
 * table (which would tell a subOS what the others hold and do). */
static void info_host(struct rfd *d, struct json_object *r)
{
	struct base_cpuset host, fr;
	char detail[1024];
	json_object_object_add(r, "pid", json_object_new_int(getpid()));
	json_object_object_add(r, "state_dir", json_object_new_string(d->state_dir));
	json_object_object_add(r, "socket", json_object_new_string(d->socket_path));
	rfd_enforce_describe(&d->enf, detail, sizeof(detail));
	json_object_object_add(r, "enforcement_detail", json_object_new_string(detail));
	host = d->topo.online;
	base_cpuset_andnot(&host, &d->pt.managed);
	rfd_ptable_free_cpus(&d->pt, &fr);
	add_cpus(r, "host_cpus", &host);
	add_cpus(r, "managed_cpus", &d->pt.managed);
	add_cpus(r, "free_cpus", &fr);
	json_object_object_add(r, "mem_managed", json_object_new_int64((int64_t)d->pt.mem_managed));
	json_object_object_add(r, "mem_free",
			       json_object_new_int64((int64_t)(d->pt.mem_managed - d->pt.mem_used)));
	json_object_object_add(r, "pool", rfd_pool_json(&d->pool));
	json_object_object_add(r, "spare", json_object_new_string(rfd_spare_state(d)));
}

static struct json_object *do_info(struct rfd *d, bool full)
{
	struct json_object *r = json_object_new_object();
	info_public(d, r);
	if (full)
		info_host(d, r);
	return r;
}

struct log_ctx {
	const char *name;
	bool own;        /* for the subOS itself: its records and its channels' */
	struct json_object *arr;
};

/* Is o's string `key` equal to name? */
static bool str_is(struct json_object *o, const char *key, const char *name)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) &&
	       strcmp(json_object_get_string(v), name) == 0;
}

/* Does the object's "between" (a channel, or its record) name `name`? */
static bool between_has(struct json_object *o, const char *name)
{
	struct json_object *n;
	if (!json_object_object_get_ex(o, "between", &n) ||
	    !json_object_is_type(n, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(n); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(n, i));
		if (s && strcmp(s, name) == 0)
			return true;
	}
	return false;
}

/* Is the record about `name`: the subOS itself, a channel of that name,
 * or a channel granted to it? */
static bool log_match(struct json_object *rec, const char *name)
{
	return str_is(rec, "name", name) || str_is(rec, "chan", name) || between_has(rec, name);
}

/* A record of subOS `name` or of a channel granted to it (not a channel
 * that merely shares its name). */
static bool own_record(struct json_object *rec, const char *name)
{
	return str_is(rec, "name", name) || between_has(rec, name);
}

static int log_one(struct json_object *rec, void *arg)
{
	struct log_ctx *lc = arg;
	if (lc->name && !(lc->own ? own_record(rec, lc->name) : log_match(rec, lc->name)))
		return 0;
	json_object_array_add(lc->arr, json_object_get(rec));
	return 0;
}

static struct json_object *do_log(struct rfd *d, const char *name, bool own,
				  struct base_err *err)
{
	struct log_ctx lc = { name, own, json_object_new_array() };
	int rc = rfd_journal_history(&d->journal, log_one, &lc);
	if (rc < 0) {
		json_object_put(lc.arr);
		base_errf(err, BASE_E_INTERNAL, "cannot read the journal: %s", strerror(-rc));
		return NULL;
	}
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "entries", lc.arr);
	return r;
}

/* Does req change the table or the journal (logged, and checked after)?
 * policy does with settings; without, it shows them. */
static bool mutates(const struct base_request *req)
{
	enum base_verb v = req->verb;
	return v == RF_VERB_CREATE || v == RF_VERB_DESTROY || v == RF_VERB_RESIZE ||
	       v == RF_VERB_CHAN_CREATE || v == RF_VERB_CHAN_CLOSE ||
	       (v == RF_VERB_POLICY && (req->has_policy || req->probe));
}

/* chan_list for a caller that may see only subOS `only`: the channels
 * granted to it. */
static struct json_object *own_channels(struct json_object *res, const char *only)
{
	struct json_object *all, *mine = json_object_new_array();
	if (!res || !json_object_object_get_ex(res, "channels", &all)) {
		json_object_put(mine);
		return res;
	}
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		struct json_object *c = json_object_array_get_idx(all, i);
		if (between_has(c, only))
			json_object_array_add(mine, json_object_get(c));
	}
	json_object_object_add(res, "channels", mine);
	return res;
}

/* only: the subOS the caller is limited to (RFD_SCOPE_SELF), else NULL. */
static struct json_object *dispatch(struct rfd *d, const struct base_request *req,
				    const struct rfd_caller *caller, const char *only,
				    const int *fds, int nfds, int *pass_fd, struct base_err *err)
{
	struct rfd_subos *s = NULL;
	struct json_object *res = NULL;
	if (req->verb == RF_VERB_SHOW || (req->verb == RF_VERB_STATS && req->name)) {
		if (!(s = rfd_subos_find(d, req->name))) {
			base_errf(err, BASE_E_NO_SUCH_SUBOS, "no subOS named \"%s\"", req->name);
			return NULL;
		}
	}
	switch (req->verb) {
	case RF_VERB_CREATE:
	case RF_VERB_DESTROY:
	case RF_VERB_RESIZE:
	case RF_VERB_CHAN_CREATE:
		break; /* ops: start_op */
	case RF_VERB_LIST:
		return do_list(d, only);
	case RF_VERB_STATS:
		return rfd_stats_json(d, only ? only : req->name);
	case RF_VERB_SHOW:
		return rfd_subos_json(d, s, true);
	case RF_VERB_INFO:
		return do_info(d, !only);
	case RF_VERB_LOG:
		return do_log(d, only ? only : req->name, only != NULL, err);
	case RF_VERB_CHAN_LIST:
		res = rfd_chan_verb(d, req, caller->pid, pass_fd, err);
		return only ? own_channels(res, only) : res;
	case RF_VERB_CHAN_CLOSE:
	case RF_VERB_CHAN_OPEN:
		return rfd_chan_verb(d, req, caller->pid, pass_fd, err);
	case RF_VERB_RFLOOP_LISTEN:
	case RF_VERB_RFLOOP_TABLE:
		return rfd_rfloop_verb(req, fds, nfds, pass_fd, err);
	case RF_VERB_POLICY:
		return rfd_policy_verb(d, req, err);
	}
	base_errf(err, BASE_E_BAD_REQUEST, "unknown verb");
	return NULL;
}

/* The caller as it stands now: a subOS caller whose subOS has since been
 * destroyed (a descriptor that outlived it) is no longer anyone's. */
static void caller_now(struct rfd *d, const struct rfd_caller *c, struct rfd_caller *now)
{
	*now = *c;
	if (c->kind == RFD_CALLER_SUBOS && !rfd_caller_subos(d, c)) {
		now->kind = RFD_CALLER_UNKNOWN;
		snprintf(now->why, sizeof(now->why), "its subOS \"%s\" was destroyed", c->subos);
	}
}

static void log_outcome(const struct base_request *req, const struct rfd_caller *c,
			const struct json_object *res, const struct base_err *err)
{
	char who[256];
	if (!mutates(req) && (res || err->code != BASE_E_PERMISSION_DENIED))
		return;
	rfd_caller_describe(c, who, sizeof(who));
	rfd_log("%s %s from %s: %s%s%s", base_verb_name(req->verb), req->name ? req->name : "-",
		who, res ? "ok" : base_errc_name(err->code), res ? "" : ": ",
		res ? "" : err->msg);
}

/* The answer to req: res (consumed) or err; logged. */
static struct json_object *answer_of(const struct base_request *req, const struct rfd_caller *c,
				     struct json_object *res, struct base_err *err)
{
	struct json_object *ans;
	if (!res && err->code == BASE_E_OK) /* a handler that forgot its code */
		err->code = BASE_E_INTERNAL;
	log_outcome(req, c, res, err);
	if (res)
		ans = base_answer_new_ok(req, res);
	else
		ans = base_answer_new_err(req->has_id, req->id, err->code, "%s", err->msg);
	return ans;
}

/* Whom an op answers: the connection, or (while its first step runs
 * inside rfd_handle_request) the answer slot of that call. */
struct op_ctx {
	struct rfd_caller caller;
	struct rfd_reply_to to;
	struct json_object **sync;
};

static void op_finish(struct rfd *d, struct rfd_op *op)
{
	struct op_ctx *x = op->ctx;
	struct json_object *ans = answer_of(&op->req, &x->caller, op->result, &op->err);
	op->result = NULL; /* consumed */
	if (x->sync)
		*x->sync = ans;
	else
		d->answer(d, &x->to, ans, -1);
	free(x);
}

static rfd_op_step op_step(enum base_verb v)
{
	return v == RF_VERB_CREATE ? rfd_subos_create_step :
	       v == RF_VERB_DESTROY ? rfd_subos_destroy_step :
	       v == RF_VERB_CHAN_CREATE ? rfd_chan_create_step : rfd_subos_resize_step;
}

/* What an op queues on: its subOS, or its channel (chan.h). */
static void op_name(const struct base_request *req, char *out, size_t len)
{
	snprintf(out, len, "%s%s", req->verb == RF_VERB_CHAN_CREATE ? RFD_CHAN_OP_PREFIX : "",
		 req->name);
}

/* Create, destroy, resize and chan_create run as ops (op.h), which may answer later:
 * *answer is the answer if the op ended at once, else NULL.  The request
 * moves into the op.  -1: no memory (req untouched). */
static int start_op(struct rfd *d, struct base_request *req, const struct rfd_caller *c,
		    const struct rfd_reply_to *to, struct json_object **answer)
{
	char name[sizeof(((struct rfd_op *)0)->name)];
	op_name(req, name, sizeof(name));
	struct rfd_op *op = rfd_op_new(name, op_step(req->verb));
	struct op_ctx *x = malloc(sizeof(*x));
	if (!op || !x) {
		free(op);
		free(x);
		return -1;
	}
	*x = (struct op_ctx){ .caller = *c, .to = *to, .sync = answer };
	op->req = *req;
	memset(req, 0, sizeof(*req));
	op->ctx = x;
	op->finish = op_finish;
	*answer = NULL;
	if (rfd_op_submit(d, op) == RFD_OP_WAIT)
		x->sync = NULL; /* still running: it answers the connection */
	return 0;
}

static bool is_op(enum base_verb v)
{
	return v == RF_VERB_CREATE || v == RF_VERB_DESTROY || v == RF_VERB_RESIZE ||
	       v == RF_VERB_CHAN_CREATE;
}

/* *pass_fd: a descriptor to send with the answer (chan_open), else -1. */
void rfd_handle_request(struct rfd *d, const char *line, size_t len,
			const struct rfd_caller *caller, const int *fds, int nfds,
			const struct rfd_reply_to *to, struct json_object **answer, int *pass_fd)
{
	struct base_request req;
	struct base_err perr;
	struct base_err err = { 0 };
	struct rfd_caller c;
	enum rfd_scope scope;
	struct json_object *res = NULL;

	*pass_fd = -1;
	if (base_proto_parse(line, len, &req, &perr)) {
		*answer = base_answer_new_err(req.has_id, req.id, perr.code, "%s", perr.msg);
		return;
	}
	caller_now(d, caller, &c);
	if (rfd_authorize(&c, d->owner_uid, req.verb, req.name, &scope, &err) == 0) {
		rfd_caller_set_current(&c);
		if (is_op(req.verb)) {
			if (start_op(d, &req, &c, to, answer) == 0) {
				rfd_caller_set_current(NULL);
				return;
			}
			base_errf(&err, BASE_E_INTERNAL, "out of memory");
		} else {
			res = dispatch(d, &req, &c, scope == RFD_SCOPE_SELF ? c.subos : NULL, fds,
				       nfds, pass_fd, &err);
			if (mutates(&req))
				rfd_check(d); /* chan_close */
		}
		rfd_caller_set_current(NULL);
	}
	*answer = answer_of(&req, &c, res, &err);
	base_request_free(&req);
}
