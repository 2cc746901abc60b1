-- SPDX-License-Identifier: MIT
-- pg/006_req_minute.sql: each host's requests merged per minute beside its top lists, packed
-- as in SQLite (schema/009_req_minute.sql, pack.h db_roll_req_pack()); NULL for a minute
-- without.  The rows of reports stored before are built by the collector when it migrates.
ALTER TABLE rollup_top_minute ADD COLUMN requests bytea;
