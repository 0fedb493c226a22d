/*
 * place.c - which of rfkv's cores should serve: a core whose thread the
 * host keeps waiting for its CPU gets no shards and no connections while
 * a core that is not kept waiting can take them.
 *
 * Why.  A request may need any shard (shard.c forwards it to the owner)
 * and a connection's requests all pass through its core, so with the work
 * spread evenly one core that gets its CPU late (a CPU shared with a
 * higher-priority thread, an over-committed vCPU) is on the path of a
 * share of every client's requests, and its delay becomes the service's
 * tail: on the 2-core test VM, rfkv given a second, free CPU next to a
 * CPU shared with a SCHED_FIFO load generator got a p99 ten times worse
 * than on the shared CPU alone (bench/dynamic.c).  Spreading work in
 * proportion to what each core gets would not help the tail either: any
 * share above ~1 % of requests on the slow core sets the p99.  So the
 * rule is binary: a starved core stops serving (it keeps running, and
 * serves again once it is not starved or no other core is left).  With
 * many similar cores nobody is starved and nothing changes.
 *
 * The signal.  Each core samples its own thread's run-queue wait
 * (/proc/thread-self/schedstat: time runnable but not running, and how
 * many times it was switched in) every TICK_NS from a fiber of its own,
 * and keeps the mean wait per switch-in (how long anything on this core
 * waits for the CPU each time it wants it, whether the core was spinning
 * or asleep) in its own cache line: the median of the last NSAMPLES
 * ticks, so that it takes a few slow ticks out of seven (~40 ms), not
 * one unlucky wait (a neighbour's time slice), to starve a core, and
 * the size of one long wait does not matter.  It is not the
 * share of time the thread waited: a core with little work sleeps, and
 * would look healthy, get its work back and be starved again.
 *
 * The rule (kv_place_judge): starved when the median exceeds STARVE_NS
 * and STARVE_X times the best other running core's; not starved again
 * once the worst of its samples stays below half of both for RECOVER_NS
 * (quick to leave, slow to come back: a wrong "serving" costs the tail,
 * a wrong "starved" only a core's capacity).  The worst, not the median:
 * a core that serves nothing wakes about once a tick, and one wake that
 * falls in the gap of the thread it shares its CPU with says little (at
 * 70k req/s its median went to 0 every second or two, and it took its
 * work back only to be starved again 70 ms later).  Should every core be starved, the least starved
 * serve.  A flip asks every core to rebalance its shards
 * (shard.c); connections follow on their next request (conn.c).
 *
 * Without /proc (or schedstat) every core simply serves.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <rf/io.h>
#include "kv.h"

#define TICK_NS    (10ull * 1000 * 1000)
#define STARVE_NS  (40ull * 1000)
#define STARVE_X   4
#define RECOVER_NS (300ull * 1000 * 1000)
#define NSAMPLES   7

/* One core's signal; written only by the sampler on that core. */
struct place_core {
	uint64_t wait_ns, slices;  /* last schedstat reading */
	uint64_t delay_ns;         /* median of us[]: the signal */
	uint64_t calm_since;       /* rf_now_ns() since which it looks fine, or 0 */
	uint32_t starved;          /* published: stop serving */
	uint32_t sampled;          /* the reading above is valid */
	uint32_t sampler;          /* a sampler fiber exists for this core */
	uint16_t us[NSAMPLES];     /* the last waits per switch-in, us */
	uint8_t next;              /* where the next one goes */
	int32_t fd1;               /* schedstat's fd + 1; 0 not opened, -1 none */
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct place_core) == 64, "one cache line per core");

static struct place_core place[KV_MAX_CORES];
static bool debug;

static bool running(int core, int not)
{
	return core != not && core >= 0 && core < KV_MAX_CORES && rf_core_running(core);
}

/* Every core is starved (or thought so: verdicts are a tick apart): the
 * least starved serve, those within STARVE_X of the smallest delay. */
static bool least_starved(int core, int not)
{
	uint64_t min = UINT64_MAX, mine = __atomic_load_n(&place[core].delay_ns, __ATOMIC_RELAXED);

	for (int c = 0; c < rf_ncores_max() && c < KV_MAX_CORES; c++)
		if (running(c, not) && __atomic_load_n(&place[c].delay_ns, __ATOMIC_RELAXED) < min)
			min = __atomic_load_n(&place[c].delay_ns, __ATOMIC_RELAXED);
	return mine <= STARVE_X * min;
}

bool kv_place_serves(int core, int not)
{
	int n = rf_ncores_max();

	if (!running(core, not))
		return false;
	if (!__atomic_load_n(&place[core].starved, __ATOMIC_ACQUIRE))
		return true;
	for (int c = 0; c < n && c < KV_MAX_CORES; c++)   /* anyone better? */
		if (running(c, not) && !__atomic_load_n(&place[c].starved, __ATOMIC_ACQUIRE))
			return false;
	return least_starved(core, not);
}

bool kv_place_judge(bool starved, uint64_t delay, uint64_t worst, uint64_t best, uint64_t now,
		    uint64_t *calm_since)
{
	if (delay > STARVE_NS && delay > STARVE_X * best) {
		*calm_since = 0;
		return true;
	}
	if (!starved)
		return false;
	if (worst > STARVE_NS / 2 && worst > (STARVE_X / 2) * best) {
		*calm_since = 0;
		return true;
	}
	if (!*calm_since)
		*calm_since = now ? now : 1;
	return now - *calm_since < RECOVER_NS;
}

/* The samples sorted into a. */
static void sorted(const uint16_t *v, uint16_t *a)
{
	memcpy(a, v, NSAMPLES * sizeof(*a));
	for (int i = 1; i < NSAMPLES; i++)       /* insertion sort, 7 values */
		for (int j = i; j > 0 && a[j - 1] > a[j]; j--) {
			uint16_t t = a[j];
			a[j] = a[j - 1];
			a[j - 1] = t;
		}
}

/* This thread's run-queue wait (ns) and switch-ins; false if unknown.
 * The file is opened once, by the core's own thread (thread-self: the fd
 * stays that thread's), and read at offset 0 through the core's io_uring
 * where librf has one: no system call of its own on a serving core
 * (`rfbench syscalls` counts them; an open/read/close per tick was three
 * per core every 10 ms). */
static bool read_schedstat(struct place_core *p, uint64_t *wait, uint64_t *slices)
{
	char buf[128];
	unsigned long long run, w, s;
	ssize_t n;

	if (!p->fd1) {
		int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
		p->fd1 = fd < 0 ? -1 : fd + 1;
	}
	if (p->fd1 < 0)
		return false;
	n = rf_io_available() ? rf_pread(p->fd1 - 1, buf, sizeof(buf) - 1, 0)
			      : pread(p->fd1 - 1, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = 0;
	if (sscanf(buf, "%llu %llu %llu", &run, &w, &s) != 3)
		return false;
	*wait = w;
	*slices = s;
	return true;
}

/* The smallest average among the other running, sampled cores. */
static uint64_t best_other(int self)
{
	uint64_t best = UINT64_MAX;

	for (int c = 0; c < rf_ncores_max() && c < KV_MAX_CORES; c++)
		if (c != self && rf_core_running(c) &&
		    __atomic_load_n(&place[c].sampled, __ATOMIC_RELAXED))
			if (__atomic_load_n(&place[c].delay_ns, __ATOMIC_RELAXED) < best)
				best = __atomic_load_n(&place[c].delay_ns, __ATOMIC_RELAXED);
	return best;
}

/* One tick on core `self`: sample, judge, publish a flip. */
static void sample(int self)
{
	struct place_core *p = &place[self];
	uint64_t w, s, d, best;
	uint16_t a[NSAMPLES];
	bool was = p->starved, now;

	if (!read_schedstat(p, &w, &s))
		return;
	if (p->sampled && s > p->slices) {
		d = (w - p->wait_ns) / (s - p->slices) / 1000;
		p->us[p->next] = (uint16_t)(d > UINT16_MAX ? UINT16_MAX : d);
		p->next = (uint8_t)((p->next + 1) % NSAMPLES);
	}
	sorted(p->us, a);
	__atomic_store_n(&p->delay_ns, 1000ull * a[NSAMPLES / 2], __ATOMIC_RELAXED);
	p->wait_ns = w;
	p->slices = s;
	__atomic_store_n(&p->sampled, 1, __ATOMIC_RELAXED);
	best = best_other(self);
	now = best != UINT64_MAX &&
	      kv_place_judge(was, p->delay_ns, 1000ull * a[NSAMPLES - 1], best, rf_now_ns(),
			     &p->calm_since);
	if (debug)
		fprintf(stderr, "rfkv place: core %d delay %llu ns best %llu starved %d\n", self,
			(unsigned long long)p->delay_ns, (unsigned long long)best, now);
	if (now == was)
		return;
	__atomic_store_n(&p->starved, now, __ATOMIC_RELEASE);
	kv_shards_rebalance_all();
}

/* A core's sampler: lives for ever, samples only on its home core. */
static void sampler(void *arg)
{
	int home = (int)(intptr_t)arg;

	for (;;) {
		rf_sleep_ns(TICK_NS);
		if (rf_core_self() == home) {
			sample(home);
			continue;
		}
		/* Moved away with a leaving core: go home once it runs again,
		 * starting from a clean slate (the old readings are stale). */
		if (rf_core_running(home)) {
			memset(place[home].us, 0, sizeof(place[home].us));
			place[home].sampled = 0;
			place[home].calm_since = 0;
			__atomic_store_n(&place[home].starved, 0, __ATOMIC_RELEASE);
			if (rf_spawn_on(home, sampler, arg) == 0)
				return;
		}
	}
}

/* Set a core's verdict by hand (tests); its sampler may overrule it. */
void kv_place_force(int core, bool starved)
{
	if (core < 0 || core >= KV_MAX_CORES)
		return;
	__atomic_store_n(&place[core].starved, starved, __ATOMIC_RELEASE);
	kv_shards_rebalance_all();
}

void kv_place_start(int core)
{
	debug = getenv("RFKV_PLACE_DEBUG") != NULL;
	if (core < 0 || core >= KV_MAX_CORES ||
	    __atomic_exchange_n(&place[core].sampler, 1, __ATOMIC_ACQ_REL))
		return;
	if (rf_spawn_on(core, sampler, (void *)(intptr_t)core) < 0)
		__atomic_store_n(&place[core].sampler, 0, __ATOMIC_RELEASE);
}
