/*
 * args.h - rfm's command line turned into a protocol request.
 *
 * Kept apart from rfm's main and output code so the unit
 * tests can check every verb's request and every usage error without a
 * socket.  Parsing never prints: it fills `rfm_cmd` with a typed request
 * (struct base_request, encoded by base/proto.c when sent) and, on a usage
 * error, a one-line message (without the "rfm: " prefix) naming the bad
 * value.
 *
 * Conventions (docs/rfm.md):
 *   --cores N        a count (JSON integer); rfd picks the cores
 *   --cores 1-3,5    a CPU list (JSON string); anything with '-' or ','
 *   --cores cpu:1    a CPU list of one or more CPUs (also --cpus 1)
 *   --cores +N / -N  (resize only) grow or shrink by N cores
 */
#ifndef RF_RFM_ARGS_H
#define RF_RFM_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/err.h"
#include "base/proto.h"
#include "rf/desc.h"

#define RFM_VERSION "0.1.0"

/*
 * What the command line asks for.  The request borrows its strings from
 * the argv given to rfm_parse_args (which must outlive cmd) and from the
 * storage below, which cmd owns; rfm_cmd_free releases it.
 */
struct rfm_cmd {
	const char *socket;        /* --socket, or NULL for the default */
	bool json;                 /* --json */
	bool client_only;          /* `version --client` or `--version` */
	bool help;                 /* print usage of `verb` (NULL: global) to stdout */
	bool top_once;             /* top --once */
	double top_interval;       /* top --interval SECS, 0 if not given */
	const char *verb;          /* canonical verb, NULL if none was given */
	bool has_req;              /* req is the request to send */
	bool deploy;               /* apply|diff|delete FILE: rfm_deploy_run */
	const char *file;          /* their FILE */
	bool recreate;             /* apply/diff --recreate */
	struct base_request req;
	struct base_err err;         /* usage error (msg without "rfm: "); exit status 2 */
	/* storage the request points into */
	char *prog;                /* PROGRAM made absolute for rfd */
	const char **args;         /* argv of the request: prog, ARGS..., NULL */
	const char **envs;         /* --env values, NULL-terminated */
	const char **caps;         /* --cap values, NULL-terminated */
	const char **binds;        /* --bind values */
	const char **ro_binds;     /* --ro-bind values */
	char *root;                /* --root made absolute */
	char between[2][RF_NAME_MAX + 1];
	bool policy_set, policy_off; /* policy: --priority given; --off */
};

/* Parse argv (argv[0] is the program name).  Returns 0 (a request to send,
 * help to print, or neither for `version --client`), or -1 on a usage
 * error.  Always fills cmd; release it with rfm_cmd_free. */
int rfm_parse_args(int argc, char **argv, struct rfm_cmd *cmd);
void rfm_cmd_free(struct rfm_cmd *cmd);

/* Is `verb` one of rfm's verbs?  (for `rfm help VERB`) */
bool rfm_is_verb(const char *verb);

/*
 * The argument forms on their own.  Each returns 0, or -1 with a message
 * naming the option and the bad value in *err; *out is left alone then.
 */
/* --cores for create (relative=false) or resize (relative=true). */
int rfm_parse_cores(const char *opt, const char *arg, bool relative,
		    struct base_cores_arg *out, struct base_err *err);
/* --cpus and the part after "cpu:": always a CPU list. */
int rfm_parse_cpu_list(const char *opt, const char *arg, struct base_cores_arg *out,
		       struct base_err *err);
/* --mem, --size: a size above zero, in bytes. */
int rfm_parse_mem(const char *opt, const char *arg, uint64_t *out, struct base_err *err);
/* A subOS name as the protocol allows it. */
int rfm_check_name(const char *name, struct base_err *err);
/* The same for a name of `what` ("channel"), for the message. */
int rfm_check_name_of(const char *what, const char *name, struct base_err *err);
/* --between A,B: two subOS names (rfd refuses A == B). */
int rfm_parse_between(const char *opt, const char *arg, char out[2][RF_NAME_MAX + 1],
		      struct base_err *err);
/* --slots N: a positive number (rfd checks the range and that it is a
 * power of two). */
int rfm_parse_slots(const char *opt, const char *arg, uint64_t *out, struct base_err *err);

/* args_policy.c: one option of `policy` (its value, or NULL for --off)
 * into cmd->req.policy, and the check of them all once scanned. */
enum rfm_policy_opt {
	RFM_POL_PRIORITY, RFM_POL_LT, RFM_POL_UT, RFM_POL_WINDOW, RFM_POL_MIN, RFM_POL_MAX,
	RFM_POL_SIGNAL, RFM_POL_OFF, RFM_POL_PROBE,
};
int rfm_policy_arg(struct rfm_cmd *cmd, enum rfm_policy_opt o, const char *val);
const char *rfm_policy_opt_name(enum rfm_policy_opt o); /* "--lt" */
int rfm_policy_check(struct rfm_cmd *cmd);

/* --cap NAME: a capability name (base_cap_parse). */
int rfm_parse_cap(const char *opt, const char *arg, struct base_err *err);
/* --bind / --ro-bind SRC[:DST]: absolute paths (base_bind_parse). */
int rfm_parse_bind(const char *opt, const char *arg, struct base_err *err);
/* PROGRAM as rfd should see it (rfd runs elsewhere): a relative path with
 * a '/' made absolute (its directory canonicalised, its name kept), a bare
 * name left for rfd's $PATH.  A new string, or NULL with err filled. */
char *rfm_resolve_program(const char *prog, struct base_err *err);
/* --root DIR: an existing directory, made absolute (a new string the
 * caller frees), or NULL with err filled. */
char *rfm_resolve_dir(const char *opt, const char *arg, struct base_err *err);

#endif
