/* SPDX-License-Identifier: MIT */
/* buf.h: a growable byte buffer for building output text in the core. */
#ifndef FS_BUF_H
#define FS_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Zero-initialise (FS_BUF_INIT) before use; release with fs_buf_close().
 * After any failed append, `err` stays -ENOMEM and later appends do nothing,
 * so a formatter can append freely and check once at the end.
 */
typedef struct {
	char *p;
	size_t len;
	size_t cap;
	int err;
} fs_buf_t;

#define FS_BUF_INIT {NULL, 0, 0, 0}

void fs_buf_close(fs_buf_t *b);
/* Empties b for reuse, keeping its memory; clears err. */
void fs_buf_reset(fs_buf_t *b);
void fs_buf_add(fs_buf_t *b, const char *s, size_t n);
void fs_buf_puts(fs_buf_t *b, const char *s);
void fs_buf_printf(fs_buf_t *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A JSON string literal, quotes included, with control bytes escaped. */
void fs_buf_json_str(fs_buf_t *b, const char *s);
/* Text for HTML, in an element or a quoted attribute: & < > " ' as entities. */
void fs_buf_html_str(fs_buf_t *b, const char *s);

#endif
