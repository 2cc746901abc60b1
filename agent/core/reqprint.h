/* SPDX-License-Identifier: MIT */
/* reqprint.h: requests per client IP and per host as --print shows them (table, json). */
#ifndef AG_REQPRINT_H
#define AG_REQPRINT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "reqs.h"

typedef struct {
	const char *hostname;     /* this host */
	const char *file;         /* the log read */
	const char *format;       /* the format's name or string */
	size_t top;               /* IPs and hosts listed */
	bool by_host;             /* the table of hosts rather than of IPs */
	double elapsed_ms;        /* reading and counting, for the table's header */
} ag_reqprint_t;

int ag_print_reqs_table(const ag_reqs_t *q, const ag_reqprint_t *v, fs_buf_t *b);
int ag_print_reqs_json(const ag_reqs_t *q, const ag_reqprint_t *v, fs_buf_t *b);

#endif
