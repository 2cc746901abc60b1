/* SPDX-License-Identifier: MIT */
/*
 * test_db.c: the collector's storage on real databases: SQLite files, and with FS_PG_URI
 * (tests/tools/pgcluster.sh run) a throwaway PostgreSQL cluster: migrations, hosts, reports.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "db.h"
#include "migrate.h"
#include "reader.h"
#include "sql.h"

typedef struct {
	char dir[256];
	int n;          /* files made so far, for unique names */
} env_t;

/* A new database path in the test directory. */
static void path_new(env_t *e, char *out, size_t len, const char *tag)
{
	snprintf(out, len, "%s/%s-%d.db", e->dir, tag, e->n++);
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	env_t *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return -1;
	snprintf(e->dir, sizeof(e->dir), "%s/test_db.XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(e->dir) == NULL) {
		free(e);
		return -1;
	}
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env_t *e = *state;
	struct dirent *de;
	char p[512];
	DIR *d = opendir(e->dir);

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", e->dir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(e->dir);
	free(e);
	return 0;
}

static db_t *open_ok(const char *path)
{
	char err[256] = "";
	db_t *db = NULL;
	int rc = db_open(path, &db, err, sizeof(err));

	if (rc != 0)
		fail_msg("db_open(%s): %d %s", path, rc, err);
	assert_non_null(db);
	return db;
}

static void agent(uint8_t id[WIRE_AGENT_ID_LEN], int n)
{
	for (int i = 0; i < WIRE_AGENT_ID_LEN; i++)
		id[i] = (uint8_t)(0xa0 + i);
	id[0] = (uint8_t)n;
	id[1] = (uint8_t)(n >> 8);
}

static uint64_t hello(db_t *db, const uint8_t id[WIRE_AGENT_ID_LEN],
		      const char *host, int64_t now)
{
	wire_kv_t labels[] = {{"rack", "r12"}, {"dc", "fra \"1\""}};
	wire_hello_t h = {
		.protocol = 1, .hostname = (char *)host, .tier = "web",
		.labels = labels, .n_labels = 2, .agent_version = "0.1.0",
	};
	uint64_t last = 999;

	assert_int_equal(db_host_hello(db, id, &h, now, &last), 0);
	return last;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

/*
 * A report shaped like a real one: n_ips top IPs (v4, every fifth v6)
 * with a few nonzero states, listeners, ~50 counters with large cumulative
 * values, and sysctls when asked.  Owned: wire_report_close() frees it.
 */
static void mkreport(wire_report_t *r, uint64_t seq, int64_t t, size_t n_ips,
		     size_t n_counters, size_t n_sysctls)
{
	static const char *const sysctl_names[] = {
		"net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_tw_reuse",
		"net.core.somaxconn", "net.ipv4.ip_local_port_range",
	};
	char name[64];

	memset(r, 0, sizeof(*r));
	r->seq = seq;
	r->collected_at_ms = t;
	r->interval_ms = 10000;
	for (int s = WIRE_ESTABLISHED; s < WIRE_NSTATES; s++)
		r->states.n[s] = (uint32_t)((seq * 7 + (uint64_t)s * 13) % 500);
	r->states.n[WIRE_CLOSING] = 0;
	r->states.n[WIRE_ESTABLISHED] = 4000000000u;
	r->n_listeners = 3;
	r->listeners = calloc(3, sizeof(*r->listeners));
	assert_non_null(r->listeners);
	r->listeners[0] = (wire_listener_t){{4, {0, 0, 0, 0}}, 80, 3, 4096};
	r->listeners[1] = (wire_listener_t){{4, {10, 0, 0, 5}}, 5432, 0, 244};
	r->listeners[2].ip.len = 16;
	r->listeners[2].ip.b[15] = 1;
	r->listeners[2].port = 65535;
	r->listeners[2].backlog = 128;

	r->top.limit = 20;
	r->top.threshold_total = 17;
	r->top.threshold_established = 12;
	r->top.threshold_syn_recv = 0;
	r->top.distinct_ips = 3000 + (uint32_t)seq;
	r->top.rest.n[WIRE_ESTABLISHED] = 12345;
	r->top.rest.n[WIRE_TIME_WAIT] = 678;
	r->top.excluded.n[WIRE_ESTABLISHED] = 9;
	r->top.excluded.n[WIRE_CLOSING] = 1;
	r->top.n_ips = n_ips;
	if (n_ips > 0) {
		r->top.ips = calloc(n_ips, sizeof(*r->top.ips));
		assert_non_null(r->top.ips);
	}
	for (size_t i = 0; i < n_ips; i++) {
		wire_remote_t *e = &r->top.ips[i];

		if (i % 5 == 4) {
			e->ip.len = 16;
			e->ip.b[0] = 0x20;
			e->ip.b[1] = 0x01;
			e->ip.b[15] = (uint8_t)i;
		} else {
			e->ip.len = 4;
			e->ip.b[0] = 100;
			e->ip.b[1] = (uint8_t)(seq >> 8);
			e->ip.b[2] = (uint8_t)seq;
			e->ip.b[3] = (uint8_t)i;
		}
		e->st.n[WIRE_ESTABLISHED] = (uint32_t)(200 - i * 3);
		e->st.n[WIRE_TIME_WAIT] = (uint32_t)(i * 11);
		if (i % 3 == 0)
			e->st.n[WIRE_SYN_RECV] = (uint32_t)i;
		if (i % 2 == 0) { /* what its connections were doing, for some */
			e->has_act = true;
			e->act = (wire_activity_t){.active = (uint32_t)i, .unanswered = 100,
			                           .idle = (uint32_t)(150 - i * 3),
			                           .bytes_received = (uint64_t)i << 35,
			                           .bytes_acked = UINT64_MAX - i};
		}
	}
	if (n_ips > 0) { /* by service, for the reports with top lists */
		r->ports.limit = 16;
		r->ports.n_inbound = 2;
		r->ports.n_outbound = 1;
		r->ports.inbound = calloc(2, sizeof(*r->ports.inbound));
		r->ports.outbound = calloc(1, sizeof(*r->ports.outbound));
		assert_non_null(r->ports.inbound);
		assert_non_null(r->ports.outbound);
		r->ports.inbound[0] = (wire_port_t){.port = 443, .st.n = {[WIRE_ESTABLISHED] = 4000000000u}};
		r->ports.inbound[1] = (wire_port_t){.port = 80, .st.n = {[WIRE_TIME_WAIT] = 7}};
		r->ports.outbound[0] = (wire_port_t){.port = 65535, .st.n = {[WIRE_SYN_SENT] = 3}};
		r->ports.rest.n[WIRE_CLOSE_WAIT] = 11;
		/* Requests from an access log: a v4 and a v6 client, one host, big numbers. */
		r->requests.present = true;
		r->requests.total = 5000000000ull;
		r->requests.by_status[1] = 4999999000ull;
		r->requests.by_status[3] = 1000;
		r->requests.bytes = UINT64_MAX;
		r->requests.malformed = seq;
		r->requests.limit = 20;
		r->requests.distinct_clients = 3;
		r->requests.clients_unlisted_max = 1;
		r->requests.hosts_unlisted_max = 0;
		r->requests.n_clients = 2;
		r->requests.clients = calloc(2, sizeof(*r->requests.clients));
		assert_non_null(r->requests.clients);
		r->requests.clients[0] = (wire_req_client_t){
			.ip = {.len = 4, .b = {198, 51, 100, 1}}, .requests = 4000000000ull,
			.by_status = {0, 3999999000ull, 0, 1000}, .bytes = 77, .user_agents = 200};
		r->requests.clients[1] = (wire_req_client_t){
			.ip = {.len = 16, .b = {0x20, 0x01, 0x0d, 0xb8, [15] = 9}}, .requests = 5,
			.error = 2, .by_status = {0, 3}, .user_agents = 1, .user_agents_capped = true};
		r->requests.n_hosts = 1;
		r->requests.hosts = calloc(1, sizeof(*r->requests.hosts));
		assert_non_null(r->requests.hosts);
		r->requests.hosts[0] = (wire_req_host_t){.host = xstrdup("shop.example"),
		                                         .requests = 5000000000ull};
	}
	r->n_counters = n_counters;
	if (n_counters > 0) {
		r->counters = calloc(n_counters, sizeof(*r->counters));
		assert_non_null(r->counters);
	}
	for (size_t i = 0; i < n_counters; i++) {
		snprintf(name, sizeof(name), "TcpExt.Counter%zu", i);
		r->counters[i].name = xstrdup(name);
		r->counters[i].value = seq * 1000 + i * 100000000ull;
	}
	if (n_counters > 1)
		r->counters[1].value = UINT64_MAX;
	r->n_sysctls = n_sysctls;
	if (n_sysctls > 0) {
		r->sysctls = calloc(n_sysctls, sizeof(*r->sysctls));
		assert_non_null(r->sysctls);
	}
	for (size_t i = 0; i < n_sysctls && i < 4; i++) {
		r->sysctls[i].name = xstrdup(sysctl_names[i]);
		r->sysctls[i].value = xstrdup(i == 3 ? "32768 60999" : "30");
	}
	r->dropped_reports = seq % 3;
	r->collect_us = 1234 + seq;
	r->source = xstrdup("netlink");
}

static void put(db_t *db, const uint8_t id[WIRE_AGENT_ID_LEN],
		const wire_report_t *r, int expect_stored)
{
	int stored = -1;

	assert_int_equal(db_put_report(db, id, r, r->collected_at_ms + 50, &stored), 0);
	assert_int_equal(stored, expect_stored);
}

static void put_seq(db_t *db, const uint8_t id[WIRE_AGENT_ID_LEN],
		    uint64_t seq, int64_t t)
{
	wire_report_t r;

	mkreport(&r, seq, t, 20, 50, 0);
	put(db, id, &r, 1);
	wire_report_close(&r);
}

/* Count of rows of a table seen by an independent connection. */
static int64_t count_sql(const char *path, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static void assert_states_equal(const wire_states_t *a, const wire_states_t *b)
{
	for (int s = 0; s < WIRE_NSTATES; s++)
		assert_int_equal(a->n[s], b->n[s]);
}

static void assert_reports_equal(const wire_report_t *a, const wire_report_t *b)
{
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->collected_at_ms, b->collected_at_ms);
	assert_int_equal(a->interval_ms, b->interval_ms);
	assert_states_equal(&a->states, &b->states);
	assert_int_equal(a->n_listeners, b->n_listeners);
	for (size_t i = 0; i < a->n_listeners; i++) {
		assert_int_equal(a->listeners[i].ip.len, b->listeners[i].ip.len);
		assert_memory_equal(a->listeners[i].ip.b, b->listeners[i].ip.b,
				    a->listeners[i].ip.len);
		assert_int_equal(a->listeners[i].port, b->listeners[i].port);
		assert_int_equal(a->listeners[i].accept_queue, b->listeners[i].accept_queue);
		assert_int_equal(a->listeners[i].backlog, b->listeners[i].backlog);
	}
	assert_int_equal(a->top.limit, b->top.limit);
	assert_int_equal(a->top.threshold_total, b->top.threshold_total);
	assert_int_equal(a->top.threshold_established, b->top.threshold_established);
	assert_int_equal(a->top.threshold_syn_recv, b->top.threshold_syn_recv);
	assert_int_equal(a->top.distinct_ips, b->top.distinct_ips);
	assert_states_equal(&a->top.rest, &b->top.rest);
	assert_states_equal(&a->top.excluded, &b->top.excluded);
	assert_int_equal(a->top.n_ips, b->top.n_ips);
	for (size_t i = 0; i < a->top.n_ips; i++) {
		assert_int_equal(a->top.ips[i].ip.len, b->top.ips[i].ip.len);
		assert_memory_equal(a->top.ips[i].ip.b, b->top.ips[i].ip.b,
				    a->top.ips[i].ip.len);
		assert_states_equal(&a->top.ips[i].st, &b->top.ips[i].st);
		assert_int_equal(a->top.ips[i].has_act, b->top.ips[i].has_act);
		assert_memory_equal(&a->top.ips[i].act, &b->top.ips[i].act, sizeof(a->top.ips[i].act));
	}
	assert_int_equal(a->ports.limit, b->ports.limit);
	assert_int_equal(a->ports.n_inbound, b->ports.n_inbound);
	assert_int_equal(a->ports.n_outbound, b->ports.n_outbound);
	for (size_t i = 0; i < a->ports.n_inbound; i++) {
		assert_int_equal(a->ports.inbound[i].port, b->ports.inbound[i].port);
		assert_states_equal(&a->ports.inbound[i].st, &b->ports.inbound[i].st);
	}
	for (size_t i = 0; i < a->ports.n_outbound; i++) {
		assert_int_equal(a->ports.outbound[i].port, b->ports.outbound[i].port);
		assert_states_equal(&a->ports.outbound[i].st, &b->ports.outbound[i].st);
	}
	assert_states_equal(&a->ports.rest, &b->ports.rest);
	/* Requests, all but the agent's marks (not stored). */
	assert_int_equal(a->requests.present, b->requests.present);
	assert_true(a->requests.total == b->requests.total && a->requests.bytes == b->requests.bytes);
	assert_memory_equal(a->requests.by_status, b->requests.by_status, sizeof(a->requests.by_status));
	assert_true(a->requests.malformed == b->requests.malformed);
	assert_int_equal(a->requests.limit, b->requests.limit);
	assert_int_equal(a->requests.distinct_clients, b->requests.distinct_clients);
	assert_true(a->requests.clients_unlisted_max == b->requests.clients_unlisted_max);
	assert_true(a->requests.hosts_unlisted_max == b->requests.hosts_unlisted_max);
	assert_int_equal(a->requests.n_clients, b->requests.n_clients);
	for (size_t i = 0; i < a->requests.n_clients; i++)
		assert_memory_equal(&a->requests.clients[i], &b->requests.clients[i],
		                    sizeof(a->requests.clients[i]));
	assert_int_equal(a->requests.n_hosts, b->requests.n_hosts);
	for (size_t i = 0; i < a->requests.n_hosts; i++) {
		assert_string_equal(a->requests.hosts[i].host, b->requests.hosts[i].host);
		assert_true(a->requests.hosts[i].requests == b->requests.hosts[i].requests);
		assert_true(a->requests.hosts[i].error == b->requests.hosts[i].error);
	}
	assert_int_equal(a->n_counters, b->n_counters);
	for (size_t i = 0; i < a->n_counters; i++) {
		assert_string_equal(a->counters[i].name, b->counters[i].name);
		assert_true(a->counters[i].value == b->counters[i].value);
	}
	assert_true(a->dropped_reports == b->dropped_reports);
	assert_true(a->collect_us == b->collect_us);
	assert_string_equal(a->source, b->source);
}

static void assert_stored_equal(db_t *db, const uint8_t id[WIRE_AGENT_ID_LEN],
				const wire_report_t *want)
{
	wire_report_t got;

	assert_int_equal(db_get_report(db, id, want->seq, &got), 0);
	assert_reports_equal(want, &got);
	wire_report_close(&got);
}

static void test_db_open_empty_latest(void **state)
{
	char path[320];
	db_t *db;

	path_new(*state, path, sizeof(path), "empty");
	db = open_ok(path);
	assert_true(db_schema_latest() >= 2);
	assert_int_equal(db_schema_version(db), db_schema_latest());
	assert_null(db_schema_sql(0));
	assert_null(db_schema_sql(db_schema_latest() + 1));
	assert_non_null(db_schema_sql(1));
	db_close(db);
	/* WAL is recorded in the file header (bytes 18 and 19 are 2). */
	assert_int_equal(count_sql(path, "SELECT journal_mode = 'wal'"
				   " FROM pragma_journal_mode"), 1);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM sqlite_schema"
				   " WHERE name = 'host_sysctls'"), 1);
	db_close(NULL);
}

static void test_db_open_migrates_from_v1(void **state)
{
	char path[320];
	uint8_t id[WIRE_AGENT_ID_LEN];
	sqlite3 *h;
	sqlite3_stmt *st;
	wire_report_t r, got;
	db_t *db;

	path_new(*state, path, sizeof(path), "v1");
	agent(id, 1);
	/* A file as a build that knew only 001 left it, with data in it. */
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, db_schema_sql(1), NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 1", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h,
		"INSERT INTO hosts (agent_id, hostname, tier, first_seen_ms,"
		" last_seen_ms, last_seq) VALUES (?1, 'old', 'db', 10, 20, 3)",
		-1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, id, sizeof(id), SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_exec(h,
		"INSERT INTO reports (host_id, seq, collected_at_ms, received_at_ms,"
		" interval_ms, established, syn_sent, syn_recv, fin_wait1, fin_wait2,"
		" time_wait, close, close_wait, last_ack, listen, closing, source)"
		" VALUES (1, 7, 1000, 1001, 10000, 5, 0, 0, 0, 0, 3, 0, 600, 0, 2, 0,"
		" 'proc')", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	assert_int_equal(count_sql(path, "PRAGMA user_version"), 1);

	db = open_ok(path);
	assert_int_equal(db_schema_version(db), db_schema_latest());
	/* The old data is there, and what 002 added works. */
	assert_int_equal(db_get_report(db, id, 7, &got), 0);
	assert_int_equal(got.states.n[WIRE_CLOSE_WAIT], 600);
	assert_int_equal(got.states.n[WIRE_LISTEN], 2);
	assert_string_equal(got.source, "proc");
	assert_int_equal(got.top.n_ips, 0);
	assert_int_equal(got.n_counters, 0);
	wire_report_close(&got);
	/* The highest seq stored wins over a lagging last_seq column. */
	assert_int_equal(hello(db, id, "old", 30), 7);
	mkreport(&r, 8, 2000, 20, 5, 4);
	put(db, id, &r, 1);
	wire_report_close(&r);
	db_close(db);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM host_sysctls"), 4);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM sqlite_schema"
				   " WHERE name = 'reports_collected'"), 1);
	/*
	 * 003 rolled up what was there (seq 7 at 1000 ms: 608 sockets, 600 of
	 * them CLOSE_WAIT), then the writer added seq 8 (2000 ms) to the row.
	 */
	assert_int_equal(count_sql(path, "SELECT count(*) FROM rollup_minute WHERE t = 0"
				   " AND n = 2 AND close_wait_max >= 600 AND total_max >= 608"), 1);
	assert_int_equal(count_sql(path, "SELECT sum(n) FROM rollup_hour"), 2);
}

/*
 * A file as each earlier build left it (schema 1..v applied, with a host and
 * a report in it): it opens at the latest version with its data, and takes
 * new reports.
 */
static void test_db_open_migrates_from_each(void **state)
{
	for (int v = 1; v < db_schema_latest(); v++) {
		char path[320], sql[512];
		uint8_t id[WIRE_AGENT_ID_LEN];
		wire_report_t r, got;
		sqlite3 *h;
		db_t *db;

		path_new(*state, path, sizeof(path), "each");
		agent(id, 1);
		assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
		for (int k = 1; k <= v; k++)
			assert_int_equal(sqlite3_exec(h, db_schema_sql(k), NULL, NULL, NULL), SQLITE_OK);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;"
		         " INSERT INTO hosts (agent_id, hostname, tier, first_seen_ms, last_seen_ms,"
		         " last_seq) VALUES (x'0100a2a3a4a5a6a7a8a9aaabacadaeaf', 'old', 'db', 10, 20, 7);"
		         " INSERT INTO reports (host_id, seq, collected_at_ms, received_at_ms,"
		         " interval_ms, established, syn_sent, syn_recv, fin_wait1, fin_wait2,"
		         " time_wait, close, close_wait, last_ack, listen, closing, source)"
		         " VALUES (1, 7, 1000, 1001, 10000, 5, 0, 0, 0, 0, 3, 0, 600, 0, 2, 0, 'proc')",
		         v);
		assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_close(h), SQLITE_OK);

		db = open_ok(path);
		assert_int_equal(db_schema_version(db), db_schema_latest());
		assert_int_equal(db_get_report(db, id, 7, &got), 0);
		assert_int_equal(got.states.n[WIRE_CLOSE_WAIT], 600);
		assert_string_equal(got.source, "proc");
		wire_report_close(&got);
		assert_int_equal(hello(db, id, "old", 30), 7);
		mkreport(&r, 8, 70000, 20, 5, 4);
		put(db, id, &r, 1);
		assert_int_equal(db_get_report(db, id, 8, &got), 0);
		assert_int_equal(got.top.n_ips, r.top.n_ips);
		wire_report_close(&got);
		wire_report_close(&r);
		db_close(db);
	}
}

static void test_db_open_refuses_newer(void **state)
{
	char path[320], err[256] = "";
	sqlite3 *h;
	db_t *db = (db_t *)1;

	path_new(*state, path, sizeof(path), "newer");
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 999", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(h);
	assert_true(db_open(path, &db, err, sizeof(err)) < 0);
	assert_null(db);
	assert_non_null(strstr(err, "999"));
}

/*
 * The certificate an agent presents is stored on its host; the one stored
 * before comes back, so a change can be said; no certificate leaves it.
 */
static void host_cert_checks(db_t *db)
{
	static const char a[] = "5d7a0c1e9b3f4a6d8e2c7b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e";
	static const char b[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	uint8_t id[WIRE_AGENT_ID_LEN], other[WIRE_AGENT_ID_LEN];
	char was[65];
	db_host_t h;

	agent(id, 7);
	agent(other, 8);
	hello(db, id, "web-07", 1000);
	hello(db, other, "web-08", 1000);
	assert_int_equal(db_get_host(db, id, &h), 0);
	assert_null(h.cert_subject);
	assert_null(h.cert_sha256);
	db_host_close(&h);
	assert_int_equal(db_host_cert(db, id, "CN=web-07,O=fleetstat", a, was), 0);
	assert_string_equal(was, "");
	assert_int_equal(db_host_cert(db, id, "CN=web-07,O=fleetstat", a, was), 0);
	assert_string_equal(was, a);
	assert_int_equal(db_host_cert(db, id, "CN=web-07,O=fleetstat", b, was), 0);
	assert_string_equal(was, a);
	assert_int_equal(db_get_host(db, id, &h), 0);
	assert_string_equal(h.cert_subject, "CN=web-07,O=fleetstat");
	assert_string_equal(h.cert_sha256, b);
	db_host_close(&h);
	/* A Hello without one keeps it; the other host has none. */
	hello(db, id, "web-07", 2000);
	assert_int_equal(db_get_host(db, id, &h), 0);
	assert_string_equal(h.cert_sha256, b);
	db_host_close(&h);
	assert_int_equal(db_get_host(db, other, &h), 0);
	assert_null(h.cert_sha256);
	db_host_close(&h);
}

static void test_db_host_cert(void **state)
{
	char path[320];
	db_t *db;

	path_new(*state, path, sizeof(path), "cert");
	db = open_ok(path);
	host_cert_checks(db);
	db_close(db);
}

static void test_db_host_hello_last_seq(void **state)
{
	char path[320];
	uint8_t id[WIRE_AGENT_ID_LEN], other[WIRE_AGENT_ID_LEN];
	db_host_t h;
	db_t *db;

	path_new(*state, path, sizeof(path), "hello");
	agent(id, 1);
	agent(other, 2);
	db = open_ok(path);
	assert_int_equal(hello(db, id, "web-01", 1000), 0);
	for (uint64_t s = 1; s <= 5; s++)
		put_seq(db, id, s, 1000 + (int64_t)s * 10000);
	assert_int_equal(hello(db, other, "web-02", 1500), 0);
	assert_int_equal(hello(db, id, "web-01b", 99000), 5);

	assert_int_equal(db_get_host(db, id, &h), 0);
	assert_string_equal(h.hostname, "web-01b");
	assert_string_equal(h.tier, "web");
	assert_string_equal(h.labels_json, "{\"dc\":\"fra \\\"1\\\"\",\"rack\":\"r12\"}");
	assert_string_equal(h.agent_version, "0.1.0");
	assert_int_equal(h.first_seen_ms, 1000);
	assert_int_equal(h.last_seen_ms, 99000);
	assert_int_equal(h.last_seq, 5);
	db_host_close(&h);
	db_host_close(NULL);
	assert_int_equal(db_get_host(db, (uint8_t[16]){0}, &h), -ENOENT);
	db_close(db);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM reports"), 5);
	assert_int_equal(count_sql(path, "SELECT json_extract(labels, '$.rack') = 'r12'"
				   " FROM hosts WHERE hostname = 'web-01b'"), 1);
}

static void test_db_put_report_resend_stored_once(void **state)
{
	char path[320];
	uint8_t id[WIRE_AGENT_ID_LEN];
	wire_report_t r, again;
	db_t *db;

	path_new(*state, path, sizeof(path), "resend");
	agent(id, 1);
	db = open_ok(path);
	hello(db, id, "h", 1);
	mkreport(&r, 1, 5000, 20, 50, 0);
	put(db, id, &r, 1);
	/* The same seq with other content: left alone, in or out of a batch. */
	mkreport(&again, 1, 9999, 3, 2, 0);
	put(db, id, &again, 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_begin(db), -EALREADY);
	put(db, id, &again, 0);
	assert_int_equal(db_commit(db), 0);
	assert_stored_equal(db, id, &r);
	wire_report_close(&again);
	wire_report_close(&r);
	db_close(db);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM reports"), 1);
}

static void test_db_put_report_unknown_host(void **state)
{
	char path[320];
	uint8_t id[WIRE_AGENT_ID_LEN];
	wire_report_t r;
	int stored = -1;
	db_t *db;

	path_new(*state, path, sizeof(path), "unknown");
	agent(id, 9);
	db = open_ok(path);
	mkreport(&r, 1, 5000, 2, 2, 0);
	assert_int_equal(db_put_report(db, id, &r, 1, &stored), -ENOENT);
	assert_int_equal(stored, 0);
	assert_non_null(strstr(db_errmsg(db), "unknown agent"));
	wire_report_close(&r);
	db_close(db);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM reports"), 0);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM names"), 0);
}

static void test_db_put_report_batch_2000(void **state)
{
	char path[320];
	uint8_t id[WIRE_AGENT_ID_LEN];
	wire_report_t r;
	db_t *db;

	path_new(*state, path, sizeof(path), "batch");
	agent(id, 1);
	db = open_ok(path);
	hello(db, id, "h", 1);
	assert_int_equal(db_begin(db), 0);
	for (uint64_t s = 1; s <= 2000; s++)
		put_seq(db, id, s, (int64_t)s * 10000);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(hello(db, id, "h", 2), 2000);
	mkreport(&r, 1234, 1234 * 10000, 20, 50, 0);
	assert_stored_equal(db, id, &r);
	wire_report_close(&r);
	db_close(db);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM reports"), 2000);
}

static void test_db_get_report_roundtrip(void **state)
{
	char path[320];
	uint8_t id[WIRE_AGENT_ID_LEN];
	wire_report_t r, empty;
	db_sysctl_t *sc;
	size_t n;
	db_t *db;

	path_new(*state, path, sizeof(path), "roundtrip");
	agent(id, 1);
	db = open_ok(path);
	hello(db, id, "h", 1);
	mkreport(&r, 1, 1000, 20, 50, 4);
	put(db, id, &r, 1);
	assert_stored_equal(db, id, &r);
	assert_int_equal(db_get_report(db, id, 2, &empty), -ENOENT);

	/* Every field at its edge: nothing at all. */
	memset(&empty, 0, sizeof(empty));
	empty.seq = 2;
	empty.collected_at_ms = 2000;
	empty.source = "";
	put(db, id, &empty, 1);
	assert_stored_equal(db, id, &empty);

	assert_int_equal(db_get_sysctls(db, id, &sc, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(sc[0].name, "net.core.somaxconn");
	assert_string_equal(sc[1].name, "net.ipv4.ip_local_port_range");
	assert_string_equal(sc[1].value, "32768 60999");
	assert_int_equal(sc[1].changed_at_ms, 1000);
	db_sysctls_free(sc, n);

	/* A later report: one value changes, one name goes, one comes. */
	wire_report_close(&r);
	mkreport(&r, 3, 3000, 0, 0, 4);
	free(r.sysctls[0].value);
	r.sysctls[0].value = xstrdup("60");           /* tcp_fin_timeout */
	free(r.sysctls[1].name);
	r.sysctls[1].name = xstrdup("net.ipv4.tcp_syncookies");
	put(db, id, &r, 1);
	assert_int_equal(db_get_sysctls(db, id, &sc, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(sc[0].name, "net.core.somaxconn");
	assert_int_equal(sc[0].changed_at_ms, 1000);  /* unchanged */
	assert_string_equal(sc[1].name, "net.ipv4.ip_local_port_range");
	assert_int_equal(sc[1].changed_at_ms, 1000);
	assert_string_equal(sc[2].name, "net.ipv4.tcp_fin_timeout");
	assert_string_equal(sc[2].value, "60");
	assert_int_equal(sc[2].changed_at_ms, 3000);
	assert_string_equal(sc[3].name, "net.ipv4.tcp_syncookies");
	assert_int_equal(sc[3].changed_at_ms, 3000);
	db_sysctls_free(sc, n);
	wire_report_close(&r);
	assert_int_equal(db_get_sysctls(db, (uint8_t[16]){0}, &sc, &n), -ENOENT);
	db_close(db);
}

static void test_db_unpack_rejects_malformed(void **state)
{
	/* format 1, limit..distinct 0, rest/excluded empty, one ip */
	uint8_t top[] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 4, 10, 0, 0, 1, 1, 5};
	uint8_t bad[sizeof(top)];
	wire_listener_t *l;
	wire_top_t t;
	size_t n;

	(void)state;
	assert_int_equal(db_top_unpack(top, sizeof(top), &t), 0);
	assert_int_equal(t.n_ips, 1);
	assert_int_equal(t.ips[0].st.n[WIRE_ESTABLISHED], 5);
	free(t.ips);
	for (size_t len = 1; len < sizeof(top); len++)
		assert_int_equal(db_top_unpack(top, len, &t), -EBADMSG);
	memcpy(bad, top, sizeof(bad));
	bad[0] = 2;                                    /* unknown format */
	assert_int_equal(db_top_unpack(bad, sizeof(bad), &t), -EBADMSG);
	memcpy(bad, top, sizeof(bad));
	bad[9] = 5;                                    /* ip length 5 */
	assert_int_equal(db_top_unpack(bad, sizeof(bad), &t), -EBADMSG);
	memcpy(bad, top, sizeof(bad));
	bad[8] = 0x7f;                                 /* 127 ips in 7 bytes */
	assert_int_equal(db_top_unpack(bad, sizeof(bad), &t), -EBADMSG);
	assert_int_equal(db_top_unpack(NULL, 0, &t), 0);
	assert_int_equal(t.n_ips, 0);
	assert_int_equal(db_listeners_unpack((uint8_t[]){1, 1, 4, 1, 2, 3, 4, 0x80},
					     8, &l, &n), -EBADMSG);
	assert_null(l);
}

static void test_db_prune_older_only(void **state)
{
	char path[320];
	uint8_t id[WIRE_AGENT_ID_LEN], id2[WIRE_AGENT_ID_LEN];
	uint64_t deleted = 99;
	wire_report_t r;
	db_t *db;

	path_new(*state, path, sizeof(path), "prune");
	agent(id, 1);
	agent(id2, 2);
	db = open_ok(path);
	hello(db, id, "a", 1);
	hello(db, id2, "b", 1);
	assert_int_equal(db_begin(db), 0);
	for (uint64_t s = 1; s <= 10; s++) {
		put_seq(db, id, s, (int64_t)s * 1000);      /* 1000 .. 10000 */
		put_seq(db, id2, s, (int64_t)s * 1000 + 500);
	}
	assert_int_equal(db_commit(db), 0);
	/* Strictly older than the horizon: 1000..4000 and 1500..4500. */
	assert_int_equal(db_prune_some(db, 5000, 3, &deleted), 0);
	assert_int_equal(deleted, 3);
	assert_int_equal(db_prune(db, 5000, &deleted), 0);
	assert_int_equal(deleted, 5);
	assert_int_equal(db_prune(db, 5000, &deleted), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(db_get_report(db, id, 4, &r), -ENOENT);
	mkreport(&r, 5, 5000, 20, 50, 0);
	assert_stored_equal(db, id, &r);
	wire_report_close(&r);
	/* Pruning does not lower last_seq: an agent never reuses a seq. */
	assert_int_equal(db_prune(db, 1000000, &deleted), 0);
	assert_int_equal(deleted, 12);
	assert_int_equal(hello(db, id, "a", 2), 10);
	db_close(db);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM reports"), 0);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM hosts"), 2);
}

static void test_db_rollback_leaves_nothing(void **state)
{
	char path[320];
	uint8_t id[WIRE_AGENT_ID_LEN];
	wire_report_t r;
	db_t *db;

	path_new(*state, path, sizeof(path), "rollback");
	agent(id, 1);
	db = open_ok(path);
	hello(db, id, "h", 1);
	put_seq(db, id, 1, 1000);                 /* counters 0..49 interned */
	assert_int_equal(db_begin(db), 0);
	for (uint64_t s = 2; s <= 20; s++) {
		mkreport(&r, s, (int64_t)s * 1000, 20, 80, 4);  /* 30 new names */
		put(db, id, &r, 1);
		wire_report_close(&r);
	}
	assert_int_equal(db_rollback(db), 0);
	assert_int_equal(db_rollback(db), 0);     /* nothing open: harmless */
	assert_int_equal(hello(db, id, "h", 2), 1);
	assert_int_equal(db_get_report(db, id, 2, &r), -ENOENT);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM reports"), 1);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM names"), 50);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM host_sysctls"), 0);

	/* The names dropped with the rollback are interned again. */
	mkreport(&r, 2, 2000, 20, 80, 0);
	put(db, id, &r, 1);
	assert_stored_equal(db, id, &r);
	wire_report_close(&r);
	db_close(db);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM names"), 80);
}

static void test_db_reopen_keeps_everything(void **state)
{
	char path[320];
	uint8_t id[WIRE_AGENT_ID_LEN];
	wire_report_t r[3];
	db_sysctl_t *sc;
	db_host_t h;
	size_t n;
	db_t *db;

	path_new(*state, path, sizeof(path), "reopen");
	agent(id, 1);
	db = open_ok(path);
	hello(db, id, "h", 77);
	assert_int_equal(db_begin(db), 0);
	for (int i = 0; i < 3; i++) {
		mkreport(&r[i], (uint64_t)i + 1, 1000 * (i + 1), 20, 50, i == 0 ? 4 : 0);
		put(db, id, &r[i], 1);
	}
	assert_int_equal(db_commit(db), 0);
	db_close(db);

	db = open_ok(path);
	assert_int_equal(db_schema_version(db), db_schema_latest());
	for (int i = 0; i < 3; i++) {
		assert_stored_equal(db, id, &r[i]);
		put(db, id, &r[i], 0);
		wire_report_close(&r[i]);
	}
	assert_int_equal(db_get_host(db, id, &h), 0);
	assert_int_equal(h.first_seen_ms, 77);
	assert_int_equal(h.last_seq, 3);
	db_host_close(&h);
	assert_int_equal(db_get_sysctls(db, id, &sc, &n), 0);
	assert_int_equal(n, 4);
	db_sysctls_free(sc, n);
	/* The reloaded dictionary gives known names their old ids. */
	put_seq(db, id, 4, 4000);
	db_close(db);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM names"), 50);
	assert_int_equal(count_sql(path, "SELECT count(*) FROM reports"), 4);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Not a timed assertion: prints what db_put_report() sustains for reports
 * with 20 top IPs, 50 counters, 3 listeners, 1,000 reports a transaction
 * over 1,000 hosts, and the bytes on disk per report.  DB_BENCH_BATCHES
 * in the environment sets the number of batches (default 50).
 */
static void test_db_put_report_throughput(void **state)
{
	enum { HOSTS = 1000, BATCH = 1000 };
	const char *env = getenv("DB_BENCH_BATCHES");   /* to see larger files */
	int BATCHES = env != NULL && atoi(env) > 0 ? atoi(env) : 50;
	char path[320];
	uint8_t id[WIRE_AGENT_ID_LEN];
	wire_report_t *rs;
	double t0, t1;
	int64_t pages, psize, rows;
	db_t *db;

	path_new(*state, path, sizeof(path), "bench");
	db = open_ok(path);
	for (int h = 0; h < HOSTS; h++) {
		agent(id, h);
		hello(db, id, "bench", 1);
	}
	/* Reports are built before the clock starts: only storage is timed. */
	rs = calloc(BATCH, sizeof(*rs));
	assert_non_null(rs);
	for (int i = 0; i < BATCH; i++)
		mkreport(&rs[i], 1, 0, 20, 50, 0);
	t0 = now_s();
	for (int b = 0; b < BATCHES; b++) {
		assert_int_equal(db_begin(db), 0);
		for (int i = 0; i < BATCH; i++) {
			int k = b * BATCH + i;

			agent(id, k % HOSTS);
			rs[i].seq = (uint64_t)(k / HOSTS) + 1;
			rs[i].collected_at_ms = 1700000000000 + (int64_t)(k / HOSTS) * 10000;
			rs[i].top.ips[0].ip.b[3] = (uint8_t)k;
			put(db, id, &rs[i], 1);
		}
		assert_int_equal(db_commit(db), 0);
	}
	t1 = now_s();
	for (int i = 0; i < BATCH; i++)
		wire_report_close(&rs[i]);
	free(rs);
	db_close(db);   /* checkpoints the WAL into the file */

	rows = count_sql(path, "SELECT count(*) FROM reports");
	pages = count_sql(path, "PRAGMA page_count");
	psize = count_sql(path, "PRAGMA page_size");
	assert_int_equal(rows, BATCH * BATCHES);
	print_message("db bench: %d reports (20 top IPs, 50 counters, 3 listeners)"
		      " in batches of %d: %.0f reports/s; %.0f bytes/report on disk"
		      " (%lld pages x %lld / %lld rows); top BLOB %.0f bytes avg\n",
		      BATCH * BATCHES, BATCH, (double)rows / (t1 - t0),
		      (double)(pages * psize) / (double)rows, (long long)pages,
		      (long long)psize, (long long)rows,
		      (double)count_sql(path, "SELECT avg(length(top)) FROM reports"));
	print_message("db bench: avg BLOB bytes: listeners %lld, counters %lld\n",
		      (long long)count_sql(path, "SELECT avg(length(listeners)) FROM reports"),
		      (long long)count_sql(path, "SELECT avg(length(counters)) FROM reports"));
}

/* ---- PostgreSQL (FS_PG_URI) ----------------------------------------------------- */

static const char *pg_uri(void)
{
	return getenv("FS_PG_URI");
}

/* One number a query on the cluster answers, on a connection of its own. */
static int64_t pg_count(const char *sql)
{
	char err[256];
	sq_t *h;
	sq_stmt_t *st;
	int64_t n = -1;

	if (sq_open(pg_uri(), SQ_READONLY, &h, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(sq_prepare(h, sql, &st), 0);
	if (sq_step(st) == SQ_ROW)
		n = sq_i64(st, 0);
	sq_finalize(st);
	sq_close(h);
	return n;
}

/* Each test starts on an empty database. */
static int pg_setup(void **state)
{
	char err[256];
	sq_t *h;

	(void)state;
	if (sq_open(pg_uri(), 0, &h, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (sq_exec(h, "DROP SCHEMA public CASCADE; CREATE SCHEMA public") < 0) {
		fprintf(stderr, "%s\n", sq_errmsg(h));
		sq_close(h);
		return -1;
	}
	sq_close(h);
	return 0;
}

static void *open_close(void *arg)
{
	char err[256];
	db_t *db;

	*(int *)arg = db_open(pg_uri(), &db, err, sizeof(err));
	if (*(int *)arg == 0)
		db_close(db);
	return NULL;
}

/* Collectors starting together on an empty database: each opens, the schema is applied once. */
static void test_pg_open_concurrent(void **state)
{
	pthread_t t[4];
	int rc[4];
	db_t *db;

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, open_close, &rc[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(rc[i], 0);
	}
	assert_int_equal(pg_count("SELECT count(*) FROM fleetstat_schema"), 1);
	assert_int_equal(pg_count("SELECT max(version) FROM fleetstat_schema"),
	                 db__schema_latest_of(SQ_PG));
	db = open_ok(pg_uri());
	assert_int_equal(db_schema_version(db), db__schema_latest_of(SQ_PG));
	db_close(db);
}

/*
 * A batch stored at commit: stored flags (a resend of a stored report and a
 * seq twice in the batch are stored once), the reports read back equal, the
 * rollups hold each stored report once, the host's marks move.
 */
static void test_pg_batch_roundtrip(void **state)
{
	enum { N = 300 };
	static wire_report_t r[N + 2];
	int stored[N + 2];
	uint8_t id[WIRE_AGENT_ID_LEN];
	wire_report_t once;
	db_host_t h;
	db_t *db;

	(void)state;
	agent(id, 1);
	db = open_ok(pg_uri());
	assert_int_equal(hello(db, id, "pg1", 1000), 0);
	mkreport(&once, 1, 1000, 20, 50, 4);
	put(db, id, &once, 1);                        /* its own transaction */
	assert_int_equal(db_begin(db), 0);
	for (int i = 0; i < N; i++) {
		mkreport(&r[i], (uint64_t)i + 1, 1000 + (int64_t)i * 10000, i % 21, 50, i % 7 == 0 ? 4 : 0);
		stored[i] = -9;
		assert_int_equal(db_put_report(db, id, &r[i], r[i].collected_at_ms + 5, &stored[i]), 0);
	}
	mkreport(&r[N], 7, r[6].collected_at_ms, 6 % 21, 50, 0);   /* seq 7 again in the batch */
	assert_int_equal(db_put_report(db, id, &r[N], r[N].collected_at_ms, &stored[N]), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(stored[0], 0);               /* seq 1: stored before */
	for (int i = 1; i < N; i++)
		assert_int_equal(stored[i], 1);
	assert_int_equal(stored[N], 0);
	for (int i = 1; i < N; i++)
		assert_stored_equal(db, id, &r[i]);
	assert_stored_equal(db, id, &once);
	assert_int_equal(pg_count("SELECT count(*) FROM reports"), N);
	assert_int_equal(pg_count("SELECT sum(n) FROM rollup_minute"), N);
	assert_int_equal(pg_count("SELECT sum(n) FROM rollup_hour"), N);
	/* 10 s apart: six reports a minute, 50 minutes with a top-list row (seq 1's included). */
	assert_int_equal(pg_count("SELECT count(*) FROM rollup_top_minute"), 50);
	assert_int_equal(pg_count("SELECT sum(hosts) FROM rollup_tier_minute"), 50);
	assert_int_equal(pg_count("SELECT count(*) FROM rollup_dirty_hour"), 1);
	assert_int_equal(pg_count("SELECT count(*) FROM host_sysctls"), 4);
	assert_int_equal(db_get_host(db, id, &h), 0);
	assert_int_equal(h.last_seq, N);
	assert_int_equal(h.last_seen_ms, r[N - 1].collected_at_ms + 5);
	assert_int_equal(pg_count("SELECT last_collected_ms FROM hosts"), r[N - 1].collected_at_ms);
	db_host_close(&h);
	assert_int_equal(hello(db, id, "pg1", 2000), N);
	for (int i = 0; i <= N; i++)
		wire_report_close(&r[i]);
	wire_report_close(&once);
	db_close(db);
}

/* A rolled-back batch leaves nothing, its new host included; the next one works. */
static void test_pg_rollback_leaves_nothing(void **state)
{
	uint8_t id[WIRE_AGENT_ID_LEN];
	wire_report_t r;
	uint64_t last = 9;
	wire_hello_t hh = {.protocol = 1, .hostname = "pg2", .tier = "db", .agent_version = "0.1.0"};
	int stored = -9;
	db_t *db;

	(void)state;
	agent(id, 2);
	db = open_ok(pg_uri());
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_host_hello(db, id, &hh, 1000, &last), 0);
	mkreport(&r, 1, 1000, 5, 60, 0);
	assert_int_equal(db_put_report(db, id, &r, 1000, &stored), 0);
	assert_int_equal(db_rollback(db), 0);
	assert_int_equal(pg_count("SELECT count(*) FROM hosts"), 0);
	assert_int_equal(pg_count("SELECT count(*) FROM reports"), 0);
	assert_int_equal(pg_count("SELECT count(*) FROM names"), 0);
	/* The host the rolled-back Hello made is not remembered. */
	assert_int_equal(db_put_report(db, id, &r, 1000, &stored), -ENOENT);
	assert_int_equal(hello(db, id, "pg2", 2000), 0);
	put(db, id, &r, 1);
	assert_int_equal(pg_count("SELECT count(*) FROM names"), 60);
	wire_report_close(&r);
	db_close(db);
}

/* In the writer's way (a savepoint per job), a report of an unknown agent fails alone. */
static void test_pg_job_fails_alone(void **state)
{
	uint8_t id[WIRE_AGENT_ID_LEN], ghost[WIRE_AGENT_ID_LEN];
	wire_report_t a, b, c;
	int sa = -9, sb = -9, sc = -9;
	db_t *db;

	(void)state;
	agent(id, 3);
	agent(ghost, 4);
	db = open_ok(pg_uri());
	hello(db, id, "pg3", 1);
	mkreport(&a, 1, 1000, 3, 5, 0);
	mkreport(&b, 1, 1000, 3, 5, 0);
	mkreport(&c, 2, 2000, 3, 5, 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_job_begin(db), 0);
	assert_int_equal(db_put_report(db, id, &a, 1000, &sa), 0);
	assert_int_equal(db_job_end(db, 1), 0);
	assert_int_equal(db_job_begin(db), 0);
	assert_int_equal(db_put_report(db, ghost, &b, 1000, &sb), -ENOENT);
	assert_int_equal(db_job_end(db, 0), 0);
	assert_int_equal(db_job_begin(db), 0);
	assert_int_equal(db_put_report(db, id, &c, 2000, &sc), 0);
	assert_int_equal(db_job_end(db, 1), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(sa, 1);
	assert_int_equal(sc, 1);
	assert_int_equal(pg_count("SELECT count(*) FROM reports"), 2);
	wire_report_close(&a);
	wire_report_close(&b);
	wire_report_close(&c);
	db_close(db);
}

/* One statement on a connection of its own. */
static void pg_exec(const char *sql)
{
	char err[256];
	sq_t *h;

	if (sq_open(pg_uri(), 0, &h, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	if (sq_exec(h, sql) < 0)
		fail_msg("%s: %s", sql, sq_errmsg(h));
	sq_close(h);
}

/* The collection time of the one host's latest report as the reader finds it. */
static int64_t pg_latest_collected(void)
{
	char err[256];
	db_reader_t *rd;
	col_host_t *hosts;
	size_t n;
	int64_t t;

	if (db_reader_open(pg_uri(), &rd, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(db_reader_hosts(rd, &hosts, &n), 0);
	assert_int_equal(n, 1);
	t = hosts[0].has_report ? hosts[0].collected_at_ms : -1;
	db_reader_hosts_free(hosts, n);
	db_reader_close(rd);
	return t;
}

/*
 * A database as a build that knew only pg/001 left it: 002 gives each host the
 * collection time of its highest seq, the writer moves it, and the reader
 * finds the latest report by it, or by seq alone when that row is gone.
 */
static void test_pg_migrates_from_v1(void **state)
{
	uint8_t id[WIRE_AGENT_ID_LEN];
	wire_report_t r;
	db_t *db;

	(void)state;
	agent(id, 6);
	pg_exec(db__schema_sql_of(SQ_PG, 1));
	pg_exec("CREATE TABLE fleetstat_schema (version integer NOT NULL);"
	        " INSERT INTO fleetstat_schema VALUES (1);"
	        " CREATE TABLE reports_19700101 PARTITION OF reports FOR VALUES FROM (0) TO (86400000);"
	        " INSERT INTO hosts (agent_id, hostname, tier, first_seen_ms, last_seen_ms, last_seq)"
	        " VALUES ('\\x0600a2a3a4a5a6a7a8a9aaabacadaeaf', 'old', 'db', 10, 20, 3);"
	        " INSERT INTO reports (host_id, seq, collected_at_ms, received_at_ms, interval_ms,"
	        " established, syn_sent, syn_recv, fin_wait1, fin_wait2, time_wait, close,"
	        " close_wait, last_ack, listen, closing)"
	        " SELECT 1, s, s * 1000, s * 1000, 10000, 5, 0, 0, 0, 0, 3, 0, 600, 0, 2, 0"
	        " FROM generate_series(1, 3) AS s");
	db = open_ok(pg_uri());
	assert_int_equal(db_schema_version(db), db__schema_latest_of(SQ_PG));
	assert_int_equal(pg_count("SELECT last_collected_ms FROM hosts"), 3000);
	assert_int_equal(pg_latest_collected(), 3000);
	/* The writer's way, report by report (a job), then a batch. */
	assert_int_equal(hello(db, id, "old", 30), 3);
	mkreport(&r, 4, 5000, 2, 3, 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_job_begin(db), 0);
	assert_int_equal(db_put_report(db, id, &r, 5000, NULL), 0);
	assert_int_equal(db_job_end(db, 1), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(pg_count("SELECT last_collected_ms FROM hosts"), 5000);
	wire_report_close(&r);
	mkreport(&r, 5, 4000, 2, 3, 0);   /* a later seq collected earlier still counts */
	put(db, id, &r, 1);
	wire_report_close(&r);
	mkreport(&r, 2, 2000, 2, 3, 0);   /* a resend of an older seq moves nothing */
	put(db, id, &r, 0);
	wire_report_close(&r);
	assert_int_equal(pg_count("SELECT last_seq FROM hosts"), 5);
	assert_int_equal(pg_count("SELECT last_collected_ms FROM hosts"), 4000);
	assert_int_equal(pg_latest_collected(), 4000);
	/* Its row gone: the highest seq left is the latest. */
	pg_exec("DELETE FROM reports WHERE seq = 5");
	assert_int_equal(pg_latest_collected(), 5000);
	db_close(db);
}

/* A statement finalized is gone from the server too: a long-lived connection gathers none. */
static void test_pg_host_cert(void **state)
{
	db_t *db;

	(void)state;
	db = open_ok(pg_uri());
	host_cert_checks(db);
	db_close(db);
}

static void test_pg_finalize_deallocates(void **state)
{
	char err[256];
	sq_t *h;
	sq_stmt_t *st;

	(void)state;
	if (sq_open(pg_uri(), SQ_READONLY, &h, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(sq_prepare(h, "SELECT ?1 + 1", &st), 0);
		sq_bind_i64(st, 1, i);
		assert_int_equal(sq_step(st), SQ_ROW);
		assert_int_equal(sq_i64(st, 0), i + 1);
		sq_finalize(st);
	}
	/* Only the count itself is prepared. */
	assert_int_equal(sq_prepare(h, "SELECT count(*) FROM pg_prepared_statements", &st), 0);
	assert_int_equal(sq_step(st), SQ_ROW);
	assert_int_equal(sq_i64(st, 0), 1);
	sq_finalize(st);
	sq_close(h);
}

/* Retention drops whole days, and only days wholly before the horizon. */
static void test_pg_prune_drops_days(void **state)
{
	const int64_t day = 86400000;
	uint8_t id[WIRE_AGENT_ID_LEN];
	wire_report_t r[6];
	uint64_t deleted = 99;
	db_t *db;

	(void)state;
	agent(id, 5);
	db = open_ok(pg_uri());
	hello(db, id, "pg5", 1);
	assert_int_equal(db_begin(db), 0);
	for (int i = 0; i < 6; i++) {
		/* Two reports on each of days 10, 11, 12 (at 01:00 and 13:00). */
		mkreport(&r[i], (uint64_t)i + 1, (10 + i / 2) * day + (i % 2 ? 13 : 1) * 3600000, 2, 3, 0);
		assert_int_equal(db_put_report(db, id, &r[i], r[i].collected_at_ms, NULL), 0);
	}
	assert_int_equal(db_commit(db), 0);
	/* Day 10, 11, 12 and the one after each: partitions for days 10..13. */
	assert_int_equal(pg_count("SELECT count(*) FROM pg_inherits WHERE inhparent = 'reports'::regclass"), 4);
	/* Noon of day 11: day 10 goes, day 11 stays whole (its 01:00 report too). */
	assert_int_equal(db_prune_some(db, 11 * day + 12 * 3600000, 100, &deleted), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(db_prune_some(db, 11 * day + 12 * 3600000, 100, &deleted), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(pg_count("SELECT count(*) FROM reports"), 4);
	assert_int_equal(pg_count("SELECT count(*) FROM pg_inherits WHERE inhparent = 'reports'::regclass"), 3);
	/* A report of a dropped day again: its partition comes back. */
	put(db, id, &r[0], 1);
	assert_int_equal(db_prune(db, 13 * day, &deleted), 0);
	assert_int_equal(deleted, 5);
	assert_int_equal(pg_count("SELECT count(*) FROM reports"), 0);
	assert_int_equal(hello(db, id, "pg5", 2), 6);   /* pruning keeps last_seq */
	for (int i = 0; i < 6; i++)
		wire_report_close(&r[i]);
	db_close(db);
}

typedef struct {
	db_t *db;
	int64_t at_ms;
	int rc;
} prepare_arg_t;

static void *prepare_for(void *arg)
{
	prepare_arg_t *a = arg;

	a->rc = db_prepare_for(a->db, a->at_ms);
	return NULL;
}

/*
 * A collector making a new day's partition while another's batch has updated
 * hosts and has yet to read reports: the new day waits for that batch, and
 * both go through (taking reports first, the new partition deadlocked with
 * the batch, and PostgreSQL failed one of them).
 */
static void test_pg_new_day_beside_a_batch(void **state)
{
	const int64_t day = 86400000;
	uint8_t ida[WIRE_AGENT_ID_LEN], idb[WIRE_AGENT_ID_LEN];
	char sha[65], was[65];
	wire_report_t r[2];
	prepare_arg_t a;
	pthread_t t;
	db_t *dba, *dbb;

	(void)state;
	agent(ida, 6);
	agent(idb, 7);
	memset(sha, 'a', 64);
	sha[64] = '\0';
	dba = open_ok(pg_uri());
	dbb = open_ok(pg_uri());
	hello(dba, ida, "pg6", 1);
	hello(dbb, idb, "pg7", 1);
	mkreport(&r[0], 1, 10 * day + 3600000, 2, 3, 0);
	mkreport(&r[1], 2, 10 * day + 7200000, 2, 3, 0);
	assert_int_equal(db_prepare_for(dbb, r[0].collected_at_ms), 0);
	put(dbb, idb, &r[0], 1);
	assert_int_equal(db_begin(dbb), 0);
	/* hosts updated in the open batch, reports not yet touched */
	assert_int_equal(db_host_cert(dbb, idb, "CN=pg7", sha, was), 0);
	a = (prepare_arg_t){.db = dba, .at_ms = 20 * day, .rc = -9};
	assert_int_equal(pthread_create(&t, NULL, prepare_for, &a), 0);
	usleep(300 * 1000);                           /* the new day waits on the batch */
	hello(dbb, idb, "pg7", 2);                    /* reads reports for the host's last seq */
	assert_int_equal(db_put_report(dbb, idb, &r[1], r[1].collected_at_ms, NULL), 0);
	assert_int_equal(db_commit(dbb), 0);
	pthread_join(t, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(pg_count("SELECT count(*) FROM pg_inherits WHERE inhparent = 'reports'::regclass"), 4);
	assert_int_equal(pg_count("SELECT count(*) FROM reports"), 2);
	/* Known now: nothing asked of the server, and a batch stores on day 20 as it is. */
	assert_int_equal(db_prepare_for(dba, 20 * day + 5), 0);
	wire_report_close(&r[0]);
	mkreport(&r[0], 1, 20 * day + 60000, 2, 3, 0);
	put(dba, ida, &r[0], 1);
	assert_int_equal(pg_count("SELECT count(*) FROM reports_19700121"), 1);
	for (int i = 0; i < 2; i++)
		wire_report_close(&r[i]);
	db_close(dba);
	db_close(dbb);
}

/* r's requests made anew from x: up to 10 of 16 clients, up to 3 of 5 hosts (owned by r). */
static void vary_requests(wire_report_t *r, uint32_t *x)
{
	static const char *const names[] = {"a.example", "b.example", "c.example", "d.example",
	                                    "e.example"};
	wire_requests_t *q = &r->requests;
	size_t nc, nh, first;

	wire_requests_close(q);
	*x = *x * 1103515245u + 12345u;
	nc = 1 + (*x >> 16) % 10;
	nh = (*x >> 8) % 4;
	first = (*x >> 20) % 16;
	*q = (wire_requests_t){.present = true, .limit = 10, .n_clients = nc, .n_hosts = nh,
	                       .clients_unlisted_max = (*x >> 4) % 7, .hosts_unlisted_max = *x % 5,
	                       .bytes = *x, .malformed = *x % 3};
	q->clients = calloc(nc, sizeof(*q->clients));
	q->hosts = nh ? calloc(nh, sizeof(*q->hosts)) : NULL;
	assert_non_null(q->clients);
	for (size_t i = 0; i < nc; i++) {
		wire_req_client_t *c = &q->clients[i];

		*x = *x * 1103515245u + 12345u;
		*c = (wire_req_client_t){.ip = {.len = 4, .b = {198, 51, 100, (uint8_t)(1 + (first + i) % 16)}},
		                         .user_agents = 1 + (*x >> 16) % 250};
		c->by_status[WIRE_REQ_2XX] = (*x >> 8) % 700;
		c->by_status[WIRE_REQ_4XX] = *x % 3 ? 0 : (*x >> 12) % 90;
		c->requests = c->by_status[WIRE_REQ_2XX] + c->by_status[WIRE_REQ_4XX];
		c->user_agents_capped = *x % 13 == 0;
		q->total += c->requests;
		q->by_status[WIRE_REQ_2XX] += c->by_status[WIRE_REQ_2XX];
		q->by_status[WIRE_REQ_4XX] += c->by_status[WIRE_REQ_4XX];
	}
	for (size_t i = 0; i < nh; i++)
		q->hosts[i] = (wire_req_host_t){.host = xstrdup(names[(first + i) % 5]),
		                                .requests = (*x >> (i + 3)) % 4000};
}

/* What `requests` with opts (name=value, then NULL) answers at now on the database at uri. */
static char *requests_text(const char *uri, int64_t now, const char *const *opts)
{
	db_reader_t *rd;
	fs_buf_t out = FS_BUF_INIT;
	col_qopts_t o;
	const char *why;
	char err[256], name[32];
	col_thresholds_t th = {0};
	col_suspect_cfg_t sus;
	db_query_cfg_t cfg = {&th, &sus};

	col_suspect_cfg_init(&sus);
	col_qopts_init(&o, now);
	o.format = COL_FMT_JSON;
	for (; *opts; opts++) {
		const char *eq = strchr(*opts, '=');

		snprintf(name, sizeof(name), "%.*s", (int)(eq - *opts), *opts);
		assert_int_equal(col_qopts_set(&o, name, eq + 1, &why), 0);
	}
	if (db_reader_open(uri, &rd, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(db_query(rd, col_cmd_find("requests")->id, &o, &cfg, &out, &why), 0);
	db_reader_close(rd);
	fs_buf_add(&out, "", 1);
	assert_int_equal(out.err, 0);
	return out.p;
}

/*
 * The minutes of requests written by PostgreSQL's batch (pgflush.c) and its
 * report-by-report way answer as SQLite's do for the same reports, over
 * windows of whole and partial minutes.
 */
static void test_pg_requests_as_sqlite(void **state)
{
	enum { N = 90 };
	static const char *const cases[][4] = {
		{"since=10m", NULL}, {"since=317s", "limit=5", NULL}, {"since=40s", NULL},
		{"since=1h", "by=domain", NULL}, {"since=125s", "by=domain", NULL},
	};
	const int64_t t0 = 20 * 86400000LL + 3 * 60000 + 1234, now = t0 + N * 7000;
	char dir[] = "/tmp/test_db_req.XXXXXX", lite[64];
	uint8_t id[2][WIRE_AGENT_ID_LEN];
	uint32_t x = 11;
	db_t *pg, *sl;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(lite, sizeof(lite), "%s/lite.db", dir);
	pg = open_ok(pg_uri());
	sl = open_ok(lite);
	for (int a = 0; a < 2; a++) {
		agent(id[a], a + 1);
		assert_int_equal(hello(pg, id[a], a ? "web2" : "web1", t0), 0);
		assert_int_equal(hello(sl, id[a], a ? "web2" : "web1", t0), 0);
	}
	/* Host 1 in batches of 15 (pgflush), host 2 report by report; 7 s apart, 5 s after. */
	for (int a = 0; a < 2; a++) {
		for (int i = 0; i < N; i += 15) {
			/* A batch's reports and answers are the writer's until its commit. */
			wire_report_t r[15];
			int stored[15];

			if (a == 0)
				assert_int_equal(db_begin(pg), 0);
			for (int k = 0; k < 15; k++) {
				mkreport(&r[k], (uint64_t)(i + k) + 1, t0 + (i + k) * 7000 + a * 5000, 2, 0, 0);
				r[k].interval_ms = a ? 5000 : 7000;
				vary_requests(&r[k], &x);
				if (a == 0)
					assert_int_equal(db_put_report(pg, id[a], &r[k], r[k].collected_at_ms,
					                               &stored[k]), 0);
				else
					put(pg, id[a], &r[k], 1);
				put(sl, id[a], &r[k], 1);
			}
			if (a == 0)
				assert_int_equal(db_commit(pg), 0);
			for (int k = 0; k < 15; k++) {
				assert_true(a == 1 || stored[k] == 1);
				wire_report_close(&r[k]);
			}
		}
	}
	db_close(pg);
	db_close(sl);
	assert_int_equal(pg_count("SELECT count(*) FROM reports"), 2 * N);
	assert_true(pg_count("SELECT count(*) FROM rollup_top_minute WHERE requests IS NOT NULL") > 10);
	for (int round = 0; round < 2; round++) {
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			char *a = requests_text(pg_uri(), now, cases[c]),
			     *b = requests_text(lite, now, cases[c]);

			if (strcmp(a, b) != 0)
				fail_msg("round %d, case %zu:\nPostgreSQL: %s\n    SQLite: %s", round, c, a, b);
			assert_non_null(strstr(a, "\"requests\":"));
			free(a);
			free(b);
		}
		/* A database from before pg/006: the migration builds the minutes' requests. */
		pg_exec("ALTER TABLE rollup_top_minute DROP COLUMN requests;"
		        " UPDATE fleetstat_schema SET version = 5");
		db_close(open_ok(pg_uri()));
	}
	unlink(lite);
	snprintf(lite, sizeof(lite), "%s/lite.db-wal", dir);
	unlink(lite);
	snprintf(lite, sizeof(lite), "%s/lite.db-shm", dir);
	unlink(lite);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_db_open_empty_latest),
		cmocka_unit_test(test_db_open_migrates_from_v1),
		cmocka_unit_test(test_db_open_migrates_from_each),
		cmocka_unit_test(test_db_open_refuses_newer),
		cmocka_unit_test(test_db_host_hello_last_seq),
		cmocka_unit_test(test_db_host_cert),
		cmocka_unit_test(test_db_put_report_resend_stored_once),
		cmocka_unit_test(test_db_put_report_unknown_host),
		cmocka_unit_test(test_db_put_report_batch_2000),
		cmocka_unit_test(test_db_get_report_roundtrip),
		cmocka_unit_test(test_db_unpack_rejects_malformed),
		cmocka_unit_test(test_db_prune_older_only),
		cmocka_unit_test(test_db_rollback_leaves_nothing),
		cmocka_unit_test(test_db_reopen_keeps_everything),
		cmocka_unit_test(test_db_put_report_throughput),
	};

	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test_setup(test_pg_open_concurrent, pg_setup),
		cmocka_unit_test_setup(test_pg_batch_roundtrip, pg_setup),
		cmocka_unit_test_setup(test_pg_rollback_leaves_nothing, pg_setup),
		cmocka_unit_test_setup(test_pg_job_fails_alone, pg_setup),
		cmocka_unit_test_setup(test_pg_migrates_from_v1, pg_setup),
		cmocka_unit_test_setup(test_pg_finalize_deallocates, pg_setup),
		cmocka_unit_test_setup(test_pg_host_cert, pg_setup),
		cmocka_unit_test_setup(test_pg_prune_drops_days, pg_setup),
		cmocka_unit_test_setup(test_pg_new_day_beside_a_batch, pg_setup),
		cmocka_unit_test_setup(test_pg_requests_as_sqlite, pg_setup),
	};

	/* With a cluster (tests/tools/pgcluster.sh run): the PostgreSQL backend alone. */
	if (pg_uri() != NULL)
		return cmocka_run_group_tests_name("db_pg", pg_tests, NULL, NULL);
	return cmocka_run_group_tests_name("db", tests, setup, teardown);
}
