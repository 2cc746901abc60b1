/* SPDX-License-Identifier: MIT */
/* loadgen.c: one libuv process that plays N agents against a collector and checks its acks. */
/*
 * Each simulated agent connects (at --connect-rate connections per second
 * overall), answers the Challenge with a Hello, then sends reports with 20
 * top remote IPs, either at --rate R per second or, with --flood, as fast as
 * acks open its window (--window W, at most 64 unacked).  Every Ack is
 * checked: cumulative, never backwards, never for a seq not sent.  The run
 * is: ramp-up (until every agent is welcomed or has failed, bounded), then
 * --duration seconds of steady load, then up to 10 s for outstanding acks.
 * Exit status: 0 when every report sent was acked and nothing went wrong,
 * 1 when a check failed, 2 on bad usage or setup.
 *
 * With --tls-ca every agent speaks through a TLS session (mutual TLS with
 * --tls-cert and --tls-key), as fleetstat-agent does.  With --reconnect an
 * agent whose connection is lost connects again after the agent's backoff
 * and resumes from the Welcome's last_seq, so a collector can be restarted
 * under the load: the reports in flight then are sent again, a Welcome below
 * what was acked is a lost report (a failure), and the summary says how
 * long the agents took to be welcomed again.
 *
 * Traffic goes to loopback only: other addresses are refused.  Over IPv4
 * each agent connects from an address of its own in 127.64.0.0/10.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <uv.h>

#include "auth.h"
#include "log.h"
#include "report.h"
#include "tls.h"
#include "token.h"
#include "uplink.h"
#include "util.h"
#include "wire.h"

#define LG_WINDOW_MAX 64          /* the protocol's limit of unacked reports */
#define LG_TOP 20                 /* top IPs per report (the agent's default N) */
#define LG_POOL 4096              /* remote IPs the fleet's top lists draw from */
#define LG_NCOUNTERS 10
#define LG_HANDSHAKE_MS 10000     /* connect + Challenge + Welcome */
#define LG_DRAIN_MS 10000         /* wait for outstanding acks after the load stops */
#define LG_RAMP_SLACK_MS 15000    /* ramp-up bound beyond agents / connect-rate */
#define LG_TICK_MS 50
#define LG_LOG_MAX 5              /* log lines per kind of problem; the rest only count */

/* Latency histogram in microseconds: exact below 128, then 64 buckets per power of two. */
#define HIST_EXACT 128
#define HIST_SUB 64
#define HIST_SIZE (HIST_EXACT + 50 * HIST_SUB)

enum { PH_RAMP, PH_STEADY, PH_DRAIN, PH_DONE };
enum { AG_IDLE, AG_CONNECTING, AG_CHALLENGE, AG_WELCOME, AG_READY, AG_LOST, AG_CLOSED };
enum { K_CONNECT, K_HANDSHAKE, K_ERRFRAME, K_DISCONNECT, K_PROTO, K_NKINDS };

typedef struct lg lg_t;

typedef struct {
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_timer_t timer;           /* rate mode: the send schedule; --reconnect: the backoff */
	lg_t *lg;
	unsigned idx;
	int state;
	int handles;                /* handles open or closing; the decoder is freed at 0 */
	fs_tls_t *tls;              /* --tls-ca: this connection's session */
	bool welcomed;              /* its first Welcome came */
	bool lost;                  /* --reconnect: waiting to be welcomed again */
	uint64_t lost_ns;           /* when the connection was lost */
	uint64_t backoff;           /* ag_backoff_next() state */
	bool sysctls_sent;
	const char *tier;
	char hostname[24];
	uint8_t agent_id[WIRE_AGENT_ID_LEN];
	wire_dec_t dec;
	uint64_t t_start;           /* connect started (ns, monotonic) */
	uint64_t next_seq;          /* next seq to send */
	uint64_t acked;             /* highest seq acked (Welcome's last_seq at first) */
	uint64_t rate_t0;           /* rate mode: when the schedule started */
	uint64_t rate_sent;         /* rate mode: reports sent on schedule */
	uint64_t sent_ns[LG_WINDOW_MAX]; /* send time of seq, at seq % LG_WINDOW_MAX */
	uint64_t rng;
	/* The host's profile: its top IPs with base counts, and what it leaves out. */
	wire_remote_t base[LG_TOP];
	wire_states_t rest, excluded;
	uint32_t rest_distinct;
	uint64_t counters[LG_NCOUNTERS];
} agent_t;

/* A write request owns its frames (each malloc'd by wire_frame_encode). */
typedef struct {
	uv_write_t req;
	unsigned nbufs;
	uv_buf_t bufs[];
} wreq_t;

typedef struct {
	const char *collector;
	unsigned agents;
	double duration;
	double rate;                /* reports/s per agent; 0 with --flood */
	bool flood;
	unsigned window;
	const char *token_file;
	double connect_rate;
	bool json;
	bool reconnect;
	fs_tls_files_t tls;          /* tls.ca: TLS on */
	const char *tls_name;        /* the name the collector's certificate must carry */
	uint32_t interval_ms;        /* the reports' interval_ms, and the rate timers' period */
	uint64_t history_ms;         /* --history: stamp reports from now - history on */
	uint32_t step_ms;            /* --history: one report per step_ms of history */
} lg_opts_t;

struct lg {
	uv_loop_t loop;
	uv_timer_t ramp, tick;
	uv_signal_t sigint, sigterm;
	lg_opts_t o;
	struct sockaddr_storage addr;
	uint8_t token[WIRE_TOKEN_MAX];
	size_t token_len;
	agent_t *agents;
	wire_ip_t pool[LG_POOL];
	uint8_t rbuf[65536];        /* shared: frames are consumed inside on_read */
	uint8_t pbuf[16384];        /* shared: a TLS record's plaintext */
	fs_tls_ctx_t *tls;
	char tls_name[64];
	int phase;
	uint64_t t0, steady_start, stop_at, drain_until, t_end;
	unsigned started, settled, welcomed, closed;
	/* Results. */
	uint64_t sent, sent_steady, acked, acked_steady, dup_acks;
	uint64_t errframes[8];      /* by code; unknown codes count as UNSPECIFIED */
	uint64_t problems[K_NKINDS];
	uint64_t hist[HIST_SIZE];
	uint64_t lat_max_us, lat_n;
	uint64_t window_full;       /* rate mode: a due report waited for the window */
	int64_t history_t0;         /* --history: collected_at_ms of seq 1 */
	uint64_t history_n;         /* --history: reports per agent */
	/* --reconnect */
	uint64_t lost_conns, rewelcomed, reconnect_max_ns, first_lost_ns, last_rewelcome_ns;
	unsigned lost_now;          /* agents waiting to be welcomed again */
	unsigned never_back;        /* agents lost and not welcomed again by the end */
};

static const char *const tiers[] = {"lvs", "web", "db"};

static const char *const counter_names[LG_NCOUNTERS] = {
	"Tcp.ActiveOpens", "Tcp.PassiveOpens", "Tcp.AttemptFails", "Tcp.RetransSegs",
	"TcpExt.ListenOverflows", "TcpExt.ListenDrops", "TcpExt.SyncookiesSent",
	"TcpExt.TCPTimeWaitOverflow", "Sockstat.tw", "Sockstat.inuse",
};

static const char *const sysctls[][2] = {
	{"net.ipv4.tcp_fin_timeout", "60"},
	{"net.ipv4.tcp_tw_reuse", "2"},
	{"net.ipv4.tcp_max_tw_buckets", "262144"},
	{"net.core.somaxconn", "4096"},
	{"net.ipv4.tcp_max_syn_backlog", "1024"},
	{"net.ipv4.tcp_syncookies", "1"},
	{"net.ipv4.ip_local_port_range", "32768 60999"},
	{"net.netfilter.nf_conntrack_max", "262144"},
};

static void agent_close(agent_t *a);
static void agent_pump(agent_t *a);
static void agent_connect(agent_t *a);
static void lg_finish(lg_t *lg);
static void agent_lost(agent_t *a, int kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- small helpers ---- */

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64*: plenty for plausible numbers, and cheap. */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static uint32_t rnd_below(uint64_t *s, uint32_t n)
{
	return n ? (uint32_t)((rnd(s) >> 32) % n) : 0;
}

/* v +- up to pct percent. */
static uint32_t jitter(uint64_t *s, uint32_t v, uint32_t pct)
{
	uint32_t span = v * pct / 100;

	if (span == 0)
		return v;
	return v - span + rnd_below(s, 2 * span + 1);
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void problem(lg_t *lg, int kind, const agent_t *a, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Counts a problem of one kind and logs the first few of each. */
static void problem(lg_t *lg, int kind, const agent_t *a, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (++lg->problems[kind] > LG_LOG_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("agent %s: %s%s", a ? a->hostname : "-", msg,
	          lg->problems[kind] == LG_LOG_MAX ? " (further ones of this kind are only counted)" : "");
}

static const char *errcode_name(int32_t code)
{
	static const char *const names[] = {"UNSPECIFIED", "BAD_FRAME", "BAD_PROTOCOL",
	                                    "AUTH_FAILED", "INVALID", "OVERLOADED", "INTERNAL"};

	return code >= 0 && code < (int32_t)FS_ARRAY_SIZE(names) ? names[code] : "UNSPECIFIED";
}

/* ---- latency histogram ---- */

static size_t hist_index(uint64_t us)
{
	int e;

	if (us < HIST_EXACT)
		return (size_t)us;
	e = 63 - __builtin_clzll(us);                  /* >= 7 */
	if (e - 7 >= 50)
		return HIST_SIZE - 1;
	return HIST_EXACT + (size_t)(e - 7) * HIST_SUB + (size_t)((us >> (e - 6)) - HIST_SUB);
}

/* The upper end of bucket i, in microseconds. */
static uint64_t hist_upper(size_t i)
{
	size_t e, m;

	if (i < HIST_EXACT)
		return i;
	e = (i - HIST_EXACT) / HIST_SUB + 7;
	m = (i - HIST_EXACT) % HIST_SUB + HIST_SUB;
	return ((uint64_t)(m + 1) << (e - 6)) - 1;
}

static void hist_add(lg_t *lg, uint64_t ns)
{
	uint64_t us = ns / 1000;

	lg->hist[hist_index(us)]++;
	lg->lat_n++;
	if (us > lg->lat_max_us)
		lg->lat_max_us = us;
}

/* The p-quantile (0 < p <= 1) in milliseconds, to the histogram's precision (<= 1.6%). */
static double hist_quantile_ms(const lg_t *lg, double p)
{
	uint64_t want, cum = 0;

	if (lg->lat_n == 0)
		return 0;
	want = (uint64_t)(p * (double)lg->lat_n);
	if ((double)want < p * (double)lg->lat_n)
		want++;
	if (want < 1)
		want = 1;
	for (size_t i = 0; i < HIST_SIZE; i++) {
		cum += lg->hist[i];
		if (cum >= want) {
			uint64_t up = hist_upper(i);

			return (double)(up < lg->lat_max_us ? up : lg->lat_max_us) / 1000.0;
		}
	}
	return (double)lg->lat_max_us / 1000.0;
}

/* ---- the simulated host ---- */

static void pool_init(lg_t *lg, uint64_t *s)
{
	for (size_t i = 0; i < LG_POOL; i++) {
		wire_ip_t *ip = &lg->pool[i];
		uint64_t r = rnd(s);

		memset(ip, 0, sizeof(*ip));
		if (i % 8 == 7) {
			/* Some clients come over IPv6 (2001:db8::/32 style, /64 per client). */
			ip->len = 16;
			ip->b[0] = 0x24;
			ip->b[1] = 0x0e;
			memcpy(ip->b + 2, &r, 8);
			ip->b[15] = (uint8_t)(i & 0xff);
			ip->b[14] = (uint8_t)(i >> 8);
		} else {
			/* Unicast, not 0/8, 10/8, 127/8 or multicast; i keeps them distinct. */
			ip->len = 4;
			ip->b[0] = (uint8_t)(11 + (r % 200));
			ip->b[1] = (uint8_t)(r >> 8);
			ip->b[2] = (uint8_t)(i >> 8);
			ip->b[3] = (uint8_t)i;
		}
	}
}

/*
 * A host's profile: 20 distinct IPs from the pool with a long-tailed
 * ESTABLISHED count and the states its tier tends to show (web: TIME_WAIT,
 * lvs: SYN_RECV, db: a few clients holding many connections).
 */
static void agent_profile(lg_t *lg, agent_t *a)
{
	unsigned picked[LG_TOP];
	int tier = (int)(a->idx % 3);

	for (unsigned i = 0; i < LG_TOP; i++) {
		wire_remote_t *e = &a->base[i];
		unsigned k;
		bool dup;

		do {
			k = rnd_below(&a->rng, LG_POOL);
			dup = false;
			for (unsigned j = 0; j < i; j++)
				dup |= picked[j] == k;
		} while (dup);
		picked[i] = k;
		memset(e, 0, sizeof(*e));
		e->ip = lg->pool[k];
		e->st.n[WIRE_ESTABLISHED] = 400 / (i + 1) + 5 + rnd_below(&a->rng, 20);
		e->st.n[WIRE_TIME_WAIT] = rnd_below(&a->rng, tier == 1 ? 300 : 20);
		e->st.n[WIRE_FIN_WAIT2] = rnd_below(&a->rng, 8);
		e->st.n[WIRE_CLOSE_WAIT] = rnd_below(&a->rng, 4) == 0 ? rnd_below(&a->rng, 6) : 0;
		e->st.n[WIRE_SYN_RECV] = tier == 0 ? rnd_below(&a->rng, 30) : rnd_below(&a->rng, 2);
		e->st.n[WIRE_FIN_WAIT1] = rnd_below(&a->rng, 3);
		e->st.n[WIRE_LAST_ACK] = rnd_below(&a->rng, 3);
		if (tier == 2)
			e->st.n[WIRE_ESTABLISHED] *= 3;
	}
	memset(&a->rest, 0, sizeof(a->rest));
	memset(&a->excluded, 0, sizeof(a->excluded));
	a->rest.n[WIRE_ESTABLISHED] = 200 + rnd_below(&a->rng, 2000);
	a->rest.n[WIRE_TIME_WAIT] = rnd_below(&a->rng, tier == 1 ? 5000 : 200);
	a->rest.n[WIRE_SYN_RECV] = rnd_below(&a->rng, tier == 0 ? 100 : 5);
	a->rest.n[WIRE_FIN_WAIT2] = rnd_below(&a->rng, 50);
	a->rest.n[WIRE_CLOSE_WAIT] = rnd_below(&a->rng, 10);
	a->rest.n[WIRE_SYN_SENT] = rnd_below(&a->rng, 5);
	a->excluded.n[WIRE_ESTABLISHED] = 10 + rnd_below(&a->rng, 40);  /* loopback */
	a->excluded.n[WIRE_TIME_WAIT] = rnd_below(&a->rng, 20);
	a->rest_distinct = a->rest.n[WIRE_ESTABLISHED] / 3 + 50;
	for (unsigned i = 0; i < LG_NCOUNTERS; i++)
		a->counters[i] = rnd_below(&a->rng, 1000000);
}

/*
 * Encodes report seq of a: the profile's counts with +-10% jitter, the
 * state table as their sums (so entries + rest + excluded add up), and
 * sysctls in the first report of the connection.  *out is new (free()).
 */
static int agent_encode_report(agent_t *a, uint64_t seq, uint8_t **out, size_t *len)
{
	static const uint32_t ports[3][2] = {{80, 443}, {80, 8080}, {3306, 33060}};
	wire_remote_t ips[LG_TOP];
	wire_counter_t ctr[LG_NCOUNTERS];
	wire_kv_t sys[FS_ARRAY_SIZE(sysctls)];
	wire_listener_t lis[2];
	wire_frame_t f;
	wire_report_t *r = &f.report;
	uint32_t thr_tot = UINT32_MAX, thr_est = UINT32_MAX, thr_syn = UINT32_MAX;
	int tier = (int)(a->idx % 3);

	memset(&f, 0, sizeof(f));
	memset(ips, 0, sizeof(ips));   /* no activity: every field of an entry set */
	f.type = WIRE_REPORT;
	r->seq = seq;
	if (a->lg->o.history_ms) {
		/* Agents' clocks differ: each one's stamps are offset by a fraction of the step. */
		r->collected_at_ms = a->lg->history_t0 + (int64_t)((seq - 1) * a->lg->o.step_ms) +
		                     (int64_t)(a->idx % a->lg->o.step_ms);
		r->interval_ms = a->lg->o.step_ms;
	} else {
		r->collected_at_ms = wall_ms();
		r->interval_ms = a->lg->o.interval_ms;
	}
	for (unsigned i = 0; i < LG_TOP; i++) {
		uint32_t tot = 0;

		ips[i].ip = a->base[i].ip;
		for (int s = 1; s < WIRE_NSTATES; s++) {
			ips[i].st.n[s] = jitter(&a->rng, a->base[i].st.n[s], 10);
			tot += ips[i].st.n[s];
			r->states.n[s] += ips[i].st.n[s];
		}
		if (tot < thr_tot)
			thr_tot = tot;
		if (ips[i].st.n[WIRE_ESTABLISHED] < thr_est)
			thr_est = ips[i].st.n[WIRE_ESTABLISHED];
		if (ips[i].st.n[WIRE_SYN_RECV] < thr_syn)
			thr_syn = ips[i].st.n[WIRE_SYN_RECV];
	}
	for (int s = 1; s < WIRE_NSTATES; s++) {
		r->top.rest.n[s] = jitter(&a->rng, a->rest.n[s], 10);
		r->top.excluded.n[s] = a->excluded.n[s];
		r->states.n[s] += r->top.rest.n[s] + r->top.excluded.n[s];
	}
	r->top.ips = ips;
	r->top.n_ips = LG_TOP;
	r->top.limit = LG_TOP;
	r->top.threshold_total = thr_tot;
	r->top.threshold_established = thr_est;
	r->top.threshold_syn_recv = thr_syn;
	r->top.distinct_ips = LG_TOP + jitter(&a->rng, a->rest_distinct, 5);

	for (unsigned i = 0; i < 2; i++) {
		memset(&lis[i], 0, sizeof(lis[i]));
		lis[i].ip.len = 4;             /* 0.0.0.0 */
		lis[i].port = ports[tier][i];
		lis[i].accept_queue = rnd_below(&a->rng, 4);
		lis[i].backlog = 4096;
	}
	r->listeners = lis;
	r->n_listeners = 2;

	for (unsigned i = 0; i < LG_NCOUNTERS; i++) {
		a->counters[i] += rnd_below(&a->rng, i < 4 ? 500 : 3);
		ctr[i].name = (char *)counter_names[i];
		ctr[i].value = a->counters[i];
	}
	r->counters = ctr;
	r->n_counters = LG_NCOUNTERS;
	if (!a->sysctls_sent) {
		for (size_t i = 0; i < FS_ARRAY_SIZE(sysctls); i++) {
			sys[i].name = (char *)sysctls[i][0];
			sys[i].value = (char *)sysctls[i][1];
		}
		r->sysctls = sys;
		r->n_sysctls = FS_ARRAY_SIZE(sysctls);
	}
	r->collect_us = 2000 + rnd_below(&a->rng, 20000);
	r->source = (char *)"netlink";

	/* Encoding only borrows f, whose arrays all live on this stack. */
	return wire_frame_encode(&f, 0, out, len);
}

/* ---- I/O ---- */

static void on_backoff(uv_timer_t *t)
{
	agent_connect(container_of(t, agent_t, timer));
}

static void on_handle_closed(uv_handle_t *h)
{
	agent_t *a = h->data;

	if (h == (uv_handle_t *)&a->tcp) {
		fs_tls_free(a->tls);
		a->tls = NULL;
		/* --reconnect: the next attempt after the agent's backoff. */
		if (a->state == AG_LOST)
			uv_timer_start(&a->timer, on_backoff,
			               ag_backoff_next(&a->backoff, (uint32_t)rnd(&a->rng)), 0);
	}
	if (--a->handles == 0)
		wire_dec_close(&a->dec);
}

static void on_write(uv_write_t *req, int status)
{
	wreq_t *w = container_of(req, wreq_t, req);
	agent_t *a = req->data;

	/* The request owns its bytes: free them whatever happened to the write. */
	for (unsigned i = 0; i < w->nbufs; i++)
		free(w->bufs[i].base);
	free(w);
	if (status == UV_ECANCELED)
		return;
	if (status < 0 && a->state != AG_CLOSED && a->state != AG_LOST)
		agent_lost(a, K_DISCONNECT, "write: %s", uv_strerror(status));
}

/* Queues bufs[0..n) (taken over) as one write on the socket; false (freed) on failure. */
static bool socket_write(agent_t *a, uint8_t **bufs, size_t *lens, unsigned n)
{
	wreq_t *w;
	int err;

	if (n == 0)
		return true;
	w = malloc(sizeof(*w) + n * sizeof(uv_buf_t));
	if (w == NULL) {
		for (unsigned i = 0; i < n; i++)
			free(bufs[i]);
		fatalx("out of memory");
	}
	w->nbufs = n;
	for (unsigned i = 0; i < n; i++)
		w->bufs[i] = uv_buf_init((char *)bufs[i], (unsigned)lens[i]);
	w->req.data = a;
	if ((err = uv_write(&w->req, (uv_stream_t *)&a->tcp, w->bufs, n, on_write)) < 0) {
		for (unsigned i = 0; i < n; i++)
			free(bufs[i]);
		free(w);
		agent_lost(a, K_DISCONNECT, "write: %s", uv_strerror(err));
		return false;
	}
	return true;
}

/* What the TLS session has for the collector, as one write. */
static bool tls_flush(agent_t *a)
{
	size_t n = fs_tls_pending(a->tls);
	uint8_t *b;

	if (n == 0)
		return true;
	if ((b = malloc(n)) == NULL)
		fatalx("out of memory");
	n = fs_tls_take(a->tls, b, n);
	return socket_write(a, &b, &n, 1);
}

/* Queues frames[0..n) (taken over) as one write, through the TLS session if there is one. */
static bool agent_write(agent_t *a, uint8_t **frames, size_t *lens, unsigned n)
{
	int err = 0;

	if (a->tls == NULL)
		return socket_write(a, frames, lens, n);
	for (unsigned i = 0; i < n; i++) {
		if (err == 0)
			err = fs_tls_write(a->tls, frames[i], lens[i]);
		free(frames[i]);
	}
	if (err < 0) {
		agent_lost(a, K_HANDSHAKE, "TLS: %s", fs_tls_error(a->tls));
		return false;
	}
	return tls_flush(a);
}

/* Whether reports may go out: not after --duration, even before the next tick notices. */
static bool sending(const lg_t *lg)
{
	return lg->phase == PH_RAMP || (lg->phase == PH_STEADY && uv_hrtime() < lg->stop_at);
}

/*
 * Sends what the window allows: in flood mode fills it, in rate mode sends
 * the reports the schedule says are due.  All of them go out as one write.
 */
static void agent_pump(agent_t *a)
{
	lg_t *lg = a->lg;
	uint8_t *frames[LG_WINDOW_MAX];
	size_t lens[LG_WINDOW_MAX];
	uint64_t room, n, now;

	if (a->state != AG_READY || !sending(lg))
		return;
	room = lg->o.window - (a->next_seq - 1 - a->acked);
	if (lg->o.flood) {
		n = room;
	} else {
		uint64_t due;

		now = uv_hrtime();
		if (now < a->rate_t0)
			return;
		due = (uint64_t)((double)(now - a->rate_t0) * lg->o.rate / 1e9) + 1 - a->rate_sent;
		n = due < room ? due : room;
		if (due > room)
			lg->window_full++;
	}
	if (lg->o.history_ms && a->next_seq + n > lg->history_n + 1)
		n = lg->history_n + 1 - a->next_seq;
	if (n == 0)
		return;
	now = uv_hrtime();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t seq = a->next_seq + i;
		int err = agent_encode_report(a, seq, &frames[i], &lens[i]);

		if (err < 0)
			fatalx("encoding report %" PRIu64 " of %s: %s", seq, a->hostname, strerror(-err));
		a->sysctls_sent = true;
		a->sent_ns[seq % LG_WINDOW_MAX] = now;
	}
	if (!agent_write(a, frames, lens, (unsigned)n))
		return;
	a->next_seq += n;
	lg->sent += n;
	if (lg->phase == PH_STEADY)
		lg->sent_steady += n;
	if (!lg->o.flood)
		a->rate_sent += n;
}

static void on_rate_timer(uv_timer_t *t)
{
	agent_pump(container_of(t, agent_t, timer));
}

static void agent_send_hello(agent_t *a, const wire_challenge_t *ch)
{
	lg_t *lg = a->lg;
	wire_kv_t labels[2] = {{(char *)"loadgen", (char *)"1"},
	                       {(char *)"dc", (char *)(a->idx % 2 ? "east" : "west")}};
	wire_frame_t f;
	uint8_t *buf;
	size_t len;
	int err;

	memset(&f, 0, sizeof(f));
	f.type = WIRE_HELLO;
	f.hello.protocol = WIRE_PROTOCOL;
	memcpy(f.hello.agent_id, a->agent_id, WIRE_AGENT_ID_LEN);
	f.hello.hostname = a->hostname;
	f.hello.tier = (char *)a->tier;
	f.hello.labels = labels;
	f.hello.n_labels = 2;
	f.hello.agent_version = (char *)"loadgen/" FLEETSTAT_VERSION;
	if (lg->token_len > 0) {
		if ((err = wire_auth_compute(lg->token, lg->token_len, ch->nonce, a->agent_id,
		                             f.hello.auth)) < 0)
			fatalx("HMAC: %s", strerror(-err));
		f.hello.auth_len = WIRE_AUTH_LEN;
	}
	if ((err = wire_frame_encode(&f, 0, &buf, &len)) < 0)
		fatalx("encoding Hello of %s: %s", a->hostname, strerror(-err));
	if (agent_write(a, &buf, &len, 1))
		a->state = AG_WELCOME;
}

static void agent_settle(agent_t *a)
{
	a->lg->settled++;
}

static void agent_on_ack(agent_t *a, uint64_t seq)
{
	lg_t *lg = a->lg;
	uint64_t now = uv_hrtime();
	bool steady = lg->phase != PH_RAMP && now <= lg->stop_at;

	if (seq >= a->next_seq) {
		problem(lg, K_PROTO, a, "Ack %" PRIu64 " for a seq not sent (highest sent %" PRIu64 ")",
		        seq, a->next_seq - 1);
		agent_close(a);
		return;
	}
	if (seq < a->acked) {
		problem(lg, K_PROTO, a, "Ack %" PRIu64 " went backwards (after %" PRIu64 ")", seq, a->acked);
		agent_close(a);
		return;
	}
	if (seq == a->acked) {
		lg->dup_acks++;
		return;
	}
	for (uint64_t q = a->acked + 1; q <= seq; q++)
		hist_add(lg, now - a->sent_ns[q % LG_WINDOW_MAX]);
	lg->acked += seq - a->acked;
	if (steady)
		lg->acked_steady += seq - a->acked;
	a->acked = seq;
	if (lg->phase == PH_DRAIN && lg->acked == lg->sent && lg->lost_now == 0)
		lg_finish(lg);
	else
		agent_pump(a);
}

static void agent_on_frame(agent_t *a, const wire_frame_t *f)
{
	lg_t *lg = a->lg;

	if (f->type == WIRE_ERROR) {
		int32_t c = f->error.code;

		/* A collector stopping says so to its clients: --reconnect takes it as a loss. */
		if (lg->o.reconnect && sending(lg) && c == WIRE_ERR_OVERLOADED) {
			agent_lost(a, K_DISCONNECT, "Error %s: %s", errcode_name(c), f->error.message);
			return;
		}
		lg->errframes[c >= 0 && c < 7 ? c : 0]++;
		problem(lg, K_ERRFRAME, a, "Error %s: %s", errcode_name(c), f->error.message);
		agent_close(a);
		return;
	}
	switch (a->state) {
	case AG_CHALLENGE:
		if (f->type != WIRE_CHALLENGE || f->challenge.protocol != WIRE_PROTOCOL) {
			problem(lg, K_PROTO, a, "expected Challenge{protocol 1}, got frame type %d",
			        (int)f->type);
			agent_close(a);
			return;
		}
		agent_send_hello(a, &f->challenge);
		return;
	case AG_WELCOME:
		if (f->type != WIRE_WELCOME) {
			problem(lg, K_PROTO, a, "expected Welcome, got frame type %d", (int)f->type);
			agent_close(a);
			return;
		}
		if (a->lost) {
			uint64_t last = f->welcome.last_seq, now = uv_hrtime();

			/* Again after a loss: what it stored of the reports in flight then counts. */
			if (last < a->acked) {
				problem(lg, K_PROTO, a, "collector lost acked reports: Welcome last_seq %"
				        PRIu64 ", %" PRIu64 " acked before", last, a->acked);
				agent_close(a);
				return;
			}
			lg->sent += last - a->acked;
			lg->acked += last - a->acked;
			a->lost = false;
			lg->lost_now--;
			lg->rewelcomed++;
			if (now - a->lost_ns > lg->reconnect_max_ns)
				lg->reconnect_max_ns = now - a->lost_ns;
			lg->last_rewelcome_ns = now;
		}
		a->acked = f->welcome.last_seq;
		a->next_seq = a->acked + 1;
		a->state = AG_READY;
		a->backoff = 0;
		a->rate_sent = 0;
		if (!a->welcomed) {
			a->welcomed = true;
			lg->welcomed++;
			agent_settle(a);
		}
		if (lg->o.flood) {
			agent_pump(a);
		} else {
			/* Spread the agents over one period so they do not all send at once. */
			uint64_t delay = rnd_below(&a->rng, lg->o.interval_ms);

			a->rate_t0 = uv_hrtime() + delay * 1000000ull;
			uv_timer_start(&a->timer, on_rate_timer, delay, lg->o.interval_ms);
		}
		return;
	case AG_READY:
		if (f->type != WIRE_ACK) {
			problem(lg, K_PROTO, a, "expected Ack, got frame type %d", (int)f->type);
			agent_close(a);
			return;
		}
		agent_on_ack(a, f->ack.seq);
		return;
	default:
		return;
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	agent_t *a = container_of((uv_tcp_t *)h, agent_t, tcp);

	(void)hint;
	*buf = uv_buf_init((char *)a->lg->rbuf, sizeof(a->lg->rbuf));
}

/* wire_dec_read()'s callback: decodes and handles a frame; stops when the connection went. */
static int on_frame(void *ctx, const uint8_t *body, size_t len)
{
	agent_t *a = ctx;
	wire_frame_t f;
	int err;

	if ((err = wire_frame_decode(body, len, &f)) < 0) {
		problem(a->lg, K_PROTO, a, "undecodable frame from the collector: %s", strerror(-err));
		agent_close(a);
		return 1;
	}
	agent_on_frame(a, &f);
	wire_frame_close(&f);
	return a->state == AG_CLOSED || a->state == AG_LOST;
}

static bool gone(const agent_t *a)
{
	return a->state == AG_CLOSED || a->state == AG_LOST;
}

/* Plaintext, from the socket or out of the TLS session, to the frame reader. */
static int on_plain(void *ctx, const void *p, size_t n)
{
	agent_t *a = ctx;
	int err;

	if ((err = wire_dec_read(&a->dec, p, n, on_frame, a)) < 0) {
		problem(a->lg, K_PROTO, a, "bad frame from the collector: %s", wire_dec_strerror(err));
		agent_close(a);
	}
	return gone(a);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	agent_t *a = container_of((uv_tcp_t *)s, agent_t, tcp);
	int r;

	if (gone(a))
		return;
	if (nread < 0) {
		if (nread == UV_EOF)
			agent_lost(a, K_DISCONNECT, "collector closed the connection%s",
			           wire_dec_pending(&a->dec) ? " inside a frame" : "");
		else
			agent_lost(a, K_DISCONNECT, "read: %s", uv_strerror((int)nread));
		return;
	}
	if (a->tls == NULL) {
		on_plain(a, buf->base, (size_t)nread);
		return;
	}
	r = fs_tls_feed(a->tls, buf->base, (size_t)nread, a->lg->pbuf, sizeof(a->lg->pbuf),
	                on_plain, a);
	if (gone(a))
		return;
	if (r == FS_TLS_CLOSED)
		agent_lost(a, K_DISCONNECT, "the collector closed the TLS session");
	else if (r < 0)
		agent_lost(a, K_HANDSHAKE, "TLS: %s", r == -ENOMEM ? "out of memory" : fs_tls_error(a->tls));
	else
		tls_flush(a);
}

static void on_connect(uv_connect_t *req, int status)
{
	agent_t *a = container_of(req, agent_t, creq);
	int err;

	if (status == UV_ECANCELED || gone(a))
		return;
	if (status < 0) {
		agent_lost(a, K_CONNECT, "connect: %s", uv_strerror(status));
		return;
	}
	a->state = AG_CHALLENGE;
	if ((err = uv_read_start((uv_stream_t *)&a->tcp, on_alloc, on_read)) < 0) {
		agent_lost(a, K_CONNECT, "read_start: %s", uv_strerror(err));
		return;
	}
	if (a->lg->tls != NULL) {
		/* The ClientHello now; the Challenge comes once the handshake is over. */
		if (fs_tls_new(a->lg->tls, a->lg->tls_name, &a->tls) < 0)
			fatalx("out of memory");
		if (fs_tls_handshake(a->tls) < 0) {
			agent_lost(a, K_HANDSHAKE, "TLS: %s", fs_tls_error(a->tls));
			return;
		}
		tls_flush(a);
	}
}

/* A connection attempt: the socket (from an address of the agent's own), then connect. */
static void agent_connect(agent_t *a)
{
	lg_t *lg = a->lg;
	int err;

	if (lg->phase == PH_DONE || a->state == AG_CLOSED)
		return;
	a->t_start = uv_hrtime();
	a->state = AG_CONNECTING;
	wire_dec_close(&a->dec);
	wire_dec_init(&a->dec, 0);
	uv_tcp_init(&lg->loop, &a->tcp);
	a->tcp.data = a;
	a->handles++;
	uv_tcp_nodelay(&a->tcp, 1);
	/* Over IPv4 each agent has an address of its own, 127.64.0.1 on, as hosts of a fleet do
	 * (the collector's --max-conns-per-ip stays at its default). */
	if (lg->addr.ss_family == AF_INET && a->idx < (1u << 22)) {
		struct sockaddr_in src = {.sin_family = AF_INET};

		src.sin_addr.s_addr = htonl(0x7f400000u + (uint32_t)a->idx + 1);
		if ((err = uv_tcp_bind(&a->tcp, (const struct sockaddr *)&src, 0)) < 0) {
			agent_lost(a, K_CONNECT, "bind: %s", uv_strerror(err));
			return;
		}
	}
	if ((err = uv_tcp_connect(&a->creq, &a->tcp, (const struct sockaddr *)&lg->addr,
	                          on_connect)) < 0)
		agent_lost(a, K_CONNECT, "connect: %s", uv_strerror(err));
}

static void agent_start(lg_t *lg, agent_t *a)
{
	wire_dec_init(&a->dec, 0);
	uv_timer_init(&lg->loop, &a->timer);
	a->timer.data = a;
	a->handles++;
	lg->started++;
	agent_connect(a);
}

/*
 * The connection is gone (kind says how).  With --reconnect, while reports
 * still go out, the agent connects again after its backoff: the reports in
 * flight are taken back, to go again from the last acked on (the next Welcome
 * says what the collector kept).  Otherwise a problem, and the agent closes.
 */
static void agent_lost(agent_t *a, int kind, const char *fmt, ...)
{
	lg_t *lg = a->lg;
	uint64_t in_flight = a->next_seq > a->acked ? a->next_seq - 1 - a->acked : 0;
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (gone(a))
		return;
	if (!lg->o.reconnect || !sending(lg)) {
		problem(lg, kind, a, "%s", msg);
		agent_close(a);
		return;
	}
	if (++lg->lost_conns <= LG_LOG_MAX)
		log_warnx("agent %s: %s; reconnecting%s", a->hostname, msg,
		          lg->lost_conns == LG_LOG_MAX ? " (further losses are only counted)" : "");
	if (!a->lost) {
		a->lost = true;
		a->lost_ns = uv_hrtime();
		lg->lost_now++;
		if (lg->first_lost_ns == 0)
			lg->first_lost_ns = a->lost_ns;
	}
	lg->sent -= in_flight;
	lg->sent_steady -= in_flight < lg->sent_steady ? in_flight : lg->sent_steady;
	a->next_seq = a->acked + 1;
	a->state = AG_LOST;
	uv_timer_stop(&a->timer);
	uv_close((uv_handle_t *)&a->tcp, on_handle_closed);   /* then the backoff */
}

/* Closes a's handles once; an agent that never got its Welcome counts as settled here. */
static void agent_close(agent_t *a)
{
	if (a->state == AG_CLOSED || a->state == AG_IDLE)
		return;
	if (!a->welcomed)
		agent_settle(a);
	if (a->lost) {
		a->lost = false;
		a->lg->lost_now--;
		a->lg->never_back++;
	}
	a->state = AG_CLOSED;
	a->lg->closed++;
	if (!uv_is_closing((uv_handle_t *)&a->tcp))
		uv_close((uv_handle_t *)&a->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&a->timer, on_handle_closed);
}

/* ---- the run's phases ---- */

static void lg_start_steady(lg_t *lg, uint64_t now)
{
	lg->phase = PH_STEADY;
	lg->steady_start = now;
	lg->stop_at = now + (uint64_t)(lg->o.duration * 1e9);
}

static void lg_start_drain(lg_t *lg, uint64_t now)
{
	lg->phase = PH_DRAIN;
	if (lg->stop_at > now || lg->stop_at == 0)
		lg->stop_at = now;
	lg->drain_until = now + (uint64_t)LG_DRAIN_MS * 1000000ull;
	for (unsigned i = 0; i < lg->o.agents; i++)
		if (lg->agents[i].state == AG_READY)
			uv_timer_stop(&lg->agents[i].timer);
	if (lg->acked == lg->sent && lg->lost_now == 0)
		lg_finish(lg);
}

static void lg_finish(lg_t *lg)
{
	if (lg->phase == PH_DONE)
		return;
	lg->phase = PH_DONE;
	lg->t_end = uv_hrtime();
	for (unsigned i = 0; i < lg->o.agents; i++)
		agent_close(&lg->agents[i]);
	uv_close((uv_handle_t *)&lg->ramp, NULL);
	uv_close((uv_handle_t *)&lg->tick, NULL);
	uv_close((uv_handle_t *)&lg->sigint, NULL);
	uv_close((uv_handle_t *)&lg->sigterm, NULL);
}

static void on_ramp(uv_timer_t *t)
{
	lg_t *lg = container_of(t, lg_t, ramp);
	double elapsed = (double)(uv_hrtime() - lg->t0) / 1e9;
	uint64_t target = (uint64_t)(elapsed * lg->o.connect_rate) + 1;

	while (lg->started < lg->o.agents && lg->started < target && sending(lg))
		agent_start(lg, &lg->agents[lg->started]);
	if (lg->started == lg->o.agents || !sending(lg))
		uv_timer_stop(t);
}

static void on_tick(uv_timer_t *t)
{
	lg_t *lg = container_of(t, lg_t, tick);
	uint64_t now = uv_hrtime();

	/* Handshakes that take too long fail, so the ramp-up always ends. */
	for (unsigned i = 0; i < lg->started; i++) {
		agent_t *a = &lg->agents[i];

		if (a->state >= AG_CONNECTING && a->state < AG_READY &&
		    now - a->t_start > (uint64_t)LG_HANDSHAKE_MS * 1000000ull) {
			agent_lost(a, K_HANDSHAKE, "no Welcome within %d s of connecting",
			           LG_HANDSHAKE_MS / 1000);
		}
	}
	/* Every connection is gone: no ack can come any more. */
	if (lg->phase != PH_RAMP && lg->started == lg->o.agents && lg->closed == lg->started) {
		if (lg->stop_at > now)
			lg->stop_at = now;
		lg_finish(lg);
		return;
	}
	switch (lg->phase) {
	case PH_RAMP: {
		uint64_t bound = lg->t0 + (uint64_t)((double)lg->o.agents / lg->o.connect_rate * 1e9) +
		                 (uint64_t)LG_RAMP_SLACK_MS * 1000000ull;

		if (lg->settled == lg->o.agents || now >= bound)
			lg_start_steady(lg, now);
		break;
	}
	case PH_STEADY:
		/* --history: done once every agent's history is sent. */
		if (lg->o.history_ms && lg->sent >= (uint64_t)lg->welcomed * lg->history_n &&
		    lg->stop_at > now)
			lg->stop_at = now;
		if (now >= lg->stop_at)
			lg_start_drain(lg, now);
		break;
	case PH_DRAIN:
		/* Agents still coming back after a loss may yet be welcomed: wait for them. */
		if ((lg->acked == lg->sent && lg->lost_now == 0) || now >= lg->drain_until)
			lg_finish(lg);
		break;
	default:
		break;
	}
}

static void on_signal(uv_signal_t *s, int signum)
{
	lg_t *lg = s->data;

	log_warnx("signal %d: stopping the load, waiting for outstanding acks", signum);
	if (lg->phase == PH_RAMP || lg->phase == PH_STEADY) {
		if (lg->phase == PH_RAMP)
			lg->steady_start = uv_hrtime();
		lg_start_drain(lg, uv_hrtime());
	} else {
		lg_finish(lg);
	}
}

/* ---- setup and summary ---- */

static int parse_collector(const char *s, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	const char *h = s;
	size_t n;
	char *end;
	long port;

	if (colon == NULL)
		return -EINVAL;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 1 || port > 65535)
		return -EINVAL;
	n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && colon[-1] == ']') {
		h = s + 1;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	memset(ss, 0, sizeof(*ss));
	if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0) {
		const uint8_t *b = (const uint8_t *)&((struct sockaddr_in *)ss)->sin_addr;

		return b[0] == 127 ? 0 : -EPERM;
	}
	if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0) {
		static const uint8_t loop6[16] = {[15] = 1};

		return memcmp(&((struct sockaddr_in6 *)ss)->sin6_addr, loop6, 16) == 0 ? 0 : -EPERM;
	}
	return -EINVAL;
}

/* The host part of HOST:PORT ([IPv6]:PORT): the name the collector's certificate must carry. */
static void tls_name_of(const char *collector, char *out, size_t len)
{
	const char *colon = strrchr(collector, ':');
	size_t n = colon ? (size_t)(colon - collector) : strlen(collector);

	if (n >= 2 && collector[0] == '[' && collector[n - 1] == ']') {
		collector++;
		n -= 2;
	}
	snprintf(out, len, "%.*s", (int)n, collector);
}

static void raise_nofile(unsigned agents)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("getrlimit");
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("setrlimit(RLIMIT_NOFILE, %llu)", (unsigned long long)rl.rlim_max);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)agents + 32)
		log_warnx("open files limit %llu is below %u agents + 32: some connects will fail",
		          (unsigned long long)rl.rlim_cur, agents);
}

static double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static bool lg_ok(const lg_t *lg)
{
	uint64_t errframes = 0;

	for (size_t i = 0; i < FS_ARRAY_SIZE(lg->errframes); i++)
		errframes += lg->errframes[i];
	return lg->acked == lg->sent && errframes == 0 && lg->welcomed == lg->o.agents &&
	       lg->lost_now == 0 && lg->never_back == 0 &&
	       lg->problems[K_CONNECT] == 0 && lg->problems[K_HANDSHAKE] == 0 &&
	       lg->problems[K_DISCONNECT] == 0 && lg->problems[K_PROTO] == 0;
}

/* From the first lost connection to the last agent welcomed again (0: none lost). */
static double recovered_s(const lg_t *lg)
{
	if (lg->first_lost_ns == 0 || lg->last_rewelcome_ns < lg->first_lost_ns)
		return 0;
	return (double)(lg->last_rewelcome_ns - lg->first_lost_ns) / 1e9;
}

static void lg_report(const lg_t *lg, bool loop_closed)
{
	double steady_s = lg->stop_at > lg->steady_start ?
	                  (double)(lg->stop_at - lg->steady_start) / 1e9 : 0;
	double per_s = steady_s > 0 ? (double)lg->acked_steady / steady_s : 0;
	double p50 = hist_quantile_ms(lg, 0.50), p90 = hist_quantile_ms(lg, 0.90);
	double p99 = hist_quantile_ms(lg, 0.99), pmax = (double)lg->lat_max_us / 1000.0;
	double wall = (double)(lg->t_end - lg->t0) / 1e9;
	bool ok = lg_ok(lg) && loop_closed;
	char mode[64];

	if (lg->o.flood)
		snprintf(mode, sizeof(mode), "flood, window %u", lg->o.window);
	else
		snprintf(mode, sizeof(mode), "%g reports/s per agent, window %u", lg->o.rate, lg->o.window);
	if (lg->o.json) {
		bool first = true;

		printf("{\"agents\": %u, \"connected\": %u, \"mode\": \"%s\", \"rate\": %g, "
		       "\"window\": %u, \"sent\": %" PRIu64 ", \"acked\": %" PRIu64
		       ", \"unacked\": %" PRIu64 ", \"steady_s\": %.3f, \"sent_steady\": %" PRIu64
		       ", \"acked_steady\": %" PRIu64
		       ", \"acked_per_s\": %.1f, \"latency_ms\": {\"p50\": %.3f, \"p90\": %.3f, "
		       "\"p99\": %.3f, \"max\": %.3f}, \"errors\": {\"error_frames\": {",
		       lg->o.agents, lg->welcomed, lg->o.flood ? "flood" : "rate", lg->o.rate,
		       lg->o.window, lg->sent, lg->acked, lg->sent - lg->acked, steady_s,
		       lg->sent_steady, lg->acked_steady, per_s, p50, p90, p99, pmax);
		for (int c = 0; c < 7; c++) {
			if (lg->errframes[c] == 0)
				continue;
			printf("%s\"%s\": %" PRIu64, first ? "" : ", ", errcode_name(c), lg->errframes[c]);
			first = false;
		}
		printf("}, \"connect_failed\": %" PRIu64 ", \"handshake_failed\": %" PRIu64
		       ", \"disconnects\": %" PRIu64 ", \"protocol\": %" PRIu64 "}, "
		       "\"dup_acks\": %" PRIu64 ", \"window_full\": %" PRIu64 ", \"wall_s\": %.3f, "
		       "\"cpu_s\": %.3f, \"tls\": %s, \"reconnect\": {\"lost\": %" PRIu64
		       ", \"welcomed_again\": %" PRIu64 ", \"never_back\": %u"
		       ", \"reconnect_max_s\": %.3f, \"recovered_s\": %.3f}, \"ok\": %s}\n",
		       lg->problems[K_CONNECT], lg->problems[K_HANDSHAKE], lg->problems[K_DISCONNECT],
		       lg->problems[K_PROTO], lg->dup_acks, lg->window_full, wall, cpu_seconds(),
		       lg->tls ? "true" : "false", lg->lost_conns, lg->rewelcomed,
		       lg->never_back + lg->lost_now, (double)lg->reconnect_max_ns / 1e9,
		       recovered_s(lg), ok ? "true" : "false");
		return;
	}
	printf("loadgen: %u agents (%s) against %s\n", lg->o.agents, mode, lg->o.collector);
	printf("  agents connected   %u of %u\n", lg->welcomed, lg->o.agents);
	printf("  reports sent       %" PRIu64 "\n", lg->sent);
	printf("  reports acked      %" PRIu64 " (unacked %" PRIu64 ")\n", lg->acked,
	       lg->sent - lg->acked);
	printf("  steady window      %.1f s: %" PRIu64 " acked, %.0f acked reports/s\n", steady_s,
	       lg->acked_steady, per_s);
	printf("  ack latency (ms)   p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", p50, p90, p99, pmax);
	printf("  Error frames      ");
	for (int c = 0; c < 7; c++)
		if (lg->errframes[c])
			printf(" %s=%" PRIu64, errcode_name(c), lg->errframes[c]);
	printf(" (total %" PRIu64 ")\n", lg->problems[K_ERRFRAME]);
	printf("  connect failures   %" PRIu64 ", handshake failures %" PRIu64
	       ", disconnects %" PRIu64 ", protocol errors %" PRIu64 "\n",
	       lg->problems[K_CONNECT], lg->problems[K_HANDSHAKE], lg->problems[K_DISCONNECT],
	       lg->problems[K_PROTO]);
	printf("  duplicate acks     %" PRIu64 "; rate mode waits on a full window %" PRIu64 "\n",
	       lg->dup_acks, lg->window_full);
	if (lg->o.reconnect)
		printf("  reconnects         %" PRIu64 " connections lost, %" PRIu64 " agents welcomed"
		       " again (%u never), the longest wait %.2f s, all back %.2f s after the first"
		       " loss\n", lg->lost_conns, lg->rewelcomed, lg->never_back + lg->lost_now,
		       (double)lg->reconnect_max_ns / 1e9, recovered_s(lg));
	printf("  loadgen            %.1f s wall, %.1f s CPU%s\n", wall, cpu_seconds(),
	       lg->tls ? (lg->o.tls.cert ? ", mutual TLS" : ", TLS") : "");
	printf("  result             %s\n", ok ? "OK" : "FAILED");
}

static void on_walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: loadgen --collector HOST:PORT [options]\n"
	        "Simulates N fleetstat agents in one process and checks the collector's acks.\n"
	        "  --collector HOST:PORT  loopback collector (127.x.x.x, [::1] or localhost; default 127.0.0.1:7400)\n"
	        "  --agents N             simulated agents, one connection each (default 100)\n"
	        "  --duration SEC         steady load after the ramp-up (default 10)\n"
	        "  --rate R               reports per second per agent (default 1)\n"
	        "  --flood                send as fast as acks open the window\n"
	        "  --window W             unacked reports per agent, 1..64 (default 64)\n"
	        "  --token-file F         shared token (mode 0600) for the Hello's auth\n"
	        "  --tls-ca F             TLS: the collector's certificate from this CA, for the\n"
	        "                         --collector address (or --tls-server-name)\n"
	        "  --tls-cert F --tls-key F  mutual TLS: the agents' certificate and key\n"
	        "  --reconnect            a lost connection comes back after the agent's backoff and\n"
	        "                         resumes (a collector restarted under the load)\n"
	        "  --connect-rate C       new connections per second during ramp-up (default 500)\n"
	        "  --history DUR          with --flood: each agent sends the reports of the last DUR\n"
	        "                         (10m, 24h), one per --step, stamped in the past, then stops\n"
	        "                         (fills a database for the query benchmark)\n"
	        "  --step SEC             --history: seconds between reports (default 10)\n"
	        "  --json                 print the summary as one JSON object\n"
	        "Exit: 0 every report sent was acked and nothing failed; 1 a check failed; 2 usage.\n");
}

static double num_arg(const char *name, const char *v, double lo, double hi)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !(d >= lo && d <= hi)) {
		fprintf(stderr, "loadgen: --%s: '%s' is not a number from %g to %g\n", name, v, lo, hi);
		exit(2);
	}
	return d;
}

static void parse_args(int argc, char **argv, lg_opts_t *o)
{
	enum { O_COLLECTOR = 256, O_AGENTS, O_DURATION, O_RATE, O_FLOOD, O_WINDOW, O_TOKEN,
	       O_CRATE, O_JSON, O_HELP, O_HISTORY, O_STEP, O_TLS_CA, O_TLS_CERT, O_TLS_KEY,
	       O_TLS_NAME, O_RECONNECT };
	static const struct option opts[] = {
		{"collector", required_argument, NULL, O_COLLECTOR},
		{"agents", required_argument, NULL, O_AGENTS},
		{"duration", required_argument, NULL, O_DURATION},
		{"rate", required_argument, NULL, O_RATE},
		{"flood", no_argument, NULL, O_FLOOD},
		{"window", required_argument, NULL, O_WINDOW},
		{"token-file", required_argument, NULL, O_TOKEN},
		{"connect-rate", required_argument, NULL, O_CRATE},
		{"json", no_argument, NULL, O_JSON},
		{"history", required_argument, NULL, O_HISTORY},
		{"step", required_argument, NULL, O_STEP},
		{"tls-ca", required_argument, NULL, O_TLS_CA},
		{"tls-cert", required_argument, NULL, O_TLS_CERT},
		{"tls-key", required_argument, NULL, O_TLS_KEY},
		{"tls-server-name", required_argument, NULL, O_TLS_NAME},
		{"reconnect", no_argument, NULL, O_RECONNECT},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	bool rate_set = false;
	int c;

	o->collector = "127.0.0.1:7400";
	o->agents = 100;
	o->duration = 10;
	o->rate = 1;
	o->window = LG_WINDOW_MAX;
	o->connect_rate = 500;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_COLLECTOR: o->collector = optarg; break;
		case O_AGENTS: o->agents = (unsigned)num_arg("agents", optarg, 1, 100000); break;
		case O_DURATION: o->duration = num_arg("duration", optarg, 0.1, 86400); break;
		case O_RATE: o->rate = num_arg("rate", optarg, 0.001, 100000); rate_set = true; break;
		case O_FLOOD: o->flood = true; break;
		case O_WINDOW: o->window = (unsigned)num_arg("window", optarg, 1, LG_WINDOW_MAX); break;
		case O_TOKEN: o->token_file = optarg; break;
		case O_CRATE: o->connect_rate = num_arg("connect-rate", optarg, 1, 100000); break;
		case O_JSON: o->json = true; break;
		case O_HISTORY: {
			char *end;
			double v = strtod(optarg, &end);
			double mul = *end == 'm' ? 60e3 : *end == 'h' ? 3600e3 : *end == 'd' ? 86400e3 :
			             *end == 's' || *end == '\0' ? 1e3 : 0;

			if (!(v > 0) || mul == 0 || (*end && end[1]) || v * mul > 30 * 86400e3) {
				fprintf(stderr, "loadgen: --history: '%s' is not a duration up to 30d\n",
				        optarg);
				exit(2);
			}
			o->history_ms = (uint64_t)(v * mul);
			break;
		}
		case O_STEP: o->step_ms = (uint32_t)(num_arg("step", optarg, 1, 3600) * 1000); break;
		case O_TLS_CA: o->tls.ca = optarg; break;
		case O_TLS_CERT: o->tls.cert = optarg; break;
		case O_TLS_KEY: o->tls.key = optarg; break;
		case O_TLS_NAME: o->tls_name = optarg; break;
		case O_RECONNECT: o->reconnect = true; break;
		case O_HELP: usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (o->step_ms == 0)
		o->step_ms = 10000;
	if ((o->tls.cert || o->tls.key || o->tls_name) && !o->tls.ca) {
		fprintf(stderr, "loadgen: --tls-cert, --tls-key and --tls-server-name go with --tls-ca\n");
		exit(2);
	}
	if (o->history_ms && !o->flood) {
		fprintf(stderr, "loadgen: --history goes with --flood\n");
		exit(2);
	}
	if (optind < argc || (rate_set && o->flood)) {
		fprintf(stderr, "loadgen: %s\n", optind < argc ? "unexpected arguments" :
		        "--rate and --flood exclude each other");
		usage(stderr);
		exit(2);
	}
	if (o->flood) {
		o->rate = 0;
		o->interval_ms = 1000;
	} else {
		double ms = 1000.0 / o->rate;

		o->interval_ms = ms < 1 ? 1 : ms > 86400000 ? 86400000 : (uint32_t)(ms + 0.5);
	}
}

int main(int argc, char **argv)
{
	lg_t *lg = calloc(1, sizeof(*lg));
	uint64_t seed;
	bool loop_closed;
	int err;

	if (lg == NULL)
		fatalx("out of memory");
	log_init("loadgen", LOG_LVL_INFO);
	parse_args(argc, argv, &lg->o);
	if ((err = parse_collector(lg->o.collector, &lg->addr)) < 0) {
		fprintf(stderr, "loadgen: --collector '%s': %s\n", lg->o.collector,
		        err == -EPERM ? "loadgen sends only to loopback" : "not HOST:PORT");
		return 2;
	}
	if (lg->o.token_file &&
	    (err = fs_token_load(lg->o.token_file, lg->token, sizeof(lg->token), &lg->token_len)) < 0) {
		fprintf(stderr, "loadgen: --token-file %s: %s\n", lg->o.token_file, fs_token_strerror(err));
		return 2;
	}
	if (lg->o.tls.ca) {
		char why[512];

		if (fs_tls_ctx_new(false, &lg->o.tls, &lg->tls, why, sizeof(why)) < 0) {
			fprintf(stderr, "loadgen: TLS: %s\n", why);
			return 2;
		}
		if (lg->o.tls_name)
			snprintf(lg->tls_name, sizeof(lg->tls_name), "%s", lg->o.tls_name);
		else
			tls_name_of(lg->o.collector, lg->tls_name, sizeof(lg->tls_name));
	}
	raise_nofile(lg->o.agents);
	if (lg->o.history_ms) {
		lg->history_n = lg->o.history_ms / lg->o.step_ms;
		lg->history_t0 = wall_ms() - (int64_t)lg->o.history_ms;
	}
	/* A collector that goes away must show up as a write error, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		fatal("getrandom");
	seed |= 1;
	pool_init(lg, &seed);
	if ((lg->agents = calloc(lg->o.agents, sizeof(*lg->agents))) == NULL)
		fatalx("out of memory");
	for (unsigned i = 0; i < lg->o.agents; i++) {
		agent_t *a = &lg->agents[i];

		a->lg = lg;
		a->idx = i;
		a->tier = tiers[i % 3];
		snprintf(a->hostname, sizeof(a->hostname), "loadgen-%04u", i + 1);
		if (getrandom(a->agent_id, sizeof(a->agent_id), 0) != sizeof(a->agent_id))
			fatal("getrandom");
		a->rng = rnd(&seed) | 1;
		agent_profile(lg, a);
	}

	if ((err = uv_loop_init(&lg->loop)) < 0)
		fatalx("uv_loop_init: %s", uv_strerror(err));
	uv_timer_init(&lg->loop, &lg->ramp);
	uv_timer_init(&lg->loop, &lg->tick);
	uv_signal_init(&lg->loop, &lg->sigint);
	uv_signal_init(&lg->loop, &lg->sigterm);
	lg->sigint.data = lg;
	lg->sigterm.data = lg;
	uv_signal_start(&lg->sigint, on_signal, SIGINT);
	uv_signal_start(&lg->sigterm, on_signal, SIGTERM);
	lg->t0 = uv_hrtime();
	lg->phase = PH_RAMP;
	/* Connections start in small steps: connect-rate per second, never one burst. */
	uv_timer_start(&lg->ramp, on_ramp, 0, 5);
	uv_timer_start(&lg->tick, on_tick, LG_TICK_MS, LG_TICK_MS);
	uv_run(&lg->loop, UV_RUN_DEFAULT);

	/* Everything is closed by now; the walk only catches what would otherwise leak. */
	uv_walk(&lg->loop, on_walk_close, NULL);
	uv_run(&lg->loop, UV_RUN_DEFAULT);
	loop_closed = uv_loop_close(&lg->loop) == 0;
	if (!loop_closed)
		log_warnx("uv_loop_close: handles still open");
	lg_report(lg, loop_closed);
	err = lg_ok(lg) && loop_closed ? 0 : 1;
	fs_tls_ctx_free(lg->tls);
	free(lg->agents);
	free(lg);
	return err;
}
