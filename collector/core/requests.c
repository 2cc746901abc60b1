/* SPDX-License-Identifier: MIT */
/* requests.c: requests per client IP or host across the fleet's reports. */
#include "requests.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "query_priv.h"

#define MAX_TIERS 4   /* tiers named per row; more are counted */

typedef struct {
	char *key;             /* an IP's 1 + 16 bytes (length first), or a host's name */
	size_t len;
	uint64_t hash;
	uint64_t requests, error, unlisted_listed;  /* the last: Σ unlisted max of the reports listing it */
	uint64_t by_status[WIRE_REQ_NCLASS], bytes;
	uint32_t user_agents;  /* the most any one report saw */
	bool ua_capped;
	double rate, rate_host;  /* requests a second: the hosts' before, and this one's busiest */
	uint32_t hosts;
	int64_t last_host;
	const char *tiers[MAX_TIERS];
	uint32_t n_tiers;
} row_t;

struct col_req {
	bool by_domain;
	row_t *rows;           /* open addressing; key NULL: empty */
	size_t mask, n;
	uint64_t reports, hosts, unlisted_all;
	int64_t last_host;
	uint64_t total, bytes, malformed, by_status[WIRE_REQ_NCLASS];
};

col_req_t *col_req_new(bool by_domain)
{
	col_req_t *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->by_domain = by_domain;
	a->mask = 255;
	a->last_host = -1;
	if ((a->rows = calloc(a->mask + 1, sizeof(*a->rows))) == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

void col_req_free(col_req_t *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i <= a->mask; i++)
		free(a->rows[i].key);
	free(a->rows);
	free(a);
}

static int grow(col_req_t *a)
{
	size_t cap = (a->mask + 1) * 2;
	row_t *rows = calloc(cap, sizeof(*rows));

	if (rows == NULL)
		return -ENOMEM;
	for (size_t i = 0; i <= a->mask; i++) {
		size_t j;

		if (a->rows[i].key == NULL)
			continue;
		for (j = a->rows[i].hash & (cap - 1); rows[j].key; j = (j + 1) & (cap - 1))
			;
		rows[j] = a->rows[i];
	}
	free(a->rows);
	a->rows = rows;
	a->mask = cap - 1;
	return 0;
}

static row_t *row_of(col_req_t *a, const void *key, size_t len)
{
	uint64_t h = fs_hash(key, len);
	size_t i;

	for (i = h & a->mask; a->rows[i].key; i = (i + 1) & a->mask)
		if (a->rows[i].hash == h && a->rows[i].len == len && memcmp(a->rows[i].key, key, len) == 0)
			return &a->rows[i];
	if ((a->n + 1) * 2 > a->mask + 1) {
		if (grow(a) < 0)
			return NULL;
		for (i = h & a->mask; a->rows[i].key; i = (i + 1) & a->mask)
			;
	}
	if ((a->rows[i].key = malloc(len)) == NULL)
		return NULL;
	memcpy(a->rows[i].key, key, len);
	a->rows[i].len = len;
	a->rows[i].hash = h;
	a->rows[i].last_host = -1;
	a->n++;
	return &a->rows[i];
}

static void seen_on(row_t *r, int64_t host_id, const char *tier)
{
	if (r->last_host == host_id)
		return;
	r->last_host = host_id;
	r->hosts++;
	r->rate += r->rate_host;
	r->rate_host = 0;
	for (uint32_t t = 0; t < r->n_tiers && t < MAX_TIERS; t++)
		if (strcmp(r->tiers[t], tier) == 0)
			return;
	if (r->n_tiers < MAX_TIERS)
		r->tiers[r->n_tiers] = tier;
	r->n_tiers++;
}

/* A report's, or a period's, totals from host_id; unlisted: what its unlisted rows could hold. */
static void add_totals(col_req_t *a, int64_t host_id, uint32_t reports, uint64_t total,
                       uint64_t bytes, uint64_t malformed, const uint64_t *by_status,
                       uint64_t unlisted)
{
	a->reports += reports;
	if (a->last_host != host_id) {
		a->last_host = host_id;
		a->hosts++;
	}
	a->total += total;
	a->bytes += bytes;
	a->malformed += malformed;
	for (int c = 0; c < WIRE_REQ_NCLASS; c++)
		a->by_status[c] += by_status[c];
	a->unlisted_all += unlisted;
}

static int add_host(col_req_t *a, int64_t host_id, const char *tier, const wire_req_host_t *x,
                    uint64_t unlisted_listed)
{
	row_t *r = row_of(a, x->host, strlen(x->host));

	if (r == NULL)
		return -ENOMEM;
	r->requests += x->requests;
	r->error += x->error;
	r->unlisted_listed += unlisted_listed;
	seen_on(r, host_id, tier);
	return 0;
}

/* A client's requests, of a report or a period whose busiest report had `rate`. */
static int add_client(col_req_t *a, int64_t host_id, const char *tier, const wire_req_client_t *x,
                      uint64_t unlisted_listed, double rate)
{
	unsigned char key[17] = {x->ip.len};
	row_t *r;

	memcpy(key + 1, x->ip.b, x->ip.len);
	if ((r = row_of(a, key, 1u + x->ip.len)) == NULL)
		return -ENOMEM;
	r->requests += x->requests;
	r->error += x->error;
	r->unlisted_listed += unlisted_listed;
	for (int c = 0; c < WIRE_REQ_NCLASS; c++)
		r->by_status[c] += x->by_status[c];
	r->bytes += x->bytes;
	if (x->user_agents > r->user_agents)
		r->user_agents = x->user_agents;
	r->ua_capped |= x->user_agents_capped;
	seen_on(r, host_id, tier);
	if (rate > r->rate_host)
		r->rate_host = rate;
	return 0;
}

int col_req_add(col_req_t *a, int64_t host_id, const char *tier, uint32_t interval_ms,
                const wire_requests_t *q)
{
	int err = 0;

	if (!q->present)
		return 0;
	add_totals(a, host_id, 1, q->total, q->bytes, q->malformed, q->by_status,
	           a->by_domain ? q->hosts_unlisted_max : q->clients_unlisted_max);
	if (a->by_domain) {
		for (size_t i = 0; i < q->n_hosts && err == 0; i++)
			err = add_host(a, host_id, tier, &q->hosts[i], q->hosts_unlisted_max);
		return err;
	}
	for (size_t i = 0; i < q->n_clients && err == 0; i++)
		err = add_client(a, host_id, tier, &q->clients[i], q->clients_unlisted_max,
		                 col_req_rate(q->clients[i].requests, interval_ms));
	return err;
}

int col_req_add_roll(col_req_t *a, int64_t host_id, const char *tier, const col_roll_req_t *q)
{
	int err = 0;

	if (q->reports == 0)
		return 0;
	/*
	 * An IP the period did not list could have its unlisted bound and what a
	 * dropped one had beyond it; one it listed, what its reports did not
	 * list and its own excess (reqroll.h): both in the terms of the raw sums.
	 */
	uint64_t d = a->by_domain ? q->hosts_dropped : q->clients_dropped;

	add_totals(a, host_id, q->reports, q->total, q->bytes, q->malformed, q->by_status,
	           (a->by_domain ? q->hosts_unlisted : q->clients_unlisted) + d);
	if (a->by_domain) {
		for (size_t i = 0; i < q->n_hosts && err == 0; i++) {
			const col_roll_rhost_t *x = &q->hosts[i];

			err = add_host(a, host_id, tier, &x->h, x->unlisted_listed + d - x->excess);
		}
		return err;
	}
	for (size_t i = 0; i < q->n_clients && err == 0; i++) {
		const col_roll_client_t *x = &q->clients[i];

		err = add_client(a, host_id, tier, &x->c, x->unlisted_listed + d - x->excess,
		                 col_req_rate(x->busy_requests, x->busy_interval_ms));
	}
	return err;
}

/* What the reports that did not list it could have hidden, on top of what was counted. */
static uint64_t upper(const col_req_t *a, const row_t *r)
{
	uint64_t hidden = a->unlisted_all > r->unlisted_listed ? a->unlisted_all - r->unlisted_listed : 0;

	return r->requests > UINT64_MAX - hidden ? UINT64_MAX : r->requests + hidden;
}

/* qsort_r's order (the API's threads sort at once: no static context). */
static int heavier(const void *x, const void *y, void *ctx)
{
	const col_req_t *a = ctx;
	const row_t *p = *(const row_t *const *)x, *q = *(const row_t *const *)y;
	uint64_t up = upper(a, p), uq = upper(a, q);
	size_t n = p->len < q->len ? p->len : q->len;
	int c;

	if (p->requests != q->requests)
		return p->requests > q->requests ? -1 : 1;
	if (up != uq)
		return up > uq ? -1 : 1;
	if ((c = memcmp(p->key, q->key, n)) != 0)
		return c;
	return p->len < q->len ? -1 : p->len > q->len;
}

static const char *key_text(const col_req_t *a, const row_t *r, char *buf, size_t cap)
{
	wire_ip_t ip;

	if (a->by_domain) {
		snprintf(buf, cap, "%.*s", (int)r->len, r->key);
		return buf;
	}
	ip.len = (uint8_t)r->key[0];
	memcpy(ip.b, r->key + 1, ip.len);
	return wire_ip_str(&ip, buf);
}

static void json_classes(fs_buf_t *b, const uint64_t *v)
{
	for (int c = 0; c < WIRE_REQ_NCLASS; c++)
		fs_buf_printf(b, "%s\"%s\":%" PRIu64, c ? "," : "{", wire_req_class_name(c), v[c]);
	fs_buf_puts(b, "}");
}

double col_req_per_connection(const col_req_ip_t *q, uint64_t established)
{
	return q != NULL && established ? q->rate / (double)established : 0;
}

void col_req_json_ip(fs_buf_t *b, const col_req_ip_t *q, double per_connection)
{
	fs_buf_printf(b, "{\"total\":%" PRIu64 ",\"upper_bound\":%" PRIu64 ",\"rate\":%.2f"
	              ",\"by_status\":", q->requests, q->upper_bound, q->rate);
	json_classes(b, q->by_status);
	fs_buf_printf(b, ",\"user_agents\":%" PRIu32 ",\"user_agents_capped\":%s"
	              ",\"per_connection\":", q->user_agents,
	              q->user_agents_capped ? "true" : "false");
	if (per_connection > 0)
		fs_buf_printf(b, "%.2f}", per_connection);
	else
		fs_buf_puts(b, "null}");
}

static void render_json(const col_req_t *a, row_t **v, size_t n, uint64_t left,
                        const col_qopts_t *o, fs_buf_t *b)
{
	char key[300];

	col__json_head(b, o);
	fs_buf_printf(b, ",\"since_ms\":%" PRId64 ",\"by\":\"%s\",\"reports\":%" PRIu64
	              ",\"hosts\":%" PRIu64 ",\"requests\":{\"total\":%" PRIu64 ",\"by_status\":",
	              o->since_ms, a->by_domain ? "domain" : "ip", a->reports, a->hosts, a->total);
	json_classes(b, a->by_status);
	fs_buf_printf(b, ",\"bytes\":%" PRIu64 ",\"malformed\":%" PRIu64 "},\"rows\":[", a->bytes,
	              a->malformed);
	for (size_t i = 0; i < n; i++) {
		const row_t *r = v[i];

		fs_buf_printf(b, "%s{\"%s\":", i ? "," : "", a->by_domain ? "host" : "ip");
		fs_buf_json_str(b, key_text(a, r, key, sizeof(key)));
		fs_buf_printf(b, ",\"requests\":%" PRIu64 ",\"upper_bound\":%" PRIu64
		              ",\"error\":%" PRIu64, r->requests, upper(a, r), r->error);
		if (!a->by_domain) {
			fs_buf_puts(b, ",\"by_status\":");
			json_classes(b, r->by_status);
			fs_buf_printf(b, ",\"bytes\":%" PRIu64 ",\"user_agents\":%" PRIu32
			              ",\"user_agents_capped\":%s", r->bytes, r->user_agents,
			              r->ua_capped ? "true" : "false");
		}
		fs_buf_printf(b, ",\"hosts\":%" PRIu32 ",\"tiers\":[", r->hosts);
		for (uint32_t t = 0; t < r->n_tiers && t < MAX_TIERS; t++) {
			fs_buf_puts(b, t ? "," : "");
			fs_buf_json_str(b, r->tiers[t]);
		}
		fs_buf_puts(b, "]}");
	}
	fs_buf_printf(b, "],\"unlisted_max\":%" PRIu64 "}\n", left);
}

static int render_grid(const col_req_t *a, row_t **v, size_t n, const col_qopts_t *o,
                       fs_buf_t *b)
{
	static const char *const ip_head[] = {"REMOTE IP", "REQUESTS", "UPPER_BOUND", "2XX", "3XX",
	                                      "4XX", "5XX", "UAS", "HOSTS", "TIERS"};
	static const char *const host_head[] = {"HOST", "REQUESTS", "UPPER_BOUND", "HOSTS", "TIERS"};
	char key[300];
	grid_t g;

	/* Text columns: the key and the tiers. */
	grid_init(&g, o->format, a->by_domain ? (1u << 0 | 1u << 4) : (1u << 0 | 1u << 9));
	if (a->by_domain)
		grid_heads(&g, host_head, ARRAY_SIZE(host_head));
	else
		grid_heads(&g, ip_head, ARRAY_SIZE(ip_head));
	grid_head_done(&g);
	for (size_t i = 0; i < n; i++) {
		const row_t *r = v[i];
		char tiers[160] = "";
		size_t at = 0;

		for (uint32_t t = 0; t < r->n_tiers && t < MAX_TIERS && at < sizeof(tiers); t++)
			at += (size_t)snprintf(tiers + at, sizeof(tiers) - at, "%s%s", t ? "," : "",
			                       r->tiers[t]);
		if (r->n_tiers > MAX_TIERS && at < sizeof(tiers))
			snprintf(tiers + at, sizeof(tiers) - at, ",+%" PRIu32, r->n_tiers - MAX_TIERS);
		grid_cell(&g, "%s", key_text(a, r, key, sizeof(key)));
		grid_cell(&g, "%" PRIu64, r->requests);
		grid_cell(&g, "%" PRIu64, upper(a, r));
		if (!a->by_domain) {
			for (int c = 1; c <= 4; c++)
				grid_cell(&g, "%" PRIu64, r->by_status[c]);
			grid_cell(&g, "%" PRIu32 "%s", r->user_agents, r->ua_capped ? "+" : "");
		}
		grid_cell(&g, "%" PRIu32, r->hosts);
		grid_cell(&g, "%s", tiers);
	}
	return grid_render(&g, b);
}

static int by_key(const void *x, const void *y)
{
	const col_req_ip_t *p = x, *q = y;

	if (p->ip.len != q->ip.len)
		return p->ip.len < q->ip.len ? -1 : 1;
	return memcmp(p->ip.b, q->ip.b, p->ip.len);
}

static void ip_row(const col_req_t *a, const row_t *r, col_req_ip_t *x)
{
	x->ip.len = (uint8_t)r->key[0];
	memcpy(x->ip.b, r->key + 1, x->ip.len);
	x->requests = r->requests;
	x->upper_bound = upper(a, r);
	memcpy(x->by_status, r->by_status, sizeof(x->by_status));
	x->user_agents = r->user_agents;
	x->user_agents_capped = r->ua_capped;
	x->rate = r->rate + r->rate_host;
	x->hosts = r->hosts;
	x->tiers = r->tiers;
	x->n_tiers = r->n_tiers < MAX_TIERS ? r->n_tiers : MAX_TIERS;
}

/* The rows, heaviest first: *out new (free()). */
static int ranked(const col_req_t *a, row_t ***out)
{
	row_t **v = malloc((a->n ? a->n : 1) * sizeof(*v));
	size_t n = 0;

	if ((*out = v) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i <= a->mask; i++)
		if (a->rows[i].key)
			v[n++] = &a->rows[i];
	qsort_r(v, n, sizeof(*v), heavier, (void *)a);
	return 0;
}

int col_req_ips(const col_req_t *a, size_t limit, col_req_ip_t **out, size_t *n_out)
{
	col_req_ip_t *v;
	row_t **rows;
	size_t n = a->by_domain ? 0 : a->n < limit ? a->n : limit;

	*out = NULL;
	*n_out = 0;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL || ranked(a, &rows) < 0) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		ip_row(a, rows[i], &v[i]);
	free(rows);
	if (limit == SIZE_MAX)
		qsort(v, n, sizeof(*v), by_key);
	*out = v;
	*n_out = n;
	return 0;
}

const col_req_ip_t *col_req_ip_find(const col_req_ip_t *v, size_t n, const wire_ip_t *ip)
{
	col_req_ip_t key = {.ip = *ip};

	return n ? bsearch(&key, v, n, sizeof(*v), by_key) : NULL;
}

int col_req_render(col_req_t *a, const col_qopts_t *o, fs_buf_t *b)
{
	row_t **v;
	size_t n = a->n, shown;
	uint64_t left = a->unlisted_all;
	int err = 0;

	if (ranked(a, &v) < 0)
		return -ENOMEM;
	shown = n < o->limit ? n : o->limit;
	/* One cut by --limit made at most its upper bound: the rest at most the first cut's. */
	for (size_t i = shown; i < n; i++)
		if (upper(a, v[i]) > left)
			left = upper(a, v[i]);
	if (o->format == COL_FMT_JSON)
		render_json(a, v, shown, left, o, b);
	else
		err = render_grid(a, v, shown, o, b);
	free(v);
	return err ? err : b->err;
}
