/* SPDX-License-Identifier: MIT */
/* test_metrics.c: the Prometheus exposition of the fleet and the collector, on hand-made hosts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

#define NOW 1796212800000LL

static void expect_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	for (; (p = strstr(p, line)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	fail_msg("no line '%s' in:\n%s", line, text);
}

static void test_col_metrics_fleet_fleet(void **state)
{
	col_host_t h[3] = {
		{.id = 7, .hostname = "web1", .tier = "web", .has_report = true,
		 .collected_at_ms = NOW - 2000, .interval_ms = 10000},
		/* The same hostname again: a reinstalled host with a new agent id, now stale. */
		{.id = 9, .hostname = "web1", .tier = "web", .has_report = true,
		 .collected_at_ms = NOW - 600000, .interval_ms = 10000},
		{.id = 3, .hostname = "odd\"name\\x", .tier = "db", .has_report = true,
		 .collected_at_ms = NOW - 1000, .interval_ms = 10000},
	};
	col_selfstats_t self = {.connections_open = 2, .reports_stored = 41, .last_commit_us = 1500};
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	h[0].states.n[WIRE_CLOSE_WAIT] = 600;
	h[1].states.n[WIRE_CLOSE_WAIT] = 5;
	h[2].states.n[WIRE_ESTABLISHED] = 12;
	self.rejected[3] = 4;
	assert_int_equal(col_metrics_fleet(h, 3, NULL, 0, NOW, &b), 0);
	assert_int_equal(col_metrics_self(&self, &b), 0);
	fs_buf_add(&b, "", 1);
	/* Tier sums leave the stale host out; hosts are told apart by id; labels escaped. */
	expect_line(b.p, "fleetstat_tier_sockets{tier=\"web\",state=\"close_wait\"} 600");
	expect_line(b.p, "fleetstat_tier_hosts{tier=\"web\"} 1");
	expect_line(b.p, "fleetstat_tier_stale_hosts{tier=\"web\"} 1");
	expect_line(b.p, "fleetstat_host_stale{host=\"web1\",tier=\"web\",id=\"7\"} 0");
	expect_line(b.p, "fleetstat_host_stale{host=\"web1\",tier=\"web\",id=\"9\"} 1");
	expect_line(b.p, "fleetstat_host_sockets{host=\"odd\\\"name\\\\x\",tier=\"db\",id=\"3\","
	                 "state=\"established\"} 12");
	expect_line(b.p, "fleetstat_collector_connections 2");
	expect_line(b.p, "fleetstat_collector_reports_stored_total 41");
	expect_line(b.p, "fleetstat_collector_rejected_frames_total{reason=\"auth_failed\"} 4");
	expect_line(b.p, "fleetstat_collector_commit_last_seconds 0.001500");
	expect_line(b.p, "# TYPE fleetstat_collector_frames_total counter");
	/* One family's samples stand together: its TYPE line once (and there, or the search fails). */
	const char *type = "# TYPE fleetstat_host_stale gauge";

	expect_line(b.p, type);
	assert_null(strstr(strstr(b.p, type) + 1, type));
	fs_buf_close(&b);
}

/* Requests per tier a second from the fresh hosts' latest reports; tiers without logs: none. */
static void test_col_metrics_fleet_requests(void **state)
{
	wire_req_client_t c1[] = {
		{.ip = {.len = 4, .b = {198, 51, 100, 7}}, .requests = 600, .user_agents = 3},
		{.ip = {.len = 4, .b = {198, 51, 100, 8}}, .requests = 100},
	}, c2[] = {{.ip = {.len = 4, .b = {198, 51, 100, 7}}, .requests = 300}};
	col_host_t h[4] = {
		{.id = 1, .hostname = "web1", .tier = "web", .has_report = true,
		 .collected_at_ms = NOW - 2000, .interval_ms = 10000,
		 .requests = {.present = true, .total = 700, .bytes = 7000, .malformed = 20,
		              .clients = c1, .n_clients = 2}},
		{.id = 2, .hostname = "web2", .tier = "web", .has_report = true,
		 .collected_at_ms = NOW - 1000, .interval_ms = 5000,
		 .requests = {.present = true, .total = 300, .clients = c2, .n_clients = 1}},
		/* Stale: left out. */
		{.id = 3, .hostname = "web3", .tier = "web", .has_report = true,
		 .collected_at_ms = NOW - 600000, .interval_ms = 10000,
		 .requests = {.present = true, .total = 99999, .clients = c1, .n_clients = 2}},
		{.id = 4, .hostname = "db1", .tier = "db", .has_report = true,
		 .collected_at_ms = NOW - 1000, .interval_ms = 10000},
	};
	col_selfstats_t self = {0};
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	h[0].requests.by_status[WIRE_REQ_2XX] = 650;
	h[0].requests.by_status[WIRE_REQ_4XX] = 50;
	h[1].requests.by_status[WIRE_REQ_2XX] = 300;
	h[2].requests.by_status[WIRE_REQ_2XX] = 99999;
	assert_int_equal(col_metrics_fleet(h, 4, NULL, 0, NOW, &b), 0);
	assert_int_equal(col_metrics_self(&self, &b), 0);
	fs_buf_add(&b, "", 1);
	/* 650/10 s + 300/5 s; 50/10 s. */
	expect_line(b.p, "fleetstat_tier_requests_per_second{tier=\"web\",class=\"2xx\"} 125.000");
	expect_line(b.p, "fleetstat_tier_requests_per_second{tier=\"web\",class=\"4xx\"} 5.000");
	expect_line(b.p, "fleetstat_tier_request_bytes_per_second{tier=\"web\"} 700.000");
	expect_line(b.p, "fleetstat_tier_log_malformed_per_second{tier=\"web\"} 2.000");
	/* .7: 600/10 s on web1 + 300/5 s on web2. */
	expect_line(b.p, "fleetstat_tier_requester_requests_per_second{tier=\"web\",ip=\"198.51.100.7\"}"
	                 " 120.000");
	expect_line(b.p, "fleetstat_tier_requester_requests_per_second{tier=\"web\",ip=\"198.51.100.8\"}"
	                 " 10.000");
	assert_null(strstr(b.p, "tier=\"db\",class="));
	fs_buf_close(&b);
}

/* The kernel's counters as counters, where a report had them; attack verdicts per tier. */
static void test_col_metrics_fleet_counters_attacks(void **state)
{
	static const char *const web[] = {"web"}, *const both[] = {"db", "web"};
	col_host_t h[3] = {
		{.id = 1, .hostname = "web1", .tier = "web", .has_report = true,
		 .collected_at_ms = NOW - 2000, .interval_ms = 10000,
		 .counters = {[COL_CTR_LISTEN_OVERFLOWS] = 1234, [COL_CTR_LISTEN_DROPS] = 1300},
		 .counters_found = 1u << COL_CTR_LISTEN_OVERFLOWS | 1u << COL_CTR_LISTEN_DROPS},
		/* A report from /proc without TcpExt: no sample, not a 0 that would look like a reset. */
		{.id = 2, .hostname = "web2", .tier = "web", .has_report = true,
		 .collected_at_ms = NOW - 2000, .interval_ms = 10000},
		{.id = 3, .hostname = "db1", .tier = "db", .has_report = true,
		 .collected_at_ms = NOW - 2000, .interval_ms = 10000,
		 .counters = {[COL_CTR_SYNCOOKIES_SENT] = 7},
		 .counters_found = 1u << COL_CTR_SYNCOOKIES_SENT},
	};
	col_suspect_t s[COL_METRICS_SUSPECTS + 3];
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	memset(s, 0, sizeof(s));
	/* The watch ones first: the attacks still come first among the series kept. */
	for (size_t i = 0; i < COL_METRICS_SUSPECTS + 3; i++)
		s[i] = (col_suspect_t){.w = {.ip = {.len = 4, .b = {192, 0, 2, (uint8_t)i}},
		                             .count = 100 + i, .tiers = web, .n_tiers = 1},
		                       .verdict = COL_V_WATCH};
	s[COL_METRICS_SUSPECTS + 1].verdict = COL_V_SYN_FLOOD;
	s[COL_METRICS_SUSPECTS + 1].w.tiers = both;
	s[COL_METRICS_SUSPECTS + 1].w.n_tiers = 2;
	s[COL_METRICS_SUSPECTS + 2].verdict = COL_V_CONN_FLOOD;
	assert_int_equal(col_metrics_fleet(h, 3, s, COL_METRICS_SUSPECTS + 3, NOW, &b), 0);
	fs_buf_add(&b, "", 1);
	expect_line(b.p, "# TYPE fleetstat_host_listen_overflows_total counter");
	expect_line(b.p, "fleetstat_host_listen_overflows_total{host=\"web1\",tier=\"web\",id=\"1\"} 1234");
	expect_line(b.p, "fleetstat_host_listen_drops_total{host=\"web1\",tier=\"web\",id=\"1\"} 1300");
	expect_line(b.p, "fleetstat_host_syncookies_sent_total{host=\"db1\",tier=\"db\",id=\"3\"} 7");
	assert_null(strstr(b.p, "_total{host=\"web2\""));
	assert_null(strstr(b.p, "fleetstat_host_listen_overflows_total{host=\"db1\""));
	expect_line(b.p, "fleetstat_tier_attackers{tier=\"web\",verdict=\"syn-flood\"} 1");
	expect_line(b.p, "fleetstat_tier_attackers{tier=\"web\",verdict=\"conn-flood\"} 1");
	expect_line(b.p, "fleetstat_tier_attackers{tier=\"web\",verdict=\"flood\"} 0");
	expect_line(b.p, "fleetstat_tier_attackers{tier=\"db\",verdict=\"syn-flood\"} 1");
	expect_line(b.p, "fleetstat_tier_attackers{tier=\"db\",verdict=\"conn-flood\"} 0");
	assert_null(strstr(b.p, "verdict=\"watch\"} 0"));
	expect_line(b.p, "fleetstat_suspect_connections{ip=\"192.0.2.21\",verdict=\"syn-flood\"} 121");
	expect_line(b.p, "fleetstat_suspect_connections{ip=\"192.0.2.22\",verdict=\"conn-flood\"} 122");
	expect_line(b.p, "fleetstat_suspect_connections{ip=\"192.0.2.17\",verdict=\"watch\"} 117");
	assert_null(strstr(b.p, "ip=\"192.0.2.18\""));  /* 2 attacks + 18 of the watch: 20 */
	fs_buf_close(&b);
	/* Suspects not known (a stored list that does not decode): their families are left out. */
	assert_int_equal(col_metrics_fleet(h, 3, NULL, 0, NOW, &b), 0);
	fs_buf_add(&b, "", 1);
	assert_null(strstr(b.p, "fleetstat_tier_attackers"));
	expect_line(b.p, "fleetstat_host_syncookies_sent_total{host=\"db1\",tier=\"db\",id=\"3\"} 7");
	fs_buf_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_col_metrics_fleet_fleet),
		cmocka_unit_test(test_col_metrics_fleet_requests),
		cmocka_unit_test(test_col_metrics_fleet_counters_attacks),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
