/* SPDX-License-Identifier: MIT */
/* reader.h: the queries of DESIGN 6 on a read-only connection of their own. */
#ifndef DB_READER_H
#define DB_READER_H

#include <stddef.h>

#include "buf.h"
#include "commands.h"
#include "metrics.h"
#include "query.h"
#include "summary.h"
#include "suspects.h"

typedef struct db_reader db_reader_t;

/*
 * Opens an existing database read-only (it never blocks the writer: WAL
 * readers see the last commit).  *out is new (db_reader_close()).  On error
 * a negative errno and a one-line reason in err: -ENOENT when there is no
 * such file, -EPROTO when its schema is newer than this build's or not a
 * fleetstat database.
 */
int db_reader_open(const char *path, db_reader_t **out, char *err, size_t errlen);
void db_reader_close(db_reader_t *rd);

/* What suspects and summary read of the collector's config (borrowed); the others take NULL. */
typedef struct {
	const col_thresholds_t *th;     /* summary */
	const col_suspect_cfg_t *sus;   /* suspects, summary */
} db_query_cfg_t;

/*
 * Runs query cmd (commands.h) with options o, set by col_cmd_set() for
 * cmd, and appends its rendering to out.  0, for summary its status
 * (COL_OK, COL_WARNING, COL_CRITICAL); -EINVAL with a static reason in
 * *why for options that do not fit the query; or another negative errno,
 * the database's reason in db_reader_errmsg().
 */
int db_query(db_reader_t *rd, col_cmd_id_t cmd, col_qopts_t *o, const db_query_cfg_t *cfg,
             fs_buf_t *out, const char **why);

/*
 * The summary over o->since_ms (default 24 h) against th, with the attack
 * verdicts of suspects (sus) and the tuning advice over it, rendered into
 * out: returns its status (COL_OK, COL_WARNING, COL_CRITICAL) or a
 * negative errno.
 */
int db_summary(db_reader_t *rd, col_qopts_t *o, const col_thresholds_t *th,
               const col_suspect_cfg_t *sus, fs_buf_t *out);

/*
 * suspects: every IP that crosses cfg->suspect_min over o->since_ms
 * (default 15 min) on one host or over a tier, with its verdict, against
 * its baseline (the rollup_ip_hour rows of cfg->baseline_ms before the
 * window's hour); rendered in o->format (COL_FMT_IPSET too).  0 or a
 * negative errno.
 */
int db_suspects(db_reader_t *rd, col_qopts_t *o, const col_suspect_cfg_t *cfg, fs_buf_t *out);

/*
 * GET /metrics' fleet part: every host with its latest report and the
 * suspects of the last COL_METRICS_SUSPECTS_MS (cfg), rendered by
 * col_metrics_fleet() (without the suspects when a stored top list of the
 * window does not decode).  0 or a negative errno.
 */
int db_metrics(db_reader_t *rd, const col_suspect_cfg_t *cfg, int64_t now_ms, fs_buf_t *out);

/*
 * Every host with its latest report (no top lists), sorted by id: *out is
 * new, released with db_reader_hosts_free(*out, *n).  0 or a negative errno.
 * (The tests' view of what /metrics reads.)
 */
int db_reader_hosts(db_reader_t *rd, col_host_t **out, size_t *n);
void db_reader_hosts_free(col_host_t *hosts, size_t n);

/* Every tier a host has, sorted: *out new (db_reader_tiers_free()).  0 or a negative errno. */
int db_reader_tiers(db_reader_t *rd, char ***out, size_t *n);
void db_reader_tiers_free(char **tiers, size_t n);

const char *db_reader_errmsg(db_reader_t *rd);

#endif
