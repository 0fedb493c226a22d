/*
 * resize.h - moving cores and memory in and out of a running subOS
 * (resize.c).
 *
 * Error contract: a refused resize leaves the subOS as it was.
 */
#ifndef RF_RFD_RESIZE_H
#define RF_RFD_RESIZE_H

#include <json-c/json.h>
#include "base/err.h"
#include "base/proto.h"
#include "rfd/op.h"

struct rfd;
struct rfd_subos;

/* The op step (op.h) of resize: the subOS op->name, as op->req asks;
 * op->result is the answer (the new cores and memory, timing_us, forced),
 * or op->err. */
enum rfd_op_rc rfd_subos_resize_step(struct rfd *d, struct rfd_op *op);

#endif
