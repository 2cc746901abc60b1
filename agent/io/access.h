/* SPDX-License-Identifier: MIT */
/* access.h: access logs read from files (--input): requests per IP and host, the one-liners. */
#ifndef AG_ACCESS_H
#define AG_ACCESS_H

#include "alog.h"
#include "awkcount.h"
#include "reqs.h"

/*
 * What the first 64 KiB of path look like: 1 when saved socket text
 * (netstat, ss, /proc), 0 when not (then *guess is "combined", "common" or
 * NULL), or a negative errno when it cannot be read.
 */
int ag_access_sniff(const char *path, const char **guess);

/*
 * Reads path to its end: each line parsed by fmt into q (when both are
 * given) and counted by awk (when given).  0 or a negative errno.
 */
int ag_access_read(const char *path, const ag_alog_fmt_t *fmt, ag_reqs_t *q, ag_awkcount_t *awk);

#endif
