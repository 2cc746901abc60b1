/* SPDX-License-Identifier: MIT */
/* grid.c: the table and CSV forms of the queries' answers. */
#include "grid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void grid_init(grid_t *g, col_fmt_t fmt, uint64_t left)
{
	memset(g, 0, sizeof(*g));
	g->fmt = fmt;
	g->left = left;
}

/* Header cells; grid_head_done() fixes the number of columns. */
void grid_heads(grid_t *g, const char *const *head, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fs_buf_add(&g->cells, head[i], strlen(head[i]) + 1);
		g->ncells++;
	}
}

void grid_head_done(grid_t *g)
{
	g->ncols = g->ncells;
}

void grid_cell(grid_t *g, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		tmp[0] = '\0';
	fs_buf_add(&g->cells, tmp, strlen(tmp) + 1);
	g->ncells++;
}

static void csv_cell(fs_buf_t *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fs_buf_puts(b, s);
		return;
	}
	fs_buf_puts(b, "\"");
	for (; *s; s++) {
		if (*s == '"')
			fs_buf_puts(b, "\"");
		fs_buf_add(b, s, 1);
	}
	fs_buf_puts(b, "\"");
}

/* A <table>: the header row in <thead>, numbers (columns not left) of class num. */
static int html_render(grid_t *g, fs_buf_t *b)
{
	const char *p = g->cells.p;

	fs_buf_puts(b, "<table class=\"grid\">\n<thead><tr>");
	for (size_t i = 0; i < g->ncells; i++, p += strlen(p) + 1) {
		size_t c = i % g->ncols;
		bool head = i < g->ncols;

		if (c == 0 && i == g->ncols)
			fs_buf_puts(b, "</tr></thead>\n<tbody>\n<tr>");
		else if (c == 0 && i > 0)
			fs_buf_puts(b, "<tr>");
		fs_buf_puts(b, head ? "<th" : "<td");
		if (!(g->left & (1ull << c)))
			fs_buf_puts(b, " class=\"num\"");
		fs_buf_puts(b, ">");
		fs_buf_html_str(b, p);
		fs_buf_puts(b, head ? "</th>" : "</td>");
		if (c == g->ncols - 1)
			fs_buf_puts(b, i < g->ncols ? "" : "</tr>\n");
	}
	fs_buf_puts(b, g->ncells > g->ncols ? "</tbody>\n</table>\n"
	                                    : "</tr></thead>\n<tbody></tbody>\n</table>\n");
	fs_buf_close(&g->cells);
	return b->err;
}

int grid_render(grid_t *g, fs_buf_t *b)
{
	size_t width[64] = {0};
	const char *p;
	size_t i;

	if (g->cells.err) {
		fs_buf_close(&g->cells);
		return -ENOMEM;
	}
	if (g->ncols == 0 || g->ncols > ARRAY_SIZE(width)) {
		fs_buf_close(&g->cells);
		return -EINVAL;
	}
	for (i = 0, p = g->cells.p; i < g->ncells; i++, p += strlen(p) + 1) {
		size_t len = strlen(p);

		if (len > width[i % g->ncols])
			width[i % g->ncols] = len;
	}
	if (g->fmt == COL_FMT_HTML)
		return html_render(g, b);
	for (i = 0, p = g->cells.p; i < g->ncells; i++, p += strlen(p) + 1) {
		size_t c = i % g->ncols, pad = width[c] - strlen(p);
		int last = c == g->ncols - 1;

		if (g->fmt == COL_FMT_CSV) {
			csv_cell(b, p);
			fs_buf_puts(b, last ? "\n" : ",");
			continue;
		}
		if (g->left & (1ull << c)) {
			fs_buf_puts(b, p);
			if (!last)
				fs_buf_printf(b, "%*s", (int)pad, "");
		} else {
			fs_buf_printf(b, "%*s%s", (int)pad, "", p);
		}
		fs_buf_puts(b, last ? "\n" : "  ");
	}
	fs_buf_close(&g->cells);
	return b->err;
}

