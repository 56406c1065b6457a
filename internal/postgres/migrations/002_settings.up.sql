-- Step 7's script settings (flat, unit in the name, 0 = the server default).
ALTER TABLE scripts ADD COLUMN max_memory_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE scripts ADD COLUMN max_response_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE scripts ADD COLUMN unsandboxed BOOLEAN NOT NULL DEFAULT false;
