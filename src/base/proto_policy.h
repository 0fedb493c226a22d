/*
 * proto_policy.h - the elastic policy's settings as the protocol carries
 * them (the `policy` verb's "policy" object, docs/protocol.md) and as the
 * journal keeps them (every record of a subOS under a policy carries it).
 *
 * One decoder for both: what rfm sends and what a restarted rfd reads back
 * are checked by the same code, so a journal cannot hold a policy the verb
 * would refuse.  Kept out of proto.c so the codec's core stays one concern:
 * proto.c calls in here for the policy verb's field group.
 */
#ifndef RF_BASE_PROTO_POLICY_H
#define RF_BASE_PROTO_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "base/err.h"

/* A subOS's place in the policy: none, lowest (its cores may be taken, down
 * to zero: paused) or latency-critical (it takes cores when its p99 is
 * over ut). */
enum base_priority { RF_PRIO_OFF, RF_PRIO_BATCH, RF_PRIO_LATENCY };
/* What p99 the controller watches: the requests' latency (rf_latency_record)
 * or librf's queueing delay (also the fallback in a window without
 * requests). */
enum base_signal { RF_SIGNAL_LATENCY, RF_SIGNAL_QUEUE,
	/* not a setting: what a linux subOS's window used (rfd's probe of its
	 * service, src/rfd/probe.h) */
	RF_SIGNAL_PROBE };

/* Limits the decoder enforces (docs/protocol.md "policy"). */
#define RF_POLICY_WINDOW_MIN_MS 5
#define RF_POLICY_WINDOW_MAX_MS 600000
#define RF_POLICY_T_MAX_US      60000000 /* a minute */
/* Defaults rfd fills for a latency policy. */
#define RF_POLICY_WINDOW_MS     100
#define RF_POLICY_UT_US         1000
#define RF_POLICY_MAX_CORES     1024     /* "no limit" */

/* Which fields a client gave (it sends only those; rfd fills the rest). */
enum {
	RF_POL_LT = 1u << 0, RF_POL_UT = 1u << 1, RF_POL_WINDOW = 1u << 2,
	RF_POL_MIN = 1u << 3, RF_POL_MAX = 1u << 4, RF_POL_SIGNAL = 1u << 5,
};

struct base_policy {
	enum base_priority priority;
	enum base_signal signal;
	uint32_t lt_us, ut_us;  /* thresholds on the window's p99, lt < ut */
	uint32_t window_ms;
	int min_cores, max_cores;
	unsigned given;         /* RF_POL_* */
};

const char *base_priority_name(enum base_priority p);
const char *base_signal_name(enum base_signal s);
int base_priority_parse(const char *name, enum base_priority *out);
int base_signal_parse(const char *name, enum base_signal *out);

/* Decode and check the object o (the verb's "policy" field, or a journal
 * record's), filling the defaults of what is absent: 0, or -1 with err
 * (BASE_E_BAD_REQUEST naming the field). */
int base_policy_decode(struct json_object *o, struct base_policy *p, struct base_err *err);
/* The fields given (p->given) and the priority: what a client sends.  A
 * new object, or NULL (no memory). */
struct json_object *base_policy_encode(const struct base_policy *p);
/* Every field, resolved: what rfd shows and journals.  A new object. */
struct json_object *base_policy_json(const struct base_policy *p);

#endif
