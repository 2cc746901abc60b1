/* SPDX-License-Identifier: MIT */
/* reqs.c: per-interval request counts, per client IP and per requested host. */
#include "reqs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include <sys/socket.h>

#include "topk.h"

/* What is kept beside each tracked IP's slot. */
typedef struct {
	uint64_t cls[AG_REQS_NCLASS];
	uint64_t bytes;
	uint64_t *ua;       /* open addressing of user-agent hashes (0: empty) */
	uint32_t ua_n, ua_cap;
	bool ua_capped;
} ip_extra_t;

struct ag_reqs {
	ag_topk_t *ips, *hosts;
	ip_extra_t *extra;
	size_t ips_max;     /* slots of extra: a reset slot keeps its small set for its next IP */
	size_t ua_slots;    /* allocated, all IPs together */
	ag_reqs_totals_t t;
};

ag_reqs_t *ag_reqs_new(size_t ips_max, size_t hosts_max)
{
	ag_reqs_t *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	if (ips_max == 0)
		ips_max = AG_REQS_IPS_DEFAULT;
	if (hosts_max == 0)
		hosts_max = AG_REQS_HOSTS_DEFAULT;
	q->ips = ag_topk_new(ips_max, 17);
	q->hosts = ag_topk_new(hosts_max, AG_REQS_HOST_MAX);
	q->extra = calloc(ips_max, sizeof(*q->extra));
	q->ips_max = ips_max;
	if (q->ips == NULL || q->hosts == NULL || q->extra == NULL) {
		ag_reqs_free(q);
		return NULL;
	}
	return q;
}

/* A slot's new IP: counts from zero; a small set of user agents kept for it, emptied. */
static void extra_clear(ag_reqs_t *q, ip_extra_t *e)
{
	if (e->ua_cap > 16) {
		free(e->ua);
		q->ua_slots -= e->ua_cap;
		e->ua = NULL;
		e->ua_cap = 0;
	} else if (e->ua_cap > 0) {
		memset(e->ua, 0, e->ua_cap * sizeof(*e->ua));
	}
	memset(e->cls, 0, sizeof(e->cls));
	e->bytes = 0;
	e->ua_n = 0;
	e->ua_capped = false;
}

static void extra_free(ag_reqs_t *q, ip_extra_t *e)
{
	free(e->ua);
	q->ua_slots -= e->ua_cap;
	memset(e, 0, sizeof(*e));
}

void ag_reqs_reset(ag_reqs_t *q)
{
	for (size_t i = 0; i < ag_topk_size(q->ips); i++)
		extra_clear(q, &q->extra[i]);
	ag_topk_reset(q->ips);
	ag_topk_reset(q->hosts);
	memset(&q->t, 0, sizeof(q->t));
}

void ag_reqs_free(ag_reqs_t *q)
{
	if (q == NULL)
		return;
	if (q->extra != NULL)
		for (size_t i = 0; i < q->ips_max; i++)
			extra_free(q, &q->extra[i]);
	ag_topk_free(q->ips);
	ag_topk_free(q->hosts);
	free(q->extra);
	free(q);
}


static bool ua_insert(uint64_t *set, uint32_t cap, uint64_t h)
{
	uint32_t i = (uint32_t)h & (cap - 1);

	while (set[i] != 0) {
		if (set[i] == h)
			return false;
		i = (i + 1) & (cap - 1);
	}
	set[i] = h;
	return true;
}

static bool ua_known(const ip_extra_t *e, uint64_t h)
{
	uint32_t i;

	if (e->ua_cap == 0)
		return false;
	for (i = (uint32_t)h & (e->ua_cap - 1); e->ua[i] != 0; i = (i + 1) & (e->ua_cap - 1))
		if (e->ua[i] == h)
			return true;
	return false;
}

/* Counts the user agent once per IP, growing its set (at most half full) within the budget. */
static void ua_add(ag_reqs_t *q, ip_extra_t *e, uint64_t h)
{
	if (e->ua_n >= AG_REQS_UA_CAP) {
		/* A new one would be past the cap: known ones are still known. */
		if (!e->ua_capped)
			e->ua_capped = !ua_known(e, h);
		return;
	}
	if ((e->ua_n + 1) * 2 > e->ua_cap) {
		uint32_t cap = e->ua_cap ? e->ua_cap * 2 : 4;
		uint64_t *set;

		if (q->ua_slots + cap - e->ua_cap > AG_REQS_UA_BUDGET ||
		    (set = calloc(cap, sizeof(*set))) == NULL) {
			/* No room to grow: a new one is past what is counted, a known one is not. */
			if (!ua_known(e, h))
				e->ua_capped = true;
			return;
		}
		for (uint32_t i = 0; i < e->ua_cap; i++)
			if (e->ua[i] != 0)
				ua_insert(set, cap, e->ua[i]);
		free(e->ua);
		q->ua_slots += cap - e->ua_cap;
		e->ua = set;
		e->ua_cap = cap;
	}
	if (ua_insert(e->ua, e->ua_cap, h))
		e->ua_n++;
}

/* Bytes as a log claims them: a sum that would wrap stays at the most. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int status_class(uint16_t status)
{
	return status >= 100 && status < 600 ? status / 100 - 1 : AG_REQS_OTHER;
}

uint64_t ag_reqs_ua_hash(const ag_alog_line_t *l)
{
	return l->ua != NULL ? fs_hash(l->ua, l->ua_len) | 1 : 0;   /* 0 marks an empty slot */
}

void ag_reqs_add(ag_reqs_t *q, ag_alog_result_t r, const ag_alog_line_t *l)
{
	ag_reqs_add_hashed(q, r, l, r == AG_ALOG_OK ? ag_reqs_ua_hash(l) : 0);
}

void ag_reqs_add_hashed(ag_reqs_t *q, ag_alog_result_t r, const ag_alog_line_t *l,
                        uint64_t ua_hash)
{
	unsigned char key[17];
	ip_extra_t *e;
	size_t slot;
	bool fresh;
	int cls;

	q->t.lines++;
	if (r != AG_ALOG_OK) {
		q->t.malformed[r < AG_ALOG_NREASONS ? r : AG_ALOG_BAD_SHAPE]++;
		return;
	}
	cls = status_class(l->status);
	q->t.requests++;
	q->t.bytes = sat_add(q->t.bytes, l->bytes);
	q->t.cls[cls]++;
	key[0] = (unsigned char)(l->family == AF_INET6);
	memcpy(key + 1, l->addr, 16);
	slot = ag_topk_add(q->ips, key, l->family == AF_INET6 ? 17 : 5, &fresh);
	e = &q->extra[slot];
	if (fresh)
		extra_clear(q, e);
	e->cls[cls]++;
	e->bytes = sat_add(e->bytes, l->bytes);
	if (ua_hash != 0)
		ua_add(q, e, ua_hash);
	if (l->host != NULL) {
		/* A host name is ASCII (IDNs travel as punycode): any other byte becomes '?' before
		 * it is counted, so that names the same once shown are one. */
		char h[AG_REQS_HOST_MAX];
		size_t n = l->host_len < sizeof(h) ? l->host_len : sizeof(h);

		for (size_t c = 0; c < n; c++) {
			unsigned char b = (unsigned char)l->host[c];

			h[c] = b > 0x20 && b < 0x7f ? (char)b : '?';
		}
		ag_topk_add(q->hosts, h, n, &fresh);
	}
}

void ag_reqs_too_long(ag_reqs_t *q)
{
	q->t.lines++;
	q->t.too_long++;
}

const ag_reqs_totals_t *ag_reqs_totals(const ag_reqs_t *q)
{
	return &q->t;
}

size_t ag_reqs_distinct_ips(const ag_reqs_t *q)
{
	return ag_topk_size(q->ips);
}

bool ag_reqs_ips_replaced(const ag_reqs_t *q)
{
	return ag_topk_unlisted_max(q->ips) > 0;
}

/* The most an entry not listed can have: the first left out, or one never tracked. */
static uint64_t unlisted(const ag_topk_t *t, const size_t *slots, size_t n)
{
	uint64_t max = ag_topk_unlisted_max(t);

	if (n < ag_topk_size(t)) {
		/* The (n+1)th heaviest is the heaviest left out. */
		uint64_t next = 0;
		for (size_t s = 0; s < ag_topk_size(t); s++) {
			bool listed = false;

			for (size_t i = 0; i < n && !listed; i++)
				listed = slots[i] == s;
			if (!listed && ag_topk_count(t, s) > next)
				next = ag_topk_count(t, s);
		}
		if (next > max)
			max = next;
	}
	return max;
}

size_t ag_reqs_top_ips(const ag_reqs_t *q, ag_reqs_ip_t *out, size_t k, uint64_t *unlisted_max)
{
	size_t slots[256], n;

	if (k > sizeof(slots) / sizeof(slots[0]))
		k = sizeof(slots) / sizeof(slots[0]);
	n = ag_topk_top(q->ips, slots, k);
	for (size_t i = 0; i < n; i++) {
		const ip_extra_t *e = &q->extra[slots[i]];
		const unsigned char *key;
		size_t len;

		key = ag_topk_key(q->ips, slots[i], &len);
		memset(&out[i], 0, sizeof(out[i]));
		out[i].family = key[0] ? AF_INET6 : AF_INET;
		memcpy(out[i].addr, key + 1, len - 1);
		out[i].requests = ag_topk_count(q->ips, slots[i]);
		out[i].error = ag_topk_error(q->ips, slots[i]);
		memcpy(out[i].cls, e->cls, sizeof(e->cls));
		out[i].bytes = e->bytes;
		out[i].uas = e->ua_n;
		out[i].uas_capped = e->ua_capped;
	}
	if (unlisted_max != NULL)
		*unlisted_max = unlisted(q->ips, slots, n);
	return n;
}

size_t ag_reqs_top_hosts(const ag_reqs_t *q, ag_reqs_host_t *out, size_t k,
                         uint64_t *unlisted_max)
{
	size_t slots[256], n;

	if (k > sizeof(slots) / sizeof(slots[0]))
		k = sizeof(slots) / sizeof(slots[0]);
	n = ag_topk_top(q->hosts, slots, k);
	for (size_t i = 0; i < n; i++) {
		const unsigned char *key;
		size_t len;

		key = ag_topk_key(q->hosts, slots[i], &len);
		memcpy(out[i].name, key, len);   /* made ASCII when counted */
		out[i].name[len] = '\0';
		out[i].requests = ag_topk_count(q->hosts, slots[i]);
		out[i].error = ag_topk_error(q->hosts, slots[i]);
	}
	if (unlisted_max != NULL)
		*unlisted_max = unlisted(q->hosts, slots, n);
	return n;
}

int ag_reqs_to_wire(const ag_reqs_t *q, uint32_t limit, wire_requests_t *out)
{
	ag_reqs_ip_t *ips = NULL;
	ag_reqs_host_t *hosts = NULL;
	size_t n = 0, nh = 0;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (limit > WIRE_MAX_REQ_LIST)
		limit = WIRE_MAX_REQ_LIST;
	out->present = true;
	out->total = q->t.requests;
	memcpy(out->by_status, q->t.cls, sizeof(out->by_status));
	out->bytes = q->t.bytes;
	for (int r = 1; r < AG_ALOG_NREASONS; r++)
		out->malformed += q->t.malformed[r];
	out->malformed += q->t.too_long;
	out->limit = limit;
	out->distinct_clients = (uint32_t)ag_topk_size(q->ips);
	if (limit > 0 && ((ips = calloc(limit, sizeof(*ips))) == NULL ||
	                  (hosts = calloc(limit, sizeof(*hosts))) == NULL))
		goto out;
	n = ag_reqs_top_ips(q, ips, limit, &out->clients_unlisted_max);
	nh = ag_reqs_top_hosts(q, hosts, limit, &out->hosts_unlisted_max);
	if ((n && (out->clients = calloc(n, sizeof(*out->clients))) == NULL) ||
	    (nh && (out->hosts = calloc(nh, sizeof(*out->hosts))) == NULL))
		goto out;
	for (size_t i = 0; i < n; i++) {
		wire_req_client_t *c = &out->clients[i];

		c->ip.len = ips[i].family == AF_INET6 ? 16 : 4;
		memcpy(c->ip.b, ips[i].addr, c->ip.len);
		c->requests = ips[i].requests;
		c->error = ips[i].error;
		memcpy(c->by_status, ips[i].cls, sizeof(c->by_status));
		c->bytes = ips[i].bytes;
		c->user_agents = ips[i].uas;
		c->user_agents_capped = ips[i].uas_capped;
	}
	out->n_clients = n;
	for (size_t i = 0; i < nh; i++) {
		if ((out->hosts[i].host = strdup(hosts[i].name)) == NULL)
			goto out;
		out->hosts[i].requests = hosts[i].requests;
		out->hosts[i].error = hosts[i].error;
		out->n_hosts = i + 1;
	}
	err = 0;
out:
	free(ips);
	free(hosts);
	if (err < 0)
		wire_requests_close(out);
	return err;
}
