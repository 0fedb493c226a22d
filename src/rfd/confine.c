/*
 * confine.c - a subOS's confinement put together (confine.h): checking
 * what a create asks for, preparing the plan before fork, applying it in
 * the program's process in an order that leaves nothing to undo, and the
 * libos memory limits.
 *
 * Order in the program's process, each step needing what the last one
 * takes away: the filesystem (mounts need CAP_SYS_ADMIN and no filter),
 * its own cgroup namespace (after spawn.c attached it, so its cgroup is
 * the namespace's root), RLIMIT_MEMLOCK (raising the hard limit needs
 * CAP_SYS_RESOURCE), the capability sets, no_new_privs, and last the
 * seccomp filter, which would refuse every step before it.
 */
#define _GNU_SOURCE
#include "rfd/confine_impl.h"
#include "rfd/rfd.h"
#include "rfd/subos.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "base/confine_spec.h"

enum { STEP_CGROUPNS = 1, STEP_RLIMIT, STEP_CAPS, STEP_NNP, STEP_SECCOMP, STEP_FS = 100 };

uint64_t rfd_confine_mem_limit(enum base_kind kind, uint64_t mem, int ncores)
{
	if (kind != RF_KIND_LIBOS)
		return mem;
	return mem + RFD_LIBOS_ALLOWANCE + (uint64_t)ncores * RFD_LIBOS_PER_CORE;
}

/* ---- checking a request ---------------------------------------------- */

/* Devices a bind may bring in: the same as the program's own /dev has,
 * and the few a program may need besides.  Never a disk, memory, a port,
 * or a whole /dev. */
static const char *const bind_devs[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
	"/dev/shm", "/dev/hugepages", "/dev/mqueue", "/dev/fuse", "/dev/net/tun", NULL,
};

/* NULL if the host's src may be bound in (read-only if ro), else why not. */
static const char *bind_refused(const char *src, const struct stat *st, bool ro)
{
	if (strcmp(src, "/") == 0)
		return "the host's whole root would bring back /dev and all that is hidden";
	if (S_ISBLK(st->st_mode))
		return "a block device reaches the host's disks";
	/* A writable /proc or /sys gives back the knobs and the cgroup
	 * filesystem the confinement makes read-only. */
	if (!ro && (base_path_under(src, "/proc") || base_path_under(src, "/sys")))
		return "/proc and /sys can only be bound read-only (--ro-bind)";
	if (!base_path_under(src, "/dev"))
		return NULL;
	for (const char *const *d = bind_devs; *d; d++)
		if (base_path_under(src, *d))
			return NULL;
	return "only /dev/shm, /dev/hugepages, /dev/mqueue and harmless devices may be bound";
}

static int check_binds(const char *const *v, int n, bool ro, struct base_err *err)
{
	char src[PATH_MAX], dst[PATH_MAX];
	const char *why, *opt = ro ? "ro_binds" : "binds";
	struct stat st;
	for (int i = 0; i < n; i++) {
		if (base_bind_parse(v[i], src, sizeof(src), dst, sizeof(dst), &why))
			return base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%s\" is not SRC[:DST]: %s",
					 opt, v[i], why);
		if (stat(src, &st))
			return base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%s\": %s", opt, src,
					 strerror(errno));
		if ((why = bind_refused(src, &st, ro)))
			return base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%s\": %s", opt, src, why);
	}
	return 0;
}

int rfd_confine_check(const struct base_request *req, struct base_err *err)
{
	struct stat st;
	for (int i = 0; i < req->ncaps; i++)
		if (base_cap_parse(req->caps[i]) < 0)
			return base_errf(err, BASE_E_BAD_REQUEST,
					 "caps: \"%.64s\" is not a capability (like NET_RAW)",
					 req->caps[i]);
	if (req->fs_root && (req->fs_root[0] != '/' || stat(req->fs_root, &st) ||
			     !S_ISDIR(st.st_mode) || strcmp(req->fs_root, "/") == 0))
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "root: \"%.200s\" is not an absolute path to a directory other "
				 "than /", req->fs_root);
	return check_binds(req->binds, req->nbinds, false, err) ||
	       check_binds(req->ro_binds, req->nro_binds, true, err) ? -1 : 0;
}

/* ---- before fork ----------------------------------------------------- */

void rfd_confine_door_dir(const struct rfd *d, bool own_root, char *buf, size_t len)
{
	buf[0] = '\0';
	if (d->subos_socket[0] && !own_root) {
		snprintf(buf, len, "%s", d->subos_socket);
		char *slash = strrchr(buf, '/');
		if (slash)
			*slash = '\0';
	}
}

int rfd_confine_prepare(struct rfd_confine *c, const struct rfd_confine_opts *o,
			struct base_err *err)
{
	memset(c, 0, sizeof(*c));
	c->kind = o->kind;
	c->memlock = o->memlock;
	c->caps = o->kind == RF_KIND_LIBOS ? RFD_CONFINE_CAPS_LIBOS : RFD_CONFINE_CAPS_DEFAULT;
	for (int i = 0; i < o->ncaps; i++) {
		int cap = base_cap_parse(o->caps[i]);
		if (cap < 0)
			return base_errf(err, BASE_E_BAD_REQUEST, "\"%s\" is not a capability",
					 o->caps[i]);
		c->caps |= 1ull << cap;
	}
	if ((!o->no_fs && rfd_confine_fs_plan(c, o, err)) || rfd_confine_seccomp_build(c, err)) {
		rfd_confine_release(c);
		return -1;
	}
	return 0;
}

void rfd_confine_release(struct rfd_confine *c)
{
	rfd_confine_fs_free(c);
	free(c->filter);
	c->filter = NULL;
}

/* ---- in the program's process ---------------------------------------- */

/* Keep only c->caps in the bounding set, and nothing inheritable or
 * ambient: after exec a root program has exactly the bounding set. */
static int drop_caps(uint64_t keep)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	for (int cap = 0; cap < 64; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			return -errno;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	if (syscall(SYS_capget, &h, data))
		return -errno;
	data[0].inheritable = data[1].inheritable = 0;
	return syscall(SYS_capset, &h, data) ? -errno : 0;
}

/* RLIMIT_MEMLOCK = bytes, if rfd may raise it that far (raising the hard
 * limit needs CAP_SYS_RESOURCE); else the host's stays.  A libos program
 * keeps IPC_LOCK anyway: its memory cgroup is the bound that holds. */
static int set_memlock(uint64_t bytes)
{
	struct rlimit rl = { .rlim_cur = bytes, .rlim_max = bytes };
	if (!bytes || setrlimit(RLIMIT_MEMLOCK, &rl) == 0 || errno == EPERM)
		return 0;
	return -errno;
}

int rfd_confine_apply_fs(const struct rfd_confine *c, int *step)
{
	int at = 0, rc = rfd_confine_fs_apply(c, &at);
	if (rc)
		*step = STEP_FS + at;
	return rc;
}

int rfd_confine_apply_rest(const struct rfd_confine *c, int *step)
{
	struct sock_fprog prog = { .len = c->nfilter, .filter = c->filter };
	int rc;
	*step = STEP_CGROUPNS;
	if (unshare(CLONE_NEWCGROUP))
		return -errno;
	*step = STEP_RLIMIT;
	if ((rc = set_memlock(c->memlock)))
		return rc;
	*step = STEP_CAPS;
	if ((rc = drop_caps(c->caps)))
		return rc;
	*step = STEP_NNP;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	*step = STEP_SECCOMP;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0))
		return -errno;
	return 0;
}

int rfd_confine_apply(const struct rfd_confine *c, int *step)
{
	int rc = rfd_confine_apply_fs(c, step);
	return rc ? rc : rfd_confine_apply_rest(c, step);
}

void rfd_confine_describe_step(const struct rfd_confine *c, int step, char *buf, size_t len)
{
	static const char *const names[] = {
		[STEP_CGROUPNS] = "cannot enter a cgroup namespace of its own",
		[STEP_RLIMIT] = "cannot set its RLIMIT_MEMLOCK",
		[STEP_CAPS] = "cannot drop its capabilities",
		[STEP_NNP] = "cannot set no_new_privs",
		[STEP_SECCOMP] = "cannot load its seccomp filter",
	};
	if (step >= STEP_FS && step - STEP_FS < c->nops) {
		const struct rfd_mnt_op *op = &c->ops[step - STEP_FS];
		snprintf(buf, len, "cannot %s %s%s%s", rfd_confine_fs_op_name(op->kind), op->path,
			 op->src ? " from " : "", op->src ? op->src : "");
	} else if (step > 0 && step <= STEP_SECCOMP) {
		snprintf(buf, len, "%s", names[step]);
	} else {
		snprintf(buf, len, "cannot confine");
	}
}

/* ---- after a resize -------------------------------------------------- */

int rfd_confine_set_mem(struct rfd *d, struct rfd_subos *s, uint64_t mem)
{
	uint64_t lim = rfd_confine_mem_limit(s->kind, mem, base_cpuset_count(&s->cpus));
	struct rlimit rl = { .rlim_cur = lim, .rlim_max = lim };
	if (s->kind != RF_KIND_LIBOS)
		return 0;
	/* Raised before new memory arrives (librf maps it MAP_LOCKED),
	 * lowered after it left; a lower cgroup limit the subOS still
	 * exceeds is refused (EBUSY) and the old one stays. */
	if (s->pid > 0 && prlimit(s->pid, RLIMIT_MEMLOCK, &rl, NULL) && errno != ESRCH &&
	    errno != EPERM)
		return -errno;
	int rc = rfd_enforce_set_mem(&d->enf, s->name, lim);
	return rc == -EBUSY ? 0 : rc;
}
