/* SPDX-License-Identifier: MIT */
/*
 * sql_pg.c: sql.h on PostgreSQL through libpq.
 *
 * A statement is prepared on the server when first stepped, with each
 * parameter typed by what was bound to it (int8, float8, text, bytea), and
 * again after a reconnection.  Its rows stream one at a time (single-row
 * mode), so a large answer is never held whole; libpq runs one query at a
 * time per connection, so when another statement starts while one is still
 * streaming (a loop over one statement's rows that steps another), the rest
 * of the first one's rows are read into its queue first.  Results come in
 * binary (bytea as it is, numbers in network order) when every column is of
 * a type read here (the prepared statement's description says), else in
 * text (numbers parse, bytea is hex: numeric, from sum(), has no simple
 * binary form).  Parameters are text except bytes, which go binary.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "sql_priv.h"
#include "hex.h"

/* The type oids of pg_type.h (server headers are not needed for a few numbers). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_FLOAT8 701
#define OID_VARCHAR 1043

typedef struct pg_stmt pg_stmt_t;

typedef struct {
	struct sq base;
	PGconn *c;
	bool readonly;
	uint64_t gen;          /* bumped by each connection: statements prepare again */
	uint32_t next_name;
	pg_stmt_t *active;     /* the statement whose rows are streaming in, or NULL */
} pg_t;

enum { RUN_IDLE, RUN_STREAM, RUN_QUEUED, RUN_DONE };

typedef struct {
	uint8_t *p;
	size_t len, cap;
	bool decoded;
} blob_t;

struct pg_stmt {
	struct sq_stmt base;
	char *sql;             /* with $1, $2, ... */
	int nparams;
	Oid *types, *prep_types;
	const char **vals;
	int *lens, *fmts;
	char (*num)[32];       /* the text of numeric binds */
	char name[24];
	uint64_t prep_gen;     /* the connection it was prepared on; 0: never */
	bool binary;           /* its results come in binary (prepare_server()) */

	int run;
	PGresult *row;         /* the current row */
	PGresult **queue;      /* rows read ahead while another statement ran */
	size_t qhead, qn, qcap;
	int queued_rc;         /* how the queued run ended: SQ_DONE or a negative errno */
	int64_t changes;
	blob_t *blobs;
	int nblobs;
};

static pg_t *P(sq_t *db) { return (pg_t *)db; }
static pg_stmt_t *PS(sq_stmt_t *st) { return (pg_stmt_t *)st; }

/* libpq's text of an error, on one line. */
static void pg_msg(pg_t *db, const char *text)
{
	size_t n;

	sq__msg(&db->base, "%s", text != NULL && text[0] ? text : "PostgreSQL error");
	/* libpq's lines and tabs as single spaces. */
	n = 0;
	for (char *p = db->base.msg; *p; p++) {
		char c = *p == '\n' || *p == '\t' ? ' ' : *p;

		if (c != ' ' || (n > 0 && db->base.msg[n - 1] != ' '))
			db->base.msg[n++] = c;
	}
	while (n > 0 && db->base.msg[n - 1] == ' ')
		n--;
	db->base.msg[n] = '\0';
}

/* A failed result as a negative errno, by its SQLSTATE class; clears r. */
static int pg_err(pg_t *db, PGresult *r)
{
	const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	int err = -EIO;

	pg_msg(db, r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(db->c));
	if (PQstatus(db->c) == CONNECTION_BAD || state == NULL)
		err = -ECONNRESET;            /* no SQLSTATE: the connection, not the statement */
	else if (strncmp(state, "23", 2) == 0)
		err = -EINVAL;                /* integrity: the job's own */
	else if (strcmp(state, "22003") == 0)
		err = -ERANGE;
	else if (strncmp(state, "22", 2) == 0)
		err = -EINVAL;                /* bad data */
	else if (strcmp(state, "53100") == 0)
		err = -ENOSPC;
	else if (strncmp(state, "53", 2) == 0 || strcmp(state, "40001") == 0 ||
	         strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
		err = -EBUSY;
	else if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		err = -ECONNRESET;
	else if (strcmp(state, "25006") == 0)
		err = -EROFS;
	else if (strcmp(state, "42501") == 0 || strncmp(state, "28", 2) == 0)
		err = -EACCES;
	else if (strcmp(state, "54000") == 0)
		err = -E2BIG;
	PQclear(r);
	return err;
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;   /* NOTICEs ("relation exists, skipping") are not for the log */
}

/* Settings of every connection: readers never write. */
static int pg_setup(pg_t *db)
{
	PGresult *r;

	PQsetNoticeProcessor(db->c, quiet, NULL);
	if (!db->readonly)
		return 0;
	r = PQexec(db->c, "SET default_transaction_read_only = on");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return pg_err(db, r);
	PQclear(r);
	return 0;
}

/* Drops the rest of the streaming run's results. */
static void drain(pg_t *db)
{
	PGresult *r;

	while ((r = PQgetResult(db->c)) != NULL)
		PQclear(r);
}

static int queue_push(pg_stmt_t *s, PGresult *r)
{
	if (s->qn == s->qcap) {
		size_t cap = s->qcap ? s->qcap * 2 : 64;
		PGresult **q = realloc(s->queue, cap * sizeof(*q));

		if (q == NULL)
			return -ENOMEM;
		s->queue = q;
		s->qcap = cap;
	}
	s->queue[s->qn++] = r;
	return 0;
}

/* Ends how a run's last result says: SQ_DONE with the rows it changed, or an error. */
static int run_end(pg_t *db, pg_stmt_t *s, PGresult *r)
{
	ExecStatusType t = PQresultStatus(r);

	if (t == PGRES_TUPLES_OK || t == PGRES_COMMAND_OK) {
		const char *n = PQcmdTuples(r);

		s->changes = n != NULL && n[0] ? strtoll(n, NULL, 10) : 0;
		PQclear(r);
		return SQ_DONE;
	}
	return pg_err(db, r);
}

/* Reads the rest of the streaming statement's rows into its queue, freeing the connection. */
static void park_active(pg_t *db)
{
	pg_stmt_t *s = db->active;
	PGresult *r;

	if (s == NULL)
		return;
	s->queued_rc = SQ_DONE;
	while ((r = PQgetResult(db->c)) != NULL) {
		if (PQresultStatus(r) == PGRES_SINGLE_TUPLE && s->queued_rc == SQ_DONE) {
			if (queue_push(s, r) < 0) {
				PQclear(r);
				s->queued_rc = -ENOMEM;
			}
		} else if (s->queued_rc == SQ_DONE) {
			s->queued_rc = run_end(db, s, r);
		} else {
			PQclear(r);
		}
	}
	s->run = RUN_QUEUED;
	db->active = NULL;
}

/* Before any other use of the connection: nothing streaming, and connected. */
static int pg_ready(pg_t *db)
{
	park_active(db);
	if (PQstatus(db->c) == CONNECTION_OK)
		return 0;
	sq__msg(&db->base, "the connection to PostgreSQL is lost");
	return -ECONNRESET;
}

static void pg_close(sq_t *base)
{
	pg_t *db = P(base);

	PQfinish(db->c);
	free(db);
}

static int pg_exec(sq_t *base, const char *sql)
{
	pg_t *db = P(base);
	PGresult *r;
	int rc;

	if ((rc = pg_ready(db)) < 0)
		return rc;
	r = PQexec(db->c, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK) {
		PQclear(r);
		return 0;
	}
	return pg_err(db, r);
}

static int pg_copy(sq_t *base, const char *sql, const void *data, size_t len)
{
	enum { CHUNK = 1 << 20 };
	pg_t *db = P(base);
	const char *p = data;
	PGresult *r;
	int rc;

	if ((rc = pg_ready(db)) < 0)
		return rc;
	r = PQexec(db->c, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN)
		return pg_err(db, r);
	PQclear(r);
	for (size_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;

		if (PQputCopyData(db->c, p + off, (int)n) != 1)
			break;
	}
	/* A failed send shows in the result; the end is sent either way. */
	PQputCopyEnd(db->c, NULL);
	r = PQgetResult(db->c);
	rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_err(db, r);
	if (rc == 0)
		PQclear(r);
	drain(db);
	return rc;
}

static bool pg_in_tx(sq_t *base)
{
	PGTransactionStatusType t = PQtransactionStatus(P(base)->c);

	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static int pg_reconnect(sq_t *base)
{
	pg_t *db = P(base);

	if (PQstatus(db->c) == CONNECTION_OK)
		return 0;
	db->active = NULL;
	PQreset(db->c);
	if (PQstatus(db->c) != CONNECTION_OK) {
		pg_msg(db, PQerrorMessage(db->c));
		return -ECONNRESET;
	}
	db->gen++;
	return pg_setup(db);
}

static int pg_sys_errno(sq_t *base)
{
	(void)base;
	return 0;
}

/*
 * SQLite's ?N parameters as PostgreSQL's $N, outside quoted text; *n gets
 * the highest N.  The result is as long as sql: both markers are one byte.
 */
static char *rewrite(const char *sql, int *n)
{
	char *out = strdup(sql), quote = 0;

	*n = 0;
	if (out == NULL)
		return NULL;
	for (char *p = out; *p; p++) {
		if (quote) {
			quote = *p == quote ? 0 : quote;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '?' && p[1] >= '1' && p[1] <= '9') {
			int v = (int)strtol(p + 1, NULL, 10);

			*p = '$';
			if (v > *n)
				*n = v;
		}
	}
	return out;
}

static void pg_finalize(sq_stmt_t *st);

static int pg_prepare(sq_t *base, const char *sql, sq_stmt_t **out)
{
	pg_t *db = P(base);
	pg_stmt_t *s;
	int n;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->base.db = base;
	if ((s->sql = rewrite(sql, &n)) == NULL)
		goto nomem;
	s->nparams = n;
	if (n > 0 && ((s->types = calloc((size_t)n, sizeof(*s->types))) == NULL ||
	              (s->prep_types = calloc((size_t)n, sizeof(*s->prep_types))) == NULL ||
	              (s->vals = calloc((size_t)n, sizeof(*s->vals))) == NULL ||
	              (s->lens = calloc((size_t)n, sizeof(*s->lens))) == NULL ||
	              (s->fmts = calloc((size_t)n, sizeof(*s->fmts))) == NULL ||
	              (s->num = calloc((size_t)n, sizeof(*s->num))) == NULL))
		goto nomem;
	snprintf(s->name, sizeof(s->name), "fs%u", ++db->next_name);
	*out = &s->base;
	return 0;
nomem:
	pg_finalize(&s->base);
	return -ENOMEM;
}

static void clear_rows(pg_stmt_t *s)
{
	PQclear(s->row);
	s->row = NULL;
	for (size_t i = s->qhead; i < s->qn; i++)
		PQclear(s->queue[i]);
	s->qhead = s->qn = 0;
}

static void pg_reset(sq_stmt_t *st)
{
	pg_stmt_t *s = PS(st);
	pg_t *db = P(st->db);

	if (db->active == s) {
		drain(db);
		db->active = NULL;
	}
	clear_rows(s);
	s->run = RUN_IDLE;
}

static void pg_finalize(sq_stmt_t *st)
{
	pg_stmt_t *s = PS(st);
	pg_t *db = P(st->db);

	pg_reset(st);
	/*
	 * Off the server too, or a long-lived connection (the writer's, the HTTP
	 * API's readers) gathers one per statement ever made.  Not possible in a
	 * failed transaction: left until the connection ends.
	 */
	if (s->prep_gen == db->gen && pg_ready(db) == 0 &&
	    PQtransactionStatus(db->c) != PQTRANS_INERROR) {
		char sql[48];

		snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
		PQclear(PQexec(db->c, sql));
	}
	free(s->queue);
	for (int i = 0; i < s->nblobs; i++)
		free(s->blobs[i].p);
	free(s->blobs);
	free(s->sql);
	free(s->types);
	free(s->prep_types);
	free(s->vals);
	free(s->lens);
	free(s->fmts);
	free(s->num);
	free(s);
}

static int param(pg_stmt_t *s, int i)
{
	if (i < 1 || i > s->nparams || s->run != RUN_IDLE)
		return -ERANGE;
	return i - 1;
}

static int pg_bind_i64(sq_stmt_t *st, int i, int64_t v)
{
	pg_stmt_t *s = PS(st);
	int k = param(s, i);

	if (k < 0)
		return k;
	snprintf(s->num[k], sizeof(s->num[k]), "%lld", (long long)v);
	s->vals[k] = s->num[k];
	s->fmts[k] = 0;
	s->types[k] = OID_INT8;
	return 0;
}

static int pg_bind_f64(sq_stmt_t *st, int i, double v)
{
	pg_stmt_t *s = PS(st);
	int k = param(s, i);

	if (k < 0)
		return k;
	snprintf(s->num[k], sizeof(s->num[k]), "%.17g", v);
	s->vals[k] = s->num[k];
	s->fmts[k] = 0;
	s->types[k] = OID_FLOAT8;
	return 0;
}

static int pg_bind_text(sq_stmt_t *st, int i, const char *v)
{
	pg_stmt_t *s = PS(st);
	int k = param(s, i);

	if (k < 0)
		return k;
	s->vals[k] = v;
	s->fmts[k] = 0;
	s->types[k] = OID_TEXT;
	return 0;
}

static int pg_bind_blob(sq_stmt_t *st, int i, const void *p, size_t len)
{
	pg_stmt_t *s = PS(st);
	int k = param(s, i);

	if (k < 0)
		return k;
	if (len > INT32_MAX)
		return -E2BIG;
	s->vals[k] = p != NULL ? p : "";
	s->lens[k] = (int)len;
	s->fmts[k] = 1;
	s->types[k] = OID_BYTEA;
	return 0;
}

/* A NULL keeps the parameter's type: the statement need not be prepared again. */
static int pg_bind_null(sq_stmt_t *st, int i)
{
	pg_stmt_t *s = PS(st);
	int k = param(s, i);

	if (k < 0)
		return k;
	s->vals[k] = NULL;
	return 0;
}

/* Whether values of type t are read in binary (pg_i64() and its kin know it). */
static bool binary_type(Oid t)
{
	switch (t) {
	case OID_BOOL: case OID_BYTEA: case OID_INT2: case OID_INT4: case OID_INT8:
	case OID_TEXT: case OID_FLOAT8: case OID_VARCHAR:
		return true;
	default:
		return false;
	}
}

/*
 * Prepares s on this connection with its parameters' types, unless it
 * already is, and learns whether its results can come in binary.
 */
static int prepare_server(pg_t *db, pg_stmt_t *s)
{
	PGresult *r;

	if (s->prep_gen == db->gen &&
	    (s->nparams == 0 ||
	     memcmp(s->types, s->prep_types, (size_t)s->nparams * sizeof(Oid)) == 0))
		return 0;
	if (s->prep_gen == db->gen) {
		/* Bound with other types than it was prepared with: a new one under a new name. */
		char sql[48];

		snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
		PQclear(PQexec(db->c, sql));
		snprintf(s->name, sizeof(s->name), "fs%u", ++db->next_name);
	}
	r = PQprepare(db->c, s->name, s->sql, s->nparams, s->types);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return pg_err(db, r);
	PQclear(r);
	r = PQdescribePrepared(db->c, s->name);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return pg_err(db, r);
	s->binary = true;
	for (int i = 0; i < PQnfields(r) && s->binary; i++)
		s->binary = binary_type(PQftype(r, i));
	PQclear(r);
	if (s->nparams > 0)
		memcpy(s->prep_types, s->types, (size_t)s->nparams * sizeof(Oid));
	s->prep_gen = db->gen;
	return 0;
}

static int start(pg_t *db, pg_stmt_t *s)
{
	int rc;

	if ((rc = pg_ready(db)) < 0 || (rc = prepare_server(db, s)) < 0)
		return rc;
	if (!PQsendQueryPrepared(db->c, s->name, s->nparams, s->vals, s->lens, s->fmts,
	                         s->binary)) {
		pg_msg(db, PQerrorMessage(db->c));
		return PQstatus(db->c) == CONNECTION_BAD ? -ECONNRESET : -EIO;
	}
	PQsetSingleRowMode(db->c);
	s->run = RUN_STREAM;
	s->changes = 0;
	db->active = s;
	return 0;
}

static void new_row(pg_stmt_t *s, PGresult *r)
{
	PQclear(s->row);
	s->row = r;
	for (int i = 0; i < s->nblobs; i++)
		s->blobs[i].decoded = false;
}

static int pg_step(sq_stmt_t *st)
{
	pg_stmt_t *s = PS(st);
	pg_t *db = P(st->db);
	PGresult *r;
	int rc;

	if (s->run == RUN_IDLE && (rc = start(db, s)) < 0) {
		s->run = RUN_DONE;
		return rc;
	}
	if (s->run == RUN_QUEUED) {
		if (s->qhead < s->qn) {
			new_row(s, s->queue[s->qhead++]);
			return SQ_ROW;
		}
		new_row(s, NULL);
		s->run = RUN_DONE;
		return s->queued_rc;
	}
	if (s->run != RUN_STREAM)
		return SQ_DONE;
	if ((r = PQgetResult(db->c)) != NULL && PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
		new_row(s, r);
		return SQ_ROW;
	}
	new_row(s, NULL);
	rc = r != NULL ? run_end(db, s, r) : SQ_DONE;
	drain(db);
	db->active = NULL;
	s->run = RUN_DONE;
	return rc;
}

static int64_t pg_changes(sq_stmt_t *st)
{
	return PS(st)->changes;
}

static bool pg_null(sq_stmt_t *st, int i)
{
	pg_stmt_t *s = PS(st);

	return s->row == NULL || i < 0 || i >= PQnfields(s->row) || PQgetisnull(s->row, 0, i);
}

/* Column i's number when it came in binary: *is_int says which of the two it is. */
static bool bin_number(const pg_stmt_t *s, int i, int64_t *iv, double *dv, bool *is_int)
{
	const uint8_t *p = (const uint8_t *)PQgetvalue(s->row, 0, i);
	uint64_t u = 0;
	int n;

	if (PQfformat(s->row, i) != 1)
		return false;
	switch (PQftype(s->row, i)) {
	case OID_BOOL: n = 1; break;
	case OID_INT2: n = 2; break;
	case OID_INT4: n = 4; break;
	case OID_INT8: case OID_FLOAT8: n = 8; break;
	default: return false;
	}
	if (PQgetlength(s->row, 0, i) != n)
		return false;
	for (int k = 0; k < n; k++)
		u = u << 8 | p[k];
	*is_int = PQftype(s->row, i) != OID_FLOAT8;
	if (*is_int) {
		/* Sign-extended from its width. */
		*iv = n == 8 ? (int64_t)u : n == 1 ? (int64_t)u
		                                   : (int64_t)(u ^ 1ull << (8 * n - 1)) -
		                                     (int64_t)(1ull << (8 * n - 1));
		*dv = (double)*iv;
	} else {
		memcpy(dv, &u, sizeof(*dv));
		*iv = (int64_t)*dv;
	}
	return true;
}

/* Column i as both kinds of number (NULL: 0). */
static void number(sq_stmt_t *st, int i, int64_t *iv, double *dv)
{
	pg_stmt_t *s = PS(st);
	bool is_int;

	*iv = 0;
	*dv = 0;
	if (pg_null(st, i) || bin_number(s, i, iv, dv, &is_int))
		return;
	*iv = strtoll(PQgetvalue(s->row, 0, i), NULL, 10);
	*dv = strtod(PQgetvalue(s->row, 0, i), NULL);
}

static int64_t pg_i64(sq_stmt_t *st, int i)
{
	int64_t iv;
	double dv;

	number(st, i, &iv, &dv);
	return iv;
}

static double pg_f64(sq_stmt_t *st, int i)
{
	int64_t iv;
	double dv;

	number(st, i, &iv, &dv);
	return dv;
}

/*
 * Column i's bytes, made once per row in the column's buffer: bytea's hex
 * text decoded, a binary number written as text; text and binary bytea as
 * they came.  Always followed by a NUL.
 */
static blob_t *decode(sq_stmt_t *st, int i)
{
	pg_stmt_t *s = PS(st);
	const char *v;
	size_t n;
	blob_t *b;
	int64_t iv;
	double dv;
	bool is_int, hex;

	if (pg_null(st, i))
		return NULL;
	if (i >= s->nblobs) {
		blob_t *nb = realloc(s->blobs, (size_t)(i + 1) * sizeof(*nb));

		if (nb == NULL)
			return NULL;
		memset(nb + s->nblobs, 0, (size_t)(i + 1 - s->nblobs) * sizeof(*nb));
		s->blobs = nb;
		s->nblobs = i + 1;
	}
	b = &s->blobs[i];
	if (b->decoded)
		return b;
	v = PQgetvalue(s->row, 0, i);
	n = (size_t)PQgetlength(s->row, 0, i);
	if (b->cap < n + 32) {
		uint8_t *p = realloc(b->p, n + 32);

		if (p == NULL)
			return NULL;
		b->p = p;
		b->cap = n + 32;
	}
	hex = PQfformat(s->row, i) == 0 && PQftype(s->row, i) == OID_BYTEA && n >= 2 &&
	      v[0] == '\\' && v[1] == 'x';
	if (bin_number(s, i, &iv, &dv, &is_int)) {
		b->len = (size_t)(is_int ? snprintf((char *)b->p, 32, "%" PRId64, iv)
		                         : snprintf((char *)b->p, 32, "%.17g", dv));
	} else if (hex) {
		b->len = 0;
		for (size_t k = 2; k + 1 < n; k += 2) {
			int hi = fs_hexval(v[k]), lo = fs_hexval(v[k + 1]);

			if (hi < 0 || lo < 0)
				break;
			b->p[b->len++] = (uint8_t)(hi << 4 | lo);
		}
	} else {
		memcpy(b->p, v, n);
		b->len = n;
	}
	b->p[b->len] = '\0';
	b->decoded = true;
	return b;
}

static const char *pg_text(sq_stmt_t *st, int i)
{
	pg_stmt_t *s = PS(st);
	blob_t *b;

	if (pg_null(st, i))
		return NULL;
	if (PQfformat(s->row, i) == 0 ? PQftype(s->row, i) != OID_BYTEA
	                              : PQftype(s->row, i) == OID_TEXT ||
	                                PQftype(s->row, i) == OID_VARCHAR)
		return PQgetvalue(s->row, 0, i);   /* text as it came (libpq ends it with a NUL) */
	b = decode(st, i);
	return b != NULL ? (const char *)b->p : NULL;
}

static const void *pg_blob(sq_stmt_t *st, int i)
{
	blob_t *b = decode(st, i);

	return b != NULL ? b->p : NULL;
}

static size_t pg_bytes(sq_stmt_t *st, int i)
{
	blob_t *b = decode(st, i);

	return b != NULL ? b->len : 0;
}

static const struct sq_ops pg_ops = {
	.close = pg_close,
	.exec = pg_exec,
	.copy = pg_copy,
	.in_tx = pg_in_tx,
	.reconnect = pg_reconnect,
	.sys_errno = pg_sys_errno,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.bind_i64 = pg_bind_i64,
	.bind_f64 = pg_bind_f64,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.reset = pg_reset,
	.changes = pg_changes,
	.null = pg_null,
	.i64 = pg_i64,
	.f64 = pg_f64,
	.text = pg_text,
	.blob = pg_blob,
	.bytes = pg_bytes,
};

int sq__pg_open(const char *conninfo, unsigned flags, sq_t **out, char *err, size_t errlen)
{
	/* Defaults first: what the target says wins (libpq takes the last value of a key). */
	const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
	const char *vals[] = {"10", "fleetstat", conninfo, NULL};
	pg_t *db;
	int rc;

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		snprintf(err, errlen, "postgresql: out of memory");
		return -ENOMEM;
	}
	db->base.ops = &pg_ops;
	db->base.kind = SQ_PG;
	db->readonly = (flags & SQ_READONLY) != 0;
	db->gen = 1;
	/* dbname expands a URI or conninfo; libpq's messages never echo a password. */
	db->c = PQconnectdbParams(keys, vals, 1);
	if (db->c == NULL || PQstatus(db->c) != CONNECTION_OK) {
		pg_msg(db, db->c != NULL ? PQerrorMessage(db->c) : "out of memory");
		rc = db->c != NULL ? -ECONNREFUSED : -ENOMEM;
		goto fail;
	}
	if ((rc = pg_setup(db)) < 0)
		goto fail;
	*out = &db->base;
	return 0;
fail:
	snprintf(err, errlen, "postgresql: %s", db->base.msg);
	pg_close(&db->base);
	return rc;
}
