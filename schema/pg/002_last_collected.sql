-- SPDX-License-Identifier: MIT
-- pg/002_last_collected.sql: when each host's latest report was collected.
--
-- The latest report of a host is its highest seq (hosts.last_seq).  Beside
-- it, the time that report was collected, which is the partition key: the
-- latest reports of every host (tiers, hosts, top-ips now) are then one
-- index probe each in one day's partition, where a search by seq alone
-- reads every day's index.  The writer moves it with last_seq.
ALTER TABLE hosts ADD COLUMN last_collected_ms bigint NOT NULL DEFAULT 0;

UPDATE hosts h SET last_collected_ms = r.collected_at_ms
FROM reports r WHERE r.host_id = h.id AND r.seq = h.last_seq;
