/* SPDX-License-Identifier: MIT */
/* grid.h: the table, CSV and HTML forms of the queries' answers (the core's own). */
#ifndef COL_GRID_H
#define COL_GRID_H

#include <stdint.h>

#include "buf.h"
#include "query.h"

/*
 * Cells appended row by row (NUL-terminated in one buffer), then printed as
 * an aligned table (numbers right-aligned) or as CSV (RFC 4180 quoting).
 */
typedef struct {
	fs_buf_t cells;
	col_fmt_t fmt;
	size_t ncols;
	size_t ncells;
	uint64_t left;  /* bit c: column c is text, aligned left */
} grid_t;

void grid_init(grid_t *g, col_fmt_t fmt, uint64_t left);

/* Header cells; grid_head_done() fixes the number of columns. */
void grid_heads(grid_t *g, const char *const *head, size_t n);
void grid_head_done(grid_t *g);

void grid_cell(grid_t *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends the grid to b and frees its cells.  0, -ENOMEM, or -EINVAL (no or too many columns). */
int grid_render(grid_t *g, fs_buf_t *b);

#endif
