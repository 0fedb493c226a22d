/*
 * confine_seccomp.c - the seccomp filter of a subOS's program (libseccomp).
 *
 * Built in rfd before the fork and exported as BPF, so the program's
 * process only has to hand the program to the kernel (prctl): libseccomp
 * allocates, which a child forked from a threaded rfd must not.
 *
 * Everything is allowed but what could undo the confinement or reach past
 * the subOS, which fails with EPERM, so that a program that merely tries
 * (a package manager's mount, a daemon's clock sync) degrades instead of
 * dying.  Calls whose arguments live in memory (clone3, sched_setattr)
 * cannot be inspected by seccomp: clone3 fails with ENOSYS, so libc falls
 * back to clone, whose flags are checked.
 *
 * Only x86_64 system calls pass: the filter has one architecture, so a
 * call through the i386 (int $0x80) or x32 ABI fails with EPERM too,
 * before any rule could be sidestepped by another numbering.
 */
#define _GNU_SOURCE
#include "rfd/confine_impl.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/filter.h>
#include <seccomp.h>

/* Refused outright, for both kinds. */
static const char *const deny_always[] = {
	/* the mount table (rfd's own set-up is done before the filter) */
	"mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsconfig",
	"fsmount", "fspick", "mount_setattr",
	/* other namespaces; processes outside (ptrace is refused entirely:
	 * a process's own children are inside, but a debugger inside a subOS
	 * is not worth a rule that must tell them apart) */
	"setns", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
	/* the kernel itself */
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "bpf",
	"iopl", "ioperm", "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
	"lookup_dcookie", "uselib", "open_by_handle_at",
	/* clocks */
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	/* memory placement: a subOS's memory is where rfd put it */
	"mbind", "set_mempolicy", "migrate_pages", "move_pages", "set_mempolicy_home_node",
	/* the kernel keyrings are not namespaced */
	"keyctl", "add_key", "request_key",
};

/* Refused for a libos subOS, whose cores and scheduling are librf's: real
 * time classes (sched_setscheduler's are checked below). */
static const char *const deny_libos[] = { "sched_setattr" };

static const unsigned long ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
	CLONE_NEWPID, CLONE_NEWNET, 0x00000080 /* CLONE_NEWTIME */,
};

static int deny_names(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* unknown to this libseccomp: nothing calls it either */
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (rc)
			return rc;
	}
	return 0;
}

/* unshare and clone with any namespace flag: one rule per flag (rules
 * of a call are or-ed). */
static int deny_ns_flags(scmp_filter_ctx ctx)
{
	int rc = 0;
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]) && !rc; i++) {
		scmp_datum_t f = ns_flags[i];
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, f, f));
		if (!rc)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
					      SCMP_A0(SCMP_CMP_MASKED_EQ, f, f));
	}
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* Typing into a terminal another process reads. */
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
	return rc;
}

/* sched_setscheduler to SCHED_FIFO, SCHED_RR or SCHED_DEADLINE (with or
 * without SCHED_RESET_ON_FORK). */
static int deny_rt(scmp_filter_ctx ctx)
{
	static const scmp_datum_t rt[] = { SCHED_FIFO, SCHED_RR, 6 /* SCHED_DEADLINE */ };
	int rc = 0;
	for (size_t i = 0; i < sizeof(rt) / sizeof(rt[0]) && !rc; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(sched_setscheduler), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, ~(scmp_datum_t)0x40000000 &
							  0xffffffffu, rt[i]));
	return rc;
}

static int add_rules(scmp_filter_ctx ctx, enum base_kind kind)
{
	int rc;
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM))) ||
	    (rc = deny_names(ctx, deny_always, sizeof(deny_always) / sizeof(deny_always[0]))) ||
	    (rc = deny_ns_flags(ctx)))
		return rc;
	if (kind != RF_KIND_LIBOS)
		return 0;
	/* sched_setaffinity stays allowed: librf pins one thread per core
	 * (src/librf/core.c), and the subOS's cpuset already bounds any mask
	 * it sets; seccomp could not compare a mask in memory anyway. */
	if ((rc = deny_names(ctx, deny_libos, sizeof(deny_libos) / sizeof(deny_libos[0]))))
		return rc;
	return deny_rt(ctx);
}

/* The filter as BPF: exported to a memfd, read back. */
static int export(scmp_filter_ctx ctx, struct rfd_confine *c)
{
	int fd = memfd_create("rfd-seccomp", MFD_CLOEXEC), rc = -EIO;
	off_t len;
	if (fd < 0)
		return -errno;
	if ((rc = seccomp_export_bpf(ctx, fd)) || (len = lseek(fd, 0, SEEK_END)) <= 0 ||
	    len % (off_t)sizeof(struct sock_filter) || len > 65535 * 8) {
		rc = rc ? rc : -EIO;
		goto out;
	}
	if (!(c->filter = malloc((size_t)len))) {
		rc = -ENOMEM;
		goto out;
	}
	if (pread(fd, c->filter, (size_t)len, 0) != len) {
		rc = -EIO;
		goto out;
	}
	c->nfilter = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
	rc = 0;
out:
	close(fd);
	return rc;
}

/* Build kind's filter into c; 0 or -errno. */
static int build(struct rfd_confine *c)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc;
	if (!ctx)
		return -ENOMEM;
	rc = add_rules(ctx, c->kind);
	if (!rc)
		rc = export(ctx, c);
	seccomp_release(ctx);
	return rc;
}

int rfd_confine_seccomp_build(struct rfd_confine *c, struct base_err *err)
{
	/* The program depends on the kind alone: built once per kind (a
	 * create's start-up time is measured, rfbench lifecycle), copied. */
	static struct rfd_confine made[2];
	struct rfd_confine *m = &made[c->kind == RF_KIND_LIBOS];
	int rc = 0;
	if (!m->filter) {
		m->kind = c->kind;
		rc = build(m);
	}
	if (!rc && !(c->filter = malloc(sizeof(*m->filter) * m->nfilter)))
		rc = -ENOMEM;
	if (rc)
		return base_errf(err, BASE_E_INTERNAL, "cannot build the seccomp filter: %s",
				 strerror(-rc));
	memcpy(c->filter, m->filter, sizeof(*m->filter) * m->nfilter);
	c->nfilter = m->nfilter;
	return 0;
}
