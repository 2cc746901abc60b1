/* SPDX-License-Identifier: MIT */
/* test_commands.c: the table of query commands, and the parameters and formats each takes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "commands.h"

#define NOW 1796212800000LL

/* Sets name=value for the command called cmd: wants rc and, when want is not NULL, that reason. */
static void expect(const char *cmd, col_qopts_t *o, const char *name, const char *value, int rc,
                   const char *want)
{
	const col_cmd_t *c = col_cmd_find(cmd);
	char why[200];

	assert_non_null(c);
	assert_int_equal(col_cmd_set(c, o, name, value, "", why, sizeof(why)), rc);
	if (rc == 0)
		assert_string_equal(why, "");
	else if (want)
		assert_string_equal(why, want);
	else
		assert_true(why[0] != '\0');
}

static void test_col_cmd_find_every_command(void **state)
{
	static const char *const names[] = {"tiers", "hosts", "trend", "top-ips", "requests",
	                                    "suspects", "sysctl", "summary"};
	char all[128];

	(void)state;
	for (int i = 0; i < COL_NCMDS; i++) {
		const col_cmd_t *c = col_cmd((col_cmd_id_t)i);

		assert_int_equal(c->id, i);
		assert_string_equal(c->name, names[i]);
		assert_ptr_equal(col_cmd_find(names[i]), c);
		/* Each filters on a tier and renders table and json. */
		assert_true(c->params & (1u << COL_PARAM_TIER));
		assert_true(c->params & (1u << COL_PARAM_FORMAT));
		assert_true(c->formats & (1u << COL_FMT_TABLE));
		assert_true(c->formats & (1u << COL_FMT_JSON));
	}
	assert_null(col_cmd_find("suspicious"));
	assert_null(col_cmd_find("TIERS"));
	assert_null(col_cmd_find(""));
	col_cmd_names(all, sizeof(all));
	assert_string_equal(all, "tiers, hosts, trend, top-ips, requests, suspects, sysctl, summary");
}

static void test_col_param_find_names(void **state)
{
	(void)state;
	for (int p = 0; p < COL_NPARAMS; p++)
		assert_int_equal(col_param_find(col_param_name((col_param_t)p)), p);
	assert_int_equal(col_param_find("since"), COL_PARAM_SINCE);
	assert_int_equal(col_param_find("colour"), -1);
	assert_int_equal(col_param_find("Since"), -1);
	assert_null(col_param_name(COL_NPARAMS));
	for (int f = COL_FMT_TABLE; f <= COL_FMT_IPSET; f++)
		assert_int_equal(col_fmt_find(col_fmt_name((col_fmt_t)f)), f);
	assert_int_equal(col_fmt_find("xml"), -1);
}

static void test_col_cmd_set_taken(void **state)
{
	col_qopts_t o;

	(void)state;
	col_qopts_init(&o, NOW);
	expect("trend", &o, "step", "5m", 0, NULL);
	assert_int_equal(o.step_ms, 300000);
	expect("trend", &o, "host", "web1", 0, NULL);
	assert_string_equal(o.host, "web1");
	expect("top-ips", &o, "limit", "7", 0, NULL);
	assert_int_equal(o.limit, 7);
	expect("sysctl", &o, "name", "net.core.somaxconn", 0, NULL);
	expect("suspects", &o, "format", "ipset", 0, NULL);
	assert_int_equal(o.format, COL_FMT_IPSET);
	expect("summary", &o, "format", "json", 0, NULL);
	assert_int_equal(o.format, COL_FMT_JSON);
}

static void test_col_cmd_set_not_taken(void **state)
{
	col_qopts_t o;
	char why[200];

	(void)state;
	col_qopts_init(&o, NOW);
	/* Refused, naming what the command takes, and o left as it was. */
	expect("tiers", &o, "step", "5m", -ENOENT, "tiers takes only tier, by, format");
	expect("hosts", &o, "since", "1h", -ENOENT, "hosts takes only tier, host, by, format");
	expect("top-ips", &o, "host", "web1", -ENOENT,
	       "top-ips takes only tier, state, since, limit, format");
	expect("suspects", &o, "limit", "5", -ENOENT, NULL);
	expect("summary", &o, "state", "total", -ENOENT, NULL);
	expect("sysctl", &o, "step", "1m", -ENOENT, "sysctl takes only tier, name, since, format");
	/* A name no command takes, the same way. */
	expect("trend", &o, "colour", "red", -ENOENT,
	       "trend takes only tier, host, state, since, step, port, format");
	assert_int_equal(o.step_ms, 0);
	assert_int_equal(o.since_ms, 0);
	assert_null(o.host);
	/* The CLI's names are flags. */
	assert_int_equal(col_cmd_set(col_cmd(COL_CMD_TIERS), &o, "limit", "3", "--", why,
	                             sizeof(why)), -ENOENT);
	assert_string_equal(why, "tiers takes only --tier, --by, --format");
	assert_int_equal(o.limit, 20);
}

static void test_col_cmd_set_bad_value(void **state)
{
	col_qopts_t o;

	(void)state;
	col_qopts_init(&o, NOW);
	expect("trend", &o, "since", "soon", -EINVAL,
	       "not a duration like 90s, 15m, 24h or 7d (at most 3650d)");
	expect("tiers", &o, "format", "xml", -EINVAL, "not table, json, csv, ipset or html");
	/* A format the command does not render. */
	expect("summary", &o, "format", "csv", -EINVAL, "not a format of summary (table, json, html)");
	expect("tiers", &o, "format", "ipset", -EINVAL, "not a format of tiers (table, json, csv, html)");
	assert_int_equal(o.format, COL_FMT_TABLE);
	assert_int_equal(o.since_ms, 0);
}

static void test_col_cmd_set_why_cut(void **state)
{
	col_qopts_t o;
	char why[12];

	(void)state;
	col_qopts_init(&o, NOW);
	memset(why, 'x', sizeof(why));
	assert_int_equal(col_cmd_set(col_cmd(COL_CMD_TREND), &o, "limit", "3", "", why, sizeof(why)),
	                 -ENOENT);
	assert_string_equal(why, "trend takes");
	assert_int_equal(col_cmd_set(col_cmd(COL_CMD_SUMMARY), &o, "format", "csv", "", why, 1),
	                 -EINVAL);
	assert_string_equal(why, "");
	assert_int_equal(col_cmd_set(col_cmd(COL_CMD_TIERS), &o, "tier", "web", "", why, 0), 0);
}

static void test_col_cmd_usage_lines(void **state)
{
	char line[256];

	(void)state;
	col_cmd_usage(col_cmd(COL_CMD_TREND), "--", line, sizeof(line));
	assert_string_equal(line, "--tier --host --state --since --step --port --format table|json|csv|html");
	col_cmd_usage(col_cmd(COL_CMD_SUSPECTS), "--", line, sizeof(line));
	assert_string_equal(line, "--tier --since --format table|json|csv|ipset|html");
	col_cmd_usage(col_cmd(COL_CMD_SUMMARY), "", line, sizeof(line));
	assert_string_equal(line, "tier since format table|json|html");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_col_cmd_find_every_command),
		cmocka_unit_test(test_col_param_find_names),
		cmocka_unit_test(test_col_cmd_set_taken),
		cmocka_unit_test(test_col_cmd_set_not_taken),
		cmocka_unit_test(test_col_cmd_set_bad_value),
		cmocka_unit_test(test_col_cmd_set_why_cut),
		cmocka_unit_test(test_col_cmd_usage_lines),
	};

	return cmocka_run_group_tests_name("commands", tests, NULL, NULL);
}
