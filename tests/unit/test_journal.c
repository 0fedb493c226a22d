/*
 * test_journal.c - rfd's append-only journal (src/rfd/journal.c).
 *
 * Each test works in its own mkdtemp directory under /tmp, removed after.
 * Covers: append assigns increasing seq and an RFC 3339 time and writes one
 * whole line per record, readable by another descriptor at once; a stale
 * "seq" in the record is replaced; reopening continues the sequence; a torn
 * last line (written by hand without its newline) is cut at open and
 * ignored by replay; lines that are not JSON objects are skipped by replay;
 * replay stops early with the callback's value; replay of a missing file
 * returns 0 without calls; opening in a missing directory fails with
 * -ENOENT.  Compaction: the snapshot keeps exactly the records that still
 * hold (latest create and latest later record per subOS, open channels,
 * the last start), state replay is the same before and after, history
 * still has everything, the sequence continues, a crash between snapshot
 * and archive replays nothing twice, and automatic compaction keeps the
 * live journal and the archives bounded.  Retract: the last record taken
 * back leaves the file byte for byte as before and its seq is reused;
 * refused (-EAGAIN, nothing changed) once another record came after it or
 * a compaction came between.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "rfd/journal.h"
#include "rfd/snapshot.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/rf-test-journal-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/journal", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				char p[512];
				snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
				unlink(p);
			}
		}
		closedir(d);
	}
	int rc = rmdir(f->dir);
	free(f);
	return rc;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char *buf = calloc(1, 1 << 16);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 16) - 1, fp);
	fclose(fp);
	return buf;
}

static void write_raw(const char *path, const char *text, bool append)
{
	int fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static int64_t append_op(struct rfd_journal *j, const char *op)
{
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "op", json_object_new_string(op));
	int64_t seq = rfd_journal_append(j, r);
	json_object_put(r);
	return seq;
}

/* Replay collector: seqs and ops in order; stops when seq == stop_at. */
struct seen {
	int n;
	int64_t seq[32];
	char op[32][16];
	int64_t stop_at;
};

static int collect(struct json_object *rec, void *ctx)
{
	struct seen *s = ctx;
	struct json_object *v;
	assert_true(s->n < 32);
	s->seq[s->n] = json_object_object_get_ex(rec, "seq", &v) ? json_object_get_int64(v) : -1;
	snprintf(s->op[s->n], sizeof(s->op[0]), "%s",
		 json_object_object_get_ex(rec, "op", &v) ? json_object_get_string(v) : "");
	s->n++;
	return s->stop_at && s->seq[s->n - 1] == s->stop_at ? 42 : 0;
}

static void test_append_seq_time_lines(void **state)
{
	struct fixture *f = *state;
	struct rfd_journal j;
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	assert_true(j.fd >= 0);
	assert_true(j.next_seq == 1);
	assert_true(j.size == 0);
	assert_string_equal(j.path, f->path);

	assert_true(append_op(&j, "start") == 1);
	assert_true(append_op(&j, "create") == 2);
	assert_true(append_op(&j, "destroy") == 3);
	assert_true(j.next_seq == 4);

	/* Read through another descriptor while the journal is still open. */
	size_t len;
	char *text = slurp(f->path, &len);
	assert_true((off_t)len == j.size);
	assert_true(len > 0 && text[len - 1] == '\n');
	const char *ops[] = { "start", "create", "destroy" };
	char prev_time[40] = "";
	int lines = 0;
	for (char *save, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		assert_true(lines < 3);
		struct json_object *o = json_tokener_parse(line), *v;
		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "seq", &v));
		assert_true(json_object_get_int64(v) == lines + 1);
		assert_true(json_object_object_get_ex(o, "op", &v));
		assert_string_equal(json_object_get_string(v), ops[lines]);
		assert_true(json_object_object_get_ex(o, "time", &v));
		const char *t = json_object_get_string(v);
		assert_int_equal(strlen(t), 24);
		assert_int_equal(t[10], 'T');
		assert_int_equal(t[23], 'Z');
		assert_true(strcmp(t, prev_time) >= 0);
		snprintf(prev_time, sizeof(prev_time), "%s", t);
		json_object_put(o);
		lines++;
	}
	assert_int_equal(lines, 3);
	free(text);
	rfd_journal_close(&j);
	assert_int_equal(j.fd, -1);
	rfd_journal_close(&j); /* twice is harmless */
}

static void test_stale_seq_replaced(void **state)
{
	struct fixture *f = *state;
	struct rfd_journal j;
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "seq", json_object_new_int64(99));
	json_object_object_add(r, "op", json_object_new_string("x"));
	assert_true(rfd_journal_append(&j, r) == 1);
	json_object_put(r);
	rfd_journal_close(&j);
	struct seen s = { 0 };
	assert_int_equal(rfd_journal_replay_file(f->path, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_true(s.seq[0] == 1);
}

static void test_reopen_continues(void **state)
{
	struct fixture *f = *state;
	struct rfd_journal j;
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	assert_true(append_op(&j, "a") == 1);
	assert_true(append_op(&j, "b") == 2);
	off_t size = j.size;
	rfd_journal_close(&j);

	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	assert_true(j.next_seq == 3);
	assert_true(j.size == size);
	assert_true(file_size(f->path) == size);
	assert_true(append_op(&j, "c") == 3);
	rfd_journal_close(&j);

	struct seen s = { 0 };
	assert_int_equal(rfd_journal_replay_file(f->path, collect, &s), 0);
	assert_int_equal(s.n, 3);
	for (int i = 0; i < 3; i++)
		assert_true(s.seq[i] == i + 1);
	assert_string_equal(s.op[2], "c");
}

static void test_reopen_after_gap(void **state)
{
	struct fixture *f = *state;
	write_raw(f->path, "{\"seq\":7,\"op\":\"a\"}\n{\"seq\":10,\"op\":\"b\"}\n", false);
	struct rfd_journal j;
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	assert_true(j.next_seq == 11);
	assert_true(append_op(&j, "c") == 11);
	rfd_journal_close(&j);
}

static void test_torn_tail_cut(void **state)
{
	struct fixture *f = *state;
	struct rfd_journal j;
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	assert_true(append_op(&j, "a") == 1);
	assert_true(append_op(&j, "b") == 2);
	off_t whole = j.size;
	rfd_journal_close(&j);

	write_raw(f->path, "{\"seq\":3,\"op\":\"cr", true); /* a crash mid-write */
	assert_true(file_size(f->path) > whole);

	/* Replay of the torn file sees the two whole records only. */
	struct seen s = { 0 };
	assert_int_equal(rfd_journal_replay_file(f->path, collect, &s), 0);
	assert_int_equal(s.n, 2);

	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	assert_true(file_size(f->path) == whole);
	assert_true(j.size == whole);
	assert_true(j.next_seq == 3);
	assert_true(append_op(&j, "c") == 3);
	rfd_journal_close(&j);

	memset(&s, 0, sizeof(s));
	assert_int_equal(rfd_journal_replay_file(f->path, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.seq[2] == 3);
	assert_string_equal(s.op[2], "c");
}

static void test_torn_tail_even_if_valid_json(void **state)
{
	struct fixture *f = *state;
	write_raw(f->path, "{\"seq\":1,\"op\":\"a\"}\n{\"seq\":2,\"op\":\"b\"}", false);
	struct seen s = { 0 };
	assert_int_equal(rfd_journal_replay_file(f->path, collect, &s), 0);
	assert_int_equal(s.n, 1); /* no newline: not a whole record */

	struct rfd_journal j;
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	assert_true(j.next_seq == 2);
	assert_true(file_size(f->path) == (off_t)strlen("{\"seq\":1,\"op\":\"a\"}\n"));
	rfd_journal_close(&j);
}

static void test_non_json_lines_skipped(void **state)
{
	struct fixture *f = *state;
	const char *good = "{\"seq\":1,\"op\":\"a\"}\n"
			   "this is not json\n"
			   "[1,2,3]\n"
			   "\"a string\"\n"
			   "\n"
			   "{\"seq\":2,\"op\":\"b\"}\n";
	write_raw(f->path, good, false);
	struct seen s = { 0 };
	assert_int_equal(rfd_journal_replay_file(f->path, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(s.seq[0] == 1 && s.seq[1] == 2);
	assert_string_equal(s.op[0], "a");
	assert_string_equal(s.op[1], "b");

	/* Open keeps everything up to the last whole record. */
	struct rfd_journal j;
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	assert_true(j.next_seq == 3);
	assert_true(file_size(f->path) == (off_t)strlen(good));
	assert_true(append_op(&j, "c") == 3);
	rfd_journal_close(&j);
	memset(&s, 0, sizeof(s));
	assert_int_equal(rfd_journal_replay_file(f->path, collect, &s), 0);
	assert_int_equal(s.n, 3);
}

static void test_replay_early_stop(void **state)
{
	struct fixture *f = *state;
	struct rfd_journal j;
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	for (int i = 0; i < 5; i++)
		assert_true(append_op(&j, "x") == i + 1);
	rfd_journal_close(&j);
	struct seen s = { .stop_at = 2 };
	assert_int_equal(rfd_journal_replay_file(f->path, collect, &s), 42);
	assert_int_equal(s.n, 2);
	s = (struct seen){ .stop_at = 0 };
	assert_int_equal(rfd_journal_replay_file(f->path, collect, &s), 0);
	assert_int_equal(s.n, 5);
}

static void test_replay_missing_file(void **state)
{
	struct fixture *f = *state;
	struct seen s = { 0 };
	assert_int_equal(rfd_journal_replay_file(f->path, collect, &s), 0);
	assert_int_equal(s.n, 0);
	char nodir[256];
	snprintf(nodir, sizeof(nodir), "%s/no/such/journal", f->dir);
	assert_int_equal(rfd_journal_replay_file(nodir, collect, &s), 0);
	assert_int_equal(s.n, 0);
}

static void test_open_missing_dir(void **state)
{
	struct fixture *f = *state;
	char nodir[256];
	snprintf(nodir, sizeof(nodir), "%s/missing", f->dir);
	struct rfd_journal j;
	assert_int_equal(rfd_journal_open(&j, nodir), -ENOENT);
	assert_int_equal(j.fd, -1);
}

/* ---- compaction ---------------------------------------------------------- */

static int64_t append_named(struct rfd_journal *j, const char *op, const char *key,
			    const char *name)
{
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "op", json_object_new_string(op));
	if (key)
		json_object_object_add(r, key, json_object_new_string(name));
	int64_t seq = rfd_journal_append(j, r);
	json_object_put(r);
	return seq;
}

/* create a(1) resize a(2) create b(3) exit b(4) destroy b(5) chan_create c(6)
 * chan_create d(7) chan_close d(8) start(9) stop(10) start(11) resize a(12) */
static void fill_history(struct rfd_journal *j)
{
	append_named(j, "create", "name", "a");
	append_named(j, "resize", "name", "a");
	append_named(j, "create", "name", "b");
	append_named(j, "exit", "name", "b");
	append_named(j, "destroy", "name", "b");
	append_named(j, "chan_create", "chan", "c");
	append_named(j, "chan_create", "chan", "d");
	append_named(j, "chan_close", "chan", "d");
	append_named(j, "start", NULL, NULL);
	append_named(j, "stop", NULL, NULL);
	append_named(j, "start", NULL, NULL);
	append_named(j, "resize", "name", "a");
}

static void assert_state(const struct rfd_journal *j)
{
	static const int64_t want[] = { 1, 6, 11, 12 };
	struct seen s = { 0 };
	assert_int_equal(rfd_journal_replay(j, collect, &s), 0);
	assert_int_equal(s.n, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(s.seq[i], want[i]);
}

static void test_retract(void **state)
{
	struct fixture *f = *state;
	struct rfd_journal j;
	struct rfd_journal_mark m;
	struct seen s = { 0 };
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	assert_int_equal(append_op(&j, "a"), 1);
	off_t before = file_size(f->path);
	rfd_journal_mark(&j, &m);
	assert_int_equal(append_op(&j, "create"), 2);
	assert_int_equal(rfd_journal_retract(&j, &m), 0);
	assert_int_equal(file_size(f->path), before);
	assert_int_equal(append_op(&j, "b"), 2); /* the seq again */
	/* not the last record any more */
	rfd_journal_mark(&j, &m);
	assert_int_equal(append_op(&j, "create"), 3);
	assert_int_equal(append_op(&j, "other"), 4);
	off_t now = file_size(f->path);
	assert_int_equal(rfd_journal_retract(&j, &m), -EAGAIN);
	assert_int_equal(file_size(f->path), now);
	/* a compaction between */
	j.reduce = rfd_snapshot_reduce;
	rfd_journal_mark(&j, &m);
	assert_int_equal(append_op(&j, "create"), 5);
	assert_int_equal(rfd_journal_compact(&j), 0);
	assert_int_equal(rfd_journal_retract(&j, &m), -EAGAIN);
	assert_int_equal(rfd_journal_history(&j, collect, &s), 0);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.op[1], "b");
	rfd_journal_close(&j);
}

static void test_compact_keeps_state(void **state)
{
	struct fixture *f = *state;
	struct rfd_journal j;
	struct seen h = { 0 };
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	j.reduce = rfd_snapshot_reduce;
	fill_history(&j);
	assert_int_equal(rfd_journal_compact(&j), 0);
	assert_int_equal(j.snap_upto, 12);
	assert_int_equal(file_size(f->path), 0);
	assert_state(&j);
	assert_int_equal(rfd_journal_history(&j, collect, &h), 0);
	assert_int_equal(h.n, 12);
	assert_int_equal(append_op(&j, "x"), 13);
	rfd_journal_close(&j);
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	assert_int_equal(j.snap_upto, 12);
	assert_int_equal(append_op(&j, "y"), 14);
	rfd_journal_close(&j);
}

static void test_compact_crash_before_archive(void **state)
{
	struct fixture *f = *state;
	struct rfd_journal j;
	char old[160];
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	j.reduce = rfd_snapshot_reduce;
	fill_history(&j);
	assert_int_equal(rfd_journal_compact(&j), 0);
	rfd_journal_close(&j);
	/* As if rfd died after the snapshot, before archiving the journal. */
	snprintf(old, sizeof(old), "%s.1", f->path);
	assert_int_equal(rename(old, f->path), 0);
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	assert_state(&j);
	assert_int_equal(append_op(&j, "x"), 13);
	rfd_journal_close(&j);
}

static void test_compact_automatic_bounded(void **state)
{
	struct fixture *f = *state;
	struct rfd_journal j;
	char old[160];
	struct seen s = { 0 };
	assert_int_equal(rfd_journal_open(&j, f->dir), 0);
	j.reduce = rfd_snapshot_reduce;
	j.max_bytes = 1024;
	append_named(&j, "create", "name", "a");
	for (int i = 0; i < 500; i++)
		append_named(&j, "resize", "name", "a");
	assert_true(j.compactions > 10);
	assert_true(file_size(f->path) <= 1024 + 200);
	assert_int_equal(rfd_journal_replay(&j, collect, &s), 0);
	/* the create, the resize the last snapshot kept, the live tail */
	assert_true(s.n >= 2 && s.n < 20);
	assert_int_equal(s.seq[0], 1);
	assert_string_equal(s.op[0], "create");
	assert_int_equal(s.seq[s.n - 1], 501);
	snprintf(old, sizeof(old), "%s.%d", f->path, RFD_JOURNAL_ARCHIVES + 1);
	assert_int_equal(access(old, F_OK), -1);
	rfd_journal_close(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_seq_time_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_seq_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_continues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_after_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_even_if_valid_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_json_lines_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_early_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retract, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact_keeps_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact_crash_before_archive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact_automatic_bounded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
