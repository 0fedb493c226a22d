/*
 * test_probe.c - the probe's parts without I/O (src/base/probe_url.c,
 * probe_reply.c): URLs accepted (IPv4, [IPv6], localhost, default ports and
 * paths) and refused with a message naming what is wrong (scheme, name,
 * port, path, length); the request text; memcached and HTTP replies fed
 * whole, byte by byte and pipelined (Content-Length, chunked, 1xx, 204,
 * Connection: close, HTTP/1.0), failed replies (ERROR, 503) and streams
 * that are no reply at all.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/probe.h"

static void test_url_ok(void **state)
{
	struct base_probe_url u;
	struct base_err err;
	assert_int_equal(base_probe_url_parse("memcached://127.0.0.1:11311", &u, &err), 0);
	assert_int_equal(u.scheme, BASE_PROBE_MEMCACHED);
	assert_int_equal(u.port, 11311);
	assert_int_equal(u.addr.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&u.addr)->sin_port), 11311);
	assert_int_equal(base_probe_url_parse("memcached://localhost", &u, &err), 0);
	assert_int_equal(u.port, 11211);
	assert_int_equal(base_probe_url_parse("http://[::1]:8080/health?x=1", &u, &err), 0);
	assert_int_equal(u.scheme, BASE_PROBE_HTTP);
	assert_int_equal(u.addr.ss_family, AF_INET6);
	assert_int_equal(u.port, 8080);
	assert_string_equal(u.path, "/health?x=1");
	assert_string_equal(u.host, "[::1]");
	assert_int_equal(base_probe_url_parse("http://10.0.0.1", &u, &err), 0);
	assert_int_equal(u.port, 80);
	assert_string_equal(u.path, "/");
}

static void refused(const char *url, const char *says)
{
	struct base_probe_url u;
	struct base_err err = { 0 };
	assert_int_equal(base_probe_url_parse(url, &u, &err), -1);
	assert_int_equal(err.code, BASE_E_BAD_REQUEST);
	if (!strstr(err.msg, says))
		fail_msg("%s: \"%s\" does not say \"%s\"", url, err.msg, says);
}

static void test_url_bad(void **state)
{
	refused("https://127.0.0.1/", "not memcached://ADDR:PORT or http://ADDR:PORT/PATH");
	refused("memcache://127.0.0.1", "not memcached://");
	refused("memcached://example.com:11211", "rfd does not resolve names");
	refused("memcached://:11211", "no address");
	refused("memcached://127.0.0.1:99999", "port is not a number from 1 to 65535");
	refused("memcached://127.0.0.1:", "port");
	refused("memcached://127.0.0.1:12ab", "port");
	refused("memcached://127.0.0.1:11211/x", "takes no path");
	refused("http://127.0.0.1/a b", "the path has a blank");
	refused("http://[::1/", "not an IPv6 address");
	refused("http://u@127.0.0.1/", "user information");
	char longurl[400];
	memset(longurl, 'a', sizeof(longurl) - 1);
	memcpy(longurl, "http://1.2.3.4/", 15);
	longurl[sizeof(longurl) - 1] = '\0';
	refused(longurl, "longer than 255");
}

static void test_request(void **state)
{
	struct base_probe_url u;
	struct base_err err;
	char buf[512];
	assert_int_equal(base_probe_url_parse("memcached://127.0.0.1:1", &u, &err), 0);
	assert_int_equal(base_probe_request(&u, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "version\r\n");
	assert_int_equal(base_probe_url_parse("http://127.0.0.1:8080/ping", &u, &err), 0);
	assert_true(base_probe_request(&u, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "GET /ping HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\n"));
	assert_int_equal(base_probe_request(&u, buf, 10), -1);
}

/* Feed text in steps of `step` bytes; how many replies ended, and whether
 * the last one was ok / asked to close; -1 on BAD (err kept). */
static int feed(enum base_probe_scheme sch, const char *text, size_t step, bool *ok, bool *close,
		struct base_err *err)
{
	struct base_probe_reply r;
	size_t len = strlen(text), off = 0, used;
	int done = 0;
	base_probe_reply_init(&r, sch);
	while (off < len) {
		size_t n = len - off < step ? len - off : step;
		enum base_probe_rc rc = base_probe_reply_feed(&r, text + off, n, &used, err);
		assert_true(used <= n);
		off += used;
		if (rc == BASE_PROBE_BAD)
			return -1;
		if (rc == BASE_PROBE_DONE) {
			done++;
			*ok = r.ok;
			*close = r.close;
			base_probe_reply_init(&r, sch);
		}
	}
	return done;
}

static void each_step(enum base_probe_scheme sch, const char *text, int replies, bool ok,
		      bool close)
{
	static const size_t steps[] = { 1, 2, 7, 4096 };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		bool o = !ok, c = !close;
		struct base_err err = { 0 };
		int n = feed(sch, text, steps[i], &o, &c, &err);
		if (n != replies || o != ok || c != close)
			fail_msg("step %zu: %d replies ok %d close %d (%s) for %s", steps[i], n, o, c,
				 err.msg, text);
	}
}

static void test_memcached_replies(void **state)
{
	each_step(BASE_PROBE_MEMCACHED, "VERSION 1.6.18\r\n", 1, true, false);
	each_step(BASE_PROBE_MEMCACHED, "VERSION 1\r\nVERSION 1\r\nVERSION 1\n", 3, true, false);
	each_step(BASE_PROBE_MEMCACHED, "VERSION 1\r\nSERVER_ERROR out of memory\r\n", 2, false,
		  false);
	each_step(BASE_PROBE_MEMCACHED, "ERROR\r\n", 1, false, false);
}

static void test_http_replies(void **state)
{
	each_step(BASE_PROBE_HTTP, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 1, true,
		  false);
	each_step(BASE_PROBE_HTTP,
		  "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhiHTTP/1.1 301 Moved\r\n"
		  "Content-Length: 0\r\n\r\n", 2, true, false);
	each_step(BASE_PROBE_HTTP,
		  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
		  "a;x=y\r\n0123456789\r\n0\r\nTrailer: t\r\n\r\n", 1, true, false);
	each_step(BASE_PROBE_HTTP, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		  1, true, false);
	each_step(BASE_PROBE_HTTP, "HTTP/1.1 503 Busy\r\nContent-Length: 1\r\n\r\nx", 1, false,
		  false);
	each_step(BASE_PROBE_HTTP, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
		  1, true, true);
	each_step(BASE_PROBE_HTTP, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 1, true, true);
	each_step(BASE_PROBE_HTTP,
		  "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 1, true,
		  false);
}

static void bad_stream(enum base_probe_scheme sch, const char *text, const char *says)
{
	bool ok, close;
	struct base_err err = { 0 };
	assert_int_equal(feed(sch, text, 3, &ok, &close, &err), -1);
	if (!strstr(err.msg, says))
		fail_msg("\"%s\" does not say \"%s\"", err.msg, says);
}

static void test_bad_replies(void **state)
{
	char longline[1100];
	bad_stream(BASE_PROBE_MEMCACHED, "VALUE k 0 1\r\n", "not a memcached reply to version");
	bad_stream(BASE_PROBE_HTTP, "SSH-2.0-OpenSSH\r\n", "not an HTTP/1.x status line");
	bad_stream(BASE_PROBE_HTTP, "HTTP/2 200\r\n", "not an HTTP/1.x status line");
	bad_stream(BASE_PROBE_HTTP, "HTTP/1.1 200 OK\r\n\r\n", "without Content-Length");
	bad_stream(BASE_PROBE_HTTP, "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
		   "bad Content-Length");
	bad_stream(BASE_PROBE_HTTP, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		   "not a chunk size");
	bad_stream(BASE_PROBE_HTTP,
		   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
		   "no CRLF after a chunk");
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	bad_stream(BASE_PROBE_MEMCACHED, longline, "longer than 1023");
	struct base_probe_reply r;
	struct base_err err;
	size_t used;
	base_probe_reply_init(&r, BASE_PROBE_MEMCACHED);
	assert_int_equal(base_probe_reply_feed(&r, "VER\0SION\r\n", 10, &used, &err),
			 BASE_PROBE_BAD);
	assert_non_null(strstr(err.msg, "NUL"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_ok),          cmocka_unit_test(test_url_bad),
		cmocka_unit_test(test_request),         cmocka_unit_test(test_memcached_replies),
		cmocka_unit_test(test_http_replies),    cmocka_unit_test(test_bad_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
