/*
 * proto.c - the control protocol's codec: requests decoded (and validated)
 * for rfd, encoded for clients, from one table of key names.
 *
 * Decoding is strict on purpose: unknown verbs, wrong types, bad names and
 * sizes are refused with a code and a message that names the field, so a
 * mistake in a client never reaches the partition table.  Encoding writes
 * each field the request has, in the forms the decoder reads.
 */
#include "base/proto.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rf/desc.h"
#include "rf/ficm.h"

/* The request keys, for both directions. */
enum key {
	K_VERSION, K_ID, K_VERB, K_NAME, K_KIND, K_CORES, K_MEM, K_ARGV, K_ENV,
	K_BETWEEN, K_SLOTS, K_SIZE, K_CAPS, K_ROOT, K_BINDS, K_RO_BINDS, K_RESTART,
	K_MAX_RESTARTS, K_POLICY, K_PROBE,
};

static const char *const keys[] = {
	[K_VERSION] = "version", [K_ID] = "id", [K_VERB] = "verb", [K_NAME] = "name",
	[K_KIND] = "kind", [K_CORES] = "cores", [K_MEM] = "mem", [K_ARGV] = "argv",
	[K_ENV] = "env", [K_BETWEEN] = "between", [K_SLOTS] = "slots", [K_SIZE] = "size",
	[K_CAPS] = "caps", [K_ROOT] = "root", [K_BINDS] = "binds", [K_RO_BINDS] = "ro_binds",
	[K_RESTART] = "restart", [K_MAX_RESTARTS] = "max_restarts", [K_POLICY] = "policy",
	[K_PROBE] = "probe",
};

static const char *const restart_names[] = {
	[RF_RESTART_NO] = "no", [RF_RESTART_ON_FAILURE] = "on-failure",
	[RF_RESTART_ALWAYS] = "always",
};

const char *base_restart_name(enum base_restart r)
{
	return restart_names[r];
}

int base_restart_parse(const char *name, enum base_restart *out)
{
	for (size_t i = 0; i < sizeof(restart_names) / sizeof(restart_names[0]); i++)
		if (strcmp(name, restart_names[i]) == 0) {
			*out = (enum base_restart)i;
			return 0;
		}
	return -1;
}

static const char *const verb_names[] = {
	[RF_VERB_CREATE] = "create", [RF_VERB_DESTROY] = "destroy",
	[RF_VERB_RESIZE] = "resize", [RF_VERB_LIST] = "list",
	[RF_VERB_SHOW] = "show",     [RF_VERB_INFO] = "info",
	[RF_VERB_LOG] = "log",
	[RF_VERB_CHAN_CREATE] = "chan_create", [RF_VERB_CHAN_LIST] = "chan_list",
	[RF_VERB_CHAN_CLOSE] = "chan_close",   [RF_VERB_CHAN_OPEN] = "chan_open",
	[RF_VERB_RFLOOP_LISTEN] = "rfloop_listen", [RF_VERB_RFLOOP_TABLE] = "rfloop_table",
	[RF_VERB_STATS] = "stats", [RF_VERB_POLICY] = "policy",
};

const char *base_verb_name(enum base_verb v)
{
	return verb_names[v];
}

const char *base_chan_kind_name(enum base_chan_kind k)
{
	return k == RF_CHAN_MAP ? "map" : "msg";
}

const char *base_kind_name(enum base_kind k)
{
	return k == RF_KIND_LIBOS ? "libos" : "linux";
}

int base_kind_parse(const char *name, enum base_kind *out)
{
	for (enum base_kind k = RF_KIND_LIBOS; k <= RF_KIND_LINUX; k++)
		if (strcmp(name, base_kind_name(k)) == 0) {
			*out = k;
			return 0;
		}
	return -1;
}

int base_chan_kind_parse(const char *name, enum base_chan_kind *out)
{
	for (enum base_chan_kind k = RF_CHAN_MSG; k <= RF_CHAN_MAP; k++)
		if (strcmp(name, base_chan_kind_name(k)) == 0) {
			*out = k;
			return 0;
		}
	return -1;
}

bool base_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= RF_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

/* A string with an escaped NUL ("\u0000") would be cut short as a C string:
 * "kv\u0000x" must not become the name "kv", nor an argv element shorter. */
static bool has_nul(struct json_object *s)
{
	return (size_t)json_object_get_string_len(s) != strlen(json_object_get_string(s));
}

static int get_string(struct json_object *o, const char *key, const char **out, bool required,
		      struct base_err *err)
{
	struct json_object *v;
	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return required ? base_errf(err, BASE_E_BAD_REQUEST, "missing field \"%s\"", key)
				: 0;
	if (!json_object_is_type(v, json_type_string))
		return base_errf(err, BASE_E_BAD_REQUEST, "field \"%s\" must be a string", key);
	if (has_nul(v))
		return base_errf(err, BASE_E_BAD_REQUEST, "field \"%s\" contains a NUL character",
				 key);
	*out = json_object_get_string(v);
	return 0;
}

static int parse_name(struct json_object *o, struct base_request *req, struct base_err *err,
		      bool required)
{
	if (get_string(o, keys[K_NAME], &req->name, required, err))
		return -1;
	if (req->name && !base_name_valid(req->name))
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "bad name \"%.64s\": use 1-%d characters of A-Z a-z 0-9 _ . - "
				 "not starting with . or -", req->name, RF_NAME_MAX - 1);
	return 0;
}

/* "+N" / "-N": only resize takes a change of cores. */
static int parse_delta(const char *s, struct base_cores_arg *c, struct base_err *err)
{
	char *end;
	long n = strtol(s + 1, &end, 10);
	if (!isdigit((unsigned char)s[1]) || *end || n < 1 || n > RF_MAX_CPUS)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%.32s\" is not +N or -N",
				 keys[K_CORES], s);
	c->form = RF_CORES_DELTA;
	c->n = s[0] == '+' ? (int)n : -(int)n;
	return 0;
}

static int parse_cores(struct json_object *o, struct base_request *req, struct base_err *err)
{
	struct json_object *v;
	struct base_cores_arg *c = &req->cores;
	const char *k = keys[K_CORES];
	c->form = RF_CORES_NONE;
	if (!json_object_object_get_ex(o, k, &v))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);
		/* 0 only for create: a linux subOS with no core of its own
		 * (docs/protocol.md, create). */
		if (n < (req->verb == RF_VERB_CREATE ? 0 : 1) || n > RF_MAX_CPUS)
			return base_errf(err, BASE_E_BAD_REQUEST,
					 "%s: %lld is not a core count (%d-%d)", k, (long long)n,
					 req->verb == RF_VERB_CREATE ? 0 : 1, RF_MAX_CPUS);
		c->form = RF_CORES_COUNT;
		c->n = (int)n;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "%s: must be a count or a CPU list string", k);
	if (has_nul(v))
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: contains a NUL character", k);
	const char *s = json_object_get_string(v);
	if ((s[0] == '+' || s[0] == '-') && req->verb == RF_VERB_RESIZE)
		return parse_delta(s, c, err);
	if (base_cpuset_parse(&c->set, s) || base_cpuset_empty(&c->set))
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "%s: \"%.64s\" is not a CPU list like 1-3,5", k, s);
	c->form = RF_CORES_LIST;
	return 0;
}

static int parse_mem(struct json_object *o, struct base_request *req, struct base_err *err)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, keys[K_MEM], &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: must be a positive number of bytes",
				 keys[K_MEM]);
	req->has_mem = true;
	req->mem = (uint64_t)json_object_get_int64(v);
	return 0;
}

/* How many pointers the array at `key` needs (at most RF_ARGV_MAX: a
 * longer one is refused before anything is stored). */
static size_t strv_room(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
		return 0;
	size_t len = json_object_array_length(v);
	return len > RF_ARGV_MAX ? RF_ARGV_MAX : len;
}

/* The array of strings at `key` into buf (room for its length + 1);
 * *out = buf, an empty vector if the key is absent. */
static int parse_strv(struct json_object *o, const char *key, const char **buf, const char ***out,
		      int *n, bool required, struct base_err *err)
{
	struct json_object *v;
	*n = 0;
	*out = buf;
	buf[0] = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return required ? base_errf(err, BASE_E_BAD_REQUEST, "missing field \"%s\"", key)
				: 0;
	if (!json_object_is_type(v, json_type_array))
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: must be an array of strings", key);
	size_t len = json_object_array_length(v);
	if ((required && len == 0) || len > RF_ARGV_MAX)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: needs 1 to %d strings", key,
				 RF_ARGV_MAX);
	for (size_t i = 0; i < len; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string))
			return base_errf(err, BASE_E_BAD_REQUEST, "%s[%zu]: must be a string", key,
					 i);
		if (has_nul(e))
			return base_errf(err, BASE_E_BAD_REQUEST,
					 "%s[%zu]: contains a NUL character", key, i);
		buf[i] = json_object_get_string(e);
		if (!buf[i][0] && required && i == 0)
			return base_errf(err, BASE_E_BAD_REQUEST, "%s[0]: empty program name", key);
	}
	buf[len] = NULL;
	*n = (int)len;
	return 0;
}

static int parse_verb(struct json_object *o, struct base_request *req, struct base_err *err)
{
	const char *verb;
	if (get_string(o, keys[K_VERB], &verb, true, err))
		return -1;
	for (size_t i = 0; i < sizeof(verb_names) / sizeof(verb_names[0]); i++) {
		if (strcmp(verb, verb_names[i]) == 0) {
			req->verb = (enum base_verb)i;
			return 0;
		}
	}
	return base_errf(err, BASE_E_BAD_REQUEST, "unknown verb \"%.32s\"", verb);
}

/* argv, env and the confinement vectors (caps, binds, ro_binds), each
 * NULL-terminated, in one block the request owns.  Their contents (known
 * capability names, absolute bind paths) are rfd's to check
 * (src/rfd/confine.c): the codec only carries them. */
static int parse_program(struct json_object *o, struct base_request *req, struct base_err *err)
{
	static const enum key vk[] = { K_ARGV, K_ENV, K_CAPS, K_BINDS, K_RO_BINDS };
	const char ***vec[] = { &req->argv, &req->env, &req->caps, &req->binds, &req->ro_binds };
	int *cnt[] = { &req->argc, &req->envc, &req->ncaps, &req->nbinds, &req->nro_binds };
	size_t room = 0, at = 0;
	for (size_t i = 0; i < 5; i++)
		room += strv_room(o, keys[vk[i]]) + 1;
	req->store = calloc(room, sizeof(*req->store));
	if (!req->store)
		return base_errf(err, BASE_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < 5; i++) {
		if (parse_strv(o, keys[vk[i]], req->store + at, vec[i], cnt[i], i == 0, err))
			return -1;
		at += strv_room(o, keys[vk[i]]) + 1;
	}
	for (int i = 0; i < req->envc; i++)
		if (!strchr(req->env[i], '=') || req->env[i][0] == '=')
			return base_errf(err, BASE_E_BAD_REQUEST,
					 "%s[%d]: \"%.32s\" is not KEY=VALUE", keys[K_ENV], i,
					 req->env[i]);
	return get_string(o, keys[K_ROOT], &req->fs_root, false, err);
}

/* restart: a policy name; max_restarts: a count >= 0, only with one. */
static int parse_restart(struct json_object *o, struct base_request *req, struct base_err *err)
{
	const char *name, *km = keys[K_MAX_RESTARTS];
	struct json_object *v;
	if (get_string(o, keys[K_RESTART], &name, false, err))
		return -1;
	if (name && base_restart_parse(name, &req->restart) < 0)
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "%s: \"%.32s\" is not no, on-failure or always", keys[K_RESTART],
				 name);
	if (!json_object_object_get_ex(o, km, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
	    json_object_get_int64(v) > INT32_MAX)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: must be a count (0 or more)", km);
	if (req->restart == RF_RESTART_NO)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: only with %s on-failure or always",
				 km, keys[K_RESTART]);
	req->max_restarts = json_object_get_int64(v);
	return 0;
}

static int parse_create(struct json_object *o, struct base_request *req, struct base_err *err)
{
	const char *kind;
	if (get_string(o, keys[K_KIND], &kind, true, err))
		return -1;
	if (base_kind_parse(kind, &req->kind) < 0)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%.32s\" is not libos or linux",
				 keys[K_KIND], kind);
	if (req->cores.form == RF_CORES_NONE)
		return base_errf(err, BASE_E_BAD_REQUEST, "missing field \"%s\"", keys[K_CORES]);
	if (!req->has_mem)
		return base_errf(err, BASE_E_BAD_REQUEST, "missing field \"%s\"", keys[K_MEM]);
	return parse_restart(o, req, err) || parse_program(o, req, err) ? -1 : 0;
}

/* between: exactly two distinct subOS names. */
static int parse_between(struct json_object *o, struct base_request *req, struct base_err *err)
{
	struct json_object *v;
	const char *k = keys[K_BETWEEN];
	if (!json_object_object_get_ex(o, k, &v))
		return base_errf(err, BASE_E_BAD_REQUEST, "missing field \"%s\"", k);
	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 2)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: must be an array of two subOS names",
				 k);
	for (size_t i = 0; i < 2; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string) || has_nul(e) ||
		    !base_name_valid(json_object_get_string(e)))
			return base_errf(err, BASE_E_BAD_REQUEST, "%s[%zu]: not a subOS name", k,
					 i);
		req->between[i] = json_object_get_string(e);
	}
	if (strcmp(req->between[0], req->between[1]) == 0)
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "%s: a channel joins two different subOSes, "
				 "not \"%s\" with itself", k, req->between[0]);
	return 0;
}

/* An optional positive integer field; *has tells whether it was given. */
static int get_count(struct json_object *o, const char *key, uint64_t *out, bool *has,
		     struct base_err *err)
{
	struct json_object *v;
	*has = false;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: must be a positive integer", key);
	*has = true;
	*out = (uint64_t)json_object_get_int64(v);
	return 0;
}

static int parse_chan_kind(struct json_object *o, struct base_request *req, struct base_err *err)
{
	const char *kind;
	if (get_string(o, keys[K_KIND], &kind, false, err))
		return -1;
	req->has_chan_kind = kind != NULL;
	req->chan_kind = RF_CHAN_MSG;
	if (kind && base_chan_kind_parse(kind, &req->chan_kind) < 0)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%.32s\" is not msg or map",
				 keys[K_KIND], kind);
	return 0;
}

/* msg takes slots (default RF_CHAN_SLOTS_DEFAULT), map takes size. */
static int check_chan_geometry(struct base_request *req, struct base_err *err)
{
	const char *ks = keys[K_SLOTS], *kz = keys[K_SIZE];
	if (req->chan_kind == RF_CHAN_MSG) {
		uint64_t slots = req->slots;
		if (req->has_size)
			return base_errf(err, BASE_E_BAD_REQUEST,
					 "%s: only for a map channel (msg takes "
					 "%s)", kz, ks);
		if (slots < RF_FICM_SLOTS_MIN || slots > RF_FICM_SLOTS_MAX || (slots & (slots - 1)))
			return base_errf(err, BASE_E_BAD_REQUEST,
					 "%s: %llu is not a power of two in "
					 "%u-%u", ks, (unsigned long long)slots, RF_FICM_SLOTS_MIN,
					 RF_FICM_SLOTS_MAX);
		return 0;
	}
	if (req->has_slots)
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "%s: only for a msg channel (map takes %s)", ks, kz);
	if (!req->has_size)
		return base_errf(err, BASE_E_BAD_REQUEST, "a map channel needs \"%s\"", kz);
	if (req->size > RF_CHAN_SIZE_MAX)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: %llu bytes is more than %llu", kz,
				 (unsigned long long)req->size,
				 (unsigned long long)RF_CHAN_SIZE_MAX);
	return 0;
}

static int parse_chan_create(struct json_object *o, struct base_request *req, struct base_err *err)
{
	req->slots = RF_CHAN_SLOTS_DEFAULT;
	if (parse_chan_kind(o, req, err) || parse_between(o, req, err) ||
	    get_count(o, keys[K_SLOTS], &req->slots, &req->has_slots, err) ||
	    get_count(o, keys[K_SIZE], &req->size, &req->has_size, err))
		return -1;
	return check_chan_geometry(req, err);
}

static int parse_version(struct json_object *o, struct base_err *err)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, keys[K_VERSION], &v))
		return base_errf(err, BASE_E_BAD_VERSION,
				 "missing \"%s\"; this rfd speaks version %d", keys[K_VERSION],
				 RF_PROTO_VERSION_CUR);
	if (!json_object_is_type(v, json_type_int))
		return base_errf(err, BASE_E_BAD_VERSION,
				 "\"%s\" must be an integer; this rfd speaks "
				 "version %d", keys[K_VERSION], RF_PROTO_VERSION_CUR);
	if (json_object_get_int64(v) != RF_PROTO_VERSION_CUR)
		return base_errf(err, BASE_E_BAD_VERSION,
				 "protocol version %lld is not supported; "
				 "this rfd speaks version %d",
				 (long long)json_object_get_int64(v), RF_PROTO_VERSION_CUR);
	return 0;
}

static bool verb_named(enum base_verb v)
{
	return v == RF_VERB_CREATE || v == RF_VERB_DESTROY || v == RF_VERB_RESIZE ||
	       v == RF_VERB_SHOW || v == RF_VERB_CHAN_CREATE || v == RF_VERB_CHAN_CLOSE ||
	       v == RF_VERB_CHAN_OPEN || v == RF_VERB_POLICY;
}

/* policy: its settings (proto_policy.c) and the probe (a URL or "off",
 * checked by rfd with base/probe.h), if given; none asks for them. */
static int parse_policy(struct json_object *o, struct base_request *req, struct base_err *err)
{
	struct json_object *v;
	if (get_string(o, keys[K_PROBE], &req->probe, false, err))
		return -1;
	if (!json_object_object_get_ex(o, keys[K_POLICY], &v))
		return 0;
	req->has_policy = true;
	return base_policy_decode(v, &req->policy, err);
}

static int parse_fields(struct json_object *o, struct base_request *req, struct base_err *err)
{
	if (parse_version(o, err) || parse_verb(o, req, err) || parse_cores(o, req, err) ||
	    parse_mem(o, req, err) || parse_name(o, req, err, verb_named(req->verb)))
		return -1;
	switch (req->verb) {
	case RF_VERB_CREATE:
		return parse_create(o, req, err);
	case RF_VERB_CHAN_CREATE:
		return parse_chan_create(o, req, err);
	case RF_VERB_POLICY:
		return parse_policy(o, req, err);
	case RF_VERB_RESIZE:
		if (req->cores.form == RF_CORES_NONE && !req->has_mem)
			return base_errf(err, BASE_E_BAD_REQUEST, "resize needs \"%s\" or \"%s\"",
					 keys[K_CORES], keys[K_MEM]);
		return 0;
	default:
		return 0;
	}
}

/* The line as one JSON object into req->root. */
static int parse_json(const char *line, size_t len, struct base_request *req, struct base_err *err)
{
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return base_errf(err, BASE_E_INTERNAL, "out of memory");
	req->root = json_tokener_parse_ex(tok, line, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = (size_t)json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!req->root || jerr != json_tokener_success)
		return base_errf(err, BASE_E_BAD_REQUEST, "not valid JSON: %s",
				 jerr == json_tokener_continue ? "unexpected end"
							       : json_tokener_error_desc(jerr));
	for (; used < len; used++)
		if (!isspace((unsigned char)line[used]))
			return base_errf(err, BASE_E_BAD_REQUEST,
					 "trailing bytes after the JSON object");
	if (!json_object_is_type(req->root, json_type_object))
		return base_errf(err, BASE_E_BAD_REQUEST, "a request must be a JSON object");
	return 0;
}

/* A refused request leaves the caller nothing to free, but its id for
 * the answer. */
static int parse_failed(struct base_request *req)
{
	bool has_id = req->has_id;
	int64_t id = req->id;
	base_request_free(req);
	req->has_id = has_id;
	req->id = id;
	return -1;
}

int base_proto_parse(const char *line, size_t len, struct base_request *req, struct base_err *err)
{
	struct json_object *v;
	memset(req, 0, sizeof(*req));
	req->max_restarts = -1;
	err->code = BASE_E_OK;
	err->msg[0] = '\0';
	if (len > RF_PROTO_LINE_MAX)
		return base_errf(err, BASE_E_REQUEST_TOO_LARGE, "request of %zu bytes exceeds %d",
				 len, RF_PROTO_LINE_MAX);
	if (memchr(line, '\0', len))
		return base_errf(err, BASE_E_BAD_REQUEST, "request contains a NUL byte");
	if (parse_json(line, len, req, err))
		goto fail;
	if (json_object_object_get_ex(req->root, keys[K_ID], &v) &&
	    json_object_is_type(v, json_type_int)) {
		req->has_id = true;
		req->id = json_object_get_int64(v);
	}
	if (parse_fields(req->root, req, err))
		goto fail;
	return 0;
fail:
	return parse_failed(req);
}

void base_request_free(struct base_request *req)
{
	if (req->root)
		json_object_put(req->root);
	free(req->store);
	memset(req, 0, sizeof(*req));
}

/* ---- encoding ------------------------------------------------------- */

void base_request_init(struct base_request *req, enum base_verb verb)
{
	memset(req, 0, sizeof(*req));
	req->verb = verb;
	req->max_restarts = -1;
}

/* Add v under key k; puts v and fails if it could not be made or added. */
static int put(struct json_object *o, enum key k, struct json_object *v)
{
	if (!v || json_object_object_add(o, keys[k], v)) {
		json_object_put(v);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static struct json_object *new_strv(const char *const *v, int n)
{
	struct json_object *a = json_object_new_array();
	for (int i = 0; a && i < n; i++)
		if (json_object_array_add(a, json_object_new_string(v[i]))) {
			json_object_put(a);
			return NULL;
		}
	return a;
}

/* A count as an integer, a change as "+N"/"-N", a list as "1-3,5". */
static struct json_object *new_cores(const struct base_cores_arg *c)
{
	char buf[4096];
	switch (c->form) {
	case RF_CORES_COUNT:
		return json_object_new_int(c->n);
	case RF_CORES_DELTA:
		snprintf(buf, sizeof(buf), "%+d", c->n);
		return json_object_new_string(buf);
	case RF_CORES_LIST:
		if (base_cpuset_format(&c->set, buf, sizeof(buf)) < 0) {
			errno = E2BIG;
			return NULL;
		}
		return json_object_new_string(buf);
	default:
		return NULL;
	}
}

static int encode_kind(struct json_object *o, const struct base_request *req)
{
	if (req->verb == RF_VERB_CREATE)
		return put(o, K_KIND, json_object_new_string(base_kind_name(req->kind)));
	if (req->verb == RF_VERB_CHAN_CREATE && req->has_chan_kind)
		return put(o, K_KIND, json_object_new_string(base_chan_kind_name(req->chan_kind)));
	return 0;
}

/* Each field the request has; 0 or -1 (errno). */
static int encode_fields(struct json_object *o, const struct base_request *req)
{
	if ((req->name && put(o, K_NAME, json_object_new_string(req->name))) ||
	    encode_kind(o, req) ||
	    (req->cores.form != RF_CORES_NONE && put(o, K_CORES, new_cores(&req->cores))) ||
	    (req->has_mem && put(o, K_MEM, json_object_new_int64((int64_t)req->mem))) ||
	    (req->argv && put(o, K_ARGV, new_strv(req->argv, req->argc))) ||
	    (req->envc > 0 && put(o, K_ENV, new_strv(req->env, req->envc))))
		return -1;
	if ((req->ncaps > 0 && put(o, K_CAPS, new_strv(req->caps, req->ncaps))) ||
	    (req->fs_root && put(o, K_ROOT, json_object_new_string(req->fs_root))) ||
	    (req->nbinds > 0 && put(o, K_BINDS, new_strv(req->binds, req->nbinds))) ||
	    (req->nro_binds > 0 && put(o, K_RO_BINDS, new_strv(req->ro_binds, req->nro_binds))))
		return -1;
	if (req->between[0] && req->between[1] &&
	    put(o, K_BETWEEN, new_strv(req->between, 2)))
		return -1;
	if ((req->restart != RF_RESTART_NO &&
	     put(o, K_RESTART, json_object_new_string(base_restart_name(req->restart)))) ||
	    (req->max_restarts >= 0 && req->restart != RF_RESTART_NO &&
	     put(o, K_MAX_RESTARTS, json_object_new_int64(req->max_restarts))))
		return -1;
	if ((req->has_slots && put(o, K_SLOTS, json_object_new_int64((int64_t)req->slots))) ||
	    (req->has_size && put(o, K_SIZE, json_object_new_int64((int64_t)req->size))))
		return -1;
	if (req->verb == RF_VERB_POLICY && req->has_policy &&
	    put(o, K_POLICY, base_policy_encode(&req->policy)))
		return -1;
	if (req->verb == RF_VERB_POLICY && req->probe &&
	    put(o, K_PROBE, json_object_new_string(req->probe)))
		return -1;
	return 0;
}

struct json_object *base_request_encode(const struct base_request *req)
{
	struct json_object *o = json_object_new_object();
	if (!o) {
		errno = ENOMEM;
		return NULL;
	}
	if (put(o, K_VERSION, json_object_new_int(RF_PROTO_VERSION_CUR)) ||
	    (req->has_id && put(o, K_ID, json_object_new_int64(req->id))) ||
	    put(o, K_VERB, json_object_new_string(base_verb_name(req->verb))) ||
	    encode_fields(o, req)) {
		int e = errno;
		json_object_put(o);
		errno = e;
		return NULL;
	}
	return o;
}

/* ---- answers -------------------------------------------------------- */

static struct json_object *answer_base(bool has_id, int64_t id, bool ok)
{
	struct json_object *a = json_object_new_object();
	json_object_object_add(a, keys[K_VERSION], json_object_new_int(RF_PROTO_VERSION_CUR));
	if (has_id)
		json_object_object_add(a, keys[K_ID], json_object_new_int64(id));
	json_object_object_add(a, "ok", json_object_new_boolean(ok));
	return a;
}

struct json_object *base_answer_new_ok(const struct base_request *req, struct json_object *result)
{
	struct json_object *a = answer_base(req->has_id, req->id, true);
	json_object_object_add(a, "result", result ? result : json_object_new_object());
	return a;
}

struct json_object *base_answer_new_err(bool has_id, int64_t id, enum base_errc code,
					const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct json_object *a = answer_base(has_id, id, false);
	json_object_object_add(a, "error", json_object_new_string(base_errc_name(code)));
	json_object_object_add(a, "message", json_object_new_string(msg));
	return a;
}
