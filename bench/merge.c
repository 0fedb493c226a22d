/*
 * merge.c - the median of several runs of one benchmark, and their spread.
 *
 * A benchmark repeated N times (rfbench --runs N) reports each figure as the
 * median of its N values, so one noisy run moves nothing, and min/max so a
 * reader sees how much the runs disagreed.  Figures keep their names: a
 * field means the same with one run as with five.
 */
#include "merge.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static bool is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median of key's numbers across the runs, and [min, max] in spread. */
static struct json_object *merge_number(struct json_object *const *vals, int n, const char *path,
					struct json_object *spread)
{
	double v[n];
	int m = 0;
	bool ints = true;
	for (int i = 0; i < n; i++) {
		if (!vals[i] || !is_number(vals[i]))
			continue;
		ints = ints && json_object_is_type(vals[i], json_type_int);
		v[m++] = json_object_get_double(vals[i]);
	}
	qsort(v, (size_t)m, sizeof(v[0]), cmp_dbl);
	double med = m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
	struct json_object *range = json_object_new_array();
	json_object_array_add(range, ints ? json_object_new_int64((int64_t)v[0]) :
					    json_object_new_double(v[0]));
	json_object_array_add(range, ints ? json_object_new_int64((int64_t)v[m - 1]) :
					    json_object_new_double(v[m - 1]));
	json_object_object_add(spread, path, range);
	if (ints && med == floor(med))
		return json_object_new_int64((int64_t)med);
	return json_object_new_double(med);
}

static struct json_object *merge_at(struct json_object *const *runs, int n, const char *prefix,
				    struct json_object *spread);

/* One key merged across the runs; its kind is that of its first run. */
static struct json_object *merge_key(struct json_object *const *runs, int n, const char *key,
				     const char *path, struct json_object *spread)
{
	struct json_object *vals[n], *first = NULL;
	for (int i = 0; i < n; i++) {
		if (!json_object_object_get_ex(runs[i], key, &vals[i]))
			vals[i] = NULL;
		if (!first)
			first = vals[i];
	}
	if (is_number(first))
		return merge_number(vals, n, path, spread);
	if (json_object_is_type(first, json_type_object))
		return merge_at(vals, n, path, spread);
	return json_object_get(first);
}

/* Every key of every run (in the order first seen), merged. */
static struct json_object *merge_at(struct json_object *const *runs, int n, const char *prefix,
				    struct json_object *spread)
{
	struct json_object *out = json_object_new_object();
	/* Runs without this object (or where it is not one) do not count. */
	struct json_object *have[n];
	int m = 0;
	for (int i = 0; i < n; i++)
		if (runs[i] && json_object_is_type(runs[i], json_type_object))
			have[m++] = runs[i];
	for (int i = 0; i < m; i++) {
		json_object_object_foreach(have[i], key, val) {
			char path[512];
			(void)val;
			if (json_object_object_get_ex(out, key, NULL))
				continue;
			snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", key);
			json_object_object_add(out, key, merge_key(have, m, key, path, spread));
		}
	}
	return out;
}

struct json_object *bench_merge(struct json_object *const *runs, int n,
				struct json_object *spread)
{
	if (n < 1)
		return json_object_new_object();
	return merge_at(runs, n, "", spread);
}
