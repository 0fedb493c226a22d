/*
 * home.h - where rfd's own threads run (home.c).
 */
#ifndef RF_RFD_HOME_H
#define RF_RFD_HOME_H

struct rfd;

/* Move rfd's threads to the host's cores, else to the managed cores no
 * subOS owns, else anywhere; nothing if that is where they are. */
void rfd_home_update(struct rfd *d);

#endif
