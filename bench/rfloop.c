/*
 * rfloop.c - `rfbench rfloop`: netperf-style TCP request/response,
 * connect/request/response and bulk stream, through RFloop and over the
 * kernel's loopback, in the same run, same program, same cores.
 *
 * The program measured is rfloop_peer.c (plain blocking socket code).  For
 * each transport this driver starts its server pinned to CPU 1 and its
 * client pinned to CPU 0 (the first and second CPUs of rfbench's affinity
 * mask; both on one CPU if there is only one), each by re-executing
 * rfbench (`rfbench rfloop-peer ...`).  The transports, in this order:
 *   rfloop             LD_PRELOAD=<build>/librfloop.so, RF_LOOP_SPIN_US=SPIN_US
 *                      (a blocking read spins that long before it sleeps)
 *   loopback           no preload: the kernel's TCP, blocking reads
 *   loopback_busypoll  no preload, the peers' own SPIN_US spin on
 *                      recv(MSG_DONTWAIT) before they sleep in poll (RR only):
 *                      the kernel path with RFloop's spin budget, the fair peer
 *   rfloop_nospin      the preload with RF_LOOP_SPIN_US=0 (RR only): what
 *                      shared memory gives without spinning
 * A private rfd (RF_SOCKET)
 * keeps the RFloop registry, so nothing else on the machine is involved
 * (it manages no core and a little memory: it creates no subOS), and
 * RF_LOOP_STATS
 * collects the library's counters: the JSON reports how many connections
 * really went over RFloop (a run where none did is a failure, not a
 * number).
 *
 * Fields: tcp_rr_per_s_<transport>, tcp_crr_per_s_{rfloop,loopback},
 * tcp_stream_gbps_{rfloop,loopback}, the ratios of rfloop to the others,
 * and the region counters of the rfloop transport's peers (made anew,
 * taken again: src/rfloop/pool.c).  Targets (rfloop_targets): RR >= 3x
 * the busy-polling loopback, connection setup (CRR) no slower than
 * loopback, stream >= 1.5x loopback.
 * -n N sets each measurement's length to N*20 ms (default 2 s; CRR half).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* RFloop's spin before a blocking read sleeps, and the busy-polling
 * loopback peer's: the same budget. */
#define SPIN_US "20"

struct transport {
	const char *name;       /* the figures' suffix */
	bool preload;           /* librfloop.so */
	const char *lib_spin;   /* RF_LOOP_SPIN_US for the preload */
	const char *peer_spin;  /* the peers' own SPIN_US (rfloop_peer.c) */
	bool rr_only;
};

enum { T_RFLOOP, T_LOOPBACK, T_BUSYPOLL, T_NOSPIN, T_COUNT };

static const struct transport transports[T_COUNT] = {
	[T_RFLOOP]   = { "rfloop", true, SPIN_US, "0", false },
	[T_LOOPBACK] = { "loopback", false, NULL, "0", false },
	[T_BUSYPOLL] = { "loopback_busypoll", false, NULL, SPIN_US, true },
	[T_NOSPIN]   = { "rfloop_nospin", true, "0", "0", true },
};

struct result {
	double rr, crr, gbps;
	long rfloop_conns, fresh, reused;
};

/* fork + exec `rfbench rfloop-peer ARGS` pinned to cpu, stdout to a pipe
 * (*out), with the transport's preload and spin setting. */
static pid_t spawn(const struct bench_opts *o, int cpu, const struct transport *t,
		   char *const *args, int *out)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		char self[300];
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (sched_setaffinity(0, sizeof(set), &set) || dup2(p[1], 1) < 0)
			_exit(125);
		snprintf(self, sizeof(self), "%s/librfloop.so", o->build_dir);
		if (t->preload && !setenv("LD_PRELOAD", self, 1))
			setenv("RF_LOOP_SPIN_US", t->lib_spin, 1);
		else
			unsetenv("LD_PRELOAD");
		snprintf(self, sizeof(self), "%s/rfbench", o->build_dir);
		char *argv[9] = { self, "rfloop-peer" };
		for (int i = 0; args[i] && i < 6; i++)
			argv[2 + i] = args[i];
		execv(self, argv);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	*out = p[0];
	return pid;
}

static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return n ? 0 : -1;
}

/* The client's line: all three figures, or RR alone for an RR-only transport. */
static bool parse_client(const char *line, const struct transport *t, struct result *r)
{
	if (t->rr_only)
		return sscanf(line, "rr_per_s=%lf", &r->rr) == 1;
	return sscanf(line, "rr_per_s=%lf crr_per_s=%lf stream_gbps=%lf", &r->rr, &r->crr,
		      &r->gbps) == 3;
}

static int measure(const struct bench_opts *o, const int cpu[2], const struct transport *t,
		   const char *stats, struct result *r)
{
	char port_s[16], ms_s[16], line[256];
	int port = bench_free_port(), sfd = -1, cfd = -1, rc = -1, st = 0;
	pid_t srv = -1, cli = -1;

	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(ms_s, sizeof(ms_s), "%d", o->iterations * 20);
	unlink(stats);
	char *sargs[] = { "server", port_s, (char *)t->peer_spin, NULL };
	char *cargs[] = { "client", port_s, ms_s, (char *)t->peer_spin,
			  t->rr_only ? "rr" : "all", NULL };
	if (port < 0 || (srv = spawn(o, cpu[1], t, sargs, &sfd)) < 0)
		goto out;
	if (read_line(sfd, line, sizeof(line)) || strcmp(line, "ready") != 0) {
		fprintf(stderr, "rfbench rfloop: the %s server did not start\n", t->name);
		goto out;
	}
	if ((cli = spawn(o, cpu[0], t, cargs, &cfd)) < 0)
		goto out;
	if (read_line(cfd, line, sizeof(line)) || !parse_client(line, t, r)) {
		fprintf(stderr, "rfbench rfloop: the %s client failed\n", t->name);
		goto out;
	}
	rc = 0;
out:
	if (cli > 0) {
		waitpid(cli, &st, 0);
		if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			rc = -1;
	}
	if (srv > 0) {
		kill(srv, SIGTERM);
		waitpid(srv, NULL, 0);
	}
	if (sfd >= 0)
		close(sfd);
	if (cfd >= 0)
		close(cfd);
	r->rfloop_conns = bench_rfloop_stat(stats, NULL, "connect_rfloop");
	r->fresh = bench_rfloop_stat(stats, NULL, "regions_fresh");
	r->reused = bench_rfloop_stat(stats, NULL, "regions_reused");
	if (rc == 0 && t->preload && r->rfloop_conns == 0) {
		fprintf(stderr, "rfbench rfloop: no %s connection went over RFloop (is "
			"%s/librfloop.so built?)\n", t->name, o->build_dir);
		rc = -1;
	}
	return rc;
}

static void pick_cpus(int cpu[2])
{
	cpu_set_t set;
	int n = 0;
	cpu[0] = cpu[1] = 0;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			cpu[n++] = i;
	if (n == 1)
		cpu[1] = cpu[0];
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/* The figures of one run. */
static void report(struct json_object *out, const struct result *r, const int cpu[2],
		   const struct bench_opts *o)
{
#define NUM(k, v) json_object_object_add(out, k, json_object_new_double(v))
	char key[64];
	for (int i = 0; i < T_COUNT; i++) {
		snprintf(key, sizeof(key), "tcp_rr_per_s_%s", transports[i].name);
		NUM(key, r[i].rr);
	}
	NUM("tcp_crr_per_s_rfloop", r[T_RFLOOP].crr);
	NUM("tcp_crr_per_s_loopback", r[T_LOOPBACK].crr);
	NUM("tcp_stream_gbps_rfloop", r[T_RFLOOP].gbps);
	NUM("tcp_stream_gbps_loopback", r[T_LOOPBACK].gbps);
	NUM("rr_ratio", ratio(r[T_RFLOOP].rr, r[T_LOOPBACK].rr));
	NUM("rr_busypoll_ratio", ratio(r[T_RFLOOP].rr, r[T_BUSYPOLL].rr));
	NUM("rr_nospin_ratio", ratio(r[T_NOSPIN].rr, r[T_LOOPBACK].rr));
	NUM("crr_ratio", ratio(r[T_RFLOOP].crr, r[T_LOOPBACK].crr));
	NUM("stream_ratio", ratio(r[T_RFLOOP].gbps, r[T_LOOPBACK].gbps));
	NUM("seconds_each", o->iterations * 0.02);
#undef NUM
	json_object_object_add(out, "rfloop_connections",
			       json_object_new_int64(r[T_RFLOOP].rfloop_conns));
	json_object_object_add(out, "regions_fresh", json_object_new_int64(r[T_RFLOOP].fresh));
	json_object_object_add(out, "regions_reused", json_object_new_int64(r[T_RFLOOP].reused));
	struct json_object *cpus = json_object_new_array();
	json_object_array_add(cpus, json_object_new_int(cpu[0]));
	json_object_array_add(cpus, json_object_new_int(cpu[1]));
	json_object_object_add(out, "cpus_client_server", cpus);
}

int bench_rfloop(const struct bench_opts *o, struct json_object *out)
{
	static const char *const extra[] = { "--enforce", "affinity", "--mem", "64M", "--chunk",
					     "32M", "--hugepages", "off", NULL };
	struct private_rfd p;
	char stats[320];
	struct result r[T_COUNT] = { 0 };
	int cpu[2], rc = -1;

	if (prfd_start(&p, o, extra))
		return -1;
	snprintf(stats, sizeof(stats), "%s/stats", p.dir);
	setenv("RF_SOCKET", p.sock, 1);
	setenv("RF_LOOP_STATS", stats, 1);
	pick_cpus(cpu);
	for (int i = 0; i < T_COUNT; i++)
		if (measure(o, cpu, &transports[i], stats, &r[i]))
			goto out;
	rc = 0;
out:
	unlink(stats);
	prfd_stop(&p);
	unsetenv("RF_SOCKET");
	unsetenv("RF_LOOP_STATS");
	if (rc == 0)
		report(out, r, cpu, o);
	return rc;
}

/* Judged on the median of the runs (runs.c): against the busy-polling
 * loopback for RR (the same spin budget), blocking loopback for the rest. */
void rfloop_targets(struct json_object *fig, struct json_object *t)
{
	bench_target(t, "rr_busypoll_ratio >= 3", bench_fig(fig, "rr_busypoll_ratio") >= 3);
	bench_target(t, "crr_ratio >= 1", bench_fig(fig, "crr_ratio") >= 1);
	bench_target(t, "stream_ratio >= 1.5", bench_fig(fig, "stream_ratio") >= 1.5);
}
