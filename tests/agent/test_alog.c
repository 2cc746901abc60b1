/* SPDX-License-Identifier: MIT */
/* test_alog.c: access-log formats and lines, Space-Saving bounds, requests per IP, the one-liners. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "alog.h"
#include "awkcount.h"
#include "buf.h"
#include "lines.h"
#include "reqs.h"
#include "topk.h"

static const char combined_line[] =
	"203.0.113.9 - alice [07/Dec/2026:10:00:00 +0000] \"GET /index.html HTTP/1.1\" 200 5120 "
	"\"https://example.org/\" \"Mozilla/5.0 (X11; Linux x86_64) \\\"quoted\\\"\"";

static ag_alog_fmt_t compile_ok(const char *spec, ag_alog_client_t client)
{
	ag_alog_fmt_t f;
	char err[256] = "";

	if (ag_alog_compile(spec, client, &f, err, sizeof(err)) != 0)
		fail_msg("%s: %s", spec, err);
	return f;
}

static ag_alog_result_t parse(const ag_alog_fmt_t *f, const char *line, ag_alog_line_t *l)
{
	return ag_alog_parse(f, line, strlen(line), l);
}

static void assert_addr(const ag_alog_line_t *l, const char *want)
{
	char s[64];

	inet_ntop(l->family, l->addr, s, sizeof(s));
	assert_string_equal(s, want);
}

static void test_combined_line(void **state)
{
	ag_alog_fmt_t f = compile_ok("combined", AG_ALOG_CLIENT_ADDR);
	ag_alog_line_t l;

	(void)state;
	assert_int_equal(parse(&f, combined_line, &l), AG_ALOG_OK);
	assert_addr(&l, "203.0.113.9");
	assert_int_equal(l.status, 200);
	assert_int_equal(l.bytes, 5120);
	assert_null(l.host);
	assert_int_equal(l.ua_len, strlen("Mozilla/5.0 (X11; Linux x86_64) \\\"quoted\\\""));
	/* The same line in Apache's spelling of the format. */
	f = compile_ok("%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"",
	               AG_ALOG_CLIENT_ADDR);
	assert_int_equal(parse(&f, combined_line, &l), AG_ALOG_OK);
	assert_int_equal(l.status, 200);
	assert_int_equal(l.bytes, 5120);
	assert_non_null(l.ua);
}

static void test_common_and_odd_values(void **state)
{
	ag_alog_fmt_t f = compile_ok("common", AG_ALOG_CLIENT_ADDR);
	ag_alog_line_t l;

	(void)state;
	/* "-" bytes, an IPv6 client, an IPv4-mapped one folded, a TLS hello on a plain port. */
	assert_int_equal(parse(&f, "2001:db8::7 - - [07/Dec/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 304 -", &l),
	                 AG_ALOG_OK);
	assert_addr(&l, "2001:db8::7");
	assert_int_equal(l.bytes, 0);
	assert_int_equal(parse(&f, "::ffff:198.51.100.4 - - [x] \"-\" 400 0", &l), AG_ALOG_OK);
	assert_int_equal(l.family, AF_INET);
	assert_addr(&l, "198.51.100.4");
	assert_int_equal(parse(&f, "198.51.100.4 - - [x] \"\\x16\\x03\\x01\\x02\" 400 157", &l), AG_ALOG_OK);
	/* Each way of being wrong, counted by its reason. */
	assert_int_equal(parse(&f, "", &l), AG_ALOG_BAD_SHAPE);
	assert_int_equal(parse(&f, "198.51.100.4 - - [x \"GET /\" 200 1", &l), AG_ALOG_BAD_SHAPE);
	assert_int_equal(parse(&f, "198.51.100.4 - - [x] \"GET /\" 200 12a", &l), AG_ALOG_BAD_SHAPE);
	assert_int_equal(parse(&f, "198.51.100.4 - - [x] \"GET /\" 20 1", &l), AG_ALOG_BAD_STATUS);
	assert_int_equal(parse(&f, "198.51.100.4 - - [x] \"GET /\" 2000 1", &l), AG_ALOG_BAD_STATUS);
	assert_int_equal(parse(&f, "example.com - - [x] \"GET /\" 200 1", &l), AG_ALOG_BAD_CLIENT);
	assert_int_equal(parse(&f, "1.2.3.4.5 - - [x] \"GET /\" 200 1", &l), AG_ALOG_BAD_CLIENT);
	/* A user name with spaces (a client's Basic auth, nginx leaves it as is) still parses. */
	assert_int_equal(parse(&f, "198.51.100.4 - x y z [x] \"GET /\" 200 1", &l), AG_ALOG_OK);
	assert_addr(&l, "198.51.100.4");
	/* A combined line is a common line with more after it. */
	assert_int_equal(parse(&f, combined_line, &l), AG_ALOG_OK);
}

static void test_forwarded_for_and_hosts(void **state)
{
	const char *spec = "$remote_addr - $remote_user [$time_local] \"$request\" $status "
	                   "$body_bytes_sent \"$http_referer\" \"$http_user_agent\" "
	                   "\"$http_x_forwarded_for\" $host";
	ag_alog_fmt_t addr = compile_ok(spec, AG_ALOG_CLIENT_ADDR);
	ag_alog_fmt_t xff = compile_ok(spec, AG_ALOG_CLIENT_XFF);
	const char *line = "10.0.0.5 - - [07/Dec/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 10 \"-\" "
	                   "\"curl/7.88\" \"192.0.2.1, 198.51.100.77\" shop.example.com";
	const char *noxff = "10.0.0.5 - - [07/Dec/2026:10:00:00 +0000] \"GET http://api.example.net:8080/v1 "
	                    "HTTP/1.1\" 200 10 \"-\" \"-\" \"-\" -";
	ag_alog_line_t l;

	(void)state;
	assert_int_equal(parse(&addr, line, &l), AG_ALOG_OK);
	assert_addr(&l, "10.0.0.5");
	assert_int_equal(parse(&xff, line, &l), AG_ALOG_OK);
	assert_addr(&l, "198.51.100.77");   /* the last: what the nearest proxy saw */
	assert_int_equal(l.host_len, strlen("shop.example.com"));
	assert_memory_equal(l.host, "shop.example.com", l.host_len);
	/* No forwarded-for: the connecting address; no $host: the absolute URL's; "-" UA: none. */
	assert_int_equal(parse(&xff, noxff, &l), AG_ALOG_OK);
	assert_addr(&l, "10.0.0.5");
	assert_int_equal(l.host_len, strlen("api.example.net:8080"));
	assert_memory_equal(l.host, "api.example.net:8080", l.host_len);
	assert_null(l.ua);
	/* vhost_combined carries the virtual host first. */
	addr = compile_ok("vhost_combined", AG_ALOG_CLIENT_ADDR);
	assert_int_equal(parse(&addr, "www.example.org:443 192.0.2.8 - - [07/Dec/2026:10:00:00 +0000] "
	                              "\"GET / HTTP/1.1\" 503 99 \"-\" \"ab/2.3\"", &l), AG_ALOG_OK);
	assert_int_equal(l.status, 503);
	assert_memory_equal(l.host, "www.example.org", l.host_len);
}

static void test_compile_refuses(void **state)
{
	ag_alog_fmt_t f;
	char err[256];

	(void)state;
	assert_int_equal(ag_alog_compile("$remote_user $status", AG_ALOG_CLIENT_ADDR, &f, err,
	                                 sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "client address"));
	assert_int_equal(ag_alog_compile("$remote_addr $body_bytes_sent", AG_ALOG_CLIENT_ADDR, &f,
	                                 err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "status"));
	assert_int_equal(ag_alog_compile("$remote_addr$status", AG_ALOG_CLIENT_ADDR, &f, err,
	                                 sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nothing between"));
	assert_int_equal(ag_alog_compile("combined", AG_ALOG_CLIENT_XFF, &f, err, sizeof(err)),
	                 -EINVAL);
	assert_int_equal(ag_alog_compile("%h %{Referer", AG_ALOG_CLIENT_ADDR, &f, err, sizeof(err)),
	                 -EINVAL);
	assert_int_equal(ag_alog_compile("", AG_ALOG_CLIENT_ADDR, &f, err, sizeof(err)), -EINVAL);
	/* Two fields not read, side by side, are one; ${name} and %% are understood. */
	f = compile_ok("${remote_addr} $a$b %% $status", AG_ALOG_CLIENT_ADDR);
	{
		ag_alog_line_t l;

		assert_int_equal(parse(&f, "192.0.2.1 xy %% 201", &l), AG_ALOG_OK);
		assert_int_equal(l.status, 201);
	}
}

static void test_detect(void **state)
{
	char buf[4096];
	int n;

	(void)state;
	n = snprintf(buf, sizeof(buf), "%s\n%s\ngarbage\n", combined_line, combined_line);
	assert_string_equal(ag_alog_detect(buf, (size_t)n), "combined");
	n = snprintf(buf, sizeof(buf),
	             "192.0.2.1 - - [x] \"GET / HTTP/1.0\" 200 1\n192.0.2.2 - - [x] \"GET / HTTP/1.0\" 404 -\n");
	assert_string_equal(ag_alog_detect(buf, (size_t)n), "common");
	n = snprintf(buf, sizeof(buf), "State Recv-Q Send-Q\nESTAB 0 0 1.2.3.4:22 5.6.7.8:5000\n");
	assert_null(ag_alog_detect(buf, (size_t)n));
	assert_null(ag_alog_detect("", 0));
}

/* Space-Saving: every key over total/cap tracked; each count within its error of the truth. */
static void test_topk_bounds(void **state)
{
	enum { CAP = 16, KEYS = 400 };
	uint64_t truth[KEYS] = {0}, total = 0;
	ag_topk_t *t = ag_topk_new(CAP, 4);
	size_t top[CAP];
	bool fresh;
	unsigned seed = 7;

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 20000; i++) {
		/* Keys 0..3 heavy (a fifth of the stream each... less), the rest a long tail. */
		uint32_t k = (seed = seed * 1103515245u + 12345u) % 10 < 6 ? (seed >> 8) % 4
		                                                          : 4 + (seed >> 8) % (KEYS - 4);

		ag_topk_add(t, &k, sizeof(k), &fresh);
		truth[k]++;
		total++;
	}
	assert_int_equal(ag_topk_size(t), CAP);
	assert_true(ag_topk_unlisted_max(t) > 0);
	assert_true(ag_topk_unlisted_max(t) <= total / CAP);
	for (size_t s = 0; s < ag_topk_size(t); s++) {
		size_t len;
		uint32_t k;

		memcpy(&k, ag_topk_key(t, s, &len), sizeof(k));
		assert_true(ag_topk_count(t, s) >= truth[k]);
		assert_true(ag_topk_count(t, s) - ag_topk_error(t, s) <= truth[k]);
	}
	for (uint32_t k = 0; k < KEYS; k++) {
		bool tracked = false;

		for (size_t s = 0; s < ag_topk_size(t); s++) {
			size_t len;

			tracked |= memcmp(ag_topk_key(t, s, &len), &k, sizeof(k)) == 0;
		}
		if (!tracked)
			assert_true(truth[k] <= ag_topk_unlisted_max(t));
		if (truth[k] > total / CAP)
			assert_true(tracked);
	}
	assert_int_equal(ag_topk_top(t, top, 4), 4);
	for (int i = 1; i < 4; i++)
		assert_true(ag_topk_count(t, top[i - 1]) >= ag_topk_count(t, top[i]));
	ag_topk_reset(t);
	assert_int_equal(ag_topk_size(t), 0);
	assert_int_equal(ag_topk_unlisted_max(t), 0);
	ag_topk_free(t);
}

static ag_alog_line_t line_of(const char *ip, uint16_t status, const char *ua, const char *host)
{
	ag_alog_line_t l;

	memset(&l, 0, sizeof(l));
	l.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(l.family, ip, l.addr), 1);
	l.status = status;
	l.bytes = 100;
	l.ua = ua;
	l.ua_len = ua ? strlen(ua) : 0;
	l.host = host;
	l.host_len = host ? strlen(host) : 0;
	return l;
}

static void test_reqs_per_ip(void **state)
{
	ag_reqs_t *q = ag_reqs_new(4, 2);
	ag_reqs_ip_t ips[4];
	ag_reqs_host_t hosts[2];
	uint64_t left;
	char ua[32];

	(void)state;
	assert_non_null(q);
	/* A NAT: 300 requests, 200 user agents, mostly 2xx; a scraper: 50, one UA, 404s. */
	for (int i = 0; i < 300; i++) {
		ag_alog_line_t l;

		snprintf(ua, sizeof(ua), "agent-%d", i % 200);
		l = line_of("198.51.100.1", i % 10 ? 200 : 304, ua, "shop.example");
		ag_reqs_add(q, AG_ALOG_OK, &l);
	}
	for (int i = 0; i < 50; i++) {
		ag_alog_line_t l = line_of("2001:db8::66", i % 5 ? 404 : 200, "python-requests/2.31", NULL);

		ag_reqs_add(q, AG_ALOG_OK, &l);
	}
	ag_reqs_add(q, AG_ALOG_BAD_SHAPE, NULL);
	{
		const ag_reqs_totals_t *t = ag_reqs_totals(q);

		assert_int_equal(t->lines, 351);
		assert_int_equal(t->requests, 350);
		assert_int_equal(t->cls[AG_REQS_2XX], 270 + 10);
		assert_int_equal(t->cls[AG_REQS_3XX], 30);
		assert_int_equal(t->cls[AG_REQS_4XX], 40);
		assert_int_equal(t->malformed[AG_ALOG_BAD_SHAPE], 1);
		assert_int_equal(t->bytes, 35000);
	}
	assert_int_equal(ag_reqs_top_ips(q, ips, 4, &left), 2);
	assert_int_equal(left, 0);
	assert_int_equal(ips[0].requests, 300);
	assert_int_equal(ips[0].error, 0);
	assert_int_equal(ips[0].uas, 200);
	assert_false(ips[0].uas_capped);
	assert_int_equal(ips[0].cls[AG_REQS_3XX], 30);
	assert_int_equal(ips[1].family, AF_INET6);
	assert_int_equal(ips[1].uas, 1);
	assert_int_equal(ips[1].cls[AG_REQS_4XX], 40);
	assert_int_equal(ag_reqs_top_ips(q, ips, 1, &left), 1);
	assert_int_equal(left, 50);          /* the one left out */
	assert_int_equal(ag_reqs_top_hosts(q, hosts, 2, &left), 1);
	assert_string_equal(hosts[0].name, "shop.example");
	assert_int_equal(hosts[0].requests, 300);
	/* Past the cap of user agents: counted to it, and said to be more. */
	for (int i = 0; i < AG_REQS_UA_CAP + 60; i++) {   /* heavier than the NAT */
		ag_alog_line_t l;

		snprintf(ua, sizeof(ua), "many-%d", i);
		l = line_of("192.0.2.200", 200, ua, NULL);
		ag_reqs_add(q, AG_ALOG_OK, &l);
	}
	assert_int_equal(ag_reqs_top_ips(q, ips, 1, &left), 1);
	assert_int_equal(ips[0].uas, AG_REQS_UA_CAP);
	assert_true(ips[0].uas_capped);
	/* More IPs than tracked: the lightest replaced, each bound holding. */
	for (int i = 0; i < 10; i++) {
		char ip[32];
		ag_alog_line_t l;

		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		l = line_of(ip, 200, NULL, NULL);
		ag_reqs_add(q, AG_ALOG_OK, &l);
	}
	assert_int_equal(ag_reqs_top_ips(q, ips, 4, &left), 4);
	assert_true(left >= 1);
	ag_reqs_reset(q);
	assert_int_equal(ag_reqs_totals(q)->lines, 0);
	assert_int_equal(ag_reqs_top_ips(q, ips, 4, &left), 0);
	ag_reqs_free(q);
}

static char *awk_out(const char *text, char sep, unsigned field, ag_awk_sort_t sort)
{
	ag_awkcount_t *a = ag_awkcount_new(sep, field);
	fs_buf_t b = FS_BUF_INIT;
	const char *p = text, *end = text + strlen(text);
	char *s;

	assert_non_null(a);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		assert_int_equal(ag_awkcount_line(a, p, n), 0);
		p = nl ? nl + 1 : end;
	}
	assert_int_equal(ag_awkcount_print(a, sort, &b), 0);
	s = strndup(b.p ? b.p : "", b.len);
	fs_buf_close(&b);
	ag_awkcount_free(a);
	return s;
}

/* What `awk '{++S[$1]} END ...' | LC_ALL=C sort -rn -k2` prints, worked out by hand. */
static void test_awk_one_liners(void **state)
{
	char *s;

	(void)state;
	s = awk_out("1.2.3.4 a\n1.2.3.40 b\n  1.2.3.4 c\n\n1.2.3.40\n9.9.9.9 x\n\t\n5.5.5.5\n", 0, 1,
	            AG_AWK_SORT_RN);
	/* Ties by whole line, descending ("1.2.3.40 2" > "1.2.3.4 2"); the empty key's field 2 is empty: 0. */
	assert_string_equal(s, "1.2.3.40 2\n1.2.3.4 2\n9.9.9.9 1\n5.5.5.5 1\n 2\n");
	free(s);
	/* awk -F / '{++S[$3]}' urls | sort -k2: text order of " count". */
	s = awk_out("http://a.example/x\nhttps://b.example/\nhttp://a.example/y\nnohost\n"
	            "http://c.example\n", '/', 3, AG_AWK_SORT_TEXT);
	assert_string_equal(s, " 1\nb.example 1\nc.example 1\na.example 2\n");
	free(s);
	s = awk_out("", 0, 1, AG_AWK_SORT_RN);
	assert_string_equal(s, "");
	free(s);
}

typedef struct {
	char got[8][32];
	int n, too_long;
} sink_t;

static void on_line(void *ctx, const char *line, size_t len)
{
	sink_t *k = ctx;

	if (line == NULL) {
		k->too_long++;
		return;
	}
	assert_true(k->n < 8 && len < 32);
	memcpy(k->got[k->n], line, len);
	k->got[k->n++][len] = '\0';
}

/* Lines across chunks, a cut one held, one too long skipped to its end, what is held said. */
static void test_lines_bounded(void **state)
{
	ag_lines_t l;
	sink_t k = {0};

	(void)state;
	assert_int_equal(ag_lines_init(&l, 16), 0);
	ag_lines_feed(&l, "ab\ncd", 5, on_line, &k);
	assert_int_equal(k.n, 1);
	assert_int_equal(ag_lines_held(&l), 2);          /* "cd" waits for its end */
	ag_lines_feed(&l, "e\n0123456789", 12, on_line, &k);
	assert_string_equal(k.got[1], "cde");
	assert_int_equal(ag_lines_held(&l), 10);
	ag_lines_feed(&l, "0123456789", 10, on_line, &k);  /* 20 bytes: past the bound */
	assert_int_equal(k.too_long, 0);                 /* said at its end */
	assert_int_equal(ag_lines_held(&l), 20);         /* skipped from the line's start */
	ag_lines_feed(&l, "xyz\nok\n", 7, on_line, &k);
	assert_int_equal(k.too_long, 1);
	assert_int_equal(k.n, 3);
	assert_string_equal(k.got[2], "ok");
	assert_int_equal(ag_lines_held(&l), 0);
	ag_lines_feed(&l, "last", 4, on_line, &k);
	ag_lines_finish(&l, on_line, &k);                /* a file's end ends its last line */
	assert_string_equal(k.got[3], "last");
	ag_lines_close(&l);
}

/*
 * A line too long counts where it ends, as a line does: a reader stopped inside
 * it (its mark at the line's start) and started again from the mark counts it
 * once; one that the file's end ends counts too.
 */
static void test_lines_too_long_once_across_restart(void **state)
{
	ag_lines_t l;
	sink_t k = {0};

	(void)state;
	assert_int_equal(ag_lines_init(&l, 16), 0);
	ag_lines_feed(&l, "ok\n0123456789", 13, on_line, &k);
	ag_lines_feed(&l, "0123456789", 10, on_line, &k);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.too_long, 0);
	assert_int_equal(ag_lines_held(&l), 20);   /* the mark: 3, the long line's start */
	ag_lines_close(&l);                        /* stopped; started again from the mark */
	assert_int_equal(ag_lines_init(&l, 16), 0);
	ag_lines_feed(&l, "01234567890123456789", 20, on_line, &k);
	ag_lines_feed(&l, "xyz\nok\n", 7, on_line, &k);
	assert_int_equal(k.too_long, 1);
	assert_int_equal(k.n, 2);
	ag_lines_feed(&l, "0123456789abcdefg", 17, on_line, &k);   /* no newline, then the end */
	assert_int_equal(k.too_long, 1);
	ag_lines_finish(&l, on_line, &k);
	assert_int_equal(k.too_long, 2);
	assert_int_equal(ag_lines_held(&l), 0);
	ag_lines_feed(&l, "0123456789abcdefg\n", 18, on_line, &k);  /* whole in one chunk */
	assert_int_equal(k.too_long, 3);
	assert_int_equal(k.n, 2);
	ag_lines_close(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_combined_line),
		cmocka_unit_test(test_common_and_odd_values),
		cmocka_unit_test(test_forwarded_for_and_hosts),
		cmocka_unit_test(test_compile_refuses),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_topk_bounds),
		cmocka_unit_test(test_reqs_per_ip),
		cmocka_unit_test(test_awk_one_liners),
		cmocka_unit_test(test_lines_bounded),
		cmocka_unit_test(test_lines_too_long_once_across_restart),
	};

	return cmocka_run_group_tests_name("alog", tests, NULL, NULL);
}
