/*
 * rfloop_call.c - one request to rfd's RFloop registry (rfloop_call.h).
 *
 * Plain libc calls: inside librfloop.so they reach its wrappers, which
 * pass a Unix socket straight to the kernel.
 */
#define _GNU_SOURCE
#include "base/rfloop_call.h"
#include "base/fdpass.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int rfd_connect(const char *path)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct timeval tv = { 2, 0 };   /* a stuck rfd costs the caller 2 s, then TCP */
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -1;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(s, (struct sockaddr *)&un, sizeof(un))) {
		close(s);
		return -1;
	}
	return s;
}

/* Read up to the first newline into ans; a descriptor that comes along
 * into *fd_out (the first one; others closed).  0, or -1. */
static int read_answer(int s, char *ans, size_t anslen, int *fd_out)
{
	size_t got = 0;

	while (got < anslen - 1 && !memchr(ans, '\n', got)) {
		int fd = -1, n = 0;
		ssize_t r = base_recv_fds(s, ans + got, anslen - 1 - got, &fd, 1, &n, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
		ans[got] = '\0';
		if (n && fd_out && *fd_out < 0)
			*fd_out = fd;
		else if (n)
			close(fd);
	}
	return 0;
}

int base_rfl_call(const char *path, const char *req, const int *fds, int nfds, int *fd_out,
		  char *ans, size_t anslen)
{
	int s = rfd_connect(path), rc = -1;

	ans[0] = '\0';
	if (fd_out)
		*fd_out = -1;
	if (s < 0 || base_send_fds(s, req, strlen(req), fds, nfds, 0) != (ssize_t)strlen(req) ||
	    read_answer(s, ans, anslen, fd_out))
		goto out;
	rc = strstr(ans, "\"ok\":true") ? 0 : -1;
out:
	if (rc && fd_out && *fd_out >= 0) {
		close(*fd_out);
		*fd_out = -1;
	}
	if (s >= 0)
		close(s);
	return rc;
}
