/* SPDX-License-Identifier: MIT */
/*
 * follow.h: access logs followed as `tail -F` follows them, counted into an
 * ag_reqs_t.  Rotation by rename (the old file read to its end first, as long
 * as the server still writes to it), copytruncate (what the copy holds past
 * the last read is read from the copy), truncation, a file that appears
 * later; a line cut by a write in progress waits for its end.  Where the
 * counts end (the marks) goes into each report and the state directory, so
 * that after a restart no line is counted twice or skipped.
 */
#ifndef AG_FOLLOW_H
#define AG_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "alog.h"
#include "report.h"
#include "reqs.h"

#define AG_FOLLOW_MAX 16                    /* logs an agent follows */
#define AG_FOLLOW_READ_MAX (64u << 20)      /* bytes read from one log in one poll: 64 MiB/s a
                                              log (a quarter second of parsing), in 1 MiB reads */

typedef struct {
	char *path;           /* absolute */
	ag_alog_fmt_t fmt;
} ag_follow_log_t;

typedef struct ag_follow ag_follow_t;

/* logs borrowed for the follower's life; q is where the lines are counted.  NULL: no memory. */
ag_follow_t *ag_follow_new(const ag_follow_log_t *logs, size_t n, ag_reqs_t *q);
void ag_follow_free(ag_follow_t *f);

/*
 * Before the first poll: where the counts of the last report stored ended.
 * A log without a mark is read from its end (what it held before is not this
 * agent's to count); a file that appears later, from its start.
 */
void ag_follow_restore(ag_follow_t *f, const wire_log_mark_t *marks, size_t n);

/* Reads what every log gained since the last poll (at most AG_FOLLOW_READ_MAX each). */
void ag_follow_poll(ag_follow_t *f);

/* Where the lines counted so far end, one mark per log with a file; returns how many. */
size_t ag_follow_marks(const ag_follow_t *f, wire_log_mark_t *out, size_t max);

#endif
