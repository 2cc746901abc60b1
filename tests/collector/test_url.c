/* SPDX-License-Identifier: MIT */
/* test_url.c: --server URLs and query-string encoding, in memory. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "url.h"

static void split_ok(const char *url, bool https, const char *host, const char *port,
                     const char *path)
{
	char h[64], p[8], pa[64];
	bool tls;

	assert_int_equal(col_url_split(url, &tls, h, sizeof(h), p, pa, sizeof(pa)), 0);
	assert_int_equal(tls, https);
	assert_string_equal(h, host);
	assert_string_equal(p, port);
	assert_string_equal(pa, path);
}

static void test_col_url_split_forms(void **state)
{
	(void)state;
	split_ok("http://127.0.0.1:7401", false, "127.0.0.1", "7401", "");
	split_ok("http://collector.example", false, "collector.example", "80", "");
	split_ok("http://[::1]:7401/", false, "::1", "7401", "");
	split_ok("http://[2001:db8::1]", false, "2001:db8::1", "80", "");
	split_ok("http://proxy:8080/fleetstat//", false, "proxy", "8080", "/fleetstat");
	split_ok("https://collector.example", true, "collector.example", "443", "");
	split_ok("https://[::1]:7401/api", true, "::1", "7401", "/api");
}

static void test_col_url_split_bad(void **state)
{
	static const char *const bad[] = {
		"ftp://127.0.0.1", "127.0.0.1:7401", "http://", "https://", "https:/h", "HTTP://h", "http://:80", "http://h:",
		"http://h:123456", "http://h:8x", "http://[::1", "http://[::1]x", "http://h/a?b=c",
		"http://h/a b", "http://h:0", "http://h:65536", "http://h:99999", "http://[::1]:0",
	};
	char h[64], p[8], pa[64], tiny[4];
	bool tls;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (col_url_split(bad[i], &tls, h, sizeof(h), p, pa, sizeof(pa)) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(col_url_split("http://longhostname", &tls, tiny, sizeof(tiny), p, pa,
	                               sizeof(pa)), -EINVAL);
}

static void test_col_url_encode_reserved(void **state)
{
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	col_url_encode(&b, "web-1_a.b~c d&e=f/é");
	fs_buf_add(&b, "", 1);
	assert_string_equal(b.p, "web-1_a.b~c%20d%26e%3Df%2F%C3%A9");
	fs_buf_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_col_url_split_forms),
		cmocka_unit_test(test_col_url_split_bad),
		cmocka_unit_test(test_col_url_encode_reserved),
	};

	return cmocka_run_group_tests_name("url", tests, NULL, NULL);
}
