/*
 * restart.c - the restart policy's decisions and its timer (restart.h).
 *
 * Only decisions and the timer live here; stopping and starting the
 * program is lifecycle.c's, which calls in (never the other way round).
 */
#define _GNU_SOURCE
#include "rfd/restart.h"
#include "rfd/rfd.h"
#include "rfd/subos.h"
#include "rfd/watch.h"

#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "base/time.h"

bool rfd_restart_wanted(const struct rfd_subos *s)
{
	if (s->restart == RF_RESTART_NO)
		return false;
	if (s->max_restarts >= 0 && s->restarts >= s->max_restarts)
		return false;
	return s->restart == RF_RESTART_ALWAYS || s->exit_code != 0;
}

/* 100 ms, doubled after each short run, at most 10 s. */
static uint32_t next_delay(struct rfd_subos *s)
{
	uint64_t ran_ms = (base_now_ns() - s->started_ns) / BASE_NS_PER_MS;
	if (ran_ms >= RFD_RESTART_STABLE_MS || !s->backoff_ms)
		s->backoff_ms = RFD_RESTART_FIRST_MS;
	else if (s->backoff_ms < RFD_RESTART_MAX_MS)
		s->backoff_ms = s->backoff_ms * 2 > RFD_RESTART_MAX_MS ? RFD_RESTART_MAX_MS
								     : s->backoff_ms * 2;
	return s->backoff_ms;
}

int64_t rfd_restart_arm(struct rfd *d, struct rfd_subos *s)
{
	uint32_t ms = next_delay(s);
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -1;
	if (timerfd_settime(fd, 0, &its, NULL) ||
	    rfd_watch_fd(d, fd, rfd_ev_tag(RFD_EV_TIMER, (uint32_t)s->id))) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	s->restart_timer = fd;
	return ms;
}

void rfd_restart_disarm(struct rfd *d, struct rfd_subos *s)
{
	if (s->restart_timer < 0)
		return;
	rfd_unwatch_fd(d, s->restart_timer);
	close(s->restart_timer);
	s->restart_timer = -1;
}
