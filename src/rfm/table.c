/*
 * table.c - aligned text tables for rfm's human output (see table.h).
 *
 * Widths count UTF-8 characters rather than bytes so that a command line
 * with non-ASCII text does not push the columns out of line.
 */
#define _GNU_SOURCE
#include "rfm/table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct rfm_table {
	int ncols;
	size_t ncells, cap;
	char **cells;       /* headers first, then the rows, row-major */
	bool *right;        /* per column */
};

static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

static int push_cell(struct rfm_table *t, char *cell)
{
	if (t->ncells == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **nc = realloc(t->cells, cap * sizeof(*nc));
		if (!nc)
			return -1;
		t->cells = nc;
		t->cap = cap;
	}
	t->cells[t->ncells++] = cell;
	return 0;
}

struct rfm_table *rfm_table_new(int ncols, const char *const *headers)
{
	struct rfm_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncols = ncols;
	t->right = calloc((size_t)ncols, sizeof(*t->right));
	if (!t->right)
		goto fail;
	for (int i = 0; i < ncols; i++) {
		char *h = strdup(headers[i]);
		if (!h || push_cell(t, h) < 0) {
			free(h);
			goto fail;
		}
	}
	return t;
fail:
	rfm_table_free(t);
	return NULL;
}

void rfm_table_right(struct rfm_table *t, int col)
{
	if (col >= 0 && col < t->ncols)
		t->right[col] = true;
}

int rfm_table_cell(struct rfm_table *t, const char *fmt, ...)
{
	char *cell;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&cell, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	for (char *p = cell; *p; p++) /* one cell, one line */
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	if (push_cell(t, cell) < 0) {
		free(cell);
		return -1;
	}
	return 0;
}

static void print_cell(FILE *f, const char *s, size_t width, bool right, bool last)
{
	size_t pad = width - text_width(s);
	if (right)
		fprintf(f, "%*s%s", (int)pad, "", s);
	else if (last)
		fputs(s, f);
	else
		fprintf(f, "%s%*s", s, (int)pad, "");
}

void rfm_table_print(const struct rfm_table *t, FILE *f)
{
	size_t *width = calloc((size_t)t->ncols, sizeof(*width));
	if (!width)
		return;
	for (size_t i = 0; i < t->ncells; i++) {
		size_t w = text_width(t->cells[i]);
		if (w > width[i % (size_t)t->ncols])
			width[i % (size_t)t->ncols] = w;
	}
	for (size_t i = 0; i < t->ncells; i++) {
		int col = (int)(i % (size_t)t->ncols);
		bool last = col == t->ncols - 1 || i == t->ncells - 1;
		print_cell(f, t->cells[i], width[col], t->right[col], last);
		fputs(last ? "\n" : "  ", f);
	}
	free(width);
}

void rfm_table_free(struct rfm_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->right);
	free(t);
}
