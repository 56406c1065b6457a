ALTER TABLE scripts DROP COLUMN unsandboxed;
ALTER TABLE scripts DROP COLUMN max_response_bytes;
ALTER TABLE scripts DROP COLUMN max_memory_bytes;
