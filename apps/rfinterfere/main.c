/*
 * main.c - rfinterfere, the interference workloads of RainForest's
 * isolation experiments (README "rfinterfere"):
 *
 *   rfinterfere MODE [--threads N | --procs N] [--duration S] [--interval S]
 *                    [--size BYTES] [--dir DIR] [--json]
 *
 * N workers (threads of one process, sharing one address space as
 * will-it-scale's _threads tests, or processes as its _processes tests)
 * repeat the mode's operation; every --interval the total is sampled.
 * It stops after --duration seconds (0: at SIGINT or SIGTERM, which also
 * end a timed run early) and reports operations per second overall, per
 * worker and per interval.  Workers count in their own cache line of a
 * shared page and look at a shared stop flag after each operation, so the
 * program leaves within one operation of being told to.
 */
#define _GNU_SOURCE
#include "rfinterfere.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "base/time.h"
#include "base/units.h"

#define MAX_WORKERS 1024

struct slot {
	_Atomic uint64_t ops;
	_Atomic int err;              /* errno of a failed operation, or 0 */
	char pad[64 - sizeof(uint64_t) - sizeof(int)];
};

/* Shared with the workers, also across fork (MAP_SHARED). */
struct shared {
	_Atomic int stop;
	struct slot slot[MAX_WORKERS] __attribute__((aligned(64)));
};

struct opts {
	const struct rfi_mode *mode;
	int workers;
	bool procs, json;
	double duration, interval;
	size_t size;
	const char *dir;
};

struct worker {
	struct rfi_ctx ctx;
	const struct rfi_mode *mode;
	pthread_t th;
	pid_t pid;
};

static const struct rfi_mode *const modes[] = {
	&rfi_mode_mmap, &rfi_mode_pagefault, &rfi_mode_malloc, &rfi_mode_open,
	&rfi_mode_fork, &rfi_mode_cache, &rfi_mode_membw, &rfi_mode_cpu,
};
#define NMODES (sizeof(modes) / sizeof(modes[0]))

static volatile sig_atomic_t signalled;

static void on_signal(int sig)
{
	signalled = sig;
}

static void usage(int rc)
{
	FILE *f = rc ? stderr : stdout;

	fprintf(f, "usage: rfinterfere MODE [--threads N | --procs N] [--duration S (10; 0: until "
		"a signal)]\n                   [--interval S (1)] [--size BYTES] [--dir DIR (/tmp)] "
		"[--json]\nmodes:\n");
	for (size_t i = 0; i < NMODES; i++)
		fprintf(f, "  %-10s %s\n", modes[i]->name, modes[i]->what);
	exit(rc);
}

static double number(const char *opt, const char *v, double lo, double hi)
{
	char *end;
	double x = strtod(v, &end);

	if (end == v || *end || !(x >= lo && x <= hi)) {
		fprintf(stderr, "rfinterfere: %s wants a number in [%g, %g], not '%s'\n", opt, lo,
			hi, v);
		exit(2);
	}
	return x;
}

static void option(struct opts *o, const char *a, const char *v)
{
	uint64_t bytes;

	if (!strcmp(a, "--threads") || !strcmp(a, "--procs")) {
		o->workers = (int)number(a, v, 1, MAX_WORKERS);
		o->procs = !strcmp(a, "--procs");
	} else if (!strcmp(a, "--duration")) {
		o->duration = number(a, v, 0, 1e7);
	} else if (!strcmp(a, "--interval")) {
		o->interval = number(a, v, 0.01, 3600);
	} else if (!strcmp(a, "--size")) {
		if (base_parse_size(v, &bytes) < 0 || bytes < 4096 || bytes > (1ull << 40)) {
			fprintf(stderr, "rfinterfere: --size wants 4K..1T, not '%s'\n", v);
			exit(2);
		}
		o->size = (size_t)bytes;
	} else if (!strcmp(a, "--dir")) {
		o->dir = v;
	} else {
		usage(2);
	}
}

static void parse(struct opts *o, int argc, char **argv)
{
	*o = (struct opts){ .workers = 1, .duration = 10, .interval = 1, .dir = "/tmp" };
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		usage(argc < 2 ? 2 : 0);
	for (size_t i = 0; i < NMODES; i++)
		if (!strcmp(argv[1], modes[i]->name))
			o->mode = modes[i];
	if (!o->mode) {
		fprintf(stderr, "rfinterfere: no mode '%s'\n", argv[1]);
		usage(2);
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			o->json = true;
		else if (i + 1 < argc) {
			option(o, argv[i], argv[i + 1]);
			i++;
		} else {
			usage(2);
		}
	}
	if (!o->size && o->mode->default_size)
		o->size = o->mode->default_size();
}

/* ---- the workers ----------------------------------------------------------------------- */

static void *thread_main(void *arg)
{
	struct worker *w = arg;

	if (w->mode->run(&w->ctx) < 0)
		atomic_store(&((struct slot *)w->ctx.ops)->err, errno ? errno : EIO);
	return NULL;
}

static int start(struct worker *w, const struct opts *o, struct shared *sh)
{
	for (int i = 0; i < o->workers; i++) {
		w[i] = (struct worker){ .mode = o->mode, .pid = -1 };
		w[i].ctx = (struct rfi_ctx){ .index = i, .size = o->size, .dir = o->dir,
					     .ops = &sh->slot[i].ops, .stop = &sh->stop };
		if (!o->procs) {
			if (pthread_create(&w[i].th, NULL, thread_main, &w[i]))
				return -1;
			w[i].pid = 0;   /* started */
			continue;
		}
		w[i].pid = fork();
		if (w[i].pid < 0)
			return -1;
		if (w[i].pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);   /* never outlive the parent */
			thread_main(&w[i]);
			_exit(0);
		}
	}
	return 0;
}

static void stop_all(struct worker *w, const struct opts *o, struct shared *sh)
{
	atomic_store(&sh->stop, 1);
	for (int i = 0; i < o->workers && w[i].pid >= 0; i++) {
		if (!o->procs)
			pthread_join(w[i].th, NULL);
		else
			while (waitpid(w[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
	}
}

static uint64_t total(const struct shared *sh, int n)
{
	uint64_t t = 0;

	for (int i = 0; i < n; i++)
		t += atomic_load_explicit(&sh->slot[i].ops, memory_order_relaxed);
	return t;
}

static int first_error(const struct shared *sh, int n)
{
	for (int i = 0; i < n; i++)
		if (atomic_load(&sh->slot[i].err))
			return atomic_load(&sh->slot[i].err);
	return 0;
}

/* Samples every interval until the duration is up, a signal came or a
 * worker failed; returns the seconds measured. */
static double sample(const struct opts *o, struct shared *sh, struct json_object *samples)
{
	uint64_t t0 = base_now_ns(), last_t = t0, last_ops = total(sh, o->workers), now;
	uint64_t end = o->duration > 0 ? t0 + (uint64_t)(o->duration * 1e9) : UINT64_MAX;

	while (!signalled && !first_error(sh, o->workers) && (now = base_now_ns()) < end) {
		uint64_t next = last_t + (uint64_t)(o->interval * 1e9), ops;
		uint64_t until = next < end ? next : end;
		struct timespec ts = { (time_t)((until - now) / BASE_NS_PER_SEC),
				       (long)((until - now) % BASE_NS_PER_SEC) };
		if (nanosleep(&ts, NULL) < 0 || base_now_ns() < until)
			continue;   /* a signal; the loop's test ends it */
		now = base_now_ns();
		ops = total(sh, o->workers);
		json_object_array_add(samples, json_object_new_double(
			(double)(ops - last_ops) * 1e9 / (double)(now - last_t)));
		last_t = now;
		last_ops = ops;
	}
	return (double)(base_now_ns() - t0) / 1e9;
}

/* ---- the report ----------------------------------------------------------------------- */

static void report(const struct opts *o, struct shared *sh, uint64_t *base, double secs,
		   struct json_object *samples, int err)
{
	struct json_object *out = json_object_new_object(), *per = json_object_new_array();
	uint64_t ops = 0;

	for (int i = 0; i < o->workers; i++) {
		uint64_t n = atomic_load(&sh->slot[i].ops) - base[i];
		ops += n;
		json_object_array_add(per, json_object_new_double((double)n / secs));
	}
	if (!o->json) {
		printf("rfinterfere %s: %d %s, %.0f %s per second over %.2f s%s%s\n", o->mode->name,
		       o->workers, o->procs ? "processes" : "threads", (double)ops / secs,
		       o->mode->unit, secs, err ? "; a worker failed: " : "", err ? strerror(err) : "");
		json_object_put(samples);
		json_object_put(per);
		json_object_put(out);
		return;
	}
	json_c_set_serialization_double_format("%.10g", JSON_C_OPTION_GLOBAL);   /* no %.17g noise */
	json_object_object_add(out, "tool", json_object_new_string("rfinterfere"));
	json_object_object_add(out, "mode", json_object_new_string(o->mode->name));
	json_object_object_add(out, "unit", json_object_new_string(o->mode->unit));
	json_object_object_add(out, "workers", json_object_new_int(o->workers));
	json_object_object_add(out, "processes", json_object_new_boolean(o->procs));
	if (o->mode->default_size)
		json_object_object_add(out, "size_bytes", json_object_new_int64((int64_t)o->size));
	json_object_object_add(out, "duration_s", json_object_new_double(secs));
	json_object_object_add(out, "ops", json_object_new_int64((int64_t)ops));
	json_object_object_add(out, "ops_per_s", json_object_new_double((double)ops / secs));
	json_object_object_add(out, "per_worker_ops_per_s", per);
	json_object_object_add(out, "interval_s", json_object_new_double(o->interval));
	json_object_object_add(out, "samples_ops_per_s", samples);
	if (err)
		json_object_object_add(out, "error", json_object_new_string(strerror(err)));
	printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct sigaction sa = { .sa_handler = on_signal };   /* no SA_RESTART: sleeps end */
	struct shared *sh;
	struct worker *w;
	uint64_t base[MAX_WORKERS];
	struct json_object *samples = json_object_new_array();
	double secs;
	int err = 0;

	parse(&o, argc, argv);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	w = calloc((size_t)o.workers, sizeof(*w));
	if (sh == MAP_FAILED || !w) {
		perror("rfinterfere");
		return 1;
	}
	for (int i = 0; i < o.workers; i++)
		w[i].pid = -1;
	if (start(w, &o, sh) < 0)
		err = errno;
	for (int i = 0; i < o.workers; i++)
		base[i] = atomic_load(&sh->slot[i].ops);
	secs = err ? 0 : sample(&o, sh, samples);
	stop_all(w, &o, sh);
	if (!err)
		err = first_error(sh, o.workers);
	report(&o, sh, base, secs > 0 ? secs : 1e-9, samples, err);
	free(w);
	munmap(sh, sizeof(*sh));
	return err ? 1 : 0;
}
