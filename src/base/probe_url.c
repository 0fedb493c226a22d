/*
 * probe_url.c - the probe URL and the request it makes (see probe.h).
 *
 * Strict on purpose: whatever passes here is what rfd connects to, many
 * times a second, for as long as the subOS lives, so a typo must be told
 * at once ("probe: port 99999 is not 1-65535") rather than read later as a
 * slow service.  Names are refused: rfd's loop must not wait for DNS.
 */
#define _GNU_SOURCE
#include "base/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(struct base_err *err, const char *url, const char *what)
{
	return base_errf(err, BASE_E_BAD_REQUEST, "probe \"%.64s\": %s", url, what);
}

/* The scheme; *rest points past "://". */
static int scheme_of(const char *url, struct base_probe_url *u, const char **rest,
		     struct base_err *err)
{
	static const struct { const char *p; enum base_probe_scheme s; uint16_t port; } k[] = {
		{ "memcached://", BASE_PROBE_MEMCACHED, 11211 }, { "http://", BASE_PROBE_HTTP, 80 },
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (strncmp(url, k[i].p, strlen(k[i].p)) == 0) {
			u->scheme = k[i].s;
			u->port = k[i].port;
			*rest = url + strlen(k[i].p);
			return 0;
		}
	return bad(err, url, "not memcached://ADDR:PORT or http://ADDR:PORT/PATH "
		   "(https is not probed)");
}

/* "ADDR" or "[V6]" of len n into a socket address (numeric only). */
static int address(const char *url, const char *h, size_t n, struct base_probe_url *u,
		   struct base_err *err)
{
	char ip[64];
	bool v6 = n >= 1 && h[0] == '[';
	if (n == 0)
		return bad(err, url, "no address");
	if (v6 && (n < 2 || h[n - 1] != ']'))
		return bad(err, url, "not an IPv6 address in brackets");
	if (n >= sizeof(u->host) || n >= sizeof(ip) + 2)
		return bad(err, url, "the address is too long");
	memcpy(u->host, h, n);
	u->host[n] = '\0';
	snprintf(ip, sizeof(ip), "%.*s", v6 ? (int)n - 2 : (int)n, v6 ? h + 1 : h);
	if (strcmp(ip, "localhost") == 0)
		snprintf(ip, sizeof(ip), "127.0.0.1");
	struct sockaddr_in *a4 = (struct sockaddr_in *)&u->addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&u->addr;
	memset(&u->addr, 0, sizeof(u->addr));
	if (!v6 && inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		u->addrlen = sizeof(*a4);
		return 0;
	}
	if (v6 && inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		u->addrlen = sizeof(*a6);
		return 0;
	}
	return bad(err, url, v6 ? "not an IPv6 address in brackets"
				: "the address is not numeric (an IPv4 address, [IPv6] or "
				  "localhost: rfd does not resolve names)");
}

static int port_of(const char *url, const char *p, size_t n, struct base_probe_url *u,
		   struct base_err *err)
{
	char buf[8], *end;
	if (n == 0 || n >= sizeof(buf))
		return bad(err, url, "the port is not a number from 1 to 65535");
	memcpy(buf, p, n);
	buf[n] = '\0';
	long v = strtol(buf, &end, 10);
	if (*end || buf[0] < '0' || buf[0] > '9' || v < 1 || v > 65535)
		return bad(err, url, "the port is not a number from 1 to 65535");
	u->port = (uint16_t)v;
	return 0;
}

/* HTTP's path: visible ASCII only (it goes into the request line as is). */
static int path_of(const char *url, const char *p, struct base_probe_url *u,
		   struct base_err *err)
{
	if (u->scheme == BASE_PROBE_MEMCACHED) {
		if (*p && strcmp(p, "/"))
			return bad(err, url, "a memcached probe takes no path");
		u->path[0] = '\0';
		return 0;
	}
	if (!*p)
		p = "/";
	for (const char *c = p; *c; c++)
		if (*c <= ' ' || *c >= 127 || *c == '#')
			return bad(err, url, "the path has a blank, a control character, '#' or a "
				   "non-ASCII byte (percent-encode it)");
	snprintf(u->path, sizeof(u->path), "%s", p);
	return 0;
}

int base_probe_url_parse(const char *url, struct base_probe_url *out, struct base_err *err)
{
	struct base_probe_url u = { 0 };
	const char *rest = url, *slash, *colon;
	if (strlen(url) >= BASE_PROBE_URL_MAX)
		return bad(err, url, "longer than 255 characters");
	if (scheme_of(url, &u, &rest, err))
		return -1;
	if (strchr(rest, '@'))
		return bad(err, url, "user information (@) is not probed");
	slash = strchr(rest, '/');
	size_t hostport = slash ? (size_t)(slash - rest) : strlen(rest);
	colon = memrchr(rest, ':', hostport);
	if (colon && memchr(colon, ']', (size_t)(rest + hostport - colon)))
		colon = NULL; /* the ':' was inside [IPv6] */
	size_t hlen = colon ? (size_t)(colon - rest) : hostport;
	if (address(url, rest, hlen, &u, err) ||
	    (colon && port_of(url, colon + 1, hostport - hlen - 1, &u, err)) ||
	    path_of(url, slash ? slash : "", &u, err))
		return -1;
	if (u.addr.ss_family == AF_INET)
		((struct sockaddr_in *)&u.addr)->sin_port = htons(u.port);
	else
		((struct sockaddr_in6 *)&u.addr)->sin6_port = htons(u.port);
	*out = u;
	return 0;
}

int base_probe_request(const struct base_probe_url *u, char *buf, size_t len)
{
	int n;
	if (u->scheme == BASE_PROBE_MEMCACHED)
		n = snprintf(buf, len, "version\r\n");
	else
		n = snprintf(buf, len, "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: rfd-probe\r\n"
			     "Accept: */*\r\nConnection: keep-alive\r\n\r\n", u->path, u->host,
			     (unsigned)u->port);
	return n < 0 || (size_t)n >= len ? -1 : n;
}
