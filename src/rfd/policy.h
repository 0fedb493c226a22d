/*
 * policy.h - the elastic policy in rfd (policy.c): the `policy` verb, the
 * controller's timer on rfd's loop, and its moves.
 *
 * Every window of a latency subOS the controller reads its stats page
 * (stats.h) and feeds the window's p99 to the decisions (policy_decide.h).
 * A decided move is carried out as ordinary resize ops (resize.h): the
 * core leaves its giver, then joins its taker, each journalled and
 * checked like any resize; then one record of op "policy" says why (the
 * p99 seen, the window, the rule, from, to, the core), which `rfm log`
 * turns into a sentence and /metrics counts.  Nothing here waits: the
 * tick reads memory and starts ops.
 */
#ifndef RF_RFD_POLICY_H
#define RF_RFD_POLICY_H

#include <json-c/json.h>
#include "base/err.h"
#include "base/proto.h"

struct rfd;
struct rfd_subos;

/* The `policy` verb: with settings, set them (or turn the policy off) and
 * journal them; without, show them.  The answer is rfd_policy_json's, or
 * NULL with err. */
struct json_object *rfd_policy_verb(struct rfd *d, const struct base_request *req,
				    struct base_err *err);
/* The subOS's policy and the controller's view of it (state, last window,
 * the controller's own cost), or NULL when it has none. */
struct json_object *rfd_policy_json(struct rfd *d, const struct rfd_subos *s);
/* Make the timer (watched as RFD_EV_POLICY) and arm it for the policies
 * recovered; at listen.  -1 with errno if the timerfd cannot be made. */
int rfd_policy_start(struct rfd *d);
void rfd_policy_stop(struct rfd *d);
/* The timer fired. */
void rfd_policy_tick(struct rfd *d);

#endif
