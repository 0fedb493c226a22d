/*
 * test_proto.c - request validation of the control protocol (src/base/proto.c,
 * docs/protocol.md).
 *
 * Covers: every verb parsing with valid fields (create, destroy, resize in
 * each cores form, list, show, info, log with and without a name); every
 * error path with its exact stable code: not JSON, not an object, trailing
 * garbage, a NUL byte (raw or escaped inside a string), the 65536-byte line
 * limit (request_too_large), a missing or other version (bad_version), an
 * unknown verb, bad names, create without kind/cores/mem/argv, bad kinds,
 * the cores forms (count, "+N"/"-N" for resize only, CPU lists, 0), bad mem,
 * bad argv and env, resize without cores or mem; the id echoed in errors
 * when it could be read; and the exact shapes of base_answer_new_ok/_err.
 * Channels: chan_create with its defaults and limits and every refusal
 * (name, between: two distinct names, kind, slots a power of two for msg
 * only, size for map only), chan_list, chan_close, chan_open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/proto.h"

#define V "\"version\":1,"

static int parse(const char *line, struct base_request *req, struct base_err *err)
{
	return base_proto_parse(line, strlen(line), req, err);
}

/* Parse a line that must succeed; the caller frees req. */
static void expect_ok(const char *line, struct base_request *req)
{
	struct base_err err;
	if (parse(line, req, &err) != 0)
		fail_msg("refused (%s: %s): %s", base_errc_name(err.code), err.msg, line);
	assert_int_equal(err.code, BASE_E_OK);
	assert_non_null(req->root);
}

/* Parse a line of length len that must fail with `code`. */
static void expect_err_len(const char *line, size_t len, const char *code, struct base_request *req)
{
	struct base_err err;
	if (base_proto_parse(line, len, req, &err) != -1) {
		base_request_free(req);
		fail_msg("accepted, want %s: %.200s", code, line);
	}
	assert_non_null(base_errc_name(err.code));
	if (strcmp(base_errc_name(err.code), code) != 0)
		fail_msg("got %s (%s), want %s: %.200s", base_errc_name(err.code), err.msg, code,
			 line);
	assert_true(strlen(err.msg) > 0);
	assert_null(req->root); /* nothing left to free */
}

static void expect_err(const char *line, const char *code)
{
	struct base_request req;
	expect_err_len(line, strlen(line), code, &req);
}

/* --- verbs that parse --------------------------------------------------- */

static void test_create_full(void **state)
{
	struct base_request req;
	expect_ok("{" V "\"id\":7,\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"libos\","
		  "\"cores\":\"2-3\",\"mem\":67108864,\"argv\":[\"build/kvserv\",\"--port\",\"7000\"],"
		  "\"env\":[\"A=1\",\"B=\",\"C=x=y\"]}", &req);
	assert_int_equal(req.verb, RF_VERB_CREATE);
	assert_true(req.has_id);
	assert_true(req.id == 7);
	assert_string_equal(req.name, "kv");
	assert_int_equal(req.kind, RF_KIND_LIBOS);
	assert_int_equal(req.cores.form, RF_CORES_LIST);
	struct base_cpuset want;
	assert_int_equal(base_cpuset_parse(&want, "2-3"), 0);
	assert_true(base_cpuset_equal(&req.cores.set, &want));
	assert_true(req.has_mem);
	assert_true(req.mem == 67108864);
	assert_int_equal(req.argc, 3);
	assert_string_equal(req.argv[0], "build/kvserv");
	assert_string_equal(req.argv[1], "--port");
	assert_string_equal(req.argv[2], "7000");
	assert_null(req.argv[3]);
	assert_int_equal(req.envc, 3);
	assert_string_equal(req.env[0], "A=1");
	assert_string_equal(req.env[1], "B=");
	assert_string_equal(req.env[2], "C=x=y");
	assert_null(req.env[3]);
	base_request_free(&req);
	assert_null(req.root);
	assert_null(req.name);
}

static void test_create_count_linux(void **state)
{
	struct base_request req;
	expect_ok("{" V "\"verb\":\"create\",\"name\":\"web_1.a-b\",\"kind\":\"linux\",\"cores\":2,"
		  "\"mem\":1,\"argv\":[\"/bin/true\"]}", &req);
	assert_false(req.has_id);
	assert_int_equal(req.kind, RF_KIND_LINUX);
	assert_int_equal(req.cores.form, RF_CORES_COUNT);
	assert_int_equal(req.cores.n, 2);
	assert_true(req.mem == 1);
	assert_int_equal(req.argc, 1);
	assert_int_equal(req.envc, 0);
	assert_null(req.env[0]);
	base_request_free(&req);

	/* the largest count; surrounding whitespace and a CR are fine */
	expect_ok("  {" V "\"verb\":\"create\",\"name\":\"a\",\"kind\":\"linux\",\"cores\":1024,"
		  "\"mem\":4096,\"argv\":[\"x\"],\"env\":[]} \r", &req);
	assert_int_equal(req.cores.n, 1024);
	base_request_free(&req);
}

static void test_destroy_show(void **state)
{
	struct base_request req;
	expect_ok("{" V "\"verb\":\"destroy\",\"name\":\"kv\"}", &req);
	assert_int_equal(req.verb, RF_VERB_DESTROY);
	assert_string_equal(req.name, "kv");
	assert_int_equal(req.cores.form, RF_CORES_NONE);
	assert_false(req.has_mem);
	base_request_free(&req);
	expect_ok("{" V "\"verb\":\"show\",\"name\":\"kv\",\"id\":-3}", &req);
	assert_int_equal(req.verb, RF_VERB_SHOW);
	assert_true(req.has_id);
	assert_true(req.id == -3);
	base_request_free(&req);
}

static void test_resize_forms(void **state)
{
	struct base_request req;
	expect_ok("{" V "\"verb\":\"resize\",\"name\":\"kv\",\"cores\":\"+1\"}", &req);
	assert_int_equal(req.verb, RF_VERB_RESIZE);
	assert_int_equal(req.cores.form, RF_CORES_DELTA);
	assert_int_equal(req.cores.n, 1);
	assert_false(req.has_mem);
	base_request_free(&req);

	expect_ok("{" V "\"verb\":\"resize\",\"name\":\"kv\",\"cores\":\"-12\"}", &req);
	assert_int_equal(req.cores.form, RF_CORES_DELTA);
	assert_int_equal(req.cores.n, -12);
	base_request_free(&req);

	expect_ok("{" V "\"verb\":\"resize\",\"name\":\"kv\",\"cores\":3,\"mem\":134217728}", &req);
	assert_int_equal(req.cores.form, RF_CORES_COUNT);
	assert_int_equal(req.cores.n, 3);
	assert_true(req.has_mem);
	assert_true(req.mem == 134217728);
	base_request_free(&req);

	expect_ok("{" V "\"verb\":\"resize\",\"name\":\"kv\",\"cores\":\"1,5-6\"}", &req);
	assert_int_equal(req.cores.form, RF_CORES_LIST);
	assert_int_equal(base_cpuset_count(&req.cores.set), 3);
	assert_true(base_cpuset_has(&req.cores.set, 6));
	base_request_free(&req);

	expect_ok("{" V "\"verb\":\"resize\",\"name\":\"kv\",\"mem\":4096}", &req);
	assert_int_equal(req.cores.form, RF_CORES_NONE);
	assert_true(req.mem == 4096);
	base_request_free(&req);
}

static void test_list_info_log(void **state)
{
	struct base_request req;
	expect_ok("{" V "\"verb\":\"list\"}", &req);
	assert_int_equal(req.verb, RF_VERB_LIST);
	assert_null(req.name);
	base_request_free(&req);
	expect_ok("{\"verb\":\"info\",\"version\":1}", &req);
	assert_int_equal(req.verb, RF_VERB_INFO);
	base_request_free(&req);
	expect_ok("{" V "\"verb\":\"log\"}", &req);
	assert_int_equal(req.verb, RF_VERB_LOG);
	assert_null(req.name);
	base_request_free(&req);
	expect_ok("{" V "\"verb\":\"log\",\"name\":\"kv\"}", &req);
	assert_string_equal(req.name, "kv");
	base_request_free(&req);
	expect_ok("{" V "\"verb\":\"log\",\"name\":null}", &req);
	assert_null(req.name);
	base_request_free(&req);
}

/* --- framing and JSON errors ------------------------------------------- */

static void test_not_json(void **state)
{
	expect_err("", "bad_request");
	expect_err("hello", "bad_request");
	expect_err("{", "bad_request");
	expect_err("{\"version\":1,\"verb\":\"list\"", "bad_request");
	expect_err("{\"version\":1 \"verb\":\"list\"}", "bad_request");
	expect_err("null", "bad_request");
}

static void test_not_object(void **state)
{
	expect_err("[1,2]", "bad_request");
	expect_err("\"list\"", "bad_request");
	expect_err("1 ", "bad_request");
	expect_err("true", "bad_request");
	expect_err("[{" V "\"verb\":\"list\"}]", "bad_request");
}

static void test_trailing_garbage(void **state)
{
	expect_err("{" V "\"verb\":\"list\"} x", "bad_request");
	expect_err("{" V "\"verb\":\"list\"}{" V "\"verb\":\"list\"}", "bad_request");
	expect_err("{" V "\"verb\":\"list\"},", "bad_request");
}

static void test_nul_byte(void **state)
{
	static const char line[] = "{" V "\"verb\":\"list\"}\0   ";
	struct base_request req;
	expect_err_len(line, sizeof(line) - 1, "bad_request", &req);
	static const char mid[] = "{" V "\"verb\":\"li\0st\"}";
	expect_err_len(mid, sizeof(mid) - 1, "bad_request", &req);
	/* A NUL smuggled in as an escape would cut the name/program short. */
	expect_err("{" V "\"verb\":\"show\",\"name\":\"kv\\u0000x\"}", "bad_request");
	expect_err("{" V "\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"linux\",\"cores\":1,"
		   "\"mem\":1,\"argv\":[\"/bin/true\\u0000x\"]}", "bad_request");
	expect_err("{" V "\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"linux\",\"cores\":1,"
		   "\"mem\":1,\"argv\":[\"/bin/true\"],\"env\":[\"A=\\u0000\"]}", "bad_request");
	expect_err("{" V "\"verb\":\"resize\",\"name\":\"kv\",\"cores\":\"1\\u00002\"}",
		   "bad_request");
}

/* A request padded with spaces to exactly `len` bytes. */
static char *padded(size_t len)
{
	const char *core = "{" V "\"id\":5,\"verb\":\"list\"}";
	char *s = malloc(len + 1);
	assert_non_null(s);
	memset(s, ' ', len);
	memcpy(s, core, strlen(core));
	s[len] = '\0';
	return s;
}

static void test_line_limit(void **state)
{
	struct base_request req;
	struct base_err err;
	char *s = padded(RF_PROTO_LINE_MAX);
	assert_int_equal(base_proto_parse(s, RF_PROTO_LINE_MAX, &req, &err), 0);
	assert_int_equal(req.verb, RF_VERB_LIST);
	base_request_free(&req);
	free(s);

	s = padded(RF_PROTO_LINE_MAX + 1);
	expect_err_len(s, RF_PROTO_LINE_MAX + 1, "request_too_large", &req);
	assert_false(req.has_id); /* not even looked at */
	free(s);
	assert_int_equal(RF_PROTO_LINE_MAX, 65536);
}

/* --- version, verb, id -------------------------------------------------- */

static void test_version(void **state)
{
	expect_err("{\"verb\":\"list\"}", "bad_version");
	expect_err("{\"version\":2,\"verb\":\"list\"}", "bad_version");
	expect_err("{\"version\":0,\"verb\":\"list\"}", "bad_version");
	expect_err("{\"version\":\"1\",\"verb\":\"list\"}", "bad_version");
	expect_err("{\"version\":1.0,\"verb\":\"list\"}", "bad_version");
	expect_err("{\"version\":null,\"verb\":\"list\"}", "bad_version");
	/* the version is checked before the verb */
	expect_err("{\"version\":2,\"verb\":\"frob\"}", "bad_version");
}

static void test_unknown_verb(void **state)
{
	expect_err("{" V "\"verb\":\"frobnicate\"}", "bad_request");
	expect_err("{" V "\"verb\":\"CREATE\"}", "bad_request");
	expect_err("{" V "\"verb\":\"\"}", "bad_request");
	expect_err("{" V "\"verb\":3}", "bad_request");
	expect_err("{" V "\"verb\":null}", "bad_request");
	expect_err("{" V "\"name\":\"kv\"}", "bad_request");
}

static void test_id_echoed_in_errors(void **state)
{
	struct base_request req;
	const char *l1 = "{" V "\"id\":9,\"verb\":\"frob\"}";
	expect_err_len(l1, strlen(l1), "bad_request", &req);
	assert_true(req.has_id);
	assert_true(req.id == 9);
	const char *l2 = "{\"version\":3,\"id\":11,\"verb\":\"list\"}";
	expect_err_len(l2, strlen(l2), "bad_version", &req);
	assert_true(req.has_id);
	assert_true(req.id == 11);
	const char *l3 = "{" V "\"id\":12,\"verb\":\"destroy\",\"name\":\"-x\"}";
	expect_err_len(l3, strlen(l3), "bad_request", &req);
	assert_true(req.has_id && req.id == 12);
	/* unreadable: not JSON, or an id that is not an integer */
	const char *l4 = "{\"id\":13,";
	expect_err_len(l4, strlen(l4), "bad_request", &req);
	assert_false(req.has_id);
	const char *l5 = "{" V "\"id\":\"14\",\"verb\":\"frob\"}";
	expect_err_len(l5, strlen(l5), "bad_request", &req);
	assert_false(req.has_id);
}

/* --- names -------------------------------------------------------------- */

static void test_bad_names(void **state)
{
	const char *bad[] = { "", "../x", "-x", ".x", "a b", "a/b", "kv\\n", "k\\u00e9",
			      "0123456789012345678901234567890123456789012345678" /* 48 */ };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[256];
		snprintf(line, sizeof(line), "{" V "\"verb\":\"show\",\"name\":\"%s\"}", bad[i]);
		expect_err(line, "bad_request");
		snprintf(line, sizeof(line), "{" V "\"verb\":\"log\",\"name\":\"%s\"}", bad[i]);
		expect_err(line, "bad_request");
	}
	expect_err("{" V "\"verb\":\"show\",\"name\":5}", "bad_request");
	expect_err("{" V "\"verb\":\"show\"}", "bad_request");
	expect_err("{" V "\"verb\":\"destroy\"}", "bad_request");
	expect_err("{" V "\"verb\":\"resize\",\"cores\":1}", "bad_request");
	expect_err("{" V "\"verb\":\"destroy\",\"name\":null}", "bad_request");

	struct base_request req;
	expect_ok("{" V "\"verb\":\"show\",\"name\":"
		  "\"01234567890123456789012345678901234567890123456\"}", &req); /* 47 */
	base_request_free(&req);
}

static void test_name_valid(void **state)
{
	assert_true(base_name_valid("kv"));
	assert_true(base_name_valid("a"));
	assert_true(base_name_valid("A_b.c-9"));
	assert_true(base_name_valid("x.."));
	assert_false(base_name_valid(""));
	assert_false(base_name_valid(".hidden"));
	assert_false(base_name_valid("-opt"));
	assert_false(base_name_valid("a/b"));
	assert_false(base_name_valid("a:b"));
	char n[64];
	memset(n, 'a', sizeof(n));
	n[47] = '\0';
	assert_true(base_name_valid(n));
	n[47] = 'a';
	n[48] = '\0';
	assert_false(base_name_valid(n));
}

/* --- create fields ------------------------------------------------------ */

#define CREATE(rest) "{" V "\"verb\":\"create\",\"name\":\"kv\"," rest "}"

static void test_create_missing_fields(void **state)
{
	expect_err(CREATE("\"cores\":1,\"mem\":1,\"argv\":[\"x\"]"), "bad_request");
	expect_err(CREATE("\"kind\":\"libos\",\"mem\":1,\"argv\":[\"x\"]"), "bad_request");
	expect_err(CREATE("\"kind\":\"libos\",\"cores\":1,\"argv\":[\"x\"]"), "bad_request");
	expect_err(CREATE("\"kind\":\"libos\",\"cores\":1,\"mem\":1"), "bad_request");
	expect_err("{" V "\"verb\":\"create\",\"kind\":\"libos\",\"cores\":1,\"mem\":1,"
		   "\"argv\":[\"x\"]}", "bad_request"); /* no name */

	struct base_request req;
	struct base_err err;
	const char *l = CREATE("\"kind\":\"libos\",\"mem\":1,\"argv\":[\"x\"]");
	assert_int_equal(parse(l, &req, &err), -1);
	assert_non_null(strstr(err.msg, "cores"));
	l = CREATE("\"kind\":\"libos\",\"cores\":1,\"argv\":[\"x\"]");
	assert_int_equal(parse(l, &req, &err), -1);
	assert_non_null(strstr(err.msg, "mem"));
	l = CREATE("\"kind\":\"libos\",\"cores\":1,\"mem\":1");
	assert_int_equal(parse(l, &req, &err), -1);
	assert_non_null(strstr(err.msg, "argv"));
}

static void test_create_kind(void **state)
{
	expect_err(CREATE("\"kind\":\"vm\",\"cores\":1,\"mem\":1,\"argv\":[\"x\"]"), "bad_request");
	expect_err(CREATE("\"kind\":\"LIBOS\",\"cores\":1,\"mem\":1,\"argv\":[\"x\"]"), "bad_request");
	expect_err(CREATE("\"kind\":1,\"cores\":1,\"mem\":1,\"argv\":[\"x\"]"), "bad_request");
	expect_err(CREATE("\"kind\":\"\",\"cores\":1,\"mem\":1,\"argv\":[\"x\"]"), "bad_request");
}

/* caps, binds, ro_binds: arrays of strings; root: a string (their
 * contents are rfd's to check, src/rfd/confine.c). */
static void test_create_confine_types(void **state)
{
	static const char *const bad[] = {
		"\"caps\":\"NET_RAW\"", "\"caps\":[1]", "\"caps\":[\"A\\u0000B\"]",
		"\"root\":1", "\"root\":[\"/srv\"]", "\"root\":\"/a\\u0000b\"",
		"\"binds\":\"/a\"", "\"binds\":[null]", "\"ro_binds\":{}", "\"ro_binds\":[true]",
	};
	char line[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line),
			 CREATE("\"kind\":\"linux\",\"cores\":1,\"mem\":1,\"argv\":[\"x\"],%s"),
			 bad[i]);
		expect_err(line, "bad_request");
	}
	struct base_request req;
	expect_ok(CREATE("\"kind\":\"linux\",\"cores\":1,\"mem\":1,\"argv\":[\"x\"],"
			 "\"caps\":[\"NET_RAW\"],\"root\":\"/srv\",\"binds\":[\"/a\",\"/b:/c\"],"
			 "\"ro_binds\":[]"), &req);
	assert_int_equal(req.ncaps, 1);
	assert_string_equal(req.caps[0], "NET_RAW");
	assert_string_equal(req.fs_root, "/srv");
	assert_int_equal(req.nbinds, 2);
	assert_string_equal(req.binds[1], "/b:/c");
	assert_null(req.binds[2]);
	assert_int_equal(req.nro_binds, 0);
	assert_null(req.ro_binds[0]);
	base_request_free(&req);
}

static void test_cores_forms(void **state)
{
	const char *bad[] = { "-1", "1025", "\"+1\"", "\"-1\"", "\"3-1\"", "\"a\"", "\"\"",
			      "\"1,,2\"", "\"1024\"", "true", "1.5", "[1]", "{}", "null",
			      "99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[256];
		snprintf(line, sizeof(line),
			 CREATE("\"kind\":\"libos\",\"cores\":%s,\"mem\":1,\"argv\":[\"x\"]"), bad[i]);
		expect_err(line, "bad_request");
	}
	const char *bad_resize[] = { "0", "\"+0\"", "\"-0\"", "\"+\"", "\"-\"", "\"+x\"", "\"+1x\"",
				     "\"+ 1\"", "\"++1\"", "\"+-1\"", "\"+1025\"", "\"3-1\"",
				     "\"\"", "1.0" };
	for (size_t i = 0; i < sizeof(bad_resize) / sizeof(bad_resize[0]); i++) {
		char line[256];
		snprintf(line, sizeof(line), "{" V "\"verb\":\"resize\",\"name\":\"kv\",\"cores\":%s}",
			 bad_resize[i]);
		expect_err(line, "bad_request");
	}
	struct base_request req;
	/* 0 is a create's only: no core of its own (rfd decides for which kind) */
	expect_ok(CREATE("\"kind\":\"linux\",\"cores\":0,\"mem\":1,\"argv\":[\"x\"]"), &req);
	assert_int_equal(req.cores.form, RF_CORES_COUNT);
	assert_int_equal(req.cores.n, 0);
	base_request_free(&req);
	expect_ok("{" V "\"verb\":\"resize\",\"name\":\"kv\",\"cores\":\"+1024\"}", &req);
	assert_int_equal(req.cores.n, 1024);
	base_request_free(&req);
}

static void test_mem(void **state)
{
	const char *bad[] = { "0", "-1", "\"64M\"", "\"67108864\"", "1.5", "true", "null", "[]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[256];
		snprintf(line, sizeof(line),
			 CREATE("\"kind\":\"libos\",\"cores\":1,\"mem\":%s,\"argv\":[\"x\"]"), bad[i]);
		expect_err(line, "bad_request");
		snprintf(line, sizeof(line), "{" V "\"verb\":\"resize\",\"name\":\"kv\",\"mem\":%s}",
			 bad[i]);
		expect_err(line, "bad_request");
	}
}

static void test_argv(void **state)
{
	const char *bad[] = { "\"x\"", "[]", "[1]", "[\"a\",2]", "[\"\"]", "[null]", "{}", "null",
			      "[[\"x\"]]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[256];
		snprintf(line, sizeof(line),
			 CREATE("\"kind\":\"libos\",\"cores\":1,\"mem\":1,\"argv\":%s"), bad[i]);
		expect_err(line, "bad_request");
	}
	/* an empty later argument is fine */
	struct base_request req;
	expect_ok(CREATE("\"kind\":\"libos\",\"cores\":1,\"mem\":1,\"argv\":[\"x\",\"\"]"), &req);
	assert_int_equal(req.argc, 2);
	assert_string_equal(req.argv[1], "");
	base_request_free(&req);
}

/* argv of n elements "a" */
static char *create_with_argc(int n)
{
	size_t cap = 256 + (size_t)n * 4;
	char *s = malloc(cap);
	assert_non_null(s);
	size_t off = (size_t)snprintf(s, cap, "{" V "\"verb\":\"create\",\"name\":\"kv\","
				      "\"kind\":\"libos\",\"cores\":1,\"mem\":1,\"argv\":[");
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off, "%s\"a\"", i ? "," : "");
	snprintf(s + off, cap - off, "]}");
	return s;
}

static void test_argv_max(void **state)
{
	struct base_request req;
	char *s = create_with_argc(RF_ARGV_MAX);
	expect_ok(s, &req);
	assert_int_equal(req.argc, RF_ARGV_MAX);
	assert_null(req.argv[RF_ARGV_MAX]);
	base_request_free(&req);
	free(s);
	s = create_with_argc(RF_ARGV_MAX + 1);
	expect_err(s, "bad_request");
	free(s);
}

static void test_env(void **state)
{
	const char *bad[] = { "\"A=1\"", "[\"FOO\"]", "[\"=x\"]", "[\"=\"]", "[1]", "[\"A=1\",2]",
			      "[\"A=1\",\"B\"]", "{}", "[\"\"]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[256];
		snprintf(line, sizeof(line),
			 CREATE("\"kind\":\"libos\",\"cores\":1,\"mem\":1,\"argv\":[\"x\"],\"env\":%s"),
			 bad[i]);
		expect_err(line, "bad_request");
	}
}

static void test_resize_needs_something(void **state)
{
	expect_err("{" V "\"verb\":\"resize\",\"name\":\"kv\"}", "bad_request");
	expect_err("{" V "\"verb\":\"resize\",\"name\":\"kv\",\"argv\":[\"x\"]}", "bad_request");
}

/* --- answers ------------------------------------------------------------ */

static void assert_json(struct json_object *o, const char *want)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (strcmp(s, want) != 0)
		fail_msg("got %s\nwant %s", s, want);
}

static void test_answer_ok(void **state)
{
	struct base_request req;
	expect_ok("{" V "\"id\":7,\"verb\":\"list\"}", &req);
	struct json_object *res = json_object_new_object();
	json_object_object_add(res, "subos", json_object_new_array());
	struct json_object *a = base_answer_new_ok(&req, res);
	assert_json(a, "{\"version\":1,\"id\":7,\"ok\":true,\"result\":{\"subos\":[]}}");
	json_object_put(a);
	base_request_free(&req);

	expect_ok("{" V "\"verb\":\"info\"}", &req);
	a = base_answer_new_ok(&req, NULL);
	assert_json(a, "{\"version\":1,\"ok\":true,\"result\":{}}");
	json_object_put(a);
	base_request_free(&req);
}

static void test_answer_err(void **state)
{
	struct json_object *a = base_answer_new_err(true, 7, BASE_E_CORES_BUSY,
						    "core %d is owned by subOS \"%s\"", 1, "kv");
	assert_json(a, "{\"version\":1,\"id\":7,\"ok\":false,\"error\":\"cores_busy\","
		       "\"message\":\"core 1 is owned by subOS \\\"kv\\\"\"}");
	json_object_put(a);
	a = base_answer_new_err(false, 99, BASE_E_BAD_REQUEST, "x");
	assert_json(a, "{\"version\":1,\"ok\":false,\"error\":\"bad_request\",\"message\":\"x\"}");
	json_object_put(a);

	/* A parse error answered the way rfd does it. */
	struct base_request req;
	struct base_err err;
	assert_int_equal(parse("{\"version\":2,\"id\":4}", &req, &err), -1);
	a = base_answer_new_err(req.has_id, req.id, err.code, "%s", err.msg);
	struct json_object *v;
	assert_true(json_object_object_get_ex(a, "id", &v));
	assert_true(json_object_get_int64(v) == 4);
	assert_true(json_object_object_get_ex(a, "error", &v));
	assert_string_equal(json_object_get_string(v), "bad_version");
	json_object_put(a);
}

static void test_names_of_enums(void **state)
{
	assert_string_equal(base_verb_name(RF_VERB_CREATE), "create");
	assert_string_equal(base_verb_name(RF_VERB_DESTROY), "destroy");
	assert_string_equal(base_verb_name(RF_VERB_RESIZE), "resize");
	assert_string_equal(base_verb_name(RF_VERB_LIST), "list");
	assert_string_equal(base_verb_name(RF_VERB_SHOW), "show");
	assert_string_equal(base_verb_name(RF_VERB_INFO), "info");
	assert_string_equal(base_verb_name(RF_VERB_LOG), "log");
	assert_string_equal(base_kind_name(RF_KIND_LIBOS), "libos");
	assert_string_equal(base_kind_name(RF_KIND_LINUX), "linux");
}

/* --- channels ----------------------------------------------------------- */

static void test_chan_create(void **state)
{
	struct base_request req;
	expect_ok("{" V "\"verb\":\"chan_create\",\"name\":\"ch\",\"between\":[\"kv\",\"web\"]}",
		  &req);
	assert_int_equal(req.verb, RF_VERB_CHAN_CREATE);
	assert_string_equal(req.name, "ch");
	assert_int_equal(req.chan_kind, RF_CHAN_MSG);           /* the default kind */
	assert_int_equal(req.slots, RF_CHAN_SLOTS_DEFAULT);     /* and slot count */
	assert_string_equal(req.between[0], "kv");
	assert_string_equal(req.between[1], "web");
	base_request_free(&req);

	expect_ok("{" V "\"verb\":\"chan_create\",\"name\":\"ch\",\"kind\":\"msg\",\"slots\":2,"
		  "\"between\":[\"a\",\"b\"]}", &req);
	assert_int_equal(req.slots, 2);
	base_request_free(&req);
	expect_ok("{" V "\"verb\":\"chan_create\",\"name\":\"ch\",\"slots\":1048576,"
		  "\"between\":[\"a\",\"b\"]}", &req);
	assert_int_equal(req.slots, 1048576);
	base_request_free(&req);

	expect_ok("{" V "\"verb\":\"chan_create\",\"name\":\"m\",\"kind\":\"map\",\"size\":10000,"
		  "\"between\":[\"a\",\"b\"]}", &req);
	assert_int_equal(req.chan_kind, RF_CHAN_MAP);
	assert_true(req.size == 10000);
	base_request_free(&req);
	expect_ok("{" V "\"verb\":\"chan_create\",\"name\":\"m\",\"kind\":\"map\","
		  "\"size\":4294967296,\"between\":[\"a\",\"b\"]}", &req);
	assert_true(req.size == RF_CHAN_SIZE_MAX);
	base_request_free(&req);
}

static void test_chan_create_errors(void **state)
{
#define CC "{" V "\"verb\":\"chan_create\","
	expect_err(CC "\"between\":[\"a\",\"b\"]}", "bad_request");                   /* no name */
	expect_err(CC "\"name\":\".x\",\"between\":[\"a\",\"b\"]}", "bad_request");    /* bad name */
	expect_err(CC "\"name\":\"x\"}", "bad_request");                              /* no between */
	expect_err(CC "\"name\":\"x\",\"between\":\"a,b\"}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"between\":[\"a\"]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"between\":[\"a\",\"b\",\"c\"]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"between\":[\"a\",3]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"between\":[\"a\",\"-b\"]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"between\":[\"a\",\"b\\u0000c\"]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"between\":[\"a\",\"a\"]}", "bad_request"); /* A == B */
	expect_err(CC "\"name\":\"x\",\"kind\":\"pipe\",\"between\":[\"a\",\"b\"]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"kind\":1,\"between\":[\"a\",\"b\"]}", "bad_request");
	/* slots: a power of two in 2..2^20, msg only */
	expect_err(CC "\"name\":\"x\",\"slots\":3,\"between\":[\"a\",\"b\"]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"slots\":1,\"between\":[\"a\",\"b\"]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"slots\":0,\"between\":[\"a\",\"b\"]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"slots\":-4,\"between\":[\"a\",\"b\"]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"slots\":2097152,\"between\":[\"a\",\"b\"]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"slots\":\"8\",\"between\":[\"a\",\"b\"]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"size\":4096,\"between\":[\"a\",\"b\"]}", "bad_request");
	/* size: map only, required there, 1..4 GiB */
	expect_err(CC "\"name\":\"x\",\"kind\":\"map\",\"between\":[\"a\",\"b\"]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"kind\":\"map\",\"size\":0,\"between\":[\"a\",\"b\"]}",
		   "bad_request");
	expect_err(CC "\"name\":\"x\",\"kind\":\"map\",\"size\":4294967297,"
		   "\"between\":[\"a\",\"b\"]}", "bad_request");
	expect_err(CC "\"name\":\"x\",\"kind\":\"map\",\"size\":1.5,\"between\":[\"a\",\"b\"]}",
		   "bad_request");
	expect_err(CC "\"name\":\"x\",\"kind\":\"map\",\"size\":4096,\"slots\":4,"
		   "\"between\":[\"a\",\"b\"]}", "bad_request");
#undef CC
}

static void test_chan_other_verbs(void **state)
{
	struct base_request req;
	expect_ok("{" V "\"verb\":\"chan_list\"}", &req);
	assert_int_equal(req.verb, RF_VERB_CHAN_LIST);
	base_request_free(&req);
	expect_ok("{" V "\"verb\":\"chan_close\",\"name\":\"ch\"}", &req);
	assert_int_equal(req.verb, RF_VERB_CHAN_CLOSE);
	assert_string_equal(req.name, "ch");
	base_request_free(&req);
	expect_ok("{" V "\"verb\":\"chan_open\",\"name\":\"ch\",\"id\":9}", &req);
	assert_int_equal(req.verb, RF_VERB_CHAN_OPEN);
	assert_true(req.id == 9);
	base_request_free(&req);
	expect_err("{" V "\"verb\":\"chan_close\"}", "bad_request");
	expect_err("{" V "\"verb\":\"chan_open\"}", "bad_request");
	expect_err("{" V "\"verb\":\"chan_open\",\"name\":7}", "bad_request");
	expect_err("{" V "\"verb\":\"chan_close\",\"name\":\"a/b\"}", "bad_request");
	expect_err("{" V "\"verb\":\"chan\",\"name\":\"a\"}", "bad_request");
	assert_string_equal(base_verb_name(RF_VERB_CHAN_CREATE), "chan_create");
	assert_string_equal(base_verb_name(RF_VERB_CHAN_LIST), "chan_list");
	assert_string_equal(base_verb_name(RF_VERB_CHAN_CLOSE), "chan_close");
	assert_string_equal(base_verb_name(RF_VERB_CHAN_OPEN), "chan_open");
	assert_string_equal(base_chan_kind_name(RF_CHAN_MSG), "msg");
	assert_string_equal(base_chan_kind_name(RF_CHAN_MAP), "map");
}

/* policy's probe: a string (checked by rfd, base/probe.h), alone or with
 * the settings; only on the policy verb. */
static void test_policy_probe(void **state)
{
	struct base_request req;
	expect_ok("{" V "\"verb\":\"policy\",\"name\":\"mc\",\"probe\":\"memcached://127.0.0.1:1\"}",
		  &req);
	assert_string_equal(req.probe, "memcached://127.0.0.1:1");
	assert_false(req.has_policy);
	base_request_free(&req);
	expect_ok("{" V "\"verb\":\"policy\",\"name\":\"mc\",\"probe\":\"off\","
		  "\"policy\":{\"priority\":\"off\"}}", &req);
	assert_string_equal(req.probe, "off");
	assert_true(req.has_policy);
	base_request_free(&req);
	expect_ok("{" V "\"verb\":\"policy\",\"name\":\"mc\"}", &req);
	assert_null(req.probe);
	base_request_free(&req);
	expect_err("{" V "\"verb\":\"policy\",\"name\":\"mc\",\"probe\":7}", "bad_request");
	expect_err("{" V "\"verb\":\"policy\",\"name\":\"mc\",\"probe\":\"a\\u0000b\"}",
		   "bad_request");
	assert_string_equal(base_signal_name(RF_SIGNAL_PROBE), "probe");
	enum base_signal sig;
	assert_int_equal(base_signal_parse("probe", &sig), -1); /* a window's, not a setting */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_full),
		cmocka_unit_test(test_policy_probe),
		cmocka_unit_test(test_create_count_linux),
		cmocka_unit_test(test_destroy_show),
		cmocka_unit_test(test_resize_forms),
		cmocka_unit_test(test_list_info_log),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_not_object),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_unknown_verb),
		cmocka_unit_test(test_id_echoed_in_errors),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_create_missing_fields),
		cmocka_unit_test(test_create_kind),
		cmocka_unit_test(test_create_confine_types),
		cmocka_unit_test(test_cores_forms),
		cmocka_unit_test(test_mem),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_argv_max),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_resize_needs_something),
		cmocka_unit_test(test_answer_ok),
		cmocka_unit_test(test_answer_err),
		cmocka_unit_test(test_names_of_enums),
		cmocka_unit_test(test_chan_create),
		cmocka_unit_test(test_chan_create_errors),
		cmocka_unit_test(test_chan_other_verbs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
