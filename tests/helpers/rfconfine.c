/*
 * rfconfine - a hostile root program for the escape tests
 * (tests/integration/41-escape-confine.sh): from inside a subOS it tries
 * every way out the confinement (src/rfd/confine*.c) is meant to close
 * and prints one line per attack, so the test can assert each:
 *
 *   NAME: refused (ERRNO or why)    the attack failed as it should
 *   NAME: held (what)               it "worked" but changed nothing
 *   NAME: ESCAPED (what)            the confinement did not hold
 *
 *   rfconfine [--pid N]... [--path P]...           as a linux subOS
 *   rfconfine --libos [--pid N]... [--path P]...   as a libos subOS (librf)
 *   rfconfine --libos --hog                        allocate (libc) until stopped
 *   rfconfine --i386 | --pause                     its own probes (children)
 *
 * --pid names host processes outside the subOS (rfd, its shims, another
 * subOS): their /proc/PID/mem, ptrace, process_vm_readv and signals must
 * all fail.  --path names files that must not be readable (rfd's journal).
 * After the attacks it prints "rfconfine: done" and keeps running, so the
 * test can check that it, rfd and the other subOSes are still well.
 * Every attack is harmless if it does succeed (bad magic numbers, the
 * current time, a device that is not there).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <signal.h>
#include <spawn.h>
#include <time.h>
#include <unistd.h>
#include <rf/rf.h>

#define MAX_ARGS 16

static int npids, npaths;
static long pids[MAX_ARGS];
static const char *paths[MAX_ARGS];
static bool libos, hog;

/* A failed call (rc < 0 with errno) is a refusal; anything else escaped. */
static void report(const char *name, long rc, const char *what)
{
	if (rc < 0)
		printf("%s: refused (%s)\n", name, strerrorname_np(errno) ? strerrorname_np(errno)
									   : "?");
	else
		printf("%s: ESCAPED (%s)\n", name, what);
	fflush(stdout);
}

/* Open path with flags and write text (O_WRONLY) or read: the bytes
 * moved, or -1 with errno.  A file that reads empty is hidden too
 * (/dev/null over it): ENODATA. */
static long try_io(const char *path, int flags, const char *text)
{
	char buf[64];
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long n = text ? write(fd, text, strlen(text)) : read(fd, buf, sizeof(buf));
	int e = n == 0 && !text ? ENODATA : errno;
	close(fd);
	errno = e;
	return n > 0 ? n : -1;
}

static long write_file(const char *path, const char *text)
{
	return try_io(path, O_WRONLY, text);
}

static long read_file(const char *path)
{
	return try_io(path, O_RDONLY, NULL);
}

/* ---- cgroups ---------------------------------------------------------- */

static int cg_written, cg_tried;
static char pidtext[16];

static int try_cgroup_file(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	const char *base = path + f->base;
	if (flag == FTW_F && (!strcmp(base, "tasks") || !strcmp(base, "cgroup.procs"))) {
		cg_tried++;
		if (write_file(path, pidtext) > 0) {
			cg_written++;
			printf("cgroup_any: ESCAPED (wrote %s)\n", path);
		}
	}
	return 0;
}

static void attack_cgroups(void)
{
	snprintf(pidtext, sizeof(pidtext), "%d\n", getpid());
	report("cgroup_cpuset_root_tasks", write_file("/sys/fs/cgroup/cpuset/tasks", pidtext),
	       "moved into the root cpuset");
	report("cgroup_cpuset_root_procs",
	       write_file("/sys/fs/cgroup/cpuset/cgroup.procs", pidtext), "root cpuset");
	report("cgroup_memory_root_tasks", write_file("/sys/fs/cgroup/memory/tasks", pidtext),
	       "moved into the root memory cgroup");
	report("cgroup_unified_root_procs", write_file("/sys/fs/cgroup/cgroup.procs", pidtext),
	       "root cgroup2");
	nftw("/sys/fs/cgroup", try_cgroup_file, 16, FTW_PHYS);
	if (!cg_written)
		printf("cgroup_any: refused (%d tasks/cgroup.procs files, none writable)\n",
		       cg_tried);
	report("cgroup_remount_rw",
	       mount(NULL, "/sys/fs/cgroup", NULL, MS_REMOUNT | MS_BIND, NULL), "remounted rw");
	report("cgroup_remount_cpuset_rw",
	       mount(NULL, "/sys/fs/cgroup/cpuset", NULL, MS_REMOUNT | MS_BIND, NULL),
	       "remounted rw");
	static const char *const fs[][3] = {
		{ "cgroup_mount_v1", "cgroup", "cpuset" }, { "cgroup_mount_v2", "cgroup2", NULL },
		{ "mount_tmpfs", "tmpfs", NULL },
	};
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		long rc = mount(fs[i][1], "/mnt", fs[i][1], 0, fs[i][2]);
		report(fs[i][0], rc, "mounted a new filesystem");
		if (rc == 0)
			umount2("/mnt", MNT_DETACH);
	}
}

/* ---- files ------------------------------------------------------------ */

static void attack_files(void)
{
	static const char *const devs[] = {
		"/dev/mem", "/dev/kmem", "/dev/port", "/dev/sda", "/dev/vda", "/dev/nvme0n1",
		"/dev/loop0", "/dev/kmsg",
	};
	report("read_shadow", read_file("/etc/shadow"), "read /etc/shadow");
	report("read_gshadow", read_file("/etc/gshadow"), "read /etc/gshadow");
	report("write_proc_sys_core_pattern",
	       write_file("/proc/sys/kernel/core_pattern", "|/bin/false"), "set core_pattern");
	report("write_proc_sys_domainname", write_file("/proc/sys/kernel/domainname", "x"),
	       "wrote /proc/sys");
	report("write_sysrq_trigger", write_file("/proc/sysrq-trigger", "h"), "sysrq");
	report("read_kcore", read_file("/proc/kcore"), "read kernel memory");
	/* opened for writing only, so that an escape changes nothing */
	report("write_etc", open("/etc/hostname", O_WRONLY | O_CLOEXEC), "opened /etc for writing");
	report("create_cron", open("/etc/cron.d/rfconfine", O_WRONLY | O_CREAT | O_EXCL, 0600),
	       "created a cron job");
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "open_%s", devs[i] + 5);
		report(name, open(devs[i], O_RDONLY | O_CLOEXEC), devs[i]);
	}
	report("mknod_block", mknod("/dev/shm/rfconfine-blk", S_IFBLK | 0600, makedev(7, 0)),
	       "made a block device node");
	unlink("/dev/shm/rfconfine-blk");
	report("see_run_systemd", access("/run/systemd", F_OK), "/run/systemd is visible");
	report("list_root_home", access("/root/.bashrc", F_OK), "/root is visible");
	for (int i = 0; i < npaths; i++) {
		char name[64];
		snprintf(name, sizeof(name), "read_path%d", i);
		report(name, read_file(paths[i]), paths[i]);
	}
	/* Its shared-memory file systems are its own: what it plants there the
	 * test must not find in the host's (left in place, on purpose). */
	for (int i = 0; i < 2; i++) {
		const char *f = i ? "/dev/hugepages/rfconfine-planted" : "/dev/shm/rfconfine-planted";
		int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
}

/* ---- namespaces, processes -------------------------------------------- */

static void attack_namespaces(void)
{
	report("unshare_mount", unshare(CLONE_NEWNS), "new mount namespace");
	report("unshare_user", unshare(CLONE_NEWUSER), "new user namespace");
	report("unshare_cgroup", unshare(CLONE_NEWCGROUP), "new cgroup namespace");
	report("clone_newpid", syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0),
	       "cloned into a new PID namespace");
	int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
	report("setns_pid1_mnt", fd < 0 ? -1 : setns(fd, 0), "entered PID 1's mount namespace");
	if (fd >= 0)
		close(fd);
	fd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	report("setns_self_pid", fd < 0 ? -1 : setns(fd, CLONE_NEWPID), "setns allowed");
	if (fd >= 0)
		close(fd);
}

/* A child process, started with posix_spawn rather than fork: a librf
 * program runs on fiber stacks in MAP_SHARED regions, which a forked child
 * would share (and scribble on). */
static pid_t spawn_self(const char *arg)
{
	char *argv[] = { "rfconfine", (char *)arg, NULL };
	pid_t pid;
	signal(SIGCHLD, SIG_DFL); /* librf's disposition may reap it unseen */
	return posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ) ? -1 : pid;
}

static void attack_child(void)
{
	pid_t child = spawn_self("--pause");
	long rc = child < 0 ? -1 : ptrace(PTRACE_ATTACH, child, NULL, NULL);
	report("ptrace_attach_child", rc, "attached to its own child");
	if (rc == 0)
		ptrace(PTRACE_DETACH, child, NULL, NULL);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
}

static void attack_pids(void)
{
	char buf[16], path[64], name[64];
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x400000, sizeof(buf) };
	for (int i = 0; i < npids; i++) {
		snprintf(path, sizeof(path), "/proc/%ld/mem", pids[i]);
		snprintf(name, sizeof(name), "read_mem_pid%d", i);
		report(name, read_file(path), path);
		snprintf(name, sizeof(name), "ptrace_pid%d", i);
		report(name, ptrace(PTRACE_ATTACH, (pid_t)pids[i], NULL, NULL), "attached");
		snprintf(name, sizeof(name), "vm_readv_pid%d", i);
		report(name, process_vm_readv((pid_t)pids[i], &local, 1, &remote, 1, 0), "read");
		snprintf(name, sizeof(name), "kill_pid%d", i);
		report(name, kill((pid_t)pids[i], 0), "could signal it");
	}
	attack_child();
}

/* ---- the kernel, clocks, memory placement ---------------------------- */

/* int $0x80, an i386 system call from a 64-bit process (rfconfine --i386,
 * its own process): a kernel without the i386 ABI answers with SIGSEGV. */
static int i386_probe(void)
{
	long rc;
	__asm__ volatile("int $0x80" : "=a"(rc) : "a"(20L) : "memory");
	return rc == -EPERM ? 1 : rc < 0 ? 2 : 0;
}

static void attack_i386(void)
{
	int status;
	pid_t child = spawn_self("--i386");
	if (child < 0 || waitpid(child, &status, 0) < 0)
		printf("abi_i386: refused (cannot start the probe: %s)\n", strerror(errno));
	else if (WIFSIGNALED(status))
		printf("abi_i386: refused (%s: no i386 ABI here)\n",
		       sigabbrev_np(WTERMSIG(status)));
	else if (WEXITSTATUS(status) == 1)
		printf("abi_i386: refused (EPERM)\n");
	else
		printf("abi_i386: %s\n", WEXITSTATUS(status) ? "refused (an error)"
							      : "ESCAPED (getpid ran)");
	fflush(stdout);
}

static void attack_kernel(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	report("init_module", syscall(SYS_init_module, NULL, 0, ""), "init_module allowed");
	report("finit_module", syscall(SYS_finit_module, 0, "", 0), "finit_module allowed");
	report("delete_module", syscall(SYS_delete_module, "rfconfine_none", 0), "allowed");
	report("kexec_load", syscall(SYS_kexec_load, 0, 1000, NULL, 0), "kexec_load allowed");
	report("bpf", syscall(SYS_bpf, 0, NULL, 0), "bpf allowed");
	report("iopl", syscall(SYS_iopl, 3), "raw I/O allowed");
	report("ioperm", syscall(SYS_ioperm, 0x80, 1, 1), "raw I/O allowed");
	report("reboot", syscall(SYS_reboot, 0xfee1dead, 1, 0, NULL), "reboot allowed");
	report("swapoff", syscall(SYS_swapoff, "/rfconfine-none"), "swapoff allowed");
	report("swapon", syscall(SYS_swapon, "/rfconfine-none", 0), "swapon allowed");
	report("clock_settime", clock_settime(CLOCK_REALTIME, &now), "set the clock");
	struct timeval tv;
	gettimeofday(&tv, NULL);
	report("settimeofday", settimeofday(&tv, NULL), "set the clock");
	report("set_mempolicy", syscall(SYS_set_mempolicy, 0, NULL, 0), "set a memory policy");
	report("mbind", syscall(SYS_mbind, NULL, 0, 0, NULL, 0, 0), "mbind allowed");
	report("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0), "keyctl allowed");
	report("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, NULL, 0), "allowed");
	report("tiocsti", ioctl(0, TIOCSTI, "x"), "typed into a terminal");
	attack_i386();
	report("abi_x32", syscall(0x40000000 | SYS_getpid), "an x32 system call ran");
}

/* All cores asked for: the cpuset must keep the program on its own. */
static void attack_affinity(void)
{
	cpu_set_t all, got;
	char line[256], list[128] = "?";
	CPU_ZERO(&all);
	for (int c = 0; c < CPU_SETSIZE; c++)
		CPU_SET(c, &all);
	long rc = sched_setaffinity(0, sizeof(all), &all);
	sched_getaffinity(0, sizeof(got), &got);
	FILE *f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Cpus_allowed_list: %127s", list) == 1)
			break;
	if (f)
		fclose(f);
	printf("affinity_all: held (rc %ld, Cpus_allowed_list %s)\n", rc, list);
	struct sched_param sp = { .sched_priority = 1 };
	report("sched_fifo", sched_setscheduler(0, SCHED_FIFO, &sp), "real-time class");
}

/* Raising RLIMIT_MEMLOCK past its hard limit (CAP_SYS_RESOURCE). */
static void attack_memlock(void)
{
	struct rlimit more = { RLIM_INFINITY, RLIM_INFINITY };
	report("raise_memlock", setrlimit(RLIMIT_MEMLOCK, &more), "raised RLIMIT_MEMLOCK");
}

static void attack_all(void)
{
	attack_cgroups();
	attack_files();
	attack_namespaces();
	attack_pids();
	attack_kernel();
	attack_affinity();
	attack_memlock();
	printf("rfconfine: done\n");
	fflush(stdout);
}

/* libc allocations outside librf, locked and touched, until the memory
 * cgroup stops them; prints how far it got. */
static void hog_memory(void)
{
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		printf("hog: mlockall: %s\n", strerror(errno));
	for (size_t mib = 0;; mib += 16) {
		char *p = malloc(16 << 20);
		if (!p) {
			printf("hog: malloc refused at %zu MiB\n", mib);
			fflush(stdout);
			return;
		}
		memset(p, 1, 16 << 20);
		printf("hog: %zu MiB\n", mib + 16);
		fflush(stdout);
	}
}

static void parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--libos"))
			libos = true;
		else if (!strcmp(argv[i], "--hog"))
			hog = true;
		else if (!strcmp(argv[i], "--pid") && i + 1 < argc && npids < MAX_ARGS &&
			 atol(argv[i + 1]) > 1)
			pids[npids++] = atol(argv[++i]);
		else if (!strcmp(argv[i], "--path") && i + 1 < argc && npaths < MAX_ARGS)
			paths[npaths++] = argv[++i];
		else {
			fprintf(stderr, "usage: rfconfine [--libos [--hog]] [--pid N]... "
					"[--path P]...\n");
			exit(2);
		}
	}
}

static int app(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (hog)
		hog_memory();
	else
		attack_all();
	for (;;)
		rf_park(); /* nobody unparks us: sleep until shutdown */
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--i386"))
		return i386_probe();
	if (argc == 2 && !strcmp(argv[1], "--pause"))
		return pause();
	parse(argc, argv);
	if (libos)
		rf_main(argc, argv, app);
	attack_all();
	for (;;)
		pause();
}
