/* SPDX-License-Identifier: MIT */
/* sock.h: one TCP socket as every source (netlink, /proc, saved text) decodes it. */
#ifndef AG_SOCK_H
#define AG_SOCK_H

#include <stdint.h>

enum {
	AG_SOCK_NORADDR = 1 << 0, /* remote address could not be read (truncated text) */
	AG_SOCK_INFO = 1 << 1,    /* the tcp_* fields below were read (sock_diag's TCP info) */
};

typedef struct {
	uint8_t family;     /* AF_INET or AF_INET6 */
	uint8_t state;      /* kernel TCP state 1..11; NEW_SYN_RECV already folded to 3 */
	uint8_t flags;      /* AG_SOCK_* */
	uint16_t lport;     /* host byte order */
	uint16_t rport;
	uint8_t laddr[16];  /* network order; AF_INET uses the first 4 bytes */
	uint8_t raddr[16];
	uint32_t rqueue;    /* LISTEN: accept queue now; else bytes unread */
	uint32_t wqueue;    /* LISTEN: backlog; else bytes unacked */
	/* With AG_SOCK_INFO (full sockets only): the kernel's struct tcp_info, in part. */
	uint32_t tcp_last_recv_ms; /* since data last arrived (or since it was made) */
	uint32_t tcp_last_send_ms; /* since data was last sent (or since it was made) */
	uint64_t tcp_bytes_received;
	uint64_t tcp_bytes_acked;  /* ours the peer acked; an active open's SYN counts 1 */
} ag_sock_t;

/* A consumer of decoded sockets.  The socket is borrowed for the call only. */
typedef void (*ag_sock_fn)(void *ctx, const ag_sock_t *s);

#endif
