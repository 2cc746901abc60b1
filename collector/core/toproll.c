/* SPDX-License-Identifier: MIT */
/* toproll.c: merging a host's top lists over a period. */
#include "toproll.h"

#include <errno.h>
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
