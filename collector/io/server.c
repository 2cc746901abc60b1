/* SPDX-License-Identifier: MIT */
/* server.c: agents' connections: challenge, hello, reports, acks after commit. */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "check.h"
#include "http.h"
#include "log.h"
#include "util.h"
#include "wire.h"
#include "writer.h"

/* Reports a connection may have queued for storage before we stop reading it. */
#define CONN_INFLIGHT_MAX 256
/* How often the ended hours' IP rollups are built (more at once while they lag). */
#define HOURS_EVERY_MS (30 * 1000)
/* How often old reports are pruned. */
#define PRUNE_EVERY_MS (10 * 60 * 1000)

enum { ST_HELLO, ST_WELCOMING, ST_READY, ST_CLOSING };
enum { PAUSE_INFLIGHT = 1, PAUSE_WRITEQ = 2 };

typedef struct col_srv col_srv_t;

/* Connections from one source address: an open-addressing table, zero counts kept till it grows. */
typedef struct {
	uint8_t len;
	uint8_t b[16];
	unsigned n;
} ipcount_t;

typedef struct col_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;       /* handshake, then idle */
	uv_shutdown_t shut;
	col_srv_t *srv;
	struct col_conn *prev, *next;
	int state;
	int handles;            /* open handles: freed when 0 and refs is 0 */
	int refs;               /* writer jobs that will come back to us */
	int paused;             /* PAUSE_* reasons for not reading */
	unsigned inflight;
	uint8_t nonce[WIRE_NONCE_LEN];
	uint8_t agent_id[WIRE_AGENT_ID_LEN];
	char peer[64];          /* "addr:port" */
	uint8_t alen, addr[16]; /* the source address (IPv4-mapped as IPv4); alen 0: unknown */
	char name[160];         /* peer, then "peer agent HEX (hostname)": for the log */
	wire_dec_t dec;
	fs_tls_t *tls;          /* the TLS session (NULL: plaintext) */
	bool tls_up;            /* its handshake is done */
	bool got_bytes;         /* the client's first bytes came */
	bool silent_checked;    /* TLS: whether it said anything was looked at */
	uint64_t last_seq;      /* the agent's highest stored seq at Welcome */
	uint64_t high_seq;      /* highest seq received on this connection */
	uint64_t acked;
} col_conn_t;

struct col_srv {
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_signal_t sigterm, sigint, sighup;
	fs_tls_ctx_t *tls;       /* for new connections: cfg->tls, or what SIGHUP loaded since */
	uv_timer_t prune;
	uv_timer_t hours;
	const col_config_t *cfg;
	col_writer_t *writer;
	col_conn_t *conns;
	unsigned nconns;
	struct {
		ipcount_t *v;
		size_t cap, used;
	} ips;
	int stopping;
	uint8_t rbuf[64 * 1024];
	uint8_t pbuf[64 * 1024];   /* plaintext out of a TLS session */
	/* Counted on the loop's thread, read by the HTTP threads for /metrics. */
	struct {
		_Atomic uint64_t accepted, open, frames, reports, rejected;
		_Atomic uint64_t by_reason[COL_NREASONS];
		_Atomic uint64_t http_requests;
	} st;
	col_http_t *http;
};

typedef struct {
	uv_write_t req;
	uint8_t *data;
} wreq_t;

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void conn_resume(col_conn_t *c, int why);

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_free_if_done(col_conn_t *c)
{
	if (c->handles > 0 || c->refs > 0)
		return;
	wire_dec_close(&c->dec);
	fs_tls_free(c->tls);
	free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
	col_conn_t *c = h->data;

	c->handles--;
	conn_free_if_done(c);
}

static size_t ip_hash(const uint8_t *b, uint8_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (uint8_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

/* The entry of address (b, len), or the empty slot where it would go. */
static ipcount_t *ip_slot(ipcount_t *v, size_t cap, const uint8_t *b, uint8_t len)
{
	for (size_t i = ip_hash(b, len) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (v[i].len == 0 || (v[i].len == len && memcmp(v[i].b, b, len) == 0))
			return &v[i];
}

/* Counts one more connection from the address: its count now, 0 when out of memory. */
static unsigned ip_up(col_srv_t *s, const uint8_t *b, uint8_t len)
{
	ipcount_t *e;

	if (2 * (s->ips.used + 1) > s->ips.cap) {
		size_t live = 0, cap = 64;
		ipcount_t *v;

		for (size_t i = 0; i < s->ips.cap; i++)
			live += s->ips.v[i].len && s->ips.v[i].n;
		while (cap < 4 * (live + 1))
			cap *= 2;
		if ((v = calloc(cap, sizeof(*v))) == NULL)
			return 0;
		for (size_t i = 0; i < s->ips.cap; i++)
			if (s->ips.v[i].len && s->ips.v[i].n)
				*ip_slot(v, cap, s->ips.v[i].b, s->ips.v[i].len) = s->ips.v[i];
		free(s->ips.v);
		s->ips.v = v;
		s->ips.cap = cap;
		s->ips.used = live;
	}
	e = ip_slot(s->ips.v, s->ips.cap, b, len);
	if (e->len == 0) {
		e->len = len;
		memcpy(e->b, b, len);
		e->n = 0;
		s->ips.used++;
	}
	return ++e->n;
}

static void ip_down(col_srv_t *s, const uint8_t *b, uint8_t len)
{
	ipcount_t *e;

	if (len == 0 || s->ips.cap == 0)
		return;
	e = ip_slot(s->ips.v, s->ips.cap, b, len);
	if (e->len && e->n)
		e->n--;
}

static void conn_unlink(col_conn_t *c)
{
	col_srv_t *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	s->nconns--;
	s->st.open--;
	ip_down(s, c->addr, c->alen);
}

static void close_handles(col_conn_t *c)
{
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status; /* closing either way */
	close_handles(container_of(req, col_conn_t, shut));
}

static int conn_flush_tls(col_conn_t *c);

/* Closes after what was written has gone out (the Error frame, the last acks, TLS's goodbye). */
static void conn_close(col_conn_t *c)
{
	if (c->state == ST_CLOSING)
		return;
	if (c->tls != NULL) {
		fs_tls_close(c->tls);
		conn_flush_tls(c);
	}
	c->state = ST_CLOSING;
	conn_unlink(c);
	uv_timer_stop(&c->timer);
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
		close_handles(c);
}

static void on_write(uv_write_t *req, int status)
{
	wreq_t *w = container_of(req, wreq_t, req);
	col_conn_t *c = req->data;

	free(w->data);
	free(w);
	if (status == UV_ECANCELED || c->state == ST_CLOSING)
		return;
	if (status < 0) {
		log_debug("col: %s: write: %s", c->name, uv_strerror(status));
		conn_close(c);
		return;
	}
	/* Reading resumes once the client has taken three quarters of its backlog. */
	if ((c->paused & PAUSE_WRITEQ) &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < c->srv->cfg->max_write_queue / 4)
		conn_resume(c, PAUSE_WRITEQ);
}

static void conn_pause(col_conn_t *c, int why)
{
	if (c->paused == 0)
		uv_read_stop((uv_stream_t *)&c->tcp);
	c->paused |= why;
}

static void conn_resume(col_conn_t *c, int why)
{
	if (!(c->paused & why))
		return;
	c->paused &= ~why;
	if (c->paused == 0 && c->state != ST_CLOSING && !c->srv->stopping)
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* Writes data (len bytes, malloc'd: taken over) to the socket. */
static int conn_write(col_conn_t *c, uint8_t *data, size_t len)
{
	wreq_t *w;
	uv_buf_t b;
	int err;

	if ((w = malloc(sizeof(*w))) == NULL) {
		free(data);
		return -ENOMEM;
	}
	w->data = data;
	w->req.data = c;
	b = uv_buf_init((char *)w->data, (unsigned)len);
	if ((err = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write)) < 0) {
		free(w->data);
		free(w);
		return err;
	}
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > c->srv->cfg->max_write_queue)
		conn_pause(c, PAUSE_WRITEQ);
	return 0;
}

/* What the TLS session has for the peer (records, handshake messages, alerts), written. */
static int conn_flush_tls(col_conn_t *c)
{
	size_t n;

	while ((n = fs_tls_pending(c->tls)) > 0) {
		uint8_t *data = malloc(n);
		int err;

		if (data == NULL)
			return -ENOMEM;
		n = fs_tls_take(c->tls, data, n);
		if ((err = conn_write(c, data, n)) < 0)
			return err;
	}
	return 0;
}

static int conn_send(col_conn_t *c, const wire_frame_t *f)
{
	uint8_t *data;
	size_t len;
	int err;

	if ((err = wire_frame_encode(f, c->srv->cfg->max_frame, &data, &len)) < 0)
		return err;
	if (c->tls == NULL)
		return conn_write(c, data, len);
	/* Before the handshake ends (the Challenge) it waits in the session. */
	err = fs_tls_write(c->tls, data, len);
	free(data);
	return err < 0 ? err : conn_flush_tls(c);
}

/* Refuses the client with an Error frame, logs why, and closes. */
static void conn_reject(col_conn_t *c, wire_errcode_t code, const char *why)
{
	wire_frame_t f = {.type = WIRE_ERROR};

	c->srv->st.rejected++;
	c->srv->st.by_reason[code < COL_NREASONS ? code : 0]++;
	f.error.code = code;
	f.error.message = (char *)why;
	log_info("col: %s: %s; closing", c->name, why);
	conn_send(c, &f);
	conn_close(c);
}

/*
 * A TLS client speaks first (its ClientHello); one that said nothing for this
 * long is told in clear, as a plaintext agent reads it, and closed.
 */
#define TLS_SILENT_MS 5000

static void on_timeout(uv_timer_t *t)
{
	col_conn_t *c = container_of(t, col_conn_t, timer);

	if (c->tls != NULL && !c->silent_checked) {
		const col_config_t *cfg = c->srv->cfg;
		wire_frame_t f = {.type = WIRE_ERROR};
		uint8_t *data;
		size_t len;

		c->silent_checked = true;
		f.error.code = WIRE_ERR_BAD_PROTOCOL;
		f.error.message = "this collector speaks TLS: give the agent --tls-ca";
		c->srv->st.rejected++;
		c->srv->st.by_reason[WIRE_ERR_BAD_PROTOCOL]++;
		log_info("col: %s: sent nothing in %d s on a TLS listener (a plaintext agent?); told"
		         " it in clear, closing", c->name, TLS_SILENT_MS / 1000);
		if (wire_frame_encode(&f, cfg->max_frame, &data, &len) == 0)
			conn_write(c, data, len);
		conn_close(c);
		return;
	}
	if (c->tls != NULL && !c->tls_up)
		conn_reject(c, WIRE_ERR_BAD_PROTOCOL, "no TLS handshake within the handshake timeout"
		                                      " (a plaintext agent?)");
	else if (c->state == ST_HELLO || c->state == ST_WELCOMING)
		conn_reject(c, WIRE_ERR_BAD_PROTOCOL, "no Hello within the handshake timeout");
	else
		conn_reject(c, WIRE_ERR_BAD_PROTOCOL, "idle for longer than the idle timeout");
}

static void hex16(const uint8_t *b, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (int i = 0; i < 16; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[32] = '\0';
}

static void handle_hello(col_conn_t *c, wire_frame_t *f)
{
	const col_config_t *cfg = c->srv->cfg;
	char hex[33];
	col_job_t *j;

	hex16(f->hello.agent_id, hex);
	snprintf(c->name, sizeof(c->name), "%s agent %.12s (%.48s)", c->peer, hex,
	         f->hello.hostname);
	if (f->hello.protocol != WIRE_PROTOCOL) {
		conn_reject(c, WIRE_ERR_BAD_PROTOCOL, "unsupported protocol version");
		return;
	}
	if (cfg->token_len) {
		uint8_t want[WIRE_AUTH_LEN];

		if (f->hello.auth_len != WIRE_AUTH_LEN ||
		    wire_auth_compute(cfg->token, cfg->token_len, c->nonce,
		                      f->hello.agent_id, want) < 0 ||
		    !wire_auth_equal(want, f->hello.auth)) {
			conn_reject(c, WIRE_ERR_AUTH_FAILED, "authentication failed (wrong or no token)");
			return;
		}
	}
	if ((j = col_job_new(COL_JOB_HELLO)) == NULL) {
		conn_reject(c, WIRE_ERR_INTERNAL, "out of memory");
		return;
	}
	memcpy(c->agent_id, f->hello.agent_id, WIRE_AGENT_ID_LEN);
	memcpy(j->agent_id, f->hello.agent_id, WIRE_AGENT_ID_LEN);
	j->hello = f->hello; /* taken over */
	memset(&f->hello, 0, sizeof(f->hello));
	f->type = WIRE_NONE;
	j->owner = c;
	j->now_ms = now_ms();
	if (c->tls != NULL)
		fs_tls_peer(c->tls, j->cert_subject, sizeof(j->cert_subject), j->cert_sha256);
	c->refs++;
	c->state = ST_WELCOMING;
	col_writer_push(c->srv->writer, j);
}

static void send_ack(col_conn_t *c, uint64_t seq)
{
	wire_frame_t a = {.type = WIRE_ACK};

	if (seq <= c->acked)
		return;
	c->acked = seq;
	a.ack.seq = seq;
	if (conn_send(c, &a) < 0)
		conn_close(c);
}

static void handle_report(col_conn_t *c, wire_frame_t *f)
{
	const char *why;
	uint64_t seq = f->report.seq;
	int64_t now = now_ms();
	col_job_t *j;

	if (seq <= c->high_seq) {
		conn_reject(c, WIRE_ERR_INVALID, "seq going backwards");
		return;
	}
	c->high_seq = seq;
	if (seq <= c->last_seq) {
		send_ack(c, seq); /* stored before: a resend */
		return;
	}
	if (col_report_check(&f->report, now, c->srv->cfg->retention_ms, &why) < 0) {
		conn_reject(c, WIRE_ERR_INVALID, why);
		return;
	}
	if ((j = col_job_new(COL_JOB_REPORT)) == NULL) {
		conn_reject(c, WIRE_ERR_INTERNAL, "out of memory");
		return;
	}
	memcpy(j->agent_id, c->agent_id, WIRE_AGENT_ID_LEN);
	j->report = f->report; /* taken over */
	memset(&f->report, 0, sizeof(f->report));
	f->type = WIRE_NONE;
	j->owner = c;
	j->now_ms = now;
	c->refs++;
	c->srv->st.reports++;
	if (++c->inflight >= CONN_INFLIGHT_MAX)
		conn_pause(c, PAUSE_INFLIGHT);
	col_writer_push(c->srv->writer, j);
}

static void handle_frame(col_conn_t *c, const uint8_t *body, size_t len)
{
	wire_frame_t f;
	int err;

	c->srv->st.frames++;
	if ((err = wire_frame_decode(body, len, &f)) < 0) {
		conn_reject(c, err == -EINVAL ? WIRE_ERR_INVALID :
		               err == -ENOMEM ? WIRE_ERR_INTERNAL : WIRE_ERR_BAD_FRAME,
		            err == -EINVAL ? "invalid field in frame" :
		            err == -ENOMEM ? "out of memory" : "not a fleetstat frame");
		return;
	}
	uv_timer_again(&c->timer);
	if (c->state == ST_HELLO && f.type == WIRE_HELLO)
		handle_hello(c, &f);
	else if (c->state == ST_READY && f.type == WIRE_REPORT)
		handle_report(c, &f);
	else
		conn_reject(c, WIRE_ERR_BAD_PROTOCOL, c->state == ST_READY ?
		            "unexpected frame type" : "expected Hello first, then Welcome");
	wire_frame_close(&f);
}

/* wire_dec_read()'s callback: a frame came; stop when the connection closes. */
static int on_frame(void *ctx, const uint8_t *body, size_t len)
{
	col_conn_t *c = ctx;

	handle_frame(c, body, len);
	return c->state == ST_CLOSING;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	col_conn_t *c = h->data;

	(void)hint;
	*buf = uv_buf_init((char *)c->srv->rbuf, sizeof(c->srv->rbuf));
}

/* The handshake just ended: who the peer is, for the log. */
static void tls_up(col_conn_t *c)
{
	char subject[256], sha[65];

	c->tls_up = true;
	if (fs_tls_peer(c->tls, subject, sizeof(subject), sha) == 0)
		log_debug("col: %s: %s, certificate %s (sha256 %s)", c->name, fs_tls_version(c->tls),
		          subject, sha);
	else
		log_debug("col: %s: %s", c->name, fs_tls_version(c->tls));
}

/* fs_tls_feed()'s callback: plaintext to the frame reader; stop once the connection closes. */
static int on_plain(void *ctx, const void *p, size_t n)
{
	col_conn_t *c = ctx;
	int err;

	if (!c->tls_up)
		tls_up(c);   /* plaintext came: the handshake is done */
	if ((err = wire_dec_read(&c->dec, p, n, on_frame, c)) < 0)
		conn_reject(c, WIRE_ERR_BAD_FRAME, wire_dec_strerror(err));
	return c->state == ST_CLOSING;
}

/* Bytes of a TLS connection: their plaintext to the frame reader, the session's answers out. */
static void on_read_tls(col_conn_t *c, const uint8_t *p, size_t n)
{
	col_srv_t *s = c->srv;
	int r;

	if (n > 0 && !c->got_bytes) {
		c->got_bytes = true;
		if (!c->silent_checked) {
			/* It speaks: the rest of the handshake timeout, as for any client. */
			c->silent_checked = true;
			uv_timer_start(&c->timer, on_timeout, (uint64_t)c->srv->cfg->handshake_timeout_ms,
			               (uint64_t)c->srv->cfg->idle_timeout_ms);
		}
	}
	r = fs_tls_feed(c->tls, p, n, s->pbuf, sizeof(s->pbuf), on_plain, c);

	if (r == 1)
		return;
	if (r == FS_TLS_CLOSED) {
		if (wire_dec_pending(&c->dec))
			log_info("col: %s: closed in the middle of a frame", c->name);
		conn_close(c);
		return;
	}
	if (r == -ENOMEM) {
		conn_reject(c, WIRE_ERR_INTERNAL, "out of memory");
		return;
	}
	if (r < 0) {
		/* Refused or broken: its alert goes out, nothing it sent is read. */
		s->st.rejected++;
		s->st.by_reason[WIRE_ERR_AUTH_FAILED]++;
		log_info("col: %s: %s; closing", c->name, fs_tls_error(c->tls));
		conn_close(c);
		return;
	}
	if (!c->tls_up && fs_tls_handshake(c->tls) == 1)
		tls_up(c);
	if (conn_flush_tls(c) < 0)
		conn_close(c);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	col_conn_t *c = stream->data;
	const uint8_t *p = (const uint8_t *)buf->base;
	int err;

	if (nread < 0) {
		if (nread != UV_EOF)
			log_debug("col: %s: read: %s", c->name, uv_strerror((int)nread));
		else if (wire_dec_pending(&c->dec))
			log_info("col: %s: closed in the middle of a frame", c->name);
		conn_close(c);
		return;
	}
	if (c->tls != NULL) {
		if (c->state != ST_CLOSING)
			on_read_tls(c, p, (size_t)nread);
		return;
	}
	if (c->state == ST_CLOSING)
		return;
	if (!c->got_bytes && nread > 0 && fs_tls_record_start(p, (size_t)nread)) {
		conn_reject(c, WIRE_ERR_BAD_PROTOCOL, "a TLS handshake on a plaintext listener (the"
		            " agent has --tls-ca; give this collector --tls-cert and --tls-key)");
		return;
	}
	c->got_bytes |= nread > 0;
	if ((err = wire_dec_read(&c->dec, p, (size_t)nread, on_frame, c)) < 0)
		conn_reject(c, WIRE_ERR_BAD_FRAME, wire_dec_strerror(err));
}

static void on_connection(uv_stream_t *server, int status)
{
	col_srv_t *s = server->data;
	wire_frame_t ch = {.type = WIRE_CHALLENGE};
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	uint8_t alen = 0;
	col_conn_t *c;

	if (status < 0) {
		log_warnx("col: accept: %s", uv_strerror(status));
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("col: accept: out of memory");
		return;
	}
	c->srv = s;
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles = 2;
	wire_dec_init(&c->dec, s->cfg->max_frame);
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		close_handles(c);
		return;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	s->st.open++;
	s->st.accepted++;
	strcpy(c->peer, "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) == 0) {
		int port;

		if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

			uv_ip6_name(a, host, sizeof(host));
			port = ntohs(a->sin6_port);
			alen = IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) ? 4 : 16;
			memcpy(c->addr, a->sin6_addr.s6_addr + (alen == 4 ? 12 : 0), alen);
		} else {
			const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

			uv_ip4_name(a, host, sizeof(host));
			port = ntohs(a->sin_port);
			alen = 4;
			memcpy(c->addr, &a->sin_addr, 4);
		}
		snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
	}
	memcpy(c->name, c->peer, sizeof(c->peer));
	uv_tcp_nodelay(&c->tcp, 1);
	if (s->nconns > s->cfg->max_conns) {
		conn_reject(c, WIRE_ERR_OVERLOADED, "too many connections");
		return;
	}
	if (alen) {
		unsigned n = ip_up(s, c->addr, alen);

		if (n == 0) {
			conn_reject(c, WIRE_ERR_INTERNAL, "out of memory");
			return;
		}
		c->alen = alen;   /* counted: conn_unlink() takes it back */
		if (n > s->cfg->max_conns_per_ip) {
			conn_reject(c, WIRE_ERR_OVERLOADED, "too many connections from this address");
			return;
		}
	}
	if (s->tls != NULL && fs_tls_new(s->tls, NULL, &c->tls) < 0) {
		conn_reject(c, WIRE_ERR_INTERNAL, "out of memory");
		return;
	}
	ch.challenge.protocol = WIRE_PROTOCOL;
	if (uv_random(NULL, NULL, c->nonce, sizeof(c->nonce), 0, NULL) < 0) {
		conn_reject(c, WIRE_ERR_INTERNAL, "no randomness for the challenge");
		return;
	}
	memcpy(ch.challenge.nonce, c->nonce, sizeof(c->nonce));
	c->silent_checked = c->tls == NULL || s->cfg->handshake_timeout_ms <= TLS_SILENT_MS;
	uv_timer_start(&c->timer, on_timeout,
	               (uint64_t)(c->silent_checked ? s->cfg->handshake_timeout_ms : TLS_SILENT_MS),
	               (uint64_t)s->cfg->idle_timeout_ms);
	if (conn_send(c, &ch) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		conn_close(c);
}

static void push_hours(col_srv_t *s)
{
	col_job_t *j;

	if (s->writer == NULL || s->stopping || (j = col_job_new(COL_JOB_HOURS)) == NULL)
		return;
	j->now_ms = now_ms();
	col_writer_push(s->writer, j);
}

static void on_hours(uv_timer_t *t)
{
	push_hours(container_of(t, col_srv_t, hours));
}

/* A job came back from the writer, committed (or given up at shutdown). */
static void on_job_done(void *ctx, col_job_t *j)
{
	col_srv_t *s = ctx;
	col_conn_t *c = j->owner;

	if (j->type == COL_JOB_HOURS) {
		bool more = j->err == 0 && j->built == COL_HOURS_PER_JOB && !s->stopping;

		if (j->err < 0)
			log_warnx("col: building the hours of IP rollups failed: %s", strerror(-j->err));
		col_job_free(j);
		if (more)
			push_hours(s);
		return;
	}
	if (j->type == COL_JOB_PRUNE) {
		if (j->err == 0 && (j->deleted || j->deleted_rollups))
			log_info("col: pruned %" PRIu64 " reports and %" PRIu64 " rollup rows older than"
			         " their retention", j->deleted, j->deleted_rollups);
		col_job_free(j);
		return;
	}
	c->refs--;
	if (c->state == ST_CLOSING) {
		col_job_free(j);
		conn_free_if_done(c);
		return;
	}
	if (j->type == COL_JOB_HELLO) {
		wire_frame_t w = {.type = WIRE_WELCOME};

		if (j->err < 0) {
			conn_reject(c, WIRE_ERR_INTERNAL, "cannot register the agent");
		} else {
			c->last_seq = j->last_seq;
			c->state = ST_READY;
			w.welcome.protocol = WIRE_PROTOCOL;
			w.welcome.last_seq = j->last_seq;
			log_debug("col: %s: welcome, last seq %" PRIu64, c->name, j->last_seq);
			if (j->cert_was[0] != '\0' && strcmp(j->cert_was, j->cert_sha256) != 0)
				log_info("col: %s: a new certificate: %s (sha256 %s; was %s)", c->name,
				         j->cert_subject, j->cert_sha256, j->cert_was);
			if (conn_send(c, &w) < 0)
				conn_close(c);
		}
	} else {
		c->inflight--;
		if (j->err == 0) {
			send_ack(c, j->report.seq);
		} else if (!db_error_is_transient(j->err)) {
			/* The report itself could not be stored (e.g. too many counter names). */
			conn_reject(c, WIRE_ERR_INVALID, "report refused by the store");
			col_job_free(j);
			return;
		}
		if (c->inflight < CONN_INFLIGHT_MAX / 2)
			conn_resume(c, PAUSE_INFLIGHT);
	}
	(void)s;
	col_job_free(j);
}

static void push_prune(col_srv_t *s)
{
	col_job_t *j = col_job_new(COL_JOB_PRUNE);

	if (j == NULL)
		return;
	j->horizon_ms = now_ms() - s->cfg->retention_ms;
	j->minute_horizon_ms = now_ms() - s->cfg->minute_retention_ms;
	j->hour_horizon_ms = now_ms() - s->cfg->rollup_retention_ms;
	col_writer_push(s->writer, j);
}

static void on_prune(uv_timer_t *t)
{
	push_prune(container_of(t, col_srv_t, prune));
}

/*
 * Stops serving: the HTTP API first (its /metrics reads the writer's figures),
 * then the listener; the writer commits what is queued and its acks are sent
 * before the connections close.
 */
static void srv_stop(col_srv_t *s)
{
	s->stopping = 1;
	col_http_stop(s->http);
	s->http = NULL;
	uv_close((uv_handle_t *)&s->listener, NULL);
	for (col_conn_t *c = s->conns; c; c = c->next)
		uv_read_stop((uv_stream_t *)&c->tcp);
	col_writer_stop(s->writer); /* commits, then calls on_job_done: the acks are queued */
	s->writer = NULL;
	while (s->conns)
		conn_close(s->conns);
	/* Inactive, the loop runs dry; the close-all walk then closes them. */
	uv_timer_stop(&s->prune);
	uv_timer_stop(&s->hours);
	uv_signal_stop(&s->sigterm);
	uv_signal_stop(&s->sigint);
	uv_signal_stop(&s->sighup);
}

/*
 * SIGHUP: the TLS files read again.  New handshakes use them; connections up
 * keep their sessions.  A reload that fails keeps the loaded ones and says why.
 */
static void on_sighup(uv_signal_t *sig, int signum)
{
	col_srv_t *s = sig->data;
	fs_tls_ctx_t *ctx;
	char why[512];
	int rc = 0;

	(void)signum;
	if (s->tls == NULL && (s->http == NULL || s->cfg->http_tls_cert == NULL)) {
		log_info("col: SIGHUP: no TLS files to reload");
		return;
	}
	if (s->tls != NULL && fs_tls_ctx_new(true, &s->cfg->tls_files, &ctx, why, sizeof(why)) < 0) {
		log_warnx("col: SIGHUP: TLS files not reloaded, the loaded ones stay: %s", why);
	} else if (s->tls != NULL) {
		if (s->tls != s->cfg->tls)
			fs_tls_ctx_free(s->tls);
		s->tls = ctx;
		log_info("col: SIGHUP: TLS files reloaded; new handshakes use them (%u connections"
		         " keep theirs)", s->nconns);
	}
	if (s->http != NULL && (rc = col_http_reload(s->http, why, sizeof(why))) < 0)
		log_warnx("col: SIGHUP: the HTTPS files not reloaded, the loaded ones stay: %s", why);
	else if (rc > 0)
		log_info("col: SIGHUP: the HTTPS files reloaded; new HTTP connections use them");
}

static void on_signal(uv_signal_t *sig, int signum)
{
	col_srv_t *s = sig->data;

	if (s->stopping)
		return;
	log_info("col: %s: stopping: committing and acking what is queued",
	         signum == SIGTERM ? "SIGTERM" : "SIGINT");
	srv_stop(s);
}

/* Close-all: what srv_stop() left open (timers, signals, anything else). */
static void close_walk_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void selfstats(void *ctx, col_selfstats_t *o)
{
	col_srv_t *s = ctx;
	col_writer_stats_t w;

	o->connections_open = s->st.open;
	o->connections_accepted = s->st.accepted;
	o->frames = s->st.frames;
	o->reports_received = s->st.reports;
	for (int r = 0; r < COL_NREASONS; r++)
		o->rejected[r] = s->st.by_reason[r];
	col_writer_stats(s->writer, &w);
	o->reports_stored = w.reports_stored;
	o->reports_duplicate = w.reports_duplicate;
	o->commits = w.commits;
	o->commit_failures = w.commit_failures;
	o->last_commit_us = w.last_commit_us;
	o->max_commit_us = w.max_commit_us;
	o->queued = w.queued;
}

static int http_on(col_srv_t *s)
{
	const col_config_t *cfg = s->cfg;
	col_http_config_t hc = {
		.port = cfg->http_port,
		.token = cfg->http_token_len ? cfg->http_token : NULL,
		.token_len = cfg->http_token_len,
		.db_path = cfg->db_path,
		.tls_cert = cfg->http_tls_cert,
		.tls_key = cfg->http_tls_key,
		.web_lib = cfg->web_lib,
		.max_conns = cfg->http_max_conns,
		.timeout_s = cfg->http_timeout_s,
		.threads = cfg->http_threads,
		.thresholds = &cfg->thresholds,
		.suspects = &cfg->suspects,
		.selfstats = selfstats,
		.ctx = s,
	};
	char why[256];
	int err;

	if (cfg->http_port == 0)
		return 0;
	snprintf(hc.host, sizeof(hc.host), "%s", cfg->http_host);
	if ((err = col_http_start(&hc, &s->http, why, sizeof(why))) < 0) {
		log_warnx("col: http: %s", why);
		return err;
	}
	log_info("col: http: serving the API and /metrics on %s:%d over %s%s", cfg->http_host,
	         cfg->http_port, cfg->http_tls_cert ? "HTTPS" : "HTTP",
	         cfg->http_token_len ? ", bearer token required" : "");
	return 0;
}

static int listen_on(col_srv_t *s)
{
	const col_config_t *cfg = s->cfg;
	struct sockaddr_storage addr;
	int err;

	if (strchr(cfg->listen_host, ':'))
		err = uv_ip6_addr(cfg->listen_host, cfg->listen_port, (struct sockaddr_in6 *)&addr);
	else
		err = uv_ip4_addr(cfg->listen_host, cfg->listen_port, (struct sockaddr_in *)&addr);
	if (err < 0)
		return err;
	uv_tcp_init(s->loop, &s->listener);
	s->listener.data = s;
	if ((err = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0)) < 0 ||
	    (err = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection)) < 0) {
		uv_close((uv_handle_t *)&s->listener, NULL);
		return err;
	}
	return 0;
}

int col_server_run(const col_config_t *cfg, db_t *db)
{
	col_srv_t *s = calloc(1, sizeof(*s));
	uv_loop_t loop;
	int err, rc;

	if (s == NULL)
		return -ENOMEM;
	signal(SIGPIPE, SIG_IGN);
	if ((err = uv_loop_init(&loop)) < 0) {
		free(s);
		return err;
	}
	s->loop = &loop;
	s->cfg = cfg;
	if ((err = listen_on(s)) < 0) {
		log_warnx("col: cannot listen on %s:%d: %s", cfg->listen_host,
		          cfg->listen_port, uv_strerror(err));
		goto out;
	}
	if ((err = col_writer_start(&loop, db, on_job_done, s, &s->writer)) < 0) {
		log_warnx("col: cannot start the writer: %s", strerror(-err));
		uv_close((uv_handle_t *)&s->listener, NULL);
		goto out;
	}
	if ((err = http_on(s)) < 0) {
		col_writer_stop(s->writer);
		uv_close((uv_handle_t *)&s->listener, NULL);
		goto out;
	}
	uv_signal_init(&loop, &s->sigterm);
	uv_signal_init(&loop, &s->sigint);
	uv_signal_init(&loop, &s->sighup);
	s->sigterm.data = s->sigint.data = s->sighup.data = s;
	s->tls = cfg->tls;
	uv_signal_start(&s->sigterm, on_signal, SIGTERM);
	uv_signal_start(&s->sigint, on_signal, SIGINT);
	uv_signal_start(&s->sighup, on_sighup, SIGHUP);
	uv_timer_init(&loop, &s->prune);
	uv_timer_start(&s->prune, on_prune, 1000, PRUNE_EVERY_MS);
	uv_timer_init(&loop, &s->hours);
	uv_timer_start(&s->hours, on_hours, 2000, HOURS_EVERY_MS);
	log_info("col: listening on %s:%d%s%s%s", cfg->listen_host, cfg->listen_port,
	         cfg->tls == NULL ? ", in clear" : cfg->tls_mutual ? ", mutual TLS" : ", TLS",
	         cfg->token_len ? ", agents must prove the token"
	         : cfg->tls_mutual ? ", agents must present a certificate of the client CA"
	                          : ", no token: any agent is taken",
	         cfg->insecure && cfg->tls == NULL ? " (--insecure: reports travel in clear)" : "");
	uv_run(&loop, UV_RUN_DEFAULT);
	if (!s->stopping) { /* the loop ran dry: cannot happen with the timers running */
		srv_stop(s);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	log_info("col: stopped: %" PRIu64 " connections, %" PRIu64 " frames, %" PRIu64
	         " reports, %" PRIu64 " refused", (uint64_t)s->st.accepted, (uint64_t)s->st.frames,
	         (uint64_t)s->st.reports, (uint64_t)s->st.rejected);
out:
	uv_walk(&loop, close_walk_cb, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	if ((rc = uv_loop_close(&loop)) != 0) {
		log_warnx("col: uv_loop_close: %s", uv_strerror(rc));
		err = err ? err : rc;
	}
	if (s->tls != cfg->tls)
		fs_tls_ctx_free(s->tls);   /* a reload's; cfg->tls is the caller's */
	free(s->ips.v);
	free(s);
	return err;
}
