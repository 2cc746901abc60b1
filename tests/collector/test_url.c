/* SPDX-License-Identifier: MIT */
/* test_url.c: --server URLs, query-string encoding and HTTP responses, parsed in memory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "url.h"

static void split_ok(const char *url, const char *host, const char *port, const char *path)
{
	char h[64], p[8], pa[64];

	assert_int_equal(col_url_split(url, h, sizeof(h), p, pa, sizeof(pa)), 0);
	assert_string_equal(h, host);
	assert_string_equal(p, port);
	assert_string_equal(pa, path);
}

static void test_col_url_split_forms(void **state)
{
	(void)state;
	split_ok("http://127.0.0.1:7401", "127.0.0.1", "7401", "");
	split_ok("http://collector.example", "collector.example", "80", "");
	split_ok("http://[::1]:7401/", "::1", "7401", "");
	split_ok("http://[2001:db8::1]", "2001:db8::1", "80", "");
	split_ok("http://proxy:8080/fleetstat//", "proxy", "8080", "/fleetstat");
}

static void test_col_url_split_bad(void **state)
{
	static const char *const bad[] = {
		"https://127.0.0.1", "127.0.0.1:7401", "http://", "http://:80", "http://h:",
		"http://h:123456", "http://h:8x", "http://[::1", "http://[::1]x", "http://h/a?b=c",
		"http://h/a b", "http://h:0", "http://h:65536", "http://h:99999", "http://[::1]:0",
	};
	char h[64], p[8], pa[64], tiny[4];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (col_url_split(bad[i], h, sizeof(h), p, pa, sizeof(pa)) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(col_url_split("http://longhostname", tiny, sizeof(tiny), p, pa,
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

static void test_col_http_response_parse_cases(void **state)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                         "Content-Length: 3\r\n\r\n{}\n";
	static const char noclen[] = "HTTP/1.0 404 Not Found\r\n\r\nnope";
	static const char short_body[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
	static const char *const bad[] = {
		"", "HTTP/1.1 200 OK", "HTTP/2 200 OK\r\n\r\n", "SSH-2.0-OpenSSH\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0abc\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	};
	int status;
	size_t body;

	(void)state;
	assert_int_equal(col_http_response_parse(ok, strlen(ok), &status, &body), 0);
	assert_int_equal(status, 200);
	assert_string_equal(ok + body, "{}\n");
	assert_int_equal(col_http_response_parse(noclen, strlen(noclen), &status, &body), 0);
	assert_int_equal(status, 404);
	assert_string_equal(noclen + body, "nope");
	assert_int_equal(col_http_response_parse(short_body, strlen(short_body), &status, &body),
	                 -EPROTO);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (col_http_response_parse(bad[i], strlen(bad[i]), &status, &body) != -EPROTO)
			fail_msg("accepted %s", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_col_url_split_forms),
		cmocka_unit_test(test_col_url_split_bad),
		cmocka_unit_test(test_col_url_encode_reserved),
		cmocka_unit_test(test_col_http_response_parse_cases),
	};

	return cmocka_run_group_tests_name("url", tests, NULL, NULL);
}
