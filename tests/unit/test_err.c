/*
 * test_err.c - the one table of protocol error codes (src/base/err.c).
 *
 * The codes are promised to clients in docs/protocol.md (the `| error |
 * when |` table): this test reads that table and checks it lists exactly
 * the enum's names, each once, so neither can drift from the other.  Also:
 * names and parse are inverse, and RFcom's errno for the codes chan_open
 * brings are the ones it always gave.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/err.h"

#define MAX_ROWS 64

/* docs/protocol.md from the repository root (where `make test` runs), or
 * found from the binary's place (build/tests/NAME). */
static FILE *open_doc(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 32];
	FILE *f = fopen("docs/protocol.md", "r");
	if (f)
		return f;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return NULL;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/../../docs/protocol.md", exe);
	return fopen(path, "r");
}

/* The `code` of a row "| `code` | ...", copied into out; 0 or -1. */
static int row_code(const char *line, char *out, size_t len)
{
	const char *a = strchr(line, '`'), *b = a ? strchr(a + 1, '`') : NULL;
	const char *bar = strchr(line + 1, '|');
	if (!a || !b || !bar || b > bar || (size_t)(b - a - 1) >= len)
		return -1;
	snprintf(out, len, "%.*s", (int)(b - a - 1), a + 1);
	return 0;
}

/* The codes of the error table, in order; returns how many. */
static int read_table(char rows[][64])
{
	char line[1024];
	int n = 0, state = 0; /* 0 before the header, 1 separator, 2 rows */
	FILE *f = open_doc();
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) && n < MAX_ROWS) {
		if (state == 0) {
			if (strncmp(line, "| error", 7) == 0 && strstr(line, "| when"))
				state = 1;
		} else if (state == 1) {
			assert_true(strncmp(line, "|---", 4) == 0);
			state = 2;
		} else if (line[0] != '|') {
			break;
		} else {
			if (row_code(line, rows[n], sizeof(rows[n])) < 0)
				fail_msg("unreadable row of the error table: %s", line);
			n++;
		}
	}
	fclose(f);
	assert_int_equal(state, 2);
	return n;
}

static void test_doc_table_matches_enum(void **state)
{
	char rows[MAX_ROWS][64];
	int seen[BASE_E_COUNT] = { 0 };
	int n = read_table(rows);
	for (int i = 0; i < n; i++) {
		enum base_errc c = base_errc_parse(rows[i]);
		if (c == BASE_E_OK)
			fail_msg("docs/protocol.md lists `%s`, which is no enum base_errc",
				 rows[i]);
		seen[c]++;
	}
	for (int c = BASE_E_OK + 1; c < BASE_E_COUNT; c++)
		if (seen[c] != 1)
			fail_msg("`%s` appears %d times in docs/protocol.md's error table",
				 base_errc_name((enum base_errc)c), seen[c]);
	assert_int_equal(n, BASE_E_COUNT - 1);
}

static void test_names_and_parse(void **state)
{
	for (int c = BASE_E_OK + 1; c < BASE_E_COUNT; c++) {
		const char *name = base_errc_name((enum base_errc)c);
		assert_non_null(name);
		assert_int_equal(base_errc_parse(name), c);
	}
	assert_null(base_errc_name(BASE_E_OK));
	assert_null(base_errc_name(BASE_E_COUNT));
	assert_int_equal(base_errc_parse("no_such_thing"), BASE_E_OK);
	assert_int_equal(base_errc_parse(""), BASE_E_OK);
	assert_int_equal(base_errc_parse(NULL), BASE_E_OK);
	assert_string_equal(base_errc_name(BASE_E_BAD_REQUEST), "bad_request");
	assert_string_equal(base_errc_name(BASE_E_INTERNAL), "internal");
}

static void test_errno(void **state)
{
	assert_int_equal(base_errc_errno(BASE_E_NO_SUCH_CHANNEL), ENOENT);
	assert_int_equal(base_errc_errno(BASE_E_PERMISSION_DENIED), EACCES);
	assert_int_equal(base_errc_errno(BASE_E_BAD_REQUEST), EINVAL);
	assert_int_equal(base_errc_errno(BASE_E_INTERNAL), EPROTO);
	assert_int_equal(base_errc_errno(BASE_E_BAD_VERSION), EPROTO);
	assert_int_equal(base_errc_errno(BASE_E_OK), EPROTO);
	assert_int_equal(base_errc_errno(base_errc_parse("new_code")), EPROTO);
	for (int c = BASE_E_OK + 1; c < BASE_E_COUNT; c++)
		assert_true(base_errc_errno((enum base_errc)c) > 0);
}

static void test_errf(void **state)
{
	struct base_err e = { 0 };
	assert_int_equal(base_errf(&e, BASE_E_CORES_BUSY, "core %d is owned by \"%s\"", 1, "kv"),
			 -1);
	assert_int_equal(e.code, BASE_E_CORES_BUSY);
	assert_string_equal(e.msg, "core 1 is owned by \"kv\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_table_matches_enum),
		cmocka_unit_test(test_names_and_parse),
		cmocka_unit_test(test_errno),
		cmocka_unit_test(test_errf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
