/*
 * server_conn.h - rfd's control connections (server_conn.c): accepted
 * non-blocking, read a line at a time, answered in order, each with its
 * own output queue (conn.h), so a client that stalls holds up nobody but
 * itself.
 */
#ifndef RF_RFD_SERVER_CONN_H
#define RF_RFD_SERVER_CONN_H

#include <stdbool.h>
#include <stdint.h>

struct rfd;
struct rfd_reply_to;
struct json_object;

/* Accept every connection waiting on listening socket lfd: the control
 * socket, or (door) the subOSes' one, which turns away host callers that
 * are neither root nor rfd's user (server.c says why). */
void rfd_conns_accept(struct rfd *d, int lfd, bool door);
/* epoll reported `events` on connection descriptor fd. */
void rfd_conns_event(struct rfd *d, uint32_t fd, uint32_t events);
/* A request in flight on `to` ended (d->answer points here): queue its
 * answer (consumed) with pass_fd (or -1; closed once sent), then serve the
 * connection's later lines.  A connection gone meanwhile drops both. */
void rfd_conns_answer(struct rfd *d, const struct rfd_reply_to *to, struct json_object *ans,
		      int pass_fd);
/* Close every connection (rfd stops). */
void rfd_conns_close_all(struct rfd *d);

#endif
