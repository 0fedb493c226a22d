/*
 * table.h - aligned text tables for rfm's human output.
 *
 * Cells are collected first and printed once the widths are known, so a
 * column is exactly as wide as its widest cell; the last column is never
 * padded (no trailing blanks).  Numeric columns can be right-aligned.
 */
#ifndef RF_RFM_TABLE_H
#define RF_RFM_TABLE_H

#include <stdbool.h>
#include <stdio.h>

struct rfm_table;

/* A table with `ncols` columns named by `headers`.  NULL on ENOMEM. */
struct rfm_table *rfm_table_new(int ncols, const char *const *headers);
void rfm_table_right(struct rfm_table *t, int col);
/* Append a cell to the current row; a new row starts after ncols cells. */
int rfm_table_cell(struct rfm_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void rfm_table_print(const struct rfm_table *t, FILE *f);
void rfm_table_free(struct rfm_table *t);

#endif
