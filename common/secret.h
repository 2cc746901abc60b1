/* SPDX-License-Identifier: MIT */
/* secret.h: reading a file that only its owner may read (a token, a private key). */
#ifndef FS_SECRET_H
#define FS_SECRET_H

#include <stddef.h>

/*
 * Reads all of path into buf (cap bytes), *len the bytes read.  Refuses a
 * file that group or others may read or write (-EPERM), one that is not a
 * regular file (-EINVAL) and one longer than cap (-E2BIG); other errors are
 * the negative errno of open/read.  Checked on the descriptor it reads, so
 * the file cannot be swapped between the check and the read.  The caller
 * wipes buf (explicit_bzero) when done.
 */
int fs_secret_read(const char *path, void *buf, size_t cap, size_t *len);

/* The same for a file anyone may read (a certificate): all but the -EPERM check. */
int fs_file_read(const char *path, void *buf, size_t cap, size_t *len);

/* What a negative errno of the two means, for a message after the file's name. */
const char *fs_secret_strerror(int err);

#endif
