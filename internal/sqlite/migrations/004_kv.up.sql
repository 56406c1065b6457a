-- kv:: durable key-value state. A namespace is "script:<id>" (a script's own)
-- or "ns:<name>" (shared). Values are JSON text; size is the bytes of key
-- plus value, summed for quotas. Keys compare as bytes (BINARY collation).
CREATE TABLE kv (
    ns         TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    size       INTEGER NOT NULL,
    expires_at INTEGER,          -- Unix microseconds, UTC; NULL: never
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;
CREATE INDEX kv_expires ON kv (expires_at) WHERE expires_at IS NOT NULL;

-- The kv settings (flat, unit in the name, 0 = the server default).
ALTER TABLE scripts ADD COLUMN kv_namespaces TEXT NOT NULL DEFAULT '';
ALTER TABLE scripts ADD COLUMN kv_max_keys INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scripts ADD COLUMN kv_max_bytes INTEGER NOT NULL DEFAULT 0;
