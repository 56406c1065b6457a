-- Dashboard sessions: only the hash of each random session id is stored, so a
-- copy of this database cannot be turned into a session cookie.
CREATE TABLE sessions (
    hash       TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
