/*
 * probe.h - rfd's probe of a linux subOS's service (probe.c): the latency
 * signal of a subOS that has no stats page, in the manner of a kubelet
 * health probe but open loop and measured.
 *
 * Every RFD_PROBE_PERIOD_MS one request is due per probed subOS (a
 * memcached `version` or an HTTP/1.1 GET, base/probe.h) on one kept-alive,
 * non-blocking connection in rfd's loop; replies are matched in order
 * (requests pipeline: one is sent when due, whatever is outstanding).  A
 * reply's time, from when its request was due to when rfd read the whole
 * reply, goes into a histogram of the stats page's geometry
 * (base/lathist.h), which the policy, `rfm top` and /metrics read as they
 * read a libos subOS's.  A request that failed counts as one sample of
 * exactly RFD_PROBE_TIMEOUT_MS: no reply within it (the connection is
 * then dropped and made again), a failed reply (memcached ERROR, HTTP
 * 4xx/5xx), or one lost with its connection (refused, reset, garbage);
 * so an overloaded, hung or absent service reads as slow, never as idle.
 */
#ifndef RF_RFD_PROBE_H
#define RF_RFD_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "base/err.h"
#include "base/lathist.h"

#define RFD_PROBE_PERIOD_MS  5     /* one request per 5 ms: 200/s per subOS */
#define RFD_PROBE_TIMEOUT_MS 1000  /* kubelet's default; a failure's sample */

struct rfd;
struct rfd_subos;

/* The timer (watched as RFD_EV_PROBE, 0), armed while a subOS has a
 * probe; at listen.  -1 with errno if it cannot be made. */
int rfd_probe_start(struct rfd *d);
void rfd_probe_stop(struct rfd *d);
/* An event: the timer (val 0) or subOS val's connection. */
void rfd_probe_event(struct rfd *d, uint32_t val, uint32_t events);

/* Check url ("off": none) for s: 0, or -1 with err (a bad URL, a libos
 * subOS: it reports its own latency). */
int rfd_probe_check(const struct rfd_subos *s, const char *url, struct base_err *err);
/* Probe s's service at s->probe_url from now on ("" stops it); the timer
 * is armed or disarmed to match. */
void rfd_probe_apply(struct rfd *d, struct rfd_subos *s);
/* Close s's connection and free its probe (s is going away). */
void rfd_probe_free(struct rfd_subos *s);

/* s's cumulative probe histogram, or NULL (no probe). */
const struct base_lat *rfd_probe_lat(const struct rfd_subos *s);
/* How long the oldest request still unanswered has waited (0: none): the
 * policy reads a window as no faster than that. */
uint64_t rfd_probe_oldest_ns(const struct rfd_subos *s, uint64_t now);
/* Requests that failed (counted at the timeout), or 0. */
uint64_t rfd_probe_failures(const struct rfd_subos *s);
/* What the probe is doing: {"url","state","requests","replies","failures",
 * "errors","connects","last_error"}, or NULL without a probe. */
struct json_object *rfd_probe_json(const struct rfd_subos *s);

#endif
