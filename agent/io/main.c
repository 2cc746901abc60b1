/* SPDX-License-Identifier: MIT */
/* main.c: fleetstat-agent command line and configuration; printing, daemon and --once. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "access.h"
#include "agg.h"
#include "buf.h"
#include "cli.h"
#include "collect.h"
#include "log.h"
#include "print.h"
#include "reqprint.h"
#include "report.h"
#include "size.h"
#include "run.h"
#include "token.h"
#include "spool.h"
#include "uplink.h"
#include "util.h"
#include "auth.h"

#define MAX_LIST 64
#define DEFAULT_COLLECTOR "127.0.0.1:7400"
#define DEFAULT_STATE_DIR "/var/lib/fleetstat-agent"
#define DEFAULT_TIER "default"   /* the Hello needs one; --tier names it */
#define FS_STR_(x) #x
#define FS_STR(x) FS_STR_(x)

typedef struct {
	char *items[MAX_LIST];
	int n;
	int from_flags; /* a flag replaces what the config file gave */
} strlist_t;

/* An access log to follow: [access_log] path/format/client, or --access-log PATH. */
typedef struct {
	char *path;
	char *format;               /* NULL: --log-format, else combined */
	int client;                 /* -1: --log-client's */
} logcfg_t;

typedef struct {
	char *collector;
	char *tier;
	strlist_t labels;
	strlist_t excludes;
	long interval;
	long top;
	long ports;
	long activity_min;
	char *token_file;
	char *tls_ca, *tls_server_name, *tls_cert, *tls_key;
	char *state_dir;
	ag_source_t source;
	int threads;
	char *input;
	char *netns;
	char *hostname;
	char *print; /* NULL: not printing */
	char *log_format;           /* an access log's format (--input, --access-log) */
	ag_alog_client_t log_client;
	int by_domain;              /* --by domain */
	logcfg_t logs[AG_FOLLOW_MAX];
	int n_logs;
	int logs_from_flags;        /* --access-log replaces the config file's */
	uint64_t spool_max;
	long timeout;
	int print_spool;
	int collector_flag; /* --collector on the command line */
	int once;
} opts_t;

enum {
	OPT_CONFIG = 256, OPT_COLLECTOR, OPT_TIER, OPT_LABEL, OPT_INTERVAL, OPT_TOP,
	OPT_EXCLUDE, OPT_TOKEN_FILE, OPT_STATE_DIR, OPT_SOURCE, OPT_INPUT,
	OPT_PRINT, OPT_ONCE, OPT_THREADS,
	OPT_SPOOL_MAX, OPT_TIMEOUT, OPT_PRINT_SPOOL, OPT_NETNS, OPT_HOSTNAME,
	OPT_TLS_CA, OPT_TLS_SERVER_NAME, OPT_TLS_CERT, OPT_TLS_KEY, OPT_ACTIVITY_MIN, OPT_PORTS,
	OPT_LOG_FORMAT, OPT_LOG_CLIENT, OPT_BY, OPT_ACCESS_LOG,
};

static const fs_opt_t options[] = {
	{"config", required_argument, OPT_CONFIG, 0},
	{"collector", required_argument, OPT_COLLECTOR, FS_OPT_CONFIG},
	{"tier", required_argument, OPT_TIER, FS_OPT_CONFIG},
	{"label", required_argument, OPT_LABEL, FS_OPT_CONFIG},
	{"interval", required_argument, OPT_INTERVAL, FS_OPT_CONFIG},
	{"top", required_argument, OPT_TOP, FS_OPT_CONFIG},
	{"exclude", required_argument, OPT_EXCLUDE, FS_OPT_CONFIG},
	{"activity-min", required_argument, OPT_ACTIVITY_MIN, FS_OPT_CONFIG},
	{"ports", required_argument, OPT_PORTS, FS_OPT_CONFIG},
	{"token-file", required_argument, OPT_TOKEN_FILE, FS_OPT_CONFIG},
	{"tls-ca", required_argument, OPT_TLS_CA, FS_OPT_CONFIG},
	{"tls-server-name", required_argument, OPT_TLS_SERVER_NAME, FS_OPT_CONFIG},
	{"tls-cert", required_argument, OPT_TLS_CERT, FS_OPT_CONFIG},
	{"tls-key", required_argument, OPT_TLS_KEY, FS_OPT_CONFIG},
	{"state-dir", required_argument, OPT_STATE_DIR, FS_OPT_CONFIG},
	{"source", required_argument, OPT_SOURCE, FS_OPT_CONFIG},
	{"threads", required_argument, OPT_THREADS, FS_OPT_CONFIG},
	{"input", required_argument, OPT_INPUT, 0},
	{"netns", required_argument, OPT_NETNS, FS_OPT_CONFIG},
	{"hostname", required_argument, OPT_HOSTNAME, FS_OPT_CONFIG},
	{"print", optional_argument, OPT_PRINT, 0},
	{"access-log", required_argument, OPT_ACCESS_LOG, FS_OPT_CONFIG},
	{"log-format", required_argument, OPT_LOG_FORMAT, FS_OPT_CONFIG},
	{"log-client", required_argument, OPT_LOG_CLIENT, FS_OPT_CONFIG},
	{"by", required_argument, OPT_BY, 0},
	{"once", no_argument, OPT_ONCE, 0},
	{"timeout", required_argument, OPT_TIMEOUT, FS_OPT_CONFIG},
	{"spool-max", required_argument, OPT_SPOOL_MAX, FS_OPT_CONFIG},
	{"print-spool", no_argument, OPT_PRINT_SPOOL, 0}, /* hidden: tests, debugging */
};

static const char usage[] =
	"usage: fleetstat-agent [options]\n"
	"\n"
	"Counts this host's TCP sockets by state, its listeners' queues and the top\n"
	"remote IPs (netlink sock_diag, as ss does), with the kernel's TCP counters\n"
	"and tuning sysctls.\n"
	"\n"
	"  --print[=awk|table|json]  collect once, print here, no network (default table)\n"
	"  --once                    collect, send one report (and any spooled backlog),\n"
	"                            wait for its ack, exit 0; 1 with the reason if not\n"
	"  --timeout SEC             --once gives up after this long (default 30)\n"
	"  --collector HOST:PORT[,HOST:PORT...]\n"
	"                            where reports go (default 127.0.0.1:7400; IPv6 as\n"
	"                            [::1]:7400): up to 16 collectors, tried in order; the\n"
	"                            agent stays on the one that takes it and moves on to\n"
	"                            the next when that fails (after the last, the first);\n"
	"                            when all have failed in a row, a backoff (1 s doubling\n"
	"                            to 60 s) before the next round\n"
	"  --config FILE             INI file with the settings below (flags win)\n"
	"  --tier NAME               tier of this host: [a-z0-9_-]{1,32} (lvs, web, db)\n"
	"  --label K=V               extra label, repeatable\n"
	"  --interval SEC            seconds between reports (default 10)\n"
	"  --top N                   IPs per ranking: total, ESTABLISHED, SYN_RECV (default 20)\n"
	"  --exclude CIDR            leave remote addresses out of the ranking, repeatable\n"
	"                            (loopback always is); they are counted as `excluded`\n"
	"  --ports N                 the state table per service: inbound by local listening\n"
	"                            port, outbound by remote port, the top N of each\n"
	"                            (default " FS_STR(AG_PORTS_DEFAULT) "; 0: not split)\n"
	"  --activity-min N          what the listed IPs' connections are doing (TCP info:\n"
	"                            active, unanswered, idle, bytes) is read while some\n"
	"                            IP has N ESTABLISHED, and in the first collection\n"
	"                            (default 100; 0: always; off: never)\n"
	"  --token-file FILE         shared secret proving this agent to the collector\n"
	"  --tls-ca FILE             TLS to the collector, whose certificate must come from\n"
	"                            this CA (PEM) and be for its --collector host\n"
	"  --tls-server-name NAME    the name the collector's certificate must carry instead\n"
	"  --tls-cert FILE           this agent's certificate, for mutual TLS (PEM)\n"
	"  --tls-key FILE            its private key (PEM, mode 0600); SIGHUP reloads the\n"
	"                            TLS files\n"
	"  --state-dir DIR           agent id, last seq and spool (default /var/lib/fleetstat-agent)\n"
	"  --spool-max SIZE          bound of the spool of unacked reports, bytes with an\n"
	"                            optional K, M or G (default 64M); the oldest go first\n"
	"  --source auto|netlink|proc  where sockets come from (default auto: netlink,\n"
	"                            /proc/net/tcp if that fails)\n"
	"  --threads auto|1|2        sock_diag dump in one request, or split by state in two\n"
	"                            running at once: a third less wall time, a walk of the\n"
	"                            socket table more CPU (default auto: split from\n"
	"                            " FS_STR(AG_SPLIT_MIN) " sockets up, with two CPUs)\n"
	"  --input FILE              read saved `netstat -n`, `netstat -an`, `ss -tan` or\n"
	"                            /proc/net/tcp text instead of the kernel, and print it\n"
	"                            as --print does (table unless --print says otherwise);\n"
	"                            with --once or --collector on the command line, send it;\n"
	"                            or an access log (combined or common found by itself,\n"
	"                            else --log-format): requests per client IP, and with\n"
	"                            --print=awk what `awk '{++S[$1]} END {for (a in S)\n"
	"                            print a, S[a]}' FILE | sort -rn -k2` prints\n"
	"  --by ip|domain            --input's access-log table: per client IP (default) or\n"
	"                            per requested host; --print=awk --by domain takes FILE\n"
	"                            as URLs, as `awk -F / '{++S[$3]} ...' | sort -k2`\n"
	"  --access-log PATH         follow a web server's access log (repeatable, up to 16;\n"
	"                            or [access_log] sections: path, format, client): the\n"
	"                            requests per client IP and host go in each report; a\n"
	"                            log is read from its end when first seen, across\n"
	"                            rotations (rename, copytruncate) and restarts\n"
	"  --log-format FORMAT       combined, common, main, vhost_combined, or the log_format\n"
	"                            (nginx, $variables) or LogFormat (Apache, %directives)\n"
	"                            string the server writes with\n"
	"  --log-client remote_addr|x_forwarded_for\n"
	"                            the client of a request: the connecting address\n"
	"                            (default), or the last address of the format's\n"
	"                            forwarded-for field (the connecting one when it has none)\n"
	"  --netns NAME|PATH         collect from this network namespace (a name of `ip netns`,\n"
	"                            or a path like /proc/PID/ns/net); reports still leave\n"
	"                            from the agent's own (needs CAP_SYS_ADMIN)\n"
	"  --hostname NAME           the host's name in reports (default: the kernel's)\n"
	"  --verbose                 debug logging\n"
	"  --version, --help\n";

static void list_add(strlist_t *l, const char *v, int from_flags, const char *what)
{
	if (from_flags && !l->from_flags) {
		for (int i = 0; i < l->n; i++)
			free(l->items[i]);
		l->n = 0;
		l->from_flags = 1;
	}
	if (l->n == MAX_LIST)
		fatalx("too many %s values (at most %d)", what, MAX_LIST);
	if ((l->items[l->n++] = strdup(v)) == NULL)
		fatalx("out of memory");
}

static int parse_client(const char *what, const char *v)
{
	if (strcmp(v, "remote_addr") == 0)
		return AG_ALOG_CLIENT_ADDR;
	if (strcmp(v, "x_forwarded_for") == 0)
		return AG_ALOG_CLIENT_XFF;
	fatalx("%s: '%s' is not remote_addr or x_forwarded_for", what, v);
}

static void log_add(opts_t *o, const char *path, int from_flags)
{
	if (from_flags && !o->logs_from_flags) {
		for (int i = 0; i < o->n_logs; i++) {
			free(o->logs[i].path);
			free(o->logs[i].format);
		}
		o->n_logs = 0;
		o->logs_from_flags = 1;
	}
	if (o->n_logs == AG_FOLLOW_MAX)
		fatalx("too many access logs (at most %d)", AG_FOLLOW_MAX);
	if (!wire_path_valid(path))
		fatalx("--access-log: '%s' is not an absolute path of printable UTF-8 (at most %d bytes)",
		       path, WIRE_MAX_PATH);
	for (int i = 0; i < o->n_logs; i++)
		if (strcmp(o->logs[i].path, path) == 0)
			fatalx("--access-log: %s given twice (it would be counted twice)", path);
	o->logs[o->n_logs] = (logcfg_t){.client = -1};
	fs_cli_set_str(&o->logs[o->n_logs].path, path);
	o->n_logs++;
}

/* [access_log] path = ... starts a log; format and client after it are that log's. */
static int section_key(void *ctx, const char *section, const char *name, const char *value)
{
	opts_t *o = ctx;
	logcfg_t *l = o->n_logs > 0 ? &o->logs[o->n_logs - 1] : NULL;

	if (strcmp(section, "access_log") != 0)
		return 0;
	if (strcmp(name, "path") == 0) {
		log_add(o, value, 0);
		return 1;
	}
	if (l == NULL) {
		log_warnx("[access_log] %s: a section starts with its path", name);
		return -1;
	}
	if (strcmp(name, "format") == 0)
		fs_cli_set_str(&l->format, value);
	else if (strcmp(name, "client") == 0)
		l->client = parse_client("[access_log] client", value);
	else {
		log_warnx("[access_log]: unknown key '%s' (path, format, client)", name);
		return -1;
	}
	return 1;
}

static long parse_long(const char *what, const char *v, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end != '\0' || n < min || n > max)
		fatalx("%s: '%s' is not a whole number from %ld to %ld", what, v, min, max);
	return n;
}

static ag_source_t parse_source(const char *v)
{
	if (strcmp(v, "auto") == 0)
		return AG_SRC_AUTO;
	if (strcmp(v, "netlink") == 0)
		return AG_SRC_NETLINK;
	if (strcmp(v, "proc") == 0)
		return AG_SRC_PROC;
	fatalx("--source: '%s' is not auto, netlink or proc", v);
}

/* Applies one setting, from a flag or the config file (fs_cli_t.apply). */
static void apply(void *ctx, int opt, const char *v, int from_flags)
{
	opts_t *o = ctx;

	switch (opt) {
	case OPT_CONFIG: break; /* read first, by fs_cli_parse() */
	case OPT_INPUT: fs_cli_set_str(&o->input, v); break;
	case OPT_PRINT: fs_cli_set_str(&o->print, v ? v : "table"); break;
	case OPT_ONCE: o->once = 1; break;
	case OPT_LOG_FORMAT: fs_cli_set_str(&o->log_format, v); break;
	case OPT_LOG_CLIENT: o->log_client = (ag_alog_client_t)parse_client("--log-client", v); break;
	case OPT_ACCESS_LOG: log_add(o, v, from_flags); break;
	case OPT_BY:
		if (strcmp(v, "ip") != 0 && strcmp(v, "domain") != 0)
			fatalx("--by: '%s' is not ip or domain", v);
		o->by_domain = strcmp(v, "domain") == 0;
		break;
	case OPT_PRINT_SPOOL: o->print_spool = 1; break;
	case OPT_COLLECTOR:
		fs_cli_set_str(&o->collector, v);
		o->collector_flag |= from_flags;
		break;
	case OPT_TIER: fs_cli_set_str(&o->tier, v); break;
	case OPT_LABEL: list_add(&o->labels, v, from_flags, "label"); break;
	case OPT_INTERVAL: o->interval = parse_long("interval", v, 1, 86400); break;
	case OPT_TOP: o->top = parse_long("top", v, 0, AG_TOP_MAX); break;
	case OPT_PORTS: o->ports = parse_long("ports", v, 0, WIRE_MAX_PORTS); break;
	case OPT_EXCLUDE: list_add(&o->excludes, v, from_flags, "exclude"); break;
	case OPT_ACTIVITY_MIN:
		o->activity_min = strcmp(v, "off") == 0 ? AG_ACTIVITY_OFF
		                                        : parse_long("activity-min", v, 0, UINT32_MAX - 1);
		break;
	case OPT_TOKEN_FILE: fs_cli_set_str(&o->token_file, v); break;
	case OPT_TLS_CA: fs_cli_set_str(&o->tls_ca, v); break;
	case OPT_TLS_SERVER_NAME: fs_cli_set_str(&o->tls_server_name, v); break;
	case OPT_TLS_CERT: fs_cli_set_str(&o->tls_cert, v); break;
	case OPT_TLS_KEY: fs_cli_set_str(&o->tls_key, v); break;
	case OPT_STATE_DIR: fs_cli_set_str(&o->state_dir, v); break;
	case OPT_NETNS: fs_cli_set_str(&o->netns, v); break;
	case OPT_HOSTNAME: fs_cli_set_str(&o->hostname, v); break;
	case OPT_SPOOL_MAX:
		if (fs_parse_size(v, &o->spool_max) < 0)
			fatalx("spool-max: '%s' is not a size in bytes (4096, 512K, 64M, 1G)", v);
		break;
	case OPT_TIMEOUT: o->timeout = parse_long("timeout", v, 1, 86400); break;
	case OPT_SOURCE: o->source = parse_source(v); break;
	case OPT_THREADS:
		o->threads = strcmp(v, "auto") == 0 ? 0 : (int)parse_long("threads", v, 1, 2);
		break;
	}
}

/* Validates o; fills cidrs (--exclude) and collectors (--collector, or the default). */
static void check(const opts_t *o, wire_cidr_t *cidrs, ag_addrs_t *collectors)
{
	const char *t = o->tier;
	char err[512];

	if (t) {
		size_t n = strlen(t);

		if (n < 1 || n > 32 || strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
			fatalx("--tier: '%s' must match [a-z0-9_-]{1,32}", t);
	}
	for (int i = 0; i < o->labels.n; i++) {
		const char *eq = strchr(o->labels.items[i], '=');

		if (eq == NULL || eq == o->labels.items[i] || strlen(o->labels.items[i]) > 255)
			fatalx("--label: '%s' is not K=V", o->labels.items[i]);
	}
	for (int i = 0; i < o->excludes.n; i++)
		if (wire_cidr_parse(o->excludes.items[i], strlen(o->excludes.items[i]), &cidrs[i]) < 0)
			fatalx("--exclude: '%s' is not an address or CIDR", o->excludes.items[i]);
	if (ag_addrs_parse(o->collector ? o->collector : DEFAULT_COLLECTOR, collectors, err,
	                   sizeof(err)) < 0)
		fatalx("--collector: %s", err);
	if (o->print && strcmp(o->print, "awk") && strcmp(o->print, "table") &&
	    strcmp(o->print, "json"))
		fatalx("--print: '%s' is not awk, table or json", o->print);
	if (o->input && o->source != AG_SRC_AUTO)
		fatalx("--input and --source exclude each other");
	if (o->input && o->netns)
		fatalx("--input and --netns exclude each other");
	if (o->hostname && (strlen(o->hostname) > 255 || !wire_text_valid(o->hostname, strlen(o->hostname)) ||
	                    o->hostname[0] == '\0'))
		fatalx("--hostname: '%s' is not 1 to 255 printable bytes", o->hostname);
	if ((o->tls_cert || o->tls_key || o->tls_server_name) && !o->tls_ca)
		fatalx("--tls-cert, --tls-key and --tls-server-name need --tls-ca (the CA to check"
		       " the collector by)");
	if ((o->tls_cert == NULL) != (o->tls_key == NULL))
		fatalx("mutual TLS needs both --tls-cert and --tls-key");
}

static void opts_close(opts_t *o)
{
	free(o->collector);
	free(o->tier);
	free(o->token_file);
	free(o->tls_ca);
	free(o->tls_server_name);
	free(o->tls_cert);
	free(o->tls_key);
	free(o->state_dir);
	free(o->input);
	free(o->netns);
	free(o->hostname);
	free(o->print);
	free(o->log_format);
	for (int i = 0; i < o->n_logs; i++) {
		free(o->logs[i].path);
		free(o->logs[i].format);
	}
	for (int i = 0; i < o->labels.n; i++)
		free(o->labels.items[i]);
	for (int i = 0; i < o->excludes.n; i++)
		free(o->excludes.items[i]);
}

static int print_once(const opts_t *o, const wire_cidr_t *cidrs)
{
	ag_agg_opts_t ao = {
		.top_n = (uint32_t)o->top,
		.ports_n = (uint32_t)o->ports,
		.exclude = cidrs,
		.n_exclude = (size_t)o->excludes.n,
	};
	ag_collect_opts_t co = {
		.source = o->source,
		.input = o->input,
		.kernel_stats = 1,
		.threads = o->threads,
		.interval_ms = (uint32_t)o->interval * 1000u,
		.activity_min = (uint32_t)o->activity_min,
	};
	wire_report_t r;
	fs_buf_t out = FS_BUF_INIT;
	struct utsname u;
	ag_agg_t *agg, *aux;
	int err;

	memset(&r, 0, sizeof(r));
	if (o->netns && ag_netns_open(o->netns, &co) < 0)
		return -EINVAL;
	if ((agg = ag_agg_new(&ao)) == NULL || (aux = ag_agg_new(&ao)) == NULL)
		fatalx("out of memory");
	r.interval_ms = (uint32_t)o->interval * 1000u;
	if ((err = ag_collect(&co, agg, aux, &r)) < 0)
		goto out;
	if (o->hostname)
		snprintf(u.nodename, sizeof(u.nodename), "%s", o->hostname);
	else if (uname(&u) < 0)
		strcpy(u.nodename, "?");
	if (strcmp(o->print, "awk") == 0)
		err = ag_print_awk(&r, &out);
	else if (strcmp(o->print, "json") == 0)
		err = ag_print_json(&r, u.nodename, o->tier, &out);
	else
		err = ag_print_table(&r, u.nodename, o->tier, &out);
	/* Nothing to print (awk on a host without connections) leaves out.p NULL: no fwrite. */
	if (err == 0 && ((out.len > 0 && fwrite(out.p, 1, out.len, stdout) != out.len) ||
	                 fflush(stdout) != 0)) {
		log_warn("stdout");
		err = -EIO;
	}
out:
	fs_buf_close(&out);
	wire_report_close(&r);
	ag_agg_free(aux);
	ag_agg_free(agg);
	ag_netns_close(&co);
	return err;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* --input with an access log: requests per client IP or host, or the one-liner.  Exit status. */
static int print_requests(const opts_t *o, const char *guess)
{
	const char *format = o->log_format ? o->log_format : guess;
	ag_reqprint_t v = {.file = o->input, .format = format, .top = (size_t)o->top,
	                   .by_host = o->by_domain};
	fs_buf_t out = FS_BUF_INIT;
	ag_awkcount_t *awk = NULL;
	ag_reqs_t *q = NULL;
	ag_alog_fmt_t fmt;
	struct utsname u;
	char err[256];
	double t0 = mono_ms();
	int rc;

	if (strcmp(o->print, "awk") == 0) {
		if ((awk = ag_awkcount_new(o->by_domain ? '/' : 0, o->by_domain ? 3 : 1)) == NULL)
			fatalx("out of memory");
		if ((rc = ag_access_read(o->input, NULL, NULL, awk)) == 0)
			rc = ag_awkcount_print(awk, o->by_domain ? AG_AWK_SORT_TEXT : AG_AWK_SORT_RN, &out);
	} else {
		if (ag_alog_compile(format, o->log_client, &fmt, err, sizeof(err)) < 0)
			fatalx("--log-format: %s", err);
		if ((q = ag_reqs_new(AG_REQS_IPS_FILE, 0)) == NULL)
			fatalx("out of memory");
		rc = ag_access_read(o->input, &fmt, q, NULL);
		if (o->hostname)
			snprintf(u.nodename, sizeof(u.nodename), "%s", o->hostname);
		else if (uname(&u) < 0)
			strcpy(u.nodename, "?");
		v.hostname = u.nodename;
		v.elapsed_ms = mono_ms() - t0;
		if (rc == 0)
			rc = strcmp(o->print, "json") == 0 ? ag_print_reqs_json(q, &v, &out)
			                                   : ag_print_reqs_table(q, &v, &out);
	}
	if (rc < 0)
		log_warnx("--input %s: %s", o->input, strerror(-rc));
	else if ((out.len > 0 && fwrite(out.p, 1, out.len, stdout) != out.len) || fflush(stdout) != 0)
		rc = -EIO, log_warn("stdout");
	fs_buf_close(&out);
	ag_awkcount_free(awk);
	ag_reqs_free(q);
	return rc < 0 ? 1 : 0;
}

/* Daemon or --once: reports go to the collector through the spool.  Exit status. */
static int ship(const opts_t *o, const wire_cidr_t *cidrs, const ag_addrs_t *collectors)
{
	ag_follow_log_t logs[AG_FOLLOW_MAX];
	uint8_t token[WIRE_TOKEN_MAX];
	size_t token_len = 0;
	wire_kv_t labels[MAX_LIST];
	fs_tls_files_t tls = {o->tls_cert, o->tls_key, o->tls_ca};
	ag_run_opts_t ro = {
		.collectors = collectors,
		.state_dir = o->state_dir ? o->state_dir : DEFAULT_STATE_DIR,
		.tier = o->tier ? o->tier : DEFAULT_TIER,
		.hostname = o->hostname,
		.labels = labels,
		.n_labels = (size_t)o->labels.n,
		.interval_s = (uint32_t)o->interval,
		.timeout_s = (uint32_t)o->timeout,
		.spool_max = o->spool_max,
		.once = o->once,
		.tls = o->tls_ca ? &tls : NULL,
		.tls_server_name = o->tls_server_name,
		.collect = {
			.source = o->source,
			.input = o->input,
			.kernel_stats = 1,
			.threads = o->threads,
			.interval_ms = (uint32_t)o->interval * 1000u,
			.activity_min = (uint32_t)o->activity_min,
		},
		.agg = {
			.top_n = (uint32_t)o->top,
			.ports_n = (uint32_t)o->ports,
			.exclude = cidrs,
			.n_exclude = (size_t)o->excludes.n,
		},
	};
	int err, code;

	for (int i = 0; i < o->n_logs; i++) {
		const char *fmt = o->logs[i].format ? o->logs[i].format
		                                    : o->log_format ? o->log_format : "combined";
		int client = o->logs[i].client >= 0 ? o->logs[i].client : (int)o->log_client;
		char why[256];

		logs[i].path = o->logs[i].path;
		if (ag_alog_compile(fmt, (ag_alog_client_t)client, &logs[i].fmt, why, sizeof(why)) < 0)
			fatalx("access log %s: format: %s", o->logs[i].path, why);
	}
	ro.logs = logs;
	ro.n_logs = (size_t)o->n_logs;
	ro.reqs_top = (uint32_t)(o->top > 0 ? o->top : AG_TOP_DEFAULT);
	if (o->netns && ag_netns_open(o->netns, &ro.collect) < 0)
		return 1;
	if (o->token_file) {
		if ((err = fs_token_load(o->token_file, token, sizeof(token), &token_len)) < 0)
			fatalx("--token-file %s: %s", o->token_file, fs_token_strerror(err));
		ro.token = token;
		ro.token_len = token_len;
	}
	/* Labels were checked to be K=V; the Hello borrows them split. */
	for (int i = 0; i < o->labels.n; i++) {
		char *eq = strchr(o->labels.items[i], '=');

		labels[i].name = strndup(o->labels.items[i], (size_t)(eq - o->labels.items[i]));
		labels[i].value = strdup(eq + 1);
		if (labels[i].name == NULL || labels[i].value == NULL)
			fatalx("out of memory");
	}
	code = ag_run(&ro);
	ag_netns_close(&ro.collect);
	for (int i = 0; i < o->labels.n; i++) {
		free(labels[i].name);
		free(labels[i].value);
	}
	explicit_bzero(token, sizeof(token));
	return code;
}

/* A file of its own in TMPDIR, unlinked (gone when the agent exits); -1 when none can be made. */
static int tmpfile_fd(void)
{
	const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[PATH_MAX];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (size_t)snprintf(path, sizeof(path), "%s/fleetstat-input-XXXXXX", dir) >=
	               sizeof(path))
		return fd;
	if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
		unlink(path);
	return fd;
}

/*
 * --input that is no regular file (a pipe: `ss -tan | fleetstat-agent
 * --input /dev/stdin`) can be read once only, yet its look is sniffed before
 * it is parsed: its text goes first into an unlinked file, which both then
 * read from the start.  /dev/stdin, /dev/fd/N and /proc/self/fd/N become
 * that file under the same name (it takes the descriptor's place); another
 * name, a FIFO, is replaced by the file's /proc/self/fd path.
 */
static void input_rewindable(opts_t *o)
{
	char buf[65536], path[64];
	struct stat st;
	int in, fd, n = -1;
	ssize_t r;

	if (stat(o->input, &st) < 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
		return;   /* a file reads again from its start; an error is said by the open after */
	if ((in = open(o->input, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if ((fd = tmpfile_fd()) < 0)
		fatal("--input %s: a file to keep what it gives (TMPDIR)", o->input);
	while ((r = read(in, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fatal("--input %s", o->input);
		for (ssize_t done = 0; done < r;) {
			ssize_t w = write(fd, buf + done, (size_t)(r - done));

			if (w < 0 && errno != EINTR)
				fatal("--input %s: keeping what it gives", o->input);
			done += w > 0 ? w : 0;
		}
	}
	close(in);
	if (strcmp(o->input, "/dev/stdin") == 0)
		n = 0;
	else if (sscanf(o->input, "/dev/fd/%d%63s", &n, path) != 1 &&
	         sscanf(o->input, "/proc/self/fd/%d%63s", &n, path) != 1)
		n = -1;
	if (n >= 0 && n != fd) {
		if (dup2(fd, n) < 0)
			fatal("--input %s", o->input);
		close(fd);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fs_cli_set_str(&o->input, path);
}

int main(int argc, char **argv)
{
	opts_t o = {.interval = 10, .top = AG_TOP_DEFAULT, .ports = AG_PORTS_DEFAULT,
	            .activity_min = AG_ACTIVITY_MIN_DEFAULT,
	            .source = AG_SRC_AUTO,
	            .spool_max = AG_SPOOL_MAX_DEFAULT, .timeout = 30};
	wire_cidr_t cidrs[MAX_LIST];
	ag_addrs_t collectors;
	fs_cli_t cli = {
		.prog = "fleetstat-agent",
		.section = "agent",
		.opts = options,
		.n_opts = FS_ARRAY_SIZE(options),
		.apply = apply,
		.section_key = section_key,
		.usage = usage,
		.ctx = &o,
	};
	int c, err;

	log_init("fleetstat-agent", LOG_LVL_INFO);
	if ((c = fs_cli_parse(&cli, argc, argv)) >= 0) {
		opts_close(&o);
		return c;
	}
	check(&o, cidrs, &collectors);

	if (o.print && o.once)
		fatalx("--print and --once exclude each other");
	if (o.n_logs > 0 && o.print && o.logs_from_flags)
		fatalx("--access-log is followed by the daemon and --once; to count a file once,"
		       " --input FILE");
	/* A saved file is the awk one-liner's offline job: count, print, exit. */
	if (o.input && !o.print && !o.once && !o.collector_flag)
		fs_cli_set_str(&o.print, "table");
	if (o.print_spool) {
		err = ag_print_spool(o.state_dir ? o.state_dir : DEFAULT_STATE_DIR);
		opts_close(&o);
		return err;
	}
	if (o.input)
		input_rewindable(&o);
	if (!o.print) {
		err = ship(&o, cidrs, &collectors);
		opts_close(&o);
		return err;
	}
	if (o.input) {
		const char *guess = NULL;
		int kind = ag_access_sniff(o.input, &guess);

		if (kind < 0)
			fatalx("--input %s: %s", o.input, strerror(-kind));
		/* Not socket text, and an access log by its look or by --log-format. */
		/* --print=awk --by domain: FILE is a list of URLs, the other one-liner's input. */
		bool urls = o.by_domain && o.print && strcmp(o.print, "awk") == 0;

		if ((kind == 0 && (guess || o.log_format || urls)) ||
		    (o.log_format && !o.once && !o.collector_flag)) {
			if (o.once || o.collector_flag)
				fatalx("--input %s is an access log: printed here, not sent", o.input);
			err = print_requests(&o, guess);
			opts_close(&o);
			return err;
		}
	}
	if (o.by_domain)
		fatalx("--by goes with --input and an access log");
	err = print_once(&o, cidrs);
	opts_close(&o);
	return err < 0 ? 1 : 0;
}
