/*
 * sched.c - rfload's rate schedule: a piecewise-constant target rate
 * (--rate R, --schedule "0s:10000,5s:40000", --trace FILE) and the map
 * from arrival numbers to intended send times.
 *
 * Why a map and not "the rate now": a time-varying Poisson process is
 * exact when unit-rate arrivals are drawn in "expected arrival number"
 * space (lambda, the integral of the rate over time) and mapped back to
 * time through the inverse of that integral (time rescaling).  A worker
 * therefore draws exponential gaps in lambda space whatever the step, and
 * a step change takes effect exactly at its start instead of after the
 * next gap drawn at the old rate; a step of rate 0 (a pause) simply has
 * no arrivals.  Uniform arrivals use the same map with constant gaps.
 *
 * A step's start is written "5s", "500ms", "250us" or "5" (seconds); a
 * rate "40000", "40k" or "1.5M" (requests per second).  A trace file has
 * one step per line, "TIME RATE" (same units), blank lines and #
 * comments ignored.
 */
#include "rfload.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A number and what follows it ("40k": 40 and "k"), from a text span. */
static int split_number(const char *t, size_t len, double *v, char *rest, size_t restlen)
{
	char buf[64], *end;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, t, len);
	buf[len] = 0;
	errno = 0;
	*v = strtod(buf, &end);
	if (errno || end == buf || strlen(end) >= restlen)
		return -1;
	strcpy(rest, end);
	return 0;
}

/* "5s", "500ms", "250us", "5": nanoseconds, or -1. */
static int64_t parse_time(const char *t, size_t len)
{
	char unit[4];
	double v, scale = 1e9;

	if (split_number(t, len, &v, unit, sizeof(unit)) < 0)
		return -1;
	if (!strcmp(unit, "ms"))
		scale = 1e6;
	else if (!strcmp(unit, "us"))
		scale = 1e3;
	else if (*unit && strcmp(unit, "s"))
		return -1;
	if (!(v >= 0 && v * scale < 1e15))   /* 11 days at most */
		return -1;
	return (int64_t)llround(v * scale);
}

/* "40000", "40k", "1.5M": requests per second, or -1. */
static double parse_rate(const char *t, size_t len)
{
	char unit[4];
	double v;

	if (split_number(t, len, &v, unit, sizeof(unit)) < 0)
		return -1;
	if (!strcmp(unit, "k"))
		v *= 1e3;
	else if (!strcmp(unit, "M"))
		v *= 1e6;
	else if (*unit)
		return -1;
	return v >= 0 && v <= 1e8 ? v : -1;
}

/* Appends the step "TIME" "RATE" (text spans); steps must start in order,
 * the first at 0. */
static int add_step(struct rfload_sched *s, const char *t, size_t tlen, const char *r,
		    size_t rlen, char *err, size_t errlen)
{
	int64_t at = parse_time(t, tlen);
	double rate = parse_rate(r, rlen);

	if (at < 0 || rate < 0) {
		snprintf(err, errlen, "bad step '%.*s:%.*s' (want TIME:RATE, e.g. 5s:40k)",
			 (int)tlen, t, (int)rlen, r);
		return -1;
	}
	if (s->n == RFLOAD_MAX_STEPS - 1) {   /* one place kept for the warm-up */
		snprintf(err, errlen, "more than %d steps", RFLOAD_MAX_STEPS - 1);
		return -1;
	}
	if ((s->n == 0 && at != 0) || (s->n > 0 && (uint64_t)at <= s->start_ns[s->n - 1])) {
		snprintf(err, errlen, "steps must start at 0 and in increasing time order");
		return -1;
	}
	s->start_ns[s->n] = (uint64_t)at;
	s->rate[s->n++] = rate;
	return 0;
}

int rfload_sched_parse(struct rfload_sched *s, const char *spec, char *err, size_t errlen)
{
	const char *p = spec;

	s->n = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *colon = memchr(p, ':', len);
		if (!colon) {
			snprintf(err, errlen, "bad step '%.*s' (want TIME:RATE)", (int)len, p);
			return -1;
		}
		if (add_step(s, p, (size_t)(colon - p), colon + 1, len - (size_t)(colon - p) - 1,
			     err, errlen) < 0)
			return -1;
		p += len + (p[len] == ',');
	}
	if (s->n == 0) {
		snprintf(err, errlen, "empty schedule");
		return -1;
	}
	return 0;
}

int rfload_sched_trace(struct rfload_sched *s, const char *path, char *err, size_t errlen)
{
	char line[256];
	int lineno = 0, rc = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "cannot read trace %s: %s", path, strerror(errno));
		return -1;
	}
	s->n = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		char *t = line + strspn(line, " \t"), *r;
		size_t tlen, rlen;
		lineno++;
		if (*t == '#' || *t == '\n' || *t == 0)
			continue;
		tlen = strcspn(t, " \t\n");
		r = t + tlen + strspn(t + tlen, " \t");
		rlen = strcspn(r, " \t\n#");
		if (add_step(s, t, tlen, r, rlen, err, errlen) < 0) {
			size_t n = strlen(err);
			snprintf(err + n, errlen - n, " at %s:%d", path, lineno);
			rc = -1;
		}
	}
	fclose(f);
	if (rc == 0 && s->n == 0) {
		snprintf(err, errlen, "trace %s has no step", path);
		rc = -1;
	}
	return rc;
}

/* The run lasts seconds_ns after a warm-up at the first step's rate; the
 * cumulative arrivals at each step's start follow. */
int rfload_sched_finish(struct rfload_sched *s, uint64_t seconds_ns, uint64_t warmup_ns,
			char *err, size_t errlen)
{
	if (s->start_ns[s->n - 1] >= seconds_ns) {
		snprintf(err, errlen, "the last step starts at %.3f s, not before the end (--seconds "
			 "%.3f)", (double)s->start_ns[s->n - 1] / 1e9, (double)seconds_ns / 1e9);
		return -1;
	}
	s->first = 0;
	if (warmup_ns) {
		memmove(s->start_ns + 1, s->start_ns, (size_t)s->n * sizeof(s->start_ns[0]));
		memmove(s->rate + 1, s->rate, (size_t)s->n * sizeof(s->rate[0]));
		for (int i = 1; i <= s->n; i++)
			s->start_ns[i] += warmup_ns;
		s->n++;
		s->first = 1;
	}
	s->end_ns = seconds_ns + warmup_ns;
	s->lambda[0] = 0;
	for (int i = 0; i < s->n; i++) {
		uint64_t until = i + 1 < s->n ? s->start_ns[i + 1] : s->end_ns;
		s->lambda[i + 1] = s->lambda[i] + s->rate[i] * (double)(until - s->start_ns[i]) / 1e9;
	}
	return 0;
}

uint64_t rfload_sched_at(const struct rfload_sched *s, double lam, int *cursor)
{
	int k = *cursor;

	/* Steps of rate 0 add nothing to lambda and are stepped over here. */
	while (k < s->n && lam >= s->lambda[k + 1])
		k++;
	if (k >= s->n)
		return UINT64_MAX;
	*cursor = k;
	return s->start_ns[k] + (uint64_t)((lam - s->lambda[k]) / s->rate[k] * 1e9);
}
