-- SPDX-License-Identifier: MIT
-- pg/004_ports.sql: each report's state table by service (DESIGN 12), packed as in
-- SQLite (pack.h, db_ports_pack()).  NULL for reports of agents before it.  Added to the
-- partitioned table, so to every day's partition.
ALTER TABLE reports ADD COLUMN ports bytea;
