/*
 * probe.c - probing a linux subOS's service from rfd's loop (see probe.h
 * for what is measured and what a failure counts as).
 *
 * Nothing here may stall the loop, whatever the service does: one
 * non-blocking socket per probed subOS on rfd's epoll set, a connect that
 * completes on EPOLLOUT, requests written as the socket takes them (a
 * small buffer; a request that does not fit waits its turn), replies read
 * as they come and parsed incrementally (base/probe.h).  One timerfd for
 * every probe ticks every RFD_PROBE_PERIOD_MS: a request becomes due for
 * each probed subOS, requests older than the timeout fail, a dropped
 * connection is made again (after a back-off doubling from 10 ms to 1 s
 * while it keeps failing; requests due meanwhile wait for it, and fail at
 * the timeout like any other).
 */
#define _GNU_SOURCE
#include "rfd/probe.h"
#include "rfd/rfd.h"
#include "rfd/log.h"
#include "rfd/subos.h"
#include "rfd/watch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "base/probe.h"
#include "base/time.h"

#define QMAX 256                 /* requests outstanding (1 s of them, and some) */
#define OUT_MAX 4096
#define TIMEOUT_NS ((uint64_t)RFD_PROBE_TIMEOUT_MS * BASE_NS_PER_MS)
#define BACKOFF_MIN_NS (10 * BASE_NS_PER_MS)
#define BACKOFF_MAX_NS BASE_NS_PER_SEC

enum pstate { P_DOWN, P_CONNECTING, P_UP };

struct rfd_probe {
	struct base_probe_url url;
	char req[512];
	size_t req_len;
	int fd;
	enum pstate st;
	uint64_t since_ns;           /* connecting, or up, since */
	uint64_t retry_ns, backoff_ns;
	uint64_t q[QMAX];            /* when each outstanding request was due */
	unsigned head, n, nsent;     /* the first nsent of the n were written */
	char out[OUT_MAX];
	size_t out_len, out_off;
	struct base_probe_reply rep;
	struct base_lat lat;
	uint64_t requests, replies, failures, errors, connects;
	char last_error[160];
	char logged[160];            /* the last trouble logged (once per kind) */
};

static int ptimer = -1;
static bool armed;

static void record(struct rfd_probe *p, uint64_t ns)
{
	unsigned b = base_lat_bucket(ns);
	p->lat.bucket[b]++;
	p->lat.count++;
	p->lat.sum_ns += (double)ns;
}

static void fail_one(struct rfd_probe *p)
{
	record(p, TIMEOUT_NS);
	p->failures++;
}

static void pop(struct rfd_probe *p)
{
	p->head = (p->head + 1) % QMAX;
	p->n--;
	if (p->nsent)
		p->nsent--;
}

static void close_fd(struct rfd_probe *p)
{
	if (p->fd >= 0)
		close(p->fd); /* also leaves the epoll set */
	p->fd = -1;
	p->st = P_DOWN;
	p->out_len = p->out_off = 0;
	base_probe_reply_init(&p->rep, p->url.scheme);
}

/* The connection is lost: what was sent on it fails; what waits stays
 * for the next one, made after the back-off. */
static void conn_fail(const struct rfd_subos *s, struct rfd_probe *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void conn_fail(const struct rfd_subos *s, struct rfd_probe *p, const char *fmt, ...)
{
	char why[sizeof(p->last_error)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (strcmp(why, p->logged)) { /* once per kind of trouble, not per retry */
		rfd_log("probe of %s (%s): %s", s->name, s->probe_url, why);
		snprintf(p->logged, sizeof(p->logged), "%s", why);
	}
	snprintf(p->last_error, sizeof(p->last_error), "%s", why);
	while (p->nsent) {
		fail_one(p);
		pop(p);
	}
	/* A connection that served a while and broke is made again soon; one
	 * that keeps failing ever more slowly. */
	uint64_t now = base_now_ns();
	if (p->st == P_UP && now - p->since_ns >= BASE_NS_PER_SEC)
		p->backoff_ns = BACKOFF_MIN_NS;
	close_fd(p);
	p->retry_ns = now + p->backoff_ns;
	p->backoff_ns = p->backoff_ns * 2 < BACKOFF_MAX_NS ? p->backoff_ns * 2 : BACKOFF_MAX_NS;
}

static void watch(struct rfd *d, const struct rfd_subos *s, struct rfd_probe *p)
{
	uint32_t ev = EPOLLIN | (p->st == P_CONNECTING || p->out_off < p->out_len ? EPOLLOUT : 0);
	if (rfd_watch_mod(d, p->fd, rfd_ev_tag(RFD_EV_PROBE, (uint32_t)s->id), ev) < 0)
		conn_fail(s, p, "epoll: %s", strerror(errno));
}

/* Write the requests due, as far as the socket takes them. */
static void flush(struct rfd *d, const struct rfd_subos *s, struct rfd_probe *p)
{
	if (p->out_off == p->out_len)
		p->out_off = p->out_len = 0;
	while (p->nsent < p->n && p->out_len + p->req_len <= OUT_MAX) {
		memcpy(p->out + p->out_len, p->req, p->req_len);
		p->out_len += p->req_len;
		p->nsent++;
	}
	while (p->out_off < p->out_len) {
		ssize_t w = send(p->fd, p->out + p->out_off, p->out_len - p->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w < 0) {
			conn_fail(s, p, "send: %s", strerror(errno));
			return;
		}
		p->out_off += (size_t)w;
	}
	watch(d, s, p);
}

static void connect_start(struct rfd *d, const struct rfd_subos *s, struct rfd_probe *p,
			  uint64_t now)
{
	p->fd = socket(p->url.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		conn_fail(s, p, "socket: %s", strerror(errno));
		return;
	}
	p->st = P_CONNECTING;
	p->since_ns = now;
	if (rfd_watch_fd(d, p->fd, rfd_ev_tag(RFD_EV_PROBE, (uint32_t)s->id)) < 0) {
		conn_fail(s, p, "epoll: %s", strerror(errno));
		return;
	}
	if (connect(p->fd, (struct sockaddr *)&p->url.addr, p->url.addrlen) < 0 &&
	    errno != EINPROGRESS) {
		conn_fail(s, p, "connect: %s", strerror(errno));
		return;
	}
	watch(d, s, p); /* writable once connected (or refused) */
}

static void connected(struct rfd *d, const struct rfd_subos *s, struct rfd_probe *p)
{
	int e = 0;
	socklen_t len = sizeof(e);
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e) {
		conn_fail(s, p, "connect: %s", strerror(e));
		return;
	}
	p->st = P_UP;
	p->since_ns = base_now_ns();
	p->connects++;
	flush(d, s, p);
}

/* One reply ended: the oldest request's time, or a failure. */
static int on_reply(const struct rfd_subos *s, struct rfd_probe *p, uint64_t now)
{
	if (!p->nsent) {
		conn_fail(s, p, "a reply to no request");
		return -1;
	}
	uint64_t due = p->q[p->head];
	pop(p);
	if (p->rep.ok) {
		record(p, now - due);
		p->replies++;
	} else {
		fail_one(p);
		p->errors++;
		snprintf(p->last_error, sizeof(p->last_error), "a failed reply%s%d",
			 p->url.scheme == BASE_PROBE_HTTP ? ": HTTP " : "", p->rep.status);
	}
	return 0;
}

/* What was read: replies in it, or trouble. */
static int parse(const struct rfd_subos *s, struct rfd_probe *p, const char *buf, size_t len,
		 bool *close_after)
{
	struct base_err err;
	uint64_t now = base_now_ns();
	size_t used;
	while (len) {
		enum base_probe_rc rc = base_probe_reply_feed(&p->rep, buf, len, &used, &err);
		buf += used;
		len -= used;
		if (rc == BASE_PROBE_BAD) {
			conn_fail(s, p, "not a reply: %s", err.msg);
			return -1;
		}
		if (rc != BASE_PROBE_DONE)
			continue;
		*close_after |= p->rep.close;
		if (on_reply(s, p, now))
			return -1;
		base_probe_reply_init(&p->rep, p->url.scheme);
	}
	return 0;
}

static void readable(struct rfd *d, const struct rfd_subos *s, struct rfd_probe *p)
{
	char buf[4096];
	bool close_after = false, eof = false;
	while (!eof) {
		ssize_t r = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r < 0) {
			conn_fail(s, p, "recv: %s", strerror(errno));
			return;
		}
		if (r == 0 && p->nsent && !close_after) { /* not announced: they are lost */
			conn_fail(s, p, "the service closed the connection with requests "
				  "unanswered");
			return;
		}
		eof = r == 0; /* announced ("Connection: close", HTTP/1.0), or idle */
		if (r > 0 && parse(s, p, buf, (size_t)r, &close_after))
			return;
	}
	if (close_after || eof) { /* what it did not answer goes again, at once */
		p->nsent = 0;
		close_fd(p);
		p->retry_ns = 0;
	}
}

/* A request falls due; the old ones time out; the connection is kept. */
static void tick_one(struct rfd *d, struct rfd_subos *s, struct rfd_probe *p, uint64_t now)
{
	if (p->n == QMAX) { /* never at 200/s and a 1 s timeout; a bound all the same */
		if (p->nsent)
			conn_fail(s, p, "%d requests unanswered", QMAX);
		else {
			fail_one(p);
			pop(p);
		}
	}
	p->q[(p->head + p->n) % QMAX] = now;
	p->n++;
	p->requests++;
	while (p->n && now - p->q[p->head] >= TIMEOUT_NS) {
		if (p->nsent) {
			conn_fail(s, p, "no reply within %d ms", RFD_PROBE_TIMEOUT_MS);
			continue;
		}
		fail_one(p); /* it waited for a connection that did not come */
		pop(p);
	}
	if (p->st == P_CONNECTING && now - p->since_ns >= TIMEOUT_NS)
		conn_fail(s, p, "connect: no answer within %d ms", RFD_PROBE_TIMEOUT_MS);
	if (p->st == P_DOWN && now >= p->retry_ns)
		connect_start(d, s, p, now);
	else if (p->st == P_UP)
		flush(d, s, p);
}

/* Arm the timer while any subOS has a probe. */
static void arm(struct rfd *d)
{
	bool want = false;
	for (int i = 0; i < RF_MAX_SUBOS && !want; i++)
		want = d->subos[i] && d->subos[i]->probe;
	if (ptimer < 0 || want == armed)
		return;
	struct timespec ts = { 0, want ? RFD_PROBE_PERIOD_MS * (long)BASE_NS_PER_MS : 0 };
	struct itimerspec its = { .it_interval = ts, .it_value = ts };
	if (timerfd_settime(ptimer, 0, &its, NULL) == 0)
		armed = want;
	else
		rfd_log("probe: cannot arm the timer: %s", strerror(errno));
}

static void tick(struct rfd *d)
{
	uint64_t expirations, now = base_now_ns();
	if (read(ptimer, &expirations, sizeof(expirations)) < 0) {
		/* EAGAIN: a spurious wake */
	}
	for (int i = 0; i < RF_MAX_SUBOS; i++) {
		struct rfd_subos *s = d->subos[i];
		if (!s || !s->probe)
			continue;
		if (s->life != RF_LIFE_RUNNING) { /* nothing to probe: no samples either */
			close_fd(s->probe);
			s->probe->n = s->probe->nsent = 0;
			continue;
		}
		tick_one(d, s, s->probe, now);
	}
}

void rfd_probe_event(struct rfd *d, uint32_t val, uint32_t events)
{
	if (val == 0) {
		tick(d);
		return;
	}
	struct rfd_subos *s = rfd_subos_by_id(d, (int)val);
	struct rfd_probe *p = s ? s->probe : NULL;
	if (!p || p->fd < 0)
		return; /* closed since the event was queued */
	if (p->st == P_CONNECTING) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			connected(d, s, p);
		return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		readable(d, s, p);
	if (p->st == P_UP && (events & EPOLLOUT))
		flush(d, s, p);
}

int rfd_probe_start(struct rfd *d)
{
	ptimer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ptimer < 0)
		return -1;
	if (rfd_watch_fd(d, ptimer, rfd_ev_tag(RFD_EV_PROBE, 0))) {
		int e = errno;
		close(ptimer);
		ptimer = -1;
		errno = e;
		return -1;
	}
	armed = false;
	for (int i = 0; i < RF_MAX_SUBOS; i++) /* the probes recovered from the journal */
		if (d->subos[i] && d->subos[i]->probe_url[0])
			rfd_probe_apply(d, d->subos[i]);
	arm(d);
	return 0;
}

void rfd_probe_stop(struct rfd *d)
{
	for (int i = 0; i < RF_MAX_SUBOS; i++)
		if (d->subos[i] && d->subos[i]->probe)
			close_fd(d->subos[i]->probe);
	if (ptimer >= 0) {
		rfd_unwatch_fd(d, ptimer);
		close(ptimer);
	}
	ptimer = -1;
	armed = false;
}

int rfd_probe_check(const struct rfd_subos *s, const char *url, struct base_err *err)
{
	struct base_probe_url u;
	if (strcmp(url, "off") == 0)
		return 0;
	if (s->kind != RF_KIND_LINUX)
		return base_errf(err, BASE_E_BAD_REQUEST, "\"%s\" is a libos subOS: it reports its "
				 "own latency (rf_latency_record); a probe is for linux subOSes",
				 s->name);
	return base_probe_url_parse(url, &u, err);
}

/* A new probe of s->probe_url, or NULL (no memory, or a URL a journal
 * from elsewhere holds that this rfd refuses: logged). */
static struct rfd_probe *probe_new(const struct rfd_subos *s)
{
	struct base_err err;
	struct rfd_probe *p = calloc(1, sizeof(*p));
	int n;
	if (!p)
		return NULL;
	if (base_probe_url_parse(s->probe_url, &p->url, &err) ||
	    (n = base_probe_request(&p->url, p->req, sizeof(p->req))) < 0) {
		rfd_log("subOS %s: probe %s refused: %s", s->name, s->probe_url, err.msg);
		free(p);
		return NULL;
	}
	p->req_len = (size_t)n;
	p->fd = -1;
	p->backoff_ns = BACKOFF_MIN_NS;
	base_probe_reply_init(&p->rep, p->url.scheme);
	return p;
}

void rfd_probe_apply(struct rfd *d, struct rfd_subos *s)
{
	rfd_probe_free(s);
	if (s->probe_url[0])
		s->probe = probe_new(s);
	arm(d);
}

void rfd_probe_free(struct rfd_subos *s)
{
	if (!s->probe)
		return;
	close_fd(s->probe);
	free(s->probe);
	s->probe = NULL;
}

const struct base_lat *rfd_probe_lat(const struct rfd_subos *s)
{
	return s->probe ? &s->probe->lat : NULL;
}

uint64_t rfd_probe_oldest_ns(const struct rfd_subos *s, uint64_t now)
{
	const struct rfd_probe *p = s->probe;
	return p && p->n && now > p->q[p->head] ? now - p->q[p->head] : 0;
}

uint64_t rfd_probe_failures(const struct rfd_subos *s)
{
	return s->probe ? s->probe->failures : 0;
}

struct json_object *rfd_probe_json(const struct rfd_subos *s)
{
	static const char *const states[] = { "down", "connecting", "up" };
	const struct rfd_probe *p = s->probe;
	if (!p)
		return NULL;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "url", json_object_new_string(s->probe_url));
	json_object_object_add(o, "state", json_object_new_string(states[p->st]));
	json_object_object_add(o, "period_ms", json_object_new_int(RFD_PROBE_PERIOD_MS));
	json_object_object_add(o, "timeout_ms", json_object_new_int(RFD_PROBE_TIMEOUT_MS));
	json_object_object_add(o, "requests", json_object_new_int64((int64_t)p->requests));
	json_object_object_add(o, "replies", json_object_new_int64((int64_t)p->replies));
	json_object_object_add(o, "failures", json_object_new_int64((int64_t)p->failures));
	json_object_object_add(o, "errors", json_object_new_int64((int64_t)p->errors));
	json_object_object_add(o, "connects", json_object_new_int64((int64_t)p->connects));
	json_object_object_add(o, "outstanding", json_object_new_int((int)p->n));
	json_object_object_add(o, "last_error", p->last_error[0]
					 ? json_object_new_string(p->last_error) : NULL);
	return o;
}
