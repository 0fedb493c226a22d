/*
 * journal.h - rfd's append-only, fsync'd record of every adjustment, with
 * snapshots so that replay time stays flat however long rfd has run.
 *
 * One JSON object per line in STATE_DIR/journal.  An adjustment is
 * acknowledged to its caller only after its record is on disk, so the
 * journal is the authority a restarted rfd rebuilds its table from.  A
 * crash can leave a torn last line; opening the journal cuts it off.
 *
 * Compaction: once the live journal passes max_bytes, the records that
 * still describe the present (chosen by j->reduce, see snapshot.c) are
 * written to STATE_DIR/journal.snap, headed by {"op":"snapshot","upto":S};
 * the live journal is then archived as journal.1 (older archives shift to
 * journal.2 .. journal.RFD_JOURNAL_ARCHIVES, the oldest is dropped) and a
 * new one begins.  State replay reads the snapshot, then the live records
 * with seq > S, so a crash between the two steps replays nothing twice.
 * History (rfm log) reads the archives and the live journal instead.
 */
#ifndef RF_RFD_JOURNAL_H
#define RF_RFD_JOURNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#define RFD_JOURNAL_ARCHIVES 4
#define RFD_JOURNAL_MAX_BYTES (1u << 20)

struct rfd_journal;

/* The records that still matter, in seq order: a new json array (the
 * snapshot's body), or NULL on error.  See snapshot.c. */
typedef struct json_object *(*rfd_journal_reduce_fn)(struct rfd_journal *j);

struct rfd_journal {
	int fd;
	int64_t next_seq;
	int64_t snap_upto; /* records with seq <= this are in the snapshot */
	off_t size;        /* bytes of whole records in the live journal */
	off_t max_bytes;   /* compact past this (0: never) */
	rfd_journal_reduce_fn reduce;
	int compactions;   /* since open */
	/* since open, for /metrics: records and bytes appended, and records
	 * of op "policy" (the policy's moves) */
	uint64_t appended, appended_bytes, policy_records;
	char dir[PATH_MAX];
	char path[PATH_MAX];
};

/* Open (creating) DIR/journal.  Returns 0 or -errno. */
int rfd_journal_open(struct rfd_journal *j, const char *dir);
void rfd_journal_close(struct rfd_journal *j);

/* Append `rec` after adding "seq" and "time" to it, and fdatasync.
 * Returns the record's seq, or -errno with the file exactly as before.
 * Compacts afterwards when the journal is over max_bytes and reduce is set
 * (a failed compaction leaves the journal as it was and is retried at the
 * next append).
 *   append_nosync: without the fdatasync, for intent records.  They guard
 *   against rfd's own death, which the page cache survives; after a
 *   machine crash no subOS is left to roll back. */
int64_t rfd_journal_append(struct rfd_journal *j, struct json_object *rec);
int64_t rfd_journal_append_nosync(struct rfd_journal *j, struct json_object *rec);

/* Where the next record goes (mark, before an append), and taking that
 * record back (retract): only if it is still the last one and no
 * compaction came between, else -EAGAIN (append what undoes it instead);
 * 0, or -errno.  For a record written ahead of its outcome (lifecycle.c:
 * a create's, while the program attaches) that must leave no trace if
 * the outcome is a failure. */
struct rfd_journal_mark {
	int64_t seq;
	off_t size;
	int compactions;
};
void rfd_journal_mark(const struct rfd_journal *j, struct rfd_journal_mark *m);
int rfd_journal_retract(struct rfd_journal *j, const struct rfd_journal_mark *m);

/* Call fn for every whole record, oldest first; stops early if fn returns
 * nonzero.  Returns 0, fn's value, or -errno.  Lines that are not JSON
 * objects are skipped.
 *   replay_file: one file as it is (missing: no calls).
 *   replay:      the state: snapshot, then live records after it.
 *   history:     what happened: the archives, then the live journal. */
typedef int (*rf_journal_fn)(struct json_object *rec, void *ctx);
int rfd_journal_replay_file(const char *path, rf_journal_fn fn, void *ctx);
int rfd_journal_replay(const struct rfd_journal *j, rf_journal_fn fn, void *ctx);
int rfd_journal_history(const struct rfd_journal *j, rf_journal_fn fn, void *ctx);

/* Write the snapshot from j->reduce and start a new live journal now.
 * 0 or -errno (the journal is then as before). */
int rfd_journal_compact(struct rfd_journal *j);

#endif
