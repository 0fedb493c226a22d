/*
 * out_subos.c - rfm's human output for the verbs about subOSes: create,
 * destroy, resize (one line each, so scripts can still read them), list
 * (a table) and show (key: value lines, then a table of its cores).
 *
 * Fields rfd adds later that show does not know are printed at the end of
 * its key: value lines, so nothing rfd says is hidden from people.
 */
#include "rfm/rfm.h"

#include <string.h>

#include "rfm/table.h"
#include "base/exitstatus.h"

static int not_an_object(const char *verb)
{
	fprintf(stderr, "rfm: rfd's answer to %s has no result object\n", verb);
	return 1;
}

/* "1-2 (2 cores)" */
static void fmt_cores(struct json_object *s, char *buf, size_t len)
{
	int64_t n;
	const char *list = rfm_cores(s);
	if (rfm_int(s, "ncores", &n))
		snprintf(buf, len, "%s (%lld core%s)", list, (long long)n, n == 1 ? "" : "s");
	else
		snprintf(buf, len, "%s", list);
}

int rfm_print_create(struct json_object *res)
{
	char cores[128], mem[32], pid[32];
	if (!rfm_field(res, "name", json_type_string))
		return not_an_object("create");
	fmt_cores(res, cores, sizeof(cores));
	rfm_fmt_size(res, "mem", mem, sizeof(mem));
	rfm_fmt_int(res, "pid", pid, sizeof(pid));
	printf("created %s: %s, cores %s, memory %s, pid %s\n", rfm_str(res, "name", "-"),
	       rfm_str(res, "kind", "-"), cores, mem, pid);
	return 0;
}

int rfm_print_destroy(struct json_object *res)
{
	if (!rfm_field(res, "name", json_type_string))
		return not_an_object("destroy");
	int st = base_exit_status_from_json(res);
	printf("destroyed %s: %s", rfm_str(res, "name", "-"), rfm_str(res, "status", "done"));
	if (st >= 0)
		printf(" (exit code %d)", st);
	putchar('\n');
	return 0;
}

int rfm_print_resize(struct json_object *res)
{
	char cores[128], mem[32], tc[32] = "-", tm[32] = "-";
	int64_t us;
	if (!rfm_field(res, "name", json_type_string))
		return not_an_object("resize");
	struct json_object *timing = rfm_field(res, "timing_us", json_type_object);
	if (rfm_int(timing, "cores", &us))
		rfm_fmt_ns((uint64_t)us * 1000, tc, sizeof(tc));
	if (rfm_int(timing, "mem", &us))
		rfm_fmt_ns((uint64_t)us * 1000, tm, sizeof(tm));
	fmt_cores(res, cores, sizeof(cores));
	rfm_fmt_size(res, "mem", mem, sizeof(mem));
	printf("resized %s: cores %s, memory %s (took: cores %s, memory %s)%s\n",
	       rfm_str(res, "name", "-"), cores, mem, tc, tm,
	       rfm_bool(res, "forced") ? "; forced: a core was taken without acknowledgement" : "");
	return 0;
}

static const char *const list_headers[] = {
	"NAME", "KIND", "STATE", "CORES", "MEM", "PID", "AGE", "COMMAND",
};

static void list_row(struct rfm_table *t, struct json_object *s)
{
	char state[64], mem[32], pid[32], age[32], cmd[256];
	struct json_object *argv = rfm_field(s, "argv", json_type_array);

	rfm_fmt_state(s, state, sizeof(state));
	rfm_fmt_size(s, "mem", mem, sizeof(mem));
	rfm_fmt_int(s, "pid", pid, sizeof(pid));
	rfm_fmt_age(rfm_str(s, "created", NULL), age, sizeof(age));
	if (argv)
		rfm_fmt_value(argv, cmd, sizeof(cmd));
	else
		snprintf(cmd, sizeof(cmd), "-");
	rfm_table_cell(t, "%s", rfm_str(s, "name", "-"));
	rfm_table_cell(t, "%s", rfm_str(s, "kind", "-"));
	rfm_table_cell(t, "%s", state);
	rfm_table_cell(t, "%s", rfm_cores(s));
	rfm_table_cell(t, "%s", mem);
	rfm_table_cell(t, "%s", pid);
	rfm_table_cell(t, "%s", age);
	rfm_table_cell(t, "%s", cmd);
}

int rfm_print_list(struct json_object *res)
{
	struct json_object *arr = rfm_field(res, "subos", json_type_array);
	if (!arr)
		return not_an_object("list");
	struct rfm_table *t = rfm_table_new(8, list_headers);
	if (!t)
		return 1;
	rfm_table_right(t, 4);
	rfm_table_right(t, 5);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *s = json_object_array_get_idx(arr, i);
		if (json_object_is_type(s, json_type_object))
			list_row(t, s);
	}
	rfm_table_print(t, stdout);
	rfm_table_free(t);
	return 0;
}

static const char *const core_headers[] = {
	"CPU", "STATE", "LOOPS", "EVENTS", "BUSY", "IDLE", "BUSY%",
};

static void core_row(struct rfm_table *t, struct json_object *c)
{
	char cpu[32], loops[32], events[32], busy[32] = "-", idle[32] = "-", pct[16] = "-";
	int64_t b = -1, i = -1;

	rfm_fmt_int(c, "cpu", cpu, sizeof(cpu));
	rfm_fmt_int(c, "loops", loops, sizeof(loops));
	rfm_fmt_int(c, "events", events, sizeof(events));
	if (rfm_int(c, "busy_ns", &b) && b >= 0)
		rfm_fmt_ns((uint64_t)b, busy, sizeof(busy));
	if (rfm_int(c, "idle_ns", &i) && i >= 0)
		rfm_fmt_ns((uint64_t)i, idle, sizeof(idle));
	if (b >= 0 && i >= 0 && b + i > 0)
		snprintf(pct, sizeof(pct), "%.0f%%", 100.0 * (double)b / (double)(b + i));
	rfm_table_cell(t, "%s", cpu);
	rfm_table_cell(t, "%s", rfm_str(c, "state", "-"));
	rfm_table_cell(t, "%s", loops);
	rfm_table_cell(t, "%s", events);
	rfm_table_cell(t, "%s", busy);
	rfm_table_cell(t, "%s", idle);
	rfm_table_cell(t, "%s", pct);
}

static void show_cores(struct json_object *res)
{
	struct json_object *arr = rfm_field(res, "cores_detail", json_type_array);
	if (!arr || json_object_array_length(arr) == 0)
		return;
	struct rfm_table *t = rfm_table_new(7, core_headers);
	if (!t)
		return;
	for (int col = 2; col < 7; col++)
		rfm_table_right(t, col);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *c = json_object_array_get_idx(arr, i);
		if (json_object_is_type(c, json_type_object))
			core_row(t, c);
	}
	putchar('\n');
	rfm_table_print(t, stdout);
	rfm_table_free(t);
}

/* Fields show prints itself; any other is printed generically after them. */
static const char *const show_known[] = {
	"name", "kind", "state", "exit_code", "signal", "pid", "cores", "ncores", "mem",
	"regions", "chan_mem", "argv", "created", "cgroup", "cores_detail", "restart",
	"env", "caps", "binds", "ro_binds", "root", "policy", "probe", NULL,
};

/* What create was given beyond the program: a line for each given. */
static void show_spec(struct json_object *res)
{
	static const struct { const char *key, *label; } spec[] = {
		{ "env", "Env" }, { "caps", "Caps" }, { "root", "Root" },
		{ "binds", "Binds" }, { "ro_binds", "Read-only" },
	};
	char val[1024];
	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		struct json_object *v = rfm_field(res, spec[i].key, json_type_array);
		if (!v)
			v = rfm_field(res, spec[i].key, json_type_string);
		if (!v || (json_object_is_type(v, json_type_array) &&
			   json_object_array_length(v) == 0))
			continue;
		rfm_fmt_value(v, val, sizeof(val));
		rfm_kv(spec[i].label, "%s", val);
	}
}

/* "on-failure, 2 of 3 restarts done, next in 400 ms" */
static void show_restart(struct json_object *res)
{
	struct json_object *r = rfm_field(res, "restart", json_type_object);
	int64_t count = 0, max, delay;
	char lim[32] = "", next[48] = "";
	if (!r)
		return;
	rfm_int(r, "count", &count);
	if (rfm_int(r, "max", &max))
		snprintf(lim, sizeof(lim), " of %lld", (long long)max);
	if (rfm_int(r, "delay_ms", &delay))
		snprintf(next, sizeof(next), ", next in %lld ms", (long long)delay);
	rfm_kv("Restart", "%s, %lld%s restart%s done%s", rfm_str(r, "policy", "-"),
	       (long long)count, lim, count == 1 && !lim[0] ? "" : "s", next);
}

static void show_extra(struct json_object *res)
{
	char val[512];
	json_object_object_foreach(res, key, v) {
		bool known = false;
		for (int i = 0; show_known[i] && !known; i++)
			known = strcmp(show_known[i], key) == 0;
		if (known)
			continue;
		rfm_fmt_value(v, val, sizeof(val));
		rfm_kv(key, "%s", val);
	}
}

int rfm_print_show(struct json_object *res)
{
	char buf[1024], mem[32], age[32], when[64];
	int64_t regions;

	if (!rfm_field(res, "name", json_type_string))
		return not_an_object("show");
	rfm_kv("Name", "%s", rfm_str(res, "name", "-"));
	rfm_kv("Kind", "%s", rfm_str(res, "kind", "-"));
	rfm_fmt_state(res, buf, sizeof(buf));
	rfm_kv("State", "%s", buf);
	rfm_fmt_int(res, "pid", buf, sizeof(buf));
	rfm_kv("PID", "%s", buf);
	fmt_cores(res, buf, sizeof(buf));
	rfm_kv("Cores", "%s", buf);
	rfm_fmt_size(res, "mem", mem, sizeof(mem));
	if (rfm_int(res, "regions", &regions))
		rfm_kv("Memory", "%s in %lld region%s", mem, (long long)regions,
		       regions == 1 ? "" : "s");
	else
		rfm_kv("Memory", "%s", mem);
	if (rfm_field(res, "chan_mem", json_type_int)) {
		rfm_fmt_size(res, "chan_mem", mem, sizeof(mem));
		rfm_kv("Channels", "%s of memory charged (its share)", mem);
	}
	rfm_fmt_value(rfm_field(res, "argv", json_type_array), buf, sizeof(buf));
	rfm_kv("Command", "%s", buf);
	const char *created = rfm_str(res, "created", NULL);
	rfm_fmt_time(created, when, sizeof(when));
	rfm_fmt_age(created, age, sizeof(age));
	if (strcmp(age, "-") != 0)
		rfm_kv("Created", "%s (%s ago)", when, age);
	else
		rfm_kv("Created", "%s", when);
	rfm_kv("Cgroup", "%s", rfm_str(res, "cgroup", "-"));
	show_restart(res);
	show_spec(res);
	struct json_object *pol = rfm_field(res, "policy", json_type_object);
	if (pol) {
		rfm_policy_summary(pol, buf, sizeof(buf));
		rfm_kv("Policy", "%s", buf);
	}
	if (rfm_field(res, "probe", json_type_string))
		rfm_kv("Probe", "%s", rfm_str(res, "probe", "-"));
	show_extra(res);
	show_cores(res);
	return 0;
}
