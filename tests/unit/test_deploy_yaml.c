/*
 * test_deploy_yaml.c - the deployment file parser (src/rfm/deploy_yaml.c,
 * deploy_subos.c) without rfd: a valid file becomes the model it says,
 * in start order; every kind of mistake is refused with a message naming
 * the file and the line it is on, and leaves the model empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "rfm/deploy.h"

static const char full[] =
	"# a comment\n"
	"deployment: fig1\n"
	"subos:\n"
	"  web:\n"
	"    kind: linux\n"
	"    cores: 2-3\n"
	"    memory: 128M\n"
	"    program: [/usr/sbin/nginx, -g, \"daemon off;\"]\n"
	"    env: {B: '2', A: x=y}\n"
	"    caps: [NET_RAW]\n"
	"    ro_binds: [/etc:/mnt]\n"
	"    restart: on-failure\n"
	"    max_restarts: 3\n"
	"    rfloop: true\n"
	"    after: [kv]\n"
	"  kv:\n"
	"    kind: libos\n"
	"    cores: 1\n"
	"    memory: 256M\n"
	"    program: ../build/rfkv\n"
	"    ready: {tcp: 11311, timeout_ms: 500}\n"
	"    policy: {priority: latency, lt_ms: 0.05, ut_ms: 4, window_ms: 20, max_cores: 2,\n"
	"             signal: queue}\n"
	"channels:\n"
	"  c1: {between: [kv, web]}\n"
	"  c2:\n"
	"    kind: map\n"
	"    between: [web, kv]\n"
	"    size: 1M\n";

static void test_valid(void **state)
{
	struct deploy d;
	struct base_err err = { 0 };
	assert_int_equal(deploy_parse("f.yaml", full, strlen(full), &d, &err), 0);
	assert_string_equal(d.name, "fig1");
	assert_int_equal(d.nsubos, 2);
	const struct deploy_subos *kv = &d.subos[0], *web = &d.subos[1]; /* start order */
	assert_string_equal(kv->name, "kv");
	assert_string_equal(web->name, "web");
	assert_int_equal(kv->line, 17);
	assert_int_equal(kv->kind, RF_KIND_LIBOS);
	assert_int_equal(kv->cores.form, RF_CORES_COUNT);
	assert_int_equal(kv->cores.n, 1);
	assert_int_equal(kv->mem, 256ull << 20);
	assert_int_equal(kv->argv.n, 1);
	assert_string_equal(kv->argv.v[0], "../build/rfkv");
	assert_int_equal(kv->ready_port, 11311);
	assert_int_equal(kv->ready_timeout_ms, 500);
	assert_true(kv->policy.set && kv->policy.latency);
	assert_int_equal(kv->policy.lt_us, 50);
	assert_int_equal(kv->policy.ut_us, 4000);
	assert_int_equal(kv->policy.signal, RF_SIGNAL_QUEUE);
	assert_int_equal(kv->policy.min_cores, -1);
	assert_int_equal(kv->restart, RF_RESTART_NO);
	assert_int_equal(kv->max_restarts, -1);
	assert_int_equal(web->cores.form, RF_CORES_LIST);
	assert_int_equal(web->argv.n, 3);
	assert_string_equal(web->argv.v[2], "daemon off;");
	assert_int_equal(web->env.n, 2);
	assert_string_equal(web->env.v[0], "B=2");
	assert_string_equal(web->env.v[1], "A=x=y");
	assert_string_equal(web->caps.v[0], "NET_RAW");
	assert_string_equal(web->ro_binds.v[0], "/etc:/mnt");
	assert_int_equal(web->restart, RF_RESTART_ON_FAILURE);
	assert_int_equal(web->max_restarts, 3);
	assert_true(web->rfloop);
	assert_false(web->policy.set);
	assert_int_equal(web->ready_port, 0);
	assert_int_equal(d.nchans, 2);
	assert_int_equal(d.chans[0].kind, RF_CHAN_MSG);
	assert_int_equal(d.chans[0].slots, RF_CHAN_SLOTS_DEFAULT);
	assert_string_equal(d.chans[0].between[1], "web");
	assert_int_equal(d.chans[1].kind, RF_CHAN_MAP);
	assert_int_equal(d.chans[1].size, 1 << 20);
	deploy_free(&d);
}

/* The example of the paper's Figure 1 parses. */
static void test_example(void **state)
{
	struct deploy d;
	struct base_err err = { 0 };
	if (deploy_load("examples/multilibos.yaml", &d, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(d.nsubos >= 3);
	assert_non_null(deploy_find(&d, "kv"));
	deploy_free(&d);
}

static const struct {
	const char *text, *want;
} bad[] = {
	{ "subos:\n  a: [\n", "t.yaml:3: did not find expected node content" },
	{ "", "t.yaml: the file is empty" },
	{ "hello\n", "t.yaml:1: the file: a mapping" },
	{ "subos: {}\n---\nsubos: {}\n", "t.yaml:2: a second document" },
	{ "channels: {}\n", "t.yaml:1: the file declares no subos" },
	{ "subos:\n  a:\n    kind: linux\n    cores: 1\n    memory: 1M\n    program: [x]\n"
	  "    colour: red\n", "t.yaml:7: subOS a: unknown key \"colour\"" },
	{ "subos:\n  a:\n    cores: 1\n    memory: 1M\n    program: [x]\n",
	  "t.yaml:3: subOS a: kind is required" },
	{ "subos:\n  a:\n    kind: unix\n", "t.yaml:3: kind: \"unix\" is not a kind" },
	{ "subos:\n  a:\n    kind: linux\n    cores: lots\n", "t.yaml:4: cores: \"lots\"" },
	{ "subos:\n  a:\n    kind: linux\n    cores: 1\n    memory: 0\n",
	  "t.yaml:5: memory: \"0\": the size must be above zero" },
	{ "subos:\n  a:\n    kind: linux\n    kind: libos\n", "t.yaml:4: subOS a: \"kind\" given twice" },
	{ "subos:\n  a: {kind: linux, cores: 1, memory: 1M, program: x}\n"
	  "  a: {kind: linux, cores: 1, memory: 1M, program: x}\n", "t.yaml:3: subos: \"a\" given twice" },
	{ "subos:\n  -a: {}\n", "t.yaml:2: \"-a\" is not a subOS name" },
	{ "subos:\n  a: {kind: linux, cores: 1, memory: 1M, program: [x], after: [b]}\n",
	  "t.yaml:2: subOS a: after: \"b\" is not a subOS of this file" },
	{ "subos:\n  a: {kind: linux, cores: 1, memory: 1M, program: [x], after: [b]}\n"
	  "  b: {kind: linux, cores: 1, memory: 1M, program: [x], after: [a]}\n",
	  "t.yaml:2: subOS a: its after: list makes a cycle" },
	{ "subos:\n  a: {kind: linux, cores: 1, memory: 1M, program: [x], max_restarts: 2}\n",
	  "t.yaml:2: subOS a: max_restarts needs restart" },
	{ "subos:\n  a: {kind: linux, cores: 1, memory: 1M, program: [x],\n"
	  "      policy: {priority: latency, lt_ms: 5, ut_ms: 5}}\n",
	  "t.yaml:3: policy: lt_ms (5) must be below ut_ms (5)" },
	{ "subos:\n  a:\n    policy: {lt_ms: 1}\n", "t.yaml:3: policy: priority: latency|batch" },
	{ "subos:\n  a:\n    policy: {priority: latency, lt_ms: 0.0001}\n",
	  "t.yaml:3: lt_ms: \"0.0001\" is not a number of milliseconds from 0.001 to 60000" },
	{ "subos:\n  a:\n    policy: {priority: latency, ut_ms: 1ms}\n",
	  "t.yaml:3: ut_ms: \"1ms\" is not a number of milliseconds" },
	{ "subos:\n  a:\n    policy: {priority: latency, signal: fast}\n",
	  "t.yaml:3: signal: \"fast\" is not latency or queue" },
	{ "subos:\n  a:\n    policy: {priority: latency, lt_ms: 0.5, ut_ms: 0.25}\n",
	  "t.yaml:3: policy: lt_ms (0.5) must be below ut_ms (0.25)" },
	{ "subos:\n  a:\n    ready: {tcp: 70000}\n", "t.yaml:3: tcp: 70000 is out of range" },
	{ "subos:\n  a:\n    ready: {timeout_ms: 5}\n", "t.yaml:3: ready: tcp: PORT is required" },
	{ "subos:\n  a:\n    env: [NOEQUALS]\n", "t.yaml:3: env: \"NOEQUALS\" is not KEY=VALUE" },
	{ "subos:\n  a:\n    rfloop: maybe\n", "t.yaml:3: rfloop: \"maybe\" is not true or false" },
	{ "subos:\n  a:\n    caps: [FLY]\n", "t.yaml:3: caps: \"FLY\" is not a capability" },
	{ "subos:\n  a:\n    program: {x: y}\n", "t.yaml:3: program: a list" },
	{ "subos:\n  a: {kind: linux, cores: 1, memory: 1M, program: [x]}\n"
	  "channels:\n  c: {between: [a, b]}\n",
	  "t.yaml:4: channel c: between: \"b\" is not a subOS of this file" },
	{ "subos: {}\nchannels:\n  c: {between: [a, a]}\n", "t.yaml:3: between: a channel joins two" },
	{ "subos: {}\nchannels:\n  c: {between: [a, b], size: 1M}\n",
	  "t.yaml:3: channel c: size is for kind map" },
	{ "subos: {}\nchannels:\n  c: {kind: map, between: [a, b]}\n",
	  "t.yaml:3: channel c: kind map needs a size" },
	{ "subos: {}\nchannels:\n  c:\n    between: [a, b]\n    slots: 100\n",
	  "t.yaml:5: slots: 100 is not a power of two" },
	{ "subos: &x [*x]\n", "t.yaml:1: subos: a mapping" },
	{ "subos:\n  a:\n    probe: memcached://cache:11211\n",
	  "t.yaml:3: probe \"memcached://cache:11211\": the address is not numeric" },
	{ "subos:\n  a: {kind: libos, cores: 1, memory: 1M, program: [x],\n"
	  "      probe: \"http://127.0.0.1:8080/\"}\n",
	  "t.yaml:2: subOS a: probe: a libos subOS reports its own latency" },
};

static void test_invalid(void **state)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct deploy d;
		struct base_err err = { 0 };
		int rc = deploy_parse("t.yaml", bad[i].text, strlen(bad[i].text), &d, &err);
		if (rc != -1 || !strstr(err.msg, bad[i].want))
			fail_msg("case %zu: rc %d, message \"%s\", want \"%s\"", i, rc, err.msg,
				 bad[i].want);
		assert_int_equal(d.nsubos, 0);
		assert_null(d.subos);
	}
}

static void test_probe(void **state)
{
	static const char text[] = "subos:\n  mc:\n    kind: linux\n    cores: 1\n"
				   "    memory: 64M\n    program: [/usr/bin/memcached]\n"
				   "    probe: memcached://127.0.0.1:11211\n"
				   "    policy: {priority: latency, ut_ms: 5}\n";
	struct deploy d;
	struct base_err err = { 0 };
	assert_int_equal(deploy_parse("p.yaml", text, strlen(text), &d, &err), 0);
	assert_string_equal(d.subos[0].probe, "memcached://127.0.0.1:11211");
	deploy_free(&d);
}

static void test_missing_file(void **state)
{
	struct deploy d;
	struct base_err err = { 0 };
	assert_int_equal(deploy_load("/nonexistent/x.yaml", &d, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/x.yaml: No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_probe), cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
