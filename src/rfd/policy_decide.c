/*
 * policy_decide.c - the elastic policy's decisions, with no rfd state
 * (see policy_decide.h for the rules).  Everything here is arithmetic on
 * the members it is given, so tests/unit/test_policy.c can play whole
 * load histories through it.
 */
#include "rfd/policy_decide.h"

#include <stdlib.h>
#include <string.h>

const char *policy_rule_name(enum policy_rule r)
{
	return r == POLICY_OVER_UT ? "p99_over_ut" : "p99_under_lt";
}

void policy_signal(const struct base_policy *p, const struct base_lat *lat_now,
		   const struct base_lat *lat_before, const struct base_lat *wait_now,
		   const struct base_lat *wait_before, struct policy_window *w)
{
	struct base_lat *d = malloc(sizeof(*d)); /* 2 KiB: not on rfd's stack */
	w->seen = true;
	w->p99_ns = w->samples = 0;
	w->used = p->signal;
	if (!d)
		return; /* no memory: an empty window, which changes nothing soon */
	if (p->signal == RF_SIGNAL_LATENCY) {
		base_lat_diff(d, lat_now, lat_before);
		if (!d->count)
			w->used = RF_SIGNAL_QUEUE;
	}
	if (w->used == RF_SIGNAL_QUEUE)
		base_lat_diff(d, wait_now, wait_before);
	w->samples = d->count;
	w->p99_ns = base_lat_quantile(d, 0.99);
	free(d);
}

static bool is(const struct policy_member *m, enum base_priority p)
{
	return m->pol->priority == p;
}

static uint64_t us_ns(uint32_t us)
{
	return (uint64_t)us * 1000;
}

/* A latency member whose last window was below its lt: it can spare one. */
static bool calm(const struct policy_member *m)
{
	return is(m, RF_PRIO_LATENCY) && m->win.seen && m->win.p99_ns < us_ns(m->pol->lt_us) &&
	       !m->tr->cooldown;
}

/* Who gives member `to` a core: free, the biggest batch above its min, a
 * calm latency subOS above its min; or -2: nobody. */
static int donor(const struct policy_member *m, int n, int to, int free_cores)
{
	int best = -2;
	if (free_cores > 0)
		return POLICY_FREE;
	for (int i = 0; i < n; i++)
		if (is(&m[i], RF_PRIO_BATCH) && !m[i].busy && m[i].cores > m[i].pol->min_cores &&
		    (best < 0 || m[i].cores > m[best].cores))
			best = i;
	for (int i = 0; best < 0 && i < n; i++)
		if (i != to && calm(&m[i]) && !m[i].busy && m[i].cores > m[i].pol->min_cores)
			best = i;
	return best;
}

/* Who gets the core member `from` gives back: the batch subOS with the
 * fewest cores below its max (a paused one first), else the free cores. */
static int recipient(const struct policy_member *m, int n)
{
	int best = POLICY_FREE;
	for (int i = 0; i < n; i++)
		if (is(&m[i], RF_PRIO_BATCH) && !m[i].busy && m[i].cores < m[i].pol->max_cores &&
		    (best < 0 || m[i].cores < m[best].cores))
			best = i;
	return best;
}

static void moved(struct policy_member *m, int i)
{
	if (i == POLICY_FREE)
		return;
	m[i].busy = true;
	if (m[i].tr) {
		m[i].tr->cooldown = RF_POLICY_COOLDOWN_WINDOWS;
		m[i].tr->under = 0;
	}
}

/* Member i's fresh window: the move it causes into *mv (1), or 0. */
static int judge(struct policy_member *m, int n, int i, int *free_cores, struct policy_move *mv)
{
	struct policy_member *l = &m[i];
	const struct base_policy *p = l->pol;
	if (l->busy)
		return 0;
	if (l->tr->cooldown > 0) {
		l->tr->cooldown--;
		return 0;
	}
	*mv = (struct policy_move){ .cause = i, .win = l->win, .windows = 1 };
	if (l->win.p99_ns > us_ns(p->ut_us)) {
		l->tr->under = 0;
		if (l->cores >= p->max_cores || (mv->from = donor(m, n, i, *free_cores)) == -2)
			return 0;
		mv->to = i;
		mv->rule = POLICY_OVER_UT;
		*free_cores -= mv->from == POLICY_FREE;
	} else if (l->win.p99_ns < us_ns(p->lt_us)) {
		if (++l->tr->under < RF_POLICY_HOLD_WINDOWS || l->cores <= p->min_cores)
			return 0;
		mv->windows = l->tr->under;
		mv->from = i;
		mv->to = recipient(m, n);
		mv->rule = POLICY_UNDER_LT;
		*free_cores += mv->to == POLICY_FREE;
	} else {
		l->tr->under = 0;
		return 0;
	}
	moved(m, mv->from);
	moved(m, mv->to);
	return 1;
}

int policy_decide(struct policy_member *m, int n, int free_cores, struct policy_move *out,
		  int max_out)
{
	int k = 0;
	for (int i = 0; i < n && k < max_out; i++)
		if (is(&m[i], RF_PRIO_LATENCY) && m[i].win.fresh)
			k += judge(m, n, i, &free_cores, &out[k]);
	return k;
}
