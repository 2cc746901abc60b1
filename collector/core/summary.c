/* SPDX-License-Identifier: MIT */
/* summary.c: thresholds, and the summary's status and text; no I/O. */
#include "summary.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advice.h"
#include "grid.h"

static const char *const level_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

static int parse_u64(const char *s, size_t len, uint64_t *v)
{
	char tmp[24], *end;

	if (len == 0 || len >= sizeof(tmp) || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*v = strtoull(tmp, &end, 10);
	return *end == '\0' ? 0 : -EINVAL;
}

int col_thresholds_set(col_thresholds_t *th, const char *name, const char *value,
                       const char **why)
{
	col_threshold_t t = {.tier = ""};
	const char *comma = strchr(value, ','), *dot = strchr(name, '.');
	size_t wlen = comma ? (size_t)(comma - value) : strlen(value);

	*why = NULL;
	if (strcmp(name, "stale") == 0) {
		t.state = -1;
	} else if (strcmp(name, "attacks") == 0) {
		t.state = COL_TH_ATTACKS;
	} else if (strcmp(name, "advice") == 0) {
		t.state = COL_TH_ADVICE;
	} else if (dot == NULL) {
		int k;

		for (k = 0; k < COL_NCTRS; k++)
			if (strcmp(name, strchr(col_counter_names[k], '.') + 1) == 0)
				break;
		if (k == COL_NCTRS) {
			*why = "not TIER.STATE, stale, attacks, advice, ListenOverflows, ListenDrops, "
			       "SyncookiesSent or TCPTimeWaitOverflow";
			return -EINVAL;
		}
		t.state = -2 - k;
	} else {
		size_t tl = (size_t)(dot - name);

		if (tl == 0 || tl >= sizeof(t.tier) ||
		    (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") < tl &&
		     !(tl == 1 && name[0] == '*'))) {
			*why = "the tier must be [a-z0-9_-]{1,32} or *";
			return -EINVAL;
		}
		memcpy(t.tier, name, tl);
		if (col_state_parse(dot + 1, &t.state) < 0) {
			*why = "not a TCP state (ESTABLISHED, SYN_RECV, ...) or total after the tier";
			return -EINVAL;
		}
	}
	if ((wlen && parse_u64(value, wlen, &t.warning) < 0) ||
	    (comma && parse_u64(comma + 1, strlen(comma + 1), &t.critical) < 0) ||
	    (t.warning == 0 && t.critical == 0) ||
	    (t.warning && t.critical && t.critical < t.warning)) {
		*why = "not WARNING,CRITICAL (whole numbers, critical >= warning), WARNING or ,CRITICAL";
		return -EINVAL;
	}
	if (th->n == COL_MAX_THRESHOLDS) {
		*why = "too many thresholds (at most 64)";
		return -EINVAL;
	}
	th->t[th->n++] = t;
	return 0;
}

/* The level value v reaches against t. */
static int level_of(const col_threshold_t *t, uint64_t v)
{
	if (t->critical && v >= t->critical)
		return COL_CRITICAL;
	if (t->warning && v >= t->warning)
		return COL_WARNING;
	return COL_OK;
}

typedef struct {
	int level;
	char what[160];
	uint64_t value, threshold;
} alert_t;

/* a holds one alert per threshold and tier, and one more: there is always room. */
static void add_alert(alert_t *a, size_t *n, int level, uint64_t value,
                      const col_threshold_t *t, const char *fmt, const char *arg1, const char *arg2)
{
	if (level == COL_OK)
		return;
	a[*n].level = level;
	a[*n].value = value;
	a[*n].threshold = level == COL_CRITICAL ? t->critical : t->warning;
	snprintf(a[*n].what, sizeof(a[*n].what), fmt, arg1, arg2);
	(*n)++;
}

/*
 * The web view's part of it: the status, the alerts and the stale hosts as
 * tables (the peaks and the rest have pages of their own).  0 or -ENOMEM.
 */
static int render_html(fs_buf_t *b, int status, const alert_t *al, size_t na,
                       const col_host_t *hosts, size_t n_hosts, const col_qopts_t *o)
{
	static const char *const ahead[] = {"LEVEL", "WHAT", "VALUE", "THRESHOLD"};
	static const char *const shead[] = {"HOST", "TIER", "LAST SEEN"};
	char ts[24];
	grid_t g;

	fs_buf_printf(b, "<p class=\"status status-%d\" id=\"status\">%s, the last %" PRId64
	              " minutes to %s</p>\n", status, level_names[status], o->since_ms / 60000,
	              col_time_str(o->now_ms, ts));
	grid_init(&g, COL_FMT_HTML, 0x3);
	grid_heads(&g, ahead, 4);
	grid_head_done(&g);
	for (size_t i = 0; i < na; i++) {
		grid_cell(&g, "%s", level_names[al[i].level]);
		grid_cell(&g, "%s", al[i].what);
		grid_cell(&g, "%" PRIu64, al[i].value);
		grid_cell(&g, "%" PRIu64, al[i].threshold);
	}
	fs_buf_puts(b, "<h3>Alerts</h3>\n");
	if (grid_render(&g, b) < 0)
		return -ENOMEM;
	grid_init(&g, COL_FMT_HTML, 0x7);
	grid_heads(&g, shead, 3);
	grid_head_done(&g);
	for (size_t i = 0; i < n_hosts; i++)
		if (col_host_stale(&hosts[i], o->now_ms)) {
			grid_cell(&g, "%s", hosts[i].hostname);
			grid_cell(&g, "%s", hosts[i].tier);
			grid_cell(&g, "%s", col_time_str(hosts[i].last_seen_ms, ts));
		}
	fs_buf_puts(b, "<h3>Stale hosts (no report for " COL_STALE_INTERVALS_TEXT " intervals)</h3>\n");
	return grid_render(&g, b) < 0 ? -ENOMEM : 0;
}

static size_t slot(int state)
{
	return state == COL_STATE_TOTAL ? WIRE_NSTATES : (size_t)state;
}

static const int shown[] = {
	WIRE_ESTABLISHED, WIRE_SYN_SENT, WIRE_SYN_RECV, WIRE_FIN_WAIT1, WIRE_FIN_WAIT2,
	WIRE_TIME_WAIT, WIRE_CLOSE, WIRE_CLOSE_WAIT, WIRE_LAST_ACK, WIRE_CLOSING, COL_STATE_TOTAL,
};

int col_summary_render(const col_host_t *hosts, size_t n_hosts, const col_tier_peak_t *peaks,
                       size_t n_peaks, const col_host_rates_t *rates, size_t n_rates,
                       const col_summary_extra_t *x, const col_thresholds_t *th,
                       const col_qopts_t *o, fs_buf_t *b)
{
	alert_t *al;
	size_t na = 0, n_stale = 0, n_reported = 0;
	int status = COL_OK;
	char ts[24], num[32], ip[WIRE_IP_STRLEN];
	/* Unless the config says otherwise: an attack is CRITICAL, advice a WARNING. */
	col_thresholds_t all = *th;
	bool has_attacks = false, has_advice = false;

	for (size_t k = 0; k < th->n; k++) {
		has_attacks |= th->t[k].state == COL_TH_ATTACKS;
		has_advice |= th->t[k].state == COL_TH_ADVICE;
	}
	if (!has_attacks && all.n < COL_MAX_THRESHOLDS)
		all.t[all.n++] = (col_threshold_t){.state = COL_TH_ATTACKS, .critical = 1};
	if (!has_advice && all.n < COL_MAX_THRESHOLDS)
		all.t[all.n++] = (col_threshold_t){.state = COL_TH_ADVICE, .warning = 1};
	th = &all;
	if ((al = calloc(all.n * (n_peaks + 1) + 1, sizeof(*al))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n_hosts; i++) {
		n_stale += col_host_stale(&hosts[i], o->now_ms);
		n_reported += hosts[i].has_report;
	}
	for (size_t k = 0; k < th->n; k++) {
		const col_threshold_t *t = &th->t[k];

		if (t->state == COL_TH_ATTACKS || t->state == COL_TH_ADVICE) {
			size_t v = t->state == COL_TH_ATTACKS ? x->n_attacks : x->n_advice;

			add_alert(al, &na, level_of(t, v), v, t, "%s%s",
			          t->state == COL_TH_ATTACKS ? "attack verdicts" : "tuning advice", "");
		} else if (t->state == -1) {
			snprintf(num, sizeof(num), "%zu", n_stale);
			add_alert(al, &na, level_of(t, n_stale), n_stale, t, "%s stale hosts%s", num,
			          "");
		} else if (t->state <= -2) {
			int c = -2 - t->state;
			double worst = -1;
			const char *who = NULL;

			for (size_t i = 0; i < n_rates; i++)
				if (rates[i].per_min[c] > worst) {
					worst = rates[i].per_min[c];
					who = rates[i].host->hostname;
				}
			if (who)
				add_alert(al, &na, level_of(t, (uint64_t)worst), (uint64_t)worst, t,
				          "%s per minute on %s", col_counter_names[c], who);
		} else {
			for (size_t i = 0; i < n_peaks; i++)
				if (strcmp(t->tier, "*") == 0 || strcmp(t->tier, peaks[i].tier) == 0) {
					uint64_t v = peaks[i].peak[slot(t->state)];

					add_alert(al, &na, level_of(t, v), v, t, "%s %s peak", peaks[i].tier,
					          col_state_label(t->state));
				}
		}
	}
	for (size_t i = 0; i < na; i++)
		if (al[i].level > status)
			status = al[i].level;
	/* No agent has a report here (none came, or none was taken): nothing can be said to be fine. */
	if (n_reported == 0) {
		status = COL_UNKNOWN;
		al[na].level = COL_UNKNOWN;
		snprintf(al[na++].what, sizeof(al[0].what), "no agent has reported yet");
	}

	if (o->format == COL_FMT_JSON) {
		fs_buf_printf(b, "{\"now_ms\":%" PRId64, o->now_ms);
		if (o->tier) {
			fs_buf_puts(b, ",\"tier\":");
			fs_buf_json_str(b, o->tier);
		}
		fs_buf_printf(b, ",\"since_ms\":%" PRId64 ",\"status\":\"%s\",\"exit_code\":%d,"
		              "\"alerts\":[", o->since_ms, level_names[status], status);
		for (size_t i = 0; i < na; i++) {
			fs_buf_printf(b, "%s{\"level\":\"%s\",\"what\":", i ? "," : "",
			              level_names[al[i].level]);
			fs_buf_json_str(b, al[i].what);
			fs_buf_printf(b, ",\"value\":%" PRIu64 ",\"threshold\":%" PRIu64 "}", al[i].value,
			              al[i].threshold);
		}
		fs_buf_puts(b, "],\"tiers\":[");
		for (size_t i = 0; i < n_peaks; i++) {
			fs_buf_puts(b, i ? ",{\"tier\":" : "{\"tier\":");
			fs_buf_json_str(b, peaks[i].tier);
			fs_buf_puts(b, ",\"peaks\":{");
			for (size_t s = 0; s < sizeof(shown) / sizeof(shown[0]); s++)
				fs_buf_printf(b, "%s\"%s\":%" PRIu64, s ? "," : "", col_state_label(shown[s]),
				              peaks[i].peak[slot(shown[s])]);
			fs_buf_puts(b, "}}");
		}
		fs_buf_puts(b, "],\"stale\":[");
		for (size_t i = 0, k = 0; i < n_hosts; i++) {
			if (!col_host_stale(&hosts[i], o->now_ms))
				continue;
			fs_buf_puts(b, k++ ? ",{\"hostname\":" : "{\"hostname\":");
			fs_buf_json_str(b, hosts[i].hostname);
			fs_buf_puts(b, ",\"tier\":");
			fs_buf_json_str(b, hosts[i].tier);
			fs_buf_printf(b, ",\"last_seen\":%" PRId64 "}", hosts[i].last_seen_ms);
		}
		fs_buf_puts(b, "],\"counters\":[");
		for (size_t i = 0; i < n_rates; i++) {
			fs_buf_puts(b, i ? ",{\"hostname\":" : "{\"hostname\":");
			fs_buf_json_str(b, rates[i].host->hostname);
			fs_buf_puts(b, ",\"per_min\":{");
			for (int c = 0; c < COL_NCTRS; c++) {
				fs_buf_printf(b, "%s\"%s\":", c ? "," : "", col_counter_names[c]);
				if (rates[i].per_min[c] < 0)
					fs_buf_puts(b, "null");
				else
					fs_buf_printf(b, "%.2f", rates[i].per_min[c]);
			}
			fs_buf_puts(b, "}}");
		}
		fs_buf_printf(b, "],\"pending_hours\":%" PRIu32 ",\"pending_verdicts\":%zu"
		              ",\"attacks\":[", x->pending_hours, x->n_waiting);
		for (size_t i = 0; i < x->n_attacks; i++) {
			const col_suspect_t *s = &x->attacks[i];

			fs_buf_printf(b, "%s{\"ip\":\"%s\",\"verdict\":\"%s\",\"peak\":%" PRIu64
			              ",\"syn_recv\":%" PRIu64 ",\"hosts\":%" PRIu32 "}",
			              i ? "," : "", wire_ip_str(&s->w.ip, ip), col_verdict_name(s->verdict),
			              s->w.count, s->w.st[WIRE_SYN_RECV], s->w.hosts);
		}
		fs_buf_printf(b, "],\"requesters_since_ms\":%" PRId64 ",\"requesters\":[",
		              x->requesters_ms);
		for (size_t i = 0; i < x->n_requesters; i++) {
			const col_req_ip_t *q = &x->requesters[i];

			fs_buf_printf(b, "%s{\"ip\":\"%s\",\"requests\":%" PRIu64 ",\"upper_bound\":%"
			              PRIu64 ",\"rate\":%.2f,\"user_agents\":%" PRIu32 ",\"hosts\":%"
			              PRIu32 "}", i ? "," : "", wire_ip_str(&q->ip, ip), q->requests,
			              q->upper_bound, q->rate, q->user_agents, q->hosts);
		}
		fs_buf_puts(b, "],\"advice\":");
		col_advice_render(x->advice, x->n_advice, o, b);
		fs_buf_puts(b, "}\n");
	} else if (o->format == COL_FMT_HTML) {
		if (render_html(b, status, al, na, hosts, n_hosts, o) < 0)
			b->err = -ENOMEM;
	} else {
		fs_buf_printf(b, "fleetstat summary: %s, %s%s%sthe last %" PRId64 " minutes to %s\n\n",
		              level_names[status], o->tier ? "tier " : "", o->tier ? o->tier : "",
		              o->tier ? ", " : "", o->since_ms / 60000, col_time_str(o->now_ms, ts));
		for (size_t i = 0; i < na; i++)
			fs_buf_printf(b, "%-8s %s: %" PRIu64 " (threshold %" PRIu64 ")\n",
			              level_names[al[i].level], al[i].what, al[i].value, al[i].threshold);
		if (na)
			fs_buf_puts(b, "\n");
		fs_buf_puts(b, "Peaks of each tier's sum over the window:\n");
		fs_buf_printf(b, "  %-12s %10s %10s %10s %10s %10s %10s\n", "TIER", "total", "ESTAB",
		              "SYN_RECV", "TIME_WAIT", "CLOSE_WAIT", "FIN_WAIT1");
		for (size_t i = 0; i < n_peaks; i++)
			fs_buf_printf(b, "  %-12s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
			              " %10" PRIu64 " %10" PRIu64 "\n", peaks[i].tier,
			              peaks[i].peak[WIRE_NSTATES], peaks[i].peak[WIRE_ESTABLISHED],
			              peaks[i].peak[WIRE_SYN_RECV], peaks[i].peak[WIRE_TIME_WAIT],
			              peaks[i].peak[WIRE_CLOSE_WAIT], peaks[i].peak[WIRE_FIN_WAIT1]);
		fs_buf_printf(b, "\nStale agents (no report for " COL_STALE_INTERVALS_TEXT " intervals): %zu\n", n_stale);
		for (size_t i = 0; i < n_hosts; i++)
			if (col_host_stale(&hosts[i], o->now_ms))
				fs_buf_printf(b, "  %s (%s), last seen %s\n", hosts[i].hostname,
				              hosts[i].tier, col_time_str(hosts[i].last_seen_ms, ts));
		fs_buf_puts(b, "\nKernel counters, per minute over the window, the busiest host:\n");
		for (int c = 0; c < COL_NCTRS; c++) {
			double worst = -1;
			const char *who = "-";

			for (size_t i = 0; i < n_rates; i++)
				if (rates[i].per_min[c] > worst) {
					worst = rates[i].per_min[c];
					who = rates[i].host->hostname;
				}
			if (worst < 0)
				fs_buf_printf(b, "  %-28s -\n", col_counter_names[c]);
			else
				fs_buf_printf(b, "  %-28s %.2f (%s)\n", col_counter_names[c], worst, who);
		}
		fs_buf_printf(b, "\nAttack verdicts over the window (fleetstat suspects): %zu\n",
		              x->n_attacks);
		for (size_t i = 0; i < x->n_attacks; i++) {
			const col_suspect_t *s = &x->attacks[i];

			fs_buf_printf(b, "  %-15s %-10s %" PRIu64 " connections (%" PRIu64 " SYN_RECV) on %"
			              PRIu32 " host%s", wire_ip_str(&s->w.ip, ip),
			              col_verdict_name(s->verdict), s->w.count, s->w.st[WIRE_SYN_RECV],
			              s->w.hosts, s->w.hosts == 1 ? "" : "s");
			if (s->has_requests)
				fs_buf_printf(b, ", %.0f requests/s", s->rq.rate);
			fs_buf_puts(b, "\n");
		}
		if (x->pending_hours > 0)
			fs_buf_printf(b, "  baseline being built: %" PRIu32 " hours pending; %zu heavy"
			              " IP%s wait%s for it (watch until then)\n", x->pending_hours,
			              x->n_waiting, x->n_waiting == 1 ? "" : "s",
			              x->n_waiting == 1 ? "s" : "");
		fs_buf_printf(b, "\nTop requesters, the last %" PRId64 " minutes (fleetstat requests): %zu\n",
		              x->requesters_ms / 60000, x->n_requesters);
		for (size_t i = 0; i < x->n_requesters; i++) {
			const col_req_ip_t *q = &x->requesters[i];

			fs_buf_printf(b, "  %-15s %" PRIu64 " requests (up to %" PRIu64 "), %.0f/s at most,"
			              " %" PRIu32 "%s user agent%s, %" PRIu32 " host%s\n",
			              wire_ip_str(&q->ip, ip), q->requests, q->upper_bound, q->rate,
			              q->user_agents, q->user_agents_capped ? "+" : "",
			              q->user_agents == 1 ? "" : "s", q->hosts, q->hosts == 1 ? "" : "s");
		}
		fs_buf_printf(b, "\nTuning advice (fleetstat sysctl): %zu\n", x->n_advice);
		col_advice_render(x->advice, x->n_advice, o, b);
	}
	free(al);
	return b->err < 0 ? b->err : status;
}
