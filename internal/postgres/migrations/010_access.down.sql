DROP TABLE audit_events;
ALTER TABLE scripts DROP COLUMN rate_limit_by;
ALTER TABLE scripts DROP COLUMN rate_limit_burst;
ALTER TABLE scripts DROP COLUMN rate_limit_rps;
ALTER TABLE scripts DROP COLUMN access;
DROP INDEX sessions_token;
ALTER TABLE sessions DROP COLUMN token_id;
DROP TABLE invoke_keys;
DROP TABLE api_tokens;
