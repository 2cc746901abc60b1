/* SPDX-License-Identifier: MIT */
/* print.h: the agent's local output formats (--print=awk|table|json). */
#ifndef AG_PRINT_H
#define AG_PRINT_H

#include "buf.h"
#include "report.h"

/*
 * Each appends one rendering of r to b; r, host and tier are borrowed.
 * Returns 0 or b->err (-ENOMEM).
 *
 * awk:   "STATE count" lines, largest first (ties by name), states present
 *        only, exactly what the netstat -n | awk one-liner prints.
 * json:  one object, keys as in DESIGN (host, tier, collected_at_ms, source,
 *        collect_us, states, listeners, top, counters, sysctls).
 * table: a terminal table of states, listeners and the top remote IPs.
 */
int ag_print_awk(const wire_report_t *r, fs_buf_t *b);
int ag_print_json(const wire_report_t *r, const char *host, const char *tier,
                  fs_buf_t *b);
int ag_print_table(const wire_report_t *r, const char *host, const char *tier,
                   fs_buf_t *b);

#endif
