-- SPDX-License-Identifier: MIT
-- 007_ports.sql: each report's state table by service (DESIGN 12), packed (pack.h,
-- db_ports_pack()): inbound by local listening port, outbound by remote port, the top of
-- each and the rest.  NULL for reports of agents before it.
ALTER TABLE reports ADD COLUMN ports BLOB;
