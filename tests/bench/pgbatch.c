/* SPDX-License-Identifier: MIT */
/*
 * pgbatch.c: three ways to store a batch of reports in PostgreSQL, timed side
 * by side on the collector's own schema.
 *
 *   arrays    one INSERT ... SELECT FROM unnest($1::bigint[], ...) with each
 *             column an array literal: the writer's way (collector/store/pgflush.c)
 *   copy      COPY (binary) into a temporary staging table, then one
 *             INSERT ... SELECT FROM it
 *   pipeline  libpq's pipeline mode: one prepared INSERT per report (binary
 *             parameters), all sent before any answer is read
 *
 * Each batch is one transaction that says which of its reports were new
 * (ON CONFLICT DO NOTHING RETURNING host_id, seq), as the writer needs for
 * its rollups.  The reports are shaped as the query benchmark's: 1,000 hosts,
 * eleven state counts, a 300-byte top list, 60 bytes of listeners, 120 of
 * counters; one in twenty of each batch a resend of a stored one.  The methods
 * take turns, round after round, on the same partitioned table.
 *
 * usage: pgbatch CONNINFO [BATCH [ROUNDS]]     (default 500 reports, 12 rounds)
 * Prints one line per method: reports/s (median of its rounds) and the ratio
 * to arrays.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "buf.h"
#include "db.h"

enum { HOSTS = 1000, NINT = 18, TOP_LEN = 300, LST_LEN = 60, CNT_LEN = 120, M_N = 3 };

static const char *const int_cols[NINT] = {
	"host_id", "seq", "collected_at_ms", "received_at_ms", "interval_ms", "established",
	"syn_sent", "syn_recv", "fin_wait1", "fin_wait2", "time_wait", "close", "close_wait",
	"last_ack", "listen", "closing", "dropped_reports", "collect_us",
};

typedef struct {
	int64_t v[NINT];
	uint8_t top[TOP_LEN], lst[LST_LEN], cnt[CNT_LEN];
} row_t;

static PGconn *c;

static void die(const char *what, PGresult *r)
{
	fprintf(stderr, "pgbatch: %s: %s", what, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
	exit(1);
}

static void run(const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		die(sql, r);
	PQclear(r);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Batch k's reports: host by host, each host's seq going up a batch at a time. */
static void make_batch(row_t *b, size_t n, uint64_t k, int64_t day0)
{
	for (size_t i = 0; i < n; i++) {
		row_t *r = &b[i];
		uint64_t j = k * n + i;
		bool resend = k > 0 && i % 20 == 19;

		if (resend)
			j -= n + 1;   /* one the batch before stored (its own resends are not) */
		r->v[0] = (int64_t)(j % HOSTS) + 1;
		r->v[1] = (int64_t)(j / HOSTS) + 1;
		r->v[2] = day0 + (int64_t)(j / HOSTS) * 10000 + (int64_t)(j % HOSTS);
		r->v[3] = r->v[2] + 40;
		r->v[4] = 10000;
		for (int s = 5; s < NINT; s++)
			r->v[s] = (int64_t)(rnd() % 5000);
		for (size_t x = 0; x < TOP_LEN; x++)
			r->top[x] = (uint8_t)rnd();
		for (size_t x = 0; x < LST_LEN; x++)
			r->lst[x] = (uint8_t)rnd();
		for (size_t x = 0; x < CNT_LEN; x++)
			r->cnt[x] = (uint8_t)rnd();
	}
}

/* The new reports a RETURNING answer names. */
static size_t returned(PGresult *r, const char *what)
{
	size_t n;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die(what, r);
	n = (size_t)PQntuples(r);
	PQclear(r);
	return n;
}

/* ---- arrays ---- */

static void hex_elem(fs_buf_t *b, const uint8_t *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	fs_buf_puts(b, "\"\\\\x");
	for (size_t i = 0; i < len; i++) {
		char two[2] = {hex[p[i] >> 4], hex[p[i] & 15]};

		fs_buf_add(b, two, 2);
	}
	fs_buf_puts(b, "\"");
}

static size_t store_arrays(const row_t *b, size_t n)
{
	static fs_buf_t a[NINT + 4];
	const char *vals[NINT + 4];
	size_t k;

	for (int col = 0; col < NINT + 4; col++) {
		fs_buf_reset(&a[col]);
		fs_buf_puts(&a[col], "{");
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				fs_buf_puts(&a[col], ",");
			if (col < NINT)
				fs_buf_printf(&a[col], "%" PRId64, b[i].v[col]);
			else if (col == NINT)
				fs_buf_puts(&a[col], "\"netlink\"");
			else if (col == NINT + 1)
				hex_elem(&a[col], b[i].top, TOP_LEN);
			else if (col == NINT + 2)
				hex_elem(&a[col], b[i].lst, LST_LEN);
			else
				hex_elem(&a[col], b[i].cnt, CNT_LEN);
		}
		fs_buf_puts(&a[col], "}");
		vals[col] = a[col].p;
	}
	run("BEGIN");
	k = returned(PQexecPrepared(c, "ins_arrays", NINT + 4, vals, NULL, NULL, 0), "arrays");
	run("COMMIT");
	return k;
}

/* ---- copy ---- */

static void be(fs_buf_t *b, uint64_t v, int bytes)
{
	char x[8];

	for (int i = 0; i < bytes; i++)
		x[i] = (char)(uint8_t)(v >> (8 * (bytes - 1 - i)));
	fs_buf_add(b, x, (size_t)bytes);
}

static void field(fs_buf_t *b, const void *p, size_t len)
{
	be(b, len, 4);
	fs_buf_add(b, p, len);
}

static size_t store_copy(const row_t *b, size_t n)
{
	static fs_buf_t d;
	PGresult *r;
	size_t k;

	fs_buf_reset(&d);
	fs_buf_add(&d, "PGCOPY\n\377\r\n\0", 11);
	be(&d, 0, 4);   /* flags */
	be(&d, 0, 4);   /* header extension */
	for (size_t i = 0; i < n; i++) {
		be(&d, NINT + 4, 2);
		for (int col = 0; col < NINT; col++) {
			be(&d, 8, 4);
			be(&d, (uint64_t)b[i].v[col], 8);
		}
		field(&d, "netlink", 7);
		field(&d, b[i].top, TOP_LEN);
		field(&d, b[i].lst, LST_LEN);
		field(&d, b[i].cnt, CNT_LEN);
	}
	be(&d, 0xffff, 2);
	run("BEGIN");
	r = PQexec(c, "COPY stage FROM STDIN (FORMAT binary)");   /* its columns: reports' order */
	if (PQresultStatus(r) != PGRES_COPY_IN)
		die("COPY", r);
	PQclear(r);
	if (PQputCopyData(c, d.p, (int)d.len) != 1 || PQputCopyEnd(c, NULL) != 1)
		die("COPY data", NULL);
	if (PQresultStatus(r = PQgetResult(c)) != PGRES_COMMAND_OK)
		die("COPY end", r);
	PQclear(r);
	k = returned(PQexecPrepared(c, "ins_stage", 0, NULL, NULL, NULL, 0), "copy");
	run("COMMIT");   /* ON COMMIT DELETE ROWS empties the stage */
	return k;
}

/* ---- pipeline ---- */

static size_t store_pipeline(const row_t *b, size_t n)
{
	static uint8_t ints[NINT][8];
	const char *vals[NINT + 4];
	int lens[NINT + 4], fmts[NINT + 4];
	PGresult *r;
	size_t k = 0;

	if (PQenterPipelineMode(c) != 1)
		die("pipeline mode", NULL);
	PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
	for (size_t i = 0; i < n; i++) {
		for (int col = 0; col < NINT; col++) {
			for (int x = 0; x < 8; x++)
				ints[col][x] = (uint8_t)((uint64_t)b[i].v[col] >> (8 * (7 - x)));
			vals[col] = (const char *)ints[col];
			lens[col] = 8;
			fmts[col] = 1;
		}
		vals[NINT] = "netlink", lens[NINT] = 7;
		vals[NINT + 1] = (const char *)b[i].top, lens[NINT + 1] = TOP_LEN;
		vals[NINT + 2] = (const char *)b[i].lst, lens[NINT + 2] = LST_LEN;
		vals[NINT + 3] = (const char *)b[i].cnt, lens[NINT + 3] = CNT_LEN;
		for (int col = NINT; col < NINT + 4; col++)
			fmts[col] = 1;
		/* libpq copies the values into its output buffer: ints[] is free again. */
		if (PQsendQueryPrepared(c, "ins_one", NINT + 4, vals, lens, fmts, 0) != 1)
			die("pipeline send", NULL);
	}
	PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
	if (PQpipelineSync(c) != 1)
		die("pipeline sync", NULL);
	/* BEGIN, n inserts, COMMIT: each a result and a NULL; then the sync. */
	for (size_t q = 0; q < n + 2; q++) {
		if ((r = PQgetResult(c)) == NULL)
			die("pipeline result", NULL);
		if (q > 0 && q <= n)
			k += returned(r, "pipeline insert");
		else if (PQresultStatus(r) != PGRES_COMMAND_OK)
			die("pipeline BEGIN/COMMIT", r);
		else
			PQclear(r);
		if ((r = PQgetResult(c)) != NULL)
			die("pipeline: a result too many", r);
	}
	if (PQresultStatus(r = PQgetResult(c)) != PGRES_PIPELINE_SYNC)
		die("pipeline sync result", r);
	PQclear(r);
	if (PQexitPipelineMode(c) != 1)
		die("pipeline exit", NULL);
	return k;
}

/* ---- set-up ---- */

static void prepare(const char *name, const char *sql, int n, const Oid *types)
{
	PGresult *r = PQprepare(c, name, sql, n, types);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die(sql, r);
	PQclear(r);
}

static void statements(void)
{
	char cols[1024], sql[1024], ph[512];
	Oid types[NINT + 4];
	size_t n = 0, m = 0, p = 0;

	for (int i = 0; i < NINT; i++) {
		n += (size_t)snprintf(cols + n, sizeof(cols) - n, "%s, ", int_cols[i]);
		m += (size_t)snprintf(sql + m, sizeof(sql) - m, "%s$%d::bigint[]", i ? ", " : "", i + 1);
		p += (size_t)snprintf(ph + p, sizeof(ph) - p, "%s$%d", i ? ", " : "", i + 1);
		types[i] = 20;
	}
	snprintf(cols + n, sizeof(cols) - n, "source, top, listeners, counters");
	types[NINT] = 25;
	types[NINT + 1] = types[NINT + 2] = types[NINT + 3] = 17;
	{
		char ins[8192];

		snprintf(ins, sizeof(ins), "INSERT INTO reports (%s) SELECT * FROM unnest(%s,"
		         " $19::text[], $20::bytea[], $21::bytea[], $22::bytea[])"
		         " ON CONFLICT DO NOTHING RETURNING host_id, seq", cols, sql);
		prepare("ins_arrays", ins, 0, NULL);
		snprintf(ins, sizeof(ins), "INSERT INTO reports (%s) VALUES (%s, $19, $20, $21, $22)"
		         " ON CONFLICT DO NOTHING RETURNING host_id, seq", cols, ph);
		prepare("ins_one", ins, NINT + 4, types);
		/* Emptied by each COMMIT, so a batch that fails leaves nothing in it either. */
		snprintf(ins, sizeof(ins), "CREATE TEMP TABLE stage ON COMMIT DELETE ROWS AS"
		         " SELECT %s FROM reports WITH NO DATA", cols);
		run(ins);
		snprintf(ins, sizeof(ins), "INSERT INTO reports (%s) SELECT %s FROM stage"
		         " ON CONFLICT DO NOTHING RETURNING host_id, seq", cols, cols);
		prepare("ins_stage", ins, 0, NULL);
	}
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const char *const names[M_N] = {"arrays", "copy", "pipeline"};
	size_t (*const store[M_N])(const row_t *, size_t) = {store_arrays, store_copy,
	                                                     store_pipeline};
	size_t batch = argc > 2 ? strtoul(argv[2], NULL, 10) : 500;
	int rounds = argc > 3 ? atoi(argv[3]) : 12;
	enum { BATCHES = 40 };   /* per method and round */
	const int64_t day0 = 1796515200000;   /* 2026-12-06 00:00 UTC */
	double *rate[M_N];
	char err[512], sql[256];
	row_t *b;
	db_t *db;

	if (argc < 2 || batch == 0 || batch > 100000 || rounds < 1 || rounds > 1000) {
		fprintf(stderr, "usage: pgbatch CONNINFO [BATCH (1..100000) [ROUNDS (1..1000)]]\n");
		return 2;
	}
	/* The collector's schema, as a collector applies it. */
	if (db_open(argv[1], &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "pgbatch: %s\n", err);
		return 1;
	}
	db_close(db);
	if (PQstatus(c = PQconnectdb(argv[1])) != CONNECTION_OK)
		die("connect", NULL);
	run("SET client_min_messages = warning");
	run("TRUNCATE hosts CASCADE");
	snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS reports_bench PARTITION OF reports"
	         " FOR VALUES FROM (%" PRId64 ") TO (%" PRId64 ")", day0, day0 + (int64_t)30 * 86400000);
	run(sql);
	snprintf(sql, sizeof(sql), "INSERT INTO hosts (id, agent_id, hostname, tier, first_seen_ms,"
	         " last_seen_ms) SELECT i, decode(lpad(to_hex(i), 32, '0'), 'hex'), 'h' || i, 'web',"
	         " 0, 0 FROM generate_series(1, %d) AS i", HOSTS);
	run(sql);
	statements();
	if ((b = calloc(batch, sizeof(*b))) == NULL)
		return 1;
	for (int m = 0; m < M_N; m++)
		if ((rate[m] = calloc((size_t)rounds, sizeof(double))) == NULL)
			return 1;
	printf("batches of %zu reports (1 in 20 a resend), %d batches per method and round,"
	       " %d rounds\n", batch, BATCHES, rounds);
	for (int round = 0; round < rounds; round++) {
		for (int m = 0; m < M_N; m++) {
			size_t stored = 0, sent = 0;
			double t = 0;

			run("TRUNCATE reports");
			for (uint64_t k = 0; k < BATCHES; k++) {
				double t0;

				make_batch(b, batch, k, day0);
				t0 = now_s();
				stored += store[m](b, batch);
				t += now_s() - t0;
				sent += batch;
			}
			/* Every report once: the resends were told apart. */
			if (stored != sent - (BATCHES - 1) * (batch / 20)) {
				fprintf(stderr, "pgbatch: %s stored %zu of %zu\n", names[m], stored, sent);
				return 1;
			}
			rate[m][round] = (double)sent / t;
		}
	}
	for (int m = 0; m < M_N; m++)
		qsort(rate[m], (size_t)rounds, sizeof(double), dbl_cmp);
	for (int m = 0; m < M_N; m++) {
		double med = rate[m][rounds / 2], base = rate[0][rounds / 2];

		printf("%-9s %9.0f reports/s  (median; %.0f..%.0f)  %.2fx arrays\n", names[m], med,
		       rate[m][0], rate[m][rounds - 1], med / base);
	}
	for (int m = 0; m < M_N; m++)
		free(rate[m]);
	free(b);
	PQfinish(c);
	return 0;
}
