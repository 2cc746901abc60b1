/* SPDX-License-Identifier: MIT */
/* buf.c: growable byte buffer. */
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(fs_buf_t *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->err)
		return b->err;
	if (b->len + more + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return b->err = -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

void fs_buf_close(fs_buf_t *b)
{
	free(b->p);
	*b = (fs_buf_t)FS_BUF_INIT;
}

void fs_buf_reset(fs_buf_t *b)
{
	b->len = 0;
	b->err = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void fs_buf_add(fs_buf_t *b, const char *s, size_t n)
{
	if (reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void fs_buf_puts(fs_buf_t *b, const char *s)
{
	fs_buf_add(b, s, strlen(s));
}

void fs_buf_printf(fs_buf_t *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (reserve(b, 64) < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (reserve(b, (size_t)n) < 0)
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void fs_buf_json_str(fs_buf_t *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	char esc[6] = {'\\', 'u', '0', '0', 0, 0};

	fs_buf_add(b, "\"", 1);
	for (; *u; u++) {
		if (*u == '"' || *u == '\\') {
			char e[2] = {'\\', (char)*u};
			fs_buf_add(b, e, 2);
		} else if (*u < 0x20 || *u == 0x7f) {
			esc[4] = hex[*u >> 4];
			esc[5] = hex[*u & 15];
			fs_buf_add(b, esc, 6);
		} else {
			fs_buf_add(b, (const char *)u, 1);
		}
	}
	fs_buf_add(b, "\"", 1);
}

void fs_buf_html_str(fs_buf_t *b, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *e;

		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default: continue;
		}
		fs_buf_add(b, run, (size_t)(s - run));
		fs_buf_puts(b, e);
		run = s + 1;
	}
	fs_buf_add(b, run, (size_t)(s - run));
}
