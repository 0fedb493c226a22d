/*
 * main.c - rfm, the management tool of RainForest: parse the command line,
 * send one request to rfd, print the answer (apply, diff and delete send
 * several: deploy_apply.c).
 *
 * Exit status: 0 on success; 1 when rfd refused the request, could not be
 * reached or answered something unreadable; 2 on a usage error.  Errors go
 * to stderr as one line "rfm: ..."; results to stdout, for people or (with
 * --json) as the `result` object exactly as rfd sent it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/client.h"
#include "rfm/args.h"
#include "rfm/deploy.h"
#include "rfm/rfm.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const struct {
	const char *verb;
	int (*print)(struct json_object *res);
} printers[] = {
	{ "create", rfm_print_create }, { "destroy", rfm_print_destroy },
	{ "resize", rfm_print_resize }, { "list", rfm_print_list },
	{ "show", rfm_print_show },     { "info", rfm_print_info },
	{ "log", rfm_print_log },       { "version", rfm_print_version },
	{ "chan list", rfm_print_chan_list }, { "chan create", rfm_print_chan_create },
	{ "chan close", rfm_print_chan_close }, { "policy", rfm_print_policy },
};

static void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* `version --json`: rfm's own version, and rfd's if it was asked. */
static int print_version_json(struct json_object *info)
{
	struct json_object *o = json_object_new_object(), *v;
	json_object_object_add(o, "rfm_version", json_object_new_string(RFM_VERSION));
	json_object_object_add(o, "protocol", json_object_new_int(RF_PROTO_VERSION));
	if (info && json_object_object_get_ex(info, "rfd_version", &v))
		json_object_object_add(o, "rfd_version", json_object_get(v));
	if (info && json_object_object_get_ex(info, "protocol", &v))
		json_object_object_add(o, "rfd_protocol", json_object_get(v));
	print_json(o);
	json_object_put(o);
	return EXIT_OK;
}

static int print_result(const struct rfm_cmd *cmd, struct json_object *res)
{
	if (strcmp(cmd->verb, "version") == 0 && cmd->json)
		return print_version_json(res);
	if (cmd->json) {
		print_json(res);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(printers) / sizeof(printers[0]); i++)
		if (strcmp(printers[i].verb, cmd->verb) == 0)
			return printers[i].print(res);
	return EXIT_FAIL;
}

static void report_io_error(const char *path, int err)
{
	switch (err) {
	case ECONNRESET:
		fprintf(stderr, "rfm: rfd at %s closed the connection without answering\n", path);
		break;
	case EMSGSIZE:
		fprintf(stderr, "rfm: rfd's answer is longer than %d bytes\n", RF_PROTO_MAX_LINE);
		break;
	case E2BIG:
		fprintf(stderr, "rfm: the request is longer than %d bytes (request_too_large)\n",
			RF_PROTO_MAX_LINE);
		break;
	case EBADMSG:
		fprintf(stderr, "rfm: rfd's answer is not a JSON object\n");
		break;
	case EPROTO:
		fprintf(stderr, "rfm: rfd's answer carries the id of another request\n");
		break;
	default:
		fprintf(stderr, "rfm: talking to rfd at %s: %s\n", path, strerror(err));
	}
}

/* Send cmd->req to rfd and print the answer.  Returns the exit status. */
static int run(const struct rfm_cmd *cmd)
{
	struct base_client c;
	int status = EXIT_FAIL;

	if (!cmd->has_req) /* version --client */
		return print_result(cmd, NULL);
	const char *path = base_client_socket_path(cmd->socket);
	int rc = base_client_connect(&c, path);
	if (rc < 0) {
		fprintf(stderr, "rfm: cannot connect to rfd at %s: %s (is rfd running?)\n", path,
			strerror(-rc));
		return EXIT_FAIL;
	}
	struct json_object *ans = base_client_request(&c, &cmd->req, NULL);
	if (!ans) {
		report_io_error(path, errno);
		goto out;
	}
	if (!base_answer_ok(ans)) {
		const char *msg = base_answer_message(ans), *code = base_answer_error(ans);
		fprintf(stderr, "rfm: %s (%s)\n", *msg ? msg : "rfd refused the request",
			*code ? code : "no error code");
		goto out;
	}
	status = print_result(cmd, base_answer_result(ans));
out:
	json_object_put(ans);
	base_client_close(&c);
	return status;
}

int main(int argc, char **argv)
{
	struct rfm_cmd cmd;
	int status;

	if (rfm_parse_args(argc, argv, &cmd) < 0) {
		fprintf(stderr, "rfm: %s\n", cmd.err.msg);
		fprintf(stderr, "Try 'rfm%s%s --help' for more information.\n",
			cmd.verb ? " " : "", cmd.verb ? cmd.verb : "");
		status = EXIT_USAGE;
	} else if (cmd.help) {
		rfm_usage(cmd.verb, stdout);
		status = EXIT_OK;
	} else if (strcmp(cmd.verb, "top") == 0) {
		status = rfm_top(&cmd);
	} else if (cmd.deploy) {
		status = rfm_deploy_run(&cmd);
	} else {
		status = run(&cmd);
	}
	rfm_cmd_free(&cmd);
	if (fflush(stdout) != 0 && status == EXIT_OK) {
		fprintf(stderr, "rfm: writing the output: %s\n", strerror(errno));
		status = EXIT_FAIL;
	}
	return status;
}
