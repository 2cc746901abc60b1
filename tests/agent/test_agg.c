/* SPDX-License-Identifier: MIT */
/* test_agg.c: state table, listeners and top remote IPs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "agg.h"
#include "util.h"

static ag_sock_t sock(uint8_t state, const char *raddr)
{
	ag_sock_t s;

	memset(&s, 0, sizeof(s));
	s.state = state;
	s.family = strchr(raddr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(s.family, raddr, s.raddr), 1);
	s.rport = 1234;
	s.lport = 80;
	return s;
}

static void add_n(ag_agg_t *a, int n, uint8_t state, const char *raddr)
{
	ag_sock_t s = sock(state, raddr);

	for (int i = 0; i < n; i++)
		ag_agg_add(a, &s);
}

static ag_agg_t *new_agg(uint32_t top, const char *const *excl, size_t n)
{
	wire_cidr_t c[8];
	ag_agg_opts_t o = {.top_n = top, .exclude = c, .n_exclude = n};

	for (size_t i = 0; i < n; i++)
		assert_int_equal(wire_cidr_parse(excl[i], strlen(excl[i]), &c[i]), 0);
	ag_agg_t *a = ag_agg_new(&o);
	assert_non_null(a);
	return a;
}

static const wire_remote_t *find(const wire_report_t *r, const char *ip)
{
	uint8_t b[16];
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;

	assert_int_equal(inet_pton(fam, ip, b), 1);
	for (size_t i = 0; i < r->top.n_ips; i++)
		if (r->top.ips[i].ip.len == (fam == AF_INET ? 4 : 16) &&
		    memcmp(r->top.ips[i].ip.b, b, r->top.ips[i].ip.len) == 0)
			return &r->top.ips[i];
	return NULL;
}

/* entries + rest + excluded = the state table, state by state. */
static void assert_sums(const wire_report_t *r)
{
	for (int s = 1; s < WIRE_NSTATES; s++) {
		uint64_t t = r->top.rest.n[s] + r->top.excluded.n[s];

		for (size_t i = 0; i < r->top.n_ips; i++)
			t += r->top.ips[i].st.n[s];
		assert_int_equal(t, r->states.n[s]);
	}
}

static void test_ag_agg_states_and_listeners(void **state)
{
	ag_agg_t *a = new_agg(20, NULL, 0);
	wire_report_t r;
	ag_sock_t l;

	(void)state;
	memset(&r, 0, sizeof(r));
	add_n(a, 3, WIRE_ESTABLISHED, "198.18.0.1");
	add_n(a, 2, WIRE_TIME_WAIT, "2001:db8::1");
	add_n(a, 1, WIRE_CLOSING, "198.18.0.2");
	memset(&l, 0, sizeof(l));
	l.state = WIRE_LISTEN;
	l.family = AF_INET6;
	l.lport = 443;
	l.rqueue = 5;
	l.wqueue = 511;
	ag_agg_add(a, &l);
	l.family = AF_INET;
	l.lport = 80;
	l.rqueue = 0;
	l.wqueue = 128;
	ag_agg_add(a, &l);
	assert_int_equal(ag_agg_finish(a, &r), 0);
	assert_int_equal(r.states.n[WIRE_ESTABLISHED], 3);
	assert_int_equal(r.states.n[WIRE_TIME_WAIT], 2);
	assert_int_equal(r.states.n[WIRE_CLOSING], 1);
	assert_int_equal(r.states.n[WIRE_LISTEN], 0); /* the table leaves LISTEN out */
	assert_int_equal(r.n_listeners, 2);
	assert_int_equal(r.listeners[0].port, 80); /* sorted by port */
	assert_int_equal(r.listeners[0].ip.len, 4);
	assert_int_equal(r.listeners[1].port, 443);
	assert_int_equal(r.listeners[1].ip.len, 16);
	assert_int_equal(r.listeners[1].accept_queue, 5);
	assert_int_equal(r.listeners[1].backlog, 511);
	assert_int_equal(r.top.distinct_ips, 3);
	assert_sums(&r);
	wire_report_close(&r);
	ag_agg_free(a);
}

static void test_ag_agg_folds_mapped(void **state)
{
	ag_agg_t *a = new_agg(20, NULL, 0);
	wire_report_t r;
	const wire_remote_t *e;

	(void)state;
	memset(&r, 0, sizeof(r));
	add_n(a, 4, WIRE_ESTABLISHED, "198.18.0.1");
	add_n(a, 3, WIRE_SYN_RECV, "::ffff:198.18.0.1");
	add_n(a, 1, WIRE_ESTABLISHED, "2001:db8::1");
	assert_int_equal(ag_agg_finish(a, &r), 0);
	assert_int_equal(r.top.distinct_ips, 2);
	assert_int_equal(r.top.n_ips, 2);
	e = find(&r, "198.18.0.1");
	assert_non_null(e);
	assert_int_equal(e->st.n[WIRE_ESTABLISHED], 4);
	assert_int_equal(e->st.n[WIRE_SYN_RECV], 3);
	assert_ptr_equal(e, &r.top.ips[0]); /* sorted by total */
	assert_sums(&r);
	wire_report_close(&r);
	ag_agg_free(a);
}

static void test_ag_agg_excludes(void **state)
{
	static const char *const ex[] = {"198.19.0.0/16", "2001:db8:f1::/48"};
	ag_agg_t *a = new_agg(20, ex, 2);
	wire_report_t r;
	ag_sock_t s = sock(WIRE_ESTABLISHED, "198.18.0.1");

	(void)state;
	memset(&r, 0, sizeof(r));
	add_n(a, 2, WIRE_ESTABLISHED, "127.0.0.1");
	add_n(a, 1, WIRE_TIME_WAIT, "127.9.9.9");
	add_n(a, 1, WIRE_ESTABLISHED, "::1");
	add_n(a, 1, WIRE_ESTABLISHED, "::ffff:127.0.0.1");
	add_n(a, 5, WIRE_SYN_RECV, "198.19.4.4");
	add_n(a, 1, WIRE_SYN_RECV, "::ffff:198.19.4.5");
	add_n(a, 2, WIRE_ESTABLISHED, "2001:db8:f1::9");
	add_n(a, 1, WIRE_ESTABLISHED, "2001:db8:f2::9");
	add_n(a, 1, WIRE_ESTABLISHED, "198.18.0.1");
	s.flags = AG_SOCK_NORADDR;
	ag_agg_add(a, &s);
	assert_int_equal(ag_agg_finish(a, &r), 0);
	assert_int_equal(r.top.excluded.n[WIRE_ESTABLISHED], 6);
	assert_int_equal(r.top.excluded.n[WIRE_TIME_WAIT], 1);
	assert_int_equal(r.top.excluded.n[WIRE_SYN_RECV], 6);
	assert_int_equal(r.top.n_ips, 2);
	assert_int_equal(r.top.distinct_ips, 2);
	assert_int_equal(r.top.rest.n[WIRE_ESTABLISHED], 1); /* the unreadable one */
	assert_sums(&r);
	wire_report_close(&r);
	ag_agg_free(a);
}

/*
 * top 2: A leads by total, B by ESTABLISHED, C by SYN_RECV; D is in no
 * top 2 and goes to rest.
 */
static void test_ag_agg_top_union(void **state)
{
	ag_agg_t *a = new_agg(2, NULL, 0);
	wire_report_t r;

	(void)state;
	memset(&r, 0, sizeof(r));
	add_n(a, 50, WIRE_TIME_WAIT, "198.18.0.1");   /* A: total 52 */
	add_n(a, 2, WIRE_ESTABLISHED, "198.18.0.1");
	add_n(a, 30, WIRE_ESTABLISHED, "198.18.0.2"); /* B: total 30, est 30 */
	add_n(a, 40, WIRE_SYN_RECV, "198.18.0.3");    /* C: total 40, syn 40 */
	add_n(a, 20, WIRE_ESTABLISHED, "198.18.0.4"); /* D: total 22, est 20, syn 2 */
	add_n(a, 2, WIRE_SYN_RECV, "198.18.0.4");
	add_n(a, 1, WIRE_SYN_RECV, "198.18.0.5");     /* E: syn 1 */
	assert_int_equal(ag_agg_finish(a, &r), 0);
	/* total: A 52, C 40 | B 30;  est: B 30, D 20 | A 2;  syn: C 40, D 2 | E 1 */
	assert_int_equal(r.top.threshold_total, 40);
	assert_int_equal(r.top.threshold_established, 20);
	assert_int_equal(r.top.threshold_syn_recv, 2);
	assert_int_equal(r.top.n_ips, 4);
	assert_non_null(find(&r, "198.18.0.1"));
	assert_non_null(find(&r, "198.18.0.2"));
	assert_non_null(find(&r, "198.18.0.3"));
	assert_non_null(find(&r, "198.18.0.4"));
	assert_null(find(&r, "198.18.0.5"));
	assert_int_equal(r.top.rest.n[WIRE_SYN_RECV], 1);
	assert_int_equal(r.top.limit, 2);
	assert_int_equal(r.top.distinct_ips, 5);
	/* Ordered by total, largest first. */
	for (size_t i = 1; i < r.top.n_ips; i++) {
		uint32_t p = 0, q = 0;

		for (int s = 1; s < WIRE_NSTATES; s++) {
			p += r.top.ips[i - 1].st.n[s];
			q += r.top.ips[i].st.n[s];
		}
		assert_true(p >= q);
	}
	assert_sums(&r);
	wire_report_close(&r);
	ag_agg_free(a);
}

/* Fewer IPs than N: all listed, thresholds 0 (an unlisted IP has none). */
static void test_ag_agg_top_fewer_than_n(void **state)
{
	ag_agg_t *a = new_agg(20, NULL, 0);
	wire_report_t r;

	(void)state;
	memset(&r, 0, sizeof(r));
	add_n(a, 3, WIRE_ESTABLISHED, "198.18.0.1");
	add_n(a, 1, WIRE_FIN_WAIT2, "2001:db8::7");
	assert_int_equal(ag_agg_finish(a, &r), 0);
	assert_int_equal(r.top.n_ips, 2);
	assert_int_equal(r.top.threshold_total, 0);
	assert_int_equal(r.top.threshold_established, 0);
	assert_int_equal(r.top.threshold_syn_recv, 0);
	for (int s = 1; s < WIRE_NSTATES; s++)
		assert_int_equal(r.top.rest.n[s], 0);
	wire_report_close(&r);
	ag_agg_free(a);
}

/* Ties at the N-th place are broken by address, so the output is stable. */
static void test_ag_agg_top_ties(void **state)
{
	ag_agg_t *a = new_agg(1, NULL, 0);
	wire_report_t r;

	(void)state;
	memset(&r, 0, sizeof(r));
	add_n(a, 5, WIRE_TIME_WAIT, "198.18.0.9");
	add_n(a, 5, WIRE_TIME_WAIT, "198.18.0.3");
	add_n(a, 5, WIRE_TIME_WAIT, "198.18.0.6");
	assert_int_equal(ag_agg_finish(a, &r), 0);
	assert_int_equal(r.top.n_ips, 1);
	assert_non_null(find(&r, "198.18.0.3"));
	assert_int_equal(r.top.threshold_total, 5);
	assert_int_equal(r.top.threshold_established, 0);
	assert_sums(&r);
	wire_report_close(&r);
	ag_agg_free(a);
}

static void test_ag_agg_top_zero(void **state)
{
	ag_agg_t *a = new_agg(0, NULL, 0);
	wire_report_t r;

	(void)state;
	memset(&r, 0, sizeof(r));
	add_n(a, 5, WIRE_ESTABLISHED, "198.18.0.9");
	add_n(a, 2, WIRE_SYN_RECV, "198.18.0.3");
	assert_int_equal(ag_agg_finish(a, &r), 0);
	assert_int_equal(r.top.n_ips, 0);
	assert_int_equal(r.top.threshold_total, 5);
	assert_int_equal(r.top.threshold_established, 5);
	assert_int_equal(r.top.threshold_syn_recv, 2);
	assert_sums(&r);
	wire_report_close(&r);
	ag_agg_free(a);
}

/* 200,000 distinct addresses: the table grows, and the sums still hold. */
static void test_ag_agg_many_ips(void **state)
{
	ag_agg_t *a = new_agg(20, NULL, 0);
	wire_report_t r;
	ag_sock_t s;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	for (uint32_t i = 0; i < 200000; i++) {
		uint32_t ip = htonl(0xc6120000u + i); /* 198.18.0.0 + i */

		s.family = (i % 3) ? AF_INET : AF_INET6;
		memset(s.raddr, 0, 16);
		if (s.family == AF_INET) {
			memcpy(s.raddr, &ip, 4);
		} else {
			s.raddr[0] = 0x20;
			s.raddr[1] = 0x01;
			memcpy(s.raddr + 12, &ip, 4);
		}
		s.state = (uint8_t)(1 + i % 9);
		ag_agg_add(a, &s);
		if (i % 1000 == 0)
			ag_agg_add(a, &s); /* some addresses twice */
	}
	assert_int_equal(ag_agg_finish(a, &r), 0);
	assert_int_equal(r.top.distinct_ips, 200000);
	assert_int_equal(r.top.threshold_total, 2); /* 200 addresses have 2 */
	assert_sums(&r);
	/* A reset aggregator counts from zero again. */
	ag_agg_reset(a);
	add_n(a, 1, WIRE_ESTABLISHED, "198.18.0.1");
	assert_int_equal(ag_agg_finish(a, &r), 0);
	assert_int_equal(r.top.distinct_ips, 1);
	assert_int_equal(r.states.n[WIRE_ESTABLISHED], 1);
	assert_sums(&r);
	wire_report_close(&r);
	ag_agg_free(a);
}

/* Two halves of a dump merged equal the whole counted at once. */
static void test_ag_agg_merge_equals_whole(void **state)
{
	static const char *const ex[] = {"198.19.0.0/16"};
	ag_agg_t *whole = new_agg(3, ex, 1), *a = new_agg(3, ex, 1), *b = new_agg(3, ex, 1);
	wire_report_t rw, ra;
	ag_sock_t l;

	(void)state;
	memset(&rw, 0, sizeof(rw));
	memset(&ra, 0, sizeof(ra));
	memset(&l, 0, sizeof(l));
	l.state = WIRE_LISTEN;
	l.family = AF_INET6;
	l.lport = 443;
	l.wqueue = 128;
	for (int i = 0; i < 3000; i++) {
		char ip[64];
		uint8_t st = (uint8_t)(1 + i % 11);

		if (st == WIRE_LISTEN)
			st = WIRE_CLOSING;
		snprintf(ip, sizeof(ip), i % 5 ? "198.18.%d.%d" : "2001:db8::%x:%x", i % 7, i % 13);
		if (i % 17 == 0)
			snprintf(ip, sizeof(ip), "198.19.1.%d", i % 5); /* excluded */
		add_n(whole, 1, st, ip);
		/* ESTABLISHED to one side, the rest to the other, as the split dump does. */
		add_n(st == WIRE_ESTABLISHED ? a : b, 1, st, ip);
	}
	ag_agg_add(whole, &l);
	ag_agg_add(b, &l);
	assert_int_equal(ag_agg_merge(a, b), 0);
	assert_int_equal(ag_agg_finish(whole, &rw), 0);
	assert_int_equal(ag_agg_finish(a, &ra), 0);
	assert_memory_equal(&rw.states, &ra.states, sizeof(rw.states));
	assert_memory_equal(&rw.top.rest, &ra.top.rest, sizeof(rw.top.rest));
	assert_memory_equal(&rw.top.excluded, &ra.top.excluded, sizeof(rw.top.excluded));
	assert_int_equal(rw.top.distinct_ips, ra.top.distinct_ips);
	assert_int_equal(rw.top.threshold_total, ra.top.threshold_total);
	assert_int_equal(rw.top.threshold_established, ra.top.threshold_established);
	assert_int_equal(rw.top.threshold_syn_recv, ra.top.threshold_syn_recv);
	assert_int_equal(rw.top.n_ips, ra.top.n_ips);
	assert_memory_equal(rw.top.ips, ra.top.ips, rw.top.n_ips * sizeof(*rw.top.ips));
	assert_int_equal(ra.n_listeners, 1);
	assert_int_equal(ra.listeners[0].port, 443);
	assert_int_equal(ra.listeners[0].ip.len, 16);
	assert_int_equal(ra.listeners[0].backlog, 128);
	assert_sums(&ra);
	wire_report_close(&rw);
	wire_report_close(&ra);
	ag_agg_free(whole);
	ag_agg_free(a);
	ag_agg_free(b);
}

static ag_sock_t info_sock(const char *ip, uint32_t last_recv, uint32_t last_send,
                           uint64_t received, uint64_t acked)
{
	ag_sock_t s = sock(WIRE_ESTABLISHED, ip);

	s.flags = AG_SOCK_INFO;
	s.tcp_last_recv_ms = last_recv;
	s.tcp_last_send_ms = last_send;
	s.tcp_bytes_received = received;
	s.tcp_bytes_acked = acked;
	return s;
}

/* The sockets of test_ag_agg_activity, dealt to a or b by their index's parity. */
static void add_activity_mix(ag_agg_t *a, ag_agg_t *b)
{
	const ag_sock_t socks[] = {
		info_sock("198.51.100.1", 500, 400, 100, 50),      /* active, answered */
		info_sock("198.51.100.1", 20000, 20000, 0, 0),     /* never a byte: unanswered, idle */
		info_sock("198.51.100.1", 15000, 12000, 10, 1),    /* a client's SYN only: unanswered, idle */
		info_sock("198.51.100.1", 2000, 2000, 0, 0),       /* young, silent: unanswered only */
		info_sock("198.51.100.1", 10000, 9999, 5, 7),      /* the interval exactly: not active */
		info_sock("198.51.100.3", 1, 1, 5, 5),
		sock(WIRE_ESTABLISHED, "198.51.100.3"),            /* no info: not measured whole */
		info_sock("2001:db8::9", 1, 1, 1 << 20, 1 << 21),  /* active, answered */
		sock(WIRE_SYN_RECV, "198.51.100.2"),
	};
	ag_sock_t tw = info_sock("198.51.100.1", 30000, 30000, 0, 0);

	tw.state = WIRE_TIME_WAIT; /* only ESTABLISHED counts */
	for (size_t i = 0; i < FS_ARRAY_SIZE(socks); i++)
		ag_agg_add(i % 2 ? b : a, &socks[i]);
	ag_agg_add(a, &tw);
}

static void test_ag_agg_activity(void **state)
{
	ag_agg_t *whole = new_agg(5, NULL, 0), *a = new_agg(5, NULL, 0), *b = new_agg(5, NULL, 0);
	const wire_remote_t *e;
	wire_report_t r, rm;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&rm, 0, sizeof(rm));

	/* Off (the default): the same sockets give no activity. */
	add_activity_mix(whole, whole);
	assert_int_equal(ag_agg_finish(whole, &r), 0);
	assert_false(find(&r, "198.51.100.1")->has_act);

	assert_int_equal(ag_agg_activity(whole, 10000), 0);
	ag_agg_reset(whole); /* stays on */
	add_activity_mix(whole, whole);
	/* Enough other IPs to grow the table twice: the activity moves with its entries. */
	for (int i = 0; i < 2000; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 200, i % 200);
		add_n(whole, 1, WIRE_TIME_WAIT, ip);
	}
	assert_int_equal(ag_agg_finish(whole, &r), 0);
	assert_sums(&r);
	e = find(&r, "198.51.100.1");
	assert_non_null(e);
	assert_int_equal(e->st.n[WIRE_ESTABLISHED], 5);
	assert_true(e->has_act);
	assert_int_equal(e->act.active, 1);
	assert_int_equal(e->act.unanswered, 3);
	assert_int_equal(e->act.idle, 2);
	assert_int_equal(e->act.bytes_received, 115);
	assert_int_equal(e->act.bytes_acked, 58);
	e = find(&r, "2001:db8::9");
	assert_true(e->has_act);
	assert_int_equal(e->act.active, 1);
	assert_int_equal(e->act.unanswered, 0);
	assert_int_equal(e->act.idle, 0);
	assert_int_equal(e->act.bytes_acked, 1 << 21);
	/* One of its connections came without TCP info: no activity rather than a part of it. */
	e = find(&r, "198.51.100.3");
	assert_non_null(e);
	assert_int_equal(e->st.n[WIRE_ESTABLISHED], 2);
	assert_false(e->has_act);
	/* Listed without ESTABLISHED: measured, nothing to count. */
	e = find(&r, "198.51.100.2");
	assert_true(e->has_act);
	assert_int_equal(e->act.unanswered, 0);
	assert_int_equal(wire_report_validate(&(wire_report_t){.seq = 1, .source = "x", .top = r.top}), 0);

	/* Split in two and merged: the same activity. */
	assert_int_equal(ag_agg_activity(a, 10000), 0);
	assert_int_equal(ag_agg_activity(b, 10000), 0);
	add_activity_mix(a, b);
	assert_int_equal(ag_agg_merge(a, b), 0);
	assert_int_equal(ag_agg_finish(a, &rm), 0);
	e = find(&rm, "198.51.100.1");
	assert_memory_equal(&e->act, &find(&r, "198.51.100.1")->act, sizeof(e->act));
	e = find(&rm, "2001:db8::9");
	assert_memory_equal(&e->act, &find(&r, "2001:db8::9")->act, sizeof(e->act));

	/* Off again: nothing. */
	assert_int_equal(ag_agg_activity(whole, 0), 0);
	ag_agg_reset(whole);
	add_activity_mix(whole, whole);
	assert_int_equal(ag_agg_finish(whole, &r), 0);
	assert_false(find(&r, "198.51.100.1")->has_act);

	wire_report_close(&r);
	wire_report_close(&rm);
	ag_agg_free(whole);
	ag_agg_free(a);
	ag_agg_free(b);
}

static ag_sock_t port_sock(uint8_t state, uint16_t lport, uint16_t rport)
{
	ag_sock_t s = sock(state, "198.51.100.9");

	s.lport = lport;
	s.rport = rport;
	return s;
}

static void test_ag_agg_ports(void **state)
{
	ag_agg_opts_t o = {.top_n = 5, .ports_n = 2};
	ag_agg_t *a = ag_agg_new(&o), *b = ag_agg_new(&o);
	wire_report_t r, rm;
	ag_sock_t l = {.state = WIRE_LISTEN, .family = AF_INET, .lport = 443};

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&rm, 0, sizeof(rm));
	assert_non_null(a);
	assert_non_null(b);
	/* A connection to 443 before its listener is seen counts by its remote port. */
	ag_sock_t early = port_sock(WIRE_ESTABLISHED, 443, 51000);

	ag_agg_add(a, &early);
	ag_agg_add(a, &l);
	l.lport = 80;
	ag_agg_add(a, &l);
	for (int i = 0; i < 5; i++) {
		ag_sock_t s = port_sock(WIRE_ESTABLISHED, 443, (uint16_t)(50000 + i));

		ag_agg_add(a, &s);
	}
	for (int i = 0; i < 3; i++) {
		ag_sock_t s = port_sock(i ? WIRE_TIME_WAIT : WIRE_SYN_RECV, 80, (uint16_t)(40000 + i));

		ag_agg_add(a, &s);
	}
	/* Outbound: to 3306 x4, 6379 x2, 11211 x1 (limit 2: the last to rest). */
	for (int i = 0; i < 7; i++) {
		ag_sock_t s = port_sock(WIRE_ESTABLISHED, (uint16_t)(33000 + i),
		                        i < 4 ? 3306 : i < 6 ? 6379 : 11211);

		ag_agg_add(a, &s);
	}
	ag_sock_t none = port_sock(WIRE_CLOSE, 33100, 0);

	none.flags = AG_SOCK_NORADDR;
	ag_agg_add(a, &none);
	assert_int_equal(ag_agg_finish(a, &r), 0);
	assert_int_equal(r.ports.limit, 2);
	assert_int_equal(r.ports.n_inbound, 2);
	assert_int_equal(r.ports.inbound[0].port, 443);
	assert_int_equal(r.ports.inbound[0].st.n[WIRE_ESTABLISHED], 5);
	assert_int_equal(r.ports.inbound[1].port, 80);
	assert_int_equal(r.ports.inbound[1].st.n[WIRE_SYN_RECV], 1);
	assert_int_equal(r.ports.inbound[1].st.n[WIRE_TIME_WAIT], 2);
	assert_int_equal(r.ports.n_outbound, 2);
	assert_int_equal(r.ports.outbound[0].port, 3306);
	assert_int_equal(r.ports.outbound[0].st.n[WIRE_ESTABLISHED], 4);
	assert_int_equal(r.ports.outbound[1].port, 6379);
	/* Rest: 11211's one, 51000's (the early one, third outbound port), the one with no port. */
	assert_int_equal(r.ports.rest.n[WIRE_ESTABLISHED], 2);
	assert_int_equal(r.ports.rest.n[WIRE_CLOSE], 1);
	assert_int_equal(wire_report_validate(&(wire_report_t){.seq = 1, .source = "x",
	                 .states = r.states, .top = r.top, .ports = r.ports}), 0);
	/* One socket fewer in the table than the ports say: refused. */
	r.states.n[WIRE_ESTABLISHED]--;
	assert_int_equal(wire_report_validate(&(wire_report_t){.seq = 1, .source = "x",
	                 .states = r.states, .top = r.top, .ports = r.ports}), -EINVAL);
	r.states.n[WIRE_ESTABLISHED]++;

	/* The connections again, split over two aggregators that know the listeners: the same. */
	ag_agg_reset_conns(a);       /* keeps the listeners and their ports */
	ag_agg_reset(b);
	ag_agg_copy_lports(b, a);
	ag_agg_add(b, &early);       /* now known as inbound to 443 */
	for (int i = 0; i < 5; i++) {
		ag_sock_t s = port_sock(WIRE_ESTABLISHED, 443, (uint16_t)(50000 + i));

		ag_agg_add(i % 2 ? a : b, &s);
	}
	assert_int_equal(ag_agg_merge(a, b), 0);
	assert_int_equal(ag_agg_finish(a, &rm), 0);
	assert_int_equal(rm.n_listeners, 2);
	assert_int_equal(rm.ports.n_inbound, 1);
	assert_int_equal(rm.ports.inbound[0].port, 443);
	assert_int_equal(rm.ports.inbound[0].st.n[WIRE_ESTABLISHED], 6);
	assert_int_equal(rm.ports.n_outbound, 0);

	/* ports_n 0: not split. */
	ag_agg_opts_t o0 = {.top_n = 5};
	ag_agg_t *c = ag_agg_new(&o0);

	ag_agg_add(c, &early);
	assert_int_equal(ag_agg_finish(c, &rm), 0);
	assert_int_equal(rm.ports.limit, 0);
	assert_int_equal(rm.ports.n_inbound + rm.ports.n_outbound, 0);
	assert_int_equal(wire_states_sum(&rm.ports.rest), 0);
	wire_report_close(&r);
	wire_report_close(&rm);
	ag_agg_free(a);
	ag_agg_free(b);
	ag_agg_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ag_agg_states_and_listeners),
		cmocka_unit_test(test_ag_agg_folds_mapped),
		cmocka_unit_test(test_ag_agg_excludes),
		cmocka_unit_test(test_ag_agg_top_union),
		cmocka_unit_test(test_ag_agg_top_fewer_than_n),
		cmocka_unit_test(test_ag_agg_top_ties),
		cmocka_unit_test(test_ag_agg_top_zero),
		cmocka_unit_test(test_ag_agg_many_ips),
		cmocka_unit_test(test_ag_agg_merge_equals_whole),
		cmocka_unit_test(test_ag_agg_activity),
		cmocka_unit_test(test_ag_agg_ports),
	};

	return cmocka_run_group_tests_name("agg", tests, NULL, NULL);
}
