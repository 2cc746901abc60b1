/* SPDX-License-Identifier: MIT */
/* test_print.c: the awk, json and table renderings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "buf.h"
#include "kstat.h"
#include "print.h"

/* A small report built by hand; the caller closes it. */
static void make_report(wire_report_t *r)
{
	memset(r, 0, sizeof(*r));
	r->collected_at_ms = 1700000000123;
	r->collect_us = 1500;
	r->source = strdup("netlink");
	r->states.n[WIRE_ESTABLISHED] = 7;
	r->states.n[WIRE_TIME_WAIT] = 9;
	r->states.n[WIRE_SYN_RECV] = 7;
	r->states.n[WIRE_CLOSE_WAIT] = 1;
	r->n_listeners = 1;
	r->listeners = calloc(1, sizeof(*r->listeners));
	r->listeners[0].ip.len = 16;
	r->listeners[0].port = 443;
	r->listeners[0].accept_queue = 3;
	r->listeners[0].backlog = 511;
	r->top.limit = 20;
	r->top.n_ips = 2;
	r->top.ips = calloc(2, sizeof(*r->top.ips));
	r->top.ips[0].ip.len = 4;
	inet_pton(AF_INET, "198.18.0.1", r->top.ips[0].ip.b);
	r->top.ips[0].st.n[WIRE_SYN_RECV] = 7;
	r->top.ips[0].st.n[WIRE_ESTABLISHED] = 2;
	r->top.ips[1].ip.len = 16;
	inet_pton(AF_INET6, "2001:db8::5", r->top.ips[1].ip.b);
	r->top.ips[1].st.n[WIRE_TIME_WAIT] = 9;
	r->top.rest.n[WIRE_ESTABLISHED] = 4;
	r->top.excluded.n[WIRE_ESTABLISHED] = 1;
	r->top.excluded.n[WIRE_CLOSE_WAIT] = 1;
	r->top.distinct_ips = 3;
	ag_kstat_add_counter(r, "TcpExt.ListenOverflows", 12);
	ag_kstat_add_sysctl(r, "net.ipv4.ip_local_port_range", "32768\t60999", 11);
}

static void test_ag_print_awk_order(void **state)
{
	wire_report_t r;
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	make_report(&r);
	assert_int_equal(ag_print_awk(&r, &b), 0);
	/* Largest first; equal counts by name; absent states not printed. */
	assert_string_equal(b.p, "TIME_WAIT 9\nESTABLISHED 7\nSYN_RECV 7\nCLOSE_WAIT 1\n");
	fs_buf_close(&b);
	wire_report_close(&r);
}

static void test_ag_print_json_exact(void **state)
{
	wire_report_t r;
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	make_report(&r);
	assert_int_equal(ag_print_json(&r, "web-01", "web", &b), 0);
	assert_string_equal(b.p,
		"{\"host\":\"web-01\",\"tier\":\"web\",\"collected_at_ms\":1700000000123,"
		"\"source\":\"netlink\",\"collect_us\":1500,\"states\":{\"ESTABLISHED\":7,"
		"\"SYN_SENT\":0,\"SYN_RECV\":7,\"FIN_WAIT1\":0,\"FIN_WAIT2\":0,\"TIME_WAIT\":9,"
		"\"CLOSE\":0,\"CLOSE_WAIT\":1,\"LAST_ACK\":0,\"CLOSING\":0},"
		"\"listeners\":[{\"ip\":\"::\",\"port\":443,\"accept_queue\":3,\"backlog\":511}],"
		"\"top\":{\"limit\":20,\"thresholds\":{\"total\":0,\"established\":0,\"syn_recv\":0},"
		"\"ips\":[{\"ip\":\"198.18.0.1\",\"total\":9,\"states\":{\"ESTABLISHED\":2,\"SYN_RECV\":7}},"
		"{\"ip\":\"2001:db8::5\",\"total\":9,\"states\":{\"TIME_WAIT\":9}}],"
		"\"rest\":{\"ESTABLISHED\":4},\"excluded\":{\"ESTABLISHED\":1,\"CLOSE_WAIT\":1},"
		"\"distinct_ips\":3},\"ports\":{\"limit\":0,\"inbound\":[],\"outbound\":[],\"rest\":{}},\"counters\":{\"TcpExt.ListenOverflows\":12},"
		"\"sysctls\":{\"net.ipv4.ip_local_port_range\":\"32768 60999\"}}\n");
	fs_buf_close(&b);
	wire_report_close(&r);
}

static void test_ag_print_json_escapes(void **state)
{
	wire_report_t r;
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	make_report(&r);
	assert_int_equal(ag_print_json(&r, "a\"b\\c\n", NULL, &b), 0);
	assert_non_null(strstr(b.p, "\"host\":\"a\\\"b\\\\c\\u000a\",\"tier\":\"\""));
	fs_buf_close(&b);
	wire_report_close(&r);
}

static void test_ag_print_table_content(void **state)
{
	wire_report_t r;
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	make_report(&r);
	assert_int_equal(ag_print_table(&r, "web-01", "web", &b), 0);
	assert_non_null(strstr(b.p, "web-01  tier web  24 TCP sockets"));
	assert_non_null(strstr(b.p, "TIME_WAIT            9  37.5%"));
	assert_non_null(strstr(b.p, "[::]:443"));
	assert_non_null(strstr(b.p, "198.18.0.1"));
	assert_non_null(strstr(b.p, "2001:db8::5"));
	assert_non_null(strstr(b.p, "(rest)"));
	assert_non_null(strstr(b.p, "ListenOverflows 12"));
	fs_buf_close(&b);
	wire_report_close(&r);
}

static void test_fs_buf_grows(void **state)
{
	fs_buf_t b = FS_BUF_INIT;

	(void)state;
	for (int i = 0; i < 10000; i++)
		fs_buf_printf(&b, "%d,", i);
	assert_int_equal(b.err, 0);
	assert_true(b.len > 40000);
	assert_int_equal(strncmp(b.p + b.len - 5, "9999,", 5), 0);
	fs_buf_close(&b);
	assert_null(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ag_print_awk_order),
		cmocka_unit_test(test_ag_print_json_exact),
		cmocka_unit_test(test_ag_print_json_escapes),
		cmocka_unit_test(test_ag_print_table_content),
		cmocka_unit_test(test_fs_buf_grows),
	};

	return cmocka_run_group_tests_name("print", tests, NULL, NULL);
}
