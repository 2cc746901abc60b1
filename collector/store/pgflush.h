/* SPDX-License-Identifier: MIT */
/*
 * pgflush.h: PostgreSQL's write of a batch.  A report costs SQLite a few
 * microseconds a statement, PostgreSQL a round trip; so on PostgreSQL the
 * writer keeps a transaction's reports and stores them at commit in a fixed
 * number of statements whatever their count: one insert of every row
 * (unnest of one array per column, ON CONFLICT DO NOTHING), then each rollup
 * as one multi-row upsert, its keys deduplicated here (one statement cannot
 * touch a row twice).  The rows end as SQLite's report-by-report writes leave
 * them; a tier's means may differ in the last bits, summed in another order.
 */
#ifndef DB_PGFLUSH_H
#define DB_PGFLUSH_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "sql.h"

/* The packed columns of a report, in the order of the insert. */
#define DB_PEND_COLS 5

/* A report waiting for the commit. */
typedef struct {
	int64_t host;
	const wire_report_t *r;  /* borrowed until db_commit() returns */
	int64_t received_ms;
	int *stored;             /* the caller's, set at the commit (may be NULL) */
	size_t off[DB_PEND_COLS], len[DB_PEND_COLS]; /* packed top, listeners, counters, ports, requests in
	                                                the batch's bytes; len 0: NULL */
} db_pend_t;

typedef struct db_pgflush db_pgflush_t;

/* Prepares the statements on h (borrowed, outlives *out).  *out is new (db__pgflush_free()). */
int db__pgflush_new(sq_t *h, db_pgflush_t **out);
void db__pgflush_free(db_pgflush_t *f);

/*
 * Stores p[0..n) in the open transaction with their rows of rollup_minute,
 * rollup_hour, rollup_tier_minute, rollup_top_minute, rollup_dirty_hour and
 * the hosts' last_seen_ms and last_seq.  isnew[i] gets 1 when p[i] was
 * stored, 0 when its (host, seq) already was (or came earlier in p).
 * Sysctls are the caller's.  0 or a negative errno (sq_errmsg() says why).
 */
int db__pgflush(db_pgflush_t *f, const db_pend_t *p, size_t n, const uint8_t *bytes,
                uint8_t *isnew);

#endif
