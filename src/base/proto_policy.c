/*
 * proto_policy.c - the policy's field group of the protocol codec (see
 * proto_policy.h): decoded strictly, with defaults filled, so rfd's policy
 * code only ever sees settings that make sense (lt < ut, min <= max, a
 * window the timer can keep).
 */
#include "base/proto_policy.h"

#include <stdio.h>
#include <string.h>

static const char *const prio_names[] = {
	[RF_PRIO_OFF] = "off", [RF_PRIO_BATCH] = "batch", [RF_PRIO_LATENCY] = "latency",
};
static const char *const signal_names[] = {
	[RF_SIGNAL_LATENCY] = "latency", [RF_SIGNAL_QUEUE] = "queue", [RF_SIGNAL_PROBE] = "probe",
};

/* The object's keys; anything else is refused (a typo must not pass as
 * "use the default"). */
enum { P_PRIORITY, P_LT, P_UT, P_WINDOW, P_MIN, P_MAX, P_SIGNAL, P_COUNT };
static const char *const pkeys[P_COUNT] = {
	"priority", "lt_us", "ut_us", "window_ms", "min_cores", "max_cores", "signal",
};
/* The RF_POL_* bit of each key (priority has none: it is always sent). */
static const unsigned pbits[P_COUNT] = {
	0, RF_POL_LT, RF_POL_UT, RF_POL_WINDOW, RF_POL_MIN, RF_POL_MAX, RF_POL_SIGNAL,
};

const char *base_priority_name(enum base_priority p)
{
	return (unsigned)p < 3 ? prio_names[p] : "?";
}

const char *base_signal_name(enum base_signal s)
{
	return (unsigned)s < 3 ? signal_names[s] : "?";
}

static int parse_name(const char *const *names, int n, const char *name, int *out)
{
	for (int i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

int base_priority_parse(const char *name, enum base_priority *out)
{
	int i;
	if (parse_name(prio_names, 3, name, &i))
		return -1;
	*out = (enum base_priority)i;
	return 0;
}

int base_signal_parse(const char *name, enum base_signal *out)
{
	int i;
	if (parse_name(signal_names, 2, name, &i))
		return -1;
	*out = (enum base_signal)i;
	return 0;
}

/* An integer field within [lo, hi] into *out; absent: untouched. */
static int get_int(struct json_object *o, int k, int64_t lo, int64_t hi, int64_t *out,
		   unsigned *given, struct base_err *err)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, pkeys[k], &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < lo ||
	    json_object_get_int64(v) > hi)
		return base_errf(err, BASE_E_BAD_REQUEST, "policy.%s: must be an integer from "
				 "%lld to %lld", pkeys[k], (long long)lo, (long long)hi);
	*out = json_object_get_int64(v);
	*given |= pbits[k];
	return 0;
}

/* A name field (priority, signal) through parse; required or not. */
static int get_name(struct json_object *o, int k, int (*parse)(const char *, int *), int *out,
		    bool required, const char *choices, struct base_err *err)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, pkeys[k], &v))
		return required ? base_errf(err, BASE_E_BAD_REQUEST, "policy: missing \"%s\"",
					    pkeys[k]) : 0;
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
	if ((size_t)json_object_get_string_len(v) != strlen(s) || parse(s, out))
		return base_errf(err, BASE_E_BAD_REQUEST, "policy.%s: \"%.32s\" is not %s",
				 pkeys[k], s, choices);
	return 0;
}

static int prio_of(const char *s, int *out)
{
	return parse_name(prio_names, 3, s, out);
}

static int signal_of(const char *s, int *out)
{
	return parse_name(signal_names, 2, s, out);
}

static int unknown_keys(struct json_object *o, struct base_err *err)
{
	json_object_object_foreach(o, key, v) {
		(void)v;
		bool known = false;
		for (int k = 0; k < P_COUNT && !known; k++)
			known = strcmp(key, pkeys[k]) == 0;
		if (!known)
			return base_errf(err, BASE_E_BAD_REQUEST, "policy: unknown field \"%.32s\"",
					 key);
	}
	return 0;
}

/* The defaults of what was not given, then the checks across fields. */
static int resolve(struct base_policy *p, struct base_err *err)
{
	const unsigned lat_only = RF_POL_LT | RF_POL_UT | RF_POL_WINDOW | RF_POL_SIGNAL;
	if (p->priority == RF_PRIO_OFF && p->given)
		return base_errf(err, BASE_E_BAD_REQUEST, "policy: \"off\" takes no other field");
	if (p->priority == RF_PRIO_BATCH && (p->given & lat_only))
		return base_errf(err, BASE_E_BAD_REQUEST, "policy: lt, ut, window and signal are "
				 "for priority latency (a batch subOS only gives cores)");
	if (!(p->given & RF_POL_UT))
		p->ut_us = p->given & RF_POL_LT ? 2 * p->lt_us : RF_POLICY_UT_US;
	if (!(p->given & RF_POL_LT))
		p->lt_us = p->ut_us / 2 ? p->ut_us / 2 : 1;
	if (!(p->given & RF_POL_WINDOW))
		p->window_ms = RF_POLICY_WINDOW_MS;
	if (!(p->given & RF_POL_MIN))
		p->min_cores = p->priority == RF_PRIO_LATENCY ? 1 : 0;
	if (!(p->given & RF_POL_MAX))
		p->max_cores = RF_POLICY_MAX_CORES;
	if (p->priority == RF_PRIO_LATENCY && p->lt_us >= p->ut_us)
		return base_errf(err, BASE_E_BAD_REQUEST, "policy: lt (%u us) must be below ut "
				 "(%u us): the gap between them stops flapping", p->lt_us, p->ut_us);
	if (p->priority == RF_PRIO_LATENCY && p->min_cores < 1)
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "policy: a latency subOS keeps at least one core (min_cores >= 1)");
	if (p->min_cores > p->max_cores)
		return base_errf(err, BASE_E_BAD_REQUEST, "policy: min_cores %d is above "
				 "max_cores %d", p->min_cores, p->max_cores);
	return 0;
}

int base_policy_decode(struct json_object *o, struct base_policy *p, struct base_err *err)
{
	int prio = RF_PRIO_OFF, sig = RF_SIGNAL_LATENCY;
	int64_t v[P_COUNT] = { 0 };
	memset(p, 0, sizeof(*p));
	if (!json_object_is_type(o, json_type_object))
		return base_errf(err, BASE_E_BAD_REQUEST, "policy: must be an object");
	if (unknown_keys(o, err) ||
	    get_name(o, P_PRIORITY, prio_of, &prio, true, "latency, batch or off", err) ||
	    get_name(o, P_SIGNAL, signal_of, &sig, false, "latency or queue", err))
		return -1;
	if (json_object_object_get_ex(o, pkeys[P_SIGNAL], NULL))
		p->given |= RF_POL_SIGNAL;
	if (get_int(o, P_LT, 1, RF_POLICY_T_MAX_US, &v[P_LT], &p->given, err) ||
	    get_int(o, P_UT, 1, RF_POLICY_T_MAX_US, &v[P_UT], &p->given, err) ||
	    get_int(o, P_WINDOW, RF_POLICY_WINDOW_MIN_MS, RF_POLICY_WINDOW_MAX_MS, &v[P_WINDOW],
		    &p->given, err) ||
	    get_int(o, P_MIN, 0, RF_POLICY_MAX_CORES, &v[P_MIN], &p->given, err) ||
	    get_int(o, P_MAX, 1, RF_POLICY_MAX_CORES, &v[P_MAX], &p->given, err))
		return -1;
	p->priority = (enum base_priority)prio;
	p->signal = (enum base_signal)sig;
	p->lt_us = (uint32_t)v[P_LT];
	p->ut_us = (uint32_t)v[P_UT];
	p->window_ms = (uint32_t)v[P_WINDOW];
	p->min_cores = (int)v[P_MIN];
	p->max_cores = (int)v[P_MAX];
	return resolve(p, err);
}

/* The integer fields in key order, and whether each is given. */
static void fields(const struct base_policy *p, int64_t *v)
{
	v[P_LT] = p->lt_us;
	v[P_UT] = p->ut_us;
	v[P_WINDOW] = p->window_ms;
	v[P_MIN] = p->min_cores;
	v[P_MAX] = p->max_cores;
}

/* all: every field that applies to the priority, else only those given. */
static struct json_object *to_json(const struct base_policy *p, bool all)
{
	struct json_object *o = json_object_new_object();
	int64_t v[P_COUNT];
	bool latency = p->priority == RF_PRIO_LATENCY;
	if (!o)
		return NULL;
	fields(p, v);
	json_object_object_add(o, pkeys[P_PRIORITY],
			       json_object_new_string(base_priority_name(p->priority)));
	if (p->priority == RF_PRIO_OFF)
		return o;
	for (int k = P_LT; k <= P_MAX; k++) {
		bool applies = latency || k == P_MIN || k == P_MAX;
		if (all ? applies : (p->given & pbits[k]) != 0)
			json_object_object_add(o, pkeys[k], json_object_new_int64(v[k]));
	}
	if (all ? latency : (p->given & RF_POL_SIGNAL) != 0)
		json_object_object_add(o, pkeys[P_SIGNAL],
				       json_object_new_string(base_signal_name(p->signal)));
	return o;
}

struct json_object *base_policy_encode(const struct base_policy *p)
{
	return to_json(p, false);
}

struct json_object *base_policy_json(const struct base_policy *p)
{
	return to_json(p, true);
}
