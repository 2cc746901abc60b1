/* SPDX-License-Identifier: MIT */
/* diag.c: sock_diag request building and reply decoding. */
#include "diag.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/tcp.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define TCP_NEW_SYN_RECV_STATE 12

void ag_diag_init(ag_diag_t *d, uint32_t seq)
{
	memset(d, 0, sizeof(*d));
	d->seq = seq;
}

static size_t request(void *buf, size_t len, uint32_t seq, uint32_t states, uint8_t ext)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req r;
	} req;

	if (len < sizeof(req))
		return 0;
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = TCPDIAG_GETSOCK;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = seq;
	req.r.idiag_family = AF_UNSPEC;
	req.r.idiag_states = states;
	req.r.idiag_ext = ext;
	memcpy(buf, &req, sizeof(req));
	return sizeof(req);
}

size_t ag_diag_request(void *buf, size_t len, uint32_t seq, uint32_t states)
{
	return request(buf, len, seq, states, 0);
}

size_t ag_diag_request_info(void *buf, size_t len, uint32_t seq, uint32_t states)
{
	return request(buf, len, seq, states, 1u << (INET_DIAG_INFO - 1));
}

/* The fields of struct tcp_info it reads; an older kernel's shorter info lacks the last. */
#define TI_END (offsetof(struct tcp_info, tcpi_bytes_received) + 8)

/*
 * Finds INET_DIAG_INFO among the attributes after the message (len bytes at
 * a, unaligned) and fills s's tcp_* fields from it.
 */
static void decode_info(const uint8_t *a, size_t len, ag_sock_t *s)
{
	while (len >= sizeof(struct nlattr)) {
		struct nlattr h;
		size_t step;

		memcpy(&h, a, sizeof(h));
		if (h.nla_len < sizeof(h) || h.nla_len > len)
			return;
		if ((h.nla_type & NLA_TYPE_MASK) == INET_DIAG_INFO && h.nla_len >= (size_t)NLA_HDRLEN + TI_END) {
			const uint8_t *ti = a + NLA_HDRLEN;

			memcpy(&s->tcp_last_recv_ms, ti + offsetof(struct tcp_info, tcpi_last_data_recv), 4);
			memcpy(&s->tcp_last_send_ms, ti + offsetof(struct tcp_info, tcpi_last_data_sent), 4);
			memcpy(&s->tcp_bytes_received, ti + offsetof(struct tcp_info, tcpi_bytes_received), 8);
			memcpy(&s->tcp_bytes_acked, ti + offsetof(struct tcp_info, tcpi_bytes_acked), 8);
			s->flags |= AG_SOCK_INFO;
			return;
		}
		step = (size_t)NLA_ALIGN(h.nla_len);
		if (step >= len)
			return;
		a += step;
		len -= step;
	}
}

/*
 * Reads the fields it needs straight from the message (which need not be
 * aligned): this runs once per socket, 100,000 times on a busy host.
 */
static void decode_sock(ag_diag_t *d, const uint8_t *m, size_t len, ag_sock_fn fn, void *ctx)
{
	ag_sock_t s;
	uint16_t port;

	s.family = m[offsetof(struct inet_diag_msg, idiag_family)];
	s.state = m[offsetof(struct inet_diag_msg, idiag_state)];
	if (s.state == TCP_NEW_SYN_RECV_STATE)
		s.state = 3; /* request sockets are SYN_RECV to netstat */
	if ((s.family != AF_INET && s.family != AF_INET6) ||
	    s.state < 1 || s.state > 11) {
		d->skipped++;
		return;
	}
	s.flags = 0;
	memcpy(&port, m + offsetof(struct inet_diag_msg, id.idiag_sport), 2);
	s.lport = ntohs(port);
	memcpy(&port, m + offsetof(struct inet_diag_msg, id.idiag_dport), 2);
	s.rport = ntohs(port);
	/* AF_INET uses the first 4 bytes; the kernel zeroes the rest. */
	/* No remote end (port 0): ranked under no address, as /proc and netstat show it. */
	if (s.rport == 0 && s.state != 10)
		s.flags = AG_SOCK_NORADDR;
	memcpy(s.laddr, m + offsetof(struct inet_diag_msg, id.idiag_src), 16);
	memcpy(s.raddr, m + offsetof(struct inet_diag_msg, id.idiag_dst), 16);
	memcpy(&s.rqueue, m + offsetof(struct inet_diag_msg, idiag_rqueue), 4);
	memcpy(&s.wqueue, m + offsetof(struct inet_diag_msg, idiag_wqueue), 4);
	if (len > NLMSG_ALIGN(sizeof(struct inet_diag_msg)))
		decode_info(m + NLMSG_ALIGN(sizeof(struct inet_diag_msg)),
		            len - NLMSG_ALIGN(sizeof(struct inet_diag_msg)), &s);
	fn(ctx, &s);
	d->nsocks++;
}

int ag_diag_parse(ag_diag_t *d, const void *buf, size_t len,
                  ag_sock_fn fn, void *ctx)
{
	const uint8_t *p = buf;

	while (len > 0) {
		struct nlmsghdr h;
		size_t step;

		if (len < sizeof(h))
			return -EPROTO;
		memcpy(&h, p, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
			return -EPROTO;
		step = NLMSG_ALIGN(h.nlmsg_len);
		if (step > len)
			step = len; /* the last message need not be padded */

		if (h.nlmsg_seq != d->seq) {
			d->skipped++; /* not ours: ss skips these too */
		} else {
			if (h.nlmsg_flags & NLM_F_DUMP_INTR)
				d->intr = 1;
			switch (h.nlmsg_type) {
			case NLMSG_DONE: {
				int status;

				/* The kernel ends a dump it had to abort with its errno. */
				if (h.nlmsg_len < NLMSG_LENGTH(sizeof(status)))
					return -EPROTO;
				memcpy(&status, p + NLMSG_HDRLEN, sizeof(status));
				if (status < 0)
					return status;
				return d->intr ? -EINTR : 1;
			}
			case NLMSG_ERROR: {
				struct nlmsgerr e;

				if (h.nlmsg_len < NLMSG_LENGTH(sizeof(e)))
					return -EPROTO;
				memcpy(&e, p + NLMSG_HDRLEN, sizeof(e));
				/* An ack (error 0) never ends a dump; treat it as bad. */
				return e.error < 0 ? e.error : -EPROTO;
			}
			case NLMSG_NOOP:
				break;
			case SOCK_DIAG_BY_FAMILY:
			case TCPDIAG_GETSOCK: {
				if (h.nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
					return -EPROTO;
				decode_sock(d, p + NLMSG_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN, fn, ctx);
				break;
			}
			default:
				return -EPROTO;
			}
		}
		p += step;
		len -= step;
	}
	return 0;
}

void ag_diag_split(const uint32_t *prev, uint32_t *a, uint32_t *b)
{
	/* Weights when nothing is known: ESTABLISHED, TIME_WAIT, then the rest. */
	static const uint32_t prior[12] = {0, 60, 2, 4, 2, 3, 20, 1, 3, 2, 1, 1};
	const uint32_t *w = prior;
	uint64_t sum_a = 0, sum_b = 0;
	int order[11], n = 0;

	if (prev) {
		uint64_t t = 0;

		for (int s = 1; s <= 11; s++)
			t += prev[s];
		if (t > 0)
			w = prev;
	}
	for (int s = 1; s <= 11; s++)
		order[n++] = s;
	/* Largest first; ties in state order, so the split is deterministic. */
	for (int i = 1; i < n; i++) {
		int s = order[i], j = i;

		while (j > 0 && w[order[j - 1]] < w[s]) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = s;
	}
	*a = *b = 0;
	for (int i = 0; i < n; i++) {
		int s = order[i];
		uint32_t bits = 1u << s;

		if (s == 3)
			bits |= 1u << TCP_NEW_SYN_RECV_STATE;
		if (sum_a <= sum_b) {
			*a |= bits;
			sum_a += w[s];
		} else {
			*b |= bits;
			sum_b += w[s];
		}
	}
}
