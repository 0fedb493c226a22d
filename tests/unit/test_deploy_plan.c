/*
 * test_deploy_plan.c - the deployment planner (src/rfm/deploy_plan.c):
 * a parsed file against rfd's answers written by hand, as apply would
 * read them (show per subOS, chan_list, the chunk size).
 *
 * Nothing to do when rfd already runs what the file says; a cores or
 * memory edit is one resize in the right phase; what cannot change live
 * is refused, or destroyed and made again with --recreate (its channels
 * too); channels the file dropped are closed; delete goes channels first,
 * then subOSes in reverse start order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "rfm/deploy.h"

#define MIB (1ull << 20)

static const char file[] =
	"subos:\n"
	"  b:\n"
	"    kind: linux\n"
	"    cores: 1\n"
	"    memory: 60M\n"
	"    program: [/bin/sleep, '9']\n"
	"    env: [X=1, Y=2]\n"
	"    after: [a]\n"
	"  a:\n"
	"    kind: libos\n"
	"    cores: 2\n"
	"    memory: 128M\n"
	"    program: [/bin/hello]\n"
	"    restart: always\n"
	"channels:\n"
	"  ch: {between: [a, b], slots: 64}\n";

/* rfd's show of a and b as the file declares them (b's env reordered). */
#define SHOW_A "{\"name\":\"a\",\"kind\":\"libos\",\"state\":\"running\",\"pid\":10,\"cores\":\"0-1\"," \
	       "\"ncores\":2,\"mem\":134217728,\"argv\":[\"/bin/hello\"],\"env\":[],\"caps\":[]," \
	       "\"binds\":[],\"ro_binds\":[],\"root\":null," \
	       "\"restart\":{\"policy\":\"always\",\"max\":null,\"count\":0}}"
#define SHOW_B "{\"name\":\"b\",\"kind\":\"linux\",\"state\":\"running\",\"pid\":11,\"cores\":\"2\"," \
	       "\"ncores\":1,\"mem\":67108864,\"argv\":[\"/bin/sleep\",\"9\"],\"env\":[\"Y=2\",\"X=1\"]," \
	       "\"caps\":[],\"binds\":[],\"ro_binds\":[],\"root\":null}"
#define CH "{\"name\":\"ch\",\"kind\":\"msg\",\"between\":[\"a\",\"b\"],\"slots\":64}"

struct fixture {
	struct deploy d;
	struct deploy_state st;
	struct deploy_plan p;
};

static void load(struct fixture *f, const char *text, const char *subos, const char *chans)
{
	struct base_err err = { 0 };
	if (deploy_parse("t.yaml", text, strlen(text), &f->d, &err) < 0)
		fail_msg("%s", err.msg);
	f->st.subos = json_tokener_parse(subos);
	f->st.chans = json_tokener_parse(chans);
	f->st.chunk = 64 * MIB;
	assert_non_null(f->st.subos);
	assert_non_null(f->st.chans);
}

static void done(struct fixture *f)
{
	deploy_plan_free(&f->p);
	json_object_put(f->st.subos);
	json_object_put(f->st.chans);
	deploy_free(&f->d);
}

static void plan(struct fixture *f, bool recreate)
{
	assert_int_equal(deploy_plan_apply(&f->d, &f->st, recreate, &f->p), 0);
}

static void expect(const struct deploy_action *a, enum deploy_op op, const char *what)
{
	if (a->op != op || strncmp(a->what, what, strlen(what)) != 0)
		fail_msg("action %d \"%s\", want %d \"%s\"", a->op, a->what, op, what);
}

static void test_nothing_runs(void **state)
{
	struct fixture f = { 0 };
	load(&f, file, "{}", "[]");
	plan(&f, false);
	assert_int_equal(f.p.n, 3);
	expect(&f.p.a[0], DEPLOY_CREATE, "create a: libos, 2 cores, memory 128M: /bin/hello");
	expect(&f.p.a[1], DEPLOY_CREATE, "create b: linux, 1 core, memory 60M");
	expect(&f.p.a[2], DEPLOY_CHAN_CREATE, "chan create ch: msg between a,b, 64 slots");
	assert_ptr_equal(f.p.a[2].c, &f.d.chans[0]);
	assert_false(f.p.refused);
	done(&f);
}

static void test_unchanged(void **state)
{
	struct fixture f = { 0 };
	load(&f, file, "{\"a\":" SHOW_A ",\"b\":" SHOW_B "}", "[" CH "]");
	plan(&f, false);
	assert_int_equal(f.p.n, 0);
	done(&f);
}

/* a's cores 2 -> 1 is a shrink, b's memory 64M -> 128M a grow. */
static void test_resize(void **state)
{
	char text[sizeof(file) + 8];
	struct fixture f = { 0 };
	snprintf(text, sizeof(text), "%s", file);
	memcpy(strstr(text, "cores: 2"), "cores: 1", 8);
	memcpy(strstr(text, "memory: 60M"), "memory: 99M", 11);
	load(&f, text, "{\"a\":" SHOW_A ",\"b\":" SHOW_B "}", "[" CH "]");
	plan(&f, false);
	assert_int_equal(f.p.n, 2);
	expect(&f.p.a[0], DEPLOY_SHRINK, "resize a: cores 2 (cpus 0-1) -> 1 core");
	assert_true(f.p.a[0].cores && !f.p.a[0].mem);
	assert_string_equal(f.p.a[0].from_cpus, "0-1");
	expect(&f.p.a[1], DEPLOY_GROW, "resize b: memory 64M -> 128M");
	assert_int_equal(f.p.a[1].to_mem, 128 * MIB);
	assert_int_equal(f.p.a[1].from_mem, 64 * MIB);
	done(&f);
}

static void test_program_changed(void **state)
{
	char text[sizeof(file)];
	struct fixture f = { 0 };
	snprintf(text, sizeof(text), "%s", file);
	memcpy(strstr(text, "'9'"), "'8'", 3);
	load(&f, text, "{\"a\":" SHOW_A ",\"b\":" SHOW_B "}", "[" CH "]");
	plan(&f, false);
	assert_true(f.p.refused);
	assert_int_equal(f.p.n, 1);
	expect(&f.p.a[0], DEPLOY_REFUSED, "refuse b: program changed");
	deploy_plan_free(&f.p);
	plan(&f, true);
	assert_false(f.p.refused);
	assert_int_equal(f.p.n, 4);
	expect(&f.p.a[0], DEPLOY_CHAN_CLOSE, "chan close ch (its subOS b)");
	expect(&f.p.a[1], DEPLOY_DESTROY, "destroy b (program changed)");
	expect(&f.p.a[2], DEPLOY_CREATE, "create b (again)");
	expect(&f.p.a[3], DEPLOY_CHAN_CREATE, "chan create ch");
	done(&f);
}

/* An exited subOS is made anew without --recreate. */
static void test_exited(void **state)
{
	struct fixture f = { 0 };
	char subos[2048];
	snprintf(subos, sizeof(subos), "{\"a\":%s,\"b\":%s}", SHOW_A, SHOW_B);
	memcpy(strstr(subos, "\"running\",\"pid\":11"), "\"exited\", ", 10);
	load(&f, file, subos, "[]");
	plan(&f, false);
	assert_int_equal(f.p.n, 3);
	expect(&f.p.a[0], DEPLOY_DESTROY, "destroy b (its program exited)");
	expect(&f.p.a[1], DEPLOY_CREATE, "create b");
	expect(&f.p.a[2], DEPLOY_CHAN_CREATE, "chan create ch");
	done(&f);
}

static void test_channels(void **state)
{
	struct fixture f = { 0 };
	const char *chans = "[{\"name\":\"ch\",\"kind\":\"msg\",\"between\":[\"a\",\"b\"],\"slots\":256},"
			    "{\"name\":\"old\",\"kind\":\"msg\",\"between\":[\"b\",\"a\"],\"slots\":2},"
			    "{\"name\":\"other\",\"kind\":\"msg\",\"between\":[\"a\",\"z\"],\"slots\":2}]";
	load(&f, file, "{\"a\":" SHOW_A ",\"b\":" SHOW_B "}", chans);
	plan(&f, false);
	assert_true(f.p.refused);
	expect(&f.p.a[0], DEPLOY_REFUSED, "refuse chan ch: slots changed");
	expect(&f.p.a[1], DEPLOY_CHAN_CLOSE, "chan close old (between b,a; not in the file)");
	assert_int_equal(f.p.n, 2); /* "other" joins a subOS the file does not own */
	deploy_plan_free(&f.p);
	plan(&f, true);
	assert_int_equal(f.p.n, 3);
	expect(&f.p.a[0], DEPLOY_CHAN_CLOSE, "chan close ch (slots changed)");
	expect(&f.p.a[1], DEPLOY_CHAN_CLOSE, "chan close old");
	expect(&f.p.a[2], DEPLOY_CHAN_CREATE, "chan create ch: msg between a,b, 64 slots");
	done(&f);
}

/* rfd's show of a with `policy` set to the JSON given. */
static void set_policy(struct fixture *f, const char *json)
{
	struct json_object *a;
	assert_true(json_object_object_get_ex(f->st.subos, "a", &a));
	json_object_object_add(a, "policy", json_tokener_parse(json));
}

/* A policy is sent on creation, and later only if rfd reports another. */
static void test_policy(void **state)
{
	static const char text[] =
		"subos:\n  a:\n    kind: libos\n    cores: 2\n    memory: 128M\n"
		"    program: [/bin/hello]\n    restart: always\n"
		"    policy: {priority: batch, min_cores: 0}\n";
	struct fixture f = { 0 };
	load(&f, text, "{}", "[]");
	plan(&f, false);
	assert_int_equal(f.p.n, 2);
	expect(&f.p.a[1], DEPLOY_POLICY, "policy a: priority batch, min_cores 0");
	done(&f);
	load(&f, text, "{\"a\":" SHOW_A "}", "[]");
	plan(&f, false);
	assert_int_equal(f.p.n, 0); /* this rfd reports no policies */
	deploy_plan_free(&f.p);
	set_policy(&f, "null");
	plan(&f, false);
	assert_int_equal(f.p.n, 1);
	expect(&f.p.a[0], DEPLOY_POLICY, "policy a: priority batch");
	deploy_plan_free(&f.p);
	set_policy(&f, "{\"priority\":\"batch\",\"min_cores\":0,\"max_cores\":2}");
	plan(&f, false);
	assert_int_equal(f.p.n, 0);
	deploy_plan_free(&f.p);
	set_policy(&f, "{\"priority\":\"latency\",\"min_cores\":0}");
	plan(&f, false);
	assert_int_equal(f.p.n, 1);
	done(&f);
}

/* Thresholds in decimal milliseconds are compared in microseconds, and the
 * signal is compared when the file gives one. */
static void test_policy_thresholds(void **state)
{
	static const char text[] =
		"subos:\n  a:\n    kind: libos\n    cores: 2\n    memory: 128M\n"
		"    program: [/bin/hello]\n    restart: always\n"
		"    policy: {priority: latency, lt_ms: 0.05, ut_ms: 0.2, signal: queue}\n";
	struct fixture f = { 0 };
	load(&f, text, "{}", "[]");
	plan(&f, false);
	expect(&f.p.a[1], DEPLOY_POLICY,
	       "policy a: priority latency, lt_ms 0.05, ut_ms 0.2, signal queue");
	done(&f);
	load(&f, text, "{\"a\":" SHOW_A "}", "[]");
	set_policy(&f, "{\"priority\":\"latency\",\"lt_us\":50,\"ut_us\":200,"
		       "\"signal\":\"queue\"}");
	plan(&f, false);
	assert_int_equal(f.p.n, 0);
	deploy_plan_free(&f.p);
	set_policy(&f, "{\"priority\":\"latency\",\"lt_us\":50,\"ut_us\":200,"
		       "\"signal\":\"latency\"}");
	plan(&f, false);
	assert_int_equal(f.p.n, 1);
	deploy_plan_free(&f.p);
	set_policy(&f, "{\"priority\":\"latency\",\"lt_us\":50000,\"ut_us\":200,"
		       "\"signal\":\"queue\"}");
	plan(&f, false);
	assert_int_equal(f.p.n, 1);
	done(&f);
}

/* A probe goes with the policy: sent on creation, and when rfd shows
 * another (or none). */
static void test_probe(void **state)
{
	static const char text[] =
		"subos:\n  a:\n    kind: linux\n    cores: 2\n    memory: 128M\n"
		"    program: [/bin/hello]\n    restart: always\n"
		"    probe: memcached://127.0.0.1:11211\n";
	struct fixture f = { 0 };
	struct json_object *a;
	load(&f, text, "{}", "[]");
	plan(&f, false);
	assert_int_equal(f.p.n, 2);
	expect(&f.p.a[1], DEPLOY_POLICY, "policy a: off, probe memcached://127.0.0.1:11211");
	done(&f);
	load(&f, text, "{\"a\":" SHOW_A "}", "[]");
	assert_true(json_object_object_get_ex(f.st.subos, "a", &a));
	json_object_object_add(a, "kind", json_object_new_string("linux"));
	plan(&f, false);
	assert_int_equal(f.p.n, 1); /* rfd shows no probe */
	expect(&f.p.a[0], DEPLOY_POLICY, "policy a: off, probe memcached://127.0.0.1:11211");
	deploy_plan_free(&f.p);
	json_object_object_add(a, "probe", json_object_new_string("memcached://127.0.0.1:11211"));
	plan(&f, false);
	assert_int_equal(f.p.n, 0);
	done(&f);
}

static void test_delete(void **state)
{
	struct fixture f = { 0 };
	load(&f, file, "{\"a\":" SHOW_A ",\"b\":" SHOW_B "}",
	     "[" CH ",{\"name\":\"other\",\"between\":[\"a\",\"z\"]}]");
	assert_int_equal(deploy_plan_delete(&f.d, &f.st, &f.p), 0);
	assert_int_equal(f.p.n, 3);
	expect(&f.p.a[0], DEPLOY_CHAN_CLOSE, "chan close ch");
	expect(&f.p.a[1], DEPLOY_DESTROY, "destroy b");
	expect(&f.p.a[2], DEPLOY_DESTROY, "destroy a");
	done(&f);
	load(&f, file, "{\"a\":" SHOW_A "}", "[]");
	assert_int_equal(deploy_plan_delete(&f.d, &f.st, &f.p), 0);
	assert_int_equal(f.p.n, 1);
	expect(&f.p.a[0], DEPLOY_DESTROY, "destroy a");
	done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_runs), cmocka_unit_test(test_unchanged),
		cmocka_unit_test(test_resize),       cmocka_unit_test(test_program_changed),
		cmocka_unit_test(test_exited),       cmocka_unit_test(test_channels),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_policy_thresholds),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_delete),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
