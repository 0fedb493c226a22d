/*
 * server.h - rfd's event loop (server.c): the control socket, its
 * connections, the signals and the subOSes' exits on one epoll set.
 */
#ifndef RF_RFD_SERVER_H
#define RF_RFD_SERVER_H

#include <signal.h>

struct rfd;

/* Block the signals rfd takes through its signalfd (before any thread). */
void rfd_server_signals(sigset_t *set);
/* Bind the control socket, make the epoll set, watch adopted subOSes.
 * 0, or -1 with a message on stderr. */
int rfd_server_listen(struct rfd *d);
/* Serve until asked to stop; -1 if epoll fails. */
int rfd_server_run(struct rfd *d);
void rfd_server_close(struct rfd *d);

#endif
