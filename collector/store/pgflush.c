/* SPDX-License-Identifier: MIT */
/* pgflush.c: a batch's reports and their rollups in a fixed number of PostgreSQL statements. */
#include "pgflush.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db_priv.h"
#include "pack.h"
#include "toproll.h"

/* Columns of the report insert: host, seq, 3 times, 11 states, 2 counts, source, 3 packed. */
#define INS_COLS (5 + (WIRE_NSTATES - 1) + 2 + 1 + DB_PEND_COLS)
/* Arrays at most one statement takes: the tier upsert's host, t, hosts and 2 per column. */
#define MAX_ARRAYS (3 + 2 * DB_ROLL_NCOLS)
/* The staging table the reports are copied into (one per session, emptied at each commit). */
#define STAGE "fs_stage"

enum { S_INS, S_MIN_GET, S_MIN_PUT, S_HOUR_PUT, S_TIER_PUT, S_TOP_GET, S_TOP_PUT, S_SEEN,
       S_DIRTY, S_N };

struct db_pgflush {
	sq_t *h;
	sq_stmt_t *st[S_N];
	fs_buf_t a[MAX_ARRAYS];
	fs_buf_t copy;         /* the reports in COPY's binary format */
	char stage_sql[1024];  /* makes the staging table unless the session has it */
	char copy_sql[1024];
};

/* A stored report's place in a group: sorted by (host, t, index), a group is a run. */
typedef struct {
	int64_t host, t;
	size_t i;
} gkey_t;

/* ---- PostgreSQL array literals, built as text and cast by the statement ---- */

static void arr_open(fs_buf_t *b)
{
	fs_buf_reset(b);
	fs_buf_puts(b, "{");
}

static void arr_sep(fs_buf_t *b)
{
	if (b->len > 1)
		fs_buf_puts(b, ",");
}

static void arr_close(fs_buf_t *b)
{
	fs_buf_puts(b, "}");
}

static void arr_i64(fs_buf_t *b, int64_t v)
{
	arr_sep(b);
	fs_buf_printf(b, "%" PRId64, v);
}

static void arr_f64(fs_buf_t *b, double v)
{
	arr_sep(b);
	fs_buf_printf(b, "%.17g", v);   /* read back to the same double */
}

/* Bytes as bytea's hex input, "\\x..." inside the array; no bytes: NULL. */
static void arr_bytes(fs_buf_t *b, const uint8_t *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	arr_sep(b);
	if (len == 0) {
		fs_buf_puts(b, "NULL");
		return;
	}
	fs_buf_puts(b, "\"\\\\x");
	for (size_t i = 0; i < len; i++) {
		char two[2] = {hex[p[i] >> 4], hex[p[i] & 15]};

		fs_buf_add(b, two, 2);
	}
	fs_buf_puts(b, "\"");
}

/* ---- COPY's binary format: big-endian numbers, each field after its length ---- */

static void copy_u(fs_buf_t *b, uint64_t v, int bytes)
{
	char x[8];

	for (int i = 0; i < bytes; i++)
		x[i] = (char)(uint8_t)(v >> (8 * (bytes - 1 - i)));
	fs_buf_add(b, x, (size_t)bytes);
}

static void copy_i64(fs_buf_t *b, int64_t v)
{
	copy_u(b, 8, 4);
	copy_u(b, (uint64_t)v, 8);
}

/* len bytes; with empty_null, none is NULL (length -1), as arr_bytes() has it. */
static void copy_field(fs_buf_t *b, const void *p, size_t len, bool empty_null)
{
	if (len == 0 && empty_null) {
		copy_u(b, 0xffffffff, 4);
		return;
	}
	copy_u(b, len, 4);
	fs_buf_add(b, p, len);
}

/* Binds the first n arrays to parameters 1..n: -ENOMEM when one could not be built. */
static int bind_arrays(db_pgflush_t *f, sq_stmt_t *st, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		arr_close(&f->a[i]);
		if (f->a[i].err)
			return -ENOMEM;
		sq_bind_text(st, (int)i + 1, f->a[i].p);
	}
	return 0;
}

/* ---- the statements ------------------------------------------------------------ */

#define ADD(...) (n += (size_t)snprintf(sql + n, n < len ? len - n : 0, __VA_ARGS__))

/* The report columns, in the order insert_rows() writes them. */
static void ins_cols(char *sql, size_t len)
{
	size_t n = 0;

	ADD("host_id, seq, collected_at_ms, received_at_ms, interval_ms");
	for (int s = WIRE_ESTABLISHED; s < WIRE_NSTATES; s++)
		ADD(", %s", wire_state_key(s));
	ADD(", dropped_reports, collect_us, source, top, listeners, counters, ports, requests");
}

/*
 * A batch's reports are copied into the staging table (COPY in binary), then
 * inserted from it in one statement: tests/bench/pgbatch.c measured it at
 * 1.7 to 1.9 times unnest() over array literals, and 1.3 to 1.4 times a
 * pipeline of single-row inserts.
 */
static void ins_sql(db_pgflush_t *f, char *sql, size_t len)
{
	char cols[512];
	size_t n = 0;

	ins_cols(cols, sizeof(cols));
	snprintf(f->stage_sql, sizeof(f->stage_sql), "CREATE TEMP TABLE IF NOT EXISTS " STAGE
	         " ON COMMIT DELETE ROWS AS SELECT %s FROM reports WITH NO DATA", cols);
	snprintf(f->copy_sql, sizeof(f->copy_sql), "COPY " STAGE " (%s) FROM STDIN (FORMAT binary)",
	         cols);
	ADD("INSERT INTO reports (%s) SELECT %s FROM " STAGE, cols, cols);
	ADD(" ON CONFLICT DO NOTHING RETURNING host_id, seq");
}

/* A host's rows of minute or hour (getting them locked, or adding to them). */
static void roll_sql(char *sql, size_t len, int which)
{
	const char *table = which == S_HOUR_PUT ? "rollup_hour" : "rollup_minute";
	size_t n = 0;

	if (which == S_MIN_GET) {
		ADD("SELECT m.host_id, m.t, m.n");
		for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
			ADD(", m.%s_sum, m.%s_max", db__roll_col(i), db__roll_col(i));
		ADD(" FROM rollup_minute m JOIN unnest(?1::bigint[], ?2::bigint[]) AS k (h, t)"
		    " ON m.host_id = k.h AND m.t = k.t FOR UPDATE OF m");
		return;
	}
	ADD("INSERT INTO %s (host_id, t, n", table);
	for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
		ADD(", %s_sum, %s_max", db__roll_col(i), db__roll_col(i));
	ADD(") SELECT * FROM unnest(?1::bigint[], ?2::bigint[], ?3::bigint[]");
	for (size_t i = 0; i < 2 * DB_ROLL_NCOLS; i++)
		ADD(", ?%zu::bigint[]", i + 4);
	ADD(") ON CONFLICT (host_id, t) DO UPDATE SET n = %s.n + excluded.n", table);
	for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
		ADD(", %s_sum = %s.%s_sum + excluded.%s_sum, %s_max = GREATEST(%s.%s_max, excluded.%s_max)",
		    db__roll_col(i), table, db__roll_col(i), db__roll_col(i), db__roll_col(i), table,
		    db__roll_col(i), db__roll_col(i));
}

/* What the hosts' minute rows gained, added to their tiers' rows (one row per tier and minute). */
static void tier_sql(char *sql, size_t len)
{
	size_t n = 0;

	ADD("INSERT INTO rollup_tier_minute (tier, t, hosts");
	for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
		ADD(", %s_mean, %s_max", db__roll_col(i), db__roll_col(i));
	ADD(") SELECT h.tier, v.t, sum(v.hosts)");
	for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
		ADD(", sum(v.m%zu), sum(v.x%zu)", i, i);
	ADD(" FROM unnest(?1::bigint[], ?2::bigint[], ?3::bigint[]");
	for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
		ADD(", ?%zu::float8[], ?%zu::bigint[]", 2 * i + 4, 2 * i + 5);
	ADD(") AS v (host, t, hosts");
	for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
		ADD(", m%zu, x%zu", i, i);
	ADD(") JOIN hosts h ON h.id = v.host GROUP BY h.tier, v.t"
	    " ON CONFLICT (tier, t) DO UPDATE SET hosts = rollup_tier_minute.hosts + excluded.hosts");
	for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
		ADD(", %s_mean = rollup_tier_minute.%s_mean + excluded.%s_mean,"
		    " %s_max = rollup_tier_minute.%s_max + excluded.%s_max",
		    db__roll_col(i), db__roll_col(i), db__roll_col(i), db__roll_col(i),
		    db__roll_col(i), db__roll_col(i));
}

#undef ADD

static const char *const fixed_sql[S_N] = {
	[S_TOP_GET] =
		"SELECT m.host_id, m.t, m.top, m.requests FROM rollup_top_minute m"
		" JOIN unnest(?1::bigint[], ?2::bigint[]) AS k (h, t)"
		" ON m.host_id = k.h AND m.t = k.t FOR UPDATE OF m",
	[S_TOP_PUT] =
		"INSERT INTO rollup_top_minute (host_id, t, top, requests)"
		" SELECT * FROM unnest(?1::bigint[], ?2::bigint[], ?3::bytea[], ?4::bytea[])"
		" ON CONFLICT (t, host_id) DO UPDATE SET top = excluded.top,"
		" requests = excluded.requests",
	[S_SEEN] =
		"UPDATE hosts h SET last_seen_ms = GREATEST(h.last_seen_ms, v.seen),"
		" last_seq = GREATEST(h.last_seq, v.seq), last_collected_ms = CASE"
		" WHEN v.seq > h.last_seq THEN v.at ELSE h.last_collected_ms END"
		" FROM unnest(?1::bigint[], ?2::bigint[], ?3::bigint[], ?4::bigint[])"
		" AS v (id, seen, seq, at) WHERE h.id = v.id",
	[S_DIRTY] =
		"INSERT INTO rollup_dirty_hour (t) SELECT DISTINCT x FROM unnest(?1::bigint[]) AS x"
		" ON CONFLICT DO NOTHING",
};

int db__pgflush_new(sq_t *h, db_pgflush_t **out)
{
	char sql[8192];
	db_pgflush_t *f;
	int rc = 0;

	*out = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	f->h = h;
	for (int i = 0; i < S_N && rc == 0; i++) {
		const char *q = fixed_sql[i];

		if (i == S_INS)
			ins_sql(f, sql, sizeof(sql)), q = sql;
		else if (i == S_MIN_GET || i == S_MIN_PUT || i == S_HOUR_PUT)
			roll_sql(sql, sizeof(sql), i), q = sql;
		else if (i == S_TIER_PUT)
			tier_sql(sql, sizeof(sql)), q = sql;
		rc = sq_prepare(h, q, &f->st[i]);
	}
	if (rc < 0) {
		db__pgflush_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

void db__pgflush_free(db_pgflush_t *f)
{
	if (f == NULL)
		return;
	for (int i = 0; i < S_N; i++)
		sq_finalize(f->st[i]);
	for (size_t i = 0; i < sizeof(f->a) / sizeof(f->a[0]); i++)
		fs_buf_close(&f->a[i]);
	fs_buf_close(&f->copy);
	free(f);
}

/* ---- the steps ----------------------------------------------------------------- */

static void open_arrays(db_pgflush_t *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		arr_open(&f->a[i]);
}

static int key_cmp(const void *a, const void *b)
{
	const gkey_t *x = a, *y = b;

	if (x->host != y->host)
		return x->host < y->host ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Inserts every row; isnew[] from what the insert answers. */
static int insert_rows(db_pgflush_t *f, const db_pend_t *p, size_t n, const uint8_t *bytes,
                       uint8_t *isnew, gkey_t *keys)
{
	sq_stmt_t *st = f->st[S_INS];
	fs_buf_t *d = &f->copy;
	int rc;

	fs_buf_reset(d);
	fs_buf_add(d, "PGCOPY\n\377\r\n\0", 11);
	copy_u(d, 0, 4);   /* flags */
	copy_u(d, 0, 4);   /* no header extension */
	for (size_t i = 0; i < n; i++) {
		const wire_report_t *r = p[i].r;

		copy_u(d, INS_COLS, 2);
		copy_i64(d, p[i].host);
		copy_i64(d, (int64_t)r->seq);
		copy_i64(d, r->collected_at_ms);
		copy_i64(d, p[i].received_ms);
		copy_i64(d, r->interval_ms);
		for (int s = WIRE_ESTABLISHED; s < WIRE_NSTATES; s++)
			copy_i64(d, r->states.n[s]);
		/* Stored as their two's complement bits, as SQLite's writes do. */
		copy_i64(d, (int64_t)r->dropped_reports);
		copy_i64(d, (int64_t)r->collect_us);
		copy_field(d, r->source ? r->source : "", r->source ? strlen(r->source) : 0, false);
		for (int c = 0; c < DB_PEND_COLS; c++)
			copy_field(d, bytes + p[i].off[c], p[i].len[c], true);
		isnew[i] = 0;
		keys[i] = (gkey_t){p[i].host, (int64_t)r->seq, i};
	}
	copy_u(d, 0xffff, 2);   /* the trailer: a field count of -1 */
	if (d->err)
		return -ENOMEM;
	if ((rc = sq_exec(f->h, f->stage_sql)) < 0 ||
	    (rc = sq_copy(f->h, f->copy_sql, d->p, d->len)) < 0)
		return rc;
	/* The first of a (host, seq) in p is the one stored: keys sorted by (host, seq, index). */
	qsort(keys, n, sizeof(*keys), key_cmp);
	while ((rc = sq_step(st)) == SQ_ROW) {
		gkey_t want = {sq_i64(st, 0), sq_i64(st, 1), 0};
		size_t lo = 0, hi = n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (key_cmp(&keys[mid], &want) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n && keys[lo].host == want.host && keys[lo].t == want.t)
			isnew[keys[lo].i] = 1;
	}
	sq_reset(st);
	return rc < 0 ? rc : 0;
}

/* The stored reports' keys by (host, t floored to res (0: by host alone), index); their count. */
static size_t group_keys(const db_pend_t *p, size_t n, const uint8_t *isnew, int64_t res,
                         gkey_t *keys)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (isnew[i])
			keys[m++] = (gkey_t){p[i].host, res ? db__floor(p[i].r->collected_at_ms, res) : 0, i};
	qsort(keys, m, sizeof(*keys), key_cmp);
	return m;
}

/* A group's sums and maxima per rollup column, and its count. */
static int64_t group_sum(const db_pend_t *p, const gkey_t *g, size_t len, int64_t *sum,
                         int64_t *max)
{
	for (size_t c = 0; c < DB_ROLL_NCOLS; c++)
		sum[c] = max[c] = 0;
	for (size_t k = 0; k < len; k++) {
		int64_t v[DB_ROLL_NCOLS];

		db__roll_values(p[g[k].i].r, v);
		for (size_t c = 0; c < DB_ROLL_NCOLS; c++) {
			sum[c] += v[c];
			if (k == 0 || v[c] > max[c])
				max[c] = v[c];
		}
	}
	return (int64_t)len;
}

static size_t run_len(const gkey_t *keys, size_t m, size_t at)
{
	size_t e = at + 1;

	while (e < m && keys[e].host == keys[at].host && keys[e].t == keys[at].t)
		e++;
	return e - at;
}

/* The first key of each run of keys[0..m), new (free()); *groups their count. */
static gkey_t *group_heads(const gkey_t *keys, size_t m, size_t *groups)
{
	gkey_t *gk = malloc((m ? m : 1) * sizeof(*gk));
	size_t g = 0;

	if (gk != NULL)
		for (size_t at = 0; at < m; at += run_len(keys, m, at))
			gk[g++] = keys[at];
	*groups = g;
	return gk;
}

/* The group of (host, t) in gk[0..groups), or groups. */
static size_t group_find(const gkey_t *gk, size_t groups, int64_t host, int64_t t)
{
	size_t lo = 0, hi = groups;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (gk[mid].host < host || (gk[mid].host == host && gk[mid].t < t))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < groups && gk[lo].host == host && gk[lo].t == t ? lo : groups;
}

/* Binds the groups' (host, t) as the two arrays a locking read of their rows takes. */
static int bind_groups(db_pgflush_t *f, sq_stmt_t *st, const gkey_t *gk, size_t groups)
{
	open_arrays(f, 2);
	for (size_t g = 0; g < groups; g++) {
		arr_i64(&f->a[0], gk[g].host);
		arr_i64(&f->a[1], gk[g].t);
	}
	return bind_arrays(f, st, 2);
}

/* Adds each group of keys[0..m) (count, sums, maxima) to its row with statement which. */
static int put_groups(db_pgflush_t *f, int which, const db_pend_t *p, const gkey_t *keys, size_t m)
{
	int64_t sum[DB_ROLL_NCOLS], max[DB_ROLL_NCOLS];
	int rc;

	open_arrays(f, 3 + 2 * DB_ROLL_NCOLS);
	for (size_t at = 0; at < m; at += run_len(keys, m, at)) {
		int64_t cnt = group_sum(p, keys + at, run_len(keys, m, at), sum, max);

		arr_i64(&f->a[0], keys[at].host);
		arr_i64(&f->a[1], keys[at].t);
		arr_i64(&f->a[2], cnt);
		for (size_t c = 0; c < DB_ROLL_NCOLS; c++) {
			arr_i64(&f->a[3 + 2 * c], sum[c]);
			arr_i64(&f->a[4 + 2 * c], max[c]);
		}
	}
	if ((rc = bind_arrays(f, f->st[which], 3 + 2 * DB_ROLL_NCOLS)) < 0)
		return rc;
	return sq_run(f->st[which]);
}

/*
 * Hour rows: additive.  Minute rows: read (locked) first, so that the tier's
 * row gains what each host's mean and maximum gained.
 */
static int rollups(db_pgflush_t *f, const db_pend_t *p, size_t n, const uint8_t *isnew,
                   gkey_t *keys)
{
	int64_t sum[DB_ROLL_NCOLS], max[DB_ROLL_NCOLS];
	size_t m, at;
	sq_stmt_t *st;
	int rc;

	/* Hours. */
	m = group_keys(p, n, isnew, 3600000, keys);
	if (m == 0)
		return 0;
	if ((rc = put_groups(f, S_HOUR_PUT, p, keys, m)) < 0)
		return rc;
	/* The dirty hours, for the baselines. */
	open_arrays(f, 1);
	for (at = 0; at < m; at += run_len(keys, m, at))
		arr_i64(&f->a[0], keys[at].t);
	st = f->st[S_DIRTY];
	if ((rc = bind_arrays(f, st, 1)) < 0 || (rc = sq_run(st)) < 0)
		return rc;

	/* Minutes: what the rows held before. */
	m = group_keys(p, n, isnew, 60000, keys);
	size_t groups, g;
	gkey_t *gk = group_heads(keys, m, &groups);
	int64_t (*before)[1 + 2 * DB_ROLL_NCOLS] = calloc(groups ? groups : 1, sizeof(*before));

	if (before == NULL || gk == NULL) {
		free(before);
		free(gk);
		return -ENOMEM;
	}
	st = f->st[S_MIN_GET];
	if ((rc = bind_groups(f, st, gk, groups)) < 0)
		goto out;
	while ((rc = sq_step(st)) == SQ_ROW) {
		size_t at_g = group_find(gk, groups, sq_i64(st, 0), sq_i64(st, 1));

		if (at_g < groups)
			for (int c = 0; c < 1 + 2 * (int)DB_ROLL_NCOLS; c++)
				before[at_g][c] = sq_i64(st, 2 + c);
	}
	sq_reset(st);
	if (rc < 0)
		goto out;

	/* The minute rows (additive) and their tiers' (what each host's row gained). */
	if ((rc = put_groups(f, S_MIN_PUT, p, keys, m)) < 0)
		goto out;
	open_arrays(f, 3 + 2 * DB_ROLL_NCOLS);
	for (at = 0, g = 0; at < m; at += run_len(keys, m, at), g++) {
		int64_t sum0[DB_ROLL_NCOLS], max0[DB_ROLL_NCOLS], hosts, dmax[DB_ROLL_NCOLS];
		double dmean[DB_ROLL_NCOLS];
		int64_t cnt = group_sum(p, keys + at, run_len(keys, m, at), sum, max);

		for (size_t c = 0; c < DB_ROLL_NCOLS; c++) {
			sum0[c] = before[g][1 + 2 * c];
			max0[c] = before[g][2 + 2 * c];
		}
		db__tier_delta(before[g][0], sum0, max0, cnt, sum, max, &hosts, dmean, dmax);
		arr_i64(&f->a[0], keys[at].host);
		arr_i64(&f->a[1], keys[at].t);
		arr_i64(&f->a[2], hosts);
		for (size_t c = 0; c < DB_ROLL_NCOLS; c++) {
			arr_f64(&f->a[3 + 2 * c], dmean[c]);
			arr_i64(&f->a[4 + 2 * c], dmax[c]);
		}
	}
	st = f->st[S_TIER_PUT];
	if ((rc = bind_arrays(f, st, 3 + 2 * DB_ROLL_NCOLS)) < 0 || (rc = sq_run(st)) < 0)
		goto out;
out:
	free(before);
	free(gk);
	return rc < 0 ? rc : 0;
}

/*
 * The minute rows of top lists and requests: each touched row read (locked),
 * the minute's stored reports merged into it in their order, written back.
 * A column that does not decode starts over, as db.c's top_minute_add() does.
 */
static int top_minutes(db_pgflush_t *f, const db_pend_t *p, size_t n, const uint8_t *isnew,
                       gkey_t *keys)
{
	size_t m = group_keys(p, n, isnew, 60000, keys), groups = 0, at, g = 0;
	col_roll_top_t *roll;
	col_roll_req_t *rq;
	fs_buf_t packed = FS_BUF_INIT, packed_req = FS_BUF_INIT;
	sq_stmt_t *st;
	int rc;

	gkey_t *gk;

	if (m == 0)
		return 0;
	if ((gk = group_heads(keys, m, &groups)) == NULL)
		return -ENOMEM;
	roll = calloc(groups, sizeof(*roll));
	rq = calloc(groups, sizeof(*rq));
	if (roll == NULL || rq == NULL) {
		free(roll);
		free(rq);
		free(gk);
		return -ENOMEM;
	}
	st = f->st[S_TOP_GET];
	if ((rc = bind_groups(f, st, gk, groups)) < 0)
		goto out;
	while ((rc = sq_step(st)) == SQ_ROW) {
		g = group_find(gk, groups, sq_i64(st, 0), sq_i64(st, 1));
		if (g < groups &&
		    (db_roll_top_unpack(sq_blob(st, 2), sq_bytes(st, 2), &roll[g]) == -ENOMEM ||
		     db_roll_req_unpack(sq_blob(st, 3), sq_bytes(st, 3), &rq[g]) == -ENOMEM)) {
			rc = -ENOMEM;
			break;
		}
	}
	sq_reset(st);
	if (rc < 0)
		goto out;
	open_arrays(f, 4);
	for (at = 0, g = 0; at < m && rc >= 0; at += run_len(keys, m, at), g++) {
		size_t len = run_len(keys, m, at);

		for (size_t k = 0; k < len && rc >= 0; k++) {
			const wire_report_t *r = p[keys[at + k].i].r;

			if ((rc = col_roll_top_add(&roll[g], &r->top, r->collected_at_ms)) == 0)
				rc = col_roll_req_add(&rq[g], &r->requests, r->interval_ms);
		}
		if (rc >= 0 && (rc = db_roll_top_pack(&packed, &roll[g])) >= 0 &&
		    (rc = db_roll_req_pack(&packed_req, &rq[g])) >= 0) {
			arr_i64(&f->a[0], keys[at].host);
			arr_i64(&f->a[1], keys[at].t);
			arr_bytes(&f->a[2], (const uint8_t *)packed.p, packed.len);
			arr_bytes(&f->a[3], (const uint8_t *)packed_req.p, packed_req.len);
		}
	}
	st = f->st[S_TOP_PUT];
	if (rc >= 0 && (rc = bind_arrays(f, st, 4)) >= 0)
		rc = sq_run(st);
out:
	for (g = 0; g < groups; g++) {
		col_roll_top_close(&roll[g]);
		col_roll_req_close(&rq[g]);
	}
	free(roll);
	free(rq);
	free(gk);
	fs_buf_close(&packed);
	fs_buf_close(&packed_req);
	return rc < 0 ? rc : 0;
}

/* Each host's newest receive time, and its highest seq stored with that report's time. */
static int hosts_seen(db_pgflush_t *f, const db_pend_t *p, size_t n, const uint8_t *isnew,
                      gkey_t *keys)
{
	size_t m = group_keys(p, n, isnew, 0, keys);
	sq_stmt_t *st = f->st[S_SEEN];
	int rc;

	if (m == 0)
		return 0;
	open_arrays(f, 4);
	for (size_t at = 0; at < m;) {
		int64_t seen = INT64_MIN, collected = 0;
		uint64_t seq = 0;
		size_t e = at;

		for (; e < m && keys[e].host == keys[at].host; e++) {
			const db_pend_t *x = &p[keys[e].i];

			if (x->received_ms > seen)
				seen = x->received_ms;
			if (x->r->seq > seq) {
				seq = x->r->seq;
				collected = x->r->collected_at_ms;
			}
		}
		arr_i64(&f->a[0], keys[at].host);
		arr_i64(&f->a[1], seen);
		arr_i64(&f->a[2], (int64_t)seq);
		arr_i64(&f->a[3], collected);
		at = e;
	}
	if ((rc = bind_arrays(f, st, 4)) < 0)
		return rc;
	return sq_run(st);
}

int db__pgflush(db_pgflush_t *f, const db_pend_t *p, size_t n, const uint8_t *bytes,
                uint8_t *isnew)
{
	gkey_t *keys;
	int rc;

	if (n == 0)
		return 0;
	if ((keys = malloc(n * sizeof(*keys))) == NULL)
		return -ENOMEM;
	if ((rc = insert_rows(f, p, n, bytes, isnew, keys)) == 0 &&
	    (rc = hosts_seen(f, p, n, isnew, keys)) == 0 &&
	    (rc = rollups(f, p, n, isnew, keys)) == 0)
		rc = top_minutes(f, p, n, isnew, keys);
	free(keys);
	return rc;
}
