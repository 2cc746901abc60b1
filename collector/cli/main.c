/* SPDX-License-Identifier: MIT */
/* main.c: the fleetstat command: fleet queries on the collector's database. */
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "commands.h"
#include "http_get.h"
#include "url.h"
#include "qcfg.h"
#include "query.h"
#include "reader.h"
#include "summary.h"
#include "auth.h"
#include "token.h"

static void usage(FILE *f)
{
	fputs(
	"usage: fleetstat COMMAND [options]\n"
	"\n"
	"Questions about the whole fleet, answered by the collector's HTTP API or\n"
	"straight from its database; both give the same JSON.\n"
	"\n"
	"  tiers                 per tier: hosts reporting, stale, and per state the sum,\n"
	"                        the mean per host and the host with the most\n"
	"  hosts                 per host: tier, labels, last seen, stale, version, states\n"
	"  trend                 a state over time, summed over hosts, in buckets\n"
	"  top-ips               remote IPs with the most connections across hosts, with\n"
	"                        count and upper_bound (exact when equal); --since gives\n"
	"                        each host's peak over the window\n"
	"  requests              the access logs' requests per client IP (or --by domain)\n"
	"                        across hosts over --since (default 1h), with upper bounds\n"
	"  suspects              each IP over suspect_min (default 100 on one host or a\n"
	"                        tier) over --since (default 15m), with a verdict:\n"
	"                        syn-flood, conn-flood, nat-egress, busy or watch (allowed,\n"
	"                        denied: the config's lists) and its reasons against its\n"
	"                        own baseline week; --format ipset prints ipset commands\n"
	"                        for the attack verdicts (nothing is blocked by fleetstat)\n"
	"  sysctl                per tier, each tuning sysctl's values and their hosts, the\n"
	"                        majority, and the hosts that differ from it\n"
	"  summary               for cron: per-tier peaks, stale agents, kernel counter\n"
	"                        rates over --since (default 24h), against the [thresholds]\n"
	"                        of the collector's config; exit 0 OK, 1 WARNING,\n"
	"                        2 CRITICAL, 3 UNKNOWN (no answer); text unless --format json\n"
	"\n"
	"  --server URL          the collector's HTTP API (default http://127.0.0.1:7401;\n"
	"                        https://... when it has --http-tls-cert)\n"
	"  --token-file FILE     bearer token for --server (the collector's --http-token-file)\n"
	"  --cacert FILE         the CA an https server's certificate must come from\n"
	"                        (default: the system's); one not trusted exits 3\n"
	"  --db FILE|URI         read the collector's database instead (read-only): its\n"
	"                        SQLite file or PostgreSQL URI / conninfo\n"
	"  --config FILE         with --db: the collector's config, for [thresholds] and\n"
	"                        [suspects]\n"
	"  --format table|json|csv|ipset|html   (default: table on a terminal, json\n"
	"                        otherwise; html: the tables as the web view shows them)\n"
	"  --tier T  --host H    only that tier, or host\n"
	"  --state S             a TCP state (ESTABLISHED, SYN_RECV, ...) or total (default)\n"
	"  --since DUR           15m, 24h, 7d: the window (top-ips: now if not given;\n"
	"                        trend, requests, sysctl: 1h)\n"
	"  --step DUR            trend bucket (default: about 60 buckets)\n"
	"  --limit N             top-ips and requests rows (default 20)\n"
	"  --by port             tiers, hosts: per service: inbound by local listening port,\n"
	"                        outbound by remote port, as the agents split them\n"
	"  --by ip|domain        requests: per client IP (default) or requested host\n"
	"  --port P              trend: the sockets on port P and to it, from the raw\n"
	"                        reports (the retention's window)\n"
	"  --name N              sysctl: only this one (net.core.somaxconn)\n"
	"  --help, --version\n"
	"\n"
	"The options each command takes (over HTTP: GET /api/v1/COMMAND?tier=T&...):\n", f);
	for (int i = 0; i < COL_NCMDS; i++) {
		char line[256];

		col_cmd_usage(col_cmd((col_cmd_id_t)i), "--", line, sizeof(line));
		fprintf(f, "  %-10s %s\n", col_cmd((col_cmd_id_t)i)->name, line);
	}
	fputs("\n"
	"A host's value is its latest report no older than " COL_STALE_INTERVALS_TEXT " intervals; older hosts\n"
	"are stale: listed, and left out of sums.\n", f);
}

/* The CLI's own options; the query parameters (commands.h) follow as --NAME, val PARAM_OPT + p. */
static const struct option own_opts[] = {
	{"db", required_argument, NULL, 'd'},
	{"server", required_argument, NULL, 'u'},
	{"token-file", required_argument, NULL, 'k'},
	{"cacert", required_argument, NULL, 'a'},
	{"config", required_argument, NULL, 'c'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
};
#define N_OWN (sizeof(own_opts) / sizeof(own_opts[0]))
#define PARAM_OPT 256

/* The flags, as getopt_long() wants them, into opts (N_OWN + COL_NPARAMS + 1). */
static void longopts_fill(struct option *opts)
{
	memcpy(opts, own_opts, sizeof(own_opts));
	for (int p = 0; p < COL_NPARAMS; p++)
		opts[N_OWN + p] = (struct option){col_param_name((col_param_t)p), required_argument,
		                                  NULL, PARAM_OPT + p};
	opts[N_OWN + COL_NPARAMS] = (struct option){NULL, 0, NULL, 0};
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define MAX_RESPONSE (256u << 20)
#define TIMEOUT_MS 60000
#define CURL_WHY 512

/* A query parameter as given on the command line (value borrowed from argv). */
typedef struct {
	col_param_t p;
	const char *value;
} given_t;

/* The query over HTTP(S): the options as the API's parameters.  Exit status. */
static int via_server(const char *url, const char *token_file, const char *cacert,
                      const col_cmd_t *c, const given_t *given, int n, const col_qopts_t *o)
{
	char host[256], port[8], prefix[256], why[CURL_WHY];
	fs_buf_t path = FS_BUF_INIT, resp = FS_BUF_INIT;
	uint8_t token[WIRE_TOKEN_MAX + 1];
	col_http_opts_t ho = {.cacert = cacert, .timeout_ms = TIMEOUT_MS, .max = MAX_RESPONSE};
	col_http_resp_t r;
	size_t token_len = 0;
	bool https;
	int err, code = 1, summary = c->id == COL_CMD_SUMMARY;

	if (col_url_split(url, &https, host, sizeof(host), port, prefix, sizeof(prefix)) < 0) {
		fprintf(stderr, "fleetstat: --server: '%s' is not http[s]://HOST[:PORT]\n", url);
		return 2;
	}
	if (token_file) {
		if ((err = fs_token_load(token_file, token, sizeof(token) - 1, &token_len)) < 0) {
			fprintf(stderr, "fleetstat: token file %s: %s\n", token_file,
			        fs_token_strerror(err));
			return summary ? COL_UNKNOWN : 1;
		}
		token[token_len] = '\0';
		ho.token = (const char *)token;
	}
	/* An IPv6 literal keeps its brackets; the format as chosen here, the rest as given. */
	fs_buf_printf(&path, "%s://%s%s%s:%s%s/api/v1/%s?format=%s", https ? "https" : "http",
	              strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port, prefix,
	              c->name, col_fmt_name(o->format));
	for (int i = 0; i < n; i++) {
		if (given[i].p == COL_PARAM_FORMAT)
			continue;
		fs_buf_printf(&path, "&%s=", col_param_name(given[i].p));
		col_url_encode(&path, given[i].value);
	}
	fs_buf_add(&path, "", 1);
	err = path.err ? path.err : col_http_get(path.p, &ho, &resp, &r, why, sizeof(why));
	explicit_bzero(token, sizeof(token));
	if (err == -EPROTO) {
		/* Not the server it should be: no answer to trust, whatever the command. */
		fprintf(stderr, "fleetstat: %s: TLS: %s%s\n", url, why,
		        cacert ? "" : " (give --cacert with the collector's CA)");
		code = COL_UNKNOWN;
		goto out;
	}
	if (err < 0) {
		fprintf(stderr, "fleetstat: %s: %s\n", url, why[0] ? why : strerror(-err));
		goto out;
	}
	if (r.status != 200) {
		fprintf(stderr, "fleetstat: %s: HTTP %ld: %.*s", url, r.status, (int)resp.len,
		        resp.p ? resp.p : "");
		if (resp.len == 0 || resp.p[resp.len - 1] != '\n')
			fputc('\n', stderr);
		code = r.status == 400 || r.status == 404 ? 2 : 1;
		goto out;
	}
	if ((resp.len > 0 && fwrite(resp.p, 1, resp.len, stdout) != resp.len) ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "fleetstat: writing the output: %s\n", strerror(errno));
		goto out;
	}
	code = 0;
	if (summary) {
		const char *v = r.nagios;

		code = v[0] >= '0' && v[0] <= '3' && v[1] == '\0' ? v[0] - '0' : COL_UNKNOWN;
		fs_buf_close(&path);
		fs_buf_close(&resp);
		return code;
	}
out:
	/* A summary that got no answer is UNKNOWN to whoever reads the exit code. */
	if (summary && code != 0)
		code = COL_UNKNOWN;
	fs_buf_close(&path);
	fs_buf_close(&resp);
	return code;
}

/* The collector's config: [thresholds] and [suspects]; its other sections are not ours. */
static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	const char *why = NULL;

	if (col_qcfg_set(user, section, name, value, &why) >= 0)
		return 1;
	fprintf(stderr, "fleetstat: config: [%s] %s = %s: %s\n", section, name, value, why);
	return 0;
}

/* The query on the database file.  Exit status (summary: its own, 3 when it cannot say). */
static int via_db(const char *db, const col_cmd_t *c, col_qopts_t *o, const char *config)
{
	int summary = c->id == COL_CMD_SUMMARY;
	col_qcfg_t q;
	fs_buf_t out = FS_BUF_INIT;
	db_reader_t *rd;
	const char *why;
	char err[512];
	int rc, code = 1;

	col_qcfg_init(&q);
	if (config) {
		int line = ini_parse(config, on_ini, &q);

		if (line != 0) {
			fprintf(stderr, "fleetstat: config %s: %s\n", config,
			        line < 0 ? "cannot read it" : "a line is not valid");
			return summary ? COL_UNKNOWN : 1;
		}
	}
	if (db_reader_open(db, &rd, err, sizeof(err)) < 0) {
		fprintf(stderr, "fleetstat: %s\n", err);
		return summary ? COL_UNKNOWN : 1;
	}
	rc = db_query(rd, c->id, o, &(db_query_cfg_t){&q.th, &q.sus}, &out, &why);
	if (summary && rc >= 0) {
		code = rc;
		rc = 0;
	}
	if (rc < 0)
		fprintf(stderr, "fleetstat: %s: %s\n", c->name,
		        why ? why : *db_reader_errmsg(rd) ? db_reader_errmsg(rd) : strerror(-rc));
	else if ((out.len > 0 && fwrite(out.p, 1, out.len, stdout) != out.len) ||
	         fflush(stdout) != 0)
		fprintf(stderr, "fleetstat: writing the output: %s\n", strerror(errno));
	else if (!summary)
		code = 0;
	if (summary && rc < 0)
		code = COL_UNKNOWN;
	db_reader_close(rd);
	fs_buf_close(&out);
	return code;
}

int main(int argc, char **argv)
{
	const char *db = NULL, *server = NULL, *token_file = NULL, *config = NULL, *cacert = NULL;
	struct option longopts[N_OWN + COL_NPARAMS + 1];
	given_t given[64];
	const col_cmd_t *cmd;
	col_qopts_t o;
	int c, n = 0;

	longopts_fill(longopts);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; continue;
		case 'u': server = optarg; continue;
		case 'k': token_file = optarg; continue;
		case 'a': cacert = optarg; continue;
		case 'c': config = optarg; continue;
		case 'h': usage(stdout); return 0;
		case 'V': printf("fleetstat %s\n", FLEETSTAT_VERSION); return 0;
		default:
			if (c < PARAM_OPT || c >= PARAM_OPT + COL_NPARAMS) {
				usage(stderr);
				return 2;
			}
		}
		if (n == (int)(sizeof(given) / sizeof(given[0]))) {
			fprintf(stderr, "fleetstat: more than %d options\n", n);
			return 2;
		}
		given[n++] = (given_t){(col_param_t)(c - PARAM_OPT), optarg};
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if ((cmd = col_cmd_find(argv[optind])) == NULL) {
		char names[128];

		col_cmd_names(names, sizeof(names));
		fprintf(stderr, "fleetstat: '%s' is not a command: %s (see --help)\n", argv[optind],
		        names);
		return 2;
	}
	if (++optind < argc) {
		fprintf(stderr, "fleetstat: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	/* The options now that the command says which it takes. */
	col_qopts_init(&o, now_ms());
	/* A summary is text for mail, wherever stdout goes, unless --format says otherwise. */
	o.format = isatty(STDOUT_FILENO) || cmd->id == COL_CMD_SUMMARY ? COL_FMT_TABLE : COL_FMT_JSON;
	for (int i = 0; i < n; i++) {
		const char *name = col_param_name(given[i].p);
		char why[200];
		int err = col_cmd_set(cmd, &o, name, given[i].value, "--", why, sizeof(why));

		if (err == -ENOENT) {
			fprintf(stderr, "fleetstat: --%s: %s\n", name, why);
			return 2;
		}
		if (err < 0) {
			fprintf(stderr, "fleetstat: --%s: '%s' is %s\n", name, given[i].value, why);
			return 2;
		}
	}
	if (db && server) {
		fprintf(stderr, "fleetstat: --db and --server exclude each other\n");
		return 2;
	}
	if (config && !db) {
		fprintf(stderr, "fleetstat: --config goes with --db (the collector uses its own)\n");
		return 2;
	}
	if (db && (token_file || cacert)) {
		fprintf(stderr, "fleetstat: --token-file and --cacert go with --server\n");
		return 2;
	}
	if (db)
		return via_db(db, cmd, &o, config);
	return via_server(server ? server : "http://127.0.0.1:7401", token_file, cacert, cmd, given,
	                  n, &o);
}
