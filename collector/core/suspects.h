/* SPDX-License-Identifier: MIT */
/* suspects.h: NAT egress or attacker: verdicts on heavy IPs, with their reasons (DESIGN 1, 6). */
#ifndef COL_SUSPECTS_H
#define COL_SUSPECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "query.h"
#include "requests.h"

#define COL_MAX_CIDRS 256

/*
 * The [suspects] section of the collector's config (names as the keys):
 * thresholds of the heuristics, and allow / deny lists, which win over them.
 */
typedef struct {
	uint64_t suspect_min;     /* connections on one host, or over a tier: 100 */
	double syn_share;         /* syn-flood: SYN_RECV's share at least 0.5 ... */
	uint64_t syn_min;         /* ... and at least 100 SYN_RECV */
	double nat_established;   /* nat-egress: ESTABLISHED's share at least 0.8, */
	double nat_hours;         /* present in at least 0.2 of the baseline's hours, */
	double nat_growth;        /* at most 3 times its baseline median */
	double flood_growth;      /* conn-flood: at least 10 times its median (none: infinite) */
	double flood_hours;       /* and present in at most 0.1 of the baseline's hours, */
	uint32_t flood_min_hours; /* of a baseline with at least 24 hours of data (less: watch) */
	/* From what its connections are doing (DESIGN 12), when measured on at least
	   activity_min of its ESTABLISHED: */
	uint64_t activity_min;    /* 20 */
	double flood_unanswered;  /* conn-flood: this share never answered, 0.8 (no history needed), */
	uint64_t flood_bytes;     /* having sent at most this many bytes a connection on average,
	                             64 KiB: a one-way upload (syslog, metrics) is not a flood */
	double busy_answered;     /* busy (or nat-egress by history): this share answered, 0.5 */
	/* From its requests in the access logs (DESIGN 12), when at least: */
	double request_rate_min;  /* 10 a second (a suspect then, whatever its connections) */
	uint64_t few_agents;      /* "few" user agents: at most 3 */
	double flood_rate;        /* flood: this many a second from few user agents, 200, */
	double flood_per_connection; /* or this many a second a connection, 100 */
	double scraper_4xx;       /* scraper: few user agents, this share 4xx at least, 0.2 */
	uint64_t nat_agents;      /* nat-egress: at least 20 user agents ... */
	double nat_errors;        /* ... and at most this share 4xx and 5xx, 0.1 */
	int64_t baseline_ms;      /* the baseline: 7 d before the window's hour */
	wire_cidr_t allow[COL_MAX_CIDRS], deny[COL_MAX_CIDRS];
	size_t n_allow, n_deny;
	char ipset[32];           /* --format ipset: the set's name, "fleetstat-block" (v6: +"6") */
} col_suspect_cfg_t;

void col_suspect_cfg_init(col_suspect_cfg_t *c);

/*
 * One key of [suspects]: suspect_min, syn_share, syn_min, nat_established,
 * nat_hours, nat_growth, flood_growth, flood_hours, flood_min_hours, activity_min,
 * flood_unanswered, flood_bytes, busy_answered, request_rate_min, few_agents,
 * flood_rate, flood_per_connection, scraper_4xx, nat_agents, nat_errors, baseline (a duration),
 * allow and deny (CIDRs or addresses, separated by spaces or commas; each
 * key adds to its list), ipset.  0, -ENOENT (unknown key) or -EINVAL with a
 * static reason in *why.
 */
int col_suspect_cfg_set(col_suspect_cfg_t *c, const char *name, const char *value,
                        const char **why);

typedef enum {
	COL_V_SYN_FLOOD, COL_V_CONN_FLOOD, COL_V_NAT_EGRESS, COL_V_WATCH, COL_V_ALLOWED, COL_V_DENIED,
	COL_V_BUSY, COL_V_SCRAPER, COL_V_FLOOD,
} col_verdict_t;

const char *col_verdict_name(col_verdict_t v);

/* An attack verdict: what --format ipset lists. */
bool col_verdict_blocks(col_verdict_t v);

/* One heavy IP: the window's figures and its baseline. */
typedef struct {
	col_top_ip_t w;              /* over the window (ranked by total) */
	uint64_t now;                /* in the fresh hosts' latest reports */
	uint32_t hours_present;      /* baseline hours it was listed in */
	uint32_t hours_baseline;     /* baseline hours with any data */
	uint64_t baseline_median;    /* its level's median over the hours present */
	uint32_t hours_pending;      /* baseline hours stored but not yet built: the figures above
	                                lack them, and a verdict that rests on them waits */
	bool has_requests;           /* the access logs counted its requests in the window: */
	col_req_ip_t rq;
	col_verdict_t verdict;       /* set by col_suspect_judge() */
} col_suspect_t;

/* Whether the window's figures make it a suspect at all (rq: its requests, or NULL). */
bool col_suspect_heavy(const col_suspect_cfg_t *c, const col_top_ip_t *w, const col_req_ip_t *rq);

/*
 * Sets s->verdict from its figures and the config.  While s->hours_pending,
 * only the lists, syn-flood and what its connections are doing (conn-flood
 * or busy: they need no history) are judged; the rest is watch until the
 * baseline is built.  A verdict so decided is final: its hours_pending
 * becomes 0 (its JSON's pending_hours: 0 when final); busy is not, for the
 * history may yet make it nat-egress.
 */
void col_suspect_judge(const col_suspect_cfg_t *c, col_suspect_t *s);

/* Whether its verdict waits for baseline hours still to be built (watch or busy meanwhile). */
bool col_suspect_waits(const col_suspect_t *s);

/*
 * Renders suspects (ranked as given) in o->format (COL_FMT_IPSET: ipset
 * commands for the attack verdicts).  pending: baseline hours still to be built (their IPs are missing
 * from the baselines; each suspect's hours_pending says which verdicts wait).  0 or -ENOMEM.
 */
int col_suspects_render(const col_suspect_t *s, size_t n, const col_suspect_cfg_t *c,
                        const col_qopts_t *o, uint32_t pending, fs_buf_t *b);

#endif
