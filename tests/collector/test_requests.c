/* SPDX-License-Identifier: MIT */
/* test_requests.c: requests summed across hosts' reports, per IP and per host, with their bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "query.h"
#include "requests.h"

static wire_req_client_t client(uint8_t last, uint64_t requests, uint64_t error, uint64_t c4xx)
{
	wire_req_client_t c = {.ip = {.len = 4, .b = {198, 51, 100, last}}, .requests = requests,
	                       .error = error, .user_agents = (uint32_t)last};

	c.by_status[1] = requests - error - c4xx;
	c.by_status[3] = c4xx;
	return c;
}

static char *render(col_req_t *a, unsigned limit)
{
	col_qopts_t o;
	fs_buf_t b = FS_BUF_INIT;
	char *s;

	col_qopts_init(&o, 1000);
	o.format = COL_FMT_JSON;
	o.since_ms = 3600000;
	o.limit = limit;
	assert_int_equal(col_req_render(a, &o, &b), 0);
	s = strndup(b.p, b.len);
	fs_buf_close(&b);
	return s;
}

static void test_requests_merge_bounds(void **state)
{
	wire_req_client_t c1[2] = {client(1, 100, 0, 10), client(2, 30, 2, 0)};
	wire_req_client_t c2[1] = {client(2, 50, 0, 50)};
	wire_req_host_t h1[1] = {{.host = "shop.example", .requests = 120}};
	wire_requests_t r1 = {.present = true, .total = 140, .by_status = {0, 130, 0, 10},
	                      .limit = 2, .clients = c1, .n_clients = 2, .clients_unlisted_max = 5,
	                      .hosts = h1, .n_hosts = 1, .hosts_unlisted_max = 20};
	wire_requests_t r2 = {.present = true, .total = 60, .by_status = {0, 10, 0, 50},
	                      .limit = 2, .clients = c2, .n_clients = 1, .clients_unlisted_max = 7};
	col_req_t *a = col_req_new(false), *d = col_req_new(true);
	char *s;

	(void)state;
	assert_non_null(a);
	assert_int_equal(col_req_add(a, 1, "web", 10000, &r1), 0);
	assert_int_equal(col_req_add(a, 2, "api", 10000, &r2), 0);
	assert_int_equal(col_req_add(a, 3, "web", 10000, &(wire_requests_t){0}), 0);   /* no log: nothing */
	s = render(a, 20);
	/* .2: 80 counted on two hosts; .1: 100 on one, and host 2 could have hidden 7. */
	assert_non_null(strstr(s, "\"reports\":2,\"hosts\":2,\"requests\":{\"total\":200,"));
	assert_non_null(strstr(s, "{\"ip\":\"198.51.100.1\",\"requests\":100,\"upper_bound\":107,\"error\":0"));
	assert_non_null(strstr(s, "{\"ip\":\"198.51.100.2\",\"requests\":80,\"upper_bound\":80,\"error\":2,"
	                          "\"by_status\":{\"1xx\":0,\"2xx\":28,\"3xx\":0,\"4xx\":50"));
	assert_non_null(strstr(s, "\"hosts\":2,\"tiers\":[\"web\",\"api\"]"));
	assert_true(strstr(s, "198.51.100.1") < strstr(s, "198.51.100.2"));
	/* Not listed anywhere: at most what every report left out, 5 + 7. */
	assert_non_null(strstr(s, "\"unlisted_max\":12}"));
	free(s);
	/* Cut by the limit: the first one cut bounds the rest. */
	s = render(a, 1);
	assert_null(strstr(s, "198.51.100.2"));
	assert_non_null(strstr(s, "\"unlisted_max\":80}"));
	free(s);
	/* By domain: the hosts' lists. */
	assert_int_equal(col_req_add(d, 1, "web", 10000, &r1), 0);
	assert_int_equal(col_req_add(d, 2, "api", 10000, &r2), 0);
	s = render(d, 20);
	assert_non_null(strstr(s, "\"by\":\"domain\""));
	assert_non_null(strstr(s, "{\"host\":\"shop.example\",\"requests\":120,\"upper_bound\":120,"));
	assert_non_null(strstr(s, "\"unlisted_max\":20}"));
	free(s);
	col_req_free(a);
	col_req_free(d);
}

/* Many distinct IPs: the table grows, every one is counted. */
static void test_requests_many_ips(void **state)
{
	enum { N = 5000 };
	wire_req_client_t *c = calloc(N, sizeof(*c));
	wire_requests_t r = {.present = true, .limit = N, .clients = c, .n_clients = N};
	col_req_t *a = col_req_new(false);
	fs_buf_t b = FS_BUF_INIT;
	col_qopts_t o;

	(void)state;
	assert_non_null(c);
	for (int i = 0; i < N; i++) {
		c[i] = (wire_req_client_t){.ip = {.len = 16, .b = {0x20, 0x01, [14] = (uint8_t)(i >> 8),
		                                                   [15] = (uint8_t)i}}, .requests = 1};
		c[i].by_status[1] = 1;
	}
	r.total = N;
	r.by_status[1] = N;
	assert_int_equal(col_req_add(a, 1, "web", 10000, &r), 0);
	assert_int_equal(col_req_add(a, 1, "web", 10000, &r), 0);
	col_qopts_init(&o, 1000);
	o.format = COL_FMT_CSV;
	o.limit = 10000;
	assert_int_equal(col_req_render(a, &o, &b), 0);
	/* A header and N rows, each IP twice: 2 requests, one host. */
	{
		size_t lines = 0;

		for (size_t i = 0; i < b.len; i++)
			lines += b.p[i] == '\n';
		assert_int_equal(lines, N + 1);
	}
	assert_non_null(strstr(b.p, "\n2001::1,2,2,2,0,0,0,0,1,web\n"));
	fs_buf_close(&b);
	col_req_free(a);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests_merge_bounds),
		cmocka_unit_test(test_requests_many_ips),
	};

	return cmocka_run_group_tests_name("requests", tests, NULL, NULL);
}
