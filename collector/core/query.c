/* SPDX-License-Identifier: MIT */
/* query.c: options, aggregation and rendering of the fleet queries; no I/O. */
#include "query.h"
#include "commands.h"
#include "grid.h"
#include "advice.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TOP_LIMIT_MAX 10000
#define TREND_MAX_BUCKETS 100000
#define QUERY_MAX_DURATION_MS (3650LL * 86400000)

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
	case COL_PARAM_FORMAT:
		if ((f = col_fmt_find(value)) < 0) {
			*why = "not table, json, csv or ipset";
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

static uint64_t state_value_u64(const uint64_t *n, int state)
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
static const int table_states[] = {
	WIRE_ESTABLISHED, WIRE_SYN_SENT, WIRE_SYN_RECV, WIRE_FIN_WAIT1, WIRE_FIN_WAIT2,
	WIRE_TIME_WAIT, WIRE_CLOSE, WIRE_CLOSE_WAIT, WIRE_LAST_ACK, WIRE_CLOSING,
	COL_STATE_TOTAL,
};

/* The ten states of table_states, short in a table (as the agent prints them), full in CSV. */
static void grid_state_heads(grid_t *g)
{
	static const char *const brief[] = {
		"ESTAB", "SYN_SENT", "SYN_RECV", "FIN_W1", "FIN_W2", "TIME_W", "CLOSE", "CLOSE_W",
		"LAST_ACK", "CLOSING",
	};

	for (size_t i = 0; i + 1 < ARRAY_SIZE(table_states); i++) {
		const char *h = g->fmt == COL_FMT_CSV ? wire_state_name(table_states[i]) : brief[i];

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
static void json_states(fs_buf_t *b, const uint64_t *n, bool all)
{
	const char *sep = "";

	fs_buf_puts(b, "{");
	for (size_t i = 0; i + 1 < ARRAY_SIZE(table_states); i++) {
		int s = table_states[i];

		if (!all && n[s] == 0)
			continue;
		fs_buf_printf(b, "%s\"%s\":%" PRIu64, sep, wire_state_name(s), n[s]);
		sep = ",";
	}
	fs_buf_puts(b, "}");
}

static void json_head(fs_buf_t *b, const col_qopts_t *o)
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
static int select_hosts(const col_host_t *hosts, size_t n, const col_qopts_t *o, bool by_name,
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

static void states_u64(const wire_states_t *s, uint64_t *out)
{
	for (int i = 0; i < WIRE_NSTATES; i++)
		out[i] = s->n[i];
}

/* ---- hosts ------------------------------------------------------------------- */

int col_hosts_render(const col_host_t *hosts, size_t n, const col_qopts_t *o, fs_buf_t *b)
{
	static const char *const head[] = {"HOST", "TIER", "STALE", "LAST_SEEN", "VERSION", "TOTAL"};
	const col_host_t **v;
	size_t k;
	char ts[24];
	int err;

	if ((err = select_hosts(hosts, n, o, true, &v, &k)) < 0)
		return err;
	if (o->format == COL_FMT_JSON) {
		json_head(b, o);
		fs_buf_puts(b, ",\"hosts\":[");
		for (size_t i = 0; i < k; i++) {
			const col_host_t *h = v[i];
			uint64_t st[WIRE_NSTATES];

			states_u64(&h->states, st);
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
			if (h->has_report)
				fs_buf_printf(b, ",\"collected_at_ms\":%" PRId64 ",\"interval_ms\":%" PRIu32
				              ",\"total\":%" PRIu32,
				              h->collected_at_ms, h->interval_ms, wire_states_total(&h->states));
			fs_buf_puts(b, ",\"states\":");
			json_states(b, st, true);
			fs_buf_puts(b, "}");
		}
		fs_buf_puts(b, "]}\n");
		free(v);
		return b->err;
	}

	grid_t g;

	grid_init(&g, o->format, 0x1f);
	grid_heads(&g, head, ARRAY_SIZE(head));
	grid_state_heads(&g);
	grid_head_done(&g);
	for (size_t i = 0; i < k; i++) {
		const col_host_t *h = v[i];

		grid_cell(&g, "%s", h->hostname);
		grid_cell(&g, "%s", h->tier);
		grid_cell(&g, "%s", col_host_stale(h, o->now_ms) ? "stale" : "");
		grid_cell(&g, "%s", col_time_str(h->last_seen_ms, ts));
		grid_cell(&g, "%s", h->agent_version);
		grid_cell(&g, "%" PRIu32, wire_states_total(&h->states));
		for (size_t s = 0; s + 1 < ARRAY_SIZE(table_states); s++)
			grid_cell(&g, "%" PRIu64, state_value(&h->states, table_states[s]));
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

	if ((err = select_hosts(hosts, n, o, false, &v, &k)) < 0)
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
		for (size_t s = 0; s < ARRAY_SIZE(table_states); s++) {
			size_t j = slot(table_states[s]);
			uint64_t val = state_value(&h->states, table_states[s]);

			cur->sum[j] += val;
			if (cur->max_host[j] == NULL || val > cur->max[j]) {
				cur->max[j] = val;
				cur->max_host[j] = h->hostname;
			}
		}
	}

	grid_t g;

	if (o->format == COL_FMT_JSON) {
		json_head(b, o);
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
		for (size_t s = 0; s < ARRAY_SIZE(table_states); s++) {
			size_t j = slot(table_states[s]);
			double mean = cur->hosts ? (double)cur->sum[j] / cur->hosts : 0;
			const char *mh = cur->max_host[j] ? cur->max_host[j] : "";

			if (o->format == COL_FMT_JSON) {
				fs_buf_printf(b, "%s\"%s\":{\"sum\":%" PRIu64 ",\"mean\":%.1f,\"max\":%" PRIu64
				              ",\"max_host\":",
				              s ? "," : "", col_state_label(table_states[s]), cur->sum[j],
				              mean, cur->max[j]);
				if (cur->max_host[j])
					fs_buf_json_str(b, mh);
				else
					fs_buf_puts(b, "null");
				fs_buf_puts(b, "}");
				continue;
			}
			/* The table leaves out the states no host of the tier has. */
			if (o->format == COL_FMT_TABLE && cur->sum[j] == 0 &&
			    table_states[s] != COL_STATE_TOTAL)
				continue;
			grid_cell(&g, "%s", cur->tier);
			grid_cell(&g, "%u", cur->hosts);
			grid_cell(&g, "%u", cur->stale);
			grid_cell(&g, "%s", col_state_label(table_states[s]));
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

/* ---- top-ips ------------------------------------------------------------------ */

/*
 * One IP's figures.  In a host's map: per-state peaks over the host's
 * reports (st), the peak of the ranking state (rank), how many reports
 * listed it.  In the fleet map: sums of those over hosts, plus upper_bound
 * parts and the tiers it touched.
 */
typedef struct {
	wire_ip_t ip;
	bool used;
	uint32_t slot;             /* host: the host's slot (part of the key); fleet: 0 */
	uint32_t listed;           /* host: reports listing it; fleet: hosts */
	uint64_t st[WIRE_NSTATES];
	uint64_t rank;
	uint64_t ub_seen;          /* fleet: upper bound summed over the hosts listing it */
	uint64_t thr_seen;         /* fleet: the thresholds of those hosts, summed */
	uint64_t ub;               /* fleet: the upper bound, at render */
	int64_t first, last;
	uint64_t host_max;         /* fleet: the largest rank on one host */
	uint64_t tier_max;         /* fleet: the largest rank summed over one tier's hosts */
	const char **tiers;        /* fleet: distinct tier names (borrowed) */
	size_t n_tiers;
} ipent_t;

typedef struct {
	ipent_t *e;
	size_t cap, n;
} ipmap_t;

/* A host fed to the merge: its reports in the window and its largest threshold. */
typedef struct {
	const col_host_t *h;
	uint32_t reports;
	uint64_t thr;
} hslot_t;

struct col_top {
	col_qopts_t o;
	ipmap_t fleet;              /* by IP */
	ipmap_t pairs;              /* by (host slot, IP): each host's peaks */
	hslot_t *slots;             /* the hosts fed, in order of first report */
	uint32_t n_slots, cap_slots;
	uint32_t *by_id;            /* open addressing: host id -> slot + 1 */
	uint32_t cap_by_id;
	uint64_t thr_all;           /* the hosts' largest thresholds, summed */
	ipmap_t by_tier;            /* by (tier number, IP): ranks summed over the tier's hosts */
	const char **tier_names;    /* tier numbers: the hosts' tiers (borrowed) */
	uint32_t n_tier_names;
	col_top_ip_t *out;          /* col_top_ips()'s answer */
	unsigned hosts;
	bool folded;                /* the fleet map is made (top_fold(), once) */
};

static uint64_t ip_hash(const wire_ip_t *ip, uint32_t slot)
{
	uint64_t h = (1469598103934665603ull ^ ip->len) + slot * 0x9E3779B97F4A7C15ull;

	for (int i = 0; i < ip->len; i++)
		h = (h ^ ip->b[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static bool ip_eq(const wire_ip_t *a, const wire_ip_t *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

static void ipmap_free(ipmap_t *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->e[i].tiers);
	free(m->e);
	memset(m, 0, sizeof(*m));
}

static ipent_t *ipmap_slot(ipent_t *e, size_t cap, const wire_ip_t *ip, uint32_t slot)
{
	size_t i = ip_hash(ip, slot) & (cap - 1);

	while (e[i].used && (e[i].slot != slot || !ip_eq(&e[i].ip, ip)))
		i = (i + 1) & (cap - 1);
	return &e[i];
}

/* The entry of (slot, ip), added zeroed if new; NULL when out of memory. */
static ipent_t *ipmap_get(ipmap_t *m, const wire_ip_t *ip, uint32_t slot)
{
	ipent_t *x;

	if (2 * (m->n + 1) > m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;
		ipent_t *e = calloc(cap, sizeof(*e));

		if (e == NULL)
			return NULL;
		for (size_t i = 0; i < m->cap; i++)
			if (m->e[i].used)
				*ipmap_slot(e, cap, &m->e[i].ip, m->e[i].slot) = m->e[i];
		free(m->e);
		m->e = e;
		m->cap = cap;
	}
	x = ipmap_slot(m->e, m->cap, ip, slot);
	if (!x->used) {
		x->used = true;
		x->ip = *ip;
		x->slot = slot;
		m->n++;
	}
	return x;
}

int col_top_new(const col_qopts_t *o, col_top_t **out)
{
	col_top_t *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -ENOMEM;
	t->o = *o;
	*out = t;
	return 0;
}

void col_top_free(col_top_t *t)
{
	if (t == NULL)
		return;
	ipmap_free(&t->fleet);
	ipmap_free(&t->pairs);
	ipmap_free(&t->by_tier);
	free(t->tier_names);
	free(t->out);
	free(t->slots);
	free(t->by_id);
	free(t);
}

/* What bounds an unlisted IP's count of the ranking state, of the thresholds total, established, syn_recv. */
static uint64_t threshold(int state, uint64_t total, uint64_t established, uint64_t syn_recv)
{
	switch (state) {
	case WIRE_ESTABLISHED: return established;
	case WIRE_SYN_RECV: return syn_recv;
	/* A state's count is at most the total, which the total's threshold bounds. */
	default: return total;
	}
}

static int add_tier(ipent_t *f, const char *tier)
{
	const char **v;

	for (size_t i = 0; i < f->n_tiers; i++)
		if (strcmp(f->tiers[i], tier) == 0)
			return 0;
	if ((v = realloc(f->tiers, (f->n_tiers + 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	v[f->n_tiers++] = tier;
	f->tiers = v;
	return 0;
}

/* The slot of host h, added if new; -ENOMEM. */
static int host_slot(col_top_t *t, const col_host_t *h, uint32_t *out)
{
	uint32_t i;

	if (2 * (t->n_slots + 1) > t->cap_by_id) {
		uint32_t cap = t->cap_by_id ? 2 * t->cap_by_id : 256;
		uint32_t *by = calloc(cap, sizeof(*by));

		if (by == NULL)
			return -ENOMEM;
		for (uint32_t k = 0; k < t->n_slots; k++) {
			for (i = (uint32_t)((uint64_t)t->slots[k].h->id * 0x9E3779B97F4A7C15ull >> 32) &
			         (cap - 1); by[i]; i = (i + 1) & (cap - 1))
				;
			by[i] = k + 1;
		}
		free(t->by_id);
		t->by_id = by;
		t->cap_by_id = cap;
	}
	for (i = (uint32_t)((uint64_t)h->id * 0x9E3779B97F4A7C15ull >> 32) & (t->cap_by_id - 1);
	     t->by_id[i]; i = (i + 1) & (t->cap_by_id - 1))
		if (t->slots[t->by_id[i] - 1].h->id == h->id) {
			*out = t->by_id[i] - 1;
			return 0;
		}
	if (t->n_slots == t->cap_slots) {
		uint32_t cap = t->cap_slots ? 2 * t->cap_slots : 64;
		hslot_t *v = realloc(t->slots, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		t->slots = v;
		t->cap_slots = cap;
	}
	t->slots[t->n_slots] = (hslot_t){h, 0, 0};
	t->by_id[i] = t->n_slots + 1;
	*out = t->n_slots++;
	return 0;
}

/* Adds a host's rank of an IP to its tier's sum. */
static int tier_sum(col_top_t *t, const ipent_t *x, const char *tier)
{
	uint32_t k;
	ipent_t *y;

	for (k = 0; k < t->n_tier_names && strcmp(t->tier_names[k], tier) != 0; k++)
		;
	if (k == t->n_tier_names) {
		const char **v = realloc(t->tier_names, (k + 1) * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		v[k] = tier;
		t->tier_names = v;
		t->n_tier_names++;
	}
	if ((y = ipmap_get(&t->by_tier, &x->ip, k)) == NULL)
		return -ENOMEM;
	y->rank += x->rank;
	return 0;
}

/* Folds every host's peaks into the fleet map. */
static int top_fold(col_top_t *t)
{
	int err;

	if (t->folded)
		return 0;

	for (size_t i = 0; i < t->pairs.cap; i++) {
		const ipent_t *x = &t->pairs.e[i];
		const hslot_t *hs;
		ipent_t *f;

		if (!x->used)
			continue;
		hs = &t->slots[x->slot];
		if ((f = ipmap_get(&t->fleet, &x->ip, 0)) == NULL)
			return -ENOMEM;
		for (int s = 0; s < WIRE_NSTATES; s++)
			f->st[s] += x->st[s];
		f->rank += x->rank;
		/* Listed in every report of the host: its peak there is exact. */
		f->ub_seen += x->listed == hs->reports ? x->rank
		                                       : (x->rank > hs->thr ? x->rank : hs->thr);
		f->thr_seen += hs->thr;
		f->listed++;
		if (f->first == 0 || x->first < f->first)
			f->first = x->first;
		if (x->last > f->last)
			f->last = x->last;
		if (add_tier(f, hs->h->tier) < 0)
			return -ENOMEM;
		if (x->rank > f->host_max)
			f->host_max = x->rank;
		if ((err = tier_sum(t, x, hs->h->tier)) < 0)
			return err;
	}
	for (size_t i = 0; i < t->by_tier.cap; i++) {
		const ipent_t *x = &t->by_tier.e[i];
		ipent_t *f;

		if (!x->used)
			continue;
		if ((f = ipmap_get(&t->fleet, &x->ip, 0)) == NULL)
			return -ENOMEM;
		if (x->rank > f->tier_max)
			f->tier_max = x->rank;
	}
	for (uint32_t k = 0; k < t->n_slots; k++)
		t->thr_all += t->slots[k].thr;
	t->hosts = t->n_slots;
	t->folded = true;
	return 0;
}

/* Counts reports of host h whose largest threshold was thr; its slot in *slot. */
static int host_reports(col_top_t *t, const col_host_t *h, uint32_t reports, uint64_t thr,
                        uint32_t *slot)
{
	int err;

	if ((err = host_slot(t, h, slot)) < 0)
		return err;
	t->slots[*slot].reports += reports;
	if (thr > t->slots[*slot].thr)
		t->slots[*slot].thr = thr;
	return 0;
}

/* An IP's peaks (st per state; total) in `listed` reports of a host, seen from first to last. */
static int pair_add(col_top_t *t, uint32_t slot, const wire_ip_t *ip, const uint32_t *st,
                    uint64_t total, uint32_t listed, int64_t first, int64_t last)
{
	ipent_t *x = ipmap_get(&t->pairs, ip, slot);
	uint64_t v = t->o.state == COL_STATE_TOTAL ? total : st[t->o.state];

	if (x == NULL)
		return -ENOMEM;
	for (int s = 0; s < WIRE_NSTATES; s++)
		if (st[s] > x->st[s])
			x->st[s] = st[s];
	if (v > x->rank)
		x->rank = v;
	x->listed += listed;
	if (x->first == 0 || first < x->first)
		x->first = first;
	if (last > x->last)
		x->last = last;
	return 0;
}

int col_top_add(col_top_t *t, const col_host_t *h, int64_t collected_at_ms, const wire_top_t *top)
{
	uint32_t slot;
	int err = host_reports(t, h, 1,
	                       threshold(t->o.state, top->threshold_total,
	                                 top->threshold_established, top->threshold_syn_recv),
	                       &slot);

	for (size_t i = 0; i < top->n_ips && err == 0; i++) {
		const wire_remote_t *r = &top->ips[i];

		err = pair_add(t, slot, &r->ip, r->st.n, wire_states_total(&r->st), 1,
		               collected_at_ms, collected_at_ms);
	}
	return err;
}

int col_top_add_roll(col_top_t *t, const col_host_t *h, const col_roll_top_t *r)
{
	uint32_t slot;
	int err = host_reports(t, h, r->reports,
	                       threshold(t->o.state, r->thr_total, r->thr_established,
	                                 r->thr_syn_recv),
	                       &slot);

	for (size_t i = 0; i < r->n && err == 0; i++) {
		const col_roll_ip_t *e = &r->ips[i];

		err = pair_add(t, slot, &e->ip, e->st.n, e->total, e->listed, e->first_ms, e->last_ms);
	}
	return err;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int ipent_cmp(const void *a, const void *b)
{
	const ipent_t *x = *(const ipent_t *const *)a, *y = *(const ipent_t *const *)b;

	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	if (x->ub != y->ub)
		return x->ub > y->ub ? -1 : 1;
	if (x->ip.len != y->ip.len)
		return x->ip.len - y->ip.len;
	return memcmp(x->ip.b, y->ip.b, x->ip.len);
}

/* Folds; *v (new) the first `limit` IPs that have a rank, ranked, their tiers sorted. */
static int top_ranked(col_top_t *t, size_t limit, ipent_t ***out, size_t *n)
{
	ipent_t **v;
	size_t k = 0;
	int err;

	if ((err = top_fold(t)) < 0)
		return err;
	if ((v = malloc((t->fleet.n ? t->fleet.n : 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < t->fleet.cap; i++) {
		ipent_t *f = &t->fleet.e[i];

		if (!f->used || f->rank == 0)
			continue;
		/* Hosts that never listed it bound it by their thresholds. */
		f->ub = f->ub_seen + (t->thr_all - f->thr_seen);
		v[k++] = f;
	}
	qsort(v, k, sizeof(*v), ipent_cmp);
	if (k > limit)
		k = limit;
	for (size_t i = 0; i < k; i++)
		if (v[i]->n_tiers > 1)
			qsort(v[i]->tiers, v[i]->n_tiers, sizeof(*v[i]->tiers), str_cmp);
	*out = v;
	*n = k;
	return 0;
}

int col_top_ips(col_top_t *t, const col_top_ip_t **out, size_t *n)
{
	ipent_t **v;
	size_t k;
	int err;

	if ((err = top_ranked(t, SIZE_MAX, &v, &k)) < 0)
		return err;
	free(t->out);
	if ((t->out = calloc(k ? k : 1, sizeof(*t->out))) == NULL) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < k; i++) {
		const ipent_t *f = v[i];
		col_top_ip_t *x = &t->out[i];

		*x = (col_top_ip_t){.ip = f->ip, .count = f->rank, .upper_bound = f->ub,
		                    .host_max = f->host_max, .tier_max = f->tier_max,
		                    .hosts = f->listed, .tiers = f->tiers, .n_tiers = f->n_tiers,
		                    .first_ms = f->first, .last_ms = f->last};
		memcpy(x->st, f->st, sizeof(x->st));
	}
	free(v);
	*out = t->out;
	*n = k;
	return 0;
}

uint64_t col_top_count(const col_top_t *t, const wire_ip_t *ip)
{
	const ipent_t *f;

	if (t->fleet.cap == 0)
		return 0;
	f = ipmap_slot(t->fleet.e, t->fleet.cap, ip, 0);
	return f->used ? f->rank : 0;
}

int col_top_render(col_top_t *t, fs_buf_t *b)
{
	static const char *const head[] = {"REMOTE IP", "COUNT", "UPPER_BOUND", "HOSTS", "TIERS"};
	static const char *const tail[] = {"FIRST_SEEN", "LAST_SEEN"};
	const col_qopts_t *o = &t->o;
	ipent_t **v;
	size_t k;
	char ip[WIRE_IP_STRLEN], t1[24], t2[24];
	int err;

	if ((err = top_ranked(t, o->limit, &v, &k)) < 0)
		return err;

	if (o->format == COL_FMT_JSON) {
		json_head(b, o);
		fs_buf_printf(b, ",\"since_ms\":%" PRId64 ",\"state\":\"%s\",\"limit\":%u,"
		              "\"hosts\":%u,\"ips\":[",
		              o->since_ms, col_state_label(o->state), o->limit, t->hosts);
		for (size_t i = 0; i < k; i++) {
			const ipent_t *f = v[i];

			fs_buf_printf(b, "%s{\"ip\":\"%s\",\"count\":%" PRIu64 ",\"upper_bound\":%" PRIu64
			              ",\"hosts\":%" PRIu32 ",\"tiers\":[",
			              i ? "," : "", wire_ip_str(&f->ip, ip), f->rank, f->ub, f->listed);
			for (size_t j = 0; j < f->n_tiers; j++) {
				if (j)
					fs_buf_puts(b, ",");
				fs_buf_json_str(b, f->tiers[j]);
			}
			fs_buf_printf(b, "],\"total\":%" PRIu64 ",\"states\":",
			              state_value_u64(f->st, COL_STATE_TOTAL));
			json_states(b, f->st, false);
			fs_buf_printf(b, ",\"first_seen\":%" PRId64 ",\"last_seen\":%" PRId64 "}",
			              f->first, f->last);
		}
		fs_buf_puts(b, "]}\n");
		free(v);
		return b->err;
	}

	grid_t g;

	grid_init(&g, o->format, 0x11);
	grid_heads(&g, head, ARRAY_SIZE(head));
	grid_state_heads(&g);
	grid_heads(&g, tail, ARRAY_SIZE(tail));
	grid_head_done(&g);
	for (size_t i = 0; i < k; i++) {
		const ipent_t *f = v[i];
		char tiers[256] = "";
		size_t len = 0;

		for (size_t j = 0; j < f->n_tiers && len < sizeof(tiers); j++)
			len += (size_t)snprintf(tiers + len, sizeof(tiers) - len, "%s%s", j ? " " : "",
			                        f->tiers[j]);
		grid_cell(&g, "%s", wire_ip_str(&f->ip, ip));
		grid_cell(&g, "%" PRIu64, f->rank);
		grid_cell(&g, "%" PRIu64, f->ub);
		grid_cell(&g, "%" PRIu32, f->listed);
		grid_cell(&g, "%s", tiers);
		for (size_t s = 0; s + 1 < ARRAY_SIZE(table_states); s++)
			grid_cell(&g, "%" PRIu64, f->st[table_states[s]]);
		grid_cell(&g, "%s", col_time_str(f->first, t1));
		grid_cell(&g, "%s", col_time_str(f->last, t2));
	}
	free(v);
	return grid_render(&g, b);
}

/* ---- trend ------------------------------------------------------------------------ */

typedef struct {
	uint64_t n, max;
	double sum;
	uint32_t hosts;
} cell_t;

typedef struct {
	uint32_t hosts;
	double mean;
	uint64_t max;
} bucket_t;

struct col_trend {
	col_qopts_t o;
	int64_t from, to;      /* [from, to), from aligned to the step */
	size_t nb;
	bucket_t *b;
	cell_t *cur;           /* the host being fed, per bucket */
	size_t *touched;       /* its buckets with data */
	size_t n_touched;
	int64_t cur_host;
	bool have_host;
};

/* A step for about 60 buckets, rounded up to one an operator reads easily. */
static int64_t default_step(int64_t since)
{
	static const int64_t steps[] = {
		10000, 30000, 60000, 300000, 900000, 1800000, 3600000, 10800000, 21600000,
		43200000, 86400000, 604800000,
	};

	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		if (since / steps[i] <= 60)
			return steps[i];
	return since / 60;
}

int col_trend_new(col_qopts_t *o, col_trend_t **out)
{
	col_trend_t *t;
	int64_t nb;

	if (o->since_ms == 0)
		o->since_ms = 3600000;
	if (o->step_ms == 0)
		o->step_ms = default_step(o->since_ms);
	if (o->since_ms > QUERY_MAX_DURATION_MS || o->step_ms > QUERY_MAX_DURATION_MS ||
	    o->now_ms < o->since_ms)
		return -EINVAL;
	nb = (o->since_ms + o->step_ms - 1) / o->step_ms + 1;
	if (nb > TREND_MAX_BUCKETS)
		return -EINVAL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	t->o = *o;
	t->from = (o->now_ms - o->since_ms) / o->step_ms * o->step_ms;
	t->nb = (size_t)((o->now_ms - t->from) / o->step_ms + 1);
	t->to = t->from + (int64_t)t->nb * o->step_ms;
	t->b = calloc(t->nb, sizeof(*t->b));
	t->cur = calloc(t->nb, sizeof(*t->cur));
	t->touched = calloc(t->nb, sizeof(*t->touched));
	if (t->b == NULL || t->cur == NULL || t->touched == NULL) {
		col_trend_free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void col_trend_free(col_trend_t *t)
{
	if (t == NULL)
		return;
	free(t->b);
	free(t->cur);
	free(t->touched);
	free(t);
}

void col_trend_window(const col_trend_t *t, int64_t *from_ms, int64_t *to_ms)
{
	*from_ms = t->from;
	*to_ms = t->to;
}

static void trend_flush(col_trend_t *t)
{
	for (size_t i = 0; i < t->n_touched; i++) {
		size_t k = t->touched[i];
		cell_t *c = &t->cur[k];

		t->b[k].hosts += c->hosts;
		t->b[k].mean += c->sum / (double)c->n;
		t->b[k].max += c->max;
		memset(c, 0, sizeof(*c));
	}
	t->n_touched = 0;
}

int col_trend_add(col_trend_t *t, int64_t host_id, int64_t t_ms, uint64_t n, double sum,
                  uint64_t max, uint32_t hosts)
{
	cell_t *c;
	size_t k;

	if (t_ms < t->from || t_ms >= t->to || n == 0)
		return 0;
	if (!t->have_host || host_id != t->cur_host) {
		trend_flush(t);
		t->cur_host = host_id;
		t->have_host = true;
	}
	k = (size_t)((t_ms - t->from) / t->o.step_ms);
	c = &t->cur[k];
	if (c->n == 0)
		t->touched[t->n_touched++] = k;
	c->n += n;
	c->sum += sum;
	if (max > c->max)
		c->max = max;
	if (hosts > c->hosts)
		c->hosts = hosts;
	return 0;
}

int col_trend_render(col_trend_t *t, const char *source, fs_buf_t *b)
{
	static const char *const head[] = {"TIME", "HOSTS", "MEAN", "MAX"};
	const col_qopts_t *o = &t->o;
	char ts[24];

	trend_flush(t);
	if (o->format == COL_FMT_JSON) {
		json_head(b, o);
		if (o->host) {
			fs_buf_puts(b, ",\"host\":");
			fs_buf_json_str(b, o->host);
		}
		fs_buf_printf(b, ",\"state\":\"%s\",\"since_ms\":%" PRId64 ",\"step_ms\":%" PRId64
		              ",\"from_ms\":%" PRId64 ",\"to_ms\":%" PRId64 ",\"source\":\"%s\","
		              "\"buckets\":[",
		              col_state_label(o->state), o->since_ms, o->step_ms, t->from, t->to, source);
		for (size_t i = 0; i < t->nb; i++)
			fs_buf_printf(b, "%s{\"t\":%" PRId64 ",\"hosts\":%" PRIu32 ",\"mean\":%.1f,"
			              "\"max\":%" PRIu64 "}",
			              i ? "," : "", t->from + (int64_t)i * o->step_ms, t->b[i].hosts,
			              t->b[i].mean, t->b[i].max);
		fs_buf_puts(b, "]}\n");
		return b->err;
	}

	grid_t g;

	grid_init(&g, o->format, 0x1);
	grid_heads(&g, head, ARRAY_SIZE(head));
	grid_head_done(&g);
	for (size_t i = 0; i < t->nb; i++) {
		grid_cell(&g, "%s", col_time_str(t->from + (int64_t)i * o->step_ms, ts));
		grid_cell(&g, "%" PRIu32, t->b[i].hosts);
		grid_cell(&g, "%.1f", t->b[i].mean);
		grid_cell(&g, "%" PRIu64, t->b[i].max);
	}
	return grid_render(&g, b);
}

/* ---- sysctl -------------------------------------------------------------------------- */

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

	if ((err = select_hosts(hosts, n_hosts, o, false, &v, &k)) < 0)
		return err;
	if ((vc = calloc(n_rows ? n_rows : 1, sizeof(*vc))) == NULL) {
		free(v);
		return -ENOMEM;
	}
	if (o->format == COL_FMT_JSON) {
		json_head(b, o);
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
