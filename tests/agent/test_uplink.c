/* SPDX-License-Identifier: MIT */
/* test_uplink.c: backoff, seq after Welcome, size parsing, sysctl lists. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ag_backoff_next_doubles_to_cap),
		cmocka_unit_test(test_ag_backoff_next_jitter_in_range),
		cmocka_unit_test(test_ag_seq_after_welcome_cases),
		cmocka_unit_test(test_ag_kv_equal_cases),
		cmocka_unit_test(test_ag_kv_dup_copies),
	};

	return cmocka_run_group_tests_name("uplink", tests, NULL, NULL);
}
