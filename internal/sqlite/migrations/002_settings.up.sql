-- Step 7's script settings (flat, unit in the name, 0 = the server default).
ALTER TABLE scripts ADD COLUMN max_memory_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scripts ADD COLUMN max_response_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scripts ADD COLUMN unsandboxed INTEGER NOT NULL DEFAULT 0;
