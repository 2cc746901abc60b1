/* SPDX-License-Identifier: MIT */
/* parts.c: creating and dropping PostgreSQL's day partitions of the raw reports. */
#include "parts.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_priv.h"

/* The advisory lock of partition changes (first key fleetstat's, as in migrate.c). */
#define PARTS_LOCK_SQL "SELECT pg_advisory_xact_lock(7400, 1)"
/*
 * A new partition's foreign key takes hosts in SHARE ROW EXCLUSIVE after it
 * has taken reports in ACCESS EXCLUSIVE, the reverse of a writer's order
 * (hosts, then reports): another collector's batch that has updated hosts and
 * then reads reports would deadlock with it.  Taken first, hosts' lock waits
 * for that batch instead.
 */
#define PARTS_HOSTS_SQL "LOCK TABLE hosts IN SHARE ROW EXCLUSIVE MODE"

void db__parts_close(db_parts_t *p)
{
	free(p->days);
	memset(p, 0, sizeof(*p));
}

static bool known(const db_parts_t *p, int64_t day)
{
	size_t lo = 0, hi = p->n;

	for (size_t i = 0; i < p->n_pending; i++)
		if (p->pending[i] == day)
			return true;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->days[mid] == day)
			return true;
		if (p->days[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Inserts day into the committed days, in order, once. */
static int add_day(db_parts_t *p, int64_t day)
{
	size_t i;

	for (i = p->n; i > 0 && p->days[i - 1] >= day; i--)
		if (p->days[i - 1] == day)
			return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		int64_t *d = realloc(p->days, cap * sizeof(*d));

		if (d == NULL)
			return -ENOMEM;
		p->days = d;
		p->cap = cap;
	}
	memmove(&p->days[i + 1], &p->days[i], (p->n - i) * sizeof(*p->days));
	p->days[i] = day;
	p->n++;
	return 0;
}

/* reports_YYYYMMDD of the day starting at day (UTC). */
static void part_name(char *out, size_t len, int64_t day)
{
	time_t t = (time_t)(day / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, len, "reports_%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* The query's one integer: 1 (exists), 0, or a negative errno. */
static int exists(sq_t *h, const char *sql)
{
	sq_stmt_t *st;
	int rc;

	if ((rc = sq_prepare(h, sql, &st)) < 0)
		return rc;
	if ((rc = sq_step(st)) == SQ_ROW)
		rc = sq_i64(st, 0) == 1;
	else if (rc >= 0)
		rc = -EPROTO;
	sq_finalize(st);
	return rc;
}

static int create(db_parts_t *p, sq_t *h, int64_t day)
{
	char name[40], sql[320];
	int rc;

	if (known(p, day))
		return 0;
	part_name(name, sizeof(name), day);
	/* One that exists already costs no lock (the next day's, made yesterday, or another collector's). */
	snprintf(sql, sizeof(sql), "SELECT CASE WHEN to_regclass('%s') IS NULL THEN 0 ELSE 1 END", name);
	if ((rc = exists(h, sql)) < 0)
		return rc;
	snprintf(sql, sizeof(sql),
	         PARTS_LOCK_SQL "; " PARTS_HOSTS_SQL "; CREATE TABLE IF NOT EXISTS %s PARTITION OF reports"
	         " FOR VALUES FROM (%" PRId64 ") TO (%" PRId64 ")", name, day, day + DB_DAY_MS);
	if (rc == 0 && (rc = sq_exec(h, sql)) < 0)
		return rc;
	if (p->n_pending == sizeof(p->pending) / sizeof(p->pending[0]))
		return 0;   /* created; only asked again (IF NOT EXISTS) by a later transaction */
	p->pending[p->n_pending++] = day;
	return 0;
}

bool db__parts_known(const db_parts_t *p, int64_t at_ms)
{
	int64_t day = db__floor(at_ms, DB_DAY_MS);

	return known(p, day) && known(p, day + DB_DAY_MS);
}

int db__parts_ensure(db_parts_t *p, sq_t *h, int64_t at_ms)
{
	int64_t day = db__floor(at_ms, DB_DAY_MS);
	int rc;

	if (db__parts_known(p, at_ms))
		return 0;
	if ((rc = create(p, h, day)) < 0)
		return rc;
	return create(p, h, day + DB_DAY_MS);
}

int db__parts_ahead(db_parts_t *p, sq_t *h, int64_t at_ms)
{
	int rc;

	if (db__parts_known(p, at_ms))
		return 0;
	if ((rc = sq_exec(h, "BEGIN")) < 0)
		return rc;
	if ((rc = db__parts_ensure(p, h, at_ms)) >= 0 && (rc = sq_exec(h, "COMMIT")) >= 0) {
		db__parts_commit(p);
		return 0;
	}
	if (sq_in_tx(h))
		sq_exec(h, "ROLLBACK");
	db__parts_abort(p);
	return rc;
}

void db__parts_commit(db_parts_t *p)
{
	size_t n = p->n_pending;

	p->n_pending = 0;
	for (size_t i = 0; i < n; i++)
		if (add_day(p, p->pending[i]) < 0)
			break;   /* out of memory: asked again later, IF NOT EXISTS */
}

void db__parts_abort(db_parts_t *p)
{
	p->n_pending = 0;
}

/* The bounds in pg_get_expr()'s "FOR VALUES FROM ('N') TO ('M')"; -1 when it is not that. */
static int parse_bounds(const char *expr, int64_t *lo, int64_t *hi)
{
	long long a, b;

	if (expr == NULL ||
	    sscanf(expr, "FOR VALUES FROM ('%lld') TO ('%lld')", &a, &b) != 2)
		return -1;
	*lo = a;
	*hi = b;
	return 0;
}

int db__parts_prune(db_parts_t *p, sq_t *h, int64_t horizon_ms, size_t max_parts,
                    uint64_t *deleted)
{
	char names[64][64], sql[160];
	int64_t lows[64];
	size_t n = 0;
	sq_stmt_t *st;
	int rc;

	*deleted = 0;
	if (max_parts == 0 || max_parts > sizeof(names) / sizeof(names[0]))
		max_parts = sizeof(names) / sizeof(names[0]);
	if ((rc = sq_prepare(h, "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)"
	                        " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
	                        " WHERE i.inhparent = 'reports'::regclass"
	                        " ORDER BY c.relname", &st)) < 0)   /* reports_YYYYMMDD: by day */
		return rc;
	while ((rc = sq_step(st)) == SQ_ROW) {
		const char *name = sq_text(st, 0);
		int64_t lo, hi;

		/* Only whole days before the horizon, and only partitions of our naming. */
		if (name == NULL || strlen(name) >= sizeof(names[0]) ||
		    strncmp(name, "reports_", 8) != 0 ||
		    parse_bounds(sq_text(st, 1), &lo, &hi) < 0 || hi > horizon_ms)
			continue;
		snprintf(names[n], sizeof(names[n]), "%s", name);
		lows[n++] = lo;
		if (n == max_parts)
			break;
	}
	sq_finalize(st);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", names[i]);
		if ((rc = sq_prepare(h, sql, &st)) < 0)
			return rc;
		if ((rc = sq_step(st)) == SQ_ROW)
			*deleted += (uint64_t)sq_i64(st, 0);
		sq_finalize(st);
		snprintf(sql, sizeof(sql), PARTS_LOCK_SQL "; DROP TABLE %s", names[i]);
		if (rc < 0 || (rc = sq_exec(h, sql)) < 0)
			return rc;
		/* Dropped in this transaction: forget the day (asked again, IF NOT EXISTS). */
		for (size_t k = 0; k < p->n; k++)
			if (p->days[k] == lows[i]) {
				memmove(&p->days[k], &p->days[k + 1], (p->n - k - 1) * sizeof(*p->days));
				p->n--;
				break;
			}
	}
	return 0;
}
