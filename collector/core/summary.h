/* SPDX-License-Identifier: MIT */
/* summary.h: the cron summary: per-tier peaks, stale agents, counter rates, thresholds, status. */
#ifndef COL_SUMMARY_H
#define COL_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "query.h"
#include "suspects.h"

/* Nagios-style status, which is also the exit code. */
enum { COL_OK = 0, COL_WARNING = 1, COL_CRITICAL = 2, COL_UNKNOWN = 3 };

#define COL_MAX_THRESHOLDS 64

/* Kinds of threshold on counts: attack verdicts, and advice (host and rule pairs). */
#define COL_TH_ATTACKS (-100)
#define COL_TH_ADVICE (-101)

/*
 * warning/critical levels (0: none) for: a tier's peak of one state (tier
 * "*" for any), stale hosts, and a counter's rate per minute on any host.
 */
typedef struct {
	char tier[33];       /* "*" or a tier; "" for the non-state kinds */
	int state;           /* COL_STATE_TOTAL or 1..11; -1 stale hosts; -2 - k counter k;
	                        COL_TH_ATTACKS, COL_TH_ADVICE */
	uint64_t warning, critical;
} col_threshold_t;

typedef struct {
	col_threshold_t t[COL_MAX_THRESHOLDS];
	size_t n;
} col_thresholds_t;

/*
 * One setting of the [thresholds] section: "web.CLOSE_WAIT = 300,1000",
 * "*.SYN_RECV = 1000", "stale = 1,3", "ListenOverflows = 1,100" (per minute),
 * "attacks = ,1" (attack verdicts: the default), "advice = 1" (the default);
 * "W,C", "W" or ",C".  0, or -EINVAL with a static reason in *why.
 */
int col_thresholds_set(col_thresholds_t *th, const char *name, const char *value,
                       const char **why);

typedef struct {
	const char *tier;
	uint64_t peak[WIRE_NSTATES + 1];   /* per state; index WIRE_NSTATES: total */
} col_tier_peak_t;

typedef struct {
	const col_host_t *host;            /* borrowed */
	double per_min[COL_NCTRS];         /* rates over the window; -1 when unknown */
} col_host_rates_t;

struct col_advice_s;

/*
 * What else the window holds: the suspects with attack verdicts, the advice,
 * and the suspects' baseline hours still to be built with how many verdicts
 * wait for them (col_suspect_waits()).
 */
typedef struct {
	const col_suspect_t *attacks;
	size_t n_attacks;
	const struct col_advice_s *advice;
	size_t n_advice;
	uint32_t pending_hours;
	size_t n_waiting;
	const col_req_ip_t *requesters;    /* the top client IPs by requests, heaviest first */
	size_t n_requesters;
	int64_t requesters_ms;             /* over this window's end */
} col_summary_extra_t;

/*
 * Renders the summary (o->format json, else text for mail) of hosts (their
 * latest reports), per-tier peaks and per-host counter rates over the
 * window o->since_ms, attacks and advice, against th.  Returns the status
 * (COL_OK ...) or a negative errno.
 */
int col_summary_render(const col_host_t *hosts, size_t n_hosts, const col_tier_peak_t *peaks,
                       size_t n_peaks, const col_host_rates_t *rates, size_t n_rates,
                       const col_summary_extra_t *x, const col_thresholds_t *th,
                       const col_qopts_t *o, fs_buf_t *b);

#endif
