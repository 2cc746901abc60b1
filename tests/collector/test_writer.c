/* SPDX-License-Identifier: MIT */
/* test_writer.c: the writer thread's group commit, dedupe and callbacks, on a real SQLite file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <uv.h>

#include "db.h"
#include "writer.h"

#define NREPORTS 3000

typedef struct {
	char dir[64];
	char path[96];
	db_t *db;
	uv_loop_t loop;
	col_writer_t *w;
	int hellos, reports, stored, dups, errors;
	uint64_t last_seq_seen;
	uint64_t order_breaks;
} fx_t;

static const uint8_t agent[WIRE_AGENT_ID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void on_done(void *ctx, col_job_t *j)
{
	fx_t *f = ctx;

	if (j->err < 0)
		f->errors++;
	if (j->type == COL_JOB_HELLO) {
		f->hellos++;
	} else if (j->type == COL_JOB_REPORT) {
		f->reports++;
		f->stored += j->stored;
		f->dups += !j->stored;
		/* Callbacks come in the order jobs were pushed. */
		if (j->report.seq < f->last_seq_seen)
			f->order_breaks++;
		f->last_seq_seen = j->report.seq;
	}
	col_job_free(j);
}

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));
	char why[256];

	strcpy(f->dir, "/tmp/fs-writer-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/w.db", f->dir);
	assert_int_equal(db_open(f->path, &f->db, why, sizeof(why)), 0);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(col_writer_start(&f->loop, f->db, on_done, f, &f->w), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;
	char cmd[160];

	db_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static col_job_t *hello_job(void)
{
	col_job_t *j = col_job_new(COL_JOB_HELLO);

	memcpy(j->agent_id, agent, sizeof(agent));
	memcpy(j->hello.agent_id, agent, sizeof(agent));
	j->hello.protocol = 1;
	j->hello.hostname = strdup("web-01");
	j->hello.tier = strdup("web");
	j->hello.agent_version = strdup("test");
	j->now_ms = 1800000000000LL;
	return j;
}

static col_job_t *report_job(uint64_t seq)
{
	col_job_t *j = col_job_new(COL_JOB_REPORT);

	memcpy(j->agent_id, agent, sizeof(agent));
	j->report.seq = seq;
	j->report.collected_at_ms = 1800000000000LL + (int64_t)seq * 1000;
	j->report.interval_ms = 1000;
	j->report.states.n[1] = (uint32_t)seq;
	j->report.top.rest.n[1] = (uint32_t)seq;
	j->report.source = strdup("netlink");
	j->now_ms = j->report.collected_at_ms;
	return j;
}

static int64_t count_rows(fx_t *f)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM reports", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void run_until(fx_t *f, int reports)
{
	for (int i = 0; i < 20000 && f->reports < reports; i++) {
		uv_run(&f->loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
}

/* 3,000 reports pushed at once are committed in a few transactions, each acked once. */
static void test_col_writer_group_commit(void **state)
{
	fx_t *f = *state;
	col_writer_stats_t st;

	col_writer_push(f->w, hello_job());
	for (uint64_t s = 1; s <= NREPORTS; s++)
		col_writer_push(f->w, report_job(s));
	run_until(f, NREPORTS);
	assert_int_equal(f->hellos, 1);
	assert_int_equal(f->reports, NREPORTS);
	assert_int_equal(f->stored, NREPORTS);
	assert_int_equal(f->errors, 0);
	assert_int_equal(f->order_breaks, 0);
	col_writer_stats(f->w, &st);
	/* Group commit: far fewer transactions than reports. */
	assert_true(st.commits < NREPORTS / 10);
	assert_int_equal(st.reports_stored, NREPORTS);
	/* Every callback came after its commit: the rows are there. */
	assert_int_equal(count_rows(f), NREPORTS);

	/* Resends are acked (callback, no error) and stored once. */
	for (uint64_t s = NREPORTS - 9; s <= NREPORTS; s++)
		col_writer_push(f->w, report_job(s));
	run_until(f, NREPORTS + 10);
	assert_int_equal(f->dups, 10);
	assert_int_equal(count_rows(f), NREPORTS);

	col_writer_stop(f->w);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* Stopping commits what is still queued and calls back for all of it first. */
static void test_col_writer_stop_drains(void **state)
{
	fx_t *f = *state;

	col_writer_push(f->w, hello_job());
	for (uint64_t s = 1; s <= 500; s++)
		col_writer_push(f->w, report_job(s));
	col_writer_stop(f->w);
	assert_int_equal(f->reports, 500);
	assert_int_equal(f->stored, 500);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	assert_int_equal(count_rows(f), 500);
}

/*
 * A report of an agent that never said Hello cannot be stored: that job fails
 * alone, in its savepoint, and the rest of its batch commits.
 */
static void test_col_writer_unknown_agent(void **state)
{
	fx_t *f = *state;
	col_job_t *j = report_job(1);

	j->agent_id[0] = 99;
	col_writer_push(f->w, hello_job());
	col_writer_push(f->w, j);
	col_writer_push(f->w, report_job(1));
	col_writer_stop(f->w);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	assert_int_equal(f->reports, 2);
	assert_int_equal(f->errors, 1);
	assert_int_equal(f->stored, 1);
	assert_int_equal(count_rows(f), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_col_writer_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_col_writer_stop_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_col_writer_unknown_agent, setup, teardown),
	};

	return cmocka_run_group_tests_name("writer", tests, NULL, NULL);
}
