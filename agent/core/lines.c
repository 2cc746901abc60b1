/* SPDX-License-Identifier: MIT */
/* lines.c: splitting a byte stream into bounded lines. */
#include "lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ag_lines_init(ag_lines_t *l, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->max = max ? max : AG_LINE_MAX;
	if ((l->held = malloc(l->max)) == NULL)
		return -ENOMEM;
	return 0;
}

void ag_lines_close(ag_lines_t *l)
{
	free(l->held);
	memset(l, 0, sizeof(*l));
}

/*
 * Adds p[0..n) to the held start of a line; past the bound, the line is too
 * long: skipped from then on, and said at its end (ag_lines_feed, _finish),
 * where the reader's mark moves past it, so that a reader restarted from a
 * mark inside it does not count it twice.
 */
static void hold(ag_lines_t *l, const char *p, size_t n)
{
	if (l->skipping) {
		l->skipped += n;
		return;
	}
	if (l->len + n > l->max) {
		l->skipping = true;
		l->skipped = l->len + n;
		l->len = 0;
		return;
	}
	memcpy(l->held + l->len, p, n);
	l->len += n;
}

void ag_lines_feed(ag_lines_t *l, const char *p, size_t n, ag_line_fn fn, void *ctx)
{
	const char *end = p + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL) {
			hold(l, p, (size_t)(end - p));
			return;
		}
		if (l->skipping || l->len > 0) {
			hold(l, p, (size_t)(nl - p));
			if (l->skipping)
				fn(ctx, NULL, 0);
			else
				fn(ctx, l->held, l->len);
			ag_lines_drop(l);
		} else if ((size_t)(nl - p) > l->max) {
			fn(ctx, NULL, 0);
		} else {
			fn(ctx, p, (size_t)(nl - p));   /* whole in the chunk: no copy */
		}
		p = nl + 1;
	}
}

void ag_lines_finish(ag_lines_t *l, ag_line_fn fn, void *ctx)
{
	if (l->skipping)
		fn(ctx, NULL, 0);
	else if (l->len > 0)
		fn(ctx, l->held, l->len);
	ag_lines_drop(l);
}

size_t ag_lines_held(const ag_lines_t *l)
{
	return l->skipping ? (size_t)l->skipped : l->len;
}

void ag_lines_drop(ag_lines_t *l)
{
	l->len = 0;
	l->skipping = false;
	l->skipped = 0;
}
