/* SPDX-License-Identifier: MIT */
/*
 * migrate.h: the schema's versions, kept in the database: SQLite's
 * schema/NNN_*.sql under PRAGMA user_version, PostgreSQL's schema/pg/NNN_*.sql
 * in the table fleetstat_schema, applied under an advisory lock so that
 * collectors starting together apply each version once.  Both lists are
 * compiled in by the build.
 */
#ifndef DB_MIGRATE_H
#define DB_MIGRATE_H

#include <stddef.h>

#include "sql.h"

/* The newest version this build knows for the backend. */
int db__schema_latest_of(sq_kind_t kind);

/* The SQL of version (1..latest), static storage, or NULL. */
const char *db__schema_sql_of(sq_kind_t kind, int version);

/* The version the database holds into *v (0: an empty database).  0 or a negative errno. */
int db__schema_version(sq_t *h, int *v);

/*
 * Applies every version above the database's, each in its own transaction
 * that also records it, so a crash leaves whole versions.  after(ctx, v),
 * when not NULL, runs inside version v's transaction after its SQL (data a
 * version must build with code).  0, or a negative errno with the reason in
 * msg: -EPROTO for a version this build does not know.
 */
int db__migrate(sq_t *h, int (*after)(void *ctx, int version), void *ctx, char *msg,
                size_t msglen);

#endif
