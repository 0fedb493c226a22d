/*
 * spawn.h - starting a subOS's program in its partition through a shim
 * (spawn.c).
 *
 * Error contract: rfd_spawn returns 0 with s's pids and the shim's pidfd
 * set, or -1 with err filled (spawn_failed for a program that cannot
 * start or cannot be confined, bad_request for a confinement request
 * rfd_confine_check would have refused; nothing is left running).
 */
#ifndef RF_RFD_SPAWN_H
#define RF_RFD_SPAWN_H

#include "base/cpuset.h"
#include "base/err.h"

struct rfd;
struct rfd_subos;
struct rfd_confine_opts;

struct rfd_spawn {
	const char *const *argv;
	/* Environment additions, each a NULL-terminated array of "KEY=VALUE"
	 * (NULL: none).  Arrays and strings stay the caller's; rfd_spawn only
	 * points the program's environment at them. */
	const char *const *env;      /* the request's */
	const char *const *rf_env;   /* the RF_* ones rfd sets, after env */
	const int *pass_fds;         /* fds the program inherits at 3, 4, ... */
	int npass;
	const char *log_path;        /* stdout+stderr */
	const char *exit_path;       /* where the shim records the exit status */
	const char *hostname;
	const struct base_cpuset *cpus;
	const struct rfd_confine_opts *confine; /* confine.h */
};

int rfd_spawn(struct rfd *d, struct rfd_subos *s, const struct rfd_spawn *sp,
	      struct base_err *err);
/* The exit status the shim sends when the program ended (waits up to
 * timeout_ms): >= 0 exit code, -signal, or INT_MIN. */
int rfd_spawn_report_exit(int report_fd, int timeout_ms);
/* Read the status the shim recorded: >= 0 exit code, -signal, or INT_MIN. */
int rfd_spawn_read_exit(const char *exit_path);

#endif
