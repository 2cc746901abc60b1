/* SPDX-License-Identifier: MIT */
/* diag.c: sock_diag request building and reply decoding. */
#include "diag.h"

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define TCP_NEW_SYN_RECV_STATE 12

void ag_diag_init(ag_diag_t *d, uint32_t seq)
{
	memset(d, 0, sizeof(*d));
	d->seq = seq;
}

size_t ag_diag_request(void *buf, size_t len, uint32_t seq, uint32_t states)
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
	memcpy(buf, &req, sizeof(req));
	return sizeof(req);
}

static int decode_sock(ag_diag_t *d, const struct inet_diag_msg *m,
                       ag_sock_fn fn, void *ctx)
{
	ag_sock_t s;
	size_t alen;

	if (m->idiag_family == AF_INET)
		alen = 4;
	else if (m->idiag_family == AF_INET6)
		alen = 16;
	else
		goto skip;
	s.state = m->idiag_state;
	if (s.state == TCP_NEW_SYN_RECV_STATE)
		s.state = 3; /* request sockets are SYN_RECV to netstat */
	if (s.state < 1 || s.state > 11)
		goto skip;
	s.family = m->idiag_family;
	s.flags = 0;
	s.lport = ntohs(m->id.idiag_sport);
	s.rport = ntohs(m->id.idiag_dport);
	memset(s.laddr, 0, sizeof(s.laddr));
	memset(s.raddr, 0, sizeof(s.raddr));
	memcpy(s.laddr, m->id.idiag_src, alen);
	memcpy(s.raddr, m->id.idiag_dst, alen);
	s.rqueue = m->idiag_rqueue;
	s.wqueue = m->idiag_wqueue;
	fn(ctx, &s);
	d->nsocks++;
	return 0;
skip:
	d->skipped++;
	return 0;
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
			case NLMSG_DONE:
				return d->intr ? -EINTR : 1;
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
				struct inet_diag_msg m;

				if (h.nlmsg_len < NLMSG_LENGTH(sizeof(m)))
					return -EPROTO;
				memcpy(&m, p + NLMSG_HDRLEN, sizeof(m));
				decode_sock(d, &m, fn, ctx);
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
