/*
 * fdpass.h - passing descriptors over a Unix socket (SCM_RIGHTS).
 *
 * The one copy of the control-message arithmetic: rfd hands memfds and
 * channel memory to subOSes, the client receives them, RFloop passes a
 * connection's ring and doorbells, a spare takes its program's.  The
 * control buffer is a union with struct cmsghdr, so it is aligned as the
 * kernel's macros assume, and holds as many descriptors as the kernel
 * passes in one message (BASE_FDPASS_LIMIT).
 *
 * Error contract: both return what sendmsg/recvmsg return (bytes, or -1
 * with errno).  Received descriptors are close-on-exec; those beyond
 * `maxfds`, and every one that came with a failed or short call the
 * caller rejects, are the caller's to close (base_recv_fds closes only the
 * surplus).  A message cut short shows as the caller checks it: with
 * MSG_TRUNC in flags recvmsg returns a datagram's whole length, and a
 * cut control part (more than maxfds, or BASE_FDPASS_LIMIT, descriptors)
 * as fewer descriptors than the message says it carries.
 */
#ifndef RF_BASE_FDPASS_H
#define RF_BASE_FDPASS_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define BASE_FDPASS_MAX 8     /* descriptors in one message of rfd's protocols */
#define BASE_FDPASS_LIMIT 253 /* ... and in any message (the kernel's SCM_MAX_FD) */

/* Send len bytes of buf and nfds (0..BASE_FDPASS_LIMIT, else -1 with
 * EINVAL) descriptors in one sendmsg with `flags` (MSG_NOSIGNAL is always
 * added). */
ssize_t base_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds,
		      int flags);

/* The same on an unconnected datagram socket, to the address `to`. */
ssize_t base_sendto_fds(int sock, const struct sockaddr *to, socklen_t tolen, const void *buf,
			size_t len, const int *fds, int nfds, int flags);

/* Receive up to len bytes and up to maxfds descriptors into fds (*nfds
 * gets the count; fds[i] for i >= *nfds are left alone).  `flags` goes to
 * recvmsg (MSG_CMSG_CLOEXEC is always added).  Surplus descriptors are
 * closed. */
ssize_t base_recv_fds(int sock, void *buf, size_t len, int *fds, int maxfds, int *nfds,
		      int flags);

/* The common case of one descriptor each way: *fd gets it or -1. */
static inline ssize_t base_send_fd(int sock, const void *buf, size_t len, int fd, int flags)
{
	return base_send_fds(sock, buf, len, &fd, fd >= 0 ? 1 : 0, flags);
}
static inline ssize_t base_recv_fd(int sock, void *buf, size_t len, int *fd, int flags)
{
	int n = 0;
	*fd = -1;
	return base_recv_fds(sock, buf, len, fd, 1, &n, flags);
}

#endif
