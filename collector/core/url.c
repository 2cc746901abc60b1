/* SPDX-License-Identifier: MIT */
/* url.c: the --server URL and query strings as the fleetstat command builds them; no I/O. */
#include "url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int col_url_split(const char *url, bool *https, char *host, size_t hostlen, char *port,
                  char *path, size_t pathlen)
{
	const char *p, *end, *slash;
	size_t hl;

	if (strncmp(url, "http://", 7) == 0)
		*https = false;
	else if (strncmp(url, "https://", 8) == 0)
		*https = true;
	else
		return -EINVAL;
	p = url + (*https ? 8 : 7);
	slash = strchr(p, '/');
	end = slash ? slash : p + strlen(p);
	snprintf(port, 8, *https ? "443" : "80");
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
