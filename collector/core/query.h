/* SPDX-License-Identifier: MIT */
/* query.h: the fleet queries' pure part (DESIGN 6): options, aggregation, output. */
#ifndef COL_QUERY_H
#define COL_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "report.h"
#include "toproll.h"

/* A host is stale when its latest report is older than this many intervals. */
#define COL_STALE_INTERVALS 3
/* The same as text, for help and messages: "3". */
#define COL_STR_(x) #x
#define COL_STR(x) COL_STR_(x)
#define COL_STALE_INTERVALS_TEXT COL_STR(COL_STALE_INTERVALS)

/* The ranking state "total": every state but LISTEN. */
#define COL_STATE_TOTAL 0

/*
 * COL_FMT_IPSET: suspects only (ipset commands for the attack verdicts).
 * COL_FMT_HTML: the table as an HTML <table> (the web view's pieces).
 */
typedef enum { COL_FMT_TABLE, COL_FMT_JSON, COL_FMT_CSV, COL_FMT_IPSET, COL_FMT_HTML } col_fmt_t;

/*
 * A query's options, as the CLI's flags and the HTTP API's parameters give
 * them (the same names: col_param_t of commands.h).  Strings are borrowed
 * from whoever set them.
 */
typedef struct {
	int64_t now_ms;      /* the query's clock */
	const char *tier;    /* NULL: every tier */
	const char *host;    /* NULL: every host (trend) */
	const char *name;    /* NULL: every sysctl (sysctl) */
	int state;           /* COL_STATE_TOTAL or 1..11 */
	int64_t since_ms;    /* 0: now (latest reports); trend default 1h */
	int64_t step_ms;     /* trend bucket; 0: chosen from since */
	unsigned limit;      /* top-ips rows (default 20) */
	bool by_port;        /* tiers, hosts: per service port (--by port) */
	bool by_domain;      /* requests: per requested host (--by domain), else per IP */
	bool by_ip;          /* requests: --by ip said (the default) */
	uint32_t port;       /* trend: 1..65535, the sockets on or to it; 0: all */
	col_fmt_t format;
} col_qopts_t;

/* Defaults: now_ms as given, every tier and host, total, limit 20, table. */
void col_qopts_init(col_qopts_t *o, int64_t now_ms);

/*
 * Sets one option from its text form ("tier", "web"), value borrowed,
 * whatever the command (col_cmd_set() refuses what a command does not
 * take).  Returns 0, -ENOENT for an unknown name, or -EINVAL with a static reason
 * in *why for a bad value.  States are netstat's names, any case, or
 * "total"; durations as col_parse_duration(); limit 1..10000.
 */
int col_qopts_set(col_qopts_t *o, const char *name, const char *value, const char **why);

/* ---- hosts ------------------------------------------------------------ */

/* The kernel counters the queries read (names as the agent sends them): summary, /metrics. */
enum { COL_CTR_LISTEN_OVERFLOWS, COL_CTR_LISTEN_DROPS, COL_CTR_SYNCOOKIES_SENT,
       COL_CTR_TW_OVERFLOW, COL_NCTRS };
extern const char *const col_counter_names[COL_NCTRS];

/*
 * A host and its latest report, as the store reads them.  Strings belong to
 * whoever filled the struct.  collected_at_ms and states are meaningful when
 * has_report.
 */
typedef struct {
	int64_t id;
	const char *hostname;
	const char *tier;
	const char *labels_json;   /* a JSON object, as stored */
	const char *agent_version;
	const char *cert_subject;  /* the agent's certificate (mutual TLS); NULL: none seen */
	const char *cert_sha256;
	int64_t first_seen_ms;
	int64_t last_seen_ms;
	bool has_report;
	int64_t collected_at_ms;
	uint32_t interval_ms;
	wire_states_t states;
	wire_top_t top;            /* filled only when the query needs it */
	wire_listener_t *listeners;   /* with top: its listeners' queues */
	size_t n_listeners;
	wire_ports_t ports;        /* by service: filled only when the query needs it */
	wire_requests_t requests;  /* its access logs' (present false: none), as ports */
	uint64_t counters[COL_NCTRS];  /* the kernel's, as ports: bit c of counters_found */
	uint32_t counters_found;       /* says counters[c] was in the report */
} col_host_t;

/* The host of id in hosts (sorted by id), or NULL.  Borrowed. */
const col_host_t *col_host_find(const col_host_t *hosts, size_t n, int64_t id);

/* No report, or the latest is older than COL_STALE_INTERVALS intervals at now_ms. */
bool col_host_stale(const col_host_t *h, int64_t now_ms);

/* Renders the hosts query (hosts sorted by tier, then hostname). */
int col_hosts_render(const col_host_t *hosts, size_t n, const col_qopts_t *o, fs_buf_t *b);

/* Renders the tiers query: per tier, hosts reporting, stale, and each state's sum, mean, max. */
int col_tiers_render(const col_host_t *hosts, size_t n, const col_qopts_t *o, fs_buf_t *b);

/*
 * --by port (ports.c): each host's latest state table per service, and each
 * tier's: per direction and port the sum over its fresh hosts listing it,
 * the host with the most, and the tier's rest (its hosts' rest, and the
 * whole table of hosts that do not split).
 */
int col_hosts_ports_render(const col_host_t *hosts, size_t n, const col_qopts_t *o, fs_buf_t *b);
int col_tiers_ports_render(const col_host_t *hosts, size_t n, const col_qopts_t *o, fs_buf_t *b);

/* One (tier, direction, port) over the tier's fresh hosts; dir 2 is the tier's rest (port 0). */
typedef struct {
	const char *tier;          /* borrowed from the hosts */
	int dir;                   /* 0 inbound, 1 outbound, 2 rest */
	uint32_t port;
	unsigned hosts;            /* fresh hosts listing it */
	uint64_t st[WIRE_NSTATES]; /* summed over them */
	uint64_t max;              /* the largest total on one host */
	const char *max_host;
} col_tier_port_t;

/* What tiers --by port shows, sorted by tier, direction, port: *out new (free()).  -ENOMEM. */
int col_tier_ports(const col_host_t *hosts, size_t n, int64_t now_ms, col_tier_port_t **out,
                   size_t *n_out);

/* ---- top-ips ------------------------------------------------------------ */

/*
 * Merges the top lists of many hosts.  Fed every report of the window
 * (col_top_add(), hosts and times in any order), then col_top_render().  For one host, an IP's value is its peak over the
 * host's reports of the window, per state; `count` sums those peaks over
 * hosts.  Where a report does not list the IP, the report's threshold (the
 * N-th value of the ranking) bounds it, so `upper_bound` sums, per host,
 * the peak or the largest threshold of the reports that missed the IP;
 * count == upper_bound means the count is exact.
 */
typedef struct col_top col_top_t;

/* *out is new (col_top_free()).  0 or -ENOMEM. */
int col_top_new(const col_qopts_t *o, col_top_t **out);
void col_top_free(col_top_t *t);

/*
 * One report of host h (borrowed, and kept by pointer until render: h must
 * outlive t; top is copied from).  0 or -ENOMEM.
 */
int col_top_add(col_top_t *t, const col_host_t *h, int64_t collected_at_ms,
                const wire_top_t *top);

/*
 * A rollup of host h's reports (h as for col_top_add()): the same as adding
 * each of them, for a rollup of reports wholly inside the window.
 */
int col_top_add_roll(col_top_t *t, const col_host_t *h, const col_roll_top_t *r);

int col_top_render(col_top_t *t, fs_buf_t *b);

/*
 * What an IP's connections were doing (DESIGN 12), summed over the hosts
 * that measured it: each host's latest measurement in the window, with the
 * ESTABLISHED it was taken of.  hosts 0: none measured.
 */
typedef struct {
	uint32_t hosts;
	uint64_t established, active, unanswered, idle;
	uint64_t bytes_received, bytes_acked;
} col_activity_t;

/* One IP of a merge, for the queries built on it (suspects); ranks by the options' state. */
typedef struct {
	wire_ip_t ip;
	uint64_t count, upper_bound;     /* as top-ips */
	uint64_t st[WIRE_NSTATES];       /* per state, the hosts' peaks summed */
	uint64_t host_max;               /* the largest peak on one host */
	uint64_t tier_max;               /* the largest count over one tier's hosts */
	uint32_t hosts;
	const char *const *tiers;        /* sorted */
	size_t n_tiers;
	int64_t first_ms, last_ms;
	col_activity_t act;
} col_top_ip_t;

/*
 * Instead of col_top_render(): every IP, ranked as top-ips ranks them, in
 * *out (valid until col_top_free()).  0 or -ENOMEM.
 */
int col_top_ips(col_top_t *t, const col_top_ip_t **out, size_t *n);

struct col_req_ip_s;

/*
 * The access logs' requests of its IPs over since_ms (DESIGN 12), in IP
 * order (col_req_ips()), borrowed until col_top_free(): col_top_render()
 * shows them beside each IP's connections.
 */
void col_top_set_requests(col_top_t *t, const struct col_req_ip_s *v, size_t n, int64_t since_ms);

/* After col_top_ips() or col_top_render(): ip's count in t, as there; 0 when no host listed it. */
uint64_t col_top_count(const col_top_t *t, const wire_ip_t *ip);

/* ---- trend ---------------------------------------------------------------- */

/*
 * Buckets of o->step_ms from now - since (aligned to the step) to now.  Fed
 * per-series cells, grouped by series (id): a series is a host, or a tier
 * whose rows already sum its hosts.  A cell at time t_ms holds n samples
 * (reports, or minutes) whose values add up to sum, the largest max, and
 * the hosts behind it.  A bucket's `mean` sums each series' mean of its
 * samples inside it, its `max` each series' largest, its `hosts` each
 * series' most hosts.
 */
typedef struct col_trend col_trend_t;

/* Fills in o's default step; *out is new (col_trend_free()).  0, -ENOMEM, -EINVAL (too many buckets). */
int col_trend_new(col_qopts_t *o, col_trend_t **out);
void col_trend_free(col_trend_t *t);

/* The window: [*from_ms, *to_ms). */
void col_trend_window(const col_trend_t *t, int64_t *from_ms, int64_t *to_ms);

int col_trend_add(col_trend_t *t, int64_t id, int64_t t_ms, uint64_t n, double sum,
                  uint64_t max, uint32_t hosts);

/* source: "raw", "minute" or "hour": what the buckets were read from. */
int col_trend_render(col_trend_t *t, const char *source, fs_buf_t *b);

/* ---- sysctl ------------------------------------------------------------------ */

/* One host's current value of one sysctl (strings borrowed). */
typedef struct {
	int64_t host_id;
	const char *name;
	const char *value;
	int64_t changed_at_ms;
} col_sysctl_t;

struct col_advice_s;

/*
 * Renders the sysctl query: per tier (fresh hosts only) and sysctl, each
 * value with its hosts, the majority value, and the hosts that differ from
 * it (drift); then the advice (advice.h; JSON and table).  rows sorted by
 * name; hosts sorted by id.  0 or -ENOMEM.
 */
int col_sysctl_render(const col_host_t *hosts, size_t n_hosts, const col_sysctl_t *rows,
                      size_t n_rows, const struct col_advice_s *adv, size_t n_adv,
                      const col_qopts_t *o, fs_buf_t *b);

/* ---- output helpers --------------------------------------------------------- */

/* ms since the epoch as "2026-12-02T18:07:18Z" into dst (24 bytes). */
const char *col_time_str(int64_t ms, char *dst);

/* netstat's name of a state (any case, LISTEN aside) or "total" into *state; 0 or -EINVAL. */
int col_state_parse(const char *v, int *state);

/* The name of a ranking state: "total" or netstat's. */
const char *col_state_label(int state);

#endif
