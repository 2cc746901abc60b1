/* SPDX-License-Identifier: MIT */
/* httpauth.c: the API token in a Bearer or a Basic Authorization header; no I/O. */
#include "httpauth.h"

#include <string.h>
#include <strings.h>

/* The longest Basic credentials looked at (user:token, base64), more than any token file holds. */
#define BASIC_MAX 1024

/* Compared whole, whatever differs first (the accumulator volatile: no early exit). */
static bool same(const uint8_t *a, const uint8_t *b, size_t n)
{
	volatile uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* RFC 4648 base64 (padding optional) into out; its length, or -1 when it is not base64. */
static long b64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t n = 0, bits = 0, i;

	while (len > 0 && s[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++) {
		int v = b64_value(s[i]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return bits >= 6 ? -1 : (long)n;   /* a lone sixth of a byte is no encoding */
}

bool col_http_token_ok(const char *header, const uint8_t *token, size_t token_len)
{
	uint8_t raw[BASIC_MAX];
	const uint8_t *colon;
	bool ok;
	long n;

	if (header == NULL)
		return false;
	if (strncasecmp(header, "Bearer ", 7) == 0) {
		header += 7;
		return strlen(header) == token_len && same((const uint8_t *)header, token, token_len);
	}
	if (strncasecmp(header, "Basic ", 6) != 0)
		return false;
	header += 6;
	ok = (n = b64_decode(header, strlen(header), raw, sizeof(raw))) >= 0 &&
	     (colon = memchr(raw, ':', (size_t)n)) != NULL &&
	     (size_t)(raw + n - (colon + 1)) == token_len && same(colon + 1, token, token_len);
	explicit_bzero(raw, sizeof(raw));   /* the token, decoded */
	return ok;
}
