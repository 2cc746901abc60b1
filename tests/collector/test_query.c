/* SPDX-License-Identifier: MIT */
/* test_query.c: the fleet queries on small real databases whose answers are worked out by hand. */
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

#include "db.h"
#include "summary.h"
#include "query.h"
#include "reader.h"

/* The queries' clock: 2026-12-02T12:00:00Z. */
#define NOW 1796212800000LL
#define MIN 60000LL

/* The interval report() stamps (a test may change it; setup() sets it back). */
static uint32_t report_interval = 10000;
/* The access logs' requests report() adds (NULL: none followed). */
static const wire_requests_t *report_requests;

typedef struct {
	char dir[64];
	char path[96];
	db_t *db;
} fx_t;

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));
	char why[256];

	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/fs-query-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/q.db", f->dir);
	if (db_open(f->path, &f->db, why, sizeof(why)) < 0)
		return -1;
	report_interval = 10000;
	report_requests = NULL;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;
	char p[128];

	db_close(f->db);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void agent_id(uint8_t id[WIRE_AGENT_ID_LEN], int n)
{
	memset(id, 0x5a, WIRE_AGENT_ID_LEN);
	id[0] = (uint8_t)n;
}

static void host(fx_t *f, int n, const char *name, const char *tier)
{
	wire_kv_t labels[] = {{"rack", "r1"}};
	wire_hello_t h = {
		.protocol = 1, .hostname = (char *)name, .tier = (char *)tier,
		.labels = labels, .n_labels = 1, .agent_version = "0.1.0",
	};
	uint8_t id[WIRE_AGENT_ID_LEN];
	uint64_t last;

	agent_id(id, n);
	assert_int_equal(db_host_hello(f->db, id, &h, NOW - 3600000, &last), 0);
}

typedef struct {
	uint8_t ip;         /* 198.51.100.ip */
	uint32_t est, syn_recv, time_wait;
} ipc_t;

/* The top list of ips (at most 8) in rem, without thresholds. */
static void top_list(const ipc_t *ips, size_t n_ips, wire_remote_t rem[8], wire_top_t *top)
{
	assert_true(n_ips <= 8);
	memset(top, 0, sizeof(*top));
	for (size_t i = 0; i < n_ips; i++) {
		memset(&rem[i], 0, sizeof(rem[i]));
		rem[i].ip.len = 4;
		rem[i].ip.b[0] = 198;
		rem[i].ip.b[1] = 51;
		rem[i].ip.b[2] = 100;
		rem[i].ip.b[3] = ips[i].ip;
		rem[i].st.n[WIRE_ESTABLISHED] = ips[i].est;
		rem[i].st.n[WIRE_SYN_RECV] = ips[i].syn_recv;
		rem[i].st.n[WIRE_TIME_WAIT] = ips[i].time_wait;
	}
	top->ips = rem;
	top->n_ips = n_ips;
}

/*
 * Stores report seq of host n at time t (10 s interval): est ESTABLISHED,
 * tw TIME_WAIT, cw CLOSE_WAIT, plus the listed IPs; everything else in rest
 * so the top list adds up.  Thresholds as given (total, established, syn_recv).
 */
static void report(fx_t *f, int n, uint64_t seq, int64_t t, uint32_t est, uint32_t tw, uint32_t cw,
                   const ipc_t *ips, size_t n_ips, uint32_t thr_total, uint32_t thr_est,
                   uint32_t thr_syn)
{
	wire_remote_t rem[8];
	wire_report_t r = {0};
	uint8_t id[WIRE_AGENT_ID_LEN];
	int stored = 0;

	r.seq = seq;
	r.collected_at_ms = t;
	r.interval_ms = report_interval;
	r.states.n[WIRE_ESTABLISHED] = est;
	r.states.n[WIRE_TIME_WAIT] = tw;
	r.states.n[WIRE_CLOSE_WAIT] = cw;
	top_list(ips, n_ips, rem, &r.top);
	r.top.rest = r.states;
	for (size_t i = 0; i < n_ips; i++) {
		r.states.n[WIRE_SYN_RECV] += ips[i].syn_recv;
		/* est and tw given for the host include the listed IPs' */
		r.top.rest.n[WIRE_ESTABLISHED] -= ips[i].est;
		r.top.rest.n[WIRE_TIME_WAIT] -= ips[i].time_wait;
	}
	r.top.limit = 2;
	r.top.threshold_total = thr_total;
	r.top.threshold_established = thr_est;
	r.top.threshold_syn_recv = thr_syn;
	r.top.distinct_ips = (uint32_t)n_ips + 10;
	r.source = "netlink";
	if (report_requests != NULL)
		r.requests = *report_requests;
	agent_id(id, n);
	assert_int_equal(db_put_report(f->db, id, &r, t, &stored), 0);
	assert_int_equal(stored, 1);
}

static char *query_text(fx_t *f, const char *cmd, const char *const *opts);
static void qopts(const char *const *opts, col_qopts_t *o);
static void expect_in(const char *text, const char *part);

/* Runs cmd with options "name=value" pairs, JSON, against the expected text. */
static void expect_query(fx_t *f, const char *cmd, const char *const *opts, const char *want)
{
	static const char *const none[] = {NULL};
	char *got = query_text(f, cmd, opts ? opts : none);

	if (strcmp(got, want) != 0)
		fail_msg("%s:\n got: %s\nwant: %s", cmd, got, want);
	free(got);
}

/*
 * The fleet of most tests: web1 and web2 fresh, web3 stale (last report
 * 40 s old at a 10 s interval), db1 fresh.
 *   web1: ESTABLISHED 100, TIME_WAIT 10; lists .7 (30 ESTABLISHED), thresholds 5/5/0
 *   web2: ESTABLISHED 50, CLOSE_WAIT 600; lists .9 (20 ESTABLISHED, 4 SYN_RECV); 8/6/1
 *   web3: ESTABLISHED 999 (stale, left out)
 *   db1:  ESTABLISHED 7, TIME_WAIT 300; lists .7 (2 ESTABLISHED, 300 TIME_WAIT); 0/0/0
 */
static void fleet(fx_t *f)
{
	ipc_t w1[] = {{7, 30, 0, 0}}, w2[] = {{9, 20, 4, 0}}, d1[] = {{7, 2, 0, 300}};

	host(f, 1, "web1", "web");
	host(f, 2, "web2", "web");
	host(f, 3, "web3", "web");
	host(f, 4, "db1", "db");
	report(f, 1, 1, NOW - 5000, 100, 10, 0, w1, 1, 5, 5, 0);
	report(f, 2, 1, NOW - 3000, 50, 0, 600, w2, 1, 8, 6, 1);
	report(f, 3, 1, NOW - 40000, 999, 0, 0, NULL, 0, 0, 0, 0);
	report(f, 4, 1, NOW - 1000, 7, 300, 0, d1, 1, 0, 0, 0);
}

static void test_query_tiers_stale(void **state)
{
	fx_t *f = *state;

	fleet(f);
	/* web: sums over web1 and web2 (web3 stale); SYN_RECV 4 is web2's (from .9). */
	expect_query(f, "tiers", NULL,
		"{\"now_ms\":1796212800000,\"tiers\":["
		"{\"tier\":\"db\",\"hosts\":1,\"stale\":0,\"stale_hosts\":[],\"states\":{"
		"\"ESTABLISHED\":{\"sum\":7,\"mean\":7.0,\"max\":7,\"max_host\":\"db1\"},"
		"\"SYN_SENT\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"db1\"},"
		"\"SYN_RECV\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"db1\"},"
		"\"FIN_WAIT1\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"db1\"},"
		"\"FIN_WAIT2\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"db1\"},"
		"\"TIME_WAIT\":{\"sum\":300,\"mean\":300.0,\"max\":300,\"max_host\":\"db1\"},"
		"\"CLOSE\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"db1\"},"
		"\"CLOSE_WAIT\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"db1\"},"
		"\"LAST_ACK\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"db1\"},"
		"\"CLOSING\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"db1\"},"
		"\"total\":{\"sum\":307,\"mean\":307.0,\"max\":307,\"max_host\":\"db1\"}}},"
		"{\"tier\":\"web\",\"hosts\":2,\"stale\":1,\"stale_hosts\":[\"web3\"],\"states\":{"
		"\"ESTABLISHED\":{\"sum\":150,\"mean\":75.0,\"max\":100,\"max_host\":\"web1\"},"
		"\"SYN_SENT\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"web1\"},"
		"\"SYN_RECV\":{\"sum\":4,\"mean\":2.0,\"max\":4,\"max_host\":\"web2\"},"
		"\"FIN_WAIT1\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"web1\"},"
		"\"FIN_WAIT2\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"web1\"},"
		"\"TIME_WAIT\":{\"sum\":10,\"mean\":5.0,\"max\":10,\"max_host\":\"web1\"},"
		"\"CLOSE\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"web1\"},"
		"\"CLOSE_WAIT\":{\"sum\":600,\"mean\":300.0,\"max\":600,\"max_host\":\"web2\"},"
		"\"LAST_ACK\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"web1\"},"
		"\"CLOSING\":{\"sum\":0,\"mean\":0.0,\"max\":0,\"max_host\":\"web1\"},"
		"\"total\":{\"sum\":764,\"mean\":382.0,\"max\":654,\"max_host\":\"web2\"}}}]}\n");
}

static void test_query_hosts_tier(void **state)
{
	fx_t *f = *state;
	const char *const web[] = {"tier=db", NULL};

	fleet(f);
	expect_query(f, "hosts", web,
		"{\"now_ms\":1796212800000,\"tier\":\"db\",\"hosts\":[{\"hostname\":\"db1\","
		"\"tier\":\"db\",\"labels\":{\"rack\":\"r1\"},\"first_seen\":1796209200000,"
		"\"last_seen\":1796212799000,\"stale\":false,\"agent_version\":\"0.1.0\","
		"\"cert_subject\":null,\"cert_sha256\":null,\"collected_at_ms\":1796212799000,\"interval_ms\":10000,\"total\":307,"
		"\"states\":{\"ESTABLISHED\":7,\"SYN_SENT\":0,\"SYN_RECV\":0,\"FIN_WAIT1\":0,"
		"\"FIN_WAIT2\":0,\"TIME_WAIT\":300,\"CLOSE\":0,\"CLOSE_WAIT\":0,\"LAST_ACK\":0,"
		"\"CLOSING\":0}}]}\n");
}

static void test_query_top_ips_now_upper_bound(void **state)
{
	fx_t *f = *state;
	const char *const est[] = {"state=ESTABLISHED", NULL};

	fleet(f);
	/*
	 * Total: .7 is 30 on web1 and 302 on db1 = 332, exact where listed;
	 * web2 did not list it and its total threshold is 8: upper bound 340.
	 * .9: 24 on web2; web1 and db1 bound it by 5 and 0: 29.
	 */
	expect_query(f, "top-ips", NULL,
		"{\"now_ms\":1796212800000,\"since_ms\":0,\"state\":\"total\",\"limit\":20,"
		"\"hosts\":3,\"ips\":["
		"{\"ip\":\"198.51.100.7\",\"count\":332,\"upper_bound\":340,\"hosts\":2,"
		"\"tiers\":[\"db\",\"web\"],\"total\":332,\"states\":{\"ESTABLISHED\":32,"
		"\"TIME_WAIT\":300},\"first_seen\":1796212795000,\"last_seen\":1796212799000},"
		"{\"ip\":\"198.51.100.9\",\"count\":24,\"upper_bound\":29,\"hosts\":1,"
		"\"tiers\":[\"web\"],\"total\":24,\"states\":{\"ESTABLISHED\":20,\"SYN_RECV\":4},"
		"\"first_seen\":1796212797000,\"last_seen\":1796212797000}]}\n");
	/* By ESTABLISHED: .7 32 + web2's 6; .9 20 + web1's 5. */
	expect_query(f, "top-ips", est,
		"{\"now_ms\":1796212800000,\"since_ms\":0,\"state\":\"ESTABLISHED\",\"limit\":20,"
		"\"hosts\":3,\"ips\":["
		"{\"ip\":\"198.51.100.7\",\"count\":32,\"upper_bound\":38,\"hosts\":2,"
		"\"tiers\":[\"db\",\"web\"],\"total\":332,\"states\":{\"ESTABLISHED\":32,"
		"\"TIME_WAIT\":300},\"first_seen\":1796212795000,\"last_seen\":1796212799000},"
		"{\"ip\":\"198.51.100.9\",\"count\":20,\"upper_bound\":25,\"hosts\":1,"
		"\"tiers\":[\"web\"],\"total\":24,\"states\":{\"ESTABLISHED\":20,\"SYN_RECV\":4},"
		"\"first_seen\":1796212797000,\"last_seen\":1796212797000}]}\n");
}

/* A client of 198.51.100.ip: requests, of them 4xx, from agents user agents. */
static wire_req_client_t client(uint8_t ip, uint64_t requests, uint64_t c4xx, uint32_t agents)
{
	wire_req_client_t c = {.ip = {.len = 4, .b = {198, 51, 100, ip}}, .requests = requests,
	                       .user_agents = agents};

	c.by_status[WIRE_REQ_2XX] = requests - c4xx;
	c.by_status[WIRE_REQ_4XX] = c4xx;
	return c;
}

/*
 * Requests beside connections (DESIGN 12), 10 s reports, no history:
 *   .7  300 ESTABLISHED on web1, 3,000 requests a report (300/s, 1 a connection), 200
 *       agents, 2% 4xx: nat-egress;
 *   .50 not among web1's connections, 500 requests a report (50/s), 1 agent, 60% 404: scraper;
 *   .60 5,000 requests a report on web2 (500/s), 1 agent: flood, also the top requester.
 */
static void test_query_requests_evidence(void **state)
{
	fx_t *f = *state;
	ipc_t w1[] = {{7, 300, 0, 0}};
	wire_req_client_t c1[] = {client(7, 3000, 60, 200), client(50, 500, 300, 1)},
	                  c2[] = {client(60, 5000, 0, 1)};
	wire_requests_t q1 = {.present = true, .total = 3500, .limit = 2, .clients = c1, .n_clients = 2},
	                q2 = {.present = true, .total = 5000, .limit = 2, .clients = c2, .n_clients = 1};
	char *t;

	host(f, 1, "web1", "web");
	host(f, 2, "web2", "web");
	for (int i = 0; i < 3; i++) {
		report_requests = &q1;
		report(f, 1, (uint64_t)i + 1, NOW - 30000 + i * 10000, 310, 0, 0, w1, 1, 5, 5, 0);
		report_requests = &q2;
		report(f, 2, (uint64_t)i + 1, NOW - 29000 + i * 10000, 10, 0, 0, NULL, 0, 5, 5, 0);
	}
	report_requests = NULL;
	t = query_text(f, "suspects", (const char *const[]){"format=json", NULL});
	expect_in(t, "{\"ip\":\"198.51.100.7\",\"verdict\":\"nat-egress\",");
	expect_in(t, "\"why\":\"300 requests/s, 200 user agents, 4xx 2%, 5xx 0%, 1.0 a connection"
	             " over 300\",\"requests\":{\"total\":9000,\"upper_bound\":9000,\"rate\":300.00,");
	expect_in(t, "{\"ip\":\"198.51.100.50\",\"verdict\":\"scraper\",");
	expect_in(t, "\"why\":\"50 requests/s, 1 user agent, 4xx 60%, 5xx 0%\",\"requests\":{\"total\":1500,");
	expect_in(t, "{\"ip\":\"198.51.100.60\",\"verdict\":\"flood\",");
	expect_in(t, "\"hosts\":1,\"tiers\":[\"web\"],");
	free(t);
	t = query_text(f, "suspects", (const char *const[]){"format=ipset", NULL});
	expect_in(t, "ipset add fleetstat-block 198.51.100.60 -exist  # flood\n");
	if (strstr(t, "198.51.100.50") || strstr(t, "198.51.100.7 "))
		fail_msg("a scraper or an egress listed to block:\n%s", t);
	free(t);
	/* top-ips: each IP's requests over the window, and per connection. */
	t = query_text(f, "top-ips", (const char *const[]){"format=json", NULL});
	expect_in(t, "\"hosts\":2,\"requests_since_ms\":900000,\"ips\":[{\"ip\":\"198.51.100.7\"");
	expect_in(t, "\"user_agents\":200,\"user_agents_capped\":false,\"per_connection\":1.00}");
	free(t);
	t = query_text(f, "top-ips", (const char *const[]){"format=table", NULL});
	expect_in(t, "REQUESTS  REQ/S/CONN");
	free(t);
	/* The summary: the top requesters, the flood among its attacks. */
	t = query_text(f, "summary", (const char *const[]){"format=json", NULL});
	expect_in(t, "\"requesters_since_ms\":3600000,\"requesters\":[{\"ip\":\"198.51.100.60\","
	             "\"requests\":15000,\"upper_bound\":15000,\"rate\":500.00,\"user_agents\":1,"
	             "\"hosts\":1},{\"ip\":\"198.51.100.7\"");
	expect_in(t, "{\"ip\":\"198.51.100.60\",\"verdict\":\"flood\"");
	free(t);
}

static void test_query_top_ips_since_peaks(void **state)
{
	fx_t *f = *state;
	const char *const since[] = {"since=10m", "tier=web", "limit=1", NULL};
	ipc_t a[] = {{7, 10, 0, 0}}, b[] = {{7, 25, 0, 0}}, c[] = {{9, 40, 0, 0}};

	host(f, 1, "web1", "web");
	host(f, 2, "web2", "web");
	host(f, 3, "db1", "db");
	/* web1: .7 at 10 then 25, then a report listing only .9 with threshold 12. */
	report(f, 1, 1, NOW - 3 * MIN, 50, 0, 0, a, 1, 3, 3, 0);
	report(f, 1, 2, NOW - 2 * MIN, 50, 0, 0, b, 1, 3, 3, 0);
	report(f, 1, 3, NOW - 1 * MIN, 50, 0, 0, c, 1, 12, 12, 0);
	/* web2 lists .7 in its only report of the window; its older one is outside. */
	report(f, 2, 1, NOW - 20 * MIN, 90, 0, 0, c, 1, 50, 50, 0);
	report(f, 2, 2, NOW - 1 * MIN, 90, 0, 0, a, 1, 6, 6, 0);
	/* db1 is another tier. */
	report(f, 3, 1, NOW - 1 * MIN, 500, 0, 0, b, 1, 0, 0, 0);
	/*
	 * .7: peaks 25 (web1) + 10 (web2) = 35; web1 missed it once, with
	 * threshold 12 < 25, so 25 stands; web2 listed it always: exact.
	 * .9: 40 on web1, web2 bounds it by 6 -> count 40, upper bound 46,
	 * ranks first.
	 */
	expect_query(f, "top-ips", since,
		"{\"now_ms\":1796212800000,\"tier\":\"web\",\"since_ms\":600000,\"state\":\"total\","
		"\"limit\":1,\"hosts\":2,\"ips\":["
		"{\"ip\":\"198.51.100.9\",\"count\":40,\"upper_bound\":46,\"hosts\":1,"
		"\"tiers\":[\"web\"],\"total\":40,\"states\":{\"ESTABLISHED\":40},"
		"\"first_seen\":1796212740000,\"last_seen\":1796212740000}]}\n");
	const char *const two[] = {"since=10m", "tier=web", "limit=2", NULL};

	expect_query(f, "top-ips", two,
		"{\"now_ms\":1796212800000,\"tier\":\"web\",\"since_ms\":600000,\"state\":\"total\","
		"\"limit\":2,\"hosts\":2,\"ips\":["
		"{\"ip\":\"198.51.100.9\",\"count\":40,\"upper_bound\":46,\"hosts\":1,"
		"\"tiers\":[\"web\"],\"total\":40,\"states\":{\"ESTABLISHED\":40},"
		"\"first_seen\":1796212740000,\"last_seen\":1796212740000},"
		"{\"ip\":\"198.51.100.7\",\"count\":35,\"upper_bound\":35,\"hosts\":2,"
		"\"tiers\":[\"web\"],\"total\":35,\"states\":{\"ESTABLISHED\":35},"
		"\"first_seen\":1796212620000,\"last_seen\":1796212740000}]}\n");
}

/* A small deterministic generator (the tests must not depend on the run). */
static uint32_t lcg(uint32_t *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 16;
}

typedef struct {
	int host;
	int64_t t;
	ipc_t ips[8];
	size_t n;
	uint32_t thr[3];
} gen_t;

/* Each case of top-ips against the merge of every raw report of its window. */
static void expect_top_as_raw(fx_t *f, const gen_t *g, size_t k, const col_host_t *hosts)
{
	static const char *const cases[][4] = {
		{"since=10m", NULL},
		{"since=617s", "limit=50", NULL},
		{"since=90s", "state=SYN_RECV", NULL},
		{"since=45s", NULL},
		{"since=1h", "tier=db", "state=ESTABLISHED", NULL},
		{"since=5m", "state=TIME_WAIT", "limit=5", NULL},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		col_qopts_t o;
		col_top_t *t;
		fs_buf_t want = FS_BUF_INIT;
		char *got = query_text(f, "top-ips", cases[c]);

		qopts(cases[c], &o);
		assert_int_equal(col_top_new(&o, &t), 0);
		for (size_t i = 0; i < k; i++) {
			const col_host_t *h = &hosts[g[i].host - 1];
			wire_remote_t rem[8];
			wire_top_t top;

			if (g[i].t < NOW - o.since_ms || g[i].t > NOW ||
			    (o.tier != NULL && strcmp(o.tier, h->tier) != 0))
				continue;
			top_list(g[i].ips, g[i].n, rem, &top);
			top.threshold_total = g[i].thr[0];
			top.threshold_established = g[i].thr[1];
			top.threshold_syn_recv = g[i].thr[2];
			assert_int_equal(col_top_add(t, h, g[i].t, &top), 0);
		}
		assert_int_equal(col_top_render(t, &want), 0);
		fs_buf_add(&want, "", 1);
		if (strcmp(got, want.p) != 0)
			fail_msg("case %zu:\n got: %s\nwant: %s", c, got, want.p);
		/* col_top_count() finds each IP's count; one never listed counts 0. */
		const col_top_ip_t *v;
		size_t n;
		const wire_ip_t absent = {.len = 4, .b = {203, 0, 113, 250}};

		assert_int_equal(col_top_ips(t, &v, &n), 0);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(col_top_count(t, &v[i].ip), v[i].count);
		/* After a render and a first col_top_ips(), a second one folds nothing again. */
		uint64_t first = n ? v[0].count : 0;

		assert_int_equal(col_top_ips(t, &v, &n), 0);
		assert_int_equal(n ? v[0].count : 0, first);
		if (n)
			assert_int_equal(col_top_count(t, &v[0].ip), first);
		assert_int_equal(col_top_count(t, &absent), 0);
		free(got);
		fs_buf_close(&want);
		col_top_free(t);
	}
}

/*
 * top-ips --since over the minute rollups (whole minutes) and the raw
 * reports (the window's partial minutes) answers exactly what merging every
 * raw report of the window answers: 4 hosts in 2 tiers, 20 minutes of
 * reports at 7 s with churning lists, for windows ending on and off a
 * minute, by total and by one state, fleet-wide and per tier; and again
 * after the migration that builds the minutes of reports stored before it.
 */
static void test_query_top_ips_minutes_equal_raw(void **state)
{
	fx_t *f = *state;
	static const char *const names[] = {"web1", "web2", "db1", "db2"};
	static const char *const tiers[] = {"web", "web", "db", "db"};
	enum { N_REPORTS = 4 * 172 };
	gen_t *g = calloc(N_REPORTS, sizeof(*g));
	col_host_t hosts[4] = {{0}};
	uint32_t x = 42;
	size_t k = 0;

	assert_non_null(g);
	for (int h = 0; h < 4; h++) {
		host(f, h + 1, names[h], tiers[h]);
		hosts[h] = (col_host_t){.id = h + 1, .hostname = names[h], .tier = tiers[h]};
	}
	/* Each host from 20 minutes ago to 3 s before NOW, off the minute by its own phase. */
	for (int h = 0; h < 4; h++)
		for (int i = 0; i < 172; i++, k++) {
			gen_t *r = &g[k];

			r->host = h + 1;
			r->t = NOW - 20 * MIN + 1000 * h + 7000 * i + 3;
			r->n = lcg(&x) % 9;
			for (size_t j = 0; j < r->n; j++) {
				/* IPs 1..12, distinct in a list: a stride through them. */
				r->ips[j] = (ipc_t){(uint8_t)(1 + (i + 5 * j) % 12), lcg(&x) % 40,
				                    lcg(&x) % 3 ? 0 : lcg(&x) % 30, lcg(&x) % 20};
			}
			for (int j = 0; j < 3; j++)
				r->thr[j] = lcg(&x) % 25;
			report(f, r->host, (uint64_t)i + 1, r->t, 500, 400, 0, r->ips, r->n,
			       r->thr[0], r->thr[1], r->thr[2]);
		}
	expect_top_as_raw(f, g, k, hosts);
	/* A database from before schema 4: the migration builds the minutes from the reports. */
	sqlite3 *h;

	db_close(f->db);
	assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "DROP TABLE rollup_top_minute; DROP TABLE rollup_ip_hour;"
	                              " DROP TABLE rollup_dirty_hour; ALTER TABLE hosts DROP COLUMN"
	                              " cert_subject; ALTER TABLE hosts DROP COLUMN cert_sha256;"
	                              " ALTER TABLE reports DROP COLUMN ports;"
	                              " ALTER TABLE reports DROP COLUMN requests;"
	                              " PRAGMA user_version = 3",
	                              NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(db_open(f->path, &f->db, NULL, 0), 0);
	expect_top_as_raw(f, g, k, hosts);
	free(g);
}

/* A report's requests, generated: its clients and hosts kept for the raw merge. */
typedef struct {
	int host;
	int64_t t;
	uint32_t interval_ms;
	wire_req_client_t clients[12];
	wire_req_host_t hosts[4];
	wire_requests_t q;
} rgen_t;

static const char *const rnames[] = {"a.example", "b.example", "c.example", "d.example",
                                     "e.example", "f.example"};

static void rgen(rgen_t *r, uint32_t *x)
{
	size_t nc = lcg(x) % 13, nh = lcg(x) % 5, first = lcg(x) % 24, firsth = lcg(x) % 6;

	r->q = (wire_requests_t){.present = true, .limit = 12, .clients = r->clients,
	                         .n_clients = nc, .hosts = r->hosts, .n_hosts = nh,
	                         .clients_unlisted_max = lcg(x) % 3 ? lcg(x) % 20 : 0,
	                         .hosts_unlisted_max = lcg(x) % 30, .bytes = lcg(x),
	                         .malformed = lcg(x) % 4 ? 0 : lcg(x) % 9};
	for (size_t i = 0; i < nc; i++) {
		wire_req_client_t *c = &r->clients[i];

		/* IPs 198.51.100.1..24, distinct in a list: a run from a random start. */
		*c = client((uint8_t)(1 + (first + i) % 24), 0, 0, 1 + lcg(x) % 300);
		for (int k = 0; k < WIRE_REQ_NCLASS; k++) {
			c->by_status[k] = k == WIRE_REQ_2XX ? lcg(x) % 900 : lcg(x) % 4 ? 0 : lcg(x) % 90;
			c->requests += c->by_status[k];
		}
		c->error = lcg(x) % 3 ? 0 : lcg(x) % 10;
		c->bytes = (uint64_t)lcg(x) * 40;
		c->user_agents_capped = lcg(x) % 11 == 0;
		r->q.total += c->requests;
		for (int k = 0; k < WIRE_REQ_NCLASS; k++)
			r->q.by_status[k] += c->by_status[k];
	}
	for (size_t i = 0; i < nh; i++)
		r->hosts[i] = (wire_req_host_t){(char *)rnames[(firsth + i) % 6], lcg(x) % 5000,
		                                lcg(x) % 2 ? 0 : lcg(x) % 7};
	r->q.total += lcg(x) % 50;
}

/* Each case of `requests` against the merge of every raw report of its window. */
static void expect_requests_as_raw(fx_t *f, const rgen_t *g, size_t k, const col_host_t *hosts)
{
	static const char *const cases[][4] = {
		{"since=10m", NULL},
		{"since=617s", "limit=50", NULL},
		{"since=45s", NULL},
		{"since=1h", "tier=db", NULL},
		{"since=5m", "by=domain", NULL},
		{"since=1h", "by=domain", "tier=web", NULL},
		{"since=121s", "limit=3", NULL},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		col_qopts_t o;
		col_req_t *a;
		fs_buf_t want = FS_BUF_INIT;
		char *got = query_text(f, "requests", cases[c]);

		qopts(cases[c], &o);
		assert_non_null(a = col_req_new(o.by_domain));
		for (size_t i = 0; i < k; i++) {
			const col_host_t *h = &hosts[g[i].host - 1];

			if (g[i].t <= NOW - o.since_ms || g[i].t > NOW ||
			    (o.tier != NULL && strcmp(o.tier, h->tier) != 0))
				continue;
			assert_int_equal(col_req_add(a, h->id, h->tier, g[i].interval_ms, &g[i].q), 0);
		}
		assert_int_equal(col_req_render(a, &o, &want), 0);
		fs_buf_add(&want, "", 1);
		if (strcmp(got, want.p) != 0)
			fail_msg("case %zu:\n got: %s\nwant: %s", c, got, want.p);
		col_req_free(a);
		fs_buf_close(&want);
		free(got);
	}
}

/*
 * `requests` over windows of whole minutes (the minute rows) and partial ones
 * (raw reports) answers what the raw reports alone do, and so after the
 * migration to schema 9 builds the minutes of the reports stored before it.
 */
static void test_query_requests_minutes_equal_raw(void **state)
{
	fx_t *f = *state;
	static const char *const names[] = {"web1", "web2", "db1"};
	static const char *const tiers[] = {"web", "web", "db"};
	static const uint32_t intervals[] = {5000, 10000, 15000};
	enum { PER_HOST = 150, N = 3 * PER_HOST };
	rgen_t *g = calloc(N, sizeof(*g));
	col_host_t hosts[3] = {{0}};
	uint32_t x = 7;
	size_t k = 0;
	sqlite3 *h;

	assert_non_null(g);
	for (int i = 0; i < 3; i++) {
		host(f, i + 1, names[i], tiers[i]);
		hosts[i] = (col_host_t){.id = i + 1, .hostname = names[i], .tier = tiers[i]};
	}
	/* Each host 20 minutes back to NOW, off the minute by its own phase, at its own interval. */
	for (int i = 0; i < 3; i++) {
		int64_t t = NOW - 20 * MIN + 1000 * i + 3;

		for (int j = 0; j < PER_HOST && t <= NOW; j++, k++) {
			rgen_t *r = &g[k];

			r->host = i + 1;
			r->t = t;
			r->interval_ms = intervals[(j + i) % 3];
			rgen(r, &x);
			report_requests = &r->q;
			report_interval = r->interval_ms;
			report(f, r->host, (uint64_t)j + 1, r->t, 100, 0, 0, NULL, 0, 3, 3, 0);
			t += 8000;
		}
	}
	report_requests = NULL;
	expect_requests_as_raw(f, g, k, hosts);
	/* A database from before schema 9: the migration builds the minutes' requests. */
	db_close(f->db);
	assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "ALTER TABLE rollup_top_minute DROP COLUMN requests;"
	                              " PRAGMA user_version = 8", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(db_open(f->path, &f->db, NULL, 0), 0);
	expect_requests_as_raw(f, g, k, hosts);
	free(g);
}

/*
 * Past COL_ROLL_REQ_MAX clients in a minute the ones of smallest bound go and
 * the minute's unlisted bound rises to cover them: every upper bound still
 * bounds, the kept clients' counts are exact.
 */
static void test_roll_req_cap(void **state)
{
	wire_req_client_t c[30];
	wire_requests_t q = {.present = true, .clients = c, .n_clients = 30, .clients_unlisted_max = 2};
	col_roll_req_t r = {0};
	col_req_t *raw, *rolled;
	col_req_ip_t *rv, *wv;
	size_t rn, wn;

	(void)state;
	assert_non_null(raw = col_req_new(false));
	assert_non_null(rolled = col_req_new(false));
	/* 10 reports of 30 new clients each; client number v made v requests. */
	for (int k = 0; k < 10; k++) {
		for (int i = 0; i < 30; i++) {
			uint32_t v = (uint32_t)(k * 30 + i + 1);

			c[i] = (wire_req_client_t){.ip = {.len = 4, .b = {10, 0, (uint8_t)(v >> 8), (uint8_t)v}},
			                           .requests = v, .user_agents = 1};
			c[i].by_status[WIRE_REQ_2XX] = v;
		}
		assert_int_equal(col_roll_req_add(&r, &q, 10000), 0);
		assert_int_equal(col_req_add(raw, 1, "web", 10000, &q), 0);
	}
	assert_int_equal(r.reports, 10);
	assert_int_equal(r.n_clients, COL_ROLL_REQ_MAX);
	/*
	 * Report 9 dropped 1..14 (14 - 2 beyond its unlisted bound then), report 10
	 * 15..44 (42 beyond): an unlisted IP is bounded by 20 + 42 = 62, the raw
	 * bound of 44 (44 + 18).  The clients of report 10 may have been dropped
	 * before: 12 more on their bounds.
	 */
	assert_int_equal(r.clients_unlisted, 20);
	assert_int_equal(r.clients_dropped, 42);
	assert_int_equal(col_req_add_roll(rolled, 1, "web", &r), 0);
	assert_int_equal(col_req_ips(raw, SIZE_MAX, &rv, &rn), 0);
	assert_int_equal(col_req_ips(rolled, SIZE_MAX, &wv, &wn), 0);
	assert_int_equal(rn, 300);
	assert_int_equal(wn, COL_ROLL_REQ_MAX);
	for (size_t i = 0; i < rn; i++) {
		const col_req_ip_t *w = col_req_ip_find(wv, wn, &rv[i].ip);

		if (w == NULL) {
			assert_true(rv[i].requests <= 44);
			assert_true(rv[i].upper_bound <= r.clients_unlisted + r.clients_dropped);
			continue;
		}
		assert_int_equal(w->requests, rv[i].requests);
		assert_int_equal(w->upper_bound, rv[i].upper_bound + (rv[i].requests > 270 ? 12 : 0));
		assert_true(w->rate == rv[i].rate);
	}
	free(rv);
	free(wv);
	col_req_free(raw);
	col_req_free(rolled);
	col_roll_req_close(&r);
}

/*
 * Past COL_ROLL_TOP_MAX IPs in a minute the smallest go, and the minute's
 * thresholds rise to their peaks so that they still bound them.
 */
static void test_roll_top_cap(void **state)
{
	col_roll_top_t r = {0};
	wire_remote_t rem[30];
	wire_top_t top = {.ips = rem, .n_ips = 30, .threshold_total = 3};

	(void)state;
	/* 10 reports of 30 new IPs each; IP number v has v ESTABLISHED, v % 7 SYN_RECV. */
	for (int k = 0; k < 10; k++) {
		for (int i = 0; i < 30; i++) {
			uint32_t v = (uint32_t)(k * 30 + i + 1);

			memset(&rem[i], 0, sizeof(rem[i]));
			rem[i].ip.len = 4;
			rem[i].ip.b[0] = 10;
			rem[i].ip.b[2] = (uint8_t)(v >> 8);
			rem[i].ip.b[3] = (uint8_t)v;
			rem[i].st.n[WIRE_ESTABLISHED] = v;
			rem[i].st.n[WIRE_SYN_RECV] = v % 7;
		}
		assert_int_equal(col_roll_top_add(&r, &top, NOW + k), 0);
	}
	assert_int_equal(r.reports, 10);
	assert_int_equal(r.n, COL_ROLL_TOP_MAX);
	/*
	 * 300 IPs, totals v + v % 7: the 44 smallest are v = 1..44 (at most 47,
	 * v = 41), every v >= 45 has 48 or more.
	 */
	assert_int_equal(r.thr_total, 47);
	assert_int_equal(r.thr_established, 44);
	assert_int_equal(r.thr_syn_recv, 6);
	for (size_t i = 0; i < r.n; i++) {
		assert_true(r.ips[i].st.n[WIRE_ESTABLISHED] > 44);
		assert_int_equal(r.ips[i].listed, 1);
	}
	col_roll_top_close(&r);
}

/* One row of rollup_ip_hour as text: "minutes hosts total established syn_recv host_max". */
static void ip_hour(fx_t *f, int64_t t, const char *tier, uint8_t ip, char *out, size_t len)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	uint8_t b[4] = {198, 51, 100, ip};

	assert_int_equal(sqlite3_open_v2(f->path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT minutes, hosts, peak_total, peak_established,"
	                                    " peak_syn_recv, host_max FROM rollup_ip_hour"
	                                    " WHERE t = ?1 AND tier = ?2 AND ip = ?3", -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(st, 1, t);
	sqlite3_bind_text(st, 2, tier, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, b, 4, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, len, "%lld %lld %lld %lld %lld %lld", sqlite3_column_int64(st, 0),
		         sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
		         sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4),
		         sqlite3_column_int64(st, 5));
	else
		snprintf(out, len, "none");
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/*
 * The hours of IPs per tier: built once the hour is over, from the hosts'
 * minutes, again when a late report arrives for it.  Hour 10:00:
 *   10:10 web1 .7 30;  10:11 web1 .7 40 then 35, web2 .7 25 + 5 SYN_RECV;  10:12 db1 .7 300 TW.
 * web's level: 30 at 10:10, 40 + 30 = 70 at 10:11 (ESTABLISHED 65, SYN_RECV 5, 2 hosts).
 */
static void test_db_roll_hours(void **state)
{
	fx_t *f = *state;
	const int64_t H = NOW - 2 * 3600000;
	ipc_t a[] = {{7, 30, 0, 0}}, b[] = {{7, 40, 0, 0}}, c[] = {{7, 35, 0, 0}},
	      d[] = {{7, 25, 5, 0}}, e[] = {{7, 0, 0, 300}}, late[] = {{7, 90, 0, 0}};
	uint32_t built;
	char row[128];

	host(f, 1, "web1", "web");
	host(f, 2, "web2", "web");
	host(f, 3, "db1", "db");
	report(f, 1, 1, H + 10 * MIN, 100, 0, 0, a, 1, 0, 0, 0);
	report(f, 1, 2, H + 11 * MIN, 100, 0, 0, b, 1, 0, 0, 0);
	report(f, 1, 3, H + 11 * MIN + 30000, 100, 0, 0, c, 1, 0, 0, 0);
	report(f, 2, 1, H + 11 * MIN + 5000, 100, 0, 0, d, 1, 0, 0, 0);
	report(f, 3, 1, H + 12 * MIN, 0, 300, 0, e, 1, 0, 0, 0);
	/* Not before the hour is over and its grace gone by. */
	assert_int_equal(db_roll_hours(f->db, H + 3600000 + DB_HOUR_GRACE_MS - 1, 8, &built), 0);
	assert_int_equal(built, 0);
	assert_int_equal(db_roll_hours(f->db, H + 3600000 + DB_HOUR_GRACE_MS, 8, &built), 0);
	assert_int_equal(built, 1);
	ip_hour(f, H, "web", 7, row, sizeof(row));
	assert_string_equal(row, "2 2 70 65 5 40");
	ip_hour(f, H, "db", 7, row, sizeof(row));
	assert_string_equal(row, "1 1 300 0 0 300");
	/* Nothing left to build. */
	assert_int_equal(db_roll_hours(f->db, NOW, 8, &built), 0);
	assert_int_equal(built, 0);
	/* A late report (a spool's) for 10:40 marks the hour again. */
	report(f, 2, 2, H + 40 * MIN, 100, 0, 0, late, 1, 0, 0, 0);
	assert_int_equal(db_roll_hours(f->db, NOW, 8, &built), 0);
	assert_int_equal(built, 1);
	ip_hour(f, H, "web", 7, row, sizeof(row));
	assert_string_equal(row, "3 2 90 90 5 90");
}

/*
 * suspects' (summary: summary's) output at NOW over the last 15 minutes in
 * fmt, with the config c (and the default thresholds); the query returns want.
 */
static char *window_text(fx_t *f, const col_suspect_cfg_t *c, bool summary, col_fmt_t fmt,
                         int want)
{
	db_reader_t *rd;
	col_thresholds_t th = {0};
	fs_buf_t out = FS_BUF_INIT;
	col_qopts_t o;
	char err[256];

	qopts((const char *const[]){"since=15m", NULL}, &o);
	o.format = fmt;
	assert_int_equal(db_reader_open(f->path, &rd, err, sizeof(err)), 0);
	assert_int_equal(summary ? db_summary(rd, &o, &th, c, &out) : db_suspects(rd, &o, c, &out),
	                 want);
	db_reader_close(rd);
	fs_buf_add(&out, "", 1);
	assert_int_equal(out.err, 0);
	return out.p;
}

static char *suspects_text(fx_t *f, const col_suspect_cfg_t *c, col_fmt_t fmt)
{
	return window_text(f, c, false, fmt, 0);
}

static char *summary_text(fx_t *f, const col_suspect_cfg_t *c, col_fmt_t fmt, int want)
{
	return window_text(f, c, true, fmt, want);
}

/*
 * A week of a web tier through the writer, stamped in the past: .10 (A)
 * every business hour (9:00-17:59) with 300-800 ESTABLISHED over 3 hosts,
 * .99 a trickle every hour.  In the last 15 minutes A at 450, .20 (B) 170
 * SYN_RECV on each host, .30 (C) 400 ESTABLISHED on web1, never seen before.
 * Queried while the week's hours are still to be built, and once they are.
 */
static void test_query_suspects_week(void **state)
{
	fx_t *f = *state;
	const int64_t HOUR = 3600000, b1 = NOW - HOUR;   /* the window's hour is 11:00 */
	uint64_t seq[4] = {0, 0, 0, 0};
	col_suspect_cfg_t c;
	uint32_t built;
	char *j;
	int rounds = 0;

	for (int h = 1; h <= 3; h++) {
		char name[8];

		snprintf(name, sizeof(name), "web%d", h);
		host(f, h, name, "web");
	}
	for (int64_t t = b1 - 7 * 24 * HOUR; t < b1; t += HOUR) {
		int hour = (int)(t / HOUR % 24);
		ipc_t trickle[] = {{99, 5, 0, 0}};

		report(f, 1, ++seq[1], t + 2 * MIN, 20, 0, 0, trickle, 1, 0, 0, 0);
		if (hour < 9 || hour > 17)
			continue;
		for (int h = 1; h <= 3; h++) {
			/* 100-266 a host: 300-800 over the three. */
			ipc_t a[] = {{10, (uint32_t)(100 + (t / HOUR * 7 + h * 13) % 167), 0, 0}};

			report(f, h, ++seq[h], t + 5 * MIN, a[0].est + 10, 0, 0, a, 1, 0, 0, 0);
		}
	}
	report_interval = 300000;   /* the window's reports every 5 minutes: fresh at NOW */
	for (int64_t t = NOW - 10 * MIN; t < NOW; t += 5 * MIN)
		for (int h = 1; h <= 3; h++) {
			ipc_t now[] = {{10, 150, 0, 0}, {20, 0, 170, 0}, {30, 400, 0, 0}};

			report(f, h, ++seq[h], t + h * 1000, h == 1 ? 560 : 160, 0, 0, now,
			       h == 1 ? 3 : 2, 0, 0, 0);
		}
	/*
	 * Stored, not yet built (the writer builds the week in the background):
	 * the verdicts that rest on the history wait and say so, never "too
	 * little history"; B's needs none.  Then 64 of the 168 hours built.
	 */
	col_suspect_cfg_init(&c);
	for (int step = 0; step < 2; step++) {
		const char *pending = step == 0 ? "168" : "104";
		char want[96];

		j = suspects_text(f, &c, COL_FMT_JSON);
		snprintf(want, sizeof(want), "\"baseline_pending_hours\":%s,", pending);
		expect_in(j, want);
		expect_in(j, "{\"ip\":\"198.51.100.10\",\"verdict\":\"watch\",");
		expect_in(j, "{\"ip\":\"198.51.100.20\",\"verdict\":\"syn-flood\",");
		expect_in(j, "{\"ip\":\"198.51.100.30\",\"verdict\":\"watch\",");
		snprintf(want, sizeof(want), "\"pending_hours\":%s,\"why\":\"over 100, baseline being"
		         " built: %s hours pending", pending, pending);
		expect_in(j, want);
		if (strstr(j, "too little history") != NULL)
			fail_msg("too little history with the week stored: %s", j);
		free(j);
		if (step == 0) {
			j = summary_text(f, &c, COL_FMT_TABLE, COL_CRITICAL);
			expect_in(j, "  198.51.100.20   syn-flood  510 connections (510 SYN_RECV) on 3 hosts\n"
			             "  baseline being built: 168 hours pending; 2 heavy IPs wait for it"
			             " (watch until then)\n");
			free(j);
			j = summary_text(f, &c, COL_FMT_JSON, COL_CRITICAL);
			expect_in(j, "\"pending_hours\":168,\"pending_verdicts\":2,\"attacks\":"
			             "[{\"ip\":\"198.51.100.20\",");
			free(j);
		}
		assert_int_equal(db_roll_hours(f->db, NOW, 64, &built), 0);
		assert_int_equal(built, 64);
	}
	do
		assert_int_equal(db_roll_hours(f->db, NOW, 64, &built), 0);
	while (built > 0 && ++rounds < 10);
	j = suspects_text(f, &c, COL_FMT_JSON);
	expect_in(j, "\"baseline_pending_hours\":0,");
	if (strstr(j, "\"pending_hours\":0,") == NULL || strstr(j, "baseline being built") != NULL)
		fail_msg("built, yet pending: %s", j);
	expect_in(j, "{\"ip\":\"198.51.100.10\",\"verdict\":\"nat-egress\",\"now\":450,\"peak\":450,");
	expect_in(j, "\"hours_present\":63,\"baseline_hours\":168,");
	expect_in(j, "{\"ip\":\"198.51.100.20\",\"verdict\":\"syn-flood\",\"now\":510,\"peak\":510,");
	expect_in(j, "\"syn_recv\":510,\"syn_recv_share\":1.000,\"host_max\":170,\"tier_max\":510,"
	             "\"hosts\":3,");
	expect_in(j, "{\"ip\":\"198.51.100.30\",\"verdict\":\"conn-flood\",\"now\":400,\"peak\":400,");
	expect_in(j, "\"hours_present\":0,\"baseline_hours\":168,\"baseline_median\":0,"
	             "\"growth\":null,");
	if (strstr(j, "198.51.100.99") != NULL)
		fail_msg(".99 is not heavy: %s", j);
	free(j);
	j = suspects_text(f, &c, COL_FMT_IPSET);
	expect_in(j, "ipset add fleetstat-block 198.51.100.20 -exist  # syn-flood\n");
	expect_in(j, "ipset add fleetstat-block 198.51.100.30 -exist  # conn-flood\n");
	if (strstr(j, "198.51.100.10") != NULL)
		fail_msg("the NAT egress is in the ipset form: %s", j);
	free(j);
	/* An allow CIDR covering C turns its verdict off. */
	assert_int_equal(col_suspect_cfg_set(&c, "allow", "198.51.100.28/30", &(const char *){0}), 0);
	j = suspects_text(f, &c, COL_FMT_JSON);
	expect_in(j, "{\"ip\":\"198.51.100.30\",\"verdict\":\"allowed\",");
	free(j);
	j = suspects_text(f, &c, COL_FMT_IPSET);
	if (strstr(j, "198.51.100.30") != NULL)
		fail_msg("an allowed IP is in the ipset form: %s", j);
	free(j);
	/* The summary lists the attack verdicts (B only, now) and goes CRITICAL. */
	j = summary_text(f, &c, COL_FMT_JSON, COL_CRITICAL);
	expect_in(j, "\"what\":\"attack verdicts\",\"value\":1,\"threshold\":1}");
	expect_in(j, "\"pending_hours\":0,\"pending_verdicts\":0,\"attacks\":[{\"ip\":"
	             "\"198.51.100.20\",\"verdict\":\"syn-flood\",\"peak\":510,\"syn_recv\":510,"
	             "\"hosts\":3}],");
	free(j);
}

static void test_query_trend_buckets(void **state)
{
	fx_t *f = *state;
	const char *const opts[] = {"state=ESTABLISHED", "since=3m", "step=1m", NULL};
	const char *const one[] = {"state=close_wait", "since=3m", "step=1m", "host=web2", NULL};

	host(f, 1, "web1", "web");
	host(f, 2, "web2", "web");
	/*
	 * Bucket 11:57: web1 10 and 20 (mean 15, max 20), web2 100 and 100:
	 * mean 115, max 120.
	 */
	report(f, 1, 1, NOW - 3 * MIN + 1000, 10, 0, 0, NULL, 0, 0, 0, 0);
	report(f, 1, 2, NOW - 3 * MIN + 11000, 20, 0, 0, NULL, 0, 0, 0, 0);
	report(f, 2, 1, NOW - 3 * MIN + 5000, 100, 0, 7, NULL, 0, 0, 0, 0);
	/* Bucket 11:59: web1 alone, 30. */
	report(f, 1, 3, NOW - 1 * MIN + 1000, 30, 0, 0, NULL, 0, 0, 0, 0);
	report(f, 2, 2, NOW - 3 * MIN + 20000, 100, 0, 9, NULL, 0, 0, 0, 0);
	/* Older than the window: not counted. */
	report(f, 2, 3, NOW - 10 * MIN, 1000, 0, 50, NULL, 0, 0, 0, 0);
	expect_query(f, "trend", opts,
		"{\"now_ms\":1796212800000,\"state\":\"ESTABLISHED\",\"since_ms\":180000,"
		"\"step_ms\":60000,\"from_ms\":1796212620000,\"to_ms\":1796212860000,"
		"\"source\":\"minute\",\"buckets\":["
		"{\"t\":1796212620000,\"hosts\":2,\"mean\":115.0,\"max\":120},"
		"{\"t\":1796212680000,\"hosts\":0,\"mean\":0.0,\"max\":0},"
		"{\"t\":1796212740000,\"hosts\":1,\"mean\":30.0,\"max\":30},"
		"{\"t\":1796212800000,\"hosts\":0,\"mean\":0.0,\"max\":0}]}\n");
	/* One host, CLOSE_WAIT: 7 and 9 in the first bucket. */
	expect_query(f, "trend", one,
		"{\"now_ms\":1796212800000,\"host\":\"web2\",\"state\":\"CLOSE_WAIT\","
		"\"since_ms\":180000,\"step_ms\":60000,\"from_ms\":1796212620000,"
		"\"to_ms\":1796212860000,\"source\":\"minute\",\"buckets\":["
		"{\"t\":1796212620000,\"hosts\":1,\"mean\":8.0,\"max\":9},"
		"{\"t\":1796212680000,\"hosts\":0,\"mean\":0.0,\"max\":0},"
		"{\"t\":1796212740000,\"hosts\":0,\"mean\":0.0,\"max\":0},"
		"{\"t\":1796212800000,\"hosts\":0,\"mean\":0.0,\"max\":0}]}\n");
}

/* Runs cmd (JSON) with options "name=value" pairs and returns its text, new. */
/* JSON at NOW with options "name=value". */
static void qopts(const char *const *opts, col_qopts_t *o)
{
	const char *why;
	char name[32];

	col_qopts_init(o, NOW);
	o->format = COL_FMT_JSON;
	for (; *opts; opts++) {
		const char *eq = strchr(*opts, '=');

		assert_non_null(eq);
		snprintf(name, sizeof(name), "%.*s", (int)(eq - *opts), *opts);
		assert_int_equal(col_qopts_set(o, name, eq + 1, &why), 0);
	}
}

static char *query_text(fx_t *f, const char *cmd, const char *const *opts)
{
	db_reader_t *rd;
	fs_buf_t out = FS_BUF_INIT;
	col_qopts_t o;
	const char *why;
	char err[256];
	col_thresholds_t th = {0};
	col_suspect_cfg_t sus;
	db_query_cfg_t cfg = {&th, &sus};
	int rc;

	col_suspect_cfg_init(&sus);
	qopts(opts, &o);
	assert_int_equal(db_reader_open(f->path, &rd, err, sizeof(err)), 0);
	assert_non_null(col_cmd_find(cmd));
	rc = db_query(rd, col_cmd_find(cmd)->id, &o, &cfg, &out, &why);
	/* The summary's status is its answer too. */
	assert_true(rc == 0 || (strcmp(cmd, "summary") == 0 && rc > 0));
	db_reader_close(rd);
	fs_buf_add(&out, "", 1);
	assert_int_equal(out.err, 0);
	return out.p;
}

static void expect_in(const char *text, const char *part)
{
	if (strstr(text, part) == NULL)
		fail_msg("no %s in %s", part, text);
}

static void test_query_trend_rollup_boundary(void **state)
{
	fx_t *f = *state;
	const char *const s30[] = {"state=ESTABLISHED", "since=10m", "step=30s", NULL};
	const char *const m1[] = {"state=ESTABLISHED", "since=10m", "step=1m", NULL};
	const char *const h1[] = {"state=ESTABLISHED", "since=1d", "step=1h", NULL};
	uint64_t deleted;
	char *j;

	host(f, 1, "web1", "web");
	/* 11:50:00 and 11:50:30, pruned from the raw reports below; then 11:58:00 and 11:58:30. */
	report(f, 1, 1, NOW - 10 * MIN, 10, 0, 0, NULL, 0, 0, 0, 0);
	report(f, 1, 2, NOW - 10 * MIN + 30000, 20, 0, 0, NULL, 0, 0, 0, 0);
	report(f, 1, 3, NOW - 2 * MIN, 50, 0, 0, NULL, 0, 0, 0, 0);
	report(f, 1, 4, NOW - 2 * MIN + 30000, 70, 0, 0, NULL, 0, 0, 0, 0);
	assert_int_equal(db_prune(f->db, NOW - 5 * MIN, &deleted), 0);
	assert_int_equal(deleted, 2);

	/*
	 * 30 s steps: raw reports from 11:58 on; before, the minute rollup of
	 * 11:50 (mean 15, max 20) in the bucket where it starts.
	 */
	j = query_text(f, "trend", s30);
	expect_in(j, "\"source\":\"minute+raw\"");
	expect_in(j, "{\"t\":1796212200000,\"hosts\":1,\"mean\":15.0,\"max\":20},"
	             "{\"t\":1796212230000,\"hosts\":0,\"mean\":0.0,\"max\":0}");
	expect_in(j, "{\"t\":1796212680000,\"hosts\":1,\"mean\":50.0,\"max\":50},"
	             "{\"t\":1796212710000,\"hosts\":1,\"mean\":70.0,\"max\":70}");
	free(j);
	/* Minute steps: the rollups alone, the pruned reports included. */
	j = query_text(f, "trend", m1);
	expect_in(j, "\"source\":\"minute\"");
	expect_in(j, "{\"t\":1796212200000,\"hosts\":1,\"mean\":15.0,\"max\":20}");
	expect_in(j, "{\"t\":1796212680000,\"hosts\":1,\"mean\":60.0,\"max\":70}");
	free(j);
	/* Hours: 11:00 holds all four (150 / 4). */
	j = query_text(f, "trend", h1);
	expect_in(j, "\"source\":\"hour\"");
	expect_in(j, "{\"t\":1796209200000,\"hosts\":1,\"mean\":37.5,\"max\":70}");
	free(j);
	/* Pruning the rollups (the host's minute row, its tier's) takes them out of the trend too. */
	assert_int_equal(db_prune_rollups(f->db, INT64_MIN, NOW - 5 * MIN, NOW - 2 * 3600000,
	                                  &deleted), 0);
	assert_int_equal(deleted, 2);
	j = query_text(f, "trend", m1);
	expect_in(j, "{\"t\":1796212200000,\"hosts\":0,\"mean\":0.0,\"max\":0}");
	free(j);
}

/*
 * The tier rollup the writer keeps by differences equals the sum of its
 * hosts' minute figures: reports in any order, several a minute, maxima
 * that rise and stay.
 */
static void test_query_trend_tier_rollup_sums_hosts(void **state)
{
	fx_t *f = *state;
	const char *const opts[] = {"state=ESTABLISHED", "since=5m", "step=1m", NULL};
	enum { NH = 3, NM = 5, PER = 4 };
	uint32_t v[NH][NM][PER];
	uint64_t seed = 12345, seq[NH] = {0};
	char want[160], *j;

	for (int h = 0; h < NH; h++)
		host(f, h + 1, h == 0 ? "web1" : h == 1 ? "web2" : "web3", "web");
	for (int m = 0; m < NM; m++)
		for (int k = 0; k < PER; k++)
			for (int h = 0; h < NH; h++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				v[h][m][k] = (uint32_t)(seed >> 40) % 1000;
				/* Host 3 skips the second half of each minute. */
				if (h == 2 && k >= PER / 2)
					continue;
				report(f, h + 1, ++seq[h], NOW - (NM - m) * MIN + k * 10000, v[h][m][k], 0, 0,
				       NULL, 0, 0, 0, 0);
			}
	j = query_text(f, "trend", opts);
	expect_in(j, "\"source\":\"minute\"");
	for (int m = 0; m < NM; m++) {
		double mean = 0;
		uint64_t max = 0;

		for (int h = 0; h < NH; h++) {
			int n = h == 2 ? PER / 2 : PER;
			uint32_t hm = 0, sum = 0;

			for (int k = 0; k < n; k++) {
				sum += v[h][m][k];
				hm = v[h][m][k] > hm ? v[h][m][k] : hm;
			}
			mean += (double)sum / n;
			max += hm;
		}
		snprintf(want, sizeof(want), "{\"t\":%lld,\"hosts\":3,\"mean\":%.1f,\"max\":%llu}",
		         (long long)(NOW - (NM - m) * MIN), mean, (unsigned long long)max);
		expect_in(j, want);
	}
	free(j);
}

/*
 * Hosts that report every 2 minutes, on alternate minutes: tier minutes
 * would each hold one of them, so the fleet is summed host by host.
 */
static void test_query_trend_slow_hosts(void **state)
{
	fx_t *f = *state;
	const char *const opts[] = {"state=ESTABLISHED", "since=6m", "step=2m", NULL};
	char *j;

	report_interval = 120000;
	host(f, 1, "web1", "web");
	host(f, 2, "web2", "web");
	for (int k = 0; k < 3; k++) {
		report(f, 1, (uint64_t)k + 1, NOW - 6 * MIN + k * 2 * MIN, 100, 0, 0, NULL, 0, 0, 0, 0);
		report(f, 2, (uint64_t)k + 1, NOW - 5 * MIN + k * 2 * MIN, 100, 0, 0, NULL, 0, 0, 0, 0);
	}
	j = query_text(f, "trend", opts);
	expect_in(j, "{\"t\":1796212440000,\"hosts\":2,\"mean\":200.0,\"max\":200},"
	             "{\"t\":1796212560000,\"hosts\":2,\"mean\":200.0,\"max\":200},"
	             "{\"t\":1796212680000,\"hosts\":2,\"mean\":200.0,\"max\":200}");
	free(j);
}

/* A report of host n carrying sysctls (name, value pairs). */
static void report_sysctls(fx_t *f, int n, uint64_t seq, const char *const *kv, size_t n_kv)
{
	wire_kv_t s[4];
	wire_report_t r = {0};
	uint8_t id[WIRE_AGENT_ID_LEN];
	int stored;

	for (size_t i = 0; i < n_kv; i++) {
		s[i].name = (char *)kv[2 * i];
		s[i].value = (char *)kv[2 * i + 1];
	}
	r.seq = seq;
	r.collected_at_ms = NOW - 2000;
	r.interval_ms = 10000;
	r.sysctls = s;
	r.n_sysctls = n_kv;
	r.source = "netlink";
	agent_id(id, n);
	assert_int_equal(db_put_report(f->db, id, &r, NOW - 2000, &stored), 0);
}

/*
 * summary's tier peaks hold a host's value until its report is 3 intervals
 * old: web1 reports every 10 s, 100 ESTABLISHED but 200 at 12:53; web2 every
 * 5 minutes, 50, at 12:50 and 12:55.  At 12:53 the tier held 200 + 50.
 */
static void test_query_summary_slow_hosts(void **state)
{
	fx_t *f = *state;
	col_thresholds_t th = {0};
	col_suspect_cfg_t sus;
	db_reader_t *rd;
	fs_buf_t out = FS_BUF_INIT;
	col_qopts_t o;
	char err[256];
	uint64_t seq = 1;

	host(f, 1, "web1", "web");
	host(f, 2, "web2", "web");
	for (int64_t t = NOW - 10 * MIN; t < NOW; t += 10000)
		report(f, 1, seq++, t, t / MIN == (NOW - 7 * MIN) / MIN ? 200 : 100, 0, 0, NULL, 0, 0,
		       0, 0);
	report_interval = 300000;
	report(f, 2, 1, NOW - 10 * MIN + 5000, 50, 0, 0, NULL, 0, 0, 0, 0);
	report(f, 2, 2, NOW - 5 * MIN + 5000, 50, 0, 0, NULL, 0, 0, 0, 0);
	qopts((const char *const[]){"since=10m", NULL}, &o);
	assert_int_equal(db_reader_open(f->path, &rd, err, sizeof(err)), 0);
	col_suspect_cfg_init(&sus);
	assert_true(db_summary(rd, &o, &th, &sus, &out) >= 0);
	db_reader_close(rd);
	fs_buf_add(&out, "", 1);
	expect_in(out.p, "{\"tier\":\"web\",\"peaks\":{\"ESTABLISHED\":250,");
	expect_in(out.p, "\"total\":250}}]");
	fs_buf_close(&out);
}

static void test_query_sysctl_drift(void **state)
{
	fx_t *f = *state;
	const char *const std[] = {"net.core.somaxconn", "4096", "net.ipv4.tcp_tw_reuse", "2"};
	const char *const odd[] = {"net.core.somaxconn", "128", "net.ipv4.tcp_tw_reuse", "2"};
	const char *const only[] = {"name=net.core.somaxconn", NULL};

	host(f, 1, "web1", "web");
	host(f, 2, "web2", "web");
	host(f, 3, "web3", "web");
	host(f, 4, "db1", "db");
	report_sysctls(f, 1, 1, std, 2);
	report_sysctls(f, 2, 1, odd, 2);
	report_sysctls(f, 3, 1, std, 2);
	report_sysctls(f, 4, 1, odd, 1);
	/* web: 4096 on two hosts, web2's 128 drifts; db alone has 128, its own majority. */
	expect_query(f, "sysctl", only,
		"{\"now_ms\":1796212800000,\"tiers\":["
		"{\"tier\":\"db\",\"sysctls\":[{\"name\":\"net.core.somaxconn\",\"hosts\":1,"
		"\"majority\":\"128\",\"values\":[{\"value\":\"128\",\"hosts\":1}],\"drift\":[]}]},"
		"{\"tier\":\"web\",\"sysctls\":[{\"name\":\"net.core.somaxconn\",\"hosts\":3,"
		"\"majority\":\"4096\",\"values\":[{\"value\":\"4096\",\"hosts\":2},"
		"{\"value\":\"128\",\"hosts\":1}],\"drift\":[{\"hostname\":\"web2\","
		"\"value\":\"128\",\"changed_at_ms\":1796212798000}]}]}],\"advice\":[]}\n");
	char *j = query_text(f, "sysctl", (const char *const[]){"tier=web", NULL});

	expect_in(j, "{\"name\":\"net.ipv4.tcp_tw_reuse\",\"hosts\":3,\"majority\":\"2\","
	             "\"values\":[{\"value\":\"2\",\"hosts\":3}],\"drift\":[]}");
	free(j);
}

/* Advice firing on several hosts lists each of them once (the advice array grows as it goes). */
static void test_query_sysctl_advice_hosts(void **state)
{
	fx_t *f = *state;
	const char *const recycle[] = {"net.ipv4.tcp_tw_recycle", "1", "net.core.somaxconn", "4096"};
	static const char *const names[] = {"web1", "web2", "web3", "web4", "web5"};

	for (int i = 0; i < 5; i++) {
		host(f, i + 1, names[i], "web");
		report_sysctls(f, i + 1, 1, recycle, 2);
	}
	char *j = query_text(f, "sysctl", (const char *const[]){"name=net.ipv4.tcp_tw_recycle", NULL});

	expect_in(j, "\"advice\":[{\"rule\":\"tw_recycle\",\"setting\":\"net.ipv4.tcp_tw_recycle\"");
	for (int i = 0; i < 5; i++) {
		char want[128];

		snprintf(want, sizeof(want), "{\"hostname\":\"%s\",\"tier\":\"web\","
		         "\"figures\":\"net.ipv4.tcp_tw_recycle = 1\"}", names[i]);
		expect_in(j, want);
	}
	free(j);
}

static void test_query_bad_options(void **state)
{
	fx_t *f = *state;
	col_qopts_t o;
	db_reader_t *rd;
	fs_buf_t out = FS_BUF_INIT;
	const char *why;
	char err[256];

	col_qopts_init(&o, NOW);
	assert_int_equal(col_qopts_set(&o, "state", "LISTENING", &why), -EINVAL);
	assert_int_equal(col_qopts_set(&o, "state", "LISTEN", &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(col_qopts_set(&o, "since", "5y", &why), -EINVAL);
	assert_int_equal(col_qopts_set(&o, "step", "9223372036854775s", &why), -EINVAL);
	assert_int_equal(col_qopts_set(&o, "since", "3651d", &why), -EINVAL);
	assert_int_equal(col_qopts_set(&o, "since", "3650d", &why), 0);
	o.since_ms = 0;
	assert_int_equal(col_qopts_set(&o, "limit", "0", &why), -EINVAL);
	assert_int_equal(col_qopts_set(&o, "limit", "10001", &why), -EINVAL);
	assert_int_equal(col_qopts_set(&o, "format", "xml", &why), -EINVAL);
	assert_int_equal(col_qopts_set(&o, "tier", "", &why), -EINVAL);
	assert_int_equal(col_qopts_set(&o, "colour", "red", &why), -ENOENT);
	assert_int_equal(col_qopts_set(&o, "state", "time_wait", &why), 0);
	assert_int_equal(o.state, WIRE_TIME_WAIT);

	host(f, 1, "web1", "web");
	assert_int_equal(db_reader_open(f->path, &rd, err, sizeof(err)), 0);
	/* A format the query does not render. */
	o.format = COL_FMT_IPSET;
	assert_int_equal(db_query(rd, COL_CMD_TIERS, &o, NULL, &out, &why), -EINVAL);
	assert_non_null(why);
	o.format = COL_FMT_TABLE;
	assert_int_equal(col_qopts_set(&o, "host", "nosuch", &why), 0);
	assert_int_equal(db_query(rd, COL_CMD_TREND, &o, NULL, &out, &why), -EINVAL);
	assert_string_equal(why, "no such host");
	o.host = NULL;
	o.since_ms = 30 * 86400000LL;
	o.step_ms = 10000;
	assert_int_equal(db_query(rd, COL_CMD_TREND, &o, NULL, &out, &why), -EINVAL);
	assert_non_null(why);
	db_reader_close(rd);
	fs_buf_close(&out);

	/* No file; not a fleetstat database. */
	assert_int_equal(db_reader_open("/nonexistent/x.db", &rd, err, sizeof(err)) < 0, 1);
	assert_null(rd);
}

static void test_query_table_csv(void **state)
{
	fx_t *f = *state;
	col_qopts_t o;
	db_reader_t *rd;
	fs_buf_t out = FS_BUF_INIT;
	const char *why;
	char err[256];

	fleet(f);
	col_qopts_init(&o, NOW);
	o.format = COL_FMT_CSV;
	o.tier = "web";
	assert_int_equal(db_reader_open(f->path, &rd, err, sizeof(err)), 0);
	assert_int_equal(db_query(rd, COL_CMD_TIERS, &o, NULL, &out, &why), 0);
	fs_buf_add(&out, "", 1);
	/* CSV keeps every state; the header first. */
	assert_non_null(strstr(out.p, "TIER,HOSTS,STALE,STATE,SUM,MEAN,MAX,MAX_HOST\n"
	                              "web,2,1,ESTABLISHED,150,75.0,100,web1\n"));
	assert_non_null(strstr(out.p, "web,2,1,CLOSING,0,0.0,0,web1\n"));
	fs_buf_close(&out);
	/* The table leaves out states no host has, and aligns. */
	o.format = COL_FMT_TABLE;
	assert_int_equal(db_query(rd, COL_CMD_TIERS, &o, NULL, &out, &why), 0);
	fs_buf_add(&out, "", 1);
	assert_string_equal(out.p,
		"TIER  HOSTS  STALE  STATE        SUM   MEAN  MAX  MAX_HOST\n"
		"web       2      1  ESTABLISHED  150   75.0  100  web1\n"
		"web       2      1  SYN_RECV       4    2.0    4  web2\n"
		"web       2      1  TIME_WAIT     10    5.0   10  web1\n"
		"web       2      1  CLOSE_WAIT   600  300.0  600  web2\n"
		"web       2      1  total        764  382.0  654  web2\n");
	fs_buf_close(&out);
	db_reader_close(rd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_query_tiers_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_hosts_tier, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_top_ips_now_upper_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_requests_evidence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_top_ips_since_peaks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_top_ips_minutes_equal_raw, setup, teardown),
		cmocka_unit_test(test_roll_top_cap),
		cmocka_unit_test_setup_teardown(test_query_requests_minutes_equal_raw, setup, teardown),
		cmocka_unit_test(test_roll_req_cap),
		cmocka_unit_test_setup_teardown(test_db_roll_hours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_suspects_week, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_trend_buckets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_trend_rollup_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_sysctl_drift, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_sysctl_advice_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_summary_slow_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_trend_tier_rollup_sums_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_trend_slow_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_bad_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_table_csv, setup, teardown),
	};

	return cmocka_run_group_tests_name("query", tests, NULL, NULL);
}
