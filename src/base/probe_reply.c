/*
 * probe_reply.c - reading a probed service's replies as they arrive (see
 * probe.h), byte stream in, one reply out at a time, with no buffer beyond
 * one line: a body is skipped as it passes, so a page of any size costs
 * the probe nothing but its reading.
 *
 * memcached: the answer to `version` is one line, "VERSION x"; an ERROR,
 * SERVER_ERROR or CLIENT_ERROR line is a reply that failed.  HTTP/1.x: a
 * status line, headers, then a body delimited by Content-Length or chunked
 * encoding (1xx interim answers are skipped; 204, 304 have none).  A body
 * delimited only by the connection's end cannot be told from the next
 * reply on a kept-alive connection: refused (BAD), as is anything else
 * that is not a reply, so the caller closes the connection.
 */
#define _GNU_SOURCE
#include "base/probe.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { S_STATUS, S_HEADER, S_BODY, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_END, S_TRAILER };

void base_probe_reply_init(struct base_probe_reply *r, enum base_probe_scheme scheme)
{
	memset(r, 0, sizeof(*r));
	r->scheme = scheme;
	r->state = S_STATUS;
}

static enum base_probe_rc bad(struct base_err *err, const char *what, const char *line)
{
	base_errf(err, BASE_E_BAD_REQUEST, "%s%s%.60s%s", what, line ? ": \"" : "",
		  line ? line : "", line ? "\"" : "");
	return BASE_PROBE_BAD;
}

static enum base_probe_rc memcached_line(struct base_probe_reply *r, const char *l,
					 struct base_err *err)
{
	if (strncmp(l, "VERSION ", 8) == 0)
		r->ok = true;
	else if (strcmp(l, "ERROR") && strncmp(l, "SERVER_ERROR", 12) &&
		 strncmp(l, "CLIENT_ERROR", 12))
		return bad(err, "not a memcached reply to version", l);
	return BASE_PROBE_DONE;
}

static enum base_probe_rc status_line(struct base_probe_reply *r, const char *l,
				      struct base_err *err)
{
	int minor = -1, code = -1, n = 0;
	if (sscanf(l, "HTTP/1.%1d %3d%n", &minor, &code, &n) != 2 || code < 100 ||
	    (l[n] != ' ' && l[n] != '\0'))
		return bad(err, "not an HTTP/1.x status line", l);
	r->status = code;
	r->close = minor == 0; /* HTTP/1.0 closes unless it says keep-alive */
	r->state = S_HEADER;
	return BASE_PROBE_MORE;
}

static bool header_is(const char *l, const char *name, const char **val)
{
	size_t n = strlen(name);
	if (strncasecmp(l, name, n) || l[n] != ':')
		return false;
	for (*val = l + n + 1; **val == ' ' || **val == '\t'; (*val)++)
		;
	return true;
}

/* The blank line after the headers: where the body is, or the end. */
static enum base_probe_rc headers_end(struct base_probe_reply *r, struct base_err *err)
{
	r->ok = r->status >= 200 && r->status < 400;
	if (r->status < 200) { /* an interim answer: the real one follows */
		bool close = r->close;
		base_probe_reply_init(r, r->scheme);
		r->close = close;
		return BASE_PROBE_MORE;
	}
	if (r->status == 204 || r->status == 304 || (r->has_len && r->left == 0 && !r->chunked))
		return BASE_PROBE_DONE;
	if (r->chunked) {
		r->state = S_CHUNK_SIZE;
		return BASE_PROBE_MORE;
	}
	if (!r->has_len)
		return bad(err, "a reply without Content-Length or chunked encoding (its end "
			   "cannot be found on a kept-alive connection)", NULL);
	r->state = S_BODY;
	return BASE_PROBE_MORE;
}

static enum base_probe_rc header_line(struct base_probe_reply *r, const char *l,
				      struct base_err *err)
{
	const char *v;
	char *end;
	if (!*l)
		return headers_end(r, err);
	if (header_is(l, "Content-Length", &v)) {
		unsigned long long n = strtoull(v, &end, 10);
		if (!isdigit((unsigned char)*v) || (*end && *end != ' ') || n > (1ull << 40))
			return bad(err, "a bad Content-Length", l);
		r->has_len = true;
		r->left = n;
	} else if (header_is(l, "Transfer-Encoding", &v)) {
		r->chunked = strcasestr(v, "chunked") != NULL;
	} else if (header_is(l, "Connection", &v)) {
		if (strcasestr(v, "close"))
			r->close = true;
		else if (strcasestr(v, "keep-alive"))
			r->close = false;
	}
	return BASE_PROBE_MORE;
}

static enum base_probe_rc chunk_line(struct base_probe_reply *r, const char *l,
				     struct base_err *err)
{
	char *end;
	if (r->state == S_CHUNK_END) {
		if (*l)
			return bad(err, "no CRLF after a chunk", l);
		r->state = S_CHUNK_SIZE;
		return BASE_PROBE_MORE;
	}
	if (r->state == S_TRAILER)
		return *l ? BASE_PROBE_MORE : BASE_PROBE_DONE;
	unsigned long long n = strtoull(l, &end, 16);
	if (!isxdigit((unsigned char)*l) || (*end && *end != ';' && *end != ' ') || n > (1ull << 40))
		return bad(err, "not a chunk size", l);
	r->left = n;
	r->state = n ? S_CHUNK_DATA : S_TRAILER;
	return BASE_PROBE_MORE;
}

static enum base_probe_rc on_line(struct base_probe_reply *r, const char *l, struct base_err *err)
{
	if (r->scheme == BASE_PROBE_MEMCACHED)
		return memcached_line(r, l, err);
	switch (r->state) {
	case S_STATUS:
		return status_line(r, l, err);
	case S_HEADER:
		return header_line(r, l, err);
	default:
		return chunk_line(r, l, err);
	}
}

/* Body bytes to skip: the whole body, or a chunk's data. */
static enum base_probe_rc skip(struct base_probe_reply *r, size_t avail, size_t *took)
{
	*took = avail < r->left ? avail : (size_t)r->left;
	r->left -= *took;
	if (r->left)
		return BASE_PROBE_MORE;
	if (r->state == S_BODY)
		return BASE_PROBE_DONE;
	r->state = S_CHUNK_END;
	return BASE_PROBE_MORE;
}

enum base_probe_rc base_probe_reply_feed(struct base_probe_reply *r, const char *buf, size_t len,
					 size_t *used, struct base_err *err)
{
	enum base_probe_rc rc = BASE_PROBE_MORE;
	size_t i = 0, took;
	while (i < len && rc == BASE_PROBE_MORE) {
		if (r->state == S_BODY || r->state == S_CHUNK_DATA) {
			rc = skip(r, len - i, &took);
			i += took;
			continue;
		}
		char c = buf[i++];
		if (c != '\n') {
			if (r->line_len + 1 >= sizeof(r->line))
				return *used = i, bad(err, "a reply line longer than 1023 bytes", NULL);
			if (c == '\0')
				return *used = i, bad(err, "a NUL byte in a reply line", NULL);
			r->line[r->line_len++] = c;
			continue;
		}
		if (r->line_len && r->line[r->line_len - 1] == '\r')
			r->line_len--;
		r->line[r->line_len] = '\0';
		r->line_len = 0;
		rc = on_line(r, r->line, err);
	}
	*used = i;
	return rc;
}
