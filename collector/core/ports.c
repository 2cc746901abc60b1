/* SPDX-License-Identifier: MIT */
/*
 * ports.c: the state table per service (DESIGN 12) of each host's latest
 * report, as `hosts --by port` and `tiers --by port` show it.  No I/O.
 */
#include "query_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const dir_name[2] = {"inbound", "outbound"};

static const wire_port_t *dir_ports(const wire_ports_t *p, int dir, size_t *n)
{
	*n = dir ? p->n_outbound : p->n_inbound;
	return dir ? p->outbound : p->inbound;
}

/* {"port":P,"total":N,"states":{...}} */
static void json_port(fs_buf_t *b, const wire_port_t *x)
{
	uint64_t st[WIRE_NSTATES];

	col__states_u64(&x->st, st);
	fs_buf_printf(b, "{\"port\":%" PRIu32 ",\"total\":%" PRIu32 ",\"states\":", x->port,
	              wire_states_total(&x->st));
	col__json_states(b, st, false);
	fs_buf_puts(b, "}");
}

static void grid_states(grid_t *g, const uint64_t *st)
{
	grid_cell(g, "%" PRIu64, col__state_value_u64(st, COL_STATE_TOTAL));
	for (size_t s = 0; s + 1 < COL__NTABLE_STATES; s++)
		grid_cell(g, "%" PRIu64, st[col__table_states[s]]);
}

/* One row of hosts --by port: the host, a direction (or a label) and port (0: none), states. */
static void host_row(grid_t *g, const col_host_t *h, const char *stale, const char *dir,
                     uint32_t port, const wire_states_t *states)
{
	uint64_t st[WIRE_NSTATES];

	grid_cell(g, "%s", h->hostname);
	grid_cell(g, "%s", h->tier);
	grid_cell(g, "%s", stale);
	grid_cell(g, "%s", dir);
	if (port)
		grid_cell(g, "%" PRIu32, port);
	else
		grid_cell(g, "%s", "");
	col__states_u64(states, st);
	grid_states(g, st);
}

int col_hosts_ports_render(const col_host_t *hosts, size_t n, const col_qopts_t *o, fs_buf_t *b)
{
	static const char *const head[] = {"HOST", "TIER", "STALE", "DIRECTION", "PORT"};
	const col_host_t **v;
	size_t k;
	int err;

	if ((err = col__select_hosts(hosts, n, o, true, &v, &k)) < 0)
		return err;
	if (o->format == COL_FMT_JSON) {
		col__json_head(b, o);
		fs_buf_puts(b, ",\"by\":\"port\",\"hosts\":[");
		for (size_t i = 0; i < k; i++) {
			const col_host_t *h = v[i];
			uint64_t rest[WIRE_NSTATES];

			fs_buf_puts(b, i ? ",{\"hostname\":" : "{\"hostname\":");
			fs_buf_json_str(b, h->hostname);
			fs_buf_puts(b, ",\"tier\":");
			fs_buf_json_str(b, h->tier);
			fs_buf_printf(b, ",\"stale\":%s,\"ports\":{\"limit\":%" PRIu32,
			              col_host_stale(h, o->now_ms) ? "true" : "false", h->ports.limit);
			for (int dir = 0; dir < 2; dir++) {
				size_t np;
				const wire_port_t *p = dir_ports(&h->ports, dir, &np);

				fs_buf_printf(b, ",\"%s\":[", dir_name[dir]);
				for (size_t j = 0; j < np; j++) {
					fs_buf_puts(b, j ? "," : "");
					json_port(b, &p[j]);
				}
				fs_buf_puts(b, "]");
			}
			col__states_u64(&h->ports.rest, rest);
			fs_buf_puts(b, ",\"rest\":");
			col__json_states(b, rest, false);
			fs_buf_puts(b, "}}");
		}
		fs_buf_puts(b, "]}\n");
		free(v);
		return b->err;
	}

	grid_t g;

	grid_init(&g, o->format, 0x0f);
	grid_heads(&g, head, ARRAY_SIZE(head));
	grid_heads(&g, (const char *const[]){"TOTAL"}, 1);
	col__grid_state_heads(&g);
	grid_head_done(&g);
	for (size_t i = 0; i < k; i++) {
		const col_host_t *h = v[i];
		const char *stale = col_host_stale(h, o->now_ms) ? "stale" : "";

		for (int dir = 0; dir < 2; dir++) {
			size_t np;
			const wire_port_t *p = dir_ports(&h->ports, dir, &np);

			for (size_t j = 0; j < np; j++)
				host_row(&g, h, stale, dir_name[dir], p[j].port, &p[j].st);
		}
		if (h->ports.limit == 0 && h->has_report)
			host_row(&g, h, stale, "(not split)", 0, &h->states); /* an agent before ports */
		else if (wire_states_sum(&h->ports.rest))
			host_row(&g, h, stale, "(rest)", 0, &h->ports.rest);
	}
	free(v);
	return grid_render(&g, b);
}

typedef col_tier_port_t tport_t;

static int tport_cmp(const void *x, const void *y)
{
	const tport_t *a = x, *b = y;
	int c = strcmp(a->tier, b->tier);

	if (c)
		return c;
	if (a->dir != b->dir)
		return a->dir - b->dir;
	return a->port < b->port ? -1 : a->port > b->port;
}

/* Appends host h's entry (dir, port, states) to *v; -ENOMEM. */
static int tport_add(tport_t **v, size_t *n, size_t *cap, const col_host_t *h, int dir,
                     uint32_t port, const wire_states_t *st)
{
	tport_t *x;

	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		tport_t *nv = realloc(*v, c * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	x = &(*v)[(*n)++];
	*x = (tport_t){.tier = h->tier, .dir = dir, .port = port, .hosts = 1,
	               .max = wire_states_total(st), .max_host = h->hostname};
	col__states_u64(st, x->st);
	return 0;
}

/*
 * Every fresh host's entries, sorted by (tier, direction, port) and merged:
 * per port the sum over the tier's hosts that list it, state by state, and
 * the host with the most.  What a host leaves in its rest stays in the
 * tier's rest, so a tier's ports and rest add up to its state table.
 */
static int tier_ports(const col_host_t *const *v, size_t k, int64_t now_ms, tport_t **out,
                      size_t *n_out)
{
	tport_t *t = NULL;
	size_t n = 0, cap = 0, m = 0;
	int err = 0;

	for (size_t i = 0; i < k && err == 0; i++) {
		const col_host_t *h = v[i];

		if (col_host_stale(h, now_ms))
			continue;
		for (int dir = 0; dir < 2 && err == 0; dir++) {
			size_t np;
			const wire_port_t *p = dir_ports(&h->ports, dir, &np);

			for (size_t j = 0; j < np && err == 0; j++)
				err = tport_add(&t, &n, &cap, h, dir, p[j].port, &p[j].st);
		}
		if (err == 0)
			err = tport_add(&t, &n, &cap, h, 2, 0,
			                h->ports.limit ? &h->ports.rest : &h->states);
	}
	if (err < 0) {
		free(t);
		return err;
	}
	if (n)
		qsort(t, n, sizeof(*t), tport_cmp);
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && tport_cmp(&t[m - 1], &t[i]) == 0) {
			tport_t *d = &t[m - 1];

			for (int s = 0; s < WIRE_NSTATES; s++)
				d->st[s] += t[i].st[s];
			d->hosts++;
			if (t[i].max > d->max) {
				d->max = t[i].max;
				d->max_host = t[i].max_host;
			}
		} else {
			t[m++] = t[i];
		}
	}
	*out = t;
	*n_out = m;
	return 0;
}

int col_tier_ports(const col_host_t *hosts, size_t n, int64_t now_ms, col_tier_port_t **out,
                   size_t *n_out)
{
	const col_host_t **v = malloc((n ? n : 1) * sizeof(*v));
	int err;

	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = &hosts[i];
	err = tier_ports(v, n, now_ms, out, n_out);
	free(v);
	return err;
}

int col_tiers_ports_render(const col_host_t *hosts, size_t n, const col_qopts_t *o, fs_buf_t *b)
{
	static const char *const head[] = {"TIER", "DIRECTION", "PORT", "HOSTS"};
	static const char *const tail[] = {"MAX", "MAX_HOST"};
	const col_host_t **v;
	tport_t *t;
	size_t k, nt;
	int err;

	if ((err = col__select_hosts(hosts, n, o, false, &v, &k)) < 0)
		return err;
	if ((err = tier_ports(v, k, o->now_ms, &t, &nt)) < 0) {
		free(v);
		return err;
	}
	if (o->format == COL_FMT_JSON) {
		col__json_head(b, o);
		fs_buf_puts(b, ",\"by\":\"port\",\"tiers\":[");
		/* Each tier's run: its ports, then its rest (direction 2 sorts last). */
		for (size_t i = 0, run = 0; i < nt; i++) {
			const tport_t *x = &t[i];
			bool first = i == 0 || strcmp(t[i - 1].tier, x->tier) != 0;

			if (first) {
				fs_buf_puts(b, run++ ? ",{\"tier\":" : "{\"tier\":");
				fs_buf_json_str(b, x->tier);
				fs_buf_puts(b, ",\"ports\":[");
			}
			if (x->dir == 2) {
				fs_buf_puts(b, "],\"rest\":");
				col__json_states(b, x->st, false);
				fs_buf_puts(b, "}");
				continue;
			}
			fs_buf_printf(b, "%s{\"direction\":\"%s\",\"port\":%" PRIu32 ",\"hosts\":%u"
			              ",\"total\":%" PRIu64 ",\"max\":%" PRIu64 ",\"max_host\":",
			              first ? "" : ",", dir_name[x->dir], x->port, x->hosts,
			              col__state_value_u64(x->st, COL_STATE_TOTAL), x->max);
			fs_buf_json_str(b, x->max_host);
			fs_buf_puts(b, ",\"states\":");
			col__json_states(b, x->st, false);
			fs_buf_puts(b, "}");
		}
		fs_buf_puts(b, "]}\n");
		free(t);
		free(v);
		return b->err;
	}

	grid_t g;

	grid_init(&g, o->format, 0x03);
	grid_heads(&g, head, ARRAY_SIZE(head));
	grid_heads(&g, (const char *const[]){"TOTAL"}, 1);
	col__grid_state_heads(&g);
	grid_heads(&g, tail, ARRAY_SIZE(tail));
	grid_head_done(&g);
	for (size_t i = 0; i < nt; i++) {
		const tport_t *x = &t[i];

		grid_cell(&g, "%s", x->tier);
		grid_cell(&g, "%s", x->dir == 2 ? "(rest)" : dir_name[x->dir]);
		if (x->dir == 2)
			grid_cell(&g, "%s", "");
		else
			grid_cell(&g, "%" PRIu32, x->port);
		grid_cell(&g, "%u", x->hosts);
		grid_states(&g, x->st);
		grid_cell(&g, "%" PRIu64, x->max);
		grid_cell(&g, "%s", x->max_host);
	}
	free(t);
	free(v);
	return grid_render(&g, b);
}
