/* SPDX-License-Identifier: MIT */
/* server.h: the collector's ingest server (libuv). */
#ifndef COL_SERVER_H
#define COL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "db.h"
#include "tls.h"
#include "summary.h"
#include "suspects.h"

typedef struct {
	char listen_host[64];
	int listen_port;
	uint8_t token[WIRE_TOKEN_MAX];
	size_t token_len;            /* 0: no token (loopback or --insecure) */
	int64_t retention_ms;         /* raw reports */
	int64_t minute_retention_ms;  /* minute rollups */
	int64_t rollup_retention_ms;  /* hour rollups */
	size_t max_frame;
	unsigned max_conns;
	unsigned max_conns_per_ip;    /* from one source address */
	size_t max_write_queue;       /* bytes unsent to a client before its reading pauses */
	int64_t handshake_timeout_ms;
	int64_t idle_timeout_ms;
	fs_tls_ctx_t *tls;           /* TLS on ingest; NULL: plaintext */
	fs_tls_files_t tls_files;    /* its files, read again on SIGHUP */
	bool tls_mutual;             /* agents must present a certificate of the client CA */
	bool insecure;               /* --insecure: off loopback, in clear or unproven */
	/* The HTTP API: off when http_port is 0. */
	char http_host[64];
	int http_port;
	unsigned http_max_conns;     /* HTTP clients at once */
	unsigned http_timeout_s;     /* an HTTP client silent this long is dropped */
	unsigned http_threads;       /* queries answered at once */
	uint8_t http_token[WIRE_TOKEN_MAX];
	size_t http_token_len;       /* 0: no bearer token (loopback only) */
	const char *http_tls_cert;   /* HTTPS: its certificate and key; NULL: HTTP */
	const char *http_tls_key;
	const char *web_lib;         /* the web view's charting library; NULL: none */
	const char *db_path;         /* for the HTTP API's read-only connections */
	col_thresholds_t thresholds; /* [thresholds] of the config file, for summary */
	col_suspect_cfg_t suspects;  /* [suspects] of the config file */
} col_config_t;

/*
 * Serves agents on cfg's listen address until SIGTERM or SIGINT, storing
 * into db (borrowed; the writer thread uses it while this runs).  Then stops
 * accepting, commits and acks what was queued, closes every connection and
 * the loop.  The HTTP API, when configured, runs beside it on threads of its
 * own and stops first.  Returns 0, or a negative errno if it could not start.
 */
int col_server_run(const col_config_t *cfg, db_t *db);

#endif
