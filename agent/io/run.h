/* SPDX-License-Identifier: MIT */
/* run.h: the agent's daemon and --once modes: collect, spool, ship to the collector. */
#ifndef AG_RUN_H
#define AG_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "collect.h"
#include "follow.h"
#include "report.h"
#include "tls.h"
#include "uplink.h"

typedef struct {
	const ag_addrs_t *collectors; /* validated, n >= 1: tried in order (uplink.h) */
	const char *state_dir;
	const char *tier;           /* validated */
	const char *hostname;       /* validated; NULL: the kernel's nodename */
	const wire_kv_t *labels;    /* validated */
	size_t n_labels;
	const uint8_t *token;       /* NULL: no token, empty auth */
	size_t token_len;
	const fs_tls_files_t *tls;  /* NULL: plaintext; else the CA to check the collector by,
	                               and this agent's certificate and key (mutual TLS) */
	const char *tls_server_name; /* the name the collector's certificate must carry;
	                               NULL: each collector's host */
	uint32_t interval_s;
	uint32_t timeout_s;         /* --once: give up after this long */
	uint64_t spool_max;         /* bytes */
	int once;
	ag_collect_opts_t collect;
	ag_agg_opts_t agg;
	const ag_follow_log_t *logs;  /* access logs followed (--access-log) */
	size_t n_logs;
	uint32_t reqs_top;            /* clients and hosts listed in a report's requests */
} ag_run_opts_t;

/*
 * Runs until SIGTERM/SIGINT (daemon) or until the --once report is acked or
 * cannot be.  All of o is borrowed for the call.  Returns the exit status:
 * 0, or 1 with the reason logged.
 */
int ag_run(const ag_run_opts_t *o);

/*
 * --print-spool: one line per spooled report in state_dir (seq, bytes,
 * collected_at_ms, dropped_reports, sysctls, states total, collect_us, listed
 * IPs with activity, requests and the first listed client's, or "-") to stdout, for
 * tests and operators.  Returns the exit status.
 */
int ag_print_spool(const char *state_dir);

#endif
