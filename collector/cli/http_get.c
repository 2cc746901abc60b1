/* SPDX-License-Identifier: MIT */
/* http_get.c: the fleetstat command's --server request, made by libcurl. */
#include "http_get.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

typedef struct {
	fs_buf_t *body;
	size_t max;
	bool too_large;
	col_http_resp_t *r;
} sink_t;

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
	sink_t *s = user;

	if (s->body->len + n > s->max) {
		s->too_large = true;
		return 0;   /* libcurl stops with CURLE_WRITE_ERROR */
	}
	fs_buf_add(s->body, p, n);
	return s->body->err ? 0 : size * n;
}

/* The one header the command reads: a summary's status for the exit code. */
static size_t on_header(char *p, size_t size, size_t n, void *user)
{
	static const char name[] = "Fleetstat-Status:";
	sink_t *s = user;
	size_t k = sizeof(name) - 1;

	if (n > k && strncasecmp(p, name, k) == 0) {
		size_t i = k, j = 0;

		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		while (i < n && p[i] != '\r' && p[i] != '\n' && j + 1 < sizeof(s->r->nagios))
			s->r->nagios[j++] = p[i++];
		s->r->nagios[j] = '\0';
	}
	return size * n;
}

/* What a libcurl failure means to the caller: -EPROTO for TLS, else an errno. */
static int curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
		return -EPROTO;
	case CURLE_SSL_CACERT_BADFILE:
		return -ENOENT;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

int col_http_get(const char *url, const col_http_opts_t *o, fs_buf_t *body, col_http_resp_t *r,
                 char *why, size_t whylen)
{
	char errbuf[CURL_ERROR_SIZE] = "", auth[512] = "";
	sink_t s = {body, o->max, false, r};
	struct curl_slist *hdrs = NULL;
	CURLcode c;
	CURL *h;
	int err = 0;

	memset(r, 0, sizeof(*r));
	why[0] = '\0';
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (h = curl_easy_init()) == NULL) {
		snprintf(why, whylen, "cannot start libcurl");
		return -ENOMEM;
	}
	if (o->token) {
		if ((size_t)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token) >=
		    sizeof(auth)) {
			snprintf(why, whylen, "the token is too long");
			err = -E2BIG;
			goto out;
		}
		if ((hdrs = curl_slist_append(NULL, auth)) == NULL) {
			err = -ENOMEM;
			goto out;
		}
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Straight to the collector: no proxy from the environment gets the bearer token. */
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "fleetstat/" FLEETSTAT_VERSION);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (o->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
	if ((c = curl_easy_perform(h)) != CURLE_OK) {
		if (s.too_large) {
			snprintf(why, whylen, "the response is larger than %zu bytes", o->max);
			err = -EMSGSIZE;
		} else {
			snprintf(why, whylen, "%s%s", errbuf[0] ? errbuf : curl_easy_strerror(c),
			         c == CURLE_GOT_NOTHING && strncmp(url, "http://", 7) == 0
			         ? " (an HTTPS server? try https://)" : "");
			err = curl_errno(c);
		}
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	err = body->err;
out:
	explicit_bzero(auth, sizeof(auth));
	for (struct curl_slist *l = hdrs; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));   /* libcurl's copy of the token */
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	curl_global_cleanup();
	return err;
}
