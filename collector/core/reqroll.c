/* SPDX-License-Identifier: MIT */
/* reqroll.c: merging a host's requests over a period. */
#include "reqroll.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

double col_req_rate(uint64_t requests, uint32_t interval_ms)
{
	return interval_ms ? (double)requests * (1000.0 / interval_ms) : 0;
}

int col_roll_ip_cmp(const wire_ip_t *a, const wire_ip_t *b)
{
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->b, b->b, a->len);
}

static int client_cmp(const void *x, const void *y)
{
	return col_roll_ip_cmp(&((const col_roll_client_t *)x)->c.ip,
	                       &((const col_roll_client_t *)y)->c.ip);
}

static int host_cmp(const void *x, const void *y)
{
	return strcmp(((const col_roll_rhost_t *)x)->h.host, ((const col_roll_rhost_t *)y)->h.host);
}

static int reserve(void **v, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 32;
	void *p;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if ((p = realloc(*v, c * size)) == NULL)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

/* e takes x in: the same client, from other reports (or the same one, listed twice). */
static void client_absorb(col_roll_client_t *e, const col_roll_client_t *x)
{
	e->c.requests += x->c.requests;
	e->c.error += x->c.error;
	for (int s = 0; s < WIRE_REQ_NCLASS; s++)
		e->c.by_status[s] += x->c.by_status[s];
	e->c.bytes += x->c.bytes;
	if (x->c.user_agents > e->c.user_agents)
		e->c.user_agents = x->c.user_agents;
	e->c.user_agents_capped |= x->c.user_agents_capped;
	e->unlisted_listed += x->unlisted_listed;
	if (x->excess < e->excess)
		e->excess = x->excess;   /* the one listed first tells how much it could have lost */
	if (col_req_rate(x->busy_requests, x->busy_interval_ms) >
	    col_req_rate(e->busy_requests, e->busy_interval_ms)) {
		e->busy_requests = x->busy_requests;
		e->busy_interval_ms = x->busy_interval_ms;
	}
}

static void host_absorb(col_roll_rhost_t *e, const col_roll_rhost_t *x)
{
	e->h.requests += x->h.requests;
	e->h.error += x->h.error;
	e->unlisted_listed += x->unlisted_listed;
	if (x->excess < e->excess)
		e->excess = x->excess;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* What one entry could have beyond the period's unlisted bound: counted + excess - listed. */
static uint64_t beyond(uint64_t requests, uint64_t excess, uint64_t listed)
{
	uint64_t c = sat_add(requests, excess);

	return c > listed ? c - listed : 0;
}

static uint64_t client_beyond(const void *e)
{
	const col_roll_client_t *c = e;

	return beyond(c->c.requests, c->excess, c->unlisted_listed);
}

static uint64_t host_beyond(const void *e)
{
	const col_roll_rhost_t *h = e;

	return beyond(h->h.requests, h->excess, h->unlisted_listed);
}

/* qsort's: the largest upper bound first (the unlisted bound is the period's, the same for
 * all), then in key order (the same trim every time). */
static int client_heavier(const void *x, const void *y)
{
	uint64_t a = client_beyond(x), b = client_beyond(y);

	return a != b ? (a > b ? -1 : 1) : client_cmp(x, y);
}

static int host_heavier(const void *x, const void *y)
{
	uint64_t a = host_beyond(x), b = host_beyond(y);

	return a != b ? (a > b ? -1 : 1) : host_cmp(x, y);
}

/*
 * Sorts v[0..*n) in key order, folds entries of the same key, and keeps the
 * COL_ROLL_REQ_MAX of largest upper bound, *dropped raised to what each
 * dropped one had beyond the unlisted bound.  Written once for clients and
 * hosts: the entry's size and its rules are the arguments.
 */
typedef struct {
	size_t size;
	int (*cmp)(const void *, const void *);
	int (*heavier)(const void *, const void *);
	void (*absorb)(void *e, const void *x);
	uint64_t (*beyond)(const void *e);
	void (*drop)(void *e);
} kind_t;

static void settle(const kind_t *k, void *v, size_t *n, uint64_t *dropped)
{
	char *p = v;
	size_t w = 0;

	if (*n == 0)
		return;   /* and v may be NULL */
	qsort(p, *n, k->size, k->cmp);
	for (size_t i = 0; i < *n; i++) {
		if (w > 0 && k->cmp(p + (w - 1) * k->size, p + i * k->size) == 0) {
			k->absorb(p + (w - 1) * k->size, p + i * k->size);
			k->drop(p + i * k->size);
		} else {
			if (w != i)
				memcpy(p + w * k->size, p + i * k->size, k->size);
			w++;
		}
	}
	*n = w;
	if (*n <= COL_ROLL_REQ_MAX)
		return;
	qsort(p, *n, k->size, k->heavier);
	for (size_t i = COL_ROLL_REQ_MAX; i < *n; i++) {
		uint64_t b = k->beyond(p + i * k->size);

		if (b > *dropped)
			*dropped = b;
		k->drop(p + i * k->size);
	}
	*n = COL_ROLL_REQ_MAX;
	qsort(p, *n, k->size, k->cmp);
}

static void client_absorb_v(void *e, const void *x) { client_absorb(e, x); }
static void host_absorb_v(void *e, const void *x) { host_absorb(e, x); }
static void client_drop(void *e) { (void)e; }
static void host_drop(void *e) { free(((col_roll_rhost_t *)e)->h.host); }

static const kind_t clients_kind = {sizeof(col_roll_client_t), client_cmp, client_heavier,
                                    client_absorb_v, client_beyond, client_drop};
static const kind_t hosts_kind = {sizeof(col_roll_rhost_t), host_cmp, host_heavier,
                                  host_absorb_v, host_beyond, host_drop};

int col_roll_req_add(col_roll_req_t *r, const wire_requests_t *q, uint32_t interval_ms)
{
	if (!q->present)
		return 0;
	if (reserve((void **)&r->clients, &r->cap_clients, r->n_clients + q->n_clients,
	            sizeof(*r->clients)) < 0 ||
	    reserve((void **)&r->hosts, &r->cap_hosts, r->n_hosts + q->n_hosts, sizeof(*r->hosts)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < q->n_hosts; i++) {
		char *name = strdup(q->hosts[i].host);

		if (name == NULL)
			return -ENOMEM;
		r->hosts[r->n_hosts++] = (col_roll_rhost_t){
			.h = {.host = name, .requests = q->hosts[i].requests, .error = q->hosts[i].error},
			.unlisted_listed = q->hosts_unlisted_max, .excess = r->hosts_dropped};
	}
	for (size_t i = 0; i < q->n_clients; i++)
		r->clients[r->n_clients++] = (col_roll_client_t){
			.c = q->clients[i], .unlisted_listed = q->clients_unlisted_max,
			.excess = r->clients_dropped,
			.busy_requests = q->clients[i].requests, .busy_interval_ms = interval_ms};
	r->reports++;
	r->total += q->total;
	for (int s = 0; s < WIRE_REQ_NCLASS; s++)
		r->by_status[s] += q->by_status[s];
	r->bytes += q->bytes;
	r->malformed += q->malformed;
	r->clients_unlisted += q->clients_unlisted_max;
	r->hosts_unlisted += q->hosts_unlisted_max;
	settle(&clients_kind, r->clients, &r->n_clients, &r->clients_dropped);
	settle(&hosts_kind, r->hosts, &r->n_hosts, &r->hosts_dropped);
	return 0;
}

void col_roll_req_close(col_roll_req_t *r)
{
	for (size_t i = 0; i < r->n_hosts; i++)
		free(r->hosts[i].h.host);
	free(r->hosts);
	free(r->clients);
	memset(r, 0, sizeof(*r));
}
