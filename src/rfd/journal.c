/*
 * journal.c - append-only JSON-lines journal with torn-tail recovery.
 *
 * Appends are one write(2) of a whole line on an O_APPEND descriptor
 * followed by fdatasync; a short write or a failed sync is undone with
 * ftruncate so that an error leaves the file as it was.
 */
#include "rfd/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/units.h"

struct scan {
	off_t good;       /* end of the last whole, parsable record */
	int64_t last_seq;
};

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
		struct json_object *seq;
		if (json_object_object_get_ex(rec, "seq", &seq))
			sc->last_seq = json_object_get_int64(seq);
		sc->good = off;
		if (fn)
			rc = fn(rec, ctx);
		json_object_put(rec);
		if (rc)
			break;
	}
	free(line);
	return rc;
}

int rfd_journal_open(struct rfd_journal *j, const char *dir)
{
	struct scan sc;
	int err;

	snprintf(j->path, sizeof(j->path), "%s/journal", dir);
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
	j->next_seq = sc.last_seq + 1;
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

int64_t rfd_journal_append(struct rfd_journal *j, struct json_object *rec)
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
	ssize_t n = write(j->fd, line, len + 1);
	err = n < 0 ? -errno : 0;
	free(line);
	if (n == (ssize_t)len + 1 && fdatasync(j->fd) == 0) {
		j->size += n;
		return j->next_seq++;
	}
	if (!err)
		err = n >= 0 && n != (ssize_t)len + 1 ? -EIO : -errno;
	if (ftruncate(j->fd, j->size) < 0) { /* leave the file as it was */
		/* nothing more we can do; the torn line is cut at next open */
	}
	return err;
}

int rfd_journal_replay(const char *path, rf_journal_fn fn, void *ctx)
{
	struct scan sc;
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	int rc = scan_file(f, &sc, fn, ctx);
	fclose(f);
	return rc;
}
