/*
 * probe.h - rfd's probe of a linux subOS's service, the parts without I/O:
 * the probe URL (probe_url.c: `memcached://ADDR:PORT` or
 * `http://ADDR:PORT/PATH`), the request it sends, and the incremental
 * parsers of the replies (probe_reply.c: a memcached `version` answer, an
 * HTTP/1.1 response with its body skipped).
 *
 * Kept in base, apart from rfd's sockets (src/rfd/probe.c), so the
 * protocol decoder (a bad URL is refused with a message naming what is
 * wrong), rfm and the unit tests use the very same checks.  Addresses are
 * numeric only: resolving a name could block rfd's loop.
 */
#ifndef RF_BASE_PROBE_H
#define RF_BASE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "base/err.h"

#define BASE_PROBE_URL_MAX  256   /* the whole URL, with its NUL */
#define BASE_PROBE_LINE_MAX 1024  /* a reply's status, header or chunk-size line */

enum base_probe_scheme { BASE_PROBE_MEMCACHED, BASE_PROBE_HTTP };

struct base_probe_url {
	enum base_probe_scheme scheme;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host[64];             /* as written (IPv6 with brackets), for Host: */
	uint16_t port;
	char path[BASE_PROBE_URL_MAX]; /* HTTP: "/" if none; memcached: "" */
};

/* Parse url; 0, or -1 with err (BASE_E_BAD_REQUEST, "probe: ..." naming
 * what is wrong).  Default ports: memcached 11211, http 80. */
int base_probe_url_parse(const char *url, struct base_probe_url *out, struct base_err *err);
/* The request the probe sends, into buf: its length, or -1 if it does not
 * fit.  memcached: "version\r\n"; HTTP: a GET with Host and keep-alive. */
int base_probe_request(const struct base_probe_url *u, char *buf, size_t len);

enum base_probe_rc { BASE_PROBE_MORE, BASE_PROBE_DONE, BASE_PROBE_BAD };

/* One reply being read; reset by base_probe_reply_init after each DONE. */
struct base_probe_reply {
	enum base_probe_scheme scheme;
	int state;                 /* probe_reply.c's */
	char line[BASE_PROBE_LINE_MAX];
	size_t line_len;
	uint64_t left;             /* body bytes still to skip */
	bool has_len, chunked;
	int status;                /* HTTP status code */
	/* Once DONE: */
	bool ok;                   /* HTTP 2xx/3xx; memcached VERSION */
	bool close;                /* the server closes after this reply */
};

void base_probe_reply_init(struct base_probe_reply *r, enum base_probe_scheme scheme);
/* Read up to len bytes of the stream; *used says how many were taken.
 * MORE: all taken, the reply is not whole yet; DONE: one reply ended
 * (r->ok, r->close), the rest of buf is the next one's; BAD: the stream is
 * not a reply (err says why) and the connection is useless. */
enum base_probe_rc base_probe_reply_feed(struct base_probe_reply *r, const char *buf, size_t len,
					 size_t *used, struct base_err *err);

#endif
