/*
 * fuzz_rfm_args.c - libFuzzer target: arbitrary bytes as rfm's command line
 * into rfm_parse_args (src/rfm/args.c, with the argument forms of forms.c).
 *
 * The input is split at NUL bytes into argv[1..] (argv[0] is "rfm"), each
 * argument copied into a buffer of exactly its length plus the NUL, so a
 * read past an argument's end is caught by ASan.  Whatever the words, the
 * parser must not crash and must keep its contract: a usage error has a
 * message and no request; a request it built has a verb and encodes (as
 * rfm would send it: rfd, not rfm, has the last word on its values), and
 * rfm_cmd_free releases everything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rfm/args.h"

#define FUZZ_ARGS_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Split data at NULs into malloc'd strings, argv[0] = "rfm"; the count. */
static int split_args(const uint8_t *data, size_t size, char **argv)
{
	int argc = 0;
	size_t start = 0;

	argv[argc++] = strdup("rfm");
	for (size_t i = 0; i <= size && argc < FUZZ_ARGS_MAX; i++) {
		if (i < size && data[i] != 0)
			continue;
		char *a = malloc(i - start + 1);
		if (!a)
			break;
		memcpy(a, data + start, i - start);
		a[i - start] = '\0';
		argv[argc++] = a;
		start = i + 1;
	}
	argv[argc] = NULL;
	return argc;
}

static void check(int rc, const struct rfm_cmd *cmd)
{
	if (rc != 0 && rc != -1)
		abort();
	if (rc == -1 && (cmd->has_req || cmd->err.msg[0] == '\0'))
		abort();
	if (rc == 0 && cmd->has_req) {
		if (!cmd->verb)
			abort();
		struct json_object *o = base_request_encode(&cmd->req);
		json_object_to_json_string(o);
		json_object_put(o);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[FUZZ_ARGS_MAX + 1];
	struct rfm_cmd cmd;
	int argc = split_args(data, size, argv);

	check(rfm_parse_args(argc, argv, &cmd), &cmd);
	rfm_cmd_free(&cmd);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return 0;
}
