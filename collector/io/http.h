/* SPDX-License-Identifier: MIT */
/* http.h: the collector's read-only HTTP API (libmicrohttpd, threads of its own). */
#ifndef COL_HTTP_H
#define COL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "summary.h"
#include "suspects.h"

typedef struct col_http col_http_t;

/* Where Debian's libjs-dygraphs puts the charting library the web view draws with. */
#define FS_WEB_LIB_DEFAULT "/usr/share/javascript/dygraphs"

/* Fills in the collector's own figures; called from the HTTP threads. */
typedef void (*col_selfstats_fn)(void *ctx, col_selfstats_t *out);

typedef struct {
	char host[64];             /* an IP address: IPv4, or IPv6 without brackets */
	int port;
	const uint8_t *token;      /* the bearer token clients must send; NULL: none */
	size_t token_len;
	const char *db_path;       /* requests read on read-only connections, kept between them */
	const char *tls_cert;      /* HTTPS: the certificate (PEM, then its chain); NULL: HTTP */
	const char *tls_key;       /* its private key (PEM, mode 0600) */
	unsigned max_conns;        /* clients at once (more are refused) */
	unsigned timeout_s;        /* a client silent this long is dropped */
	unsigned threads;          /* libmicrohttpd's pool: queries answered at once */
	const col_thresholds_t *thresholds;  /* for /api/v1/summary */
	const col_suspect_cfg_t *suspects;   /* for /api/v1/suspects */
	const char *web_lib;       /* the web view's charting library (libjs-dygraphs' directory,
	                              read at start); NULL or missing: tables only */
	col_selfstats_fn selfstats;
	void *ctx;
} col_http_config_t;

/*
 * Serves GET / (the web view: HTML tables, charts), /static/ (its files),
 * GET /api/v1/{tiers,hosts,trend,top-ips,summary}?params (the CLI's
 * JSON; a summary's status also in the Fleetstat-Status header),
 * GET /metrics (Prometheus text) and GET /healthz from threads of its own,
 * which never touch the ingest loop.  cfg's pointers must outlive the
 * server.  *out is new (col_http_stop()).  0, or a negative errno and a
 * reason in why.
 */
int col_http_start(const col_http_config_t *cfg, col_http_t **out, char *why, size_t whylen);

/*
 * HTTPS: the certificate and key read again (SIGHUP).  New connections get
 * them; requests under way finish on the daemon they came to.  1 reloaded,
 * 0 nothing to reload (HTTP), or a negative errno with why: what was loaded
 * stays.  From the thread that started it.
 */
int col_http_reload(col_http_t *h, char *why, size_t whylen);

/* Stops serving, waits for requests in progress, frees.  NULL is a no-op. */
void col_http_stop(col_http_t *h);

#endif
