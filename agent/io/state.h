/* SPDX-License-Identifier: MIT */
/* state.h: the agent's state directory: identity, last seq, drop count, spool files. */
#ifndef AG_STATE_H
#define AG_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "spool.h"
#include "wire.h"

/*
 * Layout of the state directory (made 0700 if missing):
 *   agent_id     32 hex digits and a newline: 16 random bytes, written once
 *   state        "seq N\ndropped M\n": the last seq given to a report and
 *                the cumulative count of reports dropped from a full spool
 *   marks        "seq N" and "mark DEV INODE OFFSET TAILHASH PATH" lines: where the
 *                counts of report N end in each followed access log
 *   lock         flock()ed while an agent uses the directory
 *   spool/       one file per unacked report, named by its seq zero-padded
 *                to 20 digits, holding the exact frame sent (4-byte length
 *                and the Frame{report}); written as NAME.tmp, fsync'd,
 *                renamed, and the directory fsync'd
 * Every file is replaced by write-temp, fsync, rename, fsync(dir), so a
 * crash leaves the old or the new version, never a torn one.
 */
typedef struct {
	int dirfd;
	int spoolfd;
	int lockfd;
	uint8_t agent_id[WIRE_AGENT_ID_LEN];
	uint64_t last_seq;
	uint64_t dropped;
} ag_state_t;

/*
 * Opens (making it when missing) the state directory dir (borrowed), locks
 * it, reads or creates agent_id and reads the state file.  0, or a negative
 * errno with the reason logged (-EBUSY: another agent holds the lock).
 * Release with ag_state_close().
 */
int ag_state_open(ag_state_t *st, const char *dir);
void ag_state_close(ag_state_t *st);

/* Persists last_seq and dropped durably.  0 or a negative errno (logged: of a run of
 * failures, the first as a warning). */
int ag_state_save(ag_state_t *st);

/*
 * Scans spool/ into sp: leftover temp files are deleted, names that are not
 * a seq are left alone and logged (once, here), every report file is added
 * with its size.  0 or a negative errno (logged).
 */
int ag_spool_scan(ag_state_t *st, ag_spool_t *sp);

/*
 * Persists the marks of report seq durably, after its spool file: with the
 * newest spooled report's own marks, where a restart reads the logs on from.
 * 0 or a negative errno (logged like ag_state_save()).
 */
int ag_state_save_marks(ag_state_t *st, uint64_t seq, const wire_log_mark_t *m, size_t n);

/*
 * The saved marks (*seq 0 and none when there is no file).  The caller
 * frees each path and the array.  0 or a negative errno (logged).
 */
int ag_state_load_marks(ag_state_t *st, uint64_t *seq, wire_log_mark_t **m, size_t *n);

/* Writes spool file `seq` durably (buf borrowed).  0 or negative errno (logged). */
int ag_spool_write(ag_state_t *st, uint64_t seq, const uint8_t *buf, size_t len);

/*
 * Reads spool file `seq`, which the index says is `size` bytes, into
 * buf[0..size) (caller's).  It must be exactly one frame of that size:
 * -EPROTO if not, or a negative errno.  Not logged.
 */
int ag_spool_read(ag_state_t *st, uint64_t seq, uint8_t *buf, size_t size);

/* Deletes spool file `seq` (a missing file is fine).  0 or negative errno (logged). */
int ag_spool_unlink(ag_state_t *st, uint64_t seq);

#endif
