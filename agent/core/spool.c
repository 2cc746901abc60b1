/* SPDX-License-Identifier: MIT */
/* spool.c: the ordered index of spooled reports (see spool.h). */
#include "spool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

int ag_spool_init(ag_spool_t *sp, uint64_t max_bytes, size_t window)
{
	memset(sp, 0, sizeof(*sp));
	sp->max_bytes = max_bytes ? max_bytes : AG_SPOOL_MAX_DEFAULT;
	sp->window = window ? window : AG_SPOOL_WINDOW;
	return 0;
}

void ag_spool_close(ag_spool_t *sp)
{
	if (sp == NULL)
		return;
	for (size_t i = 0; i < sp->n; i++)
		free(sp->ents[i].mem);
	free(sp->ents);
	memset(sp, 0, sizeof(*sp));
}

/* Index of the first entry with seq >= key (n if none). */
static size_t lower_bound(const ag_spool_t *sp, uint64_t key)
{
	size_t lo = 0, hi = sp->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp->ents[mid].seq < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int add(ag_spool_t *sp, uint64_t seq, uint64_t size, uint8_t *mem)
{
	size_t i;

	if (seq == 0)
		return -EINVAL;
	i = lower_bound(sp, seq);
	if (i < sp->n && sp->ents[i].seq == seq)
		return -EEXIST;
	if (sp->n == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 64;
		ag_spool_ent_t *e;

		if (cap > SIZE_MAX / sizeof(*e) ||
		    (e = realloc(sp->ents, cap * sizeof(*e))) == NULL)
			return -ENOMEM;
		sp->ents = e;
		sp->cap = cap;
	}
	/* Reports arrive in seq order, so this is nearly always an append. */
	memmove(&sp->ents[i + 1], &sp->ents[i], (sp->n - i) * sizeof(sp->ents[0]));
	sp->ents[i].seq = seq;
	sp->ents[i].size = size;
	sp->ents[i].mem = mem;
	sp->n++;
	sp->bytes += size;
	return 0;
}

int ag_spool_add(ag_spool_t *sp, uint64_t seq, uint64_t size)
{
	return add(sp, seq, size, NULL);
}

int ag_spool_add_mem(ag_spool_t *sp, uint64_t seq, uint8_t *frame, uint64_t size)
{
	return frame == NULL ? -EINVAL : add(sp, seq, size, frame);
}

size_t ag_spool_in_memory(const ag_spool_t *sp)
{
	size_t k = 0;

	for (size_t i = 0; i < sp->n; i++)
		k += sp->ents[i].mem != NULL;
	return k;
}

static void remove_at(ag_spool_t *sp, size_t i, ag_spool_ent_t *out)
{
	if (out)
		*out = sp->ents[i];
	else
		free(sp->ents[i].mem);
	sp->bytes -= sp->ents[i].size;
	memmove(&sp->ents[i], &sp->ents[i + 1], (sp->n - i - 1) * sizeof(sp->ents[0]));
	sp->n--;
}

int ag_spool_remove(ag_spool_t *sp, uint64_t seq)
{
	size_t i = lower_bound(sp, seq);

	if (i == sp->n || sp->ents[i].seq != seq)
		return 0;
	remove_at(sp, i, NULL);
	return 1;
}

int ag_spool_pop_excess(ag_spool_t *sp, ag_spool_ent_t *out)
{
	if (sp->n <= 1 || sp->bytes <= sp->max_bytes)
		return 0;
	remove_at(sp, 0, out);
	return 1;
}

int ag_spool_pop_acked(ag_spool_t *sp, uint64_t upto, ag_spool_ent_t *out)
{
	if (sp->n == 0 || sp->ents[0].seq > upto)
		return 0;
	/*
	 * What the collector has counts as sent on this connection, so that
	 * after a Welcome the next send is the first report above last_seq.
	 */
	if (sp->sent < sp->ents[0].seq)
		sp->sent = sp->ents[0].seq;
	remove_at(sp, 0, out);
	return 1;
}

size_t ag_spool_in_flight(const ag_spool_t *sp)
{
	/* Acked entries are gone, so every entry up to `sent` is in flight. */
	return lower_bound(sp, sp->sent == UINT64_MAX ? sp->sent : sp->sent + 1);
}

int ag_spool_next(ag_spool_t *sp, ag_spool_ent_t *out)
{
	size_t i = ag_spool_in_flight(sp);

	if (i >= sp->window || i == sp->n)
		return 0;
	*out = sp->ents[i];
	sp->sent = out->seq;
	return 1;
}

void ag_spool_rewind(ag_spool_t *sp)
{
	sp->sent = 0;
}

uint64_t ag_spool_last(const ag_spool_t *sp)
{
	return sp->n ? sp->ents[sp->n - 1].seq : 0;
}

void ag_spool_name(uint64_t seq, int tmp, char *buf)
{
	snprintf(buf, AG_SPOOL_NAME_LEN, "%0*" PRIu64 "%s", AG_SPOOL_DIGITS, seq,
	         tmp ? ".tmp" : "");
}

int ag_spool_parse_name(const char *name, uint64_t *seq)
{
	size_t len = strlen(name), digits = strspn(name, "0123456789");
	uint64_t v = 0;

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return AG_SPOOL_DOT;
	if (digits != AG_SPOOL_DIGITS)
		return AG_SPOOL_OTHER;
	if (len == digits + 4 && strcmp(name + digits, ".tmp") == 0)
		return AG_SPOOL_TEMP;
	if (len != digits)
		return AG_SPOOL_OTHER;
	for (size_t i = 0; i < digits; i++) {
		unsigned d = (unsigned)(name[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return AG_SPOOL_OTHER; /* 20 digits can exceed 2^64 - 1 */
		v = v * 10 + d;
	}
	if (v == 0)
		return AG_SPOOL_OTHER;
	*seq = v;
	return AG_SPOOL_FILE;
}
