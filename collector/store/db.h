/* SPDX-License-Identifier: MIT */
/* db.h: the collector's SQLite storage: hosts, reports, migrations. */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "wire.h"

typedef struct db db_t;

/*
 * Opens (creating if need be) the database at path for writing: WAL,
 * synchronous=FULL (an acked report survives a killed process and a power
 * loss; see the README), foreign keys, a busy timeout; then applies the
 * migrations in schema/NNN_*.sql (compiled in) above PRAGMA user_version,
 * each in its own transaction.  *out is new (db_close() it).  On error
 * returns a negative errno and writes a one-line reason into err.
 */
int db_open(const char *path, db_t **out, char *err, size_t errlen);

/* Finalizes every statement and closes.  db_close(NULL) is a no-op. */
void db_close(db_t *db);

/* The schema version now (PRAGMA user_version), and the newest this build knows. */
int db_schema_version(db_t *db);
int db_schema_latest(void);

/*
 * A Hello: inserts or updates the host (hostname, tier, labels,
 * agent_version, last_seen_ms = now_ms; first_seen_ms kept) and returns the
 * highest seq stored for it in *last_seq (0 for a new agent).  Borrowed
 * arguments.  Runs in its own transaction unless one is open.
 */
int db_host_hello(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
                  const wire_hello_t *h, int64_t now_ms, uint64_t *last_seq);

/* Group commit: db_begin(), any number of db_put_report(), db_commit(). */
int db_begin(db_t *db);
int db_commit(db_t *db);
int db_rollback(db_t *db);

/*
 * Stores one validated report of agent_id inside the open transaction:
 * the state table, listeners, top remote IPs, counters; sysctls when the
 * report carries them (the host's current values are replaced).  A report
 * whose (agent_id, seq) is already stored is left alone and *stored = 0;
 * otherwise *stored = 1.  Also moves the host's last_seen_ms and last_seq.
 */
int db_put_report(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
                  const wire_report_t *r, int64_t received_ms, int *stored);

/* Deletes raw reports collected before horizon_ms; *deleted gets how many. */
int db_prune(db_t *db, int64_t horizon_ms, uint64_t *deleted);

/* The last error's text from SQLite, for the log. */
const char *db_errmsg(db_t *db);

#endif
