/* SPDX-License-Identifier: MIT */
/* text.h: decode saved `netstat`, `ss` and /proc/net/tcp text into sockets (--input FILE). */
#ifndef AG_TEXT_H
#define AG_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "sock.h"

typedef enum {
	AG_TEXT_UNKNOWN = 0,
	AG_TEXT_NETSTAT, /* net-tools `netstat -n`, `-an`, `-tan`, with or without -W/-p/-e/-o */
	AG_TEXT_SS,      /* iproute2 `ss -tan`, `-tanH`, `-tanp`, old (no [] around IPv6) and new */
	AG_TEXT_PROC,    /* `cat /proc/net/tcp /proc/net/tcp6` (one or both, any order) */
} ag_text_fmt_t;

typedef struct {
	uint64_t lines;          /* lines seen, blank and header lines included */
	uint64_t sockets;        /* TCP socket lines handed to the sink */
	uint64_t skipped;        /* socket lines of other protocols (udp, raw, unix, ...) */
	uint64_t malformed;      /* lines that looked like neither a header nor a socket */
	uint64_t first_malformed;/* 1-based line number of the first malformed line, or 0 */
	uint64_t noraddr;        /* sockets passed on with AG_SOCK_NORADDR */
} ag_text_stats_t;

/*
 * Guess the format of buf[0..len) from its header lines or, failing those,
 * from its first data lines (up to 64 lines are looked at).  buf is borrowed
 * and need not be NUL-terminated.  Returns AG_TEXT_UNKNOWN when nothing
 * matched.
 */
ag_text_fmt_t ag_text_detect(const char *buf, size_t len);

/*
 * Decode buf[0..len) as fmt and call fn(ctx, sock) once per TCP socket line,
 * in input order.  fmt AG_TEXT_UNKNOWN means "detect first".  buf is borrowed
 * and need not be NUL-terminated; lines end in "\n" or "\r\n" and the last
 * one may lack its newline.  Nothing past buf[len-1] is read.  No memory is
 * allocated.  st (may be NULL) is zeroed and then filled in.
 *
 * Lines of other protocols, headers and blank lines are skipped; a line that
 * is none of these (garbage, unknown state, too few columns, bad numbers) is
 * counted in st->malformed and skipped.  Returns 0, or -EPROTO (and fn is
 * never called) when the input is not fmt at all: not one line of a
 * non-blank input was recognised.  An empty input returns 0.
 *
 * What lands in the ag_sock_t:
 * - state: kernel number 1..11 from the tool's name (netstat ESTABLISHED
 *   .. CLOSING; ss ESTAB .. CLOSING, UNCONN = CLOSE) or /proc's hex st;
 *   /proc's 0C (NEW_SYN_RECV) becomes 3 (SYN_RECV).  netstat's UNKNOWN is
 *   malformed.
 * - family AF_INET or AF_INET6 as the tool printed it; IPv4-mapped IPv6
 *   (::ffff:a.b.c.d) stays AF_INET6 with the ::ffff: bytes, as the kernel
 *   reports it (folding is the aggregator's job); netstat 2.10 prints those
 *   as plain a.b.c.d on tcp6 lines, which become ::ffff:a.b.c.d again.  Zone ids ("%eth0") are
 *   dropped.  A bare "*" address is the unspecified address of the other
 *   end's family; when both ends are "*" (a wildcard listener in ss) it is
 *   IPv6 [::] if the file looks like iproute2 >= 4.17 (some "[" or
 *   "0.0.0.0:" in it) and 0.0.0.0 otherwise, as those versions print them.
 * - addresses in network byte order, ports in host order.
 * - rqueue/wqueue from Recv-Q/Send-Q; from /proc, rx_queue/tx_queue (for a
 *   /proc or netstat LISTEN socket wqueue is 0: only ss shows the backlog).
 * - AG_SOCK_NORADDR, with raddr and rport zero, when the remote end could not
 *   be read: its address does not parse, or its port is "*" or 0 (listeners
 *   and other unconnected sockets).  netstat without -W cuts IPv6 addresses
 *   so that "addr:port" is exactly 23 characters; such a remote is treated as
 *   unreadable rather than guessed, unless the file shows it was made with -W
 *   (some address column wider than 23).  A cut local address is left as the
 *   unspecified address (there is no flag for it).
 *
 * /proc/net/tcp{,6} print each 32-bit address word with %08X of its value in
 * the *producing* host's byte order.  These parsers assume that host was
 * little-endian (x86-64, arm64, riscv64 — all the fleet) and decode the same
 * way on any reader; a capture from a big-endian host would come out
 * byte-swapped within each word.
 */
int ag_text_parse(ag_text_fmt_t fmt, const char *buf, size_t len,
		  ag_sock_fn fn, void *ctx, ag_text_stats_t *st);

/* "netstat", "ss", "proc" or "unknown". */
const char *ag_text_fmt_name(ag_text_fmt_t fmt);

#endif
