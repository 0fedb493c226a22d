/*
 * proto.h - the control protocol's one codec: a request as a typed
 * struct base_request, encoded to the wire object by clients (rfm, RFcom,
 * rfbench) and decoded and validated by rfd, both in proto.c with one
 * table of key names, so the two sides cannot disagree on a key.
 *
 * Decoding is strict (docs/protocol.md): everything a client sends is
 * checked here, before any handler sees it, with a stable error code and a
 * message.  Encoding checks nothing: a client may send what rfd refuses and
 * report rfd's own answer.  Kept apart from rfd's handlers so the codec can
 * be unit-tested and fuzzed on its own.
 */
#ifndef RF_BASE_PROTO_H
#define RF_BASE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "base/cpuset.h"
#include "base/err.h"
#include "base/proto_policy.h"

#define RF_PROTO_VERSION_CUR 1
#define RF_PROTO_LINE_MAX    65536
#define RF_ARGV_MAX          256

enum base_verb {
	RF_VERB_CREATE, RF_VERB_DESTROY, RF_VERB_RESIZE, RF_VERB_LIST,
	RF_VERB_SHOW, RF_VERB_INFO, RF_VERB_LOG,
	RF_VERB_CHAN_CREATE, RF_VERB_CHAN_LIST, RF_VERB_CHAN_CLOSE, RF_VERB_CHAN_OPEN,
	/* RFloop (src/rfd/rfloop_reg.c): register a listener, passing its
	 * sockets; get the registry's read-only table. */
	RF_VERB_RFLOOP_LISTEN, RF_VERB_RFLOOP_TABLE,
	/* Activity (src/rfd/stats.c): requests, latency and queueing-delay
	 * histograms, busy time, recent records; for rfm top. */
	RF_VERB_STATS,
	/* The elastic policy (src/rfd/policy.c): set, turn off or show a
	 * subOS's (base/proto_policy.h). */
	RF_VERB_POLICY,
};

enum base_kind { RF_KIND_LIBOS, RF_KIND_LINUX };

/* Channels (chan_* verbs): a message channel (two FICM rings) or a plain
 * shared region. */
enum base_chan_kind { RF_CHAN_MSG, RF_CHAN_MAP };
#define RF_CHAN_SLOTS_DEFAULT 256
#define RF_CHAN_SIZE_MAX      (1ull << 32)  /* a map channel: at most 4 GiB */

enum base_cores_form {
	RF_CORES_NONE,  /* not given */
	RF_CORES_COUNT, /* 3: exactly that many, rfd picks */
	RF_CORES_DELTA, /* "+1" / "-2" */
	RF_CORES_LIST,  /* "1-3,5": exactly those */
};

/* What rfd does when a subOS's program ends by itself (create's
 * "restart"): nothing, restart it after a failure (non-zero status or a
 * signal), or restart it always; at most max_restarts times (-1: no
 * limit). */
enum base_restart { RF_RESTART_NO, RF_RESTART_ON_FAILURE, RF_RESTART_ALWAYS };

struct base_cores_arg {
	enum base_cores_form form;
	int n;                  /* count or delta */
	struct base_cpuset set;   /* list */
};

/*
 * Memory.  A decoded request (base_proto_parse) owns `root`, the parsed
 * line, into which every string points, and `store`, the block its argv
 * and env vectors live in; base_request_free releases both.  A request
 * filled by hand for base_request_encode owns nothing: root and store stay
 * NULL and its strings and vectors are the builder's, which must outlive
 * the encoding (rfm keeps them in struct rfm_cmd; other callers use
 * literals, their argv, or locals).  base_request_free on it only clears it.
 */
struct base_request {
	struct json_object *root;
	const char **store;
	int64_t id;
	bool has_id;
	enum base_verb verb;
	const char *name;         /* NULL if absent */
	enum base_kind kind;        /* create */
	struct base_cores_arg cores;
	bool has_mem;
	uint64_t mem;
	/* Vectors of argc/envc strings and a NULL.  Decoded: both set for
	 * create (env empty if not given).  Encoded: argv if not NULL, env if
	 * envc > 0. */
	const char **argv;
	int argc;
	const char **env;         /* "KEY=VALUE" */
	int envc;
	/* create's confinement (docs/rfm.md "Confinement"), same conventions:
	 * capability names added to the default set, a private root (NULL:
	 * the host's, with its secrets hidden) and bind specs "SRC[:DST]". */
	const char **caps;
	int ncaps;
	const char *fs_root;
	const char **binds;
	int nbinds;
	const char **ro_binds;
	int nro_binds;
	enum base_restart restart;  /* create; RF_RESTART_NO if absent */
	int64_t max_restarts;       /* create; -1 (no limit) if absent */
	/* chan_create (name is the channel's).  The has_ flags say what was
	 * given: rfd fills the defaults, a client sends only what it has. */
	enum base_chan_kind chan_kind;
	bool has_chan_kind, has_slots, has_size;
	const char *between[2];   /* the two subOSes granted the channel */
	uint64_t slots;           /* msg: ring slots, a power of two */
	uint64_t size;            /* map: bytes */
	/* policy: the settings (has_policy), or none to show the current */
	bool has_policy;
	struct base_policy policy;
	/* policy: the probe of a linux subOS's service (base/probe.h), "off"
	 * to remove it, or NULL: unchanged */
	const char *probe;
};

/* An empty request for `verb`, ready to fill and encode. */
void base_request_init(struct base_request *req, enum base_verb verb);

/* The wire object of req: "version", "id" (if has_id), "verb" and every
 * field that is set.  Returns a new object (the caller puts it), or NULL
 * with errno set (ENOMEM; E2BIG for a CPU list too long to write). */
struct json_object *base_request_encode(const struct base_request *req);

/* Parse one line (without its newline).  On success fills req (call
 * base_request_free later) and returns 0; on error fills err, returns -1 and
 * req->id/has_id still carry the id if one could be read. */
int base_proto_parse(const char *line, size_t len, struct base_request *req, struct base_err *err);
void base_request_free(struct base_request *req);

bool base_name_valid(const char *name);
const char *base_kind_name(enum base_kind k);
const char *base_verb_name(enum base_verb v);
const char *base_chan_kind_name(enum base_chan_kind k);
const char *base_restart_name(enum base_restart r);
int base_restart_parse(const char *name, enum base_restart *out);
/* The kind named `name` into *out: 0, or -1 if it names none. */
int base_kind_parse(const char *name, enum base_kind *out);
int base_chan_kind_parse(const char *name, enum base_chan_kind *out);

/* Answers: both return a new object the caller serialises and puts. */
struct json_object *base_answer_new_ok(const struct base_request *req, struct json_object *result);
struct json_object *base_answer_new_err(bool has_id, int64_t id, enum base_errc code,
					const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
