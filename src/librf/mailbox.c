/*
 * mailbox.c - how anything reaches a core: an MPSC message list plus a
 * doorbell.
 *
 * The list is a LIFO pushed with one CAS by any thread and taken whole by
 * its core with one exchange, then reversed into arrival order.  Taking
 * everything at once means no ABA problem and no per-message atomics on
 * the receiving side.  A core that leaves swaps in RF_MBOX_CLOSED in the
 * same exchange, so a push either lands before the close (and is forwarded
 * with the rest of the core's work) or fails and goes to the core's heir:
 * nothing is lost in between.
 *
 * Waking: the receiver publishes status.sleeping=1 and re-checks its
 * mailbox before it sleeps; a sender publishes its message and then checks
 * `sleeping`, each side with a seq_cst fence in between, so at least one of
 * them sees the other (no lost wake-up).  A sender pays for the doorbell
 * and the FUTEX_WAKE only when the receiver really sleeps, and only the
 * first sender to clear `sleeping` pays.
 */
#include <stdlib.h>
#include "librf/internal.h"

int lrf_mbox_push(struct lrf_core *c, struct lrf_msg *m)
{
	struct lrf_msg *old = __atomic_load_n(&c->mbox, __ATOMIC_RELAXED);

	do {
		if (old == RF_MBOX_CLOSED)
			return -1;
		m->next = old;
	} while (!__atomic_compare_exchange_n(&c->mbox, &old, m, true,
					      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	return 0;
}

void lrf_core_kick(struct lrf_core *c)
{
	uint32_t *sleeping = &c->st->sleeping;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(sleeping, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(sleeping, 0, __ATOMIC_SEQ_CST)) {
		__atomic_fetch_add(&c->st->doorbell, 1, __ATOMIC_SEQ_CST);
		lrf_futex_wake(&c->st->doorbell, 1);
	}
}

/* Follow heirs from a core that left to one that still serves. */
static struct lrf_core *redirect(struct lrf_core *c)
{
	struct lrf_core *h = __atomic_load_n(&c->heir, __ATOMIC_ACQUIRE);

	if (h && h != c)
		return h;
	h = lrf_core_any_running(c);
	return h ? h : c;
}

void lrf_mbox_send(struct lrf_core *c, struct lrf_msg *m)
{
	/* A core closes its mailbox only after naming an heir, so this ends
	 * unless every core left (then we spin until one comes back). */
	while (lrf_mbox_push(c, m) < 0) {
		c = redirect(c);
		base_cpu_relax();
	}
	if (c != lrf_self())
		lrf_core_kick(c);
}

struct lrf_msg *lrf_mbox_take(struct lrf_core *c, bool close)
{
	struct lrf_msg *m =
		__atomic_exchange_n(&c->mbox, close ? RF_MBOX_CLOSED : NULL, __ATOMIC_ACQUIRE);
	struct lrf_msg *fifo = NULL;

	if (m == RF_MBOX_CLOSED)
		return NULL;
	while (m) {
		struct lrf_msg *next = m->next;
		m->next = fifo;
		fifo = m;
		m = next;
	}
	return fifo;
}

void lrf_mbox_reopen(struct lrf_core *c)
{
	struct lrf_msg *closed = RF_MBOX_CLOSED;

	__atomic_compare_exchange_n(&c->mbox, &closed, NULL, false,
				    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

void lrf_msg_dispatch(struct lrf_core *c, struct lrf_msg *m)
{
	switch (m->kind) {
	case RF_MSG_EVENT:
		m->fn(m->arg);
		rf_free(m);
		break;
	case RF_MSG_FIBER:
		lrf_runq_push(c, (struct rf_fiber *)((char *)m - offsetof(struct rf_fiber, msg)));
		break;
	case RF_MSG_TIMER: {
		struct rf_timer *t = (struct rf_timer *)((char *)m - offsetof(struct rf_timer, msg));
		if (lrf_timer_arm(c, t) < 0)
			abort(); /* cannot drop a timer: its fiber would hang */
		break;
	}
	case RF_MSG_ADOPT:
		lrf_heap_adopt(c, m);
		break;
	default:
		abort();
	}
}

int lrf_mbox_drain(struct lrf_core *c)
{
	struct lrf_msg *m = lrf_mbox_take(c, false);
	int n = 0;

	while (m) {
		struct lrf_msg *next = m->next;
		lrf_msg_dispatch(c, m);
		m = next;
		n++;
	}
	return n;
}

int rf_post(int core, void (*fn)(void *), void *arg)
{
	struct lrf_core *c = lrf_core_get(core);
	struct lrf_msg *m;

	if (!c)
		return -1;
	m = rf_malloc(sizeof(*m));
	if (!m)
		return -1;
	m->kind = RF_MSG_EVENT;
	m->fn = fn;
	m->arg = arg;
	lrf_mbox_send(c, m);
	return 0;
}
