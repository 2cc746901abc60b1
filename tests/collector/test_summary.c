/* SPDX-License-Identifier: MIT */
/* test_summary.c: thresholds and the summary's status, on hand-made figures. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "advice.h"
#include "summary.h"

static const col_summary_extra_t none;

#define NOW 1796212800000LL

static void test_col_thresholds_set_forms(void **state)
{
	col_thresholds_t th = {.n = 0};
	const char *why;

	(void)state;
	assert_int_equal(col_thresholds_set(&th, "web.CLOSE_WAIT", "300,1000", &why), 0);
	assert_string_equal(th.t[0].tier, "web");
	assert_int_equal(th.t[0].state, WIRE_CLOSE_WAIT);
	assert_int_equal(th.t[0].warning, 300);
	assert_int_equal(th.t[0].critical, 1000);
	assert_int_equal(col_thresholds_set(&th, "*.syn_recv", ",500", &why), 0);
	assert_int_equal(th.t[1].warning, 0);
	assert_int_equal(th.t[1].critical, 500);
	assert_int_equal(col_thresholds_set(&th, "db.total", "7", &why), 0);
	assert_int_equal(th.t[2].state, COL_STATE_TOTAL);
	assert_int_equal(col_thresholds_set(&th, "stale", "1,3", &why), 0);
	assert_int_equal(th.t[3].state, -1);
	assert_int_equal(col_thresholds_set(&th, "SyncookiesSent", "10,100", &why), 0);
	assert_int_equal(th.t[4].state, -2 - COL_CTR_SYNCOOKIES_SENT);
	assert_int_equal(th.n, 5);
}

static void test_col_thresholds_set_bad(void **state)
{
	static const char *const bad[][2] = {
		{"web.CLOSE_WAIT", "1000,300"}, {"web.CLOSE_WAIT", ""}, {"web.CLOSE_WAIT", "0"},
		{"web.CLOSE_WAIT", "ten"}, {"web.CLOSE_WAIT", "1,2,3"}, {"web.LISTEN", "1"},
		{"web.BOGUS", "1"}, {"Web Tier.ESTABLISHED", "1"}, {"ListenOverflow", "1"},
		{".ESTABLISHED", "1"}, {"web.CLOSE_WAIT", "-5"},
	};
	col_thresholds_t th = {.n = 0};
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (col_thresholds_set(&th, bad[i][0], bad[i][1], &why) != -EINVAL)
			fail_msg("accepted %s = %s", bad[i][0], bad[i][1]);
		assert_non_null(why);
	}
	assert_int_equal(th.n, 0);
	for (int i = 0; i < COL_MAX_THRESHOLDS; i++)
		assert_int_equal(col_thresholds_set(&th, "web.total", "1", &why), 0);
	assert_int_equal(col_thresholds_set(&th, "web.total", "1", &why), -EINVAL);
}

/* The status of one tier whose CLOSE_WAIT peak is cw, one stale host, a counter rate. */
static int status_of(const char *name, const char *value, uint64_t cw, double overflows)
{
	col_host_t hosts[2] = {
		{.id = 1, .hostname = "web1", .tier = "web", .labels_json = "{}", .agent_version = "",
		 .has_report = true, .collected_at_ms = NOW - 1000, .interval_ms = 10000},
		{.id = 2, .hostname = "web2", .tier = "web", .labels_json = "{}", .agent_version = "",
		 .has_report = true, .collected_at_ms = NOW - 60000, .interval_ms = 10000},
	};
	col_tier_peak_t peak = {.tier = "web"};
	col_host_rates_t rates = {.host = &hosts[0], .per_min = {overflows, -1, -1, -1}};
	col_thresholds_t th = {.n = 0};
	col_qopts_t o;
	fs_buf_t b = FS_BUF_INIT;
	const char *why;
	int rc;

	peak.peak[WIRE_CLOSE_WAIT] = cw;
	col_qopts_init(&o, NOW);
	o.since_ms = 3600000;
	o.format = COL_FMT_JSON;
	assert_int_equal(col_thresholds_set(&th, name, value, &why), 0);
	rc = col_summary_render(hosts, 2, &peak, 1, &rates, 1, &none, &th, &o, &b);
	fs_buf_close(&b);
	return rc;
}

static void test_col_summary_render_levels(void **state)
{
	(void)state;
	assert_int_equal(status_of("web.CLOSE_WAIT", "300,600", 299, 0), COL_OK);
	assert_int_equal(status_of("web.CLOSE_WAIT", "300,600", 300, 0), COL_WARNING);
	assert_int_equal(status_of("web.CLOSE_WAIT", "300,600", 599, 0), COL_WARNING);
	assert_int_equal(status_of("web.CLOSE_WAIT", "300,600", 600, 0), COL_CRITICAL);
	assert_int_equal(status_of("*.CLOSE_WAIT", ",600", 599, 0), COL_OK);
	assert_int_equal(status_of("db.CLOSE_WAIT", "1,2", 900, 0), COL_OK);
	/* web2's report is a minute old at a 10 s interval: one stale host. */
	assert_int_equal(status_of("stale", "1,2", 0, 0), COL_WARNING);
	assert_int_equal(status_of("stale", "2,3", 0, 0), COL_OK);
	assert_int_equal(status_of("ListenOverflows", "10,100", 0, 99.5), COL_WARNING);
	assert_int_equal(status_of("ListenOverflows", "10,100", 0, 100), COL_CRITICAL);
	assert_int_equal(status_of("ListenDrops", "1,2", 0, 100), COL_OK); /* unknown: no alert */
}

static void test_col_summary_render_json(void **state)
{
	col_host_t h = {.id = 1, .hostname = "web\"1", .tier = "web", .labels_json = "{}",
	                .agent_version = "", .has_report = true,
	                .collected_at_ms = NOW - 1000, .interval_ms = 10000};
	col_tier_peak_t peak = {.tier = "web"};
	col_thresholds_t th = {.n = 0};
	col_qopts_t o;
	fs_buf_t b = FS_BUF_INIT;
	const char *why;

	(void)state;
	peak.peak[WIRE_CLOSE_WAIT] = 700;
	peak.peak[WIRE_NSTATES] = 900;
	col_qopts_init(&o, NOW);
	o.since_ms = 600000;
	o.format = COL_FMT_JSON;
	assert_int_equal(col_thresholds_set(&th, "web.CLOSE_WAIT", "300,600", &why), 0);
	assert_int_equal(col_summary_render(&h, 1, &peak, 1, NULL, 0, &none, &th, &o, &b), COL_CRITICAL);
	fs_buf_add(&b, "", 1);
	assert_non_null(strstr(b.p, "\"status\":\"CRITICAL\",\"exit_code\":2,\"alerts\":[{\"level\":"
	                            "\"CRITICAL\",\"what\":\"web CLOSE_WAIT peak\",\"value\":700,"
	                            "\"threshold\":600}]"));
	assert_non_null(strstr(b.p, "\"CLOSE_WAIT\":700,\"LAST_ACK\":0,\"CLOSING\":0,\"total\":900"));
	assert_non_null(strstr(b.p, "\"stale\":[],\"counters\":[],\"pending_hours\":0,"
	                            "\"pending_verdicts\":0,\"attacks\":[],\"requesters_since_ms\":0,"
	                            "\"requesters\":[],\"advice\":[]}"));
	fs_buf_close(&b);
	/* An empty fleet is UNKNOWN, not OK. */
	assert_int_equal(col_summary_render(NULL, 0, NULL, 0, NULL, 0, &none, &th, &o, &b), COL_UNKNOWN);
	fs_buf_add(&b, "", 1);
	assert_non_null(strstr(b.p, "\"what\":\"no agent has reported yet\""));
	fs_buf_close(&b);
	/* So is one whose agents said Hello but have no report stored. */
	h.has_report = false;
	assert_int_equal(col_summary_render(&h, 1, NULL, 0, NULL, 0, &none, &th, &o, &b), COL_UNKNOWN);
	fs_buf_close(&b);
}

/* However many alerts there are, each is listed and the worst one sets the status. */
static void test_col_summary_render_many_alerts(void **state)
{
	enum { N = 300 };
	col_host_t h = {.id = 1, .hostname = "web1", .tier = "t0", .labels_json = "{}",
	                .agent_version = "", .has_report = true, .collected_at_ms = NOW - 1000,
	                .interval_ms = 10000};
	col_tier_peak_t *peaks = calloc(N, sizeof(*peaks));
	char (*names)[8] = calloc(N, sizeof(*names));
	col_thresholds_t th = {.n = 0};
	col_suspect_t attack = {.verdict = COL_V_SYN_FLOOD};
	col_summary_extra_t one = {.attacks = &attack, .n_attacks = 1};
	fs_buf_t b = FS_BUF_INIT;
	col_qopts_t o;
	const char *why;
	size_t n = 0;

	(void)state;
	assert_non_null(peaks);
	assert_non_null(names);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "t%d", i);
		peaks[i].tier = names[i];
		peaks[i].peak[WIRE_CLOSE_WAIT] = 10;
	}
	col_qopts_init(&o, NOW);
	o.since_ms = 3600000;
	o.format = COL_FMT_JSON;
	assert_int_equal(col_thresholds_set(&th, "*.CLOSE_WAIT", "5", &why), 0);
	/* 300 tiers over a warning, then the attack's default CRITICAL. */
	assert_int_equal(col_summary_render(&h, 1, peaks, N, NULL, 0, &one, &th, &o, &b), COL_CRITICAL);
	fs_buf_add(&b, "", 1);
	for (const char *p = b.p; (p = strstr(p, "{\"level\":")) != NULL; p++)
		n++;
	assert_int_equal(n, N + 1);
	fs_buf_close(&b);
	free(names);
	free(peaks);
}

/* Attack verdicts are CRITICAL and advice a WARNING, unless [thresholds] says otherwise. */
static int status_with(size_t n_attacks, size_t n_advice, const char *name, const char *value,
                       col_fmt_t fmt, fs_buf_t *b)
{
	col_host_t h = {.id = 1, .hostname = "web1", .tier = "web", .labels_json = "{}",
	                .agent_version = "", .has_report = true,
	                .collected_at_ms = NOW - 1000, .interval_ms = 10000};
	col_tier_peak_t peak = {.tier = "web"};
	col_suspect_t sus[2] = {
		{.w = {.ip = {.len = 4, .b = {192, 0, 2, 7}}, .count = 500, .hosts = 3},
		 .verdict = COL_V_SYN_FLOOD},
		{.w = {.ip = {.len = 4, .b = {198, 51, 100, 9}}, .count = 400, .hosts = 1},
		 .verdict = COL_V_CONN_FLOOD},
	};
	col_advice_t adv[2] = {
		{.rule = COL_ADV_SYNCOOKIES, .host = &h, .figures = "tcp_syncookies=0"},
		{.rule = COL_ADV_TW_RECYCLE, .host = &h, .figures = "tcp_tw_recycle=1"},
	};
	col_req_ip_t top = {.ip = {.len = 4, .b = {203, 0, 113, 5}}, .requests = 9000,
	                    .upper_bound = 9100, .rate = 52.5, .user_agents = 1, .hosts = 2};
	col_summary_extra_t x = {.attacks = sus, .n_attacks = n_attacks, .advice = adv,
	                         .n_advice = n_advice, .requesters = &top, .n_requesters = 1,
	                         .requesters_ms = 900000};
	col_thresholds_t th = {.n = 0};
	col_qopts_t o;
	const char *why;

	sus[0].w.st[WIRE_SYN_RECV] = 500;
	col_qopts_init(&o, NOW);
	o.since_ms = 900000;
	o.format = fmt;
	if (name != NULL)
		assert_int_equal(col_thresholds_set(&th, name, value, &why), 0);
	return col_summary_render(&h, 1, &peak, 1, NULL, 0, &x, &th, &o, b);
}

static void test_col_summary_render_attacks_advice(void **state)
{
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	assert_int_equal(status_with(0, 0, NULL, NULL, COL_FMT_JSON, &b), COL_OK);
	fs_buf_close(&b);
	assert_int_equal(status_with(0, 1, NULL, NULL, COL_FMT_JSON, &b), COL_WARNING);
	fs_buf_add(&b, "", 1);
	assert_non_null(strstr(b.p, "\"what\":\"tuning advice\",\"value\":1"));
	assert_non_null(strstr(b.p, "\"attacks\":[],\"requesters_since_ms\":900000,\"requesters\":"
	                            "[{\"ip\":\"203.0.113.5\",\"requests\":9000,\"upper_bound\":9100,"
	                            "\"rate\":52.50,\"user_agents\":1,\"hosts\":2}],\"advice\":[{"));
	fs_buf_close(&b);
	assert_int_equal(status_with(2, 1, NULL, NULL, COL_FMT_JSON, &b), COL_CRITICAL);
	fs_buf_add(&b, "", 1);
	assert_non_null(strstr(b.p, "\"attacks\":[{\"ip\":\"192.0.2.7\",\"verdict\":\"syn-flood\","
	                            "\"peak\":500,\"syn_recv\":500,\"hosts\":3},{\"ip\":"
	                            "\"198.51.100.9\",\"verdict\":\"conn-flood\""));
	fs_buf_close(&b);
	/* The config moves the levels: attacks a warning from 1, critical from 3. */
	assert_int_equal(status_with(2, 0, "attacks", "1,3", COL_FMT_JSON, &b), COL_WARNING);
	fs_buf_close(&b);
	assert_int_equal(status_with(0, 2, "advice", ",2", COL_FMT_JSON, &b), COL_CRITICAL);
	fs_buf_close(&b);
	assert_int_equal(status_with(0, 1, "advice", ",2", COL_FMT_JSON, &b), COL_OK);
	fs_buf_close(&b);
	/* Text for mail names each attack and each piece of advice. */
	assert_int_equal(status_with(1, 1, NULL, NULL, COL_FMT_TABLE, &b), COL_CRITICAL);
	fs_buf_add(&b, "", 1);
	assert_non_null(strstr(b.p, "Attack verdicts over the window (fleetstat suspects): 1\n"
	                            "  192.0.2.7       syn-flood  500 connections (500 SYN_RECV) on 3 hosts\n"));
	assert_non_null(strstr(b.p, "Top requesters, the last 15 minutes (fleetstat requests): 1\n"
	                            "  203.0.113.5     9000 requests (up to 9100), 52/s at most, 1 user"
	                            " agent, 2 hosts\n"));
	assert_non_null(strstr(b.p, "Tuning advice (fleetstat sysctl): 1\n"));
	assert_non_null(strstr(b.p, "tcp_syncookies=0"));
	fs_buf_close(&b);
}

/* While baseline hours are still to be built, the summary says so and how many verdicts wait. */
static void test_col_summary_render_pending(void **state)
{
	col_host_t h = {.id = 1, .hostname = "web1", .tier = "web", .labels_json = "{}",
	                .agent_version = "", .has_report = true,
	                .collected_at_ms = NOW - 1000, .interval_ms = 10000};
	col_suspect_t attack = {.w = {.ip = {.len = 4, .b = {192, 0, 2, 7}}, .count = 500, .hosts = 3},
	                        .hours_pending = 63, .verdict = COL_V_SYN_FLOOD};
	col_summary_extra_t x = {.attacks = &attack, .n_attacks = 1, .pending_hours = 63,
	                         .n_waiting = 2};
	col_thresholds_t th = {.n = 0};
	fs_buf_t b = FS_BUF_INIT;
	col_qopts_t o;

	(void)state;
	attack.w.st[WIRE_SYN_RECV] = 500;
	col_qopts_init(&o, NOW);
	o.since_ms = 900000;
	assert_int_equal(col_summary_render(&h, 1, NULL, 0, NULL, 0, &x, &th, &o, &b), COL_CRITICAL);
	fs_buf_add(&b, "", 1);
	assert_non_null(strstr(b.p, "on 3 hosts\n  baseline being built: 63 hours pending; 2 heavy"
	                            " IPs wait for it (watch until then)\n"));
	fs_buf_close(&b);
	o.format = COL_FMT_JSON;
	x.n_waiting = 1;
	assert_int_equal(col_summary_render(&h, 1, NULL, 0, NULL, 0, &x, &th, &o, &b), COL_CRITICAL);
	fs_buf_add(&b, "", 1);
	assert_non_null(strstr(b.p, "\"pending_hours\":63,\"pending_verdicts\":1,\"attacks\":[{"));
	fs_buf_close(&b);
	/* Built: no note. */
	o.format = COL_FMT_TABLE;
	x.pending_hours = 0;
	x.n_waiting = 0;
	assert_int_equal(col_summary_render(&h, 1, NULL, 0, NULL, 0, &x, &th, &o, &b), COL_CRITICAL);
	fs_buf_add(&b, "", 1);
	assert_null(strstr(b.p, "baseline being built"));
	fs_buf_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_col_thresholds_set_forms),
		cmocka_unit_test(test_col_thresholds_set_bad),
		cmocka_unit_test(test_col_summary_render_levels),
		cmocka_unit_test(test_col_summary_render_json),
		cmocka_unit_test(test_col_summary_render_many_alerts),
		cmocka_unit_test(test_col_summary_render_attacks_advice),
		cmocka_unit_test(test_col_summary_render_pending),
	};

	return cmocka_run_group_tests_name("summary", tests, NULL, NULL);
}
