/*
 * timer.c - per-core timers: a binary min-heap of deadlines.
 *
 * Per core and unlocked because a timer is only ever armed, fired and
 * cancelled by the core that holds it; the heap array comes from the
 * partition allocator and only grows (a core holding n timers keeps room
 * for n), so arming is allocation-free in the steady state.  Timer structs
 * are intrusive (sleeping fibers keep theirs on their stack), and each
 * records its heap index so cancelling is O(log n) with no search.  When a
 * core is taken away its timers move to the heir core through its mailbox,
 * carried by the message embedded in each timer.
 */
#include <stdlib.h>
#include "librf/internal.h"

static void heap_set(struct lrf_timer_heap *h, uint32_t i, struct rf_timer *t)
{
	h->h[i] = t;
	t->idx = i;
}

static void sift_up(struct lrf_timer_heap *h, uint32_t i)
{
	struct rf_timer *t = h->h[i];

	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (h->h[p]->deadline <= t->deadline)
			break;
		heap_set(h, i, h->h[p]);
		i = p;
	}
	heap_set(h, i, t);
}

static void sift_down(struct lrf_timer_heap *h, uint32_t i)
{
	struct rf_timer *t = h->h[i];

	for (;;) {
		uint32_t l = 2 * i + 1, m = l;
		if (l >= h->n)
			break;
		if (l + 1 < h->n && h->h[l + 1]->deadline < h->h[l]->deadline)
			m = l + 1;
		if (t->deadline <= h->h[m]->deadline)
			break;
		heap_set(h, i, h->h[m]);
		i = m;
	}
	heap_set(h, i, t);
}

int lrf_timer_arm(struct lrf_core *c, struct rf_timer *t)
{
	struct lrf_timer_heap *h = &c->timers;

	if (h->n == h->cap) {
		uint32_t cap = h->cap ? h->cap * 2 : 64;
		struct rf_timer **n = rf_realloc(h->h, cap * sizeof(*n));
		if (!n)
			return -1;
		h->h = n;
		h->cap = cap;
	}
	t->core = c;
	t->msg.kind = RF_MSG_TIMER;
	h->h[h->n] = t;
	t->idx = h->n++;
	sift_up(h, t->idx);
	return 0;
}

static void heap_remove(struct lrf_timer_heap *h, struct rf_timer *t)
{
	uint32_t i = t->idx;
	struct rf_timer *last = h->h[--h->n];

	t->idx = RF_TIMER_IDLE;
	if (last == t)
		return;
	heap_set(h, i, last);
	sift_up(h, i);
	sift_down(h, last->idx);
}

void lrf_timer_disarm(struct lrf_core *c, struct rf_timer *t)
{
	if (t->idx == RF_TIMER_IDLE)
		return;
	if (rf_unlikely(t->core != c))
		abort(); /* timers move with their fibers; this cannot happen */
	heap_remove(&c->timers, t);
}

int lrf_timers_fire(struct lrf_core *c, uint64_t now)
{
	struct lrf_timer_heap *h = &c->timers;
	int n = 0;

	while (h->n && h->h[0]->deadline <= now) {
		struct rf_timer *t = h->h[0];
		heap_remove(h, t);
		t->fn(t->arg);
		if (t->owned)
			rf_free(t);
		n++;
	}
	return n;
}

uint64_t lrf_timers_next(struct lrf_core *c)
{
	return c->timers.n ? c->timers.h[0]->deadline : UINT64_MAX;
}

/* Hand every timer to `to`; called by a leaving core on its own thread. */
void lrf_timers_move(struct lrf_core *from, struct lrf_core *to)
{
	struct lrf_timer_heap *h = &from->timers;

	while (h->n) {
		struct rf_timer *t = h->h[--h->n];
		t->idx = RF_TIMER_IDLE;
		lrf_mbox_send(to, &t->msg);
	}
}

rf_timer *rf_timer_add(uint64_t deadline_ns, void (*fn)(void *), void *arg)
{
	struct lrf_core *c = lrf_self();
	struct rf_timer *t;

	if (!c)
		return NULL;
	t = rf_malloc(sizeof(*t));
	if (!t)
		return NULL;
	*t = (struct rf_timer){ .deadline = deadline_ns, .fn = fn, .arg = arg, .owned = 1 };
	if (lrf_timer_arm(c, t) < 0) {
		rf_free(t);
		return NULL;
	}
	return t;
}

int rf_timer_cancel(rf_timer *t)
{
	struct lrf_core *c = lrf_self();

	if (!c || t->idx == RF_TIMER_IDLE || t->core != c)
		return -1;
	heap_remove(&c->timers, t);
	rf_free(t);
	return 0;
}
