/*
 * kv_server.c - the servers `rfbench kv` compares, one instance at a time
 * on the server CPU: rfkv as a libos subOS of the private rfd, or Debian's
 * memcached pinned there (plain, or under librfloop.so for its RFloop
 * session); and how busy the instance was, to tell a saturated server from
 * a generator that fell behind.
 *
 * Busy time.  memcached: the on-CPU time of all its threads
 * (/proc/PID/task/TID/schedstat, nanoseconds, kernel time in its context
 * included - its share of loopback TCP).  rfkv: librf's own busy time of
 * its cores, as rfd's `stats` verb reports it (the status page: time spent
 * running fibers, events and I/O submissions, not the idle spin, which
 * would make a polling server look always busy).
 */
#define _GNU_SOURCE
#include "kv.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SUBOS_NAME "kv"
#define SUBOS_MEM  (256ull << 20)

/* memcached pinned to the server CPU, under librfloop.so if rfloop. */
static pid_t memcached_start(struct kv_server *s, bool rfloop)
{
	char port[16], pre[400], sock[400];
	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s/librfloop.so", s->o->build_dir);
	snprintf(sock, sizeof(sock), "RF_SOCKET=%s", s->p->sock);
	const char *argv[] = { KV_MEMCACHED_BIN, "-u", "root", "-l", "127.0.0.1", "-p", port, "-U",
			       "0", "-t", "1", "-m", "64", "-c", "4096", NULL };
	const char *env[] = { pre, sock, NULL };
	pid_t pid = bench_spawn(argv, rfloop ? env : NULL, KV_SERVER_CPU, NULL);

	if (pid > 0 && bench_wait_port(s->port) == 0) {
		/* librfloop registers the port with rfd right after the real
		 * listen(): one round trip, long over 100 ms after the port
		 * answered. */
		struct timespec ts = { 0, 100000000 };
		if (rfloop)
			nanosleep(&ts, NULL);
		return pid;
	}
	fprintf(stderr, "rfbench kv: %s did not start on port %d\n", KV_MEMCACHED_BIN, s->port);
	bench_stop(pid, SIGKILL);
	return -1;
}

int kv_server_start(struct kv_server *s, enum kv_session kind)
{
	char cpus[16];

	s->kind = kind;
	s->pid = -1;
	s->port = bench_free_port();
	if (s->port < 0)
		return -1;
	if (kind == S_RAINFOREST) {
		snprintf(cpus, sizeof(cpus), "%d", KV_SERVER_CPU);
		s->pid = bench_kv_subos(s->p, s->o, SUBOS_NAME, cpus, SUBOS_MEM, s->port);
		s->subos = true;   /* destroyed on stop even if it did not answer */
	} else
		s->pid = memcached_start(s, kind == S_MEMCACHED_RFLOOP);
	return s->pid > 0 ? 0 : -1;
}

void kv_server_stop(struct kv_server *s)
{
	if (s->subos) {
		struct base_request d = req_named(RF_VERB_DESTROY, SUBOS_NAME);
		json_object_put(prfd_call(s->p, &d, NULL));
		s->subos = false;
	} else if (s->pid > 0)
		bench_stop(s->pid, SIGTERM);
	s->pid = -1;
}

/* A thread's on-CPU time (ns), the first field of its schedstat. */
static int64_t thread_ns(FILE *f)
{
	unsigned long long ns;
	return fscanf(f, "%llu", &ns) == 1 ? (int64_t)ns : 0;
}

/* librf's busy time of the subOS's cores, from rfd's stats. */
static int64_t subos_busy_ns(struct kv_server *s)
{
	struct base_request q = req_named(RF_VERB_STATS, SUBOS_NAME);
	struct json_object *a = prfd_call(s->p, &q, NULL), *res, *subs, *busy;
	int64_t ns = -1;

	if (a && json_object_object_get_ex(a, "result", &res) &&
	    json_object_object_get_ex(res, "subos", &subs) &&
	    json_object_array_length(subs) == 1 &&
	    json_object_object_get_ex(json_object_array_get_idx(subs, 0), "busy_ns", &busy))
		ns = json_object_get_int64(busy);
	json_object_put(a);
	return ns;
}

int64_t kv_server_busy_ns(struct kv_server *s)
{
	if (s->pid <= 0)
		return -1;
	return s->kind == S_RAINFOREST ? subos_busy_ns(s) : bench_threads_sum(s->pid, "schedstat", thread_ns);
}
