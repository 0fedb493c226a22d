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
	return r == POLICY_OVER_UT ? "p99_over_ut" : r == POLICY_UNDER_LT ? "p99_under_lt"
								    : "p99_worse_with_core";
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

static int min_int(int a, int b)
{
	return a < b ? a : b;
}

/* A fresh window passed: the counters that run in windows. */
static void age(struct policy_track *t)
{
	if (t->gave_ago > 0 && t->gave_ago <= RF_POLICY_FLAP_WINDOWS)
		t->gave_ago++;
	if (t->block > 0)
		t->block--;
	if (t->need_left > 0)
		t->need_left--;
}

/* Load memory: may member i give a core back at this window's load?
 * Fewer cores ending as much below lt prove the memory wrong: forget it. */
static bool load_allows_give(struct policy_member *m)
{
	struct policy_track *t = m->tr;
	bool as_much = m->win.samples * 8 >= t->need_samples * 7;

	if (t->need_left > 0 && m->cores < t->need_cores && as_much &&
	    m->win.p99_ns < us_ns(m->pol->lt_us))
		t->need_left = 0;
	return t->need_left <= 0 || m->cores != t->need_cores || !as_much;
}

/* Over ut: take a core (1, into *mv) if anyone can give one. */
static int take(struct policy_member *m, int n, int i, int *free_cores, struct policy_move *mv)
{
	struct policy_track *t = m[i].tr;
	t->under = 0;
	if (t->block > 0 || m[i].cores >= m[i].pol->max_cores ||
	    (mv->from = donor(m, n, i, *free_cores)) == -2)
		return 0;
	mv->to = i;
	mv->rule = POLICY_OVER_UT;
	*free_cores -= mv->from == POLICY_FREE;
	/* flap damping: taken back soon after a give-back, hold longer, and
	 * remember the load that needed the core (load_allows_give) */
	bool flap = t->gave_ago > 0 && t->gave_ago <= RF_POLICY_FLAP_WINDOWS;
	t->hold_x = flap ? min_int(t->hold_x + 1, RF_POLICY_MAX_DOUBLINGS) : 0;
	if (flap) {
		t->need_samples = m[i].win.samples;
		t->need_cores = m[i].cores + 1;
		t->need_left = RF_POLICY_NEED_WINDOWS;
	}
	t->judging = 1;
	t->take_p99_ns = m[i].win.p99_ns;
	t->take_samples = m[i].win.samples;
	t->worse = 0;
	return 1;
}

/* Give one of member i's cores back under `rule` (1, into *mv). */
static int give(struct policy_member *m, int n, int i, int *free_cores, struct policy_move *mv,
		enum policy_rule rule, int windows)
{
	struct policy_track *t = m[i].tr;
	if (m[i].cores <= m[i].pol->min_cores)
		return 0;
	mv->windows = windows;
	mv->from = i;
	mv->to = recipient(m, n);
	mv->rule = rule;
	*free_cores += mv->to == POLICY_FREE;
	t->gave_ago = 1;
	t->judging = 0;
	return 1;
}

/* Was the last take futile?  1 (a give-back into *mv) once the p99 stayed
 * above ut and above the p99 that took the core, with no more requests
 * ended per window (within an eighth: windows end on timer ticks), for
 * FUTILE windows. */
static int judge_take(struct policy_member *m, int n, int i, int *free_cores,
		      struct policy_move *mv)
{
	struct policy_track *t = m[i].tr;
	uint64_t p99 = m[i].win.p99_ns;
	if (!t->judging)
		return 0;
	if (p99 <= us_ns(m[i].pol->ut_us) || p99 <= t->take_p99_ns ||
	    m[i].win.samples * 8 > t->take_samples * 9) {
		t->judging = 0; /* it helped */
		t->block_x = 0;
		return 0;
	}
	if (++t->worse < RF_POLICY_FUTILE_WINDOWS ||
	    !give(m, n, i, free_cores, mv, POLICY_FUTILE, t->worse))
		return 0;
	t->need_left = 0; /* the core did not help: nothing to remember */
	t->block = RF_POLICY_BLOCK_WINDOWS << t->block_x;
	t->block_x = min_int(t->block_x + 1, RF_POLICY_MAX_DOUBLINGS);
	return 1;
}

/* Below lt: give a core back once the hold is over, unless the load
 * memory says the load still needs it (1, into *mv). */
static int under_lt(struct policy_member *m, int n, int i, int *free_cores,
		    struct policy_move *mv)
{
	struct policy_track *t = m[i].tr;
	bool load_ok = load_allows_give(&m[i]);

	return ++t->under >= RF_POLICY_HOLD_WINDOWS << t->hold_x && load_ok &&
	       give(m, n, i, free_cores, mv, POLICY_UNDER_LT, t->under);
}

/* Member i's fresh window: the move it causes into *mv (1), or 0. */
static int judge(struct policy_member *m, int n, int i, int *free_cores, struct policy_move *mv)
{
	struct policy_member *l = &m[i];
	const struct base_policy *p = l->pol;
	int k;
	age(l->tr);
	if (l->busy)
		return 0;
	if (l->tr->cooldown > 0) {
		l->tr->cooldown--;
		return 0;
	}
	*mv = (struct policy_move){ .cause = i, .win = l->win, .windows = 1 };
	if ((k = judge_take(m, n, i, free_cores, mv)) == 0) {
		if (l->win.p99_ns > us_ns(p->ut_us))
			k = take(m, n, i, free_cores, mv);
		else if (l->win.p99_ns < us_ns(p->lt_us))
			k = under_lt(m, n, i, free_cores, mv);
		else
			l->tr->under = 0;
	}
	if (k) {
		moved(m, mv->from);
		moved(m, mv->to);
	}
	return k;
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
