/* SPDX-License-Identifier: MIT */
/* pack.h: the packed columns of stored reports and top-list minutes, with no database. */
#ifndef DB_PACK_H
#define DB_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "report.h"
#include "reqroll.h"
#include "toproll.h"

/*
 * The bytes are those of schema/001_init.sql (top, listeners, counters) and
 * schema/004_top_minute.sql (rollup_top_minute.top): a format byte
 * (DB_PACK_FORMAT), then unsigned LEB128 varints, IPs as a length byte and
 * that many address bytes.  Every backend stores them as they are (a BLOB,
 * a bytea), so a database of either reads back the same.
 *
 * Encoders: db_*_pack() empty b (fs_buf_reset()) and write one column into
 * it; b is the caller's (FS_BUF_INIT, fs_buf_close()) and may be reused
 * call after call.  b->len == 0 afterwards means the column is NULL (no
 * listeners, no counters).  The values are borrowed.  They return 0,
 * -EINVAL for a value the format cannot hold (an IP length other than 4 or
 * 16; a listener's may also be 0, any address), the callback's error, or
 * -ENOMEM; b's bytes are then meaningless.
 *
 * Decoders: the blob is borrowed (NULL with len 0 is a NULL column); what
 * they return in *out is new, as each says.  They return 0, -EBADMSG for
 * bytes that are not a column of that kind (truncated, trailing bytes, an
 * unknown format byte, a varint past 64 bits, a count or value out of
 * range, an IP length the encoder refuses) or -ENOMEM; on error nothing
 * is allocated and *out is zeroed.  -EBADMSG is the code of a corrupt
 * database page too (db_get_report()): to a caller a malformed column is
 * a corrupt row, which queries skip or report.
 */
#define DB_PACK_FORMAT 1
/*
 * Top lists (a report's, a minute's) are written in format 2: format 1 with
 * each IP's activity after it (a 0, or a 1 and the figures).  Format 1
 * columns, stored before, still read (without activity).
 */
#define DB_PACK_FORMAT_TOP 2

/* A report's top list.  Never NULL: an empty list still has its thresholds. */
int db_top_pack(fs_buf_t *b, const wire_top_t *t);

/* *out's ips are new (free(out->ips)); a NULL column is an empty list. */
int db_top_unpack(const void *blob, size_t len, wire_top_t *out);

/*
 * A report's state table by service (schema/007_ports.sql): its limit, the
 * inbound and the outbound ports with their states, the rest.  NULL when
 * not split (limit 0, as from agents before ports).
 */
int db_ports_pack(fs_buf_t *b, const wire_ports_t *p);

/* *out's arrays are new (free() each); a NULL column is not split.  Also -EBADMSG for a port out
 * of 1..65535, more than the limit or WIRE_MAX_PORTS of them. */
int db_ports_unpack(const void *blob, size_t len, wire_ports_t *out);

/*
 * A report's requests from access logs (schema/008_requests.sql): totals,
 * the listed clients and hosts with their bounds (not the marks: those are
 * the agent's).  NULL when the report has none.
 */
int db_requests_pack(fs_buf_t *b, const wire_requests_t *q);
/* 0 (out->present false for NULL), -EBADMSG or -ENOMEM; out owns its arrays. */
int db_requests_unpack(const void *blob, size_t len, wire_requests_t *out);

/*
 * A host's minute of requests (rollup_top_minute.requests, schema/009):
 * the totals, each listed client and host with what bounds it and each
 * client's busiest report.  NULL when the minute's reports carried none.
 */
int db_roll_req_pack(fs_buf_t *b, const col_roll_req_t *q);
/* 0 (out->reports 0 for NULL), -EBADMSG or -ENOMEM; col_roll_req_close() frees *out. */
int db_roll_req_unpack(const void *blob, size_t len, col_roll_req_t *out);

/* A report's listeners, in order; NULL when n is 0. */
int db_listeners_pack(fs_buf_t *b, const wire_listener_t *l, size_t n);

/* *out is new (free()), NULL when *n is 0; a NULL column is no listeners. */
int db_listeners_unpack(const void *blob, size_t len, wire_listener_t **out, size_t *n);

/*
 * The counter-name dictionary, which the database keeps: id_of gives the
 * id (1..UINT32_MAX) of a name, interning it if need be, or a negative
 * errno that stops the packing and is returned; name_of gives the name of
 * an id (borrowed, kept alive until the decoder returns) or NULL when the
 * dictionary has no such id.
 */
typedef int (*db_name_id_fn)(void *ctx, const char *name, uint32_t *id);
typedef const char *(*db_id_name_fn)(void *ctx, uint32_t id);

/*
 * A report's counters as (id, value) pairs in order; NULL when n is 0.  A
 * NULL name is packed as "".
 */
int db_counters_pack(fs_buf_t *b, const wire_counter_t *c, size_t n, db_name_id_fn id_of,
                     void *ctx);

/*
 * *out is new, each name a strdup() of name_of()'s: release both with
 * free() (wire_report_close() does, set as a report's counters); NULL when
 * *n is 0.  An id name_of() does not know is -EBADMSG.
 */
int db_counters_unpack(const void *blob, size_t len, db_id_name_fn name_of, void *ctx,
                       wire_counter_t **out, size_t *n);

/*
 * Picks counters out of a packed counters column without names: for each
 * of the n_ids (at most 32) ids, values[k] and bit k of *found when the
 * column has it (*found is 0 for a NULL column).  0 or -EBADMSG; values
 * and *found may be partly set on error.
 */
int db_counters_pick(const void *blob, size_t len, const uint32_t *ids, size_t n_ids,
                     uint64_t *values, uint32_t *found);

/* A host's top-list minute (col_roll_top_t), its IPs in r's order. */
int db_roll_top_pack(fs_buf_t *b, const col_roll_top_t *r);

/*
 * *out is new (col_roll_top_close()).  Also -EBADMSG for a NULL column
 * (the column is NOT NULL), a minute of no reports, more than
 * COL_ROLL_TOP_MAX IPs, an IP listed by no report or by more reports than
 * the minute had, times outside int64_t.
 */
int db_roll_top_unpack(const void *blob, size_t len, col_roll_top_t *out);

#endif
