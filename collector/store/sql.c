/* SPDX-License-Identifier: MIT */
/* sql.c: which backend a target names, and the calls of sql.h passed to it. */
#include "sql.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sql_priv.h"

sq_kind_t sq_target_kind(const char *target)
{
	const char *eq;

	if (strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0)
		return SQ_PG;
	/*
	 * A conninfo is key=value words: the first word holds '=' after a
	 * keyword of letters and '_'.  A path with '=' in a directory's name
	 * ("./a=b/x.db") has a '/' or '.' before it.
	 */
	if ((eq = strchr(target, '=')) == NULL || eq == target)
		return SQ_SQLITE;
	for (const char *p = target; p < eq; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
			return SQ_SQLITE;
	return SQ_PG;
}

int sq_open(const char *target, unsigned flags, sq_t **out, char *err, size_t errlen)
{
	*out = NULL;
	if (sq_target_kind(target) == SQ_PG)
		return sq__pg_open(target, flags, out, err, errlen);
	return sq__sqlite_open(target, flags, out, err, errlen);
}

void sq__msg(sq_t *db, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->msg, sizeof(db->msg), fmt, ap);
	va_end(ap);
}

void sq_close(sq_t *db)
{
	if (db != NULL)
		db->ops->close(db);
}

sq_kind_t sq_kind(const sq_t *db) { return db->kind; }
int sq_exec(sq_t *db, const char *sql) { return db->ops->exec(db, sql); }

int sq_copy(sq_t *db, const char *sql, const void *data, size_t len)
{
	if (db->ops->copy == NULL) {
		sq__msg(db, "COPY is PostgreSQL's");
		return -ENOTSUP;
	}
	return db->ops->copy(db, sql, data, len);
}
bool sq_in_tx(sq_t *db) { return db->ops->in_tx(db); }
int sq_reconnect(sq_t *db) { return db->ops->reconnect(db); }
const char *sq_errmsg(sq_t *db) { return db->msg; }
int sq_sys_errno(sq_t *db) { return db->ops->sys_errno(db); }
int sq_prepare(sq_t *db, const char *sql, sq_stmt_t **out) { return db->ops->prepare(db, sql, out); }

void sq_finalize(sq_stmt_t *st)
{
	if (st != NULL)
		st->db->ops->finalize(st);
}

int sq_bind_i64(sq_stmt_t *st, int i, int64_t v) { return st->db->ops->bind_i64(st, i, v); }
int sq_bind_f64(sq_stmt_t *st, int i, double v) { return st->db->ops->bind_f64(st, i, v); }
int sq_bind_null(sq_stmt_t *st, int i) { return st->db->ops->bind_null(st, i); }

int sq_bind_text(sq_stmt_t *st, int i, const char *s)
{
	return st->db->ops->bind_text(st, i, s != NULL ? s : "");
}

int sq_bind_blob(sq_stmt_t *st, int i, const void *p, size_t len)
{
	return st->db->ops->bind_blob(st, i, p, len);
}

int sq_step(sq_stmt_t *st) { return st->db->ops->step(st); }

int sq_run(sq_stmt_t *st)
{
	int rc = st->db->ops->step(st);

	st->db->ops->reset(st);
	return rc == SQ_ROW ? 0 : rc;
}

void sq_reset(sq_stmt_t *st) { st->db->ops->reset(st); }
int64_t sq_changes(sq_stmt_t *st) { return st->db->ops->changes(st); }
bool sq_null(sq_stmt_t *st, int i) { return st->db->ops->null(st, i); }
int64_t sq_i64(sq_stmt_t *st, int i) { return st->db->ops->i64(st, i); }
double sq_f64(sq_stmt_t *st, int i) { return st->db->ops->f64(st, i); }
const char *sq_text(sq_stmt_t *st, int i) { return st->db->ops->text(st, i); }

const void *sq_blob(sq_stmt_t *st, int i) { return st->db->ops->blob(st, i); }
size_t sq_bytes(sq_stmt_t *st, int i) { return st->db->ops->bytes(st, i); }
