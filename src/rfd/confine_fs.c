/*
 * confine_fs.c - what a subOS's program sees of the filesystem.
 *
 * rfd writes a plan (a list of mount steps with every path spelt out)
 * before it forks, and the program's process runs it in its own mount
 * namespace with plain system calls (spawn.c forks from a threaded rfd).
 *
 * Without --root the program sees the host's files, less what holds
 * secrets or controls the machine (docs/rfm.md "Confinement" lists them):
 * system directories, /sys and the kernel's knobs in /proc are read-only,
 * password hashes, host keys and kernel memory are /dev/null, /root, /run
 * and rfd's state directory are empty, and /dev is a small new one without
 * disks or memory devices.  rfd's control socket stays where it was, so
 * programs inside still reach rfd: what is there is rfd's socket for
 * subOSes (server.c: 0666, so that a program reaches rfd whatever its
 * uid; rfd places and judges it by its subOS), bound over the path first
 * and kept through the hiding of /run or the state directory.  The door's
 * directory (STATE/door, nothing else in it) is kept visible at its own
 * path too, and RF_SOCKET names the door there: a bind of a socket file
 * pins its inode, so after an rfd restart only the directory shows the
 * new rfd's socket to the subOSes it adopted.
 *
 * With --root DIR the program gets DIR as its / (pivot_root, as
 * bubblewrap and Firecracker's jailer do), with a proc of its own, the
 * same small /dev, the control socket, and what --bind/--ro-bind bring in.
 */
#define _GNU_SOURCE
#include "rfd/confine_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/mount.h>
#include "base/confine_spec.h"

#define KEEP_MAX 8

/* Host directories that control the machine or every later boot. */
static const char *const host_ro[] = {
	"/etc", "/usr", "/boot", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/var/spool", "/sys", NULL,
};
/* The kernel's knobs under a proc mount (a prefix is put before them). */
static const char *const proc_ro[] = {
	"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs", NULL,
};
/* Kernel memory, keys and addresses. */
static const char *const proc_hide[] = {
	"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/kallsyms",
	NULL,
};
static const char *const host_hide_files[] = {
	"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", NULL,
};

const char *rfd_confine_fs_op_name(enum rfd_mnt_kind k)
{
	static const char *const names[] = {
		[RFD_MNT_RO] = "make read-only", [RFD_MNT_HIDE_FILE] = "hide",
		[RFD_MNT_HIDE_DIR] = "hide", [RFD_MNT_DEV] = "make /dev at",
		[RFD_MNT_PROC] = "mount proc at", [RFD_MNT_BIND] = "bind onto",
		[RFD_MNT_BIND_RO] = "bind read-only onto", [RFD_MNT_PIVOT] = "pivot_root into",
		[RFD_MNT_KEEP] = "keep",
	};
	return names[k];
}

/* ---- the plan (in rfd, before fork) ---------------------------------- */

static int add(struct rfd_confine *c, enum rfd_mnt_kind k, const char *prefix, const char *path,
	       const char *src, bool make)
{
	struct rfd_mnt_op *ops = realloc(c->ops, (size_t)(c->nops + 1) * sizeof(*ops));
	if (!ops)
		return -1;
	c->ops = ops;
	struct rfd_mnt_op *op = &ops[c->nops];
	*op = (struct rfd_mnt_op){ .kind = k, .make = make, .trusted = strlen(prefix) };
	if (asprintf(&op->path, "%s%s", prefix, path) < 0) {
		op->path = NULL;
		return -1;
	}
	if (src && !(op->src = strdup(src))) {
		free(op->path);
		return -1;
	}
	c->nops++;
	return 0;
}

static int add_list(struct rfd_confine *c, enum rfd_mnt_kind k, const char *prefix,
		    const char *const *paths)
{
	for (; *paths; paths++)
		if (add(c, k, prefix, *paths, NULL, false))
			return -1;
	return 0;
}

/* Hide dir, keeping the control socket, the door's directory and
 * /etc/resolv.conf's target if they are in it. */
static int add_hidden_dir(struct rfd_confine *c, const char *dir, const char *socket_path,
			  const char *door_dir)
{
	char resolv[PATH_MAX];
	if (add(c, RFD_MNT_HIDE_DIR, "", dir, NULL, false))
		return -1;
	if (socket_path && base_path_under(socket_path, dir) &&
	    add(c, RFD_MNT_KEEP, "", socket_path, NULL, false))
		return -1;
	if (door_dir && base_path_under(door_dir, dir) &&
	    add(c, RFD_MNT_KEEP, "", door_dir, NULL, false))
		return -1;
	if (realpath("/etc/resolv.conf", resolv) && base_path_under(resolv, dir) &&
	    add(c, RFD_MNT_KEEP, "", resolv, NULL, false))
		return -1;
	return 0;
}

/* sshd's private host keys, whatever their types. */
static int add_ssh_keys(struct rfd_confine *c)
{
	glob_t g;
	int rc = 0;
	if (glob("/etc/ssh/ssh_host_*_key", GLOB_NOSORT, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc && !rc; i++)
		rc = add(c, RFD_MNT_HIDE_FILE, "", g.gl_pathv[i], NULL, false);
	globfree(&g);
	return rc;
}

/* The socket's path with its directory resolved (/var/run/rfd.sock is
 * /run/rfd.sock), as the hidden directories are compared with it; NULL
 * if there is none. */
static const char *real_socket(const char *path, char *buf)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = path ? strrchr(path, '/') : NULL;
	if (!slash)
		return path;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (!realpath(dir[0] ? dir : "/", real) ||
	    snprintf(buf, PATH_MAX, "%s%s", strcmp(real, "/") ? real : "", slash) >= PATH_MAX)
		return path;
	return buf;
}

static int plan_host(struct rfd_confine *c, const struct rfd_confine_opts *o)
{
	char sockbuf[PATH_MAX];
	const char *sock = real_socket(o->socket_path, sockbuf);
	/* First: the KEEPs below then open (and keep) what is bound here. */
	if (sock && o->subos_socket && add(c, RFD_MNT_BIND, "", sock, o->subos_socket, false))
		return -1;
	if (add_list(c, RFD_MNT_RO, "", host_ro) || add_list(c, RFD_MNT_RO, "", proc_ro) ||
	    add_list(c, RFD_MNT_HIDE_FILE, "", host_hide_files) || add_ssh_keys(c) ||
	    add_list(c, RFD_MNT_HIDE_FILE, "", proc_hide))
		return -1;
	const char *door = o->door_dir;
	if (o->state_dir && add_hidden_dir(c, o->state_dir, sock, door))
		return -1;
	if (add_hidden_dir(c, "/root", sock, door) || add_hidden_dir(c, "/run", sock, door))
		return -1;
	return add(c, RFD_MNT_DEV, "", "/dev", NULL, false);
}

static int plan_root(struct rfd_confine *c, const struct rfd_confine_opts *o)
{
	const char *r = o->root;
	if (add(c, RFD_MNT_BIND, "", r, r, false) || add(c, RFD_MNT_PROC, r, "/proc", NULL, true) ||
	    add_list(c, RFD_MNT_RO, r, proc_ro) || add_list(c, RFD_MNT_HIDE_FILE, r, proc_hide) ||
	    add(c, RFD_MNT_DEV, r, "/dev", NULL, true))
		return -1;
	const char *door = o->subos_socket ? o->subos_socket : o->socket_path;
	if (o->socket_path && add(c, RFD_MNT_BIND, r, o->socket_path, door, true))
		return -1;
	return 0;
}

static int plan_binds(struct rfd_confine *c, const struct rfd_confine_opts *o, bool ro,
		      struct base_err *err)
{
	const char *const *v = ro ? o->ro_binds : o->binds;
	int n = ro ? o->nro_binds : o->nbinds;
	char src[PATH_MAX], dst[PATH_MAX];
	const char *why;
	for (int i = 0; i < n; i++) {
		if (base_bind_parse(v[i], src, sizeof(src), dst, sizeof(dst), &why))
			return base_errf(err, BASE_E_BAD_REQUEST, "bind \"%s\": %s", v[i], why);
		if (add(c, ro ? RFD_MNT_BIND_RO : RFD_MNT_BIND, o->root ? o->root : "", dst, src,
			o->root != NULL))
			return base_errf(err, BASE_E_INTERNAL, "out of memory");
	}
	return 0;
}

int rfd_confine_fs_plan(struct rfd_confine *c, const struct rfd_confine_opts *o,
			struct base_err *err)
{
	if ((o->root ? plan_root(c, o) : plan_host(c, o)))
		return base_errf(err, BASE_E_INTERNAL, "out of memory");
	if (plan_binds(c, o, false, err) || plan_binds(c, o, true, err))
		return -1;
	if (o->root && add(c, RFD_MNT_PIVOT, "", o->root, NULL, false))
		return base_errf(err, BASE_E_INTERNAL, "out of memory");
	return 0;
}

void rfd_confine_fs_free(struct rfd_confine *c)
{
	for (int i = 0; i < c->nops; i++) {
		free(c->ops[i].path);
		free(c->ops[i].src);
	}
	free(c->ops);
	c->ops = NULL;
	c->nops = 0;
}

/* ---- running it (in the program's process: system calls only) -------- */

/* a + b into out (PATH_MAX); snprintf is avoided after fork. */
static void join(char *out, const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na + nb >= PATH_MAX)
		nb = PATH_MAX - 1 - na;
	memmove(out, a, na);
	memmove(out + na, b, nb);
	out[na + nb] = '\0';
}

/* "/proc/self/fd/N": the way to bind a file whose path is about to be
 * covered by another mount. */
static void fd_path(char *out, int fd)
{
	char digits[16];
	int n = 0;
	do
		digits[n++] = (char)('0' + fd % 10);
	while ((fd /= 10) > 0);
	memcpy(out, "/proc/self/fd/", 14);
	for (int i = 0; i < n; i++)
		out[14 + i] = digits[n - 1 - i];
	out[14 + n] = '\0';
}

/* One step of make_target: p made if missing; past the first `trusted`
 * characters (a private root's own path) a symbolic link is refused, so
 * that a link a program left in its root cannot point a mount or a new
 * file at the host's tree. */
static int make_step(const char *p, bool dir, bool check)
{
	struct stat st;
	if (check && lstat(p, &st) == 0)
		return S_ISLNK(st.st_mode) ? -ELOOP : 0;
	if (dir)
		return mkdir(p, 0755) && errno != EEXIST ? -errno : 0;
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0644);
	if (fd < 0)
		return errno == EISDIR ? 0 : -errno;
	close(fd);
	return 0;
}

/* path, with its missing parents: a directory, or an empty file. */
static int make_target(const char *path, bool dir, size_t trusted)
{
	char p[PATH_MAX];
	int rc;
	join(p, path, "");
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		rc = make_step(p, true, (size_t)(s - p) > trusted);
		*s = '/';
		if (rc)
			return rc;
	}
	return make_step(p, dir, strlen(p) > trusted);
}

static int set_ro(const char *path)
{
	struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
	return syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &a, sizeof(a)) ? -errno
										       : 0;
}

static int bind(const char *src, const char *dst, bool ro)
{
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL))
		return -errno;
	return ro ? set_ro(dst) : 0;
}

/* Bind the file open at fd onto path (made if missing). */
static int bind_fd(int fd, const char *path)
{
	char src[32];
	struct stat st;
	int rc;
	if (fstat(fd, &st))
		return -errno;
	if ((rc = make_target(path, S_ISDIR(st.st_mode), PATH_MAX))) /* in our own tmpfs */
		return rc;
	fd_path(src, fd);
	return bind(src, path, false);
}

static int remount_ro(const char *path)
{
	return mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
		     MS_NOEXEC, NULL) ? -errno : 0;
}

/* An empty tmpfs over ops[0].path, with the KEEP paths after it bound
 * back (opened before they are covered). */
static int hide_dir(const struct rfd_mnt_op *ops, int n)
{
	int fds[KEEP_MAX], nk = 0, rc = 0;
	for (int i = 1; i < n && ops[i].kind == RFD_MNT_KEEP && nk < KEEP_MAX; i++)
		fds[nk++] = open(ops[i].path, O_PATH | O_CLOEXEC);
	if (mount("tmpfs", ops[0].path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  strcmp(ops[0].path, "/root") ? "mode=0755,size=64k" : "mode=0700,size=64k")) {
		rc = errno == ENOENT ? 0 : -errno;
		goto out;
	}
	for (int i = 0; i < nk && !rc; i++)
		if (fds[i] >= 0)
			rc = bind_fd(fds[i], ops[1 + i].path);
	if (!rc)
		rc = remount_ro(ops[0].path);
out:
	for (int i = 0; i < nk; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

/* The device files a program may use, from the host's /dev. */
static const char *const dev_files[] = { "null", "zero", "full", "random", "urandom", "tty" };
#define NDEV (sizeof(dev_files) / sizeof(dev_files[0]))
/* Shared-memory file systems: fresh instances of its own, never the
 * host's, whose files would be other programs' memory (POSIX shared
 * memory, huge page files, message queues: mqueue shows the queues of the
 * IPC namespace that mounts it, the program's own).  What it writes there
 * is charged to its own memory cgroup.  `--bind /dev/shm` brings the
 * host's back when a program needs it. */
static const struct {
	const char *name, *fstype, *opts;
} dev_fs[] = {
	{ "shm", "tmpfs", "mode=1777" },
	{ "mqueue", "mqueue", NULL },
	{ "hugepages", "hugetlbfs", "mode=1777" },
};

static void dev_own_fs(const char *path)
{
	char p[PATH_MAX];
	for (size_t i = 0; i < sizeof(dev_fs) / sizeof(dev_fs[0]); i++) {
		join(p, path, "/");
		join(p, p, dev_fs[i].name);
		if (mkdir(p, 0755) == 0 &&
		    mount(dev_fs[i].fstype, p, dev_fs[i].fstype, MS_NOSUID | MS_NODEV,
			  dev_fs[i].opts)) {
			rmdir(p); /* a kernel without it: the program does without */
		}
	}
}

/* Links and a pty instance of the program's own in the new /dev. */
static void dev_extras(const char *path)
{
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/fd" }, { "/proc/self/fd/0", "/stdin" },
		{ "/proc/self/fd/1", "/stdout" }, { "/proc/self/fd/2", "/stderr" },
		{ "pts/ptmx", "/ptmx" },
	};
	char p[PATH_MAX];
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		join(p, path, links[i][1]);
		if (symlink(links[i][0], p)) {
			/* a missing link only costs the program that uses it */
		}
	}
	join(p, path, "/pts");
	if (mkdir(p, 0755) == 0 &&
	    mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666")) {
		/* no ptys inside; the host's are never shared */
	}
}

/* A small tmpfs /dev at path: no disks, no memory or port devices, no
 * host terminals; read-only once made. */
static int make_dev(const char *path, bool make, size_t trusted)
{
	int fds[NDEV], rc = 0;
	char p[PATH_MAX];
	for (size_t i = 0; i < NDEV; i++) {
		join(p, "/dev/", dev_files[i]);
		fds[i] = open(p, O_PATH | O_CLOEXEC);
	}
	if (make && (rc = make_target(path, true, trusted)))
		goto out;
	if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")) {
		rc = -errno;
		goto out;
	}
	for (size_t i = 0; i < NDEV && !rc; i++) {
		join(p, path, "/");
		join(p, p, dev_files[i]);
		if (fds[i] >= 0)
			rc = bind_fd(fds[i], p);
	}
	dev_extras(path);
	dev_own_fs(path);
	if (!rc)
		rc = remount_ro(path);
out:
	for (size_t i = 0; i < NDEV; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

static int pivot(const char *root)
{
	if (chdir(root) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH))
		return -errno;
	return 0;
}

static int run_op(const struct rfd_confine *c, int i)
{
	const struct rfd_mnt_op *op = &c->ops[i];
	struct stat st;
	int rc;
	switch (op->kind) {
	case RFD_MNT_RO:
		rc = bind(op->path, op->path, true);
		return rc == -ENOENT ? 0 : rc;
	case RFD_MNT_HIDE_FILE:
		if (stat(op->path, &st) || S_ISDIR(st.st_mode))
			return 0;
		return mount("/dev/null", op->path, NULL, MS_BIND, NULL) ? -errno : 0;
	case RFD_MNT_HIDE_DIR:
		return hide_dir(op, c->nops - i);
	case RFD_MNT_DEV:
		return make_dev(op->path, op->make, op->trusted);
	case RFD_MNT_PROC:
		if ((rc = make_target(op->path, true, op->trusted)))
			return rc;
		return mount("proc", op->path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) ?
			       -errno : 0;
	case RFD_MNT_BIND:
	case RFD_MNT_BIND_RO:
		if (op->make) {
			if (stat(op->src, &st))
				return -errno;
			if ((rc = make_target(op->path, S_ISDIR(st.st_mode), op->trusted)))
				return rc;
		}
		return bind(op->src, op->path, op->kind == RFD_MNT_BIND_RO);
	case RFD_MNT_PIVOT:
		return pivot(op->path);
	default: /* KEEP: done by the HIDE_DIR before it */
		return 0;
	}
}

int rfd_confine_fs_apply(const struct rfd_confine *c, int *at)
{
	for (int i = 0; i < c->nops; i++) {
		int rc = run_op(c, i);
		if (rc) {
			*at = i;
			return rc;
		}
	}
	/* rfd's working directory may be one the program must not see. */
	return chdir("/") ? -errno : 0;
}
