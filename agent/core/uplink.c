/* SPDX-License-Identifier: MIT */
/* uplink.c: the agent's connection policy (see uplink.h). */
#include "uplink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
