/* SPDX-License-Identifier: MIT */
/* db.c: the collector's storage writer on sql.h (SQLite or PostgreSQL): hosts, reports, rollups, read-back. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "buf.h"
#include "db.h"
#include "db_priv.h"
#include "migrate.h"
#include "parts.h"
#include "pgflush.h"
#include "pack.h"
#include "sql.h"

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
	ST_CERT_GET, ST_CERT_PUT,
	ST_HOUR_LOCK, ST_N
};

/* A host's top-list minute (?1 host, ?2 minute), as the migration to schema 4 has it. */
#define TOP_GET_SQL "SELECT top FROM rollup_top_minute WHERE t = ?2 AND host_id = ?1"
#define TOP_PUT_SQL \
	"INSERT INTO rollup_top_minute (host_id, t, top) VALUES (?1, ?2, ?3)" \
	" ON CONFLICT (t, host_id) DO UPDATE SET top = excluded.top"
/* ... and with its requests, since schema 9 (PostgreSQL's 6). */
#define MINUTE_GET_SQL "SELECT top, requests FROM rollup_top_minute WHERE t = ?2 AND host_id = ?1"
#define MINUTE_PUT_SQL \
	"INSERT INTO rollup_top_minute (host_id, t, top, requests) VALUES (?1, ?2, ?3, ?4)" \
	" ON CONFLICT (t, host_id) DO UPDATE SET top = excluded.top, requests = excluded.requests"
#define SCHEMA_TOP_MINUTE 4   /* the version that adds rollup_top_minute */
#define SCHEMA_REQ_MINUTE 9   /* ... and its requests; PostgreSQL's: */
#define PG_SCHEMA_REQ_MINUTE 6

/* The Hello, with the dialect's two-argument maximum (SQLite's max(), PostgreSQL's GREATEST). */
#define HELLO_SQL(max) \
	"INSERT INTO hosts (agent_id, hostname, tier, labels, agent_version," \
	" first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)" \
	" ON CONFLICT (agent_id) DO UPDATE SET hostname = excluded.hostname," \
	" tier = excluded.tier, labels = excluded.labels," \
	" agent_version = excluded.agent_version," \
	" last_seen_ms = excluded.last_seen_ms" \
	" RETURNING " max "(hosts.last_seq, coalesce((SELECT max(seq) FROM reports" \
	" WHERE host_id = hosts.id), 0))"

static const char *const stmt_sql[ST_N] = {
	/* One writer per SQLite file: an hour is never built by two at once. */
	[ST_HOUR_LOCK] = "SELECT 1",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT job",
	[ST_RELEASE] = "RELEASE job",
	[ST_ROLLBACK_TO] = "ROLLBACK TO job",
	[ST_HOST_ID] = "SELECT id FROM hosts WHERE agent_id = ?1",
	[ST_HELLO] = HELLO_SQL("max"),
	[ST_HOST_SEEN] = "UPDATE hosts SET last_seen_ms = max(last_seen_ms, ?2),"
		" last_seq = max(last_seq, ?3) WHERE id = ?1",
	[ST_REPORT] =
		"INSERT INTO reports (host_id, seq, collected_at_ms,"
		" received_at_ms, interval_ms, established, syn_sent, syn_recv,"
		" fin_wait1, fin_wait2, time_wait, close, close_wait, last_ack,"
		" listen, closing, dropped_reports, collect_us, source, top,"
		" listeners, counters, ports, requests) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
		" ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)"
		" ON CONFLICT DO NOTHING",
	[ST_SYSCTL_DEL] =
		"DELETE FROM host_sysctls WHERE host_id = ?1"
		" AND name NOT IN (SELECT value FROM json_each(?2))",
	[ST_SYSCTL_PUT] =
		"INSERT INTO host_sysctls (host_id, name, value, changed_at_ms)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (host_id, name) DO UPDATE"
		" SET value = excluded.value, changed_at_ms = excluded.changed_at_ms"
		" WHERE host_sysctls.value IS DISTINCT FROM excluded.value",
	[ST_NAME_PUT] = "INSERT INTO names (id, name) VALUES (?1, ?2) RETURNING id",
	[ST_NAMES] = "SELECT id, name FROM names",
	[ST_PRUNE] =
		"DELETE FROM reports WHERE id IN (SELECT id FROM reports"
		" WHERE collected_at_ms < ?1 ORDER BY collected_at_ms LIMIT ?2)",
	/* ST_ROLL_MINUTE, _HOUR, _GET, _TIER: built by rollup_sql() at open. */
	[ST_PRUNE_TIER] = "DELETE FROM rollup_tier_minute WHERE t < ?1",
	[ST_PRUNE_MINUTE] = "DELETE FROM rollup_minute WHERE t < ?1",
	[ST_PRUNE_HOUR] = "DELETE FROM rollup_hour WHERE t < ?1",
	[ST_TOP_GET] = MINUTE_GET_SQL,
	[ST_TOP_PUT] = MINUTE_PUT_SQL,
	[ST_PRUNE_TOP] = "DELETE FROM rollup_top_minute WHERE t < ?1",
	[ST_DIRTY_MARK] = "INSERT INTO rollup_dirty_hour (t) VALUES (?1) ON CONFLICT DO NOTHING",
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
	[ST_PRUNE_IPH] = "DELETE FROM rollup_ip_hour WHERE t < ?1",
	[ST_GET_REPORT] =
		"SELECT r.seq, r.collected_at_ms, r.interval_ms, r.established,"
		" r.syn_sent, r.syn_recv, r.fin_wait1, r.fin_wait2, r.time_wait,"
		" r.close, r.close_wait, r.last_ack, r.listen, r.closing,"
		" r.dropped_reports, r.collect_us, r.source, r.top, r.listeners,"
		" r.counters, r.ports, r.requests FROM reports r JOIN hosts h ON h.id = r.host_id"
		" WHERE h.agent_id = ?1 AND r.seq = ?2",
	[ST_GET_HOST] =
		"SELECT hostname, tier, labels, agent_version, first_seen_ms,"
		" last_seen_ms, last_seq, cert_subject, cert_sha256 FROM hosts WHERE agent_id = ?1",
	[ST_CERT_GET] = "SELECT cert_sha256 FROM hosts WHERE agent_id = ?1",
	[ST_CERT_PUT] =
		"UPDATE hosts SET cert_subject = ?2, cert_sha256 = ?3 WHERE agent_id = ?1"
		" AND (cert_subject IS DISTINCT FROM ?2 OR cert_sha256 IS DISTINCT FROM ?3)",
	[ST_GET_SYSCTLS] =
		"SELECT s.name, s.value, s.changed_at_ms FROM host_sysctls s"
		" JOIN hosts h ON h.id = s.host_id WHERE h.agent_id = ?1"
		" ORDER BY s.name",
};

/*
 * PostgreSQL's words where its dialect differs: GREATEST for SQLite's
 * two-argument max(), a JSON array's elements, names numbered by the
 * database (several collectors intern into one table).  Raw retention
 * drops partitions (parts.c), so ST_PRUNE is SQLite's alone.
 */
static const char *const stmt_pg[ST_N] = {
	/* Collectors sharing the database: whichever takes an hour's lock builds it (?1 its start). */
	[ST_HOUR_LOCK] =
		"SELECT CASE WHEN pg_try_advisory_xact_lock(7401, CAST(?1 / 3600000 AS integer))"
		" THEN 1 ELSE 0 END",
	[ST_BEGIN] = "BEGIN",
	[ST_HELLO] = HELLO_SQL("GREATEST"),
	/* ?4: the report's collection time, kept with the highest seq (schema/pg/002). */
	[ST_HOST_SEEN] = "UPDATE hosts SET last_seen_ms = GREATEST(last_seen_ms, ?2),"
		" last_seq = GREATEST(last_seq, ?3), last_collected_ms = CASE"
		" WHEN ?3 > last_seq THEN ?4 ELSE last_collected_ms END WHERE id = ?1",
	[ST_SYSCTL_DEL] =
		"DELETE FROM host_sysctls WHERE host_id = ?1"
		" AND name NOT IN (SELECT jsonb_array_elements_text(?2::jsonb))",
	[ST_NAME_PUT] =
		"INSERT INTO names (name) VALUES (?2) ON CONFLICT (name)"
		" DO UPDATE SET name = excluded.name RETURNING id",
};

/*
 * The largest name id read back.  SQLite numbers names 1, 2, ...; PostgreSQL's
 * sequence skips the ids of rolled-back transactions, so leave room.
 */
#define DB_MAX_NAME_ID (DB_MAX_NAMES * 64u)

struct db {
	sq_t *h;
	sq_stmt_t *st[ST_N];

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

	fs_buf_t top, lis, cnt, ports, reqs, roll, roll_req;  /* packed columns, reused */
	fs_buf_t json;
	int64_t dirty_hour;      /* marked in this transaction (INT64_MIN: none yet) */
	db_parts_t parts;        /* PostgreSQL's day partitions of reports */

	/*
	 * PostgreSQL: the transaction's reports, stored at commit (pgflush.h),
	 * their packed columns in pend_bytes; a job's savepoint is taken only
	 * when the job runs a statement (sp_wanted), since a queued report runs
	 * none; host ids known from this connection (cleared by a rollback,
	 * which may undo a Hello's new host).
	 */
	db_pgflush_t *flush;
	db_pend_t *pend;
	size_t n_pend, cap_pend, pend_at_job;
	fs_buf_t pend_bytes;
	bool sp_wanted, sp_open;
	struct host_slot { uint8_t id[WIRE_AGENT_ID_LEN]; int64_t host; } *hosts;
	size_t n_hosts, cap_hosts;   /* cap_hosts a power of two, or 0 */
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

/* An error of sql.h, keeping its message for db_errmsg(). */
static int to_errno(db_t *db, int rc)
{
	if (rc < 0 && db->msg[0] == '\0' && db->h != NULL)
		snprintf(db->msg, sizeof(db->msg), "%s", sq_errmsg(db->h));
	return rc < 0 ? rc : 0;
}

/* A pack.h codec's error as a SQLite code: -ENOMEM, or what as this module's error. */
static int pack_rc(db_t *db, int err, const char *what)
{
	if (err == 0)
		return 0;
	return err == -ENOMEM ? -ENOMEM : fail(db, -EINVAL, what);
}

static int bind_blob(sq_stmt_t *st, int i, const fs_buf_t *b)
{
	if (b->len == 0)
		return sq_bind_null(st, i);
	return sq_bind_blob(st, i, b->p, (int)b->len);
}

/* ---- PostgreSQL: lazy savepoints, the host ids known ---------------- */

/* PostgreSQL: takes the job's savepoint before its first statement. */
static int sp_sync(db_t *db)
{
	int rc;

	if (!db->sp_wanted || db->sp_open)
		return 0;
	if ((rc = sq_run(db->st[ST_SAVEPOINT])) == 0)
		db->sp_open = true;
	return rc;
}

static size_t host_slot(const db_t *db, const uint8_t id[WIRE_AGENT_ID_LEN])
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	size_t mask = db->cap_hosts - 1, i;

	for (size_t k = 0; k < WIRE_AGENT_ID_LEN; k++)
		h = (h ^ id[k]) * 16777619u;
	for (i = h & mask; db->hosts[i].host != 0 &&
	     memcmp(db->hosts[i].id, id, WIRE_AGENT_ID_LEN) != 0; i = (i + 1) & mask)
		;
	return i;
}

/* Remembers a host id (best effort: out of memory, it is looked up again). */
static void host_remember(db_t *db, const uint8_t id[WIRE_AGENT_ID_LEN], int64_t host)
{
	if ((db->n_hosts + 1) * 2 > db->cap_hosts) {
		size_t cap = db->cap_hosts ? db->cap_hosts * 2 : 256;
		struct host_slot *old = db->hosts, *nw = calloc(cap, sizeof(*nw));
		size_t ocap = db->cap_hosts;

		if (nw == NULL)
			return;
		db->hosts = nw;
		db->cap_hosts = cap;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].host != 0)
				db->hosts[host_slot(db, old[i].id)] = old[i];
		free(old);
	}
	size_t i = host_slot(db, id);

	if (db->hosts[i].host == 0)
		db->n_hosts++;
	memcpy(db->hosts[i].id, id, WIRE_AGENT_ID_LEN);
	db->hosts[i].host = host;
}

static void hosts_forget(db_t *db)
{
	free(db->hosts);
	db->hosts = NULL;
	db->n_hosts = db->cap_hosts = 0;
}

/* ---- the minute rollups of top lists (schema/004_top_minute.sql) ---------- */

/*
 * Merges a report's top list (collected at at_ms) and, with q, its requests
 * over interval_ms into its host's minute row, with the statements get and
 * put: MINUTE_GET_SQL and MINUTE_PUT_SQL, or without q those of schema 4
 * (TOP_GET_SQL, TOP_PUT_SQL).  A column that does not decode starts over:
 * it only indexes the raw reports, which stay the truth, and refusing
 * every later report of that minute would be worse.
 */
static int top_minute_add(db_t *db, sq_stmt_t *get, sq_stmt_t *put, int64_t host,
                          const wire_top_t *top, const wire_requests_t *q, uint32_t interval_ms,
                          int64_t at_ms)
{
	col_roll_top_t r = {0};
	col_roll_req_t rq = {0};
	int64_t t = db__floor(at_ms, 60000);
	int rc;

	sq_bind_i64(get, 1, host);
	sq_bind_i64(get, 2, t);
	if ((rc = sq_step(get)) == SQ_ROW) {
		rc = db_roll_top_unpack(sq_blob(get, 0), sq_bytes(get, 0), &r) == -ENOMEM ||
		             (q && db_roll_req_unpack(sq_blob(get, 1), sq_bytes(get, 1), &rq) == -ENOMEM)
		             ? -ENOMEM : 0;
	} else if (rc == SQ_DONE) {
		rc = 0;
	}
	sq_reset(get);
	if (rc == 0 && (col_roll_top_add(&r, top, at_ms) < 0 ||
	                (q && col_roll_req_add(&rq, q, interval_ms) < 0)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = pack_rc(db, db_roll_top_pack(&db->roll, &r), "top-list minute: ip length not 4 or 16");
	if (rc == 0 && q)
		rc = pack_rc(db, db_roll_req_pack(&db->roll_req, &rq),
		             "requests minute: ip length not 4 or 16, or a host name not 1-255 bytes");
	col_roll_top_close(&r);
	col_roll_req_close(&rq);
	if (rc != 0)
		return rc;
	sq_bind_i64(put, 1, host);
	sq_bind_i64(put, 2, t);
	bind_blob(put, 3, &db->roll);
	if (q)
		bind_blob(put, 4, &db->roll_req);
	return sq_run(put);
}

/* The migration to SCHEMA_TOP_MINUTE: the minute rows of the reports already stored. */
static int top_minute_backfill(db_t *db)
{
	sq_stmt_t *all = NULL, *get = NULL, *put = NULL;
	int rc;

	if ((rc = sq_prepare(db->h, "SELECT host_id, collected_at_ms, top FROM reports", &all)) != 0 ||
	    (rc = sq_prepare(db->h, TOP_GET_SQL, &get)) != 0 ||
	    (rc = sq_prepare(db->h, TOP_PUT_SQL, &put)) != 0)
		goto out;
	while ((rc = sq_step(all)) == SQ_ROW) {
		wire_top_t top;
		int err = db_top_unpack(sq_blob(all, 2),
		                        sq_bytes(all, 2), &top);

		if (err == -ENOMEM) {
			rc = -ENOMEM;
			break;
		}
		if (err < 0)
			continue;   /* a malformed list is no evidence; the query skips it too */
		rc = top_minute_add(db, get, put, sq_i64(all, 0), &top, NULL, 0, sq_i64(all, 1));
		free(top.ips);
		if (rc != 0)
			break;
	}
	if (rc == SQ_DONE)
		rc = 0;
out:
	if (rc != 0 && db->msg[0] == '\0')
		snprintf(db->msg, sizeof(db->msg), "building the top-list minutes: %s",
		         sq_errmsg(db->h));
	sq_finalize(all);
	sq_finalize(get);
	sq_finalize(put);
	return rc;
}

/* The requests of one host's minute, built by req_minute_backfill(). */
static int req_minute_put(db_t *db, sq_stmt_t *put, int64_t host, int64_t t,
                          const col_roll_req_t *rq)
{
	int rc = pack_rc(db, db_roll_req_pack(&db->roll_req, rq), "requests minute: not packable");

	if (rc != 0)
		return rc;
	sq_bind_i64(put, 1, host);
	sq_bind_i64(put, 2, t);
	bind_blob(put, 3, &db->roll_req);
	return sq_run(put);
}

/*
 * The migration to SCHEMA_REQ_MINUTE: the requests of the minute rows from
 * the reports already stored (each report's minute row is there since
 * schema 4), a host's minutes in order, one minute in memory.
 */
static int req_minute_backfill(db_t *db)
{
	sq_stmt_t *all = NULL, *put = NULL;
	col_roll_req_t rq = {0};
	int64_t host = 0, t = 0;
	int rc;

	if ((rc = sq_prepare(db->h, "SELECT host_id, collected_at_ms, interval_ms, requests"
	                            " FROM reports WHERE requests IS NOT NULL"
	                            " ORDER BY host_id, collected_at_ms", &all)) != 0 ||
	    (rc = sq_prepare(db->h, "UPDATE rollup_top_minute SET requests = ?3"
	                            " WHERE host_id = ?1 AND t = ?2", &put)) != 0)
		goto out;
	while ((rc = sq_step(all)) == SQ_ROW) {
		int64_t h = sq_i64(all, 0), m = db__floor(sq_i64(all, 1), 60000);
		wire_requests_t q;
		int err = db_requests_unpack(sq_blob(all, 3), sq_bytes(all, 3), &q);

		if (err == -ENOMEM) {
			rc = -ENOMEM;
			break;
		}
		if (err < 0)
			continue;   /* a malformed column is no evidence; the queries skip it too */
		if (rq.reports > 0 && (h != host || m != t)) {
			err = req_minute_put(db, put, host, t, &rq);
			col_roll_req_close(&rq);
		}
		host = h;
		t = m;
		if (err == 0 && col_roll_req_add(&rq, &q, (uint32_t)sq_i64(all, 2)) < 0)
			err = -ENOMEM;
		wire_requests_close(&q);
		if (err != 0) {
			rc = err;
			break;
		}
	}
	if (rc == SQ_DONE)
		rc = rq.reports > 0 ? req_minute_put(db, put, host, t, &rq) : 0;
out:
	if (rc != 0 && db->msg[0] == '\0')
		snprintf(db->msg, sizeof(db->msg), "building the requests' minutes: %s",
		         sq_errmsg(db->h));
	col_roll_req_close(&rq);
	sq_finalize(all);
	sq_finalize(put);
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

	if (id == 0 || id > DB_MAX_NAME_ID)
		return -EBADMSG;
	if (id >= db->by_id_cap) {
		size_t cap = db->by_id_cap ? db->by_id_cap : 64;
		char **p;

		while (cap <= id)
			cap *= 2;
		p = realloc(db->by_id, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		memset(p + db->by_id_cap, 0, (cap - db->by_id_cap) * sizeof(*p));
		db->by_id = p;
		db->by_id_cap = cap;
	}
	if (db->by_id[id] != NULL)
		return -EBADMSG;
	if ((db->n_names + 1) * 2 > db->n_slots) {
		size_t ns = db->n_slots ? db->n_slots * 2 : 128;
		uint32_t *old = db->slots;
		size_t on = db->n_slots, j;

		db->slots = calloc(ns, sizeof(*db->slots));
		if (db->slots == NULL) {
			db->slots = old;
			return -ENOMEM;
		}
		db->n_slots = ns;
		for (j = 0; j < on; j++)
			if (old[j] != 0)
				db->slots[names_slot(db, db->by_id[old[j]])] = old[j];
		free(old);
	}
	i = names_slot(db, name);
	if (db->slots[i] != 0)
		return -EBADMSG;          /* the same name twice */
	if ((db->by_id[id] = strdup(name)) == NULL)
		return -ENOMEM;
	db->slots[i] = id;
	db->n_names++;
	if (id >= db->next_id)
		db->next_id = id + 1;
	return 0;
}

static int names_load(db_t *db)
{
	sq_stmt_t *st = db->st[ST_NAMES];
	int rc;

	names_clear(db);
	while ((rc = sq_step(st)) == SQ_ROW) {
		const char *name = (const char *)sq_text(st, 1);
		int64_t id = sq_i64(st, 0);

		if (name == NULL || id <= 0 || id > UINT32_MAX)
			rc = -EBADMSG;
		else
			rc = names_add(db, (uint32_t)id, name);
		if (rc != 0)
			break;
	}
	sq_reset(st);
	if (rc == -EBADMSG)
		return fail(db, rc, "names: duplicate or invalid entry");
	return rc == SQ_DONE ? 0 : rc;
}

/* The id of a counter name, interned inside the open transaction. */
static int names_intern(db_t *db, const char *name, uint32_t *id)
{
	sq_stmt_t *st = db->st[ST_NAME_PUT];
	int rc;

	if (db->n_slots != 0) {
		size_t i = names_slot(db, name);

		if (db->slots[i] != 0) {
			*id = db->slots[i];
			return 0;
		}
	}
	if (db->n_names >= DB_MAX_NAMES)
		return fail(db, -E2BIG, "counter names: dictionary full");
	/* SQLite takes the next id; PostgreSQL's are numbered by the database, shared by collectors. */
	if ((rc = sp_sync(db)) != 0)
		return rc;
	sq_bind_i64(st, 1, db->next_id);
	sq_bind_text(st, 2, name);
	if ((rc = sq_step(st)) == SQ_ROW) {
		int64_t v = sq_i64(st, 0);

		rc = v > 0 && v <= DB_MAX_NAME_ID ? 0 : -EBADMSG;
		*id = (uint32_t)v;
	} else if (rc == SQ_DONE) {
		rc = -EIO;
	}
	sq_reset(st);
	return rc < 0 ? rc : names_add(db, *id, name);
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
	return in->rc == 0 ? 0 : -EIO;
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
		return -ENOMEM;
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
	return b->err ? -ENOMEM : 0;
}

/* ---- open, migrate, close ------------------------------------------- */

/* After a version's SQL, in its transaction: what SQL alone cannot build. */
static int migrated(void *ctx, int version)
{
	db_t *db = ctx;

	bool pg = sq_kind(db->h) == SQ_PG;

	if (!pg && version == SCHEMA_TOP_MINUTE)
		return top_minute_backfill(db);
	if (version == (pg ? PG_SCHEMA_REQ_MINUTE : SCHEMA_REQ_MINUTE))
		return req_minute_backfill(db);
	return 0;
}

/* PRAGMA journal_mode = WAL answers the mode it is in now. */
static int set_wal(db_t *db)
{
	sq_stmt_t *st;
	const char *mode;
	int rc = sq_prepare(db->h, "PRAGMA journal_mode = WAL", &st);

	if (rc != 0)
		return rc;
	if ((rc = sq_step(st)) == SQ_ROW) {
		mode = (const char *)sq_text(st, 0);
		rc = 0;
		/* An in-memory database cannot be WAL and needs no durability. */
		if (mode == NULL || (strcmp(mode, "wal") != 0 &&
				     strcmp(mode, "memory") != 0))
			rc = fail(db, -EIO, "cannot switch to WAL mode");
	}
	sq_finalize(st);
	return rc;
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
static void rollup_sql(char *sql, size_t len, int which, sq_kind_t kind)
{
	const char *table = which == ST_ROLL_HOUR ? "rollup_hour" : "rollup_minute";
	const char *greatest = kind == SQ_PG ? "GREATEST" : "max";
	size_t n = 0;

#define ADD(...) (n += (size_t)snprintf(sql + n, n < len ? len - n : 0, __VA_ARGS__))
	if (which == ST_ROLL_GET) {
		ADD("SELECT n");
		for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
			ADD(", %s_sum, %s_max", db__roll_col(i), db__roll_col(i));
		ADD(" FROM rollup_minute WHERE host_id = ?1 AND t = ?2%s",
		    kind == SQ_PG ? " FOR UPDATE" : "");
		return;
	}
	if (which == ST_ROLL_TIER) {
		ADD("INSERT INTO rollup_tier_minute (tier, t, hosts");
		for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
			ADD(", %s_mean, %s_max", db__roll_col(i), db__roll_col(i));
		ADD(") SELECT tier, ?2, ?3");
		for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
			ADD(", ?%zu, ?%zu", 2 * i + 4, 2 * i + 5);
		ADD(" FROM hosts WHERE id = ?1 ON CONFLICT (tier, t) DO UPDATE SET"
		    " hosts = rollup_tier_minute.hosts + excluded.hosts");
		for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
			ADD(", %s_mean = rollup_tier_minute.%s_mean + excluded.%s_mean,"
			    " %s_max = rollup_tier_minute.%s_max + excluded.%s_max",
			    db__roll_col(i), db__roll_col(i), db__roll_col(i), db__roll_col(i), db__roll_col(i),
			    db__roll_col(i));
		return;
	}
	ADD("INSERT INTO %s (host_id, t, n", table);
	for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
		ADD(", %s_sum, %s_max", db__roll_col(i), db__roll_col(i));
	ADD(") VALUES (?1, ?2, 1");
	for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
		ADD(", ?%zu, ?%zu", i + 3, i + 3);
	ADD(") ON CONFLICT (host_id, t) DO UPDATE SET n = %s.n + 1", table);
	for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
		ADD(", %s_sum = %s.%s_sum + excluded.%s_sum, %s_max = %s(%s.%s_max, excluded.%s_max)",
		    db__roll_col(i), table, db__roll_col(i), db__roll_col(i), db__roll_col(i), greatest, table,
		    db__roll_col(i), db__roll_col(i));
#undef ADD
}

/*
 * The reason db_open() failed, into err: the store's words, and for a SQLite
 * file the system's when it has them (a read-only disk, no space).
 */
static void open_reason(db_t *db, const char *path, char *err, size_t errlen)
{
	int sys = db->h != NULL && sq_kind(db->h) == SQ_SQLITE ? sq_sys_errno(db->h) : 0;
	const char *why = sys > 0 && sys != ENOENT ? strerror(sys) : NULL;
	struct statvfs sv;
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (db->h != NULL && sq_kind(db->h) == SQ_SQLITE) {
		/* ENOENT is SQLite's last probe (a journal), not the cause. */
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1,
		         slash ? path : ".");
		if (statvfs(dir, &sv) == 0 && (sv.f_flag & ST_RDONLY))
			why = "its file system is read-only";
	}
	snprintf(err, errlen, "%s: %s%s%s", db->h != NULL && sq_kind(db->h) == SQ_PG ? "postgresql" : path,
	         db->msg, why ? ": " : "", why ? why : "");
}

/* The statement of kind i in the backend's dialect; roll holds the generated ones. */
static const char *stmt_of(int i, sq_kind_t kind, char *roll, size_t len)
{
	if (i == ST_ROLL_MINUTE || i == ST_ROLL_HOUR || i == ST_ROLL_GET || i == ST_ROLL_TIER) {
		rollup_sql(roll, len, i, kind);
		return roll;
	}
	return kind == SQ_PG && stmt_pg[i] != NULL ? stmt_pg[i] : stmt_sql[i];
}

int db_open(const char *path, db_t **out, char *err, size_t errlen)
{
	char roll[4096];
	db_t *db;
	int rc, i;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	db->next_id = 1;
	db->dirty_hour = INT64_MIN;
	if ((rc = sq_open(path, SQ_CREATE, &db->h, err, errlen)) < 0) {
		free(db);
		return rc;
	}
	if (sq_kind(db->h) == SQ_SQLITE &&
	    ((rc = set_wal(db)) < 0 ||
	     (rc = sq_exec(db->h, "PRAGMA synchronous = FULL; PRAGMA cache_size = -" CACHE_STR)) < 0))
		goto fail;
	if ((rc = db__migrate(db->h, migrated, db, db->msg, sizeof(db->msg))) < 0 ||
	    (sq_kind(db->h) == SQ_SQLITE && (rc = sq_exec(db->h, "PRAGMA foreign_keys = ON")) < 0))
		goto fail;
	for (i = 0; i < ST_N; i++)
		if ((rc = sq_prepare(db->h, stmt_of(i, sq_kind(db->h), roll, sizeof(roll)),
		                     &db->st[i])) < 0)
			goto fail;
	if ((rc = names_load(db)) < 0 ||
	    (sq_kind(db->h) == SQ_PG && (rc = db__pgflush_new(db->h, &db->flush)) < 0))
		goto fail;
	*out = db;
	return 0;
fail:
	rc = to_errno(db, rc);
	if (err != NULL && errlen > 0)
		open_reason(db, path, err, errlen);
	db_close(db);
	return rc < 0 ? rc : -EIO;
}

void db_close(db_t *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; i < ST_N; i++)
		sq_finalize(db->st[i]);
	db__pgflush_free(db->flush);
	free(db->pend);
	fs_buf_close(&db->pend_bytes);
	hosts_forget(db);
	/* A transaction left open is rolled back by the close. */
	sq_close(db->h);
	db__parts_close(&db->parts);
	names_clear(db);
	fs_buf_close(&db->top);
	fs_buf_close(&db->lis);
	fs_buf_close(&db->ports);
	fs_buf_close(&db->reqs);
	fs_buf_close(&db->cnt);
	fs_buf_close(&db->json);
	fs_buf_close(&db->roll);
	fs_buf_close(&db->roll_req);
	free(db);
}

int db_schema_version(db_t *db)
{
	int rc, v = 0;

	db->msg[0] = '\0';
	rc = db__schema_version(db->h, &v);
	return rc == 0 ? v : to_errno(db, rc);
}

int db_schema_latest(void)
{
	return db__schema_latest_of(SQ_SQLITE);
}

const char *db_schema_sql(int version)
{
	return db__schema_sql_of(SQ_SQLITE, version);
}

const char *db_errmsg(db_t *db)
{
	if (db->msg[0] != '\0')
		return db->msg;
	return sq_errmsg(db->h);
}

/* ---- PostgreSQL: a transaction's reports, stored at commit ----------- */

static int store_now(db_t *db, int64_t host, const wire_report_t *r, int64_t received_ms,
                     int *is_new);
static int put_sysctls(db_t *db, int64_t host, const wire_report_t *r);

static void pend_clear(db_t *db)
{
	db->n_pend = db->pend_at_job = 0;
	fs_buf_reset(&db->pend_bytes);
}

/* Queues r (borrowed until the commit) with its packed columns, now in db->top, lis, cnt, ports, reqs. */
static int pend_add(db_t *db, int64_t host, const wire_report_t *r, int64_t received_ms,
                    int *stored)
{
	const fs_buf_t *col[DB_PEND_COLS] = {&db->top, &db->lis, &db->cnt, &db->ports, &db->reqs};
	db_pend_t *x;

	if (db->n_pend == db->cap_pend) {
		size_t cap = db->cap_pend ? db->cap_pend * 2 : 256;
		db_pend_t *v = realloc(db->pend, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		db->pend = v;
		db->cap_pend = cap;
	}
	x = &db->pend[db->n_pend];
	*x = (db_pend_t){.host = host, .r = r, .received_ms = received_ms, .stored = stored};
	for (int c = 0; c < DB_PEND_COLS; c++) {
		x->off[c] = db->pend_bytes.len;
		x->len[c] = col[c]->len;
		fs_buf_add(&db->pend_bytes, col[c]->p != NULL ? col[c]->p : "", col[c]->len);
	}
	if (db->pend_bytes.err)
		return -ENOMEM;
	db->n_pend++;
	return 0;
}

/*
 * The queued reports, stored in a few statements (pgflush.c) under a
 * savepoint.  Should those fail on the data (not the database), they are
 * stored again one by one, each in its own savepoint, as SQLite's are, so
 * that one bad report costs only itself: its *stored gets its error.
 */
static int flush(db_t *db)
{
	uint8_t *isnew;
	int rc;

	if (sq_kind(db->h) != SQ_PG || db->n_pend == 0)
		return 0;
	if ((isnew = calloc(db->n_pend, 1)) == NULL)
		return -ENOMEM;
	if ((rc = sq_exec(db->h, "SAVEPOINT flush")) < 0)
		goto out;
	rc = db__pgflush(db->flush, db->pend, db->n_pend, (const uint8_t *)db->pend_bytes.p, isnew);
	if (rc < 0 && !db_error_is_transient(rc)) {
		if ((rc = sq_exec(db->h, "ROLLBACK TO flush")) < 0)
			goto out;
		for (size_t i = 0; i < db->n_pend && rc == 0; i++) {
			db_pend_t *x = &db->pend[i];
			int is_new = 0, err;

			if ((rc = sq_run(db->st[ST_SAVEPOINT])) < 0)
				break;
			err = store_now(db, x->host, x->r, x->received_ms, &is_new);
			if (err < 0 && db_error_is_transient(err)) {
				rc = err;
				break;
			}
			if (err < 0) {
				if ((rc = sq_run(db->st[ST_ROLLBACK_TO])) < 0)
					break;
				if (x->stored != NULL)
					*x->stored = err;
			}
			rc = sq_run(db->st[ST_RELEASE]);
			isnew[i] = (uint8_t)(err == 0 && is_new);
			if (err == 0 && x->stored != NULL)
				*x->stored = is_new;
		}
		goto out;
	}
	if (rc < 0 || (rc = sq_exec(db->h, "RELEASE flush")) < 0)
		goto out;
	/* A host's sysctls, replaced by each of its stored reports that carries them, in order. */
	for (size_t i = 0; i < db->n_pend && rc == 0; i++) {
		const db_pend_t *x = &db->pend[i];

		if (isnew[i] && x->r->n_sysctls > 0)
			rc = put_sysctls(db, x->host, x->r);
		if (x->stored != NULL)
			*x->stored = isnew[i];
	}
out:
	free(isnew);
	if (rc == 0)
		pend_clear(db);
	return rc;
}

/* ---- transactions --------------------------------------------------- */

static int tx_begin(db_t *db)
{
	/* A server that went away (a restart, a failover): connect again, or say it is away. */
	int rc = sq_reconnect(db->h);

	if (rc == 0)
		rc = sq_run(db->st[ST_BEGIN]);

	if (rc == 0)
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
	int rc = 0;

	if (sq_in_tx(db->h))
		rc = sq_run(db->st[ST_ROLLBACK]);
	db__parts_abort(&db->parts);
	if (sq_kind(db->h) == SQ_PG)
		hosts_forget(db);
	pend_clear(db);
	if (db->n_names != db->names_at_begin) {
		int rc2 = names_load(db);

		if (rc == 0)
			rc = rc2;
	}
	return rc;
}

static int tx_commit(db_t *db)
{
	int rc = flush(db);

	if (rc == 0)
		rc = sq_run(db->st[ST_COMMIT]);

	if (rc == 0)
		db__parts_commit(&db->parts);
	/* Not committed: still open (busy) or already rolled back. */
	if (rc != 0 && !sq_in_tx(db->h) &&
	    db->n_names != db->names_at_begin)
		names_load(db);
	return rc;
}

int db_begin(db_t *db)
{
	db->msg[0] = '\0';
	if (sq_in_tx(db->h)) {
		fail(db, -EINVAL, "a transaction is already open");
		return -EALREADY;
	}
	return to_errno(db, tx_begin(db));
}

int db_commit(db_t *db)
{
	db->msg[0] = '\0';
	return to_errno(db, tx_commit(db));
}

int db_prepare_for(db_t *db, int64_t at_ms)
{
	int rc;

	db->msg[0] = '\0';
	if (sq_kind(db->h) != SQ_PG || db__parts_known(&db->parts, at_ms))
		return 0;
	if (sq_in_tx(db->h)) {
		fail(db, -EINVAL, "a transaction is already open");
		return -EALREADY;
	}
	if ((rc = sq_reconnect(db->h)) == 0)
		rc = db__parts_ahead(&db->parts, db->h, at_ms);
	return to_errno(db, rc);
}

int db_rollback(db_t *db)
{
	db->msg[0] = '\0';
	return to_errno(db, tx_abort(db));
}

int db_job_begin(db_t *db)
{
	int rc = 0;

	db->msg[0] = '\0';
	db->names_at_job = db->n_names;
	db->pend_at_job = db->n_pend;
	if (sq_kind(db->h) == SQ_PG) {
		db->sp_wanted = true;   /* taken by the job's first statement (sp_sync()) */
		db->sp_open = false;
		return 0;
	}
	rc = sq_run(db->st[ST_SAVEPOINT]);
	return to_errno(db, rc);
}

int db_job_end(db_t *db, int ok)
{
	int rc = 0;

	if (sq_kind(db->h) == SQ_PG) {
		bool open = db->sp_open;

		db->sp_wanted = db->sp_open = false;
		if (!ok) {
			db->n_pend = db->pend_at_job;   /* the job's queued report, if any */
			hosts_forget(db);
		}
		if (!open)
			return to_errno(db, !ok && db->n_names != db->names_at_job ? names_load(db) : 0);
	}
	if (!ok) {
		db->dirty_hour = INT64_MIN;   /* the job's mark may be undone */
		db__parts_abort(&db->parts);  /* and its partitions: asked again, IF NOT EXISTS */
		/* The transaction may be gone already (SQLite rolls back on some errors). */
		if (!sq_in_tx(db->h))
			return to_errno(db, db->n_names != db->names_at_job ? names_load(db) : 0);
		rc = sq_run(db->st[ST_ROLLBACK_TO]);
		if (db->n_names != db->names_at_job) {
			int rc2 = names_load(db);

			if (rc == 0)
				rc = rc2;
		}
	}
	if (rc == 0)
		rc = sq_run(db->st[ST_RELEASE]);
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
	sq_stmt_t *st = db->st[ST_HOST_ID];
	int rc;

	if (db->cap_hosts != 0) {
		size_t i = host_slot(db, agent_id);

		if (db->hosts[i].host != 0) {
			*id = db->hosts[i].host;
			return 0;
		}
	}
	if ((rc = sp_sync(db)) != 0)
		return rc;
	sq_bind_blob(st, 1, agent_id, WIRE_AGENT_ID_LEN);
	rc = sq_step(st);
	if (rc == SQ_ROW) {
		*id = sq_i64(st, 0);
		rc = 0;
		if (sq_kind(db->h) == SQ_PG)
			host_remember(db, agent_id, *id);
	} else if (rc == SQ_DONE) {
		rc = fail(db, -ENOENT, "unknown agent (no hello stored)");
	}
	sq_reset(st);
	return rc;
}

int db_host_hello(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
		  const wire_hello_t *h, int64_t now_ms, uint64_t *last_seq)
{
	sq_stmt_t *st = db->st[ST_HELLO];
	int rc;

	db->msg[0] = '\0';
	if ((rc = labels_json(db, h->labels, h->n_labels)) != 0 || (rc = sp_sync(db)) != 0)
		return to_errno(db, rc);
	/*
	 * One statement: its own transaction unless one is open.  It answers
	 * the highest seq stored, or the high-water mark last_seq when pruning
	 * removed that report (an agent must never reuse a seq).
	 */
	sq_bind_blob(st, 1, agent_id, WIRE_AGENT_ID_LEN);
	sq_bind_text(st, 2, h->hostname);
	sq_bind_text(st, 3, h->tier);
	sq_bind_text(st, 4, (const char *)db->json.p);
	sq_bind_text(st, 5, h->agent_version);
	sq_bind_i64(st, 6, now_ms);
	rc = sq_step(st);
	if (rc == SQ_ROW) {
		*last_seq = (uint64_t)sq_i64(st, 0);
		rc = sq_step(st);
	}
	sq_reset(st);
	return to_errno(db, rc == SQ_DONE ? 0 : rc);
}

int db_host_cert(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN], const char *subject,
                 const char *sha256, char was[65])
{
	sq_stmt_t *st = db->st[ST_CERT_GET];
	int rc;

	db->msg[0] = '\0';
	was[0] = '\0';
	if ((rc = sp_sync(db)) != 0)
		return to_errno(db, rc);
	sq_bind_blob(st, 1, agent_id, WIRE_AGENT_ID_LEN);
	if ((rc = sq_step(st)) == SQ_ROW && !sq_null(st, 0))
		snprintf(was, 65, "%s", (const char *)sq_text(st, 0));
	sq_reset(st);
	if (rc != SQ_ROW && rc != SQ_DONE)
		return to_errno(db, rc);
	st = db->st[ST_CERT_PUT];
	sq_bind_blob(st, 1, agent_id, WIRE_AGENT_ID_LEN);
	sq_bind_text(st, 2, subject);
	sq_bind_text(st, 3, sha256);
	rc = sq_step(st);
	sq_reset(st);
	return to_errno(db, rc == SQ_DONE ? 0 : rc);
}

/*
 * Replaces the host's sysctls with the report's: names it no longer sends
 * go, new names come, and a row whose value is unchanged keeps its
 * changed_at_ms (the upsert's WHERE skips it).
 */
static int put_sysctls(db_t *db, int64_t host, const wire_report_t *r)
{
	sq_stmt_t *st;
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
		return -ENOMEM;
	st = db->st[ST_SYSCTL_DEL];
	sq_bind_i64(st, 1, host);
	sq_bind_text(st, 2, (const char *)b->p);
	if ((rc = sq_run(st)) != 0)
		return rc;
	st = db->st[ST_SYSCTL_PUT];
	for (i = 0; i < r->n_sysctls; i++) {
		sq_bind_i64(st, 1, host);
		sq_bind_text(st, 2, r->sysctls[i].name);
		sq_bind_text(st, 3, r->sysctls[i].value);
		sq_bind_i64(st, 4, r->collected_at_ms);
		if ((rc = sq_run(st)) != 0)
			return rc;
	}
	return 0;
}

/* Inserts the row; *stored is whether it was new. */
/* The report's packed columns into db->top, lis, cnt, ports and reqs (new counter names interned). */
static int pack_report(db_t *db, const wire_report_t *r)
{
	struct intern in = {db, 0};
	int rc;

	if ((rc = pack_rc(db, db_top_pack(&db->top, &r->top), "top ip: length not 4 or 16")) != 0 ||
	    (rc = pack_rc(db, db_listeners_pack(&db->lis, r->listeners, r->n_listeners),
	                  "listener ip: bad length")) != 0 ||
	    (rc = pack_rc(db, db_ports_pack(&db->ports, &r->ports), "port out of 1..65535")) != 0 ||
	    (rc = pack_rc(db, db_requests_pack(&db->reqs, &r->requests),
	                  "requests: bad client or host")) != 0)
		return rc;
	if (db_counters_pack(&db->cnt, r->counters, r->n_counters, intern_id, &in) < 0)
		return in.rc != 0 ? in.rc : -ENOMEM;
	return 0;
}

/* Inserts the row; *stored is whether it was new. */
static int put_row(db_t *db, int64_t host, const wire_report_t *r,
		   int64_t received_ms, int *stored)
{
	sq_stmt_t *st = db->st[ST_REPORT];
	int rc, i;

	if ((rc = pack_report(db, r)) != 0)
		return rc;
	sq_bind_i64(st, 1, host);
	sq_bind_i64(st, 2, (int64_t)r->seq);
	sq_bind_i64(st, 3, r->collected_at_ms);
	sq_bind_i64(st, 4, received_ms);
	sq_bind_i64(st, 5, r->interval_ms);
	for (i = WIRE_ESTABLISHED; i < WIRE_NSTATES; i++)
		sq_bind_i64(st, 5 + i, r->states.n[i]);
	/* Stored as their two's complement bits: read back unchanged. */
	sq_bind_i64(st, 17, (int64_t)r->dropped_reports);
	sq_bind_i64(st, 18, (int64_t)r->collect_us);
	sq_bind_text(st, 19, r->source);
	bind_blob(st, 20, &db->top);
	bind_blob(st, 21, &db->lis);
	bind_blob(st, 22, &db->cnt);
	bind_blob(st, 23, &db->ports);
	bind_blob(st, 24, &db->reqs);
	if ((rc = sq_run(st)) != 0)
		return rc;
	*stored = sq_changes(st) > 0;
	return 0;
}

/* Adds a stored report to its host's rollup row (ST_ROLL_MINUTE or _HOUR). */
static int put_rollup(db_t *db, int which, int64_t host, const int64_t v[DB_ROLL_NCOLS], int64_t t)
{
	sq_stmt_t *st = db->st[which];

	sq_bind_i64(st, 1, host);
	sq_bind_i64(st, 2, t);
	for (size_t i = 0; i < DB_ROLL_NCOLS; i++)
		sq_bind_i64(st, (int)i + 3, v[i]);
	return sq_run(st);
}

/*
 * The host's minute rollup and its tier's: reads the host's row before the
 * report, adds the report, and adds to the tier's row what the host's mean
 * and maximum gained (a new host-minute adds a host).
 */
static int put_minute(db_t *db, int64_t host, const int64_t v[DB_ROLL_NCOLS], int64_t t)
{
	sq_stmt_t *get = db->st[ST_ROLL_GET], *tier = db->st[ST_ROLL_TIER];
	int64_t n = 0, sum[DB_ROLL_NCOLS] = {0}, max[DB_ROLL_NCOLS] = {0};
	int64_t hosts, dmax[DB_ROLL_NCOLS];
	double dmean[DB_ROLL_NCOLS];
	int rc;

	sq_bind_i64(get, 1, host);
	sq_bind_i64(get, 2, t);
	if ((rc = sq_step(get)) == SQ_ROW) {
		n = sq_i64(get, 0);
		for (size_t i = 0; i < DB_ROLL_NCOLS; i++) {
			sum[i] = sq_i64(get, 1 + 2 * (int)i);
			max[i] = sq_i64(get, 2 + 2 * (int)i);
		}
		rc = 0;
	} else if (rc == SQ_DONE) {
		rc = 0;
	}
	sq_reset(get);
	if (rc != 0 || (rc = put_rollup(db, ST_ROLL_MINUTE, host, v, t)) != 0)
		return rc;
	db__tier_delta(n, sum, max, 1, v, v, &hosts, dmean, dmax);
	sq_bind_i64(tier, 1, host);
	sq_bind_i64(tier, 2, t);
	sq_bind_i64(tier, 3, hosts);
	for (size_t i = 0; i < DB_ROLL_NCOLS; i++) {
		sq_bind_f64(tier, 4 + 2 * (int)i, dmean[i]);
		sq_bind_i64(tier, 5 + 2 * (int)i, dmax[i]);
	}
	return sq_run(tier);
}

/* Marks the hour of a stored report for db_roll_hours(), once per hour and transaction. */
static int mark_dirty(db_t *db, int64_t hour)
{
	sq_stmt_t *st = db->st[ST_DIRTY_MARK];
	int rc;

	if (hour == db->dirty_hour)
		return 0;
	sq_bind_i64(st, 1, hour);
	if ((rc = sq_run(st)) == 0)
		db->dirty_hour = hour;
	return rc;
}

/* A report's row and what it adds to the rollups, at once: SQLite's way. */
static int store_now(db_t *db, int64_t host, const wire_report_t *r, int64_t received_ms,
                     int *is_new)
{
	sq_stmt_t *st = db->st[ST_HOST_SEEN];
	int64_t v[DB_ROLL_NCOLS];
	int rc;

	*is_new = 0;
	if ((rc = put_row(db, host, r, received_ms, is_new)) != 0 || !*is_new)
		return rc;
	sq_bind_i64(st, 1, host);
	sq_bind_i64(st, 2, received_ms);
	sq_bind_i64(st, 3, (int64_t)r->seq);
	if (sq_kind(db->h) == SQ_PG)
		sq_bind_i64(st, 4, r->collected_at_ms);
	if ((rc = sq_run(st)) != 0)
		return rc;
	if (r->n_sysctls > 0 && (rc = put_sysctls(db, host, r)) != 0)
		return rc;
	db__roll_values(r, v);
	if ((rc = put_minute(db, host, v, db__floor(r->collected_at_ms, 60000))) != 0 ||
	    (rc = put_rollup(db, ST_ROLL_HOUR, host, v,
	                     db__floor(r->collected_at_ms, 3600000))) != 0 ||
	    (rc = top_minute_add(db, db->st[ST_TOP_GET], db->st[ST_TOP_PUT], host, &r->top,
	                         &r->requests, r->interval_ms, r->collected_at_ms)) != 0)
		return rc;
	return mark_dirty(db, db__floor(r->collected_at_ms, 3600000));
}

int db_put_report(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
		  const wire_report_t *r, int64_t received_ms, int *stored)
{
	bool own = false, pg = sq_kind(db->h) == SQ_PG;
	int64_t host = 0;
	int rc, is_new = 0;

	db->msg[0] = '\0';
	if (stored != NULL)
		*stored = 0;
	if (r->seq == 0 || r->seq > INT64_MAX)
		return to_errno(db, fail(db, -ERANGE, "seq out of range"));
	if (!sq_in_tx(db->h)) {
		if ((rc = tx_begin(db)) != 0)
			return to_errno(db, rc);
		own = true;
	}
	if ((rc = host_id(db, agent_id, &host)) != 0)
		goto out;
	if (pg) {
		/* Queued: stored by the commit, which sets *stored. */
		if (!db__parts_known(&db->parts, r->collected_at_ms) &&
		    ((rc = sp_sync(db)) != 0 ||
		     (rc = db__parts_ensure(&db->parts, db->h, r->collected_at_ms)) < 0))
			goto out;
		if ((rc = pack_report(db, r)) == 0)
			rc = pend_add(db, host, r, received_ms, stored);
	} else {
		rc = store_now(db, host, r, received_ms, &is_new);
	}
out:
	if (own) {
		if (rc == 0)
			rc = tx_commit(db);
		if (rc != 0)
			tx_abort(db);
	}
	if (rc == 0 && stored != NULL && !pg)
		*stored = is_new;
	return to_errno(db, rc);
}

/*
 * Builds the rows of rollup_ip_hour for the hour starting at t: 0, 1 when
 * another collector holds the hour (it builds it), or a negative errno.
 */
static int build_hour(db_t *db, int64_t t)
{
	sq_stmt_t *st = db->st[ST_IPH_MINUTES], *put = db->st[ST_IPH_PUT];
	const col_iphour_row_t *rows;
	col_iphour_t *h;
	size_t n;
	int rc;

	sq_bind_i64(db->st[ST_HOUR_LOCK], 1, t);
	if ((rc = sq_step(db->st[ST_HOUR_LOCK])) == SQ_ROW)
		rc = sq_i64(db->st[ST_HOUR_LOCK], 0) == 1 ? 0 : 1;
	sq_reset(db->st[ST_HOUR_LOCK]);
	if (rc != 0)
		return rc < 0 ? rc : 1;   /* another collector holds it: it builds the hour */
	if (col_iphour_new(&h) < 0)
		return -ENOMEM;
	sq_bind_i64(db->st[ST_IPH_DEL], 1, t);
	if ((rc = sq_run(db->st[ST_IPH_DEL])) != 0)
		goto out;
	sq_bind_i64(st, 1, t);
	sq_bind_i64(st, 2, t + 3600000);
	while ((rc = sq_step(st)) == SQ_ROW) {
		col_roll_top_t r;
		int err = db_roll_top_unpack(sq_blob(st, 2),
		                             sq_bytes(st, 2), &r);

		if (err == 0)
			err = col_iphour_add(h, sq_i64(st, 0),
			                     (const char *)sq_text(st, 1), &r);
		col_roll_top_close(&r);
		if (err == -ENOMEM) {
			rc = -ENOMEM;
			break;
		}
		/* A malformed minute (-EBADMSG) is no evidence: the queries skip it too. */
	}
	sq_reset(st);
	if (rc != SQ_DONE)
		goto out;
	rc = col_iphour_rows(h, &rows, &n) < 0 ? -ENOMEM : 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const col_iphour_row_t *x = &rows[i];

		sq_bind_i64(put, 1, t);
		sq_bind_text(put, 2, x->tier);
		sq_bind_blob(put, 3, x->ip.b, x->ip.len);
		sq_bind_i64(put, 4, x->minutes);
		sq_bind_i64(put, 5, x->hosts);
		sq_bind_i64(put, 6, (int64_t)x->peak_total);
		sq_bind_i64(put, 7, (int64_t)x->peak_established);
		sq_bind_i64(put, 8, (int64_t)x->peak_syn_recv);
		sq_bind_i64(put, 9, (int64_t)x->host_max);
		rc = sq_run(put);
	}
	if (rc == 0) {
		sq_bind_i64(db->st[ST_DIRTY_DEL], 1, t);
		rc = sq_run(db->st[ST_DIRTY_DEL]);
	}
out:
	col_iphour_free(h);
	return rc;
}

int db_roll_hours(db_t *db, int64_t now_ms, uint32_t max_hours, uint32_t *built)
{
	sq_stmt_t *due = db->st[ST_DIRTY_DUE];
	int64_t t[64];
	uint32_t n = 0;
	int rc;

	db->msg[0] = '\0';
	*built = 0;
	db->dirty_hour = INT64_MIN;   /* a later report for a built hour marks it again */
	if ((rc = sp_sync(db)) != 0)
		return to_errno(db, rc);
	if (max_hours > sizeof(t) / sizeof(t[0]))
		max_hours = sizeof(t) / sizeof(t[0]);
	sq_bind_i64(due, 1, now_ms - 3600000 - DB_HOUR_GRACE_MS);
	sq_bind_i64(due, 2, max_hours);
	while (n < max_hours && (rc = sq_step(due)) == SQ_ROW)
		t[n++] = sq_i64(due, 0);
	sq_reset(due);
	if (n < max_hours && rc != SQ_DONE)
		return to_errno(db, rc);
	rc = 0;
	for (uint32_t i = 0; i < n && rc >= 0; i++)
		if ((rc = build_hour(db, t[i])) == 0)
			(*built)++;
	return to_errno(db, rc < 0 ? rc : 0);
}

int db_prune_some(db_t *db, int64_t horizon_ms, uint64_t max_rows,
		  uint64_t *deleted)
{
	sq_stmt_t *st = db->st[ST_PRUNE];
	int rc;

	db->msg[0] = '\0';
	*deleted = 0;
	if ((rc = sp_sync(db)) != 0)
		return to_errno(db, rc);
	/* PostgreSQL drops whole days: one per slice, so "fewer than asked" still means done. */
	if (sq_kind(db->h) == SQ_PG)
		return to_errno(db, db__parts_prune(&db->parts, db->h, horizon_ms,
		                                    max_rows == 0 ? 0 : 1, deleted));
	sq_bind_i64(st, 1, horizon_ms);
	/* A negative LIMIT is no limit. */
	sq_bind_i64(st, 2, max_rows == 0 || max_rows > INT64_MAX
			   ? -1 : (int64_t)max_rows);
	if ((rc = sq_run(st)) == 0)
		*deleted = (uint64_t)sq_changes(st);
	return to_errno(db, rc);
}

int db_prune_rollups(db_t *db, int64_t raw_horizon_ms, int64_t minute_horizon_ms,
                     int64_t hour_horizon_ms, uint64_t *deleted)
{
	int64_t horizon[] = {raw_horizon_ms, minute_horizon_ms, minute_horizon_ms, hour_horizon_ms,
	                     hour_horizon_ms};
	int which[] = {ST_PRUNE_TOP, ST_PRUNE_MINUTE, ST_PRUNE_TIER, ST_PRUNE_HOUR, ST_PRUNE_IPH};
	int rc = 0;

	db->msg[0] = '\0';
	*deleted = 0;
	rc = sp_sync(db);
	for (size_t i = 0; i < sizeof(which) / sizeof(which[0]) && rc == 0; i++) {
		sq_stmt_t *st = db->st[which[i]];

		sq_bind_i64(st, 1, horizon[i]);
		sq_bind_i64(st, 2, -1);
		if ((rc = sq_run(st)) == 0)
			*deleted += (uint64_t)sq_changes(st);
	}
	return to_errno(db, rc);
}

int db_prune(db_t *db, int64_t horizon_ms, uint64_t *deleted)
{
	return db_prune_some(db, horizon_ms, 0, deleted);
}

/* ---- read-back ------------------------------------------------------ */

/* A copy of a text column ("" for NULL), or NULL when out of memory. */
static char *col_strdup(sq_stmt_t *st, int i)
{
	const char *s = (const char *)sq_text(st, i);

	return strdup(s != NULL ? s : "");
}

int db_get_report(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
		  uint64_t seq, wire_report_t *out)
{
	sq_stmt_t *st = db->st[ST_GET_REPORT];
	int rc, i, ret;

	db->msg[0] = '\0';
	memset(out, 0, sizeof(*out));
	if (seq > INT64_MAX)
		return -ENOENT;
	sq_bind_blob(st, 1, agent_id, WIRE_AGENT_ID_LEN);
	sq_bind_i64(st, 2, (int64_t)seq);
	rc = sq_step(st);
	if (rc != SQ_ROW) {
		if (rc == SQ_DONE)
			rc = fail(db, -ENOENT, "no such report");
		goto out;
	}
	out->seq = (uint64_t)sq_i64(st, 0);
	out->collected_at_ms = sq_i64(st, 1);
	out->interval_ms = (uint32_t)sq_i64(st, 2);
	for (i = WIRE_ESTABLISHED; i < WIRE_NSTATES; i++)
		out->states.n[i] = (uint32_t)sq_i64(st, 2 + i);
	out->dropped_reports = (uint64_t)sq_i64(st, 14);
	out->collect_us = (uint64_t)sq_i64(st, 15);
	if ((out->source = col_strdup(st, 16)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	ret = db_top_unpack(sq_blob(st, 17),
			    sq_bytes(st, 17), &out->top);
	if (ret == 0)
		ret = db_listeners_unpack(sq_blob(st, 18),
					  sq_bytes(st, 18),
					  &out->listeners, &out->n_listeners);
	if (ret == 0)
		ret = db_counters_unpack(sq_blob(st, 19),
		                         sq_bytes(st, 19), id_name, db,
		                         &out->counters, &out->n_counters);
	if (ret == 0)
		ret = db_ports_unpack(sq_blob(st, 20), sq_bytes(st, 20), &out->ports);
	if (ret == 0)
		ret = db_requests_unpack(sq_blob(st, 21), sq_bytes(st, 21), &out->requests);
	rc = ret == 0 ? 0 : ret == -ENOMEM ? -ENOMEM : -EBADMSG;
out:
	sq_reset(st);
	if (rc == -EBADMSG)
		fail(db, rc, "report: malformed packed column");
	if (rc != 0 && rc != SQ_ROW)
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
	free(h->cert_subject);
	free(h->cert_sha256);
	memset(h, 0, sizeof(*h));
}

int db_get_host(db_t *db, const uint8_t agent_id[WIRE_AGENT_ID_LEN],
		db_host_t *out)
{
	sq_stmt_t *st = db->st[ST_GET_HOST];
	int rc;

	db->msg[0] = '\0';
	memset(out, 0, sizeof(*out));
	sq_bind_blob(st, 1, agent_id, WIRE_AGENT_ID_LEN);
	rc = sq_step(st);
	if (rc == SQ_ROW) {
		out->hostname = col_strdup(st, 0);
		out->tier = col_strdup(st, 1);
		out->labels_json = col_strdup(st, 2);
		out->agent_version = col_strdup(st, 3);
		out->first_seen_ms = sq_i64(st, 4);
		out->last_seen_ms = sq_i64(st, 5);
		out->last_seq = (uint64_t)sq_i64(st, 6);
		out->cert_subject = sq_null(st, 7) ? NULL : col_strdup(st, 7);
		out->cert_sha256 = sq_null(st, 8) ? NULL : col_strdup(st, 8);
		rc = 0;
		if (!out->hostname || !out->tier || !out->labels_json ||
		    !out->agent_version || (!sq_null(st, 7) && !out->cert_subject) ||
		    (!sq_null(st, 8) && !out->cert_sha256)) {
			db_host_close(out);
			rc = -ENOMEM;
		}
	} else if (rc == SQ_DONE) {
		rc = fail(db, -ENOENT, "unknown agent");
	}
	sq_reset(st);
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
	sq_stmt_t *st = db->st[ST_GET_SYSCTLS];
	db_sysctl_t *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	int64_t host;
	int rc;

	db->msg[0] = '\0';
	*out = NULL;
	*n = 0;
	if ((rc = host_id(db, agent_id, &host)) != 0)
		return to_errno(db, rc);
	sq_bind_blob(st, 1, agent_id, WIRE_AGENT_ID_LEN);
	while ((rc = sq_step(st)) == SQ_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[cnt].name = col_strdup(st, 0);
		v[cnt].value = col_strdup(st, 1);
		v[cnt].changed_at_ms = sq_i64(st, 2);
		cnt++;
		if (v[cnt - 1].name == NULL || v[cnt - 1].value == NULL) {
			rc = -ENOMEM;
			break;
		}
	}
	sq_reset(st);
	if (rc != SQ_DONE) {
		db_sysctls_free(v, cnt);
		return to_errno(db, rc);
	}
	*out = v;
	*n = cnt;
	return 0;
}
