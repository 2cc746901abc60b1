/* SPDX-License-Identifier: MIT */
/* url.c: URLs and HTTP responses as the fleetstat command meets them; no I/O. */
#include "url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int col_url_split(const char *url, char *host, size_t hostlen, char *port, char *path,
                  size_t pathlen)
{
	const char *p, *end, *slash;
	size_t hl;

	if (strncmp(url, "http://", 7) != 0)
		return -EINVAL;
	p = url + 7;
	slash = strchr(p, '/');
	end = slash ? slash : p + strlen(p);
	snprintf(port, 8, "80");
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (rb == NULL)
			return -EINVAL;
		hl = (size_t)(rb - p - 1);
		p++;
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return -EINVAL;
			if ((size_t)(end - rb - 2) == 0 || (size_t)(end - rb - 2) > 5)
				return -EINVAL;
			snprintf(port, 8, "%.*s", (int)(end - rb - 2), rb + 2);
		}
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));

		hl = (size_t)((colon ? colon : end) - p);
		if (colon) {
			if ((size_t)(end - colon - 1) == 0 || (size_t)(end - colon - 1) > 5)
				return -EINVAL;
			snprintf(port, 8, "%.*s", (int)(end - colon - 1), colon + 1);
		}
	}
	if (hl == 0 || hl >= hostlen || strspn(port, "0123456789") != strlen(port) ||
	    atoi(port) < 1 || atoi(port) > 65535)
		return -EINVAL;
	memcpy(host, p, hl);
	host[hl] = '\0';
	if (slash == NULL)
		slash = "";
	hl = strlen(slash);
	while (hl > 0 && slash[hl - 1] == '/')
		hl--;
	if (hl >= pathlen || strpbrk(slash, "?# ") != NULL)
		return -EINVAL;
	memcpy(path, slash, hl);
	path[hl] = '\0';
	return 0;
}

int col_http_response_parse(const char *buf, size_t len, int *status, size_t *body)
{
	const char *end = NULL, *p;
	size_t i;
	long clen = -1;

	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
		return -EPROTO;
	for (i = 0; i + 3 < len; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			end = buf + i;
			break;
		}
	if (end == NULL)
		return -EPROTO;
	if (buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' || buf[11] < '0' ||
	    buf[11] > '9')
		return -EPROTO;
	*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	for (p = buf; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line = p;

		p = nl ? nl + 1 : end;
		if ((size_t)(p - line) >= 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
			const char *d = line + 15;

			/* Digits within the line, then only spaces and the CR: nothing else. */
			while (d < p && *d == ' ')
				d++;
			if (d == p || *d < '0' || *d > '9')
				return -EPROTO;
			for (clen = 0; d < p && *d >= '0' && *d <= '9'; d++) {
				if (clen > 1L << 40)
					return -EPROTO;
				clen = clen * 10 + (*d - '0');
			}
			while (d < p && (*d == ' ' || *d == '\r'))
				d++;
			if (d != p && *d != '\n')
				return -EPROTO;
		}
		/* This client reads a plain body only. */
		if ((size_t)(p - line) >= 18 && strncasecmp(line, "Transfer-Encoding:", 18) == 0)
			return -EPROTO;
	}
	*body = (size_t)(end - buf) + 4;
	if (clen >= 0 && len - *body != (size_t)clen)
		return -EPROTO;
	return 0;
}

void col_url_encode(fs_buf_t *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			fs_buf_add(b, (const char *)&c, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			fs_buf_add(b, e, 3);
		}
	}
}

const char *col_http_header(const char *buf, size_t body, const char *name, char *dst,
                            size_t len)
{
	size_t nl = strlen(name);
	const char *p = memchr(buf, '\n', body), *end = buf + body;

	while (p && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((eol ? eol : end) - p);

		if (ll > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl + 1;
			size_t vl;

			while (v < p + ll && (*v == ' ' || *v == '\t'))
				v++;
			vl = (size_t)(p + ll - v);
			while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			snprintf(dst, len, "%.*s", (int)vl, v);
			return dst;
		}
		p = eol;
	}
	return NULL;
}
