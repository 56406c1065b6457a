-- kv:: durable key-value state. A namespace is "script:<id>" (a script's own)
-- or "ns:<name>" (shared). Values are JSON text; size is the bytes of key
-- plus value, summed for quotas. Keys compare as bytes (COLLATE "C").
CREATE TABLE kv (
    ns         TEXT NOT NULL COLLATE "C",
    key        TEXT NOT NULL COLLATE "C",
    value      TEXT NOT NULL,
    size       BIGINT NOT NULL,
    expires_at TIMESTAMPTZ,      -- NULL: never
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ns, key)
);
CREATE INDEX kv_expires ON kv (expires_at) WHERE expires_at IS NOT NULL;

-- The kv settings (flat, unit in the name, 0 = the server default).
ALTER TABLE scripts ADD COLUMN kv_namespaces TEXT NOT NULL DEFAULT '';
ALTER TABLE scripts ADD COLUMN kv_max_keys BIGINT NOT NULL DEFAULT 0;
ALTER TABLE scripts ADD COLUMN kv_max_bytes BIGINT NOT NULL DEFAULT 0;
