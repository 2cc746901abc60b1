/* SPDX-License-Identifier: MIT */
/* toproll.h: one host's top lists over a period, merged (the minute rollups of top-ips). */
#ifndef COL_TOPROLL_H
#define COL_TOPROLL_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

/*
 * At most this many IPs a period.  Past it the IPs of smallest total peak
 * are dropped and the period's thresholds raised to their peaks, so that
 * upper bounds stay bounds: a dropped IP reads as one the reports missed.
 */
#define COL_ROLL_TOP_MAX 256

/*
 * What an IP's connections were doing on one host (DESIGN 12): the latest
 * report of the period that measured it, with that report's ESTABLISHED
 * (what the counts are shares of).  at_ms 0: none measured.
 */
typedef struct {
	int64_t at_ms;
	uint32_t established;
	wire_activity_t a;
} col_act_t;

/* Keeps b in *a when b was measured and is the later: the one rule of which activity stands. */
void col_act_keep(col_act_t *a, const col_act_t *b);

/* col_act_keep() of x's activity in a report collected at at_ms. */
void col_act_take(col_act_t *a, const wire_remote_t *x, int64_t at_ms);

/* One IP over the period's reports. */
typedef struct {
	wire_ip_t ip;
	uint32_t listed;         /* reports that listed it */
	uint32_t total;          /* its largest total (every state but LISTEN) */
	wire_states_t st;        /* its largest count per state */
	int64_t first_ms, last_ms;
	col_act_t act;
} col_roll_ip_t;

/*
 * Zero-initialise; col_roll_top_close() frees.  thr_* are the largest
 * thresholds of the period's reports (wire_top_t's), which bound every IP
 * a report did not list.
 */
typedef struct {
	uint32_t reports;
	uint32_t thr_total, thr_established, thr_syn_recv;
	col_roll_ip_t *ips;
	size_t n, cap;
} col_roll_top_t;

/* Merges one report's top list, collected at at_ms.  0 or -ENOMEM (r unchanged then). */
int col_roll_top_add(col_roll_top_t *r, const wire_top_t *top, int64_t at_ms);

void col_roll_top_close(col_roll_top_t *r);

/* ---- an hour of the fleet's IPs, per tier (the baselines of suspects) ---- */

/*
 * One IP in one tier over an hour, from its hosts' minutes: its level is,
 * per minute, the sum over the tier's hosts of their peaks in that minute,
 * and `peak_*` the hour's largest such level.
 */
typedef struct {
	const char *tier;          /* owned by the col_iphour_t */
	wire_ip_t ip;
	uint32_t minutes;          /* minutes that some host listed it */
	uint32_t hosts;            /* the most hosts listing it in one minute */
	uint64_t peak_total, peak_established, peak_syn_recv;
	uint64_t host_max;         /* the largest peak total on one host in one minute */
} col_iphour_row_t;

typedef struct col_iphour col_iphour_t;

int col_iphour_new(col_iphour_t **out);
void col_iphour_free(col_iphour_t *h);

/*
 * One host's minute row (its tier; minute, the minute's start).  Minutes in
 * ascending order, a minute's hosts in any.  0 or -ENOMEM.
 */
int col_iphour_add(col_iphour_t *h, int64_t minute, const char *tier, const col_roll_top_t *r);

/* Ends the hour: *rows (borrowed, valid until col_iphour_free()) in no order.  0 or -ENOMEM. */
int col_iphour_rows(col_iphour_t *h, const col_iphour_row_t **rows, size_t *n);

#endif
