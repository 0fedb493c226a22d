/*
 * prfd.c - a private rfd for one benchmark run, and the series helpers.
 *
 * The rfd runs with --cleanup in a fresh temporary directory; prfd_stop
 * (also reached from the exit and signal handlers) sends it SIGTERM, waits,
 * and removes the directory, so a failed run leaves nothing behind.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <sched.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "base/units.h"

static struct private_rfd *live;

static void on_signal(int sig)
{
	if (live && live->pid > 0)
		kill(live->pid, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void at_exit(void)
{
	if (live)
		prfd_stop(live);
}

/* Exec `bin` (a path under the build directory) on p's state directory,
 * with RFD_FAULT=fault in its environment if fault is set. */
static pid_t exec_rfd(struct private_rfd *p, const struct bench_opts *o, const char *bin,
		      const char *fault, const char *const *extra)
{
	char rfd[PATH_MAX];
	const char *argv[40];
	int n = 0;
	snprintf(rfd, sizeof(rfd), "%s/%s", o->build_dir, bin ? bin : "rfd");
	argv[n++] = rfd;
	argv[n++] = "--state-dir";
	argv[n++] = p->dir;
	argv[n++] = "--socket";
	argv[n++] = p->sock;
	argv[n++] = "--foreground";
	argv[n++] = "--cleanup";
	for (int i = 0; extra && extra[i] && n < 36; i++)
		argv[n++] = extra[i];
	/* RFBENCH_RFD_ARG: one more rfd option, to compare configurations. */
	if (getenv("RFBENCH_RFD_ARG") && *getenv("RFBENCH_RFD_ARG"))
		argv[n++] = getenv("RFBENCH_RFD_ARG");
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		char log[300];
		snprintf(log, sizeof(log), "%s/rfd.out", p->dir);
		if (!freopen(log, "a", stderr) || !freopen("/dev/null", "w", stdout))
			_exit(126);
		if (fault)
			setenv("RFD_FAULT", fault, 1);
		/* Nothing of rfbench's but stdio goes to rfd: an inherited
		 * descriptor (flock's, on the benchmarks' lock file) would stay
		 * held by an rfd outliving a killed rfbench, and lock everyone
		 * out.  And rfd (--cleanup) ends when rfbench does, however. */
		close_range(3, ~0U, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(rfd, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Wait (5 s at most) until rfd answers: 0; 1 if it died first; -1. */
static int await_rfd(struct private_rfd *p)
{
	for (int i = 0; i < 500; i++) {
		if (base_client_connect(&p->cl, p->sock) == 0)
			return 0;
		if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
			p->pid = 0;
			return 1;
		}
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

int prfd_start(struct private_rfd *p, const struct bench_opts *o, const char *const *extra)
{
	snprintf(p->dir, sizeof(p->dir), "/tmp/rfbench.XXXXXX");
	if (!mkdtemp(p->dir))
		return -errno;
	snprintf(p->sock, sizeof(p->sock), "%s/rfd.sock", p->dir);
	live = p;
	atexit(at_exit);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	p->pid = exec_rfd(p, o, NULL, NULL, extra);
	if (p->pid > 0 && await_rfd(p) == 0)
		return 0;
	fprintf(stderr, "rfbench: rfd did not start; see %s/rfd.out\n", p->dir);
	return -1;
}

int prfd_start_on(struct private_rfd *p, const struct bench_opts *o, const char *const *extra,
		  int cpu)
{
	cpu_set_t old, one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_getaffinity(0, sizeof(old), &old) < 0 || sched_setaffinity(0, sizeof(one), &one) < 0)
		return -1;
	int rc = prfd_start(p, o, extra);   /* rfd inherits the mask */
	sched_setaffinity(0, sizeof(old), &old);
	return rc;
}

int prfd_restart(struct private_rfd *p, const struct bench_opts *o, const char *bin,
		 const char *fault, const char *const *extra, uint64_t *ns)
{
	base_client_close(&p->cl);
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		waitpid(p->pid, NULL, 0);
	}
	uint64_t t0 = base_now_ns();
	p->pid = exec_rfd(p, o, bin, fault, extra);
	int rc = p->pid > 0 ? await_rfd(p) : -1;
	if (ns)
		*ns = base_now_ns() - t0;
	return rc;
}

bool prfd_alive(struct private_rfd *p)
{
	if (p->pid > 0 && waitpid(p->pid, NULL, WNOHANG) == p->pid)
		p->pid = 0;
	return p->pid > 0;
}

void prfd_stop(struct private_rfd *p)
{
	char cmd[400];
	base_client_close(&p->cl);
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
	if (p->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "rfbench: could not remove %s\n", p->dir);
		p->dir[0] = '\0';
	}
	live = NULL;
}

struct json_object *prfd_call(struct private_rfd *p, const struct base_request *req, uint64_t *ns)
{
	uint64_t t0 = base_now_ns();
	struct json_object *ans = base_client_request(&p->cl, req, NULL);
	if (ns)
		*ns = base_now_ns() - t0;
	return ans;
}

/* The pool's numbers from info: true when nothing is being refilled; with
 * spare, also rfd's spare made (or none to make: another enforcement). */
static bool quiet(struct private_rfd *p, bool spare)
{
	struct base_request r;
	base_request_init(&r, RF_VERB_INFO);
	struct json_object *a = prfd_call(p, &r, NULL), *res, *pool, *sp;
	bool full = a && json_object_object_get_ex(a, "result", &res) &&
		    json_object_object_get_ex(res, "pool", &pool) &&
		    bench_fig(pool, "refilling") == 0 &&
		    bench_fig(pool, "ready") + bench_fig(pool, "owned") >= bench_fig(pool, "chunks");
	const char *st = full && spare && json_object_object_get_ex(res, "spare", &sp)
				 ? json_object_get_string(sp) : "unsupported";
	full = full && (!strcmp(st, "ready") || !strcmp(st, "unsupported"));
	json_object_put(a);
	return full;
}

static int wait_quiet(struct private_rfd *p, int timeout_ms, int step_ms, bool spare)
{
	for (int i = 0; i < timeout_ms / step_ms; i++) {
		if (quiet(p, spare))
			return 0;
		struct timespec ts = { 0, step_ms * 1000000L };
		nanosleep(&ts, NULL);
	}
	return -1;
}

int prfd_settle(struct private_rfd *p, int timeout_ms)
{
	return wait_quiet(p, timeout_ms, 20, false);
}

int prfd_idle(struct private_rfd *p, int timeout_ms, int step_ms)
{
	return wait_quiet(p, timeout_ms, step_ms, true);
}

struct base_request req_named(enum base_verb verb, const char *name)
{
	struct base_request r;
	base_request_init(&r, verb);
	r.name = name;
	return r;
}

struct base_cores_arg req_cpus(const char *cpus)
{
	struct base_cores_arg c = { .form = RF_CORES_LIST };
	if (strcmp(cpus, "none") == 0) /* a linux subOS with no core of its own */
		return (struct base_cores_arg){ .form = RF_CORES_COUNT, .n = 0 };
	if (base_cpuset_parse(&c.set, cpus) < 0) /* rfd refuses the empty list */
		base_cpuset_zero(&c.set);
	return c;
}

struct base_request req_create(const char *name, enum base_kind kind, const char *cpus,
			       uint64_t mem, const char **argv)
{
	struct base_request r = req_named(RF_VERB_CREATE, name);
	r.kind = kind;
	r.cores = req_cpus(cpus);
	r.has_mem = true;
	r.mem = mem;
	r.argv = argv;
	while (argv[r.argc])
		r.argc++;
	return r;
}

void series_init(struct series *s, const char *name, const char *unit, int cap)
{
	s->name = name;
	s->unit = unit;
	base_hist_init(&s->h);
	s->raw = calloc((size_t)cap, sizeof(uint64_t));
	s->n = 0;
	s->cap = cap;
}

void series_add(struct series *s, uint64_t ns)
{
	base_hist_record(&s->h, ns);
	if (s->n < s->cap)
		s->raw[s->n++] = ns;
}

double series_pct(const struct series *s, double p)
{
	double div = strcmp(s->unit, "us") == 0 ? 1e3 : strcmp(s->unit, "ns") == 0 ? 1 : 1e6;
	return s->h.count ? (double)base_hist_percentile(&s->h, p) / div : -1;
}

void series_free(struct series *s)
{
	free(s->raw);
	s->raw = NULL;
}
