/* SPDX-License-Identifier: MIT */
/*
 * parts.h: PostgreSQL's day partitions of the raw reports (schema/pg/001):
 * created before the writer's batch that stores the first report of a day (and the
 * next day's with it, ahead of midnight), dropped whole by retention.
 */
#ifndef DB_PARTS_H
#define DB_PARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql.h"

#define DB_DAY_MS ((int64_t)86400000)

/* The days known to have a partition: committed ones, and this transaction's. */
typedef struct {
	int64_t *days;      /* sorted, committed */
	size_t n, cap;
	int64_t pending[8]; /* created in the open transaction */
	size_t n_pending;
} db_parts_t;

void db__parts_close(db_parts_t *p);

/*
 * Makes sure the partition of the day holding at_ms exists, and the next
 * day's, inside the open transaction (under an advisory lock, so collectors
 * creating the same day wait for each other).  0 or a negative errno.
 */
int db__parts_ensure(db_parts_t *p, sq_t *h, int64_t at_ms);

/*
 * The same in a transaction of its own, before a batch's: a collector that
 * creates a day while holding its batch's locks makes the others wait on it
 * longer.  Outside any transaction; 0 or a negative errno.
 */
int db__parts_ahead(db_parts_t *p, sq_t *h, int64_t at_ms);

/* Whether the day of at_ms and the next have their partitions already (nothing to do). */
bool db__parts_known(const db_parts_t *p, int64_t at_ms);

/* The transaction committed (keep its days) or did not (forget them). */
void db__parts_commit(db_parts_t *p);
void db__parts_abort(db_parts_t *p);

/*
 * Drops the partitions wholly before horizon_ms, oldest first, at most
 * max_parts (0: all); *deleted gets the rows they held.  Runs in the open
 * transaction.  0 or a negative errno.
 */
int db__parts_prune(db_parts_t *p, sq_t *h, int64_t horizon_ms, size_t max_parts,
                    uint64_t *deleted);

#endif
