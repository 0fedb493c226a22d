/*
 * wait.c - how an RFcom call waits for a message or for room.
 *
 * Built twice: for librfcom.so (plain programs) and, with -DRFCOM_LIBRF,
 * into librf.a.  A reader first spins receiving (rfcom__spin_rx): the loop
 * a bare FICM poller runs, receive or pause, so that a message is taken
 * the moment its line arrives, with no clock read or call in between.
 * Then a plain program sleeps on the ring's futex (rf_ficm_wait).  In
 * librf the futex would put the whole core to sleep with every fiber on
 * it, so a fiber spins a tenth as long, then yields to the core's other
 * fibers, then sleeps with rf_sleep_ns in growing steps: the core stays
 * free for other work and an
 * idle core can still sleep (librf's idle loop), at the price of up to a
 * millisecond of extra latency after a long silence.  A writer waiting
 * for room has no futex to sleep on (FICM wakes consumers only), so it
 * polls in growing steps in both builds.
 */
#define _GNU_SOURCE
#include "rfcom/rfcom_internal.h"
#include "base/cpu.h"
#include "base/time.h"

#include <errno.h>
#include <time.h>
#ifdef RFCOM_LIBRF
#include "rf/rf.h"
#endif

#define STEP_MIN_NS 1000ull
#define STEP_MAX_NS 1000000ull

static uint64_t step_ns(unsigned round)
{
	uint64_t ns = STEP_MIN_NS << (round < 10 ? round : 10);
	return ns < STEP_MAX_NS ? ns : STEP_MAX_NS;
}

static void plain_sleep(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
	nanosleep(&ts, NULL);
}

#ifdef RFCOM_LIBRF
static bool in_fiber(void)
{
	return rf_core_self() >= 0 && rf_fiber_self() != NULL;
}
#endif

int rfcom__can_block(void)
{
#ifdef RFCOM_LIBRF
	if (rf_core_self() >= 0 && rf_fiber_self() == NULL)
		return -EWOULDBLOCK; /* scheduler context: events, timers, hooks */
#endif
	return 0;
}

int rfcom__spin_rx(struct rf_ficm_ring *r, struct rf_ficm_msg *m, int want)
{
	uint64_t budget = RFCOM_SPIN_NS, t0 = 0;
#ifdef RFCOM_LIBRF
	if (in_fiber())
		budget = RFCOM_SPIN_NS / 10;
#endif
	base_cpu_settle();   /* as after a commit (ficm/ring.c): no poll runs ahead */
	for (unsigned i = 1;; i++) {
		int n = rf_ficm_recv(r, m, want);
		if (n)
			return n;
		base_cpu_relax();
		if ((i & 255) == 0) {   /* the first clock read starts the budget */
			uint64_t t = base_now_ns();
			if (!t0)
				t0 = t;
			else if (t - t0 >= budget)
				return 0;
		}
	}
}

int rfcom__wait_rx(struct rf_ficm_ring *r)
{
#ifdef RFCOM_LIBRF
	if (in_fiber()) {
		uint64_t t0 = rf_now_ns();
		unsigned sleeps = 0;
		for (;;) {
			int n = rf_ficm_ready(r);
			if (n)
				return n;
			if (rf_now_ns() - t0 < RFCOM_YIELD_NS)
				rf_yield();
			else
				rf_sleep_ns(step_ns(sleeps++));
		}
	}
#endif
	return rf_ficm_wait(r, 0, -1);
}

void rfcom__wait_tx_step(unsigned *round)
{
	unsigned n = (*round)++;
#ifdef RFCOM_LIBRF
	if (in_fiber()) {
		if (n < 64)
			rf_yield();
		else
			rf_sleep_ns(step_ns(n - 64));
		return;
	}
#endif
	if (n < 64) {
		for (int i = 0; i < 256; i++)
			base_cpu_relax();
		return;
	}
	plain_sleep(step_ns(n - 64));
}
