/* SPDX-License-Identifier: MIT */
/* advice.h: kernel-tuning advice from a host's sysctls and what its counters show (DESIGN 1.5). */
#ifndef COL_ADVICE_H
#define COL_ADVICE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "query.h"
#include "summary.h"

/* What one host shows, borrowed. */
typedef struct {
	const col_host_t *host;           /* its latest report (states, top list) */
	const col_sysctl_t *sysctls;      /* its current sysctls */
	size_t n_sysctls;
	const col_host_rates_t *rates;    /* its counters' rates over the window, or NULL */
} col_advice_in_t;

/* The rules, each with the setting it changes. */
typedef enum {
	COL_ADV_TW_RECYCLE, COL_ADV_TW_BUCKETS, COL_ADV_LISTEN_OVERFLOW, COL_ADV_SYNCOOKIES,
	COL_ADV_PORT_RANGE, COL_ADV_CONNTRACK, COL_ADV_N
} col_advice_rule_t;

/* One rule that fires on one host, with its figures in words. */
typedef struct col_advice_s {
	col_advice_rule_t rule;
	const col_host_t *host;
	char figures[256];
} col_advice_t;

/* The rules that fire on one host, appended to out (at most max; *n counts them).  0. */
int col_advice_host(const col_advice_in_t *in, col_advice_t *out, size_t max, size_t *n);

/* The rule's name ("tw_recycle"), the setting it changes, and what to do. */
const char *col_advice_name(col_advice_rule_t r);
const char *col_advice_setting(col_advice_rule_t r);
const char *col_advice_change(col_advice_rule_t r);

/*
 * Appends advice a (sorted by rule, then host) in o->format: JSON, the
 * value of an "advice" key (rules with their hosts); otherwise text lines.
 */
void col_advice_render(const col_advice_t *a, size_t n, const col_qopts_t *o, fs_buf_t *b);

#endif
