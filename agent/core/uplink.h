/* SPDX-License-Identifier: MIT */
/* uplink.h: the agent's connection policy, pure: collector list and failover, backoff, seq
 * recovery, sysctl changes. */
#ifndef AG_UPLINK_H
#define AG_UPLINK_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define AG_BACKOFF_MIN_MS 1000u
#define AG_BACKOFF_MAX_MS 60000u

#define AG_COLLECTORS_MAX 16    /* entries of --collector */
#define AG_HOST_MAX 255         /* bytes of a host name or address */

/* One collector of the list. */
typedef struct {
	char text[AG_HOST_MAX + 10];  /* the entry as written (blanks trimmed), for logs */
	char host[AG_HOST_MAX + 1];   /* a name, an IPv4 or an IPv6 address (brackets gone) */
	char port[6];                 /* 1..65535, digits */
} ag_addr_t;

typedef struct {
	ag_addr_t a[AG_COLLECTORS_MAX];
	size_t n;                     /* 1..AG_COLLECTORS_MAX after a successful parse */
} ag_addrs_t;

/*
 * Parses a comma-separated list of HOST:PORT entries (an IPv6 address in
 * brackets, [::1]:7400; blanks around an entry are ignored) into *out.  A
 * port is 1..65535; entries are neither empty nor repeated, and at most
 * AG_COLLECTORS_MAX.  s is borrowed.  Returns 0, or -EINVAL with a sentence
 * saying which entry is wrong and why in err (errlen bytes, NUL-terminated).
 */
int ag_addrs_parse(const char *s, ag_addrs_t *out, char *err, size_t errlen);

/*
 * Failover over a list of n collectors, in order and round after round: the
 * agent stays on the one it has while it works; when a connect, a handshake
 * or a connection fails it goes on to the next (after the last, the first).
 * A round is every address failed once in a row: only then does the caller
 * wait a backoff (ag_backoff_next()) before going on, so that a live
 * collector further down the list is reached at once, and a fleet whose
 * collectors are all down backs off as a single collector does.
 */
typedef struct {
	size_t n;       /* addresses, >= 1 */
	size_t cur;     /* the address in use, or to try next */
	size_t failed;  /* addresses failed in a row in this round */
} ag_failover_t;

void ag_failover_init(ag_failover_t *f, size_t n);

/*
 * The address cur failed: cur moves on to the next one.  Returns 1 when that
 * ends a round (every address has now failed once in a row; the next round
 * starts from the new cur), 0 when the new cur is to be tried at once.
 */
int ag_failover_next(ag_failover_t *f);

/* cur took the agent (Welcome): it stays there; the round starts afresh. */
void ag_failover_connected(ag_failover_t *f);

/*
 * Reconnect backoff: the base delay starts at AG_BACKOFF_MIN_MS and doubles
 * after every failed attempt up to AG_BACKOFF_MAX_MS ("equal jitter": the
 * delay waited is somewhere in [base/2, base], picked by rnd, any random
 * number).  *base is the state (0 before the first failure, and again after
 * a Welcome); returns the delay to wait, in ms, and advances *base.
 */
uint64_t ag_backoff_next(uint64_t *base, uint32_t rnd);

/*
 * The seq to continue from after Welcome{last_seq}: the agent's own last
 * seq, unless the collector already has that one or a later one (the
 * agent's state was lost or restored), in which case last_seq.
 */
uint64_t ag_seq_after_welcome(uint64_t own_last, uint64_t welcome_last);

/*
 * Whether two sysctl lists hold the same names with the same values, in any
 * order (both borrowed; names are unique within a list).
 */
int ag_kv_equal(const wire_kv_t *a, size_t na, const wire_kv_t *b, size_t nb);

/*
 * Deep copy of a name/value list: *out is new (NULL when n is 0), freed
 * with ag_kv_free(*out, n).  0 or -ENOMEM (nothing allocated).
 */
int ag_kv_dup(const wire_kv_t *in, size_t n, wire_kv_t **out);
void ag_kv_free(wire_kv_t *kv, size_t n);

#endif
