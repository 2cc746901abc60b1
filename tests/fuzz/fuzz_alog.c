/* SPDX-License-Identifier: MIT */
/*
 * fuzz_alog.c: libFuzzer target for the access-log parser: the input's first
 * line is a format to compile (as --log-format takes it; an empty one: the
 * format found by its look, as --input finds it), the rest lines of a log
 * parsed by it and by combined, counted per IP and per host, and by the
 * one-liners' exact counters.  combined is compiled once, not per input, and
 * the look of a log is sought only when no format is given: the work per
 * input is the input's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alog.h"
#include "awkcount.h"
#include "reqs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const ag_alog_line_t *l, const char *line, size_t len)
{
	if (l->status < 100 || l->status > 999 || (l->family != AF_INET && l->family != AF_INET6))
		abort();
	/* What points into the line stays inside it. */
	if (l->host && (l->host < line || l->host + l->host_len > line + len || l->host_len == 0))
		abort();
	if (l->ua && (l->ua < line || l->ua + l->ua_len > line + len || l->ua_len == 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *end = buf + size, *p;
	const char *nl = memchr(buf, '\n', size);
	size_t spec_len = nl ? (size_t)(nl - buf) : size;
	static ag_alog_fmt_t f[3];   /* f[2]: combined, compiled at the first input */
	static bool ok[3];
	char spec[512], err[256];
	ag_reqs_t *q = ag_reqs_new(8, 4);
	ag_awkcount_t *a1 = ag_awkcount_new(0, 1), *a3 = ag_awkcount_new('/', 3);
	fs_buf_t out = FS_BUF_INIT;
	ag_reqs_ip_t ips[8];
	ag_reqs_host_t hosts[4];
	uint64_t left;

	if (q == NULL || a1 == NULL || a3 == NULL)
		abort();
	if (spec_len >= sizeof(spec))
		spec_len = sizeof(spec) - 1;
	memcpy(spec, buf, spec_len);
	spec[spec_len] = '\0';
	if (!ok[2] && !(ok[2] = ag_alog_compile("combined", AG_ALOG_CLIENT_ADDR, &f[2], err,
	                                          sizeof(err)) == 0))
		abort();
	if (spec_len == 0 && nl != NULL) {
		const char *guess = ag_alog_detect(nl + 1, (size_t)(end - nl - 1));

		if (guess != NULL && strcmp(guess, "combined") != 0 && strcmp(guess, "common") != 0)
			abort();
		snprintf(spec, sizeof(spec), "%s", guess ? guess : "");
	}
	ok[0] = ag_alog_compile(spec, AG_ALOG_CLIENT_ADDR, &f[0], err, sizeof(err)) == 0;
	ok[1] = ag_alog_compile(spec, AG_ALOG_CLIENT_XFF, &f[1], err, sizeof(err)) == 0;
	for (p = nl ? nl + 1 : end; p < end;) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		size_t n = e ? (size_t)(e - p) : (size_t)(end - p);

		for (int i = 0; i < 3; i++) {
			ag_alog_line_t l;
			ag_alog_result_t r;

			if (!ok[i])
				continue;
			r = ag_alog_parse(&f[i], p, n, &l);
			if (r >= AG_ALOG_NREASONS)
				abort();
			if (r == AG_ALOG_OK)
				check_line(&l, p, n);
			ag_reqs_add(q, r, &l);
		}
		ag_awkcount_line(a1, p, n);
		ag_awkcount_line(a3, p, n);
		p = e ? e + 1 : end;
	}
	/* Counts add up, each listed IP within its bounds. */
	{
		const ag_reqs_totals_t *t = ag_reqs_totals(q);
		uint64_t sum = 0, bad = 0;

		for (int c = 0; c < AG_REQS_NCLASS; c++)
			sum += t->cls[c];
		for (int r = 1; r < AG_ALOG_NREASONS; r++)
			bad += t->malformed[r];
		if (sum != t->requests || t->requests + bad != t->lines)
			abort();
		for (size_t i = 0, n = ag_reqs_top_ips(q, ips, 8, &left); i < n; i++)
			if (ips[i].error > ips[i].requests || ips[i].uas > AG_REQS_UA_CAP ||
			    (i > 0 && ips[i].requests > ips[i - 1].requests) || left > ips[i].requests)
				abort();
		(void)ag_reqs_top_hosts(q, hosts, 4, &left);
	}
	ag_awkcount_print(a1, AG_AWK_SORT_RN, &out);
	ag_awkcount_print(a3, AG_AWK_SORT_TEXT, &out);
	fs_buf_close(&out);
	ag_awkcount_free(a1);
	ag_awkcount_free(a3);
	ag_reqs_free(q);
	return 0;
}
