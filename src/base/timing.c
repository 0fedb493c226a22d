/*
 * timing.c - the "timing_us" object of rfd's answers (see timing.h).
 */
#include "base/timing.h"

void base_timing_us_add(struct json_object *o, const char *const *names, const uint64_t *us,
			int n)
{
	struct json_object *t = json_object_new_object();
	for (int i = 0; i < n; i++)
		json_object_object_add(t, names[i], json_object_new_int64((int64_t)us[i]));
	json_object_object_add(o, "timing_us", t);
}
