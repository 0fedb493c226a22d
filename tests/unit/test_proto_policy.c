/*
 * test_proto_policy.c - the policy verb's field group of the codec
 * (src/base/proto_policy.c): defaults filled, every refusal naming its
 * field, and the round trip rfd relies on to keep a policy in the journal
 * (base_policy_json read back by base_policy_decode gives the same).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/proto.h"

static int parse(const char *line, struct base_request *req, struct base_err *err)
{
	return base_proto_parse(line, strlen(line), req, err);
}

#define REQ(pol) "{\"version\":1,\"verb\":\"policy\",\"name\":\"kv\",\"policy\":" pol "}"

static void test_defaults(void **state)
{
	struct base_request req;
	struct base_err err;
	assert_int_equal(parse(REQ("{\"priority\":\"latency\"}"), &req, &err), 0);
	assert_true(req.has_policy);
	assert_int_equal(req.policy.priority, RF_PRIO_LATENCY);
	assert_int_equal(req.policy.ut_us, RF_POLICY_UT_US);
	assert_int_equal(req.policy.lt_us, RF_POLICY_UT_US / 2);
	assert_int_equal(req.policy.window_ms, RF_POLICY_WINDOW_MS);
	assert_int_equal(req.policy.min_cores, 1);
	assert_int_equal(req.policy.max_cores, RF_POLICY_MAX_CORES);
	assert_int_equal(req.policy.signal, RF_SIGNAL_LATENCY);
	base_request_free(&req);
	assert_int_equal(parse(REQ("{\"priority\":\"latency\",\"lt_us\":300}"), &req, &err), 0);
	assert_int_equal(req.policy.ut_us, 600); /* twice lt when only lt is given */
	base_request_free(&req);
	assert_int_equal(parse(REQ("{\"priority\":\"batch\"}"), &req, &err), 0);
	assert_int_equal(req.policy.min_cores, 0);
	base_request_free(&req);
	/* no policy: a show */
	assert_int_equal(parse("{\"version\":1,\"verb\":\"policy\",\"name\":\"kv\"}", &req, &err), 0);
	assert_false(req.has_policy);
	base_request_free(&req);
}

static void refused(const char *line, const char *words)
{
	struct base_request req;
	struct base_err err;
	if (parse(line, &req, &err) != -1)
		fail_msg("accepted: %s", line);
	assert_int_equal(err.code, BASE_E_BAD_REQUEST);
	if (!strstr(err.msg, words))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, words);
}

static void test_refusals(void **state)
{
	refused(REQ("{\"priority\":\"latency\",\"lt_us\":1000,\"ut_us\":1000}"), "below ut");
	refused(REQ("{\"priority\":\"batch\",\"min_cores\":3,\"max_cores\":2}"), "above max_cores");
	refused(REQ("{\"priority\":\"latency\",\"min_cores\":0}"), "at least one core");
	refused(REQ("{\"priority\":\"batch\",\"ut_us\":10}"), "for priority latency");
	refused(REQ("{\"priority\":\"off\",\"max_cores\":2}"), "takes no other field");
	refused(REQ("{\"priority\":\"fast\"}"), "policy.priority");
	refused(REQ("{\"lt_us\":5}"), "missing \"priority\"");
	refused(REQ("{\"priority\":\"latency\",\"window_ms\":4}"), "policy.window_ms");
	refused(REQ("{\"priority\":\"latency\",\"ut_us\":\"1\"}"), "policy.ut_us");
	refused(REQ("{\"priority\":\"latency\",\"signal\":\"loud\"}"), "policy.signal");
	refused(REQ("{\"priority\":\"latency\",\"windows\":4}"), "unknown field \"windows\"");
	refused(REQ("[1]"), "must be an object");
	refused("{\"version\":1,\"verb\":\"policy\"}", "missing field \"name\"");
}

static void test_round_trip(void **state)
{
	struct base_policy p = { .priority = RF_PRIO_LATENCY, .signal = RF_SIGNAL_QUEUE,
				 .lt_us = 250, .ut_us = 900, .window_ms = 20, .min_cores = 2,
				 .max_cores = 3 }, q;
	struct base_err err;
	struct json_object *o = base_policy_json(&p);
	assert_int_equal(base_policy_decode(o, &q, &err), 0);
	json_object_put(o);
	q.given = p.given = 0; /* all given now: compare the settings */
	assert_memory_equal(&p, &q, sizeof(p));
	/* the client sends only what was given */
	p.given = RF_POL_UT;
	o = base_policy_encode(&p);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			    "{\"priority\":\"latency\",\"ut_us\":900}");
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
