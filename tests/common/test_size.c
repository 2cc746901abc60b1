/* SPDX-License-Identifier: MIT */
/* test_size.c: the size grammar shared by the agent's and the collector's flags. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "size.h"

static void test_fs_parse_size_units(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{"4096", 4096}, {"1048576", 1048576}, {"8K", 8192}, {"64k", 65536},
		{"64M", 64ull << 20}, {"1m", 1ull << 20}, {"2G", 2ull << 30}, {"2g", 2ull << 30},
		{"3MiB", 3ull << 20}, {"1MB", 1ull << 20}, {"5kb", 5ull << 10}, {"100B", 100},
		{"16777215G", 16777215ull << 30},
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 0;
		assert_int_equal(fs_parse_size(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
}

static void test_fs_parse_size_bad(void **state)
{
	static const char *const bad[] = {
		"", "0", "0K", "-1", "+1", " 1", "M", "10T", "10 M", "10MM", "10iB", "10Mi",
		"1.5M", "0x10", "10Bb",
	};
	uint64_t v = 77;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fs_parse_size(bad[i], &v), -EINVAL);
	assert_int_equal(fs_parse_size("18446744073709551616", &v), -ERANGE);
	assert_int_equal(fs_parse_size("17179869184G", &v), -ERANGE);
	assert_int_equal(v, 77);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fs_parse_size_units),
		cmocka_unit_test(test_fs_parse_size_bad),
	};

	return cmocka_run_group_tests_name("size", tests, NULL, NULL);
}
