/*
 * out_chan.c - rfm's human output for `rfm chan`: list (a table), create
 * and close (one line each, so scripts can still read them).
 */
#include "rfm/rfm.h"

#include <string.h>

#include "rfm/table.h"

/* "a,b" from a json array of strings, or "-" when empty. */
static void join_names(struct json_object *arr, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(v, json_type_string))
			continue;
		int n = snprintf(buf + off, len - off, "%s%s", off ? "," : "", json_object_get_string(v));
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

/* msg: the slot count; map: the size. */
static void capacity(struct json_object *c, char *buf, size_t len)
{
	if (strcmp(rfm_str(c, "kind", ""), "msg") == 0)
		rfm_fmt_int(c, "slots", buf, len);
	else
		rfm_fmt_size(c, "size", buf, len);
}

static const char *const headers[] = { "NAME", "KIND", "BETWEEN", "SLOTS/SIZE", "OPENED" };

int rfm_print_chan_list(struct json_object *res)
{
	char between[128], cap[32], opened[128];
	struct json_object *arr = rfm_field(res, "channels", json_type_array);
	if (!arr) {
		fprintf(stderr, "rfm: rfd's answer to chan list has no channels\n");
		return 1;
	}
	struct rfm_table *t = rfm_table_new(5, headers);
	if (!t)
		return 1;
	rfm_table_right(t, 3);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *c = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(c, json_type_object))
			continue;
		join_names(rfm_field(c, "between", json_type_array), between, sizeof(between));
		join_names(rfm_field(c, "opened", json_type_array), opened, sizeof(opened));
		capacity(c, cap, sizeof(cap));
		rfm_table_cell(t, "%s", rfm_str(c, "name", "-"));
		rfm_table_cell(t, "%s", rfm_str(c, "kind", "-"));
		rfm_table_cell(t, "%s", between);
		rfm_table_cell(t, "%s", cap);
		rfm_table_cell(t, "%s", opened);
	}
	rfm_table_print(t, stdout);
	rfm_table_free(t);
	return 0;
}

int rfm_print_chan_create(struct json_object *res)
{
	char between[128], cap[32], size[32];
	if (!rfm_field(res, "name", json_type_string)) {
		fprintf(stderr, "rfm: rfd's answer to chan create has no result object\n");
		return 1;
	}
	join_names(rfm_field(res, "between", json_type_array), between, sizeof(between));
	capacity(res, cap, sizeof(cap));
	rfm_fmt_size(res, "size", size, sizeof(size));
	if (strcmp(rfm_str(res, "kind", ""), "msg") == 0)
		printf("created channel %s: msg between %s, %s slots each way (%s)\n",
		       rfm_str(res, "name", "-"), between, cap, size);
	else
		printf("created channel %s: map between %s, %s\n", rfm_str(res, "name", "-"),
		       between, size);
	return 0;
}

int rfm_print_chan_close(struct json_object *res)
{
	char between[128];
	if (!rfm_field(res, "name", json_type_string)) {
		fprintf(stderr, "rfm: rfd's answer to chan close has no result object\n");
		return 1;
	}
	join_names(rfm_field(res, "between", json_type_array), between, sizeof(between));
	printf("closed channel %s (between %s)\n", rfm_str(res, "name", "-"), between);
	return 0;
}
