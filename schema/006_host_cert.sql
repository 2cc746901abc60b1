-- SPDX-License-Identifier: MIT
-- 006_host_cert.sql: the certificate each host's agent presented (mutual TLS).
--
-- Its subject (RFC 2253, one line) and SHA-256 fingerprint (lowercase hex),
-- as of the agent's latest Hello that came with a certificate; NULL for a
-- host that never presented one.  The collector logs a change.
ALTER TABLE hosts ADD COLUMN cert_subject TEXT;
ALTER TABLE hosts ADD COLUMN cert_sha256 TEXT;
