/* SPDX-License-Identifier: MIT */
/* query_priv.h: what the query files (query.c, topmerge.c, trend.c, sysctl.c) share. */
#ifndef COL_QUERY_PRIV_H
#define COL_QUERY_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "grid.h"
#include "query.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* Any duration a query takes: since, step (3650 days; more would overflow the arithmetic). */
#define QUERY_MAX_DURATION_MS (3650LL * 86400000)

/* The states a table shows: all but LISTEN, in state order, then COL_STATE_TOTAL. */
#define COL__NTABLE_STATES 11
extern const int col__table_states[COL__NTABLE_STATES];

/* A report's state counts widened to a per-state array of WIRE_NSTATES. */
void col__states_u64(const wire_states_t *s, uint64_t *out);

/* A state's value in a per-state array (COL_STATE_TOTAL: the sum of all but LISTEN). */
uint64_t col__state_value_u64(const uint64_t *n, int state);

/* The heads of the ten states of col__table_states: short in a table, netstat's in CSV. */
void col__grid_state_heads(grid_t *g);

/* {"NAME":n,...} of the nonzero states (all of them when `all`), LISTEN aside. */
void col__json_states(fs_buf_t *b, const uint64_t *n, bool all);

/*
 * `,"activity":{...}` of an IP measured by some host (nothing when none):
 * the DESIGN 12 keys, and the ESTABLISHED they are of and the hosts.
 */
void col__json_activity(fs_buf_t *b, const col_activity_t *a);

/* Its ACTIVE, UNANSWERED and IDLE cells ("-" when no host measured it). */
void col__grid_activity(grid_t *g, const col_activity_t *a);

/* `{"now_ms":...,"tier":...` : the opening every query's JSON shares (unclosed). */
void col__json_head(fs_buf_t *b, const col_qopts_t *o);

/*
 * The hosts of o's tier (and o's host when by_name), sorted by tier, name
 * and id: *out new (free()), *nout of them.  0 or -ENOMEM.
 */
int col__select_hosts(const col_host_t *hosts, size_t n, const col_qopts_t *o, bool by_name,
                      const col_host_t ***out, size_t *nout);

#endif
