/*
 * rfstep - a libos test service whose request latency depends on how many
 * cores it has, for the policy test (tests/integration/47-policy.sh).
 *
 * Requests arrive open-loop, at random (Poisson) times at the rate of the
 * current phase, into one queue; one worker fiber per core takes them in
 * order and serves each with WORK_US of computation (a spin: it needs its
 * core), then records its time from arrival to the end with
 * rf_latency_record.  So a rate one core cannot serve makes the queue, and
 * the p99, grow until the subOS gets a second core (or the queue is full:
 * arrivals beyond it are dropped).  Arrival
 * times are the intended ones, not when the generator got to run, so a
 * busy core delays no request's clock.
 *
 *   rfstep WORK_US RATE:MS[,RATE:MS...]
 *
 * prints "rfstep: phase N rate R" as each phase starts; after the last it
 * keeps that rate until rfd ends it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rf/rf.h>

#define QLEN   4096u /* arrivals waiting (about a second's work); more are dropped,
		       * as a server with a bounded queue does, so a backlog drains soon */
#define PHASES 16
#define IDLE_NS 20000     /* an idle worker looks again after this */

static uint64_t queue[QLEN];
static uint64_t q_head, q_tail; /* atomics: taken, added */
static uint64_t work_ns;
static int nphases;
static struct { double rate; uint64_t ms; } phase[PHASES];
static int workers[1024]; /* per core index: has a worker */

static bool take(uint64_t *t)
{
	uint64_t h = __atomic_load_n(&q_head, __ATOMIC_ACQUIRE);
	while (h < __atomic_load_n(&q_tail, __ATOMIC_ACQUIRE)) {
		if (__atomic_compare_exchange_n(&q_head, &h, h + 1, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			*t = queue[h % QLEN];
			return true;
		}
	}
	return false;
}

/* Serves until its core is taken away (librf moves it; it then ends, and
 * the core's new worker, if it comes back, is started by on_cores). */
static void worker(void *arg)
{
	int home = rf_core_self();
	(void)arg;
	while (rf_core_self() == home) {
		uint64_t t0, start;
		if (!take(&t0)) {
			rf_sleep_ns(IDLE_NS);
			continue;
		}
		start = rf_now_ns();
		while (rf_now_ns() - start < work_ns)
			;
		rf_latency_record(rf_now_ns() - t0);
		rf_yield();
	}
	__atomic_store_n(&workers[home], 0, __ATOMIC_RELEASE);
}

/* A core added (or given back): its worker, on it. */
static void on_cores(int core, int cpu, bool added)
{
	(void)cpu;
	if (added && core >= 0 && core < 1024 &&
	    !__atomic_exchange_n(&workers[core], 1, __ATOMIC_ACQ_REL))
		rf_spawn(worker, NULL);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* An exponential gap (ns) for `rate` per second. */
static uint64_t gap_ns(double rate)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	double u = ((double)(rng >> 11) + 1.0) / 9007199254740993.0;
	return (uint64_t)(-log(u) / rate * 1e9);
}

static void arrive(uint64_t t)
{
	uint64_t tail = q_tail; /* one producer: the generator */
	if (tail - __atomic_load_n(&q_head, __ATOMIC_ACQUIRE) >= QLEN)
		return;
	queue[tail % QLEN] = t;
	__atomic_store_n(&q_tail, tail + 1, __ATOMIC_RELEASE);
}

/* Arrivals of every phase in turn, each at its intended time; the last
 * phase goes on. */
static void generate(void)
{
	uint64_t next = rf_now_ns();
	for (int p = 0; p < nphases; p++) {
		bool last = p + 1 == nphases;
		uint64_t end = rf_now_ns() + phase[p].ms * 1000000ull;
		printf("rfstep: phase %d rate %.0f\n", p, phase[p].rate);
		fflush(stdout);
		while (last || rf_now_ns() < end) {
			uint64_t now = rf_now_ns();
			for (; next <= now; next += gap_ns(phase[p].rate))
				arrive(next);
			rf_sleep_until(next < now + 1000000 ? next : now + 1000000);
		}
	}
}

static int parse(int argc, char **argv)
{
	char *s, *save = NULL;
	if (argc != 3 || (work_ns = strtoull(argv[1], NULL, 10) * 1000) == 0)
		return -1;
	for (s = strtok_r(argv[2], ",", &save); s && nphases < PHASES;
	     s = strtok_r(NULL, ",", &save)) {
		if (sscanf(s, "%lf:%lu", &phase[nphases].rate, &phase[nphases].ms) != 2 ||
		    phase[nphases].rate <= 0)
			return -1;
		nphases++;
	}
	return nphases ? 0 : -1;
}

static int app(int argc, char **argv)
{
	if (parse(argc, argv)) {
		fprintf(stderr, "usage: rfstep WORK_US RATE:MS[,RATE:MS...]\n");
		return 2;
	}
	rf_on_cores_changed(on_cores);
	for (int c = 0; c < rf_ncores_max() && c < 1024; c++)
		if (rf_core_running(c) && !__atomic_exchange_n(&workers[c], 1, __ATOMIC_ACQ_REL))
			rf_spawn_on(c, worker, NULL);
	generate();
	return 0;
}

int main(int argc, char **argv)
{
	rf_main(argc, argv, app);
}
