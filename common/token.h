/* SPDX-License-Identifier: MIT */
/* token.h: reading the shared token file (agent and collector). */
#ifndef FS_TOKEN_H
#define FS_TOKEN_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads the token: the file's first line without its line ending, as bytes,
 * into buf (cap bytes).  Refuses a file that group or others may read
 * (-EPERM), an empty token (-EINVAL) and one longer than cap (-E2BIG);
 * other errors are the negative errno of open/read.  The token is never
 * logged: callers say only which file and why.
 */
int fs_token_load(const char *path, uint8_t *buf, size_t cap, size_t *len);

/* A one-line reason for an fs_token_load() error, for the log. */
const char *fs_token_strerror(int err);

#endif
