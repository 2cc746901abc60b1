/* SPDX-License-Identifier: MIT */
/* collect.h: one collection of this host's TCP sockets, counters and sysctls. */
#ifndef AG_COLLECT_H
#define AG_COLLECT_H

#include <stddef.h>

#include "agg.h"
#include "report.h"

typedef enum { AG_SRC_AUTO, AG_SRC_NETLINK, AG_SRC_PROC } ag_source_t;

typedef struct {
	ag_source_t source;
	const char *input;   /* saved netstat/ss//proc text instead of the kernel */
	int kernel_stats;    /* also read counters and sysctls */
} ag_collect_opts_t;

/*
 * Collects into r (states, listeners, top, counters, sysctls, source,
 * collected_at_ms, collect_us), replacing what r held.  0 or a negative
 * errno; the reason has been logged.
 */
int ag_collect(const ag_collect_opts_t *o, ag_agg_t *agg, wire_report_t *r);

/* The sock_diag dump into agg (reset first).  0 or a negative errno. */
int ag_netlink_collect(ag_agg_t *agg);

/*
 * Streams a text file (netstat, ss or /proc/net/tcp format; detected when
 * *fmt is AG_TEXT_UNKNOWN, and returned there) into agg.  0 or negative errno.
 */
int ag_text_file(const char *path, int *fmt, ag_agg_t *agg,
                 unsigned long *sockets, unsigned long *malformed,
                 unsigned long *first_bad_line);

/* Reads a small file whole (at most max bytes).  *buf is new, free() it. */
int ag_read_file(const char *path, char **buf, size_t *len, size_t max);

/* Appends the kernel counters and the tuning sysctls to r (missing files are skipped). */
void ag_read_kernel_stats(wire_report_t *r);

#endif
