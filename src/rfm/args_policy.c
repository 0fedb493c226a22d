/*
 * args_policy.c - the arguments of `rfm policy NAME` (args.c scans them and
 * hands each value here): --priority latency|batch, --lt/--ut MS (decimal
 * milliseconds, sent as microseconds), --window MS, --min-cores and
 * --max-cores N, --signal latency|queue, or --off; and --probe URL|off, the
 * probe of a linux subOS's service (its latency signal, base/probe.h),
 * checked here as rfd checks it.  Without any, the verb shows the
 * subOS's policy.
 *
 * Only the forms and what two given values say of each other are checked
 * here (a usage error, exit status 2); rfd checks the whole (with its
 * defaults filled, base/proto_policy.c) and refuses what is left.
 */
#include "rfm/args.h"
#include "base/probe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
	[RFM_POL_PRIORITY] = "--priority", [RFM_POL_LT] = "--lt", [RFM_POL_UT] = "--ut",
	[RFM_POL_WINDOW] = "--window", [RFM_POL_MIN] = "--min-cores",
	[RFM_POL_MAX] = "--max-cores", [RFM_POL_SIGNAL] = "--signal", [RFM_POL_OFF] = "--off",
	[RFM_POL_PROBE] = "--probe",
};

const char *rfm_policy_opt_name(enum rfm_policy_opt o)
{
	return names[o];
}

/* A number within [lo, hi] (decimals if `frac`). */
static int number(const char *opt, const char *val, double lo, double hi, bool frac, double *out,
		  struct base_err *err)
{
	char *end;
	double v = strtod(val, &end);
	if (end == val || *end || !isfinite(v) || v < lo || v > hi || (!frac && v != floor(v)))
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%s\" is not %s from %g to %g", opt,
				 val, frac ? "a number of milliseconds" : "a whole number", lo, hi);
	*out = v;
	return 0;
}

static int named(const char *opt, const char *val, int (*parse)(const char *, int *), int *out,
		 const char *choices, struct base_err *err)
{
	if (parse(val, out))
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%s\" is not %s", opt, val,
				 choices);
	return 0;
}

static int prio(const char *s, int *out)
{
	enum base_priority p;
	if (base_priority_parse(s, &p) || p == RF_PRIO_OFF)
		return -1;
	*out = (int)p;
	return 0;
}

static int sig(const char *s, int *out)
{
	enum base_signal g;
	if (base_signal_parse(s, &g))
		return -1;
	*out = (int)g;
	return 0;
}

int rfm_policy_arg(struct rfm_cmd *cmd, enum rfm_policy_opt o, const char *val)
{
	struct base_policy *p = &cmd->req.policy;
	struct base_err *err = &cmd->err;
	const char *opt = names[o];
	double v = 0;
	int e = 0;
	if (o == RFM_POL_PROBE) { /* the probe alone is no policy setting */
		struct base_probe_url u;
		if (cmd->req.probe)
			return base_errf(err, BASE_E_BAD_REQUEST, "--probe given twice");
		if (strcmp(val, "off") && base_probe_url_parse(val, &u, err))
			return -1;
		cmd->req.probe = val;
		return 0;
	}
	cmd->req.has_policy = true;
	switch (o) {
	case RFM_POL_PRIORITY:
		if (named(opt, val, prio, &e, "latency or batch", err))
			return -1;
		p->priority = (enum base_priority)e;
		cmd->policy_set = true;
		return 0;
	case RFM_POL_SIGNAL:
		if (named(opt, val, sig, &e, "latency or queue", err))
			return -1;
		p->signal = (enum base_signal)e;
		p->given |= RF_POL_SIGNAL;
		return 0;
	case RFM_POL_OFF:
		cmd->policy_off = true;
		return 0;
	case RFM_POL_LT:
	case RFM_POL_UT:
		if (number(opt, val, 0.001, RF_POLICY_T_MAX_US / 1000.0, true, &v, err))
			return -1;
		*(o == RFM_POL_LT ? &p->lt_us : &p->ut_us) = (uint32_t)llround(v * 1000);
		p->given |= o == RFM_POL_LT ? RF_POL_LT : RF_POL_UT;
		return 0;
	case RFM_POL_WINDOW:
		if (number(opt, val, RF_POLICY_WINDOW_MIN_MS, RF_POLICY_WINDOW_MAX_MS, false, &v, err))
			return -1;
		p->window_ms = (uint32_t)v;
		p->given |= RF_POL_WINDOW;
		return 0;
	default: /* min, max */
		if (number(opt, val, o == RFM_POL_MIN ? 0 : 1, RF_POLICY_MAX_CORES, false, &v, err))
			return -1;
		*(o == RFM_POL_MIN ? &p->min_cores : &p->max_cores) = (int)v;
		p->given |= o == RFM_POL_MIN ? RF_POL_MIN : RF_POL_MAX;
		return 0;
	}
}

int rfm_policy_check(struct rfm_cmd *cmd)
{
	const struct base_policy *p = &cmd->req.policy;
	struct base_err *err = &cmd->err;
	if (cmd->policy_off && (cmd->policy_set || p->given))
		return base_errf(err, BASE_E_BAD_REQUEST, "policy: --off takes no other option");
	if (cmd->policy_off) {
		cmd->req.policy.priority = RF_PRIO_OFF;
		return 0;
	}
	if (p->given && !cmd->policy_set)
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "policy: give --priority latency or batch (or --off)");
	if ((p->given & RF_POL_LT) && (p->given & RF_POL_UT) && p->lt_us >= p->ut_us)
		return base_errf(err, BASE_E_BAD_REQUEST, "policy: --lt must be below --ut");
	if ((p->given & RF_POL_MIN) && (p->given & RF_POL_MAX) && p->min_cores > p->max_cores)
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "policy: --min-cores must not be above --max-cores");
	return 0;
}
