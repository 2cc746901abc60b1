/* SPDX-License-Identifier: MIT */
/* topk.c: Space-Saving over a min-heap of slots and an open-addressing index of keys. */
#include "topk.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

struct ag_topk {
	size_t cap, key_max, n;
	bool replaced;           /* some key was ever replaced: unlisted keys are bounded by min */
	uint64_t *count, *error;
	uint16_t *key_len;
	unsigned char *keys;     /* cap * key_max */
	size_t *heap;            /* slots, lightest first */
	size_t *pos;             /* slot -> its place in heap */
	uint64_t *index;         /* mask + 1 entries: slot + 1 and the hash's top half, or 0 */
	size_t mask;
	uint64_t *hashes;        /* each slot's key's hash */
};

#define SLOT(e) ((size_t)((e) & 0xffffffffu) - 1)
#define TAG(h) ((h) & ~(uint64_t)0xffffffffu)


ag_topk_t *ag_topk_new(size_t cap, size_t key_max)
{
	ag_topk_t *t;
	size_t slots = 1;

	if (cap == 0 || cap > (1u << 24) || key_max == 0 || key_max > 65535)
		return NULL;
	while (slots < cap * 2)
		slots <<= 1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->cap = cap;
	t->key_max = key_max;
	t->mask = slots - 1;
	t->count = calloc(cap, sizeof(*t->count));
	t->error = calloc(cap, sizeof(*t->error));
	t->key_len = calloc(cap, sizeof(*t->key_len));
	t->keys = calloc(cap, key_max);
	t->heap = calloc(cap, sizeof(*t->heap));
	t->pos = calloc(cap, sizeof(*t->pos));
	t->index = calloc(slots, sizeof(*t->index));
	t->hashes = calloc(cap, sizeof(*t->hashes));
	if (!t->count || !t->error || !t->key_len || !t->keys || !t->heap || !t->pos || !t->index ||
	    !t->hashes) {
		ag_topk_free(t);
		return NULL;
	}
	return t;
}

void ag_topk_free(ag_topk_t *t)
{
	if (t == NULL)
		return;
	free(t->count);
	free(t->error);
	free(t->key_len);
	free(t->keys);
	free(t->heap);
	free(t->pos);
	free(t->index);
	free(t->hashes);
	free(t);
}

void ag_topk_reset(ag_topk_t *t)
{
	t->n = 0;
	t->replaced = false;
	memset(t->index, 0, (t->mask + 1) * sizeof(*t->index));
}

static unsigned char *key_at(const ag_topk_t *t, size_t slot)
{
	return t->keys + slot * t->key_max;
}

/* Keys are short (an address, a host): a loop beats a call to memcmp. */
static bool same(const unsigned char *a, const unsigned char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* The index entry of key (hash h), or of the empty one where it would go. */
static size_t find(const ag_topk_t *t, const unsigned char *key, size_t len, uint64_t h)
{
	size_t i = (size_t)h & t->mask;

	for (;;) {
		uint64_t e = t->index[i];

		if (e == 0)
			return i;
		if (TAG(e) == TAG(h) && t->key_len[SLOT(e)] == len && same(key_at(t, SLOT(e)), key, len))
			return i;
		i = (i + 1) & t->mask;
	}
}

/* Removes the index entry at i, moving the ones after it back (linear probing). */
static void unindex(ag_topk_t *t, size_t i)
{
	size_t j = i;

	t->index[i] = 0;
	for (;;) {
		size_t home;
		uint64_t e;

		j = (j + 1) & t->mask;
		if ((e = t->index[j]) == 0)
			return;
		home = (size_t)t->hashes[SLOT(e)] & t->mask;
		/* Moves back when its home is not within (i, j]. */
		if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j)) {
			t->index[i] = e;
			t->index[j] = 0;
			i = j;
		}
	}
}

static bool lighter(const ag_topk_t *t, size_t a, size_t b)
{
	return t->count[a] < t->count[b];
}

static void swap(ag_topk_t *t, size_t i, size_t j)
{
	size_t a = t->heap[i], b = t->heap[j];

	t->heap[i] = b;
	t->heap[j] = a;
	t->pos[b] = i;
	t->pos[a] = j;
}

static void sift_down(ag_topk_t *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < t->n && lighter(t, t->heap[l], t->heap[m]))
			m = l;
		if (r < t->n && lighter(t, t->heap[r], t->heap[m]))
			m = r;
		if (m == i)
			return;
		swap(t, i, m);
		i = m;
	}
}

static void sift_up(ag_topk_t *t, size_t i)
{
	while (i > 0 && lighter(t, t->heap[i], t->heap[(i - 1) / 2])) {
		swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

size_t ag_topk_add(ag_topk_t *t, const void *key, size_t len, bool *fresh)
{
	size_t i, slot;
	uint64_t h;

	if (len > t->key_max)
		len = t->key_max;
	h = fs_hash(key, len);
	i = find(t, key, len, h);
	*fresh = false;
	if (t->index[i] != 0) {
		slot = SLOT(t->index[i]);
		t->count[slot]++;
		sift_down(t, t->pos[slot]);
		return slot;
	}
	*fresh = true;
	if (t->n < t->cap) {
		slot = t->n;
		t->heap[t->n] = slot;
		t->pos[slot] = t->n;
		t->n++;
		t->count[slot] = 1;
		t->error[slot] = 0;
		sift_up(t, t->pos[slot]);
	} else {
		/* The lightest goes; the new key starts from its count, which is its error. */
		slot = t->heap[0];
		unindex(t, find(t, key_at(t, slot), t->key_len[slot], t->hashes[slot]));
		i = find(t, key, len, h);
		t->error[slot] = t->count[slot];
		t->count[slot]++;
		t->replaced = true;
		sift_down(t, 0);
	}
	memcpy(key_at(t, slot), key, len);
	t->key_len[slot] = (uint16_t)len;
	t->hashes[slot] = h;
	t->index[i] = TAG(h) | ((uint64_t)slot + 1);
	return slot;
}

size_t ag_topk_size(const ag_topk_t *t) { return t->n; }
uint64_t ag_topk_count(const ag_topk_t *t, size_t slot) { return t->count[slot]; }
uint64_t ag_topk_error(const ag_topk_t *t, size_t slot) { return t->error[slot]; }

const void *ag_topk_key(const ag_topk_t *t, size_t slot, size_t *len)
{
	*len = t->key_len[slot];
	return key_at(t, slot);
}

uint64_t ag_topk_unlisted_max(const ag_topk_t *t)
{
	return t->replaced && t->n > 0 ? t->count[t->heap[0]] : 0;
}

/* Heavier first; the same count by key bytes. */
static bool before(const ag_topk_t *t, size_t x, size_t y)
{
	size_t lx = t->key_len[x], ly = t->key_len[y];
	int c;

	if (t->count[x] != t->count[y])
		return t->count[x] > t->count[y];
	if ((c = memcmp(key_at(t, x), key_at(t, y), lx < ly ? lx : ly)) != 0)
		return c < 0;
	return lx < ly;
}

size_t ag_topk_top(const ag_topk_t *t, size_t *out, size_t k)
{
	size_t m = 0;

	/* Insertion into the k kept: k is a report's list (tens), n the tracked (thousands). */
	for (size_t s = 0; s < t->n && k > 0; s++) {
		size_t j;

		if (m == k && !before(t, s, out[m - 1]))
			continue;
		j = m < k ? m++ : m - 1;
		while (j > 0 && before(t, s, out[j - 1])) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = s;
	}
	return m;
}
