/* SPDX-License-Identifier: MIT */
/* metrics.h: the Prometheus text of GET /metrics: the fleet's gauges and the collector's own. */
#ifndef COL_METRICS_H
#define COL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "query.h"
#include "suspects.h"

/* Ports per tier and direction in fleetstat_tier_port_sockets. */
#define COL_METRICS_PORTS 16
#define COL_METRICS_REQUESTERS 5   /* a tier's busiest client IPs in /metrics */
/* The suspects' window in /metrics, and how many of them are series of their own. */
#define COL_METRICS_SUSPECTS_MS (15 * 60000)
#define COL_METRICS_SUSPECTS 20

/* Why frames were refused: the Error codes sent (wire.h), 0..6. */
#define COL_NREASONS 7

/* The collector's own figures at one moment, as the shells count them. */
typedef struct {
	uint64_t connections_open;
	uint64_t connections_accepted;
	uint64_t frames;
	uint64_t rejected[COL_NREASONS];  /* by Error code */
	uint64_t reports_received;
	uint64_t reports_stored;
	uint64_t reports_duplicate;
	uint64_t commits;
	uint64_t commit_failures;
	uint64_t last_commit_us, max_commit_us;
	uint64_t queued;
	uint64_t http_requests;
} col_selfstats_t;

/*
 * Appends the fleet's part of the exposition (text format 0.0.4): per tier
 * (fresh hosts) and per host the sockets by state, hosts and stale hosts,
 * the last report's age, ports, requests and kernel counters; the attack
 * verdicts among the judged suspects sus per tier, and the first
 * COL_METRICS_SUSPECTS of them (attacks first); sus NULL: not known, those
 * families left out.  hosts and sus are borrowed.  0 or -ENOMEM.
 */
int col_metrics_fleet(const col_host_t *hosts, size_t n, const col_suspect_t *sus,
                      size_t n_sus, int64_t now_ms, fs_buf_t *b);

/* Appends the collector's own figures.  0 or -ENOMEM. */
int col_metrics_self(const col_selfstats_t *self, fs_buf_t *b);

#endif
