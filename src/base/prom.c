/*
 * prom.c - the Prometheus text exposition format (see prom.h).
 *
 * Everything appends to one buffer; an allocation failure marks it failed
 * and later calls do nothing, so callers check once at the end.
 */
#define _GNU_SOURCE
#include "base/prom.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void base_prom_init(struct base_prom *p)
{
	memset(p, 0, sizeof(*p));
}

void base_prom_free(struct base_prom *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

static bool grow(struct base_prom *p, size_t more)
{
	if (p->failed)
		return false;
	if (p->len + more + 1 <= p->cap)
		return true;
	size_t cap = p->cap ? p->cap : 4096;
	while (cap < p->len + more + 1)
		cap *= 2;
	char *b = realloc(p->buf, cap);
	if (!b) {
		p->failed = true;
		return false;
	}
	p->buf = b;
	p->cap = cap;
	return true;
}

static void put(struct base_prom *p, const char *s, size_t n)
{
	if (!grow(p, n))
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void putf(struct base_prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct base_prom *p, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		p->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		put(p, small, (size_t)n);
		return;
	}
	if (!grow(p, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(p->buf + p->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	p->len += (size_t)n;
}

/* s with backslash and newline escaped, and in a label value (quote) the
 * double quote too: the exposition format's two escaping rules. */
static void put_escaped(struct base_prom *p, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(p, "\\\\", 2);
		else if (*s == '\n')
			put(p, "\\n", 2);
		else if (*s == '"' && quote)
			put(p, "\\\"", 2);
		else
			put(p, s, 1);
	}
}

bool base_prom_escape(const char *in, char *out, size_t len)
{
	struct base_prom p;
	base_prom_init(&p);
	put_escaped(&p, in, true);
	bool ok = !p.failed && p.len < len;
	if (len)
		snprintf(out, len, "%s", p.buf ? p.buf : "");
	base_prom_free(&p);
	return ok;
}

void base_prom_family(struct base_prom *p, const char *name, const char *type, const char *help)
{
	putf(p, "# HELP %s ", name);
	put_escaped(p, help, false);
	putf(p, "\n# TYPE %s %s\n", name, type);
}

/* name{a="x",b="y"[,extra="v"]} -- extra (a name and a value already
 * safe) is the histogram's le. */
static void series(struct base_prom *p, const char *name, const char *suffix,
		   const char *const *labels, const char *extra_name, const char *extra_val)
{
	bool any = false;
	putf(p, "%s%s", name, suffix);
	for (int i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		putf(p, "%s%s=\"", any ? "," : "{", labels[i]);
		put_escaped(p, labels[i + 1], true);
		put(p, "\"", 1);
		any = true;
	}
	if (extra_name) {
		putf(p, "%s%s=\"%s\"", any ? "," : "{", extra_name, extra_val);
		any = true;
	}
	if (any)
		put(p, "}", 1);
}

static void value(struct base_prom *p, double v)
{
	if (isnan(v))
		putf(p, " NaN\n");
	else if (isinf(v))
		putf(p, " %s\n", v > 0 ? "+Inf" : "-Inf");
	else
		putf(p, " %.15g\n", v); /* 15 digits: 0.1, not 0.10000000000000001 */
}

void base_prom_sample(struct base_prom *p, const char *name, const char *const *labels, double v)
{
	series(p, name, "", labels, NULL, NULL);
	value(p, v);
}

void base_prom_sample_u64(struct base_prom *p, const char *name, const char *const *labels,
			  uint64_t v)
{
	series(p, name, "", labels, NULL, NULL);
	putf(p, " %" PRIu64 "\n", v);
}

void base_prom_histogram(struct base_prom *p, const char *name, const char *const *labels,
			 const double *le, const uint64_t *cum, int n, uint64_t count, double sum)
{
	char b[64];
	for (int i = 0; i < n; i++) {
		snprintf(b, sizeof(b), "%.15g", le[i]); /* 1e-06, not 9.99...e-07 */
		series(p, name, "_bucket", labels, "le", b);
		putf(p, " %" PRIu64 "\n", cum[i]);
	}
	series(p, name, "_bucket", labels, "le", "+Inf");
	putf(p, " %" PRIu64 "\n", count);
	series(p, name, "_sum", labels, NULL, NULL);
	value(p, sum);
	series(p, name, "_count", labels, NULL, NULL);
	putf(p, " %" PRIu64 "\n", count);
}
