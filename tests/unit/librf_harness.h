/*
 * librf_harness.h - shared helpers for librf's unit tests.
 *
 * The test thread stays outside librf (a "foreign" thread): it runs code on
 * cores by posting events or spawning fibers, and waits for results with
 * bounded polling that fails the test on timeout, never with a sleep that
 * merely hopes things are done.  Tests that play rfd (h_rfd_*) make the
 * control rings, send commands on them and take the acknowledgements, as
 * rfd does (rf/desc.h).
 */
#ifndef RF_TEST_LIBRF_HARNESS_H
#define RF_TEST_LIBRF_HARNESS_H

#define _GNU_SOURCE
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>
#include "ficm/ctlmsg.h"
#include "librf/internal.h"
#include "librf/testing.h"
#include "base/time.h"

/* Poll `cond` for up to ms milliseconds; fail the test if it never holds. */
#define WAIT_FOR(cond, ms)                                                    \
	do {                                                                  \
		uint64_t wf_end_ = base_now_ns() + (uint64_t)(ms) * 1000000ull;    \
		while (!(cond)) {                                             \
			if (base_now_ns() > wf_end_)                               \
				fail_msg("timed out waiting for %s", #cond);  \
			sched_yield();                                        \
		}                                                             \
	} while (0)

static inline int h_ncpus_allowed(void)
{
	cpu_set_t s;
	if (sched_getaffinity(0, sizeof(s), &s) < 0)
		return 1;
	return CPU_COUNT(&s);
}

/* The first two allowed CPUs (b = -1 if only one). */
static inline void h_two_cpus(int *a, int *b)
{
	cpu_set_t s;
	*a = *b = -1;
	sched_getaffinity(0, sizeof(s), &s);
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &s))
			continue;
		if (*a < 0)
			*a = c;
		else if (*b < 0)
			*b = c;
	}
}

/* cmocka's asserts longjmp into the test thread: in code running on a
 * core (fibers, events, timers) use CHECK, which records the first
 * failure for h_run_on / h_check to report from the test thread. */
static const char *volatile h_failed;
#define H_STR2(x) #x
#define H_STR(x) H_STR2(x)
#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond) && !h_failed)                                     \
			h_failed = __FILE__ ":" H_STR(__LINE__) ": " #cond;   \
	} while (0)

static inline void h_check(void)
{
	if (h_failed) {
		const char *f = h_failed;
		h_failed = NULL;
		fail_msg("on a core: %s", f);
	}
}

/* Run fn(arg) in a fiber on core `core` and wait (bounded) until it ends. */
struct h_call {
	void (*fn)(void *);
	void *arg;
	volatile int done;
};

static void h_call_fiber(void *p)
{
	struct h_call *c = p;
	c->fn(c->arg);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
}

static inline void h_run_on(int core, void (*fn)(void *), void *arg)
{
	struct h_call c = { fn, arg, 0 };
	assert_int_equal(rf_spawn_on(core, h_call_fiber, &c), 0);
	WAIT_FOR(__atomic_load_n(&c.done, __ATOMIC_ACQUIRE), 10000);
	h_check();
}

static inline int h_standalone(const char *cores, const char *mem)
{
	if (cores)
		setenv("RF_CORES", cores, 1);
	else
		unsetenv("RF_CORES");
	setenv("RF_MEM", mem, 1);
	if (lrf_test_attach_standalone() < 0)
		return -1;
	/* Cores start asynchronously: wait for the initial acknowledgement. */
	WAIT_FOR(__atomic_load_n(&lrf_g.status->applied_gen, __ATOMIC_ACQUIRE) == lrf_g.desc->gen,
		 5000);
	return 0;
}

/* Standalone librf on up to two of this process's CPUs. */
static inline int h_standalone_two(const char *mem)
{
	int a, b;
	char list[32];

	h_two_cpus(&a, &b);
	if (b < 0)
		snprintf(list, sizeof(list), "%d", a);
	else
		snprintf(list, sizeof(list), "%d,%d", a, b);
	return h_standalone(list, mem);
}

/* ---- playing rfd --------------------------------------------------------- */

/* The control rings (shared anonymous memory, formatted) and rfd's ends. */
struct h_rfd {
	void *msgs;                    /* pass to lrf_test_attach */
	struct rf_ficm_ring cmd, acks;
	uint32_t acked;                /* highest generation acknowledged */
};

static inline int h_rfd_rings(struct h_rfd *r)
{
	memset(r, 0, sizeof(*r));
	r->msgs = mmap(NULL, RF_MSGS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (r->msgs == MAP_FAILED) {
		r->msgs = NULL;
		return -1;
	}
	if (ficm_ctl_format(r->msgs, RF_MSGS_SIZE) ||
	    ficm_ctl_attach(r->msgs, RF_MSGS_SIZE, RF_MSGS_RFD, &r->cmd, &r->acks))
		return -1;
	return 0;
}

static inline void h_rfd_free(struct h_rfd *r)
{
	if (r->msgs)
		munmap(r->msgs, RF_MSGS_SIZE);
	memset(r, 0, sizeof(*r));
}

/* Announce generation gen like rfd: the command on the ring, then the
 * doorbell of every CPU the subOS has, gains or is losing. */
static inline void h_rfd_send(struct h_rfd *r, const struct rf_desc *d, struct rf_status *s,
			      enum rf_ctl_type cmd, uint32_t gen)
{
	assert_int_equal(ficm_ctl_send(&r->cmd, cmd, gen), 1);
	for (int c = 0; c < RF_MAX_CPUS; c++) {
		if (s->core[c].state != RF_CORE_RUNNING && d->cpu[c] == RF_CPU_NONE)
			continue;
		__atomic_fetch_add(&s->core[c].doorbell, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &s->core[c].doorbell, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
}

/* Take the replies waiting; true once generation gen is acknowledged. */
static inline bool h_rfd_acked(struct h_rfd *r, uint32_t gen)
{
	struct rf_ficm_msg m;

	while (rf_ficm_recv(&r->acks, &m, 1) == 1) {
		assert_int_equal(m.len, 0);
		if (m.type == RF_REPLY_ACK && (int32_t)(m.tag - r->acked) > 0)
			r->acked = m.tag;
	}
	return (int32_t)(r->acked - gen) >= 0;
}

/* Wait like rfd (sleeping on the reply ring's futex, no spin: the test
 * shares its CPUs with the subOS) until gen is
 * acknowledged; fail the test after ms milliseconds. */
static inline void h_rfd_wait_ack(struct h_rfd *r, uint32_t gen, int ms)
{
	uint64_t end = base_now_ns() + (uint64_t)ms * 1000000ull;

	while (!h_rfd_acked(r, gen)) {
		if (base_now_ns() > end)
			fail_msg("no ack for gen %u (acked %u)", gen, r->acked);
		rf_ficm_wait(&r->acks, 0, 10000000);
	}
}

#endif
