/*
 * loop_conn.c - one RFloop connection served by librf: its rings, how a
 * fiber waits on it, how the core's scheduler polls it, the doorbells
 * both ways, closing.  (How it is accepted: loop_listen.c.)
 *
 * The connection is librfloop's (src/rfloop/conn.c, ring.h) seen from
 * the listener's side, and speaks its protocol: we read direction 0 and
 * write direction 1 of a shared region; `fd` is our end of a socketpair
 * whose far end the client holds (its doorbell bytes for us arrive on
 * fd; its death closes it), `hidden` the far end of the client's own
 * descriptor (a byte we write there wakes the client).
 *
 * Reading without a system call.  rf_recv copies what the ring holds.
 * On an empty ring the fiber registers as the connection's reader and
 * parks; the connection goes on its core's list (c->loop_wait), which
 * the scheduler looks at once per pass and in every turn of its idle
 * spin (a load of the ring's tail per waiting connection): data, EOF or
 * an error unparks the fiber.  While the core is awake we keep the
 * ring's `armed` word down, so the client writes without ringing.  Only
 * before the core sleeps (idle.c) do we raise it, with a sequentially
 * consistent store followed by a last look at every ring (the client
 * publishes its tail, then looks at `armed`: one of us sees the other),
 * and the client then rings: its byte completes the io_uring receive we
 * keep in flight on fd (the "watch"), and that completion wakes the core
 * sleeping in its ring.  Awake again, the next pass lowers `armed`.  The
 * watch also drains the doorbell bytes and sees EOF on fd: the client
 * shut down its writing, closed, or died (the kernel closes its end), so
 * a dead client ends a waiting read.  It stays in flight for as long as
 * a fiber waits (a busy client sends no byte, so it costs nothing).
 *
 * Waking the client.  A client that found its ring empty armed it and
 * sleeps in poll() on its descriptor (librfloop's reader spins first, 20
 * us by default, so a quick answer to a blocking client needs no wake-up
 * at all).  But librfloop raises the arm whenever its application is not
 * inside a blocking read (it may poll next), so an answer that comes
 * before the client is back in its read finds the arm up.  So rf_send
 * does not take the arm at once: it puts the connection on its core's
 * list of clients it may have to wake (c->loop_bells) with a grace of
 * LRF_LOOP_BELL_NS; a client that enters its read meanwhile lowers the
 * arm and spins, and finds the answer without a wake-up.  When the grace
 * runs out (the scheduler's pass, or its idle spin, sees it), or before
 * the core sleeps, the arm is taken if it is still up and the answer
 * still unread, and a one-byte send to `hidden` goes on the core's
 * io_uring: submitted with everything else the pass queued, in the
 * pass's one io_uring_enter, and counted (rfloop_wakes on the core's
 * status page): the wake-up is the only cost a sleeping client imposes
 * on the service.
 *
 * A full ring (the client does not read): the writer waits like a
 * reader, polled by the scheduler, and the core sleeps at most
 * LRF_LOOP_POLL_NS at a time while it does (a rare path: it saves
 * librfloop's junk-filled socket buffers).  What we consume after the
 * client found its ring full (`want_space`) lets it go on: we drain the
 * junk it wrote to make its descriptor unwritable (conn.c, there).
 *
 * Closing (rf_closefd): both words that say nobody reads or writes here
 * any more, the client's descriptor shut down so that it wakes, our fd
 * shut down for reading so that the watch ends; the connection is freed
 * (region retired and unmapped, descriptors closed) when its last
 * operation in flight completes.  A ring the client corrupted resets the
 * connection: ECONNRESET from then on, as librfloop does.
 *
 * Counters: rfloop_conns, rfloop_bytes and rfloop_wakes on the core's
 * status page (include/rf/desc.h), written only by that core.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "librf/io_internal.h"
#include "librf/loop.h"
#include "rfloop/ring.h"

#define LD(p, mo)    __atomic_load_n((p), __ATOMIC_##mo)
#define ST(p, v, mo) __atomic_store_n((p), (v), __ATOMIC_##mo)

/* A connection's place in one of its core's lists (owner-only). */
struct lrf_loop_link {
	struct lrf_loop_conn **head;  /* the list it is on, or NULL */
	struct lrf_loop_conn *next, *prev;
};

struct lrf_loop_conn {
	struct rfl_ring rx, tx;       /* direction 0 (we read), 1 (we write) */
	void *mem;
	size_t len;
	int fd, hidden;
	bool nonblock;                /* accept4's SOCK_NONBLOCK */
	bool rx_eof;                  /* the watch saw EOF: the client writes no more */
	bool peer_gone;               /* a doorbell could not be delivered: nobody reads */
	bool armed;                   /* we raised rx's arm before sleeping */
	bool watching, belling;       /* those operations are in flight */
	bool watch_dead;              /* the watch cannot wait (fd made non-blocking) */
	bool closing;                 /* closed by the application: free when idle */
	int err;                      /* ECONNRESET once the ring is corrupt */
	uint32_t bells_owed;          /* rings asked for while one was in flight */
	struct rf_fiber *rd_wait, *wr_wait;
	struct lrf_loop_link w;       /* on its core's loop_wait while a fiber waits */
	struct lrf_loop_link b;       /* on its core's loop_bells while a wake-up may be owed */
	uint64_t bell_at;             /* rf_now_ns() when its grace runs out */
	struct lrf_io_op watch, bell;
	char bellbuf[64];             /* the client's doorbell bytes land here */
	struct sockaddr_storage peer;
	socklen_t peer_len;
};

struct lrf_loop_conn **lrf_loop_tab;

static const char ones[64] = { [0 ... 63] = 1 };

/* ---- counters (the core's own status line) ------------------------------------ */

static void count64(uint64_t *w, uint64_t n)
{
	ST(w, LD(w, RELAXED) + n, RELAXED);
}

static void count_bytes(long n)
{
	struct lrf_core *core = lrf_self();
	if (core)
		count64(&core->st->rfloop_bytes, (uint64_t)n);
}

/* ---- life ------------------------------------------------------------------------ */

struct lrf_loop_conn *lrf_loop_conn_new(void *mem, uint32_t size, int fd, int hidden,
					const struct sockaddr_storage *peer, socklen_t peer_len)
{
	struct lrf_loop_conn *c = rf_calloc(1, sizeof(*c));
	size_t len = rfl_region_size(size);

	if (!c)
		return NULL;
	if (rfl_ring_attach(&c->rx, mem, len, size, 0, RFL_READER) ||
	    rfl_ring_attach(&c->tx, mem, len, size, 1, RFL_WRITER)) {
		rf_free(c);
		return NULL;
	}
	c->mem = mem;
	c->len = len;
	c->fd = fd;
	c->hidden = hidden;
	c->peer = *peer;
	c->peer_len = peer_len;
	/* A fresh region says "ring me"; we poll while awake (the top). */
	ST(&c->rx.d->armed, 0, SEQ_CST);
	return c;
}

/* Nothing of it is in flight any more: let the region and descriptors go. */
static void conn_free(struct lrf_loop_conn *c)
{
	rfl_region_leave(c->mem, RFL_ATTACHER, RFL_RETIRED);   /* never kept: pool.c */
	munmap(c->mem, c->len);
	close(c->hidden);
	close(c->fd);
	rf_free(c);
}

static void maybe_free(struct lrf_loop_conn *c)
{
	if (c->closing && !c->watching && !c->belling)
		conn_free(c);
}

void lrf_loop_conn_drop(struct lrf_loop_conn *c)
{
	ST(&c->rx.d->rd_closed, 1, RELEASE);
	ST(&c->tx.d->wr_closed, 1, RELEASE);
	conn_free(c);
}

int lrf_loop_conn_install(struct lrf_loop_conn *c, int flags, struct sockaddr *addr,
			  socklen_t *alen)
{
	struct lrf_core *core = lrf_self();

	/* Received close-on-exec (fdpass): drop it if accept4 was not asked. */
	if (!(flags & SOCK_CLOEXEC) && fcntl(c->fd, F_SETFD, 0) < 0) {
		int err = errno;
		lrf_loop_conn_drop(c);
		return -err;
	}
	c->nonblock = flags & SOCK_NONBLOCK;
	if (addr && alen) {
		socklen_t give = *alen < c->peer_len ? *alen : c->peer_len;
		memcpy(addr, &c->peer, give);
		*alen = c->peer_len;
	}
	count64(&core->st->rfloop_conns, 1);
	__atomic_store_n(&lrf_loop_tab[c->fd], c, __ATOMIC_RELEASE);
	return c->fd;
}

/* ---- the core's list of connections fibers wait on ------------------------------ */

#define LINK(c, off) ((struct lrf_loop_link *)((char *)(c) + (off)))
#define W offsetof(struct lrf_loop_conn, w)
#define B offsetof(struct lrf_loop_conn, b)

/* Put c at the head of *head, by its link at offset off (once). */
static void link_on(struct lrf_loop_conn **head, struct lrf_loop_conn *c, size_t off)
{
	struct lrf_loop_link *l = LINK(c, off);

	if (l->head)
		return;
	*l = (struct lrf_loop_link){ .head = head, .next = *head };
	if (l->next)
		LINK(l->next, off)->prev = c;
	*head = c;
}

static void link_off(struct lrf_loop_conn *c, size_t off)
{
	struct lrf_loop_link *l = LINK(c, off);

	if (!l->head)
		return;
	if (l->prev)
		LINK(l->prev, off)->next = l->next;
	else
		*l->head = l->next;
	if (l->next)
		LINK(l->next, off)->prev = l->prev;
	*l = (struct lrf_loop_link){ 0 };
}

static void list_on(struct lrf_core *core, struct lrf_loop_conn *c)
{
	link_on(&core->loop_wait, c, W);
}

static void list_off(struct lrf_loop_conn *c)
{
	link_off(c, W);
}

static void bells_on(struct lrf_core *core, struct lrf_loop_conn *c)
{
	if (!c->b.head)
		c->bell_at = rf_now_ns() + LRF_LOOP_BELL_NS;
	link_on(&core->loop_bells, c, B);
}

static void bells_off(struct lrf_loop_conn *c)
{
	link_off(c, B);
}

static bool rd_ready(struct lrf_loop_conn *c)
{
	return c->err || c->rx_eof || rfl_ring_ready(&c->rx) != 0 ||
	       LD(&c->rx.d->wr_closed, ACQUIRE);
}

static bool wr_ready(struct lrf_loop_conn *c)
{
	return c->err || c->peer_gone || rfl_ring_space(&c->tx) != 0 ||
	       LD(&c->tx.d->rd_closed, ACQUIRE);
}

/* ---- the watch: the client's doorbell bytes and EOF ----------------------------- */

static void watch_done(struct lrf_io_op *op)
{
	struct lrf_loop_conn *c = (void *)((char *)op - offsetof(struct lrf_loop_conn, watch));

	c->watching = false;
	if (op->res == -EAGAIN)
		c->watch_dead = true;   /* would complete at once, again and again */
	else if (op->res == 0 || (op->res < 0 && op->res != -ECANCELED && op->res != -EINTR))
		c->rx_eof = true;       /* its reader wakes in the next pass */
	maybe_free(c);
}

/* Keep a receive in flight on fd (false if it is not). */
static bool watch(struct lrf_loop_conn *c, struct lrf_core *core)
{
	struct io_uring_sqe *sqe;

	if (c->watching || c->rx_eof)
		return true;
	if (c->watch_dead || c->closing || !(sqe = lrf_io_get_sqe(core->io)))
		return false;
	io_uring_prep_recv(sqe, c->fd, c->bellbuf, sizeof(c->bellbuf), 0);
	lrf_io_queue_cb(core->io, sqe, &c->watch, watch_done);
	c->watching = true;
	return true;
}

/* ---- waking the client ---------------------------------------------------------- */

static void bell_done(struct lrf_io_op *op);

/* n doorbell bytes to the client, on this core's ring (a direct send off
 * a core, or if no SQE is free). */
static void bell_send(struct lrf_loop_conn *c, uint32_t n)
{
	struct lrf_core *core = lrf_self();
	struct io_uring_sqe *sqe = core && core->io ? lrf_io_get_sqe(core->io) : NULL;

	if (core)
		ST(&core->st->rfloop_wakes, LD(&core->st->rfloop_wakes, RELAXED) + 1, RELAXED);
	if (!sqe) {
		if (send(c->hidden, ones, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    (errno == EPIPE || errno == ECONNRESET))
			c->peer_gone = true;
		return;
	}
	io_uring_prep_send(sqe, c->hidden, ones, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	lrf_io_queue_cb(core->io, sqe, &c->bell, bell_done);
	c->belling = true;
}

static void bell_done(struct lrf_io_op *op)
{
	struct lrf_loop_conn *c = (void *)((char *)op - offsetof(struct lrf_loop_conn, bell));
	uint32_t owed = c->bells_owed;

	c->belling = false;
	if (op->res == -EPIPE || op->res == -ECONNRESET)
		c->peer_gone = true;
	else if (op->res == -ECANCELED)
		owed++;   /* its core left before it went: send it again */
	c->bells_owed = 0;
	if (owed && !c->peer_gone && !c->closing)
		bell_send(c, owed < sizeof(ones) ? owed : sizeof(ones));
	maybe_free(c);
}

/* The grace is over: if the client still has not read our bytes and its
 * arm is still up, take the arm and wake it (one byte).  1 if rung. */
static int ring_client(struct lrf_loop_conn *c)
{
	bells_off(c);
	long space = rfl_ring_space(&c->tx);
	if (space < 0 || (uint32_t)space == c->tx.size || !rfl_ring_take_arm(&c->tx))
		return 0;
	if (c->belling)
		c->bells_owed++;
	else
		bell_send(c, 1);
	return 1;
}

/* We published: the client may sleep (the top, "Waking the client"). */
static void maybe_ring(struct lrf_loop_conn *c)
{
	struct lrf_core *core = lrf_self();

	if (!LD(&c->tx.d->armed, RELAXED))
		return;
	if (core && core->current)
		bells_on(core, c);
	else
		ring_client(c);   /* no scheduler to come back: now */
}

/* ---- waiting -------------------------------------------------------------------- */

/* Park until the scheduler sees the connection ready for reading (rd) or
 * writing.  Off a core there is no scheduler: a short sleep. */
static int conn_wait(struct lrf_loop_conn *c, bool rd)
{
	struct lrf_core *core = lrf_self();

	if (!core) {
		nanosleep(&(struct timespec){ 0, 20000 }, NULL);
		return 0;
	}
	if (!core->current)
		return -EWOULDBLOCK;  /* scheduler context must not block */
	if (rd)
		c->rd_wait = core->current;
	else
		c->wr_wait = core->current;
	list_on(core, c);
	watch(c, core);
	rf_park();
	if (rd)
		c->rd_wait = NULL;
	else
		c->wr_wait = NULL;
	return 0;
}

/* The ring is corrupt: reset, once, loudly (the client wakes too). */
static int broken(struct lrf_loop_conn *c)
{
	if (!c->err) {
		c->err = ECONNRESET;
		fprintf(stderr, "librf: fd %d: the RFloop client corrupted the connection's "
			"ring; connection reset\n", c->fd);
		shutdown(c->hidden, SHUT_RDWR);
	}
	return -c->err;
}

/* We consumed: a client that waits for room made its descriptor
 * unwritable with junk that reaches our hidden end; drain it. */
static void release_client(struct lrf_loop_conn *c)
{
	char junk[4096];

	if (!rfl_ring_take_want_space(&c->rx))
		return;
	for (int i = 0; i < 64; i++)
		if (recv(c->hidden, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
			break;
}

/* ---- the calls -------------------------------------------------------------------- */

/* Take what the ring holds: bytes, 0 if empty, or -errno. */
static ssize_t rd_take(struct lrf_loop_conn *c, void *buf, size_t len, bool peek)
{
	struct iovec iov = { buf, len };
	long n = rfl_ring_read(&c->rx, &iov, 1, len, peek);

	if (n < 0)
		return broken(c);
	if (n > 0 && !peek) {
		count_bytes(n);
		release_client(c);
	}
	return n;
}

ssize_t lrf_loop_recv(struct lrf_loop_conn *c, void *buf, size_t len, int flags)
{
	bool peek = flags & MSG_PEEK, all = (flags & MSG_WAITALL) && !peek;
	size_t got = 0;

	for (;;) {
		if (c->err)
			return got ? (ssize_t)got : -c->err;
		ssize_t n = rd_take(c, (char *)buf + got, len - got, peek);
		if (n < 0)
			return got ? (ssize_t)got : n;
		got += (size_t)n;
		if (got == len || (got && !all))
			return (ssize_t)got;
		/* Empty.  The client publishes its last bytes before it says
		 * it is done, so a look after the word is the final one. */
		if ((c->rx_eof || LD(&c->rx.d->wr_closed, ACQUIRE)) && !rfl_ring_ready(&c->rx))
			return (ssize_t)got;
		if (c->nonblock || (flags & MSG_DONTWAIT))
			return got ? (ssize_t)got : -EAGAIN;
		int w = conn_wait(c, true);
		if (w < 0)
			return got ? (ssize_t)got : w;
	}
}

/* Write all of buf (as a blocking TCP send does), or what fits if
 * non-blocking: bytes, or -errno if none. */
ssize_t lrf_loop_send(struct lrf_loop_conn *c, const void *buf, size_t len, int flags)
{
	bool nb = c->nonblock || (flags & MSG_DONTWAIT);
	size_t done = 0;

	while (done < len) {
		if (c->err)
			return done ? (ssize_t)done : -c->err;
		if (c->peer_gone || LD(&c->tx.d->rd_closed, ACQUIRE))
			return done ? (ssize_t)done : -EPIPE;
		struct iovec iov = { (char *)buf + done, len - done };
		long n = rfl_ring_write(&c->tx, &iov, 1, len - done);
		if (n < 0)
			return done ? (ssize_t)done : broken(c);
		if (n > 0) {
			done += (size_t)n;
			count_bytes(n);
			maybe_ring(c);
			continue;
		}
		if (nb)
			return done ? (ssize_t)done : -EAGAIN;
		int w = conn_wait(c, false);
		if (w < 0)
			return done ? (ssize_t)done : w;
	}
	return (ssize_t)done;
}

ssize_t lrf_loop_sendv(struct lrf_loop_conn *c, const struct iovec *iov, int n)
{
	size_t total = 0;

	for (int i = 0; i < n; i++) {
		ssize_t r = lrf_loop_send(c, iov[i].iov_base, iov[i].iov_len, 0);
		if (r < 0)
			return total ? (ssize_t)total : r;
		total += (size_t)r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	return (ssize_t)total;
}

int lrf_loop_poll_fd(struct lrf_loop_conn *c, short events)
{
	for (;;) {
		int r = 0;
		if ((events & POLLIN) && rd_ready(c))
			r |= POLLIN;
		if ((events & POLLOUT) && wr_ready(c))
			r |= POLLOUT;
		if (c->err)
			r |= POLLERR;
		if (r)
			return r;
		int w = conn_wait(c, events & POLLIN);
		if (w < 0)
			return w;
	}
}

int lrf_loop_close(struct lrf_loop_conn *c, int fd)
{
	__atomic_store_n(&lrf_loop_tab[fd], NULL, __ATOMIC_RELEASE);
	ST(&c->rx.d->rd_closed, 1, RELEASE);
	ST(&c->tx.d->wr_closed, 1, RELEASE);
	list_off(c);
	bells_off(c);   /* it wakes below */
	c->closing = true;
	shutdown(c->hidden, SHUT_RDWR);   /* the client wakes and reads EOF after the ring */
	if (c->watching)
		shutdown(c->fd, SHUT_RD);  /* ends the watch, on whichever core's ring it waits */
	maybe_free(c);
	return 0;
}

/* ---- the scheduler's side ------------------------------------------------------------ */

/* Wake c's waiters that can go on (all of them if `all`); their number. */
static int wake(struct lrf_loop_conn *c, bool all)
{
	int n = 0;

	if (c->rd_wait && (all || rd_ready(c))) {
		rf_unpark(c->rd_wait);
		c->rd_wait = NULL;
		n++;
	}
	if (c->wr_wait && (all || wr_ready(c))) {
		rf_unpark(c->wr_wait);
		c->wr_wait = NULL;
		n++;
	}
	return n;
}

/* Wake the clients whose grace ran out (all if `all`); their number. */
static int ring_due(struct lrf_core *core, bool all)
{
	uint64_t now = core->loop_bells && !all ? rf_now_ns() : 0;
	int n = 0;

	for (struct lrf_loop_conn *c = core->loop_bells, *next; c; c = next) {
		next = c->b.next;
		if (all || c->bell_at <= now)
			n += ring_client(c);
	}
	return n;
}

static bool bell_due(struct lrf_core *core)
{
	uint64_t now = rf_now_ns();

	for (struct lrf_loop_conn *c = core->loop_bells; c; c = c->b.next)
		if (c->bell_at <= now)
			return true;
	return false;
}

int lrf_loop_poll(struct lrf_core *core)
{
	int n = ring_due(core, false);

	for (struct lrf_loop_conn *c = core->loop_wait, *next; c; c = next) {
		next = c->w.next;
		if (c->armed) {   /* awake: the client need not ring */
			ST(&c->rx.d->armed, 0, RELAXED);
			c->armed = false;
		}
		n += wake(c, false);
		if (!c->rd_wait && !c->wr_wait)
			list_off(c);
	}
	return n;
}

bool lrf_loop_ready(struct lrf_core *core)
{
	if (core->loop_bells && bell_due(core))
		return true;
	for (struct lrf_loop_conn *c = core->loop_wait; c; c = c->w.next)
		if ((c->rd_wait && rd_ready(c)) || (c->wr_wait && wr_ready(c)))
			return true;
	return false;
}

bool lrf_loop_arm(struct lrf_core *core, int64_t *timeout_ns)
{
	bool capped = false;

	ring_due(core, true);   /* nobody is left owed a wake-up while we sleep */
	for (struct lrf_loop_conn *c = core->loop_wait; c; c = c->w.next) {
		/* Without a watch in flight nothing would wake us: sleep short. */
		if (!watch(c, core) || c->wr_wait)
			capped = true;
		if (c->rd_wait && !c->armed) {
			ST(&c->rx.d->armed, 1, SEQ_CST);
			c->armed = true;
		}
	}
	if (capped && (*timeout_ns < 0 || *timeout_ns > LRF_LOOP_POLL_NS))
		*timeout_ns = LRF_LOOP_POLL_NS;
	return lrf_loop_ready(core);   /* the last look, after the arms */
}

void lrf_loop_leave(struct lrf_core *core)
{
	ring_due(core, true);
	while (core->loop_wait) {
		struct lrf_loop_conn *c = core->loop_wait;
		if (c->armed) {
			ST(&c->rx.d->armed, 0, RELAXED);
			c->armed = false;
		}
		wake(c, true);   /* they wait again on the core they resume on */
		list_off(c);
	}
}
