/*
 * json.c - typed field reads (see json.h).
 */
#include "base/json.h"

const char *base_json_str(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		? json_object_get_string(v) : dflt;
}

int64_t base_json_i64(struct json_object *o, const char *key, int64_t dflt)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int)
		? json_object_get_int64(v) : dflt;
}
