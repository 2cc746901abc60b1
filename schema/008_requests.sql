-- SPDX-License-Identifier: MIT
-- 008_requests.sql: each report's requests from the host's access logs (DESIGN 12), packed
-- (pack.h, db_requests_pack()): totals by status class, the top clients and hosts with their
-- bounds.  NULL for reports without (no access log followed, or agents before it).
ALTER TABLE reports ADD COLUMN requests BLOB;
