/* SPDX-License-Identifier: MIT */
/* test_web.c: the web view's page and the HTTP token rule, on hand-made pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "grid.h"
#include "httpauth.h"
#include "web.h"

static const uint8_t tok[] = "s3cret";
#define TOK_LEN (sizeof(tok) - 1)

static void test_token_bearer_and_basic(void **state)
{
	(void)state;
	assert_true(col_http_token_ok("Bearer s3cret", tok, TOK_LEN));
	assert_true(col_http_token_ok("bearer s3cret", tok, TOK_LEN));
	assert_false(col_http_token_ok(NULL, tok, TOK_LEN));
	assert_false(col_http_token_ok("Bearer s3cre", tok, TOK_LEN));
	assert_false(col_http_token_ok("Bearer s3crett", tok, TOK_LEN));
	assert_false(col_http_token_ok("Bearer  s3cret", tok, TOK_LEN));
	assert_false(col_http_token_ok("s3cret", tok, TOK_LEN));
	/* "fleet:s3cret", ":s3cret" (no user), "a:b:s3cret" is user a with password "b:s3cret". */
	assert_true(col_http_token_ok("Basic ZmxlZXQ6czNjcmV0", tok, TOK_LEN));
	assert_true(col_http_token_ok("basic OnMzY3JldA==", tok, TOK_LEN));
	assert_true(col_http_token_ok("Basic OnMzY3JldA", tok, TOK_LEN));
	assert_false(col_http_token_ok("Basic YTpiOnMzY3JldA==", tok, TOK_LEN));
	/* "fleet:s3cre", "s3cret" (no colon), not base64, a lone sixth of a byte. */
	assert_false(col_http_token_ok("Basic ZmxlZXQ6czNjcmU=", tok, TOK_LEN));
	assert_false(col_http_token_ok("Basic czNjcmV0", tok, TOK_LEN));
	assert_false(col_http_token_ok("Basic ZmxlZXQ6czNjcmV0!", tok, TOK_LEN));
	assert_false(col_http_token_ok("Basic ZmxlZXQ6czNjcmV0Z", tok, TOK_LEN));
	assert_false(col_http_token_ok("Basic ", tok, TOK_LEN));
	assert_false(col_http_token_ok("Digest s3cret", tok, TOK_LEN));
}

/* Longer than any credentials looked at: refused, not overrun. */
static void test_token_basic_too_long(void **state)
{
	char h[4096];

	(void)state;
	memcpy(h, "Basic ", 6);
	memset(h + 6, 'A', sizeof(h) - 7);
	h[sizeof(h) - 1] = '\0';
	assert_false(col_http_token_ok(h, tok, TOK_LEN));
}

static void test_grid_html(void **state)
{
	static const char *const head[] = {"NAME", "N"};
	fs_buf_t b = FS_BUF_INIT;
	grid_t g;

	(void)state;
	grid_init(&g, COL_FMT_HTML, 0x1);
	grid_heads(&g, head, 2);
	grid_head_done(&g);
	grid_cell(&g, "%s", "<b>&\"'");
	grid_cell(&g, "%d", 7);
	assert_int_equal(grid_render(&g, &b), 0);
	fs_buf_add(&b, "", 1);
	assert_string_equal(b.p, "<table class=\"grid\">\n"
	                         "<thead><tr><th>NAME</th><th class=\"num\">N</th></tr></thead>\n"
	                         "<tbody>\n"
	                         "<tr><td>&lt;b&gt;&amp;&quot;&#39;</td><td class=\"num\">7</td></tr>\n"
	                         "</tbody>\n</table>\n");
	fs_buf_close(&b);
	/* No rows: an empty body. */
	grid_init(&g, COL_FMT_HTML, 0x1);
	grid_heads(&g, head, 2);
	grid_head_done(&g);
	assert_int_equal(grid_render(&g, &b), 0);
	fs_buf_add(&b, "", 1);
	assert_non_null(strstr(b.p, "</tr></thead>\n<tbody></tbody>\n</table>\n"));
	fs_buf_close(&b);
}

/*
 * A tier named to break out of the page: escaped in the HTML, and in the
 * JSON data block no "</script" can end it early.
 */
static void test_page_escapes(void **state)
{
	static const char evil[] = "</script><script>alert(1)</script>";
	const char *tiers[] = {evil, "web"};
	const char *trends[COL_WEB_NSTATES];
	fs_buf_t b = FS_BUF_INIT;
	const char *block, *end;

	(void)state;
	for (int s = 0; s < COL_WEB_NSTATES; s++)
		trends[s] = "{\"tier\":\"</script><script>alert(1)</script>\",\"buckets\":[]}\n";
	col_web_page_t p = {
		.tier = evil, .since = "1h", .refresh_s = 30,
		.chart_lib = true, .tiers = tiers, .n_tiers = 2, .summary = "<p>s</p>",
		.tiers_table = "<table></table>", .suspects = "", .top_ips = "",
		.charted = tiers, .n_charted = 1, .trends = trends,
	};
	assert_int_equal(col_web_render(&p, &b), 0);
	fs_buf_add(&b, "", 1);
	/* The only script elements: the two files and the data block. */
	assert_non_null(strstr(b.p, "<script src=\"/static/dygraph.min.js?v=" FLEETSTAT_VERSION
	                            "\" defer></script>"));
	assert_non_null(strstr(b.p, "<script src=\"/static/fleetstat.js?v=" FLEETSTAT_VERSION
	                            "\" defer></script>"));
	assert_null(strstr(b.p, "<script>"));
	assert_non_null(strstr(b.p, "<title>fleetstat: &lt;/script&gt;&lt;script&gt;alert(1)"));
	assert_non_null(strstr(b.p, "<option value=\"web\">web</option>"));
	assert_non_null(strstr(b.p, "<option value=\"&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""
	                            " selected>"));
	assert_non_null(strstr(b.p, "<option value=\"1h\" selected>1h</option>"));
	assert_non_null(strstr(b.p, "<meta http-equiv=\"refresh\" content=\"30\">"));
	block = strstr(b.p, "<script type=\"application/json\" id=\"trend-0\">");
	assert_non_null(block);
	end = strstr(block, "</script>");
	assert_non_null(end);
	assert_non_null(strstr(end, "</figure>"));
	assert_true(end > strstr(block, "\\u003c/script>\\u003cscript>alert(1)"));
	assert_true(end - block > 5 * 40);
	fs_buf_close(&b);
	/* Without the charting library: the page says so, and loads only its own script. */
	p.chart_lib = false;
	assert_int_equal(col_web_render(&p, &b), 0);
	fs_buf_add(&b, "", 1);
	assert_null(strstr(b.p, "/static/dygraph"));
	assert_non_null(strstr(b.p, "libjs-dygraphs"));
	fs_buf_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_bearer_and_basic),
		cmocka_unit_test(test_token_basic_too_long),
		cmocka_unit_test(test_grid_html),
		cmocka_unit_test(test_page_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
