-- Secrets, sealed by internal/secretbox (AES-256-GCM): this table never holds
-- a plaintext. scope is 'global' or 'script:<id>'. Not versioned.
CREATE TABLE secrets (
    scope      TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      BLOB NOT NULL,
    updated_at INTEGER NOT NULL, -- Unix microseconds, UTC
    PRIMARY KEY (scope, name)
);

-- Deleting a script deletes its secrets (a scope is not a foreign key, as
-- global secrets belong to no script).
CREATE TRIGGER scripts_delete_secrets AFTER DELETE ON scripts
BEGIN
    DELETE FROM secrets WHERE scope = 'script:' || OLD.id;
END;
