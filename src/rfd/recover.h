/*
 * recover.h - rebuilding the subOS table from the journal after rfd
 * restarted (recover.c): live subOSes are adopted, dead ones recorded.
 */
#ifndef RF_RFD_RECOVER_H
#define RF_RFD_RECOVER_H

struct rfd;
struct rfd_subos;

/* 0, or -1 if the journal cannot be read (a message was logged). */
int rfd_recover(struct rfd *d);

/* reconcile.c: an adopted subOS's cpuset, freezer and description rolled
 * forward to the journal's cores (a change rfd died in the middle of). */
void rfd_reconcile_cores(struct rfd *d, struct rfd_subos *s);

#endif
