/* SPDX-License-Identifier: MIT */
/* http.c: GET /api/v1/<query>, /metrics and /healthz on libmicrohttpd's threads. */
#include "http.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "commands.h"
#include "log.h"
#include "query.h"
#include "reader.h"
#include "tls.h"

#define API_PREFIX "/api/v1/"
#define MAX_IDLE_READERS 64

/* A libmicrohttpd daemon and the PEM text it was started with (HTTPS). */
typedef struct {
	struct MHD_Daemon *d;
	char *cert_pem, *key_pem;
	size_t key_len;
} daemon_t;

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
};

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
	free(h);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Queues body (taken over; freed by libmicrohttpd) with status and type;
 * a summary's Nagios status (0..3) in a header when summary >= 0.
 */
static enum MHD_Result reply_full(struct MHD_Connection *conn, unsigned status, const char *type,
                                  fs_buf_t *body, int summary)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (body->err) {
		fs_buf_close(body);
		return MHD_NO;
	}
	r = MHD_create_response_from_buffer(body->len, body->p, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		fs_buf_close(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (summary >= 0) {
		char v[4] = {(char)('0' + summary), '\0'};

		MHD_add_response_header(r, "Fleetstat-Status", v);
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
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

/* Whether the request carries "Authorization: Bearer <token>", compared in constant time. */
static int authorized(const col_http_t *h, struct MHD_Connection *conn)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	size_t len;

	if (h->cfg.token_len == 0)
		return 1;
	if (v == NULL || strncmp(v, "Bearer ", 7) != 0)
		return 0;
	v += 7;
	len = strlen(v);
	return len == h->cfg.token_len && CRYPTO_memcmp(v, h->cfg.token, len) == 0;
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
	const col_selfstats_t *self;
	fs_buf_t *out;
} metrics_job_t;

static int read_metrics(db_reader_t *rd, void *ctx)
{
	metrics_job_t *j = ctx;

	fs_buf_reset(j->out);
	return db_metrics(rd, j->sus, j->self, now_ms(), j->out);
}

static enum MHD_Result serve_metrics(col_http_t *h, struct MHD_Connection *conn)
{
	fs_buf_t b = FS_BUF_INIT;
	col_selfstats_t self = {0};
	metrics_job_t j = {h->cfg.suspects, &self, &b};
	db_reader_t *rd;
	int rc;

	h->cfg.selfstats(h->cfg.ctx, &self);
	self.http_requests = h->requests;
	rc = with_reader(h, read_metrics, &j, &rd);
	if (rd == NULL) {
		fs_buf_close(&b);
		return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "database unavailable", NULL);
	}
	if (rc < 0) {
		log_warnx("http: metrics: %s", rc == -ENOMEM ? "out of memory" : db_reader_errmsg(rd));
		db_reader_close(rd);
		fs_buf_close(&b);
		return reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "query failed", NULL);
	}
	reader_give(h, rd);
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &b);
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
	if (!authorized(h, conn))
		return reply_error(conn, MHD_HTTP_UNAUTHORIZED, "a bearer token is required", NULL);
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(h, conn);
	if (strncmp(url, API_PREFIX, strlen(API_PREFIX)) == 0)
		return serve_query(h, conn, url + strlen(API_PREFIX));
	return reply_error(conn, MHD_HTTP_NOT_FOUND, "not found", "try /api/v1/tiers or /metrics");
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
