/*
 * watch.h - rfd's one epoll set and the tags of what it watches (watch.c).
 *
 * Every event source registers here with a tag saying what it is, so the
 * event loop (server.c) can dispatch without knowing who registered, and
 * lifecycle code can watch a subOS without knowing the loop.
 */
#ifndef RF_RFD_WATCH_H
#define RF_RFD_WATCH_H

#include <stdint.h>

struct rfd;
struct rfd_subos;

enum rfd_ev {
	RFD_EV_LISTEN = 1, RFD_EV_CONN = 2, RFD_EV_SIGNAL = 3, RFD_EV_SHIM = 4,
	RFD_EV_TIMER = 5, /* a subOS's restart timer (restart.h) */
	RFD_EV_OP = 6,    /* an operation's descriptor or timer (op.h), by op id */
	RFD_EV_METRICS = 7, /* the /metrics listener (0) or a connection (slot + 1) */
	RFD_EV_POLICY = 8,  /* the policy's timer (policy.h) */
	RFD_EV_PROBE = 9,   /* the probes' timer (0) or subOS id's connection (probe.h) */
};

/* An epoll tag: the kind of source in the high half, its index below. */
static inline uint64_t rfd_ev_tag(enum rfd_ev type, uint32_t val)
{
	return ((uint64_t)type << 32) | val;
}
static inline enum rfd_ev rfd_ev_type(uint64_t tag) { return (enum rfd_ev)(tag >> 32); }
static inline uint32_t rfd_ev_val(uint64_t tag) { return (uint32_t)tag; }

/* Watch fd for input under `tag` / stop.  0 or -1 with errno. */
int rfd_watch_fd(struct rfd *d, int fd, uint64_t tag);
void rfd_unwatch_fd(struct rfd *d, int fd);
/* Watch fd (already watched) for `events` (EPOLLIN, EPOLLOUT) instead. */
int rfd_watch_mod(struct rfd *d, int fd, uint64_t tag, uint32_t events);

/* Be told (RFD_EV_SHIM, s->id) when the subOS's shim (or, adopted, its
 * program) exits / stop being told. */
int rfd_watch_subos(struct rfd *d, struct rfd_subos *s);
void rfd_unwatch_subos(struct rfd *d, struct rfd_subos *s);

#endif
