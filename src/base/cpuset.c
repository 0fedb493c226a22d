/*
 * cpuset.c - CPU set operations and the kernel's cpu list syntax.
 */
#include "base/cpuset.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

int base_cpuset_count(const struct base_cpuset *s)
{
	int n = 0;
	for (int i = 0; i < RF_CPUSET_WORDS; i++)
		n += __builtin_popcountll(s->w[i]);
	return n;
}

int base_cpuset_next(const struct base_cpuset *s, int from)
{
	if (from < 0)
		from = 0;
	for (int i = from / 64; i < RF_CPUSET_WORDS; i++) {
		uint64_t w = s->w[i];
		if (i == from / 64)
			w &= ~0ull << (from % 64);
		if (w)
			return i * 64 + __builtin_ctzll(w);
	}
	return -1;
}

bool base_cpuset_empty(const struct base_cpuset *s)
{
	return base_cpuset_next(s, 0) < 0;
}

bool base_cpuset_equal(const struct base_cpuset *a, const struct base_cpuset *b)
{
	for (int i = 0; i < RF_CPUSET_WORDS; i++)
		if (a->w[i] != b->w[i])
			return false;
	return true;
}

bool base_cpuset_subset(const struct base_cpuset *a, const struct base_cpuset *of)
{
	for (int i = 0; i < RF_CPUSET_WORDS; i++)
		if (a->w[i] & ~of->w[i])
			return false;
	return true;
}

bool base_cpuset_intersects(const struct base_cpuset *a, const struct base_cpuset *b)
{
	for (int i = 0; i < RF_CPUSET_WORDS; i++)
		if (a->w[i] & b->w[i])
			return true;
	return false;
}

void base_cpuset_or(struct base_cpuset *d, const struct base_cpuset *a)
{
	for (int i = 0; i < RF_CPUSET_WORDS; i++)
		d->w[i] |= a->w[i];
}

void base_cpuset_andnot(struct base_cpuset *d, const struct base_cpuset *a)
{
	for (int i = 0; i < RF_CPUSET_WORDS; i++)
		d->w[i] &= ~a->w[i];
}

void base_cpuset_and_into(struct base_cpuset *d, const struct base_cpuset *a)
{
	for (int i = 0; i < RF_CPUSET_WORDS; i++)
		d->w[i] &= a->w[i];
}

void base_cpuset_follow(struct base_cpuset *have, const struct base_cpuset *held,
			const struct base_cpuset *avail, struct base_cpuset *joining)
{
	base_cpuset_and_into(have, held);
	*joining = *held;
	base_cpuset_and_into(joining, avail);
	base_cpuset_andnot(joining, have);
	base_cpuset_or(have, joining);
}

static int parse_cpu(const char **p)
{
	char *end;
	if (!isdigit((unsigned char)**p))
		return -1;
	long v = strtol(*p, &end, 10);
	if (v < 0 || v >= RF_MAX_CPUS)
		return -1;
	*p = end;
	return (int)v;
}

int base_cpuset_parse(struct base_cpuset *s, const char *p)
{
	base_cpuset_zero(s);
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return 0;
	for (;;) {
		int lo = parse_cpu(&p), hi = lo;
		if (lo < 0)
			return -1;
		if (*p == '-') {
			p++;
			hi = parse_cpu(&p);
			if (hi < lo)
				return -1;
		}
		for (int c = lo; c <= hi; c++)
			base_cpuset_set(s, c);
		if (*p != ',')
			break;
		p++;
	}
	while (isspace((unsigned char)*p))
		p++;
	return *p == '\0' ? 0 : -1;
}

int base_cpuset_format(const struct base_cpuset *s, char *buf, size_t len)
{
	size_t off = 0;
	if (len == 0)
		return -1;
	buf[0] = '\0';
	for (int c = base_cpuset_next(s, 0); c >= 0;) {
		int hi = c;
		while (base_cpuset_has(s, hi + 1))
			hi++;
		int n = hi == c ? snprintf(buf + off, len - off, "%s%d", off ? "," : "", c)
				: snprintf(buf + off, len - off, "%s%d-%d", off ? "," : "", c, hi);
		if (n < 0 || (size_t)n >= len - off)
			return -1;
		off += (size_t)n;
		c = base_cpuset_next(s, hi + 1);
	}
	return (int)off;
}
