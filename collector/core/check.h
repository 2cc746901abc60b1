/* SPDX-License-Identifier: MIT */
/* check.h: the collector's pure checks: reports against its clock, settings' syntax. */
#ifndef COL_CHECK_H
#define COL_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* How far ahead of the collector's clock a report may be stamped. */
#define COL_MAX_SKEW_MS (5 * 60 * 1000)

/*
 * Checks what wire_report_validate() cannot: collected_at_ms no more than
 * COL_MAX_SKEW_MS ahead of now_ms and not older than now_ms - retention_ms
 * (a spool delivered after an outage is old, and welcome); interval_ms
 * from 1 ms to a day; the top list's IPs distinct, at most three rankings'
 * worth, and entries + rest + excluded adding up to the state table state
 * by state.  Returns 0, or -EINVAL with a static one-line reason in *why.
 */
int col_report_check(const wire_report_t *r, int64_t now_ms, int64_t retention_ms,
                     const char **why);

/* "90", "90s", "15m", "24h", "7d" into milliseconds; 0 or -EINVAL. */
int col_parse_duration(const char *s, int64_t *ms);


/*
 * Parses "HOST:PORT" where HOST is an IPv4 address, "[IPv6]" or "*"
 * (all IPv4 addresses), into the address text (host, hostlen bytes) and
 * port; *loopback tells whether it listens on loopback only.  0 or -EINVAL.
 */
int col_parse_listen(const char *s, char *host, size_t hostlen, int *port,
                     bool *loopback);

#endif
