/* SPDX-License-Identifier: MIT */
/* spool.h: the ordered index of spooled reports: bound, send window, acks (no I/O). */
#ifndef AG_SPOOL_H
#define AG_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/*
 * The agent writes every report to a spool file before sending it and
 * deletes the file once the collector has acked it (DESIGN §7).  This index
 * mirrors the spool directory: which seqs are there, in order, and how many
 * bytes each takes.  The shell does the I/O and asks the index what to do:
 *
 *   - ag_spool_pop_excess(): which oldest reports to delete because the
 *     spool is above its bound (the newest report always stays);
 *   - ag_spool_next(): which report to send next on the connection, in seq
 *     order, with at most `window` sent and not yet acked;
 *   - ag_spool_pop_acked(): which reports a (cumulative) Ack or a Welcome's
 *     last_seq lets it delete;
 *   - ag_spool_rewind(): a new connection sends again from the oldest.
 *
 * Every pop hands back one entry per call (returns 1) until there is
 * nothing more (returns 0), so the shell deletes one file per iteration.
 */

#define AG_SPOOL_WINDOW 64                     /* reports in flight */
#define AG_SPOOL_MAX_DEFAULT (64ull << 20)     /* bytes */

typedef struct {
	uint64_t seq;
	uint64_t size;  /* bytes of the spool file */
	uint8_t *mem;   /* the frame itself when the disk would not take it, else NULL: the
	                   index owns it, and a popped entry's is the caller's to free() */
} ag_spool_ent_t;

typedef struct {
	ag_spool_ent_t *ents;  /* sorted by seq, ascending, no duplicates */
	size_t n;
	size_t cap;
	uint64_t bytes;        /* sum of sizes */
	uint64_t max_bytes;    /* the bound */
	size_t window;         /* most reports sent and not acked */
	uint64_t sent;         /* highest seq sent on this connection, 0: none */
} ag_spool_t;

/*
 * Initialises an empty index bounded to max_bytes (0: AG_SPOOL_MAX_DEFAULT)
 * with a send window of `window` reports (0: AG_SPOOL_WINDOW).  Allocates
 * nothing; returns 0.
 */
int ag_spool_init(ag_spool_t *sp, uint64_t max_bytes, size_t window);

/* Frees the index and the frames it holds in memory; NULL is a no-op. */
void ag_spool_close(ag_spool_t *sp);

/*
 * Adds a spooled report (in any order: the start-up scan sees a directory).
 * 0, -EINVAL (seq 0), -EEXIST (seq already there) or -ENOMEM.  Adding does
 * not enforce the bound: call ag_spool_pop_excess() after.
 */
int ag_spool_add(ag_spool_t *sp, uint64_t seq, uint64_t size);

/*
 * The same for a report whose frame (size bytes, taken over on success)
 * the disk would not take: it is held here, under the same bound.
 */
int ag_spool_add_mem(ag_spool_t *sp, uint64_t seq, uint8_t *frame, uint64_t size);

/* Entries held in memory. */
size_t ag_spool_in_memory(const ag_spool_t *sp);

/*
 * Removes one entry by seq (a file that turned out unreadable).  1 if it
 * was there, 0 if not.
 */
int ag_spool_remove(ag_spool_t *sp, uint64_t seq);

/*
 * While the spool is above its bound and holds more than one report, pops
 * the oldest into *out and returns 1; then returns 0.  The caller deletes
 * the file and counts it in dropped_reports.
 */
int ag_spool_pop_excess(ag_spool_t *sp, ag_spool_ent_t *out);

/*
 * Pops the oldest entry whose seq <= upto into *out and returns 1, or
 * returns 0 when there is none.  Used for Ack{seq} (cumulative) and for
 * Welcome{last_seq} (the collector has everything up to it).
 */
int ag_spool_pop_acked(ag_spool_t *sp, uint64_t upto, ag_spool_ent_t *out);

/*
 * The next report to send: the oldest entry above the last one sent, if
 * fewer than `window` entries are in flight.  Fills *out, records it as
 * sent and returns 1; returns 0 when there is nothing to send or the
 * window is full.
 */
int ag_spool_next(ag_spool_t *sp, ag_spool_ent_t *out);

/* Reports sent on this connection and still in the spool (not acked). */
size_t ag_spool_in_flight(const ag_spool_t *sp);

/* A new connection: nothing counts as sent; the next send is the oldest. */
void ag_spool_rewind(ag_spool_t *sp);

/* Highest seq in the spool, 0 when empty. */
uint64_t ag_spool_last(const ag_spool_t *sp);

/*
 * Spool file names: the seq zero-padded to 20 digits ("00000000000000000042"),
 * written first as the same name with ".tmp" appended.  buf needs
 * AG_SPOOL_NAME_LEN bytes (the ".tmp" form included).
 */
#define AG_SPOOL_DIGITS 20
#define AG_SPOOL_NAME_LEN (AG_SPOOL_DIGITS + sizeof(".tmp"))
void ag_spool_name(uint64_t seq, int tmp, char *buf);

/*
 * Classifies a directory entry's name (borrowed): AG_SPOOL_FILE with *seq
 * set, AG_SPOOL_TEMP (a leftover temp file, to delete), AG_SPOOL_DOT ("."
 * and ".."), or AG_SPOOL_OTHER (not ours: leave it alone).
 */
enum { AG_SPOOL_OTHER, AG_SPOOL_FILE, AG_SPOOL_TEMP, AG_SPOOL_DOT };
int ag_spool_parse_name(const char *name, uint64_t *seq);

#endif
