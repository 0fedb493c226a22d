/*
 * conn.c - one RFloop connection's data path: reading, writing, waiting,
 * shutting down, and the doorbells that keep poll/select/epoll exact.
 *
 * What the application holds.  An RFloop connection must be a real
 * descriptor that works in poll, select and epoll, including in sets the
 * library never sees (an epoll set built before the connection, a
 * libevent loop).  So each side's descriptor is one end of a Unix stream
 * socketpair whose other end the *peer* holds ("hidden"); the data itself
 * travels in two byte rings in a shared memfd (ring.c).  The socketpair
 * carries no data, only readiness:
 *
 *   - readable: the peer writes a doorbell byte into its hidden end when it
 *     publishes data and we may be waiting; EOF on the socket (the peer
 *     closed its hidden end, by shutdown(SHUT_WR), close or death) is EOF
 *     of the connection once the ring is drained.  The kernel closes the
 *     hidden end when the peer process dies, so a dead peer wakes every
 *     poller and ends every read: no heartbeat needed.
 *   - writable: a writer that finds the ring full fills its own socket's
 *     (shrunk) send buffer with junk, which makes its descriptor
 *     unwritable, and raises want_space; the reader, having freed space,
 *     takes want_space and drains the junk from its hidden end, which
 *     makes the writer's descriptor writable again.
 *
 * Doorbell protocol (no lost wake-up, no stale readiness).  `armed` in the
 * ring header says the reader may wait; the writer, after publishing its
 * tail (seq_cst), takes the arm (exchange to 0), counts the ring in
 * `rings` and sends one byte.  The reader never clears the arm except
 * while it spins inside a blocking read.  When a read leaves the ring
 * empty, the reader "settles": arm (seq_cst), load `rings`, re-check the
 * ring; if empty, drain exactly the doorbell bytes counted so far (a byte
 * rung after the check belongs to data published after it and must stay),
 * and repeat if a writer took the arm meanwhile.  So the descriptor is
 * readable exactly while data (or EOF) waits, up to a doorbell byte still
 * in flight, and a level-triggered poller neither hangs nor spins.  The
 * store-then-load pairs (writer: tail then armed; reader: armed then
 * tail) are sequentially consistent, as in FICM (src/ficm/wait.c).
 *
 * Cost.  A busy peer pays nothing: the writer rings only when the reader
 * armed, i.e. when it emptied the ring and went back to the application.
 * A blocking read that finds the ring empty first spins for rfl_cfg.spin_ns
 * (20 us by default: a kernel wake-up across cores costs about that here,
 * so spinning that long at most doubles the cost of the wait) with the arm
 * lowered, so a request/response exchange between two blocking programs
 * makes no system call at all; then it settles and sleeps in poll() on
 * its descriptor.  If such a spin ends in a partial read, the bytes left
 * have no doorbell byte; the connection is marked `unsignalled` and the
 * poll/select wrappers report it readable, and so do the epoll_wait
 * wrappers for the epoll sets it was registered in through epoll_ctl
 * (epoll.c records those registrations).  Non-blocking descriptors never
 * spin: EAGAIN.
 *
 * A corrupt ring (ring.c says -EBADMSG) resets the connection: reported
 * once on stderr and in the counters, both sockets shut down so both
 * sides wake, every later call fails with ECONNRESET.
 */
#define _GNU_SOURCE
#include "rfloop/rfloop.h"
#include "base/cpu.h"
#include "base/time.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LD(p, mo)    atomic_load_explicit((p), memory_order_##mo)
#define ST(p, v, mo) atomic_store_explicit((p), (v), memory_order_##mo)

_Atomic int rfl_unsignalled;

struct rfl_conn *rfl_conn_new(struct rfl_region *r, uint32_t size, int dir_rx, int hidden)
{
	struct rfl_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (rfl_ring_attach(&c->rx, r->mem, r->len, size, dir_rx, RFL_READER) ||
	    rfl_ring_attach(&c->tx, r->mem, r->len, size, 1 - dir_rx, RFL_WRITER)) {
		free(c);
		return NULL;
	}
	c->reg = r;
	c->hidden = hidden;
	c->epoch = LD(&rfl_fork_epoch, relaxed);
	pthread_mutex_init(&c->rxl, NULL);
	pthread_mutex_init(&c->txl, NULL);
	ST(&c->refs, 1, relaxed);
	return c;
}

static void set_unsignalled(struct rfl_conn *c, bool on)
{
	if (LD(&c->unsignalled, relaxed) == on)
		return;
	ST(&c->unsignalled, on, relaxed);
	atomic_fetch_add_explicit(&rfl_unsignalled, on ? 1 : -1, memory_order_relaxed);
}

void rfl_conn_free(struct rfl_conn *c)
{
	if (LD(&c->refs, relaxed) > 0)
		return;
	/* Only this process held it: tell the peer that nobody reads or writes
	 * here any more (with a fork since, another process may). */
	if (c->epoch == LD(&rfl_fork_epoch, relaxed)) {
		ST(&c->rx.d->rd_closed, 1, release);
		ST(&c->tx.d->wr_closed, 1, release);
	}
	set_unsignalled(c, false);
	rfl_region_put(c->reg);   /* kept for the pair's next connection, or unmapped */
	REAL(close)(c->hidden);
	pthread_mutex_destroy(&c->rxl);
	pthread_mutex_destroy(&c->txl);
	free(c);
}

/* The ring is corrupt: reset the connection, once, loudly. */
static ssize_t broken(struct rfl_conn *c, int fd)
{
	if (!c->err) {
		int saved = errno;
		c->err = ECONNRESET;
		STAT_ADD(ST_CORRUPT, 1);
		rfl_log("rfloop: pid %d fd %d: the peer corrupted the connection's ring "
			"(bad index); connection reset", (int)getpid(), fd);
		REAL(shutdown)(c->hidden, SHUT_RDWR);
		REAL(shutdown)(fd, SHUT_RD);   /* wake our own pollers: they read ECONNRESET */
		errno = saved;
	}
	errno = c->err;
	return -1;
}

/* iov[0..n) without its first `skip` bytes, into out (room for n). */
static int iov_advance(const struct iovec *iov, int n, size_t skip, struct iovec *out)
{
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		out[k].iov_base = (char *)iov[i].iov_base + skip;
		out[k].iov_len = iov[i].iov_len - skip;
		skip = 0;
		k++;
	}
	return k;
}

static int timeout_ms(uint64_t deadline)
{
	if (!deadline)
		return -1;
	uint64_t t = base_now_ns();
	if (t >= deadline)
		return 0;
	uint64_t ms = (deadline - t + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Sleep until fd is ready for `events` (the doorbell byte or room).
 * Returns 0 to try again, or -1 with errno EAGAIN (SO_RCVTIMEO or
 * SO_SNDTIMEO ran out) or EINTR. */
static int sleep_on(int fd, short events, uint64_t deadline)
{
	STAT_ADD(ST_SLEEPS, 1);
	struct pollfd p = { .fd = fd, .events = events };
	int rc = REAL(poll)(&p, 1, timeout_ms(deadline));
	if (rc == 0) {
		errno = EAGAIN;
		return -1;
	}
	return rc < 0 && errno == EINTR ? -1 : 0;
}

/* ---- reading --------------------------------------------------------------- */

enum { S_EMPTY, S_READY, S_EOF, S_ERR };

/* A doorbell recv failed because the peer's end is gone (ECONNRESET when
 * it went with our junk unread): that is EOF too. */
static bool peer_error(ssize_t r)
{
	return r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/* The reader emptied the ring (or found it empty): arm the doorbell and
 * drain the doorbell bytes it knows of (the protocol at the top).  With
 * probe, also find out whether the peer's end is gone (EOF). */
static int settle(struct rfl_conn *c, int fd, bool probe)
{
	struct rfl_dir *d = c->rx.d;
	for (int tries = 0; tries < 8; tries++) {
		ST(&d->armed, 1, seq_cst);
		uint64_t rings = LD(&d->rings, seq_cst);
		long ready = rfl_ring_ready(&c->rx);
		if (ready)
			return ready > 0 ? S_READY : S_ERR;
		uint64_t known = rings - c->drained;
		char buf[64];
		if (known > 0 && !c->eof) {
			ssize_t r = REAL(recv)(fd, buf, known > sizeof(buf) ? sizeof(buf) : known,
					       MSG_DONTWAIT);
			if (r > 0)
				c->drained += (uint64_t)r;
			else if (r == 0 || peer_error(r))
				c->eof = true;
		} else if (probe && !c->eof) {
			ssize_t r = REAL(recv)(fd, buf, 1, MSG_DONTWAIT | MSG_PEEK);
			if (r == 0 || peer_error(r))
				c->eof = true;
			else if (r == 1 && LD(&d->rings, seq_cst) == c->drained) {
				/* A byte no ring counted (rings are counted before
				 * they are sent): a bad peer's; drop it. */
				REAL(recv)(fd, buf, 1, MSG_DONTWAIT);
				continue;
			}
		}
		if (c->eof) {
			ready = rfl_ring_ready(&c->rx);
			return ready > 0 ? S_READY : ready < 0 ? S_ERR : S_EOF;
		}
		if (LD(&d->armed, seq_cst) || LD(&d->rings, seq_cst) != c->drained)
			return S_EMPTY;
	}
	return S_EMPTY;
}

/* We consumed: if the writer waits for space, drain its junk from our
 * hidden end so that its descriptor turns writable. */
static void release_writer(struct rfl_conn *c)
{
	if (!rfl_ring_take_want_space(&c->rx))
		return;
	char buf[4096];
	for (int i = 0; i < 64; i++)
		if (REAL(recv)(c->hidden, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
}

/* Spin (doorbell lowered) until data or `ns` pass; true if data. */
static bool spin_ready(struct rfl_conn *c, uint64_t ns)
{
	if (!ns)
		return false;
	uint64_t until = base_now_ns() + ns;
	for (unsigned i = 1;; i++) {
		if (rfl_ring_ready(&c->rx) != 0 || LD(&c->rx.d->wr_closed, relaxed))
			return true;
		base_cpu_relax();
		if ((i & 63) == 0 && base_now_ns() >= until)
			return false;
	}
}

/* Leaving a read that consumed: keep the descriptor's readiness exact. */
static void after_read(struct rfl_conn *c, int fd, bool disarmed)
{
	long left = rfl_ring_ready(&c->rx);
	if (left == 0 && settle(c, fd, false) == S_EMPTY) {
		set_unsignalled(c, false);
		return;
	}
	if (left < 0 || !disarmed)
		return;
	/* Bytes left after a spin with the arm lowered: no doorbell byte may
	 * stand for them.  Arm for the next write; poll/select look here. */
	ST(&c->rx.d->armed, 1, seq_cst);
	if (LD(&c->rx.d->rings, seq_cst) == c->drained)
		set_unsignalled(c, true);
}

/* The bytes an iovec array asks for, as readv/writev check it: EINVAL for
 * a bad count or a total past SSIZE_MAX. */
static ssize_t iov_total(const struct iovec *iov, int n)
{
	size_t want = 0;
	if (n < 0 || n > IOV_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len > SSIZE_MAX - want) {
			errno = EINVAL;
			return -1;
		}
		want += iov[i].iov_len;
	}
	return (ssize_t)want;
}

/* ---- a call, step by step (reads and writes) ------------------------------ */

/* What a step of a read or write loop says to do next. */
enum step {
	STEP_MORE,   /* go round again */
	STEP_DONE,   /* return what was done (0: EOF, shut down) */
	STEP_FAIL,   /* return what was done, or -1 with errno if nothing */
};

/* One read or write call: what it asks for and how far it got. */
struct io_call {
	const struct iovec *iov;
	struct iovec *adv;        /* scratch, n entries: iov without what is done */
	int n;
	size_t want, got;
	bool nb;                  /* non-blocking fd or MSG_DONTWAIT: never wait */
	bool spun;                /* blocking: the one spin is spent */
	bool peek, trunc, waitall;/* read: MSG_PEEK, MSG_TRUNC, MSG_WAITALL */
	bool disarmed;            /* read: the spin lowered the arm */
	bool nosig;               /* write: MSG_NOSIGNAL */
	uint64_t deadline;        /* when SO_RCVTIMEO / SO_SNDTIMEO runs out, or 0 */
};

/* A call's state from its flags (each direction looks at its own). */
static struct io_call io_call(struct rfl_conn *c, const struct iovec *iov, int n,
			      struct iovec *adv, ssize_t want, int flags, int64_t timeo_ns)
{
	bool peek = flags & MSG_PEEK;
	return (struct io_call){
		.iov = iov, .adv = adv, .n = n, .want = (size_t)want,
		.nb = c->nonblock || (flags & MSG_DONTWAIT),
		.peek = peek, .trunc = flags & MSG_TRUNC, .waitall = (flags & MSG_WAITALL) && !peek,
		.nosig = flags & MSG_NOSIGNAL,
		.deadline = timeo_ns ? base_now_ns() + (uint64_t)timeo_ns : 0,
	};
}

/* What the call returns: bytes done win over an error. */
static ssize_t io_result(const struct io_call *io, enum step s)
{
	return io->got > 0 ? (ssize_t)io->got : s == STEP_FAIL ? -1 : 0;
}

/* The caller's buffers past what is done; returns how many entries. */
static int io_rest(struct io_call *io)
{
	return iov_advance(io->iov, io->n, io->got, io->adv);
}

/* The ring is corrupt: reset, and fail the call. */
static enum step step_broken(struct rfl_conn *c, int fd)
{
	broken(c, fd);
	return STEP_FAIL;
}

static enum step step_errno(int err)
{
	errno = err;
	return STEP_FAIL;
}

/* Nothing to do until the peer moves: EAGAIN for a non-blocking call,
 * else sleep until fd is ready for `events` (or the timeout runs out). */
static enum step wait_peer(int fd, short events, const struct io_call *io)
{
	if (io->nb)
		return step_errno(EAGAIN);
	return sleep_on(fd, events, io->deadline) < 0 ? STEP_FAIL : STEP_MORE;
}

/* Copy (MSG_TRUNC: skip) what the ring holds: bytes taken, or < 0 if the
 * ring is corrupt.  Consuming may let a waiting writer go on. */
static long rd_take(struct rfl_conn *c, struct io_call *io)
{
	long r;
	if (io->trunc && !io->peek)
		r = rfl_ring_skip(&c->rx, io->want - io->got);
	else
		r = rfl_ring_read(&c->rx, io->adv, io_rest(io), io->want - io->got, io->peek);
	if (r > 0) {
		io->got += (size_t)r;
		if (!io->peek) {
			STAT_ADD(ST_RX_BYTES, r);
			release_writer(c);
		}
	}
	return r;
}

/* The writer said it is done: it published its last byte before saying
 * so, so what the ring holds now is all there will be. */
static enum step rd_writer_done(struct rfl_conn *c, int fd)
{
	long left = rfl_ring_ready(&c->rx);
	if (left > 0)
		return STEP_MORE;
	if (left < 0)
		return step_broken(c, fd);
	c->eof = true;
	return STEP_DONE;
}

/* The ring is empty.  Blocking: spin once with the arm lowered (the cost
 * note at the top), then settle and sleep on the doorbell.  Non-blocking:
 * settle and say EAGAIN. */
static enum step rd_wait(struct rfl_conn *c, int fd, struct io_call *io)
{
	if (!io->nb && !io->spun) {
		io->spun = io->disarmed = true;
		ST(&c->rx.d->armed, 0, relaxed);
		if (spin_ready(c, rfl_cfg.spin_ns))
			return STEP_MORE;
	}
	int s = settle(c, fd, true);
	if (s == S_READY)
		return STEP_MORE;
	if (s == S_EOF)
		return STEP_DONE;
	if (s == S_ERR)
		return step_broken(c, fd);
	return wait_peer(fd, POLLIN, io);
}

/* One round of a read: take what the ring has, else find out why it has
 * nothing (reset, shut down, EOF) or wait for more. */
static enum step rd_step(struct rfl_conn *c, int fd, struct io_call *io)
{
	if (c->err)
		return step_errno(c->err);
	if (c->rd_shut)
		return STEP_DONE;
	long r = rd_take(c, io);
	if (r < 0)
		return step_broken(c, fd);
	if (r > 0)
		return io->got == io->want || !io->waitall ? STEP_DONE : STEP_MORE;
	if (c->eof)
		return STEP_DONE;
	if (LD(&c->rx.d->wr_closed, acquire))
		return rd_writer_done(c, fd);
	return rd_wait(c, fd, io);
}

/* Leaving a read: keep the descriptor's readiness exact (after_read), or
 * raise again the arm that a spin lowered if nothing was read. */
static ssize_t rd_end(struct rfl_conn *c, int fd, struct io_call *io, enum step s)
{
	if (io->got > 0 && !io->peek)
		after_read(c, fd, io->disarmed);
	else if (io->got == 0 && io->disarmed)
		ST(&c->rx.d->armed, 1, seq_cst);
	return io_result(io, s);
}

/* ---- writing --------------------------------------------------------------- */

static void ring_peer(struct rfl_conn *c)
{
	int saved = errno;
	char b = 1;
	STAT_ADD(ST_BELLS, 1);
	if (REAL(send)(c->hidden, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
	    (errno == EPIPE || errno == ECONNRESET))
		c->peer_gone = true;   /* the next write says EPIPE */
	errno = saved;
}

/* The ring is full: make our descriptor unwritable (fill its send
 * buffer), raise want_space, and look once more.  Returns the space now
 * (> 0: write on), 0 (wait for POLLOUT), or -1 with errno (peer gone). */
static long prepare_wait(struct rfl_conn *c, int fd)
{
	char junk[4096];
	if (!c->sndbuf_small) {
		int v = 1;   /* the kernel rounds it up to its minimum, ~4.5 KiB */
		REAL(setsockopt)(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
		c->sndbuf_small = true;
	}
	memset(junk, 0, sizeof(junk));
	for (int i = 0; i < 64; i++) {
		if (REAL(send)(fd, junk, sizeof(junk), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		errno = EPIPE;
		return -1;
	}
	ST(&c->tx.d->want_space, 1, seq_cst);
	return rfl_ring_space(&c->tx);
}

static bool spin_space(struct rfl_conn *c, uint64_t ns)
{
	if (!ns)
		return false;
	uint64_t until = base_now_ns() + ns;
	for (unsigned i = 1;; i++) {
		if (rfl_ring_space(&c->tx) != 0)
			return true;
		base_cpu_relax();
		if ((i & 63) == 0 && base_now_ns() >= until)
			return false;
	}
}

/* Nobody reads any more: what was written stands, else EPIPE (and
 * SIGPIPE unless MSG_NOSIGNAL), as TCP does. */
static enum step wr_epipe(const struct io_call *io)
{
	if (io->got)
		return STEP_DONE;
	if (!io->nosig)
		raise(SIGPIPE);
	return step_errno(EPIPE);
}

/* The ring is full.  Blocking: spin once; then make our descriptor
 * unwritable and, unless space appeared meanwhile, sleep until the reader
 * frees some.  Non-blocking: the same, but EAGAIN instead of the sleep. */
static enum step wr_wait(struct rfl_conn *c, int fd, struct io_call *io)
{
	if (!io->nb && !io->spun) {
		io->spun = true;
		if (spin_space(c, rfl_cfg.spin_ns))
			return STEP_MORE;
	}
	long space = prepare_wait(c, fd);
	if (space < 0)
		return space == -1 && errno == EPIPE ? wr_epipe(io) : step_broken(c, fd);
	if (space > 0)
		return STEP_MORE;
	return wait_peer(fd, POLLOUT, io);
}

/* One round of a write: put what fits into the ring and ring the reader
 * if it waits, else find out why nothing fits or wait for room. */
static enum step wr_step(struct rfl_conn *c, int fd, struct io_call *io)
{
	if (c->err)
		return step_errno(c->err);
	if (c->wr_shut || c->peer_gone || LD(&c->tx.d->rd_closed, acquire))
		return wr_epipe(io);
	long r = rfl_ring_write(&c->tx, io->adv, io_rest(io), io->want - io->got);
	if (r < 0)
		return step_broken(c, fd);
	if (r > 0) {
		io->got += (size_t)r;
		STAT_ADD(ST_TX_BYTES, r);
		if (rfl_ring_take_arm(&c->tx))
			ring_peer(c);
		return io->got == io->want ? STEP_DONE : STEP_MORE;
	}
	if (io->got && io->nb)
		return STEP_DONE;
	return wr_wait(c, fd, io);
}

/* The frame of every read and write: check the buffers, hold the
 * direction's lock, run steps until one says stop. */
static ssize_t conn_io(struct rfl_conn *c, int fd, const struct iovec *iov, int n, int flags,
		       bool rd)
{
	ssize_t want = iov_total(iov, n);
	if (want <= 0)
		return want;
	struct iovec adv[n];
	struct io_call io = io_call(c, iov, n, adv, want, flags,
				    rd ? c->rcvtimeo_ns : c->sndtimeo_ns);
	pthread_mutex_t *lock = rd ? &c->rxl : &c->txl;
	enum step s;

	pthread_mutex_lock(lock);
	do
		s = rd ? rd_step(c, fd, &io) : wr_step(c, fd, &io);
	while (s == STEP_MORE);
	ssize_t ret = rd ? rd_end(c, fd, &io, s) : io_result(&io, s);
	pthread_mutex_unlock(lock);
	return ret;
}

ssize_t rfl_conn_read(struct rfl_conn *c, int fd, const struct iovec *iov, int n, int flags)
{
	return conn_io(c, fd, iov, n, flags, true);
}

ssize_t rfl_conn_write(struct rfl_conn *c, int fd, const struct iovec *iov, int n, int flags)
{
	return conn_io(c, fd, iov, n, flags, false);
}

/* ---- the rest ---------------------------------------------------------------- */

int rfl_conn_shutdown(struct rfl_conn *c, int fd, int how)
{
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) {
		errno = EINVAL;
		return -1;
	}
	if (how != SHUT_RD) {
		pthread_mutex_lock(&c->txl);
		c->wr_shut = true;
		ST(&c->tx.d->wr_closed, 1, release);
		REAL(shutdown)(c->hidden, SHUT_WR);   /* the peer reads EOF after the ring */
		pthread_mutex_unlock(&c->txl);
	}
	if (how != SHUT_WR) {
		c->rd_shut = true;
		REAL(shutdown)(fd, SHUT_RD);          /* readable (EOF), as TCP */
	}
	return 0;
}

long rfl_conn_inq(struct rfl_conn *c)
{
	pthread_mutex_lock(&c->rxl);
	long r = rfl_ring_ready(&c->rx);
	pthread_mutex_unlock(&c->rxl);
	return r < 0 ? 0 : r;
}

long rfl_conn_outq(struct rfl_conn *c)
{
	pthread_mutex_lock(&c->txl);
	long r = rfl_ring_space(&c->tx);
	pthread_mutex_unlock(&c->txl);
	return r < 0 ? 0 : (long)c->tx.size - r;
}
