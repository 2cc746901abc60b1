/* SPDX-License-Identifier: MIT */
/* reader.c: the fleet queries' reads on a read-only connection (sql.h: SQLite or PostgreSQL). */
#include "reader.h"
#include "requests.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "db_priv.h"
#include "migrate.h"
#include "pack.h"
#include "advice.h"
#include "sql.h"

#define RAW_COL_LEN 160

struct db_reader {
	sq_t *h;
	char msg[256];
};

/*
 * The reports table's column of a state (wire_state_key()), or for the total
 * the sum of every state's but LISTEN; buf holds the latter.
 */
static const char *raw_col(int state, char buf[RAW_COL_LEN])
{
	size_t n = 0;

	if (state != COL_STATE_TOTAL)
		return wire_state_key(state);
	buf[n++] = '(';
	for (int s = WIRE_ESTABLISHED; s < WIRE_NSTATES && n < RAW_COL_LEN; s++)
		if (s != WIRE_LISTEN)
			n += (size_t)snprintf(buf + n, RAW_COL_LEN - n, "%s%s",
			                      n > 1 ? " + " : "", wire_state_key(s));
	/* 113 bytes: a cut one would be bad SQL, never an overrun. */
	if (n < RAW_COL_LEN)
		snprintf(buf + n, RAW_COL_LEN - n, ")");
	return buf;
}

/* An error of sql.h, with its text in rd->msg. */
static int rd_fail(db_reader_t *rd, int rc)
{
	if (rc < 0)
		snprintf(rd->msg, sizeof(rd->msg), "%s", sq_errmsg(rd->h));
	return rc < 0 ? rc : -EIO;
}

int db_reader_open(const char *path, db_reader_t **out, char *err, size_t errlen)
{
	db_reader_t *rd;
	int rc, v = -1, latest;

	*out = NULL;
	if ((rd = calloc(1, sizeof(*rd))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if ((rc = sq_open(path, SQ_READONLY, &rd->h, err, errlen)) < 0)
		goto fail;
	if ((rc = db__schema_version(rd->h, &v)) < 0) {
		rc = rd_fail(rd, rc);
		snprintf(err, errlen, "%s: %s", sq_kind(rd->h) == SQ_PG ? "postgresql" : path, rd->msg);
		goto fail;
	}
	latest = db__schema_latest_of(sq_kind(rd->h));
	if (v < 1 || v > latest) {
		snprintf(err, errlen, "%s: schema version %d: %s",
		         sq_kind(rd->h) == SQ_PG ? "postgresql" : path, v,
		         v < 1 ? "not a fleetstat database" : "newer than this build");
		rc = -EPROTO;
		goto fail;
	}
	*out = rd;
	return 0;
fail:
	db_reader_close(rd);
	return rc < 0 ? rc : -EIO;
}

void db_reader_close(db_reader_t *rd)
{
	if (rd == NULL)
		return;
	sq_close(rd->h);
	free(rd);
}

const char *db_reader_errmsg(db_reader_t *rd)
{
	return rd->msg;
}

/* ---- hosts and their latest reports ------------------------------------ */

typedef struct {
	col_host_t *v;   /* sorted by id; strings and top.ips owned */
	size_t n;
} hostset_t;

static void host_free(col_host_t *h)
{
	free((char *)h->hostname);
	free((char *)h->tier);
	free((char *)h->labels_json);
	free((char *)h->agent_version);
	free((char *)h->cert_subject);
	free((char *)h->cert_sha256);
	free(h->top.ips);
	free(h->listeners);
	free(h->ports.inbound);
	free(h->ports.outbound);
	wire_requests_close(&h->requests);
}

static void hostset_free(hostset_t *hs)
{
	for (size_t i = 0; i < hs->n; i++)
		host_free(&hs->v[i]);
	free(hs->v);
	memset(hs, 0, sizeof(*hs));
}

/* Keeps the hosts of one tier only, in their order (still sorted by id). */
static void hostset_keep_tier(hostset_t *hs, const char *tier)
{
	size_t k = 0;

	for (size_t i = 0; i < hs->n; i++) {
		if (strcmp(hs->v[i].tier, tier) == 0)
			hs->v[k++] = hs->v[i];
		else
			host_free(&hs->v[i]);
	}
	hs->n = k;
}

static const char *text(sq_stmt_t *st, int i)
{
	const char *s = (const char *)sq_text(st, i);

	return s ? s : "";
}

static const char hosts_sql[] =
	"SELECT h.id, h.hostname, h.tier, h.labels, h.agent_version, h.first_seen_ms,"
	" h.last_seen_ms, r.collected_at_ms, r.interval_ms, r.established, r.syn_sent,"
	" r.syn_recv, r.fin_wait1, r.fin_wait2, r.time_wait, r.close, r.close_wait, r.last_ack,"
	" r.listen, r.closing, r.top, r.listeners, h.cert_subject, h.cert_sha256, r.ports,"
	" r.requests, r.counters FROM hosts h LEFT JOIN reports r ON r.id ="
	" (SELECT id FROM reports WHERE host_id = h.id ORDER BY seq DESC LIMIT 1)"
	" ORDER BY h.id";

/*
 * PostgreSQL's reports have no id.  The latest row of each host is the one of
 * seq last_seq, collected at last_collected_ms (schema/pg/002): one probe in
 * one day's partition.  Should it be gone (retention took its day while an
 * agent's clock ran backwards), the highest seq left, as SQLite's query reads.
 */
static const char hosts_sql_pg[] =
	"SELECT h.id, h.hostname, h.tier, h.labels, h.agent_version, h.first_seen_ms,"
	" h.last_seen_ms, r.collected_at_ms, r.interval_ms, r.established, r.syn_sent,"
	" r.syn_recv, r.fin_wait1, r.fin_wait2, r.time_wait, r.close, r.close_wait, r.last_ack,"
	" r.listen, r.closing, r.top, r.listeners, h.cert_subject, h.cert_sha256, r.ports,"
	" r.requests, r.counters FROM hosts h LEFT JOIN LATERAL ((SELECT * FROM reports WHERE host_id = h.id"
	" AND seq = h.last_seq AND collected_at_ms = h.last_collected_ms) UNION ALL"
	" (SELECT * FROM reports WHERE host_id = h.id ORDER BY seq DESC LIMIT 1) LIMIT 1) r"
	" ON true ORDER BY h.id";

/*
 * A host's table by service, or none when its stored column does not decode:
 * a corrupt row costs that host its split (it reads as one that does not
 * split), not the query or /metrics.  0 or -ENOMEM.
 */
static int ports_or_none(sq_stmt_t *st, int col, wire_ports_t *p)
{
	int err = db_ports_unpack(sq_blob(st, col), sq_bytes(st, col), p);

	return err == -EBADMSG ? 0 : err;
}

/* Its requests, or none when the stored column does not decode (as ports_or_none()). */
static int requests_or_none(sq_stmt_t *st, int col, wire_requests_t *q)
{
	int err = db_requests_unpack(sq_blob(st, col), sq_bytes(st, col), q);

	return err == -EBADMSG ? 0 : err;
}

static int counter_ids(db_reader_t *rd, uint32_t ids[COL_NCTRS]);

/*
 * Its kernel counters (ids: counter_ids()), or none when the stored column
 * does not decode (as ports_or_none()).
 */
static void pick_counters(sq_stmt_t *st, int col, const uint32_t *ids, col_host_t *h)
{
	if (db_counters_pick(sq_blob(st, col), sq_bytes(st, col), ids, COL_NCTRS, h->counters,
	                     &h->counters_found) < 0)
		h->counters_found = 0;
	for (int c = 0; c < COL_NCTRS; c++)
		if (ids[c] == 0)   /* never named: no report had it */
			h->counters_found &= ~(1u << c);
}

/*
 * What load_hosts() decodes of each host's latest report beside its counts.
 * HOSTS_TOP_OR_NONE: its top list, or none when the stored one does not
 * decode (as ports_or_none(): /metrics does not fail for one host's row).
 */
enum { HOSTS_TOP = 1, HOSTS_LISTENERS = 2, HOSTS_PORTS = 4, HOSTS_REQUESTS = 8,
       HOSTS_COUNTERS = 16, HOSTS_TOP_OR_NONE = 32 };

static int top_or_none(sq_stmt_t *st, int col, wire_top_t *t)
{
	int err = db_top_unpack(sq_blob(st, col), sq_bytes(st, col), t);

	if (err == -EBADMSG) {
		memset(t, 0, sizeof(*t));
		return 0;
	}
	return err;
}

/* Every host with its latest report; its top list and listeners decoded as `what` says. */
static int load_hosts(db_reader_t *rd, unsigned what, hostset_t *hs)
{
	uint32_t ids[COL_NCTRS];
	sq_stmt_t *st;
	size_t cap = 0;
	int rc, err = 0;

	memset(hs, 0, sizeof(*hs));
	if ((what & HOSTS_COUNTERS) && (err = counter_ids(rd, ids)) < 0)
		return err;
	if ((rc = sq_prepare(rd->h, sq_kind(rd->h) == SQ_PG ? hosts_sql_pg : hosts_sql, &st)) != 0)
		return rd_fail(rd, rc);
	while ((rc = sq_step(st)) == SQ_ROW) {
		col_host_t *h;

		if (hs->n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			col_host_t *v = realloc(hs->v, ncap * sizeof(*v));

			if (v == NULL) {
				err = -ENOMEM;
				break;
			}
			hs->v = v;
			cap = ncap;
		}
		h = &hs->v[hs->n++];
		memset(h, 0, sizeof(*h));
		h->id = sq_i64(st, 0);
		h->hostname = strdup(text(st, 1));
		h->tier = strdup(text(st, 2));
		h->labels_json = strdup(text(st, 3));
		h->agent_version = strdup(text(st, 4));
		if (!h->hostname || !h->tier || !h->labels_json || !h->agent_version) {
			err = -ENOMEM;
			break;
		}
		h->first_seen_ms = sq_i64(st, 5);
		h->last_seen_ms = sq_i64(st, 6);
		if ((!sq_null(st, 22) && (h->cert_subject = strdup(text(st, 22))) == NULL) ||
		    (!sq_null(st, 23) && (h->cert_sha256 = strdup(text(st, 23))) == NULL)) {
			err = -ENOMEM;
			break;
		}
		if (sq_null(st, 7))
			continue;
		h->has_report = true;
		h->collected_at_ms = sq_i64(st, 7);
		h->interval_ms = (uint32_t)sq_i64(st, 8);
		for (int s = WIRE_ESTABLISHED; s < WIRE_NSTATES; s++)
			h->states.n[s] = (uint32_t)sq_i64(st, 8 + s);
		if (((what & HOSTS_TOP) &&
		     (err = db_top_unpack(sq_blob(st, 20),
		                          sq_bytes(st, 20), &h->top)) < 0) ||
		    ((what & HOSTS_TOP_OR_NONE) && (err = top_or_none(st, 20, &h->top)) < 0) ||
		    ((what & HOSTS_LISTENERS) &&
		     (err = db_listeners_unpack(sq_blob(st, 21),
		                                sq_bytes(st, 21), &h->listeners,
		                                &h->n_listeners)) < 0) ||
		    ((what & HOSTS_PORTS) &&
		     (err = ports_or_none(st, 24, &h->ports)) < 0) ||
		    ((what & HOSTS_REQUESTS) &&
		     (err = requests_or_none(st, 25, &h->requests)) < 0)) {
			snprintf(rd->msg, sizeof(rd->msg), "host %s: a stored top list, listener list"
			         " or port table is malformed", h->hostname);
			break;
		}
		if (what & HOSTS_COUNTERS)
			pick_counters(st, 26, ids, h);
	}
	if (err == 0 && rc != SQ_DONE)
		err = rd_fail(rd, rc);
	sq_finalize(st);
	if (err < 0)
		hostset_free(hs);
	return err;
}

static const col_host_t *host_by_id(const hostset_t *hs, int64_t id)
{
	return col_host_find(hs->v, hs->n, id);
}

static bool host_wanted(const col_host_t *h, const col_qopts_t *o, bool by_host)
{
	return h != NULL && (o->tier == NULL || strcmp(o->tier, h->tier) == 0) &&
	       (!by_host || o->host == NULL || strcmp(o->host, h->hostname) == 0);
}

int db_reader_hosts(db_reader_t *rd, col_host_t **out, size_t *n)
{
	hostset_t hs;
	int err;

	rd->msg[0] = '\0';
	if ((err = load_hosts(rd, HOSTS_PORTS | HOSTS_REQUESTS | HOSTS_COUNTERS, &hs)) < 0)
		return err;
	*out = hs.v;
	*n = hs.n;
	return 0;
}

int db_reader_tiers(db_reader_t *rd, char ***out, size_t *n)
{
	char **v = NULL;
	size_t k = 0, cap = 0;
	sq_stmt_t *st;
	int rc, err = 0;

	rd->msg[0] = '\0';
	*out = NULL;
	*n = 0;
	if ((rc = sq_prepare(rd->h, "SELECT DISTINCT tier FROM hosts ORDER BY tier", &st)) != 0)
		return rd_fail(rd, rc);
	while ((rc = sq_step(st)) == SQ_ROW) {
		if (k == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			char **nv = realloc(v, ncap * sizeof(*nv));

			if (nv == NULL) {
				err = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		if ((v[k] = strdup(text(st, 0))) == NULL) {
			err = -ENOMEM;
			break;
		}
		k++;
	}
	if (err == 0 && rc != SQ_DONE)
		err = rd_fail(rd, rc);
	sq_finalize(st);
	if (err < 0) {
		db_reader_tiers_free(v, k);
		return err;
	}
	*out = v;
	*n = k;
	return 0;
}

void db_reader_tiers_free(char **tiers, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(tiers[i]);
	free(tiers);
}

void db_reader_hosts_free(col_host_t *hosts, size_t n)
{
	hostset_t hs = {hosts, n};

	hostset_free(&hs);
}

/* ---- top-ips ----------------------------------------------------------------- */

static const char tops_sql[] =
	"SELECT host_id, collected_at_ms, top FROM reports"
	" WHERE collected_at_ms >= ?1 AND collected_at_ms <= ?2 AND top IS NOT NULL"
	/* Any order merges right; host by host keeps each host's entries in cache. */
	" ORDER BY host_id";

static const char top_minutes_sql[] =
	"SELECT host_id, top FROM rollup_top_minute WHERE t >= ?1 AND t < ?2";

/* Feeds t the reports of [lo, hi] (ms, inclusive), or with minutes, the minute rows of [lo, hi). */
static int top_feed(db_reader_t *rd, const hostset_t *hs, const col_qopts_t *o, col_top_t *t,
                    bool minutes, int64_t lo, int64_t hi)
{
	sq_stmt_t *st;
	int rc, err = 0, blob = minutes ? 1 : 2;

	if (lo > hi || (minutes && lo == hi))
		return 0;
	if ((rc = sq_prepare(rd->h, minutes ? top_minutes_sql : tops_sql, &st)) != 0)
		return rd_fail(rd, rc);
	sq_bind_i64(st, 1, lo);
	sq_bind_i64(st, 2, hi);
	while (err == 0 && (rc = sq_step(st)) == SQ_ROW) {
		const col_host_t *h = host_by_id(hs, sq_i64(st, 0));
		const void *p = sq_blob(st, blob);
		size_t len = sq_bytes(st, blob);
		col_roll_top_t roll;
		wire_top_t top;

		if (!host_wanted(h, o, false))
			continue;
		if (minutes) {
			if ((err = db_roll_top_unpack(p, len, &roll)) == 0)
				err = col_top_add_roll(t, h, &roll);
			col_roll_top_close(&roll);
		} else {
			if ((err = db_top_unpack(p, len, &top)) == 0)
				err = col_top_add(t, h, sq_i64(st, 1), &top);
			free(top.ips);
		}
		if (err == -EBADMSG)
			snprintf(rd->msg, sizeof(rd->msg), "host %s: a stored top list is malformed",
			         h->hostname);
	}
	if (err == 0 && rc != SQ_DONE)
		err = rd_fail(rd, rc);
	sq_finalize(st);
	return err;
}

/* t rounded up to a minute. */
static int64_t minute_ceil(int64_t t)
{
	int64_t f = db__floor(t, 60000);

	return f == t ? t : f + 60000;
}

/*
 * With --since: the window's whole minutes from rollup_top_minute, the
 * partial minutes at its ends from the raw reports, which merges exactly
 * as all the raw reports would.
 */
static int top_window(db_reader_t *rd, const hostset_t *hs, const col_qopts_t *o, col_top_t *t)
{
	int err = 0;

	if (o->since_ms == 0) {
		/* Now: each fresh host's latest report. */
		for (size_t i = 0; i < hs->n && err == 0; i++) {
			const col_host_t *h = &hs->v[i];

			if (host_wanted(h, o, false) && !col_host_stale(h, o->now_ms))
				err = col_top_add(t, h, h->collected_at_ms, &h->top);
		}
	} else {
		int64_t lo = o->now_ms - o->since_ms, hi = o->now_ms;
		int64_t m0 = minute_ceil(lo), m1 = db__floor(hi + 1, 60000);

		if (m0 >= m1)
			err = top_feed(rd, hs, o, t, false, lo, hi);
		else if ((err = top_feed(rd, hs, o, t, false, lo, m0 - 1)) == 0 &&
		         (err = top_feed(rd, hs, o, t, true, m0, m1)) == 0)
			err = top_feed(rd, hs, o, t, false, m1, hi);
	}
	return err;
}

static int requests_window(db_reader_t *rd, const hostset_t *hs, const col_qopts_t *o,
                           col_req_t *a);

/* top-ips: the merge, with each IP's requests over the window (15 minutes to an hour). */
static int query_top(db_reader_t *rd, const hostset_t *hs, const col_qopts_t *o, fs_buf_t *out)
{
	col_qopts_t ro = *o;
	col_req_ip_t *rv = NULL;
	size_t rn = 0;
	col_req_t *req;
	col_top_t *t;
	int err;

	ro.since_ms = o->since_ms == 0                        ? 15 * 60000
	              : o->since_ms > COL_REQ_WINDOW_MAX_MS ? COL_REQ_WINDOW_MAX_MS : o->since_ms;
	if ((req = col_req_new(false)) == NULL)
		return -ENOMEM;
	if ((err = col_top_new(o, &t)) == 0) {
		if ((err = top_window(rd, hs, o, t)) == 0 &&
		    (err = requests_window(rd, hs, &ro, req)) == 0 &&
		    (err = col_req_ips(req, SIZE_MAX, &rv, &rn)) == 0) {
			col_top_set_requests(t, rv, rn, ro.since_ms);
			err = col_top_render(t, out);
		}
		col_top_free(t);
	}
	free(rv);
	col_req_free(req);
	return err;
}

/* ---- suspects ------------------------------------------------------------------- */

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One integer from a query with up to three bindings: ?1, ?2 times, ?3 the tier or NULL. */
static int count_rows(db_reader_t *rd, const char *sql, int64_t a, int64_t b, const char *tier,
                      uint32_t *out)
{
	sq_stmt_t *st;
	int rc;

	if ((rc = sq_prepare(rd->h, sql, &st)) != 0)
		return rd_fail(rd, rc);
	sq_bind_i64(st, 1, a);
	sq_bind_i64(st, 2, b);
	if (tier != NULL)
		sq_bind_text(st, 3, tier);
	if ((rc = sq_step(st)) == SQ_ROW) {
		*out = (uint32_t)sq_i64(st, 0);
		rc = 0;
	}
	sq_finalize(st);
	return rc == 0 ? 0 : rd_fail(rd, rc);
}

/* s's hours in [b0, b1): how many it was listed in, and its level's median over them. */
static int baseline(db_reader_t *rd, sq_stmt_t *st, int64_t b0, int64_t b1, const char *tier,
                    col_suspect_t *s)
{
	uint64_t v[24 * 366];
	size_t n = 0;
	int rc;

	sq_bind_blob(st, 1, s->w.ip.b, s->w.ip.len);
	sq_bind_i64(st, 2, b0);
	sq_bind_i64(st, 3, b1);
	if (tier != NULL)
		sq_bind_text(st, 4, tier);
	else
		sq_bind_null(st, 4);
	while ((rc = sq_step(st)) == SQ_ROW && n < sizeof(v) / sizeof(v[0]))
		v[n++] = (uint64_t)sq_i64(st, 0);
	sq_reset(st);
	if (rc != SQ_DONE && rc != SQ_ROW)
		return rd_fail(rd, rc);
	qsort(v, n, sizeof(v[0]), u64_cmp);
	s->hours_present = (uint32_t)n;
	s->baseline_median = n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return 0;
}

/* The suspects' borrowed parts: their tiers and requests point into these. */
typedef struct {
	col_top_t *win;
	col_req_t *req;
} suspects_keep_t;

static void suspects_keep_free(suspects_keep_t *k)
{
	col_top_free(k->win);
	col_req_free(k->req);
}

/*
 * The suspects of the window o->since_ms, judged: *out new (free()), *pending
 * the baseline's hours still to be built; what they borrow is in *keep
 * (suspects_keep_free()).  Heavy by connections, or by requests: an IP the
 * access logs saw busy is judged even when it holds few connections.
 */
static int suspects_compute(db_reader_t *rd, const hostset_t *hs, const col_qopts_t *o,
                            const col_suspect_cfg_t *cfg, col_suspect_t **out, size_t *n_out,
                            uint32_t *pending, suspects_keep_t *keep)
{
	col_qopts_t wo = *o, no = *o, ro = *o;
	col_top_t *win = NULL, *now = NULL;
	col_req_t *req = NULL;
	col_req_ip_t *rv = NULL;
	bool *judged = NULL;
	const col_top_ip_t *wv, *nv;
	size_t wn, nn, rn = 0, k = 0;
	col_suspect_t *s = NULL;
	sq_stmt_t *st = NULL;
	uint32_t hours = 0;
	int64_t b1, b0;
	int rc, err;

	*pending = 0;
	wo.state = no.state = COL_STATE_TOTAL;
	no.since_ms = 0;
	/* Requests from raw reports: the window's last hour at most (its rates are per report). */
	if (ro.since_ms > COL_REQ_WINDOW_MAX_MS)
		ro.since_ms = COL_REQ_WINDOW_MAX_MS;
	b1 = db__floor(o->now_ms - o->since_ms, 3600000);
	b0 = b1 - cfg->baseline_ms;
	if ((req = col_req_new(false)) == NULL) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = col_top_new(&wo, &win)) < 0 || (err = col_top_new(&no, &now)) < 0 ||
	    (err = top_window(rd, hs, &wo, win)) < 0 || (err = top_window(rd, hs, &no, now)) < 0 ||
	    (err = col_top_ips(win, &wv, &wn)) < 0 || (err = col_top_ips(now, &nv, &nn)) < 0 ||
	    (err = requests_window(rd, hs, &ro, req)) < 0 ||
	    (err = col_req_ips(req, SIZE_MAX, &rv, &rn)) < 0)
		goto out;
	if ((s = calloc(wn + rn + 1, sizeof(*s))) == NULL || (judged = calloc(rn + 1, 1)) == NULL) {
		err = -ENOMEM;
		goto out;
	}
	/*
	 * The hours still to be built first: an hour the writer builds between
	 * these reads then counts as pending (its verdicts wait one query more);
	 * counted the other way round, it could be neither pending nor among
	 * the baseline's hours, and a verdict made on a baseline short of it.
	 */
	if ((err = count_rows(rd, "SELECT count(*) FROM rollup_dirty_hour WHERE t >= ?1 AND t < ?2",
	                      b0, b1, NULL, pending)) < 0 ||
	    (err = count_rows(rd, o->tier ? "SELECT count(DISTINCT t) FROM rollup_ip_hour"
	                                    " WHERE t >= ?1 AND t < ?2 AND tier = ?3"
	                                  : "SELECT count(DISTINCT t) FROM rollup_ip_hour"
	                                    " WHERE t >= ?1 AND t < ?2",
	                      b0, b1, o->tier, &hours)) < 0)
		goto out;
	if ((rc = sq_prepare(rd->h, "SELECT sum(peak_total) FROM rollup_ip_hour WHERE ip = ?1"
	                             " AND t >= ?2 AND t < ?3 AND (CAST(?4 AS TEXT) IS NULL OR tier = ?4)"
	                             " GROUP BY t", &st)) != 0) {
		err = rd_fail(rd, rc);
		goto out;
	}
	/* The IPs with connections first (ranked by them), then those with only requests. */
	for (size_t i = 0; i < wn + rn && err == 0; i++) {
		const col_req_ip_t *rq;

		if (i < wn) {
			if ((rq = col_req_ip_find(rv, rn, &wv[i].ip)) != NULL)
				judged[rq - rv] = true;
			if (!col_suspect_heavy(cfg, &wv[i], rq))
				continue;
			s[k].w = wv[i];
		} else {
			rq = &rv[i - wn];
			if (judged[i - wn] || rq->rate < cfg->request_rate_min)
				continue;
			s[k].w = (col_top_ip_t){.ip = rq->ip, .hosts = rq->hosts, .tiers = rq->tiers,
			                        .n_tiers = rq->n_tiers};
		}
		if (rq != NULL) {
			s[k].has_requests = true;
			s[k].rq = *rq;
		}
		s[k].now = col_top_count(now, &s[k].w.ip);
		s[k].hours_baseline = hours;
		s[k].hours_pending = *pending;
		if ((err = baseline(rd, st, b0, b1, o->tier, &s[k])) == 0)
			col_suspect_judge(cfg, &s[k++]);
	}
out:
	sq_finalize(st);
	col_top_free(now);
	free(rv);
	free(judged);
	if (err < 0) {
		col_top_free(win);
		col_req_free(req);
		free(s);
		return err;
	}
	*out = s;
	*n_out = k;
	*keep = (suspects_keep_t){win, req};
	return 0;
}

int db_suspects(db_reader_t *rd, col_qopts_t *o, const col_suspect_cfg_t *cfg, fs_buf_t *out)
{
	col_suspect_t *s = NULL;
	suspects_keep_t keep = {0};
	uint32_t pending;
	hostset_t hs;
	size_t n = 0;
	int err;

	rd->msg[0] = '\0';
	if (o->since_ms == 0)
		o->since_ms = 15 * 60000;
	if ((err = load_hosts(rd, HOSTS_TOP, &hs)) < 0)
		return err;
	if ((err = suspects_compute(rd, &hs, o, cfg, &s, &n, &pending, &keep)) == 0)
		err = col_suspects_render(s, n, cfg, o, pending, out);
	suspects_keep_free(&keep);
	free(s);
	hostset_free(&hs);
	return err;
}

int db_metrics(db_reader_t *rd, const col_suspect_cfg_t *cfg, int64_t now_ms, fs_buf_t *out)
{
	col_suspect_t *s = NULL;
	suspects_keep_t keep = {0};
	col_qopts_t o;
	uint32_t pending;
	hostset_t hs;
	size_t n = 0;
	int err;

	rd->msg[0] = '\0';
	col_qopts_init(&o, now_ms);
	o.since_ms = COL_METRICS_SUSPECTS_MS;
	if ((err = load_hosts(rd, HOSTS_TOP_OR_NONE | HOSTS_PORTS | HOSTS_REQUESTS | HOSTS_COUNTERS,
	                      &hs)) < 0)
		return err;
	/* A stored list that does not decode costs the suspects' families, not the rest. */
	err = suspects_compute(rd, &hs, &o, cfg, &s, &n, &pending, &keep);
	if (err == 0 || err == -EBADMSG)
		err = col_metrics_fleet(hs.v, hs.n, err == 0 ? s : NULL, n, now_ms, out);
	suspects_keep_free(&keep);
	free(s);
	hostset_free(&hs);
	return err;
}

/* ---- trend ------------------------------------------------------------------------ */

/* Where a trend's rows come from. */
typedef enum { SRC_RAW, SRC_HOST_MINUTE, SRC_HOST_HOUR, SRC_TIER_MINUTE } source_t;

static const struct {
	const char *table, *tcol;
	int64_t res;
} sources[] = {
	[SRC_RAW] = {"reports", "collected_at_ms", 0},
	[SRC_HOST_MINUTE] = {"rollup_minute", "t", 60000},
	[SRC_HOST_HOUR] = {"rollup_hour", "t", 3600000},
	[SRC_TIER_MINUTE] = {"rollup_tier_minute", "t", 60000},
};

/* The rollups' column prefix of a state (schema/003_rollups.sql). */
static const char *roll_col(int state)
{
	return state == COL_STATE_TOTAL ? "total" : wire_state_key(state);
}

/*
 * Feeds t the cells of src in [from, to), bucketed from base, grouped by
 * series: hosts (raw reports: each report a sample; host rollups: each
 * minute or hour a sample, its mean the sample's value), or tiers (tier
 * rollups: each minute a sample, already summed over the tier's hosts).
 */
static int trend_read(db_reader_t *rd, const hostset_t *hs, const col_qopts_t *o,
                      col_trend_t *t, source_t src, int64_t from, int64_t to, int64_t base)
{
	const char *c = roll_col(o->state);
	char sql[640], raw[RAW_COL_LEN];
	sq_stmt_t *st;
	int64_t series = 0;
	char last_tier[64] = "";
	int rc, err = 0;

	switch (src) {
	case SRC_RAW:
		snprintf(sql, sizeof(sql),
		         "SELECT host_id, (collected_at_ms - ?4) / ?3, count(*), sum(%s), max(%s), 1"
		         " FROM reports WHERE collected_at_ms >= ?1 AND collected_at_ms < ?2"
		         " GROUP BY 1, 2 ORDER BY 1", raw_col(o->state, raw), raw_col(o->state, raw));
		break;
	case SRC_HOST_MINUTE:
	case SRC_HOST_HOUR:
		/*
		 * Host by host along the primary key (host_id, t): a range of each
		 * host's rows, not the whole window's index entries and a lookup each.
		 */
		snprintf(sql, sizeof(sql),
		         "SELECT host_id, (t - ?4) / ?3, count(*), sum(%s_sum * 1.0 / n), max(%s_max), 1"
		         " FROM %s WHERE host_id IN (SELECT id FROM hosts) AND t >= ?1 AND t < ?2"
		         " GROUP BY 1, 2 ORDER BY 1, 2", c, c, sources[src].table);
		break;
	case SRC_TIER_MINUTE:
		snprintf(sql, sizeof(sql),
		         "SELECT tier, (t - ?4) / ?3, count(*), sum(%s_mean), max(%s_max), max(hosts)"
		         " FROM rollup_tier_minute WHERE (CAST(?5 AS TEXT) IS NULL OR tier = ?5) AND t >= ?1 AND t < ?2"
		         " GROUP BY 1, 2 ORDER BY 1, 2", c, c);
		break;
	}
	if ((rc = sq_prepare(rd->h, sql, &st)) != 0)
		return rd_fail(rd, rc);
	sq_bind_i64(st, 1, from);
	sq_bind_i64(st, 2, to);
	sq_bind_i64(st, 3, o->step_ms);
	sq_bind_i64(st, 4, base);
	if (src == SRC_TIER_MINUTE && o->tier)
		sq_bind_text(st, 5, o->tier);
	while (err == 0 && (rc = sq_step(st)) == SQ_ROW) {
		if (src == SRC_TIER_MINUTE) {
			if (strcmp(last_tier, text(st, 0)) != 0) {
				snprintf(last_tier, sizeof(last_tier), "%s", text(st, 0));
				series++;
			}
		} else {
			const col_host_t *h = host_by_id(hs, sq_i64(st, 0));

			if (!host_wanted(h, o, true))
				continue;
			series = h->id;
		}
		err = col_trend_add(t, series, base + sq_i64(st, 1) * o->step_ms,
		                    (uint64_t)sq_i64(st, 2), sq_f64(st, 3),
		                    (uint64_t)sq_i64(st, 4),
		                    (uint32_t)sq_i64(st, 5));
	}
	if (err == 0 && rc != SQ_DONE)
		err = rd_fail(rd, rc);
	sq_finalize(st);
	return err;
}

/* The earliest time src holds, or INT64_MAX when it is empty. */
static int source_start(db_reader_t *rd, source_t src, int64_t *start)
{
	char sql[128];
	sq_stmt_t *st;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT min(%s) FROM %s", sources[src].tcol, sources[src].table);
	if ((rc = sq_prepare(rd->h, sql, &st)) != 0)
		return rd_fail(rd, rc);
	*start = INT64_MAX;
	if ((rc = sq_step(st)) == SQ_ROW) {
		if (!sq_null(st, 0))
			*start = sq_i64(st, 0);
		rc = 0;
	}
	sq_finalize(st);
	return rc == 0 ? 0 : rd_fail(rd, rc);
}

/*
 * Which rows answer: a host's trend reads its coarsest rollup that divides
 * the step; a tier's or the fleet's reads the tier minute rollups (their
 * hosts already summed), or the hosts' hour rollups for an hour step
 * reaching back past the minute rollups' retention.  A step no rollup
 * divides reads raw reports, and minute rollups (each minute in the bucket
 * where it starts) for the part of the window that raw reports no longer
 * cover.  The writer keeps rollups as complete as the raw reports.
 */
/* Port p's count of state (COL_STATE_TOTAL: all) in a report's table by service, both ways. */
static uint64_t port_value(const wire_ports_t *ps, uint32_t p, int state)
{
	uint64_t v = 0;

	for (int dir = 0; dir < 2; dir++) {
		const wire_port_t *x = dir ? ps->outbound : ps->inbound;
		size_t n = dir ? ps->n_outbound : ps->n_inbound;

		for (size_t i = 0; i < n; i++)
			if (x[i].port == p)
				v += state == COL_STATE_TOTAL ? wire_states_total(&x[i].st) : x[i].st.n[state];
	}
	return v;
}

/*
 * trend --port P: the sockets on port P (inbound) and to it (outbound), per
 * host, from the raw reports' tables by service (no rollup keeps ports: the
 * window is the raw retention's).  A port a report leaves in its rest
 * counts 0 there.
 */
static int trend_port(db_reader_t *rd, const hostset_t *hs, const col_qopts_t *o,
                      col_trend_t *t, int64_t from, int64_t to)
{
	static const char sql[] =
		"SELECT host_id, collected_at_ms, ports FROM reports"
		" WHERE collected_at_ms >= ?1 AND collected_at_ms < ?2 ORDER BY host_id, collected_at_ms";
	sq_stmt_t *st;
	int64_t host = 0, bucket = 0;
	uint64_t n = 0, max = 0;
	double sum = 0;
	int rc, err = 0;

	if ((rc = sq_prepare(rd->h, sql, &st)) != 0)
		return rd_fail(rd, rc);
	sq_bind_i64(st, 1, from);
	sq_bind_i64(st, 2, to);
	while (err == 0 && (rc = sq_step(st)) == SQ_ROW) {
		const col_host_t *h = host_by_id(hs, sq_i64(st, 0));
		int64_t b = from + (sq_i64(st, 1) - from) / o->step_ms * o->step_ms;
		wire_ports_t ps;
		uint64_t v;

		if (!host_wanted(h, o, true))
			continue;
		if ((err = db_ports_unpack(sq_blob(st, 2), sq_bytes(st, 2), &ps)) < 0) {
			snprintf(rd->msg, sizeof(rd->msg), "host %s: a stored port table is malformed",
			         h->hostname);
			break;
		}
		v = port_value(&ps, o->port, o->state);
		free(ps.inbound);
		free(ps.outbound);
		if (ps.limit == 0)
			continue; /* a report not split by service says nothing of the port */
		if (n > 0 && (h->id != host || b != bucket)) {
			err = col_trend_add(t, host, bucket, n, sum, max, 1);
			n = 0;
			sum = 0;
			max = 0;
		}
		host = h->id;
		bucket = b;
		n++;
		sum += (double)v;
		if (v > max)
			max = v;
	}
	if (err == 0 && n > 0)
		err = col_trend_add(t, host, bucket, n, sum, max, 1);
	if (err == 0 && rc != SQ_DONE && rc != SQ_ROW)
		err = rd_fail(rd, rc);
	sq_finalize(st);
	return err;
}

/*
 * The access logs' requests of the window (now - since, now] of the hosts
 * asked for, into a: its whole minutes from the minute rows (rollup_top_minute
 * .requests), its partial minutes at either end from the raw reports, all of
 * a host's rows together (col_req_add()'s order), which adds up exactly as all
 * the raw reports would.
 */
static int requests_window(db_reader_t *rd, const hostset_t *hs, const col_qopts_t *o,
                           col_req_t *a)
{
	static const char sql[] =
		"SELECT host_id, 0, interval_ms, requests FROM reports"
		" WHERE ((collected_at_ms > ?1 AND collected_at_ms < ?3)"
		" OR (collected_at_ms >= ?4 AND collected_at_ms <= ?2)) AND requests IS NOT NULL"
		" UNION ALL SELECT host_id, 1, 0, requests FROM rollup_top_minute"
		" WHERE t >= ?3 AND t < ?4 AND requests IS NOT NULL ORDER BY 1";
	int64_t lo = o->now_ms - o->since_ms, hi = o->now_ms;
	/* The whole minutes [m0, m1) within (lo, hi]; none when m0 >= m1. */
	int64_t m0 = minute_ceil(lo + 1), m1 = db__floor(hi + 1, 60000);
	sq_stmt_t *st;
	int rc, err = 0;

	if (m0 >= m1)
		m0 = m1 = hi + 1;
	if ((rc = sq_prepare(rd->h, sql, &st)) != 0)
		return rd_fail(rd, rc);
	sq_bind_i64(st, 1, lo);
	sq_bind_i64(st, 2, hi);
	sq_bind_i64(st, 3, m0);
	sq_bind_i64(st, 4, m1);
	while (err == 0 && (rc = sq_step(st)) == SQ_ROW) {
		const col_host_t *h = host_by_id(hs, sq_i64(st, 0));
		const void *p = sq_blob(st, 3);
		size_t len = sq_bytes(st, 3);

		if (!host_wanted(h, o, false))
			continue;
		/* A corrupt column costs its report or minute, not the answer. */
		if (sq_i64(st, 1) == 0) {
			wire_requests_t q;

			if (db_requests_unpack(p, len, &q) == 0)
				err = col_req_add(a, h->id, h->tier, (uint32_t)sq_i64(st, 2), &q);
			wire_requests_close(&q);
		} else {
			col_roll_req_t q;

			if ((err = db_roll_req_unpack(p, len, &q)) == 0)
				err = col_req_add_roll(a, h->id, h->tier, &q);
			else if (err == -EBADMSG)
				err = 0;
			col_roll_req_close(&q);
		}
	}
	if (err == 0 && rc != SQ_DONE && rc != SQ_ROW)
		err = rd_fail(rd, rc);
	sq_finalize(st);
	return err;
}

/* requests: per IP or host, from the raw reports of the window (default the last hour). */
static int query_requests(db_reader_t *rd, const hostset_t *hs, col_qopts_t *o, fs_buf_t *out)
{
	col_req_t *a;
	int err;

	if (o->since_ms == 0)
		o->since_ms = 3600000;
	if ((a = col_req_new(o->by_domain)) == NULL)
		return -ENOMEM;
	if ((err = requests_window(rd, hs, o, a)) == 0)
		err = col_req_render(a, o, out);
	col_req_free(a);
	return err;
}

static int query_trend(db_reader_t *rd, const hostset_t *hs, col_qopts_t *o, fs_buf_t *out,
                       const char **why)
{
	source_t src = SRC_RAW, before_raw = o->host ? SRC_HOST_MINUTE : SRC_TIER_MINUTE;
	const char *label = "raw";
	col_trend_t *t;
	int64_t from, to, start = INT64_MAX, cut;
	bool by_host = false;
	int err;

	if (o->host) {
		size_t i;

		for (i = 0; i < hs->n && !host_wanted(&hs->v[i], o, true); i++)
			;
		if (i == hs->n) {
			*why = "no such host";
			return -EINVAL;
		}
	}
	if ((err = col_trend_new(o, &t)) < 0) {
		if (err == -EINVAL)
			*why = "--since / --step make too many buckets (at most 100000)";
		return err;
	}
	col_trend_window(t, &from, &to);
	if (o->port) {
		if ((err = trend_port(rd, hs, o, t, from, to)) == 0)
			err = col_trend_render(t, "raw", out);
		goto out;
	}
	/*
	 * A tier minute sums the hosts that reported in it: a host reporting
	 * less often than once a minute would be missing from some, so such a
	 * fleet is summed host by host.
	 */
	for (size_t i = 0; i < hs->n && !o->host; i++)
		if (host_wanted(&hs->v[i], o, false) && hs->v[i].interval_ms > 60000)
			by_host = true;
	if (by_host)
		before_raw = SRC_HOST_MINUTE;
	if (o->step_ms % 60000 == 0) {
		src = o->host || by_host ? SRC_HOST_MINUTE : SRC_TIER_MINUTE;
		label = "minute";
		if (o->step_ms % 3600000 == 0) {
			if (o->host || by_host) {
				src = SRC_HOST_HOUR;
			} else if ((err = source_start(rd, SRC_TIER_MINUTE, &start)) < 0) {
				goto out;
			} else if (start > from) {
				src = SRC_HOST_HOUR;
			}
			label = src == SRC_HOST_HOUR ? "hour" : "minute";
		}
	}
	cut = from;
	if (src == SRC_RAW) {
		if ((err = source_start(rd, SRC_RAW, &start)) < 0)
			goto out;
		/* The first whole bucket raw reports cover; minute rollups before it. */
		if (start > from) {
			cut = start >= to ? to
			                  : from + (start - from + o->step_ms - 1) / o->step_ms * o->step_ms;
			if ((err = trend_read(rd, hs, o, t, before_raw, from, cut, from)) < 0)
				goto out;
			label = cut >= to ? "minute" : "minute+raw";
		}
	}
	if (cut < to && (err = trend_read(rd, hs, o, t, src, cut, to, from)) < 0)
		goto out;
	err = col_trend_render(t, label, out);
out:
	col_trend_free(t);
	return err;
}

/* ---- sysctl ------------------------------------------------------------------------- */

static int counter_rates(db_reader_t *rd, const hostset_t *hs, int64_t from,
                         col_host_rates_t **out, size_t *n);

static int by_host(const void *a, const void *b)
{
	int64_t x = ((const col_sysctl_t *)a)->host_id, y = ((const col_sysctl_t *)b)->host_id;

	return x < y ? -1 : x > y;
}

static int by_rule(const void *a, const void *b)
{
	const col_advice_t *x = a, *y = b;

	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return x->host->id < y->host->id ? -1 : x->host->id > y->host->id;
}

/*
 * The advice of each fresh host (its sysctls, latest report with its top
 * list, counter rates over --since or the last hour), sorted by rule and
 * host: *out new (free()).
 */
static int advice_compute(db_reader_t *rd, const hostset_t *hs, const col_sysctl_t *rows,
                          size_t n, const col_qopts_t *o, col_advice_t **out, size_t *n_out)
{
	col_sysctl_t *mine = malloc((n ? n : 1) * sizeof(*mine));
	col_advice_t *adv = NULL;
	col_host_rates_t *rates = NULL;
	size_t nr = 0, na = 0, cap = 0, lo = 0, ri = 0;
	int err;

	if (mine == NULL)
		return -ENOMEM;
	if (n > 0) {
		memcpy(mine, rows, n * sizeof(*mine));
		qsort(mine, n, sizeof(*mine), by_host);
	}
	if ((err = counter_rates(rd, hs, o->now_ms - (o->since_ms ? o->since_ms : 3600000), &rates,
	                         &nr)) < 0)
		goto out;
	/* hs, mine and rates all go by host id. */
	for (size_t i = 0; i < hs->n && err == 0; i++) {
		const col_host_t *h = &hs->v[i];
		col_advice_in_t in = {.host = h};
		size_t hi, need;

		for (; lo < n && mine[lo].host_id < h->id; lo++)
			;
		for (hi = lo; hi < n && mine[hi].host_id == h->id; hi++)
			;
		for (; ri < nr && rates[ri].host->id < h->id; ri++)
			;
		if (!host_wanted(h, o, false) || col_host_stale(h, o->now_ms))
			continue;
		in.sysctls = mine + lo;
		in.n_sysctls = hi - lo;
		in.rates = ri < nr && rates[ri].host->id == h->id ? &rates[ri] : NULL;
		/* col_advice_host() appends at adv[need], counting on from na; grown, it goes again. */
		for (;;) {
			need = na;
			col_advice_host(&in, adv, cap, &need);
			if (need <= cap)
				break;
			col_advice_t *v = realloc(adv, (cap = 2 * need) * sizeof(*v));

			if (v == NULL) {
				err = -ENOMEM;
				break;
			}
			adv = v;
		}
		if (err == 0)
			na = need;
		lo = hi;
	}
	if (err == 0 && na > 0)
		qsort(adv, na, sizeof(*adv), by_rule);
out:
	free(rates);
	free(mine);
	if (err < 0) {
		free(adv);
		return err;
	}
	*out = adv;
	*n_out = na;
	return 0;
}

static void sysctls_free(col_sysctl_t *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)rows[i].name);
		free((char *)rows[i].value);
	}
	free(rows);
}

/* Every host's current sysctls, sorted by name and host: *out new (sysctls_free()). */
static int read_sysctls(db_reader_t *rd, col_sysctl_t **out, size_t *n_out)
{
	static const char sql[] =
		/* Every name: the advice reads them all, --name only narrows the table. */
		"SELECT host_id, name, value, changed_at_ms FROM host_sysctls ORDER BY name, host_id";
	col_sysctl_t *rows = NULL;
	size_t n = 0, cap = 0;
	sq_stmt_t *st;
	int rc, err = 0;

	if ((rc = sq_prepare(rd->h, sql, &st)) != 0)
		return rd_fail(rd, rc);
	while ((rc = sq_step(st)) == SQ_ROW) {
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 256;
			col_sysctl_t *v = realloc(rows, ncap * sizeof(*v));

			if (v == NULL) {
				err = -ENOMEM;
				break;
			}
			rows = v;
			cap = ncap;
		}
		rows[n].host_id = sq_i64(st, 0);
		rows[n].name = strdup(text(st, 1));
		rows[n].value = strdup(text(st, 2));
		rows[n].changed_at_ms = sq_i64(st, 3);
		if (rows[n].name == NULL || rows[n].value == NULL) {
			free((char *)rows[n].name);
			free((char *)rows[n].value);
			err = -ENOMEM;
			break;
		}
		n++;
	}
	if (err == 0 && rc != SQ_DONE)
		err = rd_fail(rd, rc);
	sq_finalize(st);
	if (err < 0) {
		sysctls_free(rows, n);
		return err;
	}
	*out = rows;
	*n_out = n;
	return 0;
}

static int query_sysctl(db_reader_t *rd, const hostset_t *hs, const col_qopts_t *o, fs_buf_t *out)
{
	col_sysctl_t *rows = NULL;
	col_advice_t *adv = NULL;
	size_t n = 0, na = 0;
	int err;

	if ((err = read_sysctls(rd, &rows, &n)) == 0 &&
	    (err = advice_compute(rd, hs, rows, n, o, &adv, &na)) == 0)
		err = col_sysctl_render(hs->v, hs->n, rows, n, adv, na, o, out);
	free(adv);
	sysctls_free(rows, n);
	return err;
}

/* ---- summary ------------------------------------------------------------------------ */

static int peak_cmp(const void *a, const void *b)
{
	return strcmp(((const col_tier_peak_t *)a)->tier, ((const col_tier_peak_t *)b)->tier);
}

/* A tier's sums at one minute: open addressing on (tier, t). */
typedef struct {
	bool used;
	uint32_t tier;
	int64_t t;
	uint64_t v[WIRE_NSTATES + 1];   /* as col_tier_peak_t's peak */
} cell_t;

typedef struct {
	cell_t *c;
	size_t cap, n;
} cells_t;

static size_t cell_slot(const cell_t *c, size_t cap, uint32_t tier, int64_t t)
{
	size_t i = (size_t)(((uint64_t)t / 60000 * 0x9E3779B97F4A7C15ull) ^ tier) & (cap - 1);

	while (c[i].used && (c[i].tier != tier || c[i].t != t))
		i = (i + 1) & (cap - 1);
	return i;
}

/* Adds a host's minute maxima v to its tier's cell at t.  0 or -ENOMEM. */
static int cell_add(cells_t *m, uint32_t tier, int64_t t, const uint64_t *v)
{
	cell_t *x;

	if (2 * (m->n + 1) > m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 1024;
		cell_t *c = calloc(cap, sizeof(*c));

		if (c == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < m->cap; i++)
			if (m->c[i].used)
				c[cell_slot(c, cap, m->c[i].tier, m->c[i].t)] = m->c[i];
		free(m->c);
		m->c = c;
		m->cap = cap;
	}
	x = &m->c[cell_slot(m->c, m->cap, tier, t)];
	if (!x->used) {
		*x = (cell_t){.used = true, .tier = tier, .t = t};
		m->n++;
	}
	for (int s = 0; s <= WIRE_NSTATES; s++)
		x->v[s] += v[s];
	return 0;
}

/*
 * Each tier's peak, per state, of the sum over its hosts of their minute
 * maxima, sorted by tier, tiers with no rows in the window at 0.  A host's
 * value holds, as everywhere, until its report is 3 intervals old: a host
 * that reports less often than once a minute carries its minute into the
 * next ones, until its next row or that age.  *out new (free()).
 */
static int tier_peaks(db_reader_t *rd, const hostset_t *hs, int64_t from, int64_t now,
                      col_tier_peak_t **out, size_t *n)
{
	char sql[1024];
	size_t len, np = 0;
	col_tier_peak_t *p = calloc(hs->n ? hs->n : 1, sizeof(*p));
	uint32_t *tier_of = calloc(hs->n ? hs->n : 1, sizeof(*tier_of));
	cells_t cells = {0};
	int64_t carry_max = 60000, first = db__floor(from, 60000);
	int64_t pend_host = -1, pend_t = 0, pend_span = 0;
	uint64_t pend[WIRE_NSTATES + 1] = {0};
	sq_stmt_t *st = NULL;
	int rc, err = 0;

	if (p == NULL || tier_of == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < hs->n; i++) {
		size_t k;
		int64_t carry = 3 * (int64_t)hs->v[i].interval_ms;

		for (k = 0; k < np && strcmp(p[k].tier, hs->v[i].tier) != 0; k++)
			;
		if (k == np)
			p[np++].tier = hs->v[i].tier;
		tier_of[i] = (uint32_t)k;
		if (carry > carry_max)
			carry_max = carry;
	}
	len = (size_t)snprintf(sql, sizeof(sql), "SELECT host_id, t");
	for (int s = WIRE_ESTABLISHED; s < WIRE_NSTATES; s++)
		if (s != WIRE_LISTEN)
			len += (size_t)snprintf(sql + len, sizeof(sql) - len, ", %s_max", wire_state_key(s));
	/* Host by host along the primary key, as the trends read it. */
	snprintf(sql + len, sizeof(sql) - len,
	         ", total_max FROM rollup_minute WHERE host_id IN (SELECT id FROM hosts)"
	         " AND t >= ?1 AND t <= ?2 ORDER BY host_id, t");
	if ((rc = sq_prepare(rd->h, sql, &st)) != 0) {
		err = rd_fail(rd, rc);
		goto out;
	}
	/* Rows up to the longest carry before the window can reach into it. */
	sq_bind_i64(st, 1, first - db__floor(carry_max + 59999, 60000));
	sq_bind_i64(st, 2, now);
	for (;;) {
		int64_t host = -1, t = INT64_MAX;

		if ((rc = sq_step(st)) == SQ_ROW) {
			host = sq_i64(st, 0);
			t = sq_i64(st, 1);
		} else if (rc != SQ_DONE) {
			err = rd_fail(rd, rc);
			break;
		}
		/* The pending row holds until this one, its carry's end, or now. */
		if (pend_host >= 0) {
			const col_host_t *h = host_by_id(hs, pend_host);
			int64_t end = pend_t + pend_span;

			if (host == pend_host && t < end)
				end = t;
			for (int64_t m = pend_t; m < end && m <= now && err == 0; m += 60000)
				if (m >= first)
					err = cell_add(&cells, tier_of[h - hs->v], m, pend);
		}
		if (rc == SQ_DONE || err < 0)
			break;
		const col_host_t *h = host_by_id(hs, host);

		if (h == NULL) {
			pend_host = -1;
			continue;
		}
		pend_host = host;
		pend_t = t;
		/* A minute row's maxima hold for the minute and up to 3 intervals after its reports. */
		pend_span = db__floor(3 * (int64_t)h->interval_ms + 59999, 60000);
		if (pend_span < 60000)
			pend_span = 60000;
		for (int s = WIRE_ESTABLISHED, col = 2; s <= WIRE_NSTATES; s++)
			if (s != WIRE_LISTEN)
				pend[s] = (uint64_t)sq_i64(st, col++);
	}
	for (size_t i = 0; i < cells.cap && err == 0; i++) {
		const cell_t *c = &cells.c[i];

		for (int s = 0; c->used && s <= WIRE_NSTATES; s++)
			if (c->v[s] > p[c->tier].peak[s])
				p[c->tier].peak[s] = c->v[s];
	}
out:
	sq_finalize(st);
	free(cells.c);
	free(tier_of);
	if (err < 0) {
		free(p);
		return err;
	}
	qsort(p, np, sizeof(*p), peak_cmp);
	*out = p;
	*n = np;
	return 0;
}

/* The names.id of each summary counter; 0 when no report ever carried it. */
static int counter_ids(db_reader_t *rd, uint32_t ids[COL_NCTRS])
{
	sq_stmt_t *st;
	int rc = SQ_DONE, err;

	if ((rc = sq_prepare(rd->h, "SELECT id FROM names WHERE name = ?1", &st)) != 0)
		return rd_fail(rd, rc);
	for (int c = 0; c < COL_NCTRS; c++) {
		sq_bind_text(st, 1, col_counter_names[c]);
		rc = sq_step(st);
		ids[c] = rc == SQ_ROW ? (uint32_t)sq_i64(st, 0) : 0;
		sq_reset(st);
		if (rc != SQ_ROW && rc != SQ_DONE)
			break;
	}
	err = rc == SQ_ROW || rc == SQ_DONE ? 0 : rd_fail(rd, rc);
	sq_finalize(st);
	return err;
}

/*
 * Per host, each counter's rate per minute between its first and last
 * report of the window (a counter that went down, after a reboot, counts
 * from 0).  *out new (free()), in hs's order, hosts without two reports
 * left out.
 */
static int counter_rates(db_reader_t *rd, const hostset_t *hs, int64_t from,
                         col_host_rates_t **out, size_t *n)
{
	static const char span_sql[] =
		"SELECT host_id, min(seq), max(seq) FROM reports WHERE collected_at_ms >= ?1"
		" GROUP BY host_id ORDER BY host_id";
	static const char row_sql[] =
		"SELECT collected_at_ms, counters FROM reports WHERE host_id = ?1 AND seq = ?2";
	col_host_rates_t *r = calloc(hs->n ? hs->n : 1, sizeof(*r));
	sq_stmt_t *span = NULL, *row = NULL;
	uint32_t ids[COL_NCTRS];
	size_t nr = 0;
	int rc, err;

	if (r == NULL)
		return -ENOMEM;
	if ((err = counter_ids(rd, ids)) < 0)
		goto out;
	if ((rc = sq_prepare(rd->h, span_sql, &span)) != 0 ||
	    (rc = sq_prepare(rd->h, row_sql, &row)) != 0) {
		err = rd_fail(rd, rc);
		goto out;
	}
	sq_bind_i64(span, 1, from);
	while (err == 0 && (rc = sq_step(span)) == SQ_ROW) {
		const col_host_t *h = host_by_id(hs, sq_i64(span, 0));
		uint64_t v[2][COL_NCTRS] = {{0}};
		uint32_t found[2] = {0, 0};
		int64_t t[2] = {0, 0};

		if (h == NULL || sq_i64(span, 1) == sq_i64(span, 2))
			continue;
		for (int e = 0; e < 2 && err == 0; e++) {
			int rrc;

			sq_bind_i64(row, 1, h->id);
			sq_bind_i64(row, 2, sq_i64(span, 1 + e));
			if ((rrc = sq_step(row)) == SQ_ROW) {
				t[e] = sq_i64(row, 0);
				if ((err = db_counters_pick(sq_blob(row, 1),
				                            sq_bytes(row, 1), ids,
				                            COL_NCTRS, v[e], &found[e])) < 0)
					snprintf(rd->msg, sizeof(rd->msg),
					         "host %s: a stored counters column is malformed", h->hostname);
			} else if (rrc != SQ_DONE) {
				err = rd_fail(rd, rrc);
			}
			sq_reset(row);
		}
		if (err < 0)
			break;
		if (t[1] <= t[0])
			continue;
		r[nr].host = h;
		for (int c = 0; c < COL_NCTRS; c++) {
			uint64_t d = v[1][c] >= v[0][c] ? v[1][c] - v[0][c] : v[1][c];

			r[nr].per_min[c] = ids[c] && (found[0] & found[1] & (1u << c))
			                   ? (double)d * 60000.0 / (double)(t[1] - t[0]) : -1;
		}
		nr++;
	}
	if (err == 0 && rc != SQ_DONE)
		err = rd_fail(rd, rc);
out:
	sq_finalize(span);
	sq_finalize(row);
	if (err < 0) {
		free(r);
		return err;
	}
	*out = r;
	*n = nr;
	return 0;
}

int db_summary(db_reader_t *rd, col_qopts_t *o, const col_thresholds_t *th,
               const col_suspect_cfg_t *sus, fs_buf_t *out)
{
	col_tier_peak_t *peaks = NULL;
	col_host_rates_t *rates = NULL;
	col_suspect_t *s = NULL;
	suspects_keep_t keep = {0};
	col_sysctl_t *rows = NULL;
	col_advice_t *adv = NULL;
	size_t np = 0, nr = 0, ns = 0, nrows = 0, na = 0, k = 0;
	uint32_t pending;
	hostset_t hs;
	int err;

	rd->msg[0] = '\0';
	if (o->since_ms == 0)
		o->since_ms = 86400000;
	if ((err = load_hosts(rd, HOSTS_TOP | HOSTS_LISTENERS, &hs)) < 0)
		return err;
	/* --tier: the tier's peaks, counters and stale agents as well as its attacks and advice. */
	if (o->tier)
		hostset_keep_tier(&hs, o->tier);
	if ((err = tier_peaks(rd, &hs, o->now_ms - o->since_ms, o->now_ms, &peaks, &np)) == 0 &&
	    (err = counter_rates(rd, &hs, o->now_ms - o->since_ms, &rates, &nr)) == 0 &&
	    (err = suspects_compute(rd, &hs, o, sus, &s, &ns, &pending, &keep)) == 0 &&
	    (err = read_sysctls(rd, &rows, &nrows)) == 0 &&
	    (err = advice_compute(rd, &hs, rows, nrows, o, &adv, &na)) == 0) {
		size_t waiting = 0;

		/* The attack verdicts only, and how many verdicts wait for the baseline. */
		for (size_t i = 0; i < ns; i++) {
			waiting += col_suspect_waits(&s[i]);
			if (col_verdict_blocks(s[i].verdict))
				s[k++] = s[i];
		}
		col_req_ip_t *top = NULL;
		size_t ntop = 0;

		if ((err = col_req_ips(keep.req, COL_SUMMARY_REQUESTERS, &top, &ntop)) == 0) {
			col_summary_extra_t x = {s, k, adv, na, pending, waiting, top, ntop,
			                         o->since_ms < COL_REQ_WINDOW_MAX_MS ? o->since_ms
			                                                             : COL_REQ_WINDOW_MAX_MS};

			err = col_summary_render(hs.v, hs.n, peaks, np, rates, nr, &x, th, o, out);
		}
		free(top);
	}
	free(peaks);
	free(rates);
	free(s);
	suspects_keep_free(&keep);
	free(adv);
	sysctls_free(rows, nrows);
	hostset_free(&hs);
	return err;
}

/* ---- dispatch ---------------------------------------------------------------------- */

int db_query(db_reader_t *rd, col_cmd_id_t cmd, col_qopts_t *o, const db_query_cfg_t *cfg,
             fs_buf_t *out, const char **why)
{
	unsigned what = 0;
	hostset_t hs;
	int err;

	*why = NULL;
	rd->msg[0] = '\0';
	if ((unsigned)cmd >= COL_NCMDS || !(col_cmd(cmd)->formats & (1u << o->format))) {
		*why = "not a format of this query";
		return -EINVAL;
	}
	if ((cmd == COL_CMD_HOSTS || cmd == COL_CMD_TIERS) && (o->by_ip || o->by_domain)) {
		*why = "--by: tiers and hosts split by port";
		return -EINVAL;
	}
	if (cmd == COL_CMD_REQUESTS && o->by_port) {
		*why = "--by: requests are by ip or by domain";
		return -EINVAL;
	}
	if (cmd == COL_CMD_SUMMARY)
		return db_summary(rd, o, cfg->th, cfg->sus, out);
	if (cmd == COL_CMD_SUSPECTS)
		return db_suspects(rd, o, cfg->sus, out);
	/* top-ips now reads the latest top lists; sysctl's advice those and the listeners. */
	if (cmd == COL_CMD_SYSCTL)
		what = HOSTS_TOP | HOSTS_LISTENERS;
	else if (cmd == COL_CMD_TOP_IPS && o->since_ms == 0)
		what = HOSTS_TOP;
	else if ((cmd == COL_CMD_HOSTS || cmd == COL_CMD_TIERS) && o->by_port)
		what = HOSTS_PORTS;
	if ((err = load_hosts(rd, what, &hs)) < 0)
		return err;
	switch (cmd) {
	case COL_CMD_HOSTS:
		err = o->by_port ? col_hosts_ports_render(hs.v, hs.n, o, out)
		                 : col_hosts_render(hs.v, hs.n, o, out);
		break;
	case COL_CMD_TIERS:
		err = o->by_port ? col_tiers_ports_render(hs.v, hs.n, o, out)
		                 : col_tiers_render(hs.v, hs.n, o, out);
		break;
	case COL_CMD_TOP_IPS: err = query_top(rd, &hs, o, out); break;
	case COL_CMD_SYSCTL: err = query_sysctl(rd, &hs, o, out); break;
	case COL_CMD_TREND: err = query_trend(rd, &hs, o, out, why); break;
	case COL_CMD_REQUESTS: err = query_requests(rd, &hs, o, out); break;
	default: err = -ENOENT; break;   /* summary and suspects went above */
	}
	hostset_free(&hs);
	return err;
}
