/*
 * deploy_yaml.c - a deployment file (YAML, docs/rfm.md "Deployments")
 * turned into struct deploy: libyaml loads the document, then the walk
 * below checks its shape, its channels and its start order.
 *
 * It knows nothing of rfd: a file is judged on its own, so that a mistake
 * is reported (with the file and line) before anything is started.  The
 * document API keeps every node's mark; aliases come back as references to
 * one node, so an alias can neither blow up the walk (it is linear in the
 * file) nor loop it (the schema has a fixed depth).  One subOS entry is
 * checked in deploy_subos.c.
 */
#define _GNU_SOURCE
#include "rfm/deploy_yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/units.h"
#include "rfm/args.h"

int deploy_line(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

int deploy_bad(struct deploy_yctx *y, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return base_errf(y->err, BASE_E_BAD_REQUEST, "%s:%d: %s", y->file, deploy_line(n), msg);
}

int deploy_bad_form(struct deploy_yctx *y, const yaml_node_t *n)
{
	char msg[sizeof(y->err->msg)];
	snprintf(msg, sizeof(msg), "%s", y->err->msg);
	return deploy_bad(y, n, "%s", msg);
}

yaml_node_t *deploy_node(struct deploy_yctx *y, int index)
{
	return yaml_document_get_node(y->doc, index);
}

int deploy_scalar(struct deploy_yctx *y, const yaml_node_t *n, const char *key,
		  const char **out)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return deploy_bad(y, n, "%s: a single value is expected here", key);
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return deploy_bad(y, n, "%s: the value holds a NUL byte", key);
	*out = (const char *)n->data.scalar.value;
	return 0;
}

int deploy_int(struct deploy_yctx *y, const yaml_node_t *n, const char *key, int64_t min,
	       int64_t max, int64_t *out)
{
	const char *s;
	char *end;
	if (deploy_scalar(y, n, key, &s) < 0)
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno)
		return deploy_bad(y, n, "%s: \"%s\" is not a whole number", key, s);
	if (v < min || v > max)
		return deploy_bad(y, n, "%s: %lld is out of range (%lld to %lld)", key, v,
				  (long long)min, (long long)max);
	*out = v;
	return 0;
}

int deploy_bool(struct deploy_yctx *y, const yaml_node_t *n, const char *key, bool *out)
{
	const char *s;
	if (deploy_scalar(y, n, key, &s) < 0)
		return -1;
	if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0)
		return deploy_bad(y, n, "%s: \"%s\" is not true or false", key, s);
	*out = s[0] == 't';
	return 0;
}

int deploy_mapping(struct deploy_yctx *y, const yaml_node_t *n, const char *key)
{
	if (!n || n->type != YAML_MAPPING_NODE)
		return deploy_bad(y, n, "%s: a mapping (key: value lines) is expected here", key);
	return 0;
}

int deploy_strv_add(struct deploy_strv *v, const char *s)
{
	char **nv = realloc(v->v, ((size_t)v->n + 2) * sizeof(*nv));
	if (!nv)
		return -1;
	v->v = nv;
	if (!(nv[v->n] = strdup(s)))
		return -1;
	nv[++v->n] = NULL;
	return 0;
}

void deploy_strv_free(struct deploy_strv *v)
{
	for (int i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static int add_string(struct deploy_yctx *y, const yaml_node_t *n, const char *key,
		      struct deploy_strv *v,
		      int (*check)(const char *, const char *, struct base_err *))
{
	const char *s;
	if (deploy_scalar(y, n, key, &s) < 0)
		return -1;
	if (check && check(key, s, y->err) < 0)
		return deploy_bad_form(y, n);
	if (v->n >= RF_ARGV_MAX)
		return deploy_bad(y, n, "%s: more than %d values", key, RF_ARGV_MAX);
	if (deploy_strv_add(v, s) < 0)
		return base_errf(y->err, BASE_E_INTERNAL, "out of memory");
	return 0;
}

int deploy_strings(struct deploy_yctx *y, const yaml_node_t *n, const char *key,
		   struct deploy_strv *v,
		   int (*check)(const char *opt, const char *val, struct base_err *err))
{
	if (n && n->type == YAML_SCALAR_NODE)
		return add_string(y, n, key, v, check);
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return deploy_bad(y, n, "%s: a list ([a, b] or - lines) is expected here", key);
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++)
		if (add_string(y, deploy_node(y, *it), key, v, check) < 0)
			return -1;
	return 0;
}

/* "kind, cores, ..." for the message about an unknown key. */
static void field_names(const struct deploy_field *f, int n, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", f[i].key);
}

int deploy_fields(struct deploy_yctx *y, const yaml_node_t *map, const char *what,
		  const struct deploy_field *fields, int nfields, void *obj, unsigned *seen)
{
	char names[400];
	if (deploy_mapping(y, map, what) < 0)
		return -1;
	*seen = 0;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = deploy_node(y, p->key), *v = deploy_node(y, p->value);
		const char *key;
		int i;
		if (deploy_scalar(y, k, what, &key) < 0)
			return -1;
		for (i = 0; i < nfields && strcmp(fields[i].key, key) != 0; i++)
			;
		if (i == nfields) {
			field_names(fields, nfields, names, sizeof(names));
			return deploy_bad(y, k, "%s: unknown key \"%s\" (known: %s)", what, key,
					  names);
		}
		if (*seen & (1u << i))
			return deploy_bad(y, k, "%s: \"%s\" given twice", what, key);
		*seen |= 1u << i;
		if (fields[i].fn(y, v, obj) < 0)
			return -1;
	}
	return 0;
}

/* ---- channels ---------------------------------------------------------- */

static int chan_kind(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy_chan *c = obj;
	const char *s;
	if (deploy_scalar(y, v, "kind", &s) < 0)
		return -1;
	if (base_chan_kind_parse(s, &c->kind) < 0)
		return deploy_bad(y, v, "kind: \"%s\" is not a channel kind (msg or map)", s);
	return 0;
}

static int check_subos_name(const char *opt, const char *val, struct base_err *err)
{
	return rfm_check_name(val, err);
}

static int chan_between(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy_chan *c = obj;
	struct deploy_strv two = { 0 };
	int rc = deploy_strings(y, v, "between", &two, check_subos_name);
	if (rc == 0 && two.n != 2)
		rc = deploy_bad(y, v, "between: two subOS names are expected, like [kv, web]");
	if (rc == 0 && strcmp(two.v[0], two.v[1]) == 0)
		rc = deploy_bad(y, v, "between: a channel joins two different subOSes");
	if (rc == 0) {
		snprintf(c->between[0], sizeof(c->between[0]), "%s", two.v[0]);
		snprintf(c->between[1], sizeof(c->between[1]), "%s", two.v[1]);
	}
	deploy_strv_free(&two);
	return rc;
}

static int chan_slots(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy_chan *c = obj;
	int64_t n;
	if (deploy_int(y, v, "slots", 2, 1 << 20, &n) < 0)
		return -1;
	if (n & (n - 1))
		return deploy_bad(y, v, "slots: %lld is not a power of two", (long long)n);
	c->slots = (uint64_t)n;
	return 0;
}

static int chan_size(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy_chan *c = obj;
	const char *s;
	if (deploy_scalar(y, v, "size", &s) < 0 || (rfm_parse_mem("size", s, &c->size, y->err) < 0
						      && deploy_bad_form(y, v) < 0))
		return -1;
	if (c->size > RF_CHAN_SIZE_MAX)
		return deploy_bad(y, v, "size: a map channel is at most 4G");
	return 0;
}

static const struct deploy_field chan_fields[] = {
	{ "kind", chan_kind }, { "between", chan_between },
	{ "slots", chan_slots }, { "size", chan_size },
};
enum { CF_KIND, CF_BETWEEN, CF_SLOTS, CF_SIZE };

static int parse_chan(struct deploy_yctx *y, const yaml_node_t *map, struct deploy_chan *c)
{
	unsigned seen;
	c->kind = RF_CHAN_MSG;
	c->slots = RF_CHAN_SLOTS_DEFAULT;
	if (deploy_fields(y, map, "channel", chan_fields, 4, c, &seen) < 0)
		return -1;
	if (!(seen & (1u << CF_BETWEEN)))
		return deploy_bad(y, map, "channel %s: between: [A, B] is required", c->name);
	if (c->kind == RF_CHAN_MSG && (seen & (1u << CF_SIZE)))
		return deploy_bad(y, map, "channel %s: size is for kind map (msg has slots)",
				  c->name);
	if (c->kind == RF_CHAN_MAP && (seen & (1u << CF_SLOTS)))
		return deploy_bad(y, map, "channel %s: slots is for kind msg (map has size)",
				  c->name);
	if (c->kind == RF_CHAN_MAP && !(seen & (1u << CF_SIZE)))
		return deploy_bad(y, map, "channel %s: kind map needs a size", c->name);
	return 0;
}

/* ---- the top level ----------------------------------------------------- */

/* A mapping of NAME: entry, each name checked and unique; `parse` fills
 * item i of `items` (each `size` bytes, the name first). */
static int parse_named(struct deploy_yctx *y, const yaml_node_t *map, const char *what,
		       void **items, int *n, size_t size,
		       int (*parse)(struct deploy_yctx *, const yaml_node_t *, void *))
{
	if (deploy_mapping(y, map, what) < 0)
		return -1;
	int count = (int)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (count > DEPLOY_MAX_ITEMS)
		return deploy_bad(y, map, "%s: more than %d entries", what, DEPLOY_MAX_ITEMS);
	if (count && !(*items = calloc((size_t)count, size)))
		return base_errf(y->err, BASE_E_INTERNAL, "out of memory");
	for (int i = 0; i < count; i++) {
		yaml_node_pair_t *p = &map->data.mapping.pairs.start[i];
		yaml_node_t *k = deploy_node(y, p->key);
		char *item = (char *)*items + (size_t)i * size;
		const char *name;
		if (deploy_scalar(y, k, what, &name) < 0 ||
		    (rfm_check_name_of(strcmp(what, "subos") ? "channel" : "subOS", name,
				       y->err) < 0 && deploy_bad_form(y, k) < 0))
			return -1;
		for (int j = 0; j < i; j++)
			if (strcmp((char *)*items + (size_t)j * size, name) == 0)
				return deploy_bad(y, k, "%s: \"%s\" given twice", what, name);
		snprintf(item, RF_NAME_MAX + 1, "%s", name);
		*n = i + 1;
		if (parse(y, deploy_node(y, p->value), item) < 0)
			return -1;
	}
	return 0;
}

static int subos_entry(struct deploy_yctx *y, const yaml_node_t *v, void *item)
{
	struct deploy_subos *s = item;
	s->line = deploy_line(v);
	return deploy_subos_parse(y, v, s);
}

static int chan_entry(struct deploy_yctx *y, const yaml_node_t *v, void *item)
{
	struct deploy_chan *c = item;
	c->line = deploy_line(v);
	return parse_chan(y, v, c);
}

static int top_name(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy *d = obj;
	const char *s;
	if (deploy_scalar(y, v, "deployment", &s) < 0 ||
	    (rfm_check_name_of("deployment", s, y->err) < 0 && deploy_bad_form(y, v) < 0))
		return -1;
	return (d->name = strdup(s)) ? 0 : base_errf(y->err, BASE_E_INTERNAL, "out of memory");
}

static int top_rfloop_lib(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy *d = obj;
	const char *s;
	if (deploy_scalar(y, v, "rfloop_lib", &s) < 0)
		return -1;
	if (s[0] != '/')
		return deploy_bad(y, v, "rfloop_lib: \"%s\" is not an absolute path", s);
	return (d->rfloop_lib = strdup(s)) ? 0 : base_errf(y->err, BASE_E_INTERNAL,
							   "out of memory");
}

static int top_subos(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy *d = obj;
	return parse_named(y, v, "subos", (void **)&d->subos, &d->nsubos, sizeof(*d->subos),
			   subos_entry);
}

static int top_chans(struct deploy_yctx *y, const yaml_node_t *v, void *obj)
{
	struct deploy *d = obj;
	return parse_named(y, v, "channels", (void **)&d->chans, &d->nchans, sizeof(*d->chans),
			   chan_entry);
}

static const struct deploy_field top_fields[] = {
	{ "deployment", top_name }, { "rfloop_lib", top_rfloop_lib },
	{ "subos", top_subos }, { "channels", top_chans },
};

/* ---- references between entries, and the start order ------------------ */

const struct deploy_subos *deploy_find(const struct deploy *d, const char *name)
{
	for (int i = 0; i < d->nsubos; i++)
		if (strcmp(d->subos[i].name, name) == 0)
			return &d->subos[i];
	return NULL;
}

static int check_refs(struct deploy_yctx *y, const struct deploy *d)
{
	for (int i = 0; i < d->nsubos; i++) {
		const struct deploy_subos *s = &d->subos[i];
		for (int j = 0; j < s->after.n; j++) {
			if (!deploy_find(d, s->after.v[j]))
				return base_errf(y->err, BASE_E_BAD_REQUEST,
						 "%s:%d: subOS %s: after: \"%s\" is not a subOS of "
						 "this file", y->file, s->line, s->name, s->after.v[j]);
		}
	}
	for (int i = 0; i < d->nchans; i++)
		for (int k = 0; k < 2; k++)
			if (!deploy_find(d, d->chans[i].between[k]))
				return base_errf(y->err, BASE_E_BAD_REQUEST,
						 "%s:%d: channel %s: between: \"%s\" is not a "
						 "subOS of this file", y->file, d->chans[i].line,
						 d->chans[i].name, d->chans[i].between[k]);
	return 0;
}

static bool placed_all(const struct deploy_subos *s, const struct deploy_subos *order, int n)
{
	for (int j = 0; j < s->after.n; j++) {
		int k;
		for (k = 0; k < n && strcmp(order[k].name, s->after.v[j]) != 0; k++)
			;
		if (k == n)
			return false;
	}
	return true;
}

/* d->subos in start order: each after those it names, else in file order. */
static int sort_start_order(struct deploy_yctx *y, struct deploy *d)
{
	struct deploy_subos *order = d->nsubos ? calloc((size_t)d->nsubos, sizeof(*order)) : NULL;
	bool *done = d->nsubos ? calloc((size_t)d->nsubos, sizeof(*done)) : NULL;
	int n = 0, rc = -1;
	if (d->nsubos && (!order || !done)) {
		base_errf(y->err, BASE_E_INTERNAL, "out of memory");
		goto out;
	}
	while (n < d->nsubos) {
		int i;
		for (i = 0; i < d->nsubos && (done[i] || !placed_all(&d->subos[i], order, n)); i++)
			;
		if (i == d->nsubos) {
			for (i = 0; done[i]; i++)
				;
			base_errf(y->err, BASE_E_BAD_REQUEST, "%s:%d: subOS %s: its after: list "
				  "makes a cycle in the start order", y->file, d->subos[i].line,
				  d->subos[i].name);
			goto out;
		}
		order[n++] = d->subos[i];
		done[i] = true;
	}
	free(d->subos);
	d->subos = order;
	order = NULL;
	rc = 0;
out:
	free(order);
	free(done);
	return rc;
}

/* ---- loading ----------------------------------------------------------- */

static int parse_doc(struct deploy_yctx *y, yaml_parser_t *parser, struct deploy *d)
{
	yaml_document_t extra;
	unsigned seen;
	yaml_node_t *root = yaml_document_get_root_node(y->doc);
	if (!root)
		return base_errf(y->err, BASE_E_BAD_REQUEST, "%s: the file is empty", y->file);
	if (deploy_fields(y, root, "the file", top_fields, 4, d, &seen) < 0)
		return -1;
	if (!(seen & (1u << 2)))
		return deploy_bad(y, root, "the file declares no subos: mapping");
	if (check_refs(y, d) < 0 || sort_start_order(y, d) < 0)
		return -1;
	if (!yaml_parser_load(parser, &extra))
		return -2;
	bool more = yaml_document_get_root_node(&extra) != NULL;
	int line = (int)extra.start_mark.line + 1;
	yaml_document_delete(&extra);
	if (more)
		return base_errf(y->err, BASE_E_BAD_REQUEST, "%s:%d: a second document (one "
				 "deployment per file)", y->file, line);
	return 0;
}

static int yaml_error(struct deploy_yctx *y, const yaml_parser_t *p)
{
	return base_errf(y->err, BASE_E_BAD_REQUEST, "%s:%d: %s%s%s", y->file,
			 (int)p->problem_mark.line + 1, p->problem ? p->problem : "not YAML",
			 p->context ? " " : "", p->context ? p->context : "");
}

int deploy_parse(const char *file, const char *text, size_t len, struct deploy *d,
		 struct base_err *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct deploy_yctx y = { .file = file, .doc = &doc, .err = err };
	int rc = -1;

	memset(d, 0, sizeof(*d));
	if (!yaml_parser_initialize(&parser))
		return base_errf(err, BASE_E_INTERNAL, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_error(&y, &parser);
		goto out_parser;
	}
	rc = parse_doc(&y, &parser, d);
	if (rc == -2)
		yaml_error(&y, &parser);
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	if (rc < 0) {
		deploy_free(d);
		return -1;
	}
	return (d->file = strdup(file)) ? 0 : base_errf(err, BASE_E_INTERNAL, "out of memory");
}

int deploy_load(const char *file, struct deploy *d, struct base_err *err)
{
	char *buf = malloc(DEPLOY_FILE_MAX + 1);
	ssize_t n = 0, r;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	memset(d, 0, sizeof(*d));
	if (!buf || fd < 0) {
		base_errf(err, BASE_E_BAD_REQUEST, "%s: %s", file, strerror(buf ? errno : ENOMEM));
		goto fail;
	}
	while (n <= DEPLOY_FILE_MAX && (r = read(fd, buf + n, DEPLOY_FILE_MAX + 1 - (size_t)n)) > 0)
		n += r;
	if (r < 0 || n > DEPLOY_FILE_MAX) {
		base_errf(err, BASE_E_BAD_REQUEST, "%s: %s", file,
			  r < 0 ? strerror(errno) : "longer than 1 MiB");
		goto fail;
	}
	close(fd);
	int rc = deploy_parse(file, buf, (size_t)n, d, err);
	free(buf);
	return rc;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return -1;
}

void deploy_free(struct deploy *d)
{
	for (int i = 0; i < d->nsubos; i++)
		deploy_subos_free(&d->subos[i]);
	free(d->subos);
	free(d->chans);
	free(d->file);
	free(d->name);
	free(d->rfloop_lib);
	memset(d, 0, sizeof(*d));
}
