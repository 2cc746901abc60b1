/* SPDX-License-Identifier: MIT */
/* suspects.c: verdicts on heavy IPs, their reasons, and the [suspects] config. */
#include "suspects.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "grid.h"
#include "query_priv.h"

#define QUERY_MAX_BASELINE_MS (366LL * 86400000)

void col_suspect_cfg_init(col_suspect_cfg_t *c)
{
	memset(c, 0, sizeof(*c));
	c->suspect_min = 100;
	c->syn_share = 0.5;
	c->syn_min = 100;
	c->nat_established = 0.8;
	c->nat_hours = 0.2;
	c->nat_growth = 3;
	c->flood_growth = 10;
	c->flood_hours = 0.1;
	c->flood_min_hours = 24;
	c->activity_min = 20;
	c->flood_unanswered = 0.8;
	c->flood_bytes = 65536;
	c->busy_answered = 0.5;
	c->request_rate_min = 10;
	c->few_agents = 3;
	c->flood_rate = 200;
	c->flood_per_connection = 100;
	c->scraper_4xx = 0.2;
	c->nat_agents = 20;
	c->nat_errors = 0.1;
	c->baseline_ms = 7 * 86400000LL;
	strcpy(c->ipset, "fleetstat-block");
}

/* A whitespace- or comma-separated list of CIDRs, added to v. */
static int cidrs_add(wire_cidr_t *v, size_t *n, const char *s, const char **why)
{
	while (*s) {
		size_t len;

		s += strspn(s, " \t,");
		if ((len = strcspn(s, " \t,")) == 0)
			break;
		if (*n == COL_MAX_CIDRS) {
			*why = "too many CIDRs (at most 256 a list)";
			return -EINVAL;
		}
		if (wire_cidr_parse(s, len, &v[*n]) < 0) {
			*why = "not an address or CIDR like 192.0.2.0/24 or 2001:db8::/32";
			return -EINVAL;
		}
		(*n)++;
		s += len;
	}
	return 0;
}

static int parse_share(const char *v, double lo, double hi, double *out)
{
	char *end;
	double d;

	if (*v == '\0')
		return -EINVAL;
	d = strtod(v, &end);
	if (*end != '\0' || !(d >= lo && d <= hi))
		return -EINVAL;
	*out = d;
	return 0;
}

static int parse_count(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	n = strtoull(v, &end, 10);
	if (*end != '\0' || n == 0 || n > UINT32_MAX)
		return -EINVAL;
	*out = n;
	return 0;
}

int col_suspect_cfg_set(col_suspect_cfg_t *c, const char *name, const char *value,
                        const char **why)
{
	static const char share_why[] = "not a share from 0 to 1, like 0.5",
	                  factor_why[] = "not a factor from 1 to 1000000, like 3",
	                  rate_why[] = "not a rate from 0.01 to 1000000 a second, like 10";
	static const struct {
		const char *name;
		size_t off;
		double lo, hi;
		const char *why;
	} reals[] = {
		{"syn_share", offsetof(col_suspect_cfg_t, syn_share), 0, 1, share_why},
		{"nat_established", offsetof(col_suspect_cfg_t, nat_established), 0, 1, share_why},
		{"nat_hours", offsetof(col_suspect_cfg_t, nat_hours), 0, 1, share_why},
		{"flood_hours", offsetof(col_suspect_cfg_t, flood_hours), 0, 1, share_why},
		{"flood_unanswered", offsetof(col_suspect_cfg_t, flood_unanswered), 0, 1, share_why},
		{"busy_answered", offsetof(col_suspect_cfg_t, busy_answered), 0, 1, share_why},
		{"scraper_4xx", offsetof(col_suspect_cfg_t, scraper_4xx), 0, 1, share_why},
		{"nat_errors", offsetof(col_suspect_cfg_t, nat_errors), 0, 1, share_why},
		{"nat_growth", offsetof(col_suspect_cfg_t, nat_growth), 1, 1e6, factor_why},
		{"flood_growth", offsetof(col_suspect_cfg_t, flood_growth), 1, 1e6, factor_why},
		{"request_rate_min", offsetof(col_suspect_cfg_t, request_rate_min), 0.01, 1e6, rate_why},
		{"flood_rate", offsetof(col_suspect_cfg_t, flood_rate), 0.01, 1e6, rate_why},
		{"flood_per_connection", offsetof(col_suspect_cfg_t, flood_per_connection), 0.01, 1e6,
		 rate_why},
	};
	static const struct {
		const char *name;
		size_t off;
	} counts[] = {
		{"suspect_min", offsetof(col_suspect_cfg_t, suspect_min)},
		{"syn_min", offsetof(col_suspect_cfg_t, syn_min)},
		{"activity_min", offsetof(col_suspect_cfg_t, activity_min)},
		{"flood_bytes", offsetof(col_suspect_cfg_t, flood_bytes)},
		{"few_agents", offsetof(col_suspect_cfg_t, few_agents)},
		{"nat_agents", offsetof(col_suspect_cfg_t, nat_agents)},
	};

	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++)
		if (strcmp(name, reals[i].name) == 0) {
			if (parse_share(value, reals[i].lo, reals[i].hi,
			                (double *)((char *)c + reals[i].off)) < 0) {
				*why = reals[i].why;
				return -EINVAL;
			}
			return 0;
		}
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		if (strcmp(name, counts[i].name) == 0) {
			if (parse_count(value, (uint64_t *)((char *)c + counts[i].off)) < 0) {
				*why = "not a count from 1 to 4294967295";
				return -EINVAL;
			}
			return 0;
		}
	if (strcmp(name, "flood_min_hours") == 0) {
		uint64_t h;

		if (parse_count(value, &h) < 0 || h > 24 * 366) {
			*why = "not a number of hours from 1 to 8784";
			return -EINVAL;
		}
		c->flood_min_hours = (uint32_t)h;
		return 0;
	}
	if (strcmp(name, "baseline") == 0) {
		int64_t ms;

		if (col_parse_duration(value, &ms) < 0 || ms < 3600000 || ms > QUERY_MAX_BASELINE_MS) {
			*why = "not a duration from 1h to 366d, like 7d";
			return -EINVAL;
		}
		c->baseline_ms = ms;
		return 0;
	}
	if (strcmp(name, "allow") == 0)
		return cidrs_add(c->allow, &c->n_allow, value, why);
	if (strcmp(name, "deny") == 0)
		return cidrs_add(c->deny, &c->n_deny, value, why);
	if (strcmp(name, "ipset") == 0) {
		size_t len = strlen(value);

		/* ipset's names: up to 31 bytes; a v6 set adds "6". */
		if (len == 0 || len > 30 || strspn(value, "abcdefghijklmnopqrstuvwxyz"
		                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != len) {
			*why = "not a set name of up to 30 letters, digits, '_', '-' or '.'";
			return -EINVAL;
		}
		memcpy(c->ipset, value, len + 1);
		return 0;
	}
	return -ENOENT;
}

static const char *const verdict_names[] = {
	[COL_V_SYN_FLOOD] = "syn-flood", [COL_V_CONN_FLOOD] = "conn-flood",
	[COL_V_NAT_EGRESS] = "nat-egress", [COL_V_WATCH] = "watch",
	[COL_V_ALLOWED] = "allowed", [COL_V_DENIED] = "denied", [COL_V_BUSY] = "busy",
	[COL_V_SCRAPER] = "scraper", [COL_V_FLOOD] = "flood",
};

const char *col_verdict_name(col_verdict_t v)
{
	return verdict_names[v];
}

bool col_verdict_blocks(col_verdict_t v)
{
	return v == COL_V_SYN_FLOOD || v == COL_V_CONN_FLOOD || v == COL_V_FLOOD ||
	       v == COL_V_DENIED;
}

/* Heavy by its connections: on one host, or over a tier. */
static bool heavy_by_connections(const col_suspect_cfg_t *c, const col_top_ip_t *w)
{
	return w->host_max >= c->suspect_min || w->tier_max >= c->suspect_min;
}

bool col_suspect_heavy(const col_suspect_cfg_t *c, const col_top_ip_t *w, const col_req_ip_t *rq)
{
	return heavy_by_connections(c, w) || (rq != NULL && rq->rate >= c->request_rate_min);
}

static uint64_t total(const col_top_ip_t *w)
{
	uint64_t t = 0;

	for (int s = WIRE_ESTABLISHED; s < WIRE_NSTATES; s++)
		if (s != WIRE_LISTEN)
			t += w->st[s];
	return t;
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : 0;
}

/* The window's count against its baseline median; INFINITY without one. */
static double growth(const col_suspect_t *s)
{
	return s->baseline_median ? (double)s->w.count / (double)s->baseline_median : INFINITY;
}

static bool in_list(const wire_cidr_t *v, size_t n, const wire_ip_t *ip)
{
	for (size_t i = 0; i < n; i++)
		if (wire_cidr_match(&v[i], ip->b, ip->len))
			return true;
	return false;
}

/* What its connections are doing, measured on enough of them to tell (DESIGN 12). */
static bool measured(const col_suspect_cfg_t *c, const col_suspect_t *s)
{
	return s->w.act.hosts > 0 && s->w.act.established >= c->activity_min;
}

static double unanswered(const col_suspect_t *s)
{
	return share(s->w.act.unanswered, s->w.act.established);
}

/* Most never answered, and little sent on them: held open, not an upload nobody answers. */
static bool flood_by_activity(const col_suspect_cfg_t *c, const col_suspect_t *s)
{
	return measured(c, s) && unanswered(s) >= c->flood_unanswered &&
	       s->w.act.bytes_received <= c->flood_bytes * s->w.act.established;
}

/* Requests enough to judge it by. */
static bool requested(const col_suspect_cfg_t *c, const col_suspect_t *s)
{
	return s->has_requests && s->rq.rate >= c->request_rate_min;
}

static double status_share(const col_suspect_t *s, int cls)
{
	return share(s->rq.by_status[cls], s->rq.requests);
}

/* Few user agents, of a log that shows them (the common format has none: 0 tells nothing). */
static bool few_agents(const col_suspect_cfg_t *c, const col_suspect_t *s)
{
	return !s->rq.user_agents_capped && s->rq.user_agents >= 1 &&
	       s->rq.user_agents <= c->few_agents;
}

/* Requests a second on each of its connections; 0 when no list counted them. */
static double per_connection(const col_suspect_t *s)
{
	return col_req_per_connection(&s->rq, s->w.st[WIRE_ESTABLISHED]);
}

/* Far more requests than its connections carry for real users, or a high rate from few agents. */
static bool flood_by_requests(const col_suspect_cfg_t *c, const col_suspect_t *s)
{
	return requested(c, s) && (per_connection(s) >= c->flood_per_connection ||
	                           (few_agents(c, s) && s->rq.rate >= c->flood_rate));
}

static bool scraper(const col_suspect_cfg_t *c, const col_suspect_t *s)
{
	return requested(c, s) && few_agents(c, s) &&
	       status_share(s, WIRE_REQ_4XX) >= c->scraper_4xx;
}

/*
 * Many user agents, the status mix of real users, on connections that carry
 * them at the pace of people (known: a flood of rotating agents over one
 * unlisted connection is not an egress): people behind one address.
 */
static bool egress_by_requests(const col_suspect_cfg_t *c, const col_suspect_t *s)
{
	return requested(c, s) && per_connection(s) > 0 && s->rq.user_agents >= c->nat_agents &&
	       status_share(s, WIRE_REQ_4XX) + status_share(s, WIRE_REQ_5XX) <= c->nat_errors;
}

/* The history of an egress: present much of the baseline, not far above its median. */
static bool egress_history(const col_suspect_cfg_t *c, const col_suspect_t *s)
{
	return s->hours_pending == 0 && s->hours_baseline > 0 &&
	       share(s->hours_present, s->hours_baseline) >= c->nat_hours &&
	       growth(s) <= c->nat_growth;
}

/*
 * Lists first, then SYN_RECV dominance (a flood of half-open connections
 * is an attack whatever its history), then what its connections are doing:
 * most never answered is a connection flood (silent or slowloris) from the
 * first report; most answered is real traffic, never an attack on
 * connection counts alone (nat-egress when the history says so, busy
 * while it cannot).  Idle alone decides nothing: keep-alive pools of real
 * clients idle too.  Then the history: steady and ESTABLISHED-dominated is
 * an egress, sudden and new is a flood.  A history with hours still to be
 * built is not judged: their IPs are missing from it, so a steady egress
 * whose hours are pending would look new (a conn-flood).  Its requests,
 * when the access logs counted enough, come before its connections'
 * figures and history: far more than its connections suggest, or a high
 * rate from few user agents, is a flood; few agents and many 4xx a
 * scraper; many agents with the status mix of real users a NAT egress.
 */
void col_suspect_judge(const col_suspect_cfg_t *c, col_suspect_t *s)
{
	uint64_t all = total(&s->w);
	double present = share(s->hours_present, s->hours_baseline), g = growth(s);

	if (in_list(c->allow, c->n_allow, &s->w.ip))
		s->verdict = COL_V_ALLOWED;
	else if (in_list(c->deny, c->n_deny, &s->w.ip))
		s->verdict = COL_V_DENIED;
	else if (s->w.st[WIRE_SYN_RECV] >= c->syn_min &&
	         share(s->w.st[WIRE_SYN_RECV], all) >= c->syn_share)
		s->verdict = COL_V_SYN_FLOOD;
	else if (flood_by_activity(c, s))
		s->verdict = COL_V_CONN_FLOOD;
	else if (flood_by_requests(c, s))
		s->verdict = COL_V_FLOOD;
	else if (scraper(c, s))
		s->verdict = COL_V_SCRAPER;
	else if (egress_by_requests(c, s))
		s->verdict = COL_V_NAT_EGRESS;
	else if (measured(c, s) && 1 - unanswered(s) >= c->busy_answered)
		s->verdict = egress_history(c, s) ? COL_V_NAT_EGRESS : COL_V_BUSY;
	else if (s->hours_pending > 0)
		s->verdict = COL_V_WATCH;
	else if (share(s->w.st[WIRE_ESTABLISHED], all) >= c->nat_established && egress_history(c, s))
		s->verdict = COL_V_NAT_EGRESS;
	else if (heavy_by_connections(c, &s->w) && g >= c->flood_growth &&
	         present <= c->flood_hours && s->hours_baseline >= c->flood_min_hours)
		s->verdict = COL_V_CONN_FLOOD;
	else
		s->verdict = COL_V_WATCH;
	/* A verdict the history does not decide is final: nothing of it waits (nor does an IP
	   heavy by requests alone: no history verdict is about it). */
	if ((s->verdict != COL_V_WATCH && s->verdict != COL_V_BUSY) ||
	    !heavy_by_connections(c, &s->w))
		s->hours_pending = 0;
}

bool col_suspect_waits(const col_suspect_t *s)
{
	return s->hours_pending > 0 && (s->verdict == COL_V_WATCH || s->verdict == COL_V_BUSY);
}

/* "380 of 400 connections never answered, idle 95%, active 0%" (the measured ones). */
static void activity_text(const col_suspect_t *s, char *out, size_t len)
{
	const col_activity_t *a = &s->w.act;

	snprintf(out, len, "%" PRIu64 " of %" PRIu64 " connections never answered, idle %.0f%%"
	         ", active %.0f%%", a->unanswered, a->established,
	         100 * share(a->idle, a->established), 100 * share(a->active, a->established));
}

/* "52 requests/s, 1 user agent, 4xx 61%, 5xx 0%" (and over its connections when counted). */
static void requests_text(const col_suspect_t *s, char *out, size_t len)
{
	const col_req_ip_t *q = &s->rq;
	int n = snprintf(out, len, "%.0f requests/s, %" PRIu32 "%s user agent%s, 4xx %.0f%%, 5xx %.0f%%",
	                 q->rate, q->user_agents, q->user_agents_capped ? "+" : "",
	                 q->user_agents == 1 && !q->user_agents_capped ? "" : "s",
	                 100 * status_share(s, WIRE_REQ_4XX), 100 * status_share(s, WIRE_REQ_5XX));

	if (per_connection(s) > 0 && n > 0 && (size_t)n < len)
		snprintf(out + n, len - (size_t)n, ", %.1f a connection over %" PRIu64, per_connection(s),
		         s->w.st[WIRE_ESTABLISHED]);
}

/* The reasons, in words, for mail and terminals. */
static void why_text(const col_suspect_cfg_t *c, const col_suspect_t *s, char *out, size_t len)
{
	uint64_t all = total(&s->w);
	double g = growth(s);
	char gs[64], act[160], rq[160];

	activity_text(s, act, sizeof(act));
	requests_text(s, rq, sizeof(rq));
	if (isinf(g))
		snprintf(gs, sizeof(gs), "no baseline");
	else
		snprintf(gs, sizeof(gs), "%.1fx its median %" PRIu64, g, s->baseline_median);
	switch (s->verdict) {
	case COL_V_ALLOWED: snprintf(out, len, "in the allow list"); break;
	case COL_V_DENIED: snprintf(out, len, "in the deny list"); break;
	case COL_V_SYN_FLOOD:
		snprintf(out, len, "%" PRIu64 " SYN_RECV, %.0f%% of its connections",
		         s->w.st[WIRE_SYN_RECV], 100 * share(s->w.st[WIRE_SYN_RECV], all));
		break;
	case COL_V_FLOOD:
	case COL_V_SCRAPER: snprintf(out, len, "%s", rq); break;
	case COL_V_NAT_EGRESS:
		if (egress_by_requests(c, s) && measured(c, s))
			snprintf(out, len, "%s; %s", rq, act);
		else if (egress_by_requests(c, s))
			snprintf(out, len, "%s", rq);
		else if (measured(c, s))
			snprintf(out, len, "%s; seen %" PRIu32 " of %" PRIu32 " hours, %s", act,
			         s->hours_present, s->hours_baseline, gs);
		else
			snprintf(out, len, "%.0f%% ESTABLISHED, seen %" PRIu32 " of %" PRIu32 " hours, %s",
			         100 * share(s->w.st[WIRE_ESTABLISHED], all), s->hours_present,
			         s->hours_baseline, gs);
		break;
	case COL_V_CONN_FLOOD:
		if (flood_by_activity(c, s))
			snprintf(out, len, "%s", act);
		else
			snprintf(out, len, "seen %" PRIu32 " of %" PRIu32 " hours before, %s",
			         s->hours_present, s->hours_baseline, gs);
		break;
	case COL_V_BUSY:
		if (s->hours_pending > 0)
			snprintf(out, len, "%s; baseline being built: %" PRIu32 " hours pending", act,
			         s->hours_pending);
		else
			snprintf(out, len, "%s; seen %" PRIu32 " of %" PRIu32 " hours, %s", act,
			         s->hours_present, s->hours_baseline, gs);
		break;
	case COL_V_WATCH:
		if (!heavy_by_connections(c, &s->w))
			snprintf(out, len, "%s: over %.0f requests/s, neither a flood, a scraper nor an"
			         " egress by its requests", rq, c->request_rate_min);
		else if (s->hours_pending > 0)
			snprintf(out, len, "over %" PRIu64 ", baseline being built: %" PRIu32
			         " hours pending (its verdict waits for them)", c->suspect_min,
			         s->hours_pending);
		else if (s->hours_baseline < c->flood_min_hours && isinf(g))
			snprintf(out, len, "over %" PRIu64 ", new, but the baseline holds %" PRIu32
			         " hours: too little history to call it a flood (%" PRIu32 ")",
			         c->suspect_min, s->hours_baseline, c->flood_min_hours);
		else
			snprintf(out, len, "over %" PRIu64 ": seen %" PRIu32 " of %" PRIu32 " hours, %s",
			         c->suspect_min, s->hours_present, s->hours_baseline, gs);
		break;
	}
}

static void render_ipset(const col_suspect_t *s, size_t n, const col_suspect_cfg_t *c,
                         const col_qopts_t *o, fs_buf_t *b)
{
	char ip[WIRE_IP_STRLEN], t[24];
	bool made[2] = {false, false};
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += col_verdict_blocks(s[i].verdict);
	fs_buf_printf(b, "# fleetstat suspects at %s: %zu attack verdicts (syn-flood, conn-flood,"
	              " flood, denied). Review before running; nothing is blocked by fleetstat.\n",
	              col_time_str(o->now_ms, t), k);
	for (size_t i = 0; i < n; i++) {
		int v6 = s[i].w.ip.len == 16;

		if (!col_verdict_blocks(s[i].verdict))
			continue;
		if (!made[v6])
			fs_buf_printf(b, "ipset create %s%s hash:ip family %s -exist\n", c->ipset,
			              v6 ? "6" : "", v6 ? "inet6" : "inet");
		made[v6] = true;
		fs_buf_printf(b, "ipset add %s%s %s -exist  # %s\n", c->ipset, v6 ? "6" : "",
		              wire_ip_str(&s[i].w.ip, ip), col_verdict_name(s[i].verdict));
	}
}

static void json_growth(fs_buf_t *b, const col_suspect_t *s)
{
	double g = growth(s);

	if (isinf(g))
		fs_buf_puts(b, "null");
	else
		fs_buf_printf(b, "%.2f", g);
}

int col_suspects_render(const col_suspect_t *s, size_t n, const col_suspect_cfg_t *c,
                        const col_qopts_t *o, uint32_t pending, fs_buf_t *b)
{
	static const char *const head[] = {
		"REMOTE IP", "VERDICT", "NOW", "PEAK", "SYN_RECV%", "HOSTS", "TIERS", "HOURS", "MEDIAN",
		"GROWTH", "WHY",
	};
	char ip[WIRE_IP_STRLEN], why[512];

	if (o->format == COL_FMT_IPSET) {
		render_ipset(s, n, c, o, b);
		return b->err;
	}
	if (o->format == COL_FMT_JSON) {
		fs_buf_printf(b, "{\"now_ms\":%" PRId64, o->now_ms);
		if (o->tier) {
			fs_buf_puts(b, ",\"tier\":");
			fs_buf_json_str(b, o->tier);
		}
		fs_buf_printf(b, ",\"since_ms\":%" PRId64 ",\"baseline_ms\":%" PRId64
		              ",\"baseline_pending_hours\":%" PRIu32 ",\"suspect_min\":%" PRIu64
		              ",\"suspects\":[",
		              o->since_ms, c->baseline_ms, pending, c->suspect_min);
		for (size_t i = 0; i < n; i++) {
			const col_suspect_t *x = &s[i];

			why_text(c, x, why, sizeof(why));
			fs_buf_printf(b, "%s{\"ip\":\"%s\",\"verdict\":\"%s\",\"now\":%" PRIu64
			              ",\"peak\":%" PRIu64 ",\"upper_bound\":%" PRIu64
			              ",\"established\":%" PRIu64 ",\"syn_recv\":%" PRIu64
			              ",\"syn_recv_share\":%.3f,\"host_max\":%" PRIu64 ",\"tier_max\":%" PRIu64
			              ",\"hosts\":%" PRIu32 ",\"tiers\":[",
			              i ? "," : "", wire_ip_str(&x->w.ip, ip), col_verdict_name(x->verdict),
			              x->now, x->w.count, x->w.upper_bound, x->w.st[WIRE_ESTABLISHED],
			              x->w.st[WIRE_SYN_RECV], share(x->w.st[WIRE_SYN_RECV], total(&x->w)),
			              x->w.host_max, x->w.tier_max, x->w.hosts);
			for (size_t j = 0; j < x->w.n_tiers; j++) {
				if (j)
					fs_buf_puts(b, ",");
				fs_buf_json_str(b, x->w.tiers[j]);
			}
			fs_buf_printf(b, "],\"hours_present\":%" PRIu32 ",\"baseline_hours\":%" PRIu32
			              ",\"baseline_median\":%" PRIu64 ",\"growth\":",
			              x->hours_present, x->hours_baseline, x->baseline_median);
			json_growth(b, x);
			col__json_activity(b, &x->w.act);
			fs_buf_printf(b, ",\"pending_hours\":%" PRIu32 ",\"why\":", x->hours_pending);
			fs_buf_json_str(b, why);
			if (x->has_requests) {
				fs_buf_puts(b, ",\"requests\":");
				col_req_json_ip(b, &x->rq, per_connection(x));
			}
			fs_buf_puts(b, "}");
		}
		fs_buf_puts(b, "]}\n");
		return b->err;
	}

	grid_t g;

	grid_init(&g, o->format, 0x443);
	grid_heads(&g, head, sizeof(head) / sizeof(head[0]));
	grid_head_done(&g);
	for (size_t i = 0; i < n; i++) {
		const col_suspect_t *x = &s[i];
		char tiers[256] = "", gs[32];
		size_t len = 0;
		double gr = growth(x);

		for (size_t j = 0; j < x->w.n_tiers && len < sizeof(tiers); j++)
			len += (size_t)snprintf(tiers + len, sizeof(tiers) - len, "%s%s", j ? " " : "",
			                        x->w.tiers[j]);
		if (isinf(gr))
			snprintf(gs, sizeof(gs), "new");
		else
			snprintf(gs, sizeof(gs), "%.1fx", gr);
		why_text(c, x, why, sizeof(why));
		grid_cell(&g, "%s", wire_ip_str(&x->w.ip, ip));
		grid_cell(&g, "%s", col_verdict_name(x->verdict));
		grid_cell(&g, "%" PRIu64, x->now);
		grid_cell(&g, "%" PRIu64, x->w.count);
		grid_cell(&g, "%.0f", 100 * share(x->w.st[WIRE_SYN_RECV], total(&x->w)));
		grid_cell(&g, "%" PRIu32, x->w.hosts);
		grid_cell(&g, "%s", tiers);
		grid_cell(&g, "%" PRIu32 "/%" PRIu32, x->hours_present, x->hours_baseline);
		grid_cell(&g, "%" PRIu64, x->baseline_median);
		grid_cell(&g, "%s", gs);
		grid_cell(&g, "%s", why);
	}
	return grid_render(&g, b);
}
