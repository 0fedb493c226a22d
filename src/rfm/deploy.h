/*
 * deploy.h - `rfm apply|diff|delete FILE`: a deployment declared in one
 * YAML file (docs/rfm.md, "Deployments"), in three steps kept apart so
 * each can be tested on its own:
 *
 *   deploy_yaml.c    the file -> struct deploy (libyaml; schema checks,
 *                    every error naming the file and line; no rfd)
 *   deploy_resolve.c paths made absolute (relative to the file), RFloop's
 *                    preload added to the environment (the filesystem)
 *   deploy_plan.c    the model + what rfd reports -> a list of actions
 *                    (pure: JSON in, actions out)
 *   deploy_apply.c   reads rfd's state, runs the actions, rolls back
 *
 * A deployment owns the subOSes named in its file and every channel
 * between two of them; other subOSes and channels are left alone.
 */
#ifndef RF_RFM_DEPLOY_H
#define RF_RFM_DEPLOY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/probe.h"
#include "base/proto.h"
#include "rf/desc.h"

#define DEPLOY_MAX_ITEMS     64       /* subOSes, and channels, per file */
#define DEPLOY_FILE_MAX      (1 << 20)
#define DEPLOY_READY_DEFAULT_MS 10000

/* A vector of owned strings (NULL-terminated, n without the NULL). */
struct deploy_strv {
	char **v;
	int n;
};

/* `policy:` (issue 12's `rfm policy`): kept in the model, sent as it is. */
struct deploy_policy {
	bool set;
	bool latency;               /* priority: latency (else batch) */
	int64_t lt_us, ut_us;       /* lt_ms, ut_ms (decimals allowed) in microseconds */
	int64_t window_ms, min_cores, max_cores; /* these and those: -1, not given */
	int signal;                 /* enum base_signal, -1: not given */
};

struct deploy_subos {
	char name[RF_NAME_MAX + 1];
	int line;                   /* where its entry starts (1-based) */
	enum base_kind kind;
	struct base_cores_arg cores;  /* a count or a CPU list */
	uint64_t mem;
	struct deploy_strv argv;    /* program and its arguments */
	struct deploy_strv env;     /* "KEY=VALUE", as the file orders them */
	struct deploy_strv caps, binds, ro_binds;
	char *root;                 /* NULL: none */
	enum base_restart restart;
	int64_t max_restarts;       /* -1: no limit */
	bool rfloop;                /* LD_PRELOAD librfloop.so */
	struct deploy_strv after;   /* started after these (names in the file) */
	int ready_port;             /* 0: do not wait */
	int64_t ready_timeout_ms;
	struct deploy_policy policy;
	char probe[BASE_PROBE_URL_MAX]; /* `probe:` (linux: rfm policy --probe); "": none */
};

struct deploy_chan {
	char name[RF_NAME_MAX + 1];
	int line;
	enum base_chan_kind kind;
	char between[2][RF_NAME_MAX + 1];
	uint64_t slots;             /* msg (default RF_CHAN_SLOTS_DEFAULT) */
	uint64_t size;              /* map (required) */
};

struct deploy {
	char *file;                 /* as given on the command line */
	char *name;                 /* `deployment:`, or NULL */
	char *rfloop_lib;           /* `rfloop_lib:`, or NULL: next to rfm */
	struct deploy_subos *subos; /* in start order (after:, then file order) */
	int nsubos;
	struct deploy_chan *chans;
	int nchans;
};

/* deploy_yaml.c: parse `len` bytes of YAML (file names the errors).
 * 0, or -1 with err->msg "FILE:LINE: what" and *d empty. */
int deploy_parse(const char *file, const char *text, size_t len, struct deploy *d,
		 struct base_err *err);
/* The same for a file read from disk. */
int deploy_load(const char *file, struct deploy *d, struct base_err *err);
void deploy_free(struct deploy *d);
const struct deploy_subos *deploy_find(const struct deploy *d, const char *name);
/* Append a copy of s to v (0, or -1 out of memory). */
int deploy_strv_add(struct deploy_strv *v, const char *s);

/* deploy_resolve.c: programs and roots relative to the file's directory
 * made absolute as `rfm create` would; RFloop's LD_PRELOAD (rfm_dir: the
 * directory of rfm's binary) added to env.  0, or -1 with err. */
int deploy_resolve(struct deploy *d, const char *rfm_dir, struct base_err *err);

/* What apply does, one line per action (deploy_plan.c). */
enum deploy_op {
	DEPLOY_CHAN_CLOSE,          /* a channel the file no longer has, or changed */
	DEPLOY_DESTROY,             /* delete, or the first half of a recreate */
	DEPLOY_SHRINK,              /* a resize to fewer cores or less memory */
	DEPLOY_CREATE,
	DEPLOY_GROW,                /* a resize to more cores or memory */
	DEPLOY_CHAN_CREATE,
	DEPLOY_POLICY,
	DEPLOY_REFUSED,             /* a change rfd cannot make live, no --recreate */
};

struct deploy_action {
	enum deploy_op op;
	const struct deploy_subos *s;      /* subOS actions (DESTROY: NULL on delete) */
	const struct deploy_chan *c;       /* CHAN_CREATE */
	char name[RF_NAME_MAX + 1];        /* the subOS's or channel's */
	/* SHRINK/GROW: what to send, and what to send back on rollback */
	bool cores, mem;
	struct base_cores_arg to_cores;
	char from_cpus[256];
	uint64_t to_mem, from_mem;
	char what[320];                    /* the line people read */
};

struct deploy_plan {
	struct deploy_action *a;
	int n;
	bool refused;                       /* some DEPLOY_REFUSED */
};

/* rfd's state for a plan: `subos` an object of `show` results keyed by
 * name (names absent from rfd are absent), `chans` chan_list's array,
 * `chunk` rfd's chunk size (memory is compared rounded up to it). */
struct deploy_state {
	struct json_object *subos;
	struct json_object *chans;
	uint64_t chunk;
};

/* The actions that make rfd's state what d declares; a change that needs
 * the subOS re-created is DEPLOY_DESTROY + DEPLOY_CREATE with recreate,
 * DEPLOY_REFUSED without.  0, or -1 out of memory. */
int deploy_plan_apply(const struct deploy *d, const struct deploy_state *st, bool recreate,
		      struct deploy_plan *p);
/* The actions that stop what d declares: its channels, then its subOSes in
 * reverse start order. */
int deploy_plan_delete(const struct deploy *d, const struct deploy_state *st,
		       struct deploy_plan *p);
void deploy_plan_free(struct deploy_plan *p);

/* deploy_apply.c: the verbs (args.c filled cmd).  Returns the exit status. */
struct rfm_cmd;
int rfm_deploy_run(const struct rfm_cmd *cmd);

#endif
