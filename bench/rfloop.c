/*
 * rfloop.c - `rfbench rfloop`: netperf-style TCP request/response,
 * connect/request/response and bulk stream, through RFloop and over the
 * kernel's loopback, in the same run, same program, same cores.
 *
 * The program measured is rfloop_peer.c (plain blocking socket code).  For
 * each transport this driver starts its server pinned to CPU 1 and its
 * client pinned to CPU 0 (the first and second CPUs of rfbench's affinity
 * mask; both on one CPU if there is only one), each by re-executing
 * rfbench (`rfbench rfloop-peer ...`), with LD_PRELOAD=<build>/librfloop.so
 * for "rfloop" and without it for "loopback".  A private rfd (RF_SOCKET)
 * keeps the RFloop registry, so nothing else on the machine is involved
 * (it manages no core and a little memory: it creates no subOS), and
 * RF_LOOP_STATS
 * collects the library's counters: the JSON reports how many connections
 * really went over RFloop (a run where none did is a failure, not a
 * number).
 *
 * Fields: tcp_rr_per_s_{rfloop,loopback}, tcp_crr_per_s_*, tcp_stream_gbps_*,
 * the ratios rfloop/loopback; targets (rfloop_targets): RR >= 3x, stream >= 1.5x.
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

struct result {
	double rr, crr, gbps;
	long rfloop_conns;
};

/* A port free right now on 127.0.0.1 (asked of the kernel). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;
	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

/* fork + exec `rfbench rfloop-peer ARGS` pinned to cpu, stdout to a pipe
 * (*out), with or without the preload. */
static pid_t spawn(const struct bench_opts *o, int cpu, const char *preload, char *const *args,
		   int *out)
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
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		else
			unsetenv("LD_PRELOAD");
		snprintf(self, sizeof(self), "%s/rfbench", o->build_dir);
		char *argv[8] = { self, "rfloop-peer" };
		for (int i = 0; args[i] && i < 5; i++)
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

static long stats_sum(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	char line[1024], pat[64];
	long sum = 0;
	if (!f)
		return 0;
	snprintf(pat, sizeof(pat), " %s=", key);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, pat);
		if (p)
			sum += atol(p + strlen(pat));
	}
	fclose(f);
	return sum;
}

static int measure(const struct bench_opts *o, const int cpu[2], bool rfloop, const char *stats,
		   struct result *r)
{
	char preload[300], port_s[16], ms_s[16], line[256];
	int port = free_port(), sfd = -1, cfd = -1, rc = -1, st = 0;
	pid_t srv = -1, cli = -1;

	snprintf(preload, sizeof(preload), "%s/librfloop.so", o->build_dir);
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(ms_s, sizeof(ms_s), "%d", o->iterations * 20);
	unlink(stats);
	char *sargs[] = { "server", port_s, NULL }, *cargs[] = { "client", port_s, ms_s, NULL };
	if (port < 0 || (srv = spawn(o, cpu[1], rfloop ? preload : NULL, sargs, &sfd)) < 0)
		goto out;
	if (read_line(sfd, line, sizeof(line)) || strcmp(line, "ready") != 0) {
		fprintf(stderr, "rfbench rfloop: the %s server did not start\n",
			rfloop ? "rfloop" : "loopback");
		goto out;
	}
	if ((cli = spawn(o, cpu[0], rfloop ? preload : NULL, cargs, &cfd)) < 0)
		goto out;
	if (read_line(cfd, line, sizeof(line)) ||
	    sscanf(line, "rr_per_s=%lf crr_per_s=%lf stream_gbps=%lf", &r->rr, &r->crr, &r->gbps) != 3) {
		fprintf(stderr, "rfbench rfloop: the %s client failed\n", rfloop ? "rfloop" : "loopback");
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
	r->rfloop_conns = stats_sum(stats, "connect_rfloop");
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

int bench_rfloop(const struct bench_opts *o, struct json_object *out)
{
	static const char *const extra[] = { "--enforce", "affinity", "--mem", "64M", "--chunk",
					     "32M", "--hugepages", "off", NULL };
	struct private_rfd p;
	char stats[320];
	struct result rf = { 0 }, lo = { 0 };
	int cpu[2], rc = -1;

	if (prfd_start(&p, o, extra))
		return -1;
	snprintf(stats, sizeof(stats), "%s/stats", p.dir);
	setenv("RF_SOCKET", p.sock, 1);
	setenv("RF_LOOP_STATS", stats, 1);
	pick_cpus(cpu);
	if (measure(o, cpu, true, stats, &rf))
		goto out;
	if (rf.rfloop_conns == 0) {
		fprintf(stderr, "rfbench rfloop: no connection went over RFloop (is %s/librfloop.so "
			"built?)\n", o->build_dir);
		goto out;
	}
	if (measure(o, cpu, false, stats, &lo))
		goto out;
	rc = 0;
out:
	unlink(stats);
	prfd_stop(&p);
	unsetenv("RF_SOCKET");
	unsetenv("RF_LOOP_STATS");
	if (rc)
		return rc;
#define NUM(k, v) json_object_object_add(out, k, json_object_new_double(v))
	NUM("tcp_rr_per_s_rfloop", rf.rr);
	NUM("tcp_rr_per_s_loopback", lo.rr);
	NUM("tcp_crr_per_s_rfloop", rf.crr);
	NUM("tcp_crr_per_s_loopback", lo.crr);
	NUM("tcp_stream_gbps_rfloop", rf.gbps);
	NUM("tcp_stream_gbps_loopback", lo.gbps);
	double rr_x = lo.rr > 0 ? rf.rr / lo.rr : 0, crr_x = lo.crr > 0 ? rf.crr / lo.crr : 0;
	double st_x = lo.gbps > 0 ? rf.gbps / lo.gbps : 0;
	NUM("rr_ratio", rr_x);
	NUM("crr_ratio", crr_x);
	NUM("stream_ratio", st_x);
#undef NUM
	json_object_object_add(out, "rfloop_connections", json_object_new_int64(rf.rfloop_conns));
	json_object_object_add(out, "seconds_each", json_object_new_double(o->iterations * 0.02));
	struct json_object *cpus = json_object_new_array();
	json_object_array_add(cpus, json_object_new_int(cpu[0]));
	json_object_array_add(cpus, json_object_new_int(cpu[1]));
	json_object_object_add(out, "cpus_client_server", cpus);
	return 0;
}

/* Judged on the median of the runs (runs.c). */
void rfloop_targets(struct json_object *fig, struct json_object *t)
{
	bench_target(t, "rr_ratio >= 3", bench_fig(fig, "rr_ratio") >= 3);
	bench_target(t, "stream_ratio >= 1.5", bench_fig(fig, "stream_ratio") >= 1.5);
}
