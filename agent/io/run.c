/* SPDX-License-Identifier: MIT */
/* run.c: one libuv loop: interval timer, collection, spool, connection to the collector. */
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <uv.h>

#include "auth.h"
#include "follow.h"
#include "log.h"
#include "spool.h"
#include "state.h"
#include "tls.h"
#include "uplink.h"
#include "wire.h"

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define HANDSHAKE_MS 10000u   /* Challenge and Welcome each within this */
#define ACK_WAIT_MS 60000u    /* reports in flight and no Ack for this long: reconnect */
#define CLOSE_MS 2000u        /* for TLS's goodbye to go out */
#define READ_BUF 65536
#define PLAIN_BUF 16384       /* a TLS record's plaintext at most */
#define NO_COLLECTOR SIZE_MAX

_Static_assert(AG_COLLECTORS_MAX <= 32, "agent_t.fail_said has a bit per collector");

#define FOLLOW_MS 1000   /* the access logs read this often between reports */

typedef struct agent agent_t;

typedef enum {
	C_CONNECTING,   /* TCP connect under way */
	C_CHALLENGE,    /* waiting for Challenge (with TLS: first its handshake) */
	C_WELCOME,      /* Hello sent, waiting for Welcome or Error */
	C_READY,        /* sending reports, reading Acks */
} conn_state_t;

/* One connection attempt; freed when both handles have closed. */
typedef struct {
	agent_t *a;
	uv_tcp_t tcp;
	uv_timer_t timer;     /* handshake timeout, then the ack watchdog */
	uv_connect_t creq;
	uv_shutdown_t shut;
	fs_tls_t *tls;        /* the TLS session (NULL: plaintext) */
	bool tls_up;          /* its handshake is done */
	bool got_bytes;       /* the collector's first bytes came */
	bool clear;           /* TLS asked, and the collector answered in clear */
	wire_dec_t dec;
	conn_state_t st;
	uint64_t welcome_last;
	int dead;             /* closing: ignore everything */
	int closing;          /* close callbacks still to come */
	char rbuf[READ_BUF];
	uint8_t pbuf[PLAIN_BUF];
} conn_t;

/* A write request owns its bytes. */
typedef struct {
	uv_write_t req;
	size_t len;
	uint8_t buf[];
} wreq_t;

struct agent {
	const ag_run_opts_t *o;
	uv_loop_t loop;
	uv_timer_t tick;
	uv_timer_t retry;
	uv_timer_t deadline;
	uv_timer_t follow_tick;     /* reading the access logs, between reports */
	uv_signal_t sigterm;
	uv_signal_t sigint;
	uv_signal_t sighup;
	uv_getaddrinfo_t gai;
	int gai_busy;
	conn_t *conn;
	ag_failover_t fo;           /* which collector: o->collectors->a[fo.cur] */
	size_t on;                  /* the collector of the last Welcome; NO_COLLECTOR before */
	uint32_t fail_said;         /* bit i: collector i's failure was logged (until its Welcome) */
	char hostname[256];
	fs_tls_ctx_t *tls;          /* TLS settings for new connections; NULL: plaintext */

	ag_state_t st;
	ag_spool_t sp;
	ag_agg_t *agg;
	ag_agg_t *aux;
	wire_report_t cur;          /* the last collection */
	wire_kv_t *prev_sysctls;    /* its sysctls, to see changes */
	size_t n_prev_sysctls;
	int have_prev;
	int sysctls_due;            /* next report carries sysctls */
	ag_reqs_t *reqs;            /* requests counted since the last report */
	ag_follow_t *follow;        /* NULL: no access log */

	uint64_t backoff;           /* ag_backoff_next() state */
	int outage_said;            /* every collector failed: logged this outage */
	int drop_said;              /* dropping from a full spool was logged */
	int disk_said;              /* writing to the state dir fails: logged */
	int stopping;
	int exit_code;
	uint64_t once_seq;          /* --once: the report that must be acked */
};

static void conn_lost(conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_close(conn_t *c);
static void connect_start(agent_t *a);
static void pump(conn_t *c);

static const char *errcode_name(int32_t code)
{
	switch (code) {
	case WIRE_ERR_BAD_FRAME: return "BAD_FRAME";
	case WIRE_ERR_BAD_PROTOCOL: return "BAD_PROTOCOL";
	case WIRE_ERR_AUTH_FAILED: return "AUTH_FAILED";
	case WIRE_ERR_INVALID: return "INVALID";
	case WIRE_ERR_OVERLOADED: return "OVERLOADED";
	case WIRE_ERR_INTERNAL: return "INTERNAL";
	default: return "UNSPECIFIED";
	}
}

static uint32_t rnd32(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	return r;
}

/* The collector in use or being tried. */
static const ag_addr_t *cur_addr(const agent_t *a)
{
	return &a->o->collectors->a[a->fo.cur];
}

/* Stops everything: handles close, the loop runs dry, ag_run() returns code. */
static void agent_stop(agent_t *a, int code)
{
	if (a->stopping)
		return;
	a->stopping = 1;
	a->exit_code = code;
	if (a->conn)
		conn_close(a->conn);  /* not conn_lost(): no retry, no failure logged */
	if (a->gai_busy)
		uv_cancel((uv_req_t *)&a->gai);
	uv_timer_stop(&a->tick);
	uv_timer_stop(&a->follow_tick);
	uv_timer_stop(&a->retry);
	uv_timer_stop(&a->deadline);
	uv_signal_stop(&a->sigterm);
	uv_signal_stop(&a->sigint);
	uv_signal_stop(&a->sighup);
}

/* ---- spool ---------------------------------------------------------------- */

/* The state dir failed (what): said once until it works again. */
static void disk_failed(agent_t *a, const char *what, int err)
{
	if (!a->disk_said++)
		log_warnx("agent: %s: %s; keeping new reports in memory (bound %" PRIu64
		          " bytes with the spool) until the disk takes them again", what,
		          strerror(-err), a->sp.max_bytes);
}

static void disk_works(agent_t *a)
{
	if (a->disk_said) {
		log_info("agent: the state dir takes reports again (%zu held in memory)",
		         ag_spool_in_memory(&a->sp));
		a->disk_said = 0;
	}
}

/* A popped report leaves the spool (acked, dropped): its file, or its frame in memory. */
static void drop(agent_t *a, const ag_spool_ent_t *e)
{
	if (e->mem)
		free(e->mem);
	else
		ag_spool_unlink(&a->st, e->seq);
}

/* Deletes the oldest reports while the spool is above its bound, counting them. */
static void enforce_bound(agent_t *a)
{
	ag_spool_ent_t e;
	uint64_t before = a->st.dropped;

	while (ag_spool_pop_excess(&a->sp, &e)) {
		drop(a, &e);
		a->st.dropped++;
		if (!a->drop_said) {
			log_warnx("agent: spool full (%" PRIu64 " bytes): dropping the oldest reports,"
			          " first seq %" PRIu64, a->sp.max_bytes, e.seq);
			a->drop_said = 1;
		} else {
			log_debug("agent: spool full: dropped seq %" PRIu64, e.seq);
		}
	}
	if (a->st.dropped != before)
		ag_state_save(&a->st);
}

/*
 * Encodes a->cur as the next report, persists the seq, then spools it (in
 * memory when the disk fails).  0 or a negative errno (logged): only a
 * report that cannot be encoded is lost.
 */
static int spool_report(agent_t *a, int with_sysctls)
{
	wire_frame_t f;
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t seq = a->st.last_seq + 1;
	int err;

	memset(&f, 0, sizeof(f));
	f.type = WIRE_REPORT;
	f.report = a->cur;          /* borrowed: encoding does not keep it */
	f.report.seq = seq;
	f.report.dropped_reports = a->st.dropped;
	f.report.interval_ms = a->o->interval_s * 1000u;
	if (!with_sysctls) {
		f.report.sysctls = NULL;
		f.report.n_sysctls = 0;
	}
	err = wire_frame_encode(&f, 0, &buf, &len);
	if (err == -EINVAL && f.report.requests.present) {
		/* The access logs' part is what the checks refused: the connections still go. */
		log_warnx("agent: report %" PRIu64 ": its requests are not valid; sent without them",
		          seq);
		memset(&f.report.requests, 0, sizeof(f.report.requests));
		err = wire_frame_encode(&f, 0, &buf, &len);
	}
	if (err < 0) {
		log_warnx("agent: report %" PRIu64 " cannot be encoded: %s", seq,
		          err == -EMSGSIZE ? "above the max frame" : strerror(-err));
		return err;
	}
	/*
	 * The seq is durable before the report exists, so it never repeats.  When
	 * the disk cannot take it, the seq and the report live in memory: should
	 * the agent restart before the disk recovers, the collector's Welcome
	 * (its last seq) moves it past them.
	 */
	a->st.last_seq = seq;
	if ((err = ag_state_save(&a->st)) < 0 ||
	    (err = ag_spool_write(&a->st, seq, buf, len)) < 0) {
		disk_failed(a, err == -ENOSPC ? "the state dir's disk is full" : "the state dir fails",
		            err);
		if (ag_spool_add_mem(&a->sp, seq, buf, len) < 0)
			fatalx("agent: out of memory");
		buf = NULL;
		err = 0;
	} else {
		disk_works(a);
		if (ag_spool_add(&a->sp, seq, len) < 0)
			fatalx("agent: out of memory");
		/* After the report, so that a crash between the two leaves the spool's marks newer. */
		if (a->follow)
			ag_state_save_marks(&a->st, seq, a->cur.requests.marks, a->cur.requests.n_marks);
	}
	if (with_sysctls)
		a->sysctls_due = 0;
	if (a->o->once)
		a->once_seq = seq;
	log_debug("agent: spooled report %" PRIu64 " (%zu bytes%s)", seq, len,
	          with_sysctls ? ", with sysctls" : "");
	enforce_bound(a);
	free(buf);
	return err;
}

/* The requests counted since the last report into a->cur, with where they end in each log. */
static void take_requests(agent_t *a)
{
	wire_log_mark_t marks[WIRE_MAX_LOG_MARKS];
	wire_requests_t *q = &a->cur.requests;
	size_t n;

	wire_requests_close(q);
	ag_follow_poll(a->follow);
	if (ag_reqs_to_wire(a->reqs, a->o->reqs_top, q) < 0)
		fatalx("agent: out of memory");
	n = ag_follow_marks(a->follow, marks, WIRE_MAX_LOG_MARKS);
	if (n > 0 && (q->marks = calloc(n, sizeof(*q->marks))) == NULL)
		fatalx("agent: out of memory");
	for (size_t i = 0; i < n; i++) {
		q->marks[i] = marks[i];
		if ((q->marks[i].path = strdup(marks[i].path)) == NULL)
			fatalx("agent: out of memory");
		q->n_marks = i + 1;
	}
	ag_reqs_reset(a->reqs);
}

/* One collection into a->cur, spooled.  0 or a negative errno (logged). */
static int collect_and_spool(agent_t *a)
{
	int changed, err;

	if ((err = ag_collect(&a->o->collect, a->agg, a->aux, &a->cur)) < 0)
		return err;
	if (a->follow)
		take_requests(a);
	changed = !a->have_prev ||
	          !ag_kv_equal(a->prev_sysctls, a->n_prev_sysctls, a->cur.sysctls, a->cur.n_sysctls);
	if (changed) {
		wire_kv_t *copy;

		if (ag_kv_dup(a->cur.sysctls, a->cur.n_sysctls, &copy) < 0)
			fatalx("agent: out of memory");
		ag_kv_free(a->prev_sysctls, a->n_prev_sysctls);
		a->prev_sysctls = copy;
		a->n_prev_sysctls = a->cur.n_sysctls;
		a->have_prev = 1;
	}
	return spool_report(a, changed || a->sysctls_due);
}

/* ---- connection ------------------------------------------------------------- */

static void conn_close_cb(uv_handle_t *h)
{
	conn_t *c = h->data;

	if (--c->closing == 0) {
		wire_dec_close(&c->dec);
		fs_tls_free(c->tls);
		free(c);
	}
}

/* The goodbye went out (or could not): the socket and the deadline go. */
static void on_shutdown(uv_shutdown_t *req, int status)
{
	conn_t *c = req->data;

	(void)status;  /* closing either way */
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
	if (!uv_is_closing((uv_handle_t *)&c->timer))
		uv_close((uv_handle_t *)&c->timer, conn_close_cb);
}

/* A collector that does not take the goodbye within CLOSE_MS: closed without it. */
static void on_close_deadline(uv_timer_t *t)
{
	conn_t *c = container_of(t, conn_t, timer);

	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, conn_close_cb);   /* cancels the shutdown */
	uv_close((uv_handle_t *)&c->timer, conn_close_cb);
}

static int conn_flush_tls(conn_t *c);

/*
 * Closes c.  A TLS session that is up and whose writes have all gone says
 * goodbye first (close_notify), sent before the socket closes.
 */
static void conn_close(conn_t *c)
{
	agent_t *a = c->a;

	if (c->dead && c->closing)
		return;
	c->dead = 1;
	if (a->conn == c)
		a->conn = NULL;
	ag_spool_rewind(&a->sp);
	c->closing = 2;
	if (c->tls != NULL && c->tls_up && fs_tls_error(c->tls)[0] == '\0' &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
		fs_tls_close(c->tls);
		c->shut.data = c;
		if (conn_flush_tls(c) == 0 &&
		    uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) == 0) {
			uv_timer_start(&c->timer, on_close_deadline, CLOSE_MS, 0);
			return;
		}
	}
	uv_close((uv_handle_t *)&c->timer, conn_close_cb);
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

static void on_retry(uv_timer_t *t)
{
	connect_start(container_of(t, agent_t, retry));
}

/* The next attempt, after ms (0: at once, from the loop rather than from inside a callback). */
static void schedule_retry(agent_t *a, uint64_t ms)
{
	if (a->stopping)
		return;
	if (ms)
		log_debug("agent: reconnecting to %s in %" PRIu64 " ms", cur_addr(a)->text, ms);
	uv_timer_start(&a->retry, on_retry, ms, 0);
}

/*
 * A connection attempt failed or a connection ended (reason: a formatted
 * message): the agent goes on to the next collector of the list, at once
 * within a round and after a backoff once every collector has failed in a
 * row (ag_failover_next()).  Each collector's failure is logged once, at
 * warning level, until it takes the agent again; --once tries each
 * collector once and then gives up.
 */
static void vfail(agent_t *a, const char *fmt, va_list ap)
{
	const ag_addrs_t *l = a->o->collectors;
	const char *was = cur_addr(a)->text;
	uint32_t bit = 1u << a->fo.cur;
	int round_over;
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	round_over = ag_failover_next(&a->fo);
	if (a->o->once) {
		if (!round_over) {
			log_warnx("agent: collector %s: %s; trying %s", was, msg, cur_addr(a)->text);
			schedule_retry(a, 0);
			return;
		}
		if (l->n == 1)
			log_warnx("report %" PRIu64 " not delivered to %s: %s (kept in the spool for the"
			          " next run)", a->once_seq, was, msg);
		else
			log_warnx("report %" PRIu64 " not delivered: none of the %zu collectors took it"
			          " (the last, %s: %s); kept in the spool for the next run", a->once_seq,
			          l->n, was, msg);
		agent_stop(a, 1);
		return;
	}
	if (!(a->fail_said & bit)) {
		a->fail_said |= bit;
		if (!round_over)
			log_warnx("agent: collector %s: %s; trying %s", was, msg, cur_addr(a)->text);
		else if (l->n == 1)
			log_warnx("agent: collector %s: %s; retrying with backoff, reports are spooled",
			          was, msg);
		else if (!a->outage_said)
			log_warnx("agent: collector %s: %s; none of the %zu collectors answers: retrying"
			          " with backoff, reports are spooled", was, msg, l->n);
		else
			log_warnx("agent: collector %s: %s", was, msg);
	} else if (round_over && !a->outage_said && l->n > 1) {
		log_warnx("agent: none of the %zu collectors answers (the last, %s: %s): retrying with"
		          " backoff, reports are spooled", l->n, was, msg);
	} else {
		log_debug("agent: collector %s: %s", was, msg);
	}
	if (round_over) {
		a->outage_said = 1;
		schedule_retry(a, ag_backoff_next(&a->backoff, rnd32()));
	} else {
		schedule_retry(a, 0);
	}
}

static void fail(agent_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(agent_t *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(a, fmt, ap);
	va_end(ap);
}

static void conn_lost(conn_t *c, const char *fmt, ...)
{
	agent_t *a = c->a;
	va_list ap;

	if (c->dead)
		return;
	conn_close(c);
	if (a->stopping)
		return;
	va_start(ap, fmt);
	vfail(a, fmt, ap);
	va_end(ap);
}

static void on_write(uv_write_t *req, int status)
{
	uv_stream_t *s = req->handle;

	free(container_of(req, wreq_t, req));
	if (status == UV_ECANCELED)
		return;
	if (status < 0)
		conn_lost(container_of((uv_tcp_t *)s, conn_t, tcp), "write: %s", uv_strerror(status));
}

/* Queues w (taken over) on c's socket; on error the connection is lost. */
static int conn_write(conn_t *c, wreq_t *w)
{
	uv_buf_t b = uv_buf_init((char *)w->buf, (unsigned)w->len);
	int err = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);

	if (err < 0) {
		free(w);
		conn_lost(c, "write: %s", uv_strerror(err));
	}
	return err;
}

static wreq_t *wreq_new(size_t len)
{
	wreq_t *w = malloc(sizeof(*w) + len);

	if (w == NULL)
		fatalx("agent: out of memory");
	w->len = len;
	return w;
}

/* What the TLS session has for the collector (handshake, records, alerts), written. */
static int conn_flush_tls(conn_t *c)
{
	size_t n;
	int err;

	while ((n = fs_tls_pending(c->tls)) > 0) {
		wreq_t *w = wreq_new(n);

		w->len = fs_tls_take(c->tls, w->buf, n);
		if ((err = conn_write(c, w)) < 0)
			return err;
	}
	return 0;
}

/* Sends the plaintext w holds (taken over): as it is, or through the TLS session. */
static int conn_send(conn_t *c, wreq_t *w)
{
	int err;

	if (c->tls == NULL)
		return conn_write(c, w);
	err = fs_tls_write(c->tls, w->buf, w->len);
	free(w);
	if (err < 0) {
		conn_lost(c, "%s", err == -ENOMEM ? "out of memory" : fs_tls_error(c->tls));
		return err;
	}
	return conn_flush_tls(c);
}

static int send_frame(conn_t *c, const wire_frame_t *f)
{
	uint8_t *buf;
	size_t len;
	wreq_t *w;
	int err;

	if ((err = wire_frame_encode(f, 0, &buf, &len)) < 0) {
		conn_lost(c, "cannot encode a frame of type %d: %s", f->type, strerror(-err));
		return err;
	}
	w = wreq_new(len);
	memcpy(w->buf, buf, len);
	free(buf);
	return conn_send(c, w);
}

static void on_conn_timer(uv_timer_t *t)
{
	conn_t *c = container_of(t, conn_t, timer);

	switch (c->st) {
	case C_CHALLENGE:
		if (c->tls != NULL && !c->tls_up)
			conn_lost(c, "no TLS handshake within %u s (a plaintext collector?)",
			          HANDSHAKE_MS / 1000);
		else
			conn_lost(c, "no Challenge within %u s%s", HANDSHAKE_MS / 1000,
			          c->tls == NULL ? " (a TLS collector? give --tls-ca)" : "");
		break;
	case C_WELCOME:
		conn_lost(c, "no Welcome within %u s", HANDSHAKE_MS / 1000);
		break;
	default:
		conn_lost(c, "no Ack within %u s for %zu report(s) in flight", ACK_WAIT_MS / 1000,
		          ag_spool_in_flight(&c->a->sp));
		break;
	}
}

/* Sends spooled reports, oldest first, while the window allows. */
static void pump(conn_t *c)
{
	agent_t *a = c->a;
	ag_spool_ent_t e;

	while (!c->dead && c->st == C_READY && ag_spool_next(&a->sp, &e)) {
		wreq_t *w;
		int err;

		if (e.size <= WIRE_HDR_LEN || e.size > WIRE_HDR_LEN + WIRE_MAX_FRAME) {
			err = -EPROTO;
			w = NULL;
		} else {
			w = wreq_new((size_t)e.size);
			if (e.mem) {
				memcpy(w->buf, e.mem, (size_t)e.size);
				err = 0;
			} else {
				err = ag_spool_read(&a->st, e.seq, w->buf, (size_t)e.size);
			}
		}
		if (err < 0) {
			/* Unreadable: it can never be delivered, so it counts as dropped. */
			log_warnx("agent: spool report %" PRIu64 " is unreadable (%s); dropped",
			          e.seq, strerror(-err));
			free(w);
			ag_spool_remove(&a->sp, e.seq);
			ag_spool_unlink(&a->st, e.seq);
			a->st.dropped++;
			ag_state_save(&a->st);
			continue;
		}
		log_debug("agent: sending report %" PRIu64, e.seq);
		if (conn_send(c, w) < 0)
			return;
		if (!uv_is_active((uv_handle_t *)&c->timer))
			uv_timer_start(&c->timer, on_conn_timer, ACK_WAIT_MS, 0);
	}
}

static void on_challenge(conn_t *c, const wire_challenge_t *ch)
{
	agent_t *a = c->a;
	const ag_run_opts_t *o = a->o;
	wire_frame_t f;

	memset(&f, 0, sizeof(f));
	f.type = WIRE_HELLO;
	f.hello.protocol = WIRE_PROTOCOL;
	memcpy(f.hello.agent_id, a->st.agent_id, WIRE_AGENT_ID_LEN);
	f.hello.hostname = a->hostname;
	f.hello.tier = (char *)o->tier;
	f.hello.labels = (wire_kv_t *)o->labels;
	f.hello.n_labels = o->n_labels;
	f.hello.agent_version = FLEETSTAT_VERSION;
	if (o->token) {
		if (wire_auth_compute(o->token, o->token_len, ch->nonce, a->st.agent_id,
		                      f.hello.auth) < 0) {
			conn_lost(c, "cannot compute the Hello's auth");
			return;
		}
		f.hello.auth_len = WIRE_AUTH_LEN;
	}
	if (send_frame(c, &f) < 0)
		return;
	explicit_bzero(f.hello.auth, sizeof(f.hello.auth));
	c->st = C_WELCOME;
	uv_timer_start(&c->timer, on_conn_timer, HANDSHAKE_MS, 0);
}

/*
 * The collector in use took the agent: it stays there.  Said when it is
 * another than the last one (or, at start, not the first of the list), and
 * when it comes back after its failure was said.
 */
static void welcomed_by(agent_t *a)
{
	size_t i = a->fo.cur;
	uint32_t bit = 1u << i;

	if (a->on != i && (a->on != NO_COLLECTOR || i != 0)) {
		if (a->on == NO_COLLECTOR)
			(a->o->once ? log_debug : log_info)("agent: reporting to collector %s",
			                                    cur_addr(a)->text);
		else
			log_info("agent: reporting to collector %s (instead of %s)", cur_addr(a)->text,
			         a->o->collectors->a[a->on].text);
	} else if ((a->fail_said & bit) || a->outage_said) {
		log_info("agent: connected to collector %s again", cur_addr(a)->text);
	}
	a->fail_said &= ~bit;
	a->outage_said = 0;
	a->on = i;
	ag_failover_connected(&a->fo);
}

static void on_welcome(conn_t *c, uint64_t last)
{
	agent_t *a = c->a;
	uint64_t own = a->st.last_seq, next = ag_seq_after_welcome(own, last);
	ag_spool_ent_t e;
	uint64_t popped = 0, dropped_before = a->st.dropped;

	c->st = C_READY;
	c->welcome_last = last;
	uv_timer_stop(&c->timer);
	a->backoff = 0;
	a->drop_said = 0;
	welcomed_by(a);
	a->sysctls_due = 1;
	log_debug("agent: Welcome, last_seq %" PRIu64 ", own last seq %" PRIu64, last, own);

	/* The collector has everything up to last: those files can go. */
	while (ag_spool_pop_acked(&a->sp, last, &e)) {
		drop(a, &e);
		popped++;
	}
	if (next != own) {
		/*
		 * The collector has seqs up to last_seq from this agent_id but
		 * this state dir went only to own: the state was lost or
		 * restored.  Continue above last_seq.  Spooled reports it
		 * shadowed are not the ones the collector has: count them.
		 */
		log_warnx("agent: collector already has seq %" PRIu64 " from this agent, whose state "
		          "says %" PRIu64 " (state lost or restored?): continuing from %" PRIu64,
		          last, own, last + 1);
		a->st.dropped += popped;
		a->st.last_seq = next;
	}
	if (a->st.last_seq != own || a->st.dropped != dropped_before)
		ag_state_save(&a->st);
	if (a->o->once && a->once_seq && a->once_seq <= last) {
		if (next == own) {
			/* It was delivered before, its Ack lost. */
			agent_stop(a, 0);
			return;
		}
		/* Its seq was already taken: send it again under a new one. */
		if (spool_report(a, 1) < 0) {
			conn_close(c);
			agent_stop(a, 1);
			return;
		}
	}
	pump(c);
}

static void on_ack(conn_t *c, uint64_t seq)
{
	agent_t *a = c->a;
	ag_spool_ent_t e;

	if (seq > a->sp.sent && seq > c->welcome_last) {
		/* Acking what was never sent would delete reports unsent. */
		conn_lost(c, "protocol error: Ack for seq %" PRIu64 ", above the last sent %" PRIu64,
		          seq, a->sp.sent);
		return;
	}
	while (ag_spool_pop_acked(&a->sp, seq, &e))
		drop(a, &e);
	if (ag_spool_in_flight(&a->sp) == 0)
		uv_timer_stop(&c->timer);
	else
		uv_timer_again(&c->timer);
	if (a->o->once && a->once_seq && seq >= a->once_seq) {
		log_debug("agent: report %" PRIu64 " acked", a->once_seq);
		agent_stop(a, 0);
		return;
	}
	pump(c);
}

static void on_error_frame(conn_t *c, const wire_error_t *e)
{
	/* The message is the collector's, validated printable; the token is never in it. */
	if (e->code == WIRE_ERR_AUTH_FAILED)
		conn_lost(c, "refused: AUTH_FAILED: %s (check --token-file and the collector's token)",
		          e->message);
	else
		conn_lost(c, "refused: %s: %s", errcode_name(e->code), e->message);
}

static void handle_frame(conn_t *c, const uint8_t *body, size_t len)
{
	wire_frame_t f;
	int err = wire_frame_decode(body, len, &f);

	if (err < 0) {
		conn_lost(c, "bad frame from the collector: %s",
		          err == -EINVAL ? "invalid fields" : strerror(-err));
		return;
	}
	if (f.type == WIRE_ERROR)
		on_error_frame(c, &f.error);
	else if (f.type == WIRE_CHALLENGE && c->st == C_CHALLENGE)
		on_challenge(c, &f.challenge);
	else if (f.type == WIRE_WELCOME && c->st == C_WELCOME)
		on_welcome(c, f.welcome.last_seq);
	else if (f.type == WIRE_ACK && c->st == C_READY)
		on_ack(c, f.ack.seq);
	else
		conn_lost(c, "protocol error: unexpected frame (type %d) in state %d", f.type, c->st);
	wire_frame_close(&f);
}

/* wire_dec_read()'s callback: a frame came; stop when the connection is lost. */
static int on_frame(void *ctx, const uint8_t *body, size_t len)
{
	conn_t *c = ctx;

	handle_frame(c, body, len);
	return c->dead;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	conn_t *c = container_of((uv_tcp_t *)h, conn_t, tcp);

	(void)hint;
	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

/* The TLS handshake just ended: whom it reached, for the debug log. */
static void tls_up(conn_t *c)
{
	char subject[256], sha[65];

	c->tls_up = true;
	if (fs_tls_peer(c->tls, subject, sizeof(subject), sha) == 0)
		log_debug("agent: %s with %s, certificate %s (sha256 %s)", fs_tls_version(c->tls),
		          cur_addr(c->a)->text, subject, sha);
}

/* fs_tls_feed()'s callback: plaintext to the frame reader; stop once the connection is lost. */
static int on_plain(void *ctx, const void *p, size_t n)
{
	conn_t *c = ctx;
	int err;

	if (!c->tls_up)
		tls_up(c);
	if ((err = wire_dec_read(&c->dec, p, n, on_frame, c)) < 0)
		conn_lost(c, "bad frame from the collector: %s", wire_dec_strerror(err));
	return c->dead;
}

/*
 * A frame in clear where TLS was asked: an Error the collector sent before
 * any TLS says why; anything else means a plaintext listener.
 */
static int on_clear_frame(void *ctx, const uint8_t *body, size_t len)
{
	conn_t *c = ctx;
	wire_frame_t f;

	memset(&f, 0, sizeof(f));
	if (wire_frame_decode(body, len, &f) == 0 && f.type == WIRE_ERROR)
		on_error_frame(c, &f.error);
	else
		conn_lost(c, "the collector answered in plaintext, not TLS (has it --tls-cert?)");
	wire_frame_close(&f);
	return 1;
}

/* The collector's bytes over TLS. */
static void on_read_tls(conn_t *c, const uint8_t *p, size_t n)
{
	const char *name = c->a->o->tls_server_name;
	int r;

	if (!c->got_bytes && !fs_tls_record_start(p, n))
		c->clear = true;
	c->got_bytes = true;
	if (c->clear) {
		/* A refusal sent before any TLS (too many connections), or a plaintext listener. */
		int err = wire_dec_read(&c->dec, p, n, on_clear_frame, c);

		if (err < 0 && !c->dead)
			conn_lost(c, "the collector answered in plaintext, not TLS (has it --tls-cert?)");
		return;
	}
	r = fs_tls_feed(c->tls, p, n, c->pbuf, sizeof(c->pbuf), on_plain, c);
	if (r == 1 || c->dead)
		return;
	if (r == FS_TLS_CLOSED) {
		conn_lost(c, "the collector closed the TLS session%s",
		          wire_dec_pending(&c->dec) ? " in the middle of a frame" : "");
		return;
	}
	if (r < 0) {
		if (r == -ENOMEM)
			conn_lost(c, "out of memory");
		else if (!c->tls_up)
			conn_lost(c, "%s (the name checked: %s)", fs_tls_error(c->tls),
			          name ? name : cur_addr(c->a)->host);
		else if (c->st == C_CHALLENGE && c->a->o->tls->cert == NULL)
			/* TLS 1.3: a refused client hears of it after its handshake ends. */
			conn_lost(c, "%s (the collector wants this agent's certificate? --tls-cert,"
			          " --tls-key)", fs_tls_error(c->tls));
		else
			conn_lost(c, "%s", fs_tls_error(c->tls));
		return;
	}
	if (!c->tls_up && fs_tls_handshake(c->tls) == 1)
		tls_up(c);
	conn_flush_tls(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	conn_t *c = container_of((uv_tcp_t *)s, conn_t, tcp);
	const uint8_t *p = (const uint8_t *)buf->base;
	int err;

	if (nread == UV_EOF) {
		conn_lost(c, "the collector closed the connection%s%s",
		          wire_dec_pending(&c->dec) ? " in the middle of a frame" : "",
		          c->tls != NULL && !c->tls_up ? " during the TLS handshake" : "");
		return;
	}
	if (nread < 0) {
		conn_lost(c, "read: %s", uv_strerror((int)nread));
		return;
	}
	if (c->dead || nread == 0)
		return;
	if (c->tls != NULL) {
		on_read_tls(c, p, (size_t)nread);
		return;
	}
	if ((err = wire_dec_read(&c->dec, p, (size_t)nread, on_frame, c)) < 0)
		conn_lost(c, "bad frame from the collector: %s", wire_dec_strerror(err));
}

static void on_connect(uv_connect_t *req, int status)
{
	conn_t *c;
	int err;

	if (status == UV_ECANCELED)
		return;
	c = container_of(req, conn_t, creq);
	if (c->dead)
		return;
	if (status < 0) {
		conn_lost(c, "connect: %s", uv_strerror(status));
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_tcp_keepalive(&c->tcp, 1, 60);
	if ((err = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) < 0) {
		conn_lost(c, "read: %s", uv_strerror(err));
		return;
	}
	c->st = C_CHALLENGE;
	uv_timer_start(&c->timer, on_conn_timer, HANDSHAKE_MS, 0);
	log_debug("agent: connected to %s", cur_addr(c->a)->text);
	if (c->a->tls != NULL) {
		const char *name = c->a->o->tls_server_name;

		/* The ClientHello; the Challenge comes once the handshake is over. */
		if (fs_tls_new(c->a->tls, name ? name : cur_addr(c->a)->host, &c->tls) < 0) {
			conn_lost(c, "out of memory");
			return;
		}
		if (fs_tls_handshake(c->tls) < 0) {
			conn_lost(c, "%s", fs_tls_error(c->tls));
			return;
		}
		conn_flush_tls(c);
	}
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	agent_t *a = container_of(req, agent_t, gai);
	conn_t *c;
	int err;

	a->gai_busy = 0;
	if (status == UV_EAI_CANCELED || a->stopping) {
		uv_freeaddrinfo(res);
		return;
	}
	if (status < 0) {
		fail(a, "resolving %s: %s", cur_addr(a)->host, uv_strerror(status));
		uv_freeaddrinfo(res);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatalx("agent: out of memory");
	c->a = a;
	c->st = C_CONNECTING;
	wire_dec_init(&c->dec, WIRE_MAX_FRAME);
	uv_tcp_init(&a->loop, &c->tcp);
	uv_timer_init(&a->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	a->conn = c;
	err = uv_tcp_connect(&c->creq, &c->tcp, res->ai_addr, on_connect);
	uv_freeaddrinfo(res);
	if (err < 0)
		conn_lost(c, "connect: %s", uv_strerror(err));
}

static void connect_start(agent_t *a)
{
	struct addrinfo hints;
	int err;

	if (a->stopping || a->conn || a->gai_busy)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	err = uv_getaddrinfo(&a->loop, &a->gai, on_resolved, cur_addr(a)->host, cur_addr(a)->port,
	                     &hints);
	if (err < 0) {
		fail(a, "resolving %s: %s", cur_addr(a)->host, uv_strerror(err));
		return;
	}
	a->gai_busy = 1;
}

/* ---- timers and signals ---------------------------------------------------- */

static void on_tick(uv_timer_t *t)
{
	agent_t *a = container_of(t, agent_t, tick);

	if (collect_and_spool(a) == 0 && a->conn)
		pump(a->conn);
}

static void on_follow_tick(uv_timer_t *t)
{
	agent_t *a = container_of(t, agent_t, follow_tick);

	ag_follow_poll(a->follow);
}

/*
 * Where the access logs were last counted to: the newest spooled report's
 * marks, else the marks file (written after each report is spooled).
 */
static void restore_marks(agent_t *a)
{
	wire_log_mark_t *m = NULL;
	uint64_t seq = 0;
	size_t n = 0;
	wire_frame_t f;

	memset(&f, 0, sizeof(f));
	if (a->sp.n > 0) {
		ag_spool_ent_t e = a->sp.ents[a->sp.n - 1];
		uint8_t *buf = e.mem ? NULL : malloc(e.size ? e.size : 1);

		if (buf && ag_spool_read(&a->st, e.seq, buf, e.size) == 0 &&
		    wire_frame_decode(buf + WIRE_HDR_LEN, e.size - WIRE_HDR_LEN, &f) == 0 &&
		    f.type == WIRE_REPORT && f.report.requests.present) {
			seq = e.seq;
		} else {
			wire_frame_close(&f);
		}
		free(buf);
	}
	if (ag_state_load_marks(&a->st, &seq, &m, &n) < 0)
		seq = 0;   /* an unreadable marks file: the spool's, if any, still count */
	if (f.type == WIRE_REPORT && f.report.seq >= seq) {
		ag_follow_restore(a->follow, f.report.requests.marks, f.report.requests.n_marks);
	} else {
		ag_follow_restore(a->follow, m, n);
	}
	for (size_t i = 0; i < n; i++)
		free(m[i].path);
	free(m);
	wire_frame_close(&f);
}

static void on_deadline(uv_timer_t *t)
{
	agent_t *a = container_of(t, agent_t, deadline);

	const char *what = "connecting";

	if (a->conn && a->conn->st == C_CHALLENGE && a->conn->tls != NULL && !a->conn->tls_up)
		what = "in the TLS handshake";
	else if (a->conn && a->conn->st == C_CHALLENGE)
		what = "waiting for the collector's Challenge";
	else if (a->conn && a->conn->st == C_WELCOME)
		what = "waiting for the collector's Welcome";
	else if (a->conn && a->conn->st == C_READY)
		what = "waiting for the Ack";
	log_warnx("report %" PRIu64 " not delivered to %s: timed out after %u s (--timeout) %s "
	          "(kept in the spool for the next run)", a->once_seq, cur_addr(a)->text,
	          a->o->timeout_s, what);
	agent_stop(a, 1);
}

static void on_signal(uv_signal_t *s, int signum)
{
	agent_t *a = s->data;

	log_info("agent: %s: stopping; %zu unacked report(s) stay in the spool",
	         strsignal(signum), a->sp.n);
	agent_stop(a, a->o->once ? 1 : 0);
}

/*
 * SIGHUP: the TLS files read again.  New connections use them; the one up
 * keeps its session.  A reload that fails keeps what was loaded.
 */
static void on_sighup(uv_signal_t *s, int signum)
{
	agent_t *a = s->data;
	fs_tls_ctx_t *ctx;
	char why[512];

	(void)signum;
	if (a->o->tls == NULL) {
		log_info("agent: SIGHUP: no TLS files to reload");
		return;
	}
	if (fs_tls_ctx_new(false, a->o->tls, &ctx, why, sizeof(why)) < 0) {
		log_warnx("agent: SIGHUP: TLS files not reloaded, the loaded ones stay: %s", why);
		return;
	}
	fs_tls_ctx_free(a->tls);
	a->tls = ctx;
	log_info("agent: SIGHUP: TLS files reloaded; new connections use them");
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Opens the state dir and the spool; applies the bound.  0 or negative errno (logged). */
static int open_spool(agent_t *a)
{
	int err;

	if ((err = ag_state_open(&a->st, a->o->state_dir)) < 0)
		return err;
	ag_spool_init(&a->sp, a->o->spool_max, AG_SPOOL_WINDOW);
	if ((err = ag_spool_scan(&a->st, &a->sp)) < 0)
		return err;
	if (ag_spool_last(&a->sp) > a->st.last_seq) {
		/* The state file is behind its own spool (restored?): never reuse a seq. */
		log_warnx("agent: spool holds seq %" PRIu64 ", above the saved seq %" PRIu64,
		          ag_spool_last(&a->sp), a->st.last_seq);
		a->st.last_seq = ag_spool_last(&a->sp);
		if ((err = ag_state_save(&a->st)) < 0)
			return err;
	}
	if (a->sp.n)
		(a->o->once ? log_debug : log_info)("agent: %zu unacked report(s) in the spool (%" PRIu64 " bytes), seq %" PRIu64
		         "..%" PRIu64, a->sp.n, a->sp.bytes, a->sp.ents[0].seq, ag_spool_last(&a->sp));
	enforce_bound(a);
	return 0;
}

int ag_run(const ag_run_opts_t *o)
{
	agent_t *a;
	struct utsname u;
	int err, code = 1;

	signal(SIGPIPE, SIG_IGN);
	if ((a = calloc(1, sizeof(*a))) == NULL)
		fatalx("agent: out of memory");
	a->o = o;
	a->sysctls_due = 1;
	ag_failover_init(&a->fo, o->collectors->n);
	a->on = NO_COLLECTOR;
	if (o->hostname)
		snprintf(a->hostname, sizeof(a->hostname), "%s", o->hostname);
	else if (uname(&u) < 0 || u.nodename[0] == '\0')
		strcpy(a->hostname, "localhost");
	else
		snprintf(a->hostname, sizeof(a->hostname), "%s", u.nodename);
	if ((a->agg = ag_agg_new(&o->agg)) == NULL || (a->aux = ag_agg_new(&o->agg)) == NULL)
		fatalx("agent: out of memory");
	if (o->tls != NULL) {
		char why[512];

		if (fs_tls_ctx_new(false, o->tls, &a->tls, why, sizeof(why)) < 0) {
			log_warnx("agent: TLS: %s", why);
			goto out_state;
		}
	}
	if (open_spool(a) < 0)
		goto out_state;
	if (o->n_logs > 0) {
		if ((a->reqs = ag_reqs_new(0, 0)) == NULL ||
		    (a->follow = ag_follow_new(o->logs, o->n_logs, a->reqs)) == NULL)
			fatalx("agent: out of memory");
		restore_marks(a);
	}

	if ((err = uv_loop_init(&a->loop)) < 0) {
		log_warnx("agent: uv_loop_init: %s", uv_strerror(err));
		goto out_state;
	}
	uv_timer_init(&a->loop, &a->tick);
	uv_timer_init(&a->loop, &a->retry);
	uv_timer_init(&a->loop, &a->deadline);
	uv_timer_init(&a->loop, &a->follow_tick);
	uv_signal_init(&a->loop, &a->sigterm);
	uv_signal_init(&a->loop, &a->sigint);
	uv_signal_init(&a->loop, &a->sighup);
	a->sigterm.data = a->sigint.data = a->sighup.data = a;
	uv_signal_start(&a->sigterm, on_signal, SIGTERM);
	uv_signal_start(&a->sigint, on_signal, SIGINT);
	uv_signal_start(&a->sighup, on_sighup, SIGHUP);

	if (o->once) {
		if (collect_and_spool(a) < 0) {
			log_warnx("agent: --once: no report collected and spooled; nothing sent");
			agent_stop(a, 1);
		} else {
			uv_timer_start(&a->deadline, on_deadline, (uint64_t)o->timeout_s * 1000u, 0);
			connect_start(a);
		}
	} else {
		/* The first report now, then every interval. */
		uv_timer_start(&a->tick, on_tick, 0, (uint64_t)o->interval_s * 1000u);
		if (a->follow)
			uv_timer_start(&a->follow_tick, on_follow_tick, FOLLOW_MS, FOLLOW_MS);
		connect_start(a);
	}
	uv_run(&a->loop, UV_RUN_DEFAULT);
	if (!a->stopping)
		agent_stop(a, 1);  /* the loop ran dry: cannot happen with the tick running */
	code = a->exit_code;

	/* Close-all: whatever is still open goes, then the loop must be empty. */
	uv_close((uv_handle_t *)&a->tick, NULL);
	uv_close((uv_handle_t *)&a->retry, NULL);
	uv_close((uv_handle_t *)&a->deadline, NULL);
	uv_close((uv_handle_t *)&a->follow_tick, NULL);
	uv_close((uv_handle_t *)&a->sigterm, NULL);
	uv_close((uv_handle_t *)&a->sigint, NULL);
	uv_close((uv_handle_t *)&a->sighup, NULL);
	uv_walk(&a->loop, close_walk_cb, NULL);
	uv_run(&a->loop, UV_RUN_DEFAULT);
	if ((err = uv_loop_close(&a->loop)) != 0) {
		log_warnx("agent: uv_loop_close: %s", uv_strerror(err));
		code = 1;
	}
out_state:
	if (ag_spool_in_memory(&a->sp) > 0)
		log_warnx("agent: %zu report(s) held in memory (the disk would not take them) are"
		          " lost at exit", ag_spool_in_memory(&a->sp));
	ag_spool_close(&a->sp);
	ag_state_close(&a->st);
	ag_kv_free(a->prev_sysctls, a->n_prev_sysctls);
	wire_report_close(&a->cur);
	ag_follow_free(a->follow);
	ag_reqs_free(a->reqs);
	ag_agg_free(a->aux);
	ag_agg_free(a->agg);
	fs_tls_ctx_free(a->tls);
	free(a);
	return code;
}

/* ---- --print-spool ---------------------------------------------------------- */

/* How many of the listed IPs carry their connections' activity. */
static size_t listed_with_activity(const wire_top_t *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n_ips; i++)
		n += t->ips[i].has_act;
	return n;
}

int ag_print_spool(const char *state_dir)
{
	ag_state_t st;
	ag_spool_t sp;
	char path[4096];
	struct dirent *de;
	DIR *d;
	int code = 0;

	/* Read-only and without the lock: a running agent may own the directory. */
	memset(&st, 0, sizeof(st));
	st.dirfd = st.lockfd = -1;
	snprintf(path, sizeof(path), "%s/spool", state_dir);
	if ((d = opendir(path)) == NULL)
		fatal("agent: %s", path);
	st.spoolfd = dirfd(d);
	ag_spool_init(&sp, UINT64_MAX, SIZE_MAX);
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		uint64_t seq;

		if (ag_spool_parse_name(de->d_name, &seq) != AG_SPOOL_FILE ||
		    fstatat(st.spoolfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (ag_spool_add(&sp, seq, (uint64_t)sb.st_size) < 0)
			fatalx("agent: out of memory");
	}
	for (size_t i = 0; i < sp.n; i++) {
		ag_spool_ent_t e = sp.ents[i];
		uint8_t *buf = malloc(e.size ? e.size : 1);
		wire_frame_t f;
		int err = buf ? ag_spool_read(&st, e.seq, buf, e.size) : -ENOMEM;

		if (err == 0)
			err = wire_frame_decode(buf + WIRE_HDR_LEN, e.size - WIRE_HDR_LEN, &f);
		if (err == 0 && f.type != WIRE_REPORT) {
			wire_frame_close(&f);
			err = -EPROTO;
		}
		if (err < 0) {
			printf("seq=%" PRIu64 " bytes=%" PRIu64 " error=%s\n", e.seq, e.size,
			       strerror(-err));
			code = 1;
		} else {
			printf("seq=%" PRIu64 " bytes=%" PRIu64 " report_seq=%" PRIu64
			       " collected_at_ms=%" PRId64 " interval_ms=%u dropped_reports=%" PRIu64
			       " sysctls=%zu sockets=%" PRIu32 " source=%s collect_us=%" PRIu64
			       " activity=%zu requests=%s",
			       e.seq, e.size, f.report.seq, f.report.collected_at_ms,
			       f.report.interval_ms, f.report.dropped_reports, f.report.n_sysctls,
			       wire_states_total(&f.report.states), f.report.source,
			       f.report.collect_us, listed_with_activity(&f.report.top),
			       f.report.requests.present ? "" : "-");
			if (f.report.requests.present) {
				const wire_requests_t *q = &f.report.requests;
				char ip[WIRE_IP_STRLEN] = "-";

				if (q->n_clients > 0)
					wire_ip_str(&q->clients[0].ip, ip);
				printf("%" PRIu64 " top_client=%s top_client_requests=%" PRIu64 " marks=%zu",
				       q->total, ip, q->n_clients ? q->clients[0].requests : 0, q->n_marks);
			}
			printf("\n");
			wire_frame_close(&f);
		}
		free(buf);
	}
	ag_spool_close(&sp);
	closedir(d);
	if (fflush(stdout) != 0)
		code = 1;
	return code;
}
