/* SPDX-License-Identifier: MIT */
/* sql_priv.h: the struct of functions each backend of sql.h fills in. */
#ifndef SQ_SQL_PRIV_H
#define SQ_SQL_PRIV_H

#include "sql.h"

struct sq_ops {
	void (*close)(sq_t *db);
	int (*exec)(sq_t *db, const char *sql);
	int (*copy)(sq_t *db, const char *sql, const void *data, size_t len);   /* NULL: none */
	bool (*in_tx)(sq_t *db);
	int (*reconnect)(sq_t *db);
	int (*sys_errno)(sq_t *db);
	int (*prepare)(sq_t *db, const char *sql, sq_stmt_t **out);
	void (*finalize)(sq_stmt_t *st);
	int (*bind_i64)(sq_stmt_t *st, int i, int64_t v);
	int (*bind_f64)(sq_stmt_t *st, int i, double v);
	int (*bind_text)(sq_stmt_t *st, int i, const char *s);
	int (*bind_blob)(sq_stmt_t *st, int i, const void *p, size_t len);
	int (*bind_null)(sq_stmt_t *st, int i);
	int (*step)(sq_stmt_t *st);
	void (*reset)(sq_stmt_t *st);
	int64_t (*changes)(sq_stmt_t *st);
	bool (*null)(sq_stmt_t *st, int i);
	int64_t (*i64)(sq_stmt_t *st, int i);
	double (*f64)(sq_stmt_t *st, int i);
	const char *(*text)(sq_stmt_t *st, int i);
	const void *(*blob)(sq_stmt_t *st, int i);
	size_t (*bytes)(sq_stmt_t *st, int i);
};

/* The head of every backend's connection and statement structs. */
struct sq {
	const struct sq_ops *ops;
	sq_kind_t kind;
	char msg[256];
};

struct sq_stmt {
	sq_t *db;
};

/* The backends' constructors (sql_sqlite.c, sql_pg.c), with sq_open()'s contract. */
int sq__sqlite_open(const char *path, unsigned flags, sq_t **out, char *err, size_t errlen);
int sq__pg_open(const char *conninfo, unsigned flags, sq_t **out, char *err, size_t errlen);

/* Records a message of printf format in db->msg. */
void sq__msg(sq_t *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
