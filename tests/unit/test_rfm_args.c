/*
 * test_rfm_args.c - rfm's command line to request, without a socket.
 *
 * Every verb's request, the help forms, every usage error with the message
 * it gives, and the argument forms of --cores, --cpus and --mem.  Requests
 * are encoded (base/proto.c, as rfm sends them) and compared as JSON
 * values (field order does not matter; "version" is checked apart).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "rfm/args.h"

#define MAXARGS 32

/* Parse a NULL-terminated list of arguments (the program name is added). */
static int parse_v(struct rfm_cmd *cmd, const char *first, va_list ap)
{
	char *argv[MAXARGS + 2] = { "rfm" };
	int argc = 1;
	for (const char *a = first; a && argc <= MAXARGS; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	argv[argc] = NULL;
	return rfm_parse_args(argc, argv, cmd);
}

static int parse(struct rfm_cmd *cmd, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	int r = parse_v(cmd, first, ap);
	va_end(ap);
	return r;
}

/* The arguments parse, and give exactly the request `want` (JSON text). */
static void expect_req(const char *want, const char *first, ...)
{
	struct rfm_cmd cmd;
	va_list ap;
	va_start(ap, first);
	int r = parse_v(&cmd, first, ap);
	va_end(ap);
	if (r != 0)
		fail_msg("parse failed (%d): %s", r, cmd.err.msg);
	assert_false(cmd.help);
	struct json_object *w = json_tokener_parse(want), *v;
	assert_non_null(w);
	assert_true(cmd.has_req);
	struct json_object *got = base_request_encode(&cmd.req);
	assert_non_null(got);
	assert_true(json_object_object_get_ex(got, "version", &v));
	assert_int_equal(json_object_get_int(v), 1);
	json_object_object_del(got, "version");
	if (!json_object_equal(w, got))
		fail_msg("request %s, want %s", json_object_to_json_string(got), want);
	json_object_put(got);
	json_object_put(w);
	rfm_cmd_free(&cmd);
}

/* The arguments are a usage error whose message is `want`. */
static void expect_usage(const char *want, const char *first, ...)
{
	struct rfm_cmd cmd;
	va_list ap;
	va_start(ap, first);
	int r = parse_v(&cmd, first, ap);
	va_end(ap);
	assert_int_equal(r, -1);
	assert_false(cmd.has_req);
	assert_string_equal(cmd.err.msg, want);
	rfm_cmd_free(&cmd);
}

#define CREATE "create", "kv", "--kind", "libos"

static void test_create_count(void **state)
{
	expect_req("{\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"libos\",\"cores\":2,"
		   "\"mem\":67108864,\"argv\":[\"/bin/true\"]}",
		   CREATE, "--cores", "2", "--mem", "64M", "--", "/bin/true", NULL);
}

static void test_create_lists(void **state)
{
	static const char *const forms[][2] = {
		{ "1-3", "1-3" }, { "1,3", "1,3" }, { "cpu:1", "1" }, { "3,1-2", "1-3" },
		{ "cpu:0-1,5", "0-1,5" }, { "0-0", "0" },
	};
	char want[256];
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(want, sizeof(want), "{\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"libos\","
			 "\"cores\":\"%s\",\"mem\":1024,\"argv\":[\"x\"]}", forms[i][1]);
		expect_req(want, CREATE, "--cores", forms[i][0], "--mem", "1K", "x", NULL);
	}
	expect_req("{\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"libos\",\"cores\":\"1\","
		   "\"mem\":1024,\"argv\":[\"x\"]}", CREATE, "--cpus", "1", "--mem", "1K", "x", NULL);
}

static void test_create_program_args(void **state)
{
	/* options end at PROGRAM, with or without "--" */
	expect_req("{\"verb\":\"create\",\"name\":\"w\",\"kind\":\"linux\",\"cores\":1,"
		   "\"mem\":1073741824,\"argv\":[\"sleep\",\"--mem\",\"10\",\"--\",\"-h\"]}",
		   "create", "w", "--kind", "linux", "--cores", "1", "--mem", "1G",
		   "sleep", "--mem", "10", "--", "-h", NULL);
	/* options before NAME, --opt=value, global options after the verb */
	expect_req("{\"verb\":\"create\",\"name\":\"w\",\"kind\":\"linux\",\"cores\":\"1-2\","
		   "\"mem\":536870912,\"env\":[\"A=1\",\"B=x=y\",\"C=\"],\"argv\":[\"sh\",\"-c\",\"x\"]}",
		   "create", "--kind=linux", "--mem=512MiB", "--json", "w", "--cores=1-2",
		   "--env", "A=1", "--env=B=x=y", "--env", "C=", "--socket", "/s", "--", "sh", "-c",
		   "x", NULL);
}

static void test_create_restart(void **state)
{
	expect_req("{\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"libos\",\"cores\":1,"
		   "\"mem\":1024,\"argv\":[\"x\"],\"restart\":\"on-failure\"}",
		   CREATE, "--cores", "1", "--mem", "1K", "--restart", "on-failure", "x", NULL);
	expect_req("{\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"libos\",\"cores\":1,"
		   "\"mem\":1024,\"argv\":[\"x\"],\"restart\":\"always\",\"max_restarts\":3}",
		   CREATE, "--max-restarts=3", "--cores", "1", "--mem", "1K", "--restart", "always",
		   "x", NULL);
	expect_req("{\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"libos\",\"cores\":1,"
		   "\"mem\":1024,\"argv\":[\"x\"]}",
		   CREATE, "--cores", "1", "--mem", "1K", "--restart", "no", "x", NULL);
	expect_usage("--restart: \"sometimes\" is not no, on-failure or always", CREATE,
		     "--restart", "sometimes", NULL);
	expect_usage("--max-restarts: \"-1\" is not a count (0 or more)", CREATE,
		     "--max-restarts", "-1", NULL);
	expect_usage("--max-restarts: \"x\" is not a count (0 or more)", CREATE,
		     "--max-restarts", "x", NULL);
	expect_usage("create: --max-restarts needs --restart on-failure or always", CREATE,
		     "--cores", "1", "--mem", "1K", "--max-restarts", "2", "x", NULL);
	expect_usage("--restart given twice", CREATE, "--restart", "always", "--restart", "no",
		     NULL);
}

static void test_create_global_opts(void **state)
{
	struct rfm_cmd cmd;
	assert_int_equal(parse(&cmd, "--socket", "/a", "--json", CREATE, "--cores", "1",
			       "--mem", "1M", "x", NULL), 0);
	assert_false(cmd.help);
	assert_string_equal(cmd.socket, "/a");
	assert_true(cmd.json);
	assert_string_equal(cmd.verb, "create");
	rfm_cmd_free(&cmd);
	assert_int_equal(parse(&cmd, CREATE, "--cores", "1", "--mem", "1M", "--socket=/b", "x",
			       "--json", NULL), 0);
	assert_false(cmd.help);
	assert_string_equal(cmd.socket, "/b");
	assert_false(cmd.json); /* --json after PROGRAM is the program's */
	rfm_cmd_free(&cmd);
}

/* A relative PROGRAM with a '/' is made absolute; its own name is kept. */
static void test_create_resolves_program(void **state)
{
	char tmpl[] = "/tmp/rfm_args.XXXXXX", old[4096], real[4096], want[8192];
	assert_non_null(getcwd(old, sizeof(old)));
	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, real));
	assert_int_equal(chdir(tmpl), 0);
	assert_int_equal(mkdir("bin", 0755), 0);
	FILE *f = fopen("bin/prog", "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(symlink("prog", "bin/link"), 0);

	snprintf(want, sizeof(want), "{\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"libos\","
		 "\"cores\":1,\"mem\":1024,\"argv\":[\"%s/bin/link\",\"a\"]}", real);
	expect_req(want, CREATE, "--cores", "1", "--mem", "1K", "./bin/../bin/link", "a", NULL);
	snprintf(want, sizeof(want), "{\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"libos\","
		 "\"cores\":1,\"mem\":1024,\"argv\":[\"%s/bin/prog\"]}", real);
	expect_req(want, CREATE, "--cores", "1", "--mem", "1K", "bin/prog", NULL);
	expect_usage("program \"bin/nope\": No such file or directory",
		     CREATE, "--cores", "1", "--mem", "1K", "bin/nope", NULL);
	expect_usage("program \"nodir/prog\": No such file or directory",
		     CREATE, "--cores", "1", "--mem", "1K", "nodir/prog", NULL);
	expect_usage("program \"./bin\": Is a directory",
		     CREATE, "--cores", "1", "--mem", "1K", "./bin", NULL);
	expect_usage("program \"bin/\": Is a directory",
		     CREATE, "--cores", "1", "--mem", "1K", "bin/", NULL);

	unlink("bin/link");
	unlink("bin/prog");
	rmdir("bin");
	assert_int_equal(chdir(old), 0);
	rmdir(tmpl);
}

static void test_create_missing(void **state)
{
	expect_usage("create: missing NAME", "create", NULL);
	expect_usage("create: missing NAME", "create", "--kind", "linux", NULL);
	expect_usage("create: --kind is required", "create", "kv", "--cores", "1", "--mem",
		     "1M", "x", NULL);
	expect_usage("create: --cores is required", CREATE, "--mem", "1M", "x", NULL);
	expect_usage("create: --mem is required", CREATE, "--cores", "1", "x", NULL);
	expect_usage("create: missing PROGRAM (after the options, or after --)",
		     CREATE, "--cores", "1", "--mem", "1M", NULL);
	expect_usage("create: missing PROGRAM (after the options, or after --)",
		     CREATE, "--cores", "1", "--mem", "1M", "--", NULL);
	expect_usage("the program name is empty", CREATE, "--cores", "1", "--mem", "1M", "", NULL);
	expect_usage("--mem needs a value", CREATE, "--cores", "1", "--mem", NULL);
}

static void test_create_bad_values(void **state)
{
	expect_usage("--kind: \"vm\" is not a kind (libos or linux)", "create", "kv", "--kind",
		     "vm", NULL);
	expect_usage("--mem: \"12Q\" is not a size (like 64M, 1G or 512MiB)", CREATE, "--mem",
		     "12Q", NULL);
	expect_usage("--mem: \"0\": the size must be above zero", CREATE, "--mem", "0", NULL);
	expect_usage("--mem: \"-1M\" is not a size (like 64M, 1G or 512MiB)", CREATE, "--mem",
		     "-1M", NULL);
	expect_usage("--cores: \"2000\": a count must be 0 to 1024 cores", CREATE, "--cores",
		     "2000", NULL);
	expect_usage("--cores: \"0\": a count must be 1 to 1024 cores", "resize", "kv",
		     "--cores", "0", NULL);
	expect_usage("--cores: \"+1\" is a change of cores, which only resize takes", CREATE,
		     "--cores", "+1", NULL);
	expect_usage("--cores: \"abc\" is not a core count (2), a CPU list (1-3, cpu:1)", CREATE,
		     "--cores", "abc", NULL);
	expect_usage("--cores: \"1-\" is not a CPU list (like 1, 2-5 or 1,3; CPUs below 1024)",
		     CREATE, "--cores", "1-", NULL);
	expect_usage("--cores: \"3-1\" is not a CPU list (like 1, 2-5 or 1,3; CPUs below 1024)",
		     CREATE, "--cores", "3-1", NULL);
	expect_usage("--cores: the CPU list is empty", CREATE, "--cores", "cpu:", NULL);
	expect_usage("--cpus: \"x\" is not a CPU list (like 1, 2-5 or 1,3; CPUs below 1024)",
		     CREATE, "--cpus", "x", NULL);
	expect_usage("--cores/--cpus given twice", CREATE, "--cores", "1", "--cores", "2", NULL);
	expect_usage("--cores/--cpus given twice", CREATE, "--cpus", "1", "--cores", "2", NULL);
	expect_usage("--mem given twice", CREATE, "--mem", "1M", "--mem", "2M", NULL);
	expect_usage("--kind given twice", CREATE, "--kind", "linux", NULL);
	expect_usage("--env: \"FOO\" is not KEY=VALUE", CREATE, "--env", "FOO", NULL);
	expect_usage("--env: \"=x\" is not KEY=VALUE", CREATE, "--env", "=x", NULL);
	expect_usage("unknown option \"--core\"", CREATE, "--core", "1", NULL);
	expect_usage("unknown option \"--bogus\"", CREATE, "--bogus=1", NULL);
	expect_usage("unknown option \"-c\"", CREATE, "-c", "1", NULL);
	expect_usage("--json takes no value", CREATE, "--json=yes", NULL);
}

/* --cap, --root, --bind, --ro-bind: what they send, and what they refuse. */
static void test_create_confine(void **state)
{
	expect_req("{\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"libos\",\"cores\":1,"
		   "\"mem\":1024,\"argv\":[\"x\"],\"caps\":[\"NET_RAW\",\"cap_sys_nice\"],"
		   "\"root\":\"/\",\"binds\":[\"/srv\",\"/tmp/a:/b\"],\"ro_binds\":[\"/usr\"]}",
		   CREATE, "--cores", "1", "--mem", "1K", "--cap", "NET_RAW", "--cap=cap_sys_nice",
		   "--root", "/", "--bind", "/srv", "--ro-bind", "/usr", "--bind", "/tmp/a:/b", "x",
		   NULL);
	expect_req("{\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"libos\",\"cores\":1,"
		   "\"mem\":1024,\"argv\":[\"x\"],\"root\":\"/usr\"}",
		   CREATE, "--cores", "1", "--mem", "1K", "--root", "/usr/bin/..", "x", NULL);
	expect_usage("--cap: \"NET_RAWR\" is not a capability (like NET_RAW or CAP_NET_RAW)",
		     CREATE, "--cap", "NET_RAWR", NULL);
	expect_usage("--cap: \"\" is not a capability (like NET_RAW or CAP_NET_RAW)", CREATE,
		     "--cap", "", NULL);
	expect_usage("--bind: \"srv\" is not SRC[:DST]: paths must be absolute", CREATE,
		     "--bind", "srv", NULL);
	expect_usage("--ro-bind: \"/a:b\" is not SRC[:DST]: paths must be absolute", CREATE,
		     "--ro-bind", "/a:b", NULL);
	expect_usage("--bind: \"/a:/b:/c\" is not SRC[:DST]: more than one ':' (paths with ':' "
		     "are not supported)", CREATE, "--bind", "/a:/b:/c", NULL);
	expect_usage("--ro-bind: \"/a:\" is not SRC[:DST]: paths must be absolute", CREATE,
		     "--ro-bind", "/a:", NULL);
	expect_usage("--root: \"/nonexistent-rf\": No such file or directory", CREATE, "--root",
		     "/nonexistent-rf", NULL);
	expect_usage("--root: \"/bin/sh\" is not a directory", CREATE, "--root", "/bin/sh",
		     NULL);
	expect_usage("--root given twice", CREATE, "--root", "/", "--root", "/usr", NULL);
	expect_usage("--cap needs a value", CREATE, "--cap", NULL);
}

static void test_names(void **state)
{
	char name[64];
	memset(name, 'a', 47);
	name[47] = '\0';
	char want[128];
	snprintf(want, sizeof(want), "{\"verb\":\"show\",\"name\":\"%s\"}", name);
	expect_req(want, "show", name, NULL);
	expect_req("{\"verb\":\"show\",\"name\":\"a_b.c-d9\"}", "show", "a_b.c-d9", NULL);
	name[47] = 'a';
	name[48] = '\0';
	char msg[256];
	snprintf(msg, sizeof(msg), "\"%s\" is not a subOS name (1-47 of A-Z a-z 0-9 _ . -, "
		 "not starting with . or -)", name);
	expect_usage(msg, "show", name, NULL);
	expect_usage("\".kv\" is not a subOS name (1-47 of A-Z a-z 0-9 _ . -, not starting with "
		     ". or -)", "destroy", ".kv", NULL);
	expect_usage("\"a b\" is not a subOS name (1-47 of A-Z a-z 0-9 _ . -, not starting with "
		     ". or -)", "create", "a b", NULL);
	expect_usage("\"\" is not a subOS name (1-47 of A-Z a-z 0-9 _ . -, not starting with "
		     ". or -)", "log", "", NULL);
}

static void test_destroy_show_log(void **state)
{
	expect_req("{\"verb\":\"destroy\",\"name\":\"kv\"}", "destroy", "kv", NULL);
	expect_req("{\"verb\":\"show\",\"name\":\"kv\"}", "show", "--json", "kv", NULL);
	expect_req("{\"verb\":\"log\"}", "log", NULL);
	expect_req("{\"verb\":\"log\",\"name\":\"kv\"}", "log", "kv", "--json", NULL);
	expect_req("{\"verb\":\"list\"}", "list", NULL);
	expect_req("{\"verb\":\"info\"}", "--json", "info", NULL);
	expect_usage("destroy: missing NAME", "destroy", NULL);
	expect_usage("show: missing NAME", "show", "--json", NULL);
	expect_usage("destroy: unexpected argument \"b\"", "destroy", "a", "b", NULL);
	expect_usage("log: unexpected argument \"b\"", "log", "a", "b", NULL);
	expect_usage("list: unexpected argument \"kv\"", "list", "kv", NULL);
	expect_usage("info: unexpected argument \"x\"", "info", "x", NULL);
	expect_usage("unknown option \"--mem\"", "destroy", "kv", "--mem", "1M", NULL);
	expect_usage("unknown option \"--cores\"", "list", "--cores", "1", NULL);
}

static void test_resize(void **state)
{
	expect_req("{\"verb\":\"resize\",\"name\":\"kv\",\"cores\":\"+1\"}", "resize", "kv",
		   "--cores", "+1", NULL);
	expect_req("{\"verb\":\"resize\",\"name\":\"kv\",\"cores\":\"-2\"}", "resize", "kv",
		   "--cores", "-2", NULL);
	expect_req("{\"verb\":\"resize\",\"name\":\"kv\",\"cores\":\"-2\"}", "resize", "kv",
		   "--cores=-02", NULL);
	expect_req("{\"verb\":\"resize\",\"name\":\"kv\",\"cores\":3,\"mem\":134217728}",
		   "resize", "--mem", "128M", "kv", "--cores", "3", NULL);
	expect_req("{\"verb\":\"resize\",\"name\":\"kv\",\"cores\":\"1\"}", "resize", "kv",
		   "--cores", "cpu:1", NULL);
	expect_req("{\"verb\":\"resize\",\"name\":\"kv\",\"cores\":\"1-2\"}", "resize", "kv",
		   "--cpus", "1,2", NULL);
	expect_req("{\"verb\":\"resize\",\"name\":\"kv\",\"mem\":1610612736}", "resize", "kv",
		   "--mem", "1.5G", NULL);
	expect_usage("resize: give --cores, --cpus or --mem", "resize", "kv", NULL);
	expect_usage("resize: missing NAME", "resize", "--cores", "1", NULL);
	expect_usage("--cores: \"+0\": the change must be 1 to 1024 cores", "resize", "kv",
		     "--cores", "+0", NULL);
	expect_usage("--cores: \"+x\" is not a change of cores (like +1 or -2)", "resize", "kv",
		     "--cores", "+x", NULL);
	expect_usage("--cores: \"1.5\" is not a core count (2), a CPU list (1-3, cpu:1) or a "
		     "change (+1, -1)", "resize", "kv", "--cores", "1.5", NULL);
	expect_usage("--cores needs a value", "resize", "kv", "--cores", NULL);
	expect_usage("unknown option \"--env\"", "resize", "kv", "--env", "A=B", NULL);
}

static void test_sizes(void **state)
{
	static const struct { const char *arg; int64_t bytes; } sizes[] = {
		{ "64M", 64ll << 20 }, { "1G", 1ll << 30 }, { "512MiB", 512ll << 20 },
		{ "1.5G", 3ll << 29 }, { "100", 100 }, { "4k", 4096 }, { "2T", 2ll << 40 },
		{ "8MB", 8ll << 20 },
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t v = 0;
		struct base_err err;
		assert_int_equal(rfm_parse_mem("--mem", sizes[i].arg, &v, &err), 0);
		assert_true(v == (uint64_t)sizes[i].bytes);
	}
	static const char *const bad[] = { "", "M", "1X", "1.5", "64 M", "-5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 0;
		struct base_err err;
		if (rfm_parse_mem("--mem", bad[i], &v, &err) == 0)
			fail_msg("\"%s\" parsed as a size", bad[i]);
		assert_true(v == 0); /* left alone */
	}
}

static void test_version(void **state)
{
	struct rfm_cmd cmd;
	expect_req("{\"verb\":\"info\"}", "version", NULL);
	assert_int_equal(parse(&cmd, "version", "--client", NULL), 0);
	assert_false(cmd.help);
	assert_false(cmd.has_req);
	assert_true(cmd.client_only);
	assert_string_equal(cmd.verb, "version");
	rfm_cmd_free(&cmd);
	assert_int_equal(parse(&cmd, "--version", NULL), 0);
	assert_false(cmd.help);
	assert_false(cmd.has_req);
	assert_string_equal(cmd.verb, "version");
	rfm_cmd_free(&cmd);
	expect_usage("version: unexpected argument \"x\"", "version", "x", NULL);
}

/* top: a stats request; --once and --interval are rfm's own. */
static void test_top(void **state)
{
	struct rfm_cmd cmd;
	expect_req("{\"verb\":\"stats\"}", "top", NULL);
	assert_int_equal(parse(&cmd, "top", "--once", "--interval", "0.5", "--json", NULL), 0);
	assert_true(cmd.top_once && cmd.json && cmd.has_req);
	assert_true(cmd.top_interval == 0.5);
	rfm_cmd_free(&cmd);
	expect_usage("--interval: \"0\" is not a number of seconds (0.05 to 3600)",
		     "top", "--interval", "0", NULL);
	expect_usage("--interval: \"x\" is not a number of seconds (0.05 to 3600)",
		     "top", "--interval", "x", NULL);
	expect_usage("--interval given twice", "top", "--interval", "1", "--interval", "2", NULL);
	expect_usage("top: unexpected argument \"kv\"", "top", "kv", NULL);
}

static void test_policy(void **state)
{
	expect_req("{\"verb\":\"policy\",\"name\":\"kv\"}", "policy", "kv", NULL);
	expect_req("{\"verb\":\"policy\",\"name\":\"kv\",\"policy\":{\"priority\":\"latency\","
		   "\"lt_us\":500,\"ut_us\":1500,\"window_ms\":20,\"signal\":\"queue\"}}",
		   "policy", "kv", "--priority", "latency", "--lt", "0.5", "--ut=1.5", "--window", "20",
		   "--signal", "queue", NULL);
	expect_req("{\"verb\":\"policy\",\"name\":\"b\",\"policy\":{\"priority\":\"batch\","
		   "\"min_cores\":0,\"max_cores\":2}}",
		   "policy", "--priority", "batch", "b", "--min-cores", "0", "--max-cores", "2", NULL);
	expect_req("{\"verb\":\"policy\",\"name\":\"kv\",\"policy\":{\"priority\":\"off\"}}",
		   "policy", "kv", "--off", NULL);
	expect_usage("policy: --off takes no other option", "policy", "kv", "--off", "--priority",
		     "batch", NULL);
	expect_usage("policy: give --priority latency or batch (or --off)", "policy", "kv", "--ut",
		     "1", NULL);
	expect_usage("policy: --lt must be below --ut", "policy", "kv", "--priority", "latency",
		     "--lt", "2", "--ut", "2", NULL);
	expect_usage("policy: --min-cores must not be above --max-cores", "policy", "kv",
		     "--priority", "batch", "--min-cores", "3", "--max-cores", "2", NULL);
	expect_usage("--priority: \"off\" is not latency or batch", "policy", "kv", "--priority",
		     "off", NULL);
	expect_usage("--window: \"2.5\" is not a whole number from 5 to 600000", "policy", "kv",
		     "--priority", "latency", "--window", "2.5", NULL);
	expect_usage("--lt: \"0\" is not a number of milliseconds from 0.001 to 60000", "policy",
		     "kv", "--priority", "latency", "--lt", "0", NULL);
	expect_usage("--ut given twice", "policy", "kv", "--priority", "latency", "--ut", "1",
		     "--ut", "2", NULL);
	expect_usage("policy: missing NAME", "policy", "--priority", "batch", NULL);
}

/* --probe: sent beside the policy (or alone), checked as rfd checks it. */
static void test_policy_probe(void **state)
{
	expect_req("{\"verb\":\"policy\",\"name\":\"mc\",\"probe\":\"memcached://127.0.0.1:11211\"}",
		   "policy", "mc", "--probe", "memcached://127.0.0.1:11211", NULL);
	expect_req("{\"verb\":\"policy\",\"name\":\"mc\",\"probe\":\"http://[::1]:80/x\","
		   "\"policy\":{\"priority\":\"latency\",\"ut_us\":5000}}",
		   "policy", "mc", "--priority", "latency", "--ut", "5", "--probe", "http://[::1]:80/x",
		   NULL);
	expect_req("{\"verb\":\"policy\",\"name\":\"mc\",\"probe\":\"off\","
		   "\"policy\":{\"priority\":\"off\"}}", "policy", "mc", "--off", "--probe", "off", NULL);
	expect_usage("probe \"memcached://cache:1\": the address is not numeric (an IPv4 address, "
		     "[IPv6] or localhost: rfd does not resolve names)", "policy", "mc", "--probe",
		     "memcached://cache:1", NULL);
	expect_usage("probe \"ftp://1.2.3.4/\": not memcached://ADDR:PORT or http://ADDR:PORT/PATH "
		     "(https is not probed)", "policy", "mc", "--probe", "ftp://1.2.3.4/", NULL);
	expect_usage("--probe given twice", "policy", "mc", "--probe", "off", "--probe", "off", NULL);
}

static void expect_help(const char *verb, const char *first, ...)
{
	struct rfm_cmd cmd;
	va_list ap;
	va_start(ap, first);
	int r = parse_v(&cmd, first, ap);
	va_end(ap);
	assert_int_equal(r, 0);
	assert_true(cmd.help);
	assert_false(cmd.has_req);
	if (verb)
		assert_string_equal(cmd.verb, verb);
	else
		assert_null(cmd.verb);
	rfm_cmd_free(&cmd);
}

static void test_help(void **state)
{
	expect_help(NULL, "--help", NULL);
	expect_help(NULL, "-h", "create", NULL);
	expect_help(NULL, "help", NULL);
	expect_help("create", "help", "create", NULL);
	expect_help("create", "create", "--help", NULL);
	expect_help("create", "create", "kv", "--kind", "linux", "-h", NULL);
	expect_help("resize", "resize", "-h", NULL);
	expect_help("log", "--socket", "/x", "log", "--help", NULL);
	const char *verbs[] = { "destroy", "list", "show", "info", "version" };
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		expect_help(verbs[i], verbs[i], "--help", NULL);
	expect_usage("help: unknown verb \"bogus\"", "help", "bogus", NULL);
	expect_usage("help: give one verb", "help", "list", "show", NULL);
	assert_true(rfm_is_verb("create"));
	assert_false(rfm_is_verb("help"));
	assert_false(rfm_is_verb(NULL));
}

static void test_global_errors(void **state)
{
	struct rfm_cmd cmd;
	expect_usage("missing verb", NULL);
	expect_usage("missing verb", "--json", NULL);
	expect_usage("unknown verb \"start\"", "start", NULL);
	expect_usage("unknown option \"--bogus\"", "--bogus", "list", NULL);
	expect_usage("--socket needs a value", "--socket", NULL);
	assert_int_equal(parse(&cmd, "bogus", NULL), -1);
	assert_null(cmd.verb); /* the hint then points at `rfm --help` */
	rfm_cmd_free(&cmd);
	assert_int_equal(parse(&cmd, "show", "--nope", NULL), -1);
	assert_string_equal(cmd.verb, "show");
	rfm_cmd_free(&cmd);
}

static void test_chan(void **state)
{
	struct rfm_cmd cmd;
	expect_req("{\"verb\":\"chan_list\"}", "chan", "list", NULL);
	expect_req("{\"verb\":\"chan_close\",\"name\":\"ch\"}", "chan", "close", "ch", NULL);
	expect_req("{\"verb\":\"chan_create\",\"name\":\"ch\",\"between\":[\"kv\",\"web\"]}",
		   "chan", "create", "ch", "--between", "kv,web", NULL);
	expect_req("{\"verb\":\"chan_create\",\"name\":\"ch\",\"between\":[\"a\",\"b\"],"
		   "\"kind\":\"msg\",\"slots\":64}",
		   "chan", "create", "--kind", "msg", "--slots=64", "ch", "--between=a,b", NULL);
	expect_req("{\"verb\":\"chan_create\",\"name\":\"m\",\"between\":[\"a\",\"a\"],"
		   "\"kind\":\"map\",\"size\":1048576}",  /* A == B: rfd refuses it */
		   "chan", "create", "m", "--between", "a,a", "--kind", "map", "--size", "1M", NULL);
	assert_int_equal(parse(&cmd, "--json", "chan", "list", NULL), 0);
	assert_false(cmd.help);
	assert_string_equal(cmd.verb, "chan list");
	assert_true(cmd.json);
	rfm_cmd_free(&cmd);
	/* help */
	assert_int_equal(parse(&cmd, "chan", "--help", NULL), 0);
	assert_true(cmd.help);
	assert_string_equal(cmd.verb, "chan");
	rfm_cmd_free(&cmd);
	assert_int_equal(parse(&cmd, "chan", "create", "-h", NULL), 0);
	assert_true(cmd.help);
	assert_string_equal(cmd.verb, "chan create");
	rfm_cmd_free(&cmd);
	assert_int_equal(parse(&cmd, "help", "chan", "close", NULL), 0);
	assert_true(cmd.help);
	assert_string_equal(cmd.verb, "chan close");
	rfm_cmd_free(&cmd);
	assert_true(rfm_is_verb("chan"));
	/* usage errors */
	expect_usage("chan: missing list, create or close", "chan", NULL);
	expect_usage("chan: unknown subcommand \"open\" (list, create or close)", "chan", "open", NULL);
	expect_usage("chan create: missing NAME", "chan", "create", "--between", "a,b", NULL);
	expect_usage("chan create: --between A,B is required", "chan", "create", "x", NULL);
	expect_usage("--between: \"a\" is not two subOS names like kv,web",
		     "chan", "create", "x", "--between", "a", NULL);
	expect_usage("--between: \"a,b,c\" is not two subOS names like kv,web",
		     "chan", "create", "x", "--between", "a,b,c", NULL);
	expect_usage("\"\" is not a subOS name (1-47 of A-Z a-z 0-9 _ . -, not starting with . or -)",
		     "chan", "create", "x", "--between", "a,", NULL);
	expect_usage("--kind: \"pipe\" is not a channel kind (msg or map)",
		     "chan", "create", "x", "--between", "a,b", "--kind", "pipe", NULL);
	expect_usage("--slots: \"0\" is not a number of slots (like 256)",
		     "chan", "create", "x", "--between", "a,b", "--slots", "0", NULL);
	expect_usage("--slots given twice",
		     "chan", "create", "x", "--between", "a,b", "--slots", "2", "--slots", "4", NULL);
	expect_usage("--size: \"0\": the size must be above zero",
		     "chan", "create", "x", "--between", "a,b", "--size", "0", NULL);
	expect_usage("\".x\" is not a channel name (1-47 of A-Z a-z 0-9 _ . -, not starting with . or -)",
		     "chan", "close", ".x", NULL);
	expect_usage("chan close: missing NAME", "chan", "close", NULL);
	expect_usage("chan list: unexpected argument \"x\"", "chan", "list", "x", NULL);
	expect_usage("unknown option \"--slots\"", "chan", "close", "x", "--slots", "4", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_policy_probe),
		cmocka_unit_test(test_create_count),
		cmocka_unit_test(test_create_lists),
		cmocka_unit_test(test_create_program_args),
		cmocka_unit_test(test_create_restart),
		cmocka_unit_test(test_create_global_opts),
		cmocka_unit_test(test_create_resolves_program),
		cmocka_unit_test(test_create_missing),
		cmocka_unit_test(test_create_bad_values),
		cmocka_unit_test(test_create_confine),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_destroy_show_log),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_global_errors),
		cmocka_unit_test(test_chan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
