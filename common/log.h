/* SPDX-License-Identifier: MIT */
/* log.h: leveled logging to stderr for the shells (never used by core code). */
#ifndef FS_LOG_H
#define FS_LOG_H

#include <stdnoreturn.h>

enum { LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Program name prefix and the most verbose level shown (default INFO). */
void log_init(const char *progname, int level);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
