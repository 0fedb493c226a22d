/*
 * park.c - blocking a fiber: park/unpark, sleeping, wait queues.
 *
 * Everything that blocks is built on one primitive, a binary permit per
 * fiber (as in Java's LockSupport), because it is race-free across cores
 * without a lock: the parker announces RF_FIB_PARKED and re-checks the
 * permit; the unparker sets the permit and then tries to move the fiber
 * from PARKED to RUNNING with a CAS.  Exactly one of them wins, and only
 * the unparker that wins queues the fiber.  A queued fiber is resumed by
 * its own core's scheduler, which only looks at its mailbox after the
 * parking fiber's switch has completed, so a fiber is never resumed while
 * its registers are still being saved.
 */
#include <stdio.h>
#include <stdlib.h>
#include "librf/internal.h"

static struct rf_fiber *must_fiber(const char *what)
{
	struct lrf_core *c = lrf_self();

	if (!c || !c->current) {
		fprintf(stderr, "librf: %s called outside a fiber\n", what);
		abort();
	}
	return c->current;
}

void rf_park(void)
{
	struct rf_fiber *f = must_fiber("rf_park");

	if (__atomic_exchange_n(&f->permit, 0, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&f->pstate, RF_FIB_PARKED, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&f->permit, __ATOMIC_SEQ_CST)) {
		uint32_t parked = RF_FIB_PARKED;
		/* An unpark raced with us: take ourselves back if it did not. */
		if (__atomic_compare_exchange_n(&f->pstate, &parked, RF_FIB_RUNNING, false,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&f->permit, 0, __ATOMIC_RELAXED);
			return;
		}
	}
	lrf_fiber_switch_out(f, RF_AFTER_PARK);
	__atomic_store_n(&f->permit, 0, __ATOMIC_RELAXED);
}

void rf_unpark(rf_fiber *f)
{
	uint32_t parked = RF_FIB_PARKED;

	__atomic_store_n(&f->permit, 1, __ATOMIC_SEQ_CST);
	if (__atomic_compare_exchange_n(&f->pstate, &parked, RF_FIB_RUNNING, false,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		lrf_make_runnable(f);
}

/* ---- sleeping ----------------------------------------------------------- */

struct sleeper {
	struct rf_fiber *f;
	uint32_t fired;
};

static void sleeper_wake(void *arg)
{
	struct sleeper *s = arg;
	struct rf_fiber *f = s->f;

	__atomic_store_n(&s->fired, 1, __ATOMIC_RELEASE);
	rf_unpark(f);
}

void rf_sleep_until(uint64_t deadline_ns)
{
	struct rf_fiber *f = must_fiber("rf_sleep_until");
	struct sleeper s = { f, 0 };
	struct rf_timer t = { .deadline = deadline_ns, .fn = sleeper_wake, .arg = &s };

	if (lrf_timer_arm(f->core, &t) < 0) {
		/* No memory for the timer heap: degrade to polling. */
		while (rf_now_ns() < deadline_ns)
			rf_yield();
		return;
	}
	while (!__atomic_load_n(&s.fired, __ATOMIC_ACQUIRE))
		rf_park();
}

void rf_sleep_ns(uint64_t ns)
{
	rf_sleep_until(rf_now_ns() + ns);
}

/* ---- wait queues -------------------------------------------------------- */

static void wq_unlink(rf_waitq *q, struct rf_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		q->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		q->tail = w->prev;
}

static void wq_timeout(void *arg)
{
	rf_unpark(arg);
}

int rf_wq_wait_until(rf_waitq *q, uint64_t deadline_ns)
{
	struct rf_fiber *f = must_fiber("rf_wq_wait");
	struct rf_waiter w = { NULL, NULL, f, 0 };
	struct rf_timer t = { .deadline = deadline_ns, .fn = wq_timeout, .arg = f };
	bool timed = deadline_ns != UINT64_MAX;
	int ret = 0;

	lrf_spin_lock(&q->lock);
	w.prev = q->tail;
	if (q->tail)
		q->tail->next = &w;
	else
		q->head = &w;
	q->tail = &w;
	lrf_spin_unlock(&q->lock);

	if (timed && lrf_timer_arm(f->core, &t) < 0)
		timed = false;
	while (!__atomic_load_n(&w.woken, __ATOMIC_ACQUIRE)) {
		if (timed && rf_now_ns() >= deadline_ns) {
			lrf_spin_lock(&q->lock);
			if (!__atomic_load_n(&w.woken, __ATOMIC_ACQUIRE)) {
				wq_unlink(q, &w);
				ret = -1;
			}
			lrf_spin_unlock(&q->lock);
			break;
		}
		rf_park();
	}
	/* The waker sets `woken` and then unparks us, both under the lock:
	 * taking the lock once waits for it to be done with this fiber. */
	lrf_spin_lock(&q->lock);
	lrf_spin_unlock(&q->lock);
	if (timed)
		lrf_timer_disarm(lrf_self(), &t);
	return ret;
}

void rf_wq_wait(rf_waitq *q)
{
	rf_wq_wait_until(q, UINT64_MAX);
}

static int wq_wake(rf_waitq *q, int max)
{
	int n = 0;

	lrf_spin_lock(&q->lock);
	while (q->head && n < max) {
		struct rf_waiter *w = q->head;
		struct rf_fiber *f = w->f;
		wq_unlink(q, w);
		__atomic_store_n(&w->woken, 1, __ATOMIC_RELEASE);
		rf_unpark(f);
		n++;
	}
	lrf_spin_unlock(&q->lock);
	return n;
}

int rf_wq_wake_one(rf_waitq *q)
{
	return wq_wake(q, 1);
}

int rf_wq_wake_all(rf_waitq *q)
{
	return wq_wake(q, 1 << 30);
}
