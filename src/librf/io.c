/*
 * io.c - the fiber-facing I/O calls of rf/io.h.
 *
 * Every call describes its operation in a struct io_req, and io_run turns
 * that into one SQE on the calling core's ring, tagged with an rf_io_op on
 * the fiber's stack, then parks the fiber until io_ring.c has stored the
 * result.  Nothing here enters the kernel: the scheduler loop submits the
 * SQE together with everything else queued in the same pass.  The request
 * is kept as a description rather than a prepared SQE so it can be issued
 * again on another core when the first attempt was cancelled because its
 * core left (io_ring.c, "Leaving").
 *
 * Off a core (foreign threads) the same calls are plain blocking system
 * calls, so helper threads and fibers can share code.
 *
 * A descriptor that is an RFloop connection (loop.h) goes to loop_conn.c
 * instead, and rf_accept on a listener to loop_listen.c: one load decides,
 * while there is none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "librf/io_internal.h"
#include "librf/loop.h"
#include "rf/io.h"

#define RF_IO_MAX_LEN 0x7ffff000u  /* what Linux moves in one call at most */

struct io_req {
	int op;               /* IORING_OP_* */
	int fd;
	void *buf;            /* buffer, iovec array or address */
	size_t len;           /* bytes, iovec count or address length */
	int64_t off;          /* file offset, -1 = current position */
	int flags;            /* msg / accept flags, poll events */
	socklen_t *alen;      /* accept */
	bool retried;         /* issued again after its core left */
};

static void prep(struct io_uring_sqe *sqe, const struct io_req *r)
{
	unsigned len = r->len > RF_IO_MAX_LEN ? RF_IO_MAX_LEN : (unsigned)r->len;

	switch (r->op) {
	case IORING_OP_ACCEPT:
		io_uring_prep_accept(sqe, r->fd, r->buf, r->alen, r->flags);
		break;
	case IORING_OP_CONNECT:
		io_uring_prep_connect(sqe, r->fd, r->buf, (socklen_t)r->len);
		break;
	case IORING_OP_RECV:
		io_uring_prep_recv(sqe, r->fd, r->buf, len, r->flags);
		break;
	case IORING_OP_SEND:
		io_uring_prep_send(sqe, r->fd, r->buf, len, r->flags | MSG_NOSIGNAL);
		break;
	case IORING_OP_READ:
		io_uring_prep_read(sqe, r->fd, r->buf, len, (uint64_t)r->off);
		break;
	case IORING_OP_WRITE:
		io_uring_prep_write(sqe, r->fd, r->buf, len, (uint64_t)r->off);
		break;
	case IORING_OP_WRITEV:
		io_uring_prep_writev(sqe, r->fd, r->buf, (unsigned)r->len, (uint64_t)r->off);
		break;
	case IORING_OP_POLL_ADD:
		io_uring_prep_poll_add(sqe, r->fd, (unsigned)r->flags);
		break;
	case IORING_OP_CLOSE:
		io_uring_prep_close(sqe, r->fd);
		break;
	}
}

static long neg_errno(long r)
{
	return r < 0 ? -errno : r;
}

/* The plain system call, for threads that are not librf cores. */
static long run_blocking(const struct io_req *r)
{
	struct pollfd p = { .fd = r->fd, .events = (short)r->flags };

	switch (r->op) {
	case IORING_OP_ACCEPT:
		return neg_errno(accept4(r->fd, r->buf, r->alen, r->flags));
	case IORING_OP_CONNECT:
		return neg_errno(connect(r->fd, r->buf, (socklen_t)r->len));
	case IORING_OP_RECV:
		return neg_errno(recv(r->fd, r->buf, r->len, r->flags));
	case IORING_OP_SEND:
		return neg_errno(send(r->fd, r->buf, r->len, r->flags | MSG_NOSIGNAL));
	case IORING_OP_READ:
		return neg_errno(r->off < 0 ? read(r->fd, r->buf, r->len)
				 : pread(r->fd, r->buf, r->len, r->off));
	case IORING_OP_WRITE:
		return neg_errno(r->off < 0 ? write(r->fd, r->buf, r->len)
				 : pwrite(r->fd, r->buf, r->len, r->off));
	case IORING_OP_WRITEV:
		return neg_errno(r->off < 0 ? writev(r->fd, r->buf, (int)r->len)
				 : pwritev(r->fd, r->buf, (int)r->len, r->off));
	case IORING_OP_POLL_ADD:
		if (poll(&p, 1, -1) < 0)
			return -errno;
		return p.revents;
	case IORING_OP_CLOSE:
		return neg_errno(close(r->fd));
	}
	return -EINVAL;
}

/* Queue r on the calling core's ring and park until it completes; issue it
 * again wherever the fiber resumes if its core left meanwhile. */
static long io_run(struct io_req *r)
{
	for (;;) {
		struct lrf_core *c = lrf_self();
		struct io_uring_sqe *sqe;
		struct lrf_io_op op;

		if (!c)
			return run_blocking(r);
		if (!c->current)
			return -EWOULDBLOCK;  /* scheduler context must not block */
		if (!c->io)
			return -ENOSYS;
		sqe = lrf_io_get_sqe(c->io);
		if (!sqe) {
			rf_yield();  /* the kernel holds every SQE: let it drain */
			continue;
		}
		prep(sqe, r);
		lrf_io_queue_op(c->io, sqe, &op, c->current);
		while (!__atomic_load_n(&op.done, __ATOMIC_ACQUIRE))
			rf_park();
		if (!op.again)
			return op.res;
		r->retried = true;
	}
}

int rf_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	struct io_req r = { .op = IORING_OP_ACCEPT, .fd = fd, .buf = addr, .alen = addrlen,
			    .flags = flags };
	bool mine;
	int res = lrf_loop_accept(fd, addr, addrlen, flags, &mine);

	return mine ? res : (int)io_run(&r);
}

static bool op_done(struct lrf_io_op *op)
{
	return __atomic_load_n(&op->done, __ATOMIC_ACQUIRE);
}

/* Park until the accept completes; once *stop is set, cancel it (on this
 * core's ring: a core that leaves completes its operations before its
 * fibers move) and wait for its end, which may be a connection that won
 * the race. */
static void accept_wait(struct lrf_io_op *op, void **stop)
{
	bool cancelled = false;

	while (!op_done(op)) {
		bool stopped = __atomic_load_n(stop, __ATOMIC_ACQUIRE) != NULL;
		if (stopped && !cancelled)
			cancelled = lrf_io_cancel(lrf_self()->io, op);
		if (stopped && !cancelled)
			rf_yield();   /* no SQE free: try again next pass */
		else if (!op_done(op))
			rf_park();
	}
}

long lrf_io_accept_or(int fd, struct sockaddr *addr, socklen_t *alen, int flags, void **stop)
{
	struct io_req r = { .op = IORING_OP_ACCEPT, .fd = fd, .buf = addr, .alen = alen,
			    .flags = flags };

	for (;;) {
		struct lrf_core *c = lrf_self();
		struct io_uring_sqe *sqe;
		struct lrf_io_op op;

		if (__atomic_load_n(stop, __ATOMIC_ACQUIRE))
			return -ECANCELED;
		sqe = lrf_io_get_sqe(c->io);
		if (!sqe) {
			rf_yield();
			continue;
		}
		prep(sqe, &r);
		lrf_io_queue_op(c->io, sqe, &op, c->current);
		accept_wait(&op, stop);
		if (!op.again)
			return op.res;
	}
}

int rf_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	struct io_req r = { .op = IORING_OP_CONNECT, .fd = fd, .buf = (void *)addr,
			    .len = addrlen };
	long res = io_run(&r);
	socklen_t l = sizeof(int);
	int err = 0;

	if (!r.retried)
		return (int)res;
	/* Issued again after a core change: the first attempt may have left
	 * the handshake running, or finished it. */
	if (res == -EISCONN)
		return 0;
	if (res != -EALREADY && res != -EINPROGRESS)
		return (int)res;
	res = rf_poll(fd, POLLOUT);
	if (res < 0)
		return (int)res;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		return -errno;
	return -err;
}

ssize_t rf_recv(int fd, void *buf, size_t len, int flags)
{
	struct io_req r = { .op = IORING_OP_RECV, .fd = fd, .buf = buf, .len = len,
			    .flags = flags };
	struct lrf_loop_conn *lc = lrf_loop_conn_of(fd);

	return lc ? lrf_loop_recv(lc, buf, len, flags) : io_run(&r);
}

ssize_t rf_send(int fd, const void *buf, size_t len, int flags)
{
	struct io_req r = { .op = IORING_OP_SEND, .fd = fd, .buf = (void *)buf, .len = len,
			    .flags = flags };
	struct lrf_loop_conn *lc = lrf_loop_conn_of(fd);

	return lc ? lrf_loop_send(lc, buf, len, flags) : io_run(&r);
}

ssize_t rf_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = rf_send(fd, p + done, len - done, 0);
		if (n < 0)
			return n;
		if (n == 0)
			return -EPIPE;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* read/write on an RFloop connection are recv/send; it has no offsets. */
static ssize_t loop_rw(struct lrf_loop_conn *lc, void *buf, size_t len, int64_t offset, bool wr)
{
	if (offset >= 0)
		return -ESPIPE;
	return wr ? lrf_loop_send(lc, buf, len, 0) : lrf_loop_recv(lc, buf, len, 0);
}

ssize_t rf_pread(int fd, void *buf, size_t len, int64_t offset)
{
	struct io_req r = { .op = IORING_OP_READ, .fd = fd, .buf = buf, .len = len,
			    .off = offset < 0 ? -1 : offset };
	struct lrf_loop_conn *lc = lrf_loop_conn_of(fd);

	return lc ? loop_rw(lc, buf, len, offset, false) : io_run(&r);
}

ssize_t rf_pwrite(int fd, const void *buf, size_t len, int64_t offset)
{
	struct io_req r = { .op = IORING_OP_WRITE, .fd = fd, .buf = (void *)buf, .len = len,
			    .off = offset < 0 ? -1 : offset };
	struct lrf_loop_conn *lc = lrf_loop_conn_of(fd);

	return lc ? loop_rw(lc, (void *)buf, len, offset, true) : io_run(&r);
}

ssize_t rf_pwritev(int fd, const struct iovec *iov, int iovcnt, int64_t offset)
{
	struct io_req r = { .op = IORING_OP_WRITEV, .fd = fd, .buf = (void *)iov,
			    .len = iovcnt < 0 ? 0 : (size_t)iovcnt, .off = offset < 0 ? -1 : offset };

	struct lrf_loop_conn *lc = lrf_loop_conn_of(fd);

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	if (lc)
		return offset >= 0 ? -ESPIPE : lrf_loop_sendv(lc, iov, iovcnt);
	return io_run(&r);
}

int rf_poll(int fd, short events)
{
	struct io_req r = { .op = IORING_OP_POLL_ADD, .fd = fd, .flags = (unsigned short)events };
	struct lrf_loop_conn *lc = lrf_loop_conn_of(fd);

	return lc ? lrf_loop_poll_fd(lc, events) : (int)io_run(&r);
}

int rf_closefd(int fd)
{
	struct io_req r = { .op = IORING_OP_CLOSE, .fd = fd };
	struct lrf_loop_conn *lc = lrf_loop_conn_of(fd);

	if (lc)
		return lrf_loop_close(lc, fd);
	lrf_loop_listener_closed(fd);
	return (int)io_run(&r);
}

bool rf_io_available(void)
{
	struct lrf_core *c = lrf_self();
	return c && c->io;
}
