/*
 * futex.c - the only blocking primitive librf uses.
 *
 * Shared (not FUTEX_PRIVATE_FLAG) futexes throughout: the doorbell words
 * live in the status page that rfd maps too (FICM's ring futexes, used for
 * the acknowledgements, are shared as well), and a private futex
 * would never see rfd's wake-ups.  On private memory (standalone mode) a
 * shared futex still works, it is only keyed differently by the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "librf/internal.h"

int lrf_futex_wait(uint32_t *word, uint32_t val, int64_t timeout_ns)
{
	struct timespec ts, *tp = NULL;

	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tp = &ts;
	}
	if (syscall(SYS_futex, word, FUTEX_WAIT, val, tp, NULL, 0) < 0)
		return -errno;
	return 0;
}

void lrf_futex_wake(uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}
