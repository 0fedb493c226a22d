/*
 * spare.h - a program's process made before the create that uses it.
 *
 * On this kind of machine starting a confined process is most of a
 * create: forking a shim from rfd, cloning the program's process into its
 * namespaces, moving it into three cgroups and mounting its view of the
 * filesystem cost several milliseconds that an ordinary fork+exec does not
 * pay (rfbench lifecycle).  So rfd keeps one spare made ahead, between
 * creates: a shim, and its child in new namespaces with the filesystem
 * view every subOS without --root or binds gets, waiting in cgroups of
 * its own (enforce_spare.c) with all its privileges, for rfd's word.  A
 * create that can use it (cpuset1 enforcement, no --root, no binds) takes
 * it: its cgroups become the subOS's, its child joins the subOS's cpuset,
 * and one message (spare_spec.h) tells the child the program, environment
 * and descriptors; it drops what it must (cgroup namespace, capabilities,
 * no_new_privs, seccomp) and execs.  From there on the shim is like any
 * other (spawn.h): same reports, same exit record.  A libos subOS's
 * description page is made with the spare, before its shim is forked, so
 * that the shim holds a writable mapping of it as libos_adopt.c requires.
 *
 * Anything unusual falls back to the ordinary start: no spare ready, a
 * request it cannot serve, a message too large, a spare whose process
 * died.  Errors are never the create's: a spare that fails is dropped and
 * logged.  rfd makes the next spare after a create has answered.
 */
#ifndef RF_RFD_SPARE_H
#define RF_RFD_SPARE_H

#include <sched.h>
#include <stdint.h>
#include "rf/desc.h"

struct rfd;
struct rfd_subos;
struct rfd_spare;
struct rfd_spare_spec;
struct rfd_op;

/* Make a spare if there is none and this rfd can (enforce.h). */
void rfd_spare_make(struct rfd *d);
/* For `rfm info`: "ready", "making", "none" (taken, or failed and not
 * tried again yet) or "unsupported" (this enforcement has no spares). */
const char *rfd_spare_state(struct rfd *d);
/* End the spare not taken (rfd stops): its processes, its cgroups. */
void rfd_spare_drop(struct rfd *d);

/* Give the spare's processes rfd's new mask (home.c): it is made where
 * rfd runs, and finishes where rfd moved. */
void rfd_spare_follow(struct rfd *d, const cpu_set_t *mask);

/* How long a create waits for the spare to be ready (rfd_spare_wait):
 * less than starting anew costs. */
#define RFD_SPARE_WAIT_MS 15

/* For a create of s, before its start: 1 if s could use the spare but it
 * is not ready yet (op armed: the child's word, or until_ns), else 0. */
int rfd_spare_wait(struct rfd *d, struct rfd_subos *s, struct rfd_op *op, uint64_t until_ns);
/* For a create of s: take the spare if it is ready and s can use it, and
 * make its cgroups s's (s->cgroup), with mem_limit.  1: taken (s->spare);
 * 0: not (make s's cgroups the ordinary way). */
int rfd_spare_adopt(struct rfd *d, struct rfd_subos *s, uint64_t mem_limit);
/* The description page made with it, for a libos s: its mapping (fd in
 * *fd), or NULL if none. */
struct rf_desc *rfd_spare_take_desc(struct rfd_spare *sp, int *fd);
/* Start s's program in the taken spare: the child gets spec and fds
 * (nfds of them); s's shim and pid are the spare's, and *report_fd its
 * report pipe (RFD_SHIM_EXEC_OK or _FAIL follow there).  0, or -1: the
 * spare is gone (discarded) and the caller starts the ordinary way. */
int rfd_spare_launch(struct rfd_subos *s, const struct rfd_spare_spec *spec, const int *fds,
		     int *report_fd);
/* A taken spare not launched (the create failed first): kill its
 * processes, waiting until its child has left s's cgroups, and free it. */
void rfd_spare_discard(struct rfd_subos *s);

#endif
