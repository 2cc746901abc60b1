/* SPDX-License-Identifier: MIT */
/* toproll.c: merging a host's top lists over a period. */
#include "toproll.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static col_roll_ip_t *find(col_roll_top_t *r, const wire_ip_t *ip)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->ips[i].ip.len == ip->len && memcmp(r->ips[i].ip.b, ip->b, ip->len) == 0)
			return &r->ips[i];
	return NULL;
}

static uint32_t max32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

/* Largest total first. */
static int by_total(const void *a, const void *b)
{
	const col_roll_ip_t *x = a, *y = b;

	return x->total != y->total ? (x->total > y->total ? -1 : 1) : 0;
}

/* Keeps the COL_ROLL_TOP_MAX largest; the thresholds cover the rest. */
static void trim(col_roll_top_t *r)
{
	qsort(r->ips, r->n, sizeof(*r->ips), by_total);
	for (size_t i = COL_ROLL_TOP_MAX; i < r->n; i++) {
		const col_roll_ip_t *e = &r->ips[i];

		r->thr_total = max32(r->thr_total, e->total);
		r->thr_established = max32(r->thr_established, e->st.n[WIRE_ESTABLISHED]);
		r->thr_syn_recv = max32(r->thr_syn_recv, e->st.n[WIRE_SYN_RECV]);
	}
	r->n = COL_ROLL_TOP_MAX;
}

void col_act_keep(col_act_t *a, const col_act_t *b)
{
	if (b->at_ms != 0 && (a->at_ms == 0 || b->at_ms >= a->at_ms))
		*a = *b;
}

void col_act_take(col_act_t *a, const wire_remote_t *x, int64_t at_ms)
{
	if (x->has_act)
		col_act_keep(a, &(col_act_t){.at_ms = at_ms, .established = x->st.n[WIRE_ESTABLISHED],
		                             .a = x->act});
}

int col_roll_top_add(col_roll_top_t *r, const wire_top_t *top, int64_t at_ms)
{
	if (r->n + top->n_ips > r->cap) {
		size_t cap = r->cap ? r->cap : 32;
		col_roll_ip_t *v;

		while (cap < r->n + top->n_ips)
			cap *= 2;
		if ((v = realloc(r->ips, cap * sizeof(*v))) == NULL)
			return -ENOMEM;
		r->ips = v;
		r->cap = cap;
	}
	r->reports++;
	r->thr_total = max32(r->thr_total, top->threshold_total);
	r->thr_established = max32(r->thr_established, top->threshold_established);
	r->thr_syn_recv = max32(r->thr_syn_recv, top->threshold_syn_recv);
	for (size_t i = 0; i < top->n_ips; i++) {
		const wire_remote_t *x = &top->ips[i];
		col_roll_ip_t *e = find(r, &x->ip);

		if (e == NULL) {
			e = &r->ips[r->n++];
			*e = (col_roll_ip_t){.ip = x->ip, .first_ms = at_ms, .last_ms = at_ms};
		}
		e->listed++;
		e->total = max32(e->total, wire_states_total(&x->st));
		for (int s = 0; s < WIRE_NSTATES; s++)
			e->st.n[s] = max32(e->st.n[s], x->st.n[s]);
		if (at_ms < e->first_ms)
			e->first_ms = at_ms;
		if (at_ms > e->last_ms)
			e->last_ms = at_ms;
		col_act_take(&e->act, x, at_ms);
	}
	if (r->n > COL_ROLL_TOP_MAX)
		trim(r);
	return 0;
}

void col_roll_top_close(col_roll_top_t *r)
{
	free(r->ips);
	memset(r, 0, sizeof(*r));
}

/* ---- an hour of IPs, per tier ------------------------------------------------ */

/* The current minute's level of an IP in a tier. */
typedef struct {
	bool used;
	uint32_t tier;
	wire_ip_t ip;
	uint32_t hosts;
	uint64_t total, established, syn_recv, host_max;
} lvl_t;

typedef struct {
	lvl_t *e;
	size_t cap, n;
} lvlmap_t;

struct col_iphour {
	char **tiers;
	uint32_t n_tiers;
	int64_t minute;
	bool open;                 /* a minute is being summed */
	lvlmap_t now;              /* the minute */
	lvlmap_t hour;             /* the hour so far: peaks of the minutes' levels */
	uint32_t *minutes;         /* per hour entry (index in hour.e) */
	col_iphour_row_t *rows;
};

static size_t lvl_slot(const lvl_t *e, size_t cap, uint32_t tier, const wire_ip_t *ip)
{
	uint64_t x = 1469598103934665603ull ^ tier;

	for (int i = 0; i < ip->len; i++)
		x = (x ^ ip->b[i]) * 1099511628211ull;
	for (size_t i = (size_t)(x ^ (x >> 29)) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!e[i].used || (e[i].tier == tier && e[i].ip.len == ip->len &&
		                   memcmp(e[i].ip.b, ip->b, ip->len) == 0))
			return i;
}

/* The entry of (tier, ip), zeroed if new, or NULL; with parallel per-entry counters when given. */
static lvl_t *lvl_get(lvlmap_t *m, uint32_t tier, const wire_ip_t *ip, uint32_t **par)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 256;
		lvl_t *e = calloc(cap, sizeof(*e));
		uint32_t *p = NULL;

		if (e == NULL || (par != NULL && (p = calloc(cap, sizeof(*p))) == NULL)) {
			free(e);
			return NULL;
		}
		for (size_t k = 0; k < m->cap; k++)
			if (m->e[k].used) {
				size_t j = lvl_slot(e, cap, m->e[k].tier, &m->e[k].ip);

				e[j] = m->e[k];
				if (par != NULL)
					p[j] = (*par)[k];
			}
		free(m->e);
		m->e = e;
		m->cap = cap;
		if (par != NULL) {
			free(*par);
			*par = p;
		}
	}
	i = lvl_slot(m->e, m->cap, tier, ip);
	if (!m->e[i].used) {
		m->e[i] = (lvl_t){.used = true, .tier = tier, .ip = *ip};
		m->n++;
	}
	return &m->e[i];
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Folds the minute's levels into the hour's peaks. */
static int close_minute(col_iphour_t *h)
{
	for (size_t i = 0; i < h->now.cap; i++) {
		const lvl_t *x = &h->now.e[i];
		lvl_t *y;

		if (!x->used)
			continue;
		if ((y = lvl_get(&h->hour, x->tier, &x->ip, &h->minutes)) == NULL)
			return -ENOMEM;
		h->minutes[y - h->hour.e]++;
		y->hosts = max32(y->hosts, x->hosts);
		y->total = max64(y->total, x->total);
		y->established = max64(y->established, x->established);
		y->syn_recv = max64(y->syn_recv, x->syn_recv);
		y->host_max = max64(y->host_max, x->host_max);
	}
	memset(h->now.e, 0, h->now.cap * sizeof(*h->now.e));
	h->now.n = 0;
	h->open = false;
	return 0;
}

int col_iphour_new(col_iphour_t **out)
{
	return (*out = calloc(1, sizeof(**out))) == NULL ? -ENOMEM : 0;
}

void col_iphour_free(col_iphour_t *h)
{
	if (h == NULL)
		return;
	for (uint32_t i = 0; i < h->n_tiers; i++)
		free(h->tiers[i]);
	free(h->tiers);
	free(h->now.e);
	free(h->hour.e);
	free(h->minutes);
	free(h->rows);
	free(h);
}

static int tier_id(col_iphour_t *h, const char *tier, uint32_t *out)
{
	char **v;

	for (uint32_t i = 0; i < h->n_tiers; i++)
		if (strcmp(h->tiers[i], tier) == 0) {
			*out = i;
			return 0;
		}
	if ((v = realloc(h->tiers, (h->n_tiers + 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	h->tiers = v;
	if ((v[h->n_tiers] = strdup(tier)) == NULL)
		return -ENOMEM;
	*out = h->n_tiers++;
	return 0;
}

int col_iphour_add(col_iphour_t *h, int64_t minute, const char *tier, const col_roll_top_t *r)
{
	uint32_t k;
	int err;

	if (h->open && minute != h->minute && (err = close_minute(h)) < 0)
		return err;
	h->minute = minute;
	h->open = true;
	if ((err = tier_id(h, tier, &k)) < 0)
		return err;
	for (size_t i = 0; i < r->n; i++) {
		const col_roll_ip_t *e = &r->ips[i];
		lvl_t *x = lvl_get(&h->now, k, &e->ip, NULL);

		if (x == NULL)
			return -ENOMEM;
		x->hosts++;
		x->total += e->total;
		x->established += e->st.n[WIRE_ESTABLISHED];
		x->syn_recv += e->st.n[WIRE_SYN_RECV];
		x->host_max = max64(x->host_max, e->total);
	}
	return 0;
}

int col_iphour_rows(col_iphour_t *h, const col_iphour_row_t **rows, size_t *n)
{
	size_t k = 0;
	int err;

	if (h->open && (err = close_minute(h)) < 0)
		return err;
	free(h->rows);
	if ((h->rows = calloc(h->hour.n ? h->hour.n : 1, sizeof(*h->rows))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < h->hour.cap; i++) {
		const lvl_t *y = &h->hour.e[i];

		if (y->used)
			h->rows[k++] = (col_iphour_row_t){
				.tier = h->tiers[y->tier], .ip = y->ip, .minutes = h->minutes[i],
				.hosts = y->hosts, .peak_total = y->total,
				.peak_established = y->established, .peak_syn_recv = y->syn_recv,
				.host_max = y->host_max,
			};
	}
	*rows = h->rows;
	*n = k;
	return 0;
}
