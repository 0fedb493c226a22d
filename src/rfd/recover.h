/*
 * recover.h - rebuilding the subOS table from the journal after rfd
 * restarted (recover.c): live subOSes are adopted, dead ones recorded.
 */
#ifndef RF_RFD_RECOVER_H
#define RF_RFD_RECOVER_H

struct rfd;

/* 0, or -1 if the journal cannot be read (a message was logged). */
int rfd_recover(struct rfd *d);

#endif
