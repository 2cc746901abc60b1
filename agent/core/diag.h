/* SPDX-License-Identifier: MIT */
/* diag.h: build a sock_diag dump request and decode its replies (no syscalls). */
#ifndef AG_DIAG_H
#define AG_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "sock.h"

/*
 * States 1..12 (ESTABLISHED .. NEW_SYN_RECV): what netstat shows.  All bits
 * would add TCP_BOUND_INACTIVE and make the kernel walk the bind hash too.
 */
#define AG_DIAG_STATES 0x1ffeu

/* Receive buffer size: the kernel sizes dump skbs up to 32 KiB. */
#define AG_DIAG_RCVBUF 32768

/* Decoder state for one dump; lives across the recv() buffers of that dump. */
typedef struct {
	uint32_t seq;      /* sequence number of our request */
	uint32_t intr;     /* a message carried NLM_F_DUMP_INTR */
	uint64_t nsocks;   /* sockets passed to the sink */
	uint64_t skipped;  /* messages of other sequences, unknown families or states */
} ag_diag_t;

void ag_diag_init(ag_diag_t *d, uint32_t seq);

/*
 * Writes a TCPDIAG_GETSOCK dump request (struct inet_diag_req, family
 * AF_UNSPEC, so IPv4 and IPv6 come from one walk of the socket table) for
 * the state mask `states` into buf.  Returns its length, or 0 if len is too
 * small.
 */
size_t ag_diag_request(void *buf, size_t len, uint32_t seq, uint32_t states);

/*
 * The same with the kernel's TCP info of each full socket (INET_DIAG_INFO):
 * the sockets come with AG_SOCK_INFO and their tcp_* fields.  Measured at
 * 100,000 sockets, the kernel's walk is the cost and the info adds about 1%.
 */
size_t ag_diag_request_info(void *buf, size_t len, uint32_t seq, uint32_t states);

/*
 * Decodes one datagram of the dump, calling fn(ctx, sock) for each socket.
 * Returns 0 when more datagrams are expected, 1 at NLMSG_DONE of a
 * consistent dump, the kernel's negative errno when NLMSG_DONE carries one
 * (a dump it aborted), -EINTR at NLMSG_DONE of a dump the kernel marked
 * NLM_F_DUMP_INTR (the caller discards what it counted and dumps again),
 * the kernel's negative errno for NLMSG_ERROR, or -EPROTO for malformed
 * bytes.  buf is borrowed for the call only.
 */
int ag_diag_parse(ag_diag_t *d, const void *buf, size_t len,
                  ag_sock_fn fn, void *ctx);

/*
 * Splits AG_DIAG_STATES into two masks for two concurrent dumps, one per
 * CPU, so that each fills about half the messages: states are dealt,
 * largest first, to the lighter side, by the counts of `prev` (the last
 * collection's table), or when prev is NULL or empty by a typical server's
 * mix (ESTABLISHED, then TIME_WAIT, dominate).  SYN_RECV and NEW_SYN_RECV
 * stay together.  Both masks are nonzero.
 */
void ag_diag_split(const uint32_t *prev, uint32_t *a, uint32_t *b);

#endif
