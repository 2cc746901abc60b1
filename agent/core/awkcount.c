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
	/* Small to start, doubled as keys come: a file's thousands of keys cost a few doublings,
	 * a few keys no 32 KiB zeroed and then scanned to print them. */
	a->mask = 63;
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

/* One output line "key count", with where sort's field 2 starts in it. */
typedef struct {
	const char *p;      /* into the lines' buffer */
	size_t len;
	size_t key2;        /* offset of field 2 (sort -k2: to the end of the line) */
	double num;         /* field 2 as sort -n reads it */
} out_t;

static bool sort_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * sort's fields without -b: a field is a run of blanks and the non-blanks
 * after it, so field 2 starts at the first blank after the first non-blank
 * (for " 5", an empty key's line, field 2 is empty).
 */
static size_t field2(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && sort_blank(p[i]))
		i++;
	while (i < len && !sort_blank(p[i]))
		i++;
	return i;
}

/* -n in the C locale: blanks, an optional '-', digits, an optional fraction; else 0. */
static double sort_num(const char *p, size_t len)
{
	size_t i = 0;
	double v = 0, scale = 0.1;
	bool neg = false;

	while (i < len && sort_blank(p[i]))
		i++;
	if (i < len && p[i] == '-') {
		neg = true;
		i++;
	}
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++)
		v = v * 10 + (p[i] - '0');
	if (i < len && p[i] == '.')
		for (i++; i < len && p[i] >= '0' && p[i] <= '9'; i++, scale /= 10)
			v += (p[i] - '0') * scale;
	return neg ? -v : v;
}

static int bytes_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	int c = memcmp(a, b, la < lb ? la : lb);

	if (c != 0)
		return c < 0 ? -1 : 1;
	return la < lb ? -1 : la > lb;
}

/* sort -rn -k2: field 2's number, largest first; ties by the whole line, reversed too. */
static int cmp_rn(const void *pa, const void *pb)
{
	const out_t *x = pa, *y = pb;

	if (x->num != y->num)
		return x->num > y->num ? -1 : 1;
	return -bytes_cmp(x->p, x->len, y->p, y->len);
}

/* sort -k2: field 2 to the end of the line as bytes; ties by the whole line. */
static int cmp_text(const void *pa, const void *pb)
{
	const out_t *x = pa, *y = pb;
	int c = bytes_cmp(x->p + x->key2, x->len - x->key2, y->p + y->key2, y->len - y->key2);

	return c ? c : bytes_cmp(x->p, x->len, y->p, y->len);
}

int ag_awkcount_print(const ag_awkcount_t *a, ag_awk_sort_t sort, fs_buf_t *b)
{
	out_t *all = malloc((a->n ? a->n : 1) * sizeof(*all));
	fs_buf_t lines = FS_BUF_INIT;
	size_t n = 0, *off = malloc((a->n ? a->n : 1) * sizeof(*off));

	if (all == NULL || off == NULL) {
		free(all);
		free(off);
		b->err = -ENOMEM;
		return b->err;
	}
	/* The lines first (the buffer moves as it grows), then where each one is. */
	for (size_t i = 0; i <= a->mask; i++) {
		if (a->tab[i].count == 0)
			continue;
		off[n] = lines.len;
		fs_buf_add(&lines, a->tab[i].key ? a->tab[i].key : "", a->tab[i].len);
		fs_buf_printf(&lines, " %" PRIu64, a->tab[i].count);
		all[n].len = lines.len - off[n];
		n++;
	}
	for (size_t i = 0; i < n && lines.err == 0; i++) {
		all[i].p = lines.p + off[i];
		all[i].key2 = field2(all[i].p, all[i].len);
		all[i].num = sort_num(all[i].p + all[i].key2, all[i].len - all[i].key2);
	}
	if (lines.err == 0) {
		qsort(all, n, sizeof(*all), sort == AG_AWK_SORT_RN ? cmp_rn : cmp_text);
		for (size_t i = 0; i < n && b->err == 0; i++) {
			fs_buf_add(b, all[i].p, all[i].len);
			fs_buf_puts(b, "\n");
		}
	} else {
		b->err = lines.err;
	}
	fs_buf_close(&lines);
	free(all);
	free(off);
	return b->err;
}
