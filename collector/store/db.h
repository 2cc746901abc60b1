/* SPDX-License-Identifier: MIT */
/* db.h: the collector's storage, SQLite or PostgreSQL (sql.h): hosts, reports, migrations. */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

#include "pack.h"      /* the packed columns' decoders, for readers with their own connection */
#include "report.h"
#include "toproll.h"
#include "wire.h"

typedef struct db db_t;

/*
 * Opens the database at path for writing: a SQLite file (created if need
 * be; WAL, synchronous=FULL: an acked report survives a killed process and a
 * power loss, see the README; foreign keys, a busy timeout), or a PostgreSQL
 * URI or conninfo (sq_target_kind()); then applies the migrations
 * (schema/NNN_*.sql, schema/pg/NNN_*.sql, compiled in; migrate.h) each in
 * its own transaction.  *out is new (db_close() it).  On error
 * returns a negative errno and writes a one-line reason into err.
 */
int db_open(const char *path, db_t **out, char *err, size_t errlen);

/* Finalizes every statement and closes.  db_close(NULL) is a no-op. */
void db_close(db_t *db);

/* The schema version now (PRAGMA user_version), and the newest this build knows. */
int db_schema_version(db_t *db);
int db_schema_latest(void);

/*
 * The compiled-in SQL of migration version (1..db_schema_latest()), static
 * storage, or NULL.  For tests and tools that build an older schema.
 */
const char *db_schema_sql(int version);

/*
 * A Hello: inserts or updates the host (hostname, tier, labels,
 * agent_version, last_seen_ms = now_ms; first_seen_ms kept) and returns the
 * highest seq stored for it in *last_seq (0 for a new agent); pruning does
 * not lower it.  Labels are stored as a JSON object with sorted keys.
 * Borrowed arguments.  Runs in its own transaction unless one is open.
 */
int db_host_hello(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
                  const wire_hello_t *h, int64_t now_ms, uint64_t *last_seq);

/*
 * The certificate the agent presented with its Hello (mutual TLS): its
 * subject and SHA-256 (hex) stored on the host, registered by
 * db_host_hello() before.  was: the fingerprint stored before ("" when none).
 */
int db_host_cert(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN], const char *subject,
                 const char *sha256, char was[65]);

/*
 * Group commit: db_begin(), any number of db_put_report(), db_commit().
 * db_begin() takes the write lock at once (BEGIN IMMEDIATE); -EALREADY when
 * a transaction is open.  After any error inside a transaction, call
 * db_rollback(): it is also safe when SQLite already rolled back by itself.
 */
int db_begin(db_t *db);
int db_commit(db_t *db);
/*
 * Before db_begin(): makes ready, in a transaction of its own, what storing a
 * report collected at at_ms needs (PostgreSQL: its day's partition and the
 * next's), so that a batch never changes the schema under the other
 * collectors' batches.  A no-op when it is ready, and on SQLite.
 */
int db_prepare_for(db_t *db, int64_t at_ms);
int db_rollback(db_t *db);

/*
 * One job inside a group transaction (a savepoint): db_job_end(db, 0) undoes
 * just that job's writes, so one bad report does not cost the batch.
 */
int db_job_begin(db_t *db);
int db_job_end(db_t *db, int ok);

/*
 * Whether an error from this module is the database's (disk full, I/O,
 * busy, read-only: retry the whole batch later) rather than the job's own
 * (unknown host, a constraint, too big: that job alone fails).
 */
int db_error_is_transient(int err);

/*
 * Stores one validated report of agent_id inside the open transaction:
 * the state table, listeners, top remote IPs, counters; sysctls when the
 * report carries them (the host's current values are replaced).  A report
 * whose (agent_id, seq) is already stored is left alone and *stored = 0;
 * otherwise *stored = 1.  Also moves the host's last_seen_ms (to
 * received_ms) and last_seq, and adds it to the host's minute and hour
 * rollups, when the report is stored.  r is borrowed.
 * Without an open transaction it runs in its own.  -ENOENT: no Hello
 * stored this agent_id.  -ENOSPC: the counter-name dictionary is full
 * (DB_MAX_NAMES distinct names).  On error inside a transaction, roll back.
 *
 * On PostgreSQL the report is queued inside a transaction and stored by
 * db_commit() (a batch in a few statements, pgflush.h): r and stored are
 * borrowed until db_commit() or db_rollback() returns, and *stored is set
 * there: 1, 0, or a negative errno when this report alone could not be
 * stored (the others commit).
 */
int db_put_report(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
                  const wire_report_t *r, int64_t received_ms, int *stored);

/* Distinct counter names the database will intern (a hostile agent's bound). */
#define DB_MAX_NAMES 65536

/*
 * Deletes the top-list minutes before raw_horizon_ms (they index the raw
 * reports), minute rollups before minute_horizon_ms and hour rollups before
 * hour_horizon_ms; *deleted gets how many rows.
 */
int db_prune_rollups(db_t *db, int64_t raw_horizon_ms, int64_t minute_horizon_ms,
                     int64_t hour_horizon_ms, uint64_t *deleted);

/*
 * Builds rollup_ip_hour (schema/005_ip_hour.sql) for up to max_hours (at
 * most 64) of the hours marked by stored reports, oldest first, that ended
 * DB_HOUR_GRACE_MS or more before now_ms; *built gets how many.  A report
 * stored later for a built hour marks it again.  0 or a negative errno.
 */
#define DB_HOUR_GRACE_MS 60000
int db_roll_hours(db_t *db, int64_t now_ms, uint32_t max_hours, uint32_t *built);

/* Deletes raw reports collected before horizon_ms; *deleted gets how many. */
int db_prune(db_t *db, int64_t horizon_ms, uint64_t *deleted);

/*
 * Like db_prune() but deletes at most max_rows (0: no limit), oldest
 * first, so the writer can prune in slices between batches without holding
 * the write lock for long.  *deleted < max_rows means nothing older is left.
 */
int db_prune_some(db_t *db, int64_t horizon_ms, uint64_t max_rows,
                  uint64_t *deleted);

/*
 * Read-back, for tests and the query engine.  Reads see the open
 * transaction's writes.
 *
 * db_get_report(): the stored report (agent_id, seq) into *out, which the
 * caller releases with wire_report_close(): everything but sysctls, which
 * are kept per host (db_get_sysctls()); counters and listeners come back in
 * the order they were stored.  Returns 0, -ENOENT (no such host or seq),
 * -EBADMSG (a packed column is malformed) or another negative errno; *out
 * is zeroed on error.
 */
int db_get_report(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
                  uint64_t seq, wire_report_t *out);

typedef struct {
	char *hostname;
	char *tier;
	char *labels_json;      /* JSON object text, keys sorted */
	char *agent_version;
	int64_t first_seen_ms;
	int64_t last_seen_ms;
	uint64_t last_seq;
	char *cert_subject;     /* the agent's certificate (mutual TLS); NULL: none seen */
	char *cert_sha256;
} db_host_t;

/* A host as stored; release *out with db_host_close().  0 or -ENOENT, ... */
int db_get_host(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
                db_host_t *out);
void db_host_close(db_host_t *h);

typedef struct {
	char *name;
	char *value;
	int64_t changed_at_ms;  /* collected_at_ms of the report that set it */
} db_sysctl_t;

/*
 * The host's current sysctls sorted by name: *out is new (NULL when *n is
 * 0), released with db_sysctls_free(*out, *n).  0, -ENOENT (no host), ...
 */
int db_get_sysctls(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
                   db_sysctl_t **out, size_t *n);
void db_sysctls_free(db_sysctl_t *s, size_t n);

/* The last error's text from SQLite, for the log. */
const char *db_errmsg(db_t *db);

#endif
