/*
 * rfloop_reg.h - the RFloop registry (rfloop_reg.c): the rfloop_listen
 * and rfloop_table verbs, and the checks behind them.
 *
 * rfd is the registry's only writer; a listener is recorded only from the
 * listening socket itself, passed to rfd (SCM_RIGHTS), and the table is
 * published to clients as a memfd nobody else can write
 * (src/base/rfloop_table.h).
 */
#ifndef RF_RFD_RFLOOP_REG_H
#define RF_RFD_RFLOOP_REG_H

#include <stdbool.h>
#include <json-c/json.h>
#include "base/err.h"
#include "base/proto.h"
#include "base/rfloop_table.h"

/* Run rfloop_listen (fds: the listening TCP socket, the rendezvous
 * socket) or rfloop_table (*pass_fd: the table's memfd, closed by the
 * caller after sending).  The descriptors stay the caller's.  NULL with
 * err filled on refusal. */
struct json_object *rfd_rfloop_verb(const struct base_request *req, const int *fds, int nfds,
				    int *pass_fd, struct base_err *err);

/* The checks, on their own for the unit tests.  Each returns 0, or -1
 * with err filled (permission_denied: the descriptor proves nothing). */
/* fd is a TCP socket in LISTEN state without SO_REUSEPORT: its address,
 * port and cookie into *e. */
int rfd_rfloop_check_tcp(int fd, struct base_rfl_entry *e, struct base_err *err);
/* fd is a Unix datagram socket bound to an abstract name: the name and
 * the socket's inode into *e. */
int rfd_rfloop_check_bell(int fd, struct base_rfl_entry *e, struct base_err *err);

/* Is the listener of entry x still the one the kernel routes its port to? */
typedef bool rfd_rfloop_live_fn(const struct base_rfl_entry *x, void *ctx);
/* Where e goes in t: the way of e's port it may take (a free one, one
 * whose listener is gone, or its own earlier registration), or -1 with
 * err filled if a live listener already serves the same address. */
int rfd_rfloop_place(const struct base_rfl_table *t, const struct base_rfl_entry *e,
		     rfd_rfloop_live_fn *live, void *ctx, struct base_err *err);
/* Write e into way `way` of its port (the sequence count bracketing it). */
void rfd_rfloop_store(struct base_rfl_table *t, int way, const struct base_rfl_entry *e);

#endif
