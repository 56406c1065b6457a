// Package jobs is PiCloud's job queue: asynchronous invocations, event
// deliveries and schedule firings, on River (github.com/riverqueue/river).
// It is the only package that imports River.
//
// A job is one River row whose args say what to run (a script, its trigger,
// the request or event or firing); every attempt of it is an execution the
// orchestrator runs (picloud.JobRunner), logged with the job's id and the
// attempt's number. The queue maps an attempt's outcome to River's: success
// completes the job; an execution that failed (error, timeout,
// budget_exceeded) is retried with exponential backoff until the script's
// max_attempts, then is a dead letter; a busy server snoozes the job (not an
// attempt); a script that is gone cancels it.
//
// On SQLite River runs on the store's single writer connection, poll-only: a
// job this process inserts wakes its producer at once, and nothing polls the
// database more often than Config.PollInterval. Jobs left running by a
// process that died run again at the next start. On PostgreSQL River runs on
// the store's pool with LISTEN/NOTIFY, and any number of processes may share
// the database. On both, River's client is stopped altogether while no job
// is unfinished (see sleep.go), so an idle server costs nothing.
//
// Schedules are not River's periodic jobs (static per client and leader
// only): a planner in every process computes each enabled schedule's next
// firing with internal/cron and, at that time, inserts a job unique by
// (schedule, scheduled time). River's unique insert makes each firing
// exactly one job however many processes plan it.
//
// Retention: completed jobs are kept 24 h (so an Idempotency-Key is
// remembered at least that long), dead letters 30 days (cancelled ones, a
// failed schedule firing or a deleted script's job, 24 h).
package jobs
