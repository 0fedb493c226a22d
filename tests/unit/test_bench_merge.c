/*
 * test_bench_merge.c - the median merge of rfbench's runs (bench/merge.c).
 *
 * Covers: an odd number of runs gives the middle value, an even number the
 * mean of the two middle ones (a double then), integers stay integers;
 * spread holds [min, max] under dotted paths for nested objects; strings
 * and arrays are the first run's; a key missing from some runs is the
 * median of those that have it, and a key only a later run has is kept;
 * one run is itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../bench/merge.h"

/* Merge the JSON texts (NULL-terminated); *spread gets the spread. */
static struct json_object *merge(const char *const *texts, struct json_object **spread)
{
	struct json_object *runs[8];
	int n = 0;
	while (texts[n]) {
		runs[n] = json_tokener_parse(texts[n]);
		assert_non_null(runs[n]);
		n++;
	}
	*spread = json_object_new_object();
	struct json_object *m = bench_merge(runs, n, *spread);
	for (int i = 0; i < n; i++)
		json_object_put(runs[i]);
	return m;
}

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;
	assert_true(json_object_object_get_ex(o, k, &v));
	return v;
}

static void test_odd_median_and_spread(void **state)
{
	const char *t[] = { "{\"a\": 5, \"b\": 1.5}", "{\"a\": 100, \"b\": 0.5}",
			    "{\"a\": 7, \"b\": 9.0}", NULL };
	struct json_object *sp, *m = merge(t, &sp);
	assert_true(json_object_is_type(get(m, "a"), json_type_int));
	assert_int_equal(json_object_get_int64(get(m, "a")), 7);
	assert_true(json_object_get_double(get(m, "b")) == 1.5);
	struct json_object *r = get(sp, "a");
	assert_int_equal(json_object_array_length(r), 2);
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(r, 0)), 5);
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(r, 1)), 100);
	r = get(sp, "b");
	assert_true(json_object_get_double(json_object_array_get_idx(r, 0)) == 0.5);
	assert_true(json_object_get_double(json_object_array_get_idx(r, 1)) == 9.0);
	json_object_put(m);
	json_object_put(sp);
}

static void test_even_median(void **state)
{
	const char *t[] = { "{\"a\": 1, \"w\": 2}", "{\"a\": 2, \"w\": 4}", NULL };
	struct json_object *sp, *m = merge(t, &sp);
	assert_true(json_object_is_type(get(m, "a"), json_type_double));
	assert_true(json_object_get_double(get(m, "a")) == 1.5);
	/* a whole median of integers stays an integer */
	assert_true(json_object_is_type(get(m, "w"), json_type_int));
	assert_int_equal(json_object_get_int64(get(m, "w")), 3);
	json_object_put(m);
	json_object_put(sp);
}

static void test_nested_and_others(void **state)
{
	const char *t[] = { "{\"s\": \"x\", \"l\": [1], \"ok\": true, \"c\": {\"f\": 3}}",
			    "{\"s\": \"y\", \"l\": [2], \"ok\": false,"
			    " \"c\": {\"f\": 1, \"g\": 4}}",
			    "{\"s\": \"z\", \"l\": [3], \"ok\": false, \"c\": {\"f\": 2}}", NULL };
	struct json_object *sp, *m = merge(t, &sp);
	assert_string_equal(json_object_get_string(get(m, "s")), "x");
	assert_int_equal(json_object_get_int(json_object_array_get_idx(get(m, "l"), 0)), 1);
	assert_true(json_object_get_boolean(get(m, "ok")));
	struct json_object *c = get(m, "c");
	assert_int_equal(json_object_get_int64(get(c, "f")), 2);
	/* only the second run has g: the median of that one run */
	assert_int_equal(json_object_get_int64(get(c, "g")), 4);
	struct json_object *r = get(sp, "c.f");
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(r, 0)), 1);
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(r, 1)), 3);
	assert_false(json_object_object_get_ex(sp, "s", NULL));
	assert_false(json_object_object_get_ex(sp, "c", NULL));
	json_object_put(m);
	json_object_put(sp);
}

static void test_missing_in_some_runs(void **state)
{
	const char *t[] = { "{\"a\": 10}", "{}", "{\"a\": 30, \"b\": 1}", "{\"a\": 20}", NULL };
	struct json_object *sp, *m = merge(t, &sp);
	assert_int_equal(json_object_get_int64(get(m, "a")), 20);
	assert_int_equal(json_object_get_int64(get(m, "b")), 1);
	json_object_put(m);
	json_object_put(sp);
}

static void test_one_run_is_itself(void **state)
{
	const char *t[] = { "{\"a\": 4, \"d\": 0.25, \"s\": \"k\"}", NULL };
	struct json_object *sp, *m = merge(t, &sp);
	assert_string_equal(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN),
			    "{\"a\":4,\"d\":0.25,\"s\":\"k\"}");
	assert_string_equal(json_object_to_json_string_ext(sp, JSON_C_TO_STRING_PLAIN),
			    "{\"a\":[4,4],\"d\":[0.25,0.25]}");
	json_object_put(m);
	json_object_put(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_odd_median_and_spread),
		cmocka_unit_test(test_even_median),
		cmocka_unit_test(test_nested_and_others),
		cmocka_unit_test(test_missing_in_some_runs),
		cmocka_unit_test(test_one_run_is_itself),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
