CREATE TABLE scripts (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    version         INTEGER NOT NULL,
    source          TEXT NOT NULL,
    timeout_ms      INTEGER NOT NULL DEFAULT 0,
    max_operations  INTEGER NOT NULL DEFAULT 0,
    max_concurrency INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL, -- Unix microseconds, UTC
    updated_at      INTEGER NOT NULL
);

CREATE TABLE script_versions (
    script_id  TEXT NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    source     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (script_id, version)
);

-- No foreign key to scripts: the sink may still write a row for a script being
-- deleted, and one orphan row must not fail a whole batch. DeleteScript removes
-- the rows explicitly and retention catches stragglers.
CREATE TABLE executions (
    id             TEXT PRIMARY KEY,
    script_id      TEXT NOT NULL,
    script_version INTEGER NOT NULL,
    trigger_type   TEXT NOT NULL,
    status         TEXT NOT NULL,
    started_at     INTEGER NOT NULL, -- Unix microseconds, UTC
    duration_ms    REAL NOT NULL,
    operations     INTEGER NOT NULL,
    request        TEXT,
    response       TEXT,
    logs           TEXT,
    error          TEXT
);
CREATE INDEX executions_script_started ON executions (script_id, started_at DESC, id DESC);
CREATE INDEX executions_started ON executions (started_at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
