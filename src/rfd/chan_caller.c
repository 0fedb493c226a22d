/*
 * chan_caller.c - which subOS a chan_open comes from, for the channel
 * broker (chan.h's rfd_chan_caller).
 *
 * The answer is the one caller.c gave when the connection was accepted:
 * asking /proc again now, by pid, could meet another process that reused
 * the pid.  So the pid must be that of the request being served, whose
 * caller verbs.c made current; anything else belongs to no subOS.
 */
#include "rfd/rfd.h"
#include "rfd/caller.h"
#include "rfd/chan.h"
#include "rfd/subos.h"

#include <stddef.h>

struct rfd_subos *rfd_chan_caller(struct rfd *d, pid_t pid)
{
	const struct rfd_caller *c = rfd_caller_current();
	struct rfd_subos *s;
	if (!c || c->pid != pid || !(s = rfd_caller_subos(d, c)) || s->life == RF_LIFE_EXITED)
		return NULL;
	return s;
}
