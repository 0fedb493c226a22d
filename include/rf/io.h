/*
 * io.h - librf's I/O calls: sockets and files served by the host kernel
 * through each core's own io_uring, blocking only the calling fiber.
 *
 * This is the "full-function offload" of the design: librf does not
 * implement TCP or a file system, it hands those operations to the host
 * kernel.  Each core thread owns one io_uring, created when the thread
 * starts.  A call below fills one submission entry tagged with the calling
 * fiber and parks the fiber; the core's scheduler loop submits everything
 * its fibers queued with one io_uring_enter per loop pass (and only when
 * something is pending), reads completions straight from the shared
 * completion ring, and unparks their fibers.  While a fiber waits, its core
 * runs other fibers; when nothing is runnable and I/O is in flight the core
 * sleeps inside its ring, woken by the first completion or by its doorbell.
 *
 * Results are those of the matching system call, with errors as -errno
 * instead of -1 and errno: e.g. rf_recv returns the byte count, 0 at end of
 * stream, or -ECONNRESET.  Buffers and addresses passed in must stay valid
 * until the call returns (they normally live on the fiber's stack or heap).
 *
 * Where the calls may be used:
 *   - in a fiber: the normal case, as described above;
 *   - on a foreign thread (not a librf core): the plain system call is made
 *     and blocks that thread, so helper threads can share code with fibers;
 *   - in scheduler context (events, timers, hooks): not allowed (they cannot
 *     block); the calls return -EWOULDBLOCK there.
 * If the core has no io_uring (the kernel refused one; a warning was
 * printed at start), the calls return -ENOSYS in fibers.
 *
 * File descriptors themselves are plain host descriptors: create, bind,
 * listen and configure sockets with the ordinary calls (socket, bind,
 * listen, setsockopt), outside the hot path; use these calls for the
 * operations that wait.
 *
 * When a core is taken away, its in-flight operations are cancelled and the
 * waiting fibers move with the rest of the core's work; an operation that
 * was cancelled that way is issued again, transparently, on the core the
 * fiber resumes on (an operation that had already completed keeps its
 * result).  So a connection served by a fiber survives its core leaving.
 */
#ifndef RF_IO_H
#define RF_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* accept4(fd, addr, addrlen, flags): the new descriptor or -errno.
 * addr and addrlen may be NULL. */
int rf_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);

/* connect(fd, addr, addrlen) on a socket (blocking or not): 0 once
 * connected, or -errno (-ECONNREFUSED, -ETIMEDOUT, ...). */
int rf_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);

/* recv / send: bytes moved (possibly fewer than len), 0 at end of stream
 * for rf_recv, or -errno.  flags as for recv(2) / send(2); MSG_NOSIGNAL is
 * always added to send. */
ssize_t rf_recv(int fd, void *buf, size_t len, int flags);
ssize_t rf_send(int fd, const void *buf, size_t len, int flags);

/* Send all len bytes, looping over short sends: len, or -errno (bytes may
 * have been sent before an error). */
ssize_t rf_send_all(int fd, const void *buf, size_t len);

/* pread / pwrite / pwritev; offset -1 means "at the file position" (as
 * read(2) / write(2)), which is also what sockets and pipes need. */
ssize_t rf_pread(int fd, void *buf, size_t len, int64_t offset);
ssize_t rf_pwrite(int fd, const void *buf, size_t len, int64_t offset);
ssize_t rf_pwritev(int fd, const struct iovec *iov, int iovcnt, int64_t offset);

/* Wait until fd is ready for `events` (POLLIN, POLLOUT, ...): the ready
 * events (revents), or -errno. */
int rf_poll(int fd, short events);

/* close(fd): 0 or -errno. */
int rf_closefd(int fd);

/* Does the calling core have an io_uring?  (false on foreign threads) */
bool rf_io_available(void);

#endif
