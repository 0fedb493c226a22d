/*
 * proto.c - the part of the memcached text protocol rfload speaks: "get"
 * and "set" requests, and their replies read incrementally from a
 * connection's byte stream (a reply may arrive split anywhere).
 *
 * A get is answered "VALUE <key> <flags> <bytes>\r\n<data>\r\nEND\r\n" (a
 * hit) or "END\r\n" (a miss), a set "STORED\r\n"; any other line
 * (ERROR, CLIENT_ERROR ..., SERVER_ERROR ..., NOT_STORED) ends its request
 * as an error.  Memcached answers in request order on a connection, which
 * is what lets the caller match replies to requests by position.
 */
#include "rfload.h"

#include <stdio.h>
#include <string.h>

size_t rfload_req_max(const struct rfload_workload *wl)
{
	uint32_t v = wl->valdist == RFLOAD_VALS_FIXED ? wl->value_size : wl->value_max;
	return 64 + (size_t)v + 2;
}

size_t rfload_req_format(char *buf, enum rfload_op op, uint32_t key, uint32_t vlen,
			 const char *filler)
{
	int n;

	if (op == RFLOAD_GET)
		return (size_t)sprintf(buf, "get " RFLOAD_KEY_FMT "\r\n", key);
	n = sprintf(buf, "set " RFLOAD_KEY_FMT " 0 0 %u\r\n", key, vlen);
	memcpy(buf + n, filler, vlen);
	memcpy(buf + n + vlen, "\r\n", 2);
	return (size_t)n + vlen + 2;
}

static bool is_line(const char *line, size_t len, const char *what)
{
	size_t n = strlen(what);
	return len == n + 2 && !memcmp(line, what, n) && line[n] == '\r';
}

/* The <bytes> of a VALUE line (its last field), or -1. */
static long value_bytes(const char *line, size_t len)
{
	const char *end = line + len - 2, *p = end;   /* before the CRLF */
	long v = 0;

	if (len < 2 || end[0] != '\r')
		return -1;
	while (p > line && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (p == end || p == line || p[-1] != ' ' || end - p > 9)
		return -1;
	for (; p < end; p++)
		v = v * 10 + (*p - '0');
	return v;
}

enum rfload_reply rfload_reply_next(struct rfload_parse *p, const char *buf, size_t len,
				    size_t *used)
{
	const char *nl;
	size_t n;

	*used = 0;
	if (p->skip) {
		if (len == 0)
			return RFLOAD_R_MORE;
		*used = len < p->skip ? len : p->skip;
		p->skip -= *used;
		return RFLOAD_R_VALUE;
	}
	nl = memchr(buf, '\n', len);
	if (!nl)
		return RFLOAD_R_MORE;
	n = (size_t)(nl - buf) + 1;
	*used = n;
	if (n > 6 && !memcmp(buf, "VALUE ", 6)) {
		long bytes = value_bytes(buf, n);
		if (bytes < 0)
			return RFLOAD_R_ERROR;
		p->skip = (size_t)bytes + 2;
		p->hit = true;
		return RFLOAD_R_VALUE;
	}
	if (is_line(buf, n, "END")) {
		bool hit = p->hit;
		p->hit = false;
		return hit ? RFLOAD_R_HIT : RFLOAD_R_MISS;
	}
	p->hit = false;
	return is_line(buf, n, "STORED") ? RFLOAD_R_STORED : RFLOAD_R_ERROR;
}
