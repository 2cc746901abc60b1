/* SPDX-License-Identifier: MIT */
/* metrics.c: Prometheus text exposition of the fleet and of the collector; no I/O. */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "requests.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Label values escape backslash, double quote and newline. */
static void label(fs_buf_t *b, const char *name, const char *v)
{
	fs_buf_printf(b, "%s=\"", name);
	for (; *v; v++) {
		if (*v == '\\')
			fs_buf_puts(b, "\\\\");
		else if (*v == '"')
			fs_buf_puts(b, "\\\"");
		else if (*v == '\n')
			fs_buf_puts(b, "\\n");
		else
			fs_buf_add(b, v, 1);
	}
	fs_buf_puts(b, "\"");
}

/*
 * A host's labels: hostname and tier, and its id, since two agents (a host
 * reinstalled with a new agent id) may share a hostname and tier.
 */
static void host_labels(fs_buf_t *b, const col_host_t *h)
{
	label(b, "host", h->hostname);
	fs_buf_puts(b, ",");
	label(b, "tier", h->tier);
	fs_buf_printf(b, ",id=\"%" PRId64 "\"", h->id);
}

static void help(fs_buf_t *b, const char *name, const char *type, const char *text)
{
	fs_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static int tier_cmp(const void *a, const void *b)
{
	const col_host_t *x = *(const col_host_t *const *)a, *y = *(const col_host_t *const *)b;
	int c = strcmp(x->tier, y->tier);

	return c ? c : strcmp(x->hostname, y->hostname);
}

typedef struct {
	const char *name;
	size_t fresh, stale;
	uint64_t sum[WIRE_NSTATES];
} tier_t;

static const char *const reasons[COL_NREASONS] = {
	"unspecified", "bad_frame", "bad_protocol", "auth_failed", "invalid", "overloaded",
	"internal",
};

/* Largest total first, within one tier and direction. */
static int port_rank(const void *a, const void *b)
{
	const col_tier_port_t *x = *(const col_tier_port_t *const *)a;
	const col_tier_port_t *y = *(const col_tier_port_t *const *)b;
	uint64_t tx = 0, ty = 0;

	for (int s = 1; s < WIRE_NSTATES; s++) {
		tx += x->st[s];
		ty += y->st[s];
	}
	if (tx != ty)
		return tx > ty ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

/*
 * fleetstat_tier_port_sockets: per tier and direction its COL_METRICS_PORTS
 * busiest ports, state by state; a bounded label set whatever the fleet.
 */
static int tier_ports(fs_buf_t *b, const col_host_t *hosts, size_t n, int64_t now_ms)
{
	static const char *const dir[2] = {"inbound", "outbound"};
	col_tier_port_t *tp;
	const col_tier_port_t **run;
	size_t np;

	if (col_tier_ports(hosts, n, now_ms, &tp, &np) < 0)
		return -ENOMEM;
	if ((run = malloc((np ? np : 1) * sizeof(*run))) == NULL) {
		free(tp);
		return -ENOMEM;
	}
	help(b, "fleetstat_tier_port_sockets", "gauge",
	     "TCP sockets by state on a listening port (inbound) or to a remote port (outbound),"
	     " summed over the tier's fresh hosts; the tier's " COL_STR(COL_METRICS_PORTS)
	     " busiest ports each way.");
	for (size_t i = 0; i < np;) {
		size_t k = 0, j = i;

		while (j < np && tp[j].dir == tp[i].dir && strcmp(tp[j].tier, tp[i].tier) == 0)
			run[k++] = &tp[j++];
		if (tp[i].dir < 2) {
			qsort(run, k, sizeof(*run), port_rank);
			for (size_t r = 0; r < k && r < COL_METRICS_PORTS; r++)
				for (int s = 1; s < WIRE_NSTATES; s++) {
					if (s == WIRE_LISTEN)
						continue;
					fs_buf_puts(b, "fleetstat_tier_port_sockets{");
					label(b, "tier", run[r]->tier);
					fs_buf_printf(b, ",direction=\"%s\",port=\"%" PRIu32 "\",state=\"%s\"} %"
					              PRIu64 "\n", dir[run[r]->dir], run[r]->port, wire_state_key(s),
					              run[r]->st[s]);
				}
		}
		i = j;
	}
	free(run);
	free(tp);
	return 0;
}

/* The fresh hosts' latest reports with requests, v sorted by tier: [i, *end) is one tier's. */
static size_t tier_run(const col_host_t *const *v, size_t n, size_t i, int64_t now_ms,
                       double *rate, double *malformed, double *bytes)
{
	size_t j = i;

	memset(rate, 0, WIRE_REQ_NCLASS * sizeof(*rate));
	*malformed = *bytes = 0;
	for (; j < n && strcmp(v[j]->tier, v[i]->tier) == 0; j++) {
		const wire_requests_t *q = &v[j]->requests;
		double per_s = v[j]->interval_ms ? 1000.0 / v[j]->interval_ms : 0;

		if (!q->present || col_host_stale(v[j], now_ms))
			continue;
		for (int c = 0; c < WIRE_REQ_NCLASS; c++)
			rate[c] += (double)q->by_status[c] * per_s;
		*malformed += (double)q->malformed * per_s;
		*bytes += (double)q->bytes * per_s;
	}
	return j;
}

/* Whether a fresh host of the tier at v[i] follows an access log. */
static bool tier_logs(const col_host_t *const *v, size_t n, size_t i, int64_t now_ms)
{
	for (size_t j = i; j < n && strcmp(v[j]->tier, v[i]->tier) == 0; j++)
		if (v[j]->requests.present && !col_host_stale(v[j], now_ms))
			return true;
	return false;
}

/*
 * The access logs' requests (DESIGN 12) per tier of the fresh hosts'
 * latest reports, a second: by status class, malformed lines, bytes, and
 * the tier's COL_METRICS_REQUESTERS busiest client IPs (a bounded label set).
 * Tiers without access logs have none of these.
 */
static int tier_requests(fs_buf_t *b, const col_host_t *const *v, size_t n, int64_t now_ms)
{
	double rate[WIRE_REQ_NCLASS], malformed, bytes;
	char ip[WIRE_IP_STRLEN];
	size_t i, j;

	help(b, "fleetstat_tier_requests_per_second", "gauge",
	     "Requests a second in the access logs by status class, summed over the tier's fresh"
	     " hosts' latest reports.");
	for (i = 0; i < n; i = j) {
		j = tier_run(v, n, i, now_ms, rate, &malformed, &bytes);
		if (!tier_logs(v, n, i, now_ms))
			continue;
		for (int c = 0; c < WIRE_REQ_NCLASS; c++) {
			fs_buf_puts(b, "fleetstat_tier_requests_per_second{");
			label(b, "tier", v[i]->tier);
			fs_buf_printf(b, ",class=\"%s\"} %.3f\n", wire_req_class_name(c), rate[c]);
		}
	}
	help(b, "fleetstat_tier_request_bytes_per_second", "gauge",
	     "Response bytes a second in the access logs, summed over the tier's fresh hosts.");
	for (i = 0; i < n; i = j) {
		j = tier_run(v, n, i, now_ms, rate, &malformed, &bytes);
		if (!tier_logs(v, n, i, now_ms))
			continue;
		fs_buf_puts(b, "fleetstat_tier_request_bytes_per_second{");
		label(b, "tier", v[i]->tier);
		fs_buf_printf(b, "} %.3f\n", bytes);
	}
	help(b, "fleetstat_tier_log_malformed_per_second", "gauge",
	     "Access log lines a second that were not the log's format (or too long).");
	for (i = 0; i < n; i = j) {
		j = tier_run(v, n, i, now_ms, rate, &malformed, &bytes);
		if (!tier_logs(v, n, i, now_ms))
			continue;
		fs_buf_puts(b, "fleetstat_tier_log_malformed_per_second{");
		label(b, "tier", v[i]->tier);
		fs_buf_printf(b, "} %.3f\n", malformed);
	}
	help(b, "fleetstat_tier_requester_requests_per_second", "gauge",
	     "The tier's " COL_STR(COL_METRICS_REQUESTERS) " busiest client IPs by requests a second"
	     " in the fresh hosts' latest reports (counted where listed).");
	for (i = 0; i < n; i = j) {
		col_req_t *a = col_req_new(false);
		col_req_ip_t *top = NULL;
		size_t k = 0;
		int err = a ? 0 : -ENOMEM;

		for (j = i; j < n && strcmp(v[j]->tier, v[i]->tier) == 0; j++)
			if (err == 0 && !col_host_stale(v[j], now_ms))
				err = col_req_add(a, v[j]->id, v[j]->tier, v[j]->interval_ms, &v[j]->requests);
		if (err == 0)
			err = col_req_ips(a, COL_METRICS_REQUESTERS, &top, &k);
		for (size_t r = 0; r < k; r++) {
			fs_buf_puts(b, "fleetstat_tier_requester_requests_per_second{");
			label(b, "tier", v[i]->tier);
			fs_buf_printf(b, ",ip=\"%s\"} %.3f\n", wire_ip_str(&top[r].ip, ip), top[r].rate);
		}
		free(top);
		col_req_free(a);
		if (err < 0)
			return err;
	}
	return 0;
}

/* The kernel's counters in each host's latest report, as counters: rate() gives them a second. */
static void host_counters(fs_buf_t *b, const col_host_t *const *v, size_t n)
{
	static const struct {
		const char *name, *help;
	} fam[COL_NCTRS] = {
		[COL_CTR_LISTEN_OVERFLOWS] = {"fleetstat_host_listen_overflows_total",
		 "Times a listener's accept queue was full (TcpExt.ListenOverflows) in the host's"
		 " latest report."},
		[COL_CTR_LISTEN_DROPS] = {"fleetstat_host_listen_drops_total",
		 "Connection requests a listener dropped (TcpExt.ListenDrops) in the host's latest"
		 " report."},
		[COL_CTR_SYNCOOKIES_SENT] = {"fleetstat_host_syncookies_sent_total",
		 "SYN cookies sent (TcpExt.SyncookiesSent) in the host's latest report."},
		[COL_CTR_TW_OVERFLOW] = {"fleetstat_host_timewait_overflows_total",
		 "TIME_WAIT sockets not kept, the table full (TcpExt.TCPTimeWaitOverflow), in the"
		 " host's latest report."},
	};

	for (int c = 0; c < COL_NCTRS; c++) {
		help(b, fam[c].name, "counter", fam[c].help);
		for (size_t i = 0; i < n; i++) {
			if (!v[i]->has_report || !(v[i]->counters_found & (1u << c)))
				continue;
			fs_buf_printf(b, "%s{", fam[c].name);
			host_labels(b, v[i]);
			fs_buf_printf(b, "} %" PRIu64 "\n", v[i]->counters[c]);
		}
	}
}

static bool listed_in(const col_top_ip_t *w, const char *tier)
{
	for (size_t i = 0; i < w->n_tiers; i++)
		if (strcmp(w->tiers[i], tier) == 0)
			return true;
	return false;
}

/*
 * The attack verdicts per tier (every tier, every verdict that blocks: 0
 * too, so that an alert's series exists before it fires), then the first
 * suspects by IP, attacks first.
 */
static void suspects(fs_buf_t *b, const col_host_t *const *v, size_t n,
                     const col_suspect_t *s, size_t ns)
{
	char ip[WIRE_IP_STRLEN];
	size_t shown = 0;

	help(b, "fleetstat_tier_attackers", "gauge",
	     "IPs with an attack verdict of `fleetstat suspects` over the last 15 minutes, among"
	     " those seen on the tier's hosts.");
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i - 1]->tier, v[i]->tier) == 0)
			continue;
		for (col_verdict_t d = 0; d <= COL_V_FLOOD; d++) {
			size_t k = 0;

			if (!col_verdict_blocks(d))
				continue;
			for (size_t j = 0; j < ns; j++)
				k += s[j].verdict == d && listed_in(&s[j].w, v[i]->tier);
			fs_buf_puts(b, "fleetstat_tier_attackers{");
			label(b, "tier", v[i]->tier);
			fs_buf_printf(b, ",verdict=\"%s\"} %zu\n", col_verdict_name(d), k);
		}
	}
	help(b, "fleetstat_suspect_connections", "gauge",
	     "The connections of each suspect of the last 15 minutes (the first "
	     COL_STR(COL_METRICS_SUSPECTS) ", attacks first) by its verdict.");
	for (int pass = 0; pass < 2; pass++)
		for (size_t j = 0; j < ns && shown < COL_METRICS_SUSPECTS; j++) {
			if (col_verdict_blocks(s[j].verdict) != (pass == 0))
				continue;
			fs_buf_printf(b, "fleetstat_suspect_connections{ip=\"%s\",verdict=\"%s\"} %" PRIu64
			              "\n", wire_ip_str(&s[j].w.ip, ip), col_verdict_name(s[j].verdict),
			              s[j].w.count);
			shown++;
		}
}

int col_metrics_fleet(const col_host_t *hosts, size_t n, const col_suspect_t *sus,
                      size_t n_sus, int64_t now_ms, fs_buf_t *b)
{
	const col_host_t **v = malloc((n ? n : 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = &hosts[i];
	qsort(v, n, sizeof(*v), tier_cmp);

	/* One pass per tier (v is sorted by tier), then one metric family after another. */
	tier_t *t = calloc(n ? n : 1, sizeof(*t));
	size_t nt = 0;

	if (t == NULL) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (nt == 0 || strcmp(t[nt - 1].name, v[i]->tier) != 0)
			t[nt++].name = v[i]->tier;
		if (col_host_stale(v[i], now_ms)) {
			t[nt - 1].stale++;
			continue;
		}
		t[nt - 1].fresh++;
		for (int s = 1; s < WIRE_NSTATES; s++)
			t[nt - 1].sum[s] += v[i]->states.n[s];
	}
	help(b, "fleetstat_tier_hosts", "gauge", "Hosts of the tier whose latest report is fresh.");
	for (size_t i = 0; i < nt; i++) {
		fs_buf_puts(b, "fleetstat_tier_hosts{");
		label(b, "tier", t[i].name);
		fs_buf_printf(b, "} %zu\n", t[i].fresh);
	}
	help(b, "fleetstat_tier_stale_hosts", "gauge",
	     "Hosts of the tier whose latest report is older than "
	     COL_STALE_INTERVALS_TEXT " intervals.");
	for (size_t i = 0; i < nt; i++) {
		fs_buf_puts(b, "fleetstat_tier_stale_hosts{");
		label(b, "tier", t[i].name);
		fs_buf_printf(b, "} %zu\n", t[i].stale);
	}
	help(b, "fleetstat_tier_sockets", "gauge",
	     "TCP sockets by state, summed over the tier's fresh hosts.");
	for (size_t i = 0; i < nt; i++) {
		for (int s = 1; s < WIRE_NSTATES; s++) {
			fs_buf_puts(b, "fleetstat_tier_sockets{");
			label(b, "tier", t[i].name);
			fs_buf_printf(b, ",state=\"%s\"} %" PRIu64 "\n", wire_state_key(s), t[i].sum[s]);
		}
	}
	free(t);
	if (tier_ports(b, hosts, n, now_ms) < 0 || tier_requests(b, v, n, now_ms) < 0) {
		free(v);
		return -ENOMEM;
	}
	help(b, "fleetstat_host_sockets", "gauge", "TCP sockets by state in the host's latest report.");
	for (size_t i = 0; i < n; i++) {
		if (!v[i]->has_report)
			continue;
		for (int s = 1; s < WIRE_NSTATES; s++) {
			fs_buf_puts(b, "fleetstat_host_sockets{");
			host_labels(b, v[i]);
			fs_buf_printf(b, ",state=\"%s\"} %" PRIu32 "\n", wire_state_key(s), v[i]->states.n[s]);
		}
	}
	help(b, "fleetstat_host_stale", "gauge", "1 when the host's latest report is stale.");
	for (size_t i = 0; i < n; i++) {
		fs_buf_puts(b, "fleetstat_host_stale{");
		host_labels(b, v[i]);
		fs_buf_printf(b, "} %d\n", col_host_stale(v[i], now_ms));
	}
	help(b, "fleetstat_host_report_age_seconds", "gauge",
	     "Seconds since the host's latest report was collected.");
	for (size_t i = 0; i < n; i++) {
		if (!v[i]->has_report)
			continue;
		fs_buf_puts(b, "fleetstat_host_report_age_seconds{");
		host_labels(b, v[i]);
		fs_buf_printf(b, "} %.3f\n", (double)(now_ms - v[i]->collected_at_ms) / 1000.0);
	}
	host_counters(b, v, n);
	if (sus != NULL)
		suspects(b, v, n, sus, n_sus);
	free(v);
	return b->err;
}

int col_metrics_self(const col_selfstats_t *self, fs_buf_t *b)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} self_m[] = {
		{"fleetstat_collector_connections", "gauge", "Agent connections open.",
		 offsetof(col_selfstats_t, connections_open)},
		{"fleetstat_collector_connections_accepted_total", "counter",
		 "Agent connections accepted.", offsetof(col_selfstats_t, connections_accepted)},
		{"fleetstat_collector_frames_total", "counter", "Frames received from agents.",
		 offsetof(col_selfstats_t, frames)},
		{"fleetstat_collector_reports_received_total", "counter", "Reports received.",
		 offsetof(col_selfstats_t, reports_received)},
		{"fleetstat_collector_reports_stored_total", "counter", "Reports committed.",
		 offsetof(col_selfstats_t, reports_stored)},
		{"fleetstat_collector_reports_duplicate_total", "counter",
		 "Reports already stored, acked again.", offsetof(col_selfstats_t, reports_duplicate)},
		{"fleetstat_collector_commits_total", "counter", "Group commits.",
		 offsetof(col_selfstats_t, commits)},
		{"fleetstat_collector_commit_failures_total", "counter",
		 "Group commits that failed (retried; nothing acked).",
		 offsetof(col_selfstats_t, commit_failures)},
		{"fleetstat_collector_writer_queue", "gauge", "Jobs waiting for the writer.",
		 offsetof(col_selfstats_t, queued)},
		{"fleetstat_collector_http_requests_total", "counter", "HTTP requests served.",
		 offsetof(col_selfstats_t, http_requests)},
	};
	for (size_t i = 0; i < ARRAY_SIZE(self_m); i++) {
		help(b, self_m[i].name, self_m[i].type, self_m[i].help);
		fs_buf_printf(b, "%s %" PRIu64 "\n", self_m[i].name,
		              *(const uint64_t *)((const char *)self + self_m[i].off));
	}
	help(b, "fleetstat_collector_rejected_frames_total", "counter",
	     "Connections refused with an Error frame, by reason.");
	for (int r = 0; r < COL_NREASONS; r++)
		fs_buf_printf(b, "fleetstat_collector_rejected_frames_total{reason=\"%s\"} %" PRIu64 "\n",
		              reasons[r], self->rejected[r]);
	help(b, "fleetstat_collector_commit_last_seconds", "gauge", "Latency of the last group commit.");
	fs_buf_printf(b, "fleetstat_collector_commit_last_seconds %.6f\n",
	              (double)self->last_commit_us / 1e6);
	help(b, "fleetstat_collector_commit_max_seconds", "gauge",
	     "Latency of the slowest group commit since start.");
	fs_buf_printf(b, "fleetstat_collector_commit_max_seconds %.6f\n",
	              (double)self->max_commit_us / 1e6);
	return b->err;
}
