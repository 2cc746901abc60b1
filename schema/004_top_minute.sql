-- SPDX-License-Identifier: MIT
-- 004_top_minute.sql: each host's top lists merged per minute, for top-ips over a window.
--
-- top-ips --since 1h over 1,000 hosts at a 10 s interval would decode
-- 360,000 top lists; with a row per host and minute it reads 60,000 rows,
-- and raw reports only for the window's partial first and last minutes.
-- The writer merges each stored report into its host's row in the same
-- transaction.  `top` packs (first byte 1) the minute's number of reports
-- and its largest thresholds (total, ESTABLISHED, SYN_RECV), then per IP
-- (at most 256, the largest by total; a dropped IP raises the thresholds
-- to its peaks): the reports that listed it, its peak total, its peak per
-- state, and when it was first and last seen.  The rows index the raw
-- reports' top lists and are pruned with them (--retention).  Rows written
-- before this migration's reports are built by the collector when it
-- migrates.

CREATE TABLE rollup_top_minute (
	host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
	t INTEGER NOT NULL,   -- the minute's start, ms since the epoch
	top BLOB NOT NULL
);

-- By minute for windows and pruning, by host within a minute for the writer.
CREATE UNIQUE INDEX rollup_top_minute_t ON rollup_top_minute (t, host_id);
