/* SPDX-License-Identifier: MIT */
/* web.h: the web view (GET /): the queries' HTML tables and the charts' data in one page. */
#ifndef COL_WEB_H
#define COL_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The states each tier's chart draws, and the most tiers charted on one page. */
#define COL_WEB_NSTATES 5
extern const int col_web_states[COL_WEB_NSTATES];
#define COL_WEB_MAX_CHARTS 12

/* The windows the page offers (since=), shortest first; NULL-terminated. */
extern const char *const col_web_windows[];

/*
 * One page: its options, and the pieces the queries made of them (strings
 * borrowed): the HTML forms (COL_FMT_HTML) of summary, tiers, suspects and
 * top-ips, and for each charted tier its states' trends in JSON
 * (trends[i * COL_WEB_NSTATES + s]: charted[i], col_web_states[s]).
 */
typedef struct {
	const char *tier;              /* the page's tier; NULL: every tier */
	const char *since;             /* its window as asked ("1h") */
	unsigned refresh_s;            /* the page reloads itself after this; 0: never */
	bool chart_lib;                /* the charting library is served at /static/ */
	const char *const *tiers;      /* every tier, for the choice (sorted) */
	size_t n_tiers;
	const char *summary, *tiers_table, *suspects, *top_ips;
	const char *const *charted;   /* the first COL_WEB_MAX_CHARTS of tiers, or the page's */
	size_t n_charted;
	const char *const *trends;
} col_web_page_t;

/* Appends the whole document to b.  0 or -ENOMEM. */
int col_web_render(const col_web_page_t *p, fs_buf_t *b);

/* The page's own script and style, served at /static/ (web_assets.c, made from collector/web). */
extern const unsigned char col_web_js[], col_web_css[];
extern const size_t col_web_js_len, col_web_css_len;

#endif
