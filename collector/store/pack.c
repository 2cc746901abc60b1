/* SPDX-License-Identifier: MIT */
/* pack.c: the packed columns of the store, encoded and decoded with no database. */
#include "pack.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing: into an fs_buf_t, whose error is sticky and checked once at the end ---- */

static void put_mem(fs_buf_t *b, const void *p, size_t n)
{
	fs_buf_add(b, (const char *)p, n);
}

static void put_u8(fs_buf_t *b, uint8_t v)
{
	put_mem(b, &v, 1);
}

static void put_var(fs_buf_t *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	put_mem(b, tmp, n);
}

/* A mask of the nonzero states (bit s - 1), then their counts. */
static void put_states(fs_buf_t *b, const wire_states_t *s)
{
	uint64_t mask = 0;
	int i;

	for (i = WIRE_ESTABLISHED; i < WIRE_NSTATES; i++)
		if (s->n[i] != 0)
			mask |= 1u << (i - 1);
	put_var(b, mask);
	for (i = WIRE_ESTABLISHED; i < WIRE_NSTATES; i++)
		if (s->n[i] != 0)
			put_var(b, s->n[i]);
}

static bool ip_len_ok(uint8_t len, bool zero_ok)
{
	return len == 4 || len == 16 || (zero_ok && len == 0);
}

/* An IP, or false if its length is not one the format holds (zero_ok: 0, any address). */
static bool put_ip(fs_buf_t *b, const wire_ip_t *ip, bool zero_ok)
{
	if (!ip_len_ok(ip->len, zero_ok))
		return false;
	put_u8(b, ip->len);
	put_mem(b, ip->b, ip->len);
	return true;
}

/* Starts a column in b: its format byte. */
static void put_start(fs_buf_t *b, uint8_t format)
{
	fs_buf_reset(b);
	put_u8(b, format);
}

/* An IP's activity in a top list of format 2: 0, or 1 and its five figures. */
static void put_act(fs_buf_t *b, bool has, const wire_activity_t *a)
{
	put_u8(b, has);
	if (!has)
		return;
	put_var(b, a->active);
	put_var(b, a->unanswered);
	put_var(b, a->idle);
	put_var(b, a->bytes_received);
	put_var(b, a->bytes_acked);
}

/* Starts a column of n entries, or leaves b empty (a NULL column) and false when n is 0. */
static bool put_start_list(fs_buf_t *b, size_t n)
{
	if (n == 0) {
		fs_buf_reset(b);
		return false;
	}
	put_start(b, DB_PACK_FORMAT);
	put_var(b, n);
	return true;
}

/* A top list's thresholds, as both packed forms of top lists hold them. */
static void put_thresholds(fs_buf_t *b, uint32_t total, uint32_t established, uint32_t syn_recv)
{
	put_var(b, total);
	put_var(b, established);
	put_var(b, syn_recv);
}

int db_top_pack(fs_buf_t *b, const wire_top_t *t)
{
	put_start(b, DB_PACK_FORMAT_TOP);
	put_var(b, t->limit);
	put_thresholds(b, t->threshold_total, t->threshold_established, t->threshold_syn_recv);
	put_var(b, t->distinct_ips);
	put_states(b, &t->rest);
	put_states(b, &t->excluded);
	put_var(b, t->n_ips);
	for (size_t i = 0; i < t->n_ips; i++) {
		if (!put_ip(b, &t->ips[i].ip, false))
			return -EINVAL;
		put_states(b, &t->ips[i].st);
		put_act(b, t->ips[i].has_act, &t->ips[i].act);
	}
	return b->err;
}

static bool put_port_list(fs_buf_t *b, const wire_port_t *v, size_t n)
{
	put_var(b, n);
	for (size_t i = 0; i < n; i++) {
		if (v[i].port == 0 || v[i].port > 65535)
			return false;
		put_var(b, v[i].port);
		put_states(b, &v[i].st);
	}
	return true;
}

int db_ports_pack(fs_buf_t *b, const wire_ports_t *p)
{
	if (p->limit == 0 && p->n_inbound + p->n_outbound == 0) {
		fs_buf_reset(b);
		return 0;
	}
	put_start(b, DB_PACK_FORMAT);
	put_var(b, p->limit);
	if (!put_port_list(b, p->inbound, p->n_inbound) ||
	    !put_port_list(b, p->outbound, p->n_outbound))
		return -EINVAL;
	put_states(b, &p->rest);
	return b->err;
}

static void put_classes(fs_buf_t *b, const uint64_t *v)
{
	for (int i = 0; i < WIRE_REQ_NCLASS; i++)
		put_var(b, v[i]);
}

/* A host name: a length byte (1..255) and its bytes; false for one the format cannot hold. */
static bool put_name(fs_buf_t *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 255)
		return false;
	put_u8(b, (uint8_t)n);
	put_mem(b, s, n);
	return true;
}

int db_requests_pack(fs_buf_t *b, const wire_requests_t *q)
{
	if (!q->present) {
		fs_buf_reset(b);
		return 0;
	}
	put_start(b, DB_PACK_FORMAT);
	put_var(b, q->total);
	put_classes(b, q->by_status);
	put_var(b, q->bytes);
	put_var(b, q->malformed);
	put_var(b, q->limit);
	put_var(b, q->distinct_clients);
	put_var(b, q->clients_unlisted_max);
	put_var(b, q->n_clients);
	for (size_t i = 0; i < q->n_clients; i++) {
		const wire_req_client_t *c = &q->clients[i];

		if (!put_ip(b, &c->ip, false))
			return -EINVAL;
		put_var(b, c->requests);
		put_var(b, c->error);
		put_classes(b, c->by_status);
		put_var(b, c->bytes);
		put_var(b, c->user_agents);
		put_u8(b, c->user_agents_capped);
	}
	put_var(b, q->hosts_unlisted_max);
	put_var(b, q->n_hosts);
	for (size_t i = 0; i < q->n_hosts; i++) {
		if (!put_name(b, q->hosts[i].host))
			return -EINVAL;
		put_var(b, q->hosts[i].requests);
		put_var(b, q->hosts[i].error);
	}
	return b->err;
}

int db_roll_req_pack(fs_buf_t *b, const col_roll_req_t *q)
{
	if (q->reports == 0) {
		fs_buf_reset(b);
		return 0;
	}
	put_start(b, DB_PACK_FORMAT);
	put_var(b, q->reports);
	put_var(b, q->total);
	put_classes(b, q->by_status);
	put_var(b, q->bytes);
	put_var(b, q->malformed);
	put_var(b, q->clients_unlisted);
	put_var(b, q->clients_dropped);
	put_var(b, q->n_clients);
	for (size_t i = 0; i < q->n_clients; i++) {
		const col_roll_client_t *e = &q->clients[i];

		if (!put_ip(b, &e->c.ip, false))
			return -EINVAL;
		put_var(b, e->c.requests);
		put_var(b, e->c.error);
		put_classes(b, e->c.by_status);
		put_var(b, e->c.bytes);
		put_var(b, e->c.user_agents);
		put_u8(b, e->c.user_agents_capped);
		put_var(b, e->unlisted_listed);
		put_var(b, e->excess);
		put_var(b, e->busy_requests);
		put_var(b, e->busy_interval_ms);
	}
	put_var(b, q->hosts_unlisted);
	put_var(b, q->hosts_dropped);
	put_var(b, q->n_hosts);
	for (size_t i = 0; i < q->n_hosts; i++) {
		if (!put_name(b, q->hosts[i].h.host))
			return -EINVAL;
		put_var(b, q->hosts[i].h.requests);
		put_var(b, q->hosts[i].h.error);
		put_var(b, q->hosts[i].unlisted_listed);
		put_var(b, q->hosts[i].excess);
	}
	return b->err;
}

int db_listeners_pack(fs_buf_t *b, const wire_listener_t *l, size_t n)
{
	if (!put_start_list(b, n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!put_ip(b, &l[i].ip, true))
			return -EINVAL;
		put_var(b, l[i].port);
		put_var(b, l[i].accept_queue);
		put_var(b, l[i].backlog);
	}
	return b->err;
}

int db_counters_pack(fs_buf_t *b, const wire_counter_t *c, size_t n, db_name_id_fn id_of,
                     void *ctx)
{
	uint32_t id;
	int err;

	if (!put_start_list(b, n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if ((err = id_of(ctx, c[i].name != NULL ? c[i].name : "", &id)) < 0)
			return err;
		put_var(b, id);
		put_var(b, c[i].value);
	}
	return b->err;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/*
 * The times go as offsets from the earliest first_ms (zigzagged, it may be
 * before the epoch): a few bytes each instead of eight.
 */
int db_roll_top_pack(fs_buf_t *b, const col_roll_top_t *r)
{
	int64_t base = r->n ? r->ips[0].first_ms : 0;

	for (size_t i = 1; i < r->n; i++)
		if (r->ips[i].first_ms < base)
			base = r->ips[i].first_ms;
	put_start(b, DB_PACK_FORMAT_TOP);
	put_var(b, r->reports);
	put_thresholds(b, r->thr_total, r->thr_established, r->thr_syn_recv);
	put_var(b, zigzag(base));
	put_var(b, r->n);
	for (size_t i = 0; i < r->n; i++) {
		const col_roll_ip_t *e = &r->ips[i];

		if (!put_ip(b, &e->ip, false))
			return -EINVAL;
		put_var(b, e->listed);
		put_var(b, e->total);
		put_states(b, &e->st);
		put_var(b, (uint64_t)(e->first_ms - base));
		put_var(b, (uint64_t)(e->last_ms - e->first_ms));
		put_act(b, e->act.at_ms != 0, &e->act.a);
		if (e->act.at_ms != 0) {
			/* Taken from a report of the period: at first_ms or later. */
			if (e->act.at_ms < e->first_ms || e->act.at_ms > e->last_ms)
				return -EINVAL;
			put_var(b, (uint64_t)(e->act.at_ms - e->first_ms));
			put_var(b, e->act.established);
		}
	}
	return b->err;
}

/* ---- reading: a bounds-checked reader whose `bad` is sticky ---- */

typedef struct {
	const uint8_t *p;
	const uint8_t *end;
	bool bad;
	uint8_t format;
} rd_t;

static uint64_t get_var(rd_t *r)
{
	uint64_t v = 0;
	int shift;

	for (shift = 0; shift < 64 && r->p < r->end; shift += 7) {
		uint8_t c = *r->p++;

		if (shift == 63 && c > 1)
			break;                  /* more than 64 bits */
		v |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0)
			return v;
	}
	r->bad = true;
	return 0;
}

static uint32_t get_u32(rd_t *r)
{
	uint64_t v = get_var(r);

	if (v > UINT32_MAX) {
		r->bad = true;
		return 0;
	}
	return (uint32_t)v;
}

static uint8_t get_u8(rd_t *r)
{
	if (r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

static void get_mem(rd_t *r, void *out, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		memset(out, 0, n);
		return;
	}
	memcpy(out, r->p, n);
	r->p += n;
}

static void get_states(rd_t *r, wire_states_t *s)
{
	uint64_t mask = get_var(r);
	int i;

	memset(s, 0, sizeof(*s));
	if (mask >> (WIRE_NSTATES - 1)) {
		r->bad = true;
		return;
	}
	for (i = WIRE_ESTABLISHED; i < WIRE_NSTATES && !r->bad; i++)
		if (mask & (1u << (i - 1)))
			s->n[i] = get_u32(r);
}

static void get_ip(rd_t *r, wire_ip_t *ip, bool zero_ok)
{
	ip->len = get_u8(r);
	if (!ip_len_ok(ip->len, zero_ok)) {
		r->bad = true;
		ip->len = 0;
		return;
	}
	get_mem(r, ip->b, ip->len);
}

/*
 * Starts a reader on a packed column of format 1 up to max_format (its
 * format in r->format); false if it is empty (NULL).
 */
static bool rd_start(rd_t *r, const void *blob, size_t len, uint8_t max_format)
{
	r->p = blob;
	r->end = blob != NULL ? r->p + len : r->p;   /* NULL + 0 is undefined */
	r->bad = false;
	r->format = 0;
	if (r->p == r->end)
		return false;
	r->format = get_u8(r);
	if (r->format < DB_PACK_FORMAT || r->format > max_format)
		r->bad = true;
	return true;
}

/* An IP's activity in a top list of format 2 (nothing in format 1); *has as stored. */
static void get_act(rd_t *r, bool *has, wire_activity_t *a)
{
	uint8_t flag = r->format >= 2 ? get_u8(r) : 0;

	memset(a, 0, sizeof(*a));
	*has = flag == 1;
	if (flag > 1)
		r->bad = true;
	if (!*has)
		return;
	a->active = get_u32(r);
	a->unanswered = get_u32(r);
	a->idle = get_u32(r);
	a->bytes_received = get_var(r);
	a->bytes_acked = get_var(r);
}

/* A count of entries that each take at least min bytes of what is left. */
static size_t get_count(rd_t *r, size_t min)
{
	uint64_t n = get_var(r);

	if (n > (uint64_t)(r->end - r->p) / min) {
		r->bad = true;
		return 0;
	}
	return (size_t)n;
}

/* Whether the reader ended well: nothing bad, nothing left over. */
static bool rd_done(const rd_t *r)
{
	return !r->bad && r->p == r->end;
}

int db_top_unpack(const void *blob, size_t len, wire_top_t *out)
{
	rd_t r;
	size_t i, n;

	memset(out, 0, sizeof(*out));
	if (!rd_start(&r, blob, len, DB_PACK_FORMAT_TOP))
		return 0;
	out->limit = get_u32(&r);
	out->threshold_total = get_u32(&r);
	out->threshold_established = get_u32(&r);
	out->threshold_syn_recv = get_u32(&r);
	out->distinct_ips = get_u32(&r);
	get_states(&r, &out->rest);
	get_states(&r, &out->excluded);
	n = get_count(&r, 6);   /* length byte, 4 address bytes, a mask */
	if (r.bad)
		goto bad;
	if (n > 0) {
		out->ips = calloc(n, sizeof(*out->ips));
		if (out->ips == NULL) {
			memset(out, 0, sizeof(*out));
			return -ENOMEM;
		}
	}
	out->n_ips = n;
	for (i = 0; i < n && !r.bad; i++) {
		wire_remote_t *e = &out->ips[i];

		get_ip(&r, &e->ip, false);
		get_states(&r, &e->st);
		get_act(&r, &e->has_act, &e->act);
		/* As the collector took it: each count at most the IP's ESTABLISHED. */
		if (e->has_act && !wire_activity_within(&e->act, e->st.n[WIRE_ESTABLISHED]))
			r.bad = true;
	}
	if (!rd_done(&r))
		goto bad;
	return 0;
bad:
	free(out->ips);
	memset(out, 0, sizeof(*out));
	return -EBADMSG;
}

/* n ports, each at least two bytes (a port varint, a mask), into *out (new). */
static int get_port_list(rd_t *r, uint32_t limit, wire_port_t **out, size_t *n_out)
{
	size_t n = get_count(r, 2);

	*out = NULL;
	*n_out = 0;
	if (r->bad || n > limit || n > WIRE_MAX_PORTS) {
		r->bad = true;
		return 0;
	}
	if (n > 0 && (*out = calloc(n, sizeof(**out))) == NULL)
		return -ENOMEM;
	*n_out = n;
	for (size_t i = 0; i < n && !r->bad; i++) {
		(*out)[i].port = get_u32(r);
		if ((*out)[i].port == 0 || (*out)[i].port > 65535)
			r->bad = true;
		get_states(r, &(*out)[i].st);
	}
	return 0;
}

int db_ports_unpack(const void *blob, size_t len, wire_ports_t *out)
{
	rd_t r;
	int err;

	memset(out, 0, sizeof(*out));
	if (!rd_start(&r, blob, len, DB_PACK_FORMAT))
		return 0;
	out->limit = get_u32(&r);
	if ((err = get_port_list(&r, out->limit, &out->inbound, &out->n_inbound)) < 0 ||
	    (err = get_port_list(&r, out->limit, &out->outbound, &out->n_outbound)) < 0)
		goto fail;
	get_states(&r, &out->rest);
	if (rd_done(&r))
		return 0;
	err = -EBADMSG;
fail:
	free(out->inbound);
	free(out->outbound);
	memset(out, 0, sizeof(*out));
	return err;
}

static void get_classes(rd_t *r, uint64_t *v)
{
	for (int i = 0; i < WIRE_REQ_NCLASS; i++)
		v[i] = get_var(r);
}

/* A host name put_name() wrote, into *out (new; NULL when r goes bad).  0 or -ENOMEM. */
static int get_name(rd_t *r, char **out)
{
	uint8_t n = get_u8(r);

	*out = NULL;
	if (r->bad || n == 0 || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return 0;
	}
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return -ENOMEM;
	get_mem(r, *out, n);
	(*out)[n] = '\0';
	if (memchr(*out, '\0', n) != NULL) {
		free(*out);
		*out = NULL;
		r->bad = true;
	}
	return 0;
}

int db_requests_unpack(const void *blob, size_t len, wire_requests_t *out)
{
	rd_t r;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!rd_start(&r, blob, len, DB_PACK_FORMAT))
		return 0;
	out->present = true;
	out->total = get_var(&r);
	get_classes(&r, out->by_status);
	out->bytes = get_var(&r);
	out->malformed = get_var(&r);
	out->limit = get_u32(&r);
	out->distinct_clients = get_u32(&r);
	out->clients_unlisted_max = get_var(&r);
	/* An address (5 bytes at least), ten varints and a flag. */
	n = get_count(&r, 16);
	if (n > WIRE_MAX_REQ_LIST)
		r.bad = true;
	if (!r.bad && n > 0 && (out->clients = calloc(n, sizeof(*out->clients))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n && !r.bad; i++) {
		wire_req_client_t *c = &out->clients[i];
		uint8_t capped;

		get_ip(&r, &c->ip, false);
		c->requests = get_var(&r);
		c->error = get_var(&r);
		get_classes(&r, c->by_status);
		c->bytes = get_var(&r);
		c->user_agents = get_u32(&r);
		capped = get_u8(&r);
		r.bad |= capped > 1;
		c->user_agents_capped = capped == 1;
		out->n_clients = i + 1;
	}
	out->hosts_unlisted_max = get_var(&r);
	n = r.bad ? 0 : get_count(&r, 4);
	if (n > WIRE_MAX_REQ_LIST)
		r.bad = true;
	if (!r.bad && n > 0 && (out->hosts = calloc(n, sizeof(*out->hosts))) == NULL) {
		wire_requests_close(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && !r.bad; i++) {
		if (get_name(&r, &out->hosts[i].host) < 0) {
			wire_requests_close(out);
			return -ENOMEM;
		}
		if (r.bad)
			break;
		out->n_hosts = i + 1;
		out->hosts[i].requests = get_var(&r);
		out->hosts[i].error = get_var(&r);
	}
	if (rd_done(&r))
		return 0;
	wire_requests_close(out);
	return -EBADMSG;
}

int db_listeners_unpack(const void *blob, size_t len, wire_listener_t **out, size_t *n)
{
	wire_listener_t *l = NULL;
	rd_t r;
	size_t i, cnt;

	*out = NULL;
	*n = 0;
	if (!rd_start(&r, blob, len, DB_PACK_FORMAT))
		return 0;
	cnt = get_count(&r, 4);  /* length byte and three varints */
	if (r.bad)
		return -EBADMSG;
	if (cnt > 0 && (l = calloc(cnt, sizeof(*l))) == NULL)
		return -ENOMEM;
	for (i = 0; i < cnt && !r.bad; i++) {
		get_ip(&r, &l[i].ip, true);
		l[i].port = get_u32(&r);
		l[i].accept_queue = get_u32(&r);
		l[i].backlog = get_u32(&r);
	}
	if (!rd_done(&r)) {
		free(l);
		return -EBADMSG;
	}
	*out = l;
	*n = cnt;
	return 0;
}

int db_counters_unpack(const void *blob, size_t len, db_id_name_fn name_of, void *ctx,
                       wire_counter_t **out, size_t *n)
{
	wire_counter_t *c = NULL;
	size_t i = 0, cnt;
	int err = -EBADMSG;
	rd_t r;

	*out = NULL;
	*n = 0;
	if (!rd_start(&r, blob, len, DB_PACK_FORMAT))
		return 0;
	cnt = get_count(&r, 2);  /* two varints */
	if (r.bad)
		return -EBADMSG;
	if (cnt > 0 && (c = calloc(cnt, sizeof(*c))) == NULL)
		return -ENOMEM;
	for (i = 0; i < cnt; i++) {
		uint32_t id = get_u32(&r);
		const char *name;

		c[i].value = get_var(&r);
		if (r.bad || (name = name_of(ctx, id)) == NULL)
			goto fail;
		if ((c[i].name = strdup(name)) == NULL) {
			err = -ENOMEM;
			goto fail;
		}
	}
	if (!rd_done(&r))
		goto fail;
	*out = c;
	*n = cnt;
	return 0;
fail:
	while (i-- > 0)
		free(c[i].name);
	free(c);
	return err;
}

int db_counters_pick(const void *blob, size_t len, const uint32_t *ids, size_t n_ids,
                     uint64_t *values, uint32_t *found)
{
	size_t i, n;
	rd_t r;

	*found = 0;
	if (!rd_start(&r, blob, len, DB_PACK_FORMAT))
		return 0;
	n = get_count(&r, 2);
	for (i = 0; i < n && !r.bad; i++) {
		uint64_t id = get_var(&r), v = get_var(&r);

		for (size_t k = 0; k < n_ids && k < 32; k++)
			if (ids[k] == id) {
				values[k] = v;
				*found |= 1u << k;
			}
	}
	return rd_done(&r) ? 0 : -EBADMSG;
}

/* t + d, or false when it leaves int64_t. */
static bool add_ms(int64_t t, uint64_t d, int64_t *out)
{
	if (d > (uint64_t)INT64_MAX || t > INT64_MAX - (int64_t)d)
		return false;
	*out = t + (int64_t)d;
	return true;
}

int db_roll_top_unpack(const void *blob, size_t len, col_roll_top_t *out)
{
	rd_t r;
	int64_t base;
	size_t n;
	bool has;

	memset(out, 0, sizeof(*out));
	if (!rd_start(&r, blob, len, DB_PACK_FORMAT_TOP))
		return -EBADMSG;
	out->reports = get_u32(&r);
	out->thr_total = get_u32(&r);
	out->thr_established = get_u32(&r);
	out->thr_syn_recv = get_u32(&r);
	base = unzigzag(get_var(&r));
	n = get_count(&r, 10);  /* length byte, 4 address bytes, five varints */
	if (r.bad || n > COL_ROLL_TOP_MAX || out->reports == 0)
		goto bad;
	if (n > 0 && (out->ips = calloc(n, sizeof(*out->ips))) == NULL) {
		memset(out, 0, sizeof(*out));
		return -ENOMEM;
	}
	out->n = out->cap = n;
	for (size_t i = 0; i < n && !r.bad; i++) {
		col_roll_ip_t *e = &out->ips[i];

		get_ip(&r, &e->ip, false);
		e->listed = get_u32(&r);
		e->total = get_u32(&r);
		get_states(&r, &e->st);
		if (!add_ms(base, get_var(&r), &e->first_ms) ||
		    !add_ms(e->first_ms, get_var(&r), &e->last_ms) ||
		    e->listed == 0 || e->listed > out->reports)
			r.bad = true;
		get_act(&r, &has, &e->act.a);
		if (has && !r.bad) {
			if (!add_ms(e->first_ms, get_var(&r), &e->act.at_ms) ||
			    e->act.at_ms > e->last_ms || e->act.at_ms == 0)
				r.bad = true;
			e->act.established = get_u32(&r);
			if (!wire_activity_within(&e->act.a, e->act.established))
				r.bad = true;
		}
	}
	if (!rd_done(&r))
		goto bad;
	return 0;
bad:
	col_roll_top_close(out);
	return -EBADMSG;
}

int db_roll_req_unpack(const void *blob, size_t len, col_roll_req_t *out)
{
	rd_t r;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!rd_start(&r, blob, len, DB_PACK_FORMAT))
		return 0;
	out->reports = get_u32(&r);
	out->total = get_var(&r);
	get_classes(&r, out->by_status);
	out->bytes = get_var(&r);
	out->malformed = get_var(&r);
	out->clients_unlisted = get_var(&r);
	out->clients_dropped = get_var(&r);
	/* An address (5 bytes at least), fourteen varints and a flag. */
	n = get_count(&r, 20);
	if (r.bad || n > COL_ROLL_REQ_MAX || out->reports == 0)
		goto bad;
	if (n > 0 && (out->clients = calloc(n, sizeof(*out->clients))) == NULL)
		goto nomem;
	out->cap_clients = n;
	for (size_t i = 0; i < n && !r.bad; i++) {
		col_roll_client_t *e = &out->clients[i];
		uint8_t capped;

		get_ip(&r, &e->c.ip, false);
		e->c.requests = get_var(&r);
		e->c.error = get_var(&r);
		get_classes(&r, e->c.by_status);
		e->c.bytes = get_var(&r);
		e->c.user_agents = get_u32(&r);
		capped = get_u8(&r);
		e->c.user_agents_capped = capped == 1;
		e->unlisted_listed = get_var(&r);
		e->excess = get_var(&r);
		e->busy_requests = get_var(&r);
		e->busy_interval_ms = get_u32(&r);
		/* In IP order, each once; its bounds within the period's. */
		r.bad |= capped > 1 || e->unlisted_listed > out->clients_unlisted ||
		         e->excess > out->clients_dropped ||
		         (i > 0 && col_roll_ip_cmp(&out->clients[i - 1].c.ip, &e->c.ip) >= 0);
		out->n_clients = i + 1;
	}
	out->hosts_unlisted = get_var(&r);
	out->hosts_dropped = get_var(&r);
	n = r.bad ? 0 : get_count(&r, 6);
	if (r.bad || n > COL_ROLL_REQ_MAX)
		goto bad;
	if (n > 0 && (out->hosts = calloc(n, sizeof(*out->hosts))) == NULL)
		goto nomem;
	out->cap_hosts = n;
	for (size_t i = 0; i < n && !r.bad; i++) {
		col_roll_rhost_t *e = &out->hosts[i];

		if (get_name(&r, &e->h.host) < 0)
			goto nomem;
		if (r.bad)
			break;
		out->n_hosts = i + 1;
		e->h.requests = get_var(&r);
		e->h.error = get_var(&r);
		e->unlisted_listed = get_var(&r);
		e->excess = get_var(&r);
		r.bad |= e->unlisted_listed > out->hosts_unlisted || e->excess > out->hosts_dropped ||
		         (i > 0 && strcmp(out->hosts[i - 1].h.host, e->h.host) >= 0);
	}
	if (rd_done(&r))
		return 0;
bad:
	col_roll_req_close(out);
	return -EBADMSG;
nomem:
	col_roll_req_close(out);
	return -ENOMEM;
}
