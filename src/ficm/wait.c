/*
 * wait.c - NAPI-style notification for FICM rings: the consumer polls
 * while busy and sleeps on a futex only when idle; the producer makes the
 * wake-up system call only when the consumer said it sleeps.
 *
 * The futex is a shared one (no FUTEX_PRIVATE_FLAG): the word lives in a
 * region that two processes map, so the kernel keys it by the page, not by
 * the address space.
 *
 * Why no wake-up is lost.  Two words, both sequentially consistent: the
 * valid mark of the slot the consumer expects next (the first slot of the
 * producer's next batch, whose mark commit writes last) and `sleeping`:
 *
 *   consumer (going to sleep)          producer (after writing payloads)
 *   C1 b = bell                        P1 mark[first] = m  (seq_cst)
 *   C2 sleeping = 1   (seq_cst)        P2 s = sleeping     (seq_cst)
 *   C3 x = mark[head] (seq_cst)        P3 if s and exchange(sleeping, 0):
 *   C4 if x != m: futex_wait(bell, b)        bell += 1; futex_wake(bell)
 *
 * C2, C3, P1 and P2 are in one total order S.  If C2 precedes P2 in S, P2
 * reads 1 and the producer wakes.  Otherwise P2 precedes C2, so P1 (before
 * P2) precedes C3 (after C2) and C3 reads the new mark: the consumer does
 * not sleep.  (Both reading old values is the store-buffering outcome that
 * seq_cst forbids.)  C3 also checks the tail against the mark
 * (ficm_may_sleep), for validation only.  When the producer wakes, its
 * bell increment comes after C1 (C1 is before C2 whose value it read), so
 * futex_wait(bell, b) either finds bell != b and returns at once, or is
 * already queued and
 * gets the FUTEX_WAKE: the kernel checks the word and queues the waiter
 * under the same lock the wake takes.  A spurious or extra wake costs a
 * loop, nothing more; the exchange keeps a burst of sends to one sleeper
 * at one FUTEX_WAKE.
 *
 * A hostile peer can at worst make the other side pay: a consumer that
 * leaves `sleeping` set costs the producer a wake per batch; a producer
 * that bumps `bell` makes the consumer loop.  Waits are bounded by the
 * caller's timeout and re-check the ring's state (closed, corrupt).
 */
#define _GNU_SOURCE
#include "ficm/shm.h"
#include "base/cpu.h"
#include "base/time.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void futex_wait(_Atomic uint32_t *w, uint32_t val, int64_t left_ns)
{
	struct timespec ts = { (time_t)(left_ns / 1000000000), (long)(left_ns % 1000000000) };
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, val, left_ns < 0 ? NULL : &ts, NULL, 0);
}

void ficm_kick(struct rf_ficm_shm *shm)
{
	atomic_fetch_add_explicit(&shm->bell, 1, memory_order_seq_cst);
	futex_wake(&shm->bell);
}

void ficm_notify(struct rf_ficm_shm *shm)
{
	if (atomic_load_explicit(&shm->sleeping, memory_order_seq_cst) &&
	    atomic_exchange_explicit(&shm->sleeping, 0, memory_order_seq_cst))
		ficm_kick(shm);
}

/* Poll until something is ready or `until` (ns, 0: no limit) passes. */
static int spin(struct rf_ficm_ring *r, uint64_t until)
{
	for (unsigned i = 1;; i++) {
		int n = rf_ficm_ready(r);
		if (n)
			return n;
		base_cpu_relax();
		if ((i & 255) == 0 && until && base_now_ns() >= until)
			return 0;
	}
}

/* One sleep: the C1..C4 sequence above.  Returns ready(), 0 to go on. */
static int sleep_once(struct rf_ficm_ring *r, int64_t left_ns)
{
	struct rf_ficm_shm *shm = r->shm;
	uint32_t b = atomic_load_explicit(&shm->bell, memory_order_seq_cst);
	atomic_store_explicit(&shm->sleeping, 1, memory_order_seq_cst);
	int st = ficm_may_sleep(r);
	if (st == 0 && atomic_load_explicit(&shm->state, memory_order_acquire) == RF_FICM_OPEN)
		futex_wait(&shm->bell, b, left_ns);
	atomic_store_explicit(&shm->sleeping, 0, memory_order_relaxed);
	return st < 0 ? st : rf_ficm_ready(r);
}

int rf_ficm_wait(struct rf_ficm_ring *r, uint64_t spin_ns, int64_t timeout_ns)
{
	int n = rf_ficm_ready(r);
	if (n)
		return n;
	uint64_t t0 = base_now_ns();
	uint64_t deadline = timeout_ns < 0 ? 0 : t0 + (uint64_t)timeout_ns;
	if (spin_ns) {
		uint64_t until = t0 + spin_ns;
		if (deadline && deadline < until)
			until = deadline;
		if ((n = spin(r, until)))
			return n;
	}
	for (;;) {
		int64_t left = -1;
		if (deadline) {
			uint64_t t = base_now_ns();
			if (t >= deadline)
				return -ETIMEDOUT;
			left = (int64_t)(deadline - t);
		}
		if ((n = sleep_once(r, left)))
			return n;
	}
}
