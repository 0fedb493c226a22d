/*
 * spawn_impl.h - what a shim says to rfd, and what a program's process
 * says to its shim, shared by the two ways a program starts: a shim forked
 * for it (spawn.c) and a spare made ahead (spare_proc.c).  Private to
 * those files and spare.c.
 */
#ifndef RF_RFD_SPAWN_IMPL_H
#define RF_RFD_SPAWN_IMPL_H

#include <stdint.h>
#include <sys/types.h>

/* The shim's reports to rfd, each written whole on its pipe. */
enum { RFD_SHIM_PID = 1, RFD_SHIM_EXEC_OK = 2, RFD_SHIM_FAIL = 3, RFD_SHIM_EXIT = 4 };
/* Where a start failed (RFD_SHIM_FAIL's step). */
enum { RFD_STEP_CLONE = 1, RFD_STEP_CGROUP = 2, RFD_STEP_EXEC = 3, RFD_STEP_CONFINE = 4,
       RFD_STEP_SPEC = 5 };

struct rfd_shim_msg {
	int32_t type;
	int32_t val;    /* pid, or errno */
	int32_t step;
	int32_t detail; /* RFD_STEP_CONFINE: which of its steps (confine.h) */
};

/* How the program's process failed before exec, to its shim. */
struct rfd_child_err {
	int32_t err, step, detail;
};

/* The namespaces a program's process is cloned into. */
#define RFD_SPAWN_NS_FLAGS (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC)

/* A report to rfd; a write to an rfd gone is ignored (the shim goes on). */
void rfd_shim_put_msg(int fd, int type, int val, int step, int detail);
/* Record a wait status at `path` for an rfd that restarted. */
void rfd_shim_record_exit(const char *path, int status);
/* A shim's start: its own session, rfd's signal mask and dispositions
 * undone (it waits for its child itself). */
void rfd_shim_begin(void);
/* In a shim: make the go and error pipes and clone the program's process
 * into its namespaces (RFD_SPAWN_NS_FLAGS).  Its pid in the shim (which
 * keeps go[1] and errp[0]), 0 in the child (go[0], errp[1]), -1 with
 * errno. */
pid_t rfd_shim_clone(int go[2], int errp[2]);
/* A shim's child cloned (its pid reported): unless err (its cgroup
 * attach failed: reported, the child killed), let it go on go_fd, report
 * how its exec went (err_fd: a rfd_child_err, or EOF at exec), then watch
 * it (rfd_shim_watch). */
_Noreturn void rfd_shim_go(int report_fd, pid_t child, int err, int go_fd, int err_fd,
			   const char *exit_path);
/* A shim's life once its program runs: wait for it, report its end on
 * report_fd and record it at exit_path ("": nowhere). */
_Noreturn void rfd_shim_watch(int report_fd, pid_t child, const char *exit_path);
/* In the program's process: put fds[0..n) at 3, 4, ... and stdin/out/err
 * on null_fd and log_fd, keeping *keep (moved if in the way, updated);
 * everything else is closed at exec. */
void rfd_child_place_fds(const int *fds, int n, int null_fd, int log_fd, int *keep);

#endif
