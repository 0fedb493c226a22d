/*
 * fork.h - the one way rfd makes a process (fork.c).
 */
#ifndef RF_RFD_FORK_H
#define RF_RFD_FORK_H

#include <sys/types.h>

struct rfd;

/* fork(), except that the child has closed rfd's doors (the control and
 * subOS sockets' listeners, the metrics port, the state directory's lock)
 * before rfd goes on: 0 in the child, the child's pid in rfd, or -1 with
 * errno (no child).  rfd waits for that close up to a second. */
pid_t rfd_fork(struct rfd *d);

#endif
