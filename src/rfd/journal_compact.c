/*
 * journal_compact.c - replacing the journal's past by a snapshot of what
 * still holds (see journal.h for the file layout and its crash argument).
 *
 * Order matters: the snapshot is complete and durable (written to a
 * temporary name, fsync'd, renamed, directory fsync'd) before the live
 * journal is archived, so at every instant replay finds either the old
 * snapshot and every live record, or the new snapshot and the records
 * after it.
 */
#include "rfd/journal.h"
#include "rfd/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "base/units.h"

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) ? -errno : 0;
	close(fd);
	return rc;
}

static int write_line(FILE *f, struct json_object *rec)
{
	const char *s = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);
	return fputs(s, f) < 0 || fputc('\n', f) < 0 ? -EIO : 0;
}

/* The header, then every kept record, in a durable file at `path`. */
static int write_snapshot(const char *path, int64_t upto, struct json_object *keep)
{
	char when[40];
	int rc = 0;
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	size_t n = json_object_array_length(keep);
	struct json_object *hdr = json_object_new_object();
	base_format_wallclock(when, sizeof(when));
	json_object_object_add(hdr, "op", json_object_new_string("snapshot"));
	json_object_object_add(hdr, "upto", json_object_new_int64(upto));
	json_object_object_add(hdr, "records", json_object_new_int64((int64_t)n));
	json_object_object_add(hdr, "time", json_object_new_string(when));
	rc = write_line(f, hdr);
	json_object_put(hdr);
	for (size_t i = 0; !rc && i < n; i++)
		rc = write_line(f, json_object_array_get_idx(keep, i));
	if (!rc && (fflush(f) || fsync(fileno(f))))
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

/* journal.(N-1) -> journal.N ... journal -> journal.1, then a new live
 * file.  A crash in between leaves no live file: open creates it. */
static int archive_live(struct rfd_journal *j)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	snprintf(to, sizeof(to), "%s.%d", j->path, RFD_JOURNAL_ARCHIVES);
	unlink(to);
	for (int i = RFD_JOURNAL_ARCHIVES - 1; i >= 1; i--) {
		snprintf(from, sizeof(from), "%s.%d", j->path, i);
		snprintf(to, sizeof(to), "%s.%d", j->path, i + 1);
		if (rename(from, to) && errno != ENOENT)
			return -errno;
	}
	snprintf(to, sizeof(to), "%s.1", j->path);
	if (rename(j->path, to))
		return -errno;
	int fd = open(j->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	close(j->fd);
	j->fd = fd;
	j->size = 0;
	return fsync_dir(j->dir);
}

int rfd_journal_compact(struct rfd_journal *j)
{
	char tmp[PATH_MAX + 16], snap[PATH_MAX + 16];
	int64_t upto = j->next_seq - 1;
	struct json_object *keep = j->reduce ? j->reduce(j) : NULL;
	if (!keep)
		return -EINVAL;
	snprintf(tmp, sizeof(tmp), "%s/journal.snap.tmp", j->dir);
	snprintf(snap, sizeof(snap), "%s/journal.snap", j->dir);
	int rc = write_snapshot(tmp, upto, keep);
	json_object_put(keep);
	if (!rc && rename(tmp, snap))
		rc = -errno;
	if (!rc)
		rc = fsync_dir(j->dir);
	if (rc) {
		unlink(tmp);
		return rc;
	}
	j->snap_upto = upto;
	rfd_fault_point(RFD_FAULT_JOURNAL); /* between snapshot and archive */
	rc = archive_live(j);
	if (!rc)
		j->compactions++;
	return rc;
}
