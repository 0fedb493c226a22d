/*
 * proto.c - request validation for rfd's control protocol.
 *
 * Strict on purpose: unknown verbs, wrong types, bad names and sizes are
 * refused with a code and a message that names the field, so a mistake in
 * a client never reaches the partition table.
 */
#include "base/proto.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rf/desc.h"
#include "rf/ficm.h"

static const char *const verb_names[] = {
	[RF_VERB_CREATE] = "create", [RF_VERB_DESTROY] = "destroy",
	[RF_VERB_RESIZE] = "resize", [RF_VERB_LIST] = "list",
	[RF_VERB_SHOW] = "show",     [RF_VERB_INFO] = "info",
	[RF_VERB_LOG] = "log",
	[RF_VERB_CHAN_CREATE] = "chan_create", [RF_VERB_CHAN_LIST] = "chan_list",
	[RF_VERB_CHAN_CLOSE] = "chan_close",   [RF_VERB_CHAN_OPEN] = "chan_open",
};

const char *rf_verb_name(enum rf_verb v)
{
	return verb_names[v];
}

const char *rf_chan_kind_name(enum rf_chan_kind k)
{
	return k == RF_CHAN_MAP ? "map" : "msg";
}

const char *rf_kind_name(enum rf_kind k)
{
	return k == RF_KIND_LIBOS ? "libos" : "linux";
}

bool rf_name_valid(const char *name)
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

static int get_string(struct json_object *o, const char *key, const char **out,
		      bool required, struct rf_err *err)
{
	struct json_object *v;
	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return required ? rf_errf(err, BASE_E_BAD_REQUEST, "missing field \"%s\"", key) : 0;
	if (!json_object_is_type(v, json_type_string))
		return rf_errf(err, BASE_E_BAD_REQUEST, "field \"%s\" must be a string", key);
	if (has_nul(v))
		return rf_errf(err, BASE_E_BAD_REQUEST, "field \"%s\" contains a NUL character", key);
	*out = json_object_get_string(v);
	return 0;
}

static int parse_name(struct json_object *o, struct rf_request *req, struct rf_err *err,
		      bool required)
{
	if (get_string(o, "name", &req->name, required, err))
		return -1;
	if (req->name && !rf_name_valid(req->name))
		return rf_errf(err, BASE_E_BAD_REQUEST,
			    "bad name \"%.64s\": use 1-%d characters of A-Z a-z 0-9 _ . - "
			    "not starting with . or -", req->name, RF_NAME_MAX - 1);
	return 0;
}

static int parse_cores(struct json_object *o, struct rf_request *req, struct rf_err *err)
{
	struct json_object *v;
	struct rf_cores_arg *c = &req->cores;
	c->form = RF_CORES_NONE;
	if (!json_object_object_get_ex(o, "cores", &v))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);
		if (n < 1 || n > RF_MAX_CPUS)
			return rf_errf(err, BASE_E_BAD_REQUEST, "cores: %lld is not a core count (1-%d)",
				    (long long)n, RF_MAX_CPUS);
		c->form = RF_CORES_COUNT;
		c->n = (int)n;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return rf_errf(err, BASE_E_BAD_REQUEST, "cores: must be a count or a CPU list string");
	if (has_nul(v))
		return rf_errf(err, BASE_E_BAD_REQUEST, "cores: contains a NUL character");
	const char *s = json_object_get_string(v);
	if ((s[0] == '+' || s[0] == '-') && req->verb == RF_VERB_RESIZE) {
		char *end;
		long n = strtol(s + 1, &end, 10);
		if (!isdigit((unsigned char)s[1]) || *end || n < 1 || n > RF_MAX_CPUS)
			return rf_errf(err, BASE_E_BAD_REQUEST, "cores: \"%.32s\" is not +N or -N", s);
		c->form = RF_CORES_DELTA;
		c->n = s[0] == '+' ? (int)n : -(int)n;
		return 0;
	}
	if (rf_cpuset_parse(&c->set, s) || rf_cpuset_empty(&c->set))
		return rf_errf(err, BASE_E_BAD_REQUEST, "cores: \"%.64s\" is not a CPU list like 1-3,5", s);
	c->form = RF_CORES_LIST;
	return 0;
}

static int parse_mem(struct json_object *o, struct rf_request *req, struct rf_err *err)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, "mem", &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0)
		return rf_errf(err, BASE_E_BAD_REQUEST, "mem: must be a positive number of bytes");
	req->has_mem = true;
	req->mem = (uint64_t)json_object_get_int64(v);
	return 0;
}

static int parse_strv(struct json_object *o, const char *key, const char **out, int *n,
		      bool required, struct rf_err *err)
{
	struct json_object *v;
	*n = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return required ? rf_errf(err, BASE_E_BAD_REQUEST, "missing field \"%s\"", key) : 0;
	if (!json_object_is_type(v, json_type_array))
		return rf_errf(err, BASE_E_BAD_REQUEST, "%s: must be an array of strings", key);
	size_t len = json_object_array_length(v);
	if ((required && len == 0) || len > RF_ARGV_MAX)
		return rf_errf(err, BASE_E_BAD_REQUEST, "%s: needs 1 to %d strings", key, RF_ARGV_MAX);
	for (size_t i = 0; i < len; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string))
			return rf_errf(err, BASE_E_BAD_REQUEST, "%s[%zu]: must be a string", key, i);
		if (has_nul(e))
			return rf_errf(err, BASE_E_BAD_REQUEST, "%s[%zu]: contains a NUL character", key, i);
		out[i] = json_object_get_string(e);
		if (!out[i][0] && required && i == 0)
			return rf_errf(err, BASE_E_BAD_REQUEST, "%s[0]: empty program name", key);
	}
	out[len] = NULL;
	*n = (int)len;
	return 0;
}

static int parse_verb(struct json_object *o, struct rf_request *req, struct rf_err *err)
{
	const char *verb;
	if (get_string(o, "verb", &verb, true, err))
		return -1;
	for (size_t i = 0; i < sizeof(verb_names) / sizeof(verb_names[0]); i++) {
		if (strcmp(verb, verb_names[i]) == 0) {
			req->verb = (enum rf_verb)i;
			return 0;
		}
	}
	return rf_errf(err, BASE_E_BAD_REQUEST, "unknown verb \"%.32s\"", verb);
}

static int parse_create(struct json_object *o, struct rf_request *req, struct rf_err *err)
{
	const char *kind;
	if (get_string(o, "kind", &kind, true, err))
		return -1;
	if (strcmp(kind, "libos") == 0)
		req->kind = RF_KIND_LIBOS;
	else if (strcmp(kind, "linux") == 0)
		req->kind = RF_KIND_LINUX;
	else
		return rf_errf(err, BASE_E_BAD_REQUEST, "kind: \"%.32s\" is not libos or linux", kind);
	if (req->cores.form == RF_CORES_NONE)
		return rf_errf(err, BASE_E_BAD_REQUEST, "missing field \"cores\"");
	if (!req->has_mem)
		return rf_errf(err, BASE_E_BAD_REQUEST, "missing field \"mem\"");
	if (parse_strv(o, "argv", req->argv, &req->argc, true, err))
		return -1;
	if (parse_strv(o, "env", req->env, &req->envc, false, err))
		return -1;
	for (int i = 0; i < req->envc; i++)
		if (!strchr(req->env[i], '=') || req->env[i][0] == '=')
			return rf_errf(err, BASE_E_BAD_REQUEST, "env[%d]: \"%.32s\" is not KEY=VALUE", i,
				    req->env[i]);
	return 0;
}

/* between: exactly two distinct subOS names. */
static int parse_between(struct json_object *o, struct rf_request *req, struct rf_err *err)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, "between", &v))
		return rf_errf(err, BASE_E_BAD_REQUEST, "missing field \"between\"");
	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 2)
		return rf_errf(err, BASE_E_BAD_REQUEST, "between: must be an array of two subOS names");
	for (size_t i = 0; i < 2; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string) || has_nul(e) ||
		    !rf_name_valid(json_object_get_string(e)))
			return rf_errf(err, BASE_E_BAD_REQUEST, "between[%zu]: not a subOS name", i);
		req->between[i] = json_object_get_string(e);
	}
	if (strcmp(req->between[0], req->between[1]) == 0)
		return rf_errf(err, BASE_E_BAD_REQUEST, "between: a channel joins two different subOSes, "
			    "not \"%s\" with itself", req->between[0]);
	return 0;
}

/* An optional positive integer field; *has tells whether it was given. */
static int get_count(struct json_object *o, const char *key, uint64_t *out, bool *has,
		     struct rf_err *err)
{
	struct json_object *v;
	*has = false;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0)
		return rf_errf(err, BASE_E_BAD_REQUEST, "%s: must be a positive integer", key);
	*has = true;
	*out = (uint64_t)json_object_get_int64(v);
	return 0;
}

static int parse_chan_create(struct json_object *o, struct rf_request *req, struct rf_err *err)
{
	const char *kind;
	uint64_t slots = RF_CHAN_SLOTS_DEFAULT, size = 0;
	bool has_slots, has_size;
	if (get_string(o, "kind", &kind, false, err) || parse_between(o, req, err) ||
	    get_count(o, "slots", &slots, &has_slots, err) ||
	    get_count(o, "size", &size, &has_size, err))
		return -1;
	if (!kind || strcmp(kind, "msg") == 0)
		req->chan_kind = RF_CHAN_MSG;
	else if (strcmp(kind, "map") == 0)
		req->chan_kind = RF_CHAN_MAP;
	else
		return rf_errf(err, BASE_E_BAD_REQUEST, "kind: \"%.32s\" is not msg or map", kind);
	if (req->chan_kind == RF_CHAN_MSG) {
		if (has_size)
			return rf_errf(err, BASE_E_BAD_REQUEST, "size: only for a map channel (msg takes slots)");
		if (slots < RF_FICM_SLOTS_MIN || slots > RF_FICM_SLOTS_MAX || (slots & (slots - 1)))
			return rf_errf(err, BASE_E_BAD_REQUEST, "slots: %llu is not a power of two in %u-%u",
				    (unsigned long long)slots, RF_FICM_SLOTS_MIN, RF_FICM_SLOTS_MAX);
		req->slots = (uint32_t)slots;
		return 0;
	}
	if (has_slots)
		return rf_errf(err, BASE_E_BAD_REQUEST, "slots: only for a msg channel (map takes size)");
	if (!has_size)
		return rf_errf(err, BASE_E_BAD_REQUEST, "a map channel needs \"size\"");
	if (size > RF_CHAN_SIZE_MAX)
		return rf_errf(err, BASE_E_BAD_REQUEST, "size: %llu bytes is more than %llu",
			    (unsigned long long)size, (unsigned long long)RF_CHAN_SIZE_MAX);
	req->size = size;
	return 0;
}

static int parse_fields(struct json_object *o, struct rf_request *req, struct rf_err *err)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, "version", &v))
		return rf_errf(err, BASE_E_BAD_VERSION, "missing \"version\"; this rfd speaks version %d",
			    RF_PROTO_VERSION_CUR);
	if (!json_object_is_type(v, json_type_int))
		return rf_errf(err, BASE_E_BAD_VERSION, "\"version\" must be an integer; this rfd speaks "
			    "version %d", RF_PROTO_VERSION_CUR);
	if (json_object_get_int64(v) != RF_PROTO_VERSION_CUR)
		return rf_errf(err, BASE_E_BAD_VERSION, "protocol version %lld is not supported; this rfd "
			    "speaks version %d", (long long)json_object_get_int64(v),
			    RF_PROTO_VERSION_CUR);
	if (parse_verb(o, req, err) || parse_cores(o, req, err) || parse_mem(o, req, err))
		return -1;
	bool named = req->verb == RF_VERB_CREATE || req->verb == RF_VERB_DESTROY ||
		     req->verb == RF_VERB_RESIZE || req->verb == RF_VERB_SHOW ||
		     req->verb == RF_VERB_CHAN_CREATE || req->verb == RF_VERB_CHAN_CLOSE ||
		     req->verb == RF_VERB_CHAN_OPEN;
	if (parse_name(o, req, err, named))
		return -1;
	switch (req->verb) {
	case RF_VERB_CREATE:
		return parse_create(o, req, err);
	case RF_VERB_CHAN_CREATE:
		return parse_chan_create(o, req, err);
	case RF_VERB_RESIZE:
		if (req->cores.form == RF_CORES_NONE && !req->has_mem)
			return rf_errf(err, BASE_E_BAD_REQUEST, "resize needs \"cores\" or \"mem\"");
		return 0;
	default:
		return 0;
	}
}

int rf_proto_parse(const char *line, size_t len, struct rf_request *req,
		   struct rf_err *err)
{
	memset(req, 0, sizeof(*req));
	err->code = BASE_E_OK;
	err->msg[0] = '\0';
	if (len > RF_PROTO_LINE_MAX)
		return rf_errf(err, BASE_E_REQUEST_TOO_LARGE, "request of %zu bytes exceeds %d", len,
			    RF_PROTO_LINE_MAX);
	if (memchr(line, '\0', len))
		return rf_errf(err, BASE_E_BAD_REQUEST, "request contains a NUL byte");
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return rf_errf(err, BASE_E_INTERNAL, "out of memory");
	req->root = json_tokener_parse_ex(tok, line, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = (size_t)json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!req->root || jerr != json_tokener_success) {
		rf_request_free(req);
		return rf_errf(err, BASE_E_BAD_REQUEST, "not valid JSON: %s",
			    jerr == json_tokener_continue ? "unexpected end"
							  : json_tokener_error_desc(jerr));
	}
	for (; used < len; used++)
		if (!isspace((unsigned char)line[used])) {
			rf_request_free(req);
			return rf_errf(err, BASE_E_BAD_REQUEST, "trailing bytes after the JSON object");
		}
	if (!json_object_is_type(req->root, json_type_object)) {
		rf_request_free(req);
		return rf_errf(err, BASE_E_BAD_REQUEST, "a request must be a JSON object");
	}
	struct json_object *v;
	if (json_object_object_get_ex(req->root, "id", &v) && json_object_is_type(v, json_type_int)) {
		req->has_id = true;
		req->id = json_object_get_int64(v);
	}
	if (parse_fields(req->root, req, err)) {
		bool has_id = req->has_id;
		int64_t id = req->id;
		rf_request_free(req);
		req->has_id = has_id;
		req->id = id;
		return -1;
	}
	return 0;
}

void rf_request_free(struct rf_request *req)
{
	if (req->root)
		json_object_put(req->root);
	memset(req, 0, sizeof(*req));
}

static struct json_object *answer_base(bool has_id, int64_t id, bool ok)
{
	struct json_object *a = json_object_new_object();
	json_object_object_add(a, "version", json_object_new_int(RF_PROTO_VERSION_CUR));
	if (has_id)
		json_object_object_add(a, "id", json_object_new_int64(id));
	json_object_object_add(a, "ok", json_object_new_boolean(ok));
	return a;
}

struct json_object *rf_answer_new_ok(const struct rf_request *req, struct json_object *result)
{
	struct json_object *a = answer_base(req->has_id, req->id, true);
	json_object_object_add(a, "result", result ? result : json_object_new_object());
	return a;
}

struct json_object *rf_answer_new_err(bool has_id, int64_t id, enum base_errc code,
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
