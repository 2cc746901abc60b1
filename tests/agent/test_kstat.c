/* SPDX-License-Identifier: MIT */
/* test_kstat.c: kernel counters and sysctl values from /proc text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kstat.h"

static char *load(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *p;
	long n;

	snprintf(path, sizeof(path), "%s/kstat/%s", FIXTURES, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static int64_t counter(const wire_report_t *r, const char *name)
{
	for (size_t i = 0; i < r->n_counters; i++)
		if (strcmp(r->counters[i].name, name) == 0)
			return (int64_t)r->counters[i].value;
	return -1;
}

/* A real /proc/net/netstat whose TcpExt values were set to 1000 + position. */
static void test_ag_kstat_parse_snmp_netstat(void **state)
{
	size_t len;
	char *p = load("netstat", &len);
	wire_report_t r;
	int n;

	(void)state;
	memset(&r, 0, sizeof(r));
	n = ag_kstat_parse_snmp(p, len, &r);
	assert_true(n > 20);
	assert_int_equal((size_t)n, r.n_counters);
	assert_int_equal(counter(&r, "TcpExt.SyncookiesSent"), 1000);
	assert_int_equal(counter(&r, "TcpExt.TW"), 1010);
	assert_int_equal(counter(&r, "TcpExt.ListenOverflows"), 1022);
	assert_int_equal(counter(&r, "TcpExt.TCPTimeWaitOverflow"), 1077);
	assert_int_equal(counter(&r, "TcpExt.DelayedACKs"), -1); /* not kept */
	assert_int_equal(counter(&r, "IpExt.InOctets"), -1);
	wire_report_close(&r);
	free(p);
}

static void test_ag_kstat_parse_snmp_snmp(void **state)
{
	size_t len;
	char *p = load("snmp", &len);
	wire_report_t r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_true(ag_kstat_parse_snmp(p, len, &r) > 5);
	assert_int_equal(counter(&r, "Tcp.ActiveOpens"), 14);
	assert_int_equal(counter(&r, "Tcp.PassiveOpens"), 2);
	assert_int_equal(counter(&r, "Tcp.OutRsts"), 2);
	assert_int_equal(counter(&r, "Tcp.MaxConn"), -1); /* -1 on Linux, not kept */
	wire_report_close(&r);
	free(p);
}

static void test_ag_kstat_parse_snmp_malformed(void **state)
{
	static const char *const bad[] = {
		"Tcp: ActiveOpens PassiveOpens\nTcp: 1\n",          /* fewer values */
		"Tcp: ActiveOpens\nTcp: 1 2\n",                     /* more values */
		"Tcp: ActiveOpens\n",                               /* no value line */
		"Tcp: ActiveOpens\nUdp: 1\n",                       /* wrong prefix */
		"Tcp: ActiveOpens\nTcp: x1\n",                      /* not a number */
		"Tcp: ActiveOpens\nTcp: 99999999999999999999999\n", /* overflow */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wire_report_t r;

		memset(&r, 0, sizeof(r));
		assert_int_equal(ag_kstat_parse_snmp(bad[i], strlen(bad[i]), &r), -EPROTO);
		wire_report_close(&r);
	}
}

/* No trailing newline, CRLF, and a buffer that stops mid-number. */
static void test_ag_kstat_parse_snmp_edges(void **state)
{
	const char *s = "Tcp: ActiveOpens PassiveOpens\r\nTcp: 5 77";
	wire_report_t r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(ag_kstat_parse_snmp(s, strlen(s), &r), 2);
	assert_int_equal(counter(&r, "Tcp.PassiveOpens"), 77);
	wire_report_close(&r);
	memset(&r, 0, sizeof(r));
	assert_int_equal(ag_kstat_parse_snmp(s, strlen(s) - 1, &r), 2);
	assert_int_equal(counter(&r, "Tcp.PassiveOpens"), 7);
	wire_report_close(&r);
	memset(&r, 0, sizeof(r));
	assert_int_equal(ag_kstat_parse_snmp("", 0, &r), 0);
	wire_report_close(&r);
}

static void test_ag_kstat_parse_sockstat_fixture(void **state)
{
	size_t len;
	char *p = load("sockstat", &len);
	wire_report_t r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(ag_kstat_parse_sockstat(p, len, &r), 5);
	assert_int_equal(counter(&r, "Sockstat.inuse"), 1);
	assert_int_equal(counter(&r, "Sockstat.tw"), 0);
	assert_int_equal(counter(&r, "Sockstat.alloc"), 36);
	assert_int_equal(counter(&r, "Sockstat.mem"), 189);
	wire_report_close(&r);
	free(p);

	memset(&r, 0, sizeof(r));
	p = "TCP: inuse 5 orphan\n";
	assert_int_equal(ag_kstat_parse_sockstat(p, strlen(p), &r), -EPROTO);
	wire_report_close(&r);
}

static void test_ag_kstat_add_sysctl_normalises(void **state)
{
	wire_report_t r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(ag_kstat_add_sysctl(&r, "net.ipv4.ip_local_port_range",
	                                     "32768\t60999\n", 12), 0);
	assert_string_equal(r.sysctls[0].value, "32768 60999");
	assert_int_equal(ag_kstat_add_sysctl(&r, "net.core.somaxconn", "  4096  \n", 9), 0);
	assert_string_equal(r.sysctls[1].value, "4096");
	assert_string_equal(r.sysctls[1].name, "net.core.somaxconn");
	assert_int_equal(ag_kstat_add_sysctl(&r, "x", "\n", 1), -EINVAL);
	assert_int_equal(ag_kstat_add_sysctl(&r, "x", "a\001b", 3), -EINVAL);
	assert_int_equal(r.n_sysctls, 2);
	wire_report_close(&r);
}

static void test_ag_sysctl_names_list(void **state)
{
	int n = 0, somaxconn = 0;

	(void)state;
	for (const char *const *p = ag_sysctl_names; *p; p++, n++) {
		assert_non_null(strchr(*p, '.'));
		somaxconn |= strcmp(*p, "net.core.somaxconn") == 0;
	}
	assert_true(n >= 10);
	assert_true(somaxconn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ag_kstat_parse_snmp_netstat),
		cmocka_unit_test(test_ag_kstat_parse_snmp_snmp),
		cmocka_unit_test(test_ag_kstat_parse_snmp_malformed),
		cmocka_unit_test(test_ag_kstat_parse_snmp_edges),
		cmocka_unit_test(test_ag_kstat_parse_sockstat_fixture),
		cmocka_unit_test(test_ag_kstat_add_sysctl_normalises),
		cmocka_unit_test(test_ag_sysctl_names_list),
	};

	return cmocka_run_group_tests_name("kstat", tests, NULL, NULL);
}
