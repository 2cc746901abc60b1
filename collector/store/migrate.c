/* SPDX-License-Identifier: MIT */
/* migrate.c: applying the schema's versions on either backend. */
#include "migrate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Generated from schema/NNN_*.sql and schema/pg/NNN_*.sql by the build. */
extern const char *const db__schema_sql[];
extern const char *const db__schema_name[];
extern const int db__schema_count;
extern const char *const db__pg_schema_sql[];
extern const char *const db__pg_schema_name[];
extern const int db__pg_schema_count;

/*
 * The advisory lock that serializes migrations among collectors (the two-key
 * form: the first key is fleetstat's, db.c's hour builds use the same one).
 */
#define PG_LOCK_SQL "SELECT pg_advisory_xact_lock(7400, 0)"

int db__schema_latest_of(sq_kind_t kind)
{
	return kind == SQ_PG ? db__pg_schema_count : db__schema_count;
}

const char *db__schema_sql_of(sq_kind_t kind, int version)
{
	if (version < 1 || version > db__schema_latest_of(kind))
		return NULL;
	return kind == SQ_PG ? db__pg_schema_sql[version - 1] : db__schema_sql[version - 1];
}

static const char *schema_name(sq_kind_t kind, int version)
{
	return kind == SQ_PG ? db__pg_schema_name[version - 1] : db__schema_name[version - 1];
}

/* The first column of the one row sql answers, as an int (no row: 0). */
static int query_int(sq_t *h, const char *sql, int *v)
{
	sq_stmt_t *st;
	int rc;

	*v = 0;
	if ((rc = sq_prepare(h, sql, &st)) < 0)
		return rc;
	if ((rc = sq_step(st)) == SQ_ROW)
		*v = (int)sq_i64(st, 0);
	sq_finalize(st);
	return rc < 0 ? rc : 0;
}

int db__schema_version(sq_t *h, int *v)
{
	int rc, exists;

	if (sq_kind(h) == SQ_SQLITE)
		return query_int(h, "PRAGMA user_version", v);
	/* to_regclass(): the catalogue views cost a new session several milliseconds. */
	*v = 0;
	if ((rc = query_int(h, "SELECT to_regclass('fleetstat_schema') IS NOT NULL", &exists)) < 0 ||
	    !exists)
		return rc;
	return query_int(h, "SELECT coalesce(max(version), 0) FROM fleetstat_schema", v);
}

/*
 * One version's transaction is opened with the write lock taken: SQLite's
 * BEGIN IMMEDIATE, PostgreSQL's advisory lock.  The version is read under it,
 * since another process may have migrated meanwhile.  SQLite's foreign keys
 * are still off here, as its procedure for rebuilding a table requires.
 */
int db__migrate(sq_t *h, int (*after)(void *ctx, int version), void *ctx, char *msg,
                size_t msglen)
{
	sq_kind_t kind = sq_kind(h);
	int latest = db__schema_latest_of(kind);
	char sql[96];
	int rc, v = 0;

	for (;;) {
		if (kind == SQ_SQLITE)
			rc = sq_exec(h, "BEGIN IMMEDIATE");
		else if ((rc = sq_exec(h, "BEGIN")) == 0 && (rc = sq_exec(h, PG_LOCK_SQL)) == 0)
			rc = sq_exec(h, "CREATE TABLE IF NOT EXISTS fleetstat_schema"
			                " (version integer NOT NULL)");
		if (rc < 0 || (rc = db__schema_version(h, &v)) < 0)
			goto fail;
		if (v < 0 || v > latest) {
			snprintf(msg, msglen, "schema version %d is not one this build knows (1..%d)",
			         v, latest);
			rc = -EPROTO;
			goto fail;
		}
		if (v == latest)
			return sq_exec(h, "COMMIT");
		if ((rc = sq_exec(h, db__schema_sql_of(kind, v + 1))) < 0) {
			snprintf(msg, msglen, "schema/%s%s: %s", kind == SQ_PG ? "pg/" : "",
			         schema_name(kind, v + 1), sq_errmsg(h));
			goto fail;
		}
		if (after != NULL && (rc = after(ctx, v + 1)) < 0)
			goto fail;
		if (kind == SQ_SQLITE)
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		else
			snprintf(sql, sizeof(sql), "DELETE FROM fleetstat_schema;"
			         " INSERT INTO fleetstat_schema (version) VALUES (%d)", v + 1);
		if ((rc = sq_exec(h, sql)) < 0 || (rc = sq_exec(h, "COMMIT")) < 0)
			goto fail;
	}
fail:
	if (msg[0] == '\0')
		snprintf(msg, msglen, "%s", sq_errmsg(h));
	if (sq_in_tx(h))
		sq_exec(h, "ROLLBACK");
	return rc;
}
