/* SPDX-License-Identifier: MIT */
/* test_text.c: the netstat / ss / /proc text parsers against captured and hand-written fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "text.h"

#define DIR FIXTURES "/text/"

static const char *const state_names[] = {
	"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
	"CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
};

static int state_num(const char *s)
{
	for (int i = 1; i <= 11; i++)
		if (strcmp(state_names[i], s) == 0)
			return i;
	return 0;
}

/* ------------------------------------------------------------ the counting sink */

#define MAXIP 64
#define MAXLISTEN 32

typedef struct {
	char ip[INET6_ADDRSTRLEN];
	uint32_t n[12];
} ipcount_t;

typedef struct {
	char ip[INET6_ADDRSTRLEN];
	unsigned port, rq, wq;
} listen_t;

typedef struct {
	uint32_t states[12];
	uint64_t calls, noraddr;
	ipcount_t ips[MAXIP];
	size_t n_ips;
	listen_t ls[MAXLISTEN];
	size_t n_ls;
	ag_sock_t last;
} count_t;

static void ntop(const ag_sock_t *s, const uint8_t *a, char *out)
{
	assert_true(s->family == AF_INET || s->family == AF_INET6);
	assert_non_null(inet_ntop(s->family, a, out, INET6_ADDRSTRLEN));
}

static void on_sock(void *ctx, const ag_sock_t *s)
{
	count_t *c = ctx;
	char ip[INET6_ADDRSTRLEN];

	assert_in_range(s->state, 1, 11);
	c->calls++;
	c->states[s->state]++;
	c->last = *s;
	if (s->state == 10 && c->n_ls < MAXLISTEN) {
		listen_t *l = &c->ls[c->n_ls++];
		ntop(s, s->laddr, l->ip);
		l->port = s->lport;
		l->rq = s->rqueue;
		l->wq = s->wqueue;
	}
	if (s->flags & AG_SOCK_NORADDR) {
		c->noraddr++;
		static const uint8_t zero[16];
		assert_memory_equal(s->raddr, zero, 16);
		assert_int_equal(s->rport, 0);
		return;
	}
	ntop(s, s->raddr, ip);
	size_t i;
	for (i = 0; i < c->n_ips; i++)
		if (strcmp(c->ips[i].ip, ip) == 0)
			break;
	if (i == c->n_ips) {
		assert_true(c->n_ips < MAXIP);
		strcpy(c->ips[c->n_ips++].ip, ip);
	}
	c->ips[i].n[s->state]++;
}

/* A sink that must never run. */
static void on_sock_never(void *ctx, const ag_sock_t *s)
{
	(void)ctx;
	(void)s;
	fail_msg("callback after an error return");
}

/* ------------------------------------------------------------------- files */

static char *load(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), DIR "%s", name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	/* Exactly n bytes (at least 1 for malloc): ASan then catches any read past the end. */
	char *buf = malloc((size_t)n + (n == 0));
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static ag_text_fmt_t fmt_of(const char *s)
{
	if (strcmp(s, "netstat") == 0)
		return AG_TEXT_NETSTAT;
	if (strcmp(s, "ss") == 0)
		return AG_TEXT_SS;
	if (strcmp(s, "proc") == 0)
		return AG_TEXT_PROC;
	return AG_TEXT_UNKNOWN;
}

/*
 * <fixture>.expected, one fact a line ('#' comments):
 *   format netstat|ss|proc     sockets N     noraddr N     skipped N
 *   malformed N                first_malformed N
 *   state NAME N        (states not listed must be 0)
 *   ip ADDR STATE N     (the whole table of remote IPs: every pair listed, nothing else)
 *   listen ADDR PORT RQ WQ   (when any is listed: exactly these LISTEN sockets)
 */
static void check_fixture(const char *fixture)
{
	char path[512], line[512], name[64];
	size_t len;
	char *buf = load(fixture, &len);
	count_t c;
	ag_text_stats_t st;
	uint32_t want_states[12] = {0};
	size_t ip_pairs = 0, listens = 0;
	ag_text_fmt_t fmt = AG_TEXT_UNKNOWN;

	memset(&c, 0, sizeof(c));
	snprintf(path, sizeof(path), DIR "%s", fixture);
	char *dot = strrchr(path, '.');
	assert_non_null(dot);
	strcpy(dot, ".expected");
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);

	/* The format comes first in every .expected. */
	while (fgets(line, sizeof(line), f) != NULL) {
		char a[64], b[64];
		if (sscanf(line, "format %63s", a) == 1) {
			fmt = fmt_of(a);
			break;
		}
		(void)b;
	}
	assert_int_not_equal(fmt, AG_TEXT_UNKNOWN);
	assert_int_equal(ag_text_detect(buf, len), fmt);
	assert_int_equal(ag_text_parse(fmt, buf, len, on_sock, &c, &st), 0);
	assert_int_equal(st.sockets, c.calls);
	assert_int_equal(st.noraddr, c.noraddr);

	while (fgets(line, sizeof(line), f) != NULL) {
		char ip[64];
		unsigned long long v;
		unsigned port, rq, wq;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "sockets %llu", &v) == 1) {
			assert_int_equal(st.sockets, v);
		} else if (sscanf(line, "noraddr %llu", &v) == 1) {
			assert_int_equal(st.noraddr, v);
		} else if (sscanf(line, "skipped %llu", &v) == 1) {
			assert_int_equal(st.skipped, v);
		} else if (sscanf(line, "malformed %llu", &v) == 1) {
			assert_int_equal(st.malformed, v);
			if (v == 0)
				assert_int_equal(st.first_malformed, 0);
		} else if (sscanf(line, "first_malformed %llu", &v) == 1) {
			assert_int_equal(st.first_malformed, v);
		} else if (sscanf(line, "state %63s %llu", name, &v) == 2) {
			int s = state_num(name);
			assert_int_not_equal(s, 0);
			want_states[s] = (uint32_t)v;
		} else if (sscanf(line, "ip %63s %63s %llu", ip, name, &v) == 3) {
			int s = state_num(name);
			size_t i;
			assert_int_not_equal(s, 0);
			for (i = 0; i < c.n_ips; i++)
				if (strcmp(c.ips[i].ip, ip) == 0)
					break;
			if (i == c.n_ips)
				fail_msg("%s: no socket with remote %s", fixture, ip);
			if (c.ips[i].n[s] != v)
				fail_msg("%s: %s %s: got %u, want %llu", fixture, ip, name, c.ips[i].n[s], v);
			ip_pairs++;
		} else if (sscanf(line, "listen %63s %u %u %u", ip, &port, &rq, &wq) == 4) {
			size_t i;
			for (i = 0; i < c.n_ls; i++)
				if (strcmp(c.ls[i].ip, ip) == 0 && c.ls[i].port == port)
					break;
			if (i == c.n_ls)
				fail_msg("%s: no listener %s:%u", fixture, ip, port);
			assert_int_equal(c.ls[i].rq, rq);
			assert_int_equal(c.ls[i].wq, wq);
			listens++;
		} else if (strncmp(line, "format ", 7) != 0) {
			fail_msg("%s: bad line: %s", path, line);
		}
	}
	fclose(f);

	for (int s = 1; s <= 11; s++)
		if (c.states[s] != want_states[s])
			fail_msg("%s: %s: got %u, want %u", fixture, state_names[s], c.states[s],
				 want_states[s]);
	/* Every (ip, state) pair with a count must have been listed. */
	size_t got_pairs = 0;
	for (size_t i = 0; i < c.n_ips; i++)
		for (int s = 1; s <= 11; s++)
			got_pairs += c.ips[i].n[s] != 0;
	assert_int_equal(got_pairs, ip_pairs);
	if (listens > 0)
		assert_int_equal(c.n_ls, listens);

	/* Detection inside parse gives the same. */
	count_t c2;
	memset(&c2, 0, sizeof(c2));
	assert_int_equal(ag_text_parse(AG_TEXT_UNKNOWN, buf, len, on_sock, &c2, NULL), 0);
	assert_memory_equal(c.states, c2.states, sizeof(c.states));
	free(buf);
}

/* The fixtures made by capture.sh from one snapshot, plus ss-old made by hand from it. */
static const char *const captures[] = {
	"netstat-n.txt", "netstat-an.txt", "netstat-anW.txt", "ss-tan.txt",
	"ss-tanH.txt", "ss-tanp.txt", "ss-old.txt", "proc.txt",
};

static const char *const malformed[] = {
	"malformed-netstat.txt", "malformed-ss.txt", "malformed-proc.txt",
};

static void test_ag_text_detect_formats(void **state)
{
	static const struct {
		const char *file;
		ag_text_fmt_t fmt;
	} cases[] = {
		{"netstat-n.txt", AG_TEXT_NETSTAT}, {"netstat-an.txt", AG_TEXT_NETSTAT},
		{"netstat-anW.txt", AG_TEXT_NETSTAT}, {"ss-tan.txt", AG_TEXT_SS},
		{"ss-tanH.txt", AG_TEXT_SS}, {"ss-tanp.txt", AG_TEXT_SS},
		{"ss-old.txt", AG_TEXT_SS}, {"proc.txt", AG_TEXT_PROC},
		{"malformed-netstat.txt", AG_TEXT_NETSTAT}, {"malformed-ss.txt", AG_TEXT_SS},
		{"malformed-proc.txt", AG_TEXT_PROC}, {"garbage.txt", AG_TEXT_UNKNOWN},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		char *buf = load(cases[i].file, &len);
		if (ag_text_detect(buf, len) != cases[i].fmt)
			fail_msg("%s: detected %s", cases[i].file,
				 ag_text_fmt_name(ag_text_detect(buf, len)));
		free(buf);
	}
}

static void test_ag_text_detect_headerless(void **state)
{
	static const struct {
		const char *text;
		ag_text_fmt_t fmt;
	} cases[] = {
		/* netstat | grep tcp */
		{"tcp        0      0 127.0.0.1:7000          127.0.0.2:40000         ESTABLISHED\n",
		 AG_TEXT_NETSTAT},
		{"tcp6 0 0 ::1:22 ::1:5000 TIME_WAIT", AG_TEXT_NETSTAT},
		/* /proc data lines only (tail -n +2) */
		{"   0: 0100007F:1B58 0200007F:9C40 01 00000000:00000000 00:00000000 00000000 0 0 1\n",
		 AG_TEXT_PROC},
		/* ss -H, with and without a Netid column; first line junk */
		{"\nwhatever\nLISTEN 0 128 0.0.0.0:22 0.0.0.0:*\n", AG_TEXT_SS},
		{"tcp ESTAB 0 0 127.0.0.1:22 127.0.0.2:5000\n", AG_TEXT_SS},
		{"", AG_TEXT_UNKNOWN},
		{"\n\n\r\n", AG_TEXT_UNKNOWN},
		{"LISTEN", AG_TEXT_UNKNOWN},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (ag_text_detect(cases[i].text, strlen(cases[i].text)) != cases[i].fmt)
			fail_msg("case %zu: detected %s", i,
				 ag_text_fmt_name(ag_text_detect(cases[i].text, strlen(cases[i].text))));
	assert_int_equal(ag_text_detect(NULL, 0), AG_TEXT_UNKNOWN);
	assert_string_equal(ag_text_fmt_name(AG_TEXT_PROC), "proc");
}

static void test_ag_text_parse_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++)
		check_fixture(captures[i]);
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		check_fixture(malformed[i]);
}

/* All captures of the one snapshot agree state by state (netstat -n shows no listeners). */
static void test_ag_text_parse_captures_agree(void **state)
{
	count_t ref;
	(void)state;
	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		size_t len;
		char *buf = load(captures[i], &len);
		count_t c;
		memset(&c, 0, sizeof(c));
		assert_int_equal(ag_text_parse(AG_TEXT_UNKNOWN, buf, len, on_sock, &c, NULL), 0);
		free(buf);
		if (i == 0) {
			ref = c;
			continue;
		}
		for (int s = 1; s <= 11; s++) {
			if (s == 10)
				continue;
			if (c.states[s] != ref.states[s])
				fail_msg("%s vs %s: %s %u != %u", captures[i], captures[0],
					 state_names[s], c.states[s], ref.states[s]);
		}
		assert_int_equal(c.states[10], 9);
	}
	assert_int_equal(ref.states[10], 0);
	assert_true(ref.calls >= 30);
}

static void test_ag_text_parse_not_that_format(void **state)
{
	static const ag_text_fmt_t fmts[] = {AG_TEXT_NETSTAT, AG_TEXT_SS, AG_TEXT_PROC, AG_TEXT_UNKNOWN};
	size_t len;
	char *garbage = load("garbage.txt", &len);
	(void)state;

	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		ag_text_stats_t st;
		assert_int_equal(ag_text_parse(fmts[i], garbage, len, on_sock_never, NULL, &st),
				 -EPROTO);
		assert_int_equal(st.sockets, 0);
	}
	/* A capture read as another format is "not that format at all". */
	char *ss = load("ss-tan.txt", &len);
	assert_int_equal(ag_text_parse(AG_TEXT_PROC, ss, len, on_sock_never, NULL, NULL), -EPROTO);
	assert_int_equal(ag_text_parse(AG_TEXT_NETSTAT, ss, len, on_sock_never, NULL, NULL), -EPROTO);
	free(ss);
	char *proc = load("proc.txt", &len);
	assert_int_equal(ag_text_parse(AG_TEXT_SS, proc, len, on_sock_never, NULL, NULL), -EPROTO);
	free(proc);
	/* Empty and blank input: no sockets, no error. */
	ag_text_stats_t st;
	assert_int_equal(ag_text_parse(AG_TEXT_SS, "", 0, on_sock_never, NULL, &st), 0);
	assert_int_equal(ag_text_parse(AG_TEXT_PROC, "\n \r\n", 4, on_sock_never, NULL, &st), 0);
	assert_int_equal(st.lines, 2);
	assert_int_equal(ag_text_parse(AG_TEXT_UNKNOWN, NULL, 0, on_sock_never, NULL, &st), 0);
	free(garbage);
}

/* Every prefix of every small fixture, in a buffer of exactly that size (ASan guards its end). */
static void test_ag_text_parse_truncated_everywhere(void **state)
{
	static const char *const files[] = {
		"netstat-an.txt", "ss-tan.txt", "ss-old.txt", "proc.txt",
		"malformed-netstat.txt", "malformed-ss.txt", "malformed-proc.txt", "garbage.txt",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len;
		char *whole = load(files[i], &len);
		ag_text_fmt_t fmt = ag_text_detect(whole, len);
		ag_text_stats_t all;
		count_t c;
		memset(&c, 0, sizeof(c));
		int rc = ag_text_parse(fmt, whole, len, on_sock, &c, &all);
		for (size_t k = 0; k <= len; k++) {
			char *p = malloc(k + (k == 0));
			assert_non_null(p);
			memcpy(p, whole, k);
			ag_text_stats_t st;
			memset(&c, 0, sizeof(c));
			int r = ag_text_parse(fmt, p, k, on_sock, &c, &st);
			assert_true(r == 0 || r == -EPROTO);
			if (rc == 0)
				assert_true(st.sockets <= all.sockets + 1);
			(void)ag_text_detect(p, k);
			memset(&c, 0, sizeof(c));
			(void)ag_text_parse(AG_TEXT_UNKNOWN, p, k, on_sock, &c, NULL);
			free(p);
		}
		free(whole);
	}
}

/* Split at each line boundary, the two halves add up to the whole (ss and /proc keep no state). */
static void test_ag_text_parse_split_lines(void **state)
{
	static const char *const files[] = {"ss-tan.txt", "proc.txt"};
	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len;
		char *buf = load(files[i], &len);
		ag_text_fmt_t fmt = ag_text_detect(buf, len);
		count_t whole;
		memset(&whole, 0, sizeof(whole));
		assert_int_equal(ag_text_parse(fmt, buf, len, on_sock, &whole, NULL), 0);
		for (size_t k = 0; k < len; k++) {
			if (buf[k] != '\n')
				continue;
			count_t a, b;
			memset(&a, 0, sizeof(a));
			memset(&b, 0, sizeof(b));
			assert_int_equal(ag_text_parse(fmt, buf, k + 1, on_sock, &a, NULL), 0);
			assert_int_equal(ag_text_parse(fmt, buf + k + 1, len - k - 1, on_sock, &b, NULL), 0);
			for (int s = 1; s <= 11; s++)
				assert_int_equal(a.states[s] + b.states[s], whole.states[s]);
		}
		free(buf);
	}
}

/* CRLF endings and a missing final newline change nothing. */
static void test_ag_text_parse_line_endings(void **state)
{
	size_t len;
	char *buf = load("ss-tan.txt", &len);
	char *crlf = malloc(2 * len);
	size_t n = 0;
	count_t a, b, c;
	(void)state;

	assert_non_null(crlf);
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			crlf[n++] = '\r';
		crlf[n++] = buf[i];
	}
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	assert_int_equal(ag_text_parse(AG_TEXT_SS, buf, len, on_sock, &a, NULL), 0);
	assert_int_equal(ag_text_detect(crlf, n), AG_TEXT_SS);
	assert_int_equal(ag_text_parse(AG_TEXT_SS, crlf, n, on_sock, &b, NULL), 0);
	assert_int_equal(buf[len - 1], '\n');
	assert_int_equal(ag_text_parse(AG_TEXT_SS, buf, len - 1, on_sock, &c, NULL), 0);
	assert_memory_equal(a.states, b.states, sizeof(a.states));
	assert_memory_equal(a.states, c.states, sizeof(a.states));
	assert_int_equal(a.n_ips, b.n_ips);
	free(crlf);
	free(buf);
}

/* One line in, one socket out: check every field. */
static ag_sock_t one(ag_text_fmt_t fmt, const char *line)
{
	count_t c;
	ag_text_stats_t st;
	memset(&c, 0, sizeof(c));
	assert_int_equal(ag_text_parse(fmt, line, strlen(line), on_sock, &c, &st), 0);
	if (st.sockets != 1)
		fail_msg("not one socket (%llu, %llu malformed): %s",
			 (unsigned long long)st.sockets, (unsigned long long)st.malformed, line);
	return c.last;
}

static void assert_addr(const ag_sock_t *s, const uint8_t *a, const char *want)
{
	char got[INET6_ADDRSTRLEN];
	assert_non_null(inet_ntop(s->family, a, got, sizeof(got)));
	assert_string_equal(got, want);
}

static void test_ag_text_parse_addresses(void **state)
{
	ag_sock_t s;
	(void)state;

	s = one(AG_TEXT_NETSTAT, "tcp 5 7 198.18.0.1:80 198.18.0.2:40000 ESTABLISHED");
	assert_int_equal(s.family, AF_INET);
	assert_int_equal(s.state, 1);
	assert_addr(&s, s.laddr, "198.18.0.1");
	assert_addr(&s, s.raddr, "198.18.0.2");
	assert_int_equal(s.lport, 80);
	assert_int_equal(s.rport, 40000);
	assert_int_equal(s.rqueue, 5);
	assert_int_equal(s.wqueue, 7);
	assert_int_equal(s.flags, 0);
	static const uint8_t v4[4] = {198, 18, 0, 2};
	assert_memory_equal(s.raddr, v4, 4); /* network order */

	s = one(AG_TEXT_NETSTAT, "tcp6 0 0 ::ffff:198.18.0.1:80 ::ffff:198.18.0.2:4000 SYN_RECV");
	assert_int_equal(s.family, AF_INET6);
	assert_int_equal(s.state, 3);
	assert_addr(&s, s.raddr, "::ffff:198.18.0.2");
	/* 23 columns: may be cut ("::ffff:198.18.0.25" -> "::ffff:198.18.0.2"), so not trusted. */
	s = one(AG_TEXT_NETSTAT, "tcp6 0 0 ::ffff:198.18.0.1:80 ::ffff:198.18.0.2:40000 SYN_RECV");
	assert_int_equal(s.flags, AG_SOCK_NORADDR);
	/* netstat 2.10 prints the same socket as plain IPv4 on a tcp6 line. */
	s = one(AG_TEXT_NETSTAT, "tcp6 0 0 198.18.0.1:80 198.18.0.2:40000 SYN_RECV");
	assert_int_equal(s.family, AF_INET6);
	assert_addr(&s, s.laddr, "::ffff:198.18.0.1");
	assert_addr(&s, s.raddr, "::ffff:198.18.0.2");
	s = one(AG_TEXT_NETSTAT, "tcp6 0 0 2001:db8::1:443 2001:db8::2:40000 FIN_WAIT1");
	assert_addr(&s, s.laddr, "2001:db8::1");
	assert_int_equal(s.lport, 443);
	assert_int_equal(s.state, 4);
	s = one(AG_TEXT_NETSTAT, "tcp6 0 0 :::22 :::* LISTEN");
	assert_int_equal(s.state, 10);
	assert_int_equal(s.lport, 22);
	assert_int_equal(s.flags, AG_SOCK_NORADDR);
	s = one(AG_TEXT_NETSTAT, "tcp 0 0 0.0.0.0:22 0.0.0.0:* LISTEN");
	assert_int_equal(s.family, AF_INET);
	assert_int_equal(s.flags, AG_SOCK_NORADDR);
	/* Cut by netstat to 23 columns: valid-looking but not trusted. */
	s = one(AG_TEXT_NETSTAT, "tcp6 0 0 2001:db8::1:7002 2001:db8::1234:56:42673 ESTABLISHED");
	assert_int_equal(s.flags, AG_SOCK_NORADDR);
	assert_addr(&s, s.laddr, "2001:db8::1");
	/* ... unless the file shows -W. */
	const char *wide = "tcp6 0 0 2001:db8::1:7002 2001:db8::1234:56:42673 ESTABLISHED\n"
			   "tcp6 0 0 2001:db8::1:7002 2001:db8:1234:5678:9abc:def0:1234:5678:54213 ESTABLISHED\n";
	count_t c;
	memset(&c, 0, sizeof(c));
	assert_int_equal(ag_text_parse(AG_TEXT_NETSTAT, wide, strlen(wide), on_sock, &c, NULL), 0);
	assert_int_equal(c.noraddr, 0);
	assert_int_equal(c.calls, 2);

	s = one(AG_TEXT_SS, "ESTAB 1 2 [::ffff:198.18.0.1]:80 [::ffff:198.18.0.2]:40000");
	assert_int_equal(s.family, AF_INET6);
	assert_addr(&s, s.raddr, "::ffff:198.18.0.2");
	assert_int_equal(s.rqueue, 1);
	assert_int_equal(s.wqueue, 2);
	s = one(AG_TEXT_SS, "TIME-WAIT 0 0 [2001:db8::1]:443 [2001:db8::2]:40000");
	assert_int_equal(s.state, 6);
	assert_addr(&s, s.raddr, "2001:db8::2");
	assert_int_equal(s.rport, 40000);
	s = one(AG_TEXT_SS, "LISTEN 0 4096 [::]:22 [::]:*");
	assert_int_equal(s.family, AF_INET6);
	assert_int_equal(s.wqueue, 4096);
	assert_int_equal(s.flags, AG_SOCK_NORADDR);
	s = one(AG_TEXT_SS, "LISTEN 0 4096 *:80 *:*");
	assert_int_equal(s.family, AF_INET); /* nothing says new ss: old ss's 0.0.0.0 */
	assert_int_equal(s.lport, 80);
	const char *newss = "LISTEN 0 4096 *:80 *:*\nLISTEN 0 4096 0.0.0.0:81 0.0.0.0:*\n";
	memset(&c, 0, sizeof(c));
	assert_int_equal(ag_text_parse(AG_TEXT_SS, newss, strlen(newss), on_sock, &c, NULL), 0);
	assert_int_equal(c.n_ls, 2);
	assert_string_equal(c.ls[0].ip, "::"); /* new ss: "*" is a dual-stack [::] */
	assert_string_equal(c.ls[1].ip, "0.0.0.0");
	s = one(AG_TEXT_SS, "ESTAB 0 0 [fe80::1%eth0]:22 [fe80::2%eth0]:5000");
	assert_addr(&s, s.laddr, "fe80::1");
	assert_addr(&s, s.raddr, "fe80::2");
	s = one(AG_TEXT_SS, "ESTAB 0 0 fe80::1%eth0:22 fe80::2%eth0:5000");
	assert_addr(&s, s.raddr, "fe80::2");
	assert_int_equal(s.rport, 5000);
	s = one(AG_TEXT_SS, "SYN-SENT 0 1 2001:db8::1:443 2001:db8::2:40000");
	assert_int_equal(s.state, 2);
	assert_addr(&s, s.raddr, "2001:db8::2");
	s = one(AG_TEXT_SS, "ESTAB 0 0 198.18.0.1:22 198.18.0.2:*");
	assert_int_equal(s.flags, AG_SOCK_NORADDR);
	s = one(AG_TEXT_SS, "UNCONN 0 0 198.18.0.1:22 0.0.0.0:*");
	assert_int_equal(s.state, 7);
	s = one(AG_TEXT_SS, "CLOSE 0 0 198.18.0.1:22 0.0.0.0:*");
	assert_int_equal(s.state, 7);
	s = one(AG_TEXT_SS, "ESTAB 4294967296 0 198.18.0.1:22 198.18.0.2:1");
	assert_int_equal(s.rqueue, UINT32_MAX);

	/* /proc: words in (little-endian) host order, ports and queues in hex. */
	s = one(AG_TEXT_PROC, "0: 010012C6:1F90 020012C6:A56B 01 0000000A:00000003 00:00000000 "
			      "00000000 0 0 1");
	assert_int_equal(s.family, AF_INET);
	assert_addr(&s, s.laddr, "198.18.0.1");
	assert_addr(&s, s.raddr, "198.18.0.2");
	assert_int_equal(s.lport, 8080);
	assert_int_equal(s.rport, 0xA56B);
	assert_int_equal(s.wqueue, 10);
	assert_int_equal(s.rqueue, 3);
	s = one(AG_TEXT_PROC, "0: B80D0120000000000000000001000000:01BB "
			      "0000000000000000FFFF0000C86412C6:01BC 0C 00000000:00000000 00:00000000 "
			      "00000000 0 0 1");
	assert_int_equal(s.family, AF_INET6);
	assert_int_equal(s.state, 3); /* NEW_SYN_RECV */
	assert_addr(&s, s.laddr, "2001:db8::1");
	assert_addr(&s, s.raddr, "::ffff:198.18.100.200");
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	assert_memory_equal(s.laddr, v6, 16);
	s = one(AG_TEXT_PROC, "0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 "
			      "00000000 0 0 1");
	assert_int_equal(s.state, 10);
	assert_int_equal(s.flags, AG_SOCK_NORADDR);
}

/* 100k lines: no allocation per line, and quick (not timed here; see the benchmark). */
static void test_ag_text_parse_large(void **state)
{
	const size_t lines = 100000;
	const char *fmt = "ESTAB 0 0 [2001:db8::1:%x:%x]:443 [2001:db8::%x]:%u\n";
	char *buf = malloc(lines * 64);
	size_t n = 0;
	count_t c;
	ag_text_stats_t st;
	(void)state;

	assert_non_null(buf);
	for (size_t i = 0; i < lines; i++)
		n += (size_t)sprintf(buf + n, fmt, (unsigned)(i >> 8 & 0xff), (unsigned)(i & 0xff),
				     (unsigned)(i % 50), (unsigned)(1024 + i % 60000));
	memset(&c, 0, sizeof(c));
	assert_int_equal(ag_text_parse(AG_TEXT_SS, buf, n, on_sock, &c, &st), 0);
	assert_int_equal(st.sockets, lines);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(c.states[1], lines);
	assert_int_equal(c.n_ips, 50);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ag_text_detect_formats),
		cmocka_unit_test(test_ag_text_detect_headerless),
		cmocka_unit_test(test_ag_text_parse_fixtures),
		cmocka_unit_test(test_ag_text_parse_captures_agree),
		cmocka_unit_test(test_ag_text_parse_not_that_format),
		cmocka_unit_test(test_ag_text_parse_truncated_everywhere),
		cmocka_unit_test(test_ag_text_parse_split_lines),
		cmocka_unit_test(test_ag_text_parse_line_endings),
		cmocka_unit_test(test_ag_text_parse_addresses),
		cmocka_unit_test(test_ag_text_parse_large),
	};
	return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
