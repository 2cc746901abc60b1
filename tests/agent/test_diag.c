/* SPDX-License-Identifier: MIT */
/* test_diag.c: sock_diag request and reply decoding, on real captured dumps and on crafted ones. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "diag.h"

#define WIRE_SLOTS 12

typedef struct {
	unsigned long n[16];
	unsigned long v4, v6, calls;
	ag_sock_t last;
} tally_t;

static void tally(void *ctx, const ag_sock_t *s)
{
	tally_t *t = ctx;

	t->n[s->state]++;
	if (s->family == AF_INET)
		t->v4++;
	else
		t->v6++;
	t->calls++;
	t->last = *s;
}

static uint8_t *load(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	uint8_t *p;
	long n;

	snprintf(path, sizeof(path), "%s/netlink/%s", FIXTURES, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static uint32_t first_seq(const uint8_t *p)
{
	struct nlmsghdr h;

	memcpy(&h, p, sizeof(h));
	return h.nlmsg_seq;
}

/* Appends one message to buf at *off. */
static void put_msg(uint8_t *buf, size_t *off, uint16_t type, uint16_t flags,
                    uint32_t seq, const void *payload, size_t plen)
{
	struct nlmsghdr h = {
		.nlmsg_len = (uint32_t)NLMSG_LENGTH(plen),
		.nlmsg_type = type,
		.nlmsg_flags = flags,
		.nlmsg_seq = seq,
	};

	memcpy(buf + *off, &h, sizeof(h));
	memcpy(buf + *off + NLMSG_HDRLEN, payload, plen);
	*off += NLMSG_ALIGN(h.nlmsg_len);
}

static void put_sock(uint8_t *buf, size_t *off, uint32_t seq, uint8_t family,
                     uint8_t state, const char *dst, uint16_t dport)
{
	struct inet_diag_msg m;

	memset(&m, 0, sizeof(m));
	m.idiag_family = family;
	m.idiag_state = state;
	m.id.idiag_sport = htons(80);
	m.id.idiag_dport = htons(dport);
	if (dst)
		assert_int_equal(inet_pton(family, dst, m.id.idiag_dst), 1);
	m.idiag_rqueue = 7;
	m.idiag_wqueue = 9;
	put_msg(buf, off, TCPDIAG_GETSOCK, NLM_F_MULTI, seq, &m, sizeof(m));
}

static void put_done(uint8_t *buf, size_t *off, uint32_t seq, uint16_t flags)
{
	int zero = 0;

	put_msg(buf, off, NLMSG_DONE, NLM_F_MULTI | flags, seq, &zero, sizeof(zero));
}

static void test_ag_diag_request_layout(void **state)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req r;
	} req;
	uint8_t small[8];

	(void)state;
	assert_int_equal(ag_diag_request(small, sizeof(small), 1, AG_DIAG_STATES), 0);
	assert_int_equal(ag_diag_request(&req, sizeof(req), 42, AG_DIAG_STATES), sizeof(req));
	assert_int_equal(req.nlh.nlmsg_len, sizeof(req));
	assert_int_equal(req.nlh.nlmsg_type, TCPDIAG_GETSOCK);
	assert_int_equal(req.nlh.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	assert_int_equal(req.nlh.nlmsg_seq, 42);
	assert_int_equal(req.r.idiag_family, AF_UNSPEC);
	assert_int_equal(req.r.idiag_states, 0x1ffe);
	assert_int_equal(req.r.idiag_ext, 0);
}

static void test_ag_diag_request_info(void **state)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req r;
	} req;

	(void)state;
	assert_int_equal(ag_diag_request_info(&req, sizeof(req), 7, 1u << 1), sizeof(req));
	assert_int_equal(req.nlh.nlmsg_type, TCPDIAG_GETSOCK);
	assert_int_equal(req.r.idiag_family, AF_UNSPEC);
	assert_int_equal(req.r.idiag_states, 2);
	assert_int_equal(req.r.idiag_ext, 1u << (INET_DIAG_INFO - 1));
}

/* Appends an attribute (type, len bytes of payload) at p; returns its aligned size. */
static size_t put_attr(uint8_t *p, uint16_t type, const void *payload, size_t len)
{
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type};

	memcpy(p, &a, sizeof(a));
	memcpy(p + NLA_HDRLEN, payload, len);
	return NLA_ALIGN(a.nla_len);
}

/*
 * An ESTABLISHED socket with attributes after its inet_diag_msg: SHUTDOWN
 * (which the kernel always adds) then INFO, of info_len bytes.
 */
static size_t put_info_sock(uint8_t *buf, size_t off, uint32_t seq, const struct tcp_info *ti,
                            size_t info_len, uint16_t info_attr_len)
{
	uint8_t payload[1024], shut = 0;
	struct inet_diag_msg m;
	size_t plen, at;

	memset(&m, 0, sizeof(m));
	m.idiag_family = AF_INET;
	m.idiag_state = 1;
	m.id.idiag_sport = htons(443);
	m.id.idiag_dport = htons(50000);
	assert_int_equal(inet_pton(AF_INET, "198.51.100.7", m.id.idiag_dst), 1);
	memcpy(payload, &m, sizeof(m));
	plen = NLMSG_ALIGN(sizeof(m));
	plen += put_attr(payload + plen, INET_DIAG_SHUTDOWN, &shut, 1);
	at = plen;
	plen += put_attr(payload + plen, INET_DIAG_INFO, ti, info_len);
	if (info_attr_len) { /* a bent length */
		struct nlattr a;

		memcpy(&a, payload + at, sizeof(a));
		a.nla_len = info_attr_len;
		memcpy(payload + at, &a, sizeof(a));
	}
	put_msg(buf, &off, TCPDIAG_GETSOCK, NLM_F_MULTI, seq, payload, plen);
	return off;
}

static void test_ag_diag_parse_info(void **state)
{
	uint8_t buf[4096];
	struct tcp_info ti;
	size_t off;
	tally_t t;
	ag_diag_t d;

	(void)state;
	memset(&ti, 0, sizeof(ti));
	ti.tcpi_last_data_recv = 1234;
	ti.tcpi_last_data_sent = 5678;
	ti.tcpi_bytes_received = 1ull << 40;
	ti.tcpi_bytes_acked = 99;

	/* This kernel's whole struct. */
	memset(&t, 0, sizeof(t));
	off = put_info_sock(buf, 0, 3, &ti, sizeof(ti), 0);
	ag_diag_init(&d, 3);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), 0);
	assert_int_equal(t.calls, 1);
	assert_true(t.last.flags & AG_SOCK_INFO);
	assert_int_equal(t.last.tcp_last_recv_ms, 1234);
	assert_int_equal(t.last.tcp_last_send_ms, 5678);
	assert_true(t.last.tcp_bytes_received == 1ull << 40);
	assert_int_equal(t.last.tcp_bytes_acked, 99);
	assert_int_equal(t.last.lport, 443);

	/* An older kernel's info that ends where bytes_received ends: still read. */
	memset(&t, 0, sizeof(t));
	off = put_info_sock(buf, 0, 3, &ti, offsetof(struct tcp_info, tcpi_bytes_received) + 8, 0);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), 0);
	assert_true(t.last.flags & AG_SOCK_INFO);

	/* One that ends before it (Linux < 4.1): the socket counts, without info. */
	memset(&t, 0, sizeof(t));
	off = put_info_sock(buf, 0, 3, &ti, offsetof(struct tcp_info, tcpi_bytes_acked), 0);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), 0);
	assert_int_equal(t.calls, 1);
	assert_false(t.last.flags & AG_SOCK_INFO);

	/* An attribute longer than the message, or shorter than its header: ignored. */
	memset(&t, 0, sizeof(t));
	off = put_info_sock(buf, 0, 3, &ti, sizeof(ti), 2000);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), 0);
	assert_int_equal(t.calls, 1);
	assert_false(t.last.flags & AG_SOCK_INFO);
	memset(&t, 0, sizeof(t));
	off = put_info_sock(buf, 0, 3, &ti, sizeof(ti), 2);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), 0);
	assert_false(t.last.flags & AG_SOCK_INFO);

	/* Without attributes (what the plain request gets): no info. */
	memset(&t, 0, sizeof(t));
	off = 0;
	put_sock(buf, &off, 3, AF_INET, 1, "198.51.100.7", 50000);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), 0);
	assert_false(t.last.flags & AG_SOCK_INFO);
}

/* The kernel's reply to our own request, captured with tests/bench/dumpcount --raw. */
static void test_ag_diag_parse_fixture(void **state)
{
	size_t len;
	uint8_t *p = load("tcpdiag-unspec.bin", &len);
	tally_t t = {0};
	ag_diag_t d;

	(void)state;
	ag_diag_init(&d, first_seq(p));
	assert_int_equal(ag_diag_parse(&d, p, len, tally, &t), 1);
	/* Same sockets as tcpdiag-unspec.ss. */
	assert_int_equal(t.n[1], 8);
	assert_int_equal(t.n[5], 1);
	assert_int_equal(t.n[6], 1);
	assert_int_equal(t.n[8], 1);
	assert_int_equal(t.n[10], 2);
	assert_int_equal(t.calls, 13);
	assert_int_equal(t.v6, 6);
	assert_int_equal(d.nsocks, 13);
	free(p);
}

/* Fed one message per call, as if every message came in its own datagram. */
static void test_ag_diag_parse_fixture_per_message(void **state)
{
	size_t len, off = 0;
	uint8_t *p = load("tcpdiag-unspec.bin", &len);
	tally_t t = {0};
	ag_diag_t d;
	int rc = 0;

	(void)state;
	ag_diag_init(&d, first_seq(p));
	while (off < len) {
		struct nlmsghdr h;
		size_t step;

		memcpy(&h, p + off, sizeof(h));
		step = NLMSG_ALIGN(h.nlmsg_len);
		assert_int_equal(rc, 0);
		rc = ag_diag_parse(&d, p + off, step, tally, &t);
		off += step;
	}
	assert_int_equal(rc, 1);
	assert_int_equal(t.calls, 13);
	free(p);
}

/* A buffer cut anywhere is never taken for a complete dump, and never overread. */
static void test_ag_diag_parse_fixture_truncated(void **state)
{
	size_t len;
	uint8_t *p = load("tcpdiag-unspec.bin", &len);

	(void)state;
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *q = malloc(cut ? cut : 1);
		tally_t t = {0};
		ag_diag_t d;
		int rc;

		memcpy(q, p, cut);
		ag_diag_init(&d, first_seq(p));
		rc = ag_diag_parse(&d, q, cut, tally, &t);
		assert_true(rc == 0 || rc == -EPROTO);
		free(q);
	}
	free(p);
}

/*
 * ss -tan -D: SOCK_DIAG_BY_FAMILY replies carrying attributes, one dump per
 * family, both with ss's fixed sequence number: parsed as two dumps.
 */
static void test_ag_diag_parse_ss_capture(void **state)
{
	size_t len, off = 0, start = 0;
	uint8_t *p = load("ss-tan-D.bin", &len);
	tally_t t = {0};
	int dumps = 0;

	(void)state;
	while (off + sizeof(struct nlmsghdr) <= len) {
		struct nlmsghdr h;

		memcpy(&h, p + off, sizeof(h));
		off += NLMSG_ALIGN(h.nlmsg_len);
		if (h.nlmsg_type == NLMSG_DONE) {
			ag_diag_t d;

			ag_diag_init(&d, h.nlmsg_seq);
			assert_int_equal(ag_diag_parse(&d, p + start, off - start, tally, &t), 1);
			start = off;
			dumps++;
		}
	}
	assert_int_equal(dumps, 2);
	assert_int_equal(t.n[1], 8);
	assert_int_equal(t.n[5], 1);
	assert_int_equal(t.n[6], 1);
	assert_int_equal(t.n[8], 1);
	assert_int_equal(t.n[10], 2);
	assert_int_equal(t.v6, 6);
	free(p);
}

static void test_ag_diag_parse_folds_new_syn_recv(void **state)
{
	uint8_t buf[1024];
	size_t off = 0;
	tally_t t = {0};
	ag_diag_t d;

	(void)state;
	put_sock(buf, &off, 5, AF_INET, 12, "198.18.0.9", 4000);
	put_sock(buf, &off, 5, AF_INET6, 3, "2001:db8::1", 4001);
	put_done(buf, &off, 5, 0);
	ag_diag_init(&d, 5);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), 1);
	assert_int_equal(t.n[3], 2);
	assert_int_equal(t.last.family, AF_INET6);
	assert_int_equal(t.last.rport, 4001);
	assert_int_equal(t.last.lport, 80);
	assert_int_equal(t.last.rqueue, 7);
	assert_int_equal(t.last.wqueue, 9);
	assert_int_equal(t.last.raddr[0], 0x20);
	assert_int_equal(t.last.raddr[15], 1);
}

static void test_ag_diag_parse_skips_unknown(void **state)
{
	uint8_t buf[1024];
	size_t off = 0;
	tally_t t = {0};
	ag_diag_t d;

	(void)state;
	put_sock(buf, &off, 5, AF_INET, 13, "198.18.0.9", 1);   /* BOUND_INACTIVE */
	put_sock(buf, &off, 5, AF_UNIX, 1, NULL, 1);
	put_sock(buf, &off, 6, AF_INET, 1, "198.18.0.9", 1);    /* other dump */
	put_sock(buf, &off, 5, AF_INET, 0, "198.18.0.9", 1);
	put_sock(buf, &off, 5, AF_INET, 1, "198.18.0.9", 1);
	put_done(buf, &off, 5, 0);
	ag_diag_init(&d, 5);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), 1);
	assert_int_equal(t.calls, 1);
	assert_int_equal(d.skipped, 4);
}

static void test_ag_diag_parse_error_message(void **state)
{
	uint8_t buf[1024];
	size_t off = 0;
	struct nlmsgerr e;
	tally_t t = {0};
	ag_diag_t d;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.error = -EACCES;
	put_sock(buf, &off, 5, AF_INET, 1, "198.18.0.9", 1);
	put_msg(buf, &off, NLMSG_ERROR, 0, 5, &e, sizeof(e));
	ag_diag_init(&d, 5);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), -EACCES);

	/* An error message too short for struct nlmsgerr. */
	off = 0;
	put_msg(buf, &off, NLMSG_ERROR, 0, 5, &e, 2);
	ag_diag_init(&d, 5);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), -EPROTO);

	/* An ack (error 0) has no place in a dump. */
	off = 0;
	e.error = 0;
	put_msg(buf, &off, NLMSG_ERROR, 0, 5, &e, sizeof(e));
	ag_diag_init(&d, 5);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), -EPROTO);
}

static void test_ag_diag_parse_dump_intr(void **state)
{
	uint8_t buf[1024];
	size_t off = 0;
	tally_t t = {0};
	ag_diag_t d;

	(void)state;
	put_sock(buf, &off, 5, AF_INET, 1, "198.18.0.9", 1);
	ag_diag_init(&d, 5);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), 0);
	/* The kernel marks the rest of an interrupted dump; the caller retries. */
	off = 0;
	put_msg(buf, &off, TCPDIAG_GETSOCK, NLM_F_MULTI | NLM_F_DUMP_INTR, 5,
	        &(struct inet_diag_msg){.idiag_family = AF_INET, .idiag_state = 1},
	        sizeof(struct inet_diag_msg));
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), 0);
	off = 0;
	put_done(buf, &off, 5, 0);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), -EINTR);

	/* The flag on the DONE message alone counts too. */
	off = 0;
	put_done(buf, &off, 9, NLM_F_DUMP_INTR);
	ag_diag_init(&d, 9);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), -EINTR);
}

static void test_ag_diag_parse_malformed(void **state)
{
	uint8_t buf[1024];
	size_t off = 0;
	struct nlmsghdr h;
	tally_t t = {0};
	ag_diag_t d;

	(void)state;
	/* A socket message too short for inet_diag_msg. */
	put_msg(buf, &off, TCPDIAG_GETSOCK, NLM_F_MULTI, 5, "abcd", 4);
	ag_diag_init(&d, 5);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), -EPROTO);

	/* nlmsg_len smaller than the header, and larger than the buffer. */
	memset(&h, 0, sizeof(h));
	h.nlmsg_len = 4;
	h.nlmsg_seq = 5;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(ag_diag_parse(&d, buf, sizeof(h), tally, &t), -EPROTO);
	h.nlmsg_len = 4096;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(ag_diag_parse(&d, buf, sizeof(h), tally, &t), -EPROTO);

	/* An unexpected message type. */
	off = 0;
	put_msg(buf, &off, 16 /* RTM_NEWLINK */, 0, 5, "abcd", 4);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), -EPROTO);
	assert_int_equal(t.calls, 0);
}

/* A dump the kernel aborted ends in NLMSG_DONE carrying its errno: not a complete table. */
static void test_ag_diag_parse_done_with_error(void **state)
{
	uint8_t buf[1024];
	size_t off = 0;
	int status = -ENOBUFS;
	tally_t t = {0};
	ag_diag_t d;

	(void)state;
	put_sock(buf, &off, 5, AF_INET, 1, "198.18.0.9", 1);
	put_msg(buf, &off, NLMSG_DONE, NLM_F_MULTI, 5, &status, sizeof(status));
	ag_diag_init(&d, 5);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), -ENOBUFS);

	/* A DONE too short to carry its status. */
	off = 0;
	put_msg(buf, &off, NLMSG_DONE, NLM_F_MULTI, 5, &status, 2);
	ag_diag_init(&d, 5);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), -EPROTO);
}

/* A socket with no remote port is counted without an address, as /proc and netstat show it. */
static void test_ag_diag_parse_no_remote(void **state)
{
	uint8_t buf[1024];
	size_t off = 0;
	tally_t t = {0};
	ag_diag_t d;

	(void)state;
	put_sock(buf, &off, 5, AF_INET, 7, NULL, 0);
	put_done(buf, &off, 5, 0);
	ag_diag_init(&d, 5);
	assert_int_equal(ag_diag_parse(&d, buf, off, tally, &t), 1);
	assert_int_equal(t.n[7], 1);
	assert_true(t.last.flags & AG_SOCK_NORADDR);
}

static void test_ag_diag_split_partitions(void **state)
{
	uint32_t prev[WIRE_SLOTS] = {0}, a, b;

	(void)state;
	/* Nothing known: ESTABLISHED alone against the rest. */
	ag_diag_split(NULL, &a, &b);
	assert_int_equal(a, 1u << 1);
	assert_int_equal(a | b, AG_DIAG_STATES);
	assert_int_equal(a & b, 0);
	ag_diag_split(prev, &a, &b); /* all zero: the same */
	assert_int_equal(a, 1u << 1);

	/* A TIME_WAIT-heavy host: TIME_WAIT alone against the rest. */
	prev[6] = 50000;
	prev[1] = 20000;
	prev[3] = 20000;
	prev[8] = 5000;
	ag_diag_split(prev, &a, &b);
	assert_int_equal(a, 1u << 6);
	assert_int_equal(a | b, AG_DIAG_STATES);
	assert_int_equal(a & b, 0);
	/* SYN_RECV and the kernel's NEW_SYN_RECV are never parted. */
	assert_true(((b >> 3) & 1) && ((b >> 12) & 1));

	/* 40/30/30: the 40 against the two 30s (empty states may go either way). */
	memset(prev, 0, sizeof(prev));
	prev[1] = 40;
	prev[3] = 30;
	prev[6] = 30;
	ag_diag_split(prev, &a, &b);
	assert_true(a & (1u << 1));
	assert_int_equal(a | b, AG_DIAG_STATES);
	assert_true(b & (1u << 3));
	assert_true(b & (1u << 6));
	assert_true((a >> 3 & 1) == (a >> 12 & 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ag_diag_request_layout),
		cmocka_unit_test(test_ag_diag_request_info),
		cmocka_unit_test(test_ag_diag_parse_info),
		cmocka_unit_test(test_ag_diag_parse_fixture),
		cmocka_unit_test(test_ag_diag_parse_fixture_per_message),
		cmocka_unit_test(test_ag_diag_parse_fixture_truncated),
		cmocka_unit_test(test_ag_diag_parse_ss_capture),
		cmocka_unit_test(test_ag_diag_parse_folds_new_syn_recv),
		cmocka_unit_test(test_ag_diag_parse_skips_unknown),
		cmocka_unit_test(test_ag_diag_parse_error_message),
		cmocka_unit_test(test_ag_diag_parse_dump_intr),
		cmocka_unit_test(test_ag_diag_parse_malformed),
		cmocka_unit_test(test_ag_diag_parse_done_with_error),
		cmocka_unit_test(test_ag_diag_parse_no_remote),
		cmocka_unit_test(test_ag_diag_split_partitions),
	};

	return cmocka_run_group_tests_name("diag", tests, NULL, NULL);
}
