/* SPDX-License-Identifier: MIT */
/* report.h: the plain C form of a report, shared by the agent and the collector. */
#ifndef FLEETSTAT_REPORT_H
#define FLEETSTAT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * TCP states use the kernel's numbers, which are also the field numbers of
 * StateCounts on the wire: 1 ESTABLISHED ... 11 CLOSING.  Index 0 is unused.
 */
enum {
	WIRE_ESTABLISHED = 1, WIRE_SYN_SENT, WIRE_SYN_RECV, WIRE_FIN_WAIT1,
	WIRE_FIN_WAIT2, WIRE_TIME_WAIT, WIRE_CLOSE, WIRE_CLOSE_WAIT,
	WIRE_LAST_ACK, WIRE_LISTEN, WIRE_CLOSING,
	WIRE_NSTATES /* 12: size of a state-indexed array */
};

typedef struct {
	uint32_t n[WIRE_NSTATES];
} wire_states_t;

typedef struct {
	uint8_t len;      /* 4 or 16 */
	uint8_t b[16];    /* network byte order */
} wire_ip_t;

/* What one remote IP's ESTABLISHED connections did (DESIGN 12): counts <= its ESTABLISHED. */
typedef struct {
	uint32_t active;          /* received data within the interval */
	uint32_t unanswered;      /* never had a byte acked from our side */
	uint32_t idle;            /* no data either way for longer than the interval */
	uint64_t bytes_received;
	uint64_t bytes_acked;
} wire_activity_t;

/* Each count of a at most established: the rule every reader of activity holds it to. */
bool wire_activity_within(const wire_activity_t *a, uint32_t established);

typedef struct {
	wire_ip_t ip;
	wire_states_t st;
	bool has_act;             /* the agent read its connections' TCP info */
	wire_activity_t act;
} wire_remote_t;

typedef struct {
	wire_ip_t ip;
	uint32_t port;
	uint32_t accept_queue;
	uint32_t backlog;
} wire_listener_t;

typedef struct {
	char *name;
	uint64_t value;
} wire_counter_t;

typedef struct {
	char *name;
	char *value;
} wire_kv_t;

typedef struct {
	wire_remote_t *ips;
	size_t n_ips;
	uint32_t limit;
	uint32_t threshold_total;
	uint32_t threshold_established;
	uint32_t threshold_syn_recv;
	wire_states_t rest;
	wire_states_t excluded;
	uint32_t distinct_ips;
} wire_top_t;

#define WIRE_MAX_PORTS 1024    /* of each direction of Report.ports */

/* One service port's state table (DESIGN 12). */
typedef struct {
	uint32_t port;            /* 1..65535 */
	wire_states_t st;
} wire_port_t;

/*
 * The state table split by service: inbound by local listening port,
 * outbound by remote port, top `limit` of each by total; `rest` the other
 * ports and the sockets with no port, so inbound + outbound + rest is the
 * state table.  limit 0: not split (an agent before ports).
 */
typedef struct {
	wire_port_t *inbound;
	size_t n_inbound;
	wire_port_t *outbound;
	size_t n_outbound;
	wire_states_t rest;
	uint32_t limit;
} wire_ports_t;

#define WIRE_MAX_REQ_LIST 256  /* clients and hosts of Report.requests, each */
#define WIRE_MAX_LOG_MARKS 64
#define WIRE_REQ_NCLASS 6      /* 1xx 2xx 3xx 4xx 5xx other */
enum { WIRE_REQ_1XX, WIRE_REQ_2XX, WIRE_REQ_3XX, WIRE_REQ_4XX, WIRE_REQ_5XX, WIRE_REQ_OTHER };
#define WIRE_MAX_PATH 4096

typedef struct {
	wire_ip_t ip;
	uint64_t requests;        /* an upper bound */
	uint64_t error;           /* requests - error: a lower bound */
	uint64_t by_status[WIRE_REQ_NCLASS];
	uint64_t bytes;
	uint32_t user_agents;
	bool user_agents_capped;
} wire_req_client_t;

typedef struct {
	char *host;
	uint64_t requests, error;
} wire_req_host_t;

typedef struct {
	char *path;
	uint64_t dev, inode, offset;
	uint64_t tail_hash;       /* of the (up to) 64 bytes before offset; 0 with none */
} wire_log_mark_t;

/* Requests from access logs over the interval (DESIGN 12); present false: no log followed. */
typedef struct {
	bool present;
	uint64_t total;
	uint64_t by_status[WIRE_REQ_NCLASS];
	uint64_t bytes;
	uint64_t malformed;
	uint32_t limit;
	wire_req_client_t *clients;
	size_t n_clients;
	uint64_t clients_unlisted_max;
	wire_req_host_t *hosts;
	size_t n_hosts;
	uint64_t hosts_unlisted_max;
	uint32_t distinct_clients;
	wire_log_mark_t *marks;
	size_t n_marks;
} wire_requests_t;

/*
 * A report owns every array and string it points to; wire_report_close()
 * frees them (with free()) and leaves the struct zeroed.
 */
typedef struct {
	uint64_t seq;
	int64_t collected_at_ms;
	uint32_t interval_ms;
	wire_states_t states;
	wire_listener_t *listeners;
	size_t n_listeners;
	wire_top_t top;
	wire_counter_t *counters;
	size_t n_counters;
	wire_kv_t *sysctls;
	size_t n_sysctls;
	uint64_t dropped_reports;
	uint64_t collect_us;
	char *source;
	wire_ports_t ports;
	wire_requests_t requests;
} wire_report_t;

void wire_report_close(wire_report_t *r);
void wire_requests_close(wire_requests_t *q);
/* A status class's name (0..WIRE_REQ_NCLASS-1): "1xx" .. "5xx", "other"; JSON keys. */
const char *wire_req_class_name(int c);

/* netstat's name of a state (1..11), or NULL. */
const char *wire_state_name(int state);
/* The state's name in lower case ("close_wait"): column names, metric labels; NULL if none. */
const char *wire_state_key(int state);

/* The state whose netstat name is s (case-sensitive), or 0. */
int wire_state_parse(const char *s, size_t len);

/* The sockets of every state but LISTEN: what the state table counts, without wrapping. */
uint64_t wire_states_sum(const wire_states_t *s);
/*
 * The same in 32 bits, as reports are printed and stored: exact for every
 * report the collector takes (col_report_check() refuses a larger sum) and
 * every table a host can hold.
 */
uint32_t wire_states_total(const wire_states_t *s);

/* A network of either family: its address with the host bits zeroed, and its prefix length. */
typedef struct {
	wire_ip_t net;
	uint8_t bits;     /* 0..32 or 0..128 */
} wire_cidr_t;

/*
 * Parses the len bytes at s: "a.b.c.d[/n]" or "v6[/n]".  An IPv4-mapped
 * network (::ffff:a.b.c.d/96 and longer) becomes IPv4, as agents fold the
 * mapped peers of tcp6 sockets.  0 or -EINVAL.
 */
int wire_cidr_parse(const char *s, size_t len, wire_cidr_t *out);

/* Whether the address of len (4 or 16) bytes at b lies in c; the families never cross. */
bool wire_cidr_match(const wire_cidr_t *c, const uint8_t *b, size_t len);

/* Room for an address as text (INET6_ADDRSTRLEN). */
#define WIRE_IP_STRLEN 46

/* Formats ip (4 or 16 bytes, else "?") into dst (WIRE_IP_STRLEN bytes); returns dst. */
const char *wire_ip_str(const wire_ip_t *ip, char *dst);

#endif
