/* SPDX-License-Identifier: MIT */
/* http_get.h: the one HTTP request the fleetstat command makes: GET, Connection: close. */
#ifndef COL_HTTP_GET_H
#define COL_HTTP_GET_H

#include <stddef.h>

#include "buf.h"
#include "url.h"

/*
 * GETs path (with its query) from host:port, with "Authorization: Bearer
 * token" unless token is NULL, within timeout_ms; the whole response goes
 * into resp (at most max bytes).  0 or a negative errno; *why says what
 * failed (static).
 */
int col_http_get(const char *host, const char *port, const char *path, const char *token,
                 int timeout_ms, size_t max, fs_buf_t *resp, const char **why);

#endif
