/*
 * check.h - the partition table's invariants, checked (check.c).
 *
 * DESIGN.md's first rule: each core and each memory chunk has exactly one
 * owner at any time.  rfd checks that after every step of an operation
 * (op.c) and after a subOS's end or restart (server.c); a breach is
 * logged as "partition table invariant broken: ...", which fails every
 * integration test (tests/integration/lib.sh looks for it).
 */
#ifndef RF_RFD_CHECK_H
#define RF_RFD_CHECK_H

#include <stddef.h>

struct rfd;

/* 0 if every invariant holds; else -1 with the first breach in why:
 *  - a managed core's owner is the host or a live subOS (not exited)
 *    whose record lists that core, and every core a live subOS lists is
 *    managed and owned by it;
 *  - a pool chunk in a subOS's record is owned by that subOS in the pool,
 *    no chunk is held twice (by subOSes or channels), and every owned
 *    chunk is held by someone;
 *  - the memory the table counts as used is the sum of the live subOSes'
 *    memory and the channels' charges. */
int rfd_check_invariants(struct rfd *d, char *why, size_t len);
/* Check, and log a breach. */
void rfd_check(struct rfd *d);

#endif
