/* SPDX-License-Identifier: MIT */
/*
 * reqs.h: requests per interval from access-log lines, in bounded memory:
 * totals by status class and bytes; the heaviest client IPs (ag_topk_t: at
 * most ips_max tracked, each with an error bound) with their status mix and
 * distinct user agents (exact up to AG_REQS_UA_CAP); the heaviest requested
 * hosts.  Pure: lines in, tables out.
 */
#ifndef AG_REQS_H
#define AG_REQS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alog.h"
#include "report.h"

#define AG_REQS_IPS_DEFAULT 10000   /* client IPs tracked in an interval */
#define AG_REQS_IPS_FILE 50000     /* tracked in a file read whole (--input): 32 MiB */
#define AG_REQS_HOSTS_DEFAULT 1024  /* requested hosts tracked */
#define AG_REQS_HOST_MAX 255        /* bytes of a host kept */
#define AG_REQS_UA_CAP 256          /* distinct user agents counted exactly per IP */
#define AG_REQS_UA_BUDGET (1u << 20)/* user-agent slots of all IPs together */

/* Status classes: 1xx .. 5xx, and the rest (6xx-9xx, nginx's 0xx never parse). */
enum { AG_REQS_1XX, AG_REQS_2XX, AG_REQS_3XX, AG_REQS_4XX, AG_REQS_5XX, AG_REQS_OTHER,
       AG_REQS_NCLASS };
_Static_assert(AG_REQS_NCLASS == WIRE_REQ_NCLASS, "the report's classes");

typedef struct {
	uint64_t lines;                 /* lines seen (blank ones aside) */
	uint64_t requests;              /* lines parsed */
	uint64_t bytes;
	uint64_t cls[AG_REQS_NCLASS];
	uint64_t malformed[AG_ALOG_NREASONS]; /* [AG_ALOG_OK] is unused */
	uint64_t too_long;              /* lines over the reader's bound, counted, not parsed */
} ag_reqs_totals_t;

/* One client IP as listed. */
typedef struct {
	int family;
	uint8_t addr[16];
	uint64_t requests;              /* an upper bound of its true count */
	uint64_t error;                 /* requests - error is a lower bound */
	uint64_t cls[AG_REQS_NCLASS];   /* of the requests seen since it was tracked */
	uint64_t bytes;
	uint32_t uas;                   /* distinct user agents (AG_REQS_UA_CAP at most) */
	bool uas_capped;                /* more than counted: the cap or the budget */
} ag_reqs_ip_t;

typedef struct {
	char name[AG_REQS_HOST_MAX + 1];
	uint64_t requests, error;
} ag_reqs_host_t;

typedef struct ag_reqs ag_reqs_t;

/* 0 for a bound takes the default.  NULL when out of memory. */
ag_reqs_t *ag_reqs_new(size_t ips_max, size_t hosts_max);
void ag_reqs_free(ag_reqs_t *q);

/* One line: parsed (r == AG_ALOG_OK, with l) or not (r is the reason, l unused). */
void ag_reqs_add(ag_reqs_t *q, ag_alog_result_t r, const ag_alog_line_t *l);

/*
 * The same with its user agent hashed beforehand (ag_reqs_ua_hash(); 0:
 * none), l->ua unread: a line parsed on another thread, its buffer gone.
 */
void ag_reqs_add_hashed(ag_reqs_t *q, ag_alog_result_t r, const ag_alog_line_t *l,
                        uint64_t ua_hash);
uint64_t ag_reqs_ua_hash(const ag_alog_line_t *l);
void ag_reqs_too_long(ag_reqs_t *q);

/* A new interval: everything forgotten, the memory kept. */
void ag_reqs_reset(ag_reqs_t *q);

const ag_reqs_totals_t *ag_reqs_totals(const ag_reqs_t *q);

/* Client IPs tracked, and whether some were replaced (then there were more). */
size_t ag_reqs_distinct_ips(const ag_reqs_t *q);
bool ag_reqs_ips_replaced(const ag_reqs_t *q);

/*
 * The k heaviest client IPs, heaviest first, into out[0..k); returns how many.
 * *unlisted_max: the most requests an IP not among them can have had.
 */
size_t ag_reqs_top_ips(const ag_reqs_t *q, ag_reqs_ip_t *out, size_t k, uint64_t *unlisted_max);
size_t ag_reqs_top_hosts(const ag_reqs_t *q, ag_reqs_host_t *out, size_t k,
                         uint64_t *unlisted_max);

/*
 * The interval's counts as a report carries them (wire.h): totals, the top
 * `limit` clients and hosts (limit <= WIRE_MAX_REQ_LIST), their bounds.  out
 * is filled, owning its arrays (marks are the caller's to add).  0 or -ENOMEM.
 */
int ag_reqs_to_wire(const ag_reqs_t *q, uint32_t limit, wire_requests_t *out);

#endif
