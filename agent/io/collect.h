/* SPDX-License-Identifier: MIT */
/* collect.h: one collection of this host's TCP sockets, counters and sysctls. */
#ifndef AG_COLLECT_H
#define AG_COLLECT_H

#include <stdbool.h>
#include <stddef.h>

#include "agg.h"
#include "report.h"

/* A single IP with over a hundred connections is suspicious (DESIGN 1.3). */
#define AG_ACTIVITY_MIN_DEFAULT 100
#define AG_ACTIVITY_OFF UINT32_MAX /* --activity-min off: never read the TCP info */

typedef enum { AG_SRC_AUTO, AG_SRC_NETLINK, AG_SRC_PROC } ag_source_t;

typedef struct {
	ag_source_t source;
	const char *input;   /* saved netstat/ss//proc text instead of the kernel */
	int kernel_stats;    /* also read counters and sysctls */
	int threads;         /* sock_diag dump: 0 auto, 1 one dump, 2 split in two */
	uint32_t interval_ms; /* the report's interval: what `active` and `idle` are measured by */
	uint32_t activity_min; /* read the TCP info (DESIGN 12) when the last collection listed
	                          an IP with this many ESTABLISHED, and in the first; 0: always;
	                          AG_ACTIVITY_OFF: never */
	bool in_netns;       /* collect inside the network namespace netns_fd (ag_netns_open()) */
	int netns_fd, home_fd;
} ag_collect_opts_t;

/*
 * --netns: name (one of `ip netns`'s, under /run/netns) or path (such as
 * /proc/PID/ns/net) of the network namespace to collect from; the reports
 * still leave from the agent's own.  Opens both namespaces, tries the way
 * in and back (it needs CAP_SYS_ADMIN), and sets o's netns fields.  0, or a
 * negative errno with the reason logged.
 */
int ag_netns_open(const char *name, ag_collect_opts_t *o);
void ag_netns_close(ag_collect_opts_t *o);

/*
 * Below this many sockets a split dump costs more than it saves: the second
 * walk of the table and the thread outweigh the halved filling.
 */
#define AG_SPLIT_MIN 20000

/*
 * Collects into r (states, listeners, top, counters, sysctls, source,
 * collected_at_ms, collect_us), replacing what r held; r's old state table,
 * if any, balances the split dump.  aux is a second aggregator for the
 * split (made with the same options as agg), or NULL for one dump.
 * 0 or a negative errno; the reason has been logged.
 */
int ag_collect(const ag_collect_opts_t *o, ag_agg_t *agg, ag_agg_t *aux,
               wire_report_t *r);

/*
 * The sock_diag dump into agg (reset first): split by state across two
 * threads, the second counting into aux, when aux is given; prev (a
 * state-indexed table, may be NULL) balances the split.  With info, the
 * kernel adds each socket's TCP info (ag_diag_request_info()).
 * 0 or a negative errno.
 */
int ag_netlink_collect(ag_agg_t *agg, ag_agg_t *aux, const uint32_t *prev, bool info);

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
