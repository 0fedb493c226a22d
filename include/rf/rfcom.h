/*
 * rfcom.h - RFcom: channels between subOSes, by name, for librf
 * applications and for plain Linux programs.
 *
 * The RainForest paper's RFcom offers six calls: open/close/read/write on a
 * socket-like message channel between two subOSes, and map/unmap of a
 * shared memory region between two subOSes.  Here a channel is created by
 * the operator (`rfm chan create NAME --between A,B [--kind msg|map]`) and
 * rfd grants it only to programs running inside subOS A or B: the calls
 * below ask rfd (the socket in $RF_SOCKET, which rfd puts in every subOS's
 * environment) for the channel's memory, receive it as a descriptor, map
 * it and from then on never talk to rfd again.  Reads and writes are plain
 * shared-memory operations on two FICM rings (rf/ficm.h), one per
 * direction; a receiver polls while busy and sleeps on a futex only when
 * idle, a sender wakes it only if it sleeps.
 *
 * Linking:
 *   - plain Linux programs: build/librfcom.so, `pkg-config --cflags --libs
 *     rfcom` (PKG_CONFIG_PATH=build).
 *   - librf applications: librf.a contains the same calls.
 *   Both export them under the paper's names (rf_open, rf_close, rf_read,
 *   rf_write, rf_map, rf_unmap) and as rfcom_*; define RFCOM_NO_SHORT_NAMES
 *   to declare only the latter.
 *
 * Messages.  rfcom_write sends one message of 0..RFCOM_MSG_MAX bytes;
 * rfcom_read returns one whole message: boundaries are kept, as on a
 * SOCK_SEQPACKET socket.  A FICM slot carries 56 bytes; a longer message
 * travels as consecutive slots marked "more follows" (RFCOM_FRAG_* below)
 * and is put together again by the reader, which validates every fragment
 * (a peer that sends inconsistent fragments gets the channel closed and
 * the reader -EBADMSG, never a bad access).
 *
 * Blocking.  By default rfcom_read waits for a message and rfcom_write for
 * room in the ring.  With RFCOM_NONBLOCK (at open, or rfcom_set_flags)
 * they return -EAGAIN instead; a non-blocking write sends the whole message
 * or nothing, so a message longer than the ring (slots x 56 bytes) gives
 * -EMSGSIZE in that mode.
 *   - plain programs: the reader spins for RFCOM_SPIN_NS, then sleeps on
 *     the ring's futex (rf_ficm_wait); a writer facing a full ring spins,
 *     then sleeps in growing steps (1 us .. 1 ms) until there is room.
 *   - librf applications, in a fiber: the call blocks only the fiber.  It
 *     spins briefly (RFCOM_SPIN_NS), then yields to the core's other fibers
 *     (rf_yield) for up to RFCOM_YIELD_NS, then sleeps with rf_sleep_ns in
 *     growing steps (1 us .. 1 ms) so an idle core can sleep: a fiber never
 *     sleeps in the kernel and never holds its core.  The futex is not used
 *     there (it would block every fiber of the core).
 *   - librf scheduler context (events, timers, hooks): blocking calls give
 *     -EWOULDBLOCK; foreign threads behave as plain programs.
 *   rfcom_open itself talks to rfd over a Unix socket with ordinary
 *   blocking system calls (once per channel, off the hot path).
 *
 * Ending.  rfcom_close marks both rings closed: the peer reads what was
 * sent before, then gets -EPIPE.  A channel carries one conversation: once
 * a side closed it (or rfd closed it: `rfm chan close`, or one of its two
 * subOSes was destroyed) it cannot be opened again; create it anew.
 *
 * Threads.  A handle may be read by one thread and written by another at
 * the same time; two concurrent readers (or writers) of one handle are not
 * allowed.  Only one process per side should have the channel open.
 *
 * Errors are negative errno values:
 *   -ENOENT      no channel of that name
 *   -EACCES      the caller does not run in one of the channel's subOSes
 *   -ECONNREFUSED rfd cannot be reached ($RF_SOCKET unset or stale)
 *   -EPROTOTYPE  rfcom_open of a map channel, or rfcom_map of a msg one
 *   -EPROTO      rfd's answer made no sense
 *   -EINVAL      a bad name, flag or argument
 *   -EBADF       not an open handle
 *   -EMFILE      too many open handles (RFCOM_MAX_HANDLES)
 *   -EAGAIN      non-blocking and nothing to read / no room
 *   -EMSGSIZE    a message longer than RFCOM_MSG_MAX (or, non-blocking,
 *                longer than the ring)
 *   -EPIPE       the channel is closed (after the peer's last message)
 *   -EBADMSG     the peer corrupted the channel (it is now closed)
 */
#ifndef RF_RFCOM_H
#define RF_RFCOM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RFCOM_NONBLOCK    0x1          /* flag for rfcom_open / rfcom_set_flags */
#define RFCOM_MSG_MAX     65536        /* bytes in one message */
#define RFCOM_MAX_HANDLES 1024
#define RFCOM_SPIN_NS     20000ull     /* poll this long before sleeping */
#define RFCOM_YIELD_NS    200000ull    /* librf: yield this long before rf_sleep_ns */

/* The fragment marks in a FICM message's `type` (its `tag` holds the whole
 * message's length).  Exposed for tools that read a channel directly. */
#define RFCOM_FRAG_LAST   0x5201       /* the message's last (or only) slot */
#define RFCOM_FRAG_MORE   0x5202       /* more slots of this message follow */

/* Open message channel `name` from inside one of its two subOSes.  flags:
 * 0 or RFCOM_NONBLOCK.  Returns a handle (>= 0) or -errno. */
int rfcom_open(const char *name, int flags);

/* Close the handle and both directions of the channel (the peer gets
 * -EPIPE once it has read what was sent).  Returns 0 or -EBADF. */
int rfcom_close(int h);

/* Receive one message into buf.  Returns the message's length, which is
 * more than len if buf was too short (the rest of it is discarded, as with
 * recv(2)'s MSG_TRUNC on a datagram socket), or -errno. */
ssize_t rfcom_read(int h, void *buf, size_t len);

/* Send buf[0..len) as one message.  Returns len or -errno. */
ssize_t rfcom_write(int h, const void *buf, size_t len);

/* Change the handle's flags (0 or RFCOM_NONBLOCK).  Returns 0 or -errno. */
int rfcom_set_flags(int h, int flags);

/* Map the shared region of map channel `name` (read-write, shared with the
 * other subOS).  Returns its address and stores its size (a multiple of
 * the page size) in *len; NULL with errno set (as positive values) on
 * error.  The region stays valid until rfcom_unmap, even if the channel is
 * closed meanwhile. */
void *rfcom_map(const char *name, size_t *len);

/* Unmap a region from rfcom_map.  Returns 0 or -EINVAL. */
int rfcom_unmap(void *addr);

/* The paper's names, the same calls (librfcom.so and librf.a). */
#if !defined(RFCOM_NO_SHORT_NAMES)
int rf_open(const char *name, int flags);
int rf_close(int h);
ssize_t rf_read(int h, void *buf, size_t len);
ssize_t rf_write(int h, const void *buf, size_t len);
void *rf_map(const char *name, size_t *len);
int rf_unmap(void *addr);
#endif

#endif
