/* SPDX-License-Identifier: MIT */
/* http.c: GET / (the web view), /api/v1/<query>, /metrics and /healthz on libmicrohttpd's threads. */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>

#include "buf.h"
#include "commands.h"
#include "httpauth.h"
#include "log.h"
#include "query.h"
#include "reader.h"
#include "tls.h"
#include "web.h"

#define API_PREFIX "/api/v1/"
#define MAX_IDLE_READERS 64

/* A libmicrohttpd daemon and the PEM text it was started with (HTTPS). */
typedef struct {
	struct MHD_Daemon *d;
	char *cert_pem, *key_pem;
	size_t key_len;
} daemon_t;

/* A page of the web view as made for a tier and window (key), kept PAGE_CACHE_MS. */
#define PAGE_CACHE_SLOTS 8
#define PAGE_CACHE_MS 10000
#define PAGE_KEY_LEN 224
typedef struct {
	char key[PAGE_KEY_LEN];
	int64_t at_ms;
	char *p;
	size_t len;
} page_slot_t;

/* Daemons a reload replaced, serving the requests they had until those end. */
#define MAX_RETIRED 8

struct col_http {
	daemon_t cur;
	daemon_t retired[MAX_RETIRED];
	size_t n_retired;
	unsigned flags;
	struct sockaddr_storage sa;
	col_http_config_t cfg;
	_Atomic uint64_t requests;
	/* Read-only connections between requests: a new one costs PostgreSQL a session. */
	pthread_mutex_t mu;
	db_reader_t *idle[MAX_IDLE_READERS];
	size_t n_idle, max_idle;
	/* The charting library's files (cfg.web_lib), read at start; NULL: not there. */
	char *lib_js, *lib_css;
	size_t lib_js_len, lib_css_len;
	/* Pages made lately (serve_page()), and the lock that makes one at a time. */
	pthread_mutex_t page_mu;
	page_slot_t pages[PAGE_CACHE_SLOTS];
};

/* The web view reloads itself this often. */
#define WEB_REFRESH_S 30
/* The page's policy: its own files only, nothing inline, no frames, no other origin. */
#define WEB_CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';" \
	" connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

/* TLS 1.3 preferred, 1.2 the least (GnuTLS's words: libmicrohttpd's TLS). */
#define HTTPS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* Stops d's daemon (if any) and wipes its key. */
static void daemon_end(daemon_t *d)
{
	if (d->d != NULL)
		MHD_stop_daemon(d->d);
	if (d->key_pem != NULL)
		explicit_bzero(d->key_pem, d->key_len);
	free(d->key_pem);
	free(d->cert_pem);
	memset(d, 0, sizeof(*d));
}

static void http_free(col_http_t *h)
{
	daemon_end(&h->cur);
	for (size_t i = 0; i < h->n_retired; i++)
		daemon_end(&h->retired[i]);
	pthread_mutex_destroy(&h->mu);
	pthread_mutex_destroy(&h->page_mu);
	for (size_t i = 0; i < PAGE_CACHE_SLOTS; i++)
		free(h->pages[i].p);
	free(h->lib_js);
	free(h->lib_css);
	free(h);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Queues r (released here) with its type and caching, no type sniffing, HTML under WEB_CSP. */
static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status,
                               struct MHD_Response *r, const char *type, const char *cache)
{
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", cache);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (strncmp(type, "text/html", 9) == 0)   /* the page, and any table as html */
		MHD_add_response_header(r, "Content-Security-Policy", WEB_CSP);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * Queues body (taken over; freed by libmicrohttpd) with status and type;
 * a summary's Nagios status (0..3) in a header when summary >= 0.
 */
static enum MHD_Result reply_full(struct MHD_Connection *conn, unsigned status, const char *type,
                                  fs_buf_t *body, int summary)
{
	struct MHD_Response *r;

	if (body->err) {
		fs_buf_close(body);
		return MHD_NO;
	}
	r = MHD_create_response_from_buffer(body->len, body->p, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		fs_buf_close(body);
		return MHD_NO;
	}
	if (summary >= 0) {
		char v[4] = {(char)('0' + summary), '\0'};

		MHD_add_response_header(r, "Fleetstat-Status", v);
	}
	return respond(conn, status, r, type, "no-store");
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             fs_buf_t *body)
{
	return reply_full(conn, status, type, body, -1);
}

static enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, const char *msg,
                                   const char *detail)
{
	fs_buf_t b = FS_BUF_INIT;
	char text[512];

	snprintf(text, sizeof(text), "%s%s%s", msg, detail ? ": " : "", detail ? detail : "");
	fs_buf_puts(&b, "{\"error\":");
	fs_buf_json_str(&b, text);
	fs_buf_puts(&b, "}\n");
	return reply(conn, status, "application/json", &b);
}

/* Whether the request carries the token (col_http_token_ok()), when one is required. */
static int authorized(const col_http_t *h, struct MHD_Connection *conn)
{
	return h->cfg.token_len == 0 ||
	       col_http_token_ok(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
	                         h->cfg.token, h->cfg.token_len);
}

/*
 * Without a token the API listens on loopback only; then it also answers
 * only requests named for loopback or its own address (Host), so that a web
 * page elsewhere cannot read it through a name it rebinds to 127.0.0.1.
 */
static bool host_ok(const col_http_t *h, struct MHD_Connection *conn)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host"), *port;
	char name[80], own[80];
	size_t n;

	if (h->cfg.token_len != 0 || v == NULL)   /* no Host: HTTP/1.0, no browser */
		return true;
	if (v[0] == '[')
		port = strchr(v, ']') ? strchr(v, ']') + 1 : NULL;
	else
		port = strchr(v, ':') ? strchr(v, ':') : v + strlen(v);
	if (port == NULL || (*port && (*port != ':' || atoi(port + 1) != h->cfg.port)) ||
	    (n = (size_t)(port - v)) >= sizeof(name))
		return false;
	memcpy(name, v, n);
	name[n] = '\0';
	snprintf(own, sizeof(own), strchr(h->cfg.host, ':') ? "[%s]" : "%s", h->cfg.host);
	return strcasecmp(name, "localhost") == 0 || strcmp(name, "127.0.0.1") == 0 ||
	       strcmp(name, "[::1]") == 0 || strcmp(name, own) == 0;
}

/*
 * 401: the API asks for a Bearer token; the web view's paths for Basic
 * credentials, whose password is the token, so that a browser asks for it.
 */
static enum MHD_Result reply_unauthorized(struct MHD_Connection *conn, bool browser)
{
	static const char bearer[] = "{\"error\":\"a bearer token is required\"}\n",
	                  basic[] = "{\"error\":\"the token is required (as the password)\"}\n";
	const char *body = browser ? basic : bearer;
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "WWW-Authenticate",
	                        browser ? "Basic realm=\"fleetstat\", charset=\"UTF-8\""
	                                : "Bearer realm=\"fleetstat\"");
	return respond(conn, MHD_HTTP_UNAUTHORIZED, r, "application/json", "no-store");
}

typedef struct {
	const col_cmd_t *cmd;
	col_qopts_t o;
	unsigned seen;   /* bit col_param_t: that parameter was given */
	char bad[300];   /* the first bad parameter, said back to the client */
} params_t;

static enum MHD_Result on_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
	params_t *p = cls;
	char why[200];
	int i;

	(void)kind;
	if (p->bad[0])
		return MHD_NO;
	if (value == NULL) {
		snprintf(p->bad, sizeof(p->bad), "%.64s: needs a value", key);
		return MHD_NO;
	}
	if ((i = col_param_find(key)) >= 0) {
		if (p->seen & (1u << i)) {
			snprintf(p->bad, sizeof(p->bad), "%s: given twice", key);
			return MHD_NO;
		}
		p->seen |= 1u << i;
	}
	if (col_cmd_set(p->cmd, &p->o, key, value, "", why, sizeof(why)) < 0)
		snprintf(p->bad, sizeof(p->bad), "%.64s: %s", key, why);
	return p->bad[0] ? MHD_NO : MHD_YES;
}

static const char *content_type(col_fmt_t f)
{
	switch (f) {
	case COL_FMT_CSV: return "text/csv; charset=utf-8";
	case COL_FMT_TABLE:
	case COL_FMT_IPSET: return "text/plain; charset=utf-8";
	case COL_FMT_HTML: return "text/html; charset=utf-8";
	default: return "application/json";
	}
}

/* ---- readers kept between requests ---- */

/* An idle reader, or a new one (*kept says which); NULL (logged) when none opens. */
static db_reader_t *reader_take(col_http_t *h, bool *kept)
{
	db_reader_t *rd = NULL;
	char err[512];

	pthread_mutex_lock(&h->mu);
	if (h->n_idle > 0)
		rd = h->idle[--h->n_idle];
	pthread_mutex_unlock(&h->mu);
	if ((*kept = rd != NULL))
		return rd;
	if (db_reader_open(h->cfg.db_path, &rd, err, sizeof(err)) < 0) {
		log_warnx("http: %s", err);
		return NULL;
	}
	return rd;
}

/* rd back among the idle, or closed when enough are. */
static void reader_give(col_http_t *h, db_reader_t *rd)
{
	pthread_mutex_lock(&h->mu);
	if (h->n_idle < h->max_idle) {
		h->idle[h->n_idle++] = rd;
		rd = NULL;
	}
	pthread_mutex_unlock(&h->mu);
	db_reader_close(rd);
}

/*
 * fn(rd, ctx) on a reader: a kept one, or a new one.  A kept reader whose
 * connection was lost meanwhile (PostgreSQL restarted) fails with
 * -ECONNRESET before it reads anything: fn runs again on the next, until one
 * is new.  fn's result, and in *rdp the reader for the caller to give back
 * or close; -ENOTCONN and NULL when none opens.
 */
static int with_reader(col_http_t *h, int (*fn)(db_reader_t *rd, void *ctx), void *ctx,
                       db_reader_t **rdp)
{
	bool kept;
	db_reader_t *rd = reader_take(h, &kept);
	int rc = -ENOTCONN;

	while (rd != NULL && (rc = fn(rd, ctx)) == -ECONNRESET && kept) {
		db_reader_close(rd);
		rd = reader_take(h, &kept);
		rc = -ENOTCONN;
	}
	*rdp = rd;
	return rc;
}

/*
 * After with_reader(): false when the answer in b may go out (rd given
 * back); true with the error queued in *ret when no database answered (503)
 * or the query failed (500, logged as what; rd closed, not kept), b freed.
 */
static bool reader_failed(col_http_t *h, struct MHD_Connection *conn, db_reader_t *rd, int rc,
                          const char *what, fs_buf_t *b, enum MHD_Result *ret)
{
	if (rd != NULL && rc >= 0) {
		reader_give(h, rd);
		return false;
	}
	fs_buf_close(b);
	if (rd == NULL) {
		*ret = reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "database unavailable", NULL);
		return true;
	}
	log_warnx("http: %s: %s", what, *db_reader_errmsg(rd) ? db_reader_errmsg(rd) : strerror(-rc));
	db_reader_close(rd);
	*ret = reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "query failed", NULL);
	return true;
}

typedef struct {
	params_t *p;
	const db_query_cfg_t *qcfg;
	fs_buf_t *b;
	const char *why;
} query_job_t;

static int run_query(db_reader_t *rd, void *ctx)
{
	query_job_t *q = ctx;

	fs_buf_reset(q->b);
	return db_query(rd, q->p->cmd->id, &q->p->o, q->qcfg, q->b, &q->why);
}

static enum MHD_Result serve_query(col_http_t *h, struct MHD_Connection *conn, const char *cmd)
{
	const db_query_cfg_t qcfg = {h->cfg.thresholds, h->cfg.suspects};
	fs_buf_t b = FS_BUF_INIT;
	db_reader_t *rd;
	params_t p = {.cmd = col_cmd_find(cmd), .bad = ""};
	query_job_t q = {&p, &qcfg, &b, NULL};
	const char *why;
	int rc;

	if (p.cmd == NULL)
		return reply_error(conn, MHD_HTTP_NOT_FOUND, "no such query", cmd);
	col_qopts_init(&p.o, now_ms());
	p.o.format = COL_FMT_JSON;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_param, &p);
	if (p.bad[0])
		return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad parameter", p.bad);
	rc = with_reader(h, run_query, &q, &rd);
	why = q.why;
	if (rd == NULL) {
		fs_buf_close(&b);
		return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "database unavailable", NULL);
	}
	if (rc < 0) {
		unsigned status = rc == -EINVAL && why ? MHD_HTTP_BAD_REQUEST
		                                        : MHD_HTTP_INTERNAL_SERVER_ERROR;

		if (status != MHD_HTTP_BAD_REQUEST)
			log_warnx("http: %s: %s", cmd, *db_reader_errmsg(rd) ? db_reader_errmsg(rd)
			                                                     : strerror(-rc));
		if (status == MHD_HTTP_BAD_REQUEST)
			reader_give(h, rd);
		else
			db_reader_close(rd);   /* whatever went wrong, not on the next request */
		fs_buf_close(&b);
		return reply_error(conn, status, status == MHD_HTTP_BAD_REQUEST ? "bad request"
		                                                                : "query failed", why);
	}
	reader_give(h, rd);
	/* A summary's status goes in a header too (the CLI's exit code). */
	return reply_full(conn, MHD_HTTP_OK, content_type(p.o.format), &b,
	                  p.cmd->id == COL_CMD_SUMMARY ? rc : -1);
}

typedef struct {
	const col_suspect_cfg_t *sus;
	fs_buf_t *out;
} metrics_job_t;

static int read_metrics(db_reader_t *rd, void *ctx)
{
	metrics_job_t *j = ctx;

	fs_buf_reset(j->out);
	return db_metrics(rd, j->sus, now_ms(), j->out);
}

/* The fleet's figures from the database, then the collector's own as they are now. */
static enum MHD_Result serve_metrics(col_http_t *h, struct MHD_Connection *conn)
{
	fs_buf_t b = FS_BUF_INIT;
	col_selfstats_t self = {0};
	metrics_job_t j = {h->cfg.suspects, &b};
	enum MHD_Result ret;
	db_reader_t *rd;
	int rc;

	rc = with_reader(h, read_metrics, &j, &rd);
	if (reader_failed(h, conn, rd, rc, "metrics", &b, &ret))
		return ret;
	h->cfg.selfstats(h->cfg.ctx, &self);
	self.http_requests = h->requests;
	col_metrics_self(&self, &b);
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &b);
}

/* ---- the web view ---- */

/* A file the collector serves as it is (no header but its type; cached a day). */
static enum MHD_Result reply_static(struct MHD_Connection *conn, const void *p, size_t len,
                                    const char *type)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(len, (void *)p, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	return respond(conn, MHD_HTTP_OK, r, type, "private, max-age=86400");
}

/* Only these names: nothing under /static/ reaches the file system at request time. */
static enum MHD_Result serve_static(col_http_t *h, struct MHD_Connection *conn, const char *name)
{
	static const char js[] = "application/javascript; charset=utf-8", css[] = "text/css; charset=utf-8";

	if (strcmp(name, "fleetstat.js") == 0)
		return reply_static(conn, col_web_js, col_web_js_len, js);
	if (strcmp(name, "fleetstat.css") == 0)
		return reply_static(conn, col_web_css, col_web_css_len, css);
	if (strcmp(name, "dygraph.min.js") == 0 && h->lib_js)
		return reply_static(conn, h->lib_js, h->lib_js_len, js);
	if (strcmp(name, "dygraph.min.css") == 0 && h->lib_css)
		return reply_static(conn, h->lib_css, h->lib_css_len, css);
	return reply_error(conn, MHD_HTTP_NOT_FOUND, "not found", name);
}

typedef struct {
	const db_query_cfg_t *qcfg;
	col_qopts_t o;       /* now_ms, tier, since_ms of the page */
	const char *since;   /* as asked */
	bool chart_lib;
	fs_buf_t *out;
} page_job_t;

/*
 * One query's answer in fmt into out, NUL-terminated.  A query the stored
 * data fails (a row that does not decode) costs its part of the page, which
 * then says why; a chart's trend is then an empty JSON object.  0 or a
 * negative errno (memory, the connection lost: the page fails).
 */
static int page_part(db_reader_t *rd, const page_job_t *j, col_cmd_id_t cmd, col_fmt_t fmt,
                     int state, int64_t since_ms, const char *tier, fs_buf_t *out)
{
	col_qopts_t o = j->o;
	const char *why;
	int rc;

	o.format = fmt;
	o.state = state;
	o.since_ms = since_ms;
	o.tier = tier;
	rc = db_query(rd, cmd, &o, j->qcfg, out, &why);
	if (rc < 0 && rc != -ENOMEM && rc != -ECONNRESET) {
		log_warnx("http: the web view: %s", *db_reader_errmsg(rd) ? db_reader_errmsg(rd)
		                                                          : strerror(-rc));
		fs_buf_reset(out);
		if (fmt == COL_FMT_JSON) {
			fs_buf_puts(out, "{}");
		} else {
			fs_buf_puts(out, "<p class=\"error\">This part could not be read: ");
			fs_buf_html_str(out, *db_reader_errmsg(rd) ? db_reader_errmsg(rd) : strerror(-rc));
			fs_buf_puts(out, " (the collector's log says more).</p>\n");
		}
		rc = 0;
	}
	fs_buf_add(out, "", 1);
	return rc < 0 ? rc : out->err;
}

/*
 * The page: summary, tiers, suspects over the window, top IPs now, and
 * each tier's (the page's tier's) states over the window for the charts.
 */
static int run_page(db_reader_t *rd, void *ctx)
{
	page_job_t *j = ctx;
	fs_buf_t part[4] = {FS_BUF_INIT, FS_BUF_INIT, FS_BUF_INIT, FS_BUF_INIT}, *tr = NULL;
	const char **trends = NULL;
	const char *const *charted;
	char **tiers = NULL;
	size_t nt = 0, nc, i;
	int err;

	fs_buf_reset(j->out);
	if ((err = db_reader_tiers(rd, &tiers, &nt)) < 0)
		return err;
	charted = j->o.tier ? &j->o.tier : (const char *const *)tiers;
	nc = j->o.tier ? 1 : nt < COL_WEB_MAX_CHARTS ? nt : COL_WEB_MAX_CHARTS;
	if ((tr = calloc(nc * COL_WEB_NSTATES + 1, sizeof(*tr))) == NULL ||
	    (trends = calloc(nc * COL_WEB_NSTATES + 1, sizeof(*trends))) == NULL) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = page_part(rd, j, COL_CMD_SUMMARY, COL_FMT_HTML, COL_STATE_TOTAL, j->o.since_ms,
	                     j->o.tier, &part[0])) < 0 ||
	    (err = page_part(rd, j, COL_CMD_TIERS, COL_FMT_HTML, COL_STATE_TOTAL, 0, j->o.tier,
	                     &part[1])) < 0 ||
	    (err = page_part(rd, j, COL_CMD_SUSPECTS, COL_FMT_HTML, COL_STATE_TOTAL, j->o.since_ms,
	                     j->o.tier, &part[2])) < 0 ||
	    (err = page_part(rd, j, COL_CMD_TOP_IPS, COL_FMT_HTML, COL_STATE_TOTAL, 0, j->o.tier,
	                     &part[3])) < 0)
		goto out;
	for (i = 0; i < nc * COL_WEB_NSTATES; i++) {
		if ((err = page_part(rd, j, COL_CMD_TREND, COL_FMT_JSON,
		                     col_web_states[i % COL_WEB_NSTATES], j->o.since_ms,
		                     charted[i / COL_WEB_NSTATES], &tr[i])) < 0)
			goto out;
		trends[i] = tr[i].p;
	}
	col_web_page_t p = {
		.tier = j->o.tier, .since = j->since,
		.refresh_s = WEB_REFRESH_S, .chart_lib = j->chart_lib,
		.tiers = (const char *const *)tiers, .n_tiers = nt,
		.summary = part[0].p, .tiers_table = part[1].p, .suspects = part[2].p,
		.top_ips = part[3].p, .charted = charted, .n_charted = nc, .trends = trends,
	};
	err = col_web_render(&p, j->out);
out:
	for (i = 0; i < 4; i++)
		fs_buf_close(&part[i]);
	for (i = 0; tr && i < nc * COL_WEB_NSTATES; i++)
		fs_buf_close(&tr[i]);
	free(tr);
	free(trends);
	db_reader_tiers_free(tiers, nt);
	return err;
}

typedef struct {
	const char *tier, *since;
	char bad[200];
} page_params_t;

static enum MHD_Result on_page_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
	page_params_t *p = cls;

	(void)kind;
	if (strcmp(key, "tier") != 0 && strcmp(key, "since") != 0)
		snprintf(p->bad, sizeof(p->bad), "%.64s: the page takes tier and since", key);
	else if (value == NULL)
		snprintf(p->bad, sizeof(p->bad), "%s: needs a value", key);
	else if (key[0] == 't')
		p->tier = *value ? value : NULL;
	else
		p->since = value;
	return p->bad[0] ? MHD_NO : MHD_YES;
}

/* Whether since is one of the windows the page offers (a longer one costs the page more). */
static bool web_window(const char *since)
{
	for (size_t i = 0; col_web_windows[i]; i++)
		if (strcmp(since, col_web_windows[i]) == 0)
			return true;
	return false;
}

/*
 * The page for key (its tier and window) made within PAGE_CACHE_MS, copied
 * into *p (new); false when there is none.  Called with page_mu held.
 */
static bool page_cached(col_http_t *h, const char *key, int64_t now, char **p, size_t *len)
{
	for (size_t i = 0; i < PAGE_CACHE_SLOTS; i++) {
		page_slot_t *c = &h->pages[i];

		if (c->p == NULL || strcmp(c->key, key) != 0 || now - c->at_ms >= PAGE_CACHE_MS)
			continue;
		if ((*p = malloc(c->len)) == NULL)
			return false;
		memcpy(*p, c->p, c->len);
		*len = c->len;
		return true;
	}
	return false;
}

/* Keeps a copy of the page for key in the oldest slot (none when memory is short). */
static void page_keep(col_http_t *h, const char *key, int64_t now, const fs_buf_t *b)
{
	page_slot_t *c = &h->pages[0];
	char *copy;

	for (size_t i = 1; i < PAGE_CACHE_SLOTS; i++)
		if (h->pages[i].at_ms < c->at_ms)
			c = &h->pages[i];
	if ((copy = malloc(b->len)) == NULL)
		return;
	memcpy(copy, b->p, b->len);
	free(c->p);
	snprintf(c->key, sizeof(c->key), "%s", key);
	c->p = copy;
	c->len = b->len;
	c->at_ms = now;
}

/*
 * GET /?tier=T&since=W.  One page is made at a time, and one made in the
 * last PAGE_CACHE_MS for the same tier and window is served again: open
 * tabs reloading cost the database one page per PAGE_CACHE_MS at most, and
 * leave the other threads to the API and /metrics.
 */
static enum MHD_Result serve_page(col_http_t *h, struct MHD_Connection *conn)
{
	const db_query_cfg_t qcfg = {h->cfg.thresholds, h->cfg.suspects};
	page_params_t pp = {NULL, "1h", ""};
	fs_buf_t b = FS_BUF_INIT;
	page_job_t j = {&qcfg, {0}, NULL, h->lib_js != NULL && h->lib_css != NULL, &b};
	struct MHD_Response *r;
	char key[PAGE_KEY_LEN];
	enum MHD_Result ret;
	const char *why;
	db_reader_t *rd;
	int64_t now = now_ms();
	int rc;

	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_page_param, &pp);
	if (pp.bad[0])
		return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad parameter", pp.bad);
	if (!web_window(pp.since))
		return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad parameter",
		                   "since: the page's windows are 5m, 15m, 1h, 6h, 24h and 7d");
	if (pp.tier && strlen(pp.tier) > 200)
		return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad parameter", "tier: too long");
	col_qopts_init(&j.o, now);
	if (col_qopts_set(&j.o, "since", pp.since, &why) < 0)
		return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad parameter", why);
	j.o.tier = pp.tier;
	j.since = pp.since;
	snprintf(key, sizeof(key), "%s\n%s", pp.since, pp.tier ? pp.tier : "");
	pthread_mutex_lock(&h->page_mu);
	if (page_cached(h, key, now, &b.p, &b.len)) {
		pthread_mutex_unlock(&h->page_mu);
		goto send;
	}
	rc = with_reader(h, run_page, &j, &rd);
	if (rc == 0 && rd != NULL)
		page_keep(h, key, now, &b);
	pthread_mutex_unlock(&h->page_mu);
	if (reader_failed(h, conn, rd, rc, "the web view", &b, &ret))
		return ret;
send:
	if (b.err || (r = MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_FREE)) == NULL) {
		fs_buf_close(&b);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	return respond(conn, MHD_HTTP_OK, r, "text/html; charset=utf-8", "no-store");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	col_http_t *h = cls;
	fs_buf_t b = FS_BUF_INIT;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	h->requests++;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: GET only", NULL);
	if (*upload_data_size != 0)
		return reply_error(conn, MHD_HTTP_BAD_REQUEST, "a GET has no body", NULL);
	if (strcmp(url, "/healthz") == 0) {
		fs_buf_puts(&b, "ok\n");
		return reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", &b);
	}
	if (!host_ok(h, conn))
		return reply_error(conn, MHD_HTTP_FORBIDDEN, "not a name of this collector",
		                   "without a token, ask for 127.0.0.1, localhost or [::1]");
	if (!authorized(h, conn))
		return reply_unauthorized(conn, strcmp(url, "/") == 0 || strncmp(url, "/static/", 8) == 0);
	if (strcmp(url, "/") == 0)
		return serve_page(h, conn);
	if (strncmp(url, "/static/", 8) == 0)
		return serve_static(h, conn, url + 8);
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(h, conn);
	if (strncmp(url, API_PREFIX, strlen(API_PREFIX)) == 0)
		return serve_query(h, conn, url + strlen(API_PREFIX));
	return reply_error(conn, MHD_HTTP_NOT_FOUND, "not found", "try /, /api/v1/tiers or /metrics");
}

/* The PEM files of cfg into d (HTTPS), the very bytes checked to be a certificate and its key. */
static int pems_load(const col_http_config_t *cfg, daemon_t *d, char *why, size_t whylen)
{
	size_t certlen;
	int err;

	if ((err = fs_tls_pem_load(cfg->tls_cert, false, &d->cert_pem, &certlen, why, whylen)) < 0 ||
	    (err = fs_tls_pem_load(cfg->tls_key, true, &d->key_pem, &d->key_len, why, whylen)) < 0 ||
	    (err = fs_tls_pem_check(d->cert_pem, certlen, d->key_pem, d->key_len, why, whylen)) < 0) {
		daemon_end(d);
		return err;
	}
	return 0;
}

/*
 * d's daemon on h's address.  Its socket shares the port (SO_REUSEPORT) so
 * that a reload's daemon can listen before the one it replaces stops.
 */
static int daemon_start(col_http_t *h, daemon_t *d)
{
	struct MHD_OptionItem o[6] = {{MHD_OPTION_END, 0, NULL}};
	size_t k = 0;

	o[k++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &h->sa};
	o[k++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL};
	if (d->cert_pem != NULL) {
		o[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, d->cert_pem};
		o[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, d->key_pem};
		o[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
		                                 (void *)HTTPS_PRIORITIES};
	}
	errno = 0;
	d->d = MHD_start_daemon(h->flags | (d->cert_pem ? MHD_USE_TLS : 0),
	                        (uint16_t)h->cfg.port, NULL, NULL, on_request, h,
	                        MHD_OPTION_THREAD_POOL_SIZE, h->cfg.threads ? h->cfg.threads : 1,
	                        MHD_OPTION_CONNECTION_LIMIT, h->cfg.max_conns,
	                        MHD_OPTION_CONNECTION_TIMEOUT, h->cfg.timeout_s,
	                        MHD_OPTION_ARRAY, o,
	                        MHD_OPTION_END);
	return d->d != NULL ? 0 : errno ? -errno : -EIO;
}

/* The whole of a small file (at most 4 MiB): new (free()), its length in *len; NULL: none. */
static char *file_read(const char *dir, const char *name, size_t *len)
{
	char path[4096], *p = NULL, *fit;
	ssize_t n = 0;
	size_t got = 0, cap = 4u << 20;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if ((p = malloc(cap)) != NULL)
		while (got < cap && ((n = read(fd, p + got, cap - got)) > 0 ||
		                     (n < 0 && errno == EINTR)))
			got += n > 0 ? (size_t)n : 0;
	close(fd);
	if (p == NULL || n < 0 || got == 0 || got == cap) {
		free(p);
		return NULL;
	}
	if ((fit = realloc(p, got)) != NULL)
		p = fit;
	*len = got;
	return p;
}

/* The charting library's two files, or neither (the page then has tables only, and says so). */
static void web_lib_load(col_http_t *h)
{
	if (h->cfg.web_lib == NULL)
		return;
	h->lib_js = file_read(h->cfg.web_lib, "dygraph.min.js", &h->lib_js_len);
	h->lib_css = file_read(h->cfg.web_lib, "dygraph.min.css", &h->lib_css_len);
	if (h->lib_js == NULL || h->lib_css == NULL) {
		log_warnx("http: no charting library in %s (Debian: apt-get install libjs-dygraphs):"
		          " the web view shows its tables without charts", h->cfg.web_lib);
		free(h->lib_js);
		free(h->lib_css);
		h->lib_js = h->lib_css = NULL;
	}
}

int col_http_start(const col_http_config_t *cfg, col_http_t **out, char *why, size_t whylen)
{
	struct sockaddr_in6 *a6;
	struct sockaddr_in *a4;
	col_http_t *h;
	int err;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	h->cfg = *cfg;
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->page_mu, NULL);
	/*
	 * ITC: a reload quiesces the daemon it replaces (MHD_quiesce_daemon).
	 * poll(), not epoll: quiescing an epoll pool races its threads over the
	 * listening socket; the API has a few dozen clients at most.
	 */
	h->flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC;
	a6 = (struct sockaddr_in6 *)&h->sa;
	a4 = (struct sockaddr_in *)&h->sa;
	if (strchr(cfg->host, ':')) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)cfg->port);
		if (inet_pton(AF_INET6, cfg->host, &a6->sin6_addr) != 1)
			goto bad_addr;
		h->flags |= MHD_USE_IPv6;
	} else {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)cfg->port);
		if (inet_pton(AF_INET, cfg->host, &a4->sin_addr) != 1)
			goto bad_addr;
	}
	h->max_idle = cfg->threads ? cfg->threads : 1;
	if (h->max_idle > MAX_IDLE_READERS)
		h->max_idle = MAX_IDLE_READERS;
	if (cfg->tls_cert != NULL && (err = pems_load(cfg, &h->cur, why, whylen)) < 0) {
		http_free(h);
		return err;
	}
	web_lib_load(h);
	if ((err = daemon_start(h, &h->cur)) < 0) {
		if (cfg->tls_cert != NULL && err == -EIO)
			snprintf(why, whylen, "cannot serve HTTPS on %s:%d with %s and %s", cfg->host,
			         cfg->port, cfg->tls_cert, cfg->tls_key);
		else
			snprintf(why, whylen, "cannot listen on %s:%d: %s", cfg->host, cfg->port,
			         strerror(-err));
		http_free(h);
		return err;
	}
	*out = h;
	return 0;
bad_addr:
	snprintf(why, whylen, "'%s' is not an IP address", cfg->host);
	http_free(h);
	return -EINVAL;
}

/* Retired daemons whose last request is over go (all of them when all is set). */
static void retired_reap(col_http_t *h, bool all)
{
	size_t k = 0;

	for (size_t i = 0; i < h->n_retired; i++) {
		const union MHD_DaemonInfo *info =
			MHD_get_daemon_info(h->retired[i].d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

		if (all || info == NULL || info->num_connections == 0)
			daemon_end(&h->retired[i]);
		else
			h->retired[k++] = h->retired[i];
	}
	h->n_retired = k;
}

int col_http_reload(col_http_t *h, char *why, size_t whylen)
{
	daemon_t d = {0};
	MHD_socket fd;
	int err;

	if (h->cfg.tls_cert == NULL)
		return 0;
	retired_reap(h, false);
	if ((err = pems_load(&h->cfg, &d, why, whylen)) < 0)
		return err;
	/* The new daemon listens beside the old one; if it cannot, nothing changed. */
	if ((err = daemon_start(h, &d)) < 0) {
		daemon_end(&d);
		snprintf(why, whylen, "cannot start the API with %s and %s: %s", h->cfg.tls_cert,
		         h->cfg.tls_key, err == -EIO ? "libmicrohttpd refused them" : strerror(-err));
		return err;
	}
	if (h->n_retired == MAX_RETIRED) {
		/* Requests that outlived MAX_RETIRED reloads: the oldest daemon's go. */
		daemon_end(&h->retired[0]);
		memmove(h->retired, h->retired + 1, --h->n_retired * sizeof(h->retired[0]));
	}
	/* The old one stops listening (its socket is ours to close) and ends its requests. */
	if ((fd = MHD_quiesce_daemon(h->cur.d)) != MHD_INVALID_SOCKET)
		close(fd);
	h->retired[h->n_retired++] = h->cur;
	h->cur = d;
	return 1;
}

void col_http_stop(col_http_t *h)
{
	if (h == NULL)
		return;
	/* The daemons first: no request may still hold a reader. */
	retired_reap(h, true);
	if (h->cur.d != NULL)
		MHD_stop_daemon(h->cur.d);
	h->cur.d = NULL;
	while (h->n_idle > 0)
		db_reader_close(h->idle[--h->n_idle]);
	http_free(h);
}
