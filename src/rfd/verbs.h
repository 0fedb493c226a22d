/*
 * verbs.h - the protocol's verbs (verbs.c): one request line in, one
 * answer out.
 */
#ifndef RF_RFD_VERBS_H
#define RF_RFD_VERBS_H

#include <stddef.h>
#include <sys/types.h>
#include <json-c/json.h>

struct rfd;
struct rfd_caller;
struct rfd_reply_to;

/* Decode `line` (len bytes, no newline) from `caller` (placed when its
 * connection was accepted, caller.h), authorise it (authority.h) and run
 * it.  fds/nfds: descriptors the client passed with the line
 * (rfloop_listen), borrowed.  *answer is the answer (ok or error object,
 * owned by the caller), or NULL when an operation (op.h) went on with the
 * request: it answers `to` through d->answer when it ends.  *pass_fd is a
 * descriptor to send with the answer, or -1 (the caller closes it after
 * sending). */
void rfd_handle_request(struct rfd *d, const char *line, size_t len,
			const struct rfd_caller *caller, const int *fds, int nfds,
			const struct rfd_reply_to *to, struct json_object **answer, int *pass_fd);

#endif
