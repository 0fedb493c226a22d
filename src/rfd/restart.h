/*
 * restart.h - a subOS's restart policy (restart.c): whether its program
 * comes back after it ended, and when.
 *
 * The policy is create's --restart (no, on-failure, always) with an
 * optional limit.  While it waits, the subOS keeps its cores, memory and
 * cgroups (nobody can take them), is listed as "restarting", and its
 * timer sits on rfd's epoll set (RFD_EV_TIMER, the subOS's id); lifecycle.c
 * starts the program again when it fires.  The delay is 100 ms, doubled
 * after each run shorter than 10 s, up to 10 s; a run of 10 s or more
 * starts the doubling afresh.
 */
#ifndef RF_RFD_RESTART_H
#define RF_RFD_RESTART_H

#include <stdbool.h>
#include <stdint.h>

struct rfd;
struct rfd_subos;

#define RFD_RESTART_FIRST_MS  100u
#define RFD_RESTART_MAX_MS    10000u
#define RFD_RESTART_STABLE_MS 10000u

/* Should s's program, which ended with s->exit_code, start again? */
bool rfd_restart_wanted(const struct rfd_subos *s);
/* Set s's timer for the next start; returns the delay in ms, or -1 with
 * errno if no timer could be made (the caller gives up restarting). */
int64_t rfd_restart_arm(struct rfd *d, struct rfd_subos *s);
/* Drop s's timer (it fired, or s is destroyed meanwhile). */
void rfd_restart_disarm(struct rfd *d, struct rfd_subos *s);

#endif
