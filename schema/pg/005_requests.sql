-- SPDX-License-Identifier: MIT
-- pg/005_requests.sql: each report's requests from the host's access logs (DESIGN 12),
-- packed as in SQLite (pack.h, db_requests_pack()).  NULL for reports without.  Added to the
-- partitioned table, so to every day's partition.
ALTER TABLE reports ADD COLUMN requests bytea;
