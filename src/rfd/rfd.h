/*
 * rfd.h - the supervisor's state, and the map of its parts.
 *
 * Each part has its own header; include the ones you call.
 *
 *   main.c        options, daemon, start-up and shutdown
 *   setup.h       setup.c: state directory, lock, the pieces below in order
 *   server.h      server.c: the event loop, the control socket, signals
 *   server_conn.h server_conn.c: the connections: non-blocking, read and
 *                 answered in order, each with its output queue
 *   conn.h        conn.c: a connection's framing and output queue, with
 *                 no system call (unit-tested and fuzzed)
 *   watch.h       watch.c: the epoll set and its tags, watching subOSes
 *   verbs.h       verbs.c: one handler per protocol verb
 *   caller.h      caller.c: who a connection's peer is (the host, which
 *                 subOS, or unknown), placed once at accept
 *   authority.h   authority.c: the one table of who may run which verb
 *   subos.h       subos.c: the subOS record and table, its JSON, journal records
 *   op.h          op.c: operations (create, destroy, resize, a restart) as
 *                 state machines the loop advances on pidfd, pipe and timer
 *                 events; ops on one subOS run in order, others side by side
 *   lifecycle.h   lifecycle.c: create, a program's own exit, its restart;
 *                 lifecycle_stop.c: stopping a program, destroy
 *                 (lifecycle_impl.h: what the two share)
 *   check.h       check.c: the partition table's invariants, checked after
 *                 every step
 *   resize.h      resize.c: moving cores and memory of a running subOS
 *   placement.h   placement.c: picking and reserving cores and memory
 *                 (shared by create and resize)
 *   spawn.h       spawn.c: starting a program in its partition through a shim
 *   home.h        home.c: where rfd's own threads run (no subOS's core)
 *   spare.h       spare.c, spare_proc.c, spare_spec.c: a program's process
 *                 made ahead of the create that uses it
 *   confine.h     confine.c, confine_fs.c, confine_seccomp.c (confine_impl.h):
 *                 what the program cannot undo (cgroup namespace, capabilities,
 *                 no_new_privs, seccomp, its view of the filesystem)
 *   libos.h       libos.c: description/status pages and the librf handshakes;
 *                 libos_adopt.c: the sealed description page after a restart;
 *                 libos_msg.c: the control rings they travel on
 *   recover.h     recover.c: rebuilding the table from the journal after a restart
 *   chan.h        chan.c: the channel broker (chan_* verbs); chan_caller.c:
 *                 which subOS a chan_open comes from (caller.c's answer)
 *   rfloop_reg.h  rfloop_reg.c: the RFloop registry (rfloop_* verbs)
 *   log.h         log.c: rfd's log lines
 *   topo.h        topo.c: the machine, discovered with hwloc
 *   enforce.h     enforce*.c, cgfs.c: making the table true on the host
 *   mempool.h     mempool.c: pre-faulted memory chunks
 *   ptable.h      ptable.c: the partition table (who owns which core, memory)
 *   journal.h     journal.c: the append-only record of every change
 *   policy.h      policy.c: the elastic policy (the `policy` verb, its
 *                 timer, its moves as resize ops); policy_decide.c: its
 *                 decisions, with no rfd state
 *
 * Dependencies run one way: server -> verbs -> authority/caller ->
 * lifecycle/resize/chan -> op/check -> placement/libos/spawn/subos/watch ->
 * confine -> ptable/enforce/mempool/journal.  An op answers its client
 * through d->answer (server_conn.c), set by the server, never by a call
 * back up.
 */
#ifndef RF_RFD_RFD_H
#define RF_RFD_RFD_H

#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rfd/enforce.h"
#include "rfd/journal.h"
#include "rfd/mempool.h"
#include "rfd/ptable.h"
#include "rfd/topo.h"

#define RFD_VERSION "0.1.0"
#define RF_MAX_SUBOS 1024

struct rfd_subos;
struct rfd_chan;
struct rfd_op;
struct rfd_spare;
struct rfd_confine;
struct json_object;

/* Whom to answer when a request's operation ends later (op.h): the
 * connection (its descriptor and the serial it got at accept, so an
 * answer never reaches a later connection on a reused descriptor). */
struct rfd_reply_to {
	int conn;
	uint64_t serial;
};

struct rfd {
	char state_dir[PATH_MAX];
	char socket_path[PATH_MAX];
	char instance[64];
	int listen_fd;
	/* The subOSes' door (server.c): a second control socket, 0666 in the
	 * state directory, bound at socket_path inside every subOS so that a
	 * program there reaches rfd whatever its uid; -1 if none. */
	int subos_fd;
	char subos_socket[PATH_MAX];
	int metrics_fd;              /* metrics_http.c: its listener, or -1 */
	int lock_fd;                 /* main.c: rfd.lock, flock'd, or -1 */
	int epfd;
	int sigfd;
	bool foreground;
	bool stopping;
	uid_t owner_uid;             /* who may change the table besides root */
	gid_t socket_gid;            /* --group: the socket is 0660 for it; -1: 0600 */
	uint64_t deadline_ns;        /* handshake deadline */
	struct rfd_topo topo;
	struct rfd_ptable pt;
	struct rfd_enforcer enf;
	struct rfd_pool pool;
	struct rfd_journal journal;
	uint64_t tsc_hz;
	struct rfd_subos *subos[RF_MAX_SUBOS]; /* subos.h: by owner id */
	struct rfd_chan *chans;      /* chan.c: the channels rfd brokers */
	struct rfd_op *ops;          /* op.c: operations in flight or waiting */
	/* spare.c: the program process made ahead (NULL: none), the
	 * filesystem plan every spare runs (made once), names, and when a
	 * failed spare may be tried again */
	struct rfd_spare *spare;
	struct rfd_confine *spare_plan;
	unsigned spare_seq;
	uint64_t spare_retry_ns;
	/* home.c: the CPUs rfd's threads run on, once set */
	cpu_set_t home;
	bool home_set;
	/* policy.c: the controller's timerfd (-1: none yet), its period (0:
	 * disarmed) and its own cost, for `rfm policy` and the report */
	int policy_timer;
	uint64_t policy_period_ns;
	struct {
		uint64_t ticks, ns_total, ns_max, reads;
	} policy_cost;
	/* server_conn.c: queue an answer (consumed) and a descriptor to pass
	 * (or -1, closed after sending) for a request answered later. */
	void (*answer)(struct rfd *d, const struct rfd_reply_to *to, struct json_object *ans,
		       int pass_fd);
};

#endif
