/*
 * args.c - rfm's command line turned into a protocol request.
 *
 * `rfm [global options] VERB [verb options and arguments]`.  A small option
 * scanner of our own (not getopt: its global state and argument permutation
 * get in the way of `create NAME -- PROGRAM ARGS`, where everything after
 * the program belongs to the program, and of testing), then one function
 * per verb that checks its arguments and fills the typed request
 * (struct base_request; base/proto.c encodes it when rfm sends it).  The
 * argument forms (cores, sizes, names) are in forms.c.
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
	O_CLIENT, O_BETWEEN, O_SLOTS, O_SIZE, O_CAP, O_ROOT, O_BIND, O_RO_BIND, O_RESTART,
	O_MAX_RESTARTS, O_ONCE, O_INTERVAL, O_RECREATE,
	/* policy's, in the order of enum rfm_policy_opt (args_policy.c) */
	O_PRIORITY, O_LT, O_UT, O_WINDOW, O_MIN_CORES, O_MAX_CORES, O_SIGNAL, O_OFF, O_PROBE,
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
	unsigned given;      /* options seen, by bit (1u << opt_id) */
	struct rfm_cmd *cmd;
	enum opt_id id;      /* SCAN_OPT: which option */
	const char *val;     /* SCAN_OPT: its value; SCAN_ARG: the argument */
};

static void set_err(struct rfm_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_err(struct rfm_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	cmd->err.code = BASE_E_BAD_REQUEST;
	va_start(ap, fmt);
	vsnprintf(cmd->err.msg, sizeof(cmd->err.msg), fmt, ap);
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

/* Help is not an error: the verb's usage goes to stdout. */
static int parse_result(struct scan *s, enum opt_result r)
{
	s->cmd->help = r == OPT_HELP;
	return r == OPT_HELP ? 0 : -1;
}

/* Refuse a second value for the same option (`group`: the option id that
 * stands for it, O_CORES for --cores and --cpus alike). */
static int once(struct scan *s, enum opt_id group, const char *opt)
{
	if (s->given & (1u << group)) {
		set_err(s->cmd, "%s given twice", opt);
		return -1;
	}
	s->given |= 1u << group;
	return 0;
}

static int put_name(struct rfm_cmd *cmd, const char *name)
{
	const char *what = strncmp(cmd->verb, "chan ", 5) == 0 ? "channel" : "subOS";
	if (rfm_check_name_of(what, name, &cmd->err) < 0)
		return -1;
	cmd->req.name = name;
	return 0;
}

/* PROGRAM ARGS... from argv[first] to the end: the request's argv, in a
 * vector cmd owns (argv[first] itself is replaced by the resolved path). */
static int put_program(struct rfm_cmd *cmd, int argc, char **argv, int first)
{
	int n = argc - first;
	if (!(cmd->prog = rfm_resolve_program(argv[first], &cmd->err)))
		return -1;
	if (!(cmd->args = calloc((size_t)n + 1, sizeof(*cmd->args)))) {
		set_err(cmd, "out of memory");
		return -1;
	}
	cmd->args[0] = cmd->prog;
	for (int i = 1; i < n; i++)
		cmd->args[i] = argv[first + i];
	cmd->req.argv = cmd->args;
	cmd->req.argc = n;
	return 0;
}

static int put_kind(struct scan *s, const char *kind)
{
	enum base_kind k;
	if (base_kind_parse(kind, &k) < 0) {
		set_err(s->cmd, "--kind: \"%s\" is not a kind (libos or linux)", kind);
		return -1;
	}
	if (once(s, O_KIND, "--kind") < 0)
		return -1;
	s->cmd->req.kind = k;
	return 0;
}

/* One more value of a repeatable option, into a vector with room for
 * every argument (so it never grows). */
static int add_str(struct scan *s, const char ***vec, int *n, const char *val)
{
	if (!*vec && !(*vec = calloc((size_t)s->argc + 1, sizeof(**vec)))) {
		set_err(s->cmd, "out of memory");
		return -1;
	}
	(*vec)[(*n)++] = val;
	return 0;
}

/* --env KEY=VALUE */
static int add_env(struct scan *s, const char *kv)
{
	struct rfm_cmd *cmd = s->cmd;
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv) {
		set_err(cmd, "--env: \"%s\" is not KEY=VALUE", kv);
		return -1;
	}
	if (add_str(s, &cmd->envs, &cmd->req.envc, kv) < 0)
		return -1;
	cmd->req.env = cmd->envs;
	return 0;
}

/* --cap, --root, --bind, --ro-bind: checked here so a typo never reaches
 * rfd (which checks again); --root is made absolute, as PROGRAM is. */
static enum opt_result confine_option(struct scan *s)
{
	struct rfm_cmd *cmd = s->cmd;
	struct base_request *req = &cmd->req;
	switch (s->id) {
	case O_CAP:
		if (rfm_parse_cap("--cap", s->val, &cmd->err) < 0 ||
		    add_str(s, &cmd->caps, &req->ncaps, s->val) < 0)
			return OPT_ERR;
		req->caps = cmd->caps;
		return OPT_DONE;
	case O_BIND:
	case O_RO_BIND: {
		bool ro = s->id == O_RO_BIND;
		const char ***vec = ro ? &cmd->ro_binds : &cmd->binds;
		if (rfm_parse_bind(ro ? "--ro-bind" : "--bind", s->val, &cmd->err) < 0 ||
		    add_str(s, vec, ro ? &req->nro_binds : &req->nbinds, s->val) < 0)
			return OPT_ERR;
		req->binds = cmd->binds;
		req->ro_binds = cmd->ro_binds;
		return OPT_DONE;
	}
	case O_ROOT:
		if (once(s, O_ROOT, "--root") < 0 ||
		    !(cmd->root = rfm_resolve_dir("--root", s->val, &cmd->err)))
			return OPT_ERR;
		req->fs_root = cmd->root;
		return OPT_DONE;
	default:
		return OPT_UNHANDLED;
	}
}

/* --cores, --cpus, --mem for create and resize. */
static enum opt_result resource_option(struct scan *s, bool relative)
{
	struct base_request *req = &s->cmd->req;
	struct base_err *err = &s->cmd->err;
	struct base_cores_arg c;
	uint64_t mem;

	switch (s->id) {
	case O_CORES:
	case O_CPUS:
		if ((s->id == O_CORES ? rfm_parse_cores("--cores", s->val, relative, &c, err)
				      : rfm_parse_cpu_list("--cpus", s->val, &c, err)) < 0 ||
		    once(s, O_CORES, "--cores/--cpus") < 0)
			return OPT_ERR;
		req->cores = c;
		return OPT_DONE;
	case O_MEM:
		if (rfm_parse_mem("--mem", s->val, &mem, err) < 0 || once(s, O_MEM, "--mem") < 0)
			return OPT_ERR;
		req->has_mem = true;
		req->mem = mem;
		return OPT_DONE;
	default:
		return OPT_UNHANDLED;
	}
}

static const struct opt create_opts[] = {
	COMMON_OPTS, {"kind", 0, true, O_KIND}, {"cores", 0, true, O_CORES},
	{"cpus", 0, true, O_CPUS}, {"mem", 0, true, O_MEM}, {"env", 0, true, O_ENV},
	{"cap", 0, true, O_CAP}, {"root", 0, true, O_ROOT}, {"bind", 0, true, O_BIND},
	{"ro-bind", 0, true, O_RO_BIND},
	{"restart", 0, true, O_RESTART}, {"max-restarts", 0, true, O_MAX_RESTARTS}, {0},
};

/* --restart POLICY and --max-restarts N (a count; only with a policy,
 * which create_check verifies once every option is read). */
static int put_restart(struct scan *s)
{
	struct base_request *req = &s->cmd->req;
	char *end;
	if (s->id == O_RESTART) {
		if (base_restart_parse(s->val, &req->restart) < 0) {
			set_err(s->cmd, "--restart: \"%s\" is not no, on-failure or always",
				s->val);
			return -1;
		}
		return once(s, O_RESTART, "--restart");
	}
	long n = strtol(s->val, &end, 10);
	if (!*s->val || *end || n < 0 || n > INT32_MAX) {
		set_err(s->cmd, "--max-restarts: \"%s\" is not a count (0 or more)", s->val);
		return -1;
	}
	req->max_restarts = n;
	return once(s, O_MAX_RESTARTS, "--max-restarts");
}

static enum opt_result create_option(struct scan *s)
{
	enum opt_result r = common_option(s);
	if (r != OPT_UNHANDLED)
		return r;
	if (s->id == O_KIND)
		return done_if(put_kind(s, s->val));
	if (s->id == O_ENV)
		return done_if(add_env(s, s->val));
	if ((r = confine_option(s)) != OPT_UNHANDLED)
		return r;
	if (s->id == O_RESTART || s->id == O_MAX_RESTARTS)
		return done_if(put_restart(s));
	return resource_option(s, false);
}

static int create_check(struct scan *s, bool named, bool program)
{
	static const struct { enum opt_id id; const char *name; } need[] = {
		{ O_KIND, "kind" }, { O_CORES, "cores" }, { O_MEM, "mem" },
	};
	struct rfm_cmd *cmd = s->cmd;
	if (!named) {
		set_err(cmd, "create: missing NAME");
		return -1;
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!(s->given & (1u << need[i].id))) {
			set_err(cmd, "create: --%s is required", need[i].name);
			return -1;
		}
	}
	if (!program) {
		set_err(cmd, "create: missing PROGRAM (after the options, or after --)");
		return -1;
	}
	if ((s->given & (1u << O_MAX_RESTARTS)) && cmd->req.restart == RF_RESTART_NO) {
		set_err(cmd, "create: --max-restarts needs --restart on-failure or always");
		return -1;
	}
	return 0;
}

static int parse_create(struct scan *s)
{
	bool named = false, program = false;
	enum scan_kind k;
	enum opt_result r;

	while (!program && (k = scan_next(s, create_opts)) != SCAN_END) {
		if (k == SCAN_ERR)
			return -1;
		if (k == SCAN_OPT) {
			if ((r = create_option(s)) != OPT_DONE)
				return parse_result(s, r);
		} else if (!named) {
			if (put_name(s->cmd, s->val) < 0)
				return -1;
			named = true;
		} else {
			if (put_program(s->cmd, s->argc, s->argv, s->i - 1) < 0)
				return -1;
			program = true;
		}
	}
	if (create_check(s, named, program) < 0)
		return -1;
	s->cmd->has_req = true;
	return 0;
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

static const struct opt policy_opts[] = {
	COMMON_OPTS, {"priority", 0, true, O_PRIORITY}, {"lt", 0, true, O_LT},
	{"ut", 0, true, O_UT}, {"window", 0, true, O_WINDOW}, {"min-cores", 0, true, O_MIN_CORES},
	{"max-cores", 0, true, O_MAX_CORES}, {"signal", 0, true, O_SIGNAL},
	{"off", 0, false, O_OFF}, {"probe", 0, true, O_PROBE}, {0},
};

static const struct opt top_opts[] = {
	COMMON_OPTS, {"once", 0, false, O_ONCE}, {"interval", 0, true, O_INTERVAL}, {0},
};
/* apply, diff, delete: several requests, no one answer to print as JSON. */
static const struct opt deploy_opts[] = {
	{"help", 'h', false, O_HELP}, {"socket", 0, true, O_SOCKET},
	{"recreate", 0, false, O_RECREATE}, {0},
};
static const struct opt delete_opts[] = {
	{"help", 'h', false, O_HELP}, {"socket", 0, true, O_SOCKET}, {0},
};

/*
 * The verbs other than create: options, then `nargs_min`..`nargs_max`
 * positional arguments (only ever a NAME).  `chan` takes a subcommand:
 * "chan create" is a verb of its own here.  `req` is the protocol verb it
 * sends (`version` asks rfd for `info`, unless --client).
 */
struct verb {
	const char *name;
	const struct opt *opts;
	int nargs_min, nargs_max;
	enum base_verb req;
};

static const struct verb verbs[] = {
	{ "create",  create_opts,  1, 1, RF_VERB_CREATE },
	{ "destroy", plain_opts,   1, 1, RF_VERB_DESTROY },
	{ "resize",  resize_opts,  1, 1, RF_VERB_RESIZE },
	{ "list",    plain_opts,   0, 0, RF_VERB_LIST },
	{ "show",    plain_opts,   1, 1, RF_VERB_SHOW },
	{ "info",    plain_opts,   0, 0, RF_VERB_INFO },
	{ "log",     plain_opts,   0, 1, RF_VERB_LOG },
	{ "version", version_opts, 0, 0, RF_VERB_INFO },
	{ "top",     top_opts,     0, 0, RF_VERB_STATS },
	{ "policy",  policy_opts,  1, 1, RF_VERB_POLICY },
	{ "chan",    plain_opts,   0, 0, RF_VERB_CHAN_LIST }, /* help only: needs a subcommand */
	{ "chan list",   plain_opts,       0, 0, RF_VERB_CHAN_LIST },
	{ "chan create", chan_create_opts, 1, 1, RF_VERB_CHAN_CREATE },
	{ "chan close",  plain_opts,       1, 1, RF_VERB_CHAN_CLOSE },
	/* run by rfm itself (deploy_apply.c): `req` is unused */
	{ "apply",   deploy_opts,  1, 1, RF_VERB_INFO },
	{ "diff",    deploy_opts,  1, 1, RF_VERB_INFO },
	{ "delete",  delete_opts,  1, 1, RF_VERB_INFO },
};

static bool is_deploy(const struct verb *v)
{
	return v->opts == deploy_opts || v->opts == delete_opts;
}

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

static int put_between(struct scan *s)
{
	struct rfm_cmd *cmd = s->cmd;
	char two[2][RF_NAME_MAX + 1];
	if (rfm_parse_between("--between", s->val, two, &cmd->err) < 0 ||
	    once(s, O_BETWEEN, "--between") < 0)
		return -1;
	memcpy(cmd->between, two, sizeof(two));
	cmd->req.between[0] = cmd->between[0];
	cmd->req.between[1] = cmd->between[1];
	return 0;
}

static int put_chan_kind(struct scan *s)
{
	enum base_chan_kind k;
	if (base_chan_kind_parse(s->val, &k) < 0) {
		set_err(s->cmd, "--kind: \"%s\" is not a channel kind (msg or map)", s->val);
		return -1;
	}
	if (once(s, O_KIND, "--kind") < 0)
		return -1;
	s->cmd->req.chan_kind = k;
	s->cmd->req.has_chan_kind = true;
	return 0;
}

/* chan create's options. */
static enum opt_result chan_option(struct scan *s)
{
	struct base_request *req = &s->cmd->req;
	struct base_err *err = &s->cmd->err;
	uint64_t v;
	switch (s->id) {
	case O_BETWEEN:
		return done_if(put_between(s));
	case O_KIND:
		return done_if(put_chan_kind(s));
	case O_SLOTS:
		if (rfm_parse_slots("--slots", s->val, &v, err) < 0 ||
		    once(s, O_SLOTS, "--slots") < 0)
			return OPT_ERR;
		req->slots = v;
		req->has_slots = true;
		return OPT_DONE;
	case O_SIZE:
		if (rfm_parse_mem("--size", s->val, &v, err) < 0 || once(s, O_SIZE, "--size") < 0)
			return OPT_ERR;
		req->size = v;
		req->has_size = true;
		return OPT_DONE;
	default:
		return OPT_UNHANDLED;
	}
}

/* top's --once and --interval SECS (0.05 to 3600). */
static int top_option(struct scan *s)
{
	char *end;
	if (s->id == O_ONCE) {
		s->cmd->top_once = true;
		return 0;
	}
	double v = strtod(s->val, &end);
	if (end == s->val || *end || !(v >= 0.05 && v <= 3600)) {
		set_err(s->cmd, "--interval: \"%s\" is not a number of seconds (0.05 to 3600)",
			s->val);
		return -1;
	}
	s->cmd->top_interval = v;
	return once(s, O_INTERVAL, "--interval");
}

static int policy_option(struct scan *s, enum rfm_policy_opt o)
{
	if (once(s, s->id, rfm_policy_opt_name(o)) < 0)
		return -1;
	return rfm_policy_arg(s->cmd, o, s->val);
}

/* A verb option that is not common: resize's resources, version's --client,
 * top's, chan create's channel. */
static enum opt_result verb_option(struct scan *s)
{
	enum opt_result r = common_option(s);
	if (r != OPT_UNHANDLED)
		return r;
	if (s->id == O_CLIENT || s->id == O_RECREATE) {
		*(s->id == O_CLIENT ? &s->cmd->client_only : &s->cmd->recreate) = true;
		return OPT_DONE;
	}
	if (s->id == O_ONCE || s->id == O_INTERVAL)
		return done_if(top_option(s));
	if (s->id >= O_PRIORITY && s->id <= O_PROBE)
		return done_if(policy_option(s, (enum rfm_policy_opt)(s->id - O_PRIORITY)));
	if ((r = chan_option(s)) != OPT_UNHANDLED)
		return r;
	return resource_option(s, true);
}

static int check_nargs(struct rfm_cmd *cmd, const struct verb *v, int nargs)
{
	if (nargs < v->nargs_min) {
		set_err(cmd, "%s: missing %s", v->name, is_deploy(v) ? "FILE" : "NAME");
		return -1;
	}
	if (strcmp(v->name, "chan create") == 0 && !cmd->req.between[0]) {
		set_err(cmd, "chan create: --between A,B is required");
		return -1;
	}
	if (strcmp(v->name, "policy") == 0 && rfm_policy_check(cmd) < 0)
		return -1;
	if (strcmp(v->name, "resize") == 0 && cmd->req.cores.form == RF_CORES_NONE &&
	    !cmd->req.has_mem) {
		set_err(cmd, "resize: give --cores, --cpus or --mem");
		return -1;
	}
	return 0;
}

static int parse_simple(struct scan *s, const struct verb *v)
{
	enum scan_kind k;
	enum opt_result r;
	int nargs = 0;

	while ((k = scan_next(s, v->opts)) != SCAN_END) {
		if (k == SCAN_ERR)
			return -1;
		if (k == SCAN_OPT) {
			if ((r = verb_option(s)) != OPT_DONE)
				return parse_result(s, r);
			continue;
		}
		if (nargs >= v->nargs_max) {
			set_err(s->cmd, "%s: unexpected argument \"%s\"", v->name, s->val);
			return -1;
		}
		if (is_deploy(v))
			s->cmd->file = s->val;
		else if (put_name(s->cmd, s->val) < 0)
			return -1;
		nargs++;
	}
	if (check_nargs(s->cmd, v, nargs) < 0)
		return -1;
	s->cmd->deploy = is_deploy(v);
	/* `version --client` asks rfd nothing; a deployment asks several times */
	s->cmd->has_req = !s->cmd->client_only && !s->cmd->deploy;
	return 0;
}

static const struct opt global_opts[] = {
	COMMON_OPTS, {"version", 0, false, O_VERSION}, {0},
};

/* Usage to print, of cmd->verb (NULL: rfm's). */
static int help(struct scan *s)
{
	s->cmd->help = true;
	return 0;
}

/* `rfm help [VERB]` */
static int parse_help(struct scan *s)
{
	if (s->i >= s->argc)
		return help(s);
	const struct verb *v = find_verb(s->argv[s->i]);
	if (v && s->i + 2 == s->argc && strcmp(v->name, "chan") == 0) { /* help chan create */
		char both[64];
		snprintf(both, sizeof(both), "chan %s", s->argv[s->i + 1]);
		const struct verb *sub = find_verb(both);
		if (sub) {
			s->cmd->verb = sub->name;
			return help(s);
		}
	}
	if (!v || s->i + 1 < s->argc) {
		set_err(s->cmd, v ? "help: give one verb" : "help: unknown verb \"%s\"",
			s->argv[s->i]);
		return -1;
	}
	s->cmd->verb = v->name;
	return help(s);
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
static int parse_verb(struct scan *s)
{
	enum scan_kind k;

	while ((k = scan_next(s, global_opts)) == SCAN_OPT) {
		if (s->id == O_VERSION) {
			s->cmd->verb = "version";
			s->cmd->client_only = true;
			return 0;
		}
		if (common_option(s) == OPT_HELP)
			return help(s);
	}
	if (k == SCAN_ERR)
		return -1;
	if (k == SCAN_END) {
		set_err(s->cmd, "missing verb");
		return -1;
	}
	if (strcmp(s->val, "help") == 0)
		return parse_help(s);
	const struct verb *v = find_verb(s->val);
	if (!v) {
		set_err(s->cmd, "unknown verb \"%s\"", s->val);
		return -1;
	}
	if (strcmp(v->name, "chan") == 0 && !(v = parse_chan_sub(s)))
		return s->cmd->err.msg[0] ? -1 : help(s);
	s->cmd->verb = v->name;
	base_request_init(&s->cmd->req, v->req);
	s->dashdash = false;
	return v->opts == create_opts ? parse_create(s) : parse_simple(s, v);
}

int rfm_parse_args(int argc, char **argv, struct rfm_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	struct scan s = { .argc = argc, .argv = argv, .i = 1, .cmd = cmd };
	int r = parse_verb(&s);
	if (r < 0 || cmd->help)
		cmd->has_req = false;
	return r;
}

void rfm_cmd_free(struct rfm_cmd *cmd)
{
	free(cmd->prog);
	free(cmd->args);
	free(cmd->envs);
	free(cmd->caps);
	free(cmd->binds);
	free(cmd->ro_binds);
	free(cmd->root);
	memset(cmd, 0, sizeof(*cmd));
}
