-- Step 11: drafts.
--
-- A script's unpublished source, at most one per script, never served until
-- promoted to the next version. base_version is the script's version when the
-- draft was saved; updated_at is Unix microseconds, UTC. The draft goes with
-- its script (foreign keys are on).
CREATE TABLE script_drafts (
    script_id    TEXT PRIMARY KEY REFERENCES scripts (id) ON DELETE CASCADE,
    source       TEXT NOT NULL,
    base_version INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
