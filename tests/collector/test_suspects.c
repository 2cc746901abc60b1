/* SPDX-License-Identifier: MIT */
/* test_suspects.c: the verdicts' edges, the CIDR lists, the [suspects] keys, the ipset form. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "suspects.h"

static wire_ip_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return (wire_ip_t){.len = 4, .b = {a, b, c, d}};
}

static void test_cfg_keys(void **state)
{
	col_suspect_cfg_t c;
	const char *why;

	(void)state;
	col_suspect_cfg_init(&c);
	assert_int_equal(col_suspect_cfg_set(&c, "suspect_min", "250", &why), 0);
	assert_int_equal(c.suspect_min, 250);
	assert_int_equal(col_suspect_cfg_set(&c, "syn_share", "0.7", &why), 0);
	assert_true(c.syn_share > 0.69 && c.syn_share < 0.71);
	assert_int_equal(col_suspect_cfg_set(&c, "baseline", "14d", &why), 0);
	assert_int_equal(c.baseline_ms, 14 * 86400000LL);
	assert_int_equal(col_suspect_cfg_set(&c, "allow", "10.0.0.0/8, 192.0.2.0/24", &why), 0);
	assert_int_equal(col_suspect_cfg_set(&c, "allow", "2001:db8::/32", &why), 0);
	assert_int_equal(c.n_allow, 3);
	assert_int_equal(col_suspect_cfg_set(&c, "ipset", "edge_block", &why), 0);
	assert_string_equal(c.ipset, "edge_block");
	assert_int_equal(col_suspect_cfg_set(&c, "colour", "red", &why), -ENOENT);
	assert_int_equal(col_suspect_cfg_set(&c, "syn_share", "1.5", &why), -EINVAL);
	assert_int_equal(col_suspect_cfg_set(&c, "syn_share", "", &why), -EINVAL);
	assert_int_equal(col_suspect_cfg_set(&c, "nat_growth", "0.5", &why), -EINVAL);
	assert_int_equal(col_suspect_cfg_set(&c, "suspect_min", "0", &why), -EINVAL);
	assert_int_equal(col_suspect_cfg_set(&c, "suspect_min", "12x", &why), -EINVAL);
	assert_int_equal(col_suspect_cfg_set(&c, "baseline", "10m", &why), -EINVAL);
	assert_int_equal(col_suspect_cfg_set(&c, "flood_min_hours", "0", &why), -EINVAL);
	assert_int_equal(col_suspect_cfg_set(&c, "flood_min_hours", "9000", &why), -EINVAL);
	assert_int_equal(col_suspect_cfg_set(&c, "deny", "10.0.0.0/8 nonsense", &why), -EINVAL);
	assert_int_equal(col_suspect_cfg_set(&c, "ipset", "a b", &why), -EINVAL);
	assert_non_null(why);
}

/* An IP with est ESTABLISHED and syn SYN_RECV in the window, on one host. */
static col_suspect_t ip(uint32_t est, uint32_t syn, uint32_t present, uint32_t hours,
                        uint64_t median)
{
	col_suspect_t s = {0};

	s.w.ip = ip4(203, 0, 113, 9);
	s.w.st[WIRE_ESTABLISHED] = est;
	s.w.st[WIRE_SYN_RECV] = syn;
	s.w.count = s.w.host_max = s.w.tier_max = (uint64_t)est + syn;
	s.w.hosts = 1;
	s.hours_present = present;
	s.hours_baseline = hours;
	s.baseline_median = median;
	return s;
}

static col_verdict_t judge(const col_suspect_cfg_t *c, col_suspect_t s)
{
	col_suspect_judge(c, &s);
	return s.verdict;
}

static void test_verdict_edges(void **state)
{
	col_suspect_cfg_t c;

	(void)state;
	col_suspect_cfg_init(&c);
	/* syn-flood: 100 SYN_RECV and half the connections, both at their edges. */
	assert_int_equal(judge(&c, ip(100, 100, 168, 168, 200)), COL_V_SYN_FLOOD);
	assert_int_equal(judge(&c, ip(98, 99, 0, 168, 0)), COL_V_CONN_FLOOD);
	assert_int_equal(judge(&c, ip(101, 99, 168, 168, 200)), COL_V_WATCH);
	assert_int_equal(judge(&c, ip(105, 100, 168, 168, 200)), COL_V_WATCH);
	/* nat-egress: 80% ESTABLISHED, 34 of 168 hours (> 0.2), growth up to 3. */
	assert_int_equal(judge(&c, ip(480, 0, 34, 168, 160)), COL_V_NAT_EGRESS);
	assert_int_equal(judge(&c, ip(481, 0, 34, 168, 160)), COL_V_WATCH);
	assert_int_equal(judge(&c, ip(480, 0, 33, 168, 160)), COL_V_WATCH);
	assert_int_equal(judge(&c, ip(400, 101, 60, 168, 400)), COL_V_WATCH);  /* 79.8% */
	/* New, but too little history to tell sudden from usual: watch, below 24 hours of it. */
	assert_int_equal(judge(&c, ip(500, 0, 0, 0, 0)), COL_V_WATCH);
	assert_int_equal(judge(&c, ip(500, 0, 0, 23, 0)), COL_V_WATCH);
	assert_int_equal(judge(&c, ip(500, 0, 0, 24, 0)), COL_V_CONN_FLOOD);
	assert_int_equal(col_suspect_cfg_set(&c, "flood_min_hours", "1", &(const char *){0}), 0);
	assert_int_equal(judge(&c, ip(500, 0, 0, 1, 0)), COL_V_CONN_FLOOD);
	c.flood_min_hours = 24;
	/* conn-flood: at least 10 times its median and seen in at most 0.1 of the hours. */
	assert_int_equal(judge(&c, ip(400, 0, 16, 168, 40)), COL_V_CONN_FLOOD);
	assert_int_equal(judge(&c, ip(399, 0, 16, 168, 40)), COL_V_WATCH);
	assert_int_equal(judge(&c, ip(400, 0, 17, 168, 40)), COL_V_WATCH);
	assert_int_equal(judge(&c, ip(400, 0, 0, 168, 0)), COL_V_CONN_FLOOD);
	/* The lists win, allow first. */
	assert_int_equal(col_suspect_cfg_set(&c, "deny", "203.0.113.0/24", &(const char *){0}), 0);
	assert_int_equal(judge(&c, ip(480, 0, 34, 168, 160)), COL_V_DENIED);
	/* Written as ss prints a tcp6 socket's IPv4 peer, it is still the agents' folded IPv4. */
	assert_int_equal(col_suspect_cfg_set(&c, "allow", "::ffff:203.0.113.9", &(const char *){0}), 0);
	assert_int_equal(judge(&c, ip(100, 100, 0, 168, 0)), COL_V_ALLOWED);
	assert_true(col_verdict_blocks(COL_V_DENIED));
	assert_false(col_verdict_blocks(COL_V_ALLOWED));
	assert_false(col_verdict_blocks(COL_V_NAT_EGRESS));
	assert_false(col_verdict_blocks(COL_V_WATCH));
}

static void test_heavy(void **state)
{
	col_suspect_cfg_t c;
	col_top_ip_t w = {.host_max = 99, .tier_max = 99};

	(void)state;
	col_suspect_cfg_init(&c);
	assert_false(col_suspect_heavy(&c, &w, NULL));
	w.host_max = 100;
	assert_true(col_suspect_heavy(&c, &w, NULL));
	w.host_max = 60;
	w.tier_max = 100;   /* 60 + 40 on two hosts of a tier */
	assert_true(col_suspect_heavy(&c, &w, NULL));
	/* Few connections, many requests: a suspect from 10 a second. */
	w.host_max = w.tier_max = 1;
	assert_false(col_suspect_heavy(&c, &w, &(col_req_ip_t){.rate = 9.99}));
	assert_true(col_suspect_heavy(&c, &w, &(col_req_ip_t){.rate = 10}));
}

static void test_render_ipset(void **state)
{
	col_suspect_cfg_t c;
	col_qopts_t o;
	col_suspect_t s[4] = {ip(480, 0, 34, 168, 160), ip(0, 500, 0, 168, 0), ip(400, 0, 0, 168, 0),
	                      ip(200, 0, 0, 168, 0)};
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	col_suspect_cfg_init(&c);
	col_qopts_init(&o, 1796212800000LL);
	o.format = COL_FMT_IPSET;
	s[1].w.ip = ip4(198, 51, 100, 2);
	s[2].w.ip = (wire_ip_t){.len = 16, .b = {0x20, 0x01, 0x0d, 0xb8, [15] = 3}};
	s[3].w.ip = ip4(198, 51, 100, 4);
	for (int i = 0; i < 4; i++)
		col_suspect_judge(&c, &s[i]);
	assert_int_equal(s[3].verdict, COL_V_CONN_FLOOD);
	assert_int_equal(col_suspects_render(s, 3, &c, &o, 0, &b), 0);
	fs_buf_add(&b, "", 1);
	assert_string_equal(b.p,
		"# fleetstat suspects at 2026-12-02T12:00:00Z: 2 attack verdicts (syn-flood, conn-flood,"
		" flood, denied). Review before running; nothing is blocked by fleetstat.\n"
		"ipset create fleetstat-block hash:ip family inet -exist\n"
		"ipset add fleetstat-block 198.51.100.2 -exist  # syn-flood\n"
		"ipset create fleetstat-block6 hash:ip family inet6 -exist\n"
		"ipset add fleetstat-block6 2001:db8::3 -exist  # conn-flood\n");
	fs_buf_close(&b);
}

/* The text and JSON of suspects, judged. */
static char *render(const col_suspect_cfg_t *c, col_suspect_t *s, size_t n, uint32_t pending,
                    col_fmt_t fmt)
{
	col_qopts_t o;
	fs_buf_t b = FS_BUF_INIT;

	col_qopts_init(&o, 1796212800000LL);
	o.format = fmt;
	for (size_t i = 0; i < n; i++)
		col_suspect_judge(c, &s[i]);
	assert_int_equal(col_suspects_render(s, n, c, &o, pending, &b), 0);
	fs_buf_add(&b, "", 1);
	return b.p;
}

static void expect_in(const char *text, const char *part)
{
	if (strstr(text, part) == NULL)
		fail_msg("no \"%s\" in:\n%s", part, text);
}

/*
 * Baseline hours stored but not built yet: a verdict that rests on the
 * history waits (watch, saying so), never "too little history"; the lists and
 * syn-flood need no history.  Built, the same figures give the verdicts.
 */
/* ip() with what its est connections were measured doing. */
static col_suspect_t act(col_suspect_t s, uint64_t unanswered, uint64_t idle, uint64_t active)
{
	s.w.act = (col_activity_t){.hosts = 1, .established = s.w.st[WIRE_ESTABLISHED],
	                           .unanswered = unanswered, .idle = idle, .active = active};
	return s;
}

static void test_verdict_activity(void **state)
{
	col_suspect_cfg_t c;
	col_suspect_t s;
	char *t;

	(void)state;
	col_suspect_cfg_init(&c);
	/* No history at all: 80% never answered is a conn-flood from the first report ... */
	assert_int_equal(judge(&c, act(ip(400, 0, 0, 0, 0), 320, 380, 0)), COL_V_CONN_FLOOD);
	assert_int_equal(judge(&c, act(ip(400, 0, 0, 0, 0), 319, 400, 0)), COL_V_WATCH);
	/* ... a slowloris too (never answered, not idle) ... */
	assert_int_equal(judge(&c, act(ip(200, 0, 0, 0, 0), 200, 0, 150)), COL_V_CONN_FLOOD);
	/* ... and half answered is real traffic: busy, never an attack on counts alone. */
	assert_int_equal(judge(&c, act(ip(300, 0, 0, 0, 0), 150, 0, 300)), COL_V_BUSY);
	assert_int_equal(judge(&c, act(ip(300, 0, 0, 168, 0), 0, 0, 300)), COL_V_BUSY);
	/* Idle but answered (keep-alive pools): real traffic, not a flood. */
	assert_int_equal(judge(&c, act(ip(400, 0, 0, 0, 0), 0, 400, 0)), COL_V_BUSY);
	/* With the history of an egress, busy is nat-egress. */
	assert_int_equal(judge(&c, act(ip(300, 0, 34, 168, 160), 10, 0, 290)), COL_V_NAT_EGRESS);
	/* Never answered but sending a lot (an upload nobody answers: syslog, metrics): not a flood
	 * by activity; at most 64 KiB a connection on average is. */
	s = act(ip(400, 0, 0, 0, 0), 400, 0, 400);
	s.w.act.bytes_received = 400ull * 65537;
	assert_int_equal(judge(&c, s), COL_V_WATCH);
	s.w.act.bytes_received = 400ull * 65536;
	assert_int_equal(judge(&c, s), COL_V_CONN_FLOOD);
	/* SYN floods and the lists stay first. */
	assert_int_equal(judge(&c, act(ip(100, 100, 0, 0, 0), 0, 0, 100)), COL_V_SYN_FLOOD);
	/* Measured on too few of its connections: as without activity. */
	assert_int_equal(judge(&c, act(ip(19, 181, 0, 0, 0), 19, 19, 0)), COL_V_SYN_FLOOD);
	s = act(ip(400, 0, 0, 0, 0), 400, 400, 0);
	s.w.act.established = 19;
	s.w.act.unanswered = s.w.act.idle = 19;
	assert_int_equal(judge(&c, s), COL_V_WATCH);
	assert_int_equal(col_suspect_cfg_set(&c, "activity_min", "10", &(const char *){0}), 0);
	assert_int_equal(judge(&c, s), COL_V_CONN_FLOOD);
	assert_int_equal(col_suspect_cfg_set(&c, "flood_unanswered", "1.5", &(const char *){0}),
	                 -EINVAL);
	assert_int_equal(col_suspect_cfg_set(&c, "busy_answered", "0.9", &(const char *){0}), 0);
	assert_int_equal(judge(&c, act(ip(300, 0, 0, 0, 0), 60, 0, 300)), COL_V_WATCH);
	assert_false(col_verdict_blocks(COL_V_BUSY));
	assert_true(col_verdict_blocks(COL_V_CONN_FLOOD));

	/* Busy while the baseline is built: it waits (nat-egress may follow); conn-flood is final. */
	col_suspect_cfg_init(&c);
	col_suspect_t v[2] = {act(ip(300, 0, 0, 8, 0), 0, 10, 295), act(ip(400, 0, 0, 8, 0), 380, 390, 0)};

	v[1].w.ip = ip4(198, 51, 100, 40);
	v[0].hours_pending = v[1].hours_pending = 160;
	t = render(&c, v, 2, 160, COL_FMT_JSON);
	assert_int_equal(v[0].verdict, COL_V_BUSY);
	assert_true(col_suspect_waits(&v[0]));
	assert_int_equal(v[0].hours_pending, 160);
	assert_int_equal(v[1].verdict, COL_V_CONN_FLOOD);
	assert_int_equal(v[1].hours_pending, 0);
	expect_in(t, "\"verdict\":\"busy\"");
	expect_in(t, "\"activity\":{\"active\":295,\"unanswered\":0,\"idle\":10,");
	expect_in(t, "\"why\":\"380 of 400 connections never answered, idle 98%, active 0%\"");
	free(t);
	t = render(&c, v, 2, 160, COL_FMT_TABLE);
	expect_in(t, "0 of 300 connections never answered, idle 3%, active 98%; baseline being built:"
	             " 160 hours pending");
	free(t);
}

/* s with requests a second at rate, from agents user agents, a share of 4xx and of 5xx. */
static col_suspect_t req(col_suspect_t s, double rate, uint32_t agents, double s4, double s5)
{
	s.has_requests = true;
	s.rq.ip = s.w.ip;
	s.rq.rate = rate;
	s.rq.requests = 10000;
	s.rq.by_status[WIRE_REQ_4XX] = (uint64_t)(s4 * 10000);
	s.rq.by_status[WIRE_REQ_5XX] = (uint64_t)(s5 * 10000);
	s.rq.by_status[WIRE_REQ_2XX] = 10000 - s.rq.by_status[WIRE_REQ_4XX] - s.rq.by_status[WIRE_REQ_5XX];
	s.rq.user_agents = agents;
	s.rq.user_agents_capped = agents >= 256;
	return s;
}

static void test_verdict_requests(void **state)
{
	col_suspect_cfg_t c;
	col_suspect_t v[3], s;
	const char *why;
	char *t;

	(void)state;
	col_suspect_cfg_init(&c);
	/* A scraper: one agent, 50 a second, 60% 404; on one connection (not listed: 0). */
	assert_int_equal(judge(&c, req(ip(0, 0, 0, 0, 0), 50, 1, 0.6, 0)), COL_V_SCRAPER);
	assert_int_equal(judge(&c, req(ip(0, 0, 0, 0, 0), 50, 3, 0.2, 0)), COL_V_SCRAPER);
	assert_int_equal(judge(&c, req(ip(0, 0, 0, 0, 0), 50, 4, 0.6, 0)), COL_V_WATCH);
	assert_int_equal(judge(&c, req(ip(0, 0, 0, 0, 0), 50, 1, 0.19, 0)), COL_V_WATCH);
	assert_int_equal(judge(&c, req(ip(0, 0, 0, 0, 0), 9.9, 1, 0.6, 0)), COL_V_WATCH);
	/* A flood: from few agents at 200 a second, whatever the status ... */
	assert_int_equal(judge(&c, req(ip(0, 0, 0, 0, 0), 200, 1, 0, 0)), COL_V_FLOOD);
	assert_int_equal(judge(&c, req(ip(0, 0, 0, 0, 0), 199, 1, 0, 0)), COL_V_WATCH);
	/* ... or from many at 100 a second a connection (its ESTABLISHED counted). */
	assert_int_equal(judge(&c, req(ip(20, 0, 0, 0, 0), 2000, 256, 0.2, 0)), COL_V_FLOOD);
	assert_int_equal(judge(&c, req(ip(20, 0, 0, 0, 0), 1999, 256, 0.2, 0)), COL_V_WATCH);
	/* A NAT egress: 300 connections at 1 a second each, 200 agents, 3% errors; answered too. */
	assert_int_equal(judge(&c, req(act(ip(300, 0, 0, 0, 0), 0, 10, 290), 300, 200, 0.02, 0.01)),
	                 COL_V_NAT_EGRESS);
	assert_int_equal(judge(&c, req(ip(300, 0, 0, 0, 0), 300, 20, 0.05, 0.05)), COL_V_NAT_EGRESS);
	assert_int_equal(judge(&c, req(ip(300, 0, 0, 0, 0), 300, 19, 0.05, 0.05)), COL_V_WATCH);
	assert_int_equal(judge(&c, req(ip(300, 0, 0, 0, 0), 300, 200, 0.06, 0.05)), COL_V_WATCH);
	/* Many rotating agents over connections no list counted: not an egress (nor known a flood). */
	assert_int_equal(judge(&c, req(ip(0, 0, 0, 0, 0), 5000, 25, 0, 0)), COL_V_WATCH);
	/* Heavy by requests alone, judged watch: it waits for no baseline. */
	s = req(ip(0, 0, 0, 8, 0), 5000, 25, 0, 0);
	s.hours_pending = 160;
	col_suspect_judge(&c, &s);
	assert_int_equal(s.verdict, COL_V_WATCH);
	assert_false(col_suspect_waits(&s));
	/* Without user agents in the log (common): few agents is unknown, not "none". */
	assert_int_equal(judge(&c, req(ip(0, 0, 0, 0, 0), 500, 0, 0.6, 0)), COL_V_WATCH);
	/* Heavy by requests only, on a long baseline it never appeared in: no conn-flood. */
	assert_int_equal(judge(&c, req(ip(0, 0, 0, 168, 0), 50, 10, 0.6, 0)), COL_V_WATCH);
	assert_int_equal(judge(&c, req(ip(150, 0, 0, 168, 0), 50, 10, 0.6, 0)), COL_V_CONN_FLOOD);
	/* The SYN flood, a flood by activity and the lists come first. */
	assert_int_equal(judge(&c, req(ip(0, 300, 0, 0, 0), 300, 200, 0, 0)), COL_V_SYN_FLOOD);
	assert_int_equal(judge(&c, req(act(ip(400, 0, 0, 0, 0), 400, 400, 0), 300, 200, 0, 0)),
	                 COL_V_CONN_FLOOD);
	/* The keys. */
	assert_int_equal(col_suspect_cfg_set(&c, "request_rate_min", "60", &why), 0);
	assert_int_equal(judge(&c, req(ip(0, 0, 0, 0, 0), 50, 1, 0.6, 0)), COL_V_WATCH);
	assert_int_equal(col_suspect_cfg_set(&c, "few_agents", "1", &why), 0);
	assert_int_equal(col_suspect_cfg_set(&c, "scraper_4xx", "0.5", &why), 0);
	assert_int_equal(col_suspect_cfg_set(&c, "flood_rate", "1000", &why), 0);
	assert_int_equal(col_suspect_cfg_set(&c, "flood_per_connection", "500.5", &why), 0);
	assert_int_equal(col_suspect_cfg_set(&c, "nat_agents", "50", &why), 0);
	assert_int_equal(col_suspect_cfg_set(&c, "nat_errors", "0.3", &why), 0);
	assert_int_equal(judge(&c, req(ip(0, 0, 0, 0, 0), 999, 1, 0, 0)), COL_V_WATCH);
	assert_int_equal(judge(&c, req(ip(0, 0, 0, 0, 0), 100, 2, 0.6, 0)), COL_V_WATCH);
	assert_int_equal(judge(&c, req(ip(300, 0, 0, 0, 0), 300, 50, 0.2, 0.05)), COL_V_NAT_EGRESS);
	assert_int_equal(col_suspect_cfg_set(&c, "flood_rate", "0", &why), -EINVAL);
	assert_int_equal(col_suspect_cfg_set(&c, "few_agents", "0", &why), -EINVAL);
	assert_int_equal(col_suspect_cfg_set(&c, "nat_errors", "2", &why), -EINVAL);

	/* The reasons, the JSON, and the ipset: flood listed, scraper and egress not. */
	col_suspect_cfg_init(&c);
	v[0] = req(ip(0, 0, 0, 0, 0), 52, 1, 0.61, 0);
	v[1] = req(ip(20, 0, 0, 0, 0), 4000, 1, 0, 0);
	v[2] = req(act(ip(300, 0, 0, 0, 0), 0, 10, 290), 301, 200, 0.02, 0.01);
	v[1].w.ip = ip4(198, 51, 100, 41);
	v[2].w.ip = ip4(198, 51, 100, 42);
	t = render(&c, v, 3, 0, COL_FMT_JSON);
	assert_int_equal(v[0].verdict, COL_V_SCRAPER);
	assert_int_equal(v[1].verdict, COL_V_FLOOD);
	assert_int_equal(v[2].verdict, COL_V_NAT_EGRESS);
	expect_in(t, "\"why\":\"52 requests/s, 1 user agent, 4xx 61%, 5xx 0%\"");
	expect_in(t, "\"why\":\"4000 requests/s, 1 user agent, 4xx 0%, 5xx 0%, 200.0 a connection"
	             " over 20\"");
	expect_in(t, "\"why\":\"301 requests/s, 200 user agents, 4xx 2%, 5xx 1%, 1.0 a connection"
	             " over 300; 0 of 300 connections never answered");
	expect_in(t, "\"requests\":{\"total\":10000,\"upper_bound\":0,\"rate\":52.00,\"by_status\":"
	             "{\"1xx\":0,\"2xx\":3900,\"3xx\":0,\"4xx\":6100,\"5xx\":0,\"other\":0},"
	             "\"user_agents\":1,\"user_agents_capped\":false,\"per_connection\":null}");
	expect_in(t, "\"per_connection\":200.00}");
	free(t);
	t = render(&c, v, 3, 0, COL_FMT_IPSET);
	expect_in(t, "ipset add fleetstat-block 198.51.100.41 -exist  # flood\n");
	if (strstr(t, "203.0.113.9") || strstr(t, "198.51.100.42"))
		fail_msg("a scraper or an egress listed to block:\n%s", t);
	free(t);
	assert_true(col_verdict_blocks(COL_V_FLOOD));
	assert_false(col_verdict_blocks(COL_V_SCRAPER));
	/* Without requests: no "requests". */
	v[0] = ip(400, 0, 0, 0, 0);
	t = render(&c, v, 1, 0, COL_FMT_JSON);
	if (strstr(t, "\"requests\"") != NULL)
		fail_msg("requests without any:\n%s", t);
	free(t);
}

static void test_pending_hours(void **state)
{
	col_suspect_cfg_t c;
	/* A steady egress, and a newcomer, each judged on 8 of 168 hours built; a SYN flood. */
	col_suspect_t s[3] = {ip(450, 0, 3, 8, 500), ip(400, 0, 0, 8, 0), ip(0, 500, 0, 8, 0)};
	char *t;

	(void)state;
	col_suspect_cfg_init(&c);
	s[1].w.ip = ip4(198, 51, 100, 30);
	s[2].w.ip = ip4(198, 51, 100, 20);
	for (int i = 0; i < 3; i++)
		s[i].hours_pending = 160;
	t = render(&c, s, 3, 160, COL_FMT_TABLE);
	assert_int_equal(s[0].verdict, COL_V_WATCH);
	assert_int_equal(s[1].verdict, COL_V_WATCH);
	assert_int_equal(s[2].verdict, COL_V_SYN_FLOOD);
	assert_true(col_suspect_waits(&s[0]) && col_suspect_waits(&s[1]));
	assert_false(col_suspect_waits(&s[2]));
	assert_int_equal(s[2].hours_pending, 0); /* final: its JSON says pending_hours 0 */
	assert_int_equal(s[0].hours_pending, 160);
	expect_in(t, "over 100, baseline being built: 160 hours pending (its verdict waits for them)");
	if (strstr(t, "too little history") != NULL)
		fail_msg("too little history with 160 hours pending:\n%s", t);
	free(t);
	t = render(&c, s, 3, 160, COL_FMT_JSON);
	expect_in(t, "\"baseline_pending_hours\":160,");
	expect_in(t, "\"ip\":\"198.51.100.30\",\"verdict\":\"watch\",");
	expect_in(t, "\"growth\":null,\"pending_hours\":160,\"why\":\"over 100, baseline being built:");
	free(t);
	/* The lists win as ever. */
	assert_int_equal(col_suspect_cfg_set(&c, "deny", "198.51.100.30", &(const char *){0}), 0);
	col_suspect_judge(&c, &s[1]);
	assert_int_equal(s[1].verdict, COL_V_DENIED);
	assert_false(col_suspect_waits(&s[1]));
	assert_int_equal(s[1].hours_pending, 0);
	/* Built: the whole week's figures, and final verdicts. */
	col_suspect_cfg_init(&c);
	s[0] = ip(450, 0, 63, 168, 500);
	s[1] = ip(400, 0, 0, 168, 0);
	s[1].w.ip = ip4(198, 51, 100, 30);
	t = render(&c, s, 2, 0, COL_FMT_JSON);
	assert_int_equal(s[0].verdict, COL_V_NAT_EGRESS);
	assert_int_equal(s[1].verdict, COL_V_CONN_FLOOD);
	expect_in(t, "\"growth\":null,\"pending_hours\":0,\"why\":\"seen 0 of 168 hours before");
	free(t);
	/* Nothing pending and little stored: that is too little history. */
	s[1] = ip(400, 0, 0, 8, 0);
	t = render(&c, &s[1], 1, 0, COL_FMT_TABLE);
	assert_int_equal(s[1].verdict, COL_V_WATCH);
	assert_false(col_suspect_waits(&s[1]));
	expect_in(t, "the baseline holds 8 hours: too little history");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfg_keys),
		cmocka_unit_test(test_verdict_edges),
		cmocka_unit_test(test_verdict_activity),
		cmocka_unit_test(test_heavy),
		cmocka_unit_test(test_verdict_requests),
		cmocka_unit_test(test_render_ipset),
		cmocka_unit_test(test_pending_hours),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
