/* SPDX-License-Identifier: MIT */
/* test_advice.c: each tuning rule fires at its edge and not below it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "advice.h"

typedef struct {
	col_host_t h;
	col_sysctl_t s[8];
	size_t n;
	col_host_rates_t r;
	wire_remote_t ips[2];
} fx_t;

static void fx_init(fx_t *f)
{
	memset(f, 0, sizeof(*f));
	f->h = (col_host_t){.id = 1, .hostname = "web1", .tier = "web", .has_report = true};
	f->r.host = &f->h;
	for (int c = 0; c < COL_NCTRS; c++)
		f->r.per_min[c] = 0;
}

static void set(fx_t *f, const char *name, const char *value)
{
	f->s[f->n++] = (col_sysctl_t){.host_id = 1, .name = name, .value = value};
}

/* The rules that fire, as "name: figures" lines. */
static char *run(fx_t *f, bool with_rates)
{
	col_advice_in_t in = {&f->h, f->s, f->n, with_rates ? &f->r : NULL};
	col_advice_t a[8];
	size_t n = 0;
	static char out[2048];
	size_t len = 0;

	assert_int_equal(col_advice_host(&in, a, 8, &n), 0);
	out[0] = '\0';
	for (size_t i = 0; i < n && i < 8; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s: %s\n",
		                        col_advice_name(a[i].rule), a[i].figures);
	return out;
}

static void test_tw_recycle(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	set(&f, "net.ipv4.tcp_tw_recycle", "0");
	assert_string_equal(run(&f, false), "");
	f.s[0].value = "1";
	assert_string_equal(run(&f, false), "tw_recycle: net.ipv4.tcp_tw_recycle = 1\n");
}

static void test_tw_buckets(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	set(&f, "net.ipv4.tcp_max_tw_buckets", "10000");
	f.h.states.n[WIRE_TIME_WAIT] = 7999;
	assert_string_equal(run(&f, true), "");
	f.h.states.n[WIRE_TIME_WAIT] = 8000;
	assert_string_equal(run(&f, true), "tw_buckets: TIME_WAIT 8000 of tcp_max_tw_buckets 10000;"
	                                   " TCPTimeWaitOverflow 0.0/min\n");
	/* Below the mark, but the kernel already overflowed. */
	f.h.states.n[WIRE_TIME_WAIT] = 100;
	f.r.per_min[COL_CTR_TW_OVERFLOW] = 2.5;
	assert_string_equal(run(&f, true), "tw_buckets: TIME_WAIT 100 of tcp_max_tw_buckets 10000;"
	                                   " TCPTimeWaitOverflow 2.5/min\n");
}

static void test_listen_overflow(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	set(&f, "net.core.somaxconn", "128");
	assert_string_equal(run(&f, true), "");
	assert_string_equal(run(&f, false), "");   /* no rates: unknown, not zero */
	f.r.per_min[COL_CTR_LISTEN_DROPS] = 0.5;
	assert_string_equal(run(&f, true), "listen_overflow: ListenOverflows 0.0/min, ListenDrops"
	                                   " 0.5/min; somaxconn 128, tcp_max_syn_backlog ?\n");
	/* The listener nearest its backlog is named: 100 of 128 beats 500 of 4096. */
	wire_listener_t l[3] = {
		{.ip = {.len = 4}, .port = 80, .accept_queue = 500, .backlog = 4096},
		{.ip = {.len = 16, .b = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}}, .port = 8080,
		 .accept_queue = 100, .backlog = 128},
		{.ip = {.len = 4}, .port = 22, .accept_queue = 0, .backlog = 128},
	};
	f.h.listeners = l;
	f.h.n_listeners = 3;
	f.r.per_min[COL_CTR_LISTEN_OVERFLOWS] = 12;
	assert_string_equal(run(&f, true), "listen_overflow: ListenOverflows 12.0/min, ListenDrops"
	                                   " 0.5/min; somaxconn 128, tcp_max_syn_backlog ?; fullest"
	                                   " listener [2001:db8::1]:8080 queue 100 of backlog 128\n");
}

static void test_syncookies(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	set(&f, "net.ipv4.tcp_syncookies", "0");
	f.h.states.n[WIRE_SYN_RECV] = 99;
	assert_string_equal(run(&f, false), "");
	f.h.states.n[WIRE_SYN_RECV] = 100;
	assert_string_equal(run(&f, false), "syncookies: SYN_RECV 100 with tcp_syncookies = 0\n");
	/* A small SYN backlog: half of it is the spike. */
	set(&f, "net.ipv4.tcp_max_syn_backlog", "64");
	f.h.states.n[WIRE_SYN_RECV] = 32;
	assert_string_equal(run(&f, false), "syncookies: SYN_RECV 32 with tcp_syncookies = 0\n");
	f.s[0].value = "1";
	assert_string_equal(run(&f, false), "");
}

static void test_port_range(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	set(&f, "net.ipv4.ip_local_port_range", "32768\t60999");
	f.ips[0] = (wire_remote_t){.ip = {4, {10, 0, 0, 5}}};
	f.ips[1] = (wire_remote_t){.ip = {4, {10, 0, 0, 6}}};
	f.ips[0].st.n[WIRE_TIME_WAIT] = 3000;
	f.ips[1].st.n[WIRE_TIME_WAIT] = 14115;   /* 28,232 ports: half is 14,116 */
	f.h.top.ips = f.ips;
	f.h.top.n_ips = 2;
	assert_string_equal(run(&f, false), "");
	f.ips[1].st.n[WIRE_TIME_WAIT] = 14116;
	assert_string_equal(run(&f, false), "port_range: TIME_WAIT 14116 with 10.0.0.6;"
	                                    " ip_local_port_range 32768-60999 (28232 ports)\n");
}

static void test_conntrack(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	set(&f, "net.netfilter.nf_conntrack_max", "262144");
	set(&f, "net.netfilter.nf_conntrack_count", "209715");
	assert_string_equal(run(&f, false), "");
	f.s[1].value = "209716";   /* 80% is 209,715.2 */
	assert_string_equal(run(&f, false), "conntrack: nf_conntrack_count 209716 of"
	                                    " nf_conntrack_max 262144\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tw_recycle),
		cmocka_unit_test(test_tw_buckets),
		cmocka_unit_test(test_listen_overflow),
		cmocka_unit_test(test_syncookies),
		cmocka_unit_test(test_port_range),
		cmocka_unit_test(test_conntrack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
