/*
 * wait.c - how an RFcom call waits for a message or for room.
 *
 * Built twice: for librfcom.so (plain programs) and, with -DRFCOM_LIBRF,
 * into librf.a.  A plain program waits like any FICM consumer: spin, then
 * sleep on the ring's futex (rf_ficm_wait).  In librf the futex would put
 * the whole core to sleep with every fiber on it, so a fiber spins
 * briefly, then yields to the core's other fibers, then sleeps with
 * rf_sleep_ns in growing steps: the core stays free for other work and an
 * idle core can still sleep (librf's idle loop), at the price of up to a
 * millisecond of extra latency after a long silence.  A writer waiting
 * for room has no futex to sleep on (FICM wakes consumers only), so it
 * polls in growing steps in both builds.
 */
#define _GNU_SOURCE
#include "rfcom/rfcom_internal.h"
#include "base/cpu.h"

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

int rfcom__wait_rx(struct rf_ficm_ring *r)
{
#ifdef RFCOM_LIBRF
	if (in_fiber()) {
		int n = rf_ficm_wait(r, RFCOM_SPIN_NS / 10, (int64_t)(RFCOM_SPIN_NS / 10));
		uint64_t t0 = rf_now_ns();
		unsigned sleeps = 0;
		while (n == -ETIMEDOUT) {
			if (rf_now_ns() - t0 < RFCOM_YIELD_NS)
				rf_yield();
			else
				rf_sleep_ns(step_ns(sleeps++));
			n = rf_ficm_ready(r);
			if (n == 0)
				n = -ETIMEDOUT;
		}
		return n;
	}
#endif
	return rf_ficm_wait(r, RFCOM_SPIN_NS, -1);
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
