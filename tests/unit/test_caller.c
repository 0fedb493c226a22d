/*
 * test_caller.c - placing a control connection's peer (src/rfd/caller.c)
 * on real sockets, for the cases that need no subOS: a live host process
 * is the host; a peer that exited before rfd looked, or one in a PID
 * namespace that is neither rfd's nor a subOS's, is unknown, never the
 * host (a subOS could otherwise shed its limits by racing rfd's accept).
 * Which subOS a caller is in is tests/integration/42-escape-authority.sh.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "rfd/rfd.h"
#include "rfd/caller.h"

static struct rfd d; /* no subOS, an instance nobody is in */

struct pair {
	int lfd;
	struct sockaddr_un sa;
};

static void listen_on(struct pair *p)
{
	p->sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	snprintf(p->sa.sun_path, sizeof(p->sa.sun_path), "/tmp/rf-test-caller.%d", (int)getpid());
	unlink(p->sa.sun_path);
	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->lfd >= 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&p->sa, sizeof(p->sa)), 0);
	assert_int_equal(listen(p->lfd, 4), 0);
	snprintf(d.instance, sizeof(d.instance), "rf.unittest");
}

static int dial(const struct pair *p)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&p->sa, sizeof(p->sa)) < 0)
		return -1;
	return fd;
}

static void done(struct pair *p)
{
	close(p->lfd);
	unlink(p->sa.sun_path);
}

static void test_live_host_process(void **state)
{
	struct pair p;
	struct rfd_caller c;
	listen_on(&p);
	int cfd = dial(&p), afd = accept(p.lfd, NULL, NULL);
	assert_true(cfd >= 0 && afd >= 0);
	rfd_caller_classify(&d, afd, &c);
	assert_int_equal(c.kind, RFD_CALLER_HOST);
	assert_int_equal(c.pid, getpid());
	assert_int_equal(c.uid, geteuid());
	close(cfd);
	close(afd);
	done(&p);
}

/* The peer connects, then exits and is reaped before the accept: its pid
 * proves nothing any more. */
static void test_exited_peer_is_unknown(void **state)
{
	struct pair p;
	struct rfd_caller c;
	int status;
	listen_on(&p);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(dial(&p) < 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(status, 0);
	int afd = accept(p.lfd, NULL, NULL);
	assert_true(afd >= 0);
	rfd_caller_classify(&d, afd, &c);
	assert_int_equal(c.kind, RFD_CALLER_UNKNOWN);
	assert_non_null(strstr(c.why, "exited"));
	close(afd);
	done(&p);
}

/* In a child (so that this process keeps a PID namespace it can fork
 * in): a grandchild in a new PID namespace dials and stays alive until go
 * is written.  Exit status 77 if namespaces cannot be made. */
static pid_t dial_from_new_namespace(const struct pair *p, int go)
{
	pid_t helper = fork();
	if (helper != 0)
		return helper;
	if (unshare(CLONE_NEWPID) < 0)
		_exit(77);
	pid_t gc = fork();
	if (gc == 0) {
		char ch;
		int fd = dial(p);
		_exit(fd < 0 || read(go, &ch, 1) != 1);
	}
	int status = 1;
	waitpid(gc, &status, 0);
	_exit(gc > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* A peer in a PID namespace of its own that is no subOS's (needs root:
 * skipped otherwise). */
static void test_foreign_pid_namespace_is_unknown(void **state)
{
	struct pair p;
	struct rfd_caller c;
	int go[2], status;
	listen_on(&p);
	assert_int_equal(pipe(go), 0);
	pid_t helper = dial_from_new_namespace(&p, go[0]);
	assert_true(helper > 0);
	struct pollfd pf = { .fd = p.lfd, .events = POLLIN };
	if (poll(&pf, 1, 5000) != 1) {
		assert_int_equal(waitpid(helper, &status, 0), helper);
		done(&p);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
			skip();
		fail_msg("the peer in a new PID namespace never connected");
	}
	int afd = accept(p.lfd, NULL, NULL);
	assert_true(afd >= 0);
	rfd_caller_classify(&d, afd, &c);
	assert_int_equal(write(go[1], "x", 1), 1);
	assert_int_equal(waitpid(helper, &status, 0), helper);
	assert_int_equal(c.kind, RFD_CALLER_UNKNOWN);
	assert_non_null(strstr(c.why, "PID namespace"));
	close(afd);
	close(go[0]);
	close(go[1]);
	done(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_host_process),
		cmocka_unit_test(test_exited_peer_is_unknown),
		cmocka_unit_test(test_foreign_pid_namespace_is_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
