/*
 * verbs.c - one handler per protocol verb (docs/protocol.md).
 *
 * rfd_handle_request() parses and authorises; each handler either returns a
 * result object or fills an rf_err.  Handlers that change the table do all
 * their checks before the first change, so an error answer means nothing
 * happened.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/verbs.h"
#include "rfd/chan.h"
#include "rfd/lifecycle.h"
#include "rfd/log.h"
#include "rfd/resize.h"
#include "rfd/subos.h"
#include "base/timing.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct json_object *do_list(struct rfd *d)
{
	struct json_object *arr = json_object_new_array(), *r = json_object_new_object();
	for (int i = 0; i < RF_MAX_SUBOS; i++)
		if (d->subos[i])
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

static struct json_object *do_info(struct rfd *d)
{
	struct json_object *r = json_object_new_object(), *pool = json_object_new_object();
	struct base_cpuset host, fr;
	int ready, owned, scrub, huge;
	json_object_object_add(r, "rfd_version", json_object_new_string(RFD_VERSION));
	json_object_object_add(r, "protocol", json_object_new_int(RF_PROTO_VERSION_CUR));
	json_object_object_add(r, "pid", json_object_new_int(getpid()));
	json_object_object_add(r, "state_dir", json_object_new_string(d->state_dir));
	json_object_object_add(r, "socket", json_object_new_string(d->socket_path));
	json_object_object_add(r, "enforcement",
			       json_object_new_string(rfd_enforce_name(d->enf.kind)));
	char detail[1024];
	rfd_enforce_describe(&d->enf, detail, sizeof(detail));
	json_object_object_add(r, "enforcement_detail", json_object_new_string(detail));
	json_object_object_add(r, "machine", machine_json(&d->topo));
	host = d->topo.online;
	base_cpuset_andnot(&host, &d->pt.managed);
	rfd_ptable_free_cpus(&d->pt, &fr);
	add_cpus(r, "host_cpus", &host);
	add_cpus(r, "managed_cpus", &d->pt.managed);
	add_cpus(r, "free_cpus", &fr);
	json_object_object_add(r, "mem_managed", json_object_new_int64((int64_t)d->pt.mem_managed));
	json_object_object_add(r, "mem_free",
			       json_object_new_int64((int64_t)(d->pt.mem_managed - d->pt.mem_used)));
	json_object_object_add(r, "chunk_size", json_object_new_int64((int64_t)d->pool.chunk_size));
	rfd_pool_counts(&d->pool, &ready, &owned, &scrub, &huge);
	json_object_object_add(r, "hugepages", json_object_new_boolean(huge > 0));
	json_object_object_add(pool, "chunks", json_object_new_int(d->pool.nchunks));
	json_object_object_add(pool, "ready", json_object_new_int(ready));
	json_object_object_add(pool, "owned", json_object_new_int(owned));
	json_object_object_add(pool, "scrubbing", json_object_new_int(scrub));
	json_object_object_add(pool, "hugepage_chunks", json_object_new_int(huge));
	json_object_object_add(r, "pool", pool);
	json_object_object_add(r, "handshake_deadline_ms",
			       json_object_new_int64((int64_t)(d->deadline_ns / 1000000)));
	return r;
}

struct log_ctx {
	const char *name;
	struct json_object *arr;
};

/* Is the record about `name`: the subOS itself, a channel of that name,
 * or a channel granted to it? */
static bool log_match(struct json_object *rec, const char *name)
{
	struct json_object *n;
	if (json_object_object_get_ex(rec, "name", &n) || json_object_object_get_ex(rec, "chan", &n))
		if (strcmp(json_object_get_string(n), name) == 0)
			return true;
	if (json_object_object_get_ex(rec, "between", &n) && json_object_is_type(n, json_type_array))
		for (size_t i = 0; i < json_object_array_length(n); i++)
			if (strcmp(json_object_get_string(json_object_array_get_idx(n, i)), name) == 0)
				return true;
	return false;
}

static int log_one(struct json_object *rec, void *arg)
{
	struct log_ctx *lc = arg;
	if (lc->name && !log_match(rec, lc->name))
		return 0;
	json_object_array_add(lc->arr, json_object_get(rec));
	return 0;
}

static struct json_object *do_log(struct rfd *d, const char *name, struct base_err *err)
{
	struct log_ctx lc = { name, json_object_new_array() };
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

static bool mutates(enum base_verb v)
{
	return v == RF_VERB_CREATE || v == RF_VERB_DESTROY || v == RF_VERB_RESIZE ||
	       v == RF_VERB_CHAN_CREATE || v == RF_VERB_CHAN_CLOSE;
}

static struct json_object *dispatch(struct rfd *d, const struct base_request *req, pid_t pid,
				    int *pass_fd, struct base_err *err)
{
	struct rfd_subos *s = NULL;
	struct json_object *res = NULL;
	if (req->verb == RF_VERB_DESTROY || req->verb == RF_VERB_RESIZE ||
	    req->verb == RF_VERB_SHOW) {
		if (!(s = rfd_subos_find(d, req->name))) {
			base_errf(err, BASE_E_NO_SUCH_SUBOS, "no subOS named \"%s\"", req->name);
			return NULL;
		}
	}
	switch (req->verb) {
	case RF_VERB_CREATE:
		if (rfd_subos_create(d, req, &s, err))
			return NULL;
		res = rfd_subos_json(d, s, false);
		static const char *const steps[] = { "setup", "spawn", "attach", "journal" };
		base_timing_us_add(res, steps, s->create_us, 4);
		return res;
	case RF_VERB_DESTROY:
		rfd_subos_destroy(d, s, &res, err);
		return res;
	case RF_VERB_RESIZE:
		rfd_subos_resize(d, s, req, &res, err);
		return res;
	case RF_VERB_LIST:
		return do_list(d);
	case RF_VERB_SHOW:
		return rfd_subos_json(d, s, true);
	case RF_VERB_INFO:
		return do_info(d);
	case RF_VERB_LOG:
		return do_log(d, req->name, err);
	case RF_VERB_CHAN_CREATE:
	case RF_VERB_CHAN_LIST:
	case RF_VERB_CHAN_CLOSE:
	case RF_VERB_CHAN_OPEN:
		return rfd_chan_verb(d, req, pid, pass_fd, err);
	}
	base_errf(err, BASE_E_BAD_REQUEST, "unknown verb");
	return NULL;
}

/* *pass_fd: a descriptor to send with the answer (chan_open), else -1. */
void rfd_handle_request(struct rfd *d, const char *line, size_t len, uid_t uid, pid_t pid,
			struct json_object **answer, int *pass_fd)
{
	struct base_request req;
	struct base_err perr;
	struct base_err err = { 0 };

	*pass_fd = -1;
	if (base_proto_parse(line, len, &req, &perr)) {
		*answer = base_answer_new_err(req.has_id, req.id, perr.code, "%s", perr.msg);
		return;
	}
	if (mutates(req.verb) && uid != 0 && uid != d->owner_uid) {
		*answer = base_answer_new_err(req.has_id, req.id, BASE_E_PERMISSION_DENIED,
					      "uid %u may not %s subOSes (root or uid %u only)",
					      (unsigned)uid, base_verb_name(req.verb),
					      (unsigned)d->owner_uid);
		base_request_free(&req);
		return;
	}
	struct json_object *res = dispatch(d, &req, pid, pass_fd, &err);
	if (!res && err.code == BASE_E_OK) /* a handler that forgot its code */
		err.code = BASE_E_INTERNAL;
	if (res)
		*answer = base_answer_new_ok(&req, res);
	else
		*answer = base_answer_new_err(req.has_id, req.id, err.code, "%s", err.msg);
	if (mutates(req.verb))
		rfd_log("%s %s from pid %d: %s%s%s", base_verb_name(req.verb), req.name, (int)pid,
			res ? "ok" : base_errc_name(err.code), res ? "" : ": ", res ? "" : err.msg);
	base_request_free(&req);
}
