/* SPDX-License-Identifier: MIT */
/* agg.h: aggregate decoded sockets into the state table, listeners and top remote IPs. */
#ifndef AG_AGG_H
#define AG_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "sock.h"
#include "wire.h"

#define AG_TOP_DEFAULT 20
#define AG_PORTS_DEFAULT 16   /* ports per direction (DESIGN 12) */
/* The list is the union of three rankings and must fit the wire's cap. */
#define AG_TOP_MAX (WIRE_MAX_TOP_IPS / 3)

typedef struct {
	uint32_t top_n;            /* entries per ranking (default AG_TOP_DEFAULT) */
	uint32_t ports_n;          /* ports per direction (default AG_PORTS_DEFAULT; 0: none) */
	const wire_cidr_t *exclude; /* borrowed; copied by ag_agg_new() (wire_cidr_parse()) */
	size_t n_exclude;
} ag_agg_opts_t;

typedef struct ag_agg ag_agg_t;

/* Returns a new aggregator (free with ag_agg_free()), or NULL on ENOMEM. */
ag_agg_t *ag_agg_new(const ag_agg_opts_t *o);
void ag_agg_free(ag_agg_t *a);

/* Forgets every socket added, keeping the memory (a dump is being retried). */
void ag_agg_reset(ag_agg_t *a);

/*
 * The same, but keeps the listeners and the listening ports they mark: the
 * connections' dump is retried after the listeners' own (ag_netlink_collect()).
 */
void ag_agg_reset_conns(ag_agg_t *a);

/* Marks in dst the listening ports src knows (a split dump's second half). */
void ag_agg_copy_lports(ag_agg_t *dst, const ag_agg_t *src);

/*
 * Whether the dumps to come carry TCP info (interval_ms > 0: the report's
 * interval, which decides `active` and `idle`) or not (0).  With it, every
 * ESTABLISHED socket with AG_SOCK_INFO counts in its IP's activity, and
 * ag_agg_finish() gives every listed IP its activity (DESIGN 12).  Stays
 * set across ag_agg_reset().  0, or -ENOMEM (then off).
 */
int ag_agg_activity(ag_agg_t *a, uint32_t interval_ms);

/*
 * Counts one socket (an ag_sock_fn: ctx is the ag_agg_t).  LISTEN sockets
 * become listeners and mark their port; every other socket counts in the
 * state table and, by its remote address (IPv4-mapped folded to IPv4), in
 * the IP ranking, or in `excluded` for loopback and the excluded CIDRs; and
 * by service: inbound by its local port when that port is listened on (a
 * listener added before it), else outbound by its remote port.
 */
void ag_agg_add(void *ctx, const ag_sock_t *s);

/*
 * Adds everything src counted into dst (src is unchanged): the two halves
 * of a dump split across CPUs.  0, or -ENOMEM (dst is then left marked
 * failed, so that ag_agg_finish() says so).
 */
int ag_agg_merge(ag_agg_t *dst, const ag_agg_t *src);

/*
 * Fills r->states, r->listeners, r->top and r->ports from what was added, replacing
 * what they held (r owns the new arrays).  Returns 0, or -ENOMEM if an
 * allocation failed here or during ag_agg_add().
 */
int ag_agg_finish(ag_agg_t *a, wire_report_t *r);

#endif
