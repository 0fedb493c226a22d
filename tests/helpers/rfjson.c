/*
 * rfjson - pick values out of JSON for the integration tests (no jq or
 * python needed: json-c is a build dependency anyway).
 *
 *   rfjson PATH [PATH...] < JSON
 *
 * PATH is a chain of `.key`, `[N]` (N < 0 counts from the end) and `[]`
 * (every element of an array), e.g. `.cores_detail[0].state` or
 * `.entries[]`.  `.` alone is the whole document.  A trailing `#` prints
 * the length of the array or object reached instead (`.entries#`).
 * Each value reached is printed on its own line: strings bare, null as
 * `null`, anything else as compact JSON ({"op":"exit","exit_code":3}).
 * A missing key or index prints nothing for that path and makes the exit
 * status 1; bad input exits with 2.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

static int missing;

static void print(struct json_object *v, int len_only)
{
	if (len_only) {
		if (json_object_is_type(v, json_type_array))
			printf("%zu\n", json_object_array_length(v));
		else if (json_object_is_type(v, json_type_object))
			printf("%d\n", json_object_object_length(v));
		else
			missing = 1;
		return;
	}
	if (!v)
		puts("null");
	else if (json_object_is_type(v, json_type_string))
		puts(json_object_get_string(v));
	else
		puts(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

static void walk(struct json_object *v, const char *p)
{
	if (*p == '\0' || strcmp(p, "#") == 0) {
		print(v, *p == '#');
		return;
	}
	if (*p == '.') {
		p++;
		size_t n = strcspn(p, ".[#");
		if (n == 0) {
			walk(v, p);
			return;
		}
		char key[256];
		struct json_object *c;
		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		if (!json_object_is_type(v, json_type_object) ||
		    !json_object_object_get_ex(v, key, &c)) {
			missing = 1;
			return;
		}
		walk(c, p + n);
		return;
	}
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (!close || !json_object_is_type(v, json_type_array)) {
			missing = 1;
			return;
		}
		long len = (long)json_object_array_length(v);
		if (close == p + 1) {
			for (long i = 0; i < len; i++)
				walk(json_object_array_get_idx(v, (size_t)i), close + 1);
			return;
		}
		long i = strtol(p + 1, NULL, 10);
		if (i < 0)
			i += len;
		if (i < 0 || i >= len) {
			missing = 1;
			return;
		}
		walk(json_object_array_get_idx(v, (size_t)i), close + 1);
		return;
	}
	fprintf(stderr, "rfjson: bad path at \"%s\"\n", p);
	exit(2);
}

int main(int argc, char **argv)
{
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
		len += n;
		if (cap - len < 2)
			buf = realloc(buf, cap *= 2);
	}
	if (!buf || argc < 2) {
		fprintf(stderr, "usage: rfjson PATH... < JSON\n");
		return 2;
	}
	buf[len] = '\0';
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		fprintf(stderr, "rfjson: input is not JSON: %s\n",
			json_tokener_error_desc(json_tokener_get_error(tok)));
		return 2;
	}
	for (int i = 1; i < argc; i++)
		walk(root, argv[i]);
	json_object_put(root);
	json_tokener_free(tok);
	free(buf);
	return missing;
}
