/* SPDX-License-Identifier: MIT */
/* test_wire.c: frames round-trip, the incremental reader at every split, and validation of network input. */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetstat.pb-c.h"
#include "wire.h"

/* ------------------------------------------------------------------------ */
/* Helpers */

static const uint8_t agent_id[WIRE_AGENT_ID_LEN] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

static void fill_states(wire_states_t *st, uint32_t base)
{
	int s;

	memset(st, 0, sizeof(*st));
	for (s = WIRE_ESTABLISHED; s < WIRE_NSTATES; s++)
		st->n[s] = base + (uint32_t)s * 7;
}

static void make_challenge(wire_frame_t *f)
{
	int i;

	memset(f, 0, sizeof(*f));
	f->type = WIRE_CHALLENGE;
	f->challenge.protocol = WIRE_PROTOCOL;
	for (i = 0; i < WIRE_NONCE_LEN; i++)
		f->challenge.nonce[i] = (uint8_t)(0xa0 + i);
}

static wire_kv_t hello_labels[] = {
	{ "dc", "fra1" }, { "rack", "r12" }, { "role", "" },
};

/* Borrowed strings: encode only, never wire_frame_close(). */
static void make_hello(wire_frame_t *f)
{
	int i;

	memset(f, 0, sizeof(*f));
	f->type = WIRE_HELLO;
	f->hello.protocol = WIRE_PROTOCOL;
	memcpy(f->hello.agent_id, agent_id, sizeof(agent_id));
	f->hello.hostname = "web-01.example.org";
	f->hello.tier = "web";
	f->hello.labels = hello_labels;
	f->hello.n_labels = sizeof(hello_labels) / sizeof(hello_labels[0]);
	f->hello.agent_version = "0.1.0";
	f->hello.auth_len = WIRE_AUTH_LEN;
	for (i = 0; i < WIRE_AUTH_LEN; i++)
		f->hello.auth[i] = (uint8_t)(0x55 ^ i);
}

static wire_counter_t report_counters[] = {
	{ "TcpExt.ListenOverflows", 17 },
	{ "TcpExt.SyncookiesSent", 0 },
	{ "Tcp.PassiveOpens", UINT64_C(123456789012) },
	{ "Sockstat.tw", 4242 },
};

static wire_kv_t report_sysctls[] = {
	{ "net.ipv4.tcp_fin_timeout", "30" },
	{ "net.ipv4.tcp_tw_reuse", "1" },
	{ "net.ipv4.ip_local_port_range", "32768 60999" },
	{ "net.core.somaxconn", "4096" },
};

#define N_TOP 60
#define N_LISTEN 3

static wire_remote_t report_ips[N_TOP];
static wire_listener_t report_listeners[N_LISTEN];
static wire_port_t report_in[2], report_out[1];
static wire_req_client_t report_clients[2];
static wire_req_host_t report_hosts[1];
static wire_log_mark_t report_marks[1];

/* A full report: listeners, 60 top IPs (v4 and v6), counters, sysctls. */
static void make_report(wire_frame_t *f)
{
	wire_report_t *r = &f->report;
	size_t i;

	memset(f, 0, sizeof(*f));
	f->type = WIRE_REPORT;
	r->seq = 42;
	r->collected_at_ms = INT64_C(1700000000123);
	r->interval_ms = 10000;
	fill_states(&r->states, 100);
	for (i = 0; i < N_LISTEN; i++) {
		wire_listener_t *l = &report_listeners[i];

		memset(l, 0, sizeof(*l));
		l->ip.len = i == 2 ? 16 : 4;
		l->ip.b[0] = i == 2 ? 0 : 10;
		l->ip.b[3] = (uint8_t)i;
		l->port = i == 0 ? 80 : 443 + (uint32_t)i;
		l->accept_queue = (uint32_t)i;
		l->backlog = 4096;
	}
	r->listeners = report_listeners;
	r->n_listeners = N_LISTEN;
	for (i = 0; i < N_TOP; i++) {
		wire_remote_t *ip = &report_ips[i];

		memset(ip, 0, sizeof(*ip));
		if (i % 2 == 0) {
			ip->ip.len = 4;
			ip->ip.b[0] = 192;
			ip->ip.b[1] = 0;
			ip->ip.b[2] = 2;
			ip->ip.b[3] = (uint8_t)i;
		} else {
			ip->ip.len = 16;
			ip->ip.b[0] = 0x20;
			ip->ip.b[1] = 0x01;
			ip->ip.b[2] = 0x0d;
			ip->ip.b[3] = 0xb8;
			ip->ip.b[15] = (uint8_t)i;
		}
		fill_states(&ip->st, (uint32_t)i);
		if (i % 3 == 0) { /* some with activity, some without */
			uint32_t est = ip->st.n[WIRE_ESTABLISHED];

			ip->has_act = true;
			ip->act = (wire_activity_t){.active = est / 2, .unanswered = est, .idle = i,
			                            .bytes_received = 1ull << 40, .bytes_acked = i};
		}
	}
	r->top.ips = report_ips;
	r->top.n_ips = N_TOP;
	r->top.limit = 20;
	r->top.threshold_total = 5;
	r->top.threshold_established = 4;
	r->top.threshold_syn_recv = 1;
	fill_states(&r->top.rest, 1000);
	fill_states(&r->top.excluded, 2000);
	r->top.distinct_ips = 777;
	r->counters = report_counters;
	r->n_counters = sizeof(report_counters) / sizeof(report_counters[0]);
	r->sysctls = report_sysctls;
	r->n_sysctls = sizeof(report_sysctls) / sizeof(report_sysctls[0]);
	r->dropped_reports = 3;
	r->collect_us = 75000;
	r->source = "netlink";
	/* By service: half of each state on :443 and :80, a quarter to :3306, the rest. */
	memset(report_in, 0, sizeof(report_in));
	memset(report_out, 0, sizeof(report_out));
	memset(&r->ports.rest, 0, sizeof(r->ports.rest));
	report_in[0].port = 443;
	report_in[1].port = 80;
	report_out[0].port = 3306;
	for (int s = WIRE_ESTABLISHED; s < WIRE_NSTATES; s++) {
		uint32_t n = s == WIRE_LISTEN ? 0 : r->states.n[s];

		report_in[0].st.n[s] = n / 4;
		report_in[1].st.n[s] = n / 4;
		report_out[0].st.n[s] = n / 4;
		r->ports.rest.n[s] = n - 3 * (n / 4);
	}
	r->ports.inbound = report_in;
	r->ports.n_inbound = 2;
	r->ports.outbound = report_out;
	r->ports.n_outbound = 1;
	r->ports.limit = 16;
	/* Requests: a NAT of many user agents, a scraper of 404s; one host; where the log was. */
	memset(&r->requests, 0, sizeof(r->requests));
	memset(report_clients, 0, sizeof(report_clients));
	r->requests.present = true;
	r->requests.total = 1000;
	r->requests.by_status[1] = 900;
	r->requests.by_status[3] = 100;
	r->requests.bytes = 123456789012ull;
	r->requests.malformed = 2;
	r->requests.limit = 20;
	report_clients[0].ip = (wire_ip_t){.len = 4, .b = {198, 51, 100, 1}};
	report_clients[0].requests = 600;
	report_clients[0].by_status[1] = 590;
	report_clients[0].by_status[3] = 10;
	report_clients[0].bytes = 1 << 20;
	report_clients[0].user_agents = 200;
	report_clients[1].ip = (wire_ip_t){.len = 16, .b = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x66}};
	report_clients[1].requests = 90;
	report_clients[1].error = 5;
	report_clients[1].by_status[3] = 85;
	report_clients[1].user_agents = 1;
	report_clients[1].user_agents_capped = true;
	r->requests.clients = report_clients;
	r->requests.n_clients = 2;
	r->requests.clients_unlisted_max = 7;
	report_hosts[0] = (wire_req_host_t){.host = "shop.example", .requests = 999, .error = 0};
	r->requests.hosts = report_hosts;
	r->requests.n_hosts = 1;
	r->requests.hosts_unlisted_max = 1;
	r->requests.distinct_clients = 77;
	report_marks[0] = (wire_log_mark_t){.path = "/var/log/nginx/access.log", .dev = 2049,
	                                    .inode = 131090, .offset = 77777,
	                                    .tail_hash = 0xfedcba9876543210ull};
	r->requests.marks = report_marks;
	r->requests.n_marks = 1;
}

static void assert_requests_equal(const wire_requests_t *a, const wire_requests_t *b)
{
	assert_int_equal(a->present, b->present);
	assert_int_equal(a->total, b->total);
	assert_memory_equal(a->by_status, b->by_status, sizeof(a->by_status));
	assert_int_equal(a->bytes, b->bytes);
	assert_int_equal(a->malformed, b->malformed);
	assert_int_equal(a->limit, b->limit);
	assert_int_equal(a->clients_unlisted_max, b->clients_unlisted_max);
	assert_int_equal(a->hosts_unlisted_max, b->hosts_unlisted_max);
	assert_int_equal(a->distinct_clients, b->distinct_clients);
	assert_int_equal(a->n_clients, b->n_clients);
	for (size_t i = 0; i < a->n_clients; i++) {
		assert_memory_equal(&a->clients[i], &b->clients[i], sizeof(a->clients[i]));
	}
	assert_int_equal(a->n_hosts, b->n_hosts);
	for (size_t i = 0; i < a->n_hosts; i++) {
		assert_string_equal(a->hosts[i].host, b->hosts[i].host);
		assert_int_equal(a->hosts[i].requests, b->hosts[i].requests);
		assert_int_equal(a->hosts[i].error, b->hosts[i].error);
	}
	assert_int_equal(a->n_marks, b->n_marks);
	for (size_t i = 0; i < a->n_marks; i++) {
		assert_string_equal(a->marks[i].path, b->marks[i].path);
		assert_int_equal(a->marks[i].dev, b->marks[i].dev);
		assert_int_equal(a->marks[i].inode, b->marks[i].inode);
		assert_int_equal(a->marks[i].offset, b->marks[i].offset);
		assert_true(a->marks[i].tail_hash == b->marks[i].tail_hash);
	}
}

/* The encoder sends NULL as "", and decoded strings are never NULL. */
static const char *nz(const char *s)
{
	return s != NULL ? s : "";
}

static void assert_states_equal(const wire_states_t *a, const wire_states_t *b)
{
	assert_memory_equal(a->n, b->n, sizeof(a->n));
}

static void assert_ip_equal(const wire_ip_t *a, const wire_ip_t *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->b, b->b, a->len);
}

static void assert_report_equal(const wire_report_t *a, const wire_report_t *b)
{
	size_t i;

	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->collected_at_ms, b->collected_at_ms);
	assert_int_equal(a->interval_ms, b->interval_ms);
	assert_states_equal(&a->states, &b->states);
	assert_int_equal(a->n_listeners, b->n_listeners);
	for (i = 0; i < a->n_listeners; i++) {
		assert_ip_equal(&a->listeners[i].ip, &b->listeners[i].ip);
		assert_int_equal(a->listeners[i].port, b->listeners[i].port);
		assert_int_equal(a->listeners[i].accept_queue,
				 b->listeners[i].accept_queue);
		assert_int_equal(a->listeners[i].backlog, b->listeners[i].backlog);
	}
	assert_int_equal(a->top.n_ips, b->top.n_ips);
	for (i = 0; i < a->top.n_ips; i++) {
		assert_ip_equal(&a->top.ips[i].ip, &b->top.ips[i].ip);
		assert_states_equal(&a->top.ips[i].st, &b->top.ips[i].st);
		assert_int_equal(a->top.ips[i].has_act, b->top.ips[i].has_act);
		assert_memory_equal(&a->top.ips[i].act, &b->top.ips[i].act, sizeof(a->top.ips[i].act));
	}
	assert_int_equal(a->ports.limit, b->ports.limit);
	assert_int_equal(a->ports.n_inbound, b->ports.n_inbound);
	assert_int_equal(a->ports.n_outbound, b->ports.n_outbound);
	for (i = 0; i < a->ports.n_inbound; i++) {
		assert_int_equal(a->ports.inbound[i].port, b->ports.inbound[i].port);
		assert_states_equal(&a->ports.inbound[i].st, &b->ports.inbound[i].st);
	}
	for (i = 0; i < a->ports.n_outbound; i++) {
		assert_int_equal(a->ports.outbound[i].port, b->ports.outbound[i].port);
		assert_states_equal(&a->ports.outbound[i].st, &b->ports.outbound[i].st);
	}
	assert_states_equal(&a->ports.rest, &b->ports.rest);
	assert_int_equal(a->top.limit, b->top.limit);
	assert_int_equal(a->top.threshold_total, b->top.threshold_total);
	assert_int_equal(a->top.threshold_established,
			 b->top.threshold_established);
	assert_int_equal(a->top.threshold_syn_recv, b->top.threshold_syn_recv);
	assert_states_equal(&a->top.rest, &b->top.rest);
	assert_states_equal(&a->top.excluded, &b->top.excluded);
	assert_int_equal(a->top.distinct_ips, b->top.distinct_ips);
	/* protobuf-c keeps map entries in wire order, so the order survives. */
	assert_int_equal(a->n_counters, b->n_counters);
	for (i = 0; i < a->n_counters; i++) {
		assert_string_equal(a->counters[i].name, b->counters[i].name);
		assert_int_equal(a->counters[i].value, b->counters[i].value);
	}
	assert_int_equal(a->n_sysctls, b->n_sysctls);
	for (i = 0; i < a->n_sysctls; i++) {
		assert_string_equal(a->sysctls[i].name, b->sysctls[i].name);
		assert_string_equal(a->sysctls[i].value, b->sysctls[i].value);
	}
	assert_int_equal(a->dropped_reports, b->dropped_reports);
	assert_int_equal(a->collect_us, b->collect_us);
	assert_string_equal(nz(a->source), b->source);
	assert_requests_equal(&a->requests, &b->requests);
}

static void assert_frame_equal(const wire_frame_t *a, const wire_frame_t *b)
{
	size_t i;

	assert_int_equal(a->type, b->type);
	switch (a->type) {
	case WIRE_CHALLENGE:
		assert_int_equal(a->challenge.protocol, b->challenge.protocol);
		assert_memory_equal(a->challenge.nonce, b->challenge.nonce,
				    WIRE_NONCE_LEN);
		break;
	case WIRE_HELLO:
		assert_int_equal(a->hello.protocol, b->hello.protocol);
		assert_memory_equal(a->hello.agent_id, b->hello.agent_id,
				    WIRE_AGENT_ID_LEN);
		assert_string_equal(a->hello.hostname, b->hello.hostname);
		assert_string_equal(a->hello.tier, b->hello.tier);
		assert_string_equal(a->hello.agent_version, b->hello.agent_version);
		assert_int_equal(a->hello.auth_len, b->hello.auth_len);
		assert_memory_equal(a->hello.auth, b->hello.auth, a->hello.auth_len);
		assert_int_equal(a->hello.n_labels, b->hello.n_labels);
		for (i = 0; i < a->hello.n_labels; i++) {
			assert_string_equal(a->hello.labels[i].name,
					    b->hello.labels[i].name);
			assert_string_equal(a->hello.labels[i].value,
					    b->hello.labels[i].value);
		}
		break;
	case WIRE_WELCOME:
		assert_int_equal(a->welcome.protocol, b->welcome.protocol);
		assert_int_equal(a->welcome.last_seq, b->welcome.last_seq);
		break;
	case WIRE_REPORT:
		assert_report_equal(&a->report, &b->report);
		break;
	case WIRE_ACK:
		assert_int_equal(a->ack.seq, b->ack.seq);
		break;
	case WIRE_ERROR:
		assert_int_equal(a->error.code, b->error.code);
		assert_string_equal(a->error.message, b->error.message);
		break;
	case WIRE_NONE:
		fail();
	}
}

/* Encodes f, checks the header, decodes the body and compares. */
static void roundtrip(const wire_frame_t *f)
{
	wire_frame_t got;
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(wire_frame_encode(f, 0, &buf, &len), 0);
	assert_non_null(buf);
	assert_true(len > WIRE_HDR_LEN);
	assert_int_equal((size_t)buf[0] << 24 | (size_t)buf[1] << 16 |
			 (size_t)buf[2] << 8 | buf[3], len - WIRE_HDR_LEN);
	assert_int_equal(wire_frame_decode(buf + WIRE_HDR_LEN,
					   len - WIRE_HDR_LEN, &got), 0);
	assert_frame_equal(f, &got);
	wire_frame_close(&got);
	assert_int_equal(got.type, WIRE_NONE);
	free(buf);
}

/* Packs a protobuf-c Frame built by a test into a new buffer (free()). */
static uint8_t *pack_pb(const Fleetstat__V1__Frame *m, size_t *len)
{
	uint8_t *buf;

	*len = fleetstat__v1__frame__get_packed_size(m);
	buf = malloc(*len > 0 ? *len : 1);
	assert_non_null(buf);
	assert_int_equal(fleetstat__v1__frame__pack(m, buf), *len);
	return buf;
}

static int decode_pb(const Fleetstat__V1__Frame *m)
{
	wire_frame_t f;
	uint8_t *buf;
	size_t len;
	int err;

	buf = pack_pb(m, &len);
	err = wire_frame_decode(buf, len, &f);
	if (err == 0)
		wire_frame_close(&f);
	else
		assert_int_equal(f.type, WIRE_NONE);
	free(buf);
	return err;
}

/*
 * A protobuf-c Hello, so that tests can put on the wire what the encoder
 * would refuse to produce.
 */
static void hello_pb(Fleetstat__V1__Hello *h, uint8_t *id, size_t id_len)
{
	fleetstat__v1__hello__init(h);
	h->protocol = WIRE_PROTOCOL;
	h->agent_id.data = id;
	h->agent_id.len = id_len;
	h->hostname = "db-01";
	h->tier = "db";
}

/* ------------------------------------------------------------------------ */
/* Round trips */

static void test_wire_frame_decode_challenge(void **state)
{
	wire_frame_t f;

	(void)state;
	make_challenge(&f);
	roundtrip(&f);
}

static void test_wire_frame_decode_hello(void **state)
{
	wire_frame_t f;

	(void)state;
	make_hello(&f);
	roundtrip(&f);
	/* Without a token: no auth, no labels, NULL version encodes as "". */
	f.hello.auth_len = 0;
	f.hello.labels = NULL;
	f.hello.n_labels = 0;
	f.hello.agent_version = NULL;
	{
		wire_frame_t got;
		uint8_t *buf;
		size_t len;

		assert_int_equal(wire_frame_encode(&f, 0, &buf, &len), 0);
		assert_int_equal(wire_frame_decode(buf + 4, len - 4, &got), 0);
		assert_int_equal(got.hello.auth_len, 0);
		assert_int_equal(got.hello.n_labels, 0);
		assert_string_equal(got.hello.agent_version, "");
		wire_frame_close(&got);
		free(buf);
	}
}

static void test_wire_frame_decode_welcome(void **state)
{
	wire_frame_t f;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.type = WIRE_WELCOME;
	f.welcome.protocol = WIRE_PROTOCOL;
	f.welcome.last_seq = 0;
	roundtrip(&f);
	f.welcome.last_seq = UINT64_MAX;
	roundtrip(&f);
}

static void test_wire_frame_decode_ack(void **state)
{
	wire_frame_t f;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.type = WIRE_ACK;
	f.ack.seq = 1;
	roundtrip(&f);
	f.ack.seq = UINT64_MAX;
	roundtrip(&f);
}

static void test_wire_frame_decode_error(void **state)
{
	wire_frame_t f;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.type = WIRE_ERROR;
	f.error.code = WIRE_ERR_AUTH_FAILED;
	f.error.message = "auth failed for agent 1011…";
	roundtrip(&f);
	f.error.code = WIRE_ERR_UNSPECIFIED;
	f.error.message = NULL;
	{
		wire_frame_t got;
		uint8_t *buf;
		size_t len;

		assert_int_equal(wire_frame_encode(&f, 0, &buf, &len), 0);
		assert_int_equal(wire_frame_decode(buf + 4, len - 4, &got), 0);
		assert_int_equal(got.error.code, 0);
		assert_string_equal(got.error.message, "");
		wire_frame_close(&got);
		free(buf);
	}
	/* A code from a newer peer comes through as sent. */
	f.error.code = 99;
	f.error.message = "new";
	roundtrip(&f);
}

static void test_wire_frame_decode_report(void **state)
{
	wire_frame_t f;

	(void)state;
	make_report(&f);
	roundtrip(&f);
}

static void test_wire_frame_decode_report_empty_parts(void **state)
{
	wire_frame_t f;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.type = WIRE_REPORT;
	f.report.seq = 1;
	roundtrip(&f);
}

/* ------------------------------------------------------------------------ */
/* Incremental reader */

typedef struct {
	uint8_t *buf;
	size_t len;
	size_t ends[3];     /* offset just past each frame */
	wire_frame_t want[3];
} stream_t;

static void stream_build(stream_t *s)
{
	uint8_t *p[3];
	size_t n[3], i, off = 0;

	make_challenge(&s->want[0]);
	make_hello(&s->want[1]);
	make_report(&s->want[2]);
	s->len = 0;
	for (i = 0; i < 3; i++) {
		assert_int_equal(wire_frame_encode(&s->want[i], 0, &p[i], &n[i]), 0);
		s->len += n[i];
	}
	s->buf = malloc(s->len);
	assert_non_null(s->buf);
	for (i = 0; i < 3; i++) {
		memcpy(s->buf + off, p[i], n[i]);
		off += n[i];
		s->ends[i] = off;
		free(p[i]);
	}
}

/* Feeds one chunk; decodes and checks every frame it completes. */
static void feed_chunk(wire_dec_t *d, stream_t *s, const uint8_t *p, size_t len,
		       size_t *nframes)
{
	while (len > 0) {
		const uint8_t *body;
		size_t blen;
		ssize_t n = wire_dec_feed(d, p, len, &body, &blen);
		wire_frame_t got;

		assert_true(n >= 0);
		if (n == 0) {
			assert_null(body);
			break;
		}
		assert_true((size_t)n <= len);
		assert_non_null(body);
		assert_true(*nframes < 3);
		assert_int_equal(wire_frame_decode(body, blen, &got), 0);
		assert_frame_equal(&s->want[*nframes], &got);
		wire_frame_close(&got);
		(*nframes)++;
		p += n;
		len -= (size_t)n;
	}
}

static void test_wire_dec_feed_whole(void **state)
{
	stream_t s;
	wire_dec_t d;
	size_t nframes = 0;

	(void)state;
	stream_build(&s);
	assert_int_equal(wire_dec_init(&d, 0), 0);
	feed_chunk(&d, &s, s.buf, s.len, &nframes);
	assert_int_equal(nframes, 3);
	assert_int_equal(wire_dec_pending(&d), 0);
	/* Whole frames in one chunk are handed out without a copy. */
	assert_null(d.buf);
	wire_dec_close(&d);
	free(s.buf);
}

static void test_wire_dec_feed_split_every_offset(void **state)
{
	stream_t s;
	size_t k;

	(void)state;
	stream_build(&s);
	for (k = 0; k <= s.len; k++) {
		wire_dec_t d;
		size_t nframes = 0;

		assert_int_equal(wire_dec_init(&d, 0), 0);
		feed_chunk(&d, &s, s.buf, k, &nframes);
		feed_chunk(&d, &s, s.buf + k, s.len - k, &nframes);
		assert_int_equal(nframes, 3);
		assert_int_equal(wire_dec_pending(&d), 0);
		wire_dec_close(&d);
	}
	free(s.buf);
}

/* wire_dec_read's callback: checks each frame against the stream's, stops after `stop_after`. */
typedef struct {
	stream_t *s;
	size_t n, stop_after;
} reader_t;

static int on_read_frame(void *ctx, const uint8_t *body, size_t len)
{
	reader_t *r = ctx;
	wire_frame_t got;

	assert_true(r->n < 3);
	assert_int_equal(wire_frame_decode(body, len, &got), 0);
	assert_frame_equal(&r->s->want[r->n], &got);
	wire_frame_close(&got);
	return ++r->n == r->stop_after;
}

static void test_wire_dec_read_split_every_offset(void **state)
{
	static const uint8_t zero_len[4] = {0, 0, 0, 0};
	stream_t s;
	wire_dec_t d;

	(void)state;
	stream_build(&s);
	for (size_t k = 0; k <= s.len; k++) {
		reader_t r = {.s = &s};

		assert_int_equal(wire_dec_init(&d, 0), 0);
		assert_int_equal(wire_dec_read(&d, s.buf, k, on_read_frame, &r), 0);
		assert_int_equal(wire_dec_read(&d, s.buf + k, s.len - k, on_read_frame, &r), 0);
		assert_int_equal(r.n, 3);
		assert_int_equal(wire_dec_pending(&d), 0);
		wire_dec_close(&d);
	}
	/* A callback that stops: no frame after it is handed out. */
	for (size_t stop = 1; stop <= 3; stop++) {
		reader_t r = {.s = &s, .stop_after = stop};

		assert_int_equal(wire_dec_init(&d, 0), 0);
		assert_int_equal(wire_dec_read(&d, s.buf, s.len, on_read_frame, &r), 0);
		assert_int_equal(r.n, stop);
		wire_dec_close(&d);
	}
	/* A bad length after two good frames: both are handed out, then the error, sticky. */
	{
		reader_t r = {.s = &s};
		uint8_t *bad = malloc(s.ends[1] + sizeof(zero_len));

		assert_non_null(bad);
		memcpy(bad, s.buf, s.ends[1]);
		memcpy(bad + s.ends[1], zero_len, sizeof(zero_len));
		assert_int_equal(wire_dec_init(&d, 0), 0);
		assert_int_equal(wire_dec_read(&d, bad, s.ends[1] + 4, on_read_frame, &r), -EPROTO);
		assert_int_equal(r.n, 2);
		assert_int_equal(wire_dec_read(&d, s.buf, s.len, on_read_frame, &r), -EPROTO);
		assert_int_equal(r.n, 2);
		assert_string_equal(wire_dec_strerror(-EPROTO), "zero-length frame");
		assert_string_equal(wire_dec_strerror(-EMSGSIZE), "frame length above the maximum");
		wire_dec_close(&d);
		free(bad);
	}
	free(s.buf);
}

static void test_wire_dec_feed_byte_at_a_time(void **state)
{
	stream_t s;
	wire_dec_t d;
	size_t i, nframes = 0;

	(void)state;
	stream_build(&s);
	assert_int_equal(wire_dec_init(&d, 0), 0);
	for (i = 0; i < s.len; i++) {
		size_t before = nframes;

		feed_chunk(&d, &s, s.buf + i, 1, &nframes);
		/* A frame completes exactly on its last byte. */
		if (i + 1 == s.ends[before])
			assert_int_equal(nframes, before + 1);
		else
			assert_int_equal(nframes, before);
	}
	assert_int_equal(nframes, 3);
	/* The buffer grew only as far as the largest body. */
	assert_true(d.cap <= s.ends[2] - s.ends[1]);
	wire_dec_close(&d);
	free(s.buf);
}

static void test_wire_dec_feed_truncated(void **state)
{
	stream_t s;
	size_t k;

	(void)state;
	stream_build(&s);
	for (k = 0; k < s.len; k++) {
		wire_dec_t d;
		size_t nframes = 0, complete = 0, i;
		const uint8_t *body;
		size_t blen;

		for (i = 0; i < 3; i++)
			if (s.ends[i] <= k)
				complete++;
		assert_int_equal(wire_dec_init(&d, 0), 0);
		feed_chunk(&d, &s, s.buf, k, &nframes);
		assert_int_equal(nframes, complete);
		assert_int_equal(wire_dec_pending(&d),
				 k - (complete ? s.ends[complete - 1] : 0));
		/* No error while waiting, even when fed nothing. */
		assert_int_equal(wire_dec_feed(&d, s.buf, 0, &body, &blen), 0);
		wire_dec_close(&d);
	}
	free(s.buf);
}

static void test_wire_dec_feed_zero_length(void **state)
{
	static const uint8_t zero[] = { 0, 0, 0, 0, 0x2a, 0x02, 0x08, 0x01 };
	const uint8_t *body;
	size_t blen;
	wire_dec_t d;

	(void)state;
	assert_int_equal(wire_dec_init(&d, 0), 0);
	assert_int_equal(wire_dec_feed(&d, zero, sizeof(zero), &body, &blen),
			 -EPROTO);
	assert_null(body);
	/* Sticky: the stream cannot be resynchronised. */
	assert_int_equal(wire_dec_feed(&d, zero + 4, 4, &body, &blen), -EPROTO);
	wire_dec_close(&d);
}

static void test_wire_dec_feed_too_long(void **state)
{
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 1, 2, 3 };
	uint8_t hdr[4];
	const uint8_t *body;
	size_t blen, i;
	wire_dec_t d;

	(void)state;
	/* 0xFFFFFFFF, split so the check runs on a header built up in pieces. */
	assert_int_equal(wire_dec_init(&d, 0), 0);
	assert_int_equal(wire_dec_feed(&d, huge, 2, &body, &blen), 0);
	assert_int_equal(wire_dec_feed(&d, huge + 2, sizeof(huge) - 2, &body,
				       &blen), -EMSGSIZE);
	assert_null(d.buf);
	assert_int_equal(d.cap, 0);
	wire_dec_close(&d);

	/* max_frame + 1, for the default and a small limit. */
	for (i = 0; i < 2; i++) {
		size_t max = i == 0 ? WIRE_MAX_FRAME : 100;
		uint32_t n = (uint32_t)max + 1;

		hdr[0] = (uint8_t)(n >> 24);
		hdr[1] = (uint8_t)(n >> 16);
		hdr[2] = (uint8_t)(n >> 8);
		hdr[3] = (uint8_t)n;
		assert_int_equal(wire_dec_init(&d, i == 0 ? 0 : max), 0);
		assert_int_equal(wire_dec_feed(&d, hdr, 4, &body, &blen),
				 -EMSGSIZE);
		assert_null(d.buf);
		wire_dec_close(&d);
	}
	assert_int_equal(wire_dec_init(&d, (size_t)UINT32_MAX + 1), -EINVAL);
}

static void test_wire_dec_feed_max_frame(void **state)
{
	const size_t max = WIRE_MAX_FRAME;
	uint8_t *buf = malloc(WIRE_HDR_LEN + max + 1);
	const uint8_t *body;
	size_t blen, off, chunk = 1000;
	int frames = 0;
	wire_dec_t d;

	(void)state;
	assert_non_null(buf);
	buf[0] = (uint8_t)(max >> 24);
	buf[1] = (uint8_t)(max >> 16);
	buf[2] = (uint8_t)(max >> 8);
	buf[3] = (uint8_t)max;
	for (off = 0; off < max; off++)
		buf[WIRE_HDR_LEN + off] = (uint8_t)(off * 31);
	buf[WIRE_HDR_LEN + max] = 0; /* first byte of the next header */

	assert_int_equal(wire_dec_init(&d, 0), 0);
	for (off = 0; off < WIRE_HDR_LEN + max + 1; off += chunk) {
		size_t len = WIRE_HDR_LEN + max + 1 - off;
		ssize_t n;

		if (len > chunk)
			len = chunk;
		n = wire_dec_feed(&d, buf + off, len, &body, &blen);
		assert_true(n >= 0);
		if (n > 0) {
			frames++;
			assert_int_equal(blen, max);
			assert_memory_equal(body, buf + WIRE_HDR_LEN, max);
			assert_true(d.cap <= max);
			/* The rest of the chunk starts the next frame. */
			assert_int_equal(n, len - 1);
			assert_int_equal(wire_dec_feed(&d, buf + off + n, 1,
						       &body, &blen), 0);
			assert_int_equal(wire_dec_pending(&d), 1);
		}
	}
	assert_int_equal(frames, 1);
	wire_dec_close(&d);
	free(buf);
}

static void test_wire_frame_encode_max_frame(void **state)
{
	wire_frame_t f;
	uint8_t *buf = NULL, *buf2 = NULL;
	size_t len, len2;
	wire_dec_t d;
	const uint8_t *body;
	size_t blen;

	(void)state;
	make_report(&f);
	assert_int_equal(wire_frame_encode(&f, 0, &buf, &len), 0);
	/* Exactly the body size is allowed, one byte less is not. */
	assert_int_equal(wire_frame_encode(&f, len - 4, &buf2, &len2), 0);
	assert_int_equal(len2, len);
	free(buf2);
	buf2 = NULL;
	assert_int_equal(wire_frame_encode(&f, len - 5, &buf2, &len2), -EMSGSIZE);
	assert_null(buf2);
	assert_int_equal(wire_dec_init(&d, len - 4), 0);
	assert_int_equal(wire_dec_feed(&d, buf, len, &body, &blen), (ssize_t)len);
	assert_int_equal(blen, len - 4);
	wire_dec_close(&d);
	assert_int_equal(wire_dec_init(&d, len - 5), 0);
	assert_int_equal(wire_dec_feed(&d, buf, len, &body, &blen), -EMSGSIZE);
	wire_dec_close(&d);
	free(buf);
}

/* ------------------------------------------------------------------------ */
/* Validation of network input */

static void test_wire_frame_decode_bad_ip(void **state)
{
	Fleetstat__V1__Frame fm = FLEETSTAT__V1__FRAME__INIT;
	Fleetstat__V1__Report rm = FLEETSTAT__V1__REPORT__INIT;
	Fleetstat__V1__TopRemote tm = FLEETSTAT__V1__TOP_REMOTE__INIT;
	Fleetstat__V1__RemoteIp im = FLEETSTAT__V1__REMOTE_IP__INIT;
	Fleetstat__V1__RemoteIp *ims[1] = { &im };
	Fleetstat__V1__Listener lm = FLEETSTAT__V1__LISTENER__INIT;
	Fleetstat__V1__Listener *lms[1] = { &lm };
	uint8_t ip[17] = { 10, 0, 0, 1 };
	wire_frame_t f;
	size_t lens[] = { 0, 1, 3, 5, 7, 15, 17 };
	size_t i;

	(void)state;
	fm.body_case = FLEETSTAT__V1__FRAME__BODY_REPORT;
	fm.report = &rm;
	rm.seq = 1;
	rm.top = &tm;
	tm.n_ips = 1;
	tm.ips = ims;
	im.ip.data = ip;
	rm.n_listeners = 1;
	rm.listeners = lms;
	lm.ip.data = ip;
	lm.port = 80;

	im.ip.len = 4;
	lm.ip.len = 16;
	assert_int_equal(decode_pb(&fm), 0);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		im.ip.len = lens[i];
		lm.ip.len = 4;
		assert_int_equal(decode_pb(&fm), -EINVAL);
		im.ip.len = 16;
		lm.ip.len = lens[i];
		assert_int_equal(decode_pb(&fm), -EINVAL);
	}
	/* A port above 65535. */
	lm.ip.len = 4;
	lm.port = 65536;
	assert_int_equal(decode_pb(&fm), -EINVAL);

	/* The same rules on the plain struct, as the collector calls them. */
	make_report(&f);
	assert_int_equal(wire_report_validate(&f.report), 0);
	report_ips[5].ip.len = 7;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	{
		uint8_t *buf = NULL;
		size_t len;

		assert_int_equal(wire_frame_encode(&f, 0, &buf, &len), -EINVAL);
		assert_null(buf);
	}
	report_ips[5].ip.len = 4;
	report_listeners[1].ip.len = 7;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	report_listeners[1].ip.len = 4;
}

static void test_wire_hello_validate_tier(void **state)
{
	static const char *const bad[] = {
		"", "web tier", "Web", "WEB", "web\n", "wéb", "web.1",
		"abcdefghijklmnopqrstuvwxyz0123456", /* 33 */
	};
	static const char *const good[] = {
		"web", "lvs", "db", "a", "web_2", "edge-fra1",
		"abcdefghijklmnopqrstuvwxyz012345", /* 32 */
	};
	Fleetstat__V1__Frame fm = FLEETSTAT__V1__FRAME__INIT;
	Fleetstat__V1__Hello hm;
	uint8_t id[WIRE_AGENT_ID_LEN] = { 1 };
	wire_frame_t f;
	size_t i;

	(void)state;
	hello_pb(&hm, id, sizeof(id));
	fm.body_case = FLEETSTAT__V1__FRAME__BODY_HELLO;
	fm.hello = &hm;
	make_hello(&f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f.hello.tier = (char *)bad[i];
		assert_false(wire_tier_valid(bad[i]));
		assert_int_equal(wire_hello_validate(&f.hello), -EINVAL);
		hm.tier = (char *)bad[i];
		assert_int_equal(decode_pb(&fm), -EINVAL);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		f.hello.tier = (char *)good[i];
		assert_true(wire_tier_valid(good[i]));
		assert_int_equal(wire_hello_validate(&f.hello), 0);
		hm.tier = (char *)good[i];
		assert_int_equal(decode_pb(&fm), 0);
	}
	f.hello.tier = NULL;
	assert_int_equal(wire_hello_validate(&f.hello), -EINVAL);
}

static void test_wire_hello_validate_hostname(void **state)
{
	static const char *const bad[] = {
		"",                 /* empty */
		"web\x01-01",        /* C0 control */
		"web\t01",
		"web01\n",
		"web\x7f",          /* DEL */
		"web\xc2\x85",      /* C1 control U+0085 */
		"web\xff",          /* not UTF-8 */
		"web\xc0\xaf",      /* overlong '/' */
		"web\xe0\x80\xaf",  /* overlong '/' */
		"web\xed\xa0\x80",  /* UTF-16 surrogate */
		"web\xf4\x90\x80\x80", /* above U+10FFFF */
		"web\xc3",          /* truncated sequence */
		"web\xe2\x82",
	};
	static const char *const good[] = {
		"web-01", "web 01.example.org", "höst-ü", "主机",
		"\xf0\x9f\x90\xa7", /* U+1F427 */
	};
	Fleetstat__V1__Frame fm = FLEETSTAT__V1__FRAME__INIT;
	Fleetstat__V1__Hello hm;
	uint8_t id[WIRE_AGENT_ID_LEN] = { 1 };
	char longname[WIRE_MAX_STR + 2];
	wire_frame_t f;
	size_t i;

	(void)state;
	hello_pb(&hm, id, sizeof(id));
	fm.body_case = FLEETSTAT__V1__FRAME__BODY_HELLO;
	fm.hello = &hm;
	make_hello(&f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f.hello.hostname = (char *)bad[i];
		assert_int_equal(wire_hello_validate(&f.hello), -EINVAL);
		hm.hostname = (char *)bad[i];
		/* protobuf-c may refuse bad UTF-8 itself (-EPROTO). */
		assert_true(decode_pb(&fm) < 0);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		f.hello.hostname = (char *)good[i];
		assert_int_equal(wire_hello_validate(&f.hello), 0);
		hm.hostname = (char *)good[i];
		assert_int_equal(decode_pb(&fm), 0);
	}
	/* 255 bytes are fine, 256 are not. */
	memset(longname, 'h', sizeof(longname));
	longname[WIRE_MAX_STR] = '\0';
	hm.hostname = longname;
	assert_int_equal(decode_pb(&fm), 0);
	longname[WIRE_MAX_STR] = 'h';
	longname[WIRE_MAX_STR + 1] = '\0';
	assert_int_equal(decode_pb(&fm), -EINVAL);
	f.hello.hostname = longname;
	assert_int_equal(wire_hello_validate(&f.hello), -EINVAL);
	/* The same rules apply to labels, versions, sysctls and counters. */
	hm.hostname = "db-01";
	hm.agent_version = "1.0\x1b[31m";
	assert_int_equal(decode_pb(&fm), -EINVAL);
}

static void test_wire_frame_decode_bad_lengths(void **state)
{
	Fleetstat__V1__Frame fm = FLEETSTAT__V1__FRAME__INIT;
	Fleetstat__V1__Hello hm;
	Fleetstat__V1__Challenge cm = FLEETSTAT__V1__CHALLENGE__INIT;
	uint8_t bytes[64] = { 1, 2, 3 };

	(void)state;
	/* agent_id: exactly 16 bytes. */
	fm.body_case = FLEETSTAT__V1__FRAME__BODY_HELLO;
	fm.hello = &hm;
	hello_pb(&hm, bytes, 16);
	assert_int_equal(decode_pb(&fm), 0);
	hello_pb(&hm, bytes, 15);
	assert_int_equal(decode_pb(&fm), -EINVAL);
	hello_pb(&hm, bytes, 17);
	assert_int_equal(decode_pb(&fm), -EINVAL);
	hello_pb(&hm, bytes, 0);
	assert_int_equal(decode_pb(&fm), -EINVAL);

	/* auth: 0 or 32 bytes. */
	hello_pb(&hm, bytes, 16);
	hm.auth.data = bytes;
	hm.auth.len = 32;
	assert_int_equal(decode_pb(&fm), 0);
	hm.auth.len = 31;
	assert_int_equal(decode_pb(&fm), -EINVAL);
	hm.auth.len = 33;
	assert_int_equal(decode_pb(&fm), -EINVAL);

	/* nonce: exactly 32 bytes. */
	fm.body_case = FLEETSTAT__V1__FRAME__BODY_CHALLENGE;
	fm.challenge = &cm;
	cm.protocol = WIRE_PROTOCOL;
	cm.nonce.data = bytes;
	cm.nonce.len = 32;
	assert_int_equal(decode_pb(&fm), 0);
	cm.nonce.len = 31;
	assert_int_equal(decode_pb(&fm), -EINVAL);
	cm.nonce.len = 0;
	assert_int_equal(decode_pb(&fm), -EINVAL);
	/* protocol 0 is not a protocol. */
	cm.nonce.len = 32;
	cm.protocol = 0;
	assert_int_equal(decode_pb(&fm), -EINVAL);
}

static void test_wire_frame_decode_bad_body(void **state)
{
	/* Raw Frame bodies. */
	static const struct {
		const char *bytes;
		size_t len;
		int err;
	} cases[] = {
		{ "\x3a\x00", 2, -EPROTO },         /* unknown oneof field 7 */
		{ "\x38\x01", 2, -EPROTO },         /* unknown varint field 7 */
		{ "\x0a\x00", 2, -EINVAL },         /* empty Challenge: no nonce */
		{ "\x12\x00", 2, -EINVAL },         /* empty Hello */
		{ "\x1a\x00", 2, -EINVAL },         /* empty Welcome: protocol 0 */
		{ "\x22\x00", 2, -EINVAL },         /* empty Report: seq 0 */
		{ "\x2a\x00", 2, -EINVAL },         /* empty Ack: seq 0 */
		{ "\x2a\x02\x08\x07", 4, 0 },       /* Ack{seq 7} */
		{ "\xff\xff\xff\xff", 4, -EPROTO }, /* garbage */
		{ "\x00", 1, -EPROTO },             /* field number 0 */
		{ "\x2a\x05\x08\x07", 4, -EPROTO }, /* length past the end */
		{ "\x2a\x02\x08", 3, -EPROTO },     /* truncated */
		{ "GET / HTTP/1.1\r\n", 16, -EPROTO },
		{ "\x0b\x0c", 2, -EPROTO },         /* deprecated group */
	};
	wire_frame_t f;
	uint8_t noise[256];
	size_t i;
	int err;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = wire_frame_decode((const uint8_t *)cases[i].bytes,
					cases[i].len, &f);
		if (err != cases[i].err)
			print_error("case %zu: %d\n", i, err);
		assert_int_equal(err, cases[i].err);
		if (err == 0)
			wire_frame_close(&f);
	}
	/* A NUL inside a string, which protobuf-c alone would cut short. */
	{
		static const uint8_t err_nul[] = { 0x32, 0x04, 0x12, 0x02, 'a', 0 };
		static const uint8_t ctr_nul[] = {
			0x22, 0x0b, 0x08, 0x01,        /* Report{seq 1 */
			0x3a, 0x07,                    /*   counters{ */
			0x0a, 0x03, 'a', 0x00, 'b',    /*     key "a\0b" */
			0x10, 0x05,                    /*     value 5 }} */
		};
		uint8_t hello_nul[] = {
			0x12, 0x1d,                    /* Hello{ */
			0x08, 0x01,                    /*   protocol 1 */
			0x12, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
			14, 15, 16,                    /*   agent_id */
			0x1a, 0x03, 'a', 0x00, 'b',    /*   hostname "a\0b" */
			0x22, 0x02, 'd', 'b',          /*   tier "db" } */
		};

		assert_int_equal(wire_frame_decode(err_nul, sizeof(err_nul), &f),
				 -EINVAL);
		assert_int_equal(wire_frame_decode(ctr_nul, sizeof(ctr_nul), &f),
				 -EINVAL);
		assert_int_equal(wire_frame_decode(hello_nul, sizeof(hello_nul),
						   &f), -EINVAL);
		/* The same frames without the NUL are fine. */
		hello_nul[25] = 'x';
		assert_int_equal(wire_frame_decode(hello_nul, sizeof(hello_nul),
						   &f), 0);
		assert_string_equal(f.hello.hostname, "axb");
		wire_frame_close(&f);
	}

	/* No body at all: an empty buffer is an empty Frame. */
	assert_int_equal(wire_frame_decode((const uint8_t *)"", 0, &f), -EPROTO);

	/* Deterministic noise: anything but success-with-garbage is fine. */
	srand(1);
	for (i = 0; i < 2000; i++) {
		size_t n = 1 + (size_t)rand() % sizeof(noise), k;

		for (k = 0; k < n; k++)
			noise[k] = (uint8_t)rand();
		err = wire_frame_decode(noise, n, &f);
		assert_true(err == 0 || err == -EPROTO || err == -EINVAL);
		if (err == 0) {
			assert_int_equal(wire_frame_validate(&f), 0);
			wire_frame_close(&f);
		}
	}
}

static void test_wire_frame_decode_truncated_body(void **state)
{
	wire_frame_t f, got;
	uint8_t *buf;
	size_t len, k;

	(void)state;
	make_report(&f);
	assert_int_equal(wire_frame_encode(&f, 0, &buf, &len), 0);
	/* The body is one length-delimited field: every strict prefix is bad. */
	for (k = 0; k < len - WIRE_HDR_LEN; k++)
		assert_int_equal(wire_frame_decode(buf + WIRE_HDR_LEN, k, &got),
				 -EPROTO);
	free(buf);
}

static void test_wire_report_validate_limits(void **state)
{
	wire_frame_t f;
	wire_counter_t *many;
	wire_kv_t dup[2] = { { "a", "1" }, { "a", "2" } };
	char (*names)[16];
	size_t i;

	(void)state;
	make_report(&f);
	f.report.seq = 0;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	f.report.seq = 1;

	/* Ports: 1..65535, once each way, within limit, adding up to the table. */
	assert_int_equal(wire_report_validate(&f.report), 0);
	report_in[1].port = 443;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	report_in[1].port = 3306; /* the same port the other way is fine */
	assert_int_equal(wire_report_validate(&f.report), 0);
	report_in[1].port = 0;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	report_in[1].port = 65536;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	report_in[1].port = 80;
	f.report.ports.limit = 1;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	f.report.ports.limit = 16;
	f.report.ports.rest.n[WIRE_CLOSE_WAIT]++;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	f.report.ports.rest.n[WIRE_CLOSE_WAIT]--;

	/* Requests: classes add up, each listed one within the total and above the bound. */
	{
		wire_requests_t *q = &f.report.requests;

		assert_int_equal(wire_report_validate(&f.report), 0);
		q->by_status[0]++;
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);
		q->by_status[0]--;
		report_clients[1].requests = 6;                 /* below clients_unlisted_max */
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);
		report_clients[1].requests = 1001;              /* above the total */
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);
		report_clients[1].requests = 90;
		report_clients[1].error = 91;
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);
		report_clients[1].error = 5;
		report_clients[1].by_status[4] = 10;            /* 95 classified of 90 */
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);
		report_clients[1].by_status[4] = 0;
		report_clients[0].requests = 950;               /* 950 + 85 sure of 1000 */
		report_clients[0].by_status[1] = 940;
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);
		report_clients[0].requests = 600;
		report_clients[0].by_status[1] = 590;
		q->limit = 1;
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);
		q->limit = 20;
		report_hosts[0].host = "";
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);
		report_hosts[0].host = "shop.example";
		report_clients[1].ip = report_clients[0].ip;     /* a client twice */
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);
		report_clients[1].ip = (wire_ip_t){.len = 16, .b = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x66}};
		assert_int_equal(wire_report_validate(&f.report), 0);
		report_marks[0].path = "relative/access.log";
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);
		report_marks[0].path = "/var/log/nginx/access.log";
		q->present = false;
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);   /* lists without it */
		q->present = true;
		assert_int_equal(wire_report_validate(&f.report), 0);
	}
	report_out[0].st.n[WIRE_LISTEN] = 1;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	report_out[0].st.n[WIRE_LISTEN] = 0;
	f.report.ports = (wire_ports_t){0}; /* an agent before ports */
	assert_int_equal(wire_report_validate(&f.report), 0);
	f.report.ports.rest.n[WIRE_ESTABLISHED] = 1; /* not split, yet a rest */
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	make_report(&f);
	f.report.seq = 1;

	/* Activity: each count at most the IP's ESTABLISHED. */
	{
		wire_remote_t *e = &f.report.top.ips[0];
		uint32_t est = e->st.n[WIRE_ESTABLISHED];

		assert_true(e->has_act);
		assert_int_equal(wire_report_validate(&f.report), 0);
		e->act.unanswered = est + 1;
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);
		e->act.unanswered = est;
		e->act.idle = est + 1;
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);
		e->act.idle = 0;
		e->act.active = UINT32_MAX;
		assert_int_equal(wire_report_validate(&f.report), -EINVAL);
		e->has_act = false; /* not measured: the counts are not looked at */
		assert_int_equal(wire_report_validate(&f.report), 0);
		e->has_act = true;
		e->act.active = est / 2;
	}

	/* Counters: 1024 distinct are fine, 1025 or a duplicate are not. */
	many = calloc(WIRE_MAX_COUNTERS + 1, sizeof(*many));
	names = calloc(WIRE_MAX_COUNTERS + 1, sizeof(*names));
	assert_non_null(many);
	assert_non_null(names);
	for (i = 0; i <= WIRE_MAX_COUNTERS; i++) {
		snprintf(names[i], sizeof(names[i]), "Ctr.n%zu", i);
		many[i].name = names[i];
		many[i].value = i;
	}
	f.report.counters = many;
	f.report.n_counters = WIRE_MAX_COUNTERS;
	assert_int_equal(wire_report_validate(&f.report), 0);
	roundtrip(&f);
	f.report.n_counters = WIRE_MAX_COUNTERS + 1;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	f.report.n_counters = WIRE_MAX_COUNTERS;
	snprintf(names[700], sizeof(names[700]), "Ctr.n3");
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	many[0].name = "";
	f.report.n_counters = 1;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	f.report.counters = report_counters;
	f.report.n_counters = 4;

	/* Sysctls: duplicate names, a TAB in a value, NULL array. */
	f.report.sysctls = dup;
	f.report.n_sysctls = 2;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	dup[1].name = "b";
	assert_int_equal(wire_report_validate(&f.report), 0);
	dup[1].value = "32768\t60999";
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	f.report.sysctls = NULL;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	f.report.n_sysctls = 0;
	assert_int_equal(wire_report_validate(&f.report), 0);

	/* Source string. */
	f.report.source = "net\x01link";
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	f.report.source = NULL;
	assert_int_equal(wire_report_validate(&f.report), 0);

	/* Top IPs above the cap. */
	f.report.top.n_ips = WIRE_MAX_TOP_IPS + 1;
	assert_int_equal(wire_report_validate(&f.report), -EINVAL);
	free(many);
	free(names);
}

static void test_wire_frame_decode_caps(void **state)
{
	Fleetstat__V1__Frame fm = FLEETSTAT__V1__FRAME__INIT;
	Fleetstat__V1__Report rm = FLEETSTAT__V1__REPORT__INIT;
	Fleetstat__V1__TopRemote tm = FLEETSTAT__V1__TOP_REMOTE__INIT;
	Fleetstat__V1__RemoteIp *ims, **pims;
	uint8_t ip[4] = { 192, 0, 2, 1 };
	size_t i;

	(void)state;
	ims = calloc(WIRE_MAX_TOP_IPS + 1, sizeof(*ims));
	pims = calloc(WIRE_MAX_TOP_IPS + 1, sizeof(*pims));
	assert_non_null(ims);
	assert_non_null(pims);
	for (i = 0; i <= WIRE_MAX_TOP_IPS; i++) {
		fleetstat__v1__remote_ip__init(&ims[i]);
		ims[i].ip.data = ip;
		ims[i].ip.len = 4;
		pims[i] = &ims[i];
	}
	fm.body_case = FLEETSTAT__V1__FRAME__BODY_REPORT;
	fm.report = &rm;
	rm.seq = 9;
	rm.top = &tm;
	tm.ips = pims;
	tm.n_ips = WIRE_MAX_TOP_IPS;
	assert_int_equal(decode_pb(&fm), 0);
	tm.n_ips = WIRE_MAX_TOP_IPS + 1;
	assert_int_equal(decode_pb(&fm), -EINVAL);
	free(ims);
	free(pims);
}

static void test_wire_frame_encode_invalid(void **state)
{
	wire_frame_t f;
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(wire_frame_encode(&f, 0, &buf, &len), -EINVAL);
	f.type = (wire_type_t)7;
	assert_int_equal(wire_frame_encode(&f, 0, &buf, &len), -EINVAL);
	make_hello(&f);
	f.hello.tier = "Web";
	assert_int_equal(wire_frame_encode(&f, 0, &buf, &len), -EINVAL);
	make_hello(&f);
	f.hello.auth_len = 16;
	assert_int_equal(wire_frame_encode(&f, 0, &buf, &len), -EINVAL);
	make_challenge(&f);
	assert_int_equal(wire_frame_encode(&f, (size_t)UINT32_MAX + 1, &buf,
					   &len), -EINVAL);
	assert_null(buf);
	assert_int_equal(len, 0);
	wire_frame_close(NULL);
	wire_dec_close(NULL);
}

/* ------------------------------------------------------------------------ */
/* report.c */

static void test_wire_state_name_all(void **state)
{
	static const char *const names[] = {
		NULL, "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
		"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
		"LISTEN", "CLOSING",
	};
	int s;

	(void)state;
	for (s = 1; s < WIRE_NSTATES; s++) {
		assert_string_equal(wire_state_name(s), names[s]);
		assert_int_equal(wire_state_parse(names[s], strlen(names[s])), s);
		for (size_t i = 0; names[s][i]; i++) /* the key: the name in lower case */
			assert_int_equal(wire_state_key(s)[i], tolower((unsigned char)names[s][i]));
		assert_int_equal(strlen(wire_state_key(s)), strlen(names[s]));
	}
	assert_null(wire_state_key(0));
	assert_null(wire_state_key(WIRE_NSTATES));
	assert_null(wire_state_name(0));
	assert_null(wire_state_name(12));
	assert_null(wire_state_name(-1));
	assert_int_equal(wire_state_parse("CLOSE_WAIT", 5), WIRE_CLOSE);
	assert_int_equal(wire_state_parse("CLOS", 4), 0);
	assert_int_equal(wire_state_parse("established", 11), 0);
	assert_int_equal(wire_state_parse("LISTENING", 9), 0);
	assert_int_equal(wire_state_parse("", 0), 0);
	assert_int_equal(wire_state_parse(NULL, 0), 0);
}

/* Networks of both families: host bits cleared, edges of a prefix, mapped IPv4 folded, refusals. */
static void test_wire_cidr(void **state)
{
	wire_cidr_t c;
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	static const char *const bad[] = {"10.0.0.0/33", "x", "10.0.0.0/", "/8", "10.0.0.0/8/8",
	                                  "10.0.0.0/-1", "10.0.0.0/8x", "300.0.0.0/8",
	                                  "2001:db8::/129", "", " 10.0.0.0/8"};
#define IN(a, b, c_, d) wire_cidr_match(&c, (const uint8_t[]){a, b, c_, d}, 4)

	(void)state;
	assert_int_equal(wire_cidr_parse("10.9.9.9/8", 10, &c), 0);
	assert_int_equal(c.net.len, 4);
	assert_int_equal(c.bits, 8);
	assert_int_equal(c.net.b[1], 0); /* host bits cleared */
	assert_true(IN(10, 1, 2, 3));
	assert_false(IN(11, 0, 0, 1));
	assert_false(wire_cidr_match(&c, v6, 16));
	assert_int_equal(wire_cidr_parse("198.51.100.64/26", 16, &c), 0);
	assert_true(IN(198, 51, 100, 127));
	assert_false(IN(198, 51, 100, 128));
	assert_false(IN(198, 51, 100, 63));
	assert_int_equal(wire_cidr_parse("192.0.2.7", 9, &c), 0);
	assert_int_equal(c.bits, 32);
	assert_true(IN(192, 0, 2, 7));
	assert_false(IN(192, 0, 2, 8));
	/* Only len bytes are read: "192.0.2.7/24" cut at 9 is the address alone. */
	assert_int_equal(wire_cidr_parse("192.0.2.7/24", 9, &c), 0);
	assert_int_equal(c.bits, 32);
	assert_int_equal(wire_cidr_parse("2001:db8::/32", 13, &c), 0);
	assert_int_equal(c.net.len, 16);
	assert_true(wire_cidr_match(&c, v6, 16));
	assert_false(IN(32, 1, 13, 184));
	assert_int_equal(wire_cidr_parse("0.0.0.0/0", 9, &c), 0);
	assert_true(IN(203, 0, 113, 9));
	/* IPv4-mapped networks are IPv4 ones, as the agents fold mapped peers. */
	assert_int_equal(wire_cidr_parse("::ffff:198.18.0.0/111", 21, &c), 0);
	assert_int_equal(c.net.len, 4);
	assert_int_equal(c.bits, 15);
	assert_true(IN(198, 19, 77, 7));
	assert_false(IN(198, 20, 0, 1));
	assert_int_equal(wire_cidr_parse("::ffff:198.51.100.10", 20, &c), 0);
	assert_true(IN(198, 51, 100, 10));
	/* Shorter than /96 it is not IPv4 any more. */
	assert_int_equal(wire_cidr_parse("::ffff:0:0/80", 13, &c), 0);
	assert_int_equal(c.net.len, 16);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(wire_cidr_parse(bad[i], strlen(bad[i]), &c), -EINVAL);
	assert_int_equal(wire_cidr_parse("10.0.0.0/8\0", 11, &c), -EINVAL);
#undef IN
}

static void test_wire_report_close_zeroes(void **state)
{
	wire_frame_t f, got;
	uint8_t *buf;
	size_t len;

	(void)state;
	make_report(&f);
	assert_int_equal(wire_frame_encode(&f, 0, &buf, &len), 0);
	assert_int_equal(wire_frame_decode(buf + 4, len - 4, &got), 0);
	wire_report_close(&got.report);
	assert_null(got.report.listeners);
	assert_null(got.report.top.ips);
	assert_int_equal(got.report.n_counters, 0);
	wire_report_close(&got.report); /* twice is harmless */
	wire_report_close(NULL);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_frame_decode_challenge),
		cmocka_unit_test(test_wire_frame_decode_hello),
		cmocka_unit_test(test_wire_frame_decode_welcome),
		cmocka_unit_test(test_wire_frame_decode_ack),
		cmocka_unit_test(test_wire_frame_decode_error),
		cmocka_unit_test(test_wire_frame_decode_report),
		cmocka_unit_test(test_wire_frame_decode_report_empty_parts),
		cmocka_unit_test(test_wire_dec_feed_whole),
		cmocka_unit_test(test_wire_dec_feed_split_every_offset),
		cmocka_unit_test(test_wire_dec_feed_byte_at_a_time),
		cmocka_unit_test(test_wire_dec_read_split_every_offset),
		cmocka_unit_test(test_wire_dec_feed_truncated),
		cmocka_unit_test(test_wire_dec_feed_zero_length),
		cmocka_unit_test(test_wire_dec_feed_too_long),
		cmocka_unit_test(test_wire_dec_feed_max_frame),
		cmocka_unit_test(test_wire_frame_encode_max_frame),
		cmocka_unit_test(test_wire_frame_decode_bad_ip),
		cmocka_unit_test(test_wire_hello_validate_tier),
		cmocka_unit_test(test_wire_hello_validate_hostname),
		cmocka_unit_test(test_wire_frame_decode_bad_lengths),
		cmocka_unit_test(test_wire_frame_decode_bad_body),
		cmocka_unit_test(test_wire_frame_decode_truncated_body),
		cmocka_unit_test(test_wire_report_validate_limits),
		cmocka_unit_test(test_wire_frame_decode_caps),
		cmocka_unit_test(test_wire_frame_encode_invalid),
		cmocka_unit_test(test_wire_state_name_all),
		cmocka_unit_test(test_wire_cidr),
		cmocka_unit_test(test_wire_report_close_zeroes),
	};

	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
