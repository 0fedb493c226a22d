/*
 * sockdiag.h - asking the kernel (NETLINK_SOCK_DIAG) who really holds a
 * socket, for RFloop's registry: rfd when it records a listener and
 * librfloop at every connect, so that neither trusts a name or a file
 * for what only the kernel knows.
 *
 * Both calls take a NETLINK_SOCK_DIAG socket the caller keeps (one per
 * process is enough: each call is one request and its answer) and need no
 * privilege.
 */
#ifndef RF_BASE_SOCKDIAG_H
#define RF_BASE_SOCKDIAG_H

#include <stdint.h>

/* A NETLINK_SOCK_DIAG socket (close-on-exec), or -1 with errno. */
int base_sockdiag_open(void);

/* Would the kernel hand a TCP connection to family/addr (4 or 16 bytes)
 * port (host order) to the listening socket whose SO_COOKIE is `cookie`?
 * 1 yes, 0 no (no listener there, or another one), -errno if it cannot
 * tell. */
int base_sockdiag_tcp_listener_is(int nl, int family, const void *addr, uint16_t port,
				  uint64_t cookie);

/* The inode of the socket that the connected Unix socket `fd` (of this
 * process, inode `ino`) sends to: 0 and *peer, or -errno. */
int base_sockdiag_unix_peer(int nl, uint64_t ino, uint64_t *peer);

#endif
