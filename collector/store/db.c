/* SPDX-License-Identifier: MIT */
/* db.c: the collector's SQLite storage: migrations, hosts, reports, read-back. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "db_priv.h"
#include "pack.h"

/* The migrations, generated from schema/NNN_*.sql by the build. */
extern const char *const db__schema_sql[];
extern const char *const db__schema_name[];
extern const int db__schema_count;

#define BUSY_MS 5000
/*
 * Page cache, KiB.  Each insert touches the last leaf of every reporting
 * host's range in reports_host_seq: ~1,000 pages (4 MiB) for 1,000 hosts,
 * above SQLite's 2 MiB default.
 */
#define CACHE_KIB 32768
#define STR_(x) #x
#define STR(x) STR_(x)
#define CACHE_STR STR(CACHE_KIB)

/*
 * Every statement the module runs more than once, prepared in db_open().
 * The report insert names its columns so that the packed BLOBs and the
 * state counts bind by position: ?1 host, ?2 seq, ... (see put_row()).
 */
enum {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO,
	ST_HOST_ID, ST_HELLO, ST_HOST_SEEN,
	ST_REPORT, ST_SYSCTL_DEL, ST_SYSCTL_PUT, ST_NAME_PUT, ST_NAMES,
	ST_PRUNE, ST_ROLL_MINUTE, ST_ROLL_HOUR, ST_ROLL_GET, ST_ROLL_TIER, ST_PRUNE_MINUTE,
	ST_PRUNE_HOUR, ST_PRUNE_TIER, ST_TOP_GET, ST_TOP_PUT, ST_PRUNE_TOP, ST_DIRTY_MARK, ST_DIRTY_DUE,
	ST_DIRTY_DEL, ST_IPH_DEL, ST_IPH_MINUTES, ST_IPH_PUT, ST_PRUNE_IPH, ST_GET_REPORT, ST_GET_HOST, ST_GET_SYSCTLS,
	ST_N
};

/* A host's top-list minute (?1 host, ?2 minute), also run by the migration to schema 4. */
#define TOP_GET_SQL "SELECT top FROM rollup_top_minute WHERE t = ?2 AND host_id = ?1"
#define TOP_PUT_SQL \
	"INSERT INTO rollup_top_minute (host_id, t, top) VALUES (?1, ?2, ?3)" \
	" ON CONFLICT (t, host_id) DO UPDATE SET top = excluded.top"
#define SCHEMA_TOP_MINUTE 4   /* the version that adds rollup_top_minute */

static const char *const stmt_sql[ST_N] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT job",
	[ST_RELEASE] = "RELEASE job",
	[ST_ROLLBACK_TO] = "ROLLBACK TO job",
	[ST_HOST_ID] = "SELECT id FROM hosts WHERE agent_id = ?1",
	[ST_HELLO] =
		"INSERT INTO hosts (agent_id, hostname, tier, labels, agent_version,"
		" first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
		" ON CONFLICT (agent_id) DO UPDATE SET hostname = excluded.hostname,"
		" tier = excluded.tier, labels = excluded.labels,"
		" agent_version = excluded.agent_version,"
		" last_seen_ms = excluded.last_seen_ms"
		" RETURNING max(last_seq, coalesce((SELECT max(seq) FROM reports"
		" WHERE host_id = hosts.id), 0))",
	[ST_HOST_SEEN] =
		"UPDATE hosts SET last_seen_ms = max(last_seen_ms, ?2),"
		" last_seq = max(last_seq, ?3) WHERE id = ?1",
	[ST_REPORT] =
		"INSERT OR IGNORE INTO reports (host_id, seq, collected_at_ms,"
		" received_at_ms, interval_ms, established, syn_sent, syn_recv,"
		" fin_wait1, fin_wait2, time_wait, close, close_wait, last_ack,"
		" listen, closing, dropped_reports, collect_us, source, top,"
		" listeners, counters) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
		" ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
	[ST_SYSCTL_DEL] =
		"DELETE FROM host_sysctls WHERE host_id = ?1"
		" AND name NOT IN (SELECT value FROM json_each(?2))",
	[ST_SYSCTL_PUT] =
		"INSERT INTO host_sysctls (host_id, name, value, changed_at_ms)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (host_id, name) DO UPDATE"
		" SET value = excluded.value, changed_at_ms = excluded.changed_at_ms"
		" WHERE value IS NOT excluded.value",
	[ST_NAME_PUT] = "INSERT INTO names (id, name) VALUES (?1, ?2)",
	[ST_NAMES] = "SELECT id, name FROM names",
	[ST_PRUNE] =
		"DELETE FROM reports WHERE id IN (SELECT id FROM reports"
		" WHERE collected_at_ms < ?1 ORDER BY collected_at_ms LIMIT ?2)",
	/* ST_ROLL_MINUTE, _HOUR, _GET, _TIER: built by rollup_sql() at open. */
	[ST_PRUNE_TIER] =
		"DELETE FROM rollup_tier_minute WHERE (tier, t) IN (SELECT tier, t"
		" FROM rollup_tier_minute WHERE t < ?1 ORDER BY t LIMIT ?2)",
	[ST_PRUNE_MINUTE] =
		"DELETE FROM rollup_minute WHERE (host_id, t) IN (SELECT host_id, t"
		" FROM rollup_minute WHERE t < ?1 ORDER BY t LIMIT ?2)",
	[ST_PRUNE_HOUR] =
		"DELETE FROM rollup_hour WHERE (host_id, t) IN (SELECT host_id, t"
		" FROM rollup_hour WHERE t < ?1 ORDER BY t LIMIT ?2)",
	[ST_TOP_GET] = TOP_GET_SQL,
	[ST_TOP_PUT] = TOP_PUT_SQL,
	[ST_PRUNE_TOP] =
		"DELETE FROM rollup_top_minute WHERE rowid IN (SELECT rowid"
		" FROM rollup_top_minute WHERE t < ?1 ORDER BY t LIMIT ?2)",
	[ST_DIRTY_MARK] = "INSERT OR IGNORE INTO rollup_dirty_hour (t) VALUES (?1)",
	[ST_DIRTY_DUE] = "SELECT t FROM rollup_dirty_hour WHERE t <= ?1 ORDER BY t LIMIT ?2",
	[ST_DIRTY_DEL] = "DELETE FROM rollup_dirty_hour WHERE t = ?1",
	[ST_IPH_DEL] = "DELETE FROM rollup_ip_hour WHERE t = ?1",
	[ST_IPH_MINUTES] =
		"SELECT m.t, h.tier, m.top FROM rollup_top_minute m JOIN hosts h"
		" ON h.id = m.host_id WHERE m.t >= ?1 AND m.t < ?2 ORDER BY m.t",
	[ST_IPH_PUT] =
		"INSERT INTO rollup_ip_hour (t, tier, ip, minutes, hosts, peak_total,"
		" peak_established, peak_syn_recv, host_max)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_PRUNE_IPH] =
		"DELETE FROM rollup_ip_hour WHERE t IN (SELECT DISTINCT t"
		" FROM rollup_ip_hour WHERE t < ?1 ORDER BY t LIMIT ?2)",
	[ST_GET_REPORT] =
		"SELECT r.seq, r.collected_at_ms, r.interval_ms, r.established,"
		" r.syn_sent, r.syn_recv, r.fin_wait1, r.fin_wait2, r.time_wait,"
		" r.close, r.close_wait, r.last_ack, r.listen, r.closing,"
		" r.dropped_reports, r.collect_us, r.source, r.top, r.listeners,"
		" r.counters FROM reports r JOIN hosts h ON h.id = r.host_id"
		" WHERE h.agent_id = ?1 AND r.seq = ?2",
	[ST_GET_HOST] =
		"SELECT hostname, tier, labels, agent_version, first_seen_ms,"
		" last_seen_ms, last_seq FROM hosts WHERE agent_id = ?1",
	[ST_GET_SYSCTLS] =
		"SELECT s.name, s.value, s.changed_at_ms FROM host_sysctls s"
		" JOIN hosts h ON h.id = s.host_id WHERE h.agent_id = ?1"
		" ORDER BY s.name",
};

struct db {
	sqlite3 *h;
	sqlite3_stmt *st[ST_N];

	/*
	 * The counter-name dictionary (table names) mirrored in memory, so a
	 * report's ~50 counters cost no query: by_id[id] is the name, slots an
	 * open-addressed hash of ids keyed by name (0 = empty).  Names added
	 * by a transaction that is rolled back are dropped by reloading.
	 */
	char **by_id;
	size_t by_id_cap;
	uint32_t *slots;
	size_t n_slots;          /* power of two, or 0 */
	uint32_t n_names;
	uint32_t next_id;
	uint32_t names_at_begin; /* n_names when the transaction began */
	uint32_t names_at_job;   /* n_names at the last db_job_begin() */

	fs_buf_t top, lis, cnt, roll;  /* packed columns, reused */
	fs_buf_t json;
	int64_t dirty_hour;      /* marked in this transaction (INT64_MIN: none yet) */
	char msg[256];
};

/* ---- errors --------------------------------------------------------- */

/* Records an error of this module (not SQLite's) and returns rc. */
static int fail(db_t *db, int rc, const char *what)
{
	if (db->msg[0] == '\0')
		snprintf(db->msg, sizeof(db->msg), "%s", what);
	return rc;
}

/* The API edge: a SQLite result code as 0 or a negative errno. */
int db__errno(sqlite3 *h, int rc)
{
	int sys;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_NOTFOUND:
		return -ENOENT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_RANGE:
		return -ERANGE;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_MISUSE:
		return -EINVAL;
	case SQLITE_INTERRUPT:
		return -EINTR;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		sys = h != NULL ? sqlite3_system_errno(h) : 0;
		return sys > 0 ? -sys : -EIO;
	default:
		return -EIO;
	}
}

/* db__errno(), keeping SQLite's message for db_errmsg(). */
static int to_errno(db_t *db, int rc)
{
	int err = db__errno(db->h, rc);

	if (err < 0 && db->msg[0] == '\0' && db->h != NULL)
		snprintf(db->msg, sizeof(db->msg), "%s", sqlite3_errmsg(db->h));
	return err;
}

/* A pack.h codec's error as a SQLite code: -ENOMEM, or what as this module's error. */
static int pack_rc(db_t *db, int err, const char *what)
{
	if (err == 0)
		return SQLITE_OK;
	return err == -ENOMEM ? SQLITE_NOMEM : fail(db, SQLITE_MISMATCH, what);
}

/* Steps a statement that returns no row and resets it. */
static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s != NULL ? s : "", -1, SQLITE_STATIC);
}

static int bind_blob(sqlite3_stmt *st, int i, const fs_buf_t *b)
{
	if (b->len == 0)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_blob(st, i, b->p, (int)b->len, SQLITE_STATIC);
}

/* ---- the minute rollups of top lists (schema/004_top_minute.sql) ---------- */

/*
 * Merges a report's top list (collected at at_ms) into its host's minute
 * row, with the statements ST_TOP_GET and ST_TOP_PUT.  A row that does not
 * decode starts over: it only indexes the raw reports, which stay the
 * truth, and refusing every later report of that minute would be worse.
 */
static int top_minute_add(db_t *db, sqlite3_stmt *get, sqlite3_stmt *put, int64_t host,
                          const wire_top_t *top, int64_t at_ms)
{
	col_roll_top_t r = {0};
	int64_t t = db__floor(at_ms, 60000);
	int rc;

	sqlite3_bind_int64(get, 1, host);
	sqlite3_bind_int64(get, 2, t);
	if ((rc = sqlite3_step(get)) == SQLITE_ROW) {
		rc = db_roll_top_unpack(sqlite3_column_blob(get, 0),
		                        (size_t)sqlite3_column_bytes(get, 0), &r) == -ENOMEM
		             ? SQLITE_NOMEM : SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_reset(get);
	if (rc == SQLITE_OK && col_roll_top_add(&r, top, at_ms) < 0)
		rc = SQLITE_NOMEM;
	if (rc == SQLITE_OK)
		rc = pack_rc(db, db_roll_top_pack(&db->roll, &r), "top-list minute: ip length not 4 or 16");
	col_roll_top_close(&r);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(put, 1, host);
	sqlite3_bind_int64(put, 2, t);
	bind_blob(put, 3, &db->roll);
	return run(put);
}

/* The migration to SCHEMA_TOP_MINUTE: the minute rows of the reports already stored. */
static int top_minute_backfill(db_t *db)
{
	sqlite3_stmt *all = NULL, *get = NULL, *put = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(db->h, "SELECT host_id, collected_at_ms, top FROM reports",
	                             -1, &all, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(db->h, TOP_GET_SQL, -1, &get, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(db->h, TOP_PUT_SQL, -1, &put, NULL)) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(all)) == SQLITE_ROW) {
		wire_top_t top;
		int err = db_top_unpack(sqlite3_column_blob(all, 2),
		                        (size_t)sqlite3_column_bytes(all, 2), &top);

		if (err == -ENOMEM) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (err < 0)
			continue;   /* a malformed list is no evidence; the query skips it too */
		rc = top_minute_add(db, get, put, sqlite3_column_int64(all, 0), &top,
		                    sqlite3_column_int64(all, 1));
		free(top.ips);
		if (rc != SQLITE_OK)
			break;
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
out:
	if (rc != SQLITE_OK && db->msg[0] == '\0')
		snprintf(db->msg, sizeof(db->msg), "building the top-list minutes: %s",
		         sqlite3_errmsg(db->h));
	sqlite3_finalize(all);
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	return rc;
}

/* ---- the counter-name dictionary ------------------------------------ */

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;   /* FNV-1a */

	while (*s != '\0') {
		h ^= (uint8_t)*s++;
		h *= 16777619u;
	}
	return h;
}

/* The slot holding name, or the empty slot where it would go. */
static size_t names_slot(const db_t *db, const char *name)
{
	size_t mask = db->n_slots - 1;
	size_t i = name_hash(name) & mask;

	while (db->slots[i] != 0 && strcmp(db->by_id[db->slots[i]], name) != 0)
		i = (i + 1) & mask;
	return i;
}

static void names_clear(db_t *db)
{
	size_t i;

	for (i = 0; i < db->by_id_cap; i++)
		free(db->by_id[i]);
	free(db->by_id);
	free(db->slots);
	db->by_id = NULL;
	db->slots = NULL;
	db->by_id_cap = db->n_slots = 0;
	db->n_names = 0;
	db->next_id = 1;
}

/* Adds (id, name) to the memory side only. */
static int names_add(db_t *db, uint32_t id, const char *name)
{
	size_t i;

	if (id == 0 || id > DB_MAX_NAMES * 2u)
		return SQLITE_CORRUPT;
	if (id >= db->by_id_cap) {
		size_t cap = db->by_id_cap ? db->by_id_cap : 64;
		char **p;

		while (cap <= id)
			cap *= 2;
		p = realloc(db->by_id, cap * sizeof(*p));
		if (p == NULL)
			return SQLITE_NOMEM;
		memset(p + db->by_id_cap, 0, (cap - db->by_id_cap) * sizeof(*p));
		db->by_id = p;
		db->by_id_cap = cap;
	}
	if (db->by_id[id] != NULL)
		return SQLITE_CORRUPT;
	if ((db->n_names + 1) * 2 > db->n_slots) {
		size_t ns = db->n_slots ? db->n_slots * 2 : 128;
		uint32_t *old = db->slots;
		size_t on = db->n_slots, j;

		db->slots = calloc(ns, sizeof(*db->slots));
		if (db->slots == NULL) {
			db->slots = old;
			return SQLITE_NOMEM;
		}
		db->n_slots = ns;
		for (j = 0; j < on; j++)
			if (old[j] != 0)
				db->slots[names_slot(db, db->by_id[old[j]])] = old[j];
		free(old);
	}
	i = names_slot(db, name);
	if (db->slots[i] != 0)
		return SQLITE_CORRUPT;          /* the same name twice */
	if ((db->by_id[id] = strdup(name)) == NULL)
		return SQLITE_NOMEM;
	db->slots[i] = id;
	db->n_names++;
	if (id >= db->next_id)
		db->next_id = id + 1;
	return SQLITE_OK;
}

static int names_load(db_t *db)
{
	sqlite3_stmt *st = db->st[ST_NAMES];
	int rc;

	names_clear(db);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		int64_t id = sqlite3_column_int64(st, 0);

		if (name == NULL || id <= 0 || id > UINT32_MAX)
			rc = SQLITE_CORRUPT;
		else
			rc = names_add(db, (uint32_t)id, name);
		if (rc != SQLITE_OK)
			break;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_CORRUPT)
		return fail(db, rc, "names: duplicate or invalid entry");
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The id of a counter name, interned inside the open transaction. */
static int names_intern(db_t *db, const char *name, uint32_t *id)
{
	sqlite3_stmt *st = db->st[ST_NAME_PUT];
	int rc;

	if (db->n_slots != 0) {
		size_t i = names_slot(db, name);

		if (db->slots[i] != 0) {
			*id = db->slots[i];
			return SQLITE_OK;
		}
	}
	if (db->n_names >= DB_MAX_NAMES)
		return fail(db, SQLITE_TOOBIG, "counter names: dictionary full");
	sqlite3_bind_int64(st, 1, db->next_id);
	bind_text(st, 2, name);
	if ((rc = run(st)) != SQLITE_OK)
		return rc;
	*id = db->next_id;
	return names_add(db, db->next_id, name);
}

/* The id of a name for db_counters_pack(), keeping names_intern()'s code in rc. */
struct intern {
	db_t *db;
	int rc;
};

static int intern_id(void *ctx, const char *name, uint32_t *id)
{
	struct intern *in = ctx;

	in->rc = names_intern(in->db, name, id);
	return in->rc == SQLITE_OK ? 0 : -EIO;
}

/* The name of an id for db_counters_unpack(), or NULL. */
static const char *id_name(void *ctx, uint32_t id)
{
	const db_t *db = ctx;

	return id < db->by_id_cap ? db->by_id[id] : NULL;
}

/* ---- JSON text for labels and for the sysctl name list -------------- */

static int kv_cmp(const void *a, const void *b)
{
	const wire_kv_t *x = *(const wire_kv_t *const *)a;
	const wire_kv_t *y = *(const wire_kv_t *const *)b;

	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* labels as a JSON object with sorted keys, NUL-terminated, in db->json. */
static int labels_json(db_t *db, const wire_kv_t *kv, size_t n)
{
	const wire_kv_t **sorted = NULL;
	fs_buf_t *b = &db->json;
	size_t i;

	fs_buf_reset(b);
	if (n > 0 && (sorted = malloc(n * sizeof(*sorted))) == NULL)
		return SQLITE_NOMEM;
	for (i = 0; i < n; i++)
		sorted[i] = &kv[i];
	if (n > 1)
		qsort(sorted, n, sizeof(*sorted), kv_cmp);
	fs_buf_puts(b, "{");
	for (i = 0; i < n; i++) {
		if (i > 0)
			fs_buf_puts(b, ",");
		fs_buf_json_str(b, sorted[i]->name ? sorted[i]->name : "");
		fs_buf_puts(b, ":");
		fs_buf_json_str(b, sorted[i]->value ? sorted[i]->value : "");
	}
	fs_buf_puts(b, "}");
	free(sorted);
	return b->err ? SQLITE_NOMEM : SQLITE_OK;
}

/* ---- open, migrate, close ------------------------------------------- */

static int user_version(sqlite3 *h, int *v)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Applies the migrations above user_version, each in its own transaction
 * that also moves user_version, so a crash leaves a whole version.  The
 * version is read again under the write lock: another process may have
 * migrated meanwhile.  Foreign keys are still off here, as SQLite's
 * procedure for rebuilding a table in a later migration requires.
 */
static int migrate(db_t *db)
{
	char sql[64];
	int rc, v = 0;

	for (;;) {
		if ((rc = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL,
				       NULL)) != SQLITE_OK)
			return rc;
		if ((rc = user_version(db->h, &v)) != SQLITE_OK)
			goto fail;
		if (v < 0 || v > db__schema_count) {
			snprintf(db->msg, sizeof(db->msg),
				 "schema version %d is not one this build knows (1..%d)",
				 v, db__schema_count);
			rc = SQLITE_MISMATCH;
			goto fail;
		}
		if (v == db__schema_count)
			return sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
		rc = sqlite3_exec(db->h, db__schema_sql[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			snprintf(db->msg, sizeof(db->msg), "schema/%s: %s",
				 db__schema_name[v], sqlite3_errmsg(db->h));
			goto fail;
		}
		if (v + 1 == SCHEMA_TOP_MINUTE && (rc = top_minute_backfill(db)) != SQLITE_OK)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL)) != SQLITE_OK ||
		    (rc = sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
			goto fail;
	}
fail:
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* PRAGMA journal_mode = WAL answers the mode it is in now. */
static int set_wal(db_t *db)
{
	sqlite3_stmt *st;
	const char *mode;
	int rc = sqlite3_prepare_v2(db->h, "PRAGMA journal_mode = WAL", -1,
				    &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		mode = (const char *)sqlite3_column_text(st, 0);
		rc = SQLITE_OK;
		/* An in-memory database cannot be WAL and needs no durability. */
		if (mode == NULL || (strcmp(mode, "wal") != 0 &&
				     strcmp(mode, "memory") != 0))
			rc = fail(db, SQLITE_CANTOPEN, "cannot switch to WAL mode");
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * The rollups' columns (schema/003_rollups.sql): each state but LISTEN, under
 * its wire_state_key() name, in state order, then "total".
 */
#define ROLL_NCOLS ((size_t)WIRE_NSTATES - 1)

/* The state of rollup column i, or 0 for the total. */
static int roll_state(size_t i)
{
	return i + 1 == ROLL_NCOLS ? 0 : (int)(i + 1 < WIRE_LISTEN ? i + 1 : i + 2);
}

static const char *roll_col(size_t i)
{
	return i + 1 == ROLL_NCOLS ? "total" : wire_state_key(roll_state(i));
}

/*
 * The statements that keep the rollups (schema/003_rollups.sql), by kind:
 * ST_ROLL_MINUTE / _HOUR add one report to its host's row of that table
 * (?1 host, ?2 the row's start, ?3.. the state values in column order);
 * ST_ROLL_GET reads a host's minute row (n, then each column's sum and max);
 * ST_ROLL_TIER adds to the host's tier's minute row the difference the
 * report made to the host's (?3 hosts, then per column the mean's and the
 * maximum's change).
 */
static void rollup_sql(char *sql, size_t len, int which)
{
	const char *table = which == ST_ROLL_HOUR ? "rollup_hour" : "rollup_minute";
	size_t n = 0;

#define ADD(...) (n += (size_t)snprintf(sql + n, n < len ? len - n : 0, __VA_ARGS__))
	if (which == ST_ROLL_GET) {
		ADD("SELECT n");
		for (size_t i = 0; i < ROLL_NCOLS; i++)
			ADD(", %s_sum, %s_max", roll_col(i), roll_col(i));
		ADD(" FROM rollup_minute WHERE host_id = ?1 AND t = ?2");
		return;
	}
	if (which == ST_ROLL_TIER) {
		ADD("INSERT INTO rollup_tier_minute (tier, t, hosts");
		for (size_t i = 0; i < ROLL_NCOLS; i++)
			ADD(", %s_mean, %s_max", roll_col(i), roll_col(i));
		ADD(") SELECT tier, ?2, ?3");
		for (size_t i = 0; i < ROLL_NCOLS; i++)
			ADD(", ?%zu, ?%zu", 2 * i + 4, 2 * i + 5);
		ADD(" FROM hosts WHERE id = ?1 ON CONFLICT (tier, t) DO UPDATE SET"
		    " hosts = hosts + excluded.hosts");
		for (size_t i = 0; i < ROLL_NCOLS; i++)
			ADD(", %s_mean = %s_mean + excluded.%s_mean, %s_max = %s_max + excluded.%s_max",
			    roll_col(i), roll_col(i), roll_col(i), roll_col(i), roll_col(i),
			    roll_col(i));
		return;
	}
	ADD("INSERT INTO %s (host_id, t, n", table);
	for (size_t i = 0; i < ROLL_NCOLS; i++)
		ADD(", %s_sum, %s_max", roll_col(i), roll_col(i));
	ADD(") VALUES (?1, ?2, 1");
	for (size_t i = 0; i < ROLL_NCOLS; i++)
		ADD(", ?%zu, ?%zu", i + 3, i + 3);
	ADD(") ON CONFLICT (host_id, t) DO UPDATE SET n = n + 1");
	for (size_t i = 0; i < ROLL_NCOLS; i++)
		ADD(", %s_sum = %s_sum + excluded.%s_sum, %s_max = max(%s_max, excluded.%s_max)",
		    roll_col(i), roll_col(i), roll_col(i), roll_col(i), roll_col(i), roll_col(i));
#undef ADD
}

int db_open(const char *path, db_t **out, char *err, size_t errlen)
{
	db_t *db;
	int rc, i, ret;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	db->next_id = 1;
	db->dirty_hour = INT64_MIN;
	rc = sqlite3_open_v2(path, &db->h,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(db->h, 1);
	if ((rc = sqlite3_busy_timeout(db->h, BUSY_MS)) != SQLITE_OK ||
	    (rc = set_wal(db)) != SQLITE_OK ||
	    (rc = sqlite3_exec(db->h, "PRAGMA synchronous = FULL;"
			       " PRAGMA cache_size = -" CACHE_STR, NULL, NULL,
			       NULL)) != SQLITE_OK ||
	    (rc = migrate(db)) != SQLITE_OK ||
	    (rc = sqlite3_exec(db->h, "PRAGMA foreign_keys = ON", NULL, NULL,
			       NULL)) != SQLITE_OK)
		goto fail;
	for (i = 0; i < ST_N; i++) {
		char roll[4096];
		const char *sql = stmt_sql[i];

		if (i == ST_ROLL_MINUTE || i == ST_ROLL_HOUR || i == ST_ROLL_GET || i == ST_ROLL_TIER) {
			rollup_sql(roll, sizeof(roll), i);
			sql = roll;
		}
		rc = sqlite3_prepare_v3(db->h, sql, -1,
					SQLITE_PREPARE_PERSISTENT, &db->st[i], NULL);
		if (rc != SQLITE_OK)
			goto fail;
	}
	if ((rc = names_load(db)) != SQLITE_OK)
		goto fail;
	*out = db;
	return 0;
fail:
	ret = to_errno(db, rc);
	if (ret == 0)
		ret = -EIO;
	if (err != NULL && errlen > 0) {
		/* SQLite's words, and the system's when it has them (a read-only disk, no space). */
		int sys = db->h ? sqlite3_system_errno(db->h) : 0;
		const char *why = sys > 0 && sys != ENOENT ? strerror(sys) : NULL;
		struct statvfs sv;
		char dir[4096];
		const char *slash = strrchr(path, '/');

		/* ENOENT is SQLite's last probe (a journal), not the cause. */
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1,
			 slash ? path : ".");
		if (statvfs(dir, &sv) == 0 && (sv.f_flag & ST_RDONLY))
			why = "its file system is read-only";
		snprintf(err, errlen, "%s: %s%s%s", path, db->msg[0] ? db->msg : sqlite3_errstr(rc),
			 why ? ": " : "", why ? why : "");
	}
	db_close(db);
	return ret;
}

void db_close(db_t *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; i < ST_N; i++)
		sqlite3_finalize(db->st[i]);
	/* A transaction left open is rolled back by the close. */
	sqlite3_close(db->h);
	names_clear(db);
	fs_buf_close(&db->top);
	fs_buf_close(&db->lis);
	fs_buf_close(&db->cnt);
	fs_buf_close(&db->json);
	fs_buf_close(&db->roll);
	free(db);
}

int db_schema_version(db_t *db)
{
	int rc, v = 0;

	db->msg[0] = '\0';
	rc = user_version(db->h, &v);
	return rc == SQLITE_OK ? v : to_errno(db, rc);
}

int db_schema_latest(void)
{
	return db__schema_count;
}

const char *db_schema_sql(int version)
{
	if (version < 1 || version > db__schema_count)
		return NULL;
	return db__schema_sql[version - 1];
}

const char *db_errmsg(db_t *db)
{
	if (db->msg[0] != '\0')
		return db->msg;
	return sqlite3_errmsg(db->h);
}

/* ---- transactions --------------------------------------------------- */

static int tx_begin(db_t *db)
{
	int rc = run(db->st[ST_BEGIN]);

	if (rc == SQLITE_OK)
		db->names_at_begin = db->n_names;
	db->dirty_hour = INT64_MIN;
	return rc;
}

/*
 * Ends a transaction that failed.  SQLite may have rolled it back already
 * (on a full disk, say); the dictionary drops the names it added either way.
 */
static int tx_abort(db_t *db)
{
	int rc = SQLITE_OK;

	if (!sqlite3_get_autocommit(db->h))
		rc = run(db->st[ST_ROLLBACK]);
	if (db->n_names != db->names_at_begin) {
		int rc2 = names_load(db);

		if (rc == SQLITE_OK)
			rc = rc2;
	}
	return rc;
}

static int tx_commit(db_t *db)
{
	int rc = run(db->st[ST_COMMIT]);

	/* Not committed: still open (busy) or already rolled back. */
	if (rc != SQLITE_OK && sqlite3_get_autocommit(db->h) &&
	    db->n_names != db->names_at_begin)
		names_load(db);
	return rc;
}

int db_begin(db_t *db)
{
	db->msg[0] = '\0';
	if (!sqlite3_get_autocommit(db->h)) {
		fail(db, SQLITE_MISUSE, "a transaction is already open");
		return -EALREADY;
	}
	return to_errno(db, tx_begin(db));
}

int db_commit(db_t *db)
{
	db->msg[0] = '\0';
	return to_errno(db, tx_commit(db));
}

int db_rollback(db_t *db)
{
	db->msg[0] = '\0';
	return to_errno(db, tx_abort(db));
}

int db_job_begin(db_t *db)
{
	int rc;

	db->msg[0] = '\0';
	if ((rc = run(db->st[ST_SAVEPOINT])) == SQLITE_OK)
		db->names_at_job = db->n_names;
	return to_errno(db, rc);
}

int db_job_end(db_t *db, int ok)
{
	int rc = SQLITE_OK;

	if (!ok) {
		db->dirty_hour = INT64_MIN;   /* the job's mark may be undone */
		/* The transaction may be gone already (SQLite rolls back on some errors). */
		if (sqlite3_get_autocommit(db->h))
			return to_errno(db, db->n_names != db->names_at_job ? names_load(db) : SQLITE_OK);
		rc = run(db->st[ST_ROLLBACK_TO]);
		if (db->n_names != db->names_at_job) {
			int rc2 = names_load(db);

			if (rc == SQLITE_OK)
				rc = rc2;
		}
	}
	if (rc == SQLITE_OK)
		rc = run(db->st[ST_RELEASE]);
	return to_errno(db, rc);
}

int db_error_is_transient(int err)
{
	switch (err) {
	case -ENOENT: /* no such host */
	case -EINVAL: /* a constraint, or bad data */
	case -E2BIG:  /* too big, or the counter names are full */
	case -ERANGE:
		return 0;
	default:
		return err < 0;
	}
}

/* ---- hosts and reports ---------------------------------------------- */

static int host_id(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
		   int64_t *id)
{
	sqlite3_stmt *st = db->st[ST_HOST_ID];
	int rc;

	sqlite3_bind_blob(st, 1, agent_id, WIRE_AGENT_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = fail(db, SQLITE_NOTFOUND, "unknown agent (no hello stored)");
	}
	sqlite3_reset(st);
	return rc;
}

int db_host_hello(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
		  const wire_hello_t *h, int64_t now_ms, uint64_t *last_seq)
{
	sqlite3_stmt *st = db->st[ST_HELLO];
	int rc;

	db->msg[0] = '\0';
	if ((rc = labels_json(db, h->labels, h->n_labels)) != SQLITE_OK)
		return to_errno(db, rc);
	/*
	 * One statement: its own transaction unless one is open.  It answers
	 * the highest seq stored, or the high-water mark last_seq when pruning
	 * removed that report (an agent must never reuse a seq).
	 */
	sqlite3_bind_blob(st, 1, agent_id, WIRE_AGENT_ID_LEN, SQLITE_STATIC);
	bind_text(st, 2, h->hostname);
	bind_text(st, 3, h->tier);
	sqlite3_bind_text(st, 4, (const char *)db->json.p, -1, SQLITE_STATIC);
	bind_text(st, 5, h->agent_version);
	sqlite3_bind_int64(st, 6, now_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*last_seq = (uint64_t)sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	}
	sqlite3_reset(st);
	return to_errno(db, rc == SQLITE_DONE ? SQLITE_OK : rc);
}

/*
 * Replaces the host's sysctls with the report's: names it no longer sends
 * go, new names come, and a row whose value is unchanged keeps its
 * changed_at_ms (the upsert's WHERE skips it).
 */
static int put_sysctls(db_t *db, int64_t host, const wire_report_t *r)
{
	sqlite3_stmt *st;
	fs_buf_t *b = &db->json;
	size_t i;
	int rc;

	fs_buf_reset(b);
	fs_buf_puts(b, "[");
	for (i = 0; i < r->n_sysctls; i++) {
		if (i > 0)
			fs_buf_puts(b, ",");
		fs_buf_json_str(b, r->sysctls[i].name ? r->sysctls[i].name : "");
	}
	fs_buf_puts(b, "]");
	if (b->err)
		return SQLITE_NOMEM;
	st = db->st[ST_SYSCTL_DEL];
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_text(st, 2, (const char *)b->p, (int)b->len, SQLITE_STATIC);
	if ((rc = run(st)) != SQLITE_OK)
		return rc;
	st = db->st[ST_SYSCTL_PUT];
	for (i = 0; i < r->n_sysctls; i++) {
		sqlite3_bind_int64(st, 1, host);
		bind_text(st, 2, r->sysctls[i].name);
		bind_text(st, 3, r->sysctls[i].value);
		sqlite3_bind_int64(st, 4, r->collected_at_ms);
		if ((rc = run(st)) != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* Inserts the row; *stored is whether it was new. */
static int put_row(db_t *db, int64_t host, const wire_report_t *r,
		   int64_t received_ms, int *stored)
{
	sqlite3_stmt *st = db->st[ST_REPORT];
	struct intern in = {db, SQLITE_OK};
	int rc, i, err;

	if ((rc = pack_rc(db, db_top_pack(&db->top, &r->top), "top ip: length not 4 or 16")) != SQLITE_OK ||
	    (rc = pack_rc(db, db_listeners_pack(&db->lis, r->listeners, r->n_listeners),
	                  "listener ip: bad length")) != SQLITE_OK)
		return rc;
	if ((err = db_counters_pack(&db->cnt, r->counters, r->n_counters, intern_id, &in)) < 0)
		return in.rc != SQLITE_OK ? in.rc : SQLITE_NOMEM;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int64(st, 2, (int64_t)r->seq);
	sqlite3_bind_int64(st, 3, r->collected_at_ms);
	sqlite3_bind_int64(st, 4, received_ms);
	sqlite3_bind_int64(st, 5, r->interval_ms);
	for (i = WIRE_ESTABLISHED; i < WIRE_NSTATES; i++)
		sqlite3_bind_int64(st, 5 + i, r->states.n[i]);
	/* Stored as their two's complement bits: read back unchanged. */
	sqlite3_bind_int64(st, 17, (int64_t)r->dropped_reports);
	sqlite3_bind_int64(st, 18, (int64_t)r->collect_us);
	bind_text(st, 19, r->source);
	bind_blob(st, 20, &db->top);
	bind_blob(st, 21, &db->lis);
	bind_blob(st, 22, &db->cnt);
	if ((rc = run(st)) != SQLITE_OK)
		return rc;
	*stored = sqlite3_changes(db->h) > 0;
	return SQLITE_OK;
}

/* A report's values in column order: each state but LISTEN, then the total. */
static void roll_values(const wire_report_t *r, int64_t v[ROLL_NCOLS])
{
	for (size_t i = 0; i + 1 < ROLL_NCOLS; i++)
		v[i] = r->states.n[roll_state(i)];
	v[ROLL_NCOLS - 1] = wire_states_total(&r->states);
}

/* Adds a stored report to its host's rollup row (ST_ROLL_MINUTE or _HOUR). */
static int put_rollup(db_t *db, int which, int64_t host, const int64_t v[ROLL_NCOLS], int64_t t)
{
	sqlite3_stmt *st = db->st[which];

	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int64(st, 2, t);
	for (size_t i = 0; i < ROLL_NCOLS; i++)
		sqlite3_bind_int64(st, (int)i + 3, v[i]);
	return run(st);
}

/*
 * The host's minute rollup and its tier's: reads the host's row before the
 * report, adds the report, and adds to the tier's row what the host's mean
 * and maximum gained (a new host-minute adds a host).
 */
static int put_minute(db_t *db, int64_t host, const int64_t v[ROLL_NCOLS], int64_t t)
{
	sqlite3_stmt *get = db->st[ST_ROLL_GET], *tier = db->st[ST_ROLL_TIER];
	int64_t n = 0, sum[ROLL_NCOLS] = {0}, max[ROLL_NCOLS] = {0};
	int rc;

	sqlite3_bind_int64(get, 1, host);
	sqlite3_bind_int64(get, 2, t);
	if ((rc = sqlite3_step(get)) == SQLITE_ROW) {
		n = sqlite3_column_int64(get, 0);
		for (size_t i = 0; i < ROLL_NCOLS; i++) {
			sum[i] = sqlite3_column_int64(get, 1 + 2 * (int)i);
			max[i] = sqlite3_column_int64(get, 2 + 2 * (int)i);
		}
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_reset(get);
	if (rc != SQLITE_OK || (rc = put_rollup(db, ST_ROLL_MINUTE, host, v, t)) != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(tier, 1, host);
	sqlite3_bind_int64(tier, 2, t);
	sqlite3_bind_int64(tier, 3, n == 0);
	for (size_t i = 0; i < ROLL_NCOLS; i++) {
		double before = n ? (double)sum[i] / (double)n : 0;
		double after = (double)(sum[i] + v[i]) / (double)(n + 1);
		int64_t grown = v[i] > max[i] || n == 0 ? v[i] - (n ? max[i] : 0) : 0;

		sqlite3_bind_double(tier, 4 + 2 * (int)i, after - before);
		sqlite3_bind_int64(tier, 5 + 2 * (int)i, grown);
	}
	return run(tier);
}

/* Marks the hour of a stored report for db_roll_hours(), once per hour and transaction. */
static int mark_dirty(db_t *db, int64_t hour)
{
	sqlite3_stmt *st = db->st[ST_DIRTY_MARK];
	int rc;

	if (hour == db->dirty_hour)
		return SQLITE_OK;
	sqlite3_bind_int64(st, 1, hour);
	if ((rc = run(st)) == SQLITE_OK)
		db->dirty_hour = hour;
	return rc;
}

int db_put_report(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
		  const wire_report_t *r, int64_t received_ms, int *stored)
{
	sqlite3_stmt *st;
	bool own = false;
	int64_t host = 0;
	int rc, is_new = 0;

	db->msg[0] = '\0';
	if (stored != NULL)
		*stored = 0;
	if (r->seq == 0 || r->seq > INT64_MAX)
		return to_errno(db, fail(db, SQLITE_RANGE, "seq out of range"));
	if (sqlite3_get_autocommit(db->h)) {
		if ((rc = tx_begin(db)) != SQLITE_OK)
			return to_errno(db, rc);
		own = true;
	}
	if ((rc = host_id(db, agent_id, &host)) != SQLITE_OK ||
	    (rc = put_row(db, host, r, received_ms, &is_new)) != SQLITE_OK)
		goto out;
	if (is_new) {
		st = db->st[ST_HOST_SEEN];
		sqlite3_bind_int64(st, 1, host);
		sqlite3_bind_int64(st, 2, received_ms);
		sqlite3_bind_int64(st, 3, (int64_t)r->seq);
		if ((rc = run(st)) != SQLITE_OK)
			goto out;
		if (r->n_sysctls > 0 &&
		    (rc = put_sysctls(db, host, r)) != SQLITE_OK)
			goto out;
		int64_t v[ROLL_NCOLS];

		roll_values(r, v);
		if ((rc = put_minute(db, host, v, db__floor(r->collected_at_ms, 60000))) != SQLITE_OK ||
		    (rc = put_rollup(db, ST_ROLL_HOUR, host, v,
		                     db__floor(r->collected_at_ms, 3600000))) != SQLITE_OK ||
		    (rc = top_minute_add(db, db->st[ST_TOP_GET], db->st[ST_TOP_PUT], host, &r->top,
		                         r->collected_at_ms)) != SQLITE_OK ||
		    (rc = mark_dirty(db, db__floor(r->collected_at_ms, 3600000))) != SQLITE_OK)
			goto out;
	}
out:
	if (own) {
		if (rc == SQLITE_OK)
			rc = tx_commit(db);
		if (rc != SQLITE_OK)
			tx_abort(db);
	}
	if (rc == SQLITE_OK && stored != NULL)
		*stored = is_new;
	return to_errno(db, rc);
}

/* Builds the rows of rollup_ip_hour for the hour starting at t. */
static int build_hour(db_t *db, int64_t t)
{
	sqlite3_stmt *st = db->st[ST_IPH_MINUTES], *put = db->st[ST_IPH_PUT];
	const col_iphour_row_t *rows;
	col_iphour_t *h;
	size_t n;
	int rc;

	if (col_iphour_new(&h) < 0)
		return SQLITE_NOMEM;
	sqlite3_bind_int64(db->st[ST_IPH_DEL], 1, t);
	if ((rc = run(db->st[ST_IPH_DEL])) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, t);
	sqlite3_bind_int64(st, 2, t + 3600000);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		col_roll_top_t r;
		int err = db_roll_top_unpack(sqlite3_column_blob(st, 2),
		                             (size_t)sqlite3_column_bytes(st, 2), &r);

		if (err == 0)
			err = col_iphour_add(h, sqlite3_column_int64(st, 0),
			                     (const char *)sqlite3_column_text(st, 1), &r);
		col_roll_top_close(&r);
		if (err == -ENOMEM) {
			rc = SQLITE_NOMEM;
			break;
		}
		/* A malformed minute (-EBADMSG) is no evidence: the queries skip it too. */
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto out;
	rc = col_iphour_rows(h, &rows, &n) < 0 ? SQLITE_NOMEM : SQLITE_OK;
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
		const col_iphour_row_t *x = &rows[i];

		sqlite3_bind_int64(put, 1, t);
		bind_text(put, 2, x->tier);
		sqlite3_bind_blob(put, 3, x->ip.b, x->ip.len, SQLITE_STATIC);
		sqlite3_bind_int64(put, 4, x->minutes);
		sqlite3_bind_int64(put, 5, x->hosts);
		sqlite3_bind_int64(put, 6, (int64_t)x->peak_total);
		sqlite3_bind_int64(put, 7, (int64_t)x->peak_established);
		sqlite3_bind_int64(put, 8, (int64_t)x->peak_syn_recv);
		sqlite3_bind_int64(put, 9, (int64_t)x->host_max);
		rc = run(put);
	}
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(db->st[ST_DIRTY_DEL], 1, t);
		rc = run(db->st[ST_DIRTY_DEL]);
	}
out:
	col_iphour_free(h);
	return rc;
}

int db_roll_hours(db_t *db, int64_t now_ms, uint32_t max_hours, uint32_t *built)
{
	sqlite3_stmt *due = db->st[ST_DIRTY_DUE];
	int64_t t[64];
	uint32_t n = 0;
	int rc;

	db->msg[0] = '\0';
	*built = 0;
	db->dirty_hour = INT64_MIN;   /* a later report for a built hour marks it again */
	if (max_hours > sizeof(t) / sizeof(t[0]))
		max_hours = sizeof(t) / sizeof(t[0]);
	sqlite3_bind_int64(due, 1, now_ms - 3600000 - DB_HOUR_GRACE_MS);
	sqlite3_bind_int64(due, 2, max_hours);
	while (n < max_hours && (rc = sqlite3_step(due)) == SQLITE_ROW)
		t[n++] = sqlite3_column_int64(due, 0);
	sqlite3_reset(due);
	if (n < max_hours && rc != SQLITE_DONE)
		return to_errno(db, rc);
	rc = SQLITE_OK;
	for (uint32_t i = 0; i < n && rc == SQLITE_OK; i++)
		if ((rc = build_hour(db, t[i])) == SQLITE_OK)
			(*built)++;
	return to_errno(db, rc);
}

int db_prune_some(db_t *db, int64_t horizon_ms, uint64_t max_rows,
		  uint64_t *deleted)
{
	sqlite3_stmt *st = db->st[ST_PRUNE];
	int rc;

	db->msg[0] = '\0';
	*deleted = 0;
	sqlite3_bind_int64(st, 1, horizon_ms);
	/* A negative LIMIT is no limit. */
	sqlite3_bind_int64(st, 2, max_rows == 0 || max_rows > INT64_MAX
			   ? -1 : (int64_t)max_rows);
	if ((rc = run(st)) == SQLITE_OK)
		*deleted = (uint64_t)sqlite3_changes64(db->h);
	return to_errno(db, rc);
}

int db_prune_rollups(db_t *db, int64_t raw_horizon_ms, int64_t minute_horizon_ms,
                     int64_t hour_horizon_ms, uint64_t *deleted)
{
	int64_t horizon[] = {raw_horizon_ms, minute_horizon_ms, minute_horizon_ms, hour_horizon_ms,
	                     hour_horizon_ms};
	int which[] = {ST_PRUNE_TOP, ST_PRUNE_MINUTE, ST_PRUNE_TIER, ST_PRUNE_HOUR, ST_PRUNE_IPH};
	int rc = SQLITE_OK;

	db->msg[0] = '\0';
	*deleted = 0;
	for (size_t i = 0; i < sizeof(which) / sizeof(which[0]) && rc == SQLITE_OK; i++) {
		sqlite3_stmt *st = db->st[which[i]];

		sqlite3_bind_int64(st, 1, horizon[i]);
		sqlite3_bind_int64(st, 2, -1);
		if ((rc = run(st)) == SQLITE_OK)
			*deleted += (uint64_t)sqlite3_changes64(db->h);
	}
	return to_errno(db, rc);
}

int db_prune(db_t *db, int64_t horizon_ms, uint64_t *deleted)
{
	return db_prune_some(db, horizon_ms, 0, deleted);
}

/* ---- read-back ------------------------------------------------------ */

/* A copy of a text column ("" for NULL), or NULL when out of memory. */
static char *col_strdup(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return strdup(s != NULL ? s : "");
}

int db_get_report(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
		  uint64_t seq, wire_report_t *out)
{
	sqlite3_stmt *st = db->st[ST_GET_REPORT];
	int rc, i, ret;

	db->msg[0] = '\0';
	memset(out, 0, sizeof(*out));
	if (seq > INT64_MAX)
		return -ENOENT;
	sqlite3_bind_blob(st, 1, agent_id, WIRE_AGENT_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)seq);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			rc = fail(db, SQLITE_NOTFOUND, "no such report");
		goto out;
	}
	out->seq = (uint64_t)sqlite3_column_int64(st, 0);
	out->collected_at_ms = sqlite3_column_int64(st, 1);
	out->interval_ms = (uint32_t)sqlite3_column_int64(st, 2);
	for (i = WIRE_ESTABLISHED; i < WIRE_NSTATES; i++)
		out->states.n[i] = (uint32_t)sqlite3_column_int64(st, 2 + i);
	out->dropped_reports = (uint64_t)sqlite3_column_int64(st, 14);
	out->collect_us = (uint64_t)sqlite3_column_int64(st, 15);
	if ((out->source = col_strdup(st, 16)) == NULL) {
		rc = SQLITE_NOMEM;
		goto out;
	}
	ret = db_top_unpack(sqlite3_column_blob(st, 17),
			    (size_t)sqlite3_column_bytes(st, 17), &out->top);
	if (ret == 0)
		ret = db_listeners_unpack(sqlite3_column_blob(st, 18),
					  (size_t)sqlite3_column_bytes(st, 18),
					  &out->listeners, &out->n_listeners);
	if (ret == 0)
		ret = db_counters_unpack(sqlite3_column_blob(st, 19),
		                         (size_t)sqlite3_column_bytes(st, 19), id_name, db,
		                         &out->counters, &out->n_counters);
	rc = ret == 0 ? SQLITE_OK : ret == -ENOMEM ? SQLITE_NOMEM : SQLITE_CORRUPT;
out:
	sqlite3_reset(st);
	if (rc == SQLITE_CORRUPT)
		fail(db, rc, "report: malformed packed column");
	if (rc != SQLITE_OK && rc != SQLITE_ROW)
		wire_report_close(out);
	return to_errno(db, rc);
}

void db_host_close(db_host_t *h)
{
	if (h == NULL)
		return;
	free(h->hostname);
	free(h->tier);
	free(h->labels_json);
	free(h->agent_version);
	memset(h, 0, sizeof(*h));
}

int db_get_host(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
		db_host_t *out)
{
	sqlite3_stmt *st = db->st[ST_GET_HOST];
	int rc;

	db->msg[0] = '\0';
	memset(out, 0, sizeof(*out));
	sqlite3_bind_blob(st, 1, agent_id, WIRE_AGENT_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->hostname = col_strdup(st, 0);
		out->tier = col_strdup(st, 1);
		out->labels_json = col_strdup(st, 2);
		out->agent_version = col_strdup(st, 3);
		out->first_seen_ms = sqlite3_column_int64(st, 4);
		out->last_seen_ms = sqlite3_column_int64(st, 5);
		out->last_seq = (uint64_t)sqlite3_column_int64(st, 6);
		rc = SQLITE_OK;
		if (!out->hostname || !out->tier || !out->labels_json ||
		    !out->agent_version) {
			db_host_close(out);
			rc = SQLITE_NOMEM;
		}
	} else if (rc == SQLITE_DONE) {
		rc = fail(db, SQLITE_NOTFOUND, "unknown agent");
	}
	sqlite3_reset(st);
	return to_errno(db, rc);
}

void db_sysctls_free(db_sysctl_t *s, size_t n)
{
	size_t i;

	for (i = 0; s != NULL && i < n; i++) {
		free(s[i].name);
		free(s[i].value);
	}
	free(s);
}

int db_get_sysctls(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
		   db_sysctl_t **out, size_t *n)
{
	sqlite3_stmt *st = db->st[ST_GET_SYSCTLS];
	db_sysctl_t *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	int64_t host;
	int rc;

	db->msg[0] = '\0';
	*out = NULL;
	*n = 0;
	if ((rc = host_id(db, agent_id, &host)) != SQLITE_OK)
		return to_errno(db, rc);
	sqlite3_bind_blob(st, 1, agent_id, WIRE_AGENT_ID_LEN, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
		}
		v[cnt].name = col_strdup(st, 0);
		v[cnt].value = col_strdup(st, 1);
		v[cnt].changed_at_ms = sqlite3_column_int64(st, 2);
		cnt++;
		if (v[cnt - 1].name == NULL || v[cnt - 1].value == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_sysctls_free(v, cnt);
		return to_errno(db, rc);
	}
	*out = v;
	*n = cnt;
	return 0;
}
