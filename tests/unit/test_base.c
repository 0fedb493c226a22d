/*
 * test_base.c - the small helpers of src/base that every layer shares.
 *
 * Covers: fdpass (one descriptor and several over a socketpair, the bytes
 * with them, close-on-exec on what arrives, surplus descriptors closed, a
 * message without descriptors, the kernel's limit passed whole and one more
 * refused); exitstatus (a wait status as the int,
 * and int -> JSON fields -> int for a code, a signal and an unknown end,
 * with the field names other programs read); the "timing_us" object from
 * step marks; rounding sizes up to whole chunks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/exitstatus.h"
#include "base/fdpass.h"
#include "base/timing.h"
#include "base/units.h"

static int sp[2];

static int setup_pair(void **state)
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
}

static int teardown_pair(void **state)
{
	close(sp[0]);
	close(sp[1]);
	return 0;
}

static void assert_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	assert_true(fl >= 0);
	assert_true(fl & FD_CLOEXEC);
}

/* True once every write end of the pipe is closed: a reader sees EOF. */
static bool pipe_orphaned(int rd)
{
	fcntl(rd, F_SETFL, O_NONBLOCK);
	char c;
	return read(rd, &c, 1) == 0;
}

static void test_fdpass_one(void **state)
{
	int p[2], got = -2;
	char buf[8] = "";
	assert_int_equal(pipe(p), 0);
	assert_int_equal(base_send_fd(sp[0], "hi", 2, p[1], 0), 2);
	close(p[1]);
	assert_int_equal(base_recv_fd(sp[1], buf, sizeof(buf), &got, 0), 2);
	assert_memory_equal(buf, "hi", 2);
	assert_true(got >= 0);
	assert_cloexec(got);
	/* It is the pipe's write end: what goes in comes out of p[0]. */
	assert_int_equal(write(got, "z", 1), 1);
	assert_int_equal(read(p[0], buf, 1), 1);
	assert_int_equal(buf[0], 'z');
	close(got);
	assert_true(pipe_orphaned(p[0]));
	close(p[0]);
}

static void test_fdpass_several(void **state)
{
	int p[2], fds[3], got[3] = { -1, -1, -1 }, n = -1;
	struct stat want, st;
	char c;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fstat(p[0], &want), 0);
	for (int i = 0; i < 3; i++)
		fds[i] = p[0];
	assert_int_equal(base_send_fds(sp[0], "x", 1, fds, 3, 0), 1);
	assert_int_equal(base_recv_fds(sp[1], &c, 1, got, 3, &n, 0), 1);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		assert_cloexec(got[i]);
		assert_int_equal(fstat(got[i], &st), 0);
		assert_true(st.st_ino == want.st_ino && st.st_dev == want.st_dev);
		close(got[i]);
	}
	close(p[0]);
	close(p[1]);
}

static void test_fdpass_surplus_closed(void **state)
{
	int p[2], fds[4], got[4] = { -7, -7, -7, -7 }, n = -1;
	char c;
	assert_int_equal(pipe(p), 0);
	for (int i = 0; i < 4; i++)
		fds[i] = p[1];
	assert_int_equal(base_send_fds(sp[0], "x", 1, fds, 4, 0), 1);
	close(p[1]);
	assert_int_equal(base_recv_fds(sp[1], &c, 1, got, 2, &n, 0), 1);
	assert_int_equal(n, 2);
	assert_int_equal(got[2], -7); /* beyond maxfds: left alone */
	assert_int_equal(got[3], -7);
	assert_false(pipe_orphaned(p[0])); /* the two kept ones still hold it */
	close(got[0]);
	close(got[1]);
	assert_true(pipe_orphaned(p[0])); /* so the surplus two were closed */
	close(p[0]);
}

/* As many as the kernel passes in one message (a spare's program takes
 * up to 250), and one more refused whole rather than cut. */
static void test_fdpass_limit(void **state)
{
	static int fds[BASE_FDPASS_LIMIT + 1], got[BASE_FDPASS_LIMIT];
	int p[2], n = -1;
	char c;
	assert_int_equal(pipe(p), 0);
	for (int i = 0; i <= BASE_FDPASS_LIMIT; i++)
		fds[i] = p[1];
	errno = 0;
	assert_int_equal(base_send_fds(sp[0], "x", 1, fds, BASE_FDPASS_LIMIT + 1, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(base_send_fds(sp[0], "z", 1, fds, BASE_FDPASS_LIMIT, 0), 1);
	close(p[1]);
	assert_int_equal(base_recv_fds(sp[1], &c, 1, got, BASE_FDPASS_LIMIT, &n, 0), 1);
	assert_int_equal(c, 'z');
	assert_int_equal(n, BASE_FDPASS_LIMIT);
	for (int i = 0; i < n; i++)
		close(got[i]);
	assert_true(pipe_orphaned(p[0]));
	close(p[0]);
}

static void test_fdpass_none(void **state)
{
	int got = 5;
	char c;
	assert_int_equal(base_send_fd(sp[0], "y", 1, -1, 0), 1);
	assert_int_equal(base_recv_fd(sp[1], &c, 1, &got, 0), 1);
	assert_int_equal(c, 'y');
	assert_int_equal(got, -1);
}

/* status -> fields -> status; the fields are compared as text. */
static void round_trip(int status, const char *json)
{
	struct json_object *o = json_object_new_object();
	base_exit_status_to_json(o, status);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), json);
	assert_int_equal(base_exit_status_from_json(o), status);
	json_object_put(o);
}

static void test_exit_status_json(void **state)
{
	round_trip(0, "{\"exit_code\":0}");
	round_trip(3, "{\"exit_code\":3}");
	round_trip(-9, "{\"signal\":9}");
	round_trip(BASE_EXIT_UNKNOWN, "{\"exit_code\":null}");
	/* Nothing said, or not a number: unknown. */
	struct json_object *o = json_tokener_parse("{\"state\":\"exited\",\"signal\":\"9\"}");
	assert_int_equal(base_exit_status_from_json(o), BASE_EXIT_UNKNOWN);
	json_object_put(o);
}

static void test_exit_status_of_wait(void **state)
{
	pid_t pid = fork();
	int st;
	if (pid == 0)
		_exit(7);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(base_exit_status_of_wait(st), 7);
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(base_exit_status_of_wait(st), -SIGKILL);
}

static void test_timing_us(void **state)
{
	static const char *const steps[] = { "setup", "spawn", "journal" };
	const uint64_t marks[] = { 5000, 7999, 7999, 1007999 };
	uint64_t us[3];
	struct json_object *o = json_object_new_object();
	base_steps_us(marks, 3, us);
	base_timing_us_add(o, steps, us, 3);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			    "{\"timing_us\":{\"setup\":2,\"spawn\":0,\"journal\":1000}}");
	json_object_put(o);
}

static void test_round_up(void **state)
{
	const uint64_t M64 = 64ull << 20;
	assert_true(base_round_up(0, M64) == 0);
	assert_true(base_round_up(1, M64) == M64);
	assert_true(base_round_up(M64, M64) == M64);
	assert_true(base_round_up(M64 + 1, M64) == 2 * M64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fdpass_one, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_fdpass_several, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_fdpass_surplus_closed, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_fdpass_none, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_fdpass_limit, setup_pair, teardown_pair),
		cmocka_unit_test(test_exit_status_json),
		cmocka_unit_test(test_exit_status_of_wait),
		cmocka_unit_test(test_timing_us),
		cmocka_unit_test(test_round_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
