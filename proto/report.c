/* SPDX-License-Identifier: MIT */
/*
 * report.c: lifetime of wire_report_t, netstat's names for TCP states,
 * addresses as text, networks (CIDRs).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "report.h"

/*
 * Indexed by the kernel's state number: netstat's spelling, and the same in
 * lower case (storage's column names, the metrics' state label).
 */
static const struct {
	const char *name, *key;
} states[WIRE_NSTATES] = {
	[WIRE_ESTABLISHED] = {"ESTABLISHED", "established"},
	[WIRE_SYN_SENT] = {"SYN_SENT", "syn_sent"},
	[WIRE_SYN_RECV] = {"SYN_RECV", "syn_recv"},
	[WIRE_FIN_WAIT1] = {"FIN_WAIT1", "fin_wait1"},
	[WIRE_FIN_WAIT2] = {"FIN_WAIT2", "fin_wait2"},
	[WIRE_TIME_WAIT] = {"TIME_WAIT", "time_wait"},
	[WIRE_CLOSE] = {"CLOSE", "close"},
	[WIRE_CLOSE_WAIT] = {"CLOSE_WAIT", "close_wait"},
	[WIRE_LAST_ACK] = {"LAST_ACK", "last_ack"},
	[WIRE_LISTEN] = {"LISTEN", "listen"},
	[WIRE_CLOSING] = {"CLOSING", "closing"},
};

void wire_report_close(wire_report_t *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n_counters; i++)
		free(r->counters[i].name);
	for (i = 0; i < r->n_sysctls; i++) {
		free(r->sysctls[i].name);
		free(r->sysctls[i].value);
	}
	free(r->counters);
	free(r->sysctls);
	free(r->listeners);
	free(r->top.ips);
	free(r->source);
	free(r->ports.inbound);
	free(r->ports.outbound);
	wire_requests_close(&r->requests);
	memset(r, 0, sizeof(*r));
}

const char *wire_req_class_name(int c)
{
	static const char *const names[WIRE_REQ_NCLASS] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};

	return c >= 0 && c < WIRE_REQ_NCLASS ? names[c] : NULL;
}

void wire_requests_close(wire_requests_t *q)
{
	for (size_t i = 0; i < q->n_hosts; i++)
		free(q->hosts[i].host);
	for (size_t i = 0; i < q->n_marks; i++)
		free(q->marks[i].path);
	free(q->clients);
	free(q->hosts);
	free(q->marks);
	memset(q, 0, sizeof(*q));
}

const char *wire_state_name(int state)
{
	if (state < WIRE_ESTABLISHED || state >= WIRE_NSTATES)
		return NULL;
	return states[state].name;
}

const char *wire_state_key(int state)
{
	if (state < WIRE_ESTABLISHED || state >= WIRE_NSTATES)
		return NULL;
	return states[state].key;
}

int wire_state_parse(const char *s, size_t len)
{
	int st;

	if (s == NULL)
		return 0;
	for (st = WIRE_ESTABLISHED; st < WIRE_NSTATES; st++) {
		/* Compare lengths first: "CLOSE" is a prefix of "CLOSE_WAIT". */
		if (strlen(states[st].name) == len &&
		    memcmp(states[st].name, s, len) == 0)
			return st;
	}
	return 0;
}

uint64_t wire_states_sum(const wire_states_t *s)
{
	uint64_t t = 0;

	for (int i = 1; i < WIRE_NSTATES; i++)
		if (i != WIRE_LISTEN)
			t += s->n[i];
	return t;
}

bool wire_activity_within(const wire_activity_t *a, uint32_t established)
{
	return a->active <= established && a->unanswered <= established && a->idle <= established;
}

uint32_t wire_states_total(const wire_states_t *s)
{
	return (uint32_t)wire_states_sum(s);
}

const char *wire_ip_str(const wire_ip_t *ip, char *dst)
{
	if ((ip->len != 4 && ip->len != 16) ||
	    inet_ntop(ip->len == 4 ? AF_INET : AF_INET6, ip->b, dst, WIRE_IP_STRLEN) == NULL)
		strcpy(dst, "?");
	return dst;
}

int wire_cidr_parse(const char *s, size_t len, wire_cidr_t *out)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char buf[64], *slash;
	unsigned long bits;
	unsigned max;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len) != NULL)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, out->net.b) == 1)
		out->net.len = 4;
	else if (inet_pton(AF_INET6, buf, out->net.b) == 1)
		out->net.len = 16;
	else
		return -EINVAL;
	max = out->net.len * 8u;
	bits = max;
	if (slash != NULL) {
		char *end;

		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		bits = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || bits > max)
			return -EINVAL;
	}
	if (out->net.len == 16 && bits >= 96 && memcmp(out->net.b, v4mapped, 12) == 0) {
		memmove(out->net.b, out->net.b + 12, 4);
		memset(out->net.b + 4, 0, 12);
		out->net.len = 4;
		bits -= 96;
	}
	out->bits = (uint8_t)bits;
	for (unsigned i = 0; i < out->net.len; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;

		out->net.b[i] &= (uint8_t)(0xff00u >> keep);
	}
	return 0;
}

bool wire_cidr_match(const wire_cidr_t *c, const uint8_t *b, size_t len)
{
	unsigned full = c->bits / 8, rest = c->bits % 8;

	if (len != c->net.len || memcmp(c->net.b, b, full) != 0)
		return false;
	return rest == 0 || ((b[full] ^ c->net.b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}
