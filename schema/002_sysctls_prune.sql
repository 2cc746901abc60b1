-- SPDX-License-Identifier: MIT
-- 002_sysctls_prune.sql: each host's current sysctls; the index for pruning.

-- The values a host reported last (replaced when a report carries sysctls).
-- changed_at_ms is the collected_at_ms of the report that first carried the
-- current value.  Small rows looked up by (host, name): WITHOUT ROWID keeps
-- them in one B-tree instead of a table plus an index.
CREATE TABLE host_sysctls (
	host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	value TEXT NOT NULL,
	changed_at_ms INTEGER NOT NULL,
	PRIMARY KEY (host_id, name)
) WITHOUT ROWID;

-- db_prune() deletes by collected_at_ms; time-window queries over all hosts
-- (trend, top-ips --since) start from it too.
CREATE INDEX reports_collected ON reports (collected_at_ms);
