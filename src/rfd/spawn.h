/*
 * spawn.h - starting a subOS's program in its partition through a shim
 * (spawn.c).
 *
 * Starting is two calls, so that rfd's loop never waits for the shim:
 * rfd_spawn_start forks it, rfd_spawn_poll reads its reports once its pipe
 * is readable.  Errors: spawn_failed for a program that cannot start or
 * cannot be confined, bad_request for a confinement request
 * rfd_confine_check would have refused.
 */
#ifndef RF_RFD_SPAWN_H
#define RF_RFD_SPAWN_H

#include "base/cpuset.h"
#include "base/err.h"
#include <stdint.h>

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

/* A program being started (spawn.c). */
struct rfd_spawning;
/* Fork its shim: 0 with *out, whose report pipe (rfd_spawn_fd) becomes
 * readable as the shim reports, or -1 with err (nothing started).  The
 * caller's strings and arrays in sp are copied or done with on return. */
int rfd_spawn_start(struct rfd *d, struct rfd_subos *s, const struct rfd_spawn *sp,
		    struct rfd_spawning **out, struct base_err *err);
int rfd_spawn_fd(const struct rfd_spawning *h);
/* When to give up on the shim's answer (base_now_ns clock). */
uint64_t rfd_spawn_deadline(const struct rfd_spawning *h);
/* Read what the shim reported, never waiting: 1, not known yet; 0, the
 * program runs (s->pid, s->pidfd, s->report_fd set); -1 with err, it did
 * not start (s->pid, s->pidfd and s->report_fd set as far as known, so
 * the caller can stop what is left).  On 0 and -1 *h is freed and NULL. */
int rfd_spawn_poll(struct rfd_subos *s, struct rfd_spawning **h, struct base_err *err);
/* rfd stops before the outcome is known: forget it. */
void rfd_spawn_abandon(struct rfd_spawning *h);
/* The exit status the shim sends when the program ended (waits up to
 * timeout_ms): >= 0 exit code, -signal, or INT_MIN. */
int rfd_spawn_report_exit(int report_fd, int timeout_ms);
/* Read the status the shim recorded: >= 0 exit code, -signal, or INT_MIN. */
int rfd_spawn_read_exit(const char *exit_path);

#endif
