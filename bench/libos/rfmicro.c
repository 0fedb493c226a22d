/*
 * rfmicro.c - the measuring program of `rfbench microtail` (Figure 6 of the
 * RainForest paper): one memory or file operation timed many times, by the
 * same source as a libos program (librf's memory, under rfd in a subOS) and
 * as a plain Linux program (glibc and system calls), so that the two
 * distributions differ only by the system underneath.
 *
 *   rfmicro libos|linux OP N OUT DIR   time N operations; raw TSC ticks
 *                                      (uint64 each) to OUT (written as
 *                                      OUT.part, renamed when complete)
 *   rfmicro libos|linux OP 0 - DIR     the neighbour: OP forever, untimed
 *   rfmicro threads OP N OUT DIR M,B   Linux, the neighbour a thread of the
 *                                      same process: measured on CPU M, the
 *                                      neighbour on CPU B, stopped after
 *                                      (will-it-scale's _threads shape, the
 *                                      paper's Linux: one address space)
 *
 * What OP is on each side.  librf has no mmap, no page fault and no file
 * call of its own, so the libos side measures what a libos program does in
 * their place (DESIGN.md: its memory is rfd's, pre-faulted; files go to
 * the host kernel):
 *   mmap       linux: mmap + munmap of an untouched 1 MiB anonymous region
 *              (VMA churn, as rfinterfere's mmap mode);
 *              libos: rf_malloc + rf_free of 1 MiB (a page span of the
 *              partition's page heap), its replacement for mmap.
 *   malloc     a pool of 256 blocks; one operation frees a random one and
 *              allocates a new one there, log-uniform 16 B..1 MiB (as
 *              rfinterfere's malloc mode); glibc vs rf_malloc/rf_free.
 *              The first and last bytes are written after the clock stops.
 *   pagefault  the first write to each 4 KiB page of a fresh 1 MiB region,
 *              one sample per page: linux from mmap (a real fault each),
 *              libos from rf_malloc (no fault: rfd's memory is populated
 *              and locked, so this is what a libos program pays instead).
 *   open       open(O_RDONLY) + close of a file of its own in DIR: the host
 *              kernel's path on both sides (librf offloads files to it).
 * The clock is rdtscp around each operation; the ticks are converted by
 * rfbench with one TSC frequency for both systems.  A libos neighbour
 * yields to librf's scheduler every 256 operations (untimed), so rfd's
 * shutdown request is seen; the measuring side does too, between samples.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>
#include <rf/rf.h>

#define REGION    (1u << 20)
#define PAGE      4096u
#define POOL      256
#define SMALLEST  16.0
#define YIELD_EVERY 256

struct micro {
	bool libos;
	const char *op, *out, *dir;
	long n;                /* 0: neighbour */
	uint64_t *ticks;
	long got;
	uint64_t seed;
	void *pool[POOL];
	char path[512];
	_Atomic int *stop;     /* a neighbour thread's: set when measured */
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static inline uint64_t ticks_now(void)
{
	unsigned aux;
	return __rdtscp(&aux);
}

static void *mem_get(const struct micro *m, size_t n)
{
	return m->libos ? rf_malloc(n) : malloc(n);
}

static void mem_put(const struct micro *m, void *p)
{
	if (m->libos)
		rf_free(p);
	else
		free(p);
}

/* A fresh region: mmap (Linux) or a page span (libos).  NULL on failure. */
static char *region_get(const struct micro *m)
{
	if (m->libos)
		return rf_malloc(REGION);
	void *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void region_put(const struct micro *m, char *p)
{
	if (m->libos)
		rf_free(p);
	else
		munmap(p, REGION);
}

/* One sample into m->ticks (the neighbour keeps none). */
static void record(struct micro *m, uint64_t t)
{
	if (m->n && m->got < m->n)
		m->ticks[m->got++] = t;
}

static int op_mmap(struct micro *m)
{
	uint64_t t0 = ticks_now();
	char *p = region_get(m);
	if (!p)
		return -1;
	region_put(m, p);
	record(m, ticks_now() - t0);
	return 0;
}

static int op_malloc(struct micro *m)
{
	size_t slot = xorshift(&m->seed) % POOL;
	double u = (double)(xorshift(&m->seed) >> 11) / (double)(1ull << 53);
	size_t n = (size_t)(SMALLEST * exp(u * log(REGION / SMALLEST)));
	uint64_t t0 = ticks_now();
	mem_put(m, m->pool[slot]);
	char *p = mem_get(m, n);
	uint64_t t = ticks_now() - t0;
	if (!p)
		return -1;
	p[0] = p[n - 1] = 1;
	m->pool[slot] = p;
	record(m, t);
	return 0;
}

static int op_pagefault(struct micro *m)
{
	volatile char *p = region_get(m);
	if (!p)
		return -1;
	/* From the second page: a libos span's first holds its header. */
	for (size_t off = PAGE; off < REGION; off += PAGE) {
		uint64_t t0 = ticks_now();
		p[off] = 1;
		record(m, ticks_now() - t0);
	}
	region_put(m, (char *)p);
	return 0;
}

static int op_open(struct micro *m)
{
	uint64_t t0 = ticks_now();
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	close(fd);
	record(m, ticks_now() - t0);
	return 0;
}

static int (*op_of(const char *name))(struct micro *)
{
	return !strcmp(name, "mmap") ? op_mmap : !strcmp(name, "malloc") ? op_malloc :
	       !strcmp(name, "pagefault") ? op_pagefault : !strcmp(name, "open") ? op_open : NULL;
}

/* The file `open` opens, the pool `malloc` churns. */
static int prepare(struct micro *m)
{
	snprintf(m->path, sizeof(m->path), "%s/rfmicro.%d", m->dir, (int)gettid());
	int fd = open(m->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "rfmicro\n", 8) != 8) {
		fprintf(stderr, "rfmicro: %s: %s\n", m->path, strerror(errno));
		return -1;
	}
	close(fd);
	for (int i = 0; i < POOL; i++)
		if (!(m->pool[i] = mem_get(m, 64)))
			return -1;
	if (m->n && !(m->ticks = mem_get(m, (size_t)m->n * sizeof(uint64_t))))
		return -1;
	return 0;
}

static int save(const struct micro *m)
{
	char part[600];
	snprintf(part, sizeof(part), "%s.part", m->out);
	FILE *f = fopen(part, "w");
	if (!f)
		return -1;
	size_t w = fwrite(m->ticks, sizeof(uint64_t), (size_t)m->got, f);
	if (fclose(f) != 0 || w != (size_t)m->got || rename(part, m->out) != 0)
		return -1;
	return 0;
}

static int run(struct micro *m)
{
	int (*op)(struct micro *) = op_of(m->op);
	int rc = -1;
	if (!op || prepare(m) < 0)
		goto out;
	for (long i = 0; m->n ? m->got < m->n : !(m->stop && *m->stop); i++) {
		if (op(m) < 0) {
			fprintf(stderr, "rfmicro: %s: %s\n", m->op, strerror(errno));
			goto out;
		}
		if (m->libos && i % YIELD_EVERY == YIELD_EVERY - 1)
			rf_yield();
	}
	rc = m->n ? save(m) : 0;
out:
	unlink(m->path);
	return rc ? 1 : 0;
}

static struct micro g;

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) ? -1 : 0;
}

static void *neighbour_thread(void *arg)
{
	struct micro *nb = arg;
	(void)run(nb);
	return NULL;
}

/* `threads`: the neighbour a thread on CPU b, measured here on CPU m. */
static int run_threads(const char *cpus)
{
	static struct micro nb;
	static _Atomic int stop;
	int mcpu, bcpu;
	pthread_t t;
	if (sscanf(cpus, "%d,%d", &mcpu, &bcpu) != 2 || pin(mcpu) < 0)
		return 2;
	nb = (struct micro){ .op = g.op, .dir = g.dir, .seed = g.seed * 3, .stop = &stop };
	if (pthread_create(&t, NULL, neighbour_thread, &nb))
		return 1;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(bcpu, &set);
	pthread_setaffinity_np(t, sizeof(set), &set);
	usleep(100000);   /* going, as the other systems' neighbours are */
	int rc = run(&g);
	stop = 1;
	pthread_join(t, NULL);
	return rc;
}

static int app(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return run(&g);
}

int main(int argc, char **argv)
{
	bool threads = argc == 7 && !strcmp(argv[1], "threads");
	if ((argc != 6 && !threads) || (strcmp(argv[1], "libos") && strcmp(argv[1], "linux") &&
					!threads) || !op_of(argv[2])) {
		fprintf(stderr, "usage: rfmicro libos|linux mmap|malloc|pagefault|open N OUT DIR\n"
				"       rfmicro threads OP N OUT DIR MCPU,BCPU\n");
		return 2;
	}
	g = (struct micro){ .libos = !strcmp(argv[1], "libos"), .op = argv[2],
			    .n = atol(argv[3]), .out = argv[4], .dir = argv[5],
			    .seed = 0x9e3779b97f4a7c15ull };
	if (g.n < 0 || (threads && g.n == 0))
		return 2;
	if (threads)
		return run_threads(argv[6]);
	if (g.libos)
		rf_main(argc, argv, app);
	return run(&g);
}
