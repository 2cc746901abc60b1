-- SPDX-License-Identifier: MIT
-- 001_init.sql: hosts, raw reports and the counter-name dictionary.
--
-- Sizing (DESIGN 6): 1,000 hosts x one report per 10 s = 8.64 M reports a
-- day, each with ~20 top remote IPs (full per-state counts), ~10 listeners
-- and ~50 kernel counters; raw reports are kept 7 days, rollups longer.
--
-- Why the top IPs, listeners and counters are one BLOB each per report
-- rather than rows in child tables:
--   * Rows: 20 top-IP rows per report is 173 M rows a day.  A child row
--     costs its key (host, seq, ip: ~10 bytes), 11 count columns with their
--     record header (~25 bytes) and ~5 bytes of cell overhead: ~40 bytes,
--     ~800 bytes a report before any index.  Counters as rows would repeat
--     (host, seq) 50 times per report.
--   * Packed: an IP entry is its length byte, 4 or 16 address bytes, a
--     bitmap of its nonzero states and one varint per nonzero state; most
--     entries have 1-3 nonzero states, so ~8-12 bytes: ~200 bytes for 20.
--     Counters are (dictionary id, value) varint pairs: ~5 bytes each
--     instead of a 20-30 byte name.  One BLOB is one cell in the report's
--     own row, so there is no second B-tree to maintain at 20,000 reports/s.
--   * The top-ips query reads every entry of every report in its window
--     whichever layout holds them (GROUP BY ip over all rows, no index can
--     skip work); decoding a few hundred bytes in C per report is cheaper
--     than stepping 20 rows.  Queries that want SQL per IP belong on the
--     per-minute/per-hour rollups (later migrations), which are much
--     smaller and are built by decoding these BLOBs once.
--
-- Packed formats (all integers are unsigned LEB128 varints: 7 bits per
-- byte, least significant group first, high bit set on all but the last
-- byte; "states" is a varint mask whose bit (s - 1) is set for each kernel
-- state s = 1..11 with a nonzero count, then one varint count per set bit in
-- ascending state order):
--   top:       u8 format (1); limit, threshold_total, threshold_established,
--              threshold_syn_recv, distinct_ips; states rest; states
--              excluded; n_ips; n_ips x { u8 len (4|16), len address bytes
--              in network order, states }.
--   listeners: u8 format (1); n; n x { u8 len (0|4|16), len address bytes,
--              port, accept_queue, backlog }.  NULL when there are none.
--   counters:  u8 format (1); n; n x { names.id, value }.  NULL when none.
-- A reader meeting a format byte it does not know must refuse the BLOB.
--
-- reports is a rowid table, not WITHOUT ROWID keyed by (host, seq): its
-- rows (~500 bytes) are too large for a clustered index (SQLite's advice is
-- under ~1/20 of a page), and the rowid grows with arrival, so the table is
-- appended to with full pages while only the small (host_id, seq) index
-- takes inserts all over its key space.

CREATE TABLE hosts (
	id INTEGER PRIMARY KEY,
	agent_id BLOB NOT NULL UNIQUE CHECK (length(agent_id) = 16),
	hostname TEXT NOT NULL,
	tier TEXT NOT NULL,
	labels TEXT NOT NULL DEFAULT '{}',   -- JSON object, keys sorted
	agent_version TEXT NOT NULL DEFAULT '',
	first_seen_ms INTEGER NOT NULL,
	last_seen_ms INTEGER NOT NULL,
	last_seq INTEGER NOT NULL DEFAULT 0  -- highest seq ever stored
);

CREATE INDEX hosts_tier ON hosts (tier);

CREATE TABLE reports (
	id INTEGER PRIMARY KEY,
	host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,
	collected_at_ms INTEGER NOT NULL,
	received_at_ms INTEGER NOT NULL,
	interval_ms INTEGER NOT NULL,
	established INTEGER NOT NULL,
	syn_sent INTEGER NOT NULL,
	syn_recv INTEGER NOT NULL,
	fin_wait1 INTEGER NOT NULL,
	fin_wait2 INTEGER NOT NULL,
	time_wait INTEGER NOT NULL,
	close INTEGER NOT NULL,
	close_wait INTEGER NOT NULL,
	last_ack INTEGER NOT NULL,
	listen INTEGER NOT NULL,
	closing INTEGER NOT NULL,
	dropped_reports INTEGER NOT NULL DEFAULT 0,
	collect_us INTEGER NOT NULL DEFAULT 0,
	source TEXT NOT NULL DEFAULT '',
	top BLOB,         -- packed, see above
	listeners BLOB,   -- packed, see above
	counters BLOB     -- packed, see above
);

-- The resend check (INSERT OR IGNORE) and every per-host query.
CREATE UNIQUE INDEX reports_host_seq ON reports (host_id, seq);

-- Counter names, interned: counters BLOBs refer to names.id.  Ids are never
-- reused or renumbered.
CREATE TABLE names (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);
