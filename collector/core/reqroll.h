/* SPDX-License-Identifier: MIT */
/*
 * reqroll.h: one host's requests over a period (a minute), merged from its
 * reports' (the minute rollups of `requests`, DESIGN 12).  Counts add up;
 * each listed client or host keeps what the reports that listed it could
 * not have hidden, so a period's upper bounds are the reports' own, and
 * each client its busiest report (the rate the verdicts weigh).  No I/O.
 */
#ifndef COL_REQROLL_H
#define COL_REQROLL_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

/*
 * At most this many clients, and hosts, a period.  Past it the ones of
 * smallest upper bound are dropped, and the period's `dropped` excess
 * raised to cover them: a dropped one reads as one the reports did not
 * list, with that much more than the reports' unlisted bound.  One listed
 * again after a drop may be one dropped before: its `excess` (the dropped
 * excess when it came back) is added to its bound.  Until a drop a
 * period's bounds are exactly its reports'.
 */
#define COL_ROLL_REQ_MAX 256

typedef struct {
	wire_req_client_t c;        /* summed; user agents the most one report saw */
	uint64_t unlisted_listed;   /* Σ clients_unlisted_max of the reports that listed it */
	uint64_t excess;            /* at most the period's clients_dropped */
	uint64_t busy_requests;     /* its busiest report's requests, over busy_interval_ms */
	uint32_t busy_interval_ms;
} col_roll_client_t;

typedef struct {
	wire_req_host_t h;          /* h.host owned */
	uint64_t unlisted_listed, excess;
} col_roll_rhost_t;

/* Zero-initialise; col_roll_req_close() frees.  Clients in IP order, hosts in name order. */
typedef struct {
	uint32_t reports;           /* that carried requests; 0: none */
	uint64_t total, by_status[WIRE_REQ_NCLASS], bytes, malformed;
	uint64_t clients_unlisted, hosts_unlisted;  /* Σ of the reports' unlisted max */
	uint64_t clients_dropped, hosts_dropped;    /* what a dropped one had beyond that */
	col_roll_client_t *clients;
	size_t n_clients, cap_clients;
	col_roll_rhost_t *hosts;
	size_t n_hosts, cap_hosts;
} col_roll_req_t;

/* A report's requests per second as the verdicts weigh them (0 without an interval). */
double col_req_rate(uint64_t requests, uint32_t interval_ms);

/* Merges one report's requests (none when !q->present) over interval_ms.  0 or -ENOMEM (r unchanged then). */
int col_roll_req_add(col_roll_req_t *r, const wire_requests_t *q, uint32_t interval_ms);

/* Whether the two clients' (hosts') keys are in order: <0, 0, >0. */
int col_roll_ip_cmp(const wire_ip_t *a, const wire_ip_t *b);

void col_roll_req_close(col_roll_req_t *r);

#endif
