/* SPDX-License-Identifier: MIT */
/* sockgen.c: hold TCP sockets in every netstat state between two network namespaces. */

/*
 * The "host" namespace holds the sockets that fleetstat measures; the "peer"
 * namespace plays every remote end. Both come from tests/tools/netns.sh, which
 * also installs the nftables rules this program relies on. A socket belongs to
 * the namespace it was created in, so the program setns()es into the host to
 * create the listeners and the host's own clients, then into the peer to create
 * the peer's clients; bind, connect, accept and shutdown work on any fd
 * whatever the thread's namespace is, and accepted sockets belong to their
 * listener's namespace.
 *
 * Ports: state i (ESTABLISHED 0 ... CLOSING 8, see sg_states) has a host AF_INET
 * listener on base+i and an AF_INET6 dual-stack listener on base+10+i (IPv6
 * peers and IPv4 peers reaching it as ::ffff:a.b.c.d). How each state is made:
 *
 *   ESTABLISHED  peer connects, host accepts.
 *   SYN_SENT     the host dials peer addresses on base+1/base+11; the peer drops
 *                the SYNs (nft). No listener anywhere.
 *   SYN_RECV     peer connects; the host drops the final ACK (nft), so the
 *                host keeps request sockets (NEW_SYN_RECV, shown as SYN_RECV).
 *                Nothing is accepted. Needs somaxconn >= 2 * count, see
 *                sg_preflight.
 *   CLOSE_WAIT   peer shutdown(SHUT_WR); the host does nothing.
 *   FIN_WAIT2    host shutdown(SHUT_WR), the peer acks. The host keeps the fd,
 *                so tcp_fin_timeout (orphans only) never applies.
 *   FIN_WAIT1    host shutdown(SHUT_WR); the peer drops the host's FIN (nft).
 *   LAST_ACK     peer shutdown, host sees CLOSE_WAIT, host shutdown; the peer
 *                drops the host's FIN.
 *   CLOSING      host shutdown (FIN dropped at the peer), then peer shutdown:
 *                the host receives a FIN that does not ack its own.
 *   TIME_WAIT    host shutdown, FIN_WAIT2, peer shutdown, then the host closes
 *                its (by then CLOSE) fd. TIME_WAIT lasts a fixed 60 s, so it is
 *                made last.
 *
 * FIN_WAIT1, LAST_ACK and CLOSING retransmit their FIN until tcp_retries2 runs
 * out (hours with netns.sh's 100), SYN_SENT until tcp_syn_retries (127),
 * SYN_RECV until tcp_synack_retries (100). On exit every held fd is closed with
 * SO_LINGER 0, which resets both ends at once; no socket is left orphaned.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define SG_CHUNK 1024          /* connects issued before draining the accept queues */
#define SG_PORT_LIMIT 60000    /* sockets per (state, remote address, family) */
#define SG_ADDR_SLOTS 65536    /* remote address index: 198.19.(i >> 8).(i & 255) */
#define SG_TAIL_MAX (254 * 254)
#define SG_V6_PORT_OFF 10

enum {
	ST_ESTABLISHED,
	ST_SYN_SENT,
	ST_SYN_RECV,
	ST_FIN_WAIT1,
	ST_FIN_WAIT2,
	ST_TIME_WAIT,
	ST_CLOSE_WAIT,
	ST_LAST_ACK,
	ST_CLOSING,
	ST_N
};

/* Kernel TCP state numbers, as in /proc/net/tcp and tcp_info.tcpi_state. */
enum {
	K_ESTABLISHED = 1,
	K_SYN_SENT = 2,
	K_SYN_RECV = 3,
	K_FIN_WAIT1 = 4,
	K_FIN_WAIT2 = 5,
	K_TIME_WAIT = 6,
	K_CLOSE = 7,
	K_CLOSE_WAIT = 8,
	K_LAST_ACK = 9,
	K_LISTEN = 10,
	K_CLOSING = 11,
	K_NEW_SYN_RECV = 12,
};

static const struct {
	const char *name; /* netstat's spelling */
	int kstate;
	double mix;       /* weight in --mix default (a server under load) */
} sg_states[ST_N] = {
	[ST_ESTABLISHED] = {"ESTABLISHED", K_ESTABLISHED, 50},
	[ST_SYN_SENT] = {"SYN_SENT", K_SYN_SENT, 3},
	[ST_SYN_RECV] = {"SYN_RECV", K_SYN_RECV, 6},
	[ST_FIN_WAIT1] = {"FIN_WAIT1", K_FIN_WAIT1, 3},
	[ST_FIN_WAIT2] = {"FIN_WAIT2", K_FIN_WAIT2, 6},
	[ST_TIME_WAIT] = {"TIME_WAIT", K_TIME_WAIT, 20},
	[ST_CLOSE_WAIT] = {"CLOSE_WAIT", K_CLOSE_WAIT, 6},
	[ST_LAST_ACK] = {"LAST_ACK", K_LAST_ACK, 3},
	[ST_CLOSING] = {"CLOSING", K_CLOSING, 3},
};

/* Creation order: TIME_WAIT last, so its fixed 60 s runs from as late as possible. */
static const int sg_order[ST_N] = {
	ST_SYN_SENT, ST_ESTABLISHED, ST_SYN_RECV, ST_CLOSE_WAIT, ST_FIN_WAIT2,
	ST_FIN_WAIT1, ST_LAST_ACK, ST_CLOSING, ST_TIME_WAIT,
};

enum { SG_V4, SG_V6, SG_MAPPED, SG_NFAM };

/* One planned remote end: family and address index (see sg_peer_sa). */
typedef struct {
	uint16_t idx;
	uint8_t fam;
} sg_ep_t;

typedef struct {
	size_t n;       /* target, all workers together */
	sg_ep_t *ep;    /* [n] planned remote ends */
	size_t lo, hi;  /* this worker's share: ep[lo..hi) */
	int *host;      /* [hi - lo] host-side fds, nhost of them in use */
	int *peer;      /* [hi - lo] peer-side fds, npeer of them in use */
	size_t nhost, npeer;
	int lfd[2];     /* host listeners: AF_INET, AF_INET6 dual-stack; -1 if none */
} sg_state_t;

typedef struct {
	const char *host_ns, *peer_ns;
	uint64_t count[ST_N];
	bool count_set[ST_N];
	uint64_t total;
	bool total_set;
	double mix[ST_N];
	uint64_t seed;
	double v6, mapped, heavy_share; /* fractions 0..1 */
	unsigned heavy, tail;
	bool heavy_even;    /* the heavy addresses share alike instead of 1/rank */
	unsigned port_base;
	unsigned timeout;   /* seconds, bound of every wait */
	unsigned max_hold;  /* seconds, 0 = until EOF or signal */
	unsigned workers;   /* 0 = as few as RLIMIT_NOFILE allows */
	const char *plan_path;
	bool quiet;
} sg_opts_t;

typedef struct {
	pid_t pid;
	int cmd;            /* parent: write end of the command pipe; worker: read end */
	int rep;            /* parent: read end of the reply pipe; worker: write end */
} sg_worker_t;

typedef struct {
	sg_opts_t o;
	int hostns, peerns;
	int curns;          /* the namespace this process is in: 0 none yet, 1 host, 2 peer */
	int sigfd;          /* parent only; -1 in workers */
	int parent;         /* worker only: the command pipe; -1 in the parent */
	bool stop;          /* a signal arrived */
	sg_state_t st[ST_N];
	size_t naddr;       /* distinct remote addresses in the plan */
	unsigned nworkers;
	sg_worker_t *w;     /* [nworkers], parent only */
	struct pollfd *pfd; /* [nworkers + 2], parent only: the workers' replies, then two more */
} sg_t;

typedef struct {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	socklen_t len;
} sg_sa_t;

static bool sg_quiet;

__attribute__((format(printf, 1, 2)))
static void sg_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("sockgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

__attribute__((format(printf, 1, 2)))
static void sg_info(const char *fmt, ...)
{
	va_list ap;

	if (sg_quiet)
		return;
	va_start(ap, fmt);
	fputs("sockgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static double sg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sg_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* splitmix64: small, fast and the same everywhere, which is all determinism needs. */
static uint64_t sg_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double sg_rand01(uint64_t *s)
{
	return (double)(sg_rand(s) >> 11) * 0x1.0p-53;
}

/* ---- command line ---- */

static void sg_usage(FILE *f)
{
	fprintf(f,
"usage: sockgen --host-ns NS --peer-ns NS (--count STATE=N ... | --total N [--mix MIX])\n"
"               [--seed S] [--v6 PCT] [--mapped PCT] [--heavy K] [--heavy-share PCT]\n"
"               [--heavy-even]\n"
"               [--tail M] [--port-base P] [--timeout SEC] [--max-hold SEC]\n"
"               [--workers N] [--plan FILE] [--quiet]\n"
"\n"
"Creates TCP sockets in the host namespace in the requested states, with remote\n"
"ends in the peer namespace (both set up by tests/tools/netns.sh), checks the\n"
"host's /proc/net/tcp{,6}, prints 'READY' and a JSON line of the counts per\n"
"state, then holds every socket until stdin reaches EOF or SIGINT/SIGTERM/SIGHUP\n"
"arrives. Needs root. Use a pipe or FIFO as stdin: /dev/null ends it at once.\n"
"\n"
"  --host-ns NS        namespace whose sockets are counted (/run/netns/NS, or a path)\n"
"  --peer-ns NS        namespace playing the remote ends\n"
"  --count STATE=N     sockets in STATE (repeatable). STATE: ESTABLISHED SYN_SENT\n"
"                      SYN_RECV FIN_WAIT1 FIN_WAIT2 TIME_WAIT CLOSE_WAIT LAST_ACK\n"
"                      CLOSING (any case, '-' or '_' optional, ESTAB), or 'all'.\n"
"                      N accepts k (x1000) and M (x1000000) suffixes.\n"
"  --total N           total; states without --count share the rest by --mix\n"
"  --mix MIX           'default' (ESTABLISHED 50, TIME_WAIT 20, SYN_RECV,\n"
"                      FIN_WAIT2, CLOSE_WAIT 6 each, the other four 3 each),\n"
"                      'even', or weights 'STATE=W,STATE=W,...'\n"
"  --seed S            plan seed (default 1); same arguments, same plan\n"
"  --v6 PCT            share of remote ends that are IPv6 2001:db8:f1::/64 (default 10)\n"
"  --mapped PCT        share of remote ends that are IPv4 peers of a dual-stack\n"
"                      AF_INET6 host socket, ::ffff:198.19.x.y (default 10);\n"
"                      the rest are plain IPv4 198.19.0.0/16\n"
"  --heavy K           heavy remote addresses, 0..254 (default 5)\n"
"  --heavy-share PCT   share of sockets on the heavy addresses, split 1/rank\n"
"                      (default 40)\n"
"  --heavy-even        split it evenly between the heavy addresses instead\n"
"  --tail M            light addresses sharing the rest, 1..%d, mildly skewed\n"
"                      toward low indexes (default 4000)\n"
"  --port-base P       first of the 20 ports of netns.sh (default 40000, must match\n"
"                      its FS_PORT_BASE)\n"
"  --timeout SEC       bound of every wait, e.g. for counts to settle (default 60)\n"
"  --max-hold SEC      stop holding after SEC seconds (default 0: no limit)\n"
"  --workers N         worker processes holding the fds (default: as few as the\n"
"                      hard RLIMIT_NOFILE allows, about 2 fds per host socket)\n"
"  --plan FILE         write the planned 'ADDRESS<TAB>STATE<TAB>COUNT' lines, the\n"
"                      address as the host shows it (::ffff:... for mapped);\n"
"                      written before the namespaces are opened\n"
"  --quiet             no progress lines on stderr\n"
"  --help              this text\n"
"\n"
"Remote addresses: heavy rank r (1..K) is 198.19.0.r / 2001:db8:f1::r, tail index t\n"
"is 198.19.(1+t/254).(1+t%%254) / 2001:db8:f1::(1+t/254):(1+t%%254) (hex groups).\n"
"TIME_WAIT sockets disappear 60 s after they are made (they are made last).\n"
"Exit status: 0 after holding, 1 if a target was not reached or on error,\n"
"2 on bad usage.\n",
		SG_TAIL_MAX);
}

static int sg_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		mul = 1000, end++;
	else if (*end == 'M')
		mul = 1000000, end++;
	if (*end != '\0' || v > max / mul)
		return -EINVAL;
	*out = (uint64_t)v * mul;
	return 0;
}

static int sg_parse_pct(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0 && v <= 100))
		return -EINVAL;
	*out = v / 100;
	return 0;
}

/* Returns the state index, ST_N for "all", or -1. Accepts "fin-wait-1", "Fin_Wait1", "ESTAB". */
static int sg_parse_state(const char *s, size_t len)
{
	char a[32], b[32];
	size_t i, j;
	int k;

	for (i = j = 0; i < len && j < sizeof(a) - 1; i++)
		if (s[i] != '-' && s[i] != '_')
			a[j++] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
	if (i < len)
		return -1;
	a[j] = '\0';
	if (strcmp(a, "ALL") == 0)
		return ST_N;
	if (strcmp(a, "ESTAB") == 0)
		return ST_ESTABLISHED;
	for (k = 0; k < ST_N; k++) {
		const char *n = sg_states[k].name;

		for (j = 0; *n != '\0'; n++)
			if (*n != '_')
				b[j++] = *n;
		b[j] = '\0';
		if (strcmp(a, b) == 0)
			return k;
	}
	return -1;
}

static int sg_parse_count(sg_opts_t *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	uint64_t v;
	int s, k;

	if (eq == NULL || (s = sg_parse_state(arg, (size_t)(eq - arg))) < 0 ||
	    sg_parse_u64(eq + 1, 10000000, &v) < 0)
		return -EINVAL;
	for (k = 0; k < ST_N; k++) {
		if (s == ST_N || s == k) {
			o->count[k] = v;
			o->count_set[k] = true;
		}
	}
	return 0;
}

static int sg_parse_mix(sg_opts_t *o, const char *arg)
{
	const char *p = arg;
	int k;

	if (strcmp(arg, "default") == 0 || strcmp(arg, "even") == 0) {
		for (k = 0; k < ST_N; k++)
			o->mix[k] = arg[0] == 'd' ? sg_states[k].mix : 1;
		return 0;
	}
	for (k = 0; k < ST_N; k++)
		o->mix[k] = 0;
	while (*p != '\0') {
		const char *eq = strchr(p, '='), *comma;
		char *end;
		double w;
		int s;

		if (eq == NULL || (s = sg_parse_state(p, (size_t)(eq - p))) < 0 || s == ST_N)
			return -EINVAL;
		errno = 0;
		w = strtod(eq + 1, &end);
		if (errno != 0 || end == eq + 1 || !(w >= 0 && w < 1e9))
			return -EINVAL;
		comma = end;
		if (*comma != ',' && *comma != '\0')
			return -EINVAL;
		o->mix[s] = w;
		p = *comma == ',' ? comma + 1 : comma;
	}
	return 0;
}

/* Splits what --total leaves over the states without --count (largest remainder). */
static int sg_resolve_counts(sg_opts_t *o)
{
	uint64_t fixed = 0, rest, given = 0;
	double wsum = 0, frac[ST_N];
	int k;

	for (k = 0; k < ST_N; k++) {
		if (o->count_set[k])
			fixed += o->count[k];
		else
			wsum += o->mix[k];
	}
	if (!o->total_set)
		return 0;
	if (fixed > o->total) {
		sg_err("--count values add up to %" PRIu64 ", more than --total %" PRIu64,
		       fixed, o->total);
		return -EINVAL;
	}
	rest = o->total - fixed;
	if (rest > 0 && wsum <= 0) {
		sg_err("--total leaves %" PRIu64 " sockets but no state without --count has a --mix weight",
		       rest);
		return -EINVAL;
	}
	for (k = 0; k < ST_N; k++) {
		double share;

		if (o->count_set[k])
			continue;
		share = (double)rest * o->mix[k] / wsum;
		o->count[k] = (uint64_t)share;
		frac[k] = share - (double)o->count[k];
		given += o->count[k];
	}
	while (given < rest) {
		int best = -1;

		for (k = 0; k < ST_N; k++)
			if (!o->count_set[k] && o->mix[k] > 0 && (best < 0 || frac[k] > frac[best]))
				best = k;
		o->count[best]++;
		frac[best] = -1;
		given++;
	}
	return 0;
}

static int sg_parse_args(sg_opts_t *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{"host-ns", required_argument, NULL, 'H'},
		{"peer-ns", required_argument, NULL, 'P'},
		{"count", required_argument, NULL, 'c'},
		{"total", required_argument, NULL, 'n'},
		{"mix", required_argument, NULL, 'm'},
		{"seed", required_argument, NULL, 's'},
		{"v6", required_argument, NULL, '6'},
		{"mapped", required_argument, NULL, '4'},
		{"heavy", required_argument, NULL, 'k'},
		{"heavy-share", required_argument, NULL, 'S'},
		{"heavy-even", no_argument, NULL, 'E'},
		{"tail", required_argument, NULL, 't'},
		{"port-base", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 'T'},
		{"max-hold", required_argument, NULL, 'x'},
		{"workers", required_argument, NULL, 'w'},
		{"plan", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	bool any = false;
	int c, k;

	o->seed = 1;
	o->v6 = 0.10;
	o->mapped = 0.10;
	o->heavy = 5;
	o->heavy_share = 0.40;
	o->tail = 4000;
	o->port_base = 40000;
	o->timeout = 60;
	sg_parse_mix(o, "default");

	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		int err = 0;

		switch (c) {
		case 'H': o->host_ns = optarg; break;
		case 'P': o->peer_ns = optarg; break;
		case 'c': err = sg_parse_count(o, optarg); break;
		case 'n':
			err = sg_parse_u64(optarg, 10000000, &o->total);
			o->total_set = true;
			break;
		case 'm': err = sg_parse_mix(o, optarg); break;
		case 's': err = sg_parse_u64(optarg, UINT64_MAX, &o->seed); break;
		case '6': err = sg_parse_pct(optarg, &o->v6); break;
		case '4': err = sg_parse_pct(optarg, &o->mapped); break;
		case 'S': err = sg_parse_pct(optarg, &o->heavy_share); break;
		case 'E': o->heavy_even = true; break;
		case 'k':
			err = sg_parse_u64(optarg, 254, &v);
			o->heavy = (unsigned)v;
			break;
		case 't':
			err = sg_parse_u64(optarg, SG_TAIL_MAX, &v);
			if (err == 0 && v == 0)
				err = -EINVAL;
			o->tail = (unsigned)v;
			break;
		case 'p':
			err = sg_parse_u64(optarg, 65535 - 19, &v);
			if (err == 0 && v < 1024)
				err = -EINVAL;
			o->port_base = (unsigned)v;
			break;
		case 'T':
			err = sg_parse_u64(optarg, 86400, &v);
			if (err == 0 && v == 0)
				err = -EINVAL;
			o->timeout = (unsigned)v;
			break;
		case 'x':
			err = sg_parse_u64(optarg, UINT32_MAX, &v);
			o->max_hold = (unsigned)v;
			break;
		case 'w':
			err = sg_parse_u64(optarg, 256, &v);
			o->workers = (unsigned)v;
			break;
		case 'o': o->plan_path = optarg; break;
		case 'q': o->quiet = true; break;
		case 'h': sg_usage(stdout); exit(0);
		default: return -EINVAL;
		}
		if (err < 0) {
			const char *name = "?";

			for (k = 0; opts[k].name != NULL; k++)
				if (opts[k].val == c)
					name = opts[k].name;
			sg_err("bad value for --%s: '%s' (see --help)", name, optarg);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		sg_err("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (o->host_ns == NULL || o->peer_ns == NULL) {
		sg_err("--host-ns and --peer-ns are required");
		return -EINVAL;
	}
	if (o->v6 + o->mapped > 1.0 + 1e-9) {
		sg_err("--v6 and --mapped add up to more than 100");
		return -EINVAL;
	}
	if (sg_resolve_counts(o) < 0)
		return -EINVAL;
	for (k = 0; k < ST_N; k++)
		any = any || o->count[k] > 0;
	if (!any) {
		sg_err("nothing to create: give --count STATE=N or --total N");
		return -EINVAL;
	}
	return 0;
}

/* ---- plan ---- */

/*
 * The peer's address for an end. Index i is 198.19.(i >> 8).(i & 255) for IPv4
 * and mapped ends, 2001:db8:f1::(i >> 8):(i & 255) for IPv6. With as_host set,
 * a mapped end is given as the host's AF_INET6 socket sees it, ::ffff:198.19.x.y.
 */
static void sg_peer_sa(const sg_ep_t *ep, bool as_host, uint16_t port, sg_sa_t *a)
{
	uint8_t hi = (uint8_t)(ep->idx >> 8), lo = (uint8_t)(ep->idx & 0xff);

	memset(a, 0, sizeof(*a));
	if (ep->fam == SG_V6 || (ep->fam == SG_MAPPED && as_host)) {
		uint8_t *b = a->u.in6.sin6_addr.s6_addr;

		a->u.in6.sin6_family = AF_INET6;
		a->u.in6.sin6_port = htons(port);
		if (ep->fam == SG_V6) {
			static const uint8_t pfx[6] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0xf1};

			memcpy(b, pfx, sizeof(pfx));
			b[13] = hi;
			b[15] = lo;
		} else {
			b[10] = b[11] = 0xff;
			b[12] = 198;
			b[13] = 19;
			b[14] = hi;
			b[15] = lo;
		}
		a->len = sizeof(a->u.in6);
	} else {
		a->u.in.sin_family = AF_INET;
		a->u.in.sin_port = htons(port);
		a->u.in.sin_addr.s_addr = htonl(0xc6130000u | ep->idx); /* 198.19.0.0 */
		a->len = sizeof(a->u.in);
	}
}

/* The host's address as the peer dials it, for an end of the given family. */
static void sg_host_sa(int fam, uint16_t port, sg_sa_t *a)
{
	memset(a, 0, sizeof(*a));
	if (fam == SG_V6) {
		a->u.in6.sin6_family = AF_INET6;
		a->u.in6.sin6_port = htons(port);
		inet_pton(AF_INET6, "2001:db8:f0::1", &a->u.in6.sin6_addr);
		a->len = sizeof(a->u.in6);
	} else {
		a->u.in.sin_family = AF_INET;
		a->u.in.sin_port = htons(port);
		a->u.in.sin_addr.s_addr = htonl(0xc6120001u); /* 198.18.0.1 */
		a->len = sizeof(a->u.in);
	}
}

static void sg_sa_str(const sg_sa_t *a, char *buf, size_t len)
{
	if (a->u.sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &a->u.in6.sin6_addr, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET, &a->u.in.sin_addr, buf, (socklen_t)len);
}

/* The port a host socket of state s uses for an end of family fam. */
static uint16_t sg_port(const sg_t *g, int s, int fam)
{
	return (uint16_t)(g->o.port_base + (fam == SG_V4 ? 0 : SG_V6_PORT_OFF) + (unsigned)s);
}

/*
 * Draws every remote end. Each state has its own stream derived from the seed,
 * so changing one state's count leaves the other states' ends unchanged.
 */
static int sg_plan(sg_t *g)
{
	const sg_opts_t *o = &g->o;
	double cum[254];
	uint32_t *tally = NULL;   /* [SG_NFAM][SG_ADDR_SLOTS][ST_N] */
	bool *seen = NULL;        /* [2][SG_ADDR_SLOTS]: IPv4 (plain or mapped), IPv6 */
	FILE *f = NULL;
	double hsum = 0;
	unsigned r;
	int s, err = 0;

	for (r = 0; r < o->heavy; r++) {
		hsum += o->heavy_even ? 1.0 : 1.0 / (r + 1);
		cum[r] = hsum;
	}
	tally = calloc((size_t)SG_NFAM * SG_ADDR_SLOTS * ST_N, sizeof(*tally));
	seen = calloc(2 * SG_ADDR_SLOTS, sizeof(*seen));
	if (tally == NULL || seen == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (s = 0; s < ST_N; s++) {
		sg_state_t *st = &g->st[s];
		uint64_t rng = o->seed ^ (0x51ed27a4c0ffee00ULL + (uint64_t)s * 0x9e3779b97f4a7c15ULL);
		size_t i;

		st->lfd[0] = st->lfd[1] = -1;
		st->n = (size_t)o->count[s];
		if (st->n == 0)
			continue;
		st->ep = calloc(st->n, sizeof(*st->ep));
		if (st->ep == NULL) {
			err = -ENOMEM;
			goto out;
		}
		for (i = 0; i < st->n; i++) {
			sg_ep_t *ep = &st->ep[i];
			double u = sg_rand01(&rng), w = sg_rand01(&rng);
			uint32_t *t;

			ep->fam = u < o->v6 ? SG_V6 : u < o->v6 + o->mapped ? SG_MAPPED : SG_V4;
			if (o->heavy > 0 && w < o->heavy_share) {
				double x = w / o->heavy_share * hsum;

				for (r = 0; r + 1 < o->heavy && cum[r] <= x; r++)
					;
				ep->idx = (uint16_t)(r + 1);
			} else {
				/*
				 * A mild slope so that the tail has a ranking but no
				 * heavy hitters: index density falls from 4x to 0.57x
				 * the uniform one across the tail.
				 */
				double v = sg_rand01(&rng);
				unsigned tix = (unsigned)((double)o->tail * v * (0.25 + 0.75 * v));

				if (tix >= o->tail)
					tix = o->tail - 1;
				ep->idx = (uint16_t)(((1 + tix / 254) << 8) | (1 + tix % 254));
			}
			t = &tally[((size_t)ep->fam * SG_ADDR_SLOTS + ep->idx) * ST_N + (size_t)s];
			if (++*t > SG_PORT_LIMIT) {
				sg_ep_t e = *ep;
				sg_sa_t a;
				char buf[INET6_ADDRSTRLEN];

				sg_peer_sa(&e, true, 0, &a);
				sg_sa_str(&a, buf, sizeof(buf));
				sg_err("%s: more than %d sockets with remote %s on one port; "
				       "raise --heavy or lower --heavy-share", sg_states[s].name,
				       SG_PORT_LIMIT, buf);
				err = -ERANGE;
				goto out;
			}
			if (!seen[(ep->fam == SG_V6) * SG_ADDR_SLOTS + ep->idx]) {
				seen[(ep->fam == SG_V6) * SG_ADDR_SLOTS + ep->idx] = true;
				g->naddr++;
			}
		}
	}
	if (o->plan_path != NULL) {
		int fam;
		unsigned idx;

		if ((f = fopen(o->plan_path, "w")) == NULL) {
			err = -errno;
			sg_err("--plan %s: %s", o->plan_path, strerror(-err));
			goto out;
		}
		for (fam = 0; fam < SG_NFAM; fam++) {
			for (idx = 0; idx < SG_ADDR_SLOTS; idx++) {
				for (s = 0; s < ST_N; s++) {
					uint32_t n = tally[((size_t)fam * SG_ADDR_SLOTS + idx) * ST_N + (size_t)s];
					sg_ep_t e = {(uint16_t)idx, (uint8_t)fam};
					sg_sa_t a;
					char buf[INET6_ADDRSTRLEN];

					if (n == 0)
						continue;
					sg_peer_sa(&e, true, 0, &a);
					sg_sa_str(&a, buf, sizeof(buf));
					fprintf(f, "%s\t%s\t%" PRIu32 "\n", buf, sg_states[s].name, n);
				}
			}
		}
		if (fclose(f) != 0) {
			f = NULL;
			err = -errno;
			sg_err("--plan %s: %s", o->plan_path, strerror(-err));
			goto out;
		}
		f = NULL;
	}
out:
	if (f != NULL)
		fclose(f);
	free(seen);
	free(tally);
	return err;
}

/* ---- system ---- */

/*
 * True once the run should stop: in the parent when a signal is pending, in a
 * worker when the parent has closed the command pipe (it is aborting or gone).
 * The creation steps call this between steps and in every wait.
 */
static bool sg_interrupted(sg_t *g)
{
	struct signalfd_siginfo si;

	if (g->stop)
		return true;
	if (g->sigfd >= 0) {
		if (read(g->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			sg_err("interrupted by signal %u", si.ssi_signo);
			g->stop = true;
		}
	} else if (g->parent >= 0) {
		struct pollfd p = {g->parent, POLLIN, 0};

		/* No command is ever pending while a step runs: any event is the hangup. */
		g->stop = poll(&p, 1, 0) == 1;
	}
	return g->stop;
}

static int sg_open_ns(const char *name, int *out)
{
	char path[PATH_MAX];
	int fd;

	if (strchr(name, '/') != NULL)
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		int err = -errno;

		sg_err("open %s: %s", path, strerror(-err));
		return err;
	}
	*out = fd;
	return 0;
}

/* Moves this process into the host (which = 1) or peer (2) namespace. */
static int sg_enter(sg_t *g, int which)
{
	const char *name = which == 1 ? g->o.host_ns : g->o.peer_ns;

	if (g->curns == which)
		return 0;
	if (setns(which == 1 ? g->hostns : g->peerns, CLONE_NEWNET) < 0) {
		int err = -errno;

		sg_err("setns %s: %s", name, strerror(-err));
		return err;
	}
	g->curns = which;
	return 0;
}

/* Reads one integer sysctl of the current namespace; -1 if unreadable. */
static long sg_sysctl(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * Every held socket is an fd, and the host and the peer end each take one, so
 * N host sockets need about 2N fds. Without CAP_SYS_RESOURCE the hard
 * RLIMIT_NOFILE cannot be raised (containers often cap it at 20,000 or so),
 * so the sockets are spread over as many worker processes as that takes,
 * each with its own fd table.
 */
static int sg_plan_workers(sg_t *g)
{
	struct rlimit rl;
	size_t need = 0, per;
	unsigned min;
	long nr_open = sg_sysctl("/proc/sys/fs/nr_open");
	int s;

	for (s = 0; s < ST_N; s++)
		need += 2 * g->st[s].n;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_max < need + 256 && nr_open > 0) {
		struct rlimit want = rl;

		want.rlim_max = need + 256 < (size_t)nr_open ? need + 256 : (rlim_t)nr_open;
		want.rlim_cur = want.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_max < 1024) {
		sg_err("RLIMIT_NOFILE %lu is too small", (unsigned long)rl.rlim_max);
		return -EMFILE;
	}
	per = (size_t)rl.rlim_max - 256;
	min = (unsigned)((need + per - 1) / per);
	if (min == 0)
		min = 1;
	if (g->o.workers != 0 && g->o.workers < min) {
		sg_err("--workers %u: %zu fds need at least %u under RLIMIT_NOFILE %lu",
		       g->o.workers, need, min, (unsigned long)rl.rlim_max);
		return -EMFILE;
	}
	g->nworkers = g->o.workers != 0 ? g->o.workers : min;
	return 0;
}

/* Refuses targets the host namespace's settings cannot hold (run in the host ns). */
static int sg_preflight(const sg_t *g)
{
	long somax = sg_sysctl("/proc/sys/net/core/somaxconn");
	long synbl = sg_sysctl("/proc/sys/net/ipv4/tcp_max_syn_backlog");
	long cookies = sg_sysctl("/proc/sys/net/ipv4/tcp_syncookies");
	long tw = sg_sysctl("/proc/sys/net/ipv4/tcp_max_tw_buckets");
	size_t nsr = g->st[ST_SYN_RECV].n, ntw = g->st[ST_TIME_WAIT].n;
	int err = 0;

	/*
	 * The request timer retires old requests early once a listener's queue
	 * is over half its backlog, and a full queue means no request socket
	 * (a cookie or a drop). Each SYN_RECV listener gets a share of nsr.
	 */
	if (nsr > 0 && (somax < 0 || (size_t)somax < 2 * nsr + SG_CHUNK)) {
		sg_err("SYN_RECV=%zu needs net.core.somaxconn >= %zu in the host namespace (is %ld)",
		       nsr, 2 * nsr + SG_CHUNK, somax);
		err = -EINVAL;
	}
	if (nsr > 0 && cookies == 0 && (synbl < 0 || (size_t)synbl / 4 * 3 <= nsr)) {
		sg_err("SYN_RECV=%zu needs net.ipv4.tcp_max_syn_backlog > %zu in the host namespace (is %ld)",
		       nsr, nsr / 3 * 4 + 4, synbl);
		err = -EINVAL;
	}
	if (nsr > 0 && cookies == 2) {
		sg_err("SYN_RECV needs net.ipv4.tcp_syncookies != 2 in the host namespace");
		err = -EINVAL;
	}
	if (ntw > 0 && (tw < 0 || (size_t)tw < ntw)) {
		sg_err("TIME_WAIT=%zu needs net.ipv4.tcp_max_tw_buckets >= %zu in the host namespace (is %ld)",
		       ntw, ntw, tw);
		err = -EINVAL;
	}
	return err;
}

static int sg_setopt(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) < 0 ? -errno : 0;
}

static int sg_tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	return ti.tcpi_state;
}

/* Closes with SO_LINGER 0: an immediate reset, no orphan left behind. */
static void sg_abort(int fd)
{
	struct linger l = {1, 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* Host listener for state s, family 0 (AF_INET) or 1 (AF_INET6 dual-stack). Host ns. */
static int sg_listen(sg_t *g, int s, int v6)
{
	sg_sa_t a;
	uint16_t port = sg_port(g, s, v6 ? SG_V6 : SG_V4);
	int fd, err;

	memset(&a, 0, sizeof(a));
	if ((fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		err = -errno;
		goto fail;
	}
	if (v6) {
		a.u.in6.sin6_family = AF_INET6;
		a.u.in6.sin6_port = htons(port);
		a.len = sizeof(a.u.in6);
		if ((err = sg_setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0)) < 0)
			goto fail;
	} else {
		a.u.in.sin_family = AF_INET;
		a.u.in.sin_port = htons(port);
		a.len = sizeof(a.u.in);
	}
	if ((err = sg_setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1)) < 0)
		goto fail;
	if (bind(fd, &a.u.sa, a.len) < 0 || listen(fd, INT_MAX) < 0) {
		err = -errno;
		goto fail;
	}
	g->st[s].lfd[v6] = fd;
	return 0;
fail:
	sg_err("%s: listen on %s port %u: %s", sg_states[s].name, v6 ? "[::]" : "0.0.0.0",
	       port, strerror(-err));
	if (fd >= 0)
		close(fd);
	return err;
}

static void sg_connect_err(int s, const char *who, const sg_sa_t *a, int err)
{
	char buf[INET6_ADDRSTRLEN];

	sg_sa_str(a, buf, sizeof(buf));
	sg_err("%s: %s %s port %u: %s%s", sg_states[s].name, who, buf,
	       ntohs(a->u.sa.sa_family == AF_INET6 ? a->u.in6.sin6_port : a->u.in.sin_port),
	       strerror(-err), err == -EADDRNOTAVAIL ? " (out of local ports?)" : "");
}

/* A peer client bound to the end's address, dialing the host. Peer ns. */
static int sg_peer_connect(sg_t *g, int s, const sg_ep_t *ep, int *out)
{
	sg_sa_t src, dst;
	int fd, err;

	sg_peer_sa(ep, false, 0, &src);
	sg_host_sa(ep->fam, sg_port(g, s, ep->fam), &dst);
	if ((fd = socket(src.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		err = -errno;
		sg_connect_err(s, "socket for", &src, err);
		return err;
	}
	/*
	 * The port is picked at connect() from the whole 4-tuple, so one source
	 * address can hold up to a port range of connections per host port.
	 * IPv6 AnyIP addresses are routes, not interface addresses, so binding to
	 * them needs IP_FREEBIND (IPv4 accepts a local route as local).
	 */
	if ((err = sg_setopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)) < 0 ||
	    (ep->fam == SG_V6 && (err = sg_setopt(fd, SOL_IP, IP_FREEBIND, 1)) < 0)) {
		sg_connect_err(s, "setsockopt for", &src, err);
		goto fail;
	}
	if (bind(fd, &src.u.sa, src.len) < 0) {
		err = -errno;
		sg_connect_err(s, "bind to", &src, err);
		goto fail;
	}
	if (connect(fd, &dst.u.sa, dst.len) < 0 && errno != EINPROGRESS) {
		err = -errno;
		sg_connect_err(s, "connect to", &dst, err);
		goto fail;
	}
	*out = fd;
	return 0;
fail:
	close(fd);
	return err;
}

/* A host client dialing the peer on a port whose SYNs the peer drops. Host ns. */
static int sg_host_connect(sg_t *g, const sg_ep_t *ep, int *out)
{
	sg_sa_t dst;
	int fd, err;

	sg_peer_sa(ep, true, sg_port(g, ST_SYN_SENT, ep->fam), &dst);
	if ((fd = socket(dst.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		err = -errno;
		sg_connect_err(ST_SYN_SENT, "socket for", &dst, err);
		return err;
	}
	if (connect(fd, &dst.u.sa, dst.len) < 0 && errno != EINPROGRESS) {
		err = -errno;
		sg_connect_err(ST_SYN_SENT, "connect to", &dst, err);
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

/* Accepts from state s's listeners until it holds `want` host fds or the deadline passes. */
static int sg_accept_upto(sg_t *g, int s, size_t want, double deadline)
{
	sg_state_t *st = &g->st[s];
	struct pollfd p[2] = {{st->lfd[0], POLLIN, 0}, {st->lfd[1], POLLIN, 0}};

	while (st->nhost < want) {
		int k;

		for (k = 0; k < 2 && st->nhost < want; k++) {
			while (st->nhost < want) {
				int fd = accept4(st->lfd[k], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (fd >= 0) {
					st->host[st->nhost++] = fd;
					continue;
				}
				if (errno == EAGAIN || errno == ECONNABORTED || errno == EINTR)
					break;
				sg_err("%s: accept: %s", sg_states[s].name, strerror(errno));
				return -errno;
			}
		}
		if (st->nhost >= want)
			break;
		if (sg_interrupted(g))
			return -EINTR;
		if (sg_now() > deadline) {
			sg_err("%s: accepted %zu of %zu connections in %u s", sg_states[s].name,
			       st->nhost, want, g->o.timeout);
			return -ETIMEDOUT;
		}
		poll(p, 2, 50);
	}
	return 0;
}

/*
 * Waits until every fd reports kernel state `want` (tcp_info). Each use waits
 * for a state the socket moves into and stays in, so a prefix that has
 * arrived need not be looked at again.
 */
static int sg_wait_state(sg_t *g, int s, const int *fds, size_t n, int want, const char *side)
{
	double deadline = sg_now() + g->o.timeout;
	size_t done = 0, i, have;

	for (;;) {
		while (done < n && sg_tcp_state(fds[done]) == want)
			done++;
		if (done == n)
			return 0;
		if (sg_interrupted(g))
			return -EINTR;
		if (sg_now() > deadline)
			break;
		sg_sleep_ms(2);
	}
	for (i = done, have = done; i < n; i++)
		have += sg_tcp_state(fds[i]) == want;
	sg_err("%s: only %zu of %zu %s sockets reached kernel state %d in %u s (first stuck in %d)",
	       sg_states[s].name, have, n, side, want, g->o.timeout, sg_tcp_state(fds[done]));
	return -ETIMEDOUT;
}

static void sg_shutdown_all(const int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		shutdown(fds[i], SHUT_WR);
}

/* ---- worker: one share of every state ---- */

enum {
	OP_CONNECT,     /* make the share's connections (see sg_op_connect) */
	OP_SHUT_HOST,   /* shutdown(SHUT_WR) every host fd */
	OP_SHUT_PEER,   /* shutdown(SHUT_WR) every peer fd */
	OP_WAIT_HOST,   /* wait until every host fd is in kernel state arg */
	OP_CLOSE_HOST,  /* close the host fds */
	OP_CLOSE_PEER,  /* close the peer fds */
	OP_END = -1
};

typedef struct {
	int op, s, arg;
} sg_cmd_t;

/*
 * The steps that make each state. All workers run a step before any starts
 * the next: a worker accepts whichever connections reach the shared listener,
 * so its host fds are not the peers of its own peer fds, and a wait on the
 * host side needs every worker's peer step done.
 */
static const struct {
	int op, arg;
} sg_recipe[ST_N][8] = {
	[ST_ESTABLISHED] = {{OP_CONNECT, 0}, {OP_END, 0}},
	[ST_SYN_SENT] = {{OP_CONNECT, 0}, {OP_END, 0}},
	[ST_SYN_RECV] = {{OP_CONNECT, 0}, {OP_END, 0}},
	[ST_CLOSE_WAIT] = {{OP_CONNECT, 0}, {OP_SHUT_PEER, 0}, {OP_WAIT_HOST, K_CLOSE_WAIT},
			   {OP_END, 0}},
	[ST_FIN_WAIT2] = {{OP_CONNECT, 0}, {OP_SHUT_HOST, 0}, {OP_WAIT_HOST, K_FIN_WAIT2},
			  {OP_END, 0}},
	[ST_FIN_WAIT1] = {{OP_CONNECT, 0}, {OP_SHUT_HOST, 0}, {OP_WAIT_HOST, K_FIN_WAIT1},
			  {OP_END, 0}},
	[ST_LAST_ACK] = {{OP_CONNECT, 0}, {OP_SHUT_PEER, 0}, {OP_WAIT_HOST, K_CLOSE_WAIT},
			 {OP_SHUT_HOST, 0}, {OP_WAIT_HOST, K_LAST_ACK}, {OP_END, 0}},
	/* The host's FIN must be out (and dropped) before the peer's arrives. */
	[ST_CLOSING] = {{OP_CONNECT, 0}, {OP_SHUT_HOST, 0}, {OP_WAIT_HOST, K_FIN_WAIT1},
			{OP_SHUT_PEER, 0}, {OP_WAIT_HOST, K_CLOSING}, {OP_END, 0}},
	/*
	 * On the peer's FIN the kernel hands the connection to a timewait
	 * socket and leaves the fd's socket CLOSE. The peer is then in LAST_ACK
	 * or CLOSED with nothing unread, so a plain close sends no RST (which
	 * would end the host's TIME_WAIT).
	 */
	[ST_TIME_WAIT] = {{OP_CONNECT, 0}, {OP_SHUT_HOST, 0}, {OP_WAIT_HOST, K_FIN_WAIT2},
			  {OP_SHUT_PEER, 0}, {OP_WAIT_HOST, K_CLOSE}, {OP_CLOSE_HOST, 0},
			  {OP_CLOSE_PEER, 0}, {OP_END, 0}},
};

/* SYN_SENT: the host dials; nothing comes back. */
static int sg_make_syn_sent(sg_t *g)
{
	sg_state_t *st = &g->st[ST_SYN_SENT];
	size_t i;
	int err, fd = -1;

	if ((err = sg_enter(g, 1)) < 0)
		return err;
	for (i = st->lo; i < st->hi; i++) {
		if ((err = sg_host_connect(g, &st->ep[i], &fd)) < 0)
			return err;
		st->host[st->nhost++] = fd;
	}
	return sg_wait_state(g, ST_SYN_SENT, st->host, st->nhost, K_SYN_SENT, "host");
}

/* Every other state: the peer dials in chunks; the host accepts (SYN_RECV: never). */
static int sg_make_served(sg_t *g, int s)
{
	sg_state_t *st = &g->st[s];
	size_t i = st->lo;
	int err, fd = -1;

	if ((err = sg_enter(g, 2)) < 0)
		return err;
	while (i < st->hi) {
		size_t end = st->hi - i > SG_CHUNK ? i + SG_CHUNK : st->hi, first = st->npeer;

		for (; i < end; i++) {
			if ((err = sg_peer_connect(g, s, &st->ep[i], &fd)) < 0)
				return err;
			st->peer[st->npeer++] = fd;
		}
		if (s == ST_SYN_RECV)
			err = sg_wait_state(g, s, st->peer + first, st->npeer - first,
					    K_ESTABLISHED, "peer");
		else
			err = sg_accept_upto(g, s, st->npeer, sg_now() + g->o.timeout);
		if (err < 0)
			return err;
	}
	return 0;
}

static int sg_worker_step(sg_t *g, const sg_cmd_t *c)
{
	sg_state_t *st = &g->st[c->s];
	size_t i;

	switch (c->op) {
	case OP_CONNECT:
		return c->s == ST_SYN_SENT ? sg_make_syn_sent(g) : sg_make_served(g, c->s);
	case OP_SHUT_HOST:
		sg_shutdown_all(st->host, st->nhost);
		return 0;
	case OP_SHUT_PEER:
		sg_shutdown_all(st->peer, st->npeer);
		return 0;
	case OP_WAIT_HOST:
		return sg_wait_state(g, c->s, st->host, st->nhost, c->arg, "host");
	case OP_CLOSE_HOST:
		for (i = 0; i < st->nhost; i++)
			close(st->host[i]);
		st->nhost = 0;
		return 0;
	case OP_CLOSE_PEER:
		for (i = 0; i < st->npeer; i++)
			close(st->peer[i]);
		st->npeer = 0;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Peers first: their resets clear the host's request sockets. SO_LINGER 0 throughout. */
static void sg_release(sg_t *g)
{
	size_t i;
	int s;

	for (s = 0; s < ST_N; s++)
		for (i = 0; i < g->st[s].npeer; i++)
			sg_abort(g->st[s].peer[i]);
	for (s = 0; s < ST_N; s++) {
		for (i = 0; i < g->st[s].nhost; i++)
			sg_abort(g->st[s].host[i]);
		g->st[s].npeer = g->st[s].nhost = 0;
	}
}

/*
 * A worker runs the commands it reads until EOF, which also comes when the
 * parent dies, then resets its sockets and exits. It ignores the terminal's
 * signals (they stay blocked) and leaves them to the parent.
 */
static int sg_worker_main(sg_t *g, unsigned w)
{
	sg_cmd_t c;
	int s, err = 0;

	for (s = 0; s < ST_N; s++) {
		sg_state_t *st = &g->st[s];

		st->lo = st->n * w / g->nworkers;
		st->hi = st->n * (w + 1) / g->nworkers;
		if (st->hi == st->lo)
			continue;
		st->host = malloc((st->hi - st->lo) * sizeof(*st->host));
		st->peer = malloc((st->hi - st->lo) * sizeof(*st->peer));
		if (st->host == NULL || st->peer == NULL)
			return 1;
	}
	for (;;) {
		ssize_t n = read(g->w[w].cmd, &c, sizeof(c));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(c))
			break;
		err = sg_worker_step(g, &c);
		if (write(g->w[w].rep, &err, sizeof(err)) != (ssize_t)sizeof(err))
			break;
	}
	sg_release(g);
	return 0;
}

/* ---- parent ---- */

static void sg_workers_stop(sg_t *g)
{
	double deadline;
	unsigned i, left;

	for (i = 0; i < g->nworkers; i++) {
		if (g->w[i].cmd >= 0)
			close(g->w[i].cmd);
		g->w[i].cmd = -1;
	}
	/* Resets take a moment at 100k sockets; wait a bounded time, then kill. */
	deadline = sg_now() + 30;
	do {
		left = 0;
		for (i = 0; i < g->nworkers; i++) {
			if (g->w[i].pid <= 0)
				continue;
			if (waitpid(g->w[i].pid, NULL, WNOHANG) == g->w[i].pid)
				g->w[i].pid = 0;
			else
				left++;
		}
		if (left > 0)
			sg_sleep_ms(10);
	} while (left > 0 && sg_now() < deadline);
	for (i = 0; i < g->nworkers; i++) {
		if (g->w[i].pid > 0) {
			sg_err("worker %d did not exit; killing it", (int)g->w[i].pid);
			kill(g->w[i].pid, SIGKILL);
			waitpid(g->w[i].pid, NULL, 0);
		}
		if (g->w[i].rep >= 0)
			close(g->w[i].rep);
	}
	free(g->w);
	free(g->pfd);
	g->w = NULL;
	g->pfd = NULL;
	g->nworkers = 0;
}

static int sg_workers_start(sg_t *g)
{
	unsigned i, j;

	fflush(stdout);
	fflush(stderr);
	g->w = calloc(g->nworkers, sizeof(*g->w));
	g->pfd = calloc(g->nworkers + 2, sizeof(*g->pfd));
	if (g->w == NULL || g->pfd == NULL)
		return -ENOMEM;
	for (i = 0; i < g->nworkers; i++)
		g->w[i].pid = 0, g->w[i].cmd = g->w[i].rep = -1;
	for (i = 0; i < g->nworkers; i++) {
		int cp[2], rp[2];
		pid_t pid;

		if (pipe2(cp, O_CLOEXEC) < 0)
			return -errno;
		if (pipe2(rp, O_CLOEXEC) < 0) {
			close(cp[0]);
			close(cp[1]);
			return -errno;
		}
		if ((pid = fork()) < 0) {
			int err = -errno;

			close(cp[0]), close(cp[1]), close(rp[0]), close(rp[1]);
			return err;
		}
		if (pid == 0) {
			/* Keep only this worker's ends, or EOF would never come. */
			for (j = 0; j < i; j++)
				close(g->w[j].cmd), close(g->w[j].rep);
			close(cp[1]);
			close(rp[0]);
			close(g->sigfd);
			g->sigfd = -1;
			g->w[i].cmd = cp[0];
			g->w[i].rep = rp[1];
			g->parent = cp[0];
			fclose(stdin);
			_exit(sg_worker_main(g, i));
		}
		close(cp[0]);
		close(rp[1]);
		g->w[i].pid = pid;
		g->w[i].cmd = cp[1];
		g->w[i].rep = rp[0];
	}
	return 0;
}

/* Runs one step in every worker and waits for all of them. */
static int sg_step_all(sg_t *g, int op, int s, int arg)
{
	sg_cmd_t c = {op, s, arg};
	double deadline = sg_now() + 3.0 * g->o.timeout + 30;
	unsigned i, pending = 0;
	int result = 0;
	bool *done = calloc(g->nworkers, sizeof(*done));

	if (done == NULL)
		return -ENOMEM;
	for (i = 0; i < g->nworkers; i++) {
		if (write(g->w[i].cmd, &c, sizeof(c)) != (ssize_t)sizeof(c)) {
			sg_err("worker %d is gone", (int)g->w[i].pid);
			result = -EPIPE;
			goto out;
		}
		pending++;
	}
	while (pending > 0) {
		struct pollfd *p = g->pfd;

		for (i = 0; i < g->nworkers; i++)
			p[i] = (struct pollfd){done[i] ? -1 : g->w[i].rep, POLLIN, 0};
		p[g->nworkers] = (struct pollfd){g->sigfd, POLLIN, 0};
		if (poll(p, g->nworkers + 1, 100) < 0 && errno != EINTR) {
			result = -errno;
			goto out;
		}
		if (sg_interrupted(g)) {
			result = -EINTR;
			goto out;
		}
		for (i = 0; i < g->nworkers; i++) {
			int err;

			if (done[i] || p[i].revents == 0)
				continue;
			if (read(g->w[i].rep, &err, sizeof(err)) != (ssize_t)sizeof(err)) {
				sg_err("worker %d died", (int)g->w[i].pid);
				err = -EPIPE;
			}
			done[i] = true;
			pending--;
			if (err < 0 && result == 0)
				result = err;
		}
		if (pending > 0 && sg_now() > deadline) {
			sg_err("%s: workers did not finish a step in time", sg_states[s].name);
			result = -ETIMEDOUT;
			goto out;
		}
	}
out:
	free(done);
	return result;
}

/* Counts the current namespace's TCP sockets by kernel state from /proc/net/tcp{,6}. */
static int sg_proc_count(size_t kcount[16])
{
	static const char *const paths[] = {"/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"};
	static char iobuf[1 << 20];
	char *line = NULL;
	size_t cap = 0;
	int i, err = 0;

	memset(kcount, 0, 16 * sizeof(*kcount));
	for (i = 0; i < 2; i++) {
		FILE *f = fopen(paths[i], "re");
		bool header = true;

		if (f == NULL) {
			err = -errno;
			sg_err("open %s: %s", paths[i], strerror(-err));
			break;
		}
		setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
		while (getline(&line, &cap, f) > 0) {
			char *p = line;
			unsigned long st;
			int field;

			if (header) {
				header = false;
				continue;
			}
			/* "sl local rem st ...": the fourth field, in hex. */
			for (field = 0; field < 3; field++) {
				while (*p == ' ')
					p++;
				while (*p != ' ' && *p != '\0')
					p++;
			}
			st = strtoul(p, NULL, 16);
			if (st < 16)
				kcount[st]++;
		}
		fclose(f);
	}
	free(line);
	return err;
}

/* Polls the host's counts until they equal the targets. Host ns. */
static int sg_verify(sg_t *g, size_t got[ST_N])
{
	double deadline = sg_now() + g->o.timeout;
	size_t kcount[16];
	int s, err;

	for (;;) {
		bool ok = true;

		if ((err = sg_proc_count(kcount)) < 0)
			return err;
		kcount[K_SYN_RECV] += kcount[K_NEW_SYN_RECV];
		for (s = 0; s < ST_N; s++) {
			got[s] = kcount[sg_states[s].kstate];
			ok = ok && got[s] == g->st[s].n;
		}
		if (ok)
			return 0;
		if (sg_interrupted(g))
			return -EINTR;
		if (sg_now() > deadline)
			break;
		sg_sleep_ms(200);
	}
	for (s = 0; s < ST_N; s++)
		if (got[s] != g->st[s].n)
			sg_err("%s: host has %zu, target %zu (after %u s)", sg_states[s].name,
			       got[s], g->st[s].n, g->o.timeout);
	return -ETIMEDOUT;
}

/* Holds until EOF on stdin, a signal, --max-hold, or a worker dying (an error). */
static int sg_hold(sg_t *g)
{
	struct pollfd *p = g->pfd;
	double end = sg_now() + g->o.max_hold;
	char buf[4096];
	unsigned i;

	p[0] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
	p[1] = (struct pollfd){g->sigfd, POLLIN, 0};
	for (i = 0; i < g->nworkers; i++)
		p[i + 2] = (struct pollfd){g->w[i].rep, POLLIN, 0};
	for (;;) {
		int to = -1, r;

		if (g->o.max_hold > 0) {
			double left = end - sg_now();

			if (left <= 0) {
				sg_info("--max-hold reached");
				return 0;
			}
			to = left > 3600 ? 3600000 : (int)(left * 1000) + 1;
		}
		r = poll(p, g->nworkers + 2, to);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		if (p[1].revents != 0) {
			sg_interrupted(g);
			return 0;
		}
		for (i = 0; i < g->nworkers; i++) {
			if (p[i + 2].revents != 0) {
				sg_err("worker %d died while holding", (int)g->w[i].pid);
				return -EPIPE;
			}
		}
		if (p[0].revents & POLLNVAL) {
			p[0].fd = -1; /* no stdin: only a signal ends the hold */
		} else if (p[0].revents != 0) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				sg_info("stdin closed");
				return 0;
			}
		}
	}
}

static void sg_print_counts(FILE *f, const size_t got[ST_N])
{
	int s;

	fputc('{', f);
	for (s = 0; s < ST_N; s++)
		fprintf(f, "%s\"%s\":%zu", s ? "," : "", sg_states[s].name, got[s]);
	fputs("}\n", f);
}

static int sg_run(sg_t *g)
{
	size_t got[ST_N], total = 0;
	double t0 = sg_now(), t1, t2;
	int s, k, j, err;

	for (s = 0; s < ST_N; s++)
		total += g->st[s].n;
	if ((err = sg_plan_workers(g)) < 0)
		return err;
	if ((err = sg_open_ns(g->o.host_ns, &g->hostns)) < 0 ||
	    (err = sg_open_ns(g->o.peer_ns, &g->peerns)) < 0)
		return err;

	/* The parent lives in the host namespace: listeners, then /proc/net. */
	if ((err = sg_enter(g, 1)) < 0 || (err = sg_preflight(g)) < 0)
		return err;
	for (s = 0; s < ST_N; s++)
		for (k = 0; k < 2 && s != ST_SYN_SENT && g->st[s].n > 0; k++)
			if ((err = sg_listen(g, s, k)) < 0)
				return err;
	if ((err = sg_workers_start(g)) < 0) {
		sg_err("starting %u workers: %s", g->nworkers, strerror(-err));
		return err;
	}
	sg_info("%zu host sockets in %u worker%s", total, g->nworkers, g->nworkers == 1 ? "" : "s");

	for (k = 0; k < ST_N; k++) {
		double ts = sg_now();

		s = sg_order[k];
		if (g->st[s].n == 0)
			continue;
		for (j = 0; sg_recipe[s][j].op != OP_END; j++)
			if ((err = sg_step_all(g, sg_recipe[s][j].op, s, sg_recipe[s][j].arg)) < 0)
				return err;
		sg_info("%-11s %8zu in %6.0f ms", sg_states[s].name, g->st[s].n, (sg_now() - ts) * 1e3);
	}
	t1 = sg_now();

	if ((err = sg_verify(g, got)) < 0)
		return err;
	t2 = sg_now();
	sg_info("%zu host sockets, %zu distinct remote addresses: created in %.0f ms, "
		"verified in %.0f ms", total, g->naddr, (t1 - t0) * 1e3, (t2 - t1) * 1e3);

	fputs("READY\n", stdout);
	sg_print_counts(stdout, got);
	if (fflush(stdout) != 0)
		return -EIO;
	return sg_hold(g);
}

int main(int argc, char **argv)
{
	sg_t g;
	sigset_t set;
	int err, s, k;

	memset(&g, 0, sizeof(g));
	g.hostns = g.peerns = g.sigfd = g.parent = -1;
	for (s = 0; s < ST_N; s++)
		g.st[s].lfd[0] = g.st[s].lfd[1] = -1;
	if (sg_parse_args(&g.o, argc, argv) < 0)
		return 2;
	sg_quiet = g.o.quiet;

	/* Signals are taken through a signalfd so that every exit path releases
	 * the sockets with resets instead of leaving orphans retrying for hours. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (g.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		sg_err("signalfd: %s", strerror(errno));
		return 1;
	}

	if ((err = sg_plan(&g)) == 0)
		err = sg_run(&g);
	if (g.w != NULL)
		sg_workers_stop(&g);
	for (s = 0; s < ST_N; s++) {
		for (k = 0; k < 2; k++)
			if (g.st[s].lfd[k] >= 0)
				close(g.st[s].lfd[k]);
		free(g.st[s].ep);
	}
	if (g.hostns >= 0)
		close(g.hostns);
	if (g.peerns >= 0)
		close(g.peerns);
	close(g.sigfd);
	return err < 0 ? 1 : 0;
}
