/* SPDX-License-Identifier: MIT */
/* url.h: the --server URL, query strings and HTTP/1.x responses, parsed and built in memory. */
#ifndef COL_URL_H
#define COL_URL_H

#include <stddef.h>

#include "buf.h"

/*
 * Splits "http://HOST[:PORT][/PREFIX]" (HOST a name, an IPv4 address or
 * [IPv6]; PORT default 80) into host (hostlen bytes), port text (8 bytes)
 * and the path prefix without its trailing slash (pathlen bytes).  0 or
 * -EINVAL. 
 */
int col_url_split(const char *url, char *host, size_t hostlen, char *port, char *path,
                  size_t pathlen);

/*
 * Parses a whole response (what the server sent before closing): *status
 * gets the status code and *body the offset of the body.  Honours
 * Content-Length when present (the body must be complete).  0, or -EPROTO
 * when it is not an HTTP/1.x response. 
 */
int col_http_response_parse(const char *buf, size_t len, int *status, size_t *body);

/*
 * The value of header name (case-insensitive) of a response whose headers
 * end at body (from col_http_response_parse()), copied into dst (len
 * bytes, cut), or NULL when absent.
 */
const char *col_http_header(const char *buf, size_t body, const char *name, char *dst,
                            size_t len);

/* Appends s percent-encoded (all but unreserved characters) to b. */
void col_url_encode(fs_buf_t *b, const char *s);

#endif
