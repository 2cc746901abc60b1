/* SPDX-License-Identifier: MIT */
/* text.c: decode saved `netstat`, `ss` and /proc/net/tcp text into ag_sock_t. */
#include "text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "hex.h"

/*
 * Every line is split into whitespace-separated tokens that point into the
 * caller's buffer; nothing is copied except an address (at most 45 bytes)
 * into a stack buffer for inet_pton(), which wants a C string.  Only the
 * first MAXTOK tokens are kept, but all of them are counted.
 */
#define MAXTOK 12

typedef struct {
	const char *p;
	size_t n;
} tok_t;

typedef enum {
	LINE_BLANK,   /* empty, or only whitespace */
	LINE_NEUTRAL, /* continuation line (ss -i): neither recognised nor bad */
	LINE_HEADER,
	LINE_SOCK,
	LINE_SKIP,    /* a socket of another protocol */
	LINE_BAD,
} line_kind_t;

typedef struct {
	const char *buf;  /* the whole input, for netstat's -W look-ahead */
	size_t len;
	bool other;       /* netstat: in a non-Internet section; proc: in a udp table */
	int wide;         /* netstat: -1 not looked yet, 0 no, 1 made with -W */
	int ss_new;       /* ss: -1 not looked yet, 1 iproute2 >= 4.17 style, 0 older */
} pstate_t;

typedef struct {
	int fam;          /* AF_INET, AF_INET6, or 0 for "*" */
	bool addr_ok;
	bool port_ok;     /* false for "*" and for garbage */
	uint16_t port;
	uint8_t a[16];
} ep_t;

/* Blanks between fields (not '\n'): a table, one load a byte. */
static const bool blank[256] = {[' '] = true, ['\t'] = true, ['\r'] = true, ['\v'] = true,
                                ['\f'] = true};

static bool is_space(char c)
{
	return blank[(unsigned char)c];
}

static size_t tokenize(const char *l, size_t n, tok_t *t)
{
	size_t i = 0, nt = 0;

	for (;;) {
		while (i < n && is_space(l[i]))
			i++;
		if (i == n)
			return nt;
		size_t s = i;
		while (i < n && !is_space(l[i]))
			i++;
		if (nt < MAXTOK) {
			t[nt].p = l + s;
			t[nt].n = i - s;
		}
		nt++;
	}
}

static bool tok_is(const tok_t *t, const char *s)
{
	size_t n = strlen(s);

	return t->n == n && memcmp(t->p, s, n) == 0;
}

/* Decimal, saturating at UINT32_MAX; false unless all digits. */
static bool dec_u32(const char *p, size_t n, uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		if (v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	return true;
}

/* Exactly n (1..8) hex digits. */
static bool hex_u32(const char *p, size_t n, uint32_t *out)
{
	uint32_t v = 0;

	if (n == 0 || n > 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		int h = fs_hexval(p[i]);
		if (h < 0)
			return false;
		v = v << 4 | (uint32_t)h;
	}
	*out = v;
	return true;
}

/* ------------------------------------------------------------------ states */

static const char *const netstat_names[] = {
	NULL, "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
};

static const char *const ss_names[] = {
	NULL, "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
	"TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING",
};

static int state_lookup(const char *const *names, const tok_t *t)
{
	for (int s = 1; s <= 11; s++)
		if (tok_is(t, names[s]))
			return s;
	return 0;
}

static int ss_state(const tok_t *t)
{
	int s = state_lookup(ss_names, t);

	/* Some ss versions print CLOSE for state 7, and NEW-SYN-RECV exists in the kernel's list. */
	if (s == 0 && tok_is(t, "CLOSE"))
		s = 7;
	if (s == 0 && tok_is(t, "NEW-SYN-RECV"))
		s = 3;
	return s;
}

/* --------------------------------------------------------------- addresses */

static bool parse_ip(const char *p, size_t n, int *fam, uint8_t a[16])
{
	char tmp[INET6_ADDRSTRLEN];

	if (n == 1 && p[0] == '*') {
		*fam = 0;
		memset(a, 0, 16);
		return true;
	}
	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	if (memchr(p, ':', n) != NULL) {
		*fam = AF_INET6;
		return inet_pton(AF_INET6, tmp, a) == 1;
	}
	memset(a, 0, 16);
	*fam = AF_INET;
	return inet_pton(AF_INET, tmp, a) == 1;
}

static void parse_port(const char *p, size_t n, ep_t *ep)
{
	uint32_t v;

	ep->port = 0;
	ep->port_ok = dec_u32(p, n, &v) && v <= 65535;
	if (ep->port_ok)
		ep->port = (uint16_t)v;
}

/*
 * "addr:port" as netstat or ss print it: "1.2.3.4:80", "[2001:db8::1]:443",
 * "[fe80::1%eth0]:22", "[fe80::1]%eth0:22", "2001:db8::1:443" (the last
 * colon splits), "127.0.0.1%lo:22", "*:80", ":::*".  Never fails as a whole:
 * addr_ok and port_ok say which halves could be read.
 */
static void parse_endpoint(const char *p, size_t n, ep_t *ep)
{
	const char *ap, *pp;
	size_t an, pn;

	memset(ep, 0, sizeof(*ep));
	if (n > 0 && p[0] == '[') {
		const char *rb = memchr(p, ']', n);
		if (rb == NULL)
			return;
		ap = p + 1;
		an = (size_t)(rb - ap);
		const char *rest = rb + 1, *end = p + n;
		if (rest < end && *rest == '%') /* zone outside the brackets */
			while (rest < end && *rest != ':')
				rest++;
		if (rest == end || *rest != ':')
			return;
		pp = rest + 1;
		pn = (size_t)(end - pp);
		if (an == 0 || memchr(ap, ':', an) == NULL) { /* only IPv6 goes in brackets */
			parse_port(pp, pn, ep);
			return;
		}
	} else {
		const char *c = NULL;
		for (size_t i = n; i > 0; i--)
			if (p[i - 1] == ':') {
				c = p + i - 1;
				break;
			}
		if (c == NULL)
			return;
		ap = p;
		an = (size_t)(c - p);
		pp = c + 1;
		pn = n - an - 1;
	}
	const char *z = memchr(ap, '%', an);
	if (z != NULL)
		an = (size_t)(z - ap);
	ep->addr_ok = parse_ip(ap, an, &ep->fam, ep->a);
	parse_port(pp, pn, ep);
}

/*
 * Fill s from two endpoints; fam_hint is the family the tool said (netstat's
 * tcp/tcp6), or 0.  An endpoint of the wrong family is unreadable.
 */
static void map_v4(ep_t *ep)
{
	/* ::ffff:a.b.c.d, the kernel's form of an IPv4 peer of an IPv6 socket */
	memmove(ep->a + 12, ep->a, 4);
	memset(ep->a, 0, 10);
	ep->a[10] = ep->a[11] = 0xff;
	ep->fam = AF_INET6;
}

static void fill_sock(ag_sock_t *s, ep_t *l, ep_t *r, int fam_hint, int fam_star)
{
	int fam = fam_hint;

	/* netstat 2.10 prints the IPv4-mapped addresses of tcp6 sockets as plain IPv4. */
	if (fam_hint == AF_INET6 && l->addr_ok && l->fam == AF_INET)
		map_v4(l);
	if (fam_hint == AF_INET6 && r->addr_ok && r->fam == AF_INET)
		map_v4(r);

	if (fam == 0 && l->addr_ok && l->fam != 0)
		fam = l->fam;
	if (fam == 0 && r->addr_ok && r->fam != 0)
		fam = r->fam;
	if (fam == 0)
		fam = fam_star;
	s->family = (uint8_t)fam;
	if (l->addr_ok && (l->fam == fam || l->fam == 0))
		memcpy(s->laddr, l->a, 16);
	s->lport = l->port_ok ? l->port : 0;
	if (r->addr_ok && (r->fam == fam || r->fam == 0) && r->port_ok && r->port != 0) {
		memcpy(s->raddr, r->a, 16);
		s->rport = r->port;
	} else {
		s->flags |= AG_SOCK_NORADDR;
	}
}

/* ----------------------------------------------------------------- netstat */

static bool netstat_skip_proto(const tok_t *t)
{
	static const char *const other[] = {
		"udp", "udp6", "udpl", "udpl6", "raw", "raw6", "unix", "sctp", "sctp6",
		"ax25", "netrom", "ipx", "x25", "rose", "l2cap", "rfcomm",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (tok_is(t, other[i]))
			return true;
	return false;
}

/* Was this netstat output made with -W?  Then some address column is wider than 23. */
static bool netstat_is_wide(const char *buf, size_t len)
{
	size_t off = 0;
	tok_t t[MAXTOK];

	while (off < len) {
		const char *l = buf + off;
		const char *nl = memchr(l, '\n', len - off);
		size_t n = nl ? (size_t)(nl - l) : len - off;
		off += n + (nl ? 1 : 0);
		if (n < 4 || memcmp(l, "tcp", 3) != 0)
			continue;
		size_t nt = tokenize(l, n, t);
		if (nt >= 5 && (t[3].n > 23 || t[4].n > 23))
			return true;
	}
	return false;
}

static line_kind_t netstat_line(pstate_t *ps, const tok_t *t, size_t nt, ag_sock_t *s)
{
	if (nt == 0)
		return LINE_BLANK;
	if (tok_is(&t[0], "Active")) {
		ps->other = !(nt >= 2 && tok_is(&t[1], "Internet"));
		return LINE_HEADER;
	}
	if (tok_is(&t[0], "Proto"))
		return LINE_HEADER;
	if (ps->other)
		return LINE_SKIP;
	bool v6 = tok_is(&t[0], "tcp6");
	if (!v6 && !tok_is(&t[0], "tcp"))
		return netstat_skip_proto(&t[0]) ? LINE_SKIP : LINE_BAD;
	if (nt < 6)
		return LINE_BAD;

	int state = state_lookup(netstat_names, &t[5]);
	if (state == 0)
		return LINE_BAD;
	memset(s, 0, sizeof(*s));
	s->state = (uint8_t)state;
	if (!dec_u32(t[1].p, t[1].n, &s->rqueue) || !dec_u32(t[2].p, t[2].n, &s->wqueue))
		return LINE_BAD;

	ep_t l, r;
	parse_endpoint(t[3].p, t[3].n, &l);
	parse_endpoint(t[4].p, t[4].n, &r);
	/*
	 * Without -W netstat cuts an address so that "addr:port" is 23
	 * characters: a column of exactly 23 may hold a shortened address
	 * that still parses, and we would rather lose it than invent one.
	 * IPv4 columns are at most 21 wide, so only tcp6 lines are at risk.
	 */
	if (v6 && (t[3].n == 23 || t[4].n == 23)) {
		if (ps->wide < 0)
			ps->wide = netstat_is_wide(ps->buf, ps->len);
		if (!ps->wide) {
			if (t[3].n == 23)
				l.addr_ok = false;
			if (t[4].n == 23)
				r.addr_ok = false;
		}
	}
	fill_sock(s, &l, &r, v6 ? AF_INET6 : AF_INET, 0);
	return LINE_SOCK;
}

/* ---------------------------------------------------------------------- ss */

static bool ss_other_netid(const tok_t *t)
{
	static const char *const other[] = {
		"udp", "raw", "u_str", "u_dgr", "u_seq", "nl", "p_raw", "p_dgr",
		"mptcp", "sctp", "tipc", "v_str", "v_dgr", "xdp", "icmp", "icmp6",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (tok_is(t, other[i]))
			return true;
	return false;
}

/*
 * Which ss wrote this?  Since iproute2 4.17 IPv6 addresses are bracketed, the
 * IPv4 wildcard is "0.0.0.0" and "*" is a dual-stack [::]; before, "*" was
 * 0.0.0.0 and [::] was "::".  Asked only for lines whose two ends are "*".
 */
static bool ss_is_new(const char *buf, size_t len)
{
	return memchr(buf, '[', len) != NULL || memmem(buf, len, "0.0.0.0:", 8) != NULL;
}

static line_kind_t ss_line(pstate_t *ps, const char *l, const tok_t *t, size_t nt, ag_sock_t *s)
{
	size_t i = 0;

	if (nt == 0)
		return LINE_BLANK;
	if (tok_is(&t[0], "State") || tok_is(&t[0], "Netid"))
		return LINE_HEADER;
	if (tok_is(&t[0], "tcp"))
		i = 1;
	else if (ss_other_netid(&t[0]))
		return LINE_SKIP;

	int state = i < nt ? ss_state(&t[i]) : 0;
	if (state == 0)
		/* ss -i/-m/-e put details on lines that start with a tab. */
		return l[0] == '\t' ? LINE_NEUTRAL : LINE_BAD;
	if (nt < i + 5)
		return LINE_BAD;
	memset(s, 0, sizeof(*s));
	s->state = (uint8_t)state;
	if (!dec_u32(t[i + 1].p, t[i + 1].n, &s->rqueue) ||
	    !dec_u32(t[i + 2].p, t[i + 2].n, &s->wqueue))
		return LINE_BAD;

	ep_t le, re;
	parse_endpoint(t[i + 3].p, t[i + 3].n, &le);
	parse_endpoint(t[i + 4].p, t[i + 4].n, &re);
	int fam_star = AF_INET6;
	if (le.addr_ok && le.fam == 0 && re.addr_ok && re.fam == 0) {
		if (ps->ss_new < 0)
			ps->ss_new = ss_is_new(ps->buf, ps->len);
		fam_star = ps->ss_new ? AF_INET6 : AF_INET;
	}
	fill_sock(s, &le, &re, 0, fam_star);
	return LINE_SOCK;
}

/* -------------------------------------------------------------------- proc */

/*
 * "0100007F:1F90" or 32 hex digits and a port.  Each 8-digit word is the
 * %08X of a 32-bit word that the producing (little-endian) host held in
 * network order, so its least significant byte is the first on the wire.
 */
static bool proc_endpoint(const tok_t *t, int *fam, uint8_t a[16], uint16_t *port)
{
	uint32_t w, p;
	size_t an;

	if (t->n == 13)
		an = 8, *fam = AF_INET;
	else if (t->n == 37)
		an = 32, *fam = AF_INET6;
	else
		return false;
	if (t->p[an] != ':' || !hex_u32(t->p + an + 1, 4, &p))
		return false;
	memset(a, 0, 16);
	for (size_t i = 0; i < an / 8; i++) {
		if (!hex_u32(t->p + 8 * i, 8, &w))
			return false;
		a[4 * i + 0] = (uint8_t)(w & 0xff);
		a[4 * i + 1] = (uint8_t)(w >> 8 & 0xff);
		a[4 * i + 2] = (uint8_t)(w >> 16 & 0xff);
		a[4 * i + 3] = (uint8_t)(w >> 24);
	}
	*port = (uint16_t)p;
	return true;
}

static line_kind_t proc_line(pstate_t *ps, const tok_t *t, size_t nt, ag_sock_t *s)
{
	int lf, rf;
	uint32_t st, q;

	if (nt == 0)
		return LINE_BLANK;
	if (tok_is(&t[0], "sl")) {
		/* /proc/net/udp{,6} share the layout and add "ref pointer drops". */
		ps->other = nt > 12 || (nt >= 2 && !tok_is(&t[1], "local_address"));
		return LINE_HEADER;
	}
	if (ps->other)
		return LINE_SKIP;
	/* sl, local, remote, st, tx:rx, tr:when, retrnsmt, uid, timeout, inode */
	if (nt < 10 || t[0].n < 2 || t[0].p[t[0].n - 1] != ':')
		return LINE_BAD;
	for (size_t i = 0; i + 1 < t[0].n; i++)
		if (t[0].p[i] < '0' || t[0].p[i] > '9')
			return LINE_BAD;
	memset(s, 0, sizeof(*s));
	if (!proc_endpoint(&t[1], &lf, s->laddr, &s->lport) ||
	    !proc_endpoint(&t[2], &rf, s->raddr, &s->rport) || lf != rf)
		return LINE_BAD;
	if (t[3].n != 2 || !hex_u32(t[3].p, 2, &st) || st == 0 || st > 12)
		return LINE_BAD;
	if (t[4].n != 17 || t[4].p[8] != ':' || !hex_u32(t[4].p, 8, &s->wqueue) ||
	    !hex_u32(t[4].p + 9, 8, &q))
		return LINE_BAD;
	s->rqueue = q;
	s->family = (uint8_t)lf;
	s->state = (uint8_t)(st == 12 ? 3 : st); /* TCP_NEW_SYN_RECV */
	if (s->rport == 0) {
		memset(s->raddr, 0, sizeof(s->raddr));
		s->flags |= AG_SOCK_NORADDR;
	}
	return LINE_SOCK;
}

/* ------------------------------------------------------------------ driver */

static line_kind_t parse_line(ag_text_fmt_t fmt, pstate_t *ps, const char *l, size_t n,
			      ag_sock_t *s)
{
	tok_t t[MAXTOK];
	size_t nt = tokenize(l, n, t);

	switch (fmt) {
	case AG_TEXT_NETSTAT:
		return netstat_line(ps, t, nt, s);
	case AG_TEXT_SS:
		return ss_line(ps, l, t, nt, s);
	case AG_TEXT_PROC:
		return proc_line(ps, t, nt, s);
	default:
		return LINE_BAD;
	}
}

/* The next line of buf from *off, without its "\n"; advances *off.  False at the end. */
static bool next_line(const char *buf, size_t len, size_t *off, const char **l, size_t *n)
{
	if (*off >= len)
		return false;
	*l = buf + *off;
	const char *nl = memchr(*l, '\n', len - *off);
	*n = nl ? (size_t)(nl - *l) : len - *off;
	*off += *n + (nl ? 1 : 0);
	return true;
}

static void pstate_init(pstate_t *ps, const char *buf, size_t len)
{
	ps->buf = buf;
	ps->len = len;
	ps->other = false;
	ps->wide = -1;
	ps->ss_new = -1;
}

ag_text_fmt_t ag_text_detect(const char *buf, size_t len)
{
	static const ag_text_fmt_t fmts[] = {AG_TEXT_PROC, AG_TEXT_NETSTAT, AG_TEXT_SS};
	size_t off = 0, n;
	const char *l;
	tok_t t[MAXTOK];
	int seen = 0;

	if (buf == NULL)
		return AG_TEXT_UNKNOWN;
	while (seen < 64 && next_line(buf, len, &off, &l, &n)) {
		size_t nt = tokenize(l, n, t);
		if (nt == 0)
			continue;
		seen++;
		if (nt >= 2 && tok_is(&t[0], "sl") && tok_is(&t[1], "local_address"))
			return AG_TEXT_PROC;
		if (nt >= 2 && tok_is(&t[0], "Active") &&
		    (tok_is(&t[1], "Internet") || tok_is(&t[1], "UNIX")))
			return AG_TEXT_NETSTAT;
		if (nt >= 2 && tok_is(&t[0], "Proto") && tok_is(&t[1], "Recv-Q"))
			return AG_TEXT_NETSTAT;
		if (nt >= 2 && ((tok_is(&t[0], "State") && tok_is(&t[1], "Recv-Q")) ||
				(tok_is(&t[0], "Netid") && tok_is(&t[1], "State"))))
			return AG_TEXT_SS;
		/* No header: the first line that one of the parsers takes as a TCP socket. */
		for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
			pstate_t ps;
			ag_sock_t s;
			pstate_init(&ps, l, n);
			if (parse_line(fmts[i], &ps, l, n, &s) == LINE_SOCK)
				return fmts[i];
		}
	}
	return AG_TEXT_UNKNOWN;
}

int ag_text_parse(ag_text_fmt_t fmt, const char *buf, size_t len,
		  ag_sock_fn fn, void *ctx, ag_text_stats_t *st)
{
	ag_text_stats_t dummy;
	pstate_t ps;
	size_t off = 0, n;
	const char *l;
	uint64_t recognised = 0, nonblank = 0;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (buf == NULL)
		len = 0;
	if (fmt == AG_TEXT_UNKNOWN)
		fmt = ag_text_detect(buf, len);
	if (fmt != AG_TEXT_NETSTAT && fmt != AG_TEXT_SS && fmt != AG_TEXT_PROC)
		return len == 0 ? 0 : -EPROTO;

	/*
	 * First pass: is this fmt at all?  Honouring "either an error or
	 * callbacks" needs the answer before the first callback; the pass stops
	 * at the first recognised line, so it costs one line in the normal case.
	 */
	pstate_init(&ps, buf, len);
	while (next_line(buf, len, &off, &l, &n)) {
		ag_sock_t s;
		line_kind_t k = parse_line(fmt, &ps, l, n, &s);
		if (k == LINE_BLANK)
			continue;
		nonblank++;
		if (k == LINE_HEADER || k == LINE_SOCK || k == LINE_SKIP) {
			recognised++;
			break;
		}
	}
	if (nonblank > 0 && recognised == 0)
		return -EPROTO;

	pstate_init(&ps, buf, len);
	off = 0;
	while (next_line(buf, len, &off, &l, &n)) {
		ag_sock_t s;
		st->lines++;
		switch (parse_line(fmt, &ps, l, n, &s)) {
		case LINE_SOCK:
			st->sockets++;
			if (s.flags & AG_SOCK_NORADDR)
				st->noraddr++;
			fn(ctx, &s);
			break;
		case LINE_SKIP:
			st->skipped++;
			break;
		case LINE_BAD:
			if (st->malformed++ == 0)
				st->first_malformed = st->lines;
			break;
		default:
			break;
		}
	}
	return 0;
}

const char *ag_text_fmt_name(ag_text_fmt_t fmt)
{
	switch (fmt) {
	case AG_TEXT_NETSTAT:
		return "netstat";
	case AG_TEXT_SS:
		return "ss";
	case AG_TEXT_PROC:
		return "proc";
	default:
		return "unknown";
	}
}
