/* SPDX-License-Identifier: MIT */
/*
 * sql.h: the store's one door to a SQL database.  SQLite (a file path) and
 * PostgreSQL (a postgresql:// URI or a libpq conninfo) sit behind the same
 * calls, as SQLite's VFS keeps the OS behind one struct of functions: the
 * writer (db.c), the readers (reader.c) and the migrations (migrate.c) are
 * written once, above it, and ask sq_kind() only where the two dialects of
 * SQL differ.
 *
 * Statements are written with SQLite's numbered parameters (?1, ?2, ...);
 * the PostgreSQL side rewrites them to $1, $2, ... and types each one by what
 * was bound to it (int64, double, text, bytes).  A statement is prepared
 * once and stepped many times: bind, step until SQ_DONE, reset.  Bound text
 * and bytes are borrowed until the statement is reset; a column's text and
 * bytes stay valid until the next step or reset of that statement.
 *
 * Errors are negative errno values: -ENOENT no such database, -ENOMEM,
 * -ENOSPC the disk is full, -EROFS read-only, -EBUSY locked or a
 * serialization failure (retry), -ECONNRESET the server went away (retry
 * after sq_reconnect()), -EINVAL a constraint or malformed data (that job's
 * own fault), -ERANGE a value out of range, -EIO anything else.  The text of
 * the last one is sq_errmsg().
 */
#ifndef SQ_SQL_H
#define SQ_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sq sq_t;
typedef struct sq_stmt sq_stmt_t;

typedef enum { SQ_SQLITE, SQ_PG } sq_kind_t;

/* What sq_step() returns besides a negative errno. */
#define SQ_DONE 0
#define SQ_ROW 1

/* sq_open() flags. */
#define SQ_READONLY 1u   /* never writes (SQLite: a read-only connection) */
#define SQ_CREATE 2u     /* SQLite: create the file when it is missing */

/*
 * The backend a --db target names: PostgreSQL for a postgresql:// or
 * postgres:// URI and for a libpq conninfo (key=value words, e.g.
 * "host=/run/pg dbname=fleetstat"), else a SQLite file path.
 */
sq_kind_t sq_target_kind(const char *target);

/*
 * Connects to target (borrowed).  *out is new (sq_close() it).  On error a
 * negative errno and a one-line reason in err, which names target with any
 * password left out.
 */
int sq_open(const char *target, unsigned flags, sq_t **out, char *err, size_t errlen);

/* Closes; an open transaction is rolled back.  Finalize the statements first.  NULL: no-op. */
void sq_close(sq_t *db);

sq_kind_t sq_kind(const sq_t *db);

/* Runs sql (one or more statements, no parameters, no rows wanted). */
int sq_exec(sq_t *db, const char *sql);

/*
 * Runs sql, a COPY ... FROM STDIN, with data (len bytes) as all of its input.
 * PostgreSQL only: -ENOTSUP on SQLite.
 */
int sq_copy(sq_t *db, const char *sql, const void *data, size_t len);

/* Whether a transaction is open (also false after the server rolled one back). */
bool sq_in_tx(sq_t *db);

/*
 * After -ECONNRESET: connects again (the statements are prepared anew when
 * next stepped).  0, or -ECONNRESET while the server is still away.
 * SQLite: always 0.
 */
int sq_reconnect(sq_t *db);

/* The last error's text, for the log; "" when none. */
const char *sq_errmsg(sq_t *db);

/* The operating system's errno behind the last I/O error, or 0 (SQLite only). */
int sq_sys_errno(sq_t *db);

/* Prepares sql (borrowed: copied).  *out is new (sq_finalize() it). */
int sq_prepare(sq_t *db, const char *sql, sq_stmt_t **out);
void sq_finalize(sq_stmt_t *st);

/* Parameter i, from 1.  Text and bytes are borrowed until sq_reset(); NULL text binds "". */
int sq_bind_i64(sq_stmt_t *st, int i, int64_t v);
int sq_bind_f64(sq_stmt_t *st, int i, double v);
int sq_bind_text(sq_stmt_t *st, int i, const char *s);
int sq_bind_blob(sq_stmt_t *st, int i, const void *p, size_t len);
int sq_bind_null(sq_stmt_t *st, int i);

/* SQ_ROW, SQ_DONE or a negative errno. */
int sq_step(sq_stmt_t *st);

/* Steps a statement that returns no rows and resets it: 0 or a negative errno. */
int sq_run(sq_stmt_t *st);

/* Ends the statement's run (unread rows are dropped); its binds stay. */
void sq_reset(sq_stmt_t *st);

/* Rows the statement's last run inserted, updated or deleted. */
int64_t sq_changes(sq_stmt_t *st);

/* Column i, from 0, of the current row.  NULL reads as 0, 0.0, NULL and NULL with 0 bytes. */
bool sq_null(sq_stmt_t *st, int i);
int64_t sq_i64(sq_stmt_t *st, int i);
double sq_f64(sq_stmt_t *st, int i);
const char *sq_text(sq_stmt_t *st, int i);
const void *sq_blob(sq_stmt_t *st, int i);
size_t sq_bytes(sq_stmt_t *st, int i);   /* after sq_blob() */

#endif
