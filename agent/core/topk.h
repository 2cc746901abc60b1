/* SPDX-License-Identifier: MIT */
/*
 * topk.h: the heaviest keys of a stream in bounded memory (Space-Saving,
 * Metwally et al. 2005).  At most cap keys are tracked; a new key when all
 * are taken replaces the lightest one and starts from its count, which it
 * keeps as its error.  So a tracked key's true count is within
 * [count - error, count], and a key not tracked has at most min_count()
 * (0 while none was ever replaced).  With cap tracked, every key of more
 * than total/cap is tracked.  Pure: no I/O; one allocation at creation.
 */
#ifndef AG_TOPK_H
#define AG_TOPK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ag_topk ag_topk_t;

/* Up to cap keys of up to key_max bytes each.  NULL on a bad size or no memory. */
ag_topk_t *ag_topk_new(size_t cap, size_t key_max);
void ag_topk_free(ag_topk_t *t);

/*
 * Counts key[0..len) (len <= key_max) once.  Returns the slot (0..cap-1)
 * now holding it; *fresh is set when the slot holds a key new to it (a first
 * one, or one that replaced the lightest), so that the caller resets what it
 * keeps beside the slot.
 */
size_t ag_topk_add(ag_topk_t *t, const void *key, size_t len, bool *fresh);

/* Forgets every key (a new interval); the memory stays. */
void ag_topk_reset(ag_topk_t *t);

size_t ag_topk_size(const ag_topk_t *t);  /* slots in use */
uint64_t ag_topk_count(const ag_topk_t *t, size_t slot);
uint64_t ag_topk_error(const ag_topk_t *t, size_t slot);
const void *ag_topk_key(const ag_topk_t *t, size_t slot, size_t *len);

/* The most a key not tracked can have: the lightest tracked count once one was replaced. */
uint64_t ag_topk_unlisted_max(const ag_topk_t *t);

/*
 * The k heaviest slots (by count, then key bytes) into out[0..k); returns how
 * many (at most ag_topk_size()).
 */
size_t ag_topk_top(const ag_topk_t *t, size_t *out, size_t k);

#endif
