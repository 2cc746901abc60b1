/* SPDX-License-Identifier: MIT */
/* wire.c: frame encoding, the incremental frame reader, validation and protobuf-c conversion. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleetstat.pb-c.h"
#include "wire.h"

typedef Fleetstat__V1__Frame pb_frame_t;
typedef Fleetstat__V1__Challenge pb_challenge_t;
typedef Fleetstat__V1__Hello pb_hello_t;
typedef Fleetstat__V1__Hello__LabelsEntry pb_label_t;
typedef Fleetstat__V1__Welcome pb_welcome_t;
typedef Fleetstat__V1__Ack pb_ack_t;
typedef Fleetstat__V1__Error pb_error_t;
typedef Fleetstat__V1__StateCounts pb_states_t;
typedef Fleetstat__V1__RemoteIp pb_remote_t;
typedef Fleetstat__V1__Activity pb_activity_t;
typedef Fleetstat__V1__PortStates pb_port_t;
typedef Fleetstat__V1__Ports pb_ports_t;
typedef Fleetstat__V1__TopRemote pb_top_t;
typedef Fleetstat__V1__Listener pb_listener_t;
typedef Fleetstat__V1__Report pb_report_t;
typedef Fleetstat__V1__Requests pb_requests_t;
typedef Fleetstat__V1__ClientRequests pb_client_t;
typedef Fleetstat__V1__HostRequests pb_host_t;
typedef Fleetstat__V1__LogMark pb_mark_t;
typedef Fleetstat__V1__Report__CountersEntry pb_counter_t;
typedef Fleetstat__V1__Report__SysctlsEntry pb_sysctl_t;

/* The duplicate-name check sorts names in a stack array of this size. */
#define NAMES_MAX WIRE_MAX_COUNTERS
_Static_assert(WIRE_MAX_SYSCTLS <= NAMES_MAX, "names array too small");
_Static_assert(WIRE_MAX_LABELS <= NAMES_MAX, "names array too small");

/* A reader keeps a buffer up to this size between frames and frees bigger ones. */
#define DEC_KEEP 65536
#define DEC_MIN_ALLOC 4096

/* The oneof case numbers are the wire_type_t values. */
_Static_assert((int)FLEETSTAT__V1__FRAME__BODY_CHALLENGE == WIRE_CHALLENGE, "");
_Static_assert((int)FLEETSTAT__V1__FRAME__BODY_HELLO == WIRE_HELLO, "");
_Static_assert((int)FLEETSTAT__V1__FRAME__BODY_WELCOME == WIRE_WELCOME, "");
_Static_assert((int)FLEETSTAT__V1__FRAME__BODY_REPORT == WIRE_REPORT, "");
_Static_assert((int)FLEETSTAT__V1__FRAME__BODY_ACK == WIRE_ACK, "");
_Static_assert((int)FLEETSTAT__V1__FRAME__BODY_ERROR == WIRE_ERROR, "");

/* ------------------------------------------------------------------------ */
/* Validation */

static bool utf8_text(const char *s, size_t len);

bool wire_text_valid(const char *s, size_t len)
{
	return len <= WIRE_MAX_STR && utf8_text(s, len);
}

bool wire_path_valid(const char *s)
{
	size_t len;

	if (s == NULL || s[0] != '/')
		return false;
	len = strnlen(s, WIRE_MAX_PATH + 1);
	return len <= WIRE_MAX_PATH && utf8_text(s, len);
}

/* Printable UTF-8: no C0 control, no DEL, no overlong or surrogate form. */
static bool utf8_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (len > 0 && s == NULL)
		return false;
	while (i < len) {
		unsigned c = p[i];
		uint32_t cp;
		size_t n, k;

		if (c < 0x80) {
			/* C0 controls (NUL, TAB, CR, LF, ESC ...) and DEL. */
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		/* 0xc0, 0xc1 and 0xf5.. can only start overlong or too-large forms. */
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (k = 1; k <= n; k++) {
			unsigned b = p[i + k];

			if ((b & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (b & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff)
			return false;
		if (cp >= 0xd800 && cp <= 0xdfff) /* UTF-16 surrogates */
			return false;
		if (cp >= 0x80 && cp <= 0x9f)     /* C1 controls */
			return false;
		i += n + 1;
	}
	return true;
}

/* A NUL-terminated string, NULL standing for "", of min_len..255 valid bytes. */
static bool str_valid(const char *s, size_t min_len)
{
	size_t len;

	if (s == NULL)
		return min_len == 0;
	len = strnlen(s, WIRE_MAX_STR + 1);
	return len >= min_len && wire_text_valid(s, len);
}

bool wire_tier_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= WIRE_MAX_TIER)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return i >= 1;
}

static bool ip_valid(const wire_ip_t *ip)
{
	return ip->len == 4 || ip->len == 16;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts names[0..n) in place; true when no two are equal. */
static bool names_unique(const char **names, size_t n)
{
	size_t i;

	if (n < 2)
		return true;
	qsort(names, n, sizeof(*names), cmp_name);
	for (i = 1; i < n; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			return false;
	return true;
}

/* name 1..255 bytes and value 0..255 bytes each, at most max entries, names unique. */
static int kvs_validate(const wire_kv_t *kv, size_t n, size_t max)
{
	const char *names[NAMES_MAX];
	size_t i;

	if (n > max || (n > 0 && kv == NULL))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!str_valid(kv[i].name, 1) || !str_valid(kv[i].value, 0))
			return -EINVAL;
		names[i] = kv[i].name;
	}
	return names_unique(names, n) ? 0 : -EINVAL;
}

int wire_hello_validate(const wire_hello_t *h)
{
	if (h == NULL || h->protocol < 1)
		return -EINVAL;
	if (!str_valid(h->hostname, 1) || !wire_tier_valid(h->tier) ||
	    !str_valid(h->agent_version, 0))
		return -EINVAL;
	if (h->auth_len != 0 && h->auth_len != WIRE_AUTH_LEN)
		return -EINVAL;
	return kvs_validate(h->labels, h->n_labels, WIRE_MAX_LABELS);
}

/* Each count of an IP's activity describes some of its ESTABLISHED connections. */
static bool activity_valid(const wire_remote_t *e)
{
	return !e->has_act || wire_activity_within(&e->act, e->st.n[WIRE_ESTABLISHED]);
}

/* Ports 1..65535, each once in its direction, at most WIRE_MAX_PORTS and `limit` of them. */
static int port_list_valid(const wire_port_t *v, size_t n, uint32_t limit)
{
	uint8_t seen[65536 / 8];

	if (n > WIRE_MAX_PORTS || n > limit || (n > 0 && v == NULL))
		return -EINVAL;
	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < n; i++) {
		uint32_t p = v[i].port;

		if (p == 0 || p > 65535 || (seen[p >> 3] & (1u << (p & 7))))
			return -EINVAL;
		seen[p >> 3] |= (uint8_t)(1u << (p & 7));
	}
	return 0;
}

/* The lists are valid and, split at all, add up with rest to the state table. */
static int ports_validate(const wire_ports_t *p, const wire_states_t *table)
{
	if (port_list_valid(p->inbound, p->n_inbound, p->limit) < 0 ||
	    port_list_valid(p->outbound, p->n_outbound, p->limit) < 0)
		return -EINVAL;
	if (p->limit == 0)
		return wire_states_sum(&p->rest) == 0 ? 0 : -EINVAL;
	for (int s = WIRE_ESTABLISHED; s < WIRE_NSTATES; s++) {
		uint64_t t = p->rest.n[s];

		for (size_t i = 0; i < p->n_inbound; i++)
			t += p->inbound[i].st.n[s];
		for (size_t i = 0; i < p->n_outbound; i++)
			t += p->outbound[i].st.n[s];
		if (t != (s == WIRE_LISTEN ? 0 : table->n[s]))
			return -EINVAL;
	}
	return 0;
}

static uint64_t sum6(const uint64_t *v)
{
	uint64_t t = 0;

	for (int i = 0; i < WIRE_REQ_NCLASS; i++)
		t += v[i];
	return t;
}

/*
 * The counts hang together: classes add up; each listed client or host
 * made at most the total and is no lighter than the bound of those left
 * out; what the clients surely made adds up to at most the total.
 */
static int requests_validate(const wire_requests_t *q)
{
	uint64_t sure = 0;

	if (!q->present)
		return q->n_clients || q->n_hosts || q->n_marks ? -EINVAL : 0;
	if (q->limit > WIRE_MAX_REQ_LIST || q->n_clients > q->limit || q->n_hosts > q->limit ||
	    q->n_marks > WIRE_MAX_LOG_MARKS || sum6(q->by_status) != q->total ||
	    (q->n_clients && !q->clients) || (q->n_hosts && !q->hosts) || (q->n_marks && !q->marks))
		return -EINVAL;
	for (size_t i = 0; i < q->n_clients; i++) {
		const wire_req_client_t *c = &q->clients[i];

		if (!ip_valid(&c->ip) || c->requests > q->total || c->error > c->requests ||
		    sum6(c->by_status) > c->requests || c->user_agents > c->requests ||
		    c->requests < q->clients_unlisted_max)
			return -EINVAL;
		sure += c->requests - c->error;
		/* Each once: a list is of distinct clients (a merge adds what each report says). */
		for (size_t k = 0; k < i; k++)
			if (q->clients[k].ip.len == c->ip.len &&
			    memcmp(q->clients[k].ip.b, c->ip.b, c->ip.len) == 0)
				return -EINVAL;
	}
	if (sure > q->total)
		return -EINVAL;
	for (size_t i = 0; i < q->n_hosts; i++) {
		const wire_req_host_t *h = &q->hosts[i];

		if (!str_valid(h->host, 1) || h->requests > q->total || h->error > h->requests ||
		    h->requests < q->hosts_unlisted_max)
			return -EINVAL;
		for (size_t k = 0; k < i; k++)
			if (strcmp(q->hosts[k].host, h->host) == 0)
				return -EINVAL;
	}
	for (size_t i = 0; i < q->n_marks; i++) {
		if (!wire_path_valid(q->marks[i].path))
			return -EINVAL;
	}
	return 0;
}

int wire_report_validate(const wire_report_t *r)
{
	const char *names[NAMES_MAX];
	size_t i;
	int err;

	if (r == NULL || r->seq < 1)
		return -EINVAL;
	if (!str_valid(r->source, 0))
		return -EINVAL;

	if (r->n_listeners > WIRE_MAX_LISTENERS ||
	    (r->n_listeners > 0 && r->listeners == NULL))
		return -EINVAL;
	for (i = 0; i < r->n_listeners; i++)
		if (!ip_valid(&r->listeners[i].ip) || r->listeners[i].port > 65535)
			return -EINVAL;

	if (r->top.n_ips > WIRE_MAX_TOP_IPS ||
	    (r->top.n_ips > 0 && r->top.ips == NULL))
		return -EINVAL;
	for (i = 0; i < r->top.n_ips; i++)
		if (!ip_valid(&r->top.ips[i].ip) || !activity_valid(&r->top.ips[i]))
			return -EINVAL;

	if ((err = ports_validate(&r->ports, &r->states)) < 0)
		return err;
	if ((err = requests_validate(&r->requests)) < 0)
		return err;

	if (r->n_counters > WIRE_MAX_COUNTERS ||
	    (r->n_counters > 0 && r->counters == NULL))
		return -EINVAL;
	for (i = 0; i < r->n_counters; i++) {
		if (!str_valid(r->counters[i].name, 1))
			return -EINVAL;
		names[i] = r->counters[i].name;
	}
	if (!names_unique(names, r->n_counters))
		return -EINVAL;

	if ((err = kvs_validate(r->sysctls, r->n_sysctls, WIRE_MAX_SYSCTLS)) < 0)
		return err;
	return 0;
}

int wire_frame_validate(const wire_frame_t *f)
{
	if (f == NULL)
		return -EINVAL;
	switch (f->type) {
	case WIRE_CHALLENGE:
		return f->challenge.protocol >= 1 ? 0 : -EINVAL;
	case WIRE_HELLO:
		return wire_hello_validate(&f->hello);
	case WIRE_WELCOME:
		return f->welcome.protocol >= 1 ? 0 : -EINVAL;
	case WIRE_REPORT:
		return wire_report_validate(&f->report);
	case WIRE_ACK:
		/* Reports start at seq 1, so an ack of 0 acknowledges nothing. */
		return f->ack.seq >= 1 ? 0 : -EINVAL;
	case WIRE_ERROR:
		/* Any code: a newer peer may know more of them. */
		return str_valid(f->error.message, 0) ? 0 : -EINVAL;
	case WIRE_NONE:
		break;
	}
	return -EINVAL;
}

/* ------------------------------------------------------------------------ */
/* Lifetime */

void wire_hello_close(wire_hello_t *h)
{
	size_t i;

	if (h == NULL)
		return;
	free(h->hostname);
	free(h->tier);
	free(h->agent_version);
	for (i = 0; i < h->n_labels; i++) {
		free(h->labels[i].name);
		free(h->labels[i].value);
	}
	free(h->labels);
	memset(h, 0, sizeof(*h));
}

void wire_frame_close(wire_frame_t *f)
{
	if (f == NULL)
		return;
	switch (f->type) {
	case WIRE_HELLO:
		wire_hello_close(&f->hello);
		break;
	case WIRE_REPORT:
		wire_report_close(&f->report);
		break;
	case WIRE_ERROR:
		free(f->error.message);
		break;
	case WIRE_NONE:
	case WIRE_CHALLENGE:
	case WIRE_WELCOME:
	case WIRE_ACK:
		break;
	}
	memset(f, 0, sizeof(*f));
}

/* ------------------------------------------------------------------------ */
/* protobuf-c -> plain C (decoding) */

/*
 * Strings come from protobuf-c NUL-terminated, and scan_strings() has made
 * sure that there was no NUL inside.
 */
static int dup_str(const char *s, char **out)
{
	*out = strdup(s != NULL ? s : "");
	return *out != NULL ? 0 : -ENOMEM;
}

static void states_from_pb(const pb_states_t *m, wire_states_t *st)
{
	memset(st, 0, sizeof(*st));
	if (m == NULL)
		return;
	st->n[WIRE_ESTABLISHED] = m->established;
	st->n[WIRE_SYN_SENT] = m->syn_sent;
	st->n[WIRE_SYN_RECV] = m->syn_recv;
	st->n[WIRE_FIN_WAIT1] = m->fin_wait1;
	st->n[WIRE_FIN_WAIT2] = m->fin_wait2;
	st->n[WIRE_TIME_WAIT] = m->time_wait;
	st->n[WIRE_CLOSE] = m->close;
	st->n[WIRE_CLOSE_WAIT] = m->close_wait;
	st->n[WIRE_LAST_ACK] = m->last_ack;
	st->n[WIRE_LISTEN] = m->listen;
	st->n[WIRE_CLOSING] = m->closing;
}

static int ip_from_pb(const ProtobufCBinaryData *b, wire_ip_t *ip)
{
	if (b->len != 4 && b->len != 16)
		return -EINVAL;
	memset(ip, 0, sizeof(*ip));
	ip->len = (uint8_t)b->len;
	memcpy(ip->b, b->data, b->len);
	return 0;
}

/*
 * Allocates n zeroed elements, or nothing for n == 0.  Callers have checked
 * n against a WIRE_MAX_* cap, so n * size cannot overflow.
 */
static int alloc_array(size_t n, size_t size, void **out)
{
	*out = NULL;
	if (n == 0)
		return 0;
	*out = calloc(n, size);
	return *out != NULL ? 0 : -ENOMEM;
}

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	unsigned shift;

	for (shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		x |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*v = x;
			return 0;
		}
	}
	return -EPROTO;
}

/*
 * protobuf-c stores a string NUL-terminated and so silently cuts it at an
 * embedded NUL: "web\0evil" would arrive as "web".  This walks the raw bytes
 * of a message with its descriptor, recursing into submessages (map entries
 * included), and refuses a NUL anywhere in a string field.  It runs on bytes
 * protobuf-c has already accepted, but checks every bound anyway.
 */
static int scan_strings(const ProtobufCMessageDescriptor *desc,
			const uint8_t *p, size_t len, int depth)
{
	const uint8_t *end = p + len;
	uint64_t key, n;
	int err;

	if (depth > 8) /* the schema nests 4 deep */
		return -EPROTO;
	while (p < end) {
		if (read_varint(&p, end, &key) < 0)
			return -EPROTO;
		switch (key & 7) {
		case PROTOBUF_C_WIRE_TYPE_VARINT:
			if (read_varint(&p, end, &n) < 0)
				return -EPROTO;
			break;
		case PROTOBUF_C_WIRE_TYPE_64BIT:
			if (end - p < 8)
				return -EPROTO;
			p += 8;
			break;
		case PROTOBUF_C_WIRE_TYPE_32BIT:
			if (end - p < 4)
				return -EPROTO;
			p += 4;
			break;
		case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED: {
			const ProtobufCFieldDescriptor *fd = NULL;

			if (read_varint(&p, end, &n) < 0 ||
			    n > (uint64_t)(end - p))
				return -EPROTO;
			if ((key >> 3) <= UINT32_MAX)
				fd = protobuf_c_message_descriptor_get_field(
					desc, (unsigned)(key >> 3));
			if (fd != NULL && fd->type == PROTOBUF_C_TYPE_STRING &&
			    memchr(p, 0, (size_t)n) != NULL)
				return -EINVAL;
			if (fd != NULL && fd->type == PROTOBUF_C_TYPE_MESSAGE &&
			    (err = scan_strings(fd->descriptor, p, (size_t)n,
						depth + 1)) < 0)
				return err;
			p += n;
			break;
		}
		default:
			return -EPROTO; /* groups, which protobuf-c refuses too */
		}
	}
	return 0;
}

/* On error h holds whatever was converted; the caller closes it. */
static int hello_from_pb(const pb_hello_t *m, wire_hello_t *h)
{
	size_t i;
	int err;

	h->protocol = m->protocol;
	if (m->agent_id.len != WIRE_AGENT_ID_LEN)
		return -EINVAL;
	memcpy(h->agent_id, m->agent_id.data, WIRE_AGENT_ID_LEN);
	if (m->auth.len != 0 && m->auth.len != WIRE_AUTH_LEN)
		return -EINVAL;
	h->auth_len = m->auth.len;
	if (m->auth.len > 0)
		memcpy(h->auth, m->auth.data, m->auth.len);
	if (m->n_labels > WIRE_MAX_LABELS)
		return -EINVAL;

	if ((err = dup_str(m->hostname, &h->hostname)) < 0 ||
	    (err = dup_str(m->tier, &h->tier)) < 0 ||
	    (err = dup_str(m->agent_version, &h->agent_version)) < 0)
		return err;
	if ((err = alloc_array(m->n_labels, sizeof(*h->labels),
			       (void **)&h->labels)) < 0)
		return err;
	for (i = 0; i < m->n_labels; i++) {
		/* Count the entry first so that close frees a half-built one. */
		h->n_labels = i + 1;
		if ((err = dup_str(m->labels[i]->key, &h->labels[i].name)) < 0 ||
		    (err = dup_str(m->labels[i]->value, &h->labels[i].value)) < 0)
			return err;
	}
	return 0;
}

static void activity_from_pb(const pb_activity_t *m, wire_remote_t *e)
{
	if ((e->has_act = m != NULL)) {
		e->act.active = m->active;
		e->act.unanswered = m->unanswered;
		e->act.idle = m->idle;
		e->act.bytes_received = m->bytes_received;
		e->act.bytes_acked = m->bytes_acked;
	}
}

static int port_list_from_pb(pb_port_t *const *m, size_t n, wire_port_t **out, size_t *n_out)
{
	int err;

	if (n > WIRE_MAX_PORTS)
		return -EINVAL;
	if ((err = alloc_array(n, sizeof(**out), (void **)out)) < 0)
		return err;
	*n_out = n;
	for (size_t i = 0; i < n; i++) {
		(*out)[i].port = m[i]->port;
		states_from_pb(m[i]->states, &(*out)[i].st);
	}
	return 0;
}

static int ports_from_pb(const pb_ports_t *m, wire_ports_t *p)
{
	int err;

	if (m == NULL)
		return 0;
	p->limit = m->limit;
	states_from_pb(m->rest, &p->rest);
	if ((err = port_list_from_pb(m->inbound, m->n_inbound, &p->inbound, &p->n_inbound)) < 0)
		return err;
	return port_list_from_pb(m->outbound, m->n_outbound, &p->outbound, &p->n_outbound);
}

/* Six classes, or none (all zero). */
static int classes_from_pb(const uint64_t *v, size_t n, uint64_t *out)
{
	memset(out, 0, WIRE_REQ_NCLASS * sizeof(*out));
	if (n != 0 && n != WIRE_REQ_NCLASS)
		return -EINVAL;
	if (n)
		memcpy(out, v, WIRE_REQ_NCLASS * sizeof(*out));
	return 0;
}

static int requests_from_pb(const pb_requests_t *m, wire_requests_t *q)
{
	int err;

	if (m == NULL)
		return 0;
	if (m->n_clients > WIRE_MAX_REQ_LIST || m->n_hosts > WIRE_MAX_REQ_LIST ||
	    m->n_marks > WIRE_MAX_LOG_MARKS)
		return -EINVAL;
	q->present = true;
	q->total = m->total;
	q->bytes = m->bytes;
	q->malformed = m->malformed;
	q->limit = m->limit;
	q->clients_unlisted_max = m->clients_unlisted_max;
	q->hosts_unlisted_max = m->hosts_unlisted_max;
	q->distinct_clients = m->distinct_clients;
	if ((err = classes_from_pb(m->by_status, m->n_by_status, q->by_status)) < 0 ||
	    (err = alloc_array(m->n_clients, sizeof(*q->clients), (void **)&q->clients)) < 0 ||
	    (err = alloc_array(m->n_hosts, sizeof(*q->hosts), (void **)&q->hosts)) < 0 ||
	    (err = alloc_array(m->n_marks, sizeof(*q->marks), (void **)&q->marks)) < 0)
		return err;
	q->n_clients = m->n_clients;
	for (size_t i = 0; i < m->n_clients; i++) {
		const pb_client_t *c = m->clients[i];
		wire_req_client_t *w = &q->clients[i];

		if ((err = ip_from_pb(&c->ip, &w->ip)) < 0 ||
		    (err = classes_from_pb(c->by_status, c->n_by_status, w->by_status)) < 0)
			return err;
		w->requests = c->requests;
		w->error = c->error;
		w->bytes = c->bytes;
		w->user_agents = c->user_agents;
		w->user_agents_capped = c->user_agents_capped;
	}
	for (size_t i = 0; i < m->n_hosts; i++) {
		q->n_hosts = i + 1;
		if ((err = dup_str(m->hosts[i]->host, &q->hosts[i].host)) < 0)
			return err;
		q->hosts[i].requests = m->hosts[i]->requests;
		q->hosts[i].error = m->hosts[i]->error;
	}
	for (size_t i = 0; i < m->n_marks; i++) {
		q->n_marks = i + 1;
		if ((err = dup_str(m->marks[i]->path, &q->marks[i].path)) < 0)
			return err;
		q->marks[i].dev = m->marks[i]->dev;
		q->marks[i].inode = m->marks[i]->inode;
		q->marks[i].offset = m->marks[i]->offset;
		q->marks[i].tail_hash = m->marks[i]->tail_hash;
	}
	return 0;
}

/* On error r holds whatever was converted; the caller closes it. */
static int report_from_pb(const pb_report_t *m, wire_report_t *r)
{
	const pb_top_t *top = m->top;
	size_t n_ips = top != NULL ? top->n_ips : 0;
	size_t i;
	int err;

	/* Refuse oversized arrays before allocating for them. */
	if (m->n_listeners > WIRE_MAX_LISTENERS || n_ips > WIRE_MAX_TOP_IPS ||
	    m->n_counters > WIRE_MAX_COUNTERS || m->n_sysctls > WIRE_MAX_SYSCTLS)
		return -EINVAL;

	r->seq = m->seq;
	r->collected_at_ms = m->collected_at_ms;
	r->interval_ms = m->interval_ms;
	states_from_pb(m->states, &r->states);
	r->dropped_reports = m->dropped_reports;
	r->collect_us = m->collect_us;
	if ((err = dup_str(m->source, &r->source)) < 0)
		return err;

	if ((err = alloc_array(m->n_listeners, sizeof(*r->listeners),
			       (void **)&r->listeners)) < 0)
		return err;
	r->n_listeners = m->n_listeners;
	for (i = 0; i < m->n_listeners; i++) {
		const pb_listener_t *l = m->listeners[i];

		if ((err = ip_from_pb(&l->ip, &r->listeners[i].ip)) < 0)
			return err;
		r->listeners[i].port = l->port;
		r->listeners[i].accept_queue = l->accept_queue;
		r->listeners[i].backlog = l->backlog;
	}

	if (top != NULL) {
		r->top.limit = top->limit;
		r->top.threshold_total = top->threshold_total;
		r->top.threshold_established = top->threshold_established;
		r->top.threshold_syn_recv = top->threshold_syn_recv;
		states_from_pb(top->rest, &r->top.rest);
		states_from_pb(top->excluded, &r->top.excluded);
		r->top.distinct_ips = top->distinct_ips;
		if ((err = alloc_array(n_ips, sizeof(*r->top.ips),
				       (void **)&r->top.ips)) < 0)
			return err;
		r->top.n_ips = n_ips;
		for (i = 0; i < n_ips; i++) {
			if ((err = ip_from_pb(&top->ips[i]->ip,
					      &r->top.ips[i].ip)) < 0)
				return err;
			states_from_pb(top->ips[i]->states, &r->top.ips[i].st);
			activity_from_pb(top->ips[i]->activity, &r->top.ips[i]);
		}
	}

	if ((err = ports_from_pb(m->ports, &r->ports)) < 0 ||
	    (err = requests_from_pb(m->requests, &r->requests)) < 0)
		return err;

	if ((err = alloc_array(m->n_counters, sizeof(*r->counters),
			       (void **)&r->counters)) < 0)
		return err;
	for (i = 0; i < m->n_counters; i++) {
		r->n_counters = i + 1;
		if ((err = dup_str(m->counters[i]->key, &r->counters[i].name)) < 0)
			return err;
		r->counters[i].value = m->counters[i]->value;
	}

	if ((err = alloc_array(m->n_sysctls, sizeof(*r->sysctls),
			       (void **)&r->sysctls)) < 0)
		return err;
	for (i = 0; i < m->n_sysctls; i++) {
		r->n_sysctls = i + 1;
		if ((err = dup_str(m->sysctls[i]->key, &r->sysctls[i].name)) < 0 ||
		    (err = dup_str(m->sysctls[i]->value, &r->sysctls[i].value)) < 0)
			return err;
	}
	return 0;
}

/* On error f holds whatever was converted; the caller closes it. */
static int frame_from_pb(const pb_frame_t *m, wire_frame_t *f)
{
	switch (m->body_case) {
	case FLEETSTAT__V1__FRAME__BODY_CHALLENGE:
		if (m->challenge == NULL)
			return -EPROTO;
		f->type = WIRE_CHALLENGE;
		f->challenge.protocol = m->challenge->protocol;
		if (m->challenge->nonce.len != WIRE_NONCE_LEN)
			return -EINVAL;
		memcpy(f->challenge.nonce, m->challenge->nonce.data, WIRE_NONCE_LEN);
		return 0;
	case FLEETSTAT__V1__FRAME__BODY_HELLO:
		if (m->hello == NULL)
			return -EPROTO;
		f->type = WIRE_HELLO;
		return hello_from_pb(m->hello, &f->hello);
	case FLEETSTAT__V1__FRAME__BODY_WELCOME:
		if (m->welcome == NULL)
			return -EPROTO;
		f->type = WIRE_WELCOME;
		f->welcome.protocol = m->welcome->protocol;
		f->welcome.last_seq = m->welcome->last_seq;
		return 0;
	case FLEETSTAT__V1__FRAME__BODY_REPORT:
		if (m->report == NULL)
			return -EPROTO;
		f->type = WIRE_REPORT;
		return report_from_pb(m->report, &f->report);
	case FLEETSTAT__V1__FRAME__BODY_ACK:
		if (m->ack == NULL)
			return -EPROTO;
		f->type = WIRE_ACK;
		f->ack.seq = m->ack->seq;
		return 0;
	case FLEETSTAT__V1__FRAME__BODY_ERROR:
		if (m->error == NULL)
			return -EPROTO;
		f->type = WIRE_ERROR;
		f->error.code = (int32_t)m->error->code;
		return dup_str(m->error->message, &f->error.message);
	default:
		/* No body, or one from a newer protocol (an unknown field). */
		return -EPROTO;
	}
}

int wire_frame_decode(const uint8_t *body, size_t len, wire_frame_t *out)
{
	pb_frame_t *m;
	int err;

	memset(out, 0, sizeof(*out));
	if (body == NULL || len == 0)
		return -EPROTO;
	if (len > UINT32_MAX)
		return -EMSGSIZE;
	m = fleetstat__v1__frame__unpack(NULL, len, body);
	if (m == NULL)
		return -EPROTO;
	err = scan_strings(&fleetstat__v1__frame__descriptor, body, len, 0);
	if (err == 0)
		err = frame_from_pb(m, out);
	fleetstat__v1__frame__free_unpacked(m, NULL);
	if (err == 0)
		err = wire_frame_validate(out);
	if (err < 0)
		wire_frame_close(out);
	return err;
}

/* ------------------------------------------------------------------------ */
/* plain C -> protobuf-c (encoding) */

/*
 * Everything one encoding builds.  The messages are set up with their
 * __init functions and point into the caller's frame; only the arrays below
 * are allocated, and build_free() releases them field by field.
 */
typedef struct {
	pb_frame_t frame;
	pb_challenge_t challenge;
	pb_hello_t hello;
	pb_welcome_t welcome;
	pb_ack_t ack;
	pb_error_t error;
	pb_report_t report;
	pb_states_t states;
	pb_top_t top;
	pb_states_t rest;
	pb_states_t excluded;
	pb_ports_t ports;
	pb_states_t ports_rest;
	pb_port_t *port_msgs;      /* inbound, then outbound */
	pb_port_t **pport_msgs;
	pb_states_t *port_states;

	pb_label_t *labels;
	pb_label_t **plabels;
	pb_listener_t *listeners;
	pb_listener_t **plisteners;
	pb_remote_t *ips;
	pb_remote_t **pips;
	pb_states_t *ip_states;
	pb_activity_t *ip_acts;
	pb_counter_t *counters;
	pb_counter_t **pcounters;
	pb_sysctl_t *sysctls;
	pb_sysctl_t **psysctls;
	pb_requests_t requests;
	pb_client_t *clients;
	pb_client_t **pclients;
	pb_host_t *hosts;
	pb_host_t **phosts;
	pb_mark_t *marks;
	pb_mark_t **pmarks;
} build_t;

static void build_free(build_t *b)
{
	free(b->labels);
	free(b->plabels);
	free(b->listeners);
	free(b->plisteners);
	free(b->ips);
	free(b->pips);
	free(b->ip_states);
	free(b->ip_acts);
	free(b->port_msgs);
	free(b->pport_msgs);
	free(b->port_states);
	free(b->counters);
	free(b->pcounters);
	free(b->sysctls);
	free(b->psysctls);
	free(b->clients);
	free(b->pclients);
	free(b->hosts);
	free(b->phosts);
	free(b->marks);
	free(b->pmarks);
}

/* protobuf-c wants char *; the strings are only read.  NULL encodes as "". */
static char *pb_str(char *s)
{
	return s != NULL ? s : (char *)protobuf_c_empty_string;
}

static void states_to_pb(const wire_states_t *st, pb_states_t *m)
{
	fleetstat__v1__state_counts__init(m);
	m->established = st->n[WIRE_ESTABLISHED];
	m->syn_sent = st->n[WIRE_SYN_SENT];
	m->syn_recv = st->n[WIRE_SYN_RECV];
	m->fin_wait1 = st->n[WIRE_FIN_WAIT1];
	m->fin_wait2 = st->n[WIRE_FIN_WAIT2];
	m->time_wait = st->n[WIRE_TIME_WAIT];
	m->close = st->n[WIRE_CLOSE];
	m->close_wait = st->n[WIRE_CLOSE_WAIT];
	m->last_ack = st->n[WIRE_LAST_ACK];
	m->listen = st->n[WIRE_LISTEN];
	m->closing = st->n[WIRE_CLOSING];
}

static void ip_to_pb(const wire_ip_t *ip, ProtobufCBinaryData *b)
{
	b->len = ip->len;
	b->data = (uint8_t *)ip->b;
}

/* Allocates the n structs and the n pointers to them that protobuf-c wants. */
static int alloc_msgs(size_t n, size_t size, void **msgs, void **ptrs)
{
	int err;

	if ((err = alloc_array(n, size, msgs)) < 0)
		return err;
	return alloc_array(n, sizeof(void *), ptrs);
}

static int hello_to_pb(const wire_hello_t *h, build_t *b)
{
	pb_hello_t *m = &b->hello;
	size_t i;
	int err;

	fleetstat__v1__hello__init(m);
	m->protocol = h->protocol;
	m->agent_id.len = WIRE_AGENT_ID_LEN;
	m->agent_id.data = (uint8_t *)h->agent_id;
	m->hostname = pb_str(h->hostname);
	m->tier = pb_str(h->tier);
	m->agent_version = pb_str(h->agent_version);
	m->auth.len = h->auth_len;
	m->auth.data = h->auth_len > 0 ? (uint8_t *)h->auth : NULL;

	if ((err = alloc_msgs(h->n_labels, sizeof(*b->labels),
			      (void **)&b->labels, (void **)&b->plabels)) < 0)
		return err;
	for (i = 0; i < h->n_labels; i++) {
		fleetstat__v1__hello__labels_entry__init(&b->labels[i]);
		b->labels[i].key = pb_str(h->labels[i].name);
		b->labels[i].value = pb_str(h->labels[i].value);
		b->plabels[i] = &b->labels[i];
	}
	m->n_labels = h->n_labels;
	m->labels = b->plabels;
	return 0;
}

static int ports_to_pb(const wire_ports_t *p, build_t *b)
{
	size_t n = p->n_inbound + p->n_outbound;
	int err;

	if (p->limit == 0 && n == 0)
		return 0; /* not split: no Ports at all */
	if ((err = alloc_msgs(n, sizeof(*b->port_msgs), (void **)&b->port_msgs,
			      (void **)&b->pport_msgs)) < 0 ||
	    (err = alloc_array(n, sizeof(*b->port_states), (void **)&b->port_states)) < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		const wire_port_t *x = i < p->n_inbound ? &p->inbound[i]
		                                        : &p->outbound[i - p->n_inbound];

		fleetstat__v1__port_states__init(&b->port_msgs[i]);
		b->port_msgs[i].port = x->port;
		states_to_pb(&x->st, &b->port_states[i]);
		b->port_msgs[i].states = &b->port_states[i];
		b->pport_msgs[i] = &b->port_msgs[i];
	}
	fleetstat__v1__ports__init(&b->ports);
	b->ports.limit = p->limit;
	states_to_pb(&p->rest, &b->ports_rest);
	b->ports.rest = &b->ports_rest;
	b->ports.n_inbound = p->n_inbound;
	b->ports.inbound = n ? b->pport_msgs : NULL;
	b->ports.n_outbound = p->n_outbound;
	b->ports.outbound = n ? b->pport_msgs + p->n_inbound : NULL;
	b->report.ports = &b->ports;
	return 0;
}

static int requests_to_pb(const wire_requests_t *q, build_t *b)
{
	pb_requests_t *m = &b->requests;
	int err;

	if (!q->present)
		return 0;
	if ((err = alloc_msgs(q->n_clients, sizeof(*b->clients), (void **)&b->clients,
	                      (void **)&b->pclients)) < 0 ||
	    (err = alloc_msgs(q->n_hosts, sizeof(*b->hosts), (void **)&b->hosts,
	                      (void **)&b->phosts)) < 0 ||
	    (err = alloc_msgs(q->n_marks, sizeof(*b->marks), (void **)&b->marks,
	                      (void **)&b->pmarks)) < 0)
		return err;
	fleetstat__v1__requests__init(m);
	m->total = q->total;
	m->n_by_status = WIRE_REQ_NCLASS;
	m->by_status = (uint64_t *)q->by_status;
	m->bytes = q->bytes;
	m->malformed = q->malformed;
	m->limit = q->limit;
	m->clients_unlisted_max = q->clients_unlisted_max;
	m->hosts_unlisted_max = q->hosts_unlisted_max;
	m->distinct_clients = q->distinct_clients;
	for (size_t i = 0; i < q->n_clients; i++) {
		const wire_req_client_t *c = &q->clients[i];
		pb_client_t *x = &b->clients[i];

		fleetstat__v1__client_requests__init(x);
		ip_to_pb(&c->ip, &x->ip);
		x->requests = c->requests;
		x->error = c->error;
		x->n_by_status = WIRE_REQ_NCLASS;
		x->by_status = (uint64_t *)c->by_status;
		x->bytes = c->bytes;
		x->user_agents = c->user_agents;
		x->user_agents_capped = c->user_agents_capped;
		b->pclients[i] = x;
	}
	for (size_t i = 0; i < q->n_hosts; i++) {
		fleetstat__v1__host_requests__init(&b->hosts[i]);
		b->hosts[i].host = pb_str(q->hosts[i].host);
		b->hosts[i].requests = q->hosts[i].requests;
		b->hosts[i].error = q->hosts[i].error;
		b->phosts[i] = &b->hosts[i];
	}
	for (size_t i = 0; i < q->n_marks; i++) {
		fleetstat__v1__log_mark__init(&b->marks[i]);
		b->marks[i].path = pb_str(q->marks[i].path);
		b->marks[i].dev = q->marks[i].dev;
		b->marks[i].inode = q->marks[i].inode;
		b->marks[i].offset = q->marks[i].offset;
		b->marks[i].tail_hash = q->marks[i].tail_hash;
		b->pmarks[i] = &b->marks[i];
	}
	m->n_clients = q->n_clients;
	m->clients = b->pclients;
	m->n_hosts = q->n_hosts;
	m->hosts = b->phosts;
	m->n_marks = q->n_marks;
	m->marks = b->pmarks;
	b->report.requests = m;
	return 0;
}

static int report_to_pb(const wire_report_t *r, build_t *b)
{
	pb_report_t *m = &b->report;
	size_t i;
	int err;

	fleetstat__v1__report__init(m);
	m->seq = r->seq;
	m->collected_at_ms = r->collected_at_ms;
	m->interval_ms = r->interval_ms;
	states_to_pb(&r->states, &b->states);
	m->states = &b->states;
	m->dropped_reports = r->dropped_reports;
	m->collect_us = r->collect_us;
	m->source = pb_str(r->source);

	if ((err = alloc_msgs(r->n_listeners, sizeof(*b->listeners),
			      (void **)&b->listeners,
			      (void **)&b->plisteners)) < 0)
		return err;
	for (i = 0; i < r->n_listeners; i++) {
		pb_listener_t *l = &b->listeners[i];

		fleetstat__v1__listener__init(l);
		ip_to_pb(&r->listeners[i].ip, &l->ip);
		l->port = r->listeners[i].port;
		l->accept_queue = r->listeners[i].accept_queue;
		l->backlog = r->listeners[i].backlog;
		b->plisteners[i] = l;
	}
	m->n_listeners = r->n_listeners;
	m->listeners = b->plisteners;

	fleetstat__v1__top_remote__init(&b->top);
	b->top.limit = r->top.limit;
	b->top.threshold_total = r->top.threshold_total;
	b->top.threshold_established = r->top.threshold_established;
	b->top.threshold_syn_recv = r->top.threshold_syn_recv;
	states_to_pb(&r->top.rest, &b->rest);
	states_to_pb(&r->top.excluded, &b->excluded);
	b->top.rest = &b->rest;
	b->top.excluded = &b->excluded;
	b->top.distinct_ips = r->top.distinct_ips;
	if ((err = alloc_msgs(r->top.n_ips, sizeof(*b->ips),
			      (void **)&b->ips, (void **)&b->pips)) < 0 ||
	    (err = alloc_array(r->top.n_ips, sizeof(*b->ip_states),
			       (void **)&b->ip_states)) < 0 ||
	    (err = alloc_array(r->top.n_ips, sizeof(*b->ip_acts),
			       (void **)&b->ip_acts)) < 0)
		return err;
	for (i = 0; i < r->top.n_ips; i++) {
		const wire_remote_t *e = &r->top.ips[i];

		fleetstat__v1__remote_ip__init(&b->ips[i]);
		ip_to_pb(&e->ip, &b->ips[i].ip);
		states_to_pb(&e->st, &b->ip_states[i]);
		b->ips[i].states = &b->ip_states[i];
		if (e->has_act) {
			pb_activity_t *a = &b->ip_acts[i];

			fleetstat__v1__activity__init(a);
			a->active = e->act.active;
			a->unanswered = e->act.unanswered;
			a->idle = e->act.idle;
			a->bytes_received = e->act.bytes_received;
			a->bytes_acked = e->act.bytes_acked;
			b->ips[i].activity = a;
		}
		b->pips[i] = &b->ips[i];
	}
	b->top.n_ips = r->top.n_ips;
	b->top.ips = b->pips;
	m->top = &b->top;

	if ((err = ports_to_pb(&r->ports, b)) < 0 || (err = requests_to_pb(&r->requests, b)) < 0)
		return err;

	if ((err = alloc_msgs(r->n_counters, sizeof(*b->counters),
			      (void **)&b->counters, (void **)&b->pcounters)) < 0)
		return err;
	for (i = 0; i < r->n_counters; i++) {
		fleetstat__v1__report__counters_entry__init(&b->counters[i]);
		b->counters[i].key = pb_str(r->counters[i].name);
		b->counters[i].value = r->counters[i].value;
		b->pcounters[i] = &b->counters[i];
	}
	m->n_counters = r->n_counters;
	m->counters = b->pcounters;

	if ((err = alloc_msgs(r->n_sysctls, sizeof(*b->sysctls),
			      (void **)&b->sysctls, (void **)&b->psysctls)) < 0)
		return err;
	for (i = 0; i < r->n_sysctls; i++) {
		fleetstat__v1__report__sysctls_entry__init(&b->sysctls[i]);
		b->sysctls[i].key = pb_str(r->sysctls[i].name);
		b->sysctls[i].value = pb_str(r->sysctls[i].value);
		b->psysctls[i] = &b->sysctls[i];
	}
	m->n_sysctls = r->n_sysctls;
	m->sysctls = b->psysctls;
	return 0;
}

static int frame_to_pb(const wire_frame_t *f, build_t *b)
{
	pb_frame_t *m = &b->frame;

	fleetstat__v1__frame__init(m);
	switch (f->type) {
	case WIRE_CHALLENGE:
		fleetstat__v1__challenge__init(&b->challenge);
		b->challenge.protocol = f->challenge.protocol;
		b->challenge.nonce.len = WIRE_NONCE_LEN;
		b->challenge.nonce.data = (uint8_t *)f->challenge.nonce;
		m->body_case = FLEETSTAT__V1__FRAME__BODY_CHALLENGE;
		m->challenge = &b->challenge;
		return 0;
	case WIRE_HELLO:
		m->body_case = FLEETSTAT__V1__FRAME__BODY_HELLO;
		m->hello = &b->hello;
		return hello_to_pb(&f->hello, b);
	case WIRE_WELCOME:
		fleetstat__v1__welcome__init(&b->welcome);
		b->welcome.protocol = f->welcome.protocol;
		b->welcome.last_seq = f->welcome.last_seq;
		m->body_case = FLEETSTAT__V1__FRAME__BODY_WELCOME;
		m->welcome = &b->welcome;
		return 0;
	case WIRE_REPORT:
		m->body_case = FLEETSTAT__V1__FRAME__BODY_REPORT;
		m->report = &b->report;
		return report_to_pb(&f->report, b);
	case WIRE_ACK:
		fleetstat__v1__ack__init(&b->ack);
		b->ack.seq = f->ack.seq;
		m->body_case = FLEETSTAT__V1__FRAME__BODY_ACK;
		m->ack = &b->ack;
		return 0;
	case WIRE_ERROR:
		fleetstat__v1__error__init(&b->error);
		b->error.code = (Fleetstat__V1__ErrorCode)f->error.code;
		b->error.message = pb_str(f->error.message);
		m->body_case = FLEETSTAT__V1__FRAME__BODY_ERROR;
		m->error = &b->error;
		return 0;
	case WIRE_NONE:
		break;
	}
	return -EINVAL;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int wire_frame_encode(const wire_frame_t *f, size_t max_frame,
		      uint8_t **out, size_t *len)
{
	build_t b;
	uint8_t *buf = NULL;
	size_t n;
	int err;

	memset(&b, 0, sizeof(b));
	if (max_frame == 0)
		max_frame = WIRE_MAX_FRAME;
	if (max_frame > UINT32_MAX)
		return -EINVAL;
	if ((err = wire_frame_validate(f)) < 0)
		return err;
	if ((err = frame_to_pb(f, &b)) < 0)
		goto out;
	n = fleetstat__v1__frame__get_packed_size(&b.frame);
	if (n == 0 || n > max_frame) {
		err = -EMSGSIZE;
		goto out;
	}
	if ((buf = malloc(WIRE_HDR_LEN + n)) == NULL) {
		err = -ENOMEM;
		goto out;
	}
	put_be32(buf, (uint32_t)n);
	if (fleetstat__v1__frame__pack(&b.frame, buf + WIRE_HDR_LEN) != n) {
		/* get_packed_size and pack disagree only on a protobuf-c bug. */
		free(buf);
		err = -EINVAL;
		goto out;
	}
	*out = buf;
	*len = WIRE_HDR_LEN + n;
	err = 0;
out:
	build_free(&b);
	return err;
}

/* ------------------------------------------------------------------------ */
/* Incremental reader */

int wire_dec_init(wire_dec_t *d, size_t max_frame)
{
	memset(d, 0, sizeof(*d));
	if (max_frame == 0)
		max_frame = WIRE_MAX_FRAME;
	if (max_frame > UINT32_MAX)
		return -EINVAL;
	d->max_frame = max_frame;
	return 0;
}

void wire_dec_close(wire_dec_t *d)
{
	if (d == NULL)
		return;
	free(d->buf);
	memset(d, 0, sizeof(*d));
}

size_t wire_dec_pending(const wire_dec_t *d)
{
	if (d->ready)
		return 0;
	return d->hdr_have + d->body_have;
}

/*
 * Makes room for want bytes of the current body.  The buffer grows with
 * what has arrived (doubling, capped at the announced length), so a peer
 * that announces a large frame and sends a few bytes pins little memory.
 */
static int dec_reserve(wire_dec_t *d, size_t want)
{
	size_t cap;
	uint8_t *p;

	if (want <= d->cap)
		return 0;
	cap = d->cap > DEC_MIN_ALLOC / 2 ? d->cap * 2 : DEC_MIN_ALLOC;
	if (cap < want)
		cap = want;
	if (cap > d->body_len)
		cap = d->body_len;
	if ((p = realloc(d->buf, cap)) == NULL)
		return -ENOMEM;
	d->buf = p;
	d->cap = cap;
	return 0;
}

ssize_t wire_dec_feed(wire_dec_t *d, const uint8_t *data, size_t len,
		      const uint8_t **body, size_t *body_len)
{
	size_t used = 0, want, take;
	int err;

	*body = NULL;
	*body_len = 0;
	if (d->err < 0)
		return d->err;
	if (d->ready) {
		/* The last frame was handed out; start the next one. */
		d->ready = false;
		d->hdr_have = 0;
		d->body_len = 0;
		d->body_have = 0;
		if (d->cap > DEC_KEEP) {
			free(d->buf);
			d->buf = NULL;
			d->cap = 0;
		}
	}

	while (d->hdr_have < WIRE_HDR_LEN && used < len)
		d->hdr[d->hdr_have++] = data[used++];
	if (d->hdr_have < WIRE_HDR_LEN)
		return 0;
	if (d->body_len == 0) {
		/* The header just completed: check it before any allocation. */
		uint32_t n = get_be32(d->hdr);

		if (n == 0)
			return d->err = -EPROTO;
		if (n > d->max_frame)
			return d->err = -EMSGSIZE;
		d->body_len = n;
	}

	want = d->body_len - d->body_have;
	if (d->body_have == 0 && len - used >= want) {
		/* The whole body is in data: hand it out without copying. */
		*body = data + used;
		*body_len = d->body_len;
		d->ready = true;
		return (ssize_t)(used + want);
	}
	take = len - used < want ? len - used : want;
	if (take == 0)
		return 0;
	if ((err = dec_reserve(d, d->body_have + take)) < 0)
		return d->err = err;
	memcpy(d->buf + d->body_have, data + used, take);
	d->body_have += take;
	used += take;
	if (d->body_have < d->body_len)
		return 0; /* used == len: everything was buffered */
	*body = d->buf;
	*body_len = d->body_len;
	d->ready = true;
	return (ssize_t)used;
}

int wire_dec_read(wire_dec_t *d, const uint8_t *data, size_t len, wire_frame_cb on_frame,
                  void *ctx)
{
	while (len > 0) {
		const uint8_t *body;
		size_t blen;
		ssize_t n = wire_dec_feed(d, data, len, &body, &blen);

		if (n <= 0)
			return (int)n;
		data += n;
		len -= (size_t)n;
		if (on_frame(ctx, body, blen) != 0)
			break;
	}
	return 0;
}

const char *wire_dec_strerror(int err)
{
	switch (err) {
	case -EPROTO: return "zero-length frame";
	case -EMSGSIZE: return "frame length above the maximum";
	case -ENOMEM: return "out of memory";
	default: return "unreadable stream";
	}
}
