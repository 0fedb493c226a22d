/*
 * journal.c - append-only JSON-lines journal with torn-tail recovery, and
 * its three readings: one file, the state (snapshot + live), the history
 * (archives + live).  Compaction itself is journal_compact.c.
 *
 * Appends are one write(2) of a whole line on an O_APPEND descriptor
 * followed by fdatasync; a short write or a failed sync is undone with
 * ftruncate so that an error leaves the file as it was.
 */
#include "rfd/journal.h"
#include "rfd/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/json.h"
#include "base/units.h"

struct scan {
	off_t good;       /* end of the last whole, parsable record */
	int64_t last_seq;
	int64_t after;    /* only records with seq > after reach fn */
};

static int64_t rec_seq(struct json_object *rec)
{
	struct json_object *seq;
	return json_object_object_get_ex(rec, "seq", &seq) ? json_object_get_int64(seq) : 0;
}

/* Walk the whole records of an open file; `fn` may be NULL (just scan). */
static int scan_file(FILE *f, struct scan *sc, rf_journal_fn fn, void *ctx)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	off_t off = 0;
	int rc = 0;

	sc->good = 0;
	sc->last_seq = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		off += n;
		if (line[n - 1] != '\n')
			break; /* torn tail */
		struct json_object *rec = json_tokener_parse(line);
		if (!rec || !json_object_is_type(rec, json_type_object)) {
			json_object_put(rec);
			continue;
		}
		int64_t seq = rec_seq(rec);
		if (seq)
			sc->last_seq = seq;
		sc->good = off;
		if (fn && (seq > sc->after || !seq))
			rc = fn(rec, ctx);
		json_object_put(rec);
		if (rc)
			break;
	}
	free(line);
	return rc;
}

static int replay_after(const char *path, int64_t after, rf_journal_fn fn, void *ctx)
{
	struct scan sc = { .after = after };
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	int rc = scan_file(f, &sc, fn, ctx);
	fclose(f);
	return rc;
}

int rfd_journal_replay_file(const char *path, rf_journal_fn fn, void *ctx)
{
	return replay_after(path, INT64_MIN, fn, ctx);
}

/* The snapshot's header names the last seq it covers. */
static int snap_header(struct json_object *rec, void *ctx)
{
	struct json_object *op, *upto;
	if (json_object_object_get_ex(rec, "op", &op) &&
	    strcmp(json_object_get_string(op), "snapshot") == 0 &&
	    json_object_object_get_ex(rec, "upto", &upto))
		*(int64_t *)ctx = json_object_get_int64(upto);
	return 1; /* only the first line */
}

static void snap_path(const struct rfd_journal *j, char *buf, size_t len)
{
	snprintf(buf, len, "%s/journal.snap", j->dir);
}

/* Calls fn for the snapshot's records, not its header. */
struct skip_header {
	rf_journal_fn fn;
	void *ctx;
	bool seen;
};

static int body_only(struct json_object *rec, void *arg)
{
	struct skip_header *sh = arg;
	if (!sh->seen) {
		sh->seen = true;
		return 0;
	}
	return sh->fn(rec, sh->ctx);
}

int rfd_journal_replay(const struct rfd_journal *j, rf_journal_fn fn, void *ctx)
{
	char path[PATH_MAX + 16];
	struct skip_header sh = { fn, ctx, false };
	snap_path(j, path, sizeof(path));
	int rc = rfd_journal_replay_file(path, body_only, &sh);
	if (rc)
		return rc;
	return replay_after(j->path, j->snap_upto, fn, ctx);
}

int rfd_journal_history(const struct rfd_journal *j, rf_journal_fn fn, void *ctx)
{
	char path[PATH_MAX + 16];
	for (int i = RFD_JOURNAL_ARCHIVES; i >= 1; i--) {
		snprintf(path, sizeof(path), "%s.%d", j->path, i);
		int rc = rfd_journal_replay_file(path, fn, ctx);
		if (rc)
			return rc;
	}
	return rfd_journal_replay_file(j->path, fn, ctx);
}

/* Open the live file, cut a torn tail, learn where the sequence stands. */
int rfd_journal_open(struct rfd_journal *j, const char *dir)
{
	char path[PATH_MAX + 16];
	struct scan sc = { .after = INT64_MAX };
	int err;

	snprintf(j->dir, sizeof(j->dir), "%s", dir);
	snprintf(j->path, sizeof(j->path), "%s/journal", dir);
	j->snap_upto = 0;
	j->compactions = 0;
	snap_path(j, path, sizeof(path));
	rfd_journal_replay_file(path, snap_header, &j->snap_upto);
	j->fd = open(j->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (j->fd < 0)
		return -errno;
	FILE *f = fdopen(dup(j->fd), "r");
	if (!f) {
		err = -errno;
		goto fail;
	}
	scan_file(f, &sc, NULL, NULL);
	fclose(f);
	if (ftruncate(j->fd, sc.good) < 0) { /* cut a torn tail */
		err = -errno;
		goto fail;
	}
	j->size = sc.good;
	j->next_seq = (sc.last_seq > j->snap_upto ? sc.last_seq : j->snap_upto) + 1;
	return 0;
fail:
	close(j->fd);
	j->fd = -1;
	return err;
}

void rfd_journal_close(struct rfd_journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}

static int64_t append(struct rfd_journal *j, struct json_object *rec, bool sync)
{
	char when[40];
	int err;

	base_format_wallclock(when, sizeof(when));
	json_object_object_add(rec, "seq", json_object_new_int64(j->next_seq));
	json_object_object_add(rec, "time", json_object_new_string(when));
	const char *s = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s);
	char *line = malloc(len + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, s, len);
	line[len] = '\n';
	rfd_fault_point(RFD_FAULT_JOURNAL); /* rfd dies before the record */
	ssize_t n = write(j->fd, line, len + 1);
	err = n < 0 ? -errno : 0;
	free(line);
	if (n == (ssize_t)len + 1 && (!sync || fdatasync(j->fd) == 0)) {
		int64_t seq = j->next_seq++;
		j->size += n;
		j->appended++;
		j->appended_bytes += (uint64_t)n;
		if (strcmp(base_json_str(rec, "op", ""), "policy") == 0)
			j->policy_records++;
		rfd_fault_point(RFD_FAULT_JOURNAL); /* ... or right after it */
		if (j->reduce && j->max_bytes && j->size > j->max_bytes)
			rfd_journal_compact(j);
		return seq;
	}
	if (!err)
		err = n >= 0 && n != (ssize_t)len + 1 ? -EIO : -errno;
	if (ftruncate(j->fd, j->size) < 0) { /* leave the file as it was */
		/* nothing more we can do; the torn line is cut at next open */
	}
	return err;
}

int64_t rfd_journal_append(struct rfd_journal *j, struct json_object *rec)
{
	return append(j, rec, true);
}

int64_t rfd_journal_append_nosync(struct rfd_journal *j, struct json_object *rec)
{
	return append(j, rec, false);
}

int rfd_journal_retract(struct rfd_journal *j, const struct rfd_journal_mark *m)
{
	if (j->fd < 0 || j->next_seq != m->seq + 1 || j->compactions != m->compactions ||
	    j->size <= m->size)
		return -EAGAIN;
	if (ftruncate(j->fd, m->size) < 0 || fdatasync(j->fd) < 0)
		return -errno;
	j->appended--;
	j->appended_bytes -= (uint64_t)(j->size - m->size);
	j->size = m->size;
	j->next_seq = m->seq;
	return 0;
}

void rfd_journal_mark(const struct rfd_journal *j, struct rfd_journal_mark *m)
{
	*m = (struct rfd_journal_mark){ .seq = j->next_seq, .size = j->size,
					.compactions = j->compactions };
}
