/* SPDX-License-Identifier: MIT */
/* httpauth.h: whether an HTTP request's Authorization header carries the API's token. */
#ifndef COL_HTTPAUTH_H
#define COL_HTTPAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Whether header (the Authorization value, NULL when absent) gives token:
 * "Bearer TOKEN", as the CLI and Prometheus send it, or "Basic" with TOKEN
 * as the password (any user name), as a browser sends what its login
 * prompt was given, for the web view.  Compared in constant time for a
 * given length.  Both borrowed.
 */
bool col_http_token_ok(const char *header, const uint8_t *token, size_t token_len);

#endif
