/*
 * idle.c - what a core does with nothing to do, and its time accounting.
 *
 * Polling beats sleeping by two orders of magnitude on these machines (a
 * cross-core futex wake costs ~20 us, a cache-line handoff ~100 ns), so an
 * idle core first spins for RF_IDLE_SPIN_NS watching everything that could
 * give it work, and only then sleeps on its doorbell with FUTEX_WAIT,
 * bounded by its next timer.  The sleeping flag is set and everything is
 * re-checked after a seq_cst fence before sleeping; senders do the mirror
 * image (mailbox.c), so a wake-up cannot be lost.  A core with I/O in
 * flight sleeps inside its io_uring instead, where a FUTEX_WAIT request on
 * the same doorbell stands in for the system call (io_ring.c).  The RFloop
 * connections fibers wait on are part of "everything": polled in the spin,
 * and armed before the sleep so that their clients ring (loop_conn.c),
 * which completes an operation in the ring and wakes the core.
 *
 * Busy/idle time is kept in TSC ticks locally and published to the status
 * page (which rfd reads) only now and then, so accounting costs a few
 * instructions per loop and no shared cache-line traffic.
 */
#include "librf/internal.h"
#include "librf/loop.h"

bool lrf_core_has_work(struct lrf_core *c)
{
	struct lrf_msg *m = __atomic_load_n(&c->mbox, __ATOMIC_RELAXED);

	return (m && m != RF_MBOX_CLOSED) || c->runq_head || lrf_core_asked(c) ||
	       __atomic_load_n(&c->heap->remote, __ATOMIC_RELAXED) ||
	       (c->timers.n && lrf_timers_next(c) <= rf_now_ns()) || (c->io && lrf_io_has_work(c)) ||
	       ((c->loop_wait || c->loop_bells) && lrf_loop_ready(c));
}

static uint64_t ns_to_tsc(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * lrf_clock_tsc_hz() / 1000000000ull);
}

static uint64_t tsc_to_ns(uint64_t t)
{
	uint64_t hz = lrf_clock_tsc_hz();
	return hz ? (uint64_t)((unsigned __int128)t * 1000000000ull / hz) : 0;
}

static void publish(struct lrf_core *c)
{
	struct rf_status_core *st = c->st;

	__atomic_store_n(&st->loops, c->loops, __ATOMIC_RELAXED);
	__atomic_store_n(&st->events, c->events, __ATOMIC_RELAXED);
	__atomic_store_n(&st->busy_ns, tsc_to_ns(c->busy_tsc), __ATOMIC_RELAXED);
	__atomic_store_n(&st->idle_ns, tsc_to_ns(c->idle_tsc), __ATOMIC_RELAXED);
}

/* Charge the time since the last charge to "busy"; publish if asked. */
void lrf_core_account(struct lrf_core *c, bool do_publish)
{
	uint64_t now = lrf_rdtsc();

	c->busy_tsc += now - c->acct_tsc;
	c->acct_tsc = now;
	if (do_publish)
		publish(c);
}

static void sleep_on_doorbell(struct lrf_core *c)
{
	struct rf_status_core *st = c->st;
	uint64_t next, now;
	int64_t timeout = -1, loop_cap = -1;
	uint32_t bell;

	__atomic_store_n(&st->sleeping, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	bell = __atomic_load_n(&st->doorbell, __ATOMIC_ACQUIRE);
	/* RFloop clients ring us from now on (loop_conn.c) */
	if (((c->loop_wait || c->loop_bells) && lrf_loop_arm(c, &loop_cap)) ||
	    lrf_core_has_work(c))
		goto out;
	next = lrf_timers_next(c);
	if (next != UINT64_MAX) {
		now = rf_now_ns();
		if (next <= now)
			goto out;
		timeout = (int64_t)(next - now);
	}
	if (loop_cap >= 0 && (timeout < 0 || timeout > loop_cap))
		timeout = loop_cap;
	if (lrf_io_sleeps_in_ring(c))
		lrf_io_sleep(c, bell, timeout);   /* wakes on a CQE or the doorbell */
	else
		lrf_futex_wait(&st->doorbell, bell, timeout);
out:
	__atomic_store_n(&st->sleeping, 0, __ATOMIC_RELAXED);
}

void lrf_idle(struct lrf_core *c)
{
	uint64_t start, until, now;

	lrf_core_account(c, false);
	start = c->acct_tsc;
	until = start + ns_to_tsc(RF_IDLE_SPIN_NS);
	do {
		for (int i = 0; i < 8; i++)
			base_cpu_relax();
		if (lrf_core_has_work(c))
			goto done;
		now = lrf_rdtsc();
	} while (now < until);
	/* Publish before a possibly long sleep so rfd sees fresh numbers. */
	c->idle_tsc += now - start;
	start = now;
	publish(c);
	sleep_on_doorbell(c);
done:
	now = lrf_rdtsc();
	c->idle_tsc += now - start;
	c->acct_tsc = now;
}
