/* SPDX-License-Identifier: MIT */
/* main.c: fleetstat-collector command line, configuration and start-up. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "qcfg.h"
#include "server.h"
#include "size.h"
#include "tls.h"
#include "token.h"
#include "util.h"

typedef struct {
	char *listen, *http, *http_token_file, *db, *token_file, *retention, *max_frame, *max_conns;
	char *handshake_timeout, *idle_timeout, *minute_retention, *rollup_retention;
	char *max_conns_per_ip, *max_write_queue, *http_max_conns, *http_timeout;
	char *http_threads;
	char *tls_cert, *tls_key, *tls_client_ca, *http_tls_cert, *http_tls_key, *web_lib;
	int insecure;
	col_qcfg_t q;         /* [thresholds], [suspects] */
} opts_t;

enum {
	OPT_CONFIG = 256, OPT_LISTEN, OPT_HTTP, OPT_DB, OPT_TOKEN_FILE, OPT_RETENTION,
	OPT_MAX_FRAME, OPT_MAX_CONNS, OPT_INSECURE, OPT_HANDSHAKE_TIMEOUT,
	OPT_IDLE_TIMEOUT, OPT_HTTP_TOKEN_FILE,
	OPT_MINUTE_RETENTION, OPT_ROLLUP_RETENTION, OPT_MAX_CONNS_PER_IP, OPT_MAX_WRITE_QUEUE,
	OPT_HTTP_MAX_CONNS, OPT_HTTP_TIMEOUT, OPT_HTTP_THREADS, OPT_TLS_CERT, OPT_TLS_KEY,
	OPT_TLS_CLIENT_CA, OPT_HTTP_TLS_CERT, OPT_HTTP_TLS_KEY, OPT_WEB_LIB,
};

static const fs_opt_t options[] = {
	{"config", required_argument, OPT_CONFIG, 0},
	{"listen", required_argument, OPT_LISTEN, FS_OPT_CONFIG},
	{"http", required_argument, OPT_HTTP, FS_OPT_CONFIG},
	{"http-token-file", required_argument, OPT_HTTP_TOKEN_FILE, FS_OPT_CONFIG},
	{"db", required_argument, OPT_DB, FS_OPT_CONFIG},
	{"token-file", required_argument, OPT_TOKEN_FILE, FS_OPT_CONFIG},
	{"retention", required_argument, OPT_RETENTION, FS_OPT_CONFIG},
	{"minute-retention", required_argument, OPT_MINUTE_RETENTION, FS_OPT_CONFIG},
	{"rollup-retention", required_argument, OPT_ROLLUP_RETENTION, FS_OPT_CONFIG},
	{"max-frame", required_argument, OPT_MAX_FRAME, FS_OPT_CONFIG},
	{"max-conns", required_argument, OPT_MAX_CONNS, FS_OPT_CONFIG},
	{"max-conns-per-ip", required_argument, OPT_MAX_CONNS_PER_IP, FS_OPT_CONFIG},
	{"max-write-queue", required_argument, OPT_MAX_WRITE_QUEUE, FS_OPT_CONFIG},
	{"http-max-conns", required_argument, OPT_HTTP_MAX_CONNS, FS_OPT_CONFIG},
	{"http-timeout", required_argument, OPT_HTTP_TIMEOUT, FS_OPT_CONFIG},
	{"http-threads", required_argument, OPT_HTTP_THREADS, FS_OPT_CONFIG},
	{"handshake-timeout", required_argument, OPT_HANDSHAKE_TIMEOUT, FS_OPT_CONFIG},
	{"idle-timeout", required_argument, OPT_IDLE_TIMEOUT, FS_OPT_CONFIG},
	{"insecure", no_argument, OPT_INSECURE, FS_OPT_CONFIG},
	{"tls-cert", required_argument, OPT_TLS_CERT, FS_OPT_CONFIG},
	{"tls-key", required_argument, OPT_TLS_KEY, FS_OPT_CONFIG},
	{"tls-client-ca", required_argument, OPT_TLS_CLIENT_CA, FS_OPT_CONFIG},
	{"http-tls-cert", required_argument, OPT_HTTP_TLS_CERT, FS_OPT_CONFIG},
	{"http-tls-key", required_argument, OPT_HTTP_TLS_KEY, FS_OPT_CONFIG},
	{"web-lib", required_argument, OPT_WEB_LIB, FS_OPT_CONFIG},
};

static const char usage[] =
	"usage: fleetstat-collector [options]\n"
	"\n"
	"Takes reports from fleetstat agents, stores them in SQLite or PostgreSQL, acks\n"
	"each one only once it is committed.\n"
	"\n"
	"  --listen ADDR:PORT        ingest address (default 0.0.0.0:7400; [::]:7400 for IPv6)\n"
	"  --db FILE|URI             SQLite database file (default ./fleetstat.db), or a\n"
	"                            PostgreSQL URI (postgresql://...) or conninfo\n"
	"                            (host=... dbname=...), shared by several collectors\n"
	"  --token-file FILE         shared token agents must prove (mode 0600); off\n"
	"                            loopback, it or --tls-client-ca unless --insecure\n"
	"  --insecure                on a non-loopback address: take reports in clear (no\n"
	"                            TLS), from any agent (no token, no client certificate)\n"
	"  --tls-cert FILE           TLS on ingest: this collector's certificate (PEM, then\n"
	"                            its chain); TLS 1.3 preferred, 1.2 the least\n"
	"  --tls-key FILE            its private key (PEM, mode 0600)\n"
	"  --tls-client-ca FILE      require agents' certificates from this CA (mutual TLS)\n"
	"  --retention DUR           keep raw reports this long: 90s, 15m, 24h, 7d (default 7d);\n"
	"                            older reports are refused and pruned\n"
	"  --minute-retention DUR    keep per-minute rollups this long (default 31d)\n"
	"  --rollup-retention DUR    keep per-hour rollups this long (default 400d)\n"
	"  --max-frame BYTES         largest frame taken (default 1M)\n"
	"  --max-conns N             connections at once (default 10000)\n"
	"  --max-conns-per-ip N      connections at once from one address (default 256)\n"
	"  --max-write-queue BYTES   unsent bytes to a client (acks it does not read) before\n"
	"                            reading from it pauses (default 1M)\n"
	"  --handshake-timeout DUR   time for a client to send its Hello (default 10s)\n"
	"  --idle-timeout DUR        close a connection silent this long (default 5m)\n"
	"  --http ADDR:PORT|off      the read-only query API and /metrics (default\n"
	"                            127.0.0.1:7401)\n"
	"  --http-token-file FILE    bearer token HTTP clients must send (mode 0600);\n"
	"                            required for --http off loopback\n"
	"  --http-tls-cert FILE      serve the API over HTTPS with this certificate (PEM)\n"
	"  --http-tls-key FILE       and its private key (PEM, mode 0600)\n"
	"  --http-max-conns N        HTTP clients at once (default 64)\n"
	"  --http-timeout DUR        drop an HTTP client silent this long (default 10s)\n"
	"  --http-threads N          queries answered at once (default 2); never more than\n"
	"                            --http-max-conns\n"
	"  --web-lib DIR|off         the web view's charts at / (libjs-dygraphs; default\n"
	"                            " FS_WEB_LIB_DEFAULT ")\n"
	"  --config FILE             INI file, section [collector], keys as the flags\n"
	"                            with _ for - (token_file, max_frame, ...); flags win\n"
	"  --verbose, --version, --help\n";

/* Applies one setting, from a flag or the config file (fs_cli_t.apply). */
static void apply(void *ctx, int opt, const char *v, int from_flags)
{
	opts_t *o = ctx;

	(void)from_flags;
	switch (opt) {
	case OPT_CONFIG: break; /* read first, by fs_cli_parse() */
	case OPT_LISTEN: fs_cli_set_str(&o->listen, v); break;
	case OPT_HTTP: fs_cli_set_str(&o->http, v); break;
	case OPT_HTTP_TOKEN_FILE: fs_cli_set_str(&o->http_token_file, v); break;
	case OPT_DB: fs_cli_set_str(&o->db, v); break;
	case OPT_TOKEN_FILE: fs_cli_set_str(&o->token_file, v); break;
	case OPT_RETENTION: fs_cli_set_str(&o->retention, v); break;
	case OPT_MINUTE_RETENTION: fs_cli_set_str(&o->minute_retention, v); break;
	case OPT_ROLLUP_RETENTION: fs_cli_set_str(&o->rollup_retention, v); break;
	case OPT_MAX_FRAME: fs_cli_set_str(&o->max_frame, v); break;
	case OPT_MAX_CONNS: fs_cli_set_str(&o->max_conns, v); break;
	case OPT_MAX_CONNS_PER_IP: fs_cli_set_str(&o->max_conns_per_ip, v); break;
	case OPT_MAX_WRITE_QUEUE: fs_cli_set_str(&o->max_write_queue, v); break;
	case OPT_HTTP_MAX_CONNS: fs_cli_set_str(&o->http_max_conns, v); break;
	case OPT_HTTP_TIMEOUT: fs_cli_set_str(&o->http_timeout, v); break;
	case OPT_HTTP_THREADS: fs_cli_set_str(&o->http_threads, v); break;
	case OPT_HANDSHAKE_TIMEOUT: fs_cli_set_str(&o->handshake_timeout, v); break;
	case OPT_IDLE_TIMEOUT: fs_cli_set_str(&o->idle_timeout, v); break;
	case OPT_TLS_CERT: fs_cli_set_str(&o->tls_cert, v); break;
	case OPT_TLS_KEY: fs_cli_set_str(&o->tls_key, v); break;
	case OPT_TLS_CLIENT_CA: fs_cli_set_str(&o->tls_client_ca, v); break;
	case OPT_HTTP_TLS_CERT: fs_cli_set_str(&o->http_tls_cert, v); break;
	case OPT_HTTP_TLS_KEY: fs_cli_set_str(&o->http_tls_key, v); break;
	case OPT_WEB_LIB: fs_cli_set_str(&o->web_lib, v); break;
	case OPT_INSECURE:
		if (v && strcmp(v, "true") && strcmp(v, "yes") && strcmp(v, "1") &&
		    strcmp(v, "false") && strcmp(v, "no") && strcmp(v, "0"))
			fatalx("insecure: '%s' is not true or false", v);
		o->insecure = v == NULL || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1");
		break;
	}
}

/* [thresholds] and [suspects]: what the HTTP API's summary and suspects read. */
static int section_key(void *ctx, const char *section, const char *name, const char *value)
{
	opts_t *o = ctx;
	const char *why = NULL;
	int rc = col_qcfg_set(&o->q, section, name, value, &why);

	if (rc < 0)
		log_warnx("config: [%s] %s = %s: %s", section, name, value, why);
	return rc < 0 ? -1 : rc == 0;
}

static int64_t duration(const char *what, const char *v, int64_t dflt)
{
	int64_t ms;

	if (v == NULL)
		return dflt;
	if (col_parse_duration(v, &ms) < 0)
		fatalx("--%s: '%s' is not a duration like 90s, 15m, 24h or 7d", what, v);
	return ms;
}

/* A count or size flag (K, M, G allowed) within [lo, hi]; dflt when not given. */
static uint64_t bounded(const char *what, const char *v, uint64_t dflt, uint64_t lo, uint64_t hi,
                        const char *range)
{
	uint64_t n;

	if (v == NULL)
		return dflt;
	if (fs_parse_size(v, &n) < 0 || n < lo || n > hi)
		fatalx("--%s: '%s' is not %s", what, v, range);
	return n;
}

static void configure(const opts_t *o, col_config_t *cfg)
{
	bool loopback;

	memset(cfg, 0, sizeof(*cfg));
	if (col_parse_listen(o->listen ? o->listen : "0.0.0.0:7400", cfg->listen_host,
	                     sizeof(cfg->listen_host), &cfg->listen_port, &loopback) < 0)
		fatalx("--listen: '%s' is not ADDR:PORT (an IP address, [IPv6] or *)", o->listen);
	if (o->http == NULL || strcmp(o->http, "off") != 0) {
		const char *http = o->http ? o->http : "127.0.0.1:7401";
		bool lb;

		if (col_parse_listen(http, cfg->http_host, sizeof(cfg->http_host), &cfg->http_port,
		                     &lb) < 0)
			fatalx("--http: '%s' is not ADDR:PORT or off", http);
		if (o->http_token_file) {
			int err = fs_token_load(o->http_token_file, cfg->http_token,
			                        sizeof(cfg->http_token), &cfg->http_token_len);

			if (err < 0)
				fatalx("http token file %s: %s", o->http_token_file, fs_token_strerror(err));
		} else if (!lb) {
			fatalx("refusing to serve HTTP on %s without a bearer token: give "
			       "--http-token-file, or --http on a loopback address", cfg->http_host);
		}
		if ((o->http_tls_cert == NULL) != (o->http_tls_key == NULL))
			fatalx("HTTPS needs both --http-tls-cert and --http-tls-key");
		cfg->http_tls_cert = o->http_tls_cert;
		cfg->http_tls_key = o->http_tls_key;
		cfg->web_lib = o->web_lib == NULL ? FS_WEB_LIB_DEFAULT
		               : strcmp(o->web_lib, "off") == 0 ? NULL : o->web_lib;
		if (!lb && o->http_tls_cert == NULL)
			log_warnx("HTTP on %s in clear: the bearer token and the answers travel"
			          " unsealed (give --http-tls-cert and --http-tls-key)", cfg->http_host);
	}
	cfg->retention_ms = duration("retention", o->retention, 7 * 86400000LL);
	cfg->minute_retention_ms = duration("minute-retention", o->minute_retention,
	                                    31 * 86400000LL);
	cfg->rollup_retention_ms = duration("rollup-retention", o->rollup_retention,
	                                    400 * 86400000LL);
	if (o->minute_retention == NULL && cfg->minute_retention_ms < cfg->retention_ms)
		cfg->minute_retention_ms = cfg->retention_ms;
	if (o->rollup_retention == NULL && cfg->rollup_retention_ms < cfg->minute_retention_ms)
		cfg->rollup_retention_ms = cfg->minute_retention_ms;
	if (cfg->minute_retention_ms < cfg->retention_ms ||
	    cfg->rollup_retention_ms < cfg->minute_retention_ms)
		fatalx("retention: raw (--retention) <= minute rollups (--minute-retention) <= "
		       "hour rollups (--rollup-retention), so long trends never lose what short ones "
		       "show");
	cfg->handshake_timeout_ms = duration("handshake-timeout", o->handshake_timeout, 10000);
	cfg->idle_timeout_ms = duration("idle-timeout", o->idle_timeout, 300000);
	cfg->max_frame = (size_t)bounded("max-frame", o->max_frame, WIRE_MAX_FRAME, 1024, 64u << 20,
	                                 "a size from 1K to 64M");
	cfg->max_conns = (unsigned)bounded("max-conns", o->max_conns, 10000, 1, 1000000,
	                                   "a number from 1 to 1000000");
	cfg->max_conns_per_ip = (unsigned)bounded("max-conns-per-ip", o->max_conns_per_ip, 256, 1,
	                                          1000000, "a number from 1 to 1000000");
	cfg->http_max_conns = (unsigned)bounded("http-max-conns", o->http_max_conns, 64, 1, 10000,
	                                        "a number from 1 to 10000");
	cfg->http_threads = (unsigned)bounded("http-threads", o->http_threads, 2, 1, 64,
	                                      "a number from 1 to 64");
	if (cfg->http_threads > cfg->http_max_conns)
		fatalx("--http-threads %u is more than --http-max-conns %u: each thread needs a client",
		       cfg->http_threads, cfg->http_max_conns);
	cfg->http_timeout_s = (unsigned)(duration("http-timeout", o->http_timeout, 10000) / 1000);
	if (cfg->http_timeout_s == 0 || cfg->http_timeout_s > 86400)
		fatalx("--http-timeout: '%s' is not from 1s to 1d", o->http_timeout);
	cfg->max_write_queue = (size_t)bounded("max-write-queue", o->max_write_queue, 1u << 20, 4096,
	                                       1u << 30, "a size from 4K to 1G");
	if (o->token_file) {
		int err = fs_token_load(o->token_file, cfg->token, sizeof(cfg->token), &cfg->token_len);

		if (err < 0)
			fatalx("token file %s: %s", o->token_file, fs_token_strerror(err));
	}
	if (o->tls_cert || o->tls_key || o->tls_client_ca) {
		fs_tls_files_t f = {o->tls_cert, o->tls_key, o->tls_client_ca};
		char why[512];

		if (!o->tls_cert || !o->tls_key)
			fatalx("TLS on ingest needs both --tls-cert and --tls-key");
		if (fs_tls_ctx_new(true, &f, &cfg->tls, why, sizeof(why)) < 0)
			fatalx("TLS: %s", why);
		cfg->tls_mutual = o->tls_client_ca != NULL;
		cfg->tls_files = f;
	}
	/* Off loopback, agents are proven (a token, a client certificate) and reports sealed. */
	cfg->insecure = o->insecure;
	if (!loopback && !o->insecure && cfg->tls == NULL)
		fatalx("refusing to listen on %s in clear: give --tls-cert and --tls-key (deploy/"
		       "certs.sh makes them), or --insecure to let reports travel in clear",
		       cfg->listen_host);
	if (!loopback && !o->insecure && cfg->token_len == 0 && !cfg->tls_mutual)
		fatalx("refusing to listen on %s without a token: give --token-file or --tls-client-ca"
		       ", or --insecure to take any agent", cfg->listen_host);
}

static void opts_close(opts_t *o)
{
	char **all[] = {&o->listen, &o->http, &o->http_token_file, &o->db, &o->token_file,
	                &o->retention, &o->max_frame, &o->max_conns, &o->handshake_timeout, &o->idle_timeout,
	                &o->minute_retention, &o->rollup_retention, &o->max_conns_per_ip,
	                &o->max_write_queue, &o->http_max_conns, &o->http_timeout,
	                &o->http_threads, &o->tls_cert, &o->tls_key, &o->tls_client_ca,
	                &o->http_tls_cert, &o->http_tls_key, &o->web_lib};

	for (size_t i = 0; i < FS_ARRAY_SIZE(all); i++)
		free(*all[i]);
}

int main(int argc, char **argv)
{
	opts_t o = {0};
	fs_cli_t cli = {
		.prog = "fleetstat-collector",
		.section = "collector",
		.opts = options,
		.n_opts = FS_ARRAY_SIZE(options),
		.apply = apply,
		.section_key = section_key,
		.usage = usage,
		.ctx = &o,
	};
	col_config_t cfg;
	char why[256];
	db_t *db;
	int err;

	col_qcfg_init(&o.q);
	log_init("fleetstat-collector", LOG_LVL_INFO);
	if ((err = fs_cli_parse(&cli, argc, argv)) >= 0) {
		opts_close(&o);
		return err;
	}
	configure(&o, &cfg);
	cfg.thresholds = o.q.th;
	cfg.suspects = o.q.sus;
	cfg.db_path = o.db ? o.db : "fleetstat.db";
	if ((err = db_open(o.db ? o.db : "fleetstat.db", &db, why, sizeof(why))) < 0)
		fatalx("database %s", why);   /* why names the file */
	err = col_server_run(&cfg, db);
	db_close(db);
	fs_tls_ctx_free(cfg.tls);
	explicit_bzero(cfg.token, sizeof(cfg.token));
	explicit_bzero(cfg.http_token, sizeof(cfg.http_token));
	opts_close(&o);
	return err < 0 ? 1 : 0;
}
