/* SPDX-License-Identifier: MIT */
/* uplink.c: the agent's connection policy (see uplink.h). */
#include "uplink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

uint64_t ag_backoff_next(uint64_t *base, uint32_t rnd)
{
	uint64_t b = *base, half;

	if (b < AG_BACKOFF_MIN_MS)
		b = AG_BACKOFF_MIN_MS;
	if (b > AG_BACKOFF_MAX_MS)
		b = AG_BACKOFF_MAX_MS;
	*base = b * 2 > AG_BACKOFF_MAX_MS ? AG_BACKOFF_MAX_MS : b * 2;
	/* Equal jitter: agents restarted together by one outage spread out. */
	half = b / 2;
	return half + (uint64_t)rnd % (b - half + 1);
}

/* The longest entry: [host]:65535. */
_Static_assert(sizeof(((ag_addr_t *)0)->text) > 2 + AG_HOST_MAX + 1 + 5, "ag_addr_t.text too small");

/* Says why entry i (e, elen bytes) is refused; -EINVAL. */
static int addr_refused(char *err, size_t errlen, size_t i, const char *e, size_t elen,
                        const char *why)
{
	snprintf(err, errlen, "entry %zu '%.*s' %s", i + 1, (int)(elen > 300 ? 300 : elen), e, why);
	return -EINVAL;
}

/* A host as the list may hold it: printable ASCII, no blank, no bracket. */
static int host_ok(const char *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (h[i] <= ' ' || h[i] > '~' || h[i] == '[' || h[i] == ']')
			return 0;
	return n > 0;
}

/* Splits one trimmed entry e (n bytes, n > 0) into a; 0 or -EINVAL (said in err). */
static int addr_parse(const char *e, size_t n, size_t i, ag_addr_t *a, char *err, size_t errlen)
{
	const char *host = e, *colon = NULL, *port;
	size_t hl, pl;
	unsigned long p = 0;

	if (e[0] == '[') {
		const char *close = memchr(e, ']', n);

		/* [V6]:PORT: the address is what the brackets hold. */
		if (close == NULL || close + 1 == e + n || close[1] != ':')
			return addr_refused(err, errlen, i, e, n, "is not HOST:PORT ([V6]:PORT for IPv6)");
		host = e + 1;
		hl = (size_t)(close - host);
		colon = close + 1;
		if (hl == 0 || memchr(host, ':', hl) == NULL)
			return addr_refused(err, errlen, i, e, n, "has no IPv6 address in its brackets");
	} else {
		for (const char *q = e; q < e + n; q++)
			if (*q == ':')
				colon = q;
		if (colon == NULL || colon == e)
			return addr_refused(err, errlen, i, e, n, "is not HOST:PORT");
		hl = (size_t)(colon - e);
		if (memchr(e, ':', hl) != NULL)
			return addr_refused(err, errlen, i, e, n,
			                    "is not HOST:PORT: an IPv6 address goes in brackets, [V6]:PORT");
	}
	if (hl > AG_HOST_MAX)
		return addr_refused(err, errlen, i, e, n, "has a host longer than 255 bytes");
	if (!host_ok(host, hl))
		return addr_refused(err, errlen, i, e, n, "is not HOST:PORT: the host has a blank or a bracket");
	/* At most five digits: with the host's bound, the entry fits a->text. */
	port = colon + 1;
	pl = (size_t)(e + n - port);
	for (size_t k = 0; k < pl && pl <= 5; k++) {
		if (port[k] < '0' || port[k] > '9') {
			p = 0;
			break;
		}
		p = p * 10 + (unsigned long)(port[k] - '0');
	}
	if (pl == 0 || pl > 5 || p < 1 || p > 65535)
		return addr_refused(err, errlen, i, e, n, "has no port from 1 to 65535");
	memcpy(a->text, e, n);
	a->text[n] = '\0';
	memcpy(a->host, host, hl);
	a->host[hl] = '\0';
	snprintf(a->port, sizeof(a->port), "%lu", p);
	return 0;
}

int ag_addrs_parse(const char *s, ag_addrs_t *out, char *err, size_t errlen)
{
	const char *p = s;
	int rc;

	out->n = 0;
	for (size_t i = 0;; i++) {
		const char *end = strchr(p, ',');
		const char *b = p, *e = end ? end : p + strlen(p);
		ag_addr_t *a;

		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (b == e) {
			snprintf(err, errlen, "entry %zu is empty (HOST:PORT[,HOST:PORT...])", i + 1);
			return -EINVAL;
		}
		if (i == AG_COLLECTORS_MAX) {
			snprintf(err, errlen, "more than %d collectors", AG_COLLECTORS_MAX);
			return -EINVAL;
		}
		a = &out->a[i];
		if ((rc = addr_parse(b, (size_t)(e - b), i, a, err, errlen)) < 0)
			return rc;
		for (size_t k = 0; k < i; k++)
			if (strcasecmp(out->a[k].host, a->host) == 0 && strcmp(out->a[k].port, a->port) == 0)
				return addr_refused(err, errlen, i, b, (size_t)(e - b), "is listed twice");
		out->n = i + 1;
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

void ag_failover_init(ag_failover_t *f, size_t n)
{
	f->n = n ? n : 1;
	f->cur = 0;
	f->failed = 0;
}

int ag_failover_next(ag_failover_t *f)
{
	f->cur = (f->cur + 1) % f->n;
	if (++f->failed < f->n)
		return 0;
	f->failed = 0;
	return 1;
}

void ag_failover_connected(ag_failover_t *f)
{
	f->failed = 0;
}

uint64_t ag_seq_after_welcome(uint64_t own_last, uint64_t welcome_last)
{
	return own_last > welcome_last ? own_last : welcome_last;
}

static const wire_kv_t *kv_find(const wire_kv_t *kv, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].name, name) == 0)
			return &kv[i];
	return NULL;
}

int ag_kv_equal(const wire_kv_t *a, size_t na, const wire_kv_t *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		/* The same order is the usual case; look further only if not. */
		const wire_kv_t *o = strcmp(a[i].name, b[i].name) == 0 ? &b[i]
		                     : kv_find(b, nb, a[i].name);

		if (o == NULL || strcmp(o->value, a[i].value) != 0)
			return 0;
	}
	return 1;
}

void ag_kv_free(wire_kv_t *kv, size_t n)
{
	if (kv == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
	}
	free(kv);
}

int ag_kv_dup(const wire_kv_t *in, size_t n, wire_kv_t **out)
{
	wire_kv_t *kv;

	if (n == 0) {
		*out = NULL;
		return 0;
	}
	if ((kv = calloc(n, sizeof(*kv))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((kv[i].name = strdup(in[i].name)) == NULL ||
		    (kv[i].value = strdup(in[i].value)) == NULL) {
			ag_kv_free(kv, n);
			return -ENOMEM;
		}
	}
	*out = kv;
	return 0;
}
