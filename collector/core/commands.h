/* SPDX-License-Identifier: MIT */
/* commands.h: the query commands (DESIGN 6), the parameters each takes and its formats. */
#ifndef COL_COMMANDS_H
#define COL_COMMANDS_H

#include <stddef.h>

#include "query.h"

/*
 * One table serves the CLI (`fleetstat CMD --PARAM V`: which flags a
 * command takes, its help), the HTTP API (`GET /api/v1/CMD?PARAM=V`: which
 * parameters an endpoint takes) and the reader's dispatch (db_query()).
 */

/* The commands, in the order of the help. */
typedef enum {
	COL_CMD_TIERS,
	COL_CMD_HOSTS,
	COL_CMD_TREND,
	COL_CMD_TOP_IPS,
	COL_CMD_REQUESTS,
	COL_CMD_SUSPECTS,
	COL_CMD_SYSCTL,
	COL_CMD_SUMMARY,   /* its result is also a status: COL_OK .. COL_CRITICAL */
	COL_NCMDS
} col_cmd_id_t;

/* The parameters: the CLI's --NAME, the API's NAME= (col_param_name()). */
typedef enum {
	COL_PARAM_TIER,
	COL_PARAM_HOST,
	COL_PARAM_NAME,
	COL_PARAM_STATE,
	COL_PARAM_SINCE,
	COL_PARAM_STEP,
	COL_PARAM_LIMIT,
	COL_PARAM_BY,
	COL_PARAM_PORT,
	COL_PARAM_FORMAT,
	COL_NPARAMS
} col_param_t;

typedef struct {
	const char *name;    /* "top-ips": the CLI's command, the API's /api/v1/top-ips */
	col_cmd_id_t id;
	unsigned params;     /* bit 1u << col_param_t: the parameters it takes */
	unsigned formats;    /* bit 1u << col_fmt_t: the formats it renders */
} col_cmd_t;

/* The command of id (< COL_NCMDS).  Static. */
const col_cmd_t *col_cmd(col_cmd_id_t id);

/* The command called name, or NULL.  Static. */
const col_cmd_t *col_cmd_find(const char *name);

/* Every command's name, ", " between them ("tiers, hosts, ..."), into dst (len bytes, cut). */
void col_cmd_names(char *dst, size_t len);

/* "tier", "since", ...; NULL past COL_NPARAMS.  Static. */
const char *col_param_name(col_param_t p);

/* The parameter called name, or -1. */
int col_param_find(const char *name);

/* "table", "json", "csv", "ipset".  Static. */
const char *col_fmt_name(col_fmt_t f);

/* The format called name, or -1. */
int col_fmt_find(const char *name);

/*
 * c's parameters into dst (len bytes, cut), each after prefix ("--" for
 * the CLI's flags, "" for the API's) and " " between them, the format
 * with its formats: "--tier --format table|json|csv".
 */
void col_cmd_usage(const col_cmd_t *c, const char *prefix, char *dst, size_t len);

/*
 * Sets c's parameter name to value (borrowed) in o, as col_qopts_set()
 * does, refusing what c does not take.  Returns 0; -ENOENT for a parameter
 * c does not take (or that no command takes): why says "tiers takes only
 * --tier, --format" (each name after prefix, as col_cmd_usage()); or
 * -EINVAL for a bad value, or a format c does not render: why gives the
 * reason ("not a duration like ...", "not a format of summary (table,
 * json)").  why is whylen bytes (cut); it is empty on success.
 */
int col_cmd_set(const col_cmd_t *c, col_qopts_t *o, const char *name, const char *value,
                const char *prefix, char *why, size_t whylen);

#endif
