/*
 * deploy_yaml.h - what the two halves of the deployment parser share:
 * deploy_yaml.c reads the file with libyaml and checks the document's
 * shape, its channels and its start order; deploy_subos.c checks one
 * subOS entry.  Internal to rfm's deploy_* files.
 *
 * Every check names the file and the line of the node it looks at
 * (libyaml's marks are 0-based; people count from 1).
 */
#ifndef RF_RFM_DEPLOY_YAML_H
#define RF_RFM_DEPLOY_YAML_H

#include <yaml.h>

#include "rfm/deploy.h"

struct deploy_yctx {
	const char *file;
	yaml_document_t *doc;
	struct base_err *err;
};

/* Fill y->err with "FILE:LINE: message" about node n; returns -1. */
int deploy_bad(struct deploy_yctx *y, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Re-prefix an error an rfm form checker wrote (rfm_parse_mem...) with
 * the file and n's line; returns -1. */
int deploy_bad_form(struct deploy_yctx *y, const yaml_node_t *n);
yaml_node_t *deploy_node(struct deploy_yctx *y, int index);
int deploy_line(const yaml_node_t *n);

/* Values: each checks n's type and range and names `key` when it is wrong. */
int deploy_scalar(struct deploy_yctx *y, const yaml_node_t *n, const char *key,
		  const char **out);
int deploy_int(struct deploy_yctx *y, const yaml_node_t *n, const char *key, int64_t min,
	       int64_t max, int64_t *out);
int deploy_bool(struct deploy_yctx *y, const yaml_node_t *n, const char *key, bool *out);
/* A sequence of scalars (or one scalar) appended to v; check (may be NULL)
 * judges each item and fills y->err's message without the prefix. */
int deploy_strings(struct deploy_yctx *y, const yaml_node_t *n, const char *key,
		   struct deploy_strv *v, int (*check)(const char *opt, const char *val,
						       struct base_err *err));
int deploy_mapping(struct deploy_yctx *y, const yaml_node_t *n, const char *key);

/* A mapping's keys against a table: handler per known key, each at most
 * once; an unknown key is an error naming the keys allowed. */
struct deploy_field {
	const char *key;
	int (*fn)(struct deploy_yctx *y, const yaml_node_t *val, void *obj);
};
/* Returns 0 and *seen (bit i: fields[i] given), or -1. */
int deploy_fields(struct deploy_yctx *y, const yaml_node_t *map, const char *what,
		  const struct deploy_field *fields, int nfields, void *obj, unsigned *seen);

/* deploy_subos.c: one entry of `subos:` (name already checked). */
int deploy_subos_parse(struct deploy_yctx *y, const yaml_node_t *map, struct deploy_subos *s);
void deploy_subos_free(struct deploy_subos *s);
void deploy_strv_free(struct deploy_strv *v);

#endif
