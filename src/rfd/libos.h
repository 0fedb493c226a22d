/*
 * libos.h - rfd's half of the librf protocol (include/rf/desc.h): the
 * description and status pages and the handshakes on them (libos.c), the
 * description page of a subOS adopted after a restart (libos_adopt.c), and
 * the control rings the commands and replies travel on (libos_msg.c).
 */
#ifndef RF_RFD_LIBOS_H
#define RF_RFD_LIBOS_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include "base/cpuset.h"
#include "base/err.h"
#include "rf/desc.h"
#include <json-c/json.h>

struct rfd;
struct rfd_subos;

/* The pages of a new libos subOS / unmap and close them (and the rings). */
int rfd_libos_setup(struct rfd *d, struct rfd_subos *s, struct base_err *err);
/* A new description page, zeroed and sealed read-only for all but the
 * mappings that exist (rfd's, returned, and those of processes forked
 * after): its mapping and *fd, or NULL. */
struct rf_desc *rfd_libos_new_desc(int *fd);
void rfd_libos_teardown(struct rfd_subos *s);

/* libos_adopt.c: after a restart, take the description page memfd `fd`
 * found in the subOS (owned by s from now on) and a way to write it: a
 * writable mapping if it allows one, else the shim's mapping through a
 * private copy.  0, or -1 (s->desc NULL: the subOS cannot be told
 * anything).  push: write the copy out (rfd_desc_begin/end do; body false
 * pushes only seq).  drop: unmap or free the page (teardown does). */
int rfd_libos_adopt_desc(struct rfd_subos *s, int fd);
void rfd_libos_desc_push(struct rfd_subos *s, bool body);
void rfd_libos_desc_drop(struct rfd_subos *s);
/* libos_adopt.c: after a restart, find the memfds of s's regions in the
 * subOS by the inodes its journal record `rec` gives ("chunk_inodes", by
 * region slot) and hold them again in the pool, so a region it returns is
 * punched out by rfd as before.  Regions not found stay on librf's word. */
void rfd_libos_adopt_regions(struct rfd *d, struct rfd_subos *s, struct json_object *rec);

/* Publish desc changes: call begin, edit s->desc, call end.  end bumps the
 * generation, sends `cmd` (RF_CMD_APPLY or RF_CMD_SHUTDOWN) on the control
 * ring and returns the new generation (rings no doorbell). */
void rfd_desc_begin(struct rfd_subos *s);
uint32_t rfd_desc_end(struct rfd_subos *s, enum rf_ctl_type cmd);

/* Where rfd waits for an acknowledgement (see libos.c). */
struct rfd_aside {
	cpu_set_t saved;
	bool moved;
	uint64_t spin;   /* poll the reply ring this long */
	uint64_t sleep;  /* then sleep on it this long */
};
void rfd_libos_step_aside(struct rfd_subos *s, const struct base_cpuset *acting,
			  struct rfd_aside *a);
/* Ring the subOS's cores about `gen` and wait for its acknowledgement for
 * the spin and sleep step_aside granted (a NULL: look once).  Returns 0 (applied),
 * -ESRCH (the program died) or -EAGAIN (not yet: the caller's op waits,
 * polling rfd_libos_acked on a tick, still aside: its wake-ups must not
 * take the time slice of a core's thread that has to act). */
int rfd_libos_kick_and_spin(struct rfd_subos *s, uint32_t gen, const struct rfd_aside *a);
/* The handshake is over: undo step_aside. */
void rfd_libos_step_back(struct rfd_aside *a);
/* Has the subOS applied `gen`?  0, -EAGAIN (not yet) or -ESRCH (died).
 * Never waits. */
int rfd_libos_acked(struct rfd_subos *s, uint32_t gen);
/* Has librf reported RUNNING, or EXITING after it (0)?  librf also sends
 * a byte on the control socket (s->ctl_fd) when it runs: wait on that.  Not yet: -EAGAIN; it failed or the
 * program died: -ESRCH.  Never waits. */
int rfd_libos_attached(struct rfd_subos *s);
/* Pass region `slot`'s memfd over the control socket.  0 or -errno. */
int rfd_libos_send_region(struct rfd_subos *s, int slot, int fd);
/* Wake the subOS's sleeping cores (its doorbell). */
void rfd_libos_ring(struct rfd_subos *s);

/* libos_msg.c: the control rings in s->msgs (RF_MSGS_SIZE bytes, mapped by
 * the caller): format them first (a new subOS) or not (rings found in a
 * running one, recover.c), then attach rfd's side.  On failure the rings
 * are closed (s->msgs NULL).  close: unmap, close the memfd. */
int rfd_libos_msgs_attach(struct rfd_subos *s, bool format);
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

#endif
