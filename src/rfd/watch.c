/*
 * watch.c - registering event sources on rfd's epoll set (see watch.h).
 *
 * Kept apart from the loop in server.c so that creating and destroying a
 * subOS (lifecycle.c, recover.c) can watch and unwatch it without calling
 * into the server, which calls them.
 */
#include "rfd/watch.h"
#include "rfd/rfd.h"
#include "rfd/subos.h"

#include <sys/epoll.h>

int rfd_watch_fd(struct rfd *d, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int rfd_watch_mod(struct rfd *d, int fd, uint64_t tag, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };
	return epoll_ctl(d->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void rfd_unwatch_fd(struct rfd *d, int fd)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int rfd_watch_subos(struct rfd *d, struct rfd_subos *s)
{
	int fd = s->shim_pidfd >= 0 ? s->shim_pidfd : s->pidfd;
	return fd < 0 ? -1 : rfd_watch_fd(d, fd, rfd_ev_tag(RFD_EV_SHIM, (uint32_t)s->id));
}

void rfd_unwatch_subos(struct rfd *d, struct rfd_subos *s)
{
	if (s->shim_pidfd >= 0)
		rfd_unwatch_fd(d, s->shim_pidfd);
	if (s->pidfd >= 0)
		rfd_unwatch_fd(d, s->pidfd);
}
