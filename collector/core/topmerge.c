/* SPDX-License-Identifier: MIT */
/*
 * topmerge.c: the top-IP merge across hosts (top-ips, and suspects' counts):
 * each host's peaks per IP, summed over the fleet with the upper bound that
 * the hosts' thresholds allow; its own open-addressing hash.  No I/O.
 */
#include "query_priv.h"
#include "requests.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	col_act_t act;             /* host: its latest activity */
	col_activity_t asum;       /* fleet: the hosts' latest, summed */
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
	const col_req_ip_t *req;    /* their requests, in IP order (borrowed) */
	size_t n_req;
	int64_t req_since_ms;
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
		if (x->act.at_ms != 0) {
			f->asum.hosts++;
			f->asum.established += x->act.established;
			f->asum.active += x->act.a.active;
			f->asum.unanswered += x->act.a.unanswered;
			f->asum.idle += x->act.a.idle;
			f->asum.bytes_received += x->act.a.bytes_received;
			f->asum.bytes_acked += x->act.a.bytes_acked;
		}
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
                    uint64_t total, uint32_t listed, int64_t first, int64_t last,
                    const col_act_t *act)
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
	col_act_keep(&x->act, act);
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
		col_act_t act = {0};

		col_act_take(&act, r, collected_at_ms);
		err = pair_add(t, slot, &r->ip, r->st.n, wire_states_total(&r->st), 1,
		               collected_at_ms, collected_at_ms, &act);
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

		err = pair_add(t, slot, &e->ip, e->st.n, e->total, e->listed, e->first_ms, e->last_ms,
		               &e->act);
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
		                    .first_ms = f->first, .last_ms = f->last, .act = f->asum};
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

void col_top_set_requests(col_top_t *t, const col_req_ip_t *v, size_t n, int64_t since_ms)
{
	t->req = v;
	t->n_req = n;
	t->req_since_ms = since_ms;
}

int col_top_render(col_top_t *t, fs_buf_t *b)
{
	static const char *const head[] = {"REMOTE IP", "COUNT", "UPPER_BOUND", "HOSTS", "TIERS"};
	static const char *const tail[] = {"ACTIVE", "UNANSWERED", "IDLE", "REQUESTS", "REQ/S/CONN",
	                                   "FIRST_SEEN", "LAST_SEEN"};
	const col_qopts_t *o = &t->o;
	ipent_t **v;
	size_t k;
	char ip[WIRE_IP_STRLEN], t1[24], t2[24];
	int err;

	if ((err = top_ranked(t, o->limit, &v, &k)) < 0)
		return err;

	if (o->format == COL_FMT_JSON) {
		col__json_head(b, o);
		fs_buf_printf(b, ",\"since_ms\":%" PRId64 ",\"state\":\"%s\",\"limit\":%u,"
		              "\"hosts\":%u", o->since_ms, col_state_label(o->state), o->limit, t->hosts);
		/* Requests only where access logs were followed: each IP's over this window. */
		if (t->n_req > 0)
			fs_buf_printf(b, ",\"requests_since_ms\":%" PRId64, t->req_since_ms);
		fs_buf_puts(b, ",\"ips\":[");
		for (size_t i = 0; i < k; i++) {
			const ipent_t *f = v[i];
			const col_req_ip_t *q = col_req_ip_find(t->req, t->n_req, &f->ip);

			fs_buf_printf(b, "%s{\"ip\":\"%s\",\"count\":%" PRIu64 ",\"upper_bound\":%" PRIu64
			              ",\"hosts\":%" PRIu32 ",\"tiers\":[",
			              i ? "," : "", wire_ip_str(&f->ip, ip), f->rank, f->ub, f->listed);
			for (size_t j = 0; j < f->n_tiers; j++) {
				if (j)
					fs_buf_puts(b, ",");
				fs_buf_json_str(b, f->tiers[j]);
			}
			fs_buf_printf(b, "],\"total\":%" PRIu64 ",\"states\":",
			              col__state_value_u64(f->st, COL_STATE_TOTAL));
			col__json_states(b, f->st, false);
			fs_buf_printf(b, ",\"first_seen\":%" PRId64 ",\"last_seen\":%" PRId64,
			              f->first, f->last);
			col__json_activity(b, &f->asum);
			if (q != NULL) {
				fs_buf_puts(b, ",\"requests\":");
				col_req_json_ip(b, q, col_req_per_connection(q, f->st[WIRE_ESTABLISHED]));
			}
			fs_buf_puts(b, "}");
		}
		fs_buf_puts(b, "]}\n");
		free(v);
		return b->err;
	}

	grid_t g;

	grid_init(&g, o->format, 0x11);
	grid_heads(&g, head, ARRAY_SIZE(head));
	col__grid_state_heads(&g);
	grid_heads(&g, tail, ARRAY_SIZE(tail));
	grid_head_done(&g);
	for (size_t i = 0; i < k; i++) {
		const ipent_t *f = v[i];
		const col_req_ip_t *q = col_req_ip_find(t->req, t->n_req, &f->ip);
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
		for (size_t s = 0; s + 1 < COL__NTABLE_STATES; s++)
			grid_cell(&g, "%" PRIu64, f->st[col__table_states[s]]);
		col__grid_activity(&g, &f->asum);
		if (q == NULL)
			grid_cell(&g, "-");
		else
			grid_cell(&g, "%" PRIu64, q->requests);
		if (col_req_per_connection(q, f->st[WIRE_ESTABLISHED]) > 0)
			grid_cell(&g, "%.2f", col_req_per_connection(q, f->st[WIRE_ESTABLISHED]));
		else
			grid_cell(&g, "-");
		grid_cell(&g, "%s", col_time_str(f->first, t1));
		grid_cell(&g, "%s", col_time_str(f->last, t2));
	}
	free(v);
	return grid_render(&g, b);
}
