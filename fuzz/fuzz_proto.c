/*
 * fuzz_proto.c - libFuzzer target: arbitrary bytes as one control-protocol
 * request line into base_proto_parse (src/base/proto.c).
 *
 * The bytes are copied into a buffer of exactly their length, with no NUL
 * after them, so that any read past `len` is caught by ASan.  A parse that
 * succeeds must give a request the handlers can use (a name that passes
 * base_name_valid when present, bounded argv/env); its answer is built and
 * serialised too, as rfd would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);
	struct base_request req;
	struct base_err err;

	if (!line)
		return 0;
	memcpy(line, data, size);
	if (base_proto_parse(line, size, &req, &err) == 0) {
		if (req.name && !base_name_valid(req.name))
			abort();
		if (req.argc < 0 || req.argc > RF_ARGV_MAX || req.envc < 0 || req.envc > RF_ARGV_MAX)
			abort();
		struct json_object *ans = base_answer_new_ok(&req, NULL);
		json_object_to_json_string(ans);
		json_object_put(ans);
		base_request_free(&req);
	} else {
		if (!base_errc_name(err.code) || req.root)
			abort();
		struct json_object *ans =
			base_answer_new_err(req.has_id, req.id, err.code, "%s", err.msg);
		json_object_to_json_string(ans);
		json_object_put(ans);
	}
	free(line);
	return 0;
}
