/*
 * ficm.c - `rfbench ficm`: FICM channel latency and throughput against the
 * physical floor and the kernel's IPC, all in one run.
 *
 * The headline fields (rtt_ns_*, cacheline_rtt_ns_*, the targets) come from
 * two real subOSes of a private rfd talking over channels rfd grants:
 * ficm_subos.c.  This file first measures, on the same two CPUs (the first
 * two of the affinity mask), what needs no rfd: two processes sharing a
 * memfd, the parent pinned to one CPU and a forked child to the other.  One
 * child per measurement; every path kills and reaps it.  Each measurement
 * runs a warm-up (a tenth, not recorded) and then N round trips, each
 * recorded into a histogram and kept raw for the CSV:
 *
 *   cacheline   a raw shared-variable ping-pong: the parent writes an odd
 *               value, the child answers with the next even one; the floor
 *               (process_cacheline_rtt_ns_*)
 *   ficm        a 64-byte message on a bare FICM ring A, echoed back on
 *               ring B, both sides polling (process_rtt_ns_*)
 *   unix        64 bytes over a Unix stream socketpair and back, each side
 *               blocking in read (it sleeps between messages)
 *   unix_busypoll  the same, each side spinning on recv(MSG_DONTWAIT) with
 *               the pause FICM's pollers use: the kernel's IPC on the same
 *               terms as ours (both spin), so the fair one to compare with
 *   pipe        64 bytes over a pipe and back on another
 *   wake        the child sleeps on ring A's futex between messages
 *               (rf_ficm_wait with no spinning); the parent sends at a slow
 *               pace once the child says it sleeps, latency measured from
 *               the intended send time to the echo's arrival (open loop)
 *   msgs_per_s  one way, batches of 32 on a 1024-slot ring, the child
 *               checking every sequence number
 *
 * A round trip's time is the difference of two consecutive clock reads
 * (one read per trip, vDSO, TSC clocksource); clock_read_ns reports what
 * one read costs, included once in every trip of every method alike.
 * -n N scales everything: N*1000 polling trips (between the processes, and
 * of each kind between the subOSes), N*200 kernel trips, N*10 wake-ups,
 * N*100000 one-way messages (default N = 100, at most 10000).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ficm/shm.h"
#include "base/units.h"
#include "rf/ficm.h"

#define RING_SLOTS   1024
#define BATCH        32
#define WAKE_PACE_NS 300000ull

struct shared {
	alignas(128) _Atomic uint64_t ball;    /* the cache-line ping-pong */
	alignas(128) _Atomic uint64_t done;    /* throughput: messages the child got */
};

struct ctx {
	char *mem;
	size_t len, ring_len;
	struct shared *sh;
	void *ring_a, *ring_b;     /* parent -> child, child -> parent */
	int cpu[2];                /* parent's, child's */
	int n;                     /* recorded iterations of this phase */
	int warm;                  /* unrecorded ones before them */
	int fd[4];                 /* kernel phases: parent's then child's ends */
	bool busy;                 /* kernel phases: spin on MSG_DONTWAIT */
	struct series *s;
};

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static pid_t child_start(struct ctx *c, int (*fn)(struct ctx *))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(pin(c->cpu[1]) == 0 ? fn(c) : 125);
	}
	return pid;
}

/* Reap the child (killing it first if the parent failed); 0 if both did
 * their part. */
static int child_end(pid_t pid, int rc, const char *what)
{
	int st = 0;
	if (pid <= 0)
		return -1;
	if (rc)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		rc = -1;
	if (rc)
		fprintf(stderr, "rfbench ficm: %s failed (child status %#x)\n", what, st);
	return rc;
}

/* ---- cache-line floor ---------------------------------------------------- */

static int child_cacheline(struct ctx *c)
{
	unsigned spins = 0;
	uint64_t since = 0;
	for (uint64_t v = 1; v < 2ull * (uint64_t)(c->n + c->warm); v += 2) {
		while (atomic_load_explicit(&c->sh->ball, memory_order_acquire) != v) {
			base_cpu_relax();
			if (stalled(&spins, &since))
				return 1;
		}
		since = 0;
		atomic_store_explicit(&c->sh->ball, v + 1, memory_order_release);
	}
	return 0;
}

static int run_cacheline(struct ctx *c)
{
	atomic_store(&c->sh->ball, 0);
	pid_t pid = child_start(c, child_cacheline);
	uint64_t prev = base_now_ns();
	for (int i = 0; i < c->n + c->warm; i++) {
		unsigned spins = 0;
		uint64_t since = 0, v = 2ull * (uint64_t)i + 1;
		atomic_store_explicit(&c->sh->ball, v, memory_order_release);
		while (atomic_load_explicit(&c->sh->ball, memory_order_acquire) != v + 1) {
			base_cpu_relax();
			if (stalled(&spins, &since))
				return child_end(pid, -1, "cacheline");
		}
		uint64_t t = base_now_ns();
		if (i >= c->warm)
			series_add(c->s, t - prev);
		prev = t;
	}
	return child_end(pid, 0, "cacheline");
}

/* ---- FICM polling ping-pong ---------------------------------------------- */

static int poll_one(struct rf_ficm_ring *r, struct rf_ficm_msg *m)
{
	unsigned spins = 0;
	uint64_t since = 0;
	int n;
	while ((n = rf_ficm_recv(r, m, 1)) == 0) {
		base_cpu_relax();
		if (stalled(&spins, &since))
			return -ETIMEDOUT;
	}
	return n;
}

static int attach_pair(struct ctx *c, struct rf_ficm_ring *in, struct rf_ficm_ring *out,
		       bool parent)
{
	void *tx = parent ? c->ring_a : c->ring_b, *rx = parent ? c->ring_b : c->ring_a;
	return rf_ficm_attach(out, tx, c->ring_len, RING_SLOTS, RF_FICM_PRODUCER) ||
	       rf_ficm_attach(in, rx, c->ring_len, RING_SLOTS, RF_FICM_CONSUMER) ? -1 : 0;
}

static int child_echo(struct ctx *c)
{
	struct rf_ficm_ring in, out;
	struct rf_ficm_msg m;
	if (attach_pair(c, &in, &out, false))
		return 2;
	for (int i = 0; i < c->n + c->warm; i++)
		if (poll_one(&in, &m) != 1 || rf_ficm_send(&out, &m, 1) != 1)
			return 1;
	return 0;
}

static int run_ficm(struct ctx *c)
{
	struct rf_ficm_ring in, out;
	struct rf_ficm_msg m = { .len = RF_FICM_PAYLOAD }, back;
	if (attach_pair(c, &in, &out, true))
		return -1;
	pid_t pid = child_start(c, child_echo);
	uint64_t prev = base_now_ns();
	for (int i = 0; i < c->n + c->warm; i++) {
		m.tag = (uint32_t)i;
		if (rf_ficm_send(&out, &m, 1) != 1 || poll_one(&in, &back) != 1 || back.tag != m.tag)
			return child_end(pid, -1, "ficm ping-pong");
		uint64_t t = base_now_ns();
		if (i >= c->warm)
			series_add(c->s, t - prev);
		prev = t;
	}
	return child_end(pid, 0, "ficm ping-pong");
}

/* ---- kernel IPC: Unix socket and pipe ------------------------------------- */

/* Read exactly 64 bytes: blocking, or spinning on MSG_DONTWAIT (busy). */
static int read64(int fd, char *buf, bool busy)
{
	unsigned spins = 0;
	uint64_t since = 0;
	for (int got = 0; got < 64;) {
		ssize_t k = busy ? recv(fd, buf + got, (size_t)(64 - got), MSG_DONTWAIT)
			       : read(fd, buf + got, (size_t)(64 - got));
		if (k > 0) {
			got += (int)k;
			continue;
		}
		if (!busy || k == 0 || errno != EAGAIN)
			return -1;
		base_cpu_relax();
		if (stalled(&spins, &since))
			return -1;
	}
	return 0;
}

static int xfer(const struct ctx *c, int rfd, int wfd, char *buf, bool first_write)
{
	for (int step = 0; step < 2; step++) {
		if (first_write == (step == 0)) {
			if (write(wfd, buf, 64) != 64)
				return -1;
		} else if (read64(rfd, buf, c->busy)) {
			return -1;
		}
	}
	return 0;
}

static int child_kernel(struct ctx *c)
{
	char buf[64];
	close(c->fd[0]);
	close(c->fd[1]);
	for (int i = 0; i < c->n + c->warm; i++)
		if (xfer(c, c->fd[2], c->fd[3], buf, false))
			return 1;
	return 0;
}

/* fd[0] parent reads, fd[1] parent writes, fd[2] child reads, fd[3] child
 * writes.  c->busy: both sides spin instead of blocking (sockets only). */
static int run_kernel(struct ctx *c, bool unix_socket)
{
	int a[2], b[2];
	char buf[64] = { 0 };
	if (unix_socket ? socketpair(AF_UNIX, SOCK_STREAM, 0, a) : (pipe(a) || pipe(b)))
		return -1;
	if (unix_socket) {
		c->fd[0] = c->fd[1] = a[0];
		c->fd[2] = c->fd[3] = a[1];
	} else {
		c->fd[0] = b[0], c->fd[1] = a[1], c->fd[2] = a[0], c->fd[3] = b[1];
	}
	pid_t pid = child_start(c, child_kernel);
	close(c->fd[2]);
	if (c->fd[3] != c->fd[2])
		close(c->fd[3]);
	int rc = 0;
	uint64_t prev = base_now_ns();
	for (int i = 0; i < c->n + c->warm && !rc; i++) {
		rc = xfer(c, c->fd[0], c->fd[1], buf, true);
		uint64_t t = base_now_ns();
		if (i >= c->warm)
			series_add(c->s, t - prev);
		prev = t;
	}
	close(c->fd[0]);
	if (c->fd[1] != c->fd[0])
		close(c->fd[1]);
	return child_end(pid, rc, !unix_socket ? "pipe ping-pong" :
				  c->busy ? "busy-polling unix socket ping-pong" :
					    "unix socket ping-pong");
}

/* ---- wake-up of a sleeping receiver --------------------------------------- */

static int child_sleeper(struct ctx *c)
{
	struct rf_ficm_ring in, out;
	struct rf_ficm_msg m;
	if (attach_pair(c, &in, &out, false))
		return 2;
	for (int i = 0; i < c->n + c->warm; i++)
		if (rf_ficm_wait(&in, 0, (int64_t)BENCH_STALL_NS) < 1 || rf_ficm_recv(&in, &m, 1) != 1 ||
		    rf_ficm_send(&out, &m, 1) != 1)
			return 1;
	return 0;
}

/* Spin until `t` (ns); before it, watch for the child to say it sleeps. */
static bool wait_until(uint64_t t, _Atomic uint32_t *sleeping)
{
	bool asleep = false;
	uint64_t now;
	while ((now = base_now_ns()) < t)
		asleep = asleep || atomic_load_explicit(sleeping, memory_order_relaxed);
	return asleep || atomic_load_explicit(sleeping, memory_order_relaxed);
}

static int run_wake(struct ctx *c, int *asleep)
{
	struct rf_ficm_ring in, out;
	struct rf_ficm_msg m = { .len = RF_FICM_PAYLOAD }, back;
	struct rf_ficm_shm *shm = c->ring_a;
	if (attach_pair(c, &in, &out, true))
		return -1;
	pid_t pid = child_start(c, child_sleeper);
	uint64_t next = base_now_ns() + 10 * WAKE_PACE_NS;
	*asleep = 0;
	for (int i = 0; i < c->n + c->warm; i++, next += WAKE_PACE_NS) {
		bool slept = wait_until(next, &shm->sleeping);
		m.tag = (uint32_t)i;
		if (rf_ficm_send(&out, &m, 1) != 1 || poll_one(&in, &back) != 1 || back.tag != m.tag)
			return child_end(pid, -1, "wake ping-pong");
		uint64_t t = base_now_ns();
		if (i >= c->warm) {
			series_add(c->s, t - next);
			*asleep += slept;
		}
		if (t > next + WAKE_PACE_NS / 2)
			next = t;   /* a late echo: keep the pace slow, never a backlog */
	}
	return child_end(pid, 0, "wake ping-pong");
}

/* ---- one-way throughput --------------------------------------------------- */

static int child_sink(struct ctx *c)
{
	struct rf_ficm_ring in;
	struct rf_ficm_msg m[BATCH];
	uint64_t want = (uint64_t)c->n, got = 0;
	unsigned spins = 0;
	uint64_t since = 0;
	if (rf_ficm_attach(&in, c->ring_a, c->ring_len, RING_SLOTS, RF_FICM_CONSUMER))
		return 2;
	while (got < want) {
		int k = rf_ficm_recv(&in, m, BATCH);
		if (k < 0)
			return 1;
		for (int i = 0; i < k; i++)
			if (m[i].tag != (uint32_t)got++)
				return 3;
		if (k) {
			since = 0;
			continue;
		}
		base_cpu_relax();
		if (stalled(&spins, &since))
			return 4;
	}
	atomic_store_explicit(&c->sh->done, got, memory_order_release);
	return 0;
}

static int run_stream(struct ctx *c, double *msgs_per_s)
{
	struct rf_ficm_ring out;
	if (rf_ficm_attach(&out, c->ring_a, c->ring_len, RING_SLOTS, RF_FICM_PRODUCER))
		return -1;
	atomic_store(&c->sh->done, 0);
	pid_t pid = child_start(c, child_sink);
	uint64_t t0 = base_now_ns(), sent = 0, want = (uint64_t)c->n;
	unsigned spins = 0;
	uint64_t since = 0;
	while (sent < want) {
		int k = rf_ficm_reserve(&out, (int)(want - sent < BATCH ? want - sent : BATCH));
		for (int i = 0; i < k; i++)
			rf_ficm_slot(&out, i)->tag = (uint32_t)(sent + (uint64_t)i);
		if (k < 0 || rf_ficm_commit(&out, k) != k)
			return child_end(pid, -1, "stream");
		sent += (uint64_t)k;
		if (k) {
			since = 0;
		} else if (stalled(&spins, &since)) {
			return child_end(pid, -1, "stream");
		}
	}
	spins = 0, since = 0;
	while (atomic_load_explicit(&c->sh->done, memory_order_acquire) != want)
		if (stalled(&spins, &since))
			return child_end(pid, -1, "stream");
	*msgs_per_s = (double)want / ((double)(base_now_ns() - t0) / 1e9);
	return child_end(pid, 0, "stream");
}

/* ---- the run --------------------------------------------------------------- */

/* The series of results/ficm.csv: those measured here, then the subOSes'
 * (ficm_subos.c, in its order: the line floor, the two-line floor, 56- and
 * 64-byte payloads). */
enum {
	S_CACHELINE, S_FICM, S_UNIX, S_UNIX_BUSY, S_PIPE, S_WAKE,
	S_SUBOS_LINE, S_SUBOS_PAIR, S_SUBOS_56, S_SUBOS_64, S_N
};
static const char *const series_name[S_N] = {
	"cacheline", "ficm", "unix_socket", "unix_socket_busypoll", "pipe", "ficm_wake",
	"subos_cacheline", "subos_cacheline_pair", "subos_ficm", "subos_ficm_64b_payload",
};

/* The first two CPUs we may run on (the same one twice if only one). */
static int pick_cpus(int cpu[2])
{
	cpu_set_t set;
	int k = 0;
	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (int i = 0; i < CPU_SETSIZE && k < 2; i++)
		if (CPU_ISSET(i, &set))
			cpu[k++] = i;
	if (k == 1)
		cpu[1] = cpu[0];
	return k;
}

static int map_region(struct ctx *c)
{
	c->ring_len = rf_ficm_ring_size(RING_SLOTS);
	c->len = 4096 + 2 * c->ring_len;
	int fd = memfd_create("rfbench-ficm", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)c->len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	c->mem = mmap(NULL, c->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	close(fd);
	if (c->mem == MAP_FAILED)
		return -1;
	c->sh = (struct shared *)c->mem;
	c->ring_a = c->mem + 4096;
	c->ring_b = c->mem + 4096 + c->ring_len;
	return 0;
}

/* Set up phase k with n recorded iterations on fresh rings. */
static void phase(struct ctx *c, struct series *s, int n)
{
	c->s = s;
	c->n = n;
	c->warm = n / 10;
	rf_ficm_ring_format(c->ring_a, c->ring_len, RING_SLOTS);
	rf_ficm_ring_format(c->ring_b, c->ring_len, RING_SLOTS);
}

static uint64_t clock_read_ns(void)
{
	struct base_hist h;
	base_hist_init(&h);
	for (int i = 0; i < 10000; i++) {
		uint64_t a = base_now_ns(), b = base_now_ns();
		base_hist_record(&h, b - a);
	}
	return base_hist_percentile(&h, 50);
}

static uint64_t pct(const struct series *s, double p)
{
	return base_hist_percentile(&s->h, p);
}

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static void add_dbl(struct json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, json_object_new_double(v));
}

static void add_pcts(struct json_object *o, const char *prefix, const struct series *s, bool all)
{
	char k[64];
	snprintf(k, sizeof(k), "%s_p50", prefix);
	add_u64(o, k, pct(s, 50));
	snprintf(k, sizeof(k), "%s_p99", prefix);
	add_u64(o, k, pct(s, 99));
	if (!all)
		return;
	snprintf(k, sizeof(k), "%s_p999", prefix);
	add_u64(o, k, pct(s, 99.9));
	snprintf(k, sizeof(k), "%s_max", prefix);
	add_u64(o, k, s->h.max);
}

static void report(struct json_object *out, const struct ctx *c, struct series *s,
		   double msgs_per_s, int asleep, int n_wake)
{
	double rtt = (double)pct(&s[S_FICM], 50), floor = (double)pct(&s[S_CACHELINE], 50);
	struct json_object *cpus = json_object_new_array();

	json_object_object_add(out, "process_transport", json_object_new_string(
		"memfd shared by two processes pinned to the same two cpus: a bare FICM ring "
		"pair, the kernel ping-pongs, the wake-up and the one-way stream"));
	json_object_array_add(cpus, json_object_new_int(c->cpu[0]));
	json_object_array_add(cpus, json_object_new_int(c->cpu[1]));
	json_object_object_add(out, "process_cpus", cpus);
	add_pcts(out, "process_rtt_ns", &s[S_FICM], true);
	add_pcts(out, "process_cacheline_rtt_ns", &s[S_CACHELINE], true);
	add_pcts(out, "unix_socket_rtt_ns", &s[S_UNIX], true);
	add_pcts(out, "unix_socket_busypoll_rtt_ns", &s[S_UNIX_BUSY], true);
	add_pcts(out, "pipe_rtt_ns", &s[S_PIPE], true);
	add_pcts(out, "wake_rtt_ns", &s[S_WAKE], true);
	add_dbl(out, "wake_receiver_asleep", n_wake ? (double)asleep / n_wake : 0);
	add_dbl(out, "msgs_per_s", msgs_per_s);
	add_u64(out, "batch", BATCH);
	add_u64(out, "ring_slots", RING_SLOTS);
	add_u64(out, "clock_read_ns", clock_read_ns());
	add_u64(out, "process_round_trips", s[S_FICM].h.count);
	add_u64(out, "kernel_round_trips", s[S_UNIX].h.count);
	add_u64(out, "wake_round_trips", s[S_WAKE].h.count);
	add_dbl(out, "process_rtt_over_cacheline", floor > 0 ? rtt / floor : -1);
}

/* Every measurement without rfd, in order, on fresh rings; then the
 * pinning undone. */
static int run_processes(struct ctx *c, struct series *s, int scale, double *mps, int *asleep)
{
	int poll_n = scale * 1000, kern_n = scale * 200, rc = 0;
	phase(c, &s[S_CACHELINE], poll_n);
	rc |= run_cacheline(c);
	phase(c, &s[S_FICM], poll_n);
	rc |= run_ficm(c);
	phase(c, &s[S_UNIX], kern_n);
	rc |= run_kernel(c, true);
	phase(c, &s[S_UNIX_BUSY], kern_n);
	c->busy = true;
	rc |= run_kernel(c, true);
	c->busy = false;
	phase(c, &s[S_PIPE], kern_n);
	rc |= run_kernel(c, false);
	phase(c, &s[S_WAKE], scale * 10);
	rc |= run_wake(c, asleep);
	phase(c, NULL, scale * 100000);
	rc |= run_stream(c, mps);
	return rc;
}

int bench_ficm(const struct bench_opts *o, struct json_object *out)
{
	struct ctx c = { 0 };
	struct series s[S_N];
	int scale = o->iterations < 10000 ? o->iterations : 10000;   /* counts fit an int */
	int poll_n = scale * 1000, asleep = 0, rc = 0;
	double mps = 0;

	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) || pick_cpus(c.cpu) < 1 ||
	    pin(c.cpu[0]) || map_region(&c)) {
		fprintf(stderr, "rfbench ficm: setup failed: %s\n", strerror(errno));
		return -1;
	}
	for (int k = 0; k < S_N; k++)
		series_init(&s[k], series_name[k], "ns",
			    k == S_WAKE ? scale * 10 :
			    k == S_UNIX || k == S_UNIX_BUSY || k == S_PIPE ? scale * 200 : poll_n);
	rc |= run_processes(&c, s, scale, &mps, &asleep);
	report(out, &c, s, mps, asleep, scale * 10);
	/* rfd and its subOSes must not inherit the pinning to one CPU. */
	sched_setaffinity(0, sizeof(allowed), &allowed);
	rc |= ficm_subos(o, c.cpu, poll_n, pct(&s[S_UNIX_BUSY], 50), out, &s[S_SUBOS_LINE]);
	series_write(o, "ficm", s, S_N);
	for (int k = 0; k < S_N; k++)
		series_free(&s[k]);
	munmap(c.mem, c.len);
	return rc ? -1 : 0;
}
