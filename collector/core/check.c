/* SPDX-License-Identifier: MIT */
/* check.c: report checks against the collector's clock, and settings' syntax. */
#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int ip_cmp(const void *x, const void *y)
{
	const wire_remote_t *a = x, *b = y;

	if (a->ip.len != b->ip.len)
		return a->ip.len < b->ip.len ? -1 : 1;
	return memcmp(a->ip.b, b->ip.b, a->ip.len);
}

int col_report_check(const wire_report_t *r, int64_t now_ms, int64_t retention_ms,
                     const char **why)
{
	const wire_top_t *t = &r->top;

	if (r->collected_at_ms > now_ms + COL_MAX_SKEW_MS) {
		*why = "collected_at_ms is ahead of the collector's clock";
		return -EINVAL;
	}
	if (r->collected_at_ms < now_ms - retention_ms) {
		*why = "collected_at_ms is older than the retention";
		return -EINVAL;
	}
	if (r->interval_ms < 1 || r->interval_ms > 86400000u) {
		*why = "interval_ms is not from 1 ms to a day";
		return -EINVAL;
	}
	/* Counts kept as 32 bits (wire_states_total()) must not wrap: no host holds 2^32 sockets. */
	if (wire_states_sum(&r->states) > UINT32_MAX) {
		*why = "the state table adds up to more than 2^32 - 1 connections";
		return -EINVAL;
	}
	if (t->n_ips > 3 * (size_t)t->limit) {
		*why = "more top IPs than three rankings of `limit`";
		return -EINVAL;
	}
	for (int s = 1; s < WIRE_NSTATES; s++) {
		uint64_t sum = (uint64_t)t->rest.n[s] + t->excluded.n[s];

		if (s == WIRE_LISTEN)
			continue;
		for (size_t i = 0; i < t->n_ips; i++)
			sum += t->ips[i].st.n[s];
		if (sum != r->states.n[s]) {
			*why = "top entries + rest + excluded do not add up to the state table";
			return -EINVAL;
		}
	}
	if (t->n_ips > 1) {
		wire_remote_t *ips = malloc(t->n_ips * sizeof(*ips));
		int dup = 0;

		if (ips == NULL) {
			*why = "out of memory";
			return -ENOMEM;
		}
		memcpy(ips, t->ips, t->n_ips * sizeof(*ips));
		qsort(ips, t->n_ips, sizeof(*ips), ip_cmp);
		for (size_t i = 1; i < t->n_ips && !dup; i++)
			dup = ip_cmp(&ips[i - 1], &ips[i]) == 0;
		free(ips);
		if (dup) {
			*why = "an IP appears twice in the top list";
			return -EINVAL;
		}
	}
	return 0;
}

int col_parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		char unit;
		int64_t ms;
	} units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
	int64_t mul = 1000;
	char *end;
	long long n;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || n <= 0)
		return -EINVAL;
	if (*end) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (*end == units[i].unit)
				break;
		if (i == sizeof(units) / sizeof(units[0]) || end[1] != '\0')
			return -EINVAL;
		mul = units[i].ms;
	}
	if (n > INT64_MAX / mul)
		return -EINVAL;
	*ms = n * mul;
	return 0;
}

int col_parse_listen(const char *s, char *host, size_t hostlen, int *port,
                     bool *loopback)
{
	const char *colon = strrchr(s, ':');
	uint8_t a[16];
	size_t n;
	char *end;
	long p;

	if (colon == NULL || colon == s)
		return -EINVAL;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p < 1 || p > 65535)
		return -EINVAL;
	if (s[0] == '[') {
		if (colon[-1] != ']')
			return -EINVAL;
		s++;
		n = (size_t)(colon - 1 - s);
	} else {
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= hostlen)
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	if (strcmp(host, "*") == 0)
		strcpy(host, "0.0.0.0");
	if (inet_pton(AF_INET, host, a) == 1) {
		*loopback = a[0] == 127;
	} else if (inet_pton(AF_INET6, host, a) == 1) {
		static const uint8_t loop6[16] = {[15] = 1};

		*loopback = memcmp(a, loop6, 16) == 0;
	} else {
		return -EINVAL;
	}
	*port = (int)p;
	return 0;
}
