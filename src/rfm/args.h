/*
 * args.h - rfm's command line turned into a protocol request.
 *
 * Kept apart from rfm's main and output code so the unit
 * tests can check every verb's request and every usage error without a
 * socket.  Parsing never prints: it fills `rfm_cmd` and, on a usage error,
 * a one-line message (without the "rfm: " prefix) naming the bad value.
 *
 * Conventions (docs/rfm.md):
 *   --cores N        a count (JSON integer); rfd picks the cores
 *   --cores 1-3,5    a CPU list (JSON string); anything with '-' or ','
 *   --cores cpu:1    a CPU list of one or more CPUs (also --cpus 1)
 *   --cores +N / -N  (resize only) grow or shrink by N cores
 */
#ifndef RF_RFM_ARGS_H
#define RF_RFM_ARGS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define RFM_VERSION "0.1.0"

enum rfm_parse {
	RFM_PARSE_OK = 0,   /* cmd->req is the request to send (NULL: none) */
	RFM_PARSE_HELP = 1, /* print usage of cmd->verb (NULL: global) to stdout */
	RFM_PARSE_USAGE = 2 /* cmd->err says what is wrong; exit status 2 */
};

struct rfm_cmd {
	const char *socket;        /* --socket, or NULL for the default */
	bool json;                 /* --json */
	bool client_only;          /* `version --client` or `--version` */
	const char *verb;          /* canonical verb, NULL if none was given */
	struct json_object *req;   /* the request, owned by cmd */
	char err[512];             /* usage error, without "rfm: " */
};

/* Parse argv (argv[0] is the program name).  Always fills cmd; release it
 * with rfm_cmd_free whatever the result. */
enum rfm_parse rfm_parse_args(int argc, char **argv, struct rfm_cmd *cmd);
void rfm_cmd_free(struct rfm_cmd *cmd);

/* Is `verb` one of rfm's verbs?  (for `rfm help VERB`) */
bool rfm_is_verb(const char *verb);

/*
 * The argument forms on their own.  Each returns 0, or -1 with a message
 * naming the option and the bad value in err.
 */
/* --cores for create (relative=false) or resize (relative=true); stores a
 * new json integer or string in *out. */
int rfm_parse_cores(const char *opt, const char *arg, bool relative,
		    struct json_object **out, char *err, size_t errlen);
/* --cpus and the part after "cpu:": always a CPU list, as a json string. */
int rfm_parse_cpu_list(const char *opt, const char *arg, struct json_object **out,
		       char *err, size_t errlen);
/* --mem: a size above zero, as a json integer of bytes. */
int rfm_parse_mem(const char *opt, const char *arg, struct json_object **out,
		  char *err, size_t errlen);
/* A subOS name as the protocol allows it. */
int rfm_check_name(const char *name, char *err, size_t errlen);
/* The same for a name of `what` ("channel"), for the message. */
int rfm_check_name_of(const char *what, const char *name, char *err, size_t errlen);
/* --between A,B: two subOS names, as a json array (rfd refuses A == B). */
int rfm_parse_between(const char *opt, const char *arg, struct json_object **out,
		      char *err, size_t errlen);
/* --slots N: a positive number, as a json integer (rfd checks the range
 * and that it is a power of two). */
int rfm_parse_slots(const char *opt, const char *arg, struct json_object **out,
		    char *err, size_t errlen);

#endif
