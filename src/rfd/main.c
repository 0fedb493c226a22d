/*
 * main.c - rfd, the RainForest supervisor: options, start-up, shutdown.
 *
 * Start-up order matters: lock the state directory (one rfd per
 * directory), discover the machine, choose enforcement, open the journal,
 * adopt what a previous rfd left running, and only then listen.  As a
 * daemon the parent exits once the socket accepts requests, so a script
 * may call rfm right after `rfd` returns.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/log.h"
#include "rfd/metrics.h"
#include "rfd/server.h"
#include "rfd/setup.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "base/client.h"
#include "base/tsc.h"
#include "base/units.h"



static void usage(FILE *f)
{
	fprintf(f,
"usage: rfd [--state-dir DIR] [--socket PATH] [--foreground] [options]\n"
"\n"
"The RainForest supervisor: divides this machine's cores and memory among subOSes.\n"
"\n"
"  --state-dir DIR     journal, logs and lock (default /var/lib/rfd)\n"
"  --socket PATH       control socket (default $RF_SOCKET or " RF_DEFAULT_SOCKET ");\n"
"                      mode 0600, only rfd's user may connect\n"
"  --group NAME        make the socket 0660 and owned by group NAME, whose members\n"
"                      may then connect (to read; changes stay root's and rfd's user's)\n"
"  --foreground        do not daemonize; log to stderr\n"
"  --host-cores LIST   cores the host keeps (default 0)\n"
"  --cores LIST        cores rfd manages (default: all but the host's)\n"
"  --mem SIZE          memory rfd manages for subOSes (default 1G)\n"
"  --chunk SIZE        memory chunk size, a multiple of 2M (default 64M)\n"
"  --hugepages MODE    chunks in huge pages (surplus pages under nr_overcommit_hugepages,\n"
"                      raised while rfd runs): auto, on (or no chunk) or off (default auto)\n"
"  --enforce MODE      auto, cgroup2, cpuset1 or affinity (default auto)\n"
"  --deadline-ms N     handshake deadline before forcing (default 100)\n"
"  --journal-max SIZE  compact the journal into a snapshot past this (default 1M, 0: never)\n"
"  --cleanup           destroy every subOS when rfd exits (tests, demos)\n"
"  --no-rt             do not run the main thread SCHED_FIFO\n"
"  --shield            cgroup v1: move host tasks off the managed cores while rfd runs\n"
"  --metrics ADDR:PORT serve Prometheus metrics at http://ADDR:PORT/metrics (PORT\n"
"                      alone: 127.0.0.1:PORT)\n"
"  -h, --help          this text\n");
}

static int parse_opts(int argc, char **argv, struct rfd_opts *o)
{
	static const struct option lo[] = {
		{ "state-dir", 1, 0, 'd' }, { "socket", 1, 0, 's' }, { "foreground", 0, 0, 'f' },
		{ "host-cores", 1, 0, 'H' }, { "cores", 1, 0, 'c' }, { "mem", 1, 0, 'm' },
		{ "chunk", 1, 0, 'k' }, { "hugepages", 1, 0, 'p' }, { "enforce", 1, 0, 'e' },
		{ "deadline-ms", 1, 0, 'D' }, { "no-rt", 0, 0, 'R' }, { "shield", 0, 0, 'S' },
		{ "cleanup", 0, 0, 'C' }, { "group", 1, 0, 'g' }, { "journal-max", 1, 0, 'J' },
		{ "metrics", 1, 0, 'M' }, { "help", 0, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	*o = (struct rfd_opts){ .state_dir = "/var/lib/rfd", .host_cores = "0", .mem = "1G",
			    .chunk = "64M", .hugepages = "auto", .enforce = "auto",
			    .deadline_ms = 100, .journal_max = "1M" };
	o->socket = base_client_socket_path(NULL);
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o->state_dir = optarg; break;
		case 's': o->socket = optarg; break;
		case 'f': o->foreground = true; break;
		case 'H': o->host_cores = optarg; break;
		case 'c': o->cores = optarg; break;
		case 'm': o->mem = optarg; break;
		case 'k': o->chunk = optarg; break;
		case 'p': o->hugepages = optarg; break;
		case 'e': o->enforce = optarg; break;
		case 'D': o->deadline_ms = strtol(optarg, NULL, 10); break;
		case 'C': o->cleanup = true; break;
		case 'R': o->no_rt = true; break;
		case 'S': o->shield = true; break;
		case 'g': o->group = optarg; break;
		case 'J': o->journal_max = optarg; break;
		case 'M': o->metrics = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rfd: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (o->deadline_ms < 1 || o->deadline_ms > 60000) {
		fprintf(stderr, "rfd: --deadline-ms must be 1..60000\n");
		return -1;
	}
	return 0;
}

/* --group NAME (or a number) -> its gid; a group that does not exist is
 * an error at start, not a socket nobody can use. */
static int socket_group(const char *name, gid_t *gid)
{
	char *end;
	*gid = (gid_t)-1;
	if (!name)
		return 0;
	struct group *g = getgrnam(name);
	unsigned long num = strtoul(name, &end, 10);
	if (!g && *name && *end == '\0')
		g = getgrgid((gid_t)num);
	if (!g) {
		fprintf(stderr, "rfd: --group %s: no such group (see getent group)\n", name);
		return -1;
	}
	*gid = g->gr_gid;
	return 0;
}

/* A short FNV-1a hash of the state directory names the cgroup directory,
 * so instances with different state directories never collide. */
static void instance_name(const char *dir, char *out, size_t len)
{
	uint32_t h = 2166136261u;
	for (const char *p = dir; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(out, len, "rf.%08x", h);
}

static int make_dirs(struct rfd *d)
{
	char p[PATH_MAX];
	if (mkdir(d->state_dir, 0750) < 0 && errno != EEXIST)
		return -1;
	if (!realpath(d->state_dir, p))
		return -1;
	snprintf(d->state_dir, sizeof(d->state_dir), "%s", p);
	snprintf(p, sizeof(p), "%s/logs", d->state_dir);
	if (mkdir(p, 0750) < 0 && errno != EEXIST)
		return -1;
	snprintf(p, sizeof(p), "%s/run", d->state_dir);
	if (mkdir(p, 0750) < 0 && errno != EEXIST)
		return -1;
	/* The subOSes' door (server.c): alone in a traversable directory that
	 * every subOS sees (confine_fs.c), unlike run/ with the exit files. */
	snprintf(p, sizeof(p), "%s/door", d->state_dir);
	if ((mkdir(p, 0755) < 0 && errno != EEXIST) || chmod(p, 0755) < 0)
		return -1;
	return 0;
}

/* rfd.lock holds rfd's pid; written again by the daemon once forked. */
static void write_lock_pid(int lock_fd)
{
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (ftruncate(lock_fd, 0) < 0 || pwrite(lock_fd, pid, (size_t)n, 0) != n) {
		/* the lock is what matters; the pid is informative */
	}
}

static int lock_state(struct rfd *d)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/rfd.lock", d->state_dir);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "rfd: another rfd uses %s\n", d->state_dir);
		return -1;
	}
	d->lock_fd = fd;
	write_lock_pid(fd);
	return 0; /* fd stays open for rfd's life */
}


/* rfd's work is short and latency-bound (a handshake waits for its
 * wake-up), so its main thread runs SCHED_FIFO when allowed: an
 * acknowledgement then wakes it at once even where it shares a core with a
 * busy subOS.  RESET_ON_FORK keeps shims and programs out of the real-time
 * class; the pool worker was started before and stays SCHED_OTHER. */
static void raise_priority(void)
{
	struct sched_param sp = { .sched_priority = 10 };
	if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) < 0)
		rfd_log("running without real-time priority: %s", strerror(errno));
}

static void daemonize(int *ready_fd)
{
	int p[2];
	if (pipe(p) < 0)
		exit(1);
	pid_t pid = fork();
	if (pid < 0)
		exit(1);
	if (pid > 0) { /* wait until the child listens (or fails) */
		char c;
		close(p[1]);
		exit(read(p[0], &c, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	setsid();
	*ready_fd = p[1];
}

int main(int argc, char **argv)
{
	static struct rfd d;
	struct rfd_opts o;
	struct base_err err = { 0 };
	int ready_fd = -1;

	if (parse_opts(argc, argv, &o))
		return 2;
	if (socket_group(o.group, &d.socket_gid))
		return 2;
	snprintf(d.state_dir, sizeof(d.state_dir), "%s", o.state_dir);
	snprintf(d.socket_path, sizeof(d.socket_path), "%s", o.socket);
	d.listen_fd = d.subos_fd = d.epfd = d.sigfd = d.journal.fd = d.policy_timer = -1;
	d.metrics_fd = d.lock_fd = -1;
	d.foreground = o.foreground;
	d.owner_uid = geteuid();
	d.deadline_ns = (uint64_t)o.deadline_ms * 1000000ull;
	if (make_dirs(&d)) {
		fprintf(stderr, "rfd: cannot use state directory %s: %s\n", o.state_dir,
			strerror(errno));
		return 1;
	}
	if (lock_state(&d))
		return 1;
	if (!o.foreground) {
		daemonize(&ready_fd);
		write_lock_pid(d.lock_fd); /* the daemon's pid, not the parent's */
	}
	instance_name(d.state_dir, d.instance, sizeof(d.instance));
	d.tsc_hz = base_tsc_hz_measure();
	sigset_t sigs;
	rfd_server_signals(&sigs);
	/* Shims are rfd's children only until rfd restarts; their status
	 * comes through a pipe, so let the kernel reap them. */
	struct sigaction sa = { .sa_handler = SIG_DFL, .sa_flags = SA_NOCLDWAIT };
	sigaction(SIGCHLD, &sa, NULL);
	if (rfd_setup(&d, &o, &err) || rfd_server_listen(&d) ||
	    (o.metrics && rfd_metrics_listen(&d, o.metrics))) {
		if (err.msg[0])
			fprintf(stderr, "rfd: %s\n", err.msg);
		rfd_server_close(&d);
		rfd_teardown(&d, false);
		return 1;
	}
	if (!o.no_rt)
		raise_priority();
	rfd_log("serving %s (state %s, %s)", d.socket_path, d.state_dir,
		rfd_enforce_name(d.enf.kind));
	if (ready_fd >= 0) {
		char logp[PATH_MAX];
		snprintf(logp, sizeof(logp), "%s/rfd.log", d.state_dir);
		int lfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		int nfd = open("/dev/null", O_RDWR);
		dup2(nfd, 0);
		dup2(lfd, 1);
		dup2(lfd, 2);
		close(lfd);
		close(nfd);
		rfd_log_stamp(true);
		if (write(ready_fd, "r", 1) != 1 || chdir("/")) {
			/* the parent has gone; carry on */
		}
		close(ready_fd);
	}
	int rc = rfd_server_run(&d);
	rfd_server_close(&d);
	rfd_teardown(&d, o.cleanup);
	return rc ? 1 : 0;
}
