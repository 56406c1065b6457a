ALTER TABLE executions DROP COLUMN outbound;
ALTER TABLE scripts DROP COLUMN http_max_requests;
ALTER TABLE scripts DROP COLUMN http_max_response_bytes;
ALTER TABLE scripts DROP COLUMN http_timeout_ms;
ALTER TABLE scripts DROP COLUMN egress_allow;
