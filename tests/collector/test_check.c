/* SPDX-License-Identifier: MIT */
/* test_check.c: the collector's report checks and settings' syntax. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "check.h"

#define NOW 1800000000000LL
#define DAY 86400000LL

/* A consistent report: 2 listed IPs, rest and excluded adding up. */
static void make(wire_report_t *r, wire_remote_t *ips)
{
	memset(r, 0, sizeof(*r));
	memset(ips, 0, 2 * sizeof(*ips));
	r->seq = 1;
	r->collected_at_ms = NOW;
	r->interval_ms = 10000;
	r->states.n[WIRE_ESTABLISHED] = 10;
	r->states.n[WIRE_TIME_WAIT] = 4;
	r->states.n[WIRE_LISTEN] = 99; /* not part of the sums */
	ips[0].ip.len = 4;
	ips[0].ip.b[0] = 198;
	ips[0].st.n[WIRE_ESTABLISHED] = 6;
	ips[1].ip.len = 16;
	ips[1].ip.b[0] = 0x20;
	ips[1].st.n[WIRE_TIME_WAIT] = 3;
	r->top.ips = ips;
	r->top.n_ips = 2;
	r->top.limit = 20;
	r->top.rest.n[WIRE_ESTABLISHED] = 3;
	r->top.rest.n[WIRE_TIME_WAIT] = 1;
	r->top.excluded.n[WIRE_ESTABLISHED] = 1;
}

static void test_col_report_check_good(void **state)
{
	wire_report_t r;
	wire_remote_t ips[2];
	const char *why = NULL;

	(void)state;
	make(&r, ips);
	assert_int_equal(col_report_check(&r, NOW, 7 * DAY, &why), 0);
	/* A spool delivered after a six-day outage is welcome. */
	r.collected_at_ms = NOW - 6 * DAY;
	assert_int_equal(col_report_check(&r, NOW, 7 * DAY, &why), 0);
	/* A clock a minute ahead is skew, not an error. */
	r.collected_at_ms = NOW + 60000;
	assert_int_equal(col_report_check(&r, NOW, 7 * DAY, &why), 0);
}

static void test_col_report_check_bad(void **state)
{
	wire_report_t r;
	wire_remote_t ips[2];
	const char *why = NULL;

	(void)state;
	make(&r, ips);
	r.collected_at_ms = NOW + DAY;
	assert_int_equal(col_report_check(&r, NOW, 7 * DAY, &why), -EINVAL);
	assert_non_null(strstr(why, "ahead"));

	make(&r, ips);
	r.collected_at_ms = NOW - 8 * DAY;
	assert_int_equal(col_report_check(&r, NOW, 7 * DAY, &why), -EINVAL);
	assert_non_null(strstr(why, "retention"));

	make(&r, ips);
	r.interval_ms = 0;
	assert_int_equal(col_report_check(&r, NOW, 7 * DAY, &why), -EINVAL);

	make(&r, ips);
	r.top.rest.n[WIRE_ESTABLISHED]++;
	assert_int_equal(col_report_check(&r, NOW, 7 * DAY, &why), -EINVAL);
	assert_non_null(strstr(why, "add up"));

	make(&r, ips);
	ips[1] = ips[0];
	ips[1].st.n[WIRE_ESTABLISHED] = 0;
	ips[1].st.n[WIRE_TIME_WAIT] = 3;
	assert_int_equal(col_report_check(&r, NOW, 7 * DAY, &why), -EINVAL);
	assert_non_null(strstr(why, "twice"));

	make(&r, ips);
	r.top.limit = 0;
	assert_int_equal(col_report_check(&r, NOW, 7 * DAY, &why), -EINVAL);

	/* 2^32 - 1 connections in all is the most; LISTEN is not counted. */
	make(&r, ips);
	r.states.n[WIRE_ESTABLISHED] = UINT32_MAX - 4;
	r.top.rest.n[WIRE_ESTABLISHED] = UINT32_MAX - 4 - 7;
	r.states.n[WIRE_LISTEN] = UINT32_MAX;
	assert_int_equal(col_report_check(&r, NOW, 7 * DAY, &why), 0);
	r.states.n[WIRE_ESTABLISHED]++;
	r.top.rest.n[WIRE_ESTABLISHED]++;
	assert_int_equal(col_report_check(&r, NOW, 7 * DAY, &why), -EINVAL);
	assert_non_null(strstr(why, "2^32"));
}

static void test_col_parse_duration_cases(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(col_parse_duration("90", &ms), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(col_parse_duration("15m", &ms), 0);
	assert_int_equal(ms, 900000);
	assert_int_equal(col_parse_duration("24h", &ms), 0);
	assert_int_equal(ms, 86400000);
	assert_int_equal(col_parse_duration("7d", &ms), 0);
	assert_int_equal(ms, 7 * DAY);
	assert_int_equal(col_parse_duration("0s", &ms), -EINVAL);
	assert_int_equal(col_parse_duration("-5m", &ms), -EINVAL);
	assert_int_equal(col_parse_duration("5mm", &ms), -EINVAL);
	assert_int_equal(col_parse_duration("5w", &ms), -EINVAL);
	assert_int_equal(col_parse_duration("", &ms), -EINVAL);
	assert_int_equal(col_parse_duration("99999999999999999999d", &ms), -EINVAL);
}

static void test_col_parse_listen_cases(void **state)
{
	char host[64];
	int port;
	bool lb;

	(void)state;
	assert_int_equal(col_parse_listen("0.0.0.0:7400", host, sizeof(host), &port, &lb), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(port, 7400);
	assert_false(lb);
	assert_int_equal(col_parse_listen("127.0.0.1:1", host, sizeof(host), &port, &lb), 0);
	assert_true(lb);
	assert_int_equal(col_parse_listen("[::1]:7400", host, sizeof(host), &port, &lb), 0);
	assert_string_equal(host, "::1");
	assert_true(lb);
	assert_int_equal(col_parse_listen("[::]:7400", host, sizeof(host), &port, &lb), 0);
	assert_false(lb);
	assert_int_equal(col_parse_listen("*:7400", host, sizeof(host), &port, &lb), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(col_parse_listen("localhost:7400", host, sizeof(host), &port, &lb), -EINVAL);
	assert_int_equal(col_parse_listen("127.0.0.1", host, sizeof(host), &port, &lb), -EINVAL);
	assert_int_equal(col_parse_listen("127.0.0.1:0", host, sizeof(host), &port, &lb), -EINVAL);
	assert_int_equal(col_parse_listen("127.0.0.1:65536", host, sizeof(host), &port, &lb), -EINVAL);
	assert_int_equal(col_parse_listen("[::1:7400", host, sizeof(host), &port, &lb), -EINVAL);
	assert_int_equal(col_parse_listen(":7400", host, sizeof(host), &port, &lb), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_col_report_check_good),
		cmocka_unit_test(test_col_report_check_bad),
		cmocka_unit_test(test_col_parse_duration_cases),
		cmocka_unit_test(test_col_parse_listen_cases),
	};

	return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}
