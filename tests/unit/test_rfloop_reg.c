/*
 * test_rfloop_reg.c - the RFloop registry (src/rfd/rfloop_reg.c, the
 * table of src/base/rfloop_table.h, the kernel checks of
 * src/base/sockdiag.c).
 *
 * Covers: what counts as proof of a listener (a listening TCP socket: yes;
 * bound but not listening, connected, UDP, Unix, a file, SO_REUSEPORT: no)
 * and of a rendezvous (an autobound Unix datagram socket: yes; unbound,
 * path-bound, stream: no); where an entry goes (a free way, its own
 * earlier entry, a dead listener's; never over a live listener of the same
 * address, never a third address on a port); the entry's sequence count
 * and what an entry serves; the two verbs end to end (the table comes
 * sealed: no writable mapping, no write, no truncation; a registered
 * listener shows in it); the kernel's answers (a listener's cookie at its
 * address, not another's; a connected datagram socket's peer); and that
 * rfd's codec reads librfloop's hand-written requests as the two verbs.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rfd/rfloop_reg.h"
#include "base/sockdiag.h"

/* A TCP (or UDP) socket on 127.0.0.1, ephemeral port, listening or not. */
static int inet_sock(int type, bool listening, int opt)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int one = 1, s = socket(AF_INET, type, 0);
	assert_true(s >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (opt)
		assert_int_equal(setsockopt(s, SOL_SOCKET, opt, &one, sizeof(one)), 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	if (listening)
		assert_int_equal(listen(s, 4), 0);
	return s;
}

static uint16_t port_of(int s)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
	return ntohs(a.sin_port);
}

static int autobound(int type)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, type, 0);
	assert_int_equal(bind(s, (struct sockaddr *)&un, sizeof(sa_family_t)), 0);
	return s;
}

static void refused_tcp(int fd)
{
	struct base_rfl_entry e = { 0 };
	struct base_err err = { 0 };
	assert_int_equal(rfd_rfloop_check_tcp(fd, &e, &err), -1);
	assert_int_equal(err.code, BASE_E_PERMISSION_DENIED);
	close(fd);
}

static void test_check_tcp(void **state)
{
	struct base_rfl_entry e = { 0 };
	struct base_err err = { 0 };
	int l = inet_sock(SOCK_STREAM, true, 0);

	assert_int_equal(rfd_rfloop_check_tcp(l, &e, &err), 0);
	assert_int_equal(e.family, AF_INET);
	assert_int_equal(e.port, port_of(l));
	assert_int_equal(e.addr[0], 127);
	assert_false(e.any);
	assert_true(e.tcp_cookie != 0);

	/* a client connected to it: a socket on a port, not a listener */
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(e.port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	refused_tcp(c);
	refused_tcp(inet_sock(SOCK_STREAM, false, 0));
	refused_tcp(inet_sock(SOCK_DGRAM, false, 0));
	refused_tcp(inet_sock(SOCK_STREAM, true, SO_REUSEPORT));
	refused_tcp(autobound(SOCK_STREAM));
	refused_tcp(open("/dev/null", O_RDONLY));
	close(l);
}

static void test_check_bell(void **state)
{
	struct base_rfl_entry e = { 0 };
	struct base_err err = { 0 };
	struct stat st;
	int b = autobound(SOCK_DGRAM);

	assert_int_equal(rfd_rfloop_check_bell(b, &e, &err), 0);
	assert_int_equal(e.bell_len, 5);   /* the kernel's autobind: 5 hex digits */
	assert_int_equal(fstat(b, &st), 0);
	assert_true(e.bell_ino == st.st_ino);
	close(b);

	int bad[3] = { socket(AF_UNIX, SOCK_DGRAM, 0), autobound(SOCK_STREAM), -1 };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	snprintf(un.sun_path, sizeof(un.sun_path), "/tmp/rfloop-test-%d", (int)getpid());
	bad[2] = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(bind(bad[2], (struct sockaddr *)&un, sizeof(un)), 0);
	unlink(un.sun_path);
	for (int i = 0; i < 3; i++) {
		err.code = BASE_E_OK;
		assert_int_equal(rfd_rfloop_check_bell(bad[i], &e, &err), -1);
		assert_int_equal(err.code, BASE_E_PERMISSION_DENIED);
		close(bad[i]);
	}
}

/* ---- placement, with a made-up notion of live ---------------------------- */

static bool live_set(const struct base_rfl_entry *x, void *ctx)
{
	const uint64_t *alive = ctx;   /* cookies alive, 0-terminated */
	for (; *alive; alive++)
		if (*alive == x->tcp_cookie)
			return true;
	return false;
}

static struct base_rfl_entry entry(uint8_t last, uint64_t cookie)
{
	struct base_rfl_entry e = { .family = AF_INET, .port = 4242, .tcp_cookie = cookie };
	e.addr[0] = 127;
	e.addr[3] = last;
	e.any = last == 0;
	if (e.any)
		e.addr[0] = 0;
	return e;
}

static void test_place(void **state)
{
	struct base_rfl_table *t = calloc(1, sizeof(*t));
	struct base_err err = { 0 };
	uint64_t alive[4] = { 0 };
	struct base_rfl_entry a = entry(1, 11), b = entry(2, 22), c = entry(3, 33);
	struct base_rfl_entry any = entry(0, 44), a2 = entry(1, 55);

	assert_non_null(t);
	assert_int_equal(rfd_rfloop_place(t, &a, live_set, alive, &err), 0);
	rfd_rfloop_store(t, 0, &a);
	alive[0] = 11;
	assert_int_equal(rfd_rfloop_place(t, &a, live_set, alive, &err), 0);   /* itself again */
	assert_int_equal(rfd_rfloop_place(t, &a2, live_set, alive, &err), -1); /* same address */
	assert_int_equal(err.code, BASE_E_PERMISSION_DENIED);
	assert_int_equal(rfd_rfloop_place(t, &any, live_set, alive, &err), -1); /* wildcard */
	assert_int_equal(rfd_rfloop_place(t, &b, live_set, alive, &err), 1);   /* other address */
	rfd_rfloop_store(t, 1, &b);
	alive[1] = 22;
	assert_int_equal(rfd_rfloop_place(t, &c, live_set, alive, &err), -1);  /* a third one */
	alive[0] = 22;
	alive[1] = 0;   /* a's listener is gone: its way is free again */
	assert_int_equal(rfd_rfloop_place(t, &a2, live_set, alive, &err), 0);
	struct base_rfl_entry v6 = any;
	v6.family = AF_INET6;   /* a v6 wildcard does not take v4's connections */
	assert_int_equal(rfd_rfloop_place(t, &v6, live_set, alive, &err), 0);
	free(t);
}

static void test_store_read_serves(void **state)
{
	struct base_rfl_table *t = calloc(1, sizeof(*t));
	struct base_rfl_entry a = entry(1, 11), any = entry(0, 44), out;
	uint8_t lo1[16] = { 127, 0, 0, 1 }, lo2[16] = { 127, 0, 0, 2 };

	assert_non_null(t);
	assert_false(base_rfl_entry_read(&t->e[4242][0], &out));   /* free */
	rfd_rfloop_store(t, 0, &a);
	assert_int_equal(atomic_load(&t->e[4242][0].seq), 2);
	assert_true(base_rfl_entry_read(&t->e[4242][0], &out));
	assert_true(out.tcp_cookie == 11);
	assert_true(base_rfl_entry_serves(&out, AF_INET, lo1));
	assert_false(base_rfl_entry_serves(&out, AF_INET, lo2));
	assert_false(base_rfl_entry_serves(&out, AF_INET6, lo1));
	assert_true(base_rfl_entry_serves(&any, AF_INET, lo2));
	atomic_store(&t->e[4242][0].seq, 3);   /* being written: not read */
	assert_false(base_rfl_entry_read(&t->e[4242][0], &out));
	free(t);
}

/* ---- the verbs, end to end -------------------------------------------------- */

static const struct base_rfl_table *get_table(int *fd)
{
	struct base_request req;
	struct base_err err = { 0 };
	base_request_init(&req, RF_VERB_RFLOOP_TABLE);
	struct json_object *r = rfd_rfloop_verb(&req, NULL, 0, fd, &err);
	assert_non_null(r);
	json_object_put(r);
	assert_true(*fd >= 0);
	/* sealed: nobody but rfd writes it */
	assert_true(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0) == MAP_FAILED);
	assert_true(pwrite(*fd, "x", 1, 0) < 0);
	assert_true(ftruncate(*fd, 0) < 0);
	void *m = mmap(NULL, sizeof(struct base_rfl_table), PROT_READ, MAP_SHARED, *fd, 0);
	assert_true(m != MAP_FAILED);
	return m;
}

static void test_verbs(void **state)
{
	struct base_request req;
	struct base_err err = { 0 };
	struct base_rfl_entry out;
	int tfd = -1, pass = -1;
	const struct base_rfl_table *t = get_table(&tfd);
	int l = inet_sock(SOCK_STREAM, true, 0), b = autobound(SOCK_DGRAM);
	int fds[2] = { l, b };
	uint16_t port = port_of(l);

	assert_int_equal(t->magic, BASE_RFL_MAGIC);
	base_request_init(&req, RF_VERB_RFLOOP_LISTEN);
	assert_null(rfd_rfloop_verb(&req, fds, 1, &pass, &err));
	assert_int_equal(err.code, BASE_E_BAD_REQUEST);
	struct json_object *r = rfd_rfloop_verb(&req, fds, 2, &pass, &err);
	assert_non_null(r);
	json_object_put(r);
	assert_int_equal(pass, -1);
	assert_true(base_rfl_entry_read(&t->e[port][0], &out));   /* seen through the memfd */
	assert_int_equal(out.port, port);

	/* a second rendezvous for the same listener replaces the first */
	int b2 = autobound(SOCK_DGRAM);
	fds[1] = b2;
	r = rfd_rfloop_verb(&req, fds, 2, &pass, &err);
	assert_non_null(r);
	json_object_put(r);
	struct stat st;
	assert_int_equal(fstat(b2, &st), 0);
	assert_true(base_rfl_entry_read(&t->e[port][0], &out) && out.bell_ino == st.st_ino);
	munmap((void *)t, sizeof(*t));
	close(tfd);
	close(l);
	close(b);
	close(b2);
}

/* ---- the kernel's answers ---------------------------------------------------------- */

static void test_sockdiag(void **state)
{
	int nl = base_sockdiag_open(), l = inet_sock(SOCK_STREAM, true, 0);
	uint8_t lo[4] = { 127, 0, 0, 1 }, any[4] = { 0 };
	uint64_t cookie = 0, peer = 0;
	socklen_t cl = sizeof(cookie);

	assert_true(nl >= 0);
	assert_int_equal(getsockopt(l, SOL_SOCKET, SO_COOKIE, &cookie, &cl), 0);
	assert_int_equal(base_sockdiag_tcp_listener_is(nl, AF_INET, lo, port_of(l), cookie), 1);
	assert_int_equal(base_sockdiag_tcp_listener_is(nl, AF_INET, lo, port_of(l), cookie + 1), 0);
	assert_int_equal(base_sockdiag_tcp_listener_is(nl, AF_INET, any, port_of(l), cookie), 0);
	uint16_t port = port_of(l);
	close(l);
	assert_int_equal(base_sockdiag_tcp_listener_is(nl, AF_INET, lo, port, cookie), 0);

	int b = autobound(SOCK_DGRAM), c = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un un;
	socklen_t ul = sizeof(un);
	struct stat sb, sc;
	assert_int_equal(getsockname(b, (struct sockaddr *)&un, &ul), 0);
	assert_int_equal(connect(c, (struct sockaddr *)&un, ul), 0);
	assert_int_equal(fstat(b, &sb), 0);
	assert_int_equal(fstat(c, &sc), 0);
	assert_int_equal(base_sockdiag_unix_peer(nl, sc.st_ino, &peer), 0);
	assert_true(peer == sb.st_ino);
	assert_true(base_sockdiag_unix_peer(nl, sb.st_ino, &peer) < 0);   /* b has no peer */
	close(b);
	close(c);
	close(nl);
}

/* librfloop's hand-written requests are what rfd's codec reads. */
static void test_requests_parse(void **state)
{
	static const struct {
		const char *line;
		enum base_verb verb;
	} reqs[] = {
		{ BASE_RFL_REQ_LISTEN, RF_VERB_RFLOOP_LISTEN },
		{ BASE_RFL_REQ_TABLE, RF_VERB_RFLOOP_TABLE },
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct base_request req;
		struct base_err err;
		size_t len = strlen(reqs[i].line);
		assert_int_equal(reqs[i].line[len - 1], '\n');
		assert_int_equal(base_proto_parse(reqs[i].line, len - 1, &req, &err), 0);
		assert_int_equal(req.verb, reqs[i].verb);
		base_request_free(&req);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_tcp),
		cmocka_unit_test(test_check_bell),
		cmocka_unit_test(test_place),
		cmocka_unit_test(test_store_read_serves),
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_sockdiag),
		cmocka_unit_test(test_requests_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
