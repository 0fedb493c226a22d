/*
 * test_proto_codec.c - the protocol codec both ways (src/base/proto.c).
 *
 * Every verb, built as a typed request the way clients build one, is
 * encoded, written as the line a client sends, decoded as rfd decodes it,
 * and every field compared: so the encoder writes exactly what the decoder
 * accepts, and a key renamed on one side fails here.  A few encodings are
 * also compared with the wire text docs/protocol.md shows.  Built requests
 * borrow literals only: ASan checks the decoded side frees what it owns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/proto.h"

/* Encode `in` (with an id), decode the line; the caller frees *out. */
static void roundtrip(struct base_request *in, struct base_request *out)
{
	struct base_err err;
	in->has_id = true;
	in->id = 42;
	struct json_object *o = base_request_encode(in);
	assert_non_null(o);
	size_t len;
	const char *line = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	if (base_proto_parse(line, len, out, &err) != 0)
		fail_msg("refused (%s: %s): %s", base_errc_name(err.code), err.msg, line);
	json_object_put(o);
}

static void same_str(const char *a, const char *b)
{
	if (!a || !b)
		assert_true(a == b);
	else
		assert_string_equal(a, b);
}

static void same_strv(const char *const *a, int na, const char *const *b, int nb)
{
	assert_int_equal(na, nb);
	for (int i = 0; i < na; i++)
		assert_string_equal(a[i], b[i]);
	if (nb > 0)
		assert_null(b[nb]);
}

static void same_cores(const struct base_cores_arg *a, const struct base_cores_arg *b)
{
	assert_int_equal(a->form, b->form);
	if (a->form == RF_CORES_COUNT || a->form == RF_CORES_DELTA)
		assert_int_equal(a->n, b->n);
	if (a->form == RF_CORES_LIST)
		assert_true(base_cpuset_equal(&a->set, &b->set));
}

static void same_chan(const struct base_request *a, const struct base_request *b)
{
	assert_int_equal(a->has_chan_kind, b->has_chan_kind);
	assert_int_equal(a->chan_kind, b->chan_kind);
	same_str(a->between[0], b->between[0]);
	same_str(a->between[1], b->between[1]);
	assert_int_equal(a->has_slots, b->has_slots);
	assert_int_equal(a->has_size, b->has_size);
	if (a->has_slots)
		assert_true(a->slots == b->slots);
	if (a->has_size)
		assert_true(a->size == b->size);
}

/* Every field of `in` comes back in the decoded request. */
static void expect_roundtrip(struct base_request *in)
{
	struct base_request out;
	roundtrip(in, &out);
	assert_int_equal(out.verb, in->verb);
	assert_true(out.has_id && out.id == 42);
	same_str(in->name, out.name);
	if (in->verb == RF_VERB_CREATE) {
		assert_int_equal(out.kind, in->kind);
		assert_int_equal(out.restart, in->restart);
		assert_true(out.max_restarts == in->max_restarts);
	}
	same_cores(&in->cores, &out.cores);
	assert_int_equal(out.has_mem, in->has_mem);
	assert_true(out.mem == in->mem);
	same_strv(in->argv, in->argc, out.argv, out.argc);
	same_strv(in->env, in->envc, out.env, out.envc);
	same_strv(in->caps, in->ncaps, out.caps, out.ncaps);
	same_strv(in->binds, in->nbinds, out.binds, out.nbinds);
	same_strv(in->ro_binds, in->nro_binds, out.ro_binds, out.nro_binds);
	same_str(in->fs_root, out.fs_root);
	if (in->verb == RF_VERB_CHAN_CREATE)
		same_chan(in, &out);
	base_request_free(&out);
	assert_null(out.root);
	assert_null(out.store);
}

static struct base_request named(enum base_verb verb, const char *name)
{
	struct base_request r;
	base_request_init(&r, verb);
	r.name = name;
	return r;
}

/* A create of 64M on `cores` cores, running argv. */
static struct base_request create_req(const char *name, enum base_kind kind, int cores,
				      const char **argv, int argc)
{
	struct base_request r = named(RF_VERB_CREATE, name);
	r.kind = kind;
	r.cores.form = RF_CORES_COUNT;
	r.cores.n = cores;
	r.has_mem = true;
	r.mem = 64ull << 20;
	r.argv = argv;
	r.argc = argc;
	return r;
}

static void test_create(void **state)
{
	static const char *argv[] = { "/bin/kvserv", "--port", "7000", NULL };
	static const char *env[] = { "A=1", "B=", "C=x=y", NULL };
	struct base_request r = create_req("kv", RF_KIND_LIBOS, 3, argv, 3);
	expect_roundtrip(&r);
	r.env = env; /* with env */
	r.envc = 3;
	expect_roundtrip(&r);
	r.kind = RF_KIND_LINUX; /* linux, a CPU list */
	r.cores.form = RF_CORES_LIST;
	assert_int_equal(base_cpuset_parse(&r.cores.set, "1-3,5,1023"), 0);
	r.mem = (1ull << 62) + 1;
	expect_roundtrip(&r);
	r.restart = RF_RESTART_ON_FAILURE; /* a restart policy, without and with a limit */
	expect_roundtrip(&r);
	r.restart = RF_RESTART_ALWAYS;
	r.max_restarts = 0;
	expect_roundtrip(&r);
	r.max_restarts = INT32_MAX;
	expect_roundtrip(&r);
}

/* The confinement keys: caps, root, binds, ro_binds, alone and together. */
static void test_create_confine(void **state)
{
	static const char *argv[] = { "/bin/sh", NULL };
	static const char *caps[] = { "NET_RAW", "cap_sys_nice", NULL };
	static const char *binds[] = { "/srv/data", "/tmp/a:/tmp", NULL };
	static const char *ro[] = { "/usr", "/lib:/lib", "/etc/hosts:/etc/hosts", NULL };
	struct base_request r = create_req("box", RF_KIND_LINUX, 1, argv, 1);
	r.caps = caps;
	r.ncaps = 2;
	expect_roundtrip(&r);
	r.fs_root = "/srv/box";
	expect_roundtrip(&r);
	r.binds = binds;
	r.nbinds = 2;
	r.ro_binds = ro;
	r.nro_binds = 3;
	expect_roundtrip(&r);
	r.caps = NULL;
	r.ncaps = 0;
	r.fs_root = NULL;
	expect_roundtrip(&r);
}

static void test_destroy_show_log_list_info(void **state)
{
	static const enum base_verb named_verbs[] = {RF_VERB_DESTROY, RF_VERB_SHOW, RF_VERB_LOG,
						     RF_VERB_CHAN_CLOSE, RF_VERB_CHAN_OPEN};
	for (size_t i = 0; i < sizeof(named_verbs) / sizeof(named_verbs[0]); i++) {
		struct base_request r = named(named_verbs[i], "a_b.c-9");
		expect_roundtrip(&r);
	}
	static const enum base_verb bare[] = {RF_VERB_LIST, RF_VERB_INFO, RF_VERB_LOG,
					      RF_VERB_CHAN_LIST, RF_VERB_RFLOOP_LISTEN,
					      RF_VERB_RFLOOP_TABLE};
	for (size_t i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
		struct base_request r = named(bare[i], NULL);
		expect_roundtrip(&r);
	}
}

static void test_resize(void **state)
{
	struct base_request r = named(RF_VERB_RESIZE, "kv");
	r.cores.form = RF_CORES_COUNT;
	r.cores.n = 2;
	expect_roundtrip(&r);
	r.cores.form = RF_CORES_DELTA;
	r.cores.n = 1;
	expect_roundtrip(&r);
	r.cores.n = -2;
	expect_roundtrip(&r);
	r.cores.form = RF_CORES_LIST;
	assert_int_equal(base_cpuset_parse(&r.cores.set, "0-1"), 0);
	expect_roundtrip(&r);
	r.cores.form = RF_CORES_NONE; /* memory alone */
	r.has_mem = true;
	r.mem = 128ull << 20;
	expect_roundtrip(&r);
	r.cores.form = RF_CORES_COUNT; /* both */
	r.cores.n = 1;
	expect_roundtrip(&r);
}

static void test_chan_create(void **state)
{
	struct base_request r = named(RF_VERB_CHAN_CREATE, "ch");
	r.between[0] = "kv";
	r.between[1] = "web";
	expect_roundtrip(&r); /* msg by default, default slots */
	r.has_chan_kind = true;
	r.chan_kind = RF_CHAN_MSG;
	r.has_slots = true;
	r.slots = 1024;
	expect_roundtrip(&r);
	r.chan_kind = RF_CHAN_MAP;
	r.has_slots = false;
	r.has_size = true;
	r.size = 1ull << 32;
	expect_roundtrip(&r);
}

/* The encoding is the wire text of docs/protocol.md. */
static void expect_wire(const struct base_request *r, const char *want)
{
	struct json_object *got = base_request_encode(r), *w = json_tokener_parse(want);
	assert_non_null(got);
	assert_non_null(w);
	if (!json_object_equal(got, w))
		fail_msg("encoded %s, want %s", json_object_to_json_string(got), want);
	json_object_put(got);
	json_object_put(w);
}

static void test_wire_text(void **state)
{
	static const char *argv[] = { "build/kvserv", "--port", "7000", NULL };
	struct base_request r = named(RF_VERB_CREATE, "kv");
	r.cores.form = RF_CORES_LIST;
	assert_int_equal(base_cpuset_parse(&r.cores.set, "2-3"), 0);
	r.has_mem = true;
	r.mem = 67108864;
	r.argv = argv;
	r.argc = 3;
	expect_wire(&r, "{\"version\":1,\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"libos\","
		    "\"cores\":\"2-3\",\"mem\":67108864,"
		    "\"argv\":[\"build/kvserv\",\"--port\",\"7000\"]}");
	static const char *caps[] = { "NET_RAW", NULL }, *ro[] = { "/usr", NULL };
	r.kind = RF_KIND_LINUX;
	r.caps = caps;
	r.ncaps = 1;
	r.fs_root = "/srv/box";
	r.ro_binds = ro;
	r.nro_binds = 1;
	expect_wire(&r, "{\"version\":1,\"verb\":\"create\",\"name\":\"kv\",\"kind\":\"linux\","
		    "\"cores\":\"2-3\",\"mem\":67108864,"
		    "\"argv\":[\"build/kvserv\",\"--port\",\"7000\"],\"caps\":[\"NET_RAW\"],"
		    "\"root\":\"/srv/box\",\"ro_binds\":[\"/usr\"]}");
	r = named(RF_VERB_RESIZE, "kv");
	r.cores.form = RF_CORES_DELTA;
	r.cores.n = 1;
	expect_wire(&r, "{\"version\":1,\"verb\":\"resize\",\"name\":\"kv\",\"cores\":\"+1\"}");
	r = named(RF_VERB_CHAN_OPEN, "ch");
	r.has_id = true;
	r.id = 3;
	expect_wire(&r, "{\"version\":1,\"id\":3,\"verb\":\"chan_open\",\"name\":\"ch\"}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_create_confine),
		cmocka_unit_test(test_destroy_show_log_list_info),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_chan_create),
		cmocka_unit_test(test_wire_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
