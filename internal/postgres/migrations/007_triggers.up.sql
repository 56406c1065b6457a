-- Step 9: schedules, asynchronous runs and events.
--
-- The script settings (flat, 0 / '' / false = the default): disabled (the
-- API's "enabled" is its inverse, so existing scripts stay enabled),
-- max_attempts of an async or event run (0: the server default) and
-- subscriptions, the event topics it receives, comma-joined ("a.b,c_d").
ALTER TABLE scripts ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE scripts ADD COLUMN max_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE scripts ADD COLUMN subscriptions TEXT NOT NULL DEFAULT '';

-- An async, event or cron run's job (River's job id, decimal), its attempt
-- (1-based) and, for a cron run, its schedule; '' and 0 for http and test
-- runs. The indexes are partial: most rows have no job, and the queries by
-- job or schedule say "job_id <> ''" (or "schedule_id <> ''") to use them.
ALTER TABLE executions ADD COLUMN job_id TEXT NOT NULL DEFAULT '';
ALTER TABLE executions ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN schedule_id TEXT NOT NULL DEFAULT '';
CREATE INDEX executions_job ON executions (job_id, started_at DESC, id DESC) WHERE job_id <> '';
CREATE INDEX executions_schedule ON executions (schedule_id, started_at DESC, id DESC) WHERE schedule_id <> '';

-- A script's cron triggers. body is BYTEA so that any string a schedule is
-- given (even one with NUL bytes, which TEXT refuses) comes back as it was.
-- last_scheduled_at is the newest firing planned (NULL: none yet).
CREATE TABLE schedules (
    id                TEXT PRIMARY KEY,
    script_id         TEXT NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    cron              TEXT NOT NULL,
    timezone          TEXT NOT NULL DEFAULT '',
    body              BYTEA NOT NULL,
    enabled           BOOLEAN NOT NULL DEFAULT true,
    last_scheduled_at TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX schedules_script ON schedules (script_id, created_at, id);
