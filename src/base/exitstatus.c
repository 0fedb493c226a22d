/*
 * exitstatus.c - a subOS's end as an int and as JSON fields (see
 * exitstatus.h).
 */
#include "base/exitstatus.h"

#include <sys/wait.h>

int base_exit_status_of_wait(int wstatus)
{
	return WIFSIGNALED(wstatus) ? -WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
}

void base_exit_status_to_json(struct json_object *o, int status)
{
	if (status == BASE_EXIT_UNKNOWN)
		json_object_object_add(o, "exit_code", NULL);
	else if (status < 0)
		json_object_object_add(o, "signal", json_object_new_int(-status));
	else
		json_object_object_add(o, "exit_code", json_object_new_int(status));
}

/* o[key] as a non-negative int, or -1 if absent, null or not one. */
static int field(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	int64_t n = json_object_get_int64(v);
	return n >= 0 && n <= INT_MAX ? (int)n : -1;
}

int base_exit_status_from_json(struct json_object *o)
{
	int sig = field(o, "signal"), code = field(o, "exit_code");
	if (sig > 0)
		return -sig;
	return code >= 0 ? code : BASE_EXIT_UNKNOWN;
}
