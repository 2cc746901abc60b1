-- SPDX-License-Identifier: MIT
-- 003_rollups.sql: per-minute and per-hour rollups of each host's state counts.
--
-- The writer adds each stored report to its host's minute and hour rows in
-- the same transaction (an upsert), so a rollup holds exactly the stored
-- reports, resends included once.  Per state (and the total of all states
-- but LISTEN): the sum over the rollup's reports and the largest value; with
-- n, a host's mean in it is sum / n.  A trend over 24 h reads 1,440 rows a
-- host instead of 8,640 reports, over 30 d 720 hour rows.  Raw reports go
-- after --retention, minute rows after --minute-retention, hour rows after
-- --rollup-retention.  WITHOUT ROWID: the rows are small and always looked
-- up by (host_id, t).

CREATE TABLE rollup_minute (
	host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
	t INTEGER NOT NULL,   -- the minute's start, ms since the epoch
	n INTEGER NOT NULL,   -- reports in it
	established_sum INTEGER NOT NULL,
	established_max INTEGER NOT NULL,
	syn_sent_sum INTEGER NOT NULL,
	syn_sent_max INTEGER NOT NULL,
	syn_recv_sum INTEGER NOT NULL,
	syn_recv_max INTEGER NOT NULL,
	fin_wait1_sum INTEGER NOT NULL,
	fin_wait1_max INTEGER NOT NULL,
	fin_wait2_sum INTEGER NOT NULL,
	fin_wait2_max INTEGER NOT NULL,
	time_wait_sum INTEGER NOT NULL,
	time_wait_max INTEGER NOT NULL,
	close_sum INTEGER NOT NULL,
	close_max INTEGER NOT NULL,
	close_wait_sum INTEGER NOT NULL,
	close_wait_max INTEGER NOT NULL,
	last_ack_sum INTEGER NOT NULL,
	last_ack_max INTEGER NOT NULL,
	closing_sum INTEGER NOT NULL,
	closing_max INTEGER NOT NULL,
	total_sum INTEGER NOT NULL,
	total_max INTEGER NOT NULL,
	PRIMARY KEY (host_id, t)
) WITHOUT ROWID;

-- Time-window queries over all hosts (trend) and pruning start from t.
CREATE INDEX rollup_minute_t ON rollup_minute (t);

CREATE TABLE rollup_hour (
	host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
	t INTEGER NOT NULL,   -- the hour's start, ms since the epoch
	n INTEGER NOT NULL,   -- reports in it
	established_sum INTEGER NOT NULL,
	established_max INTEGER NOT NULL,
	syn_sent_sum INTEGER NOT NULL,
	syn_sent_max INTEGER NOT NULL,
	syn_recv_sum INTEGER NOT NULL,
	syn_recv_max INTEGER NOT NULL,
	fin_wait1_sum INTEGER NOT NULL,
	fin_wait1_max INTEGER NOT NULL,
	fin_wait2_sum INTEGER NOT NULL,
	fin_wait2_max INTEGER NOT NULL,
	time_wait_sum INTEGER NOT NULL,
	time_wait_max INTEGER NOT NULL,
	close_sum INTEGER NOT NULL,
	close_max INTEGER NOT NULL,
	close_wait_sum INTEGER NOT NULL,
	close_wait_max INTEGER NOT NULL,
	last_ack_sum INTEGER NOT NULL,
	last_ack_max INTEGER NOT NULL,
	closing_sum INTEGER NOT NULL,
	closing_max INTEGER NOT NULL,
	total_sum INTEGER NOT NULL,
	total_max INTEGER NOT NULL,
	PRIMARY KEY (host_id, t)
) WITHOUT ROWID;

-- Time-window queries over all hosts (trend) and pruning start from t.
CREATE INDEX rollup_hour_t ON rollup_hour (t);

-- What the reports already stored hold.
INSERT INTO rollup_minute (host_id, t, n, established_sum, established_max, syn_sent_sum, syn_sent_max, syn_recv_sum, syn_recv_max, fin_wait1_sum, fin_wait1_max, fin_wait2_sum, fin_wait2_max, time_wait_sum, time_wait_max, close_sum, close_max, close_wait_sum, close_wait_max, last_ack_sum, last_ack_max, closing_sum, closing_max, total_sum, total_max)
SELECT host_id, collected_at_ms / 60000 * 60000, count(*),
       sum(established), max(established), sum(syn_sent), max(syn_sent), sum(syn_recv), max(syn_recv), sum(fin_wait1), max(fin_wait1), sum(fin_wait2), max(fin_wait2), sum(time_wait), max(time_wait), sum(close), max(close), sum(close_wait), max(close_wait), sum(last_ack), max(last_ack), sum(closing), max(closing), sum((established + syn_sent + syn_recv + fin_wait1 + fin_wait2 + time_wait + close + close_wait + last_ack + closing)), max((established + syn_sent + syn_recv + fin_wait1 + fin_wait2 + time_wait + close + close_wait + last_ack + closing))
FROM reports GROUP BY host_id, collected_at_ms / 60000;
INSERT INTO rollup_hour (host_id, t, n, established_sum, established_max, syn_sent_sum, syn_sent_max, syn_recv_sum, syn_recv_max, fin_wait1_sum, fin_wait1_max, fin_wait2_sum, fin_wait2_max, time_wait_sum, time_wait_max, close_sum, close_max, close_wait_sum, close_wait_max, last_ack_sum, last_ack_max, closing_sum, closing_max, total_sum, total_max)
SELECT host_id, collected_at_ms / 3600000 * 3600000, count(*),
       sum(established), max(established), sum(syn_sent), max(syn_sent), sum(syn_recv), max(syn_recv), sum(fin_wait1), max(fin_wait1), sum(fin_wait2), max(fin_wait2), sum(time_wait), max(time_wait), sum(close), max(close), sum(close_wait), max(close_wait), sum(last_ack), max(last_ack), sum(closing), max(closing), sum((established + syn_sent + syn_recv + fin_wait1 + fin_wait2 + time_wait + close + close_wait + last_ack + closing)), max((established + syn_sent + syn_recv + fin_wait1 + fin_wait2 + time_wait + close + close_wait + last_ack + closing))
FROM reports GROUP BY host_id, collected_at_ms / 3600000;

-- Per tier and minute, over the tier's hosts with a report in the minute: hosts, and per state
-- the sum of the hosts' means in the minute and the sum of their maxima.  The writer keeps it
-- with each stored report (the host's minute row before and after: the difference), so a trend
-- of a tier or of the fleet reads 1,440 rows a day and tier, not 1,440 a host.
CREATE TABLE rollup_tier_minute (
	tier TEXT NOT NULL,
	t INTEGER NOT NULL,   -- the minute's start, ms since the epoch
	hosts INTEGER NOT NULL,
	established_mean REAL NOT NULL,
	established_max INTEGER NOT NULL,
	syn_sent_mean REAL NOT NULL,
	syn_sent_max INTEGER NOT NULL,
	syn_recv_mean REAL NOT NULL,
	syn_recv_max INTEGER NOT NULL,
	fin_wait1_mean REAL NOT NULL,
	fin_wait1_max INTEGER NOT NULL,
	fin_wait2_mean REAL NOT NULL,
	fin_wait2_max INTEGER NOT NULL,
	time_wait_mean REAL NOT NULL,
	time_wait_max INTEGER NOT NULL,
	close_mean REAL NOT NULL,
	close_max INTEGER NOT NULL,
	close_wait_mean REAL NOT NULL,
	close_wait_max INTEGER NOT NULL,
	last_ack_mean REAL NOT NULL,
	last_ack_max INTEGER NOT NULL,
	closing_mean REAL NOT NULL,
	closing_max INTEGER NOT NULL,
	total_mean REAL NOT NULL,
	total_max INTEGER NOT NULL,
	PRIMARY KEY (tier, t)
) WITHOUT ROWID;

CREATE INDEX rollup_tier_minute_t ON rollup_tier_minute (t);

INSERT INTO rollup_tier_minute (tier, t, hosts, established_mean, established_max, syn_sent_mean, syn_sent_max, syn_recv_mean, syn_recv_max, fin_wait1_mean, fin_wait1_max, fin_wait2_mean, fin_wait2_max, time_wait_mean, time_wait_max, close_mean, close_max, close_wait_mean, close_wait_max, last_ack_mean, last_ack_max, closing_mean, closing_max, total_mean, total_max)
SELECT h.tier, r.t, count(*), sum(r.established_sum * 1.0 / r.n), sum(r.established_max), sum(r.syn_sent_sum * 1.0 / r.n), sum(r.syn_sent_max), sum(r.syn_recv_sum * 1.0 / r.n), sum(r.syn_recv_max), sum(r.fin_wait1_sum * 1.0 / r.n), sum(r.fin_wait1_max), sum(r.fin_wait2_sum * 1.0 / r.n), sum(r.fin_wait2_max), sum(r.time_wait_sum * 1.0 / r.n), sum(r.time_wait_max), sum(r.close_sum * 1.0 / r.n), sum(r.close_max), sum(r.close_wait_sum * 1.0 / r.n), sum(r.close_wait_max), sum(r.last_ack_sum * 1.0 / r.n), sum(r.last_ack_max), sum(r.closing_sum * 1.0 / r.n), sum(r.closing_max), sum(r.total_sum * 1.0 / r.n), sum(r.total_max)
FROM rollup_minute r JOIN hosts h ON h.id = r.host_id GROUP BY h.tier, r.t;
