/*
 * test_confine.c - a subOS's confinement, short of running a subOS
 * (src/base/confine_spec.c, src/rfd/confine*.c; the escape test
 * tests/integration/41-escape-confine.sh runs it for real).
 *
 * Covers: capability names both ways; bind specs and their refusals; the
 * libos memory limit; rfd_confine_check's refusals; the filesystem plan
 * for the host's view (read-only, hidden, the socket kept in a hidden state
 * directory) and for a private root (ending in pivot_root, binds inside);
 * the capability sets per kind and with --cap; and the seccomp filter
 * itself, loaded in a forked child that then tries what it must refuse.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <cmocka.h>

#include "base/confine_spec.h"
#include "rfd/confine_impl.h"

static void test_cap_names(void **state)
{
	assert_int_equal(base_cap_parse("NET_RAW"), 13);
	assert_int_equal(base_cap_parse("net_raw"), 13);
	assert_int_equal(base_cap_parse("CAP_SYS_ADMIN"), 21);
	assert_int_equal(base_cap_parse("cap_chown"), 0);
	assert_int_equal(base_cap_parse("CHECKPOINT_RESTORE"), 40);
	assert_int_equal(base_cap_parse("NET_RAWR"), -1);
	assert_int_equal(base_cap_parse(""), -1);
	assert_int_equal(base_cap_parse("CAP_"), -1);
	assert_string_equal(base_cap_name(0), "CHOWN");
	assert_string_equal(base_cap_name(40), "CHECKPOINT_RESTORE");
	assert_null(base_cap_name(41));
	assert_null(base_cap_name(-1));
	for (int c = 0; c <= BASE_CAP_LAST; c++)
		assert_int_equal(base_cap_parse(base_cap_name(c)), c);
}

static void expect_bind(const char *spec, const char *src, const char *dst)
{
	char s[64], d[64];
	const char *why = NULL;
	assert_int_equal(base_bind_parse(spec, s, sizeof(s), d, sizeof(d), &why), 0);
	assert_string_equal(s, src);
	assert_string_equal(d, dst);
}

static void expect_bad_bind(const char *spec)
{
	char s[64], d[64];
	const char *why = NULL;
	assert_int_equal(base_bind_parse(spec, s, sizeof(s), d, sizeof(d), &why), -1);
	assert_non_null(why);
}

static void test_bind_specs(void **state)
{
	expect_bind("/srv", "/srv", "/srv");
	expect_bind("/srv/a:/data", "/srv/a", "/data");
	expect_bind("/:/host", "/", "/host");
	expect_bad_bind("");
	expect_bad_bind("srv");
	expect_bad_bind("/a:b");
	expect_bad_bind("/a:");
	expect_bad_bind(":/a");
	expect_bad_bind("/a:/b:/c");
	expect_bad_bind("/a/very/long/path/that/does/not/fit/in/sixty/four/bytes/at/all/x");
}

static void test_mem_limit(void **state)
{
	assert_true(rfd_confine_mem_limit(RF_KIND_LINUX, 64ull << 20, 2) == 64ull << 20);
	assert_true(rfd_confine_mem_limit(RF_KIND_LIBOS, 64ull << 20, 2) ==
		    (64ull << 20) + RFD_LIBOS_ALLOWANCE + 2 * RFD_LIBOS_PER_CORE);
	assert_true(RFD_LIBOS_ALLOWANCE == 64ull << 20 && RFD_LIBOS_PER_CORE == 8ull << 20);
}

static int check(const char *const *caps, const char *root, const char *const *binds,
		 const char *const *ro)
{
	struct base_request req;
	struct base_err err = { 0 };
	base_request_init(&req, RF_VERB_CREATE);
	req.caps = (const char **)caps;
	for (req.ncaps = 0; caps && caps[req.ncaps]; req.ncaps++)
		;
	req.fs_root = root;
	req.binds = (const char **)binds;
	for (req.nbinds = 0; binds && binds[req.nbinds]; req.nbinds++)
		;
	req.ro_binds = (const char **)ro;
	for (req.nro_binds = 0; ro && ro[req.nro_binds]; req.nro_binds++)
		;
	int rc = rfd_confine_check(&req, &err);
	if (rc)
		assert_int_equal(err.code, BASE_E_BAD_REQUEST);
	return rc;
}

static void test_check(void **state)
{
	static const char *const good_caps[] = { "NET_RAW", "cap_sys_nice", NULL };
	static const char *const bad_caps[] = { "NET_RAW", "BOGUS", NULL };
	static const char *const proc[] = { "/proc/sys", NULL }, *const sys[] = { "/sys", NULL };
	static const char *const tmp[] = { "/tmp:/data", NULL };
	static const char *const gone[] = { "/nope-rf", NULL };
	static const char *const rel[] = { "tmp", NULL };
	assert_int_equal(check(good_caps, NULL, NULL, NULL), 0);
	assert_int_equal(check(bad_caps, NULL, NULL, NULL), -1);
	assert_int_equal(check(NULL, "/tmp", tmp, proc), 0);
	assert_int_equal(check(NULL, "/", NULL, NULL), -1);
	assert_int_equal(check(NULL, "tmp", NULL, NULL), -1);
	assert_int_equal(check(NULL, "/nope-rf", NULL, NULL), -1);
	assert_int_equal(check(NULL, "/bin/sh", NULL, NULL), -1);
	assert_int_equal(check(NULL, NULL, proc, NULL), -1); /* writable /proc: no */
	assert_int_equal(check(NULL, NULL, sys, NULL), -1);
	assert_int_equal(check(NULL, NULL, NULL, sys), 0);   /* read-only: fine */
	assert_int_equal(check(NULL, NULL, gone, NULL), -1);
	assert_int_equal(check(NULL, NULL, rel, NULL), -1);
	static const char *const slash[] = { "/:/host", NULL }, *const dev[] = { "/dev", NULL };
	static const char *const shm[] = { "/dev/shm", NULL }, *const null[] = { "/dev/null", NULL };
	static const char *const procx[] = { "/proc/self", NULL };
	assert_int_equal(check(NULL, NULL, NULL, slash), -1); /* even read-only */
	assert_int_equal(check(NULL, NULL, NULL, dev), -1);
	assert_int_equal(check(NULL, NULL, shm, null), 0);
	assert_int_equal(check(NULL, NULL, procx, NULL), -1);
	assert_true(base_path_under("/proc/sys", "/proc"));
	assert_true(base_path_under("/proc", "/proc"));
	assert_true(base_path_under("/proc/x", "/proc/"));
	assert_false(base_path_under("/procx", "/proc"));
	assert_false(base_path_under("/pro", "/proc"));
}

/* The index of the op of kind k at path, or -1. */
static int find_op(const struct rfd_confine *c, enum rfd_mnt_kind k, const char *path)
{
	for (int i = 0; i < c->nops; i++)
		if (c->ops[i].kind == k && strcmp(c->ops[i].path, path) == 0)
			return i;
	return -1;
}

static void prepare(struct rfd_confine *c, struct rfd_confine_opts *o)
{
	struct base_err err = { 0 };
	if (rfd_confine_prepare(c, o, &err))
		fail_msg("prepare: %s", err.msg);
	assert_non_null(c->filter);
	assert_true(c->nfilter > 10);
}

static void test_plan_host(void **state)
{
	static const char *const caps[] = { "NET_RAW", NULL }, *const ro[] = { "/srv:/mnt", NULL };
	struct rfd_confine_opts o = {
		.kind = RF_KIND_LINUX, .state_dir = "/tmp/rf-state", .ro_binds = ro,
		.nro_binds = 1, .socket_path = "/tmp/rf-state/rfd.sock",
	};
	struct rfd_confine c;
	prepare(&c, &o);
	assert_true(c.caps == RFD_CONFINE_CAPS_DEFAULT);
	assert_false(c.caps & (1ull << 21)); /* SYS_ADMIN */
	assert_true(find_op(&c, RFD_MNT_RO, "/sys") >= 0);
	assert_true(find_op(&c, RFD_MNT_RO, "/etc") >= 0);
	assert_true(find_op(&c, RFD_MNT_RO, "/proc/sys") >= 0);
	assert_true(find_op(&c, RFD_MNT_HIDE_FILE, "/etc/shadow") >= 0);
	assert_true(find_op(&c, RFD_MNT_HIDE_FILE, "/proc/kcore") >= 0);
	assert_true(find_op(&c, RFD_MNT_HIDE_DIR, "/root") >= 0);
	int st = find_op(&c, RFD_MNT_HIDE_DIR, "/tmp/rf-state");
	assert_true(st >= 0);
	assert_int_equal(find_op(&c, RFD_MNT_KEEP, "/tmp/rf-state/rfd.sock"), st + 1);
	int run = find_op(&c, RFD_MNT_HIDE_DIR, "/run");
	assert_true(run >= 0 && c.ops[run + 1].kind != RFD_MNT_KEEP);
	assert_true(find_op(&c, RFD_MNT_DEV, "/dev") >= 0);
	int b = find_op(&c, RFD_MNT_BIND_RO, "/mnt");
	assert_int_equal(b, c.nops - 1);
	assert_string_equal(c.ops[b].src, "/srv");
	assert_false(c.ops[b].make);
	rfd_confine_release(&c);
	/* rfd's socket for subOSes: bound over the control socket first, so
	 * that the KEEP of the hidden state directory keeps it. */
	o.subos_socket = "/tmp/rf-state/door/subos.sock";
	o.door_dir = "/tmp/rf-state/door";
	prepare(&c, &o);
	assert_int_equal(find_op(&c, RFD_MNT_BIND, "/tmp/rf-state/rfd.sock"), 0);
	assert_string_equal(c.ops[0].src, "/tmp/rf-state/door/subos.sock");
	assert_false(c.ops[0].make);
	st = find_op(&c, RFD_MNT_HIDE_DIR, "/tmp/rf-state");
	assert_int_equal(find_op(&c, RFD_MNT_KEEP, "/tmp/rf-state/rfd.sock"), st + 1);
	/* and the door's directory, where RF_SOCKET points (an rfd restart) */
	assert_int_equal(find_op(&c, RFD_MNT_KEEP, "/tmp/rf-state/door"), st + 2);
	rfd_confine_release(&c);
	o.subos_socket = NULL;
	o.door_dir = NULL;
	o.kind = RF_KIND_LIBOS; /* libos keeps IPC_LOCK; --cap adds */
	o.caps = caps;
	o.ncaps = 1;
	prepare(&c, &o);
	assert_true(c.caps == (RFD_CONFINE_CAPS_LIBOS | 1ull << 13));
	rfd_confine_release(&c);
}

static void test_plan_root(void **state)
{
	static const char *const binds[] = { "/srv/data:/data", NULL };
	struct rfd_confine_opts o = {
		.kind = RF_KIND_LINUX, .root = "/srv/box", .binds = binds, .nbinds = 1,
		.state_dir = "/var/lib/rfd", .socket_path = "/run/rfd.sock",
	};
	struct rfd_confine c;
	prepare(&c, &o);
	assert_int_equal(find_op(&c, RFD_MNT_BIND, "/srv/box"), 0);
	assert_true(find_op(&c, RFD_MNT_PROC, "/srv/box/proc") > 0);
	assert_true(find_op(&c, RFD_MNT_RO, "/srv/box/proc/sys") > 0);
	assert_true(find_op(&c, RFD_MNT_DEV, "/srv/box/dev") > 0);
	int s = find_op(&c, RFD_MNT_BIND, "/srv/box/run/rfd.sock");
	assert_true(s > 0 && c.ops[s].make);
	assert_string_equal(c.ops[s].src, "/run/rfd.sock");
	int b = find_op(&c, RFD_MNT_BIND, "/srv/box/data");
	assert_true(b > s && c.ops[b].make);
	rfd_confine_release(&c);
	o.subos_socket = "/var/lib/rfd/door/subos.sock"; /* the socket for subOSes is what goes in */
	prepare(&c, &o);
	s = find_op(&c, RFD_MNT_BIND, "/srv/box/run/rfd.sock");
	assert_true(s > 0);
	assert_string_equal(c.ops[s].src, "/var/lib/rfd/door/subos.sock");
	b = find_op(&c, RFD_MNT_BIND, "/srv/box/data");
	assert_int_equal(find_op(&c, RFD_MNT_PIVOT, "/srv/box"), c.nops - 1);
	assert_int_equal(find_op(&c, RFD_MNT_HIDE_DIR, "/var/lib/rfd"), -1); /* not there */
	char what[256];
	rfd_confine_describe_step(&c, 100 + b, what, sizeof(what));
	assert_string_equal(what, "cannot bind onto /srv/box/data from /srv/data");
	rfd_confine_release(&c);
}

/* Bits of what the child saw go wrong. */
enum { BAD_UNSHARE = 1, BAD_MOUNT = 2, BAD_CLONE3 = 4, BAD_MEMPOLICY = 8, BAD_GETPID = 16,
       BAD_RT = 32, BAD_AFFINITY = 64, BAD_LOAD = 128 };

static int try_filter(const struct rfd_confine *c)
{
	struct sock_fprog prog = { .len = c->nfilter, .filter = c->filter };
	int bad = 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0))
		return BAD_LOAD;
	if (!(unshare(CLONE_NEWUSER) < 0 && errno == EPERM))
		bad |= BAD_UNSHARE;
	if (!(mount("none", "/mnt", "tmpfs", 0, NULL) < 0 && errno == EPERM))
		bad |= BAD_MOUNT;
	if (!(syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS))
		bad |= BAD_CLONE3;
	if (!(syscall(SYS_set_mempolicy, 0, NULL, 0) < 0 && errno == EPERM))
		bad |= BAD_MEMPOLICY;
	if (syscall(SYS_getpid) != getpid())
		bad |= BAD_GETPID;
	struct sched_param sp = { .sched_priority = 1 };
	int rt = sched_setscheduler(0, SCHED_FIFO, &sp);
	if (c->kind == RF_KIND_LIBOS && !(rt < 0 && errno == EPERM))
		bad |= BAD_RT;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) || sched_setaffinity(0, sizeof(set), &set))
		bad |= BAD_AFFINITY;
	return bad;
}

static void filter_in_child(enum base_kind kind)
{
	struct rfd_confine_opts o = { .kind = kind };
	struct rfd_confine c;
	int status;
	prepare(&c, &o);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(try_filter(&c)); /* _exit: no leak check, it would ptrace */
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("the %s filter let through or refused wrongly: bits %#x",
			 base_kind_name(kind), WEXITSTATUS(status));
	rfd_confine_release(&c);
}

static void test_filter(void **state)
{
	filter_in_child(RF_KIND_LINUX);
	filter_in_child(RF_KIND_LIBOS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_names),
		cmocka_unit_test(test_bind_specs),
		cmocka_unit_test(test_mem_limit),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_plan_host),
		cmocka_unit_test(test_plan_root),
		cmocka_unit_test(test_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
