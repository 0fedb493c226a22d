/*
 * fork.c - the one way rfd makes a process: rfd_fork.
 *
 * A forked child gets a copy of every descriptor rfd has, its doors among
 * them: the control socket's listener, the subOSes' door, the metrics
 * port and the state directory's lock.  Linux has no close-on-fork, and a
 * child may not run for milliseconds on a busy machine.  If rfd dies while
 * a child still holds a door, a client that connects before the restarted
 * rfd binds the control socket's path again reaches the dead rfd's
 * listener, which nobody accepts from: it waits, then is reset when the
 * child closes it (found by rfbench soak, one crash in about thirty on a
 * loaded machine).  A held lock or port would keep the new rfd from
 * starting at all.  So the child closes the doors first, and rfd does not
 * go on until it has (the child's end of a pipe closed with them): from
 * then on no child of rfd holds a door, whenever rfd dies.
 */
#define _GNU_SOURCE
#include "rfd/fork.h"
#include "rfd/fault.h"
#include "rfd/rfd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#define DOORS_CLOSED_WAIT_MS 1000

static void close_doors(const struct rfd *d)
{
	const int doors[] = { d->listen_fd, d->subos_fd, d->metrics_fd, d->lock_fd };
	for (size_t i = 0; i < sizeof(doors) / sizeof(doors[0]); i++)
		if (doors[i] >= 0)
			close(doors[i]);
}

/* Until every write end of the pipe is closed: the child's, with its doors
 * (or at its death). */
static void await_closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;
	while (poll(&p, 1, DOORS_CLOSED_WAIT_MS) < 0 && errno == EINTR)
		;
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

pid_t rfd_fork(struct rfd *d)
{
	int closed[2];
	if (pipe2(closed, O_CLOEXEC | O_NONBLOCK))
		return -1;
	bool slow = rfd_fault_value(RFD_FAULT_FORK) > 0; /* the crash tests' */
	pid_t pid = fork();
	if (pid == 0) {
		if (slow) /* a child slow to run */
			nanosleep(&(struct timespec){ 0, RFD_FAULT_FORK_SLOW_MS * 1000000L }, NULL);
		close_doors(d);
		close(closed[0]);
		close(closed[1]);
		return 0;
	}
	int saved = errno;
	close(closed[1]);
	if (pid > 0)
		await_closed(closed[0]);
	close(closed[0]);
	if (pid > 0)
		rfd_fault_point(RFD_FAULT_FORK);
	errno = saved;
	return pid;
}
