/* SPDX-License-Identifier: MIT */
/*
 * lines.h: bytes in, whole lines out.  A line cut by the end of a chunk (a
 * write in progress) is held until its newline comes; one longer than the
 * bound is skipped to its newline, and reported once as too long there (as
 * a line is counted when its end is read), so a hostile log costs at most
 * the bound.  Pure: no I/O.
 */
#ifndef AG_LINES_H
#define AG_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AG_LINE_MAX (64 * 1024)

/* A whole line without its "\n" (a "\r" before it is the caller's); NULL for one too long. */
typedef void (*ag_line_fn)(void *ctx, const char *line, size_t len);

typedef struct {
	char *held;         /* the start of a line not yet ended */
	size_t len, max;
	bool skipping;      /* inside a line too long, until its newline */
	uint64_t skipped;   /* its bytes so far: a line is held, or skipped, from its start */
} ag_lines_t;

/* max 0: AG_LINE_MAX.  0 or -ENOMEM. */
int ag_lines_init(ag_lines_t *l, size_t max);
void ag_lines_close(ag_lines_t *l);

/* Every line that p[0..n) ends, in order; what it leaves unended is held. */
void ag_lines_feed(ag_lines_t *l, const char *p, size_t n, ag_line_fn fn, void *ctx);

/* The end of a file read whole: a last line without its newline is a line too (or too long). */
void ag_lines_finish(ag_lines_t *l, ag_line_fn fn, void *ctx);

/*
 * Bytes since the last line ended (held, or of a line too long being skipped):
 * the reader's position minus these is where the last whole line ended.
 */
size_t ag_lines_held(const ag_lines_t *l);

/* Forgets what is held (the file was truncated or replaced). */
void ag_lines_drop(ag_lines_t *l);

#endif
