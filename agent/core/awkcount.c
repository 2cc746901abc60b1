/* SPDX-License-Identifier: MIT */
/* awkcount.c: a growing hash of field -> count, and the one-liner's sort. */
#include "awkcount.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

typedef struct {
	uint64_t hash;
	uint64_t count;
	char *key;          /* in the arena; not NUL-terminated */
	size_t len;
} entry_t;

typedef struct chunk {
	struct chunk *next;
	size_t used, cap;
	char data[];
} chunk_t;

struct ag_awkcount {
	char sep;
	unsigned field;
	entry_t *tab;       /* open addressing; key NULL and len 0 with count 0: empty */
	size_t mask, n;
	chunk_t *arena;
};

ag_awkcount_t *ag_awkcount_new(char sep, unsigned field)
{
	ag_awkcount_t *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->sep = sep;
	a->field = field ? field : 1;
	a->mask = 1023;
	if ((a->tab = calloc(a->mask + 1, sizeof(*a->tab))) == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

void ag_awkcount_free(ag_awkcount_t *a)
{
	if (a == NULL)
		return;
	for (chunk_t *c = a->arena, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a->tab);
	free(a);
}


static char *keep(ag_awkcount_t *a, const char *p, size_t n)
{
	chunk_t *c = a->arena;

	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > 65536 ? n : 65536;

		if ((c = malloc(sizeof(*c) + cap)) == NULL)
			return NULL;
		c->next = a->arena;
		c->used = 0;
		c->cap = cap;
		a->arena = c;
	}
	memcpy(c->data + c->used, p, n);
	c->used += n;
	return c->data + c->used - n;
}

static int grow(ag_awkcount_t *a)
{
	size_t cap = (a->mask + 1) * 2;
	entry_t *tab = calloc(cap, sizeof(*tab));

	if (tab == NULL)
		return -ENOMEM;
	for (size_t i = 0; i <= a->mask; i++) {
		size_t j;

		if (a->tab[i].count == 0)
			continue;
		for (j = a->tab[i].hash & (cap - 1); tab[j].count != 0; j = (j + 1) & (cap - 1))
			;
		tab[j] = a->tab[i];
	}
	free(a->tab);
	a->tab = tab;
	a->mask = cap - 1;
	return 0;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The field awk would see: blanks split (leading ones skipped), or each sep byte. */
static const char *field_of(const ag_awkcount_t *a, const char *p, size_t len, size_t *out)
{
	const char *end = p + len;
	unsigned k = 1;

	if (a->sep == 0) {
		for (;;) {
			const char *s;

			while (p < end && blank(*p))
				p++;
			s = p;
			while (p < end && !blank(*p))
				p++;
			if (k++ == a->field || s == end) {
				*out = (size_t)(p - s);
				return s;
			}
		}
	}
	for (;;) {
		const char *s = p, *e = memchr(p, a->sep, (size_t)(end - p));

		if (e == NULL)
			e = end;
		if (k++ == a->field) {
			*out = (size_t)(e - s);
			return s;
		}
		if (e == end) {
			*out = 0;
			return end;
		}
		p = e + 1;
	}
}

int ag_awkcount_line(ag_awkcount_t *a, const char *line, size_t len)
{
	size_t n, i;
	const char *f = field_of(a, line, len, &n);
	uint64_t h = fs_hash(f, n);

	for (i = h & a->mask; a->tab[i].count != 0; i = (i + 1) & a->mask)
		if (a->tab[i].hash == h && a->tab[i].len == n &&
		    (n == 0 || memcmp(a->tab[i].key, f, n) == 0)) {
			a->tab[i].count++;
			return 0;
		}
	if ((a->n + 1) * 2 > a->mask + 1) {
		if (grow(a) < 0)
			return -ENOMEM;
		for (i = h & a->mask; a->tab[i].count != 0; i = (i + 1) & a->mask)
			;
	}
	if (n > 0 && (a->tab[i].key = keep(a, f, n)) == NULL)
		return -ENOMEM;
	a->tab[i].hash = h;
	a->tab[i].len = n;
	a->tab[i].count = 1;
	a->n++;
	return 0;
}

size_t ag_awkcount_keys(const ag_awkcount_t *a)
{
	return a->n;
}

/*
 * The whole lines "key count" compared as bytes.  Their counts are equal when
 * this is asked for -rn (they tie), but not for the text sort.
 */
static int line_cmp(const entry_t *x, const entry_t *y)
{
	char bx[24], by[24];
	int nx = snprintf(bx, sizeof(bx), " %" PRIu64, x->count);
	int ny = snprintf(by, sizeof(by), " %" PRIu64, y->count);
	size_t lx = x->len + (size_t)nx, ly = y->len + (size_t)ny;

	for (size_t i = 0; i < lx && i < ly; i++) {
		unsigned char cx = (unsigned char)(i < x->len ? x->key[i] : bx[i - x->len]);
		unsigned char cy = (unsigned char)(i < y->len ? y->key[i] : by[i - y->len]);

		if (cx != cy)
			return cx < cy ? -1 : 1;
	}
	return lx < ly ? -1 : lx > ly;
}

/*
 * sort's second field begins after the first run of non-blanks: the count,
 * unless the key is empty (" 5": the count is then field 1, and field 2 is
 * empty, which -n reads as 0).
 */
static uint64_t key2_num(const entry_t *e)
{
	return e->len > 0 ? e->count : 0;
}

static int cmp_rn(const void *pa, const void *pb)
{
	const entry_t *x = pa, *y = pb;

	if (key2_num(x) != key2_num(y))
		return key2_num(x) > key2_num(y) ? -1 : 1;
	return -line_cmp(x, y);
}

static int cmp_text(const void *pa, const void *pb)
{
	const entry_t *x = pa, *y = pb;
	char bx[24] = "", by[24] = "";
	int c;

	/* Field 2 to the end: " count" (with its blank), or "" for the empty key. */
	if (x->len > 0)
		snprintf(bx, sizeof(bx), " %" PRIu64, x->count);
	if (y->len > 0)
		snprintf(by, sizeof(by), " %" PRIu64, y->count);
	if ((c = strcmp(bx, by)) != 0)
		return c;
	return line_cmp(x, y);
}

int ag_awkcount_print(const ag_awkcount_t *a, ag_awk_sort_t sort, fs_buf_t *b)
{
	entry_t *all = malloc((a->n ? a->n : 1) * sizeof(*all));
	size_t n = 0;

	if (all == NULL) {
		b->err = -ENOMEM;
		return b->err;
	}
	for (size_t i = 0; i <= a->mask; i++)
		if (a->tab[i].count != 0)
			all[n++] = a->tab[i];
	qsort(all, n, sizeof(*all), sort == AG_AWK_SORT_RN ? cmp_rn : cmp_text);
	for (size_t i = 0; i < n && b->err == 0; i++) {
		fs_buf_add(b, all[i].key ? all[i].key : "", all[i].len);
		fs_buf_printf(b, " %" PRIu64 "\n", all[i].count);
	}
	free(all);
	return b->err;
}
