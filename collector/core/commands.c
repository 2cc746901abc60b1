/* SPDX-License-Identifier: MIT */
/* commands.c: the one table of query commands, their parameters and formats; no I/O. */
#include "commands.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define P(x) (1u << COL_PARAM_##x)
#define F(x) (1u << COL_FMT_##x)
#define TEXT_FORMATS (F(TABLE) | F(JSON) | F(CSV) | F(HTML))

static const char *const param_names[] = {
	[COL_PARAM_TIER] = "tier",   [COL_PARAM_HOST] = "host",   [COL_PARAM_NAME] = "name",
	[COL_PARAM_STATE] = "state", [COL_PARAM_SINCE] = "since", [COL_PARAM_STEP] = "step",
	[COL_PARAM_LIMIT] = "limit", [COL_PARAM_FORMAT] = "format", [COL_PARAM_BY] = "by",
	[COL_PARAM_PORT] = "port",
};
_Static_assert(ARRAY_SIZE(param_names) == COL_NPARAMS, "a name per parameter");

static const char *const fmt_names[] = {
	[COL_FMT_TABLE] = "table", [COL_FMT_JSON] = "json", [COL_FMT_CSV] = "csv",
	[COL_FMT_IPSET] = "ipset", [COL_FMT_HTML] = "html",
};

/*
 * What each query reads of its options (DESIGN 6).  Every one filters on
 * --tier and takes --format; the rest is what the reader and the renderers
 * look at: a parameter not listed here would change nothing, so it is
 * refused rather than ignored.
 */
static const col_cmd_t cmds[] = {
	/* --by port: per service (DESIGN 12). */
	[COL_CMD_TIERS] = {"tiers", COL_CMD_TIERS, P(TIER) | P(BY) | P(FORMAT), TEXT_FORMATS},
	[COL_CMD_HOSTS] = {"hosts", COL_CMD_HOSTS, P(TIER) | P(HOST) | P(BY) | P(FORMAT),
	                   TEXT_FORMATS},
	/* --port P: the sockets on or to port P, from the raw reports. */
	[COL_CMD_TREND] = {"trend", COL_CMD_TREND,
	                   P(TIER) | P(HOST) | P(STATE) | P(SINCE) | P(STEP) | P(PORT) | P(FORMAT),
	                   TEXT_FORMATS},
	[COL_CMD_TOP_IPS] = {"top-ips", COL_CMD_TOP_IPS,
	                     P(TIER) | P(STATE) | P(SINCE) | P(LIMIT) | P(FORMAT), TEXT_FORMATS},
	/* The access logs' requests in the window (default 1h), --by ip or domain. */
	[COL_CMD_REQUESTS] = {"requests", COL_CMD_REQUESTS,
	                      P(TIER) | P(SINCE) | P(LIMIT) | P(BY) | P(FORMAT), TEXT_FORMATS},
	/* ipset: block commands for the attack verdicts. */
	[COL_CMD_SUSPECTS] = {"suspects", COL_CMD_SUSPECTS, P(TIER) | P(SINCE) | P(FORMAT),
	                      TEXT_FORMATS | F(IPSET)},
	/* --since: the window of the counter rates behind the advice. */
	[COL_CMD_SYSCTL] = {"sysctl", COL_CMD_SYSCTL, P(TIER) | P(NAME) | P(SINCE) | P(FORMAT),
	                    F(TABLE) | F(JSON) | F(CSV)},
	/* Text for mail, or json: a csv of it would be the text labelled csv.  html: its alerts
	   and stale hosts as tables. */
	[COL_CMD_SUMMARY] = {"summary", COL_CMD_SUMMARY, P(TIER) | P(SINCE) | P(FORMAT),
	                     F(TABLE) | F(JSON) | F(HTML)},
};
_Static_assert(ARRAY_SIZE(cmds) == COL_NCMDS, "an entry per command");

const col_cmd_t *col_cmd(col_cmd_id_t id)
{
	return &cmds[id];
}

const col_cmd_t *col_cmd_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (strcmp(name, cmds[i].name) == 0)
			return &cmds[i];
	return NULL;
}

const char *col_param_name(col_param_t p)
{
	return (unsigned)p < COL_NPARAMS ? param_names[p] : NULL;
}

int col_param_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(param_names); i++)
		if (strcmp(name, param_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *col_fmt_name(col_fmt_t f)
{
	return (unsigned)f < ARRAY_SIZE(fmt_names) ? fmt_names[f] : NULL;
}

int col_fmt_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(fmt_names); i++)
		if (strcmp(name, fmt_names[i]) == 0)
			return (int)i;
	return -1;
}

/* Appends to dst (len bytes) at *at, cut at the end; *at stays below len. */
static void put(char *dst, size_t len, size_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char *dst, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (len == 0 || *at >= len - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(dst + *at, len - *at, fmt, ap);
	va_end(ap);
	if (n > 0)
		*at = *at + (size_t)n < len ? *at + (size_t)n : len - 1;
}

/* The names of the bits of mask, each after prefix and sep between them. */
static void put_names(char *dst, size_t len, size_t *at, const char *const *names, size_t n,
                      unsigned mask, const char *prefix, const char *sep)
{
	const char *s = "";

	for (size_t i = 0; i < n; i++) {
		if (!(mask & (1u << i)))
			continue;
		put(dst, len, at, "%s%s%s", s, prefix, names[i]);
		s = sep;
	}
}

void col_cmd_names(char *dst, size_t len)
{
	size_t at = 0;

	if (len)
		dst[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		put(dst, len, &at, "%s%s", i ? ", " : "", cmds[i].name);
}

void col_cmd_usage(const col_cmd_t *c, const char *prefix, char *dst, size_t len)
{
	size_t at = 0;

	if (len)
		dst[0] = '\0';
	put_names(dst, len, &at, param_names, COL_NPARAMS, c->params, prefix, " ");
	if (c->params & P(FORMAT)) {
		put(dst, len, &at, " ");
		put_names(dst, len, &at, fmt_names, ARRAY_SIZE(fmt_names), c->formats, "", "|");
	}
}

int col_cmd_set(const col_cmd_t *c, col_qopts_t *o, const char *name, const char *value,
                const char *prefix, char *why, size_t whylen)
{
	int p = col_param_find(name), f;
	const char *reason;
	size_t at = 0;

	if (whylen)
		why[0] = '\0';
	if (p < 0 || !(c->params & (1u << p))) {
		put(why, whylen, &at, "%s takes only ", c->name);
		put_names(why, whylen, &at, param_names, COL_NPARAMS, c->params, prefix, ", ");
		return -ENOENT;
	}
	if (p == COL_PARAM_FORMAT && (f = col_fmt_find(value)) >= 0 && !(c->formats & (1u << f))) {
		put(why, whylen, &at, "not a format of %s (", c->name);
		put_names(why, whylen, &at, fmt_names, ARRAY_SIZE(fmt_names), c->formats, "", ", ");
		put(why, whylen, &at, ")");
		return -EINVAL;
	}
	if (col_qopts_set(o, name, value, &reason) < 0) {
		put(why, whylen, &at, "%s", reason ? reason : "not a value it takes");
		return -EINVAL;
	}
	return 0;
}
