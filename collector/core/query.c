/* SPDX-License-Identifier: MIT */
/*
 * query.c: the queries' options, the pieces their renderings share, and the
 * hosts and tiers queries; top-ips (topmerge.c), trend (trend.c) and sysctl
 * (sysctl.c) have files of their own.  No I/O.
 */
#include "query_priv.h"
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "check.h"

#define TOP_LIMIT_MAX 10000

void col_qopts_init(col_qopts_t *o, int64_t now_ms)
{
	memset(o, 0, sizeof(*o));
	o->now_ms = now_ms;
	o->limit = 20;
	o->format = COL_FMT_TABLE;
}

int col_state_parse(const char *v, int *state)
{
	if (strcasecmp(v, "total") == 0) {
		*state = COL_STATE_TOTAL;
		return 0;
	}
	for (int s = 1; s < WIRE_NSTATES; s++) {
		/* Listeners are counted apart, never in the state table. */
		if (s != WIRE_LISTEN && strcasecmp(v, wire_state_name(s)) == 0) {
			*state = s;
			return 0;
		}
	}
	return -EINVAL;
}

int col_qopts_set(col_qopts_t *o, const char *name, const char *value, const char **why)
{
	int64_t ms;
	int p = col_param_find(name), f;

	*why = NULL;
	switch (p) {
	case COL_PARAM_TIER:
	case COL_PARAM_HOST:
	case COL_PARAM_NAME: {
		size_t len = strlen(value);

		if (len == 0 || len > 255) {
			*why = "must be 1 to 255 bytes";
			return -EINVAL;
		}
		if (p == COL_PARAM_TIER)
			o->tier = value;
		else if (p == COL_PARAM_HOST)
			o->host = value;
		else
			o->name = value;
		break;
	}
	case COL_PARAM_STATE:
		if (col_state_parse(value, &o->state) < 0) {
			*why = "not a TCP state (ESTABLISHED, SYN_RECV, TIME_WAIT, ...) or total";
			return -EINVAL;
		}
		break;
	case COL_PARAM_SINCE:
	case COL_PARAM_STEP:
		/* Ten years bounds every sum made of them (no overflow on hostile input). */
		if (col_parse_duration(value, &ms) < 0 || ms > QUERY_MAX_DURATION_MS) {
			*why = "not a duration like 90s, 15m, 24h or 7d (at most 3650d)";
			return -EINVAL;
		}
		if (p == COL_PARAM_SINCE)
			o->since_ms = ms;
		else
			o->step_ms = ms;
		break;
	case COL_PARAM_LIMIT: {
		char *end;
		unsigned long n = strtoul(value, &end, 10);

		if (*value < '0' || *value > '9' || *end || n < 1 || n > TOP_LIMIT_MAX) {
			*why = "not a whole number from 1 to 10000";
			return -EINVAL;
		}
		o->limit = (unsigned)n;
		break;
	}
	case COL_PARAM_BY:
		/* Which command takes which is db_query()'s to say. */
		o->by_port = strcmp(value, "port") == 0;
		o->by_domain = strcmp(value, "domain") == 0;
		o->by_ip = strcmp(value, "ip") == 0;
		if (!o->by_port && !o->by_domain && !o->by_ip) {
			*why = "not port, ip or domain (what --by splits by)";
			return -EINVAL;
		}
		break;
	case COL_PARAM_PORT: {
		char *end;
		unsigned long n = strtoul(value, &end, 10);

		if (*value < '0' || *value > '9' || *end || n < 1 || n > 65535) {
			*why = "not a port from 1 to 65535";
			return -EINVAL;
		}
		o->port = (uint32_t)n;
		break;
	}
	case COL_PARAM_FORMAT:
		if ((f = col_fmt_find(value)) < 0) {
			*why = "not table, json, csv, ipset or html";
			return -EINVAL;
		}
		o->format = (col_fmt_t)f;
		break;
	default:
		return -ENOENT;
	}
	return 0;
}

const char *col_state_label(int state)
{
	return state == COL_STATE_TOTAL ? "total" : wire_state_name(state);
}

const char *col_time_str(int64_t ms, char *dst)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || gmtime_r(&t, &tm) == NULL)
		strcpy(dst, "-");
	else
		strftime(dst, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return dst;
}

bool col_host_stale(const col_host_t *h, int64_t now_ms)
{
	return !h->has_report ||
	       h->collected_at_ms < now_ms - (int64_t)COL_STALE_INTERVALS * h->interval_ms;
}

static uint64_t state_value(const wire_states_t *s, int state)
{
	return state == COL_STATE_TOTAL ? wire_states_total(s) : s->n[state];
}

uint64_t col__state_value_u64(const uint64_t *n, int state)
{
	uint64_t t = 0;

	if (state != COL_STATE_TOTAL)
		return n[state];
	for (int i = 1; i < WIRE_NSTATES; i++)
		if (i != WIRE_LISTEN)
			t += n[i];
	return t;
}

/* The states a table shows: all but LISTEN, then the total. */
const int col__table_states[COL__NTABLE_STATES] = {
	WIRE_ESTABLISHED, WIRE_SYN_SENT, WIRE_SYN_RECV, WIRE_FIN_WAIT1, WIRE_FIN_WAIT2,
	WIRE_TIME_WAIT, WIRE_CLOSE, WIRE_CLOSE_WAIT, WIRE_LAST_ACK, WIRE_CLOSING,
	COL_STATE_TOTAL,
};

/* The ten states of col__table_states, short in a table (as the agent prints them), full in CSV. */
void col__grid_state_heads(grid_t *g)
{
	static const char *const brief[] = {
		"ESTAB", "SYN_SENT", "SYN_RECV", "FIN_W1", "FIN_W2", "TIME_W", "CLOSE", "CLOSE_W",
		"LAST_ACK", "CLOSING",
	};

	for (size_t i = 0; i + 1 < COL__NTABLE_STATES; i++) {
		const char *h = g->fmt == COL_FMT_CSV ? wire_state_name(col__table_states[i]) : brief[i];

		grid_heads(g, &h, 1);
	}
}

/* ---- JSON pieces ----------------------------------------------------------- */

static void json_key(fs_buf_t *b, const char *key)
{
	fs_buf_json_str(b, key);
	fs_buf_puts(b, ":");
}

/* {"NAME":n,...} of the nonzero states (all of them when `all`), LISTEN aside. */
void col__json_activity(fs_buf_t *b, const col_activity_t *a)
{
	if (a->hosts == 0)
		return;
	fs_buf_printf(b, ",\"activity\":{\"active\":%" PRIu64 ",\"unanswered\":%" PRIu64
	              ",\"idle\":%" PRIu64 ",\"bytes_received\":%" PRIu64 ",\"bytes_acked\":%" PRIu64
	              ",\"established\":%" PRIu64 ",\"hosts\":%" PRIu32 "}",
	              a->active, a->unanswered, a->idle, a->bytes_received, a->bytes_acked,
	              a->established, a->hosts);
}

void col__grid_activity(grid_t *g, const col_activity_t *a)
{
	if (a->hosts == 0) {
		for (int i = 0; i < 3; i++)
			grid_cell(g, "-");
		return;
	}
	grid_cell(g, "%" PRIu64, a->active);
	grid_cell(g, "%" PRIu64, a->unanswered);
	grid_cell(g, "%" PRIu64, a->idle);
}

void col__json_states(fs_buf_t *b, const uint64_t *n, bool all)
{
	const char *sep = "";

	fs_buf_puts(b, "{");
	for (size_t i = 0; i + 1 < COL__NTABLE_STATES; i++) {
		int s = col__table_states[i];

		if (!all && n[s] == 0)
			continue;
		fs_buf_printf(b, "%s\"%s\":%" PRIu64, sep, wire_state_name(s), n[s]);
		sep = ",";
	}
	fs_buf_puts(b, "}");
}

void col__json_head(fs_buf_t *b, const col_qopts_t *o)
{
	fs_buf_printf(b, "{\"now_ms\":%" PRId64, o->now_ms);
	if (o->tier) {
		fs_buf_puts(b, ",\"tier\":");
		fs_buf_json_str(b, o->tier);
	}
}

static bool tier_match(const col_qopts_t *o, const col_host_t *h)
{
	return o->tier == NULL || strcmp(o->tier, h->tier) == 0;
}

static int host_cmp(const void *a, const void *b)
{
	const col_host_t *x = *(const col_host_t *const *)a, *y = *(const col_host_t *const *)b;
	int c = strcmp(x->tier, y->tier);

	if (c == 0)
		c = strcmp(x->hostname, y->hostname);
	return c ? c : (x->id > y->id) - (x->id < y->id);
}

/* The hosts of o's tier (and host, for `hosts`), sorted: *out new (free()). */
int col__select_hosts(const col_host_t *hosts, size_t n, const col_qopts_t *o, bool by_name,
                        const col_host_t ***out, size_t *nout)
{
	const col_host_t **v = malloc((n ? n : 1) * sizeof(*v));
	size_t k = 0;

	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (tier_match(o, &hosts[i]) &&
		    (!by_name || o->host == NULL || strcmp(o->host, hosts[i].hostname) == 0))
			v[k++] = &hosts[i];
	qsort(v, k, sizeof(*v), host_cmp);
	*out = v;
	*nout = k;
	return 0;
}

void col__states_u64(const wire_states_t *s, uint64_t *out)
{
	for (int i = 0; i < WIRE_NSTATES; i++)
		out[i] = s->n[i];
}

/* ---- hosts ------------------------------------------------------------------- */

int col_hosts_render(const col_host_t *hosts, size_t n, const col_qopts_t *o, fs_buf_t *b)
{
	static const char *const head[] = {"HOST", "TIER", "STALE", "LAST_SEEN", "VERSION", "CERT",
	                                   "TOTAL"};
	static const char *const head_nocert[] = {"HOST", "TIER", "STALE", "LAST_SEEN", "VERSION",
	                                          "TOTAL"};
	const col_host_t **v;
	bool certs = false;
	size_t k;
	char ts[24];
	int err;

	if ((err = col__select_hosts(hosts, n, o, true, &v, &k)) < 0)
		return err;
	for (size_t i = 0; i < k; i++)
		certs |= v[i]->cert_subject != NULL;
	if (o->format == COL_FMT_JSON) {
		col__json_head(b, o);
		fs_buf_puts(b, ",\"hosts\":[");
		for (size_t i = 0; i < k; i++) {
			const col_host_t *h = v[i];
			uint64_t st[WIRE_NSTATES];

			col__states_u64(&h->states, st);
			fs_buf_puts(b, i ? ",{" : "{");
			json_key(b, "hostname");
			fs_buf_json_str(b, h->hostname);
			fs_buf_puts(b, ",\"tier\":");
			fs_buf_json_str(b, h->tier);
			fs_buf_printf(b, ",\"labels\":%s,\"first_seen\":%" PRId64 ",\"last_seen\":%" PRId64
			              ",\"stale\":%s,\"agent_version\":",
			              h->labels_json[0] == '{' ? h->labels_json : "{}", h->first_seen_ms,
			              h->last_seen_ms, col_host_stale(h, o->now_ms) ? "true" : "false");
			fs_buf_json_str(b, h->agent_version);
			fs_buf_puts(b, ",\"cert_subject\":");
			if (h->cert_subject != NULL)
				fs_buf_json_str(b, h->cert_subject);
			else
				fs_buf_puts(b, "null");
			fs_buf_puts(b, ",\"cert_sha256\":");
			if (h->cert_sha256 != NULL)
				fs_buf_json_str(b, h->cert_sha256);
			else
				fs_buf_puts(b, "null");
			if (h->has_report)
				fs_buf_printf(b, ",\"collected_at_ms\":%" PRId64 ",\"interval_ms\":%" PRIu32
				              ",\"total\":%" PRIu32,
				              h->collected_at_ms, h->interval_ms, wire_states_total(&h->states));
			fs_buf_puts(b, ",\"states\":");
			col__json_states(b, st, true);
			fs_buf_puts(b, "}");
		}
		fs_buf_puts(b, "]}\n");
		free(v);
		return b->err;
	}

	grid_t g;

	/* The certificate's subject when some host presented one (mutual TLS). */
	grid_init(&g, o->format, certs ? 0x3f : 0x1f);
	if (certs)
		grid_heads(&g, head, ARRAY_SIZE(head));
	else
		grid_heads(&g, head_nocert, ARRAY_SIZE(head_nocert));
	col__grid_state_heads(&g);
	grid_head_done(&g);
	for (size_t i = 0; i < k; i++) {
		const col_host_t *h = v[i];

		grid_cell(&g, "%s", h->hostname);
		grid_cell(&g, "%s", h->tier);
		grid_cell(&g, "%s", col_host_stale(h, o->now_ms) ? "stale" : "");
		grid_cell(&g, "%s", col_time_str(h->last_seen_ms, ts));
		grid_cell(&g, "%s", h->agent_version);
		if (certs)
			grid_cell(&g, "%s", h->cert_subject ? h->cert_subject : "-");
		grid_cell(&g, "%" PRIu32, wire_states_total(&h->states));
		for (size_t s = 0; s + 1 < COL__NTABLE_STATES; s++)
			grid_cell(&g, "%" PRIu64, state_value(&h->states, col__table_states[s]));
	}
	free(v);
	return grid_render(&g, b);
}

/* ---- tiers ------------------------------------------------------------------- */

typedef struct {
	const char *tier;
	unsigned hosts, stale;
	uint64_t sum[WIRE_NSTATES + 1];       /* index WIRE_NSTATES: the total */
	uint64_t max[WIRE_NSTATES + 1];
	const char *max_host[WIRE_NSTATES + 1];
} tier_t;

static size_t slot(int state)
{
	return state == COL_STATE_TOTAL ? WIRE_NSTATES : (size_t)state;
}

int col_tiers_render(const col_host_t *hosts, size_t n, const col_qopts_t *o, fs_buf_t *b)
{
	static const char *const head[] = {
		"TIER", "HOSTS", "STALE", "STATE", "SUM", "MEAN", "MAX", "MAX_HOST",
	};
	const col_host_t **v;
	tier_t *t;
	size_t k, nt = 0;
	int err;

	if ((err = col__select_hosts(hosts, n, o, false, &v, &k)) < 0)
		return err;
	if ((t = calloc(k ? k : 1, sizeof(*t))) == NULL) {
		free(v);
		return -ENOMEM;
	}
	/* v is sorted by tier: one tier_t per run. */
	for (size_t i = 0; i < k; i++) {
		const col_host_t *h = v[i];
		tier_t *cur;

		if (nt == 0 || strcmp(t[nt - 1].tier, h->tier) != 0)
			t[nt++].tier = h->tier;
		cur = &t[nt - 1];
		if (col_host_stale(h, o->now_ms)) {
			cur->stale++;
			continue;
		}
		cur->hosts++;
		for (size_t s = 0; s < COL__NTABLE_STATES; s++) {
			size_t j = slot(col__table_states[s]);
			uint64_t val = state_value(&h->states, col__table_states[s]);

			cur->sum[j] += val;
			if (cur->max_host[j] == NULL || val > cur->max[j]) {
				cur->max[j] = val;
				cur->max_host[j] = h->hostname;
			}
		}
	}

	grid_t g;

	if (o->format == COL_FMT_JSON) {
		col__json_head(b, o);
		fs_buf_puts(b, ",\"tiers\":[");
	} else {
		grid_init(&g, o->format, 0x89);
		grid_heads(&g, head, ARRAY_SIZE(head));
		grid_head_done(&g);
	}
	for (size_t i = 0; i < nt; i++) {
		tier_t *cur = &t[i];

		if (o->format == COL_FMT_JSON) {
			const char *sep = "";

			fs_buf_puts(b, i ? ",{\"tier\":" : "{\"tier\":");
			fs_buf_json_str(b, cur->tier);
			fs_buf_printf(b, ",\"hosts\":%u,\"stale\":%u,\"stale_hosts\":[", cur->hosts,
			              cur->stale);
			for (size_t j = 0; j < k; j++) {
				if (strcmp(v[j]->tier, cur->tier) || !col_host_stale(v[j], o->now_ms))
					continue;
				fs_buf_puts(b, sep);
				fs_buf_json_str(b, v[j]->hostname);
				sep = ",";
			}
			fs_buf_puts(b, "],\"states\":{");
		}
		for (size_t s = 0; s < COL__NTABLE_STATES; s++) {
			size_t j = slot(col__table_states[s]);
			double mean = cur->hosts ? (double)cur->sum[j] / cur->hosts : 0;
			const char *mh = cur->max_host[j] ? cur->max_host[j] : "";

			if (o->format == COL_FMT_JSON) {
				fs_buf_printf(b, "%s\"%s\":{\"sum\":%" PRIu64 ",\"mean\":%.1f,\"max\":%" PRIu64
				              ",\"max_host\":",
				              s ? "," : "", col_state_label(col__table_states[s]), cur->sum[j],
				              mean, cur->max[j]);
				if (cur->max_host[j])
					fs_buf_json_str(b, mh);
				else
					fs_buf_puts(b, "null");
				fs_buf_puts(b, "}");
				continue;
			}
			/* The table leaves out the states no host of the tier has. */
			if ((o->format == COL_FMT_TABLE || o->format == COL_FMT_HTML) && cur->sum[j] == 0 &&
			    col__table_states[s] != COL_STATE_TOTAL)
				continue;
			grid_cell(&g, "%s", cur->tier);
			grid_cell(&g, "%u", cur->hosts);
			grid_cell(&g, "%u", cur->stale);
			grid_cell(&g, "%s", col_state_label(col__table_states[s]));
			grid_cell(&g, "%" PRIu64, cur->sum[j]);
			grid_cell(&g, "%.1f", mean);
			grid_cell(&g, "%" PRIu64, cur->max[j]);
			grid_cell(&g, "%s", mh);
		}
		if (o->format == COL_FMT_JSON)
			fs_buf_puts(b, "}}");
	}
	free(t);
	free(v);
	if (o->format == COL_FMT_JSON) {
		fs_buf_puts(b, "]}\n");
		return b->err;
	}
	return grid_render(&g, b);
}

const char *const col_counter_names[COL_NCTRS] = {
	"TcpExt.ListenOverflows", "TcpExt.ListenDrops", "TcpExt.SyncookiesSent",
	"TcpExt.TCPTimeWaitOverflow",
};

const col_host_t *col_host_find(const col_host_t *hosts, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (hosts[mid].id < id)
			lo = mid + 1;
		else if (hosts[mid].id > id)
			hi = mid;
		else
			return &hosts[mid];
	}
	return NULL;
}
