/* SPDX-License-Identifier: MIT */
/* test_toproll.c: the top-IP merge (col_top_*) of hand-made hosts, fed raw and as rollups. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "query.h"
#include "toproll.h"

#define NOW 1796212800000LL

#define IP_A {.len = 4, .b = {10, 0, 0, 1}}
#define IP_B {.len = 4, .b = {10, 0, 0, 2}}
#define IP_C {.len = 4, .b = {10, 0, 0, 3}}
#define IP_D {.len = 16, .b = {0x20, 0x01, 0x0d, 0xb8, [15] = 4}}

static const wire_ip_t ip_a = IP_A, ip_b = IP_B, ip_c = IP_C, ip_d = IP_D;

/* One report: up to 3 IPs with their states, and the threshold of the total. */
typedef struct {
	int host;                  /* index in hosts[] */
	int64_t at_ms;
	size_t n;
	wire_remote_t ips[3];
	uint32_t thr_total;
} rep_t;

static const col_host_t hosts[3] = {
	{.id = 11, .hostname = "web1", .tier = "web"},
	{.id = 12, .hostname = "web2", .tier = "web"},
	{.id = 13, .hostname = "db1", .tier = "db"},
};

/*
 * Two hosts share A and B; web1 lists B in one of its two reports only, 8
 * below the other's threshold 12, and never lists C (web2's) nor D (db1's).
 */
static rep_t reps[] = {
	{0, NOW - 9000, 2, {{.ip = IP_A, .st = {.n = {[WIRE_ESTABLISHED] = 50}}},
	                    {.ip = IP_B, .st = {.n = {[WIRE_ESTABLISHED] = 8}}}}, 10},
	{0, NOW - 2000, 1, {{.ip = IP_A, .st = {.n = {[WIRE_ESTABLISHED] = 40, [WIRE_TIME_WAIT] = 20}}}}, 12},
	{1, NOW - 5000, 3, {{.ip = IP_A, .st = {.n = {[WIRE_ESTABLISHED] = 25}}},
	                    {.ip = IP_B, .st = {.n = {[WIRE_ESTABLISHED] = 3, [WIRE_SYN_RECV] = 7}}},
	                    {.ip = IP_C, .st = {.n = {[WIRE_ESTABLISHED] = 5}}}}, 4},
	{2, NOW - 4000, 2, {{.ip = IP_D, .st = {.n = {[WIRE_ESTABLISHED] = 100}}},
	                    {.ip = IP_A, .st = {.n = {[WIRE_CLOSE_WAIT] = 6}}}}, 9},
};

static wire_top_t top_of(rep_t *r)
{
	return (wire_top_t){.ips = r->ips, .n_ips = r->n, .threshold_total = r->thr_total};
}

/*
 * The merge by total, ranked.  A host's peak of an IP is its largest total
 * over the host's reports (web1's A: 60, not its state peaks' 50 + 20); count sums the
 * hosts' peaks; upper_bound adds, for each host that missed the IP in some
 * report, that host's largest threshold in place of a smaller peak.
 */
typedef struct {
	const wire_ip_t *ip;
	uint64_t count, upper_bound, host_max, tier_max;
	uint32_t hosts;
	const char *tiers;
	uint64_t established, syn_recv, time_wait, close_wait;
	int64_t first_ms, last_ms;
} want_t;

static const want_t want[] = {
	/* db1 lists it; web1 (12) and web2 (4) bound it. */
	{&ip_d, 100, 116, 100, 100, 1, "db", 100, 0, 0, 0, NOW - 4000, NOW - 4000},
	/* Listed in every report of every host: exact. */
	{&ip_a, 91, 91, 60, 85, 3, "db web", 75, 0, 20, 6, NOW - 9000, NOW - 2000},
	/* web1's 8 is bounded by its threshold 12; db1's threshold 9. */
	{&ip_b, 18, 31, 10, 18, 2, "web", 11, 7, 0, 0, NOW - 9000, NOW - 5000},
	{&ip_c, 5, 26, 5, 5, 1, "web", 5, 0, 0, 0, NOW - 5000, NOW - 5000},
};

/* got == expect for rank i's `what`, or a failure that names them. */
static void expect_u64(size_t i, const char *what, uint64_t got, uint64_t expect)
{
	if (got != expect)
		fail_msg("rank %zu: %s %" PRIu64 ", want %" PRIu64, i, what, got, expect);
}

static void expect_ranked(col_top_t *t)
{
	const col_top_ip_t *v;
	size_t n;
	char ip[WIRE_IP_STRLEN], ip2[WIRE_IP_STRLEN];

	assert_int_equal(col_top_ips(t, &v, &n), 0);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		const want_t *w = &want[i];
		char tiers[64] = "";
		size_t len = 0;

		if (memcmp(&v[i].ip, w->ip, sizeof(*w->ip)) != 0)
			fail_msg("rank %zu: %s, want %s", i, wire_ip_str(&v[i].ip, ip),
			         wire_ip_str(w->ip, ip2));
		for (size_t j = 0; j < v[i].n_tiers; j++)
			len += (size_t)snprintf(tiers + len, sizeof(tiers) - len, "%s%s", j ? " " : "",
			                        v[i].tiers[j]);
		expect_u64(i, "count", v[i].count, w->count);
		expect_u64(i, "upper_bound", v[i].upper_bound, w->upper_bound);
		expect_u64(i, "host_max", v[i].host_max, w->host_max);
		expect_u64(i, "tier_max", v[i].tier_max, w->tier_max);
		expect_u64(i, "hosts", v[i].hosts, w->hosts);
		assert_string_equal(tiers, w->tiers);
		expect_u64(i, "ESTABLISHED", v[i].st[WIRE_ESTABLISHED], w->established);
		expect_u64(i, "SYN_RECV", v[i].st[WIRE_SYN_RECV], w->syn_recv);
		expect_u64(i, "TIME_WAIT", v[i].st[WIRE_TIME_WAIT], w->time_wait);
		expect_u64(i, "CLOSE_WAIT", v[i].st[WIRE_CLOSE_WAIT], w->close_wait);
		assert_int_equal(v[i].first_ms, w->first_ms);
		assert_int_equal(v[i].last_ms, w->last_ms);
		expect_u64(i, "col_top_count()", col_top_count(t, w->ip), w->count);
	}
}

/* Ranks twice, renders, ranks again: each answer the same, nothing folded twice. */
static void expect_merge(col_top_t *t)
{
	const wire_ip_t absent = {.len = 4, .b = {203, 0, 113, 250}};
	fs_buf_t b = FS_BUF_INIT;

	expect_ranked(t);
	expect_ranked(t);
	assert_int_equal(col_top_render(t, &b), 0);
	fs_buf_add(&b, "", 1);
	/* The render after two rankings: its first and third rows as they ranked. */
	static const char *const rows[] = {
		"\"hosts\":3,\"ips\":[{\"ip\":\"2001:db8::4\",\"count\":100,\"upper_bound\":116,"
		"\"hosts\":1,",
		"{\"ip\":\"10.0.0.2\",\"count\":18,\"upper_bound\":31,\"hosts\":2,\"tiers\":[\"web\"],"
		"\"total\":18,",
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strstr(b.p, rows[i]) == NULL)
			fail_msg("no '%s' in:\n%s", rows[i], b.p);
	fs_buf_close(&b);
	expect_ranked(t);
	assert_int_equal(col_top_count(t, &absent), 0);
}

static col_top_t *top_new(void)
{
	col_qopts_t o;
	col_top_t *t;

	col_qopts_init(&o, NOW);
	o.format = COL_FMT_JSON;
	assert_int_equal(col_top_new(&o, &t), 0);
	return t;
}

static void test_col_top_ips_raw(void **state)
{
	col_top_t *t = top_new();

	(void)state;
	for (size_t i = 0; i < sizeof(reps) / sizeof(reps[0]); i++) {
		wire_top_t top = top_of(&reps[i]);

		assert_int_equal(col_top_add(t, &hosts[reps[i].host], reps[i].at_ms, &top), 0);
	}
	expect_merge(t);
	col_top_free(t);
}

/* Each host's reports first merged into one rollup (col_roll_top_add()): the same answer. */
static void test_col_top_add_roll_as_raw(void **state)
{
	col_top_t *t = top_new();

	(void)state;
	for (int h = 0; h < 3; h++) {
		col_roll_top_t r = {0};

		for (size_t i = 0; i < sizeof(reps) / sizeof(reps[0]); i++) {
			wire_top_t top = top_of(&reps[i]);

			if (reps[i].host == h)
				assert_int_equal(col_roll_top_add(&r, &top, reps[i].at_ms), 0);
		}
		assert_int_equal(col_top_add_roll(t, &hosts[h], &r), 0);
		col_roll_top_close(&r);
	}
	expect_merge(t);
	col_top_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_col_top_ips_raw),
		cmocka_unit_test(test_col_top_add_roll_as_raw),
	};

	return cmocka_run_group_tests_name("toproll", tests, NULL, NULL);
}
