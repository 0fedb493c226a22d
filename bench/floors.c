/*
 * floors.c - the kernel floors `rfbench lifecycle` judges rfd against,
 * measured in the same run on the same cores and disk:
 *
 *   wake RTT    two threads pinned to the two CPUs a core resize moves
 *               between, each asleep in FUTEX_WAIT until the other wakes
 *               it: a core handshake is one such wake there (rfd -> the
 *               core's thread) and one back (the acknowledgement).  Twice:
 *               the woken thread asleep for 30 us (the figure the targets
 *               use), and asleep for 2 ms first, as a parked core is
 *               between two resizes - on a VM a CPU idle that long has
 *               left the host's halt-polling and costs a full wake-up.
 *   fsync       one journal-sized line appended to a file in the state
 *               directory and fdatasync'd, as rfd's journal does before
 *               it answers; idle_ns apart, as rfd's appends are (an
 *               fdatasync right after another is about half as dear as
 *               one after a millisecond of quiet: 137 against 200 us on
 *               this VM's disk).
 *   fresh mem   mmap of anonymous memory and a write to each of its pages,
 *               what a program does to get memory without rfd's pool.
 *
 * Ratios against these stay meaningful on a slower or busier machine,
 * where absolute times would not.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The ping side waits this long before each ping, so the pong side is
 * surely asleep in the kernel when it is woken. */
#define WAKE_SETTLE_NS (30ull * 1000)
#define WAKE_WARM 20
/* A resize record in rfd's journal is about this long (the whole line). */
#define JOURNAL_LINE_BYTES 480
#define PAGE 4096ul

struct pingpong {
	_Atomic uint32_t ping, pong;   /* the round numbers, each a futex word */
	int cpu;                       /* the pong thread's */
	int rounds;
	int failed;
};

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
	struct timespec ts = { (time_t)(BENCH_STALL_NS / 1000000000ull), 0 };
	return syscall(SYS_futex, (uint32_t *)w, op, val, op == FUTEX_WAIT ? &ts : NULL, NULL, 0);
}

/* Sleep until *w holds `want`; false if nothing came for BENCH_STALL_NS. */
static bool sleep_for(_Atomic uint32_t *w, uint32_t want)
{
	uint32_t v;
	while ((v = atomic_load(w)) != want)
		if (futex(w, FUTEX_WAIT, v) < 0 && errno == ETIMEDOUT)
			return false;
	return true;
}

static int pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static void *pong_main(void *arg)
{
	struct pingpong *pp = arg;
	if (pin_to(pp->cpu)) {
		pp->failed = 1;
		return NULL;
	}
	for (uint32_t r = 1; r <= (uint32_t)pp->rounds; r++) {
		if (!sleep_for(&pp->ping, r)) {
			pp->failed = 1;
			return NULL;
		}
		atomic_store(&pp->pong, r);
		futex(&pp->pong, FUTEX_WAKE, 1);
	}
	return NULL;
}

/* Before a ping: idle_ns asleep (the pong's CPU idles with it), then the
 * settle spin, so the pinging side is awake and running as rfd is. */
static void before_ping(uint64_t idle_ns)
{
	struct timespec ts = { (time_t)(idle_ns / 1000000000ull), (long)(idle_ns % 1000000000ull) };
	if (idle_ns)
		nanosleep(&ts, NULL);
	uint64_t settle = base_now_ns() + WAKE_SETTLE_NS;
	while (base_now_ns() < settle)
		base_cpu_relax();
}

/* One thread per CPU (the caller's on cpu[0], restored after). */
int floor_wake_rtt(const int cpu[2], int n, uint64_t idle_ns, struct series *s)
{
	struct pingpong pp = { .cpu = cpu[1], .rounds = n + WAKE_WARM };
	cpu_set_t saved;
	pthread_t t;
	int rc = -1;
	if (sched_getaffinity(0, sizeof(saved), &saved) || pin_to(cpu[0]))
		return -1;
	if (pthread_create(&t, NULL, pong_main, &pp))
		goto out;
	for (uint32_t r = 1; r <= (uint32_t)pp.rounds && !pp.failed; r++) {
		before_ping(idle_ns);
		uint64_t t0 = base_now_ns();
		atomic_store(&pp.ping, r);
		futex(&pp.ping, FUTEX_WAKE, 1);
		if (!sleep_for(&pp.pong, r)) {
			pp.failed = 1;
			atomic_store(&pp.ping, UINT32_MAX); /* let it see the end */
			futex(&pp.ping, FUTEX_WAKE, 1);
			break;
		}
		if (r > WAKE_WARM)
			series_add(s, base_now_ns() - t0);
	}
	pthread_join(t, NULL);
	rc = pp.failed ? -1 : 0;
out:
	sched_setaffinity(0, sizeof(saved), &saved);
	if (rc)
		fprintf(stderr, "rfbench: the futex wake-up ping-pong failed\n");
	return rc;
}

int floor_fsync(const char *dir, int n, uint64_t idle_ns, struct series *s)
{
	char path[512], line[JOURNAL_LINE_BYTES];
	snprintf(path, sizeof(path), "%s/fsync-floor", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "rfbench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	int rc = 0;
	for (int i = 0; i < n && !rc; i++) {
		struct timespec quiet = { 0, (long)idle_ns };
		if (idle_ns)
			nanosleep(&quiet, NULL);
		uint64_t t0 = base_now_ns();
		if (write(fd, line, sizeof(line)) != (ssize_t)sizeof(line) || fdatasync(fd))
			rc = -1;
		else
			series_add(s, base_now_ns() - t0);
	}
	close(fd);
	unlink(path);
	if (rc)
		fprintf(stderr, "rfbench: the fsync floor failed: %s\n", strerror(errno));
	return rc;
}

int floor_mem_fresh(uint64_t bytes, int n, struct series *s)
{
	for (int i = 0; i < n; i++) {
		uint64_t t0 = base_now_ns();
		char *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (m == MAP_FAILED) {
			fprintf(stderr, "rfbench: mmap of fresh memory: %s\n", strerror(errno));
			return -1;
		}
		for (uint64_t off = 0; off < bytes; off += PAGE)
			((volatile char *)m)[off] = 1;
		series_add(s, base_now_ns() - t0);
		munmap(m, bytes);
	}
	return 0;
}
