/*
 * fdpass.c - descriptors over a Unix socket (see fdpass.h).
 */
#define _GNU_SOURCE
#include "base/fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

union fd_cmsg {
	char buf[CMSG_SPACE(BASE_FDPASS_LIMIT * sizeof(int))];
	struct cmsghdr align;
};

ssize_t base_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds,
		      int flags)
{
	return base_sendto_fds(sock, NULL, 0, buf, len, fds, nfds, flags);
}

ssize_t base_sendto_fds(int sock, const struct sockaddr *to, socklen_t tolen, const void *buf,
			size_t len, const int *fds, int nfds, int flags)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_name = (void *)to, .msg_namelen = to ? tolen : 0,
			     .msg_iov = &iov, .msg_iovlen = 1 };
	union fd_cmsg u;

	if (nfds < 0 || nfds > BASE_FDPASS_LIMIT) {
		errno = EINVAL;
		return -1;
	}
	if (nfds > 0) {
		memset(&u, 0, CMSG_SPACE(nfds * sizeof(int)));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	return sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
}

/* Take the descriptors of one SCM_RIGHTS header: the first into fds while
 * there is room, the rest closed. */
static void take_rights(struct cmsghdr *cm, int *fds, int maxfds, int *nfds)
{
	size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	for (size_t i = 0; i < n; i++) {
		int got;
		memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
		if (*nfds < maxfds)
			fds[(*nfds)++] = got;
		else
			close(got);
	}
}

ssize_t base_recv_fds(int sock, void *buf, size_t len, int *fds, int maxfds, int *nfds,
		      int flags)
{
	struct iovec iov = { buf, len };
	union fd_cmsg u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };

	*nfds = 0;
	ssize_t n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			take_rights(cm, fds, maxfds, nfds);
	return n;
}
