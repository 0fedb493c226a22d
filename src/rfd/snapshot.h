/*
 * snapshot.h - the records of the journal that still hold (snapshot.c),
 * rfd's reduce function for journal compaction (journal.h).
 */
#ifndef RF_RFD_SNAPSHOT_H
#define RF_RFD_SNAPSHOT_H

#include "rfd/journal.h"

/* A new json array of the records a snapshot keeps, in seq order; NULL if
 * the journal cannot be read. */
struct json_object *rfd_snapshot_reduce(struct rfd_journal *j);

#endif
