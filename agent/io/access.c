/* SPDX-License-Identifier: MIT */
/* access.c: reading access logs whole. */
#include "access.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lines.h"
#include "text.h"

#define SNIFF (64 * 1024)
#define CHUNK (1024 * 1024)
/* The one-liner counts lines of any length, as awk does; the parser wants AG_LINE_MAX. */
#define AWK_LINE_MAX (16 * 1024 * 1024)

int ag_access_sniff(const char *path, const char **guess)
{
	char *buf = malloc(SNIFF);
	size_t n = 0;
	int fd, rc = 0;

	*guess = NULL;
	if (buf == NULL)
		return -ENOMEM;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		free(buf);
		return -errno;
	}
	while (n < SNIFF) {
		ssize_t r = read(fd, buf + n, SNIFF - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (rc == 0) {
		if (ag_text_detect(buf, n) != AG_TEXT_UNKNOWN)
			rc = 1;
		else
			*guess = ag_alog_detect(buf, n);
	}
	free(buf);
	return rc;
}

typedef struct {
	const ag_alog_fmt_t *fmt;
	ag_reqs_t *q;
	ag_awkcount_t *awk;
	int err;
} sink_t;

static void on_line(void *ctx, const char *line, size_t len)
{
	sink_t *s = ctx;
	ag_alog_line_t l;

	if (line == NULL) {
		if (s->q)
			ag_reqs_too_long(s->q);
		return;
	}
	if (s->awk && ag_awkcount_line(s->awk, line, len) < 0)
		s->err = -ENOMEM;
	if (s->q == NULL || s->fmt == NULL)
		return;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;   /* blank lines are no lines of a log */
	ag_reqs_add(s->q, ag_alog_parse(s->fmt, line, len, &l), &l);
}

int ag_access_read(const char *path, const ag_alog_fmt_t *fmt, ag_reqs_t *q, ag_awkcount_t *awk)
{
	sink_t s = {.fmt = fmt, .q = q, .awk = awk};
	ag_lines_t lines;
	char *buf;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if ((buf = malloc(CHUNK)) == NULL || ag_lines_init(&lines, awk ? AWK_LINE_MAX : 0) < 0) {
		free(buf);
		close(fd);
		return -ENOMEM;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t r = read(fd, buf, CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : 0;
			break;
		}
		ag_lines_feed(&lines, buf, (size_t)r, on_line, &s);
		if (s.err < 0)
			break;
	}
	if (rc == 0 && s.err == 0)
		ag_lines_finish(&lines, on_line, &s);
	ag_lines_close(&lines);
	free(buf);
	close(fd);
	return rc < 0 ? rc : s.err;
}
