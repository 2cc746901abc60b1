/* SPDX-License-Identifier: MIT */
/*
 * web.c: the web view's document.  Everything a reader needs is in the HTML
 * itself (tables, a form, a refresh), so it works without JavaScript; the
 * charts' data ride in JSON data blocks that the page's one script file
 * reads, so a Content-Security-Policy without 'unsafe-inline' holds.  No I/O.
 */
#include "web.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "report.h"

const int col_web_states[COL_WEB_NSTATES] = {
	WIRE_ESTABLISHED, WIRE_SYN_RECV, WIRE_TIME_WAIT, WIRE_CLOSE_WAIT, WIRE_FIN_WAIT2,
};

const char *const col_web_windows[] = {"5m", "15m", "1h", "6h", "24h", "7d", NULL};

static void put_html(fs_buf_t *b, const char *s)
{
	fs_buf_html_str(b, s);
}

/*
 * JSON in a <script type="application/json"> block: its text must not hold
 * "</script" or "<!--"; a '<' is only ever inside a JSON string, where
 * \u003c means the same.
 */
static void put_json_block(fs_buf_t *b, const char *json, size_t len)
{
	const char *run = json, *end = json + len;

	for (const char *c = json; c < end; c++)
		if (*c == '<') {
			fs_buf_add(b, run, (size_t)(c - run));
			fs_buf_puts(b, "\\u003c");
			run = c + 1;
		}
	fs_buf_add(b, run, (size_t)(end - run));
}

static void option(fs_buf_t *b, const char *value, const char *text, bool selected)
{
	fs_buf_puts(b, "<option value=\"");
	put_html(b, value);
	fs_buf_puts(b, selected ? "\" selected>" : "\">");
	put_html(b, text);
	fs_buf_puts(b, "</option>");
}

static void form(fs_buf_t *b, const col_web_page_t *p)
{
	fs_buf_puts(b, "<form method=\"get\" action=\"/\">\n<label>Tier <select name=\"tier\">");
	bool known = p->tier == NULL;

	option(b, "", "every tier", p->tier == NULL);
	for (size_t i = 0; i < p->n_tiers; i++) {
		bool it = p->tier && strcmp(p->tier, p->tiers[i]) == 0;

		option(b, p->tiers[i], p->tiers[i], it);
		known |= it;
	}
	if (!known)   /* a tier no host has (yet): kept, so that the form does not drop it */
		option(b, p->tier, p->tier, true);
	fs_buf_puts(b, "</select></label>\n<label>Window <select name=\"since\">");
	for (size_t i = 0; col_web_windows[i]; i++)
		option(b, col_web_windows[i], col_web_windows[i],
		       strcmp(p->since, col_web_windows[i]) == 0);
	fs_buf_puts(b, "</select></label>\n<button type=\"submit\">Show</button>\n</form>\n");
}

static void section(fs_buf_t *b, const char *id, const char *title, const char *html)
{
	fs_buf_printf(b, "<section id=\"%s\">\n<h2>", id);
	put_html(b, title);
	fs_buf_puts(b, "</h2>\n");
	fs_buf_puts(b, html);
	fs_buf_puts(b, "</section>\n");
}

static void charts(fs_buf_t *b, const col_web_page_t *p)
{
	fs_buf_puts(b, "<section id=\"charts\">\n<h2>States over the last ");
	put_html(b, p->since);
	fs_buf_puts(b, "</h2>\n");
	if (!p->chart_lib)
		fs_buf_puts(b, "<p class=\"note\">The charting library is not installed on the collector"
		               " (Debian: libjs-dygraphs); the JSON is at /api/v1/trend.</p>\n");
	fs_buf_puts(b, "<noscript><p class=\"note\">The charts need JavaScript; the tables do"
	               " not.</p></noscript>\n");
	if (p->tier == NULL && p->n_tiers > p->n_charted)
		fs_buf_printf(b, "<p class=\"note\">The first %zu of %zu tiers; pick a tier for"
		              " another.</p>\n", p->n_charted, p->n_tiers);
	for (size_t i = 0; i < p->n_charted; i++) {
		fs_buf_printf(b, "<figure class=\"chart\">\n<figcaption>");
		put_html(b, p->charted[i]);
		fs_buf_printf(b, "</figcaption>\n<div class=\"plot\" id=\"chart-%zu\" data-series=\"trend-%zu\""
		              " data-tier=\"", i, i);
		put_html(b, p->charted[i]);
		fs_buf_printf(b, "\"></div>\n<script type=\"application/json\" id=\"trend-%zu\">"
		              "{\"states\":[", i);
		for (int s = 0; s < COL_WEB_NSTATES; s++)
			fs_buf_printf(b, "%s\"%s\"", s ? "," : "", wire_state_name(col_web_states[s]));
		fs_buf_puts(b, "],\"trends\":[");
		for (int s = 0; s < COL_WEB_NSTATES; s++) {
			const char *t = p->trends[i * COL_WEB_NSTATES + (size_t)s];
			size_t n = strlen(t);

			if (s)
				fs_buf_puts(b, ",");
			while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == ' '))
				n--;
			put_json_block(b, t, n);
		}
		fs_buf_puts(b, "]}</script>\n</figure>\n");
	}
	fs_buf_puts(b, "</section>\n");
}

int col_web_render(const col_web_page_t *p, fs_buf_t *b)
{
	fs_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
	if (p->refresh_s)
		fs_buf_printf(b, "<meta http-equiv=\"refresh\" content=\"%u\">\n", p->refresh_s);
	fs_buf_puts(b, "<title>fleetstat");
	if (p->tier) {
		fs_buf_puts(b, ": ");
		put_html(b, p->tier);
	}
	/* The files' names carry the version: a browser's day-long copy goes with an upgrade. */
	fs_buf_puts(b, "</title>\n<link rel=\"stylesheet\" href=\"/static/fleetstat.css?v="
	               FLEETSTAT_VERSION "\">\n");
	if (p->chart_lib)
		fs_buf_puts(b, "<link rel=\"stylesheet\" href=\"/static/dygraph.min.css?v="
		               FLEETSTAT_VERSION "\">\n<script src=\"/static/dygraph.min.js?v="
		               FLEETSTAT_VERSION "\" defer></script>\n");
	fs_buf_puts(b, "<script src=\"/static/fleetstat.js?v=" FLEETSTAT_VERSION "\" defer></script>\n"
	               "</head>\n<body>\n<header>\n<h1>fleetstat</h1>\n");
	form(b, p);
	fs_buf_puts(b, "</header>\n<main>\n");
	section(b, "summary", "Summary", p->summary);
	section(b, "tiers", "Tiers now", p->tiers_table);
	charts(b, p);
	section(b, "suspects", "Suspects: NAT egress or attacker", p->suspects);
	section(b, "top-ips", "Top remote IPs now", p->top_ips);
	fs_buf_puts(b, "</main>\n<footer>\n<p>");
	if (p->refresh_s)
		fs_buf_printf(b, "Reloads every %u s. ", p->refresh_s);
	fs_buf_puts(b, "The same answers as JSON: <a href=\"/api/v1/tiers\">/api/v1/tiers</a>,"
	               " <a href=\"/api/v1/summary\">/api/v1/summary</a>; for Prometheus:"
	               " <a href=\"/metrics\">/metrics</a>.</p>\n</footer>\n</body>\n</html>\n");
	return b->err ? -ENOMEM : 0;
}
