/*
 * enforce_sweep.c - after a restart, ending what no journal record owns.
 *
 * rfd journals a subOS once its program runs, so an rfd killed between
 * creating a subOS's cgroups (or spawning its program) and writing that
 * record leaves a partition nobody accounts for.  The cgroups say what
 * exists: every subOS directory under this instance's cgroup that the
 * journal does not name is an orphan, and a half-made create is rolled
 * back by killing what runs in it and removing it.  Only cgroup back ends
 * can be swept; with plain affinity there is nothing on the host to find.
 */
#define _GNU_SOURCE
#include "rfd/enforce_impl.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* SIGKILL every process in the cgroup at `dir` until it is empty (up to
 * about a second: a dying task leaves cgroup.procs when its exit is done). */
static void kill_all(const char *dir)
{
	char buf[4096];
	for (int round = 0; round < 100; round++) {
		if (rfd_cg_read(dir, "cgroup.procs", buf, sizeof(buf)) || !buf[0])
			return;
		for (char *p = buf, *end; *p; p = end) {
			long pid = strtol(p, &end, 10);
			if (end == p)
				break;
			if (pid > 0)
				kill((pid_t)pid, SIGKILL);
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* Sweep one hierarchy's instance directory.  Returns the orphans found. */
static int sweep_root(const char *root, rfd_enforce_known_fn known, void *ctx)
{
	char dir[PATH_MAX];
	int n = 0;
	DIR *d = opendir(root);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.' || known(e->d_name, ctx))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", root, e->d_name);
		rfd_cg_write(dir, "freezer.state", "THAWED"); /* a frozen task dies only thawed */
		kill_all(dir);
		rfd_cg_rmdir(dir);
		n++;
	}
	closedir(d);
	return n;
}

int rfd_enforce_sweep(struct rfd_enforcer *e, rfd_enforce_known_fn known, void *ctx)
{
	if (e->kind == RF_ENF_AFFINITY)
		return 0;
	/* The freezer first: it thaws, so the kills elsewhere take effect. */
	int n = e->freeze_root[0] ? sweep_root(e->freeze_root, known, ctx) : 0;
	n += sweep_root(e->cpu_root, known, ctx);
	if (e->mem_root[0] && strcmp(e->mem_root, e->cpu_root))
		n += sweep_root(e->mem_root, known, ctx);
	return n;
}
