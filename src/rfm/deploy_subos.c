/*
 * deploy_subos.c - one entry of a deployment file's `subos:` mapping
 * checked and turned into struct deploy_subos: what `rfm create` takes
 * (kind, cores, memory, program, env, confinement, restart) plus what only
 * a deployment has (rfloop, after, ready, policy).
 *
 * The values go through the same form checkers as rfm's options
 * (forms.c), so a file and a command line accept the same things, and a
 * mistake names the file and line here instead of reaching rfd.
 */
#define _GNU_SOURCE
#include "rfm/deploy_yaml.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfm/args.h"
#include "base/proto_policy.h"

#define OOM(y) base_errf((y)->err, BASE_E_INTERNAL, "out of memory")

static int f_kind(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy_subos *s = obj;
	const char *k;
	if (deploy_scalar(y, v, "kind", &k) < 0)
		return -1;
	if (base_kind_parse(k, &s->kind) < 0)
		return deploy_bad(y, v, "kind: \"%s\" is not a kind (libos or linux)", k);
	return 0;
}

static int f_cores(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy_subos *s = obj;
	const char *c;
	if (deploy_scalar(y, v, "cores", &c) < 0)
		return -1;
	return rfm_parse_cores("cores", c, false, &s->cores, y->err) < 0 ? deploy_bad_form(y, v)
									  : 0;
}

static int f_memory(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy_subos *s = obj;
	const char *m;
	if (deploy_scalar(y, v, "memory", &m) < 0)
		return -1;
	return rfm_parse_mem("memory", m, &s->mem, y->err) < 0 ? deploy_bad_form(y, v) : 0;
}

static int f_program(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy_subos *s = obj;
	if (deploy_strings(y, v, "program", &s->argv, NULL) < 0)
		return -1;
	if (s->argv.n == 0 || s->argv.v[0][0] == '\0')
		return deploy_bad(y, v, "program: the program name is missing");
	return 0;
}

/* One "KEY=VALUE" of env, from either form. */
static int add_env(struct deploy_yctx *y, const yaml_node_t *at, struct deploy_subos *s,
		   const char *key, size_t klen, const char *val)
{
	char *kv;
	if (klen == 0 || memchr(key, '=', klen))
		return deploy_bad(y, at, "env: \"%.*s\" is not a variable name", (int)klen, key);
	if (s->env.n >= RF_ARGV_MAX)
		return deploy_bad(y, at, "env: more than %d variables", RF_ARGV_MAX);
	if (asprintf(&kv, "%.*s=%s", (int)klen, key, val) < 0)
		return OOM(y);
	int rc = deploy_strv_add(&s->env, kv);
	free(kv);
	return rc < 0 ? OOM(y) : 0;
}

/* env: {KEY: VALUE, ...} or [KEY=VALUE, ...] */
static int f_env(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy_subos *s = obj;
	const char *k, *val;
	if (v && v->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++) {
			yaml_node_t *n = deploy_node(y, *it);
			if (deploy_scalar(y, n, "env", &k) < 0)
				return -1;
			const char *eq = strchr(k, '=');
			if (!eq)
				return deploy_bad(y, n, "env: \"%s\" is not KEY=VALUE", k);
			if (add_env(y, n, s, k, (size_t)(eq - k), eq + 1) < 0)
				return -1;
		}
		return 0;
	}
	if (deploy_mapping(y, v, "env") < 0)
		return -1;
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = deploy_node(y, p->key);
		if (deploy_scalar(y, kn, "env", &k) < 0 ||
		    deploy_scalar(y, deploy_node(y, p->value), k, &val) < 0 ||
		    add_env(y, kn, s, k, strlen(k), val) < 0)
			return -1;
	}
	return 0;
}

static int f_caps(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	return deploy_strings(y, v, "caps", &((struct deploy_subos *)obj)->caps, rfm_parse_cap);
}

static int f_binds(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	return deploy_strings(y, v, "binds", &((struct deploy_subos *)obj)->binds,
			      rfm_parse_bind);
}

static int f_ro_binds(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	return deploy_strings(y, v, "ro_binds", &((struct deploy_subos *)obj)->ro_binds,
			      rfm_parse_bind);
}

static int f_root(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy_subos *s = obj;
	const char *r;
	if (deploy_scalar(y, v, "root", &r) < 0)
		return -1;
	if (!*r)
		return deploy_bad(y, v, "root: the directory is missing");
	return (s->root = strdup(r)) ? 0 : OOM(y);
}

static int f_restart(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy_subos *s = obj;
	const char *r;
	if (deploy_scalar(y, v, "restart", &r) < 0)
		return -1;
	if (base_restart_parse(r, &s->restart) < 0)
		return deploy_bad(y, v, "restart: \"%s\" is not no, on-failure or always", r);
	return 0;
}

static int f_max_restarts(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	return deploy_int(y, v, "max_restarts", 0, INT32_MAX,
			  &((struct deploy_subos *)obj)->max_restarts);
}

static int f_rfloop(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	return deploy_bool(y, v, "rfloop", &((struct deploy_subos *)obj)->rfloop);
}

static int check_name(const char *opt, const char *val, struct base_err *err)
{
	return rfm_check_name(val, err);
}

static int f_after(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	return deploy_strings(y, v, "after", &((struct deploy_subos *)obj)->after, check_name);
}

static int r_tcp(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	int64_t port;
	if (deploy_int(y, v, "tcp", 1, 65535, &port) < 0)
		return -1;
	((struct deploy_subos *)obj)->ready_port = (int)port;
	return 0;
}

static int r_timeout(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	return deploy_int(y, v, "timeout_ms", 1, 3600000,
			  &((struct deploy_subos *)obj)->ready_timeout_ms);
}

/* ready: {tcp: PORT, timeout_ms: N} */
static int f_ready(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	static const struct deploy_field fields[] = { { "tcp", r_tcp },
						      { "timeout_ms", r_timeout } };
	unsigned seen;
	if (deploy_fields(y, v, "ready", fields, 2, obj, &seen) < 0)
		return -1;
	if (!(seen & 1u))
		return deploy_bad(y, v, "ready: tcp: PORT is required");
	return 0;
}

static int p_priority(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy_policy *p = obj;
	const char *s;
	if (deploy_scalar(y, v, "priority", &s) < 0)
		return -1;
	if (strcmp(s, "latency") != 0 && strcmp(s, "batch") != 0)
		return deploy_bad(y, v, "priority: \"%s\" is not latency or batch", s);
	p->latency = s[0] == 'l';
	return 0;
}

#define POLICY_INT(field, min)                                                              \
	static int p_##field(struct deploy_yctx *y, const yaml_node_t *v, void *obj)        \
	{                                                                                   \
		return deploy_int(y, v, #field, min, 3600000,                               \
				  &((struct deploy_policy *)obj)->field);                   \
	}
POLICY_INT(window_ms, 1)

/* lt_ms, ut_ms: milliseconds with up to three decimals (0.05 is 50 us), as
 * `rfm policy --lt` takes them; kept in microseconds, as the verb sends. */
static int threshold(struct deploy_yctx *y, const yaml_node_t *v, const char *key, int64_t *us)
{
	const char *s;
	char *end;
	if (deploy_scalar(y, v, key, &s) < 0)
		return -1;
	double ms = strtod(s, &end);
	if (!*s || *end || !isfinite(ms) || ms * 1000 < 1 || ms * 1000 > RF_POLICY_T_MAX_US)
		return deploy_bad(y, v, "%s: \"%s\" is not a number of milliseconds from 0.001 "
				  "to %d", key, s, RF_POLICY_T_MAX_US / 1000);
	*us = llround(ms * 1000);
	return 0;
}

static int p_lt_ms(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	return threshold(y, v, "lt_ms", &((struct deploy_policy *)obj)->lt_us);
}

static int p_ut_ms(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	return threshold(y, v, "ut_ms", &((struct deploy_policy *)obj)->ut_us);
}

/* signal: latency (the service's request times) or queue (librf's
 * queueing delay), as `rfm policy --signal`. */
static int p_signal(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	const char *s;
	enum base_signal g;
	if (deploy_scalar(y, v, "signal", &s) < 0)
		return -1;
	if (base_signal_parse(s, &g))
		return deploy_bad(y, v, "signal: \"%s\" is not latency or queue", s);
	((struct deploy_policy *)obj)->signal = (int)g;
	return 0;
}
POLICY_INT(min_cores, 0)
POLICY_INT(max_cores, 1)

/* policy: {priority: latency|batch, lt_ms, ut_ms, window_ms, min_cores, max_cores,
 * signal} */
static int f_policy(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	static const struct deploy_field fields[] = {
		{ "priority", p_priority }, { "lt_ms", p_lt_ms }, { "ut_ms", p_ut_ms },
		{ "window_ms", p_window_ms }, { "min_cores", p_min_cores },
		{ "max_cores", p_max_cores }, { "signal", p_signal },
	};
	struct deploy_policy *p = &((struct deploy_subos *)obj)->policy;
	unsigned seen;
	p->lt_us = p->ut_us = p->window_ms = p->min_cores = p->max_cores = p->signal = -1;
	if (deploy_fields(y, v, "policy", fields, 7, p, &seen) < 0)
		return -1;
	if (!(seen & 1u))
		return deploy_bad(y, v, "policy: priority: latency|batch is required");
	if (p->lt_us >= 0 && p->ut_us >= 0 && p->lt_us >= p->ut_us)
		return deploy_bad(y, v, "policy: lt_ms (%g) must be below ut_ms (%g)",
				  (double)p->lt_us / 1000, (double)p->ut_us / 1000);
	if (p->min_cores >= 0 && p->max_cores >= 0 && p->min_cores > p->max_cores)
		return deploy_bad(y, v, "policy: min_cores (%lld) is above max_cores (%lld)",
				  (long long)p->min_cores, (long long)p->max_cores);
	p->set = true;
	return 0;
}

/* probe: URL, the latency signal of a linux subOS (base/probe.h) */
static int f_probe(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy_subos *s = obj;
	struct base_probe_url u;
	struct base_err err;
	const char *url;
	if (deploy_scalar(y, v, "probe", &url) < 0)
		return -1;
	if (base_probe_url_parse(url, &u, &err))
		return deploy_bad(y, v, "%s", err.msg);
	snprintf(s->probe, sizeof(s->probe), "%s", url);
	return 0;
}

static const struct deploy_field subos_fields[] = {
	{ "kind", f_kind }, { "cores", f_cores }, { "memory", f_memory },
	{ "program", f_program }, { "env", f_env }, { "caps", f_caps }, { "root", f_root },
	{ "binds", f_binds }, { "ro_binds", f_ro_binds }, { "restart", f_restart },
	{ "max_restarts", f_max_restarts }, { "rfloop", f_rfloop }, { "after", f_after },
	{ "ready", f_ready }, { "policy", f_policy }, { "probe", f_probe },
};
enum { SF_KIND, SF_CORES, SF_MEMORY, SF_PROGRAM, SF_MAX_RESTARTS = 10 };

int deploy_subos_parse(struct deploy_yctx *y, const yaml_node_t *map, struct deploy_subos *s)
{
	static const int need[] = { SF_KIND, SF_CORES, SF_MEMORY, SF_PROGRAM };
	char what[RF_NAME_MAX + 16];
	unsigned seen;
	s->max_restarts = -1;
	s->ready_timeout_ms = DEPLOY_READY_DEFAULT_MS;
	snprintf(what, sizeof(what), "subOS %s", s->name);
	if (deploy_fields(y, map, what, subos_fields,
			  (int)(sizeof(subos_fields) / sizeof(subos_fields[0])), s, &seen) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!(seen & (1u << need[i])))
			return deploy_bad(y, map, "subOS %s: %s is required", s->name,
					  subos_fields[need[i]].key);
	if ((seen & (1u << SF_MAX_RESTARTS)) && s->restart == RF_RESTART_NO)
		return deploy_bad(y, map, "subOS %s: max_restarts needs restart: on-failure or "
				  "always", s->name);
	if (s->probe[0] && s->kind != RF_KIND_LINUX)
		return deploy_bad(y, map, "subOS %s: probe: a libos subOS reports its own latency "
				  "(a probe is for kind linux)", s->name);
	for (int i = 0; i < s->after.n; i++)
		if (strcmp(s->after.v[i], s->name) == 0)
			return deploy_bad(y, map, "subOS %s: after: names itself", s->name);
	return 0;
}

void deploy_subos_free(struct deploy_subos *s)
{
	struct deploy_strv *v[] = { &s->argv, &s->env, &s->caps, &s->binds, &s->ro_binds,
				    &s->after };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		deploy_strv_free(v[i]);
	free(s->root);
	s->root = NULL;
}
