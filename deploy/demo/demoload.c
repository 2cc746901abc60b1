/* SPDX-License-Identifier: MIT */
/* demoload.c: the demo fleet's servers and clients (fleetstat-demo), one libuv loop each. */
/*
 * Each role is one process in one network namespace of deploy/demo-fleet.sh:
 *
 *   web --listen A:P [--db A:P [--db-pool N]] [--leak]
 *        answers each request line with "ok\n"; with --db it first asks the
 *        db over a new connection and closes that one itself (TIME_WAIT on
 *        the web side), and keeps N idle connections to it (a pool); with
 *        --leak it never closes a connection its client closed (CLOSE_WAIT,
 *        the classic leak).
 *   db --listen A:P
 *        answers each line with "row\n"; closes when the client does.
 *   proxy --listen A:P --backend A:P [--backend A:P ...]
 *        a TCP load balancer: each client connection gets a backend
 *        connection, round robin, and bytes go both ways; an end's EOF is
 *        passed on, and a backend that never closes after it is dropped
 *        after 5 s.
 *   users --from A-B --to A:P [--keep N] [--rate R]
 *        ordinary users from the addresses A..B: N connections kept, each
 *        asking every 2 s, and R short ones a second (connect, ask, close).
 *   hold --from A --to A:P --count N [--every S]
 *        N connections from one address, each asking every S seconds (0:
 *        never): a NAT gateway's steady users, a connection flood, or, where
 *        the target drops the final ACKs, a SYN flood.
 *
 * Every role stops on SIGTERM or SIGINT, and by itself after --lifetime
 * seconds (default 3600), so that nothing of a demo outlives it for long.
 * IPv4 only; addresses are the caller's (the demo's own namespaces).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define DL_MAX_BACKENDS 16
#define DL_BACKLOG 4096
#define DL_LINGER_MS 5000      /* proxy: a backend's grace to close after the client did */
#define DL_ASK_MS 2000         /* users: a kept connection asks this often */
#define DL_MAX_CONNS 100000    /* of any role at once */

typedef enum { R_WEB, R_DB, R_PROXY, R_USERS, R_HOLD } role_t;

typedef struct {
	role_t role;
	struct sockaddr_in listen, db, to, backends[DL_MAX_BACKENDS];
	int n_backends;
	uint32_t from_lo, from_hi;   /* host order */
	int leak, keep, rate, count, every, lifetime, db_pool;
} cfg_t;

static cfg_t cfg;
static uv_loop_t *loop;
static uv_tcp_t server;
static long n_conns;
static unsigned next_backend;
static uint32_t next_from;

static void die(const char *what, int err)
{
	fprintf(stderr, "fleetstat-demo: %s: %s\n", what, uv_strerror(err));
	exit(1);
}

static int parse_addr(const char *s, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -1;
	return uv_ip4_addr(host, (int)port, out) == 0 ? 0 : -1;
}

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

/* ---- one connection: a socket, what it is for, and its peer ------------------------ */

typedef struct conn conn_t;
struct conn {
	uv_tcp_t tcp;
	conn_t *peer;          /* proxy: the other end; web: the db request's client (a ref) */
	uv_timer_t timer;      /* users, hold: the next ask; proxy: the linger after EOF */
	int timer_on;
	int eof;               /* this end sent EOF */
	int closing;
	int kept;              /* users: a kept connection, else a short visit */
	int refs;              /* open handles, and db requests of a web client */
};

typedef struct {
	uv_write_t req;
	uv_buf_t buf;
} wr_t;

static void conn_unref(conn_t *c)
{
	if (--c->refs == 0) {
		n_conns--;
		free(c);
	}
}

static void on_closed(uv_handle_t *h)
{
	conn_unref(h->data);
}

/* Closes the socket (with a reset when abort: nothing lingers) and the timer. */
static void conn_end(conn_t *c, int abort)
{
	if (c->closing)
		return;
	c->closing = 1;
	if (c->timer_on)
		uv_close((uv_handle_t *)&c->timer, on_closed);
	if (c->peer && c->peer->peer == c)
		c->peer->peer = NULL;
	if (!abort || uv_tcp_close_reset(&c->tcp, on_closed) < 0)
		uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void conn_close(conn_t *c)
{
	conn_end(c, 0);
}

static conn_t *conn_new(void)
{
	conn_t *c;

	if (n_conns >= DL_MAX_CONNS || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	uv_tcp_init(loop, &c->tcp);
	c->tcp.data = c;
	c->refs = 1;
	n_conns++;
	return c;
}

static void timer_start(conn_t *c, uv_timer_cb cb, uint64_t ms)
{
	if (c->closing)
		return;
	if (!c->timer_on) {
		uv_timer_init(loop, &c->timer);
		c->timer.data = c;
		c->timer_on = 1;
		c->refs++;
	}
	uv_timer_start(&c->timer, cb, ms, 0);
}

/* A new connection to `to` (from `from` when given); cb gets the outcome.  NULL if none started. */
static conn_t *dial(const struct sockaddr_in *to, const struct sockaddr_in *from, uv_connect_cb cb)
{
	conn_t *c = conn_new();
	uv_connect_t *req = c ? malloc(sizeof(*req)) : NULL;

	if (req == NULL) {
		if (c)
			conn_close(c);
		return NULL;
	}
	req->data = c;
	if ((from && uv_tcp_bind(&c->tcp, (const struct sockaddr *)from, 0) < 0) ||
	    uv_tcp_connect(req, &c->tcp, (const struct sockaddr *)to, cb) < 0) {
		free(req);
		conn_close(c);
		return NULL;
	}
	return c;
}

static void on_written(uv_write_t *req, int status)
{
	wr_t *w = (wr_t *)req;

	(void)status;
	free(w->buf.base);
	free(w);
}

static void send_bytes(conn_t *c, const char *p, size_t n)
{
	wr_t *w;

	if (c->closing || (w = malloc(sizeof(*w))) == NULL)
		return;
	if ((w->buf.base = malloc(n ? n : 1)) == NULL) {
		free(w);
		return;
	}
	memcpy(w->buf.base, p, n);
	w->buf.len = n;
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &w->buf, 1, on_written) < 0) {
		free(w->buf.base);
		free(w);
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h;
	(void)hint;
	buf->base = malloc(16384);
	buf->len = buf->base ? 16384 : 0;
}

static size_t lines(const char *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += p[i] == '\n';
	return k;
}

/* ---- db and web ------------------------------------------------------------------- */

static void on_db_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	conn_t *d = s->data;

	/* The row came (or the db went): the web host closes first, then answers. */
	if (n != 0 && !d->closing) {
		conn_t *client = d->peer;

		if (n > 0)
			send_bytes(client, "ok\n", 3);
		d->peer = NULL;
		conn_unref(client);
		conn_close(d);
	}
	free(buf->base);
}

static void on_db_connect(uv_connect_t *req, int status)
{
	conn_t *d = req->data;

	free(req);
	if (status < 0) {
		conn_unref(d->peer);
		d->peer = NULL;
		conn_close(d);
		return;
	}
	send_bytes(d, "q\n", 2);
	uv_read_start((uv_stream_t *)&d->tcp, on_alloc, on_db_read);
}

static void ask_db(conn_t *client)
{
	conn_t *d = dial(&cfg.db, NULL, on_db_connect);

	if (d == NULL) {
		send_bytes(client, "busy\n", 5);
		return;
	}
	d->peer = client;
	client->refs++;
}

static void on_pool_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	if (n < 0)
		conn_close(s->data);
	free(buf->base);
}

static void on_pool_connect(uv_connect_t *req, int status)
{
	conn_t *d = req->data;

	free(req);
	if (status < 0)
		conn_close(d);
	else
		uv_read_start((uv_stream_t *)&d->tcp, on_alloc, on_pool_read);
}

/* One idle connection of the web host's pool to the db. */
static void pool_open(void)
{
	dial(&cfg.db, NULL, on_pool_connect);
}

static void on_server_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	conn_t *c = s->data;

	if (n > 0) {
		for (size_t k = lines(buf->base, (size_t)n); k > 0; k--) {
			if (cfg.role == R_DB)
				send_bytes(c, "row\n", 4);
			else if (cfg.db.sin_family)
				ask_db(c);
			else
				send_bytes(c, "ok\n", 3);
		}
	} else if (n < 0) {
		/* EOF or reset: a leaking web server forgets the socket (CLOSE_WAIT). */
		uv_read_stop(s);
		if (!(cfg.leak && n == UV_EOF))
			conn_close(c);
	}
	free(buf->base);
}

/* ---- proxy ------------------------------------------------------------------------ */

static void proxy_done(conn_t *c)
{
	conn_t *p = c->peer;

	conn_close(c);
	if (p)
		conn_close(p);
}

static void on_linger(uv_timer_t *t)
{
	proxy_done(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	free(req);
}

static void on_proxy_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	conn_t *c = s->data, *p = c->peer;

	if (n > 0 && p) {
		send_bytes(p, buf->base, (size_t)n);
	} else if (n == UV_EOF && p) {
		uv_shutdown_t *req = malloc(sizeof(*req));

		c->eof = 1;
		uv_read_stop(s);
		if (req && uv_shutdown(req, (uv_stream_t *)&p->tcp, on_shutdown) < 0)
			free(req);
		if (p->eof)
			proxy_done(c);
		else
			timer_start(c, on_linger, DL_LINGER_MS);
	} else if (n < 0) {
		proxy_done(c);
	}
	free(buf->base);
}

static void on_backend_connect(uv_connect_t *req, int status)
{
	conn_t *b = req->data, *client = b->peer;

	free(req);
	if (status < 0 || client == NULL) {
		proxy_done(b);
		return;
	}
	uv_read_start((uv_stream_t *)&b->tcp, on_alloc, on_proxy_read);
	uv_read_start((uv_stream_t *)&client->tcp, on_alloc, on_proxy_read);
}

/* ---- accepting -------------------------------------------------------------------- */

static void on_accept(uv_stream_t *srv, int status)
{
	conn_t *c, *b;

	if (status < 0)
		return;
	if ((c = conn_new()) == NULL) {
		uv_tcp_t *t = malloc(sizeof(*t));   /* over the limit: take it and drop it */

		if (t && uv_tcp_init(loop, t) == 0 && uv_accept(srv, (uv_stream_t *)t) == 0)
			uv_close((uv_handle_t *)t, (uv_close_cb)free);
		else
			free(t);
		return;
	}
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	if (cfg.role != R_PROXY) {
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_server_read);
		return;
	}
	b = dial(&cfg.backends[next_backend++ % (unsigned)cfg.n_backends], NULL, on_backend_connect);
	if (b == NULL) {
		conn_close(c);
		return;
	}
	c->peer = b;
	b->peer = c;
}

/* ---- clients: users and hold ------------------------------------------------------ */

static void on_ask(uv_timer_t *t)
{
	conn_t *c = t->data;

	send_bytes(c, "GET /\n", 6);
	if (c->kept)
		uv_timer_start(t, on_ask, cfg.role == R_USERS ? DL_ASK_MS : (uint64_t)cfg.every * 1000, 0);
}

static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	conn_t *c = s->data;

	if (n > 0 && !c->kept) {
		conn_close(c);          /* a short visit: answered, the user leaves */
	} else if (n < 0) {
		conn_close(c);
	}
	free(buf->base);
}

static void on_client_connect(uv_connect_t *req, int status)
{
	conn_t *c = req->data;

	free(req);
	if (status < 0) {
		conn_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_client_read);
	if (!c->kept)
		send_bytes(c, "GET /\n", 6);
	else if (cfg.role == R_USERS || cfg.every > 0)
		timer_start(c, on_ask, cfg.role == R_USERS ? (uint64_t)(rand() % DL_ASK_MS)
		                                           : (uint64_t)(rand() % (cfg.every * 1000)));
}

static void client_open(int kept)
{
	struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(next_from)};
	conn_t *c;

	if (++next_from > cfg.from_hi)
		next_from = cfg.from_lo;
	if ((c = dial(&cfg.to, &src, on_client_connect)) != NULL)
		c->kept = kept;
}

static uv_timer_t tick;

static void on_tick(uv_timer_t *t)
{
	(void)t;
	for (int i = 0; i < cfg.rate / 10 + (rand() % 10 < cfg.rate % 10); i++)
		client_open(0);
}

/* ---- main ------------------------------------------------------------------------- */

static uv_signal_t sigs[2];
static uv_timer_t life;

/* At exit: held connections are reset, so that no orphan outlives the demo. */
static void walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (uv_is_closing(h))
		return;
	if (h->type == UV_TCP && h->data != NULL)
		conn_end(h->data, 1);
	else if (h->type != UV_TIMER || h->data == NULL)
		uv_close(h, NULL);
}

static void stop(void)
{
	uv_stop(loop);
}

static void on_signal(uv_signal_t *s, int sig)
{
	(void)s;
	(void)sig;
	stop();
}

static void on_life(uv_timer_t *t)
{
	(void)t;
	fprintf(stderr, "fleetstat-demo: lifetime over, stopping\n");
	stop();
}

static void usage(void)
{
	fputs("usage: fleetstat-demo web --listen A:P [--db A:P [--db-pool N]] [--leak]\n"
	      "       fleetstat-demo db --listen A:P\n"
	      "       fleetstat-demo proxy --listen A:P --backend A:P [--backend A:P ...]\n"
	      "       fleetstat-demo users --from A-B --to A:P [--keep N] [--rate R]\n"
	      "       fleetstat-demo hold --from A --to A:P --count N [--every SEC]\n"
	      "  every role: [--lifetime SEC] (default 3600)\n", stderr);
	exit(2);
}

static long num(const char *v, long lo, long hi)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v == '\0' || *end || n < lo || n > hi) {
		fprintf(stderr, "fleetstat-demo: '%s' is not a number from %ld to %ld\n", v, lo, hi);
		exit(2);
	}
	return n;
}

static void parse(int argc, char **argv)
{
	static const struct option longs[] = {
		{"listen", required_argument, NULL, 'l'}, {"db", required_argument, NULL, 'd'},
		{"leak", no_argument, NULL, 'k'},         {"backend", required_argument, NULL, 'b'},
		{"from", required_argument, NULL, 'f'},   {"to", required_argument, NULL, 't'},
		{"keep", required_argument, NULL, 'K'},   {"rate", required_argument, NULL, 'r'},
		{"count", required_argument, NULL, 'c'},  {"every", required_argument, NULL, 'e'},
		{"lifetime", required_argument, NULL, 'L'}, {"db-pool", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	static const char *const roles[] = {"web", "db", "proxy", "users", "hold"};
	int c, r;

	if (argc < 2)
		usage();
	for (r = 0; r < 5 && strcmp(argv[1], roles[r]) != 0; r++)
		;
	if (r == 5)
		usage();
	cfg.role = (role_t)r;
	cfg.lifetime = 3600;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		char *dash;

		switch (c) {
		case 'l': if (parse_addr(optarg, &cfg.listen) < 0) usage(); break;
		case 'd': if (parse_addr(optarg, &cfg.db) < 0) usage(); break;
		case 't': if (parse_addr(optarg, &cfg.to) < 0) usage(); break;
		case 'k': cfg.leak = 1; break;
		case 'b':
			if (cfg.n_backends == DL_MAX_BACKENDS ||
			    parse_addr(optarg, &cfg.backends[cfg.n_backends++]) < 0)
				usage();
			break;
		case 'f':
			if ((dash = strchr(optarg, '-')) != NULL)
				*dash = '\0';
			if (parse_ip(optarg, &cfg.from_lo) < 0 ||
			    parse_ip(dash ? dash + 1 : optarg, &cfg.from_hi) < 0 || cfg.from_hi < cfg.from_lo)
				usage();
			break;
		case 'K': cfg.keep = (int)num(optarg, 0, 50000); break;
		case 'r': cfg.rate = (int)num(optarg, 0, 5000); break;
		case 'c': cfg.count = (int)num(optarg, 1, 50000); break;
		case 'e': cfg.every = (int)num(optarg, 0, 3600); break;
		case 'L': cfg.lifetime = (int)num(optarg, 1, 86400); break;
		case 'p': cfg.db_pool = (int)num(optarg, 0, 1000); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if ((cfg.role <= R_PROXY && !cfg.listen.sin_family) ||
	    (cfg.role == R_PROXY && cfg.n_backends == 0) ||
	    (cfg.role >= R_USERS && (!cfg.to.sin_family || !cfg.from_lo)) ||
	    (cfg.role == R_HOLD && cfg.count == 0))
		usage();
}

int main(int argc, char **argv)
{
	int err;

	parse(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	loop = uv_default_loop();
	for (int i = 0; i < 2; i++) {
		uv_signal_init(loop, &sigs[i]);
		uv_signal_start(&sigs[i], on_signal, i ? SIGINT : SIGTERM);
	}
	uv_timer_init(loop, &life);
	uv_timer_start(&life, on_life, (uint64_t)cfg.lifetime * 1000, 0);
	next_from = cfg.from_lo;
	if (cfg.role <= R_PROXY) {
		uv_tcp_init(loop, &server);
		server.data = NULL;
		if ((err = uv_tcp_bind(&server, (const struct sockaddr *)&cfg.listen, 0)) < 0)
			die("bind", err);
		if ((err = uv_listen((uv_stream_t *)&server, DL_BACKLOG, on_accept)) < 0)
			die("listen", err);
		for (int i = 0; i < cfg.db_pool && cfg.db.sin_family; i++)
			pool_open();
	} else {
		int n = cfg.role == R_USERS ? cfg.keep : cfg.count;

		for (int i = 0; i < n; i++)
			client_open(1);
		if (cfg.role == R_USERS && cfg.rate > 0) {
			uv_timer_init(loop, &tick);
			uv_timer_start(&tick, on_tick, 100, 100);
		}
	}
	printf("ready\n");
	fflush(stdout);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_walk(loop, walk_close, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	return 0;
}
