/* SPDX-License-Identifier: MIT */
/* kstat.c: decoding of /proc/net/{netstat,snmp,sockstat} and sysctl values. */
#include "kstat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const ag_sysctl_names[] = {
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_tw_reuse",
	"net.ipv4.tcp_tw_recycle", /* gone since Linux 4.12: absent is the good answer */
	"net.ipv4.tcp_max_tw_buckets",
	"net.core.somaxconn",
	"net.ipv4.tcp_max_syn_backlog",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ip_local_port_range",
	"net.netfilter.nf_conntrack_max",
	"net.netfilter.nf_conntrack_count", /* a gauge, not a setting: for the advice against _max */
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_syn_retries",
	"net.ipv4.tcp_synack_retries",
	"net.ipv4.tcp_retries2",
	"net.ipv4.tcp_max_orphans",
	"net.ipv4.tcp_orphan_retries",
	"net.ipv4.tcp_abort_on_overflow",
	"net.ipv4.tcp_timestamps",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
	"net.ipv4.tcp_mem",
	"net.core.netdev_max_backlog",
	"fs.file-max",
	NULL,
};

/*
 * The counters worth shipping every interval: what the state table cannot
 * show (accept queue overflows, SYN cookies, TIME_WAIT bucket overflow,
 * resets and aborts, retransmissions).  Keeping a list keeps reports small.
 */
static const char *const kept[] = {
	"Tcp.ActiveOpens", "Tcp.PassiveOpens", "Tcp.AttemptFails",
	"Tcp.EstabResets", "Tcp.CurrEstab", "Tcp.InSegs", "Tcp.OutSegs",
	"Tcp.RetransSegs", "Tcp.InErrs", "Tcp.OutRsts", "Tcp.InCsumErrors",
	"TcpExt.SyncookiesSent", "TcpExt.SyncookiesRecv", "TcpExt.SyncookiesFailed",
	"TcpExt.EmbryonicRsts", "TcpExt.PruneCalled", "TcpExt.TW",
	"TcpExt.TWRecycled", "TcpExt.TWKilled", "TcpExt.ListenOverflows",
	"TcpExt.ListenDrops", "TcpExt.TCPTimeWaitOverflow",
	"TcpExt.TCPAbortOnData", "TcpExt.TCPAbortOnClose",
	"TcpExt.TCPAbortOnMemory", "TcpExt.TCPAbortOnTimeout",
	"TcpExt.TCPAbortOnLinger", "TcpExt.TCPAbortFailed",
	"TcpExt.TCPMemoryPressures", "TcpExt.TCPBacklogDrop",
	"TcpExt.TCPReqQFullDoCookies", "TcpExt.TCPReqQFullDrop",
	"TcpExt.TCPSynRetrans", "TcpExt.TCPTimeouts", "TcpExt.TCPRetransFail",
	"TcpExt.TCPFastOpenListenOverflow", "TcpExt.TCPChallengeACK",
	"TcpExt.TCPSYNChallenge", "TcpExt.TCPOrphanQueued",
	NULL,
};

static int is_kept(const char *name)
{
	for (const char *const *k = kept; *k; k++)
		if (strcmp(*k, name) == 0)
			return 1;
	return 0;
}

int ag_kstat_add_counter(wire_report_t *r, const char *name, unsigned long long v)
{
	wire_counter_t *c;
	char *dup;

	if ((dup = strdup(name)) == NULL)
		return -ENOMEM;
	if ((c = realloc(r->counters, (r->n_counters + 1) * sizeof(*c))) == NULL) {
		free(dup);
		return -ENOMEM;
	}
	r->counters = c;
	c[r->n_counters].name = dup;
	c[r->n_counters].value = v;
	r->n_counters++;
	return 0;
}

/* The next line of buf[*off..len) without its newline; NULL at the end. */
static const char *next_line(const char *buf, size_t len, size_t *off, size_t *n)
{
	const char *p, *nl;

	if (*off >= len)
		return NULL;
	p = buf + *off;
	nl = memchr(p, '\n', len - *off);
	*n = nl ? (size_t)(nl - p) : len - *off;
	*off += *n + (nl != NULL);
	return p;
}

/* The next blank-separated word of [*p, end); NULL when none is left. */
static const char *next_word(const char **p, const char *end, size_t *n)
{
	const char *w;

	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\r'))
		(*p)++;
	if (*p == end)
		return NULL;
	w = *p;
	while (*p < end && **p != ' ' && **p != '\t' && **p != '\r')
		(*p)++;
	*n = (size_t)(*p - w);
	return w;
}

static int parse_u64(const char *w, size_t n, unsigned long long *v)
{
	unsigned long long x = 0;

	if (n == 0 || n > 20)
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		if (w[i] < '0' || w[i] > '9')
			return -EPROTO;
		if (x > (~0ull - (unsigned)(w[i] - '0')) / 10)
			return -EPROTO;
		x = x * 10 + (unsigned)(w[i] - '0');
	}
	*v = x;
	return 0;
}

/* Adds "prefix.name" = value if the counter is kept; 1 if added. */
static int add_named(wire_report_t *r, const char *pre, size_t plen,
                     const char *name, size_t nlen, const char *val, size_t vlen)
{
	char full[128];
	unsigned long long v;
	int err;

	if (plen + 1 + nlen >= sizeof(full))
		return 0;
	memcpy(full, pre, plen);
	full[plen] = '.';
	memcpy(full + plen + 1, name, nlen);
	full[plen + 1 + nlen] = '\0';
	if (!is_kept(full))
		return 0;
	if (parse_u64(val, vlen, &v) < 0) {
		/* Tcp.MaxConn is -1 on Linux: not a counter, and not kept. */
		return -EPROTO;
	}
	if ((err = ag_kstat_add_counter(r, full, v)) < 0)
		return err;
	return 1;
}

int ag_kstat_parse_snmp(const char *buf, size_t len, wire_report_t *r)
{
	size_t off = 0, hn, vn;
	const char *h;
	int added = 0;

	while ((h = next_line(buf, len, &off, &hn)) != NULL) {
		const char *v, *colon, *hp, *vp, *hend, *vend;
		size_t plen;

		if ((colon = memchr(h, ':', hn)) == NULL)
			continue;
		plen = (size_t)(colon - h);
		if ((v = next_line(buf, len, &off, &vn)) == NULL)
			return -EPROTO;
		if (vn <= plen || memcmp(v, h, plen + 1) != 0)
			return -EPROTO;
		hp = colon + 1;
		hend = h + hn;
		vp = v + plen + 1;
		vend = v + vn;
		for (;;) {
			size_t wn, xn;
			const char *w = next_word(&hp, hend, &wn);
			const char *x = next_word(&vp, vend, &xn);
			int err;

			if (w == NULL && x == NULL)
				break;
			if (w == NULL || x == NULL)
				return -EPROTO;
			if ((err = add_named(r, h, plen, w, wn, x, xn)) < 0)
				return err;
			added += err;
		}
	}
	return added;
}

int ag_kstat_parse_sockstat(const char *buf, size_t len, wire_report_t *r)
{
	size_t off = 0, n;
	const char *l;
	int added = 0;

	while ((l = next_line(buf, len, &off, &n)) != NULL) {
		const char *p, *end = l + n;

		if (n < 4 || memcmp(l, "TCP:", 4) != 0)
			continue;
		p = l + 4;
		for (;;) {
			size_t wn, xn;
			const char *w = next_word(&p, end, &wn);
			const char *x;
			unsigned long long v;
			char name[64];
			int err;

			if (w == NULL)
				break;
			if ((x = next_word(&p, end, &xn)) == NULL ||
			    parse_u64(x, xn, &v) < 0 || wn > 40)
				return -EPROTO;
			memcpy(name, "Sockstat.", 9);
			memcpy(name + 9, w, wn);
			name[9 + wn] = '\0';
			if ((err = ag_kstat_add_counter(r, name, v)) < 0)
				return err;
			added++;
		}
	}
	return added;
}

int ag_kstat_add_sysctl(wire_report_t *r, const char *name, const char *val,
                        size_t len)
{
	wire_kv_t *kv;
	char *v, *k;
	size_t n = 0;

	if ((v = malloc(len + 1)) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)val[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (n && v[n - 1] != ' ')
				v[n++] = ' ';
			continue;
		}
		if (c < 0x20 || c >= 0x7f) {
			free(v);
			return -EINVAL;
		}
		v[n++] = (char)c;
	}
	if (n && v[n - 1] == ' ')
		n--;
	v[n] = '\0';
	if (n == 0) {
		free(v);
		return -EINVAL;
	}
	if ((k = strdup(name)) == NULL ||
	    (kv = realloc(r->sysctls, (r->n_sysctls + 1) * sizeof(*kv))) == NULL) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	r->sysctls = kv;
	kv[r->n_sysctls].name = k;
	kv[r->n_sysctls].value = v;
	r->n_sysctls++;
	return 0;
}
