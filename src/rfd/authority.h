/*
 * authority.h - who may do what (authority.c): the one table of which
 * caller (caller.h) may run which verb, used by verbs.c before any handler
 * runs, so no verb can forget its check.
 */
#ifndef RF_RFD_AUTHORITY_H
#define RF_RFD_AUTHORITY_H

#include <sys/types.h>
#include "base/err.h"
#include "base/proto.h"

struct rfd_caller;

/* How far an allowed request's answer reaches. */
enum rfd_scope {
	RFD_SCOPE_ALL,  /* the whole table, the full info */
	RFD_SCOPE_SELF, /* only the caller's own subOS (list, log, chan_list
			 * filtered to it) and info without what is rfd's
			 * business (paths, pid, the others' usage) */
};

/* May caller c run verb v naming `target` (the request's name, NULL if it
 * has none)?  owner_uid is the uid rfd runs as.  0 with *scope set, or -1
 * with err filled (permission_denied, saying who the caller is and what it
 * may do).  Looks at nothing but its arguments: no lookup of target, so a
 * refusal never tells whether a subOS exists. */
int rfd_authorize(const struct rfd_caller *c, uid_t owner_uid, enum base_verb v,
		  const char *target, enum rfd_scope *scope, struct base_err *err);

#endif
