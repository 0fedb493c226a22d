/*
 * wrap_io.c - the data calls librfloop wraps: read, write, readv, writev,
 * recv, send, recvfrom, sendto, recvmsg, sendmsg, sendfile, and glibc's
 * fortified variants (__read_chk, __recv_chk, __recvfrom_chk), which
 * Debian's packages call because they are built with _FORTIFY_SOURCE.
 *
 * Each looks the fd up in the table (one load); an fd that is not an
 * RFloop connection goes straight to the real call, unchanged.  On a
 * connection: addresses given to sendto are ignored and recvfrom returns
 * none (as TCP does for a connected socket); recvmsg returns no control
 * data; sendfile copies through a buffer (the ring is not a page cache).
 */
#define _GNU_SOURCE
#include "rfloop/rfloop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (!c)
		return REAL(read)(fd, buf, len);
	struct iovec iov = { buf, len };
	return rfl_conn_read(c, fd, &iov, 1, 0);
}

EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (!c)
		return REAL(write)(fd, buf, len);
	struct iovec iov = { (void *)buf, len };
	return rfl_conn_write(c, fd, &iov, 1, 0);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (!c)
		return REAL(readv)(fd, iov, n);
	return rfl_conn_read(c, fd, iov, n, 0);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (!c)
		return REAL(writev)(fd, iov, n);
	return rfl_conn_write(c, fd, iov, n, 0);
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (!c)
		return REAL(recv)(fd, buf, len, flags);
	struct iovec iov = { buf, len };
	return rfl_conn_read(c, fd, &iov, 1, flags);
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (!c)
		return REAL(send)(fd, buf, len, flags);
	struct iovec iov = { (void *)buf, len };
	return rfl_conn_write(c, fd, &iov, 1, flags);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
			socklen_t *alen)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (!c)
		return REAL(recvfrom)(fd, buf, len, flags, addr, alen);
	struct iovec iov = { buf, len };
	ssize_t r = rfl_conn_read(c, fd, &iov, 1, flags);
	if (r >= 0 && addr && alen)
		*alen = 0;
	return r;
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
		      socklen_t alen)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (!c)
		return REAL(sendto)(fd, buf, len, flags, addr, alen);
	struct iovec iov = { (void *)buf, len };
	return rfl_conn_write(c, fd, &iov, 1, flags);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *mh, int flags)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (!c)
		return REAL(recvmsg)(fd, mh, flags);
	if (mh->msg_iovlen > INT32_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	ssize_t r = rfl_conn_read(c, fd, mh->msg_iov, (int)mh->msg_iovlen, flags);
	if (r >= 0) {
		mh->msg_namelen = 0;
		mh->msg_controllen = 0;
		mh->msg_flags = 0;
	}
	return r;
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *mh, int flags)
{
	struct rfl_conn *c = rfl_conn_of(fd);
	if (!c)
		return REAL(sendmsg)(fd, mh, flags);
	if (mh->msg_iovlen > INT32_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	return rfl_conn_write(c, fd, mh->msg_iov, (int)mh->msg_iovlen, flags);
}

/* sendfile to a connection: read the file through a buffer.  Never takes
 * more from the file than the ring accepted, so the file offset (or
 * *offset) ends where the data sent ends. */
static ssize_t copy_file(struct rfl_conn *c, int out, int in, off_t *offset, size_t count)
{
	size_t done = 0, chunk = 64 << 10;
	int err = 0;
	char *buf = malloc(chunk);
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	while (done < count) {
		size_t want = count - done < chunk ? count - done : chunk;
		if (c->nonblock) {
			long room = (long)c->tx.size - rfl_conn_outq(c);
			if (room <= 0) {
				err = EAGAIN;
				break;
			}
			if ((size_t)room < want)
				want = (size_t)room;
		}
		ssize_t n = offset ? pread(in, buf, want, *offset) : REAL(read)(in, buf, want);
		if (n <= 0) {
			err = n < 0 ? errno : 0;
			break;
		}
		struct iovec iov = { buf, (size_t)n };
		ssize_t w = rfl_conn_write(c, out, &iov, 1, 0);
		if (w < 0) {
			err = errno;
			if (!offset)
				lseek(in, -(off_t)n, SEEK_CUR);
			break;
		}
		if (offset)
			*offset += w;
		else if (w < n)
			lseek(in, (off_t)w - n, SEEK_CUR);
		done += (size_t)w;
		if (w < n)
			break;
	}
	free(buf);
	if (done == 0 && err) {
		errno = err;
		return -1;
	}
	return (ssize_t)done;
}

EXPORT ssize_t sendfile(int out, int in, off_t *offset, size_t count)
{
	struct rfl_conn *c = rfl_conn_of(out);
	if (!c)
		return REAL(sendfile)(out, in, offset, count);
	return copy_file(c, out, in, offset, count);
}

EXPORT ssize_t sendfile64(int out, int in, off_t *offset, size_t count)
{
	return sendfile(out, in, offset, count);
}

/* ---- _FORTIFY_SOURCE variants --------------------------------------------------- */

extern void __chk_fail(void) __attribute__((noreturn));

EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return read(fd, buf, len);
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	if (len > buflen)
		__chk_fail();
	return recv(fd, buf, len, flags);
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
			      struct sockaddr *addr, socklen_t *alen)
{
	if (len > buflen)
		__chk_fail();
	return recvfrom(fd, buf, len, flags, addr, alen);
}
