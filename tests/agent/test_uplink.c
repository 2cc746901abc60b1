/* SPDX-License-Identifier: MIT */
/* test_uplink.c: collector lists and failover, backoff, seq after Welcome, sysctl lists. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "uplink.h"

static void test_ag_backoff_next_doubles_to_cap(void **state)
{
	static const uint64_t bases[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
	uint64_t base = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		/* rnd 0 gives the shortest wait, half the base. */
		assert_int_equal(ag_backoff_next(&base, 0), bases[i] / 2);
	}
	base = 0;
	assert_int_equal(ag_backoff_next(&base, 500), 1000);  /* the longest: the base */
	assert_int_equal(base, 2000);
}

static void test_ag_backoff_next_jitter_in_range(void **state)
{
	(void)state;
	for (uint32_t rnd = 0; rnd < 100000; rnd += 7919) {
		uint64_t base = 0, d = 0;

		for (int i = 0; i < 10; i++) {
			uint64_t cur = base < 1000 ? 1000 : base;

			d = ag_backoff_next(&base, rnd * 2654435761u);
			assert_true(d >= cur / 2 && d <= cur);
		}
		assert_true(d <= AG_BACKOFF_MAX_MS && d >= AG_BACKOFF_MAX_MS / 2);
	}
}

static void test_ag_seq_after_welcome_cases(void **state)
{
	(void)state;
	assert_int_equal(ag_seq_after_welcome(10, 7), 10);   /* usual */
	assert_int_equal(ag_seq_after_welcome(0, 0), 0);     /* new agent */
	assert_int_equal(ag_seq_after_welcome(3, 500), 500); /* state lost */
	assert_int_equal(ag_seq_after_welcome(500, 500), 500);
}

static void test_ag_kv_equal_cases(void **state)
{
	wire_kv_t a[] = {{"net.core.somaxconn", "4096"}, {"net.ipv4.tcp_fin_timeout", "60"}};
	wire_kv_t b[] = {{"net.ipv4.tcp_fin_timeout", "60"}, {"net.core.somaxconn", "4096"}};
	wire_kv_t c[] = {{"net.core.somaxconn", "4096"}, {"net.ipv4.tcp_fin_timeout", "30"}};
	wire_kv_t d[] = {{"net.core.somaxconn", "4096"}, {"net.ipv4.tcp_tw_reuse", "60"}};

	(void)state;
	assert_true(ag_kv_equal(a, 2, a, 2));
	assert_true(ag_kv_equal(a, 2, b, 2));
	assert_false(ag_kv_equal(a, 2, c, 2));
	assert_false(ag_kv_equal(a, 2, d, 2));
	assert_false(ag_kv_equal(a, 2, a, 1));
	assert_true(ag_kv_equal(NULL, 0, NULL, 0));
}

static void test_ag_kv_dup_copies(void **state)
{
	wire_kv_t a[] = {{"x", "1"}, {"y", "2 3"}};
	wire_kv_t *c = (wire_kv_t *)1;

	(void)state;
	assert_int_equal(ag_kv_dup(a, 2, &c), 0);
	assert_true(c[0].name != a[0].name);
	assert_true(ag_kv_equal(a, 2, c, 2));
	ag_kv_free(c, 2);
	assert_int_equal(ag_kv_dup(a, 0, &c), 0);
	assert_null(c);
	ag_kv_free(NULL, 0);
}

static void test_ag_addrs_parse_lists(void **state)
{
	ag_addrs_t l;
	char err[512] = "";

	(void)state;
	assert_int_equal(ag_addrs_parse("127.0.0.1:7400", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.a[0].host, "127.0.0.1");
	assert_string_equal(l.a[0].port, "7400");
	assert_string_equal(l.a[0].text, "127.0.0.1:7400");

	assert_int_equal(ag_addrs_parse("a.example:7400, [::1]:7401 ,\t[2001:db8::5]:1,b:65535",
	                                &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.a[0].host, "a.example");
	assert_string_equal(l.a[1].host, "::1");
	assert_string_equal(l.a[1].port, "7401");
	assert_string_equal(l.a[1].text, "[::1]:7401");   /* blanks trimmed */
	assert_string_equal(l.a[2].host, "2001:db8::5");
	assert_string_equal(l.a[2].port, "1");
	assert_string_equal(l.a[3].port, "65535");

	/* Leading zeros are the same port; the entry is kept as written for logs. */
	assert_int_equal(ag_addrs_parse("h:07400", &l, err, sizeof(err)), 0);
	assert_string_equal(l.a[0].port, "7400");
	assert_string_equal(l.a[0].text, "h:07400");
}

static void test_ag_addrs_parse_bounds(void **state)
{
	char list[AG_COLLECTORS_MAX * 16 + 32] = "", host[AG_HOST_MAX + 8];
	ag_addrs_t l;
	char err[512] = "";
	size_t len = 0;

	(void)state;
	for (int i = 0; i < AG_COLLECTORS_MAX; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%sc%d:7400", i ? "," : "", i);
	assert_int_equal(ag_addrs_parse(list, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, AG_COLLECTORS_MAX);
	assert_string_equal(l.a[AG_COLLECTORS_MAX - 1].host, "c15");
	snprintf(list + len, sizeof(list) - len, ",one-more:7400");
	assert_int_equal(ag_addrs_parse(list, &l, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "more than 16 collectors");

	memset(host, 'h', AG_HOST_MAX);
	snprintf(host + AG_HOST_MAX, sizeof(host) - AG_HOST_MAX, ":1");
	assert_int_equal(ag_addrs_parse(host, &l, err, sizeof(err)), 0);
	assert_int_equal(strlen(l.a[0].host), AG_HOST_MAX);
	memset(host, 'h', AG_HOST_MAX + 1);
	snprintf(host + AG_HOST_MAX + 1, sizeof(host) - AG_HOST_MAX - 1, ":1");
	assert_int_equal(ag_addrs_parse(host, &l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "has a host longer than 255 bytes"));
}

static void test_ag_addrs_parse_refused(void **state)
{
	static const struct {
		const char *in;
		const char *err;
	} cases[] = {
		{"", "entry 1 is empty"},
		{"   ", "entry 1 is empty"},
		{",a:1", "entry 1 is empty"},
		{"a:1,", "entry 2 is empty"},
		{"a:1,,b:1", "entry 2 is empty"},
		{"a:1, ,b:1", "entry 2 is empty"},
		{"nohost", "entry 1 'nohost' is not HOST:PORT"},
		{"a:1,b", "entry 2 'b' is not HOST:PORT"},
		{":7400", "entry 1 ':7400' is not HOST:PORT"},
		{"a:", "entry 1 'a:' has no port from 1 to 65535"},
		{"a:0", "entry 1 'a:0' has no port from 1 to 65535"},
		{"a:65536", "has no port from 1 to 65535"},
		{"a:99999999999999999999", "has no port from 1 to 65535"},
		{"a:-1", "has no port from 1 to 65535"},
		{"a:+1", "has no port from 1 to 65535"},
		{"a:74 00", "has no port from 1 to 65535"},
		{"a:7400x", "has no port from 1 to 65535"},
		{"a:000007400", "has no port from 1 to 65535"},
		{"::1:7400", "an IPv6 address goes in brackets"},
		{"[::1]", "is not HOST:PORT ([V6]:PORT for IPv6)"},
		{"[::1]7400", "is not HOST:PORT ([V6]:PORT for IPv6)"},
		{"[::1:7400", "is not HOST:PORT ([V6]:PORT for IPv6)"},
		{"[]:7400", "has no IPv6 address in its brackets"},
		{"[host]:7400", "has no IPv6 address in its brackets"},
		{"[::1]:0", "has no port from 1 to 65535"},
		{"a b:1", "the host has a blank or a bracket"},
		{"a]:1", "the host has a blank or a bracket"},
		{"a:1,b:2,A:1", "entry 3 'A:1' is listed twice"},
		{"[::1]:7400,[::1]:07400", "entry 2 '[::1]:07400' is listed twice"},
	};
	ag_addrs_t l;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";

		assert_int_equal(ag_addrs_parse(cases[i].in, &l, err, sizeof(err)), -EINVAL);
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("'%s': said '%s', not '%s'", cases[i].in, err, cases[i].err);
	}
}

static void test_ag_failover_next_one_address(void **state)
{
	ag_failover_t f;

	(void)state;
	ag_failover_init(&f, 1);
	/* One collector: every failure ends a round, as before lists. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ag_failover_next(&f), 1);
		assert_int_equal(f.cur, 0);
	}
	ag_failover_connected(&f);
	assert_int_equal(ag_failover_next(&f), 1);
}

static void test_ag_failover_next_in_order(void **state)
{
	/* Each step: the address in use fails ('f', want: a wait?) or takes the agent ('w'). */
	static const struct {
		char op;
		int wait;
		size_t cur;
	} steps[] = {
		/* All three down: 0, 1, 2 at once, a wait, and the round again from 0. */
		{'f', 0, 1}, {'f', 0, 2}, {'f', 1, 0},
		{'f', 0, 1}, {'f', 0, 2}, {'f', 1, 0},
		/* 0 down, 1 takes the agent: it stays on 1. */
		{'f', 0, 1}, {'w', 0, 1},
		/* 1 lost: on to 2 at once; 2 down: 0 at once (after the end, the first). */
		{'f', 0, 2}, {'f', 0, 0},
		/* 0 down too: all three failed in a row, a wait before 1 again. */
		{'f', 1, 1},
		/* A Welcome from 1, then 1 lost: the new round counts from there. */
		{'w', 0, 1}, {'f', 0, 2}, {'f', 0, 0}, {'f', 1, 1},
	};
	ag_failover_t f;

	(void)state;
	ag_failover_init(&f, 3);
	assert_int_equal(f.cur, 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].op == 'w')
			ag_failover_connected(&f);
		else if (ag_failover_next(&f) != steps[i].wait)
			fail_msg("step %zu: wait should be %d", i, steps[i].wait);
		if (f.cur != steps[i].cur)
			fail_msg("step %zu: at %zu, not %zu", i, f.cur, steps[i].cur);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ag_backoff_next_doubles_to_cap),
		cmocka_unit_test(test_ag_backoff_next_jitter_in_range),
		cmocka_unit_test(test_ag_seq_after_welcome_cases),
		cmocka_unit_test(test_ag_kv_equal_cases),
		cmocka_unit_test(test_ag_kv_dup_copies),
		cmocka_unit_test(test_ag_addrs_parse_lists),
		cmocka_unit_test(test_ag_addrs_parse_bounds),
		cmocka_unit_test(test_ag_addrs_parse_refused),
		cmocka_unit_test(test_ag_failover_next_one_address),
		cmocka_unit_test(test_ag_failover_next_in_order),
	};

	return cmocka_run_group_tests_name("uplink", tests, NULL, NULL);
}
