/*
 * journal.h - rfd's append-only, fsync'd record of every adjustment.
 *
 * One JSON object per line in STATE_DIR/journal.  An adjustment is
 * acknowledged to its caller only after its record is on disk, so the
 * journal is the authority a restarted rfd rebuilds its table from.  A
 * crash can leave a torn last line; opening the journal cuts it off.
 */
#ifndef RF_RFD_JOURNAL_H
#define RF_RFD_JOURNAL_H

#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

struct rfd_journal {
	int fd;
	int64_t next_seq;
	off_t size;       /* bytes of whole records */
	char path[4096];
};

/* Open (creating) DIR/journal.  Returns 0 or -errno. */
int rfd_journal_open(struct rfd_journal *j, const char *dir);
void rfd_journal_close(struct rfd_journal *j);

/* Append `rec` after adding "seq" and "time" to it; fdatasync.  Returns the
 * record's seq, or -errno with the file exactly as before. */
int64_t rfd_journal_append(struct rfd_journal *j, struct json_object *rec);

/* Call fn for every whole record of the journal at `path`, oldest first;
 * stops early if fn returns nonzero.  Returns 0, fn's value, or -errno.
 * Lines that are not JSON objects are skipped. */
typedef int (*rf_journal_fn)(struct json_object *rec, void *ctx);
int rfd_journal_replay(const char *path, rf_journal_fn fn, void *ctx);

#endif
