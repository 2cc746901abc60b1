/* SPDX-License-Identifier: MIT */
/* buf.h: a growable byte buffer for building output text in the core. */
#ifndef AG_BUF_H
#define AG_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Zero-initialise (AG_BUF_INIT) before use; release with ag_buf_close().
 * After any failed append, `err` stays -ENOMEM and later appends do nothing,
 * so a formatter can append freely and check once at the end.
 */
typedef struct {
	char *p;
	size_t len;
	size_t cap;
	int err;
} ag_buf_t;

#define AG_BUF_INIT {NULL, 0, 0, 0}

void ag_buf_close(ag_buf_t *b);
void ag_buf_add(ag_buf_t *b, const char *s, size_t n);
void ag_buf_puts(ag_buf_t *b, const char *s);
void ag_buf_printf(ag_buf_t *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A JSON string literal, quotes included, with control bytes escaped. */
void ag_buf_json_str(ag_buf_t *b, const char *s);

#endif
