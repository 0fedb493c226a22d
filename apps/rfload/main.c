/*
 * main.c - rfload, the open-loop load generator of RainForest's
 * experiments (README "rfload"): it drives a server speaking the memcached
 * text protocol (Debian's memcached, rfkv) with gets and sets at a
 * scheduled rate and reports latencies from the intended send times.
 *
 * A plain Linux program (pthreads, epoll), so that it runs the same way
 * beside every system an experiment compares.  Order: options, RFloop
 * (re-exec under the preload library), the workload's tables, the
 * preload of the keys, the workers, the report.
 */
#define _GNU_SOURCE
#include "rfload.h"

#include <errno.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --rfloop: run again with librfloop.so preloaded, which takes over
 * connect() (and falls back to kernel TCP for a port no RFloop listener
 * serves).  Returns only if it is already preloaded. */
static void rfloop_reexec(const struct rfload_opts *o, char **argv)
{
	char self[PATH_MAX], lib[PATH_MAX + 32];
	const char *pre = getenv("LD_PRELOAD");
	ssize_t n;

	if (pre && strstr(pre, "librfloop"))
		return;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		perror("rfload: /proc/self/exe");
		exit(1);
	}
	self[n] = 0;
	if (o->rfloop_lib)
		snprintf(lib, sizeof(lib), "%s", o->rfloop_lib);
	else
		snprintf(lib, sizeof(lib), "%s/librfloop.so", dirname(strdup(self)));
	if (access(lib, R_OK) < 0) {
		fprintf(stderr, "rfload: --rfloop: cannot read %s\n", lib);
		exit(1);
	}
	setenv("LD_PRELOAD", lib, 1);
	execv(self, argv);
	perror("rfload: re-exec under RFloop");
	exit(1);
}

static int run(const struct rfload_opts *o)
{
	struct rfload_worker *w = calloc((size_t)o->threads, sizeof(*w));
	int fail = 0, rc = 1;

	if (!w)
		return 1;
	if (rfload_workers_start(w, o) < 0) {
		fprintf(stderr, "rfload: cannot set up %d connections to %s:%d: %s\n", o->conns,
			o->host, o->port, strerror(errno));
		fail = 1;
	}
	for (int t = 0; t < o->threads; t++) {
		if (w[t].started)
			pthread_join(w[t].th, NULL);
		fail |= w[t].fail;
	}
	if (fail)
		fprintf(stderr, "rfload: a connection failed; results are partial\n");
	if (rfload_report(o, w) == 0 && !fail)
		rc = 0;
	rfload_workers_free(w, o);
	free(w);
	return rc;
}

int main(int argc, char **argv)
{
	static struct rfload_opts o;   /* the schedule is large */
	int rc;

	rfload_opts_parse(&o, argc, argv);
	if (o.rfloop)
		rfloop_reexec(&o, argv);
	if (rfload_workload_init(&o.wl) < 0) {
		fprintf(stderr, "rfload: out of memory for %u keys\n", o.wl.keys);
		return 1;
	}
	if (o.preload && rfload_preload(&o) < 0) {
		fprintf(stderr, "rfload: cannot preload %u keys into %s:%d (%s)\n", o.wl.keys,
			o.host, o.port, errno ? strerror(errno) : "an answer was not STORED");
		rfload_workload_free(&o.wl);
		return 1;
	}
	rc = run(&o);
	rfload_workload_free(&o.wl);
	return rc;
}
