/* SPDX-License-Identifier: MIT */
/*
 * awkcount.h: the operators' one-liners, exactly.  Counts each line's first
 * field as `awk '{++S[$1]}'` splits it (runs of blanks and tabs, leading ones
 * skipped; an empty line counts for the empty field), or its nth field split
 * on one byte as `awk -F / '{++S[$3]}'` does, and prints what the one-liner
 * piped to `sort -rn -k2` (or `sort -k2`) prints with LC_ALL=C.  Exact, so
 * its memory grows with the distinct keys, as awk's does: for files.
 */
#ifndef AG_AWKCOUNT_H
#define AG_AWKCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct ag_awkcount ag_awkcount_t;

/*
 * sep 0: fields split on blanks (awk's default FS); else on that byte.
 * field: 1-based.  NULL when out of memory.
 */
ag_awkcount_t *ag_awkcount_new(char sep, unsigned field);
void ag_awkcount_free(ag_awkcount_t *a);

/* One line, without its newline.  0, or -ENOMEM (the line is not counted). */
int ag_awkcount_line(ag_awkcount_t *a, const char *line, size_t len);

size_t ag_awkcount_keys(const ag_awkcount_t *a);

/*
 * "key count\n" for each key: numeric sort, descending, ties by the whole
 * line descending (`sort -rn -k2`), when numeric; else by " count" as text,
 * ascending, ties by the whole line (`sort -k2`).  b->err on failure.
 */
typedef enum { AG_AWK_SORT_RN = 0, AG_AWK_SORT_TEXT } ag_awk_sort_t;
int ag_awkcount_print(const ag_awkcount_t *a, ag_awk_sort_t sort, fs_buf_t *b);

#endif
