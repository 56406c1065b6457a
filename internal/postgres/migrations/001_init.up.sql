CREATE TABLE scripts (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    version         INTEGER NOT NULL,
    source          TEXT NOT NULL,
    timeout_ms      BIGINT NOT NULL DEFAULT 0,
    max_operations  BIGINT NOT NULL DEFAULT 0,
    max_concurrency INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE script_versions (
    script_id  TEXT NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    source     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (script_id, version)
);

-- request, response, logs and error hold JSON as TEXT: jsonb refuses \u0000, which a
-- logged body may contain, and the audit trail must never refuse a row.
--
-- No foreign key to scripts: the sink may still write a row for a script being
-- deleted, and one orphan row must not fail a whole batch. DeleteScript removes
-- the rows explicitly and retention catches stragglers.
CREATE TABLE executions (
    id             TEXT PRIMARY KEY,
    script_id      TEXT NOT NULL,
    script_version INTEGER NOT NULL,
    trigger_type   TEXT NOT NULL,
    status         TEXT NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    duration_ms    DOUBLE PRECISION NOT NULL,
    operations     BIGINT NOT NULL,
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
