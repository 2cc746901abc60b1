/* SPDX-License-Identifier: MIT */
/* writer.c: group commit on a thread of its own; acks flow back through uv_async. */
/*
 * Group commit without a timer: the thread takes everything queued (up to
 * BATCH_MAX jobs), writes it in one transaction and commits; whatever
 * arrived meanwhile is the next batch.  A quiet collector commits each
 * report at once; a busy one commits thousands per fsync.  Nothing is
 * answered before its commit returned.
 */
#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

#define BATCH_MAX 4096
/* A failed commit is retried after RETRY_MS, forever while running, STOP_TRIES times when stopping. */
#define RETRY_MS 1000
#define STOP_TRIES 3

struct col_writer {
	uv_async_t async;
	db_t *db;
	col_writer_done_cb cb;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	col_job_t *head, **tail;       /* queued */
	col_job_t *done, **done_tail;  /* committed, not yet called back */
	size_t queued;
	int stopping;
	int failing;                   /* commits are failing: said once */
	col_writer_stats_t st;
};

col_job_t *col_job_new(col_job_type_t type)
{
	col_job_t *j = calloc(1, sizeof(*j));

	if (j)
		j->type = type;
	return j;
}

void col_job_free(col_job_t *j)
{
	if (j == NULL)
		return;
	wire_hello_close(&j->hello);
	wire_report_close(&j->report);
	free(j);
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int run_job(db_t *db, col_job_t *j)
{
	switch (j->type) {
	case COL_JOB_HELLO: {
		int err = db_host_hello(db, j->agent_id, &j->hello, j->now_ms, &j->last_seq);

		if (err == 0 && j->cert_sha256[0] != '\0')
			err = db_host_cert(db, j->agent_id, j->cert_subject, j->cert_sha256, j->cert_was);
		return err;
	}
	case COL_JOB_REPORT:
		return db_put_report(db, j->agent_id, &j->report, j->now_ms, &j->stored);
	case COL_JOB_HOURS:
		return db_roll_hours(db, j->now_ms, COL_HOURS_PER_JOB, &j->built);
	case COL_JOB_PRUNE: {
		int err = db_prune(db, j->horizon_ms, &j->deleted);

		return err < 0 ? err : db_prune_rollups(db, j->horizon_ms, j->minute_horizon_ms,
		                                        j->hour_horizon_ms,
		                                        &j->deleted_rollups);
	}
	}
	return -EINVAL;
}

/*
 * One transaction over the batch, each job in a savepoint of its own: a job
 * that fails on its own data (an unknown host, too many counter names) is
 * undone and answered with its error while the others commit.  0 when
 * committed; a negative errno when the database itself failed, and the
 * batch is to be retried.
 */
static int write_batch(col_writer_t *w, col_job_t *batch)
{
	uint64_t t0 = mono_us();
	int err;

	/* A report's own odd day (its error, not the database's) is its job's to fail, below. */
	for (col_job_t *j = batch; j; j = j->next)
		if (j->type == COL_JOB_REPORT &&
		    (err = db_prepare_for(w->db, j->report.collected_at_ms)) < 0 &&
		    db_error_is_transient(err))
			return err;
	if ((err = db_begin(w->db)) < 0)
		return err;
	for (col_job_t *j = batch; j; j = j->next) {
		if ((err = db_job_begin(w->db)) < 0)
			goto fail;
		j->err = run_job(w->db, j);
		if (j->err < 0 && db_error_is_transient(j->err)) {
			err = j->err;
			goto fail;
		}
		if ((err = db_job_end(w->db, j->err == 0)) < 0)
			goto fail;
	}
	if ((err = db_commit(w->db)) < 0)
		goto fail;
	pthread_mutex_lock(&w->mu);
	w->st.commits++;
	w->st.last_commit_us = mono_us() - t0;
	if (w->st.last_commit_us > w->st.max_commit_us)
		w->st.max_commit_us = w->st.last_commit_us;
	pthread_mutex_unlock(&w->mu);
	return 0;
fail:
	db_rollback(w->db);
	return err;
}

static void *writer_main(void *arg)
{
	col_writer_t *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		col_job_t *batch, **end;
		size_t n = 0;
		int tries = 0, err;

		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->cond, &w->mu);
		if (w->head == NULL)
			break; /* stopping, and nothing left */
		batch = w->head;
		for (end = &w->head; *end && n < BATCH_MAX; end = &(*end)->next)
			n++;
		w->head = *end;
		if (w->head == NULL)
			w->tail = &w->head;
		*end = NULL;
		w->queued -= n;
		pthread_mutex_unlock(&w->mu);

		while ((err = write_batch(w, batch)) < 0) {
			int stopping;
			struct timespec ts = {RETRY_MS / 1000, (RETRY_MS % 1000) * 1000000L};

			pthread_mutex_lock(&w->mu);
			w->st.commit_failures++;
			stopping = w->stopping;
			pthread_mutex_unlock(&w->mu);
			if (!w->failing++)
				log_warnx("col: writer: cannot store reports (%s: %s): not acking them, "
				          "retrying every %d ms", db_errmsg(w->db), strerror(-err), RETRY_MS);
			if (stopping && ++tries >= STOP_TRIES) {
				log_warnx("col: writer: giving up on %zu jobs at shutdown; their "
				          "agents will send them again", n);
				break;
			}
			nanosleep(&ts, NULL);
		}
		if (err == 0 && w->failing) {
			log_info("col: writer: storing again after %d failed commits", w->failing);
			w->failing = 0;
		}
		pthread_mutex_lock(&w->mu);
		for (col_job_t *j = batch; j; j = j->next) {
			if (err < 0)
				j->err = err; /* given up: nothing of the batch was stored */
			/* Stored at the commit (PostgreSQL): a report that failed alone says so there. */
			if (err == 0 && j->type == COL_JOB_REPORT && j->stored < 0) {
				j->err = j->stored;
				j->stored = 0;
			}
			if (j->err == 0 && j->type == COL_JOB_REPORT) {
				if (j->stored)
					w->st.reports_stored++;
				else
					w->st.reports_duplicate++;
			}
		}
		w->st.last_batch = n;
		*w->done_tail = batch;
		for (; *w->done_tail; w->done_tail = &(*w->done_tail)->next)
			;
		pthread_mutex_unlock(&w->mu);
		uv_async_send(&w->async);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void deliver(col_writer_t *w)
{
	col_job_t *j;

	pthread_mutex_lock(&w->mu);
	j = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->mu);
	while (j) {
		col_job_t *next = j->next;

		j->next = NULL;
		w->cb(w->ctx, j);
		j = next;
	}
}

static void on_async(uv_async_t *a)
{
	deliver(container_of(a, col_writer_t, async));
}

static void on_async_closed(uv_handle_t *h)
{
	col_writer_t *w = container_of((uv_async_t *)h, col_writer_t, async);

	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int col_writer_start(uv_loop_t *loop, db_t *db, col_writer_done_cb cb, void *ctx,
                     col_writer_t **out)
{
	col_writer_t *w = calloc(1, sizeof(*w));
	int err;

	if (w == NULL)
		return -ENOMEM;
	w->db = db;
	w->cb = cb;
	w->ctx = ctx;
	w->tail = &w->head;
	w->done_tail = &w->done;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	if ((err = uv_async_init(loop, &w->async, on_async)) < 0) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return err;
	}
	if ((err = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		uv_close((uv_handle_t *)&w->async, on_async_closed);
		return -err;
	}
	*out = w;
	return 0;
}

void col_writer_push(col_writer_t *w, col_job_t *job)
{
	job->next = NULL;
	pthread_mutex_lock(&w->mu);
	*w->tail = job;
	w->tail = &job->next;
	w->queued++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

void col_writer_stop(col_writer_t *w)
{
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	deliver(w);
	uv_close((uv_handle_t *)&w->async, on_async_closed);
}

void col_writer_stats(col_writer_t *w, col_writer_stats_t *st)
{
	pthread_mutex_lock(&w->mu);
	*st = w->st;
	st->queued = w->queued;
	pthread_mutex_unlock(&w->mu);
}
