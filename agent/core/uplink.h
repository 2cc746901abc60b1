/* SPDX-License-Identifier: MIT */
/* uplink.h: the agent's connection policy, pure: backoff, seq recovery, sysctl changes, sizes. */
#ifndef AG_UPLINK_H
#define AG_UPLINK_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define AG_BACKOFF_MIN_MS 1000u
#define AG_BACKOFF_MAX_MS 60000u

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
