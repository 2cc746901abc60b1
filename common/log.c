/* SPDX-License-Identifier: MIT */
/* log.c: leveled logging to stderr. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prog = "fleetstat";
static int max_level = LOG_LVL_INFO;

void log_init(const char *progname, int level)
{
	prog = progname;
	max_level = level;
}

static void vlog(int level, const char *tag, int err, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > max_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err)
		fprintf(stderr, "%s: %s%s: %s\n", prog, tag, msg, strerror(err));
	else
		fprintf(stderr, "%s: %s%s\n", prog, tag, msg);
}

#define LOG_FN(name, level, tag, with_errno)                  \
	void name(const char *fmt, ...)                       \
	{                                                     \
		int err = with_errno ? errno : 0;             \
		va_list ap;                                   \
		va_start(ap, fmt);                            \
		vlog(level, tag, err, fmt, ap);               \
		va_end(ap);                                   \
	}

LOG_FN(log_warn, LOG_LVL_WARN, "warning: ", 1)
LOG_FN(log_warnx, LOG_LVL_WARN, "warning: ", 0)
LOG_FN(log_info, LOG_LVL_INFO, "", 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, "debug: ", 0)

void fatal(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, "", err, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, "", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
