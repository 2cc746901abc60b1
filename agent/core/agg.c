/* SPDX-License-Identifier: MIT */
/* agg.c: state table, listeners and the top remote IPs of one collection. */
#include "agg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

/*
 * One remote IP: 64 bytes, a cache line.  Keys are 16 bytes; IPv4 is kept
 * in its mapped form ::ffff:a.b.c.d so both families share one table.
 */
typedef struct {
	uint8_t key[16];
	uint32_t n[WIRE_NSTATES - 1]; /* n[state - 1] */
	uint8_t used;
	uint8_t picked;
	uint8_t pad[2];
} ip_entry_t;

/* What one IP's ESTABLISHED connections did; act[i] belongs to tab[i]. */
typedef struct {
	uint32_t measured;          /* ESTABLISHED sockets whose TCP info was read */
	uint32_t active, unanswered, idle;
	uint64_t bytes_received, bytes_acked;
} ip_act_t;

/* One port's state table; a map of them per direction (open addressing, key + 1: 0 is empty). */
typedef struct {
	uint32_t key;               /* port + 1 */
	uint32_t n[WIRE_NSTATES - 1];
} port_entry_t;

typedef struct {
	port_entry_t *e;
	size_t cap, count;           /* cap a power of two, up to 2 * 65536 */
} port_map_t;

struct ag_agg {
	uint32_t top_n;
	uint32_t ports_n;
	uint8_t *lports;            /* bit p: port p is listened on (8 KiB) */
	port_map_t in, out;         /* by local listening port, by remote port */
	wire_states_t port_rest;    /* neither: no remote port */
	wire_cidr_t *exclude;
	size_t n_exclude;
	int err;

	wire_states_t states;
	wire_states_t excluded;

	ip_entry_t *tab;
	ip_act_t *act;          /* NULL unless act_ms: allocated with tab's capacity */
	uint32_t act_ms;        /* the interval of activity, 0: none counted */
	size_t cap;    /* power of two */
	unsigned shift; /* 64 - log2(cap): slots are the top bits of the hash */
	size_t count;

	wire_listener_t *lis;
	int lis_err;                /* an error adding listeners: kept by ag_agg_reset_conns() */
	size_t n_lis;
	size_t cap_lis;
};

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

ag_agg_t *ag_agg_new(const ag_agg_opts_t *o)
{
	ag_agg_t *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->top_n = o->top_n;
	a->ports_n = o->ports_n;
	if ((a->lports = calloc(65536 / 8, 1)) == NULL)
		goto fail;
	if (o->n_exclude) {
		a->exclude = malloc(o->n_exclude * sizeof(*a->exclude));
		if (a->exclude == NULL)
			goto fail;
		memcpy(a->exclude, o->exclude, o->n_exclude * sizeof(*a->exclude));
		a->n_exclude = o->n_exclude;
	}
	a->cap = 1024;
	a->shift = 64 - 10;
	if ((a->tab = calloc(a->cap, sizeof(*a->tab))) == NULL)
		goto fail;
	return a;
fail:
	ag_agg_free(a);
	return NULL;
}

void ag_agg_free(ag_agg_t *a)
{
	if (a == NULL)
		return;
	free(a->exclude);
	free(a->tab);
	free(a->act);
	free(a->lports);
	free(a->in.e);
	free(a->out.e);
	free(a->lis);
	free(a);
}

static void port_map_clear(port_map_t *m)
{
	if (m->e)
		memset(m->e, 0, m->cap * sizeof(*m->e));
	m->count = 0;
}

void ag_agg_reset_conns(ag_agg_t *a)
{
	memset(a->tab, 0, a->cap * sizeof(*a->tab));
	if (a->act)
		memset(a->act, 0, a->cap * sizeof(*a->act));
	a->count = 0;
	a->err = a->lis_err;
	memset(&a->states, 0, sizeof(a->states));
	memset(&a->excluded, 0, sizeof(a->excluded));
	memset(&a->port_rest, 0, sizeof(a->port_rest));
	port_map_clear(&a->in);
	port_map_clear(&a->out);
}

void ag_agg_reset(ag_agg_t *a)
{
	a->lis_err = 0;
	ag_agg_reset_conns(a);
	a->n_lis = 0;
	memset(a->lports, 0, 65536 / 8);
}

void ag_agg_copy_lports(ag_agg_t *dst, const ag_agg_t *src)
{
	for (size_t i = 0; i < 65536 / 8; i++)
		dst->lports[i] |= src->lports[i];
}

/* The entry of port p (added zeroed), or NULL on ENOMEM. */
static port_entry_t *port_get(port_map_t *m, uint16_t p)
{
	uint32_t key = (uint32_t)p + 1;
	size_t mask, j;

	if ((m->count + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		port_entry_t *e = calloc(cap, sizeof(*e));

		if (e == NULL)
			return NULL;
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->e[i].key)
				continue;
			for (j = (m->e[i].key * 0x9e3779b1u) & (cap - 1); e[j].key; j = (j + 1) & (cap - 1))
				;
			e[j] = m->e[i];
		}
		free(m->e);
		m->e = e;
		m->cap = cap;
	}
	mask = m->cap - 1;
	for (j = (key * 0x9e3779b1u) & mask; m->e[j].key; j = (j + 1) & mask)
		if (m->e[j].key == key)
			return &m->e[j];
	m->e[j].key = key;
	m->count++;
	return &m->e[j];
}

/* By service: inbound to a listened local port, else outbound by remote port, else rest. */
static void count_port(ag_agg_t *a, const ag_sock_t *s)
{
	port_entry_t *e;

	if (a->lports[s->lport >> 3] & (1u << (s->lport & 7)))
		e = port_get(&a->in, s->lport);
	else if (s->rport != 0 && !(s->flags & AG_SOCK_NORADDR))
		e = port_get(&a->out, s->rport);
	else {
		a->port_rest.n[s->state]++;
		return;
	}
	if (e == NULL) {
		a->err = -ENOMEM;
		return;
	}
	e->n[s->state - 1]++;
}

/*
 * Multiplicative hashing: the slot is the top bits of the product, which
 * depend on every key bit below them, so IPv4 keys (which differ only in
 * their last four bytes) spread as well as IPv6 ones.
 */
static inline size_t slot_of(const uint8_t *k, unsigned shift)
{
	uint64_t x, y;

	memcpy(&x, k, 8);
	memcpy(&y, k + 8, 8);
	return (size_t)(((x * 0x9e3779b97f4a7c15ull) ^ (y * 0xc2b2ae3d27d4eb4full)) >> shift);
}

int ag_agg_activity(ag_agg_t *a, uint32_t interval_ms)
{
	a->act_ms = 0;
	if (interval_ms == 0) {
		free(a->act);
		a->act = NULL;
		return 0;
	}
	if (a->act == NULL) {
		if ((a->act = malloc(a->cap * sizeof(*a->act))) == NULL)
			return -ENOMEM;
		/* Entries already counted have no activity. */
		memset(a->act, 0, a->cap * sizeof(*a->act));
	}
	a->act_ms = interval_ms;
	return 0;
}

static int grow(ag_agg_t *a)
{
	size_t cap = a->cap * 2, mask = cap - 1;
	unsigned shift = a->shift - 1;
	ip_entry_t *t = calloc(cap, sizeof(*t));
	ip_act_t *act = NULL;

	if (t == NULL || (a->act && (act = calloc(cap, sizeof(*act))) == NULL)) {
		free(t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->cap; i++) {
		size_t j;

		if (!a->tab[i].used)
			continue;
		for (j = slot_of(a->tab[i].key, shift); t[j].used; j = (j + 1) & mask)
			;
		t[j] = a->tab[i];
		if (act)
			act[j] = a->act[i];
	}
	free(a->tab);
	free(a->act);
	a->act = act;
	a->tab = t;
	a->cap = cap;
	a->shift = shift;
	return 0;
}

static ip_entry_t *lookup(ag_agg_t *a, const uint8_t *key)
{
	size_t mask = a->cap - 1, j;

	for (j = slot_of(key, a->shift); a->tab[j].used; j = (j + 1) & mask)
		if (memcmp(a->tab[j].key, key, 16) == 0)
			return &a->tab[j];
	/* A new address: keep the load at most 3/4 so that probes stay short. */
	if ((a->count + 1) * 4 > a->cap * 3) {
		if (grow(a) < 0)
			return NULL;
		mask = a->cap - 1;
		for (j = slot_of(key, a->shift); a->tab[j].used; j = (j + 1) & mask)
			;
	}
	memcpy(a->tab[j].key, key, 16);
	a->tab[j].used = 1;
	a->count++;
	return &a->tab[j];
}

static void add_listener(ag_agg_t *a, const ag_sock_t *s)
{
	wire_listener_t *l;

	if (a->n_lis == a->cap_lis) {
		size_t cap = a->cap_lis ? a->cap_lis * 2 : 16;

		if ((l = realloc(a->lis, cap * sizeof(*l))) == NULL) {
			a->err = a->lis_err = -ENOMEM;
			return;
		}
		a->lis = l;
		a->cap_lis = cap;
	}
	l = &a->lis[a->n_lis++];
	memset(l, 0, sizeof(*l));
	l->ip.len = s->family == AF_INET ? 4 : 16;
	memcpy(l->ip.b, s->laddr, l->ip.len);
	l->port = s->lport;
	l->accept_queue = s->rqueue;
	l->backlog = s->wqueue;
	a->lports[s->lport >> 3] |= (uint8_t)(1u << (s->lport & 7));
}

static int in_excludes(const ag_agg_t *a, const uint8_t *ip, size_t alen)
{
	for (size_t i = 0; i < a->n_exclude; i++)
		if (wire_cidr_match(&a->exclude[i], ip, alen))
			return 1;
	return 0;
}

/*
 * DESIGN 12, per ESTABLISHED connection: active if data came within the
 * interval; unanswered if nothing we sent was acked (an active open's SYN is
 * the 1 byte allowed); idle if no data moved either way for longer than the
 * interval.  The kernel's "last" times of a connection that never carried
 * data count from when it was made, so a young one is never idle.
 */
static void count_activity(ip_act_t *x, const ag_sock_t *s, uint32_t interval_ms)
{
	x->measured++;
	x->active += s->tcp_bytes_received > 0 && s->tcp_last_recv_ms < interval_ms;
	x->unanswered += s->tcp_bytes_acked <= 1;
	x->idle += s->tcp_last_recv_ms >= interval_ms && s->tcp_last_send_ms >= interval_ms;
	x->bytes_received += s->tcp_bytes_received;
	x->bytes_acked += s->tcp_bytes_acked;
}

void ag_agg_add(void *ctx, const ag_sock_t *s)
{
	static const uint8_t loop6[16] = {[15] = 1};
	ag_agg_t *a = ctx;
	uint8_t key[16];
	ip_entry_t *e;
	int excluded;

	if (s->state == WIRE_LISTEN) {
		add_listener(a, s);
		return;
	}
	a->states.n[s->state]++;
	if (a->ports_n)
		count_port(a, s);
	if (s->flags & AG_SOCK_NORADDR)
		return; /* counted in the table, and so in `rest` */
	/* IPv4 and IPv4-mapped IPv6 share the key ::ffff:a.b.c.d. */
	if (s->family == AF_INET || memcmp(s->raddr, v4mapped, 12) == 0) {
		const uint8_t *ip4 = s->family == AF_INET ? s->raddr : s->raddr + 12;

		excluded = ip4[0] == 127 || (a->n_exclude && in_excludes(a, ip4, 4));
		memcpy(key, v4mapped, 12);
		memcpy(key + 12, ip4, 4);
	} else {
		excluded = memcmp(s->raddr, loop6, 16) == 0 ||
		           (a->n_exclude && in_excludes(a, s->raddr, 16));
		memcpy(key, s->raddr, 16);
	}
	if (excluded) {
		a->excluded.n[s->state]++;
		return;
	}
	if ((e = lookup(a, key)) == NULL) {
		a->err = -ENOMEM;
		return;
	}
	e->n[s->state - 1]++;
	if (a->act_ms && (s->flags & AG_SOCK_INFO) && s->state == WIRE_ESTABLISHED)
		count_activity(&a->act[e - a->tab], s, a->act_ms);
}

static int port_map_merge(port_map_t *dst, const port_map_t *src)
{
	for (size_t i = 0; i < src->cap; i++) {
		port_entry_t *d;

		if (!src->e[i].key)
			continue;
		if ((d = port_get(dst, (uint16_t)(src->e[i].key - 1))) == NULL)
			return -ENOMEM;
		for (int s = 0; s < WIRE_NSTATES - 1; s++)
			d->n[s] += src->e[i].n[s];
	}
	return 0;
}

int ag_agg_merge(ag_agg_t *dst, const ag_agg_t *src)
{
	if (src->err < 0)
		return dst->err = src->err;
	for (int s = 1; s < WIRE_NSTATES; s++) {
		dst->states.n[s] += src->states.n[s];
		dst->excluded.n[s] += src->excluded.n[s];
		dst->port_rest.n[s] += src->port_rest.n[s];
	}
	if (port_map_merge(&dst->in, &src->in) < 0 || port_map_merge(&dst->out, &src->out) < 0)
		return dst->err = -ENOMEM;
	for (size_t i = 0; i < src->n_lis; i++) {
		ag_sock_t l = {
			.state = WIRE_LISTEN,
			.family = src->lis[i].ip.len == 4 ? AF_INET : AF_INET6,
			.lport = (uint16_t)src->lis[i].port,
			.rqueue = src->lis[i].accept_queue,
			.wqueue = src->lis[i].backlog,
		};

		memcpy(l.laddr, src->lis[i].ip.b, src->lis[i].ip.len);
		add_listener(dst, &l);
	}
	for (size_t i = 0; i < src->cap; i++) {
		const ip_entry_t *e = &src->tab[i];
		ip_entry_t *d;

		if (!e->used)
			continue;
		if ((d = lookup(dst, e->key)) == NULL)
			return dst->err = -ENOMEM;
		for (int s = 0; s < WIRE_NSTATES - 1; s++)
			d->n[s] += e->n[s];
		if (dst->act_ms && src->act_ms) {
			ip_act_t *x = &dst->act[d - dst->tab];
			const ip_act_t *y = &src->act[i];

			x->measured += y->measured;
			x->active += y->active;
			x->unanswered += y->unanswered;
			x->idle += y->idle;
			x->bytes_received += y->bytes_received;
			x->bytes_acked += y->bytes_acked;
		}
	}
	return dst->err;
}

/* Ranking keys. */
enum { RANK_TOTAL, RANK_EST, RANK_SYNRECV };

static uint32_t entry_key(const ip_entry_t *e, int rank)
{
	uint32_t t = 0;

	switch (rank) {
	case RANK_EST:
		return e->n[WIRE_ESTABLISHED - 1];
	case RANK_SYNRECV:
		return e->n[WIRE_SYN_RECV - 1];
	}
	for (int i = 0; i < WIRE_NSTATES - 1; i++)
		t += e->n[i];
	return t;
}

/* Orders by key descending, then address ascending: "a ranks before b". */
static int ranks_before(const ip_entry_t *a, uint32_t ka,
                        const ip_entry_t *b, uint32_t kb)
{
	if (ka != kb)
		return ka > kb;
	return memcmp(a->key, b->key, 16) < 0;
}

/*
 * Selects the top n entries by `rank` with a bounded min-heap (the root is
 * the weakest entry kept), marks them picked and returns the n-th key, or
 * 0 when fewer than n entries have a nonzero key.
 */
static uint32_t pick_top(ag_agg_t *a, int rank, uint32_t n, ip_entry_t **heap,
                         uint32_t *keys)
{
	size_t len = 0;

	if (n == 0) {
		uint32_t max = 0;

		for (size_t i = 0; i < a->cap; i++)
			if (a->tab[i].used && entry_key(&a->tab[i], rank) > max)
				max = entry_key(&a->tab[i], rank);
		return max;
	}
	for (size_t i = 0; i < a->cap; i++) {
		ip_entry_t *e = &a->tab[i];
		uint32_t k;
		size_t j;

		if (!e->used || (k = entry_key(e, rank)) == 0)
			continue;
		if (len == n) {
			if (!ranks_before(e, k, heap[0], keys[0]))
				continue;
			j = 0; /* replace the root, then sift down */
			for (;;) {
				size_t c = 2 * j + 1;

				if (c >= len)
					break;
				if (c + 1 < len && ranks_before(heap[c], keys[c], heap[c + 1], keys[c + 1]))
					c++;
				if (!ranks_before(e, k, heap[c], keys[c]))
					break;
				heap[j] = heap[c];
				keys[j] = keys[c];
				j = c;
			}
		} else {
			for (j = len++; j > 0; j = (j - 1) / 2) {
				size_t p = (j - 1) / 2;

				if (!ranks_before(heap[p], keys[p], e, k))
					break;
				heap[j] = heap[p];
				keys[j] = keys[p];
			}
		}
		heap[j] = e;
		keys[j] = k;
	}
	for (size_t i = 0; i < len; i++)
		heap[i]->picked = 1;
	return len == n ? keys[0] : 0;
}

static int cmp_remote(const void *x, const void *y)
{
	const wire_remote_t *a = x, *b = y;
	uint32_t ta = 0, tb = 0;

	for (int i = 1; i < WIRE_NSTATES; i++) {
		ta += a->st.n[i];
		tb += b->st.n[i];
	}
	if (ta != tb)
		return ta > tb ? -1 : 1;
	if (a->ip.len != b->ip.len)
		return a->ip.len < b->ip.len ? -1 : 1;
	return memcmp(a->ip.b, b->ip.b, a->ip.len);
}

static int cmp_listener(const void *x, const void *y)
{
	const wire_listener_t *a = x, *b = y;

	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->ip.len != b->ip.len)
		return a->ip.len < b->ip.len ? -1 : 1;
	return memcmp(a->ip.b, b->ip.b, a->ip.len);
}

/* Largest total first, then the lower port. */
static int cmp_port(const void *x, const void *y)
{
	const wire_port_t *a = x, *b = y;
	uint32_t ta = wire_states_total(&a->st), tb = wire_states_total(&b->st);

	if (ta != tb)
		return ta > tb ? -1 : 1;
	return a->port < b->port ? -1 : a->port > b->port;
}

/* The top n ports of m in *out (new; NULL when none), the others summed into rest. */
static int ports_top(const port_map_t *m, uint32_t n, wire_port_t **out, size_t *n_out,
                     wire_states_t *rest)
{
	wire_port_t *v;
	size_t k = 0;

	*out = NULL;
	*n_out = 0;
	if (m->count == 0)
		return 0;
	if ((v = malloc(m->count * sizeof(*v))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->e[i].key)
			continue;
		v[k].port = m->e[i].key - 1;
		v[k].st.n[0] = 0;
		for (int s = 1; s < WIRE_NSTATES; s++)
			v[k].st.n[s] = m->e[i].n[s - 1];
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_port);
	for (size_t i = n; i < k; i++)
		for (int s = 1; s < WIRE_NSTATES; s++)
			rest->n[s] += v[i].st.n[s];
	*out = v;
	*n_out = k < n ? k : n;
	return 0;
}

/* r->ports from the port maps, replacing what it held. */
static int ports_finish(const ag_agg_t *a, wire_ports_t *p)
{
	wire_ports_t q = {.rest = a->port_rest, .limit = a->ports_n};

	if (a->ports_n &&
	    (ports_top(&a->in, a->ports_n, &q.inbound, &q.n_inbound, &q.rest) < 0 ||
	     ports_top(&a->out, a->ports_n, &q.outbound, &q.n_outbound, &q.rest) < 0)) {
		free(q.inbound);
		return -ENOMEM;
	}
	free(p->inbound);
	free(p->outbound);
	*p = q;
	return 0;
}

int ag_agg_finish(ag_agg_t *a, wire_report_t *r)
{
	uint32_t n = a->top_n;
	ip_entry_t **heap = NULL;
	uint32_t *keys = NULL;
	wire_remote_t *ips = NULL;
	wire_listener_t *lis = NULL;
	size_t n_ips = 0;
	int err = a->err;

	if (err < 0)
		goto fail;
	err = -ENOMEM;
	if (n && ((heap = malloc(n * sizeof(*heap))) == NULL ||
	          (keys = malloc(n * sizeof(*keys))) == NULL))
		goto fail;
	if (n && (ips = calloc(3 * (size_t)n, sizeof(*ips))) == NULL)
		goto fail;
	if (a->n_lis && (lis = malloc(a->n_lis * sizeof(*lis))) == NULL)
		goto fail;
	if (ports_finish(a, &r->ports) < 0)
		goto fail;

	for (size_t i = 0; i < a->cap; i++)
		a->tab[i].picked = 0;
	r->top.threshold_total = pick_top(a, RANK_TOTAL, n, heap, keys);
	r->top.threshold_established = pick_top(a, RANK_EST, n, heap, keys);
	r->top.threshold_syn_recv = pick_top(a, RANK_SYNRECV, n, heap, keys);

	r->top.rest = a->states;
	for (int s = 1; s < WIRE_NSTATES; s++)
		r->top.rest.n[s] -= a->excluded.n[s];
	for (size_t i = 0; i < a->cap; i++) {
		const ip_entry_t *e = &a->tab[i];
		wire_remote_t *w;

		if (!e->used || !e->picked)
			continue;
		w = &ips[n_ips++];
		if (memcmp(e->key, v4mapped, 12) == 0) {
			w->ip.len = 4;
			memcpy(w->ip.b, e->key + 12, 4);
		} else {
			w->ip.len = 16;
			memcpy(w->ip.b, e->key, 16);
		}
		for (int s = 1; s < WIRE_NSTATES; s++) {
			w->st.n[s] = e->n[s - 1];
			r->top.rest.n[s] -= e->n[s - 1];
		}
		/* Measured only when every ESTABLISHED socket of it came with its TCP info (a kernel
		   whose info is too short to read gives none: no activity, rather than zeros). */
		if ((w->has_act = a->act_ms != 0 && a->act[i].measured == e->n[WIRE_ESTABLISHED - 1])) {
			const ip_act_t *x = &a->act[i];

			w->act = (wire_activity_t){
				.active = x->active, .unanswered = x->unanswered, .idle = x->idle,
				.bytes_received = x->bytes_received, .bytes_acked = x->bytes_acked,
			};
		}
	}
	if (n_ips)
		qsort(ips, n_ips, sizeof(*ips), cmp_remote);
	if (a->n_lis) {
		memcpy(lis, a->lis, a->n_lis * sizeof(*lis));
		qsort(lis, a->n_lis, sizeof(*lis), cmp_listener);
	}

	free(r->top.ips);
	free(r->listeners);
	r->top.ips = ips;
	r->top.n_ips = n_ips;
	r->top.limit = n;
	r->top.excluded = a->excluded;
	r->top.distinct_ips = (uint32_t)a->count;
	r->states = a->states;
	r->listeners = lis;
	r->n_listeners = a->n_lis;
	free(heap);
	free(keys);
	return 0;
fail:
	free(heap);
	free(keys);
	free(ips);
	free(lis);
	return err;
}
