/*
 * resize.h - moving cores and memory in and out of a running subOS
 * (resize.c).
 *
 * Error contract: 0 with *result (the new cores and memory, timing_us), or
 * -1 with err filled; a refused resize leaves the subOS as it was.
 */
#ifndef RF_RFD_RESIZE_H
#define RF_RFD_RESIZE_H

#include <json-c/json.h>
#include "base/err.h"
#include "base/proto.h"
#include "rfd/op.h"

struct rfd;
struct rfd_subos;

/* The op step (op.h) of resize: the subOS op->name, as op->req asks. */
enum rfd_op_rc rfd_subos_resize_step(struct rfd *d, struct rfd_op *op);
int rfd_subos_resize(struct rfd *d, struct rfd_subos *s, const struct base_request *req,
		     struct json_object **result, struct base_err *err);

#endif
