/*
 * strv.c - NULL-terminated string vectors (see strv.h).
 */
#include "base/strv.h"

#include <stdlib.h>
#include <string.h>

char **base_strv_dup(const char *const *v, int n)
{
	char **c = calloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; c && i < n; i++)
		if (!(c[i] = strdup(v[i]))) {
			base_strv_free(c);
			return NULL;
		}
	return c;
}

void base_strv_free(char **v)
{
	for (int i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int base_strv_len(char *const *v)
{
	int n = 0;
	while (v && v[n])
		n++;
	return n;
}

struct json_object *base_strv_to_json(char *const *v)
{
	struct json_object *a = json_object_new_array();
	for (int i = 0; a && v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

char **base_strv_from_json(struct json_object *a)
{
	int n = json_object_is_type(a, json_type_array) ? (int)json_object_array_length(a) : 0;
	char **c = calloc((size_t)n + 1, sizeof(char *));
	for (int i = 0, k = 0; c && i < n; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string))
			continue;
		if (!(c[k++] = strdup(json_object_get_string(e)))) {
			base_strv_free(c);
			return NULL;
		}
	}
	return c;
}
