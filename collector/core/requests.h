/* SPDX-License-Identifier: MIT */
/*
 * requests.h: `fleetstat requests` (DESIGN 12): the access logs' requests of
 * the reports in a window summed across hosts, per client IP or per host
 * (--by ip|domain), each with what was counted and an upper bound (what the
 * reports that did not list it could have hidden).  No I/O: reports in,
 * tables out.
 */
#ifndef COL_REQUESTS_H
#define COL_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "query.h"
#include "reqroll.h"

typedef struct col_req col_req_t;

/*
 * The suspects and the summary weigh the requests of their window's last
 * hour at most (a rate is the busiest report's: the minute rollups keep it).
 */
#define COL_REQ_WINDOW_MAX_MS 3600000
#define COL_SUMMARY_REQUESTERS 5

/* by_domain: rows per requested host, else per client IP.  NULL when out of memory. */
col_req_t *col_req_new(bool by_domain);
void col_req_free(col_req_t *a);

/*
 * One report's requests from host host_id of tier (borrowed until the
 * rendering), over its interval_ms; reports in host order.  0 or -ENOMEM.
 */
int col_req_add(col_req_t *a, int64_t host_id, const char *tier, uint32_t interval_ms,
                const wire_requests_t *q);

/*
 * One host's period (a minute rollup, reqroll.h), merged as its reports
 * would be; fed in host order with the host's raw reports.  0 or -ENOMEM.
 */
int col_req_add_roll(col_req_t *a, int64_t host_id, const char *tier, const col_roll_req_t *q);

/* The rows, heaviest first, at most o->limit; table, csv or json.  0 or -ENOMEM. */
int col_req_render(col_req_t *a, const col_qopts_t *o, fs_buf_t *b);

/* One client IP's requests over the window, for the verdicts (DESIGN 12). */
typedef struct col_req_ip_s {
	wire_ip_t ip;
	uint64_t requests, upper_bound;
	uint64_t by_status[WIRE_REQ_NCLASS];
	uint32_t user_agents;        /* the most one report saw: distinct, exact up to a cap */
	bool user_agents_capped;
	double rate;                 /* requests a second: each host's busiest report, summed */
	uint32_t hosts;
	const char *const *tiers;    /* the first few, as logged; valid until col_req_free() */
	size_t n_tiers;
} col_req_ip_t;

/*
 * The client IPs of a (not by_domain) aggregate: the heaviest `limit`, heaviest
 * first; or (limit SIZE_MAX) all of them in IP order for col_req_ip_find().
 * *out new (free()), none by domain.  0 or -ENOMEM.
 */
int col_req_ips(const col_req_t *a, size_t limit, col_req_ip_t **out, size_t *n);
const col_req_ip_t *col_req_ip_find(const col_req_ip_t *v, size_t n, const wire_ip_t *ip);

/* Requests a second on each of established connections; 0 without q or connections. */
double col_req_per_connection(const col_req_ip_t *q, uint64_t established);

/* Its JSON object (DESIGN 6): total, rate, by_status, user agents, per_connection (0: null). */
void col_req_json_ip(fs_buf_t *b, const col_req_ip_t *q, double per_connection);

#endif
