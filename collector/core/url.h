/* SPDX-License-Identifier: MIT */
/* url.h: the --server URL and query strings, parsed and built in memory. */
#ifndef COL_URL_H
#define COL_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * Splits "http[s]://HOST[:PORT][/PREFIX]" (HOST a name, an IPv4 address or
 * [IPv6]; PORT default 80, or 443 for https) into *https, host (hostlen
 * bytes), port text (8 bytes) and the path prefix without its trailing
 * slash (pathlen bytes).  0 or -EINVAL.
 */
int col_url_split(const char *url, bool *https, char *host, size_t hostlen, char *port,
                  char *path, size_t pathlen);

/* Appends s percent-encoded (all but unreserved characters) to b. */
void col_url_encode(fs_buf_t *b, const char *s);

#endif
