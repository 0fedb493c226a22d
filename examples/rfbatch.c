/*
 * rfbatch - a batch job as a libos application: one compute fiber per
 * core, each hashing fixed 16 KiB chunks over and over and counting them.
 *
 * It follows its partition as rfd resizes it: a core that arrives gets a
 * worker (rf_on_cores_changed), and a worker whose core was taken away
 * (librf moved it to another core) simply ends, so there is always one per
 * core.  Chunks are small (~10-20 us) and each is followed by rf_yield, so
 * the core's scheduler sees reconfiguration requests promptly even though
 * the job never sleeps.  At exit (shutdown or --seconds) it prints chunks
 * per core.
 *
 * --progress MS prints "rfbatch: at T total N" every MS milliseconds (T is
 * CLOCK_MONOTONIC in ns, N the chunks done so far), so that an experiment
 * can count the work done between two moments of its own (rfbench
 * dynamic) in whatever system runs the job; a paused job prints nothing
 * (its count does not move either).
 *
 *   rfbatch [--seconds N] [--progress MS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <rf/rf.h>

#define CHUNK     16384
#define MAX_CORES 1024

struct counter {
	uint64_t chunks;
	uint64_t sink;
} __attribute__((aligned(64)));

static struct counter counts[MAX_CORES];
static uint64_t t_start;

static uint64_t hash_chunk(const uint64_t *w, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= w[i];
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h;
}

static void worker(void *arg)
{
	int home = rf_core_self();
	uint64_t *buf = rf_malloc(CHUNK);
	uint64_t h = (uintptr_t)arg;

	(void)arg;
	if (!buf)
		return;
	for (size_t i = 0; i < CHUNK / 8; i++)
		buf[i] = i * 0x9e3779b97f4a7c15ull;
	/* Ends when librf moved us off our core: that core has left. */
	while (rf_core_self() == home) {
		h = hash_chunk(buf, CHUNK / 8, h);
		buf[h % (CHUNK / 8)] ^= h;
		counts[home].chunks++;
		counts[home].sink = h;
		rf_yield();
	}
	rf_free(buf);
}

static void on_cores_changed(int core, int cpu, bool added)
{
	(void)cpu;
	if (added && core < MAX_CORES)
		rf_spawn(worker, (void *)(uintptr_t)core);
}

static uint64_t total_chunks(void)
{
	uint64_t total = 0;

	for (int c = 0; c < rf_ncores_max() && c < MAX_CORES; c++)
		total += __atomic_load_n(&counts[c].chunks, __ATOMIC_RELAXED);
	return total;
}

/* Until `until` (rf_now_ns; 0: for ever): a progress line every ms. */
static void progress(uint64_t ms, uint64_t until)
{
	struct timespec ts;

	while (!until || rf_now_ns() < until) {
		rf_sleep_ns(ms * 1000000ull);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		printf("rfbatch: at %llu total %llu\n",
		       (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec,
		       (unsigned long long)total_chunks());
		fflush(stdout);
	}
}

static void summary(void)
{
	double secs = (double)(rf_now_ns() - t_start) / 1e9;
	uint64_t total = 0;

	for (int c = 0; c < rf_ncores_max() && c < MAX_CORES; c++) {
		uint64_t n = __atomic_load_n(&counts[c].chunks, __ATOMIC_RELAXED);
		total += n;
		printf("rfbatch: core %d cpu %d: %llu chunks, %.1f MB/s%s\n", c, rf_core_cpu(c),
		       (unsigned long long)n, (double)n * CHUNK / 1e6 / secs,
		       rf_core_running(c) ? "" : " (left)");
	}
	printf("rfbatch: total %llu chunks in %.2f s\n", (unsigned long long)total, secs);
	fflush(stdout);
}

static int app(int argc, char **argv)
{
	long seconds = -1, every = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--progress") && i + 1 < argc &&
			   strtol(argv[i + 1], NULL, 10) > 0) {
			every = strtol(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "usage: rfbatch [--seconds N] [--progress MS]\n");
			return 2;
		}
	}
	t_start = rf_now_ns();
	rf_on_shutdown(summary);
	rf_on_cores_changed(on_cores_changed);
	for (int c = 0; c < rf_ncores_max(); c++)
		if (rf_core_running(c) && rf_spawn_on(c, worker, (void *)(uintptr_t)c) < 0)
			fprintf(stderr, "rfbatch: no memory for a worker on core %d\n", c);
	printf("rfbatch: %d cores working\n", rf_ncores());
	fflush(stdout);
	if (every > 0)
		progress((uint64_t)every, seconds < 0 ? 0 : t_start + (uint64_t)seconds * 1000000000ull);
	if (seconds < 0)
		for (;;)
			rf_park();  /* until rfd's shutdown */
	rf_sleep_ns((uint64_t)seconds * 1000000000ull);
	return 0;
}

int main(int argc, char **argv)
{
	rf_main(argc, argv, app);
}
