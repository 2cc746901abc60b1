/* SPDX-License-Identifier: MIT */
/* sql_sqlite.c: sql.h on SQLite. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sql_priv.h"

#define BUSY_MS 5000

typedef struct {
	struct sq base;
	sqlite3 *h;
	int sys_errno;   /* the system's errno behind the last I/O error */
} lite_t;

typedef struct {
	struct sq_stmt base;
	sqlite3_stmt *st;
	int64_t changes;
} lite_stmt_t;

static lite_t *L(sq_t *db) { return (lite_t *)db; }
static sqlite3_stmt *S(sq_stmt_t *st) { return ((lite_stmt_t *)st)->st; }

/* A SQLite result code as 0 or a negative errno, keeping SQLite's text of it. */
static int lite_err(lite_t *db, int rc)
{
	int sys;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	default:
		break;
	}
	sq__msg(&db->base, "%s", db->h != NULL ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_NOTFOUND:
		return -ENOENT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_RANGE:
		return -ERANGE;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_MISUSE:
		return -EINVAL;
	case SQLITE_INTERRUPT:
		return -EINTR;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		sys = db->h != NULL ? sqlite3_system_errno(db->h) : 0;
		db->sys_errno = sys;
		return sys > 0 ? -sys : -EIO;
	default:
		return -EIO;
	}
}

static void lite_close(sq_t *db)
{
	sqlite3_close(L(db)->h);
	free(db);
}

static int lite_exec(sq_t *db, const char *sql)
{
	return lite_err(L(db), sqlite3_exec(L(db)->h, sql, NULL, NULL, NULL));
}

static bool lite_in_tx(sq_t *db)
{
	return !sqlite3_get_autocommit(L(db)->h);
}

static int lite_reconnect(sq_t *db)
{
	(void)db;
	return 0;
}

static int lite_sys_errno(sq_t *db)
{
	return L(db)->sys_errno;
}

static int lite_prepare(sq_t *db, const char *sql, sq_stmt_t **out)
{
	lite_stmt_t *s;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	rc = sqlite3_prepare_v3(L(db)->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL);
	if (rc != SQLITE_OK) {
		free(s);
		return lite_err(L(db), rc);
	}
	s->base.db = db;
	*out = &s->base;
	return 0;
}

static void lite_finalize(sq_stmt_t *st)
{
	sqlite3_finalize(S(st));
	free(st);
}

static int lite_bind_i64(sq_stmt_t *st, int i, int64_t v)
{
	return lite_err(L(st->db), sqlite3_bind_int64(S(st), i, v));
}

static int lite_bind_f64(sq_stmt_t *st, int i, double v)
{
	return lite_err(L(st->db), sqlite3_bind_double(S(st), i, v));
}

static int lite_bind_text(sq_stmt_t *st, int i, const char *s)
{
	return lite_err(L(st->db), sqlite3_bind_text(S(st), i, s, -1, SQLITE_STATIC));
}

static int lite_bind_blob(sq_stmt_t *st, int i, const void *p, size_t len)
{
	if (len > INT32_MAX)
		return -E2BIG;
	/* A NULL pointer would bind NULL: bytes of length 0 stay bytes. */
	return lite_err(L(st->db), sqlite3_bind_blob(S(st), i, p != NULL ? p : "", (int)len,
	                                             SQLITE_STATIC));
}

static int lite_bind_null(sq_stmt_t *st, int i)
{
	return lite_err(L(st->db), sqlite3_bind_null(S(st), i));
}

static int lite_step(sq_stmt_t *st)
{
	lite_stmt_t *s = (lite_stmt_t *)st;
	int rc = sqlite3_step(s->st);

	if (rc == SQLITE_ROW)
		return SQ_ROW;
	if (rc == SQLITE_DONE) {
		s->changes = sqlite3_changes64(L(st->db)->h);
		return SQ_DONE;
	}
	rc = lite_err(L(st->db), rc);
	return rc < 0 ? rc : -EIO;
}

static void lite_reset(sq_stmt_t *st)
{
	sqlite3_reset(S(st));
}

static int64_t lite_changes(sq_stmt_t *st)
{
	return ((lite_stmt_t *)st)->changes;
}

static bool lite_null(sq_stmt_t *st, int i)
{
	return sqlite3_column_type(S(st), i) == SQLITE_NULL;
}

static int64_t lite_i64(sq_stmt_t *st, int i)
{
	return sqlite3_column_int64(S(st), i);
}

static double lite_f64(sq_stmt_t *st, int i)
{
	return sqlite3_column_double(S(st), i);
}

static const char *lite_text(sq_stmt_t *st, int i)
{
	return (const char *)sqlite3_column_text(S(st), i);
}

static const void *lite_blob(sq_stmt_t *st, int i)
{
	return sqlite3_column_blob(S(st), i);
}

static size_t lite_bytes(sq_stmt_t *st, int i)
{
	return (size_t)sqlite3_column_bytes(S(st), i);
}

static const struct sq_ops lite_ops = {
	.close = lite_close,
	.exec = lite_exec,
	.in_tx = lite_in_tx,
	.reconnect = lite_reconnect,
	.sys_errno = lite_sys_errno,
	.prepare = lite_prepare,
	.finalize = lite_finalize,
	.bind_i64 = lite_bind_i64,
	.bind_f64 = lite_bind_f64,
	.bind_text = lite_bind_text,
	.bind_blob = lite_bind_blob,
	.bind_null = lite_bind_null,
	.step = lite_step,
	.reset = lite_reset,
	.changes = lite_changes,
	.null = lite_null,
	.i64 = lite_i64,
	.f64 = lite_f64,
	.text = lite_text,
	.blob = lite_blob,
	.bytes = lite_bytes,
};

int sq__sqlite_open(const char *path, unsigned flags, sq_t **out, char *err, size_t errlen)
{
	int mode = (flags & SQ_READONLY) ? SQLITE_OPEN_READONLY
	                                 : SQLITE_OPEN_READWRITE | ((flags & SQ_CREATE) ? SQLITE_OPEN_CREATE : 0);
	lite_t *db;
	int rc;

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	db->base.ops = &lite_ops;
	db->base.kind = SQ_SQLITE;
	rc = sqlite3_open_v2(path, &db->h, mode, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(db->h, 1);
		rc = sqlite3_busy_timeout(db->h, BUSY_MS);
	}
	if (rc != SQLITE_OK) {
		int ret = lite_err(db, rc);

		snprintf(err, errlen, "%s: %s", path, db->base.msg);
		lite_close(&db->base);
		return ret < 0 ? ret : -EIO;
	}
	*out = &db->base;
	return 0;
}
