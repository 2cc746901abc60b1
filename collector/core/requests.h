/* SPDX-License-Identifier: MIT */
/*
 * requests.h: `fleetstat requests` (DESIGN 12): the access logs' requests of
 * the reports in a window summed across hosts, per client IP or per host
 * (--by ip|domain), each with what was counted and an upper bound (what the
 * reports that did not list it could have hidden).  No I/O: reports in,
 * tables out.
 */
#ifndef COL_REQUESTS_H
#define COL_REQUESTS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "query.h"

typedef struct col_req col_req_t;

/* by_domain: rows per requested host, else per client IP.  NULL when out of memory. */
col_req_t *col_req_new(bool by_domain);
void col_req_free(col_req_t *a);

/*
 * One report's requests from host host_id of tier (borrowed until the
 * rendering), reports in host order.  0 or -ENOMEM.
 */
int col_req_add(col_req_t *a, int64_t host_id, const char *tier, const wire_requests_t *q);

/* The rows, heaviest first, at most o->limit; table, csv or json.  0 or -ENOMEM. */
int col_req_render(col_req_t *a, const col_qopts_t *o, fs_buf_t *b);

#endif
