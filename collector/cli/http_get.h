/* SPDX-License-Identifier: MIT */
/* http_get.h: the one HTTP request the fleetstat command makes, over HTTP or HTTPS (libcurl). */
#ifndef COL_HTTP_GET_H
#define COL_HTTP_GET_H

#include <stddef.h>

#include "buf.h"

typedef struct {
	const char *token;    /* sent as "Authorization: Bearer token"; NULL: none */
	const char *cacert;   /* https: the CA the server's certificate must come from;
	                         NULL: the system's */
	long timeout_ms;      /* the whole request */
	size_t max;           /* the body's bytes at most */
} col_http_opts_t;

typedef struct {
	long status;          /* the HTTP status */
	char nagios[8];       /* a summary's Fleetstat-Status header ("" when none) */
} col_http_resp_t;

/*
 * GETs url (http:// or https://; TLS 1.2 the least, the server's name and
 * certificate checked) into body.  0, -EPROTO when TLS failed (the server's
 * certificate not trusted or not for its name, or the handshake refused), or
 * another negative errno; why says what failed, on one line.
 */
int col_http_get(const char *url, const col_http_opts_t *o, fs_buf_t *body, col_http_resp_t *r,
                 char *why, size_t whylen);

#endif
