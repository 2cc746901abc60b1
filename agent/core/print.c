/* SPDX-License-Identifier: MIT */
/* print.c: awk, json and table renderings of a report. */
#include "print.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

int ag_print_awk(const wire_report_t *r, fs_buf_t *b)
{
	int order[WIRE_NSTATES], n = 0;

	for (int s = 1; s < WIRE_NSTATES; s++)
		if (s != WIRE_LISTEN && r->states.n[s])
			order[n++] = s;
	/* Insertion sort: at most ten states. */
	for (int i = 1; i < n; i++) {
		int s = order[i], j = i;

		while (j > 0 && (r->states.n[order[j - 1]] < r->states.n[s] ||
		                 (r->states.n[order[j - 1]] == r->states.n[s] &&
		                  strcmp(wire_state_name(order[j - 1]), wire_state_name(s)) > 0))) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = s;
	}
	for (int i = 0; i < n; i++)
		fs_buf_printf(b, "%s %" PRIu32 "\n", wire_state_name(order[i]),
		              r->states.n[order[i]]);
	return b->err;
}

/* {"NAME":n,...}; all states when `all`, else the nonzero ones. */
static void json_states(fs_buf_t *b, const wire_states_t *s, int all)
{
	const char *sep = "";

	fs_buf_puts(b, "{");
	for (int i = 1; i < WIRE_NSTATES; i++) {
		if (i == WIRE_LISTEN || (!all && s->n[i] == 0))
			continue;
		fs_buf_printf(b, "%s\"%s\":%" PRIu32, sep, wire_state_name(i), s->n[i]);
		sep = ",";
	}
	fs_buf_puts(b, "}");
}

/* ,"NAME":[{"port":P,"total":N,"states":{...}},...] */
static void json_ports(fs_buf_t *b, const char *name, const wire_port_t *v, size_t n)
{
	fs_buf_printf(b, ",\"%s\":[", name);
	for (size_t i = 0; i < n; i++) {
		fs_buf_printf(b, "%s{\"port\":%" PRIu32 ",\"total\":%" PRIu32 ",\"states\":",
		              i ? "," : "", v[i].port, wire_states_total(&v[i].st));
		json_states(b, &v[i].st, 0);
		fs_buf_puts(b, "}");
	}
	fs_buf_puts(b, "]");
}

int ag_print_json(const wire_report_t *r, const char *host, const char *tier,
                  fs_buf_t *b)
{
	char ip[INET6_ADDRSTRLEN];

	fs_buf_puts(b, "{\"host\":");
	fs_buf_json_str(b, host ? host : "");
	fs_buf_puts(b, ",\"tier\":");
	fs_buf_json_str(b, tier ? tier : "");
	fs_buf_printf(b, ",\"collected_at_ms\":%" PRId64 ",\"source\":", r->collected_at_ms);
	fs_buf_json_str(b, r->source ? r->source : "");
	fs_buf_printf(b, ",\"collect_us\":%" PRIu64 ",\"states\":", r->collect_us);
	json_states(b, &r->states, 1);

	fs_buf_puts(b, ",\"listeners\":[");
	for (size_t i = 0; i < r->n_listeners; i++) {
		const wire_listener_t *l = &r->listeners[i];

		fs_buf_printf(b, "%s{\"ip\":\"%s\",\"port\":%" PRIu32
		              ",\"accept_queue\":%" PRIu32 ",\"backlog\":%" PRIu32 "}",
		              i ? "," : "", wire_ip_str(&l->ip, ip), l->port,
		              l->accept_queue, l->backlog);
	}
	fs_buf_printf(b, "],\"top\":{\"limit\":%" PRIu32 ",\"thresholds\":{\"total\":%" PRIu32
	              ",\"established\":%" PRIu32 ",\"syn_recv\":%" PRIu32 "},\"ips\":[",
	              r->top.limit, r->top.threshold_total,
	              r->top.threshold_established, r->top.threshold_syn_recv);
	for (size_t i = 0; i < r->top.n_ips; i++) {
		const wire_remote_t *e = &r->top.ips[i];

		fs_buf_printf(b, "%s{\"ip\":\"%s\",\"total\":%" PRIu32 ",\"states\":",
		              i ? "," : "", wire_ip_str(&e->ip, ip), wire_states_total(&e->st));
		json_states(b, &e->st, 0);
		if (e->has_act)
			fs_buf_printf(b, ",\"activity\":{\"active\":%" PRIu32 ",\"unanswered\":%" PRIu32
			              ",\"idle\":%" PRIu32 ",\"bytes_received\":%" PRIu64
			              ",\"bytes_acked\":%" PRIu64 "}",
			              e->act.active, e->act.unanswered, e->act.idle,
			              e->act.bytes_received, e->act.bytes_acked);
		fs_buf_puts(b, "}");
	}
	fs_buf_puts(b, "],\"rest\":");
	json_states(b, &r->top.rest, 0);
	fs_buf_puts(b, ",\"excluded\":");
	json_states(b, &r->top.excluded, 0);
	fs_buf_printf(b, ",\"distinct_ips\":%" PRIu32 "},\"ports\":{\"limit\":%" PRIu32,
	              r->top.distinct_ips, r->ports.limit);
	json_ports(b, "inbound", r->ports.inbound, r->ports.n_inbound);
	json_ports(b, "outbound", r->ports.outbound, r->ports.n_outbound);
	fs_buf_puts(b, ",\"rest\":");
	json_states(b, &r->ports.rest, 0);
	fs_buf_puts(b, "},\"counters\":{");
	for (size_t i = 0; i < r->n_counters; i++) {
		fs_buf_puts(b, i ? "," : "");
		fs_buf_json_str(b, r->counters[i].name);
		fs_buf_printf(b, ":%" PRIu64, r->counters[i].value);
	}
	fs_buf_puts(b, "},\"sysctls\":{");
	for (size_t i = 0; i < r->n_sysctls; i++) {
		fs_buf_puts(b, i ? "," : "");
		fs_buf_json_str(b, r->sysctls[i].name);
		fs_buf_puts(b, ":");
		fs_buf_json_str(b, r->sysctls[i].value);
	}
	fs_buf_puts(b, "}}\n");
	return b->err;
}

/* Short column headings for the top-IP table, by state. */
static const char *const short_name[WIRE_NSTATES] = {
	[WIRE_ESTABLISHED] = "ESTAB", [WIRE_SYN_SENT] = "SYN_SENT",
	[WIRE_SYN_RECV] = "SYN_RECV", [WIRE_FIN_WAIT1] = "FIN_W1",
	[WIRE_FIN_WAIT2] = "FIN_W2", [WIRE_TIME_WAIT] = "TIME_W",
	[WIRE_CLOSE] = "CLOSE", [WIRE_CLOSE_WAIT] = "CLOSE_W",
	[WIRE_LAST_ACK] = "LAST_ACK", [WIRE_CLOSING] = "CLOSING",
};

static void table_row(fs_buf_t *b, const char *label, const wire_states_t *st,
                      const int *cols, int ncols)
{
	fs_buf_printf(b, "%-40s %8" PRIu32, label, wire_states_total(st));
	for (int c = 0; c < ncols; c++)
		fs_buf_printf(b, " %8" PRIu32, st->n[cols[c]]);
}

/* The activity columns of a listed IP: blank when its TCP info was not read. */
static void act_cols(fs_buf_t *b, const wire_remote_t *e)
{
	if (e == NULL || !e->has_act) {
		fs_buf_puts(b, "\n");
		return;
	}
	fs_buf_printf(b, " %8" PRIu32 " %8" PRIu32 " %8" PRIu32 "\n",
	              e->act.active, e->act.unanswered, e->act.idle);
}

static uint64_t counter(const wire_report_t *r, const char *name)
{
	for (size_t i = 0; i < r->n_counters; i++)
		if (strcmp(r->counters[i].name, name) == 0)
			return r->counters[i].value;
	return 0;
}

int ag_print_table(const wire_report_t *r, const char *host, const char *tier,
                   fs_buf_t *b)
{
	char ip[INET6_ADDRSTRLEN], label[INET6_ADDRSTRLEN + 16];
	uint32_t total = wire_states_total(&r->states);
	int cols[WIRE_NSTATES], ncols = 0;
	bool any_act = false;

	fs_buf_printf(b, "%s%s%s  %" PRIu32 " TCP sockets (LISTEN aside), %zu listeners"
	              "  [%s, %.1f ms]\n\n",
	              host ? host : "", tier && *tier ? "  tier " : "", tier ? tier : "",
	              total, r->n_listeners, r->source ? r->source : "?",
	              (double)r->collect_us / 1000.0);

	fs_buf_printf(b, "%-12s %9s %6s\n", "STATE", "COUNT", "SHARE");
	for (int s = 1; s < WIRE_NSTATES; s++) {
		if (s == WIRE_LISTEN)
			continue;
		if (r->states.n[s])
			cols[ncols++] = s;
		fs_buf_printf(b, "%-12s %9" PRIu32 " %5.1f%%\n", wire_state_name(s),
		              r->states.n[s],
		              total ? 100.0 * r->states.n[s] / total : 0.0);
	}
	fs_buf_printf(b, "%-12s %9" PRIu32 "\n", "total", total);

	if (r->n_listeners) {
		fs_buf_printf(b, "\n%-46s %12s %8s\n", "LISTENER", "ACCEPT_QUEUE", "BACKLOG");
		for (size_t i = 0; i < r->n_listeners; i++) {
			const wire_listener_t *l = &r->listeners[i];

			wire_ip_str(&l->ip, ip);
			snprintf(label, sizeof(label), l->ip.len == 16 ? "[%s]:%" PRIu32 : "%s:%" PRIu32,
			         ip, l->port);
			fs_buf_printf(b, "%-46s %12" PRIu32 " %8" PRIu32 "%s\n",
			              label, l->accept_queue, l->backlog,
			              l->backlog && l->accept_queue >= l->backlog ? "  FULL" : "");
		}
	}

	fs_buf_printf(b, "\nTOP REMOTE IPs (top %" PRIu32 " by total, ESTABLISHED and SYN_RECV;"
	              " %" PRIu32 " distinct)\n%-40s %8s", r->top.limit,
	              r->top.distinct_ips, "REMOTE IP", "TOTAL");
	for (int c = 0; c < ncols; c++)
		fs_buf_printf(b, " %8s", short_name[cols[c]]);
	for (size_t i = 0; i < r->top.n_ips; i++)
		any_act |= r->top.ips[i].has_act;
	/* Of the ESTABLISHED: data in within the interval, never answered, silent both ways. */
	fs_buf_puts(b, any_act ? "   ACTIVE UNANSWER     IDLE\n" : "\n");
	for (size_t i = 0; i < r->top.n_ips; i++) {
		table_row(b, wire_ip_str(&r->top.ips[i].ip, ip), &r->top.ips[i].st, cols, ncols);
		act_cols(b, &r->top.ips[i]);
	}
	table_row(b, "(rest)", &r->top.rest, cols, ncols);
	act_cols(b, NULL);
	table_row(b, "(excluded: loopback, --exclude)", &r->top.excluded, cols, ncols);
	act_cols(b, NULL);
	fs_buf_printf(b, "an IP not listed has at most %" PRIu32 " sockets, %" PRIu32
	              " ESTABLISHED, %" PRIu32 " SYN_RECV\n",
	              r->top.threshold_total, r->top.threshold_established,
	              r->top.threshold_syn_recv);

	if (r->ports.limit) {
		fs_buf_printf(b, "\nBY SERVICE (top %" PRIu32 " ports each way)\n%-40s %8s", r->ports.limit,
		              "PORT", "TOTAL");
		for (int c = 0; c < ncols; c++)
			fs_buf_printf(b, " %8s", short_name[cols[c]]);
		fs_buf_puts(b, "\n");
		for (int dir = 0; dir < 2; dir++) {
			const wire_port_t *v = dir ? r->ports.outbound : r->ports.inbound;
			size_t n = dir ? r->ports.n_outbound : r->ports.n_inbound;

			for (size_t i = 0; i < n; i++) {
				snprintf(label, sizeof(label), "%s :%" PRIu32, dir ? "to" : "on", v[i].port);
				table_row(b, label, &v[i].st, cols, ncols);
				fs_buf_puts(b, "\n");
			}
		}
		table_row(b, "(rest)", &r->ports.rest, cols, ncols);
		fs_buf_puts(b, "\n");
	}

	if (r->n_counters)
		fs_buf_printf(b, "\nkernel: ListenOverflows %" PRIu64 "  ListenDrops %" PRIu64
		              "  SyncookiesSent %" PRIu64 "  TCPTimeWaitOverflow %" PRIu64 "\n",
		              counter(r, "TcpExt.ListenOverflows"),
		              counter(r, "TcpExt.ListenDrops"),
		              counter(r, "TcpExt.SyncookiesSent"),
		              counter(r, "TcpExt.TCPTimeWaitOverflow"));
	return b->err;
}
