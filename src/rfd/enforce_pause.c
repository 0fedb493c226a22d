/*
 * enforce_pause.c - a subOS with no core: frozen, its cpuset emptied (see
 * enforce.h, "Pausing").  Used by resize.c when the policy takes a batch
 * subOS's last core and when it gives one back.
 *
 * Why tasks move: a v1 cpuset that has tasks cannot be emptied (ENOSPC),
 * and no non-empty cpuset can overlap a sibling's exclusive one, so a
 * paused subOS has nowhere of its own to wait.  (An exclusive cpuset cannot
 * be emptied either (EBUSY): the subOS's drops cpu_exclusive while it has
 * no core, and takes it back with its first core.)  Its tasks wait frozen in
 * the instance's cpuset (which holds exactly the managed cores), and the
 * freezer cgroup, which they joined at attach and never leave, says which
 * tasks are its own when it resumes.  A task that forks while the freeze
 * settles lands in the subOS's cpuset: emptying it then fails, and the
 * move is made again (a few rounds; then the pause is undone).
 *
 * Each step is a short write to cgroupfs; nothing waits for the freeze to
 * settle, since rfd's loop never blocks (a task still FREEZING stops at
 * its next return to user space, within microseconds).
 */
#include "rfd/enforce_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOVE_ROUNDS 8

bool rfd_enforce_can_pause(const struct rfd_enforcer *e)
{
	return e->kind == RF_ENF_CPUSET1 && e->freeze_root[0];
}

/* Write every pid listed in from/cgroup.procs into to/cgroup.procs.
 * 0, or the first error (the rest are still tried). */
static int move_procs(const char *from, const char *to)
{
	char buf[8192];
	int rc = rfd_cg_read(from, "cgroup.procs", buf, sizeof(buf)), first = 0;
	if (rc)
		return rc;
	for (char *p = buf, *end; *p; p = end) {
		long pid = strtol(p, &end, 10);
		char val[24];
		if (end == p)
			break;
		snprintf(val, sizeof(val), "%ld", pid);
		if (pid > 0 && (rc = rfd_cg_write(to, "cgroup.procs", val)) && !first &&
		    rc != -ESRCH) /* a task that just died */
			first = rc;
	}
	return first;
}

static void dirs(const struct rfd_enforcer *e, const char *name, char *cpu, char *frz,
		 size_t len)
{
	snprintf(cpu, len, "%s/%s", e->cpu_root, name);
	snprintf(frz, len, "%s/%s", e->freeze_root, name);
}

static int set_cpus(const char *dir, const struct base_cpuset *cpus)
{
	char list[4096] = "\n"; /* an empty list: a write of no bytes changes nothing */
	if (!base_cpuset_empty(cpus) && base_cpuset_format(cpus, list, sizeof(list)) < 0)
		return -E2BIG;
	return rfd_cg_write(dir, "cpuset.cpus", list);
}

int rfd_enforce_pause(struct rfd_enforcer *e, const char *name)
{
	char cpu[PATH_MAX], frz[PATH_MAX];
	struct base_cpuset none;
	int rc;
	if (!rfd_enforce_can_pause(e))
		return -EOPNOTSUPP;
	dirs(e, name, cpu, frz, sizeof(cpu));
	base_cpuset_zero(&none);
	if ((rc = rfd_cg_write(frz, "freezer.state", "FROZEN")))
		return rc;
	if (e->exclusive && (rc = rfd_cg_write(cpu, "cpuset.cpu_exclusive", "0")))
		goto undo;
	for (int round = 0; round < MOVE_ROUNDS; round++) {
		if ((rc = move_procs(cpu, e->cpu_root)))
			break;
		if ((rc = set_cpus(cpu, &none)) != -ENOSPC)
			break; /* emptied, or an error no retry mends */
	}
	if (!rc)
		return 0;
	move_procs(frz, cpu); /* undo: back where they were, running */
	if (e->exclusive)
		rfd_cg_write(cpu, "cpuset.cpu_exclusive", "1");
undo:
	rfd_cg_write(frz, "freezer.state", "THAWED");
	return rc;
}

int rfd_enforce_resume(struct rfd_enforcer *e, const char *name, const struct base_cpuset *cpus)
{
	char cpu[PATH_MAX], frz[PATH_MAX];
	int rc;
	if (!rfd_enforce_can_pause(e))
		return -EOPNOTSUPP;
	dirs(e, name, cpu, frz, sizeof(cpu));
	if ((rc = set_cpus(cpu, cpus)) ||
	    (e->exclusive && (rc = rfd_cg_write(cpu, "cpuset.cpu_exclusive", "1"))) ||
	    (rc = move_procs(frz, cpu)))
		return rc;
	return rfd_cg_write(frz, "freezer.state", "THAWED");
}

int rfd_enforce_thaw(struct rfd_enforcer *e, const char *name)
{
	char cpu[PATH_MAX], frz[PATH_MAX];
	if (!rfd_enforce_can_pause(e))
		return 0;
	dirs(e, name, cpu, frz, sizeof(cpu));
	return rfd_cg_write(frz, "freezer.state", "THAWED");
}

int rfd_enforce_inspect(struct rfd_enforcer *e, const char *name, struct base_cpuset *cpus)
{
	char cpu[PATH_MAX], frz[PATH_MAX], buf[4096];
	int rc;
	if (!rfd_enforce_can_pause(e))
		return -EOPNOTSUPP;
	dirs(e, name, cpu, frz, sizeof(cpu));
	if ((rc = rfd_cg_read(cpu, "cpuset.cpus", buf, sizeof(buf))))
		return rc;
	if (base_cpuset_parse(cpus, buf) < 0)
		return -EINVAL;
	if ((rc = rfd_cg_read(frz, "freezer.state", buf, sizeof(buf))))
		return rc;
	return strncmp(buf, "THAWED", 6) != 0; /* FROZEN, or FREEZING */
}
