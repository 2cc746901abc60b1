/* SPDX-License-Identifier: MIT */
/* test_pack.c: the packed columns (pack.h) against their bytes, round trips and malformed input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pack.h"

#define NOW 1796212800000LL
#define MAXB 64   /* the largest blob a test builds by hand */

#define IP4 {.len = 4, .b = {10, 0, 0, 1}}
#define IP6 {.len = 16, .b = {0x20, 0x01, 0x0d, 0xb8, [15] = 4}}

/*
 * The bytes of schema/001_init.sql and 004_top_minute.sql, worked out by
 * hand from the format: what databases hold, so they must never change.
 */
static const uint8_t top_bytes_v1[] = {
	1,                      /* format */
	20, 0xac, 0x02, 5, 0,   /* limit, thresholds total (300), established, syn_recv */
	4,                      /* distinct_ips */
	0x21, 2, 1,             /* rest: ESTABLISHED 2, TIME_WAIT 1 */
	0x80, 0x01, 3,          /* excluded: CLOSE_WAIT 3 */
	2,                      /* two IPs */
	4, 10, 0, 0, 1, 0x05, 7, 1,                               /* ESTABLISHED 7, SYN_RECV 1 */
	16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4,
	0x80, 0x02, 0xc8, 0x01,                                   /* LAST_ACK 200 */
};

/* Format 2 (since activity): each IP's activity after its states. */
static const uint8_t top_bytes[] = {
	2,
	20, 0xac, 0x02, 5, 0,
	4,
	0x21, 2, 1,
	0x80, 0x01, 3,
	2,
	4, 10, 0, 0, 1, 0x05, 7, 1,
	1, 3, 2, 1, 0xac, 0x02, 0,  /* activity: active 3, unanswered 2, idle 1, received 300, acked 0 */
	16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4,
	0x80, 0x02, 0xc8, 0x01,
	0,                          /* not measured */
};

static const uint8_t lis_bytes[] = {
	1, 3,
	0, 80, 0, 0x80, 0x20,                           /* any address :80, backlog 4096 */
	4, 10, 0, 0, 1, 0xbb, 0x03, 3, 0x80, 0x01,      /* 10.0.0.1:443, queue 3, backlog 128 */
	16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x90, 0x3f, 0, 0xff, 0x03,
};

static const uint8_t cnt_bytes[] = {
	1, 3,
	1, 0,                   /* TcpExt.ListenOverflows 0 */
	2, 0xac, 0x02,          /* Tcp.PassiveOpens 300 */
	3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,   /* "" UINT64_MAX */
};

static const uint8_t roll_bytes_v1[] = {
	1, 3, 10, 2, 1,                         /* reports, thresholds */
	0x80, 0xe8, 0x81, 0xea, 0xc6, 0x68,     /* base NOW, zigzagged */
	2,
	4, 10, 0, 0, 1, 3, 9, 0x01, 9, 0, 0xa0, 0x9c, 0x01,
	16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 2, 0x04, 2, 0x90, 0x4e, 0,
};

/* Format 2: after each IP's times its activity, and then when and of how many ESTABLISHED. */
static const uint8_t roll_bytes[] = {
	2, 3, 10, 2, 1,
	0x80, 0xe8, 0x81, 0xea, 0xc6, 0x68,
	2,
	4, 10, 0, 0, 1, 3, 9, 0x01, 9, 0, 0xa0, 0x9c, 0x01,
	1, 1, 2, 3, 4, 5, 0x90, 0x4e, 9,       /* activity, at first + 10000, of 9 ESTABLISHED */
	16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 2, 0x04, 2, 0x90, 0x4e, 0,
	0,
};

static wire_remote_t top_ips[2] = {
	{.ip = IP4, .st.n = {[WIRE_ESTABLISHED] = 7, [WIRE_SYN_RECV] = 1}, .has_act = true,
	 .act = {.active = 3, .unanswered = 2, .idle = 1, .bytes_received = 300}},
	{.ip = IP6, .st.n = {[WIRE_LAST_ACK] = 200}},
};

static wire_top_t top_value(void)
{
	return (wire_top_t){
		.ips = top_ips, .n_ips = 2, .limit = 20, .threshold_total = 300,
		.threshold_established = 5, .threshold_syn_recv = 0, .distinct_ips = 4,
		.rest.n = {[WIRE_ESTABLISHED] = 2, [WIRE_TIME_WAIT] = 1},
		.excluded.n = {[WIRE_CLOSE_WAIT] = 3},
	};
}

static const wire_listener_t lis_value[3] = {
	{.ip = {.len = 0}, .port = 80, .backlog = 4096},
	{.ip = IP4, .port = 443, .accept_queue = 3, .backlog = 128},
	{.ip = {.len = 16, .b = {[15] = 1}}, .port = 8080, .backlog = 511},
};

static const wire_counter_t cnt_value[3] = {
	{.name = "TcpExt.ListenOverflows", .value = 0},
	{.name = "Tcp.PassiveOpens", .value = 300},
	{.name = NULL, .value = UINT64_MAX},
};

static col_roll_ip_t roll_ips[2] = {
	{.ip = IP4, .listed = 3, .total = 9, .st.n = {[WIRE_ESTABLISHED] = 9},
	 .first_ms = NOW, .last_ms = NOW + 20000,
	 .act = {.at_ms = NOW + 10000, .established = 9,
	         .a = {.active = 1, .unanswered = 2, .idle = 3, .bytes_received = 4, .bytes_acked = 5}}},
	{.ip = IP6, .listed = 1, .total = 2, .st.n = {[WIRE_SYN_RECV] = 2},
	 .first_ms = NOW + 10000, .last_ms = NOW + 10000},
};

static col_roll_top_t roll_value(void)
{
	return (col_roll_top_t){.reports = 3, .thr_total = 10, .thr_established = 2,
	                        .thr_syn_recv = 1, .ips = roll_ips, .n = 2, .cap = 2};
}

/* ---- the counter-name dictionary, as the database would keep it ---------------- */

typedef struct {
	const char *names[8];    /* names[id], 1..n */
	uint32_t n;
	uint32_t full;           /* interning past this many names fails (0: never) */
} dict_t;

static int dict_id(void *ctx, const char *name, uint32_t *id)
{
	dict_t *d = ctx;

	for (uint32_t i = 1; i <= d->n; i++)
		if (strcmp(d->names[i], name) == 0) {
			*id = i;
			return 0;
		}
	if ((d->full != 0 && d->n >= d->full) || d->n + 1 >= sizeof(d->names) / sizeof(d->names[0]))
		return -ENOSPC;
	d->names[++d->n] = name;
	*id = d->n;
	return 0;
}

static const char *dict_name(void *ctx, uint32_t id)
{
	const dict_t *d = ctx;

	return id >= 1 && id <= d->n ? d->names[id] : NULL;
}

static dict_t dict_value(void)
{
	return (dict_t){.names = {NULL, "TcpExt.ListenOverflows", "Tcp.PassiveOpens", ""}, .n = 3};
}

/* ---- comparisons ---------------------------------------------------------------- */

static void ip_equal(const wire_ip_t *a, const wire_ip_t *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->b, b->b, a->len > 16 ? 16 : a->len);
}

static void states_equal(const wire_states_t *a, const wire_states_t *b)
{
	assert_memory_equal(a->n, b->n, sizeof(a->n));
}

static void top_equal(const wire_top_t *a, const wire_top_t *b)
{
	assert_int_equal(a->limit, b->limit);
	assert_int_equal(a->threshold_total, b->threshold_total);
	assert_int_equal(a->threshold_established, b->threshold_established);
	assert_int_equal(a->threshold_syn_recv, b->threshold_syn_recv);
	assert_int_equal(a->distinct_ips, b->distinct_ips);
	states_equal(&a->rest, &b->rest);
	states_equal(&a->excluded, &b->excluded);
	assert_int_equal(a->n_ips, b->n_ips);
	for (size_t i = 0; i < a->n_ips; i++) {
		ip_equal(&a->ips[i].ip, &b->ips[i].ip);
		states_equal(&a->ips[i].st, &b->ips[i].st);
		assert_int_equal(a->ips[i].has_act, b->ips[i].has_act);
		assert_memory_equal(&a->ips[i].act, &b->ips[i].act, sizeof(a->ips[i].act));
	}
}

static void listeners_equal(const wire_listener_t *a, const wire_listener_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ip_equal(&a[i].ip, &b[i].ip);
		assert_int_equal(a[i].port, b[i].port);
		assert_int_equal(a[i].accept_queue, b[i].accept_queue);
		assert_int_equal(a[i].backlog, b[i].backlog);
	}
}

static void roll_equal(const col_roll_top_t *a, const col_roll_top_t *b)
{
	assert_int_equal(a->reports, b->reports);
	assert_int_equal(a->thr_total, b->thr_total);
	assert_int_equal(a->thr_established, b->thr_established);
	assert_int_equal(a->thr_syn_recv, b->thr_syn_recv);
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const col_roll_ip_t *x = &a->ips[i], *y = &b->ips[i];

		ip_equal(&x->ip, &y->ip);
		assert_int_equal(x->listed, y->listed);
		assert_int_equal(x->total, y->total);
		states_equal(&x->st, &y->st);
		assert_int_equal(x->first_ms, y->first_ms);
		assert_int_equal(x->last_ms, y->last_ms);
		assert_int_equal(x->act.at_ms, y->act.at_ms);
		assert_int_equal(x->act.established, y->act.established);
		assert_memory_equal(&x->act.a, &y->act.a, sizeof(x->act.a));
	}
}

static void bytes_equal(const fs_buf_t *b, const uint8_t *want, size_t len)
{
	assert_int_equal(b->len, len);
	assert_memory_equal(b->p, want, len);
}

/* ---- each decoder as one shape: decode, check what a failure leaves, free -------- */

typedef int (*decode_fn)(const uint8_t *p, size_t len);

static int dec_top(const uint8_t *p, size_t len)
{
	wire_top_t t;
	int err = db_top_unpack(p, len, &t);

	if (err < 0)
		assert_true(t.ips == NULL && t.n_ips == 0 && t.limit == 0);
	free(t.ips);
	return err;
}

static int dec_lis(const uint8_t *p, size_t len)
{
	wire_listener_t *l = (void *)1;
	size_t n = 99;
	int err = db_listeners_unpack(p, len, &l, &n);

	if (err < 0)
		assert_true(l == NULL && n == 0);
	free(l);
	return err;
}

static int dec_cnt(const uint8_t *p, size_t len)
{
	dict_t d = dict_value();
	wire_counter_t *c = (void *)1;
	size_t n = 99;
	int err = db_counters_unpack(p, len, dict_name, &d, &c, &n);

	if (err < 0)
		assert_true(c == NULL && n == 0);
	for (size_t i = 0; i < n; i++)
		free(c[i].name);
	free(c);
	return err;
}

static int dec_pick(const uint8_t *p, size_t len)
{
	uint32_t ids[2] = {2, 3}, found;
	uint64_t v[2];

	return db_counters_pick(p, len, ids, 2, v, &found);
}

static int dec_roll(const uint8_t *p, size_t len)
{
	col_roll_top_t r;
	int err = db_roll_top_unpack(p, len, &r);

	if (err < 0)
		assert_true(r.ips == NULL && r.n == 0 && r.reports == 0);
	col_roll_top_close(&r);
	return err;
}

/* src with cut bytes at `at` replaced by ins (n_ins bytes), into dst (MAXB); its length. */
static size_t splice(uint8_t *dst, const uint8_t *src, size_t len, size_t at, size_t cut,
                     const uint8_t *ins, size_t n_ins)
{
	assert_true(at + cut <= len && len - cut + n_ins <= MAXB);
	memcpy(dst, src, at);
	memcpy(dst + at, ins, n_ins);
	memcpy(dst + at + n_ins, src + at + cut, len - at - cut);
	return len - cut + n_ins;
}

/*
 * What every decoder refuses of a good blob: each truncation (empty aside:
 * a NULL column), a byte more, another format byte.  And any one byte
 * changed either decodes or is refused, never more.
 */
static void refuse_damaged(decode_fn dec, const uint8_t *good, size_t len)
{
	static const uint8_t vals[] = {0x00, 0x01, 0x04, 0x10, 0x7f, 0x80, 0xff};
	uint8_t b[MAXB];

	assert_int_equal(dec(good, len), 0);
	for (size_t cut = 1; cut < len; cut++)
		assert_int_equal(dec(good, cut), -EBADMSG);
	memcpy(b, good, len);
	b[len] = 0;
	assert_int_equal(dec(b, len + 1), -EBADMSG);
	b[0] = DB_PACK_FORMAT_TOP + 1;
	assert_int_equal(dec(b, len), -EBADMSG);
	b[0] = 0;
	assert_int_equal(dec(b, len), -EBADMSG);
	for (size_t i = 1; i < len; i++)
		for (size_t k = 0; k < sizeof(vals); k++) {
			int err;

			memcpy(b, good, len);
			b[i] = vals[k];
			err = dec(b, len);
			assert_true(err == 0 || err == -EBADMSG);
		}
}

/* ---- top lists --------------------------------------------------------------------- */

static void test_db_top_pack_bytes(void **state)
{
	wire_top_t t = top_value(), back;
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	assert_int_equal(db_top_pack(&b, &t), 0);
	bytes_equal(&b, top_bytes, sizeof(top_bytes));
	assert_int_equal(db_top_unpack(b.p, b.len, &back), 0);
	top_equal(&back, &t);
	free(back.ips);

	/* Format 1, as databases before activity hold it, still reads: no activity. */
	top_ips[0].has_act = false;
	top_ips[0].act = (wire_activity_t){0};
	assert_int_equal(db_top_unpack(top_bytes_v1, sizeof(top_bytes_v1), &back), 0);
	top_equal(&back, &t);
	free(back.ips);
	top_ips[0].has_act = true;
	top_ips[0].act = (wire_activity_t){.active = 3, .unanswered = 2, .idle = 1,
	                                   .bytes_received = 300};

	/* Activity beyond the IP's ESTABLISHED is a corrupt row. */
	uint8_t bad[sizeof(top_bytes)];

	memcpy(bad, top_bytes, sizeof(bad));
	bad[24] = 8; /* unanswered 8 of 7 */
	assert_int_equal(dec_top(bad, sizeof(bad)), -EBADMSG);
	bad[24] = 7;
	assert_int_equal(dec_top(bad, sizeof(bad)), 0);
	bad[22] = 2; /* a flag other than 0 or 1 */
	assert_int_equal(dec_top(bad, sizeof(bad)), -EBADMSG);
	fs_buf_close(&b);
}

static void test_db_top_pack_round_trip_extremes(void **state)
{
	wire_remote_t ips[3] = {
		{.ip = {.len = 16, .b = {0xfe, 0x80, [15] = 0xff}}},   /* no state at all */
		{.ip = IP4},
		{.ip = {.len = 4, .b = {255, 255, 255, 255}}},
	};
	wire_top_t t = {.ips = ips, .n_ips = 3, .limit = UINT32_MAX,
	                .threshold_total = UINT32_MAX, .threshold_established = 1,
	                .threshold_syn_recv = UINT32_MAX - 1, .distinct_ips = UINT32_MAX}, back;
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	for (int s = WIRE_ESTABLISHED; s < WIRE_NSTATES; s++) {
		ips[1].st.n[s] = UINT32_MAX;
		ips[2].st.n[s] = (uint32_t)s;
		t.rest.n[s] = (uint32_t)s << 20;
		t.excluded.n[s] = s % 2 ? 0 : UINT32_MAX;
	}
	assert_int_equal(db_top_pack(&b, &t), 0);
	assert_int_equal(db_top_unpack(b.p, b.len, &back), 0);
	top_equal(&back, &t);
	free(back.ips);

	/* An empty list still has its bytes; a NULL column is an empty list. */
	t = (wire_top_t){.limit = 20};
	assert_int_equal(db_top_pack(&b, &t), 0);
	bytes_equal(&b, (const uint8_t[]){2, 20, 0, 0, 0, 0, 0, 0, 0}, 9);
	assert_int_equal(db_top_unpack(b.p, b.len, &back), 0);
	top_equal(&back, &t);
	assert_null(back.ips);
	assert_int_equal(db_top_unpack(NULL, 0, &back), 0);
	assert_int_equal(back.n_ips + back.limit, 0);
	fs_buf_close(&b);
}

/* ---- listeners ----------------------------------------------------------------------- */

static void test_db_listeners_pack_bytes(void **state)
{
	fs_buf_t b = FS_BUF_INIT;
	wire_listener_t *back;
	size_t n;

	(void)state;
	assert_int_equal(db_listeners_pack(&b, lis_value, 3), 0);
	bytes_equal(&b, lis_bytes, sizeof(lis_bytes));
	assert_int_equal(db_listeners_unpack(b.p, b.len, &back, &n), 0);
	assert_int_equal(n, 3);
	listeners_equal(back, lis_value, 3);
	free(back);
	/* None is a NULL column, and a NULL column none. */
	assert_int_equal(db_listeners_pack(&b, lis_value, 0), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(db_listeners_unpack(NULL, 0, &back, &n), 0);
	assert_null(back);
	assert_int_equal(n, 0);
	fs_buf_close(&b);
}

/* ---- counters ------------------------------------------------------------------------ */

static void test_db_counters_pack_bytes(void **state)
{
	dict_t d = {.n = 0};
	fs_buf_t b = FS_BUF_INIT;
	wire_counter_t *back;
	size_t n;

	(void)state;
	assert_int_equal(db_counters_pack(&b, cnt_value, 3, dict_id, &d), 0);
	bytes_equal(&b, cnt_bytes, sizeof(cnt_bytes));
	assert_int_equal(d.n, 3);
	assert_int_equal(db_counters_unpack(b.p, b.len, dict_name, &d, &back, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(back[0].name, "TcpExt.ListenOverflows");
	assert_int_equal(back[0].value, 0);
	assert_string_equal(back[1].name, "Tcp.PassiveOpens");
	assert_int_equal(back[1].value, 300);
	assert_string_equal(back[2].name, "");               /* a NULL name is packed as "" */
	assert_true(back[2].value == UINT64_MAX);
	for (size_t i = 0; i < n; i++)
		free(back[i].name);
	free(back);
	/* Known names are not interned again. */
	assert_int_equal(db_counters_pack(&b, cnt_value + 1, 1, dict_id, &d), 0);
	bytes_equal(&b, (const uint8_t[]){1, 1, 2, 0xac, 0x02}, 5);
	assert_int_equal(d.n, 3);
	assert_int_equal(db_counters_pack(&b, cnt_value, 0, dict_id, &d), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(db_counters_unpack(NULL, 0, dict_name, &d, &back, &n), 0);
	assert_null(back);
	fs_buf_close(&b);
}

static void test_db_counters_pack_dictionary_error(void **state)
{
	dict_t d = {.full = 1};
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	assert_int_equal(db_counters_pack(&b, cnt_value, 3, dict_id, &d), -ENOSPC);
	assert_int_equal(d.n, 1);
	fs_buf_close(&b);
}

static void test_db_counters_pick_finds(void **state)
{
	uint32_t ids[4] = {3, 9, 2, 3}, found = 99;
	uint64_t v[4] = {0, 0, 0, 0};

	(void)state;
	assert_int_equal(db_counters_pick(cnt_bytes, sizeof(cnt_bytes), ids, 4, v, &found), 0);
	assert_int_equal(found, 0xd);                   /* ids 3, 2, 3; not 9 */
	assert_true(v[0] == UINT64_MAX && v[3] == UINT64_MAX);
	assert_int_equal(v[2], 300);
	assert_int_equal(v[1], 0);
	assert_int_equal(db_counters_pick(NULL, 0, ids, 4, v, &found), 0);
	assert_int_equal(found, 0);
}

/* ---- by service ------------------------------------------------------------------------ */

static const uint8_t ports_bytes[] = {
	1, 16,                          /* format, limit */
	2, 0xbb, 0x03, 0x01, 5,         /* inbound: 443 ESTABLISHED 5 */
	80, 0x20, 2,                    /* 80 TIME_WAIT 2 */
	1, 0xea, 0x19, 0x02, 1,         /* outbound: 3306 SYN_SENT 1 */
	0x80, 0x01, 3,                  /* rest: CLOSE_WAIT 3 */
};

static void test_db_ports_pack_bytes(void **state)
{
	wire_port_t in[2] = {{.port = 443, .st.n = {[WIRE_ESTABLISHED] = 5}},
	                     {.port = 80, .st.n = {[WIRE_TIME_WAIT] = 2}}};
	wire_port_t out[1] = {{.port = 3306, .st.n = {[WIRE_SYN_SENT] = 1}}};
	wire_ports_t p = {.inbound = in, .n_inbound = 2, .outbound = out, .n_outbound = 1,
	                  .rest.n = {[WIRE_CLOSE_WAIT] = 3}, .limit = 16}, back;
	fs_buf_t b = FS_BUF_INIT;
	uint8_t bad[sizeof(ports_bytes)];

	(void)state;
	assert_int_equal(db_ports_pack(&b, &p), 0);
	bytes_equal(&b, ports_bytes, sizeof(ports_bytes));
	assert_int_equal(db_ports_unpack(b.p, b.len, &back), 0);
	assert_int_equal(back.limit, 16);
	assert_int_equal(back.n_inbound, 2);
	assert_int_equal(back.inbound[1].port, 80);
	states_equal(&back.inbound[0].st, &in[0].st);
	assert_int_equal(back.n_outbound, 1);
	states_equal(&back.outbound[0].st, &out[0].st);
	states_equal(&back.rest, &p.rest);
	free(back.inbound);
	free(back.outbound);
	/* Not split: a NULL column, read back as not split. */
	assert_int_equal(db_ports_pack(&b, &(wire_ports_t){0}), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(db_ports_unpack(NULL, 0, &back), 0);
	assert_int_equal(back.limit, 0);
	/* Port 0, a limit below the count, truncations: corrupt. */
	memcpy(bad, ports_bytes, sizeof(bad));
	bad[7] = 0;
	assert_int_equal(db_ports_unpack(bad, sizeof(bad), &back), -EBADMSG);
	memcpy(bad, ports_bytes, sizeof(bad));
	bad[1] = 1;
	assert_int_equal(db_ports_unpack(bad, sizeof(bad), &back), -EBADMSG);
	assert_null(back.inbound);
	for (size_t cut = 1; cut < sizeof(ports_bytes); cut++)
		assert_int_equal(db_ports_unpack(ports_bytes, cut, &back), -EBADMSG);
	in[0].port = 65536;
	assert_int_equal(db_ports_pack(&b, &p), -EINVAL);
	fs_buf_close(&b);
}

/* The bytes of db_requests_pack(), spelled out: format, totals, one client, one host. */
static const uint8_t requests_bytes[] = {
	1,                                      /* format */
	10, 0, 8, 0, 2, 0, 0,                   /* total; 1xx 2xx 3xx 4xx 5xx other */
	100, 1, 20, 3, 0,                       /* bytes, malformed, limit, distinct, unlisted max */
	1,                                      /* one client */
	4, 192, 0, 2, 1, 9, 1, 0, 7, 0, 1, 0, 0, 50, 2, 0, /* ip, requests, error, classes, bytes,
	                                                       user agents, not capped */
	0, 1,                                   /* hosts' unlisted max, one host */
	4, 'a', '.', 'e', 'x', 10, 0,           /* "a.ex", requests, error */
};

static void test_db_requests_pack_bytes(void **state)
{
	wire_req_client_t c = {.ip = {.len = 4, .b = {192, 0, 2, 1}}, .requests = 9, .error = 1,
	                       .by_status = {0, 7, 0, 1}, .bytes = 50, .user_agents = 2};
	wire_req_host_t h = {.host = "a.ex", .requests = 10};
	wire_requests_t q = {.present = true, .total = 10, .by_status = {0, 8, 0, 2}, .bytes = 100,
	                     .malformed = 1, .limit = 20, .distinct_clients = 3, .clients = &c,
	                     .n_clients = 1, .hosts = &h, .n_hosts = 1}, back;
	fs_buf_t b = FS_BUF_INIT;
	uint8_t bad[sizeof(requests_bytes)];

	(void)state;
	assert_int_equal(db_requests_pack(&b, &q), 0);
	bytes_equal(&b, requests_bytes, sizeof(requests_bytes));
	assert_int_equal(db_requests_unpack(b.p, b.len, &back), 0);
	assert_true(back.present);
	assert_int_equal(back.total, 10);
	assert_int_equal(back.n_clients, 1);
	assert_memory_equal(&back.clients[0], &c, sizeof(c));
	assert_int_equal(back.n_hosts, 1);
	assert_string_equal(back.hosts[0].host, "a.ex");
	wire_requests_close(&back);
	/* None: a NULL column, read back as none. */
	assert_int_equal(db_requests_pack(&b, &(wire_requests_t){0}), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(db_requests_unpack(NULL, 0, &back), 0);
	assert_false(back.present);
	/* A bad address length, a flag not 0 or 1, an empty host, truncations: corrupt. */
	memcpy(bad, requests_bytes, sizeof(bad));
	bad[14] = 5;
	assert_int_equal(db_requests_unpack(bad, sizeof(bad), &back), -EBADMSG);
	memcpy(bad, requests_bytes, sizeof(bad));
	bad[29] = 2;
	assert_int_equal(db_requests_unpack(bad, sizeof(bad), &back), -EBADMSG);
	memcpy(bad, requests_bytes, sizeof(bad));
	bad[32] = 0;
	assert_int_equal(db_requests_unpack(bad, sizeof(bad), &back), -EBADMSG);
	assert_null(back.clients);
	for (size_t cut = 1; cut < sizeof(requests_bytes); cut++)
		assert_int_equal(db_requests_unpack(requests_bytes, cut, &back), -EBADMSG);
	h.host = "";
	assert_int_equal(db_requests_pack(&b, &q), -EINVAL);
	fs_buf_close(&b);
}

/* ---- the top-list minutes ------------------------------------------------------------ */

static void test_db_roll_top_pack_bytes(void **state)
{
	col_roll_top_t r = roll_value(), back;
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	assert_int_equal(db_roll_top_pack(&b, &r), 0);
	bytes_equal(&b, roll_bytes, sizeof(roll_bytes));
	assert_int_equal(db_roll_top_unpack(b.p, b.len, &back), 0);
	roll_equal(&back, &r);
	assert_true(back.cap >= back.n);
	col_roll_top_close(&back);

	/* Format 1 still reads, without activity. */
	col_act_t act = roll_ips[0].act;

	roll_ips[0].act = (col_act_t){0};
	assert_int_equal(db_roll_top_unpack(roll_bytes_v1, sizeof(roll_bytes_v1), &back), 0);
	roll_equal(&back, &r);
	col_roll_top_close(&back);
	roll_ips[0].act = act;

	/* Activity from outside the IP's times, or beyond its ESTABLISHED: corrupt. */
	uint8_t bad[sizeof(roll_bytes)];

	memcpy(bad, roll_bytes, sizeof(bad));
	bad[33] = 10;   /* established 10: still fine */
	assert_int_equal(dec_roll(bad, sizeof(bad)), 0);
	bad[33] = 2;    /* idle 3 of 2 */
	assert_int_equal(dec_roll(bad, sizeof(bad)), -EBADMSG);
	memcpy(bad, roll_bytes, sizeof(bad));
	bad[22] = 0x80; /* last_ms - first_ms: 0 in three bytes, so at (first + 10000) is after it */
	bad[23] = 0x80;
	bad[24] = 0x00;
	assert_int_equal(dec_roll(bad, sizeof(bad)), -EBADMSG);
	/* A packer refuses activity it could not have taken from the period. */
	roll_ips[0].act.at_ms = NOW + 20001;
	assert_int_equal(db_roll_top_pack(&b, &r), -EINVAL);
	roll_ips[0].act = act;
	fs_buf_close(&b);
}

static void test_db_roll_top_pack_round_trip_times(void **state)
{
	col_roll_ip_t ips[3] = {
		{.ip = IP6, .listed = 1, .first_ms = 5000, .last_ms = INT64_MAX},
		{.ip = IP4, .listed = 2, .total = 1, .st.n = {[WIRE_CLOSING] = 1},
		 .first_ms = -90000, .last_ms = -1},                  /* before the epoch */
		{.ip = {.len = 4, .b = {1, 2, 3, 4}}, .listed = 2, .first_ms = 0, .last_ms = 0},
	};
	col_roll_top_t r = {.reports = 2, .ips = ips, .n = 3, .cap = 3}, back;
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	assert_int_equal(db_roll_top_pack(&b, &r), 0);
	assert_int_equal(db_roll_top_unpack(b.p, b.len, &back), 0);
	roll_equal(&back, &r);
	col_roll_top_close(&back);
	/* A minute whose reports listed no IP. */
	r = (col_roll_top_t){.reports = 1, .thr_total = 7};
	assert_int_equal(db_roll_top_pack(&b, &r), 0);
	assert_int_equal(db_roll_top_unpack(b.p, b.len, &back), 0);
	roll_equal(&back, &r);
	col_roll_top_close(&back);
	fs_buf_close(&b);
}

/* ---- malformed columns --------------------------------------------------------------- */

/* Each decoder with its good blob. */
static const struct {
	decode_fn dec;
	const uint8_t *good;
	size_t len;
} codecs[] = {
	{dec_top, top_bytes, sizeof(top_bytes)},
	{dec_top, top_bytes_v1, sizeof(top_bytes_v1)},
	{dec_roll, roll_bytes_v1, sizeof(roll_bytes_v1)},
	{dec_lis, lis_bytes, sizeof(lis_bytes)},
	{dec_cnt, cnt_bytes, sizeof(cnt_bytes)},
	{dec_pick, cnt_bytes, sizeof(cnt_bytes)},
	{dec_roll, roll_bytes, sizeof(roll_bytes)},
};

static void test_db_unpack_refuses_damaged(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
		refuse_damaged(codecs[i].dec, codecs[i].good, codecs[i].len);
}

#define CODEC(name) dec_##name, name##_bytes, sizeof(name##_bytes)
#define MAX64 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff   /* and 0x01: 2^64 - 1 */

/* A good blob's cut bytes at `at` replaced by ins: what the decoder must answer. */
static const struct {
	const char *what;
	decode_fn dec;
	const uint8_t *good;
	size_t len, at, cut;
	uint8_t ins[12];
	size_t n_ins;
	int want;
} damages[] = {
	{"a varint past 64 bits", CODEC(top), 1, 1, {MAX64, 0x02}, 10, -EBADMSG},
	{"a varint of 11 bytes", CODEC(top), 1, 1,
	 {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0}, 11, -EBADMSG},
	{"a threshold of 2^32", CODEC(top), 2, 2, {0x80, 0x80, 0x80, 0x80, 0x10}, 5, -EBADMSG},
	{"a threshold of 2^32 - 1", CODEC(top), 2, 2, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5, 0},
	{"a state past CLOSING", CODEC(top), 7, 1, {0x80, 0x10}, 2, -EBADMSG},
	{"3 IPs where 2 are", CODEC(top), 13, 1, {3}, 1, -EBADMSG},
	{"127 IPs in 30 bytes", CODEC(top), 13, 1, {0x7f}, 1, -EBADMSG},
	{"a port past 32 bits", CODEC(lis), 3, 1, {0x80, 0x80, 0x80, 0x80, 0x10}, 5, -EBADMSG},
	{"127 listeners in 37 bytes", CODEC(lis), 1, 1, {0x7f}, 1, -EBADMSG},
	{"a listener's IP of 5 bytes", CODEC(lis), 7, 1, {5}, 1, -EBADMSG},
	{"an id unknown, after names", CODEC(cnt), 7, 1, {4}, 1, -EBADMSG},
	{"id 0", CODEC(cnt), 7, 1, {0}, 1, -EBADMSG},
	{"an id past 32 bits", CODEC(cnt), 2, 1, {0x81, 0x80, 0x80, 0x80, 0x10}, 5, -EBADMSG},
	{"a value past 64 bits", CODEC(cnt), sizeof(cnt_bytes) - 1, 1, {0x02}, 1, -EBADMSG},
	{"a value past 64 bits, picked", dec_pick, cnt_bytes, sizeof(cnt_bytes),
	 sizeof(cnt_bytes) - 1, 1, {0x02}, 1, -EBADMSG},
	{"a minute of no reports", CODEC(roll), 1, 1, {0}, 1, -EBADMSG},
	{"an IP listed by no report", CODEC(roll), 17, 1, {0}, 1, -EBADMSG},
	{"an IP listed by 4 of 3 reports", CODEC(roll), 17, 1, {4}, 1, -EBADMSG},
	/* A base of INT64_MAX (zigzagged), to which the first IP's last time adds 20 s. */
	{"times past int64_t", CODEC(roll), 5, 6,
	 {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10, -EBADMSG},
};

static void test_db_unpack_refuses_malformed(void **state)
{
	uint8_t b[MAXB];

	(void)state;
	for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]); i++) {
		size_t n = splice(b, damages[i].good, damages[i].len, damages[i].at, damages[i].cut,
		                  damages[i].ins, damages[i].n_ins);

		if (damages[i].dec(b, n) != damages[i].want)
			fail_msg("%s: not %d", damages[i].what, damages[i].want);
	}
}

static void test_db_top_unpack_refuses_ip_length(void **state)
{
	uint8_t b[sizeof(top_bytes)];

	(void)state;
	for (unsigned len = 0; len < 256; len++) {
		memcpy(b, top_bytes, sizeof(b));
		b[14] = (uint8_t)len;   /* the first IP's */
		assert_int_equal(dec_top(b, sizeof(b)), len == 4 ? 0 : -EBADMSG);
	}
}

static void test_db_roll_top_unpack_refuses_null_and_too_many(void **state)
{
	col_roll_ip_t *many = calloc(COL_ROLL_TOP_MAX + 1, sizeof(*many));
	col_roll_top_t r = {.reports = 1, .ips = many, .n = COL_ROLL_TOP_MAX + 1};
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	assert_int_equal(dec_roll(NULL, 0), -EBADMSG);  /* the column is NOT NULL */
	assert_non_null(many);
	for (size_t i = 0; i < r.n; i++)
		many[i] = (col_roll_ip_t){.ip = IP4, .listed = 1};
	assert_int_equal(db_roll_top_pack(&b, &r), 0);
	assert_int_equal(dec_roll((const uint8_t *)b.p, b.len), -EBADMSG);
	r.n = COL_ROLL_TOP_MAX;
	assert_int_equal(db_roll_top_pack(&b, &r), 0);
	assert_int_equal(dec_roll((const uint8_t *)b.p, b.len), 0);
	fs_buf_close(&b);
	free(many);
}

/* ---- what no encoder packs ----------------------------------------------------------- */

static void test_db_pack_refuses_ip_length(void **state)
{
	wire_remote_t ips[2] = {top_ips[0], top_ips[1]};
	wire_listener_t l[2] = {lis_value[1], lis_value[2]};
	col_roll_ip_t rips[2] = {roll_ips[0], roll_ips[1]};
	wire_top_t t = top_value();
	col_roll_top_t r = roll_value();
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	t.ips = ips;
	r.ips = rips;
	for (uint8_t len = 0; len < 20; len++) {
		int want = len == 4 || len == 16 ? 0 : -EINVAL;

		ips[1].ip.len = l[1].ip.len = rips[1].ip.len = len;
		assert_int_equal(db_top_pack(&b, &t), want);
		assert_int_equal(db_roll_top_pack(&b, &r), want);
		assert_int_equal(db_listeners_pack(&b, l, 2), len == 0 ? 0 : want);   /* any address */
	}
	fs_buf_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_db_top_pack_bytes),
		cmocka_unit_test(test_db_ports_pack_bytes),
		cmocka_unit_test(test_db_requests_pack_bytes),
		cmocka_unit_test(test_db_top_pack_round_trip_extremes),
		cmocka_unit_test(test_db_listeners_pack_bytes),
		cmocka_unit_test(test_db_counters_pack_bytes),
		cmocka_unit_test(test_db_counters_pack_dictionary_error),
		cmocka_unit_test(test_db_counters_pick_finds),
		cmocka_unit_test(test_db_roll_top_pack_bytes),
		cmocka_unit_test(test_db_roll_top_pack_round_trip_times),
		cmocka_unit_test(test_db_pack_refuses_ip_length),
		cmocka_unit_test(test_db_unpack_refuses_damaged),
		cmocka_unit_test(test_db_unpack_refuses_malformed),
		cmocka_unit_test(test_db_top_unpack_refuses_ip_length),
		cmocka_unit_test(test_db_roll_top_unpack_refuses_null_and_too_many),
	};

	return cmocka_run_group_tests_name("pack", tests, NULL, NULL);
}
