/*
 * rfd.h - the supervisor's state and the interfaces between its parts.
 *
 *   main.c      options, daemon, start-up and shutdown
 *   server.c    the control socket: connections, framing, SO_PEERCRED
 *   verbs.c     one handler per protocol verb
 *   subos.c     the subOS table and the create/destroy/resize mechanics
 *   spawn.c     starting a program in its partition through a shim
 *   libos.c     the description/status pages and the librf handshakes;
 *               libos_msg.c: the control rings they travel on
 *   recover.c   rebuilding the table from the journal after a restart
 *   chan.c      the channel broker (chan_* verbs); chan_caller.c: which
 *               subOS a client process belongs to
 *   topo.c, enforce*.c, mempool.c: the machine, the host, the memory
 */
#ifndef RF_RFD_RFD_H
#define RF_RFD_RFD_H

#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "base/cpuset.h"
#include "rfd/journal.h"
#include "base/proto.h"
#include "rfd/ptable.h"
#include "rf/desc.h"
#include "rf/ficm.h"
#include "rfd/enforce.h"
#include "rfd/mempool.h"
#include "rfd/topo.h"

#define RFD_VERSION "0.1.0"
#define RF_MAX_SUBOS 1024

enum rfd_subos_life { RF_LIFE_STARTING, RF_LIFE_RUNNING, RF_LIFE_EXITED };

struct rfd_subos {
	int id;                      /* owner id in the partition table */
	char name[RF_NAME_MAX];
	enum base_kind kind;
	enum rfd_subos_life life;
	pid_t pid;                   /* the program, host PID */
	pid_t shim_pid;
	int shim_pidfd;              /* readable when the shim exits */
	int pidfd;                   /* the program */
	int report_fd;               /* the shim's reports (exit status); -1 if adopted */
	struct base_cpuset cpus;
	uint64_t mem;                /* bytes held (a multiple of the chunk size) */
	int nregions;
	int region_chunk[RF_MAX_REGIONS]; /* desc slot -> pool chunk id, -1 free */
	char **argv;
	char cgroup[PATH_MAX];
	char created[40];
	int exit_code;               /* >= 0 exit status, or -signal */
	uint64_t create_us[4];       /* setup, spawn, attach, journal */
	/* libos only */
	int desc_fd, status_fd, ctl_fd;
	int ctl_peer_fd;             /* the subOS's end, until it is passed */
	struct rf_desc *desc;
	struct rf_status *status;
	/* the control rings (libos_msg.c): NULL msgs if there are none */
	int msgs_fd;
	void *msgs;
	struct rf_ficm_ring cmd, acks; /* commands out, replies in */
	uint32_t sent_gen;           /* last generation announced */
	uint32_t acked_gen;          /* highest generation acknowledged */
	bool acks_bad;               /* reply ring unusable: no acks from it */
	bool cmds_bad;               /* command ring broken (reported) */
};

struct rfd {
	char state_dir[PATH_MAX];
	char socket_path[PATH_MAX];
	char instance[64];
	int listen_fd;
	int epfd;
	int sigfd;
	bool foreground;
	bool stopping;
	uid_t owner_uid;             /* who may change the table besides root */
	uint64_t deadline_ns;        /* handshake deadline */
	struct rfd_topo topo;
	struct rfd_ptable pt;
	struct rfd_enforcer enf;
	struct rfd_pool pool;
	struct rfd_journal journal;
	uint64_t tsc_hz;
	struct rfd_subos *subos[RF_MAX_SUBOS];
	struct rfd_chan *chans;       /* chan.c: the channels rfd brokers */
};

struct rfd_opts {
	const char *state_dir, *socket, *cores, *host_cores, *mem, *chunk, *hugepages, *enforce;
	long deadline_ms;
	bool foreground, cleanup, no_rt, shield;
};

/* setup.c */
int rfd_setup(struct rfd *d, const struct rfd_opts *o, struct base_err *err);
void rfd_teardown(struct rfd *d, bool cleanup);
/* server.c */
#include <signal.h>
void rfd_server_signals(sigset_t *set);
int rfd_server_listen(struct rfd *d);
int rfd_server_run(struct rfd *d);
void rfd_server_close(struct rfd *d);


/* subos.c */
struct rfd_subos *rfd_subos_find(struct rfd *d, const char *name);
struct rfd_subos *rfd_subos_by_id(struct rfd *d, int id);
int rfd_subos_create(struct rfd *d, const struct base_request *req, struct rfd_subos **out,
		     struct base_err *err);
int rfd_subos_destroy(struct rfd *d, struct rfd_subos *s, struct json_object **result,
		      struct base_err *err);
int rfd_subos_resize(struct rfd *d, struct rfd_subos *s, const struct base_request *req,
		     struct json_object **result, struct base_err *err);
void rfd_subos_exited(struct rfd *d, struct rfd_subos *s);
struct json_object *rfd_subos_json(struct rfd *d, const struct rfd_subos *s, bool detail);
void rfd_subos_free(struct rfd *d, struct rfd_subos *s);
int rfd_subos_insert(struct rfd *d, struct rfd_subos *s);
void rfd_subos_remove(struct rfd *d, struct rfd_subos *s);
void rfd_subos_release(struct rfd *d, struct rfd_subos *s);
int rfd_subos_reap(struct rfd *d, struct rfd_subos *s);
void rfd_subos_exit_path(struct rfd *d, const struct rfd_subos *s, char *buf, size_t len);
/* server.c: be told when the subOS's shim exits. */
int rfd_watch_subos(struct rfd *d, struct rfd_subos *s);
void rfd_unwatch_subos(struct rfd *d, struct rfd_subos *s);
int rfd_subos_reserve_mem(struct rfd *d, uint64_t bytes, struct base_err *err);
int rfd_subos_pick_cores(struct rfd *d, int id, const struct base_cores_arg *ca,
			 struct base_cpuset *out, struct base_err *err);
/* Mirror s->cpus into the enforcement back end. */
int rfd_subos_enforce_cpus(struct rfd *d, struct rfd_subos *s, const struct base_cpuset *cpus);

/* spawn.c */
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
};
/* Start the program; returns 0 with pids and the shim's pidfd, or -1 with
 * err filled (spawn_failed for a program that cannot start). */
int rfd_spawn(struct rfd *d, struct rfd_subos *s, const struct rfd_spawn *sp, struct base_err *err);
/* The exit status the shim sends when the program ended (waits up to
 * timeout_ms): >= 0 exit code, -signal, or INT_MIN. */
int rfd_spawn_report_exit(int report_fd, int timeout_ms);
/* Read the status the shim recorded: >= 0 exit code, -signal, or INT_MIN. */
int rfd_spawn_read_exit(const char *exit_path);

/* libos.c */
int rfd_libos_setup(struct rfd *d, struct rfd_subos *s, struct base_err *err);
void rfd_libos_teardown(struct rfd_subos *s);
/* Publish desc changes: call begin, edit s->desc, call end.  end bumps the
 * generation, sends `cmd` (RF_CMD_APPLY or RF_CMD_SHUTDOWN) on the control
 * ring and returns the new generation (rings no doorbell). */
void rfd_desc_begin(struct rfd_subos *s);
uint32_t rfd_desc_end(struct rfd_subos *s, enum rf_ctl_type cmd);
/* Where rfd waits for an acknowledgement (see libos.c). */
struct rfd_aside {
	cpu_set_t saved;
	bool moved;
	uint64_t spin;
};
void rfd_libos_step_aside(struct rfd_subos *s, const struct base_cpuset *acting,
			  struct rfd_aside *a);
/* Ring the subOS's cores about `gen` and wait until it applied it, died,
 * or the deadline passed; then undo step_aside (a may be NULL: sleep).
 * Returns 0, -ETIMEDOUT or -ESRCH. */
int rfd_libos_kick_and_wait(struct rfd *d, struct rfd_subos *s, uint32_t gen, struct rfd_aside *a);
/* Wait for librf to report RUNNING; -ESRCH if the program died first. */
int rfd_libos_wait_running(struct rfd *d, struct rfd_subos *s, uint64_t timeout_ns);
int rfd_libos_send_region(struct rfd_subos *s, int slot, int fd);
void rfd_libos_ring(struct rfd_subos *s);

/* libos_msg.c: the control rings in s->msgs (RF_MSGS_SIZE bytes, mapped by
 * the caller): format them first (a new subOS) or not (rings found in a
 * running one, recover.c), then attach rfd's side.  On failure the rings
 * are closed (s->msgs NULL).  close: unmap, close the memfd. */
int  rfd_libos_msgs_attach(struct rfd_subos *s, bool format);
void rfd_libos_msgs_close(struct rfd_subos *s);
/* Send a command (stale replies are taken first, so they never fill the
 * reply ring). */
void rfd_libos_send(struct rfd_subos *s, enum rf_ctl_type cmd, uint32_t gen);
/* Take every reply waiting, validated (updates acked_gen). */
void rfd_libos_take_replies(struct rfd_subos *s);
/* Wait up to timeout_ns for a reply, polling the first spin_ns; with a
 * broken ring, sleep on the program's pidfd instead.  Take the replies
 * after. */
void rfd_libos_wait_reply(struct rfd_subos *s, uint64_t spin_ns, uint64_t timeout_ns);

/* recover.c */
int rfd_recover(struct rfd *d);

/* chan.c: the chan_* verbs.  chan_open may hand back a descriptor to pass
 * with the answer (*pass_fd, closed by the caller after sending). */
struct json_object *rfd_chan_verb(struct rfd *d, const struct base_request *req, pid_t pid,
				  int *pass_fd, struct base_err *err);
/* Close (journalled) every channel granted to subOS `name`. */
void rfd_chan_subos_gone(struct rfd *d, const char *name);
/* After a restart: channels the journal leaves open are lost (rfd no
 * longer holds their memory); record that. */
void rfd_chan_recover(struct rfd *d);
/* Free the table at exit (the rings stay open: subOSes outlive rfd). */
void rfd_chan_fini(struct rfd *d);
/* chan_caller.c: the running subOS process `pid` belongs to, or NULL. */
struct rfd_subos *rfd_chan_caller(struct rfd *d, pid_t pid);

/* journal helpers (subos.c) */
int rfd_journal_subos(struct rfd *d, const char *op, const struct rfd_subos *s,
		      struct json_object *extra);

/* log.c: one line on stderr (the log file when daemonized). */
void rfd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rfd_log_stamp(bool on);

#endif
