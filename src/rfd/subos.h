/*
 * subos.h - one subOS as rfd holds it, and the table of them (subos.c).
 *
 * The table is d->subos[], indexed by the partition table's owner id.  This
 * file knows the record and its lookups, its JSON description and its
 * journal records; starting and ending a subOS is lifecycle.h, moving its
 * resources resize.h.
 */
#ifndef RF_RFD_SUBOS_H
#define RF_RFD_SUBOS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "base/cpuset.h"
#include "base/probe.h"
#include "base/proto.h"
#include "base/proto_policy.h"
#include "rf/desc.h"
#include "rfd/journal.h"
#include "rf/ficm.h"

struct rfd;
struct rfd_policy_run;
struct rfd_probe;
struct rfd_cpu_base;
struct rfd_hwc_base;

#define RFD_RECENT 3  /* journal records kept per subOS */

/* RESTARTING: its program ended and will start again (restart.h); it
 * keeps its cores, memory and cgroups meanwhile. */
enum rfd_subos_life { RF_LIFE_STARTING, RF_LIFE_RUNNING, RF_LIFE_RESTARTING, RF_LIFE_EXITED };

struct rfd_spare;

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
	struct rfd_spare *spare;     /* taken by its create, until launched (spare.h) */
	bool journaled;              /* its create is in the journal (written while
				      * librf attaches: lifecycle.c), at: */
	struct rfd_journal_mark journal_at;
	struct base_cpuset cpus;
	uint64_t mem;                /* bytes held (a multiple of the chunk size) */
	uint64_t chan_mem;           /* its share of its channels' memory (chan.c) */
	uint64_t mem_growing;        /* reserved for a growth waiting on the pool (resize.c) */
	int nregions;
	int region_chunk[RF_MAX_REGIONS]; /* desc slot -> pool chunk id, -1 free */
	char **argv;
	/* What starting the program again needs (a restart), from create; each
	 * a NULL-terminated vector (base/strv.h). */
	char **env;                  /* KEY=VALUE additions */
	char **caps, **binds, **ro_binds; /* confinement (confine.h) */
	char *fs_root;               /* --root, or NULL */
	char cgroup[PATH_MAX];
	char created[40];
	int exit_code;               /* >= 0 exit status, or -signal */
	uint64_t create_us[4];       /* setup, spawn, attach, journal */
	/* restart policy (restart.h) */
	enum base_restart restart;
	int max_restarts;            /* -1: no limit */
	int restarts;                /* done so far */
	uint32_t backoff_ms;         /* the last delay */
	uint64_t started_ns;         /* when the program last started */
	int restart_timer;           /* timerfd while restarting, else -1 */
	/* libos only */
	int desc_fd, status_fd, ctl_fd;
	int ctl_peer_fd;             /* the subOS's end, until it is passed */
	struct rf_desc *desc;        /* rfd's writable view (adopted: a private copy) */
	struct rf_status *status;
	uint64_t desc_remote;        /* adopted: the shim's mapping of the desc, else 0 */
	int desc_mem_fd;             /* adopted: /proc/SHIM/mem, valid if desc_remote */
	/* the control rings (libos_msg.c): NULL msgs if there are none */
	int msgs_fd;
	void *msgs;
	struct rf_ficm_ring cmd, acks; /* commands out, replies in */
	uint32_t sent_gen;           /* last generation announced */
	uint32_t acked_gen;          /* highest generation acknowledged */
	bool acks_bad;               /* reply ring unusable: no acks from it */
	bool cmds_bad;               /* command ring broken (reported) */
	/* its last journal records, oldest first (for rfm top, stats.c) */
	struct json_object *recent[RFD_RECENT];
	/* the elastic policy (policy.h): its settings (priority off: none),
	 * which every journal record of the subOS carries, and the
	 * controller's state of it (policy.c's own, freed with the record) */
	struct base_policy policy;
	struct rfd_policy_run *prun;
	/* the probe of a linux subOS's service (probe.h): its URL ("": none),
	 * which every journal record of the subOS carries like the policy,
	 * and the probe itself (probe.c's own, freed with the record) */
	char probe_url[BASE_PROBE_URL_MAX];
	struct rfd_probe *probe;
	/* a linux subOS's cores' busy time when rfd first saw them its
	 * (cpustat.h), or NULL */
	struct rfd_cpu_base *busy_base;
	/* its cores' performance counters when rfd first saw them its
	 * (hwc.h), or NULL */
	struct rfd_hwc_base *hwc_base;
};

/* Lookups: NULL when there is no such subOS. */
struct rfd_subos *rfd_subos_find(struct rfd *d, const char *name);
struct rfd_subos *rfd_subos_by_id(struct rfd *d, int id);
/* Enter s in the table under s->id (0, or -1 if the slot is taken) /
 * take it out.  Neither frees. */
int rfd_subos_insert(struct rfd *d, struct rfd_subos *s);
void rfd_subos_remove(struct rfd *d, struct rfd_subos *s);
/* Free the record and its id (not its resources: lifecycle.h releases). */
void rfd_subos_free(struct rfd *d, struct rfd_subos *s);
/* The description `rfm list`/`show` print; detail adds per-core figures. */
struct json_object *rfd_subos_json(struct rfd *d, const struct rfd_subos *s, bool detail);
/* Where the shim records the program's exit status. */
void rfd_subos_exit_path(struct rfd *d, const struct rfd_subos *s, char *buf, size_t len);
/* Journal record `op` of s (name, cores, mem) with extra's keys added;
 * extra (may be NULL) is consumed.  0 or -errno. */
int rfd_journal_subos(struct rfd *d, const char *op, const struct rfd_subos *s,
		      struct json_object *extra);
/* rec (a record about s, such as a policy move) among s's recent ones. */
void rfd_subos_keep_recent(struct rfd_subos *s, struct json_object *rec);
/* An intent record (op "destroying", ...): not fsync'd, since it guards
 * against rfd's death only (journal.h); a failed write is logged. */
void rfd_journal_subos_intent(struct rfd *d, const char *op, const struct rfd_subos *s);

#endif
