/*
 * test_client.c - the framing of the protocol client (src/base/client.c).
 *
 * The client talks to one end of a socketpair; the test (or a thread of
 * it, when the answer must arrive in pieces or is larger than the socket
 * buffer) plays rfd on the other.  Checks: the request is stamped with
 * version and id and the caller's object left alone, answers split over
 * several reads, two answers in one read, the line length limit (exactly
 * at it and one past it), end of file, garbage, a wrong id, no SIGPIPE,
 * and connecting to a real listening socket.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/client.h"

struct pair {
	struct base_client c;
	int peer; /* rfd's end */
};

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	int sv[2];
	if (!p || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	p->c.fd = sv[0];
	p->c.next_id = 1;
	p->peer = sv[1];
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;
	base_client_close(&p->c);
	if (p->peer >= 0)
		close(p->peer);
	free(p);
	return 0;
}

static void put(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void put_str(int fd, const char *s)
{
	put(fd, s, strlen(s));
}

/* Read one request line from the peer end and parse it. */
static struct json_object *get_request(int fd)
{
	char line[4096];
	size_t len = 0;
	while (len < sizeof(line) - 1 && read(fd, line + len, 1) == 1 && line[len] != '\n')
		len++;
	line[len] = '\0';
	return json_tokener_parse(line);
}

static struct json_object *verb_request(const char *verb)
{
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "verb", json_object_new_string(verb));
	return r;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };
	nanosleep(&ts, NULL);
}

/* A thread writing pieces to the peer end, with pauses between them. */
struct writer {
	int fd;
	const char *pieces[8];
	size_t big;           /* if set, write this many bytes of a long line */
	pthread_t tid;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	if (w->big) {
		char *buf = malloc(w->big);
		memset(buf, ' ', w->big);
		buf[0] = '{';
		buf[w->big - 2] = '}';
		buf[w->big - 1] = '\n';
		put(w->fd, buf, w->big);
		free(buf);
	}
	for (int i = 0; i < 8 && w->pieces[i]; i++) {
		sleep_ms(20);
		put_str(w->fd, w->pieces[i]);
	}
	return NULL;
}

static void test_stamps_request(void **state)
{
	struct pair *p = *state;
	struct json_object *req = verb_request("list"), *v;
	json_object_object_add(req, "id", json_object_new_int(99)); /* ours wins */
	put_str(p->peer, "{\"version\":1,\"id\":1,\"ok\":true,\"result\":{\"subos\":[]}}\n");
	struct json_object *ans = base_client_call(&p->c, req);
	assert_non_null(ans);
	assert_true(base_answer_ok(ans));
	assert_non_null(base_answer_result(ans));
	assert_string_equal(base_answer_error(ans), "");
	json_object_put(ans);

	struct json_object *sent = get_request(p->peer);
	assert_non_null(sent);
	assert_true(json_object_object_get_ex(sent, "version", &v));
	assert_int_equal(json_object_get_int(v), 1);
	assert_true(json_object_object_get_ex(sent, "id", &v));
	assert_int_equal(json_object_get_int(v), 1);
	assert_true(json_object_object_get_ex(sent, "verb", &v));
	assert_string_equal(json_object_get_string(v), "list");
	json_object_put(sent);
	/* the caller's object is not changed */
	assert_false(json_object_object_get_ex(req, "version", NULL));
	assert_true(json_object_object_get_ex(req, "id", &v));
	assert_int_equal(json_object_get_int(v), 99);
	assert_int_equal(p->c.next_id, 2);
	json_object_put(req);
}

static void test_partial_reads(void **state)
{
	struct pair *p = *state;
	struct writer w = { .fd = p->peer, .pieces = {
		"{\"version\":1,", "\"id\":1,\"ok\":false,\"error\":\"cores_busy\",",
		"\"message\":\"core 1 is owned\"}", "\n" } };
	assert_int_equal(pthread_create(&w.tid, NULL, writer_main, &w), 0);
	struct json_object *req = verb_request("show");
	struct json_object *ans = base_client_call(&p->c, req);
	pthread_join(w.tid, NULL);
	assert_non_null(ans);
	assert_false(base_answer_ok(ans));
	assert_string_equal(base_answer_error(ans), "cores_busy");
	assert_string_equal(base_answer_message(ans), "core 1 is owned");
	assert_null(base_answer_result(ans));
	assert_int_equal(p->c.len, 0);
	json_object_put(ans);
	json_object_put(req);
}

static void test_two_answers_one_read(void **state)
{
	struct pair *p = *state;
	struct json_object *req = verb_request("info"), *ans, *v;
	put_str(p->peer, "{\"id\":1,\"ok\":true,\"result\":{\"n\":1}}\n"
			 "{\"id\":2,\"ok\":true,\"result\":{\"n\":2}}\n{\"id\":3,");
	for (int i = 1; i <= 2; i++) {
		ans = base_client_call(&p->c, req);
		assert_non_null(ans);
		assert_true(json_object_object_get_ex(base_answer_result(ans), "n", &v));
		assert_int_equal(json_object_get_int(v), i);
		json_object_put(ans);
	}
	assert_int_equal(p->c.len, strlen("{\"id\":3,")); /* kept for the next call */
	put_str(p->peer, "\"ok\":true}\n");
	ans = base_client_call(&p->c, req);
	assert_non_null(ans);
	assert_true(base_answer_ok(ans));
	json_object_put(ans);
	json_object_put(req);
}

/* An answer line of exactly `len` bytes (without the newline). */
static char *answer_of_length(size_t len)
{
	const char *head = "{\"id\":1,\"ok\":true,\"pad\":\"";
	char *s = malloc(len + 2);
	memset(s, 'x', len);
	memcpy(s, head, strlen(head));
	s[len - 2] = '"';
	s[len - 1] = '}';
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}

static void test_line_at_limit(void **state)
{
	struct pair *p = *state;
	struct writer w = { .fd = p->peer };
	char *line = answer_of_length(RF_PROTO_MAX_LINE);
	w.pieces[0] = line;
	assert_int_equal(pthread_create(&w.tid, NULL, writer_main, &w), 0);
	struct json_object *req = verb_request("list");
	struct json_object *ans = base_client_call(&p->c, req);
	pthread_join(w.tid, NULL);
	assert_non_null(ans);
	assert_true(base_answer_ok(ans));
	json_object_put(ans);
	json_object_put(req);
	free(line);
}

static void check_refused(struct pair *p, struct writer *w)
{
	assert_int_equal(pthread_create(&w->tid, NULL, writer_main, w), 0);
	struct json_object *req = verb_request("list");
	errno = 0;
	struct json_object *ans = base_client_call(&p->c, req);
	int err = errno;
	pthread_join(w->tid, NULL); /* the client closed its end: the writer gets EPIPE */
	assert_null(ans);
	assert_int_equal(err, EMSGSIZE);
	assert_int_equal(p->c.fd, -1); /* closed: the stream is out of step */
	ans = base_client_call(&p->c, req);
	assert_null(ans);
	assert_int_equal(errno, ENOTCONN);
	json_object_put(req);
}

static void test_line_past_limit(void **state)
{
	struct pair *p = *state;
	struct writer w = { .fd = p->peer };
	char *line = answer_of_length(RF_PROTO_MAX_LINE + 1);
	w.pieces[0] = line;
	check_refused(p, &w);
	free(line);
}

static void test_oversized_no_newline(void **state)
{
	struct pair *p = *state;
	struct writer w = { .fd = p->peer, .big = 300000 };
	check_refused(p, &w);
}

static void test_eof(void **state)
{
	struct pair *p = *state;
	put_str(p->peer, "{\"id\":1,");
	shutdown(p->peer, SHUT_WR); /* rfd stops mid-answer, after reading */
	struct json_object *req = verb_request("list");
	assert_null(base_client_call(&p->c, req));
	assert_int_equal(errno, ECONNRESET);
	json_object_put(req);
}

static void test_garbage_then_good(void **state)
{
	struct pair *p = *state;
	struct json_object *req = verb_request("list"), *ans;
	put_str(p->peer, "not json\n[1,2]\n{\"id\":3} trailing\n{\"id\":4,\"ok\":true} \r\n");
	for (int i = 0; i < 3; i++) {
		assert_null(base_client_call(&p->c, req));
		assert_int_equal(errno, EBADMSG);
	}
	ans = base_client_call(&p->c, req); /* the connection is still usable */
	assert_non_null(ans);
	assert_true(base_answer_ok(ans));
	json_object_put(ans);
	json_object_put(req);
}

static void test_wrong_id(void **state)
{
	struct pair *p = *state;
	struct json_object *req = verb_request("list"), *ans;
	put_str(p->peer, "{\"id\":7,\"ok\":true}\n{\"ok\":false,\"error\":\"bad_request\"}\n");
	assert_null(base_client_call(&p->c, req));
	assert_int_equal(errno, EPROTO);
	ans = base_client_call(&p->c, req); /* no id: accepted */
	assert_non_null(ans);
	assert_string_equal(base_answer_error(ans), "bad_request");
	assert_string_equal(base_answer_message(ans), "");
	json_object_put(ans);
	json_object_put(req);
}

static void test_no_sigpipe(void **state)
{
	struct pair *p = *state;
	close(p->peer);
	p->peer = -1;
	struct json_object *req = verb_request("list");
	assert_null(base_client_call(&p->c, req)); /* SIGPIPE would kill the test */
	assert_true(errno == EPIPE || errno == ECONNRESET);
	json_object_put(req);
}

static void test_socket_path(void **state)
{
	unsetenv("RF_SOCKET");
	assert_string_equal(base_client_socket_path(NULL), RF_DEFAULT_SOCKET);
	assert_string_equal(base_client_socket_path(""), RF_DEFAULT_SOCKET);
	setenv("RF_SOCKET", "/tmp/env.sock", 1);
	assert_string_equal(base_client_socket_path(NULL), "/tmp/env.sock");
	assert_string_equal(base_client_socket_path("/x.sock"), "/x.sock");
	unsetenv("RF_SOCKET");
}

static void test_connect(void **state)
{
	char dir[] = "/tmp/rfclient.XXXXXX", path[64], longp[200];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct base_client c;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	assert_int_equal(base_client_connect(&c, path), -ENOENT);
	assert_int_equal(c.fd, -1);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(base_client_connect(&c, longp), -ENAMETOOLONG);

	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(base_client_connect(&c, path), 0);
	int sfd = accept(lfd, NULL, NULL);
	assert_true(sfd >= 0);
	put_str(sfd, "{\"version\":1,\"id\":1,\"ok\":true,\"result\":{}}\n");
	struct json_object *req = verb_request("info");
	struct json_object *ans = base_client_call(&c, req);
	assert_non_null(ans);
	assert_true(base_answer_ok(ans));
	json_object_put(ans);
	json_object_put(req);
	base_client_close(&c);
	assert_int_equal(c.fd, -1);
	base_client_close(&c); /* twice is harmless */
	close(sfd);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_stamps_request),     T(test_partial_reads),   T(test_two_answers_one_read),
		T(test_line_at_limit),      T(test_line_past_limit), T(test_oversized_no_newline),
		T(test_eof),                T(test_garbage_then_good), T(test_wrong_id),
		T(test_no_sigpipe),         cmocka_unit_test(test_socket_path),
		cmocka_unit_test(test_connect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
