/* SPDX-License-Identifier: MIT */
/* reqprint.c: the requests tables. */
#include "reqprint.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "report.h"

static const char *ip_text(const ag_reqs_ip_t *ip, char *dst)
{
	wire_ip_t w = {.len = ip->family == AF_INET6 ? 16 : 4};

	memcpy(w.b, ip->addr, w.len);
	return wire_ip_str(&w, dst);
}

/* A host as the table shows it: bytes a terminal would act on become '?'. */
static void safe_text(fs_buf_t *b, const char *s, int width)
{
	int n = 0;

	for (; *s; s++, n++)
		fs_buf_printf(b, "%c", (unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f ? '?' : *s);
	for (; n < width; n++)
		fs_buf_puts(b, " ");
}

static void json_classes(fs_buf_t *b, const uint64_t *cls)
{
	for (int c = 0; c < AG_REQS_NCLASS; c++)
		fs_buf_printf(b, "%s\"%s\":%" PRIu64, c ? "," : "{", wire_req_class_name(c), cls[c]);
	fs_buf_puts(b, "}");
}

/* The listed ones, at most v->top; NULL and 0 when none or no memory. */
static size_t top_ips(const ag_reqs_t *q, size_t top, ag_reqs_ip_t **out, uint64_t *left)
{
	*out = NULL;
	*left = 0;
	if (top == 0 || (*out = calloc(top, sizeof(**out))) == NULL)
		return 0;
	return ag_reqs_top_ips(q, *out, top, left);
}

static size_t top_hosts(const ag_reqs_t *q, size_t top, ag_reqs_host_t **out, uint64_t *left)
{
	*out = NULL;
	*left = 0;
	if (top == 0 || (*out = calloc(top, sizeof(**out))) == NULL)
		return 0;
	return ag_reqs_top_hosts(q, *out, top, left);
}

int ag_print_reqs_json(const ag_reqs_t *q, const ag_reqprint_t *v, fs_buf_t *b)
{
	const ag_reqs_totals_t *t = ag_reqs_totals(q);
	ag_reqs_ip_t *ips;
	ag_reqs_host_t *hosts;
	uint64_t left, hleft;
	size_t n = top_ips(q, v->top, &ips, &left), nh = top_hosts(q, v->top, &hosts, &hleft);
	char ip[WIRE_IP_STRLEN];

	fs_buf_puts(b, "{\"hostname\":");
	fs_buf_json_str(b, v->hostname);
	fs_buf_puts(b, ",\"source\":\"access-log\",\"file\":");
	fs_buf_json_str(b, v->file);
	fs_buf_puts(b, ",\"format\":");
	fs_buf_json_str(b, v->format);
	fs_buf_printf(b, ",\"lines\":%" PRIu64 ",\"requests\":{\"total\":%" PRIu64
	              ",\"by_status\":", t->lines, t->requests);
	json_classes(b, t->cls);
	fs_buf_printf(b, ",\"bytes\":%" PRIu64 ",\"malformed\":{\"shape\":%" PRIu64
	              ",\"client\":%" PRIu64 ",\"status\":%" PRIu64 ",\"too_long\":%" PRIu64 "}}",
	              t->bytes,
	              t->malformed[AG_ALOG_BAD_SHAPE], t->malformed[AG_ALOG_BAD_CLIENT],
	              t->malformed[AG_ALOG_BAD_STATUS], t->too_long);
	fs_buf_printf(b, ",\"distinct_ips\":%zu,\"ips\":[", ag_reqs_distinct_ips(q));
	for (size_t i = 0; i < n; i++) {
		fs_buf_printf(b, "%s{\"ip\":\"%s\",\"requests\":%" PRIu64 ",\"error\":%" PRIu64
		              ",\"by_status\":", i ? "," : "", ip_text(&ips[i], ip), ips[i].requests,
		              ips[i].error);
		json_classes(b, ips[i].cls);
		fs_buf_printf(b, ",\"bytes\":%" PRIu64 ",\"user_agents\":%" PRIu32
		              ",\"user_agents_capped\":%s}", ips[i].bytes, ips[i].uas,
		              ips[i].uas_capped ? "true" : "false");
	}
	fs_buf_printf(b, "],\"unlisted_max\":%" PRIu64 ",\"hosts\":[", left);
	for (size_t i = 0; i < nh; i++) {
		fs_buf_puts(b, i ? ",{\"host\":" : "{\"host\":");
		fs_buf_json_str(b, hosts[i].name);
		fs_buf_printf(b, ",\"requests\":%" PRIu64 ",\"error\":%" PRIu64 "}", hosts[i].requests,
		              hosts[i].error);
	}
	fs_buf_printf(b, "],\"hosts_unlisted_max\":%" PRIu64 "}\n", hleft);
	free(ips);
	free(hosts);
	return b->err;
}

int ag_print_reqs_table(const ag_reqs_t *q, const ag_reqprint_t *v, fs_buf_t *b)
{
	const ag_reqs_totals_t *t = ag_reqs_totals(q);
	uint64_t bad = t->malformed[AG_ALOG_BAD_SHAPE] + t->malformed[AG_ALOG_BAD_CLIENT] +
	               t->malformed[AG_ALOG_BAD_STATUS] + t->too_long;
	char ip[WIRE_IP_STRLEN];
	uint64_t left;

	fs_buf_printf(b, "%s  %s: %" PRIu64 " requests, %" PRIu64 " malformed lines  [%s, %.1f ms]\n\n",
	              v->hostname, v->file, t->requests, bad, v->format, v->elapsed_ms);
	fs_buf_puts(b, "STATUS   REQUESTS  SHARE\n");
	for (int c = 0; c < AG_REQS_NCLASS; c++)
		fs_buf_printf(b, "%-6s %10" PRIu64 " %5.1f%%\n", wire_req_class_name(c), t->cls[c],
		              t->requests ? 100.0 * (double)t->cls[c] / (double)t->requests : 0.0);
	fs_buf_printf(b, "total  %10" PRIu64 "\n\n", t->requests);
	if (v->by_host) {
		ag_reqs_host_t *hosts;
		size_t n = top_hosts(q, v->top, &hosts, &left);

		fs_buf_printf(b, "REQUESTS BY HOST (top %zu)\n%-40s %10s\n", v->top, "HOST", "REQUESTS");
		for (size_t i = 0; i < n; i++) {
			safe_text(b, hosts[i].name, 40);
			fs_buf_printf(b, " %10" PRIu64 "%s\n", hosts[i].requests,
			              hosts[i].error ? " (upper bound)" : "");
		}
		free(hosts);
	} else {
		ag_reqs_ip_t *ips;
		size_t n = top_ips(q, v->top, &ips, &left);

		fs_buf_printf(b, "REQUESTS BY CLIENT IP (top %zu of %zu%s distinct)\n", v->top,
		              ag_reqs_distinct_ips(q), ag_reqs_ips_replaced(q) ? "+" : "");
		fs_buf_printf(b, "%-39s %10s %7s %7s %7s %7s %7s %5s %12s\n", "CLIENT IP", "REQUESTS",
		              "2XX", "3XX", "4XX", "5XX", "OTHER", "UAS", "BYTES");
		for (size_t i = 0; i < n; i++) {
			const uint64_t *c = ips[i].cls;

			fs_buf_printf(b, "%-39s %10" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64
			              " %7" PRIu64 " %4" PRIu32 "%s %12" PRIu64 "\n", ip_text(&ips[i], ip),
			              ips[i].requests, c[AG_REQS_2XX], c[AG_REQS_3XX], c[AG_REQS_4XX],
			              c[AG_REQS_5XX], c[AG_REQS_1XX] + c[AG_REQS_OTHER], ips[i].uas,
			              ips[i].uas_capped ? "+" : " ", ips[i].bytes);
		}
		free(ips);
	}
	if (left > 0)
		fs_buf_printf(b, "one not listed made at most %" PRIu64 " requests\n", left);
	return b->err;
}
