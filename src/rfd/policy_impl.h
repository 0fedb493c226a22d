/*
 * policy_impl.h - what policy.c (the tick, the verb) and policy_move.c
 * (carrying a move out) share: the controller's state of a subOS.
 */
#ifndef RF_RFD_POLICY_IMPL_H
#define RF_RFD_POLICY_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "base/lathist.h"
#include "rfd/policy_decide.h"

struct rfd;
struct rfd_subos;

/* s->prun: the controller's state of one subOS. */
struct rfd_policy_run {
	struct policy_track tr;
	struct policy_window win;  /* the last window */
	struct base_lat lat, wait; /* the cumulative histograms at the window's start */
	pid_t pid;                 /* whose counters those are */
	uint64_t start_ns;         /* the window's start; 0: none yet */
	int last_in;               /* the core it received last (given back first), or -1 */
	bool moving;               /* a move of its is under way */
};

/* s->prun, made if need be (NULL: no memory). */
struct rfd_policy_run *rfd_policy_run_of(struct rfd_subos *s);
/* Start s's next window now (after a move: its old samples are not the
 * new allocation's). */
void rfd_policy_rebase(struct rfd *d, struct rfd_subos *s, uint64_t now);
/* policy_move.c: carry out one decided move (who: the tick's members). */
void rfd_policy_move_start(struct rfd *d, const struct policy_move *pm,
			   struct rfd_subos *const *who);

#endif
