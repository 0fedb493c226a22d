/*
 * json.h - reading one typed field of a JSON object (json.c), for the
 * readers of rfd's journal and answers, which must not trust a field to be
 * there or to have the type they expect.
 */
#ifndef RF_BASE_JSON_H
#define RF_BASE_JSON_H

#include <stdint.h>
#include <json-c/json.h>

/* o[key] if it is a string, else dflt. */
const char *base_json_str(struct json_object *o, const char *key, const char *dflt);
/* o[key] if it is an integer, else dflt. */
int64_t base_json_i64(struct json_object *o, const char *key, int64_t dflt);

#endif
