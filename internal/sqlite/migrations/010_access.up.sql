-- Step 12: access control, invoke keys, rate limits, the audit trail.
--
-- Named API tokens and invoke keys: only the hash of each is stored (prefix
-- is the first 12 characters, to recognise one). scopes is a comma-separated
-- list. Times are Unix microseconds, UTC; NULL last_used_at: never used, NULL
-- expires_at: never expires.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    scripts      TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER
);

-- An invoke key goes with its script (foreign keys are on).
CREATE TABLE invoke_keys (
    id           TEXT PRIMARY KEY,
    script_id    TEXT NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX invoke_keys_script ON invoke_keys (script_id, created_at);

-- A session remembers the named token it was opened with (NULL: the admin
-- token), so that revoking or rotating the token ends its sessions.
ALTER TABLE sessions ADD COLUMN token_id TEXT;
CREATE INDEX sessions_token ON sessions (token_id);

ALTER TABLE scripts ADD COLUMN access TEXT NOT NULL DEFAULT 'public';
ALTER TABLE scripts ADD COLUMN rate_limit_rps REAL NOT NULL DEFAULT 0;
ALTER TABLE scripts ADD COLUMN rate_limit_burst INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scripts ADD COLUMN rate_limit_by TEXT NOT NULL DEFAULT 'client';

-- The audit trail: one row per administrative action. id is a UUIDv7, so
-- ordering by id is ordering by time; detail is a JSON object or ''.
CREATE TABLE audit_events (
    id        TEXT PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL DEFAULT '',
    token_id  TEXT NOT NULL DEFAULT '',
    via       TEXT NOT NULL DEFAULT '',
    ip        TEXT NOT NULL DEFAULT '',
    action    TEXT NOT NULL,
    target    TEXT NOT NULL DEFAULT '',
    target_id TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_action ON audit_events (action, at);
