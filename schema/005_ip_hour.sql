-- SPDX-License-Identifier: MIT
-- 005_ip_hour.sql: each IP's hours per tier, the baselines that suspects compares against.
--
-- Built by the writer from the hosts' top-list minutes (004) once an hour
-- is over, and again whenever a report for a past hour arrives later (a
-- spool after an outage): rollup_dirty_hour holds the hours to build,
-- marked in the same transaction as the reports.  Per (hour, tier, IP):
-- its level is, minute by minute, the sum of the tier's hosts' peaks, and
-- the row keeps the hour's largest level, in total and for ESTABLISHED and
-- SYN_RECV; the minutes some host listed it; the most hosts listing it in
-- one minute; the largest peak on one host.  A week of an IP is at most
-- 168 rows a tier, read by (ip, t).  Kept for --rollup-retention.

CREATE TABLE rollup_ip_hour (
	t INTEGER NOT NULL,        -- the hour's start, ms since the epoch
	tier TEXT NOT NULL,
	ip BLOB NOT NULL,          -- 4 or 16 bytes, network order
	minutes INTEGER NOT NULL,
	hosts INTEGER NOT NULL,
	peak_total INTEGER NOT NULL,
	peak_established INTEGER NOT NULL,
	peak_syn_recv INTEGER NOT NULL,
	host_max INTEGER NOT NULL,
	PRIMARY KEY (t, tier, ip)
);

CREATE INDEX rollup_ip_hour_ip ON rollup_ip_hour (ip, t);

CREATE TABLE rollup_dirty_hour (
	t INTEGER PRIMARY KEY      -- an hour whose rows are to be built
);

-- The hours already stored.
INSERT INTO rollup_dirty_hour (t) SELECT DISTINCT t / 3600000 * 3600000 FROM rollup_top_minute;
