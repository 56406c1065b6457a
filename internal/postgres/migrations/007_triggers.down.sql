DROP TABLE schedules;
DROP INDEX executions_schedule;
DROP INDEX executions_job;
ALTER TABLE executions DROP COLUMN schedule_id;
ALTER TABLE executions DROP COLUMN attempt;
ALTER TABLE executions DROP COLUMN job_id;
ALTER TABLE scripts DROP COLUMN subscriptions;
ALTER TABLE scripts DROP COLUMN max_attempts;
ALTER TABLE scripts DROP COLUMN disabled;
