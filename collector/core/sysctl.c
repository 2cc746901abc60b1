/* SPDX-License-Identifier: MIT */
/* sysctl.c: the tuning sysctls across hosts per tier: values, the majority, drift, advice. No I/O. */
#include "query_priv.h"
#include "advice.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *value;
	unsigned hosts;
} value_count_t;

/* One tier's rows of one sysctl: rows[lo..hi) of that name, filtered by tier. */
static void sysctl_one(const col_host_t *hosts, size_t n_hosts, const col_sysctl_t *rows,
                       size_t lo, size_t hi, const char *tier, const col_qopts_t *o,
                       value_count_t *vc, grid_t *g, fs_buf_t *b, bool *first)
{
	size_t nv = 0, major = 0;
	unsigned total = 0;

	for (size_t i = lo; i < hi; i++) {
		const col_host_t *h = col_host_find(hosts, n_hosts, rows[i].host_id);
		size_t k;

		if (h == NULL || strcmp(h->tier, tier) || col_host_stale(h, o->now_ms))
			continue;
		for (k = 0; k < nv && strcmp(vc[k].value, rows[i].value); k++)
			;
		if (k == nv)
			vc[nv++] = (value_count_t){rows[i].value, 0};
		vc[k].hosts++;
		total++;
	}
	if (nv == 0)
		return;
	/* The majority: most hosts; a tie goes to the smaller value, so the answer is stable. */
	for (size_t k = 1; k < nv; k++)
		if (vc[k].hosts > vc[major].hosts ||
		    (vc[k].hosts == vc[major].hosts && strcmp(vc[k].value, vc[major].value) < 0))
			major = k;
	if (o->format != COL_FMT_JSON) {
		for (size_t k = 0; k < nv; k++) {
			char drift[256] = "";
			size_t len = 0;

			for (size_t i = lo; k != major && i < hi && len < sizeof(drift); i++) {
				const col_host_t *h = col_host_find(hosts, n_hosts, rows[i].host_id);

				if (h && !strcmp(h->tier, tier) && !col_host_stale(h, o->now_ms) &&
				    !strcmp(rows[i].value, vc[k].value))
					len += (size_t)snprintf(drift + len, sizeof(drift) - len, "%s%s",
					                        len ? " " : "", h->hostname);
			}
			grid_cell(g, "%s", tier);
			grid_cell(g, "%s", rows[lo].name);
			grid_cell(g, "%s", vc[k].value);
			grid_cell(g, "%u/%u", vc[k].hosts, total);
			grid_cell(g, "%s", k == major ? "majority" : drift);
		}
		return;
	}
	fs_buf_puts(b, *first ? "{\"name\":" : ",{\"name\":");
	*first = false;
	fs_buf_json_str(b, rows[lo].name);
	fs_buf_printf(b, ",\"hosts\":%u,\"majority\":", total);
	fs_buf_json_str(b, vc[major].value);
	fs_buf_puts(b, ",\"values\":[");
	for (size_t k = 0; k < nv; k++) {
		fs_buf_puts(b, k ? ",{\"value\":" : "{\"value\":");
		fs_buf_json_str(b, vc[k].value);
		fs_buf_printf(b, ",\"hosts\":%u}", vc[k].hosts);
	}
	fs_buf_puts(b, "],\"drift\":[");
	for (size_t i = lo, d = 0; i < hi; i++) {
		const col_host_t *h = col_host_find(hosts, n_hosts, rows[i].host_id);

		if (h == NULL || strcmp(h->tier, tier) || col_host_stale(h, o->now_ms) ||
		    !strcmp(rows[i].value, vc[major].value))
			continue;
		fs_buf_puts(b, d++ ? ",{\"hostname\":" : "{\"hostname\":");
		fs_buf_json_str(b, h->hostname);
		fs_buf_puts(b, ",\"value\":");
		fs_buf_json_str(b, rows[i].value);
		fs_buf_printf(b, ",\"changed_at_ms\":%" PRId64 "}", rows[i].changed_at_ms);
	}
	fs_buf_puts(b, "]}");
}

int col_sysctl_render(const col_host_t *hosts, size_t n_hosts, const col_sysctl_t *rows,
                      size_t n_rows, const col_advice_t *adv, size_t n_adv,
                      const col_qopts_t *o, fs_buf_t *b)
{
	static const char *const head[] = {"TIER", "SYSCTL", "VALUE", "HOSTS", "DRIFT"};
	const col_host_t **v;
	value_count_t *vc;
	size_t k;
	grid_t g;
	int err;

	if ((err = col__select_hosts(hosts, n_hosts, o, false, &v, &k)) < 0)
		return err;
	if ((vc = calloc(n_rows ? n_rows : 1, sizeof(*vc))) == NULL) {
		free(v);
		return -ENOMEM;
	}
	if (o->format == COL_FMT_JSON) {
		col__json_head(b, o);
		fs_buf_puts(b, ",\"tiers\":[");
	} else {
		grid_init(&g, o->format, 0x17);
		grid_heads(&g, head, ARRAY_SIZE(head));
		grid_head_done(&g);
	}
	/* v is sorted by tier: each tier once, each of its sysctls (rows sorted by name). */
	for (size_t i = 0, nt = 0; i < k; i++) {
		const char *tier = v[i]->tier;
		bool first = true;

		if (i > 0 && strcmp(v[i - 1]->tier, tier) == 0)
			continue;
		if (o->format == COL_FMT_JSON) {
			fs_buf_puts(b, nt++ ? ",{\"tier\":" : "{\"tier\":");
			fs_buf_json_str(b, tier);
			fs_buf_puts(b, ",\"sysctls\":[");
		}
		for (size_t lo = 0, hi; lo < n_rows; lo = hi) {
			for (hi = lo + 1; hi < n_rows && strcmp(rows[hi].name, rows[lo].name) == 0; hi++)
				;
			/* A gauge the agent reads with the settings: the advice's, not a drift. */
			if (strcmp(rows[lo].name, "net.netfilter.nf_conntrack_count") == 0)
				continue;
			if (o->name == NULL || strcmp(o->name, rows[lo].name) == 0)
				sysctl_one(hosts, n_hosts, rows, lo, hi, tier, o, vc, &g, b, &first);
		}
		if (o->format == COL_FMT_JSON)
			fs_buf_puts(b, "]}");
	}
	free(vc);
	free(v);
	if (o->format == COL_FMT_JSON) {
		fs_buf_puts(b, "],\"advice\":");
		col_advice_render(adv, n_adv, o, b);
		fs_buf_puts(b, "}\n");
		return b->err;
	}
	if ((err = grid_render(&g, b)) < 0 || o->format != COL_FMT_TABLE || n_adv == 0)
		return err;
	fs_buf_puts(b, "\nAdvice (the settings against what the counters show):\n");
	col_advice_render(adv, n_adv, o, b);
	return b->err;
}
