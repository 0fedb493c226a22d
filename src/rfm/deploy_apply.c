/*
 * deploy_apply.c - `rfm apply|diff|delete FILE`: read the file, ask rfd
 * what runs (show for each subOS of the file, chan_list, info), plan
 * (deploy_plan.c), then print the plan (diff) or carry it out.
 *
 * Carrying it out is all or nothing as far as rfd allows: a refused item
 * stops apply before it sends anything, and a failure part-way undoes
 * what this apply did, newest first (a created subOS or channel is
 * destroyed or closed, a resize is resized back).  What cannot be undone
 * (a subOS destroyed to be re-created, a closed channel, a policy sent) is
 * named on stderr, so the state left is never a guess.
 */
#include "rfm/deploy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/client.h"
#include "rfm/args.h"
#include "rfm/rfm.h"

struct run {
	struct base_client c;
	const struct deploy *d;
	char err[600];              /* why the last call failed */
	bool unknown_verb;          /* ... because rfd does not know the verb */
};

/* Send req; the answer's result (a reference the caller puts), or NULL
 * with r->err filled. */
static struct json_object *call(struct run *r, const struct base_request *req)
{
	struct json_object *ans = base_client_request(&r->c, req, NULL);
	struct json_object *res = NULL;
	r->unknown_verb = false;
	if (!ans) {
		snprintf(r->err, sizeof(r->err), "talking to rfd: %s", strerror(errno));
		return NULL;
	}
	if (base_answer_ok(ans)) {
		res = json_object_get(base_answer_result(ans));
		if (!res)
			res = json_object_new_object();
	} else {
		snprintf(r->err, sizeof(r->err), "%s (%s)", base_answer_message(ans),
			 base_answer_error(ans));
		r->unknown_verb = strcmp(base_answer_error(ans), "bad_request") == 0 &&
				  strstr(base_answer_message(ans), "unknown verb");
	}
	json_object_put(ans);
	return res;
}

/* One request that needs only a verb and a name; 0 or -1. */
static int call_named(struct run *r, enum base_verb verb, const char *name)
{
	struct base_request req;
	base_request_init(&req, verb);
	req.name = name;
	struct json_object *res = call(r, &req);
	json_object_put(res);
	return res ? 0 : -1;
}

/* rfd's state for the plan: st->subos and st->chans are new objects. */
static int read_state(struct run *r, struct deploy_state *st)
{
	struct base_request req;
	struct json_object *res;
	int64_t chunk = 0;
	memset(st, 0, sizeof(*st));
	base_request_init(&req, RF_VERB_INFO);
	if (!(res = call(r, &req)))
		return -1;
	rfm_int(res, "chunk_size", &chunk);
	st->chunk = chunk > 0 ? (uint64_t)chunk : 0;
	json_object_put(res);
	base_request_init(&req, RF_VERB_CHAN_LIST);
	if (!(res = call(r, &req)))
		return -1;
	st->chans = json_object_get(rfm_field(res, "channels", json_type_array));
	json_object_put(res);
	st->subos = json_object_new_object();
	for (int i = 0; i < r->d->nsubos; i++) {
		base_request_init(&req, RF_VERB_SHOW);
		req.name = r->d->subos[i].name;
		if ((res = call(r, &req)))
			json_object_object_add(st->subos, req.name, res);
		else if (!strstr(r->err, "(no_such_subos)"))
			return -1;
	}
	return 0;
}

static void free_state(struct deploy_state *st)
{
	json_object_put(st->subos);
	json_object_put(st->chans);
}

/* Wait until something accepts a TCP connection on the loopback port. */
static int wait_ready(struct run *r, const struct deploy_subos *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->ready_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	for (int64_t waited = 0; waited <= s->ready_timeout_ms; waited += 20) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			break;
		int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (rc == 0)
			return 0;
		nanosleep(&nap, NULL);
	}
	snprintf(r->err, sizeof(r->err), "%s did not accept a connection on tcp port %d within "
		 "%lld ms (ready:)", s->name, s->ready_port, (long long)s->ready_timeout_ms);
	return -1;
}

static int create(struct run *r, const struct deploy_subos *s)
{
	struct base_request req;
	base_request_init(&req, RF_VERB_CREATE);
	req.name = s->name;
	req.kind = s->kind;
	req.cores = s->cores;
	req.has_mem = true;
	req.mem = s->mem;
	req.argv = (const char **)s->argv.v;
	req.argc = s->argv.n;
	req.env = (const char **)s->env.v;
	req.envc = s->env.n;
	req.caps = (const char **)s->caps.v;
	req.ncaps = s->caps.n;
	req.binds = (const char **)s->binds.v;
	req.nbinds = s->binds.n;
	req.ro_binds = (const char **)s->ro_binds.v;
	req.nro_binds = s->ro_binds.n;
	req.fs_root = s->root;
	req.restart = s->restart;
	req.max_restarts = s->max_restarts;
	struct json_object *res = call(r, &req);
	if (!res)
		return -1;
	json_object_put(res);
	return s->ready_port ? wait_ready(r, s) : 0;
}

static int chan_create(struct run *r, const struct deploy_chan *c)
{
	struct base_request req;
	base_request_init(&req, RF_VERB_CHAN_CREATE);
	req.name = c->name;
	req.between[0] = c->between[0];
	req.between[1] = c->between[1];
	req.chan_kind = c->kind;
	req.has_chan_kind = true;
	req.has_slots = c->kind == RF_CHAN_MSG;
	req.slots = c->slots;
	req.has_size = c->kind == RF_CHAN_MAP;
	req.size = c->size;
	struct json_object *res = call(r, &req);
	json_object_put(res);
	return res ? 0 : -1;
}

/* A resize to the action's target (back: to what it was). */
static int resize(struct run *r, const struct deploy_action *a, bool back)
{
	struct base_request req;
	base_request_init(&req, RF_VERB_RESIZE);
	req.name = a->name;
	if (a->cores && back) {
		req.cores.form = RF_CORES_LIST;
		if (base_cpuset_parse(&req.cores.set, a->from_cpus) < 0)
			return -1;
	} else if (a->cores) {
		req.cores = a->to_cores;
	}
	req.has_mem = a->mem;
	req.mem = back ? a->from_mem : a->to_mem;
	struct json_object *res = call(r, &req);
	json_object_put(res);
	return res ? 0 : -1;
}

/* The file's policy fields (-1: not given) as the `policy`
 * verb takes them (base/proto_policy.h: microseconds, only what is given). */
static void policy_fields(const struct deploy_policy *p, struct base_policy *out)
{
	if (p->lt_us >= 0)
		out->lt_us = (uint32_t)p->lt_us, out->given |= RF_POL_LT;
	if (p->ut_us >= 0)
		out->ut_us = (uint32_t)p->ut_us, out->given |= RF_POL_UT;
	if (p->signal >= 0)
		out->signal = (enum base_signal)p->signal, out->given |= RF_POL_SIGNAL;
	if (p->window_ms >= 0)
		out->window_ms = (uint32_t)p->window_ms, out->given |= RF_POL_WINDOW;
	if (p->min_cores >= 0)
		out->min_cores = (int)p->min_cores, out->given |= RF_POL_MIN;
	if (p->max_cores >= 0)
		out->max_cores = (int)p->max_cores, out->given |= RF_POL_MAX;
}

/*
 * The policy (rfm policy, src/rfd/policy.c), set or turned off.  An rfd
 * that does not know the verb is not an error of the deployment: apply
 * says so and goes on.
 */
static int policy(struct run *r, const struct deploy_subos *s)
{
	const struct deploy_policy *p = &s->policy;
	struct base_request req;
	base_request_init(&req, RF_VERB_POLICY);
	req.name = s->name;
	req.has_policy = true;
	req.policy.priority = !p->set ? RF_PRIO_OFF : p->latency ? RF_PRIO_LATENCY : RF_PRIO_BATCH;
	req.probe = s->probe[0] ? s->probe : "off"; /* set with the policy, one journal record */
	if (p->set)
		policy_fields(p, &req.policy);
	struct json_object *res = call(r, &req);
	json_object_put(res);
	if (!res && r->unknown_verb) {
		fprintf(stderr, "rfm: policy: not supported by this rfd (%s's policy not set)\n",
			s->name);
		return 0;
	}
	return res ? 0 : -1;
}

static int run_action(struct run *r, const struct deploy_action *a)
{
	switch (a->op) {
	case DEPLOY_CHAN_CLOSE:
		return call_named(r, RF_VERB_CHAN_CLOSE, a->name);
	case DEPLOY_DESTROY:
		return call_named(r, RF_VERB_DESTROY, a->name);
	case DEPLOY_SHRINK:
	case DEPLOY_GROW:
		return resize(r, a, false);
	case DEPLOY_CREATE:
		return create(r, a->s);
	case DEPLOY_CHAN_CREATE:
		return chan_create(r, a->c);
	case DEPLOY_POLICY:
		return policy(r, a->s);
	case DEPLOY_REFUSED:
		break;
	}
	snprintf(r->err, sizeof(r->err), "%s", a->what);
	return -1;
}

/* Undo actions [0, n) newest first; say what could not be undone. */
static void roll_back(struct run *r, const struct deploy_plan *p, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		const struct deploy_action *a = &p->a[i];
		int rc = 0;
		if (a->op == DEPLOY_CREATE)
			rc = call_named(r, RF_VERB_DESTROY, a->name);
		else if (a->op == DEPLOY_CHAN_CREATE)
			rc = call_named(r, RF_VERB_CHAN_CLOSE, a->name);
		else if (a->op == DEPLOY_SHRINK || a->op == DEPLOY_GROW)
			rc = resize(r, a, true);
		else {
			fprintf(stderr, "rfm: not undone: %s\n", a->what);
			continue;
		}
		if (rc < 0)
			fprintf(stderr, "rfm: undoing \"%s\" failed: %s\n", a->what, r->err);
		else
			fprintf(stderr, "rfm: undone: %s\n", a->what);
	}
}

static int execute(struct run *r, const struct deploy_plan *p, bool is_apply)
{
	for (int i = 0; i < p->n; i++) {
		if (run_action(r, &p->a[i]) < 0) {
			fprintf(stderr, "rfm: %s: %s failed: %s\n", r->d->file, p->a[i].what, r->err);
			if (p->a[i].op == DEPLOY_CREATE && p->a[i].s->ready_port &&
			    strstr(r->err, "(ready:)"))
				i++; /* it was created: undo it too */
			if (is_apply)
				roll_back(r, p, i);
			else
				fprintf(stderr, "rfm: delete stopped; what came before is done\n");
			return 1;
		}
		puts(p->a[i].what);
	}
	return 0;
}

/* The directory of rfm's own binary (librfloop.so is built beside it). */
static void rfm_dir(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, len, "%s", n > 0 && slash ? exe : ".");
}

static int load(const struct rfm_cmd *cmd, struct deploy *d)
{
	struct base_err err;
	char dir[PATH_MAX];
	rfm_dir(dir, sizeof(dir));
	if (deploy_load(cmd->file, d, &err) < 0 ||
	    (strcmp(cmd->verb, "delete") != 0 && deploy_resolve(d, dir, &err) < 0)) {
		fprintf(stderr, "rfm: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* The plan, printed (diff) or carried out. */
static int act(struct run *r, const struct rfm_cmd *cmd, const struct deploy_plan *p)
{
	const char *who = r->d->name ? r->d->name : r->d->file;
	bool diff = strcmp(cmd->verb, "diff") == 0, del = strcmp(cmd->verb, "delete") == 0;
	if (p->n == 0) {
		printf("%s: %s\n", who, del ? "nothing to delete" : "unchanged");
		return 0;
	}
	if (diff) {
		for (int i = 0; i < p->n; i++)
			puts(p->a[i].what);
		return 0;
	}
	if (p->refused) {
		for (int i = 0; i < p->n; i++)
			if (p->a[i].op == DEPLOY_REFUSED)
				fprintf(stderr, "rfm: %s: %s\n", r->d->file, p->a[i].what);
		fprintf(stderr, "rfm: %s: nothing applied\n", r->d->file);
		return 1;
	}
	return execute(r, p, !del);
}

int rfm_deploy_run(const struct rfm_cmd *cmd)
{
	struct deploy d;
	struct deploy_state st = { 0 };
	struct deploy_plan p = { 0 };
	struct run r = { .d = &d };
	int status = 1;

	if (load(cmd, &d) < 0)
		return 1;
	const char *path = base_client_socket_path(cmd->socket);
	int rc = base_client_connect(&r.c, path);
	if (rc < 0) {
		fprintf(stderr, "rfm: cannot connect to rfd at %s: %s (is rfd running?)\n", path,
			strerror(-rc));
		goto out_deploy;
	}
	if (read_state(&r, &st) < 0) {
		fprintf(stderr, "rfm: reading rfd's state: %s\n", r.err);
		goto out;
	}
	rc = strcmp(cmd->verb, "delete") == 0 ? deploy_plan_delete(&d, &st, &p)
					       : deploy_plan_apply(&d, &st, cmd->recreate, &p);
	if (rc < 0)
		fprintf(stderr, "rfm: out of memory\n");
	else
		status = act(&r, cmd, &p);
	deploy_plan_free(&p);
out:
	free_state(&st);
	base_client_close(&r.c);
out_deploy:
	deploy_free(&d);
	return status;
}
