/* SPDX-License-Identifier: MIT */
/* fuzz_query.c: libFuzzer target for what the HTTP side reads from others: query parameters
 * (as the API takes them, name=value pairs split on '&', for a command the first byte picks),
 * --server URLs, and the Authorization header (Bearer or Basic, its base64 decoded) against a
 * token.  (The CLI's responses are libcurl's to parse.) */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "commands.h"
#include "httpauth.h"
#include "query.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1796212800000LL

/*
 * The reference: "Bearer tok" (any case of the scheme), or "Basic " and
 * base64 (OpenSSL's decoder, padding made whole) of a user name, ':' and tok.
 */
static bool token_header(const char *s)
{
	unsigned char out[2048], in[2732];
	size_t len, pad;
	int n;

	if (strncasecmp(s, "bearer ", 7) == 0)
		return strcmp(s + 7, "tok") == 0;
	if (strncasecmp(s, "basic ", 6) != 0)
		return false;
	s += 6;
	len = strlen(s);
	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len % 4 == 1 || len + 3 > sizeof(in))
		return false;
	memcpy(in, s, len);
	for (pad = 0; (len + pad) % 4; pad++)
		in[len + pad] = '=';
	if ((n = EVP_DecodeBlock(out, in, (int)(len + pad))) < 0 || (size_t)n < pad)
		return false;
	n -= (int)pad;
	for (int i = 0; i < n; i++)
		if (out[i] == ':')
			return n - i - 1 == 3 && memcmp(out + i + 1, "tok", 3) == 0;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *save = NULL, host[256], port[8], path[256], msg[200];
	const col_cmd_t *c = col_cmd((col_cmd_id_t)(size ? data[0] % COL_NCMDS : 0));
	col_qopts_t o, co;
	const char *why;
	bool https;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* Only the token's own headers pass: "Bearer tok", or Basic of "any user:tok". */
	if (col_http_token_ok(s, (const uint8_t *)"tok", 3) && !token_header(s))
		abort();
	if (col_url_split(s, &https, host, sizeof(host), port, path, sizeof(path)) == 0 &&
	    (strlen(host) >= sizeof(host) || strlen(port) >= sizeof(port)))
		abort();
	col_qopts_init(&o, NOW);
	col_qopts_init(&co, NOW);
	for (char *kv = strtok_r(s, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		int rc;

		if (eq == NULL)
			continue;
		*eq = '\0';
		why = NULL;
		rc = col_qopts_set(&o, kv, eq + 1, &why);
		if (rc == -EINVAL && why == NULL)
			abort();   /* a refusal always says why */
		if (rc != 0 && rc != -EINVAL && rc != -ENOENT)
			abort();
		/* The command's view: what it does not take refused, and always said why. */
		rc = col_cmd_set(c, &co, kv, eq + 1, "", msg, sizeof(msg));
		if (rc != 0 && ((rc != -EINVAL && rc != -ENOENT) || msg[0] == '\0'))
			abort();
		if (rc == 0 && (col_param_find(kv) < 0 || !(c->params & (1u << col_param_find(kv)))))
			abort();
	}
	/* A format the command does not render never gets through. */
	if (!(c->formats & (1u << co.format)))
		abort();
	if (o.limit < 1 || o.limit > 10000 || o.since_ms < 0 || o.step_ms < 0)
		abort();
	free(s);
	return 0;
}
