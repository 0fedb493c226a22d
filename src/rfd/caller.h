/*
 * caller.h - who is at the other end of a control connection (caller.c).
 *
 * rfd decides what a request may do by where its caller runs, not only by
 * its uid: root inside a subOS is not root to rfd.  A connection is
 * classified once, when it is accepted, from the kernel's word about the
 * peer (SO_PEERCRED, SO_PEERPIDFD), never from anything the client says.
 */
#ifndef RF_RFD_CALLER_H
#define RF_RFD_CALLER_H

#include <stddef.h>
#include <sys/types.h>
#include "rf/desc.h"

struct rfd;
struct rfd_subos;

enum rfd_caller_kind {
	RFD_CALLER_HOST,    /* rfd's own PID namespace, outside every subOS */
	RFD_CALLER_SUBOS,   /* a process inside one subOS (any uid) */
	RFD_CALLER_UNKNOWN, /* could not be told: treated as least trusted */
};

struct rfd_caller {
	enum rfd_caller_kind kind;
	uid_t uid;                 /* SO_PEERCRED, in rfd's user namespace */
	pid_t pid;                 /* SO_PEERCRED, in rfd's PID namespace */
	int subos_id;              /* SUBOS: its table id ... */
	char subos[RF_NAME_MAX];   /* ... name and creation time, to tell it */
	char created[40];          /* from a later subOS in the same slot */
	char why[160];             /* UNKNOWN: why it could not be told */
};

/* Classify the peer of the accepted socket fd.  Never fails: whatever
 * cannot be established makes the caller RFD_CALLER_UNKNOWN. */
void rfd_caller_classify(struct rfd *d, int fd, struct rfd_caller *c);
/* The subOS c was classified into, if that subOS is still in the table
 * (the same one, not a successor of the same name); else NULL. */
struct rfd_subos *rfd_caller_subos(struct rfd *d, const struct rfd_caller *c);
/* "root on the host (pid 12)", "pid 40 in subOS \"a\"" for messages. */
void rfd_caller_describe(const struct rfd_caller *c, char *buf, size_t len);

/* The caller whose request is being served, for parts below verbs.c that
 * ask (the channel broker's chan_open); NULL between requests. */
void rfd_caller_set_current(const struct rfd_caller *c);
const struct rfd_caller *rfd_caller_current(void);

/* Where a /proc/PID/cgroup text (every hierarchy's line) places a process
 * relative to rfd's instance directory `instance`: 0 outside it, 1 inside
 * subOS *name (copied into name), -1 inside it but not in exactly one
 * subOS's directory (the instance directory itself, or two subOSes).  Pure,
 * for the unit tests. */
int rfd_caller_cgroup_place(const char *instance, const char *text, char *name, size_t len);

#endif
