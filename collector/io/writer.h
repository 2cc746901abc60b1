/* SPDX-License-Identifier: MIT */
/* writer.h: the one thread that writes SQLite, committing in groups. */
#ifndef COL_WRITER_H
#define COL_WRITER_H

#include <stdint.h>
#include <uv.h>

#include "db.h"
#include "wire.h"

typedef enum { COL_JOB_HELLO, COL_JOB_REPORT, COL_JOB_PRUNE, COL_JOB_HOURS } col_job_type_t;

/*
 * One piece of work for the writer.  The pusher fills the request part;
 * the writer fills the result part; the done callback gets the job back
 * (and frees it with col_job_free()).
 */
typedef struct col_job {
	struct col_job *next;
	col_job_type_t type;
	void *owner;                   /* who to answer (borrowed; kept alive by the pusher) */
	uint8_t agent_id[WIRE_AGENT_ID_LEN];
	int64_t now_ms;
	wire_hello_t hello;            /* HELLO: owned */
	char cert_subject[256];        /* HELLO: the agent's certificate (mutual TLS); "": none */
	char cert_sha256[65];
	wire_report_t report;          /* REPORT: owned */
	int64_t horizon_ms;            /* PRUNE: raw reports before it go */
	int64_t minute_horizon_ms;     /* PRUNE: minute rollups before it go */
	int64_t hour_horizon_ms;       /* PRUNE: hour rollups before it go */
	/* results */
	int err;                       /* 0, or a negative errno: not stored */
	uint64_t last_seq;             /* HELLO */
	char cert_was[65];             /* HELLO: the fingerprint stored before ("": none) */
	int stored;                    /* REPORT: 0 if it was a duplicate */
	uint64_t deleted;              /* PRUNE: reports */
	uint64_t deleted_rollups;      /* PRUNE: rollup rows */
	uint32_t built;                /* HOURS: hours of rollup_ip_hour built */
} col_job_t;

/* Hours of IP rollups one HOURS job builds at most (its share of a batch's time). */
#define COL_HOURS_PER_JOB 8

col_job_t *col_job_new(col_job_type_t type);
void col_job_free(col_job_t *j);

/* Runs on the loop's thread, once per job, after the job's transaction committed. */
typedef void (*col_writer_done_cb)(void *ctx, col_job_t *job);

typedef struct {
	uint64_t commits;
	uint64_t reports_stored;
	uint64_t reports_duplicate;
	uint64_t commit_failures;
	uint64_t last_commit_us;      /* latency of the last commit */
	uint64_t max_commit_us;
	uint64_t last_batch;          /* jobs in the last transaction */
	uint64_t queued;              /* jobs waiting now */
} col_writer_stats_t;

typedef struct col_writer col_writer_t;

/*
 * Starts the writer thread, which takes over db until col_writer_stop().
 * cb(ctx, job) runs on loop's thread.  *out is new.  0 or a negative errno.
 */
int col_writer_start(uv_loop_t *loop, db_t *db, col_writer_done_cb cb, void *ctx,
                     col_writer_t **out);

/* Queues a job (taken over).  Never blocks on the database. */
void col_writer_push(col_writer_t *w, col_job_t *job);

/*
 * Commits everything queued, joins the thread, runs the remaining done
 * callbacks, closes its async handle and frees the writer once the loop has
 * run the close (call before the final uv_run).  A batch that cannot be
 * committed is retried a few times and then given up: its reports were
 * never acked, so their agents resend them.
 */
void col_writer_stop(col_writer_t *w);

void col_writer_stats(col_writer_t *w, col_writer_stats_t *st);

#endif
