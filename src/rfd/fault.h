/*
 * fault.h - fault injection for the crash tests: rfd kills itself with
 * SIGKILL at the Nth point of a kind, so a test can walk every step of an
 * operation in turn and check that a restarted rfd rolls it forward or
 * back.
 *
 * Only the test build of rfd (build/tests/rfd-faults, whose fault.c is
 * compiled with -DRFD_FAULTS) acts on the points; in rfd itself the call
 * returns at once.  The test build reads RFD_FAULT=KIND:N from its
 * environment once (KIND "journal": before and after every journal
 * write, and between a snapshot and its archive step) and, with
 * RFD_FAULT_TRACE=1, logs every point it passes so a test can count them.
 *
 * KIND "pool_slow" is no point but a setting: RFD_FAULT=pool_slow:MS makes
 * the memory pool's worker take MS longer over every chunk it fills, so a
 * test can keep the pool short and watch requests wait for it.
 *
 * KIND "fork": rfd dies right after its Nth fork (fork.c), and every child
 * it forks waits FORK_SLOW_MS before anything else, as a child may on a
 * busy machine: a restarted rfd must still be reachable.
 */
#ifndef RF_RFD_FAULT_H
#define RF_RFD_FAULT_H

enum rfd_fault_kind { RFD_FAULT_JOURNAL, RFD_FAULT_POOL_SLOW, RFD_FAULT_FORK, RFD_FAULT_KINDS };

#define RFD_FAULT_FORK_SLOW_MS 300

void rfd_fault_point(enum rfd_fault_kind kind);
/* The N of RFD_FAULT=KIND:N if that kind is armed, else 0 (always 0 in
 * rfd itself).  Call it from the main thread. */
long rfd_fault_value(enum rfd_fault_kind kind);

#endif
