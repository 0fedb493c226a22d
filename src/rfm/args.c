/*
 * args.c - rfm's command line turned into a protocol request.
 *
 * `rfm [global options] VERB [verb options and arguments]`.  A small option
 * scanner of our own (not getopt: its global state and argument permutation
 * get in the way of `create NAME -- PROGRAM ARGS`, where everything after
 * the program belongs to the program, and of testing), then one function
 * per verb that checks its arguments and builds the request object.
 * The argument forms (cores, sizes, names) are in forms.c.
 */
#define _GNU_SOURCE
#include "rfm/args.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum opt_id {
	O_HELP = 1, O_JSON, O_SOCKET, O_VERSION, O_KIND, O_CORES, O_CPUS, O_MEM, O_ENV,
	O_CLIENT, O_BETWEEN, O_SLOTS, O_SIZE,
};

struct opt {
	const char *name; /* long name, without "--" */
	char shrt;        /* short letter, or 0 */
	bool value;       /* takes a value */
	enum opt_id id;
};

#define COMMON_OPTS {"help", 'h', false, O_HELP}, {"json", 0, false, O_JSON}, \
		    {"socket", 0, true, O_SOCKET}

enum scan_kind { SCAN_END, SCAN_OPT, SCAN_ARG, SCAN_ERR };

struct scan {
	int argc;
	char **argv;
	int i;               /* next argument to look at */
	bool dashdash;       /* "--" seen: the rest are arguments */
	struct rfm_cmd *cmd;
	enum opt_id id;      /* SCAN_OPT: which option */
	const char *val;     /* SCAN_OPT: its value; SCAN_ARG: the argument */
};

static void set_err(struct rfm_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_err(struct rfm_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd->err, sizeof(cmd->err), fmt, ap);
	va_end(ap);
}

static const struct opt *find_long(const struct opt *opts, const char *name, size_t len)
{
	for (; opts->name; opts++)
		if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
			return opts;
	return NULL;
}

static const struct opt *find_short(const struct opt *opts, char c)
{
	for (; opts->name; opts++)
		if (opts->shrt && opts->shrt == c)
			return opts;
	return NULL;
}

/* The option at argv[i] (already known to start with '-'). */
static enum scan_kind scan_option(struct scan *s, const struct opt *opts)
{
	const char *a = s->argv[s->i++];
	const char *eq = NULL;
	const struct opt *o;

	if (a[1] == '-') {
		eq = strchr(a + 2, '=');
		o = find_long(opts, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
	} else {
		o = a[2] == '\0' ? find_short(opts, a[1]) : NULL;
	}
	if (!o) {
		set_err(s->cmd, "unknown option \"%.*s\"", eq ? (int)(eq - a) : (int)strlen(a), a);
		return SCAN_ERR;
	}
	s->id = o->id;
	s->val = NULL;
	if (!o->value) {
		if (eq) {
			set_err(s->cmd, "--%s takes no value", o->name);
			return SCAN_ERR;
		}
		return SCAN_OPT;
	}
	if (eq) {
		s->val = eq + 1;
	} else if (s->i < s->argc) {
		s->val = s->argv[s->i++];
	} else {
		set_err(s->cmd, "--%s needs a value", o->name);
		return SCAN_ERR;
	}
	return SCAN_OPT;
}

static enum scan_kind scan_next(struct scan *s, const struct opt *opts)
{
	if (s->i >= s->argc)
		return SCAN_END;
	const char *a = s->argv[s->i];
	if (!s->dashdash && strcmp(a, "--") == 0) {
		s->dashdash = true;
		s->i++;
		return scan_next(s, opts);
	}
	if (s->dashdash || a[0] != '-' || a[1] == '\0') {
		s->val = a;
		s->i++;
		return SCAN_ARG;
	}
	return scan_option(s, opts);
}

/* What an option handler did with the option. */
enum opt_result { OPT_DONE, OPT_UNHANDLED, OPT_HELP, OPT_ERR };

static enum opt_result done_if(int rc)
{
	return rc < 0 ? OPT_ERR : OPT_DONE;
}

/* The options every verb accepts. */
static enum opt_result common_option(struct scan *s)
{
	switch (s->id) {
	case O_JSON:
		s->cmd->json = true;
		return OPT_DONE;
	case O_SOCKET:
		s->cmd->socket = s->val;
		return OPT_DONE;
	case O_HELP:
		return OPT_HELP;
	default:
		return OPT_UNHANDLED;
	}
}

static enum rfm_parse parse_result(enum opt_result r)
{
	return r == OPT_HELP ? RFM_PARSE_HELP : RFM_PARSE_USAGE;
}

/* Add key to the request, refusing a second value for the same option. */
static int put_once(struct rfm_cmd *cmd, const char *key, const char *opt,
		    struct json_object *val)
{
	if (json_object_object_get_ex(cmd->req, key, NULL)) {
		json_object_put(val);
		set_err(cmd, "%s given twice", opt);
		return -1;
	}
	json_object_object_add(cmd->req, key, val);
	return 0;
}

static int put_name(struct rfm_cmd *cmd, const char *name)
{
	const char *what = strncmp(cmd->verb, "chan ", 5) == 0 ? "channel" : "subOS";
	if (rfm_check_name_of(what, name, cmd->err, sizeof(cmd->err)) < 0)
		return -1;
	json_object_object_add(cmd->req, "name", json_object_new_string(name));
	return 0;
}

static struct json_object *new_request(const char *verb)
{
	struct json_object *req = json_object_new_object();
	json_object_object_add(req, "verb", json_object_new_string(verb));
	return req;
}

/*
 * argv[0] as rfd should see it: rfd has another working directory, so a
 * relative path with a '/' becomes absolute.  Only the directory is
 * canonicalised: the file keeps its own name, because multi-call programs
 * (busybox) look at the name they were started by.  A bare name is left
 * for rfd to find in its $PATH.
 */
static char *resolve_program(struct rfm_cmd *cmd, const char *prog)
{
	char dir[PATH_MAX], real[PATH_MAX], *out = NULL;
	struct stat st;

	if (prog[0] == '\0') {
		set_err(cmd, "the program name is empty");
		return NULL;
	}
	if (prog[0] == '/' || !strchr(prog, '/'))
		return strdup(prog);
	const char *base = strrchr(prog, '/') + 1;
	if (*base == '\0') {
		errno = EISDIR;
		goto bad;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - prog), prog);
	if (!realpath(dir, real))
		goto bad;
	if (asprintf(&out, "%s/%s", strcmp(real, "/") ? real : "", base) < 0) {
		out = NULL;
		goto bad;
	}
	if (stat(out, &st) < 0)
		goto bad_free;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto bad_free;
	}
	return out;
bad_free:
	free(out); /* free() keeps errno (POSIX 2024, glibc) */
bad:
	set_err(cmd, "program \"%s\": %s", prog, strerror(errno));
	return NULL;
}

/* PROGRAM ARGS... from argv[first] to the end. */
static int put_program(struct rfm_cmd *cmd, int argc, char **argv, int first)
{
	char *prog = resolve_program(cmd, argv[first]);
	if (!prog)
		return -1;
	struct json_object *arr = json_object_new_array();
	json_object_array_add(arr, json_object_new_string(prog));
	free(prog);
	for (int i = first + 1; i < argc; i++)
		json_object_array_add(arr, json_object_new_string(argv[i]));
	json_object_object_add(cmd->req, "argv", arr);
	return 0;
}

static int put_kind(struct rfm_cmd *cmd, const char *kind)
{
	if (strcmp(kind, "libos") != 0 && strcmp(kind, "linux") != 0) {
		set_err(cmd, "--kind: \"%s\" is not a kind (libos or linux)", kind);
		return -1;
	}
	return put_once(cmd, "kind", "--kind", json_object_new_string(kind));
}

static int add_env(struct rfm_cmd *cmd, const char *kv)
{
	struct json_object *env;
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv) {
		set_err(cmd, "--env: \"%s\" is not KEY=VALUE", kv);
		return -1;
	}
	if (!json_object_object_get_ex(cmd->req, "env", &env)) {
		env = json_object_new_array();
		json_object_object_add(cmd->req, "env", env);
	}
	json_object_array_add(env, json_object_new_string(kv));
	return 0;
}

/* --cores, --cpus, --mem for create and resize. */
static enum opt_result resource_option(struct scan *s, bool relative)
{
	struct rfm_cmd *cmd = s->cmd;
	struct json_object *v = NULL;
	char *err = cmd->err;
	size_t n = sizeof(cmd->err);

	switch (s->id) {
	case O_CORES:
		if (rfm_parse_cores("--cores", s->val, relative, &v, err, n) < 0)
			return OPT_ERR;
		return done_if(put_once(cmd, "cores", "--cores/--cpus", v));
	case O_CPUS:
		if (rfm_parse_cpu_list("--cpus", s->val, &v, err, n) < 0)
			return OPT_ERR;
		return done_if(put_once(cmd, "cores", "--cores/--cpus", v));
	case O_MEM:
		if (rfm_parse_mem("--mem", s->val, &v, err, n) < 0)
			return OPT_ERR;
		return done_if(put_once(cmd, "mem", "--mem", v));
	default:
		return OPT_UNHANDLED;
	}
}

static const struct opt create_opts[] = {
	COMMON_OPTS, {"kind", 0, true, O_KIND}, {"cores", 0, true, O_CORES},
	{"cpus", 0, true, O_CPUS}, {"mem", 0, true, O_MEM}, {"env", 0, true, O_ENV}, {0},
};

static enum opt_result create_option(struct scan *s)
{
	enum opt_result r = common_option(s);
	if (r != OPT_UNHANDLED)
		return r;
	if (s->id == O_KIND)
		return done_if(put_kind(s->cmd, s->val));
	if (s->id == O_ENV)
		return done_if(add_env(s->cmd, s->val));
	return resource_option(s, false);
}

static int create_check(struct rfm_cmd *cmd, bool named, bool program)
{
	static const char *const need[] = { "kind", "cores", "mem" };
	if (!named) {
		set_err(cmd, "create: missing NAME");
		return -1;
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!json_object_object_get_ex(cmd->req, need[i], NULL)) {
			set_err(cmd, "create: --%s is required", need[i]);
			return -1;
		}
	}
	if (!program) {
		set_err(cmd, "create: missing PROGRAM (after the options, or after --)");
		return -1;
	}
	return 0;
}

static enum rfm_parse parse_create(struct scan *s)
{
	bool named = false, program = false;
	enum scan_kind k;
	enum opt_result r;

	while (!program && (k = scan_next(s, create_opts)) != SCAN_END) {
		if (k == SCAN_ERR)
			return RFM_PARSE_USAGE;
		if (k == SCAN_OPT) {
			if ((r = create_option(s)) != OPT_DONE)
				return parse_result(r);
		} else if (!named) {
			if (put_name(s->cmd, s->val) < 0)
				return RFM_PARSE_USAGE;
			named = true;
		} else {
			if (put_program(s->cmd, s->argc, s->argv, s->i - 1) < 0)
				return RFM_PARSE_USAGE;
			program = true;
		}
	}
	return create_check(s->cmd, named, program) < 0 ? RFM_PARSE_USAGE : RFM_PARSE_OK;
}

static const struct opt resize_opts[] = {
	COMMON_OPTS, {"cores", 0, true, O_CORES}, {"cpus", 0, true, O_CPUS},
	{"mem", 0, true, O_MEM}, {0},
};

static const struct opt plain_opts[] = { COMMON_OPTS, {0} };

static const struct opt chan_create_opts[] = {
	COMMON_OPTS, {"between", 0, true, O_BETWEEN}, {"kind", 0, true, O_KIND},
	{"slots", 0, true, O_SLOTS}, {"size", 0, true, O_SIZE}, {0},
};

static const struct opt version_opts[] = { COMMON_OPTS, {"client", 0, false, O_CLIENT}, {0} };

/*
 * The verbs other than create: options, then `nargs_min`..`nargs_max`
 * positional arguments (only ever a NAME).  `chan` takes a subcommand:
 * "chan create" is a verb of its own here.  `req` is the protocol verb
 * when it is not the name.
 */
struct verb {
	const char *name;
	const struct opt *opts;
	int nargs_min, nargs_max;
	const char *req;
};

static const struct verb verbs[] = {
	{ "create",  create_opts,  1, 1, NULL },
	{ "destroy", plain_opts,   1, 1, NULL },
	{ "resize",  resize_opts,  1, 1, NULL },
	{ "list",    plain_opts,   0, 0, NULL },
	{ "show",    plain_opts,   1, 1, NULL },
	{ "info",    plain_opts,   0, 0, NULL },
	{ "log",     plain_opts,   0, 1, NULL },
	{ "version", version_opts, 0, 0, NULL },
	{ "chan",    plain_opts,   0, 0, NULL },  /* for help only: needs a subcommand */
	{ "chan list",   plain_opts,       0, 0, "chan_list" },
	{ "chan create", chan_create_opts, 1, 1, "chan_create" },
	{ "chan close",  plain_opts,       1, 1, "chan_close" },
};

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

bool rfm_is_verb(const char *verb)
{
	return verb && find_verb(verb) != NULL;
}

/* chan create's options. */
static enum opt_result chan_option(struct scan *s)
{
	struct rfm_cmd *cmd = s->cmd;
	struct json_object *v = NULL;
	switch (s->id) {
	case O_BETWEEN:
		if (rfm_parse_between("--between", s->val, &v, cmd->err, sizeof(cmd->err)) < 0)
			return OPT_ERR;
		return done_if(put_once(cmd, "between", "--between", v));
	case O_KIND:
		if (strcmp(s->val, "msg") != 0 && strcmp(s->val, "map") != 0) {
			set_err(cmd, "--kind: \"%s\" is not a channel kind (msg or map)", s->val);
			return OPT_ERR;
		}
		return done_if(put_once(cmd, "kind", "--kind", json_object_new_string(s->val)));
	case O_SLOTS:
		if (rfm_parse_slots("--slots", s->val, &v, cmd->err, sizeof(cmd->err)) < 0)
			return OPT_ERR;
		return done_if(put_once(cmd, "slots", "--slots", v));
	case O_SIZE:
		if (rfm_parse_mem("--size", s->val, &v, cmd->err, sizeof(cmd->err)) < 0)
			return OPT_ERR;
		return done_if(put_once(cmd, "size", "--size", v));
	default:
		return OPT_UNHANDLED;
	}
}

/* A verb option that is not common: resize's resources, version's --client,
 * chan create's channel. */
static enum opt_result verb_option(struct scan *s)
{
	enum opt_result r = common_option(s);
	if (r != OPT_UNHANDLED)
		return r;
	if (s->id == O_CLIENT) {
		s->cmd->client_only = true;
		return OPT_DONE;
	}
	if ((r = chan_option(s)) != OPT_UNHANDLED)
		return r;
	return resource_option(s, true);
}

static int check_nargs(struct rfm_cmd *cmd, const struct verb *v, int nargs)
{
	if (nargs < v->nargs_min) {
		set_err(cmd, "%s: missing NAME", v->name);
		return -1;
	}
	if (strcmp(v->name, "chan create") == 0 &&
	    !json_object_object_get_ex(cmd->req, "between", NULL)) {
		set_err(cmd, "chan create: --between A,B is required");
		return -1;
	}
	if (strcmp(v->name, "resize") == 0 && !json_object_object_get_ex(cmd->req, "cores", NULL) &&
	    !json_object_object_get_ex(cmd->req, "mem", NULL)) {
		set_err(cmd, "resize: give --cores, --cpus or --mem");
		return -1;
	}
	return 0;
}

static enum rfm_parse parse_simple(struct scan *s, const struct verb *v)
{
	enum scan_kind k;
	enum opt_result r;
	int nargs = 0;

	while ((k = scan_next(s, v->opts)) != SCAN_END) {
		if (k == SCAN_ERR)
			return RFM_PARSE_USAGE;
		if (k == SCAN_OPT) {
			if ((r = verb_option(s)) != OPT_DONE)
				return parse_result(r);
			continue;
		}
		if (nargs >= v->nargs_max) {
			set_err(s->cmd, "%s: unexpected argument \"%s\"", v->name, s->val);
			return RFM_PARSE_USAGE;
		}
		if (put_name(s->cmd, s->val) < 0)
			return RFM_PARSE_USAGE;
		nargs++;
	}
	return check_nargs(s->cmd, v, nargs) < 0 ? RFM_PARSE_USAGE : RFM_PARSE_OK;
}

static const struct opt global_opts[] = {
	COMMON_OPTS, {"version", 0, false, O_VERSION}, {0},
};

/* `rfm help [VERB]` */
static enum rfm_parse parse_help(struct scan *s)
{
	if (s->i >= s->argc)
		return RFM_PARSE_HELP;
	const struct verb *v = find_verb(s->argv[s->i]);
	if (v && s->i + 2 == s->argc && strcmp(v->name, "chan") == 0) { /* help chan create */
		char both[64];
		snprintf(both, sizeof(both), "chan %s", s->argv[s->i + 1]);
		const struct verb *sub = find_verb(both);
		if (sub) {
			s->cmd->verb = sub->name;
			return RFM_PARSE_HELP;
		}
	}
	if (!v || s->i + 1 < s->argc) {
		set_err(s->cmd, v ? "help: give one verb" : "help: unknown verb \"%s\"",
			s->argv[s->i]);
		return RFM_PARSE_USAGE;
	}
	s->cmd->verb = v->name;
	return RFM_PARSE_HELP;
}

/* `chan SUBCOMMAND`: the verb "chan SUBCOMMAND", or NULL for help
 * (`rfm chan`, `rfm chan --help`) or a usage error (cmd->err set). */
static const struct verb *parse_chan_sub(struct scan *s)
{
	char both[64];
	s->cmd->verb = "chan";
	if (s->i >= s->argc || strcmp(s->argv[s->i], "-h") == 0 ||
	    strcmp(s->argv[s->i], "--help") == 0) {
		if (s->i >= s->argc)
			set_err(s->cmd, "chan: missing list, create or close");
		return NULL;
	}
	const char *sub = s->argv[s->i++];
	snprintf(both, sizeof(both), "chan %s", sub);
	const struct verb *v = strcmp(sub, "chan") ? find_verb(both) : NULL;
	if (!v)
		set_err(s->cmd, "chan: unknown subcommand \"%s\" (list, create or close)", sub);
	return v;
}

/* The verb and the options before it. */
static enum rfm_parse parse_verb(struct scan *s)
{
	enum scan_kind k;

	while ((k = scan_next(s, global_opts)) == SCAN_OPT) {
		if (s->id == O_VERSION) {
			s->cmd->verb = "version";
			s->cmd->client_only = true;
			return RFM_PARSE_OK;
		}
		if (common_option(s) == OPT_HELP)
			return RFM_PARSE_HELP;
	}
	if (k == SCAN_ERR)
		return RFM_PARSE_USAGE;
	if (k == SCAN_END) {
		set_err(s->cmd, "missing verb");
		return RFM_PARSE_USAGE;
	}
	if (strcmp(s->val, "help") == 0)
		return parse_help(s);
	const struct verb *v = find_verb(s->val);
	if (!v) {
		set_err(s->cmd, "unknown verb \"%s\"", s->val);
		return RFM_PARSE_USAGE;
	}
	if (strcmp(v->name, "chan") == 0 && !(v = parse_chan_sub(s)))
		return s->cmd->err[0] ? RFM_PARSE_USAGE : RFM_PARSE_HELP;
	s->cmd->verb = v->name;
	s->cmd->req = new_request(v->req ? v->req : v->name);
	s->dashdash = false;
	return v->opts == create_opts ? parse_create(s) : parse_simple(s, v);
}

enum rfm_parse rfm_parse_args(int argc, char **argv, struct rfm_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	struct scan s = { .argc = argc, .argv = argv, .i = 1, .cmd = cmd };
	enum rfm_parse r = parse_verb(&s);
	if (r == RFM_PARSE_OK && cmd->verb && strcmp(cmd->verb, "version") == 0) {
		/* the version verb asks rfd for `info` unless --client */
		json_object_put(cmd->req);
		cmd->req = cmd->client_only ? NULL : new_request("info");
	}
	if (r != RFM_PARSE_OK) {
		json_object_put(cmd->req);
		cmd->req = NULL;
	}
	return r;
}

void rfm_cmd_free(struct rfm_cmd *cmd)
{
	json_object_put(cmd->req);
	cmd->req = NULL;
}
