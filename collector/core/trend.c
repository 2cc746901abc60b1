/* SPDX-License-Identifier: MIT */
/* trend.c: a state's sum over hosts in time buckets (mean and max inside each). No I/O. */
#include "query_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TREND_MAX_BUCKETS 100000

typedef struct {
	uint64_t n, max;
	double sum;
	uint32_t hosts;
} cell_t;

typedef struct {
	uint32_t hosts;
	double mean;
	uint64_t max;
} bucket_t;

struct col_trend {
	col_qopts_t o;
	int64_t from, to;      /* [from, to), from aligned to the step */
	size_t nb;
	bucket_t *b;
	cell_t *cur;           /* the host being fed, per bucket */
	size_t *touched;       /* its buckets with data */
	size_t n_touched;
	int64_t cur_host;
	bool have_host;
};

/* A step for about 60 buckets, rounded up to one an operator reads easily. */
static int64_t default_step(int64_t since)
{
	static const int64_t steps[] = {
		10000, 30000, 60000, 300000, 900000, 1800000, 3600000, 10800000, 21600000,
		43200000, 86400000, 604800000,
	};

	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		if (since / steps[i] <= 60)
			return steps[i];
	return since / 60;
}

int col_trend_new(col_qopts_t *o, col_trend_t **out)
{
	col_trend_t *t;
	int64_t nb;

	if (o->since_ms == 0)
		o->since_ms = 3600000;
	if (o->step_ms == 0)
		o->step_ms = default_step(o->since_ms);
	if (o->since_ms > QUERY_MAX_DURATION_MS || o->step_ms > QUERY_MAX_DURATION_MS ||
	    o->now_ms < o->since_ms)
		return -EINVAL;
	nb = (o->since_ms + o->step_ms - 1) / o->step_ms + 1;
	if (nb > TREND_MAX_BUCKETS)
		return -EINVAL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	t->o = *o;
	t->from = (o->now_ms - o->since_ms) / o->step_ms * o->step_ms;
	t->nb = (size_t)((o->now_ms - t->from) / o->step_ms + 1);
	t->to = t->from + (int64_t)t->nb * o->step_ms;
	t->b = calloc(t->nb, sizeof(*t->b));
	t->cur = calloc(t->nb, sizeof(*t->cur));
	t->touched = calloc(t->nb, sizeof(*t->touched));
	if (t->b == NULL || t->cur == NULL || t->touched == NULL) {
		col_trend_free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void col_trend_free(col_trend_t *t)
{
	if (t == NULL)
		return;
	free(t->b);
	free(t->cur);
	free(t->touched);
	free(t);
}

void col_trend_window(const col_trend_t *t, int64_t *from_ms, int64_t *to_ms)
{
	*from_ms = t->from;
	*to_ms = t->to;
}

static void trend_flush(col_trend_t *t)
{
	for (size_t i = 0; i < t->n_touched; i++) {
		size_t k = t->touched[i];
		cell_t *c = &t->cur[k];

		t->b[k].hosts += c->hosts;
		t->b[k].mean += c->sum / (double)c->n;
		t->b[k].max += c->max;
		memset(c, 0, sizeof(*c));
	}
	t->n_touched = 0;
}

int col_trend_add(col_trend_t *t, int64_t host_id, int64_t t_ms, uint64_t n, double sum,
                  uint64_t max, uint32_t hosts)
{
	cell_t *c;
	size_t k;

	if (t_ms < t->from || t_ms >= t->to || n == 0)
		return 0;
	if (!t->have_host || host_id != t->cur_host) {
		trend_flush(t);
		t->cur_host = host_id;
		t->have_host = true;
	}
	k = (size_t)((t_ms - t->from) / t->o.step_ms);
	c = &t->cur[k];
	if (c->n == 0)
		t->touched[t->n_touched++] = k;
	c->n += n;
	c->sum += sum;
	if (max > c->max)
		c->max = max;
	if (hosts > c->hosts)
		c->hosts = hosts;
	return 0;
}

int col_trend_render(col_trend_t *t, const char *source, fs_buf_t *b)
{
	static const char *const head[] = {"TIME", "HOSTS", "MEAN", "MAX"};
	const col_qopts_t *o = &t->o;
	char ts[24];

	trend_flush(t);
	if (o->format == COL_FMT_JSON) {
		col__json_head(b, o);
		if (o->host) {
			fs_buf_puts(b, ",\"host\":");
			fs_buf_json_str(b, o->host);
		}
		if (o->port)
			fs_buf_printf(b, ",\"port\":%" PRIu32, o->port);
		fs_buf_printf(b, ",\"state\":\"%s\",\"since_ms\":%" PRId64 ",\"step_ms\":%" PRId64
		              ",\"from_ms\":%" PRId64 ",\"to_ms\":%" PRId64 ",\"source\":\"%s\","
		              "\"buckets\":[",
		              col_state_label(o->state), o->since_ms, o->step_ms, t->from, t->to, source);
		for (size_t i = 0; i < t->nb; i++)
			fs_buf_printf(b, "%s{\"t\":%" PRId64 ",\"hosts\":%" PRIu32 ",\"mean\":%.1f,"
			              "\"max\":%" PRIu64 "}",
			              i ? "," : "", t->from + (int64_t)i * o->step_ms, t->b[i].hosts,
			              t->b[i].mean, t->b[i].max);
		fs_buf_puts(b, "]}\n");
		return b->err;
	}

	grid_t g;

	grid_init(&g, o->format, 0x1);
	grid_heads(&g, head, ARRAY_SIZE(head));
	grid_head_done(&g);
	for (size_t i = 0; i < t->nb; i++) {
		grid_cell(&g, "%s", col_time_str(t->from + (int64_t)i * o->step_ms, ts));
		grid_cell(&g, "%" PRIu32, t->b[i].hosts);
		grid_cell(&g, "%.1f", t->b[i].mean);
		grid_cell(&g, "%" PRIu64, t->b[i].max);
	}
	return grid_render(&g, b);
}
