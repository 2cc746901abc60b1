/* SPDX-License-Identifier: MIT */
/* advice.c: the tuning rules, which read the counters as well as the settings. */
#include "advice.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEAR_SHARE 0.8          /* "near" a limit: 80% of it */
#define PORTS_SHARE 0.5         /* TIME_WAIT to one destination: half the local ports */
#define SYN_SPIKE 100           /* SYN_RECV worth a SYN cookie (or half the SYN backlog) */

static const struct {
	const char *name, *setting, *change;
} rules[COL_ADV_N] = {
	[COL_ADV_TW_RECYCLE] = {"tw_recycle", "net.ipv4.tcp_tw_recycle",
		"set it to 0: it drops connections from clients behind NAT (their timestamps"
		" disagree), and Linux 4.12 removed it"},
	[COL_ADV_TW_BUCKETS] = {"tw_buckets", "net.ipv4.tcp_max_tw_buckets",
		"raise it (each bucket costs a few hundred bytes), or make fewer short"
		" connections (keep-alive, pooling); net.ipv4.tcp_tw_reuse=1 for outgoing ones"},
	[COL_ADV_LISTEN_OVERFLOW] = {"listen_overflow", "net.core.somaxconn",
		"raise net.core.somaxconn and the listeners' backlog (listen()), and"
		" net.ipv4.tcp_max_syn_backlog; or accept() faster"},
	[COL_ADV_SYNCOOKIES] = {"syncookies", "net.ipv4.tcp_syncookies",
		"set it to 1: with SYN cookies a full SYN queue still answers real clients"},
	[COL_ADV_PORT_RANGE] = {"port_range", "net.ipv4.ip_local_port_range",
		"widen it (e.g. 1024 65535) or set net.ipv4.tcp_tw_reuse=1: connections to one"
		" destination run out of local ports"},
	[COL_ADV_CONNTRACK] = {"conntrack", "net.netfilter.nf_conntrack_max",
		"raise it (and the hash table, nf_conntrack_buckets): a full table drops new"
		" connections"},
};

const char *col_advice_name(col_advice_rule_t r)
{
	return rules[r].name;
}

const char *col_advice_setting(col_advice_rule_t r)
{
	return rules[r].setting;
}

const char *col_advice_change(col_advice_rule_t r)
{
	return rules[r].change;
}

static const char *sysctl(const col_advice_in_t *in, const char *name)
{
	for (size_t i = 0; i < in->n_sysctls; i++)
		if (strcmp(in->sysctls[i].name, name) == 0)
			return in->sysctls[i].value;
	return NULL;
}

/* A sysctl's first number, or false when absent or not a number. */
static bool number(const col_advice_in_t *in, const char *name, uint64_t *out)
{
	const char *v = sysctl(in, name);
	char *end;

	if (v == NULL || *v < '0' || *v > '9')
		return false;
	*out = strtoull(v, &end, 10);
	return end != v;
}

static double rate(const col_advice_in_t *in, int counter)
{
	return in->rates ? in->rates->per_min[counter] : -1;
}

static void add(const col_advice_in_t *in, col_advice_rule_t rule, col_advice_t *out,
                size_t max, size_t *n, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void add(const col_advice_in_t *in, col_advice_rule_t rule, col_advice_t *out,
                size_t max, size_t *n, const char *fmt, ...)
{
	va_list ap;

	if (*n < max) {
		out[*n].rule = rule;
		out[*n].host = in->host;
		va_start(ap, fmt);
		vsnprintf(out[*n].figures, sizeof(out[*n].figures), fmt, ap);
		va_end(ap);
	}
	(*n)++;
}

/* The listener whose accept queue is fullest against its backlog (the smaller backlog on a tie). */
static const wire_listener_t *fullest(const col_host_t *h)
{
	const wire_listener_t *best = NULL;

	for (size_t i = 0; i < h->n_listeners; i++) {
		const wire_listener_t *l = &h->listeners[i];
		/* q/b > Q/B without division: q*B > Q*b (backlog 0 counts as 1). */
		uint64_t b = l->backlog ? l->backlog : 1, bb, lhs, rhs;

		if (best == NULL) {
			best = l;
			continue;
		}
		bb = best->backlog ? best->backlog : 1;
		lhs = (uint64_t)l->accept_queue * bb;
		rhs = (uint64_t)best->accept_queue * b;
		if (lhs > rhs || (lhs == rhs && b < bb))
			best = l;
	}
	return best;
}

int col_advice_host(const col_advice_in_t *in, col_advice_t *out, size_t max, size_t *n)
{
	const wire_states_t *st = &in->host->states;
	const char *v;
	uint64_t x, y;
	double r1, r2;

	if ((v = sysctl(in, "net.ipv4.tcp_tw_recycle")) != NULL && strcmp(v, "0") != 0)
		add(in, COL_ADV_TW_RECYCLE, out, max, n, "net.ipv4.tcp_tw_recycle = %s", v);

	r1 = rate(in, COL_CTR_TW_OVERFLOW);
	if (number(in, "net.ipv4.tcp_max_tw_buckets", &x) &&
	    (st->n[WIRE_TIME_WAIT] >= NEAR_SHARE * (double)x || r1 > 0))
		add(in, COL_ADV_TW_BUCKETS, out, max, n,
		    "TIME_WAIT %" PRIu32 " of tcp_max_tw_buckets %" PRIu64 "; TCPTimeWaitOverflow %.1f/min",
		    st->n[WIRE_TIME_WAIT], x, r1 > 0 ? r1 : 0);

	r1 = rate(in, COL_CTR_LISTEN_OVERFLOWS);
	r2 = rate(in, COL_CTR_LISTEN_DROPS);
	if (r1 > 0 || r2 > 0) {
		char sx[24] = "?", sy[24] = "?", ls[96] = "";
		const wire_listener_t *full = fullest(in->host);

		if (number(in, "net.core.somaxconn", &x))
			snprintf(sx, sizeof(sx), "%" PRIu64, x);
		if (number(in, "net.ipv4.tcp_max_syn_backlog", &y))
			snprintf(sy, sizeof(sy), "%" PRIu64, y);
		if (full != NULL) {
			char ip[WIRE_IP_STRLEN];

			snprintf(ls, sizeof(ls), "; fullest listener %s%s%s:%" PRIu32 " queue %" PRIu32
			         " of backlog %" PRIu32, full->ip.len == 16 ? "[" : "",
			         wire_ip_str(&full->ip, ip), full->ip.len == 16 ? "]" : "", full->port,
			         full->accept_queue, full->backlog);
		}
		add(in, COL_ADV_LISTEN_OVERFLOW, out, max, n,
		    "ListenOverflows %.1f/min, ListenDrops %.1f/min; somaxconn %s, tcp_max_syn_backlog %s%s",
		    r1 > 0 ? r1 : 0, r2 > 0 ? r2 : 0, sx, sy, ls);
	}

	if ((v = sysctl(in, "net.ipv4.tcp_syncookies")) != NULL && strcmp(v, "0") == 0) {
		uint64_t spike = SYN_SPIKE;

		if (number(in, "net.ipv4.tcp_max_syn_backlog", &y) && y / 2 < spike)
			spike = y / 2 ? y / 2 : 1;
		if (st->n[WIRE_SYN_RECV] >= spike)
			add(in, COL_ADV_SYNCOOKIES, out, max, n,
			    "SYN_RECV %" PRIu32 " with tcp_syncookies = 0", st->n[WIRE_SYN_RECV]);
	}

	if ((v = sysctl(in, "net.ipv4.ip_local_port_range")) != NULL) {
		char *end;
		uint64_t lo = strtoull(v, &end, 10), hi = strtoull(end, NULL, 10);
		const wire_remote_t *worst = NULL;

		for (size_t i = 0; i < in->host->top.n_ips; i++)
			if (worst == NULL ||
			    in->host->top.ips[i].st.n[WIRE_TIME_WAIT] > worst->st.n[WIRE_TIME_WAIT])
				worst = &in->host->top.ips[i];
		if (hi >= lo && lo > 0 && worst != NULL &&
		    worst->st.n[WIRE_TIME_WAIT] >= PORTS_SHARE * (double)(hi - lo + 1)) {
			char ip[WIRE_IP_STRLEN];

			add(in, COL_ADV_PORT_RANGE, out, max, n,
			    "TIME_WAIT %" PRIu32 " with %s; ip_local_port_range %" PRIu64 "-%" PRIu64
			    " (%" PRIu64 " ports)",
			    worst->st.n[WIRE_TIME_WAIT], wire_ip_str(&worst->ip, ip), lo, hi, hi - lo + 1);
		}
	}

	if (number(in, "net.netfilter.nf_conntrack_count", &x) &&
	    number(in, "net.netfilter.nf_conntrack_max", &y) && y > 0 && x >= NEAR_SHARE * (double)y)
		add(in, COL_ADV_CONNTRACK, out, max, n,
		    "nf_conntrack_count %" PRIu64 " of nf_conntrack_max %" PRIu64, x, y);
	return 0;
}

void col_advice_render(const col_advice_t *a, size_t n, const col_qopts_t *o, fs_buf_t *b)
{
	if (o->format == COL_FMT_JSON) {
		fs_buf_puts(b, "[");
		for (size_t i = 0; i < n; i++) {
			bool first = i == 0 || a[i - 1].rule != a[i].rule;
			bool last = i + 1 == n || a[i + 1].rule != a[i].rule;

			if (first)
				fs_buf_printf(b, "%s{\"rule\":\"%s\",\"setting\":\"%s\",\"change\":",
				              i ? "," : "", rules[a[i].rule].name, rules[a[i].rule].setting);
			if (first) {
				fs_buf_json_str(b, rules[a[i].rule].change);
				fs_buf_puts(b, ",\"hosts\":[");
			}
			fs_buf_puts(b, first ? "{\"hostname\":" : ",{\"hostname\":");
			fs_buf_json_str(b, a[i].host->hostname);
			fs_buf_puts(b, ",\"tier\":");
			fs_buf_json_str(b, a[i].host->tier);
			fs_buf_puts(b, ",\"figures\":");
			fs_buf_json_str(b, a[i].figures);
			fs_buf_puts(b, last ? "}]}" : "}");
		}
		fs_buf_puts(b, "]");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || a[i - 1].rule != a[i].rule)
			fs_buf_printf(b, "\n%s: %s\n", rules[a[i].rule].setting, rules[a[i].rule].change);
		fs_buf_printf(b, "  %s (%s): %s\n", a[i].host->hostname, a[i].host->tier, a[i].figures);
	}
}
