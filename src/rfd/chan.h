/*
 * chan.h - the channel broker (chan.c): the chan_* verbs, which make FICM
 * rings between subOSes on demand, and which subOS a caller belongs to
 * (chan_caller.c).
 */
#ifndef RF_RFD_CHAN_H
#define RF_RFD_CHAN_H

#include <sys/types.h>
#include <json-c/json.h>
#include "base/err.h"
#include "base/proto.h"
#include "rfd/op.h"

struct rfd;
struct rfd_subos;

/* chan_create, an op (op.h) on RFD_CHAN_OP_PREFIX + the channel's name:
 * it queues behind nothing a subOS does. */
#define RFD_CHAN_OP_PREFIX "chan:"
enum rfd_op_rc rfd_chan_create_step(struct rfd *d, struct rfd_op *op);
/* Run another chan_* request from process `pid`.  chan_open may hand back a
 * descriptor to pass with the answer (*pass_fd, closed by the caller after
 * sending).  NULL with err filled on refusal. */
struct json_object *rfd_chan_verb(struct rfd *d, const struct base_request *req, pid_t pid,
				  int *pass_fd, struct base_err *err);
/* Close (journalled) every channel granted to subOS `name`. */
void rfd_chan_subos_gone(struct rfd *d, const char *name);
/* Its program ended: mark the rings of its msg channels closed, so that a
 * peer blocked on one reads what was sent, then gets -EPIPE instead of
 * waiting forever.  The channels stay granted (a channel carries one
 * conversation; `rfm chan close` or a destroy removes it). */
void rfd_chan_subos_ended(struct rfd *d, const char *name);
/* After a restart: channels the journal leaves open are lost (rfd no
 * longer holds their memory); record that. */
void rfd_chan_recover(struct rfd *d);
/* Free the table at exit (the rings stay open: subOSes outlive rfd). */
void rfd_chan_fini(struct rfd *d);
/* For the invariant checker (check.h): count each channel's pool chunk in
 * holds[] (nchunks entries) and return the memory charged for channels. */
uint64_t rfd_chan_holdings(struct rfd *d, int *holds, int nchunks);
/* chan_caller.c: the running subOS process `pid` belongs to, or NULL. */
struct rfd_subos *rfd_chan_caller(struct rfd *d, pid_t pid);

#endif
