/* SPDX-License-Identifier: MIT */
/* fuzz_pack.c: the store's packed-column decoders (pack.h) on arbitrary bytes, and what they take
 * packed again and decoded back the same. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A dictionary of ids 1..8 named "c1".."c8", interning nothing new. */
static const char *const names[] = {NULL, "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"};

static const char *name_of(void *ctx, uint32_t id)
{
	(void)ctx;
	return id >= 1 && id < sizeof(names) / sizeof(names[0]) ? names[id] : NULL;
}

static int id_of(void *ctx, const char *name, uint32_t *id)
{
	(void)ctx;
	for (uint32_t i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0) {
			*id = i;
			return 0;
		}
	abort();   /* every name decoded is the dictionary's */
}

/* b packed again must be the same bytes: packing what a decoder gave is a fixpoint. */
static void same_again(fs_buf_t *b, fs_buf_t *again)
{
	if (again->len != b->len || (b->len > 0 && memcmp(again->p, b->p, b->len) != 0))
		abort();
}

static void top(const uint8_t *data, size_t size, fs_buf_t *b, fs_buf_t *again)
{
	wire_top_t t, u;

	if (db_top_unpack(data, size, &t) < 0)
		return;
	if (db_top_pack(b, &t) < 0 || db_top_unpack(b->p, b->len, &u) < 0 ||
	    db_top_pack(again, &u) < 0)
		abort();
	same_again(b, again);
	free(t.ips);
	free(u.ips);
}

static void listeners(const uint8_t *data, size_t size, fs_buf_t *b, fs_buf_t *again)
{
	wire_listener_t *l, *m;
	size_t n, k;

	if (db_listeners_unpack(data, size, &l, &n) < 0)
		return;
	if (db_listeners_pack(b, l, n) < 0 || db_listeners_unpack(b->p, b->len, &m, &k) < 0 ||
	    k != n || db_listeners_pack(again, m, k) < 0)
		abort();
	same_again(b, again);
	free(l);
	free(m);
}

static void counters_free(wire_counter_t *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(c[i].name);
	free(c);
}

static void counters(const uint8_t *data, size_t size, fs_buf_t *b, fs_buf_t *again)
{
	uint32_t ids[3] = {1, 2, 9}, found;
	wire_counter_t *c, *d;
	uint64_t v[3];
	size_t n, k;

	(void)db_counters_pick(data, size, ids, 3, v, &found);
	if (db_counters_unpack(data, size, name_of, NULL, &c, &n) < 0)
		return;
	if (db_counters_pick(data, size, ids, 3, v, &found) < 0 ||
	    db_counters_pack(b, c, n, id_of, NULL) < 0 ||
	    db_counters_unpack(b->p, b->len, name_of, NULL, &d, &k) < 0 || k != n ||
	    db_counters_pack(again, d, k, id_of, NULL) < 0)
		abort();
	same_again(b, again);
	counters_free(c, n);
	counters_free(d, k);
}

static void roll_top(const uint8_t *data, size_t size, fs_buf_t *b, fs_buf_t *again)
{
	col_roll_top_t r, s;

	if (db_roll_top_unpack(data, size, &r) < 0)
		return;
	if (db_roll_top_pack(b, &r) < 0 || db_roll_top_unpack(b->p, b->len, &s) < 0 ||
	    s.n != r.n || db_roll_top_pack(again, &s) < 0)
		abort();
	same_again(b, again);
	col_roll_top_close(&r);
	col_roll_top_close(&s);
}

static void ports(const uint8_t *data, size_t size, fs_buf_t *b, fs_buf_t *again)
{
	wire_ports_t p, q;

	if (db_ports_unpack(data, size, &p) < 0)
		return;
	if (db_ports_pack(b, &p) < 0 || db_ports_unpack(b->p, b->len, &q) < 0 ||
	    db_ports_pack(again, &q) < 0)
		abort();
	same_again(b, again);
	free(p.inbound);
	free(p.outbound);
	free(q.inbound);
	free(q.outbound);
}

static void requests(const uint8_t *data, size_t size, fs_buf_t *b, fs_buf_t *again)
{
	wire_requests_t p, q;

	if (db_requests_unpack(data, size, &p) < 0)
		return;
	if (db_requests_pack(b, &p) < 0 || db_requests_unpack(b->p, b->len, &q) < 0 ||
	    db_requests_pack(again, &q) < 0)
		abort();
	same_again(b, again);
	wire_requests_close(&p);
	wire_requests_close(&q);
}

static void roll_req(const uint8_t *data, size_t size, fs_buf_t *b, fs_buf_t *again)
{
	col_roll_req_t p, q;

	if (db_roll_req_unpack(data, size, &p) < 0)
		return;
	if (db_roll_req_pack(b, &p) < 0 || db_roll_req_unpack(b->p, b->len, &q) < 0 ||
	    q.n_clients != p.n_clients || q.n_hosts != p.n_hosts || db_roll_req_pack(again, &q) < 0)
		abort();
	same_again(b, again);
	col_roll_req_close(&p);
	col_roll_req_close(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fs_buf_t b = FS_BUF_INIT, again = FS_BUF_INIT;

	top(data, size, &b, &again);
	listeners(data, size, &b, &again);
	counters(data, size, &b, &again);
	roll_top(data, size, &b, &again);
	ports(data, size, &b, &again);
	requests(data, size, &b, &again);
	roll_req(data, size, &b, &again);
	fs_buf_close(&b);
	fs_buf_close(&again);
	return 0;
}
