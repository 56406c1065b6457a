-- http:: settings (flat, unit in the name, 0 = the server default) and the
-- outbound calls of each execution (a JSON array; NULL: none recorded).
ALTER TABLE scripts ADD COLUMN http_max_requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scripts ADD COLUMN http_max_response_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scripts ADD COLUMN http_timeout_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scripts ADD COLUMN egress_allow TEXT NOT NULL DEFAULT '';
ALTER TABLE executions ADD COLUMN outbound TEXT;
