package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/picloud/picloud"
)

// runWorker works async and event runs.
type runWorker struct {
	river.WorkerDefaults[runArgs]
	q *Queue
}

// Timeout is none: the orchestrator enforces the script's own.
func (w *runWorker) Timeout(*river.Job[runArgs]) time.Duration { return -1 }

func (w *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	a := &job.Args
	return w.q.work(ctx, job.JobRow, &picloud.JobRun{
		JobID: strconv.FormatInt(job.ID, 10), Attempt: job.Attempt, MaxAttempts: job.MaxAttempts,
		ScriptID: a.ScriptID, Trigger: a.Trigger, Request: a.request(), Event: a.Event,
	}, "")
}

// cronWorker works schedule firings.
type cronWorker struct {
	river.WorkerDefaults[cronArgs]
	q *Queue
}

func (w *cronWorker) Timeout(*river.Job[cronArgs]) time.Duration { return -1 }

func (w *cronWorker) Work(ctx context.Context, job *river.Job[cronArgs]) error {
	a := &job.Args
	schedule := a.ScheduleID
	if a.Manual {
		schedule = "" // run now: also when the schedule is paused
	}
	return w.q.work(ctx, job.JobRow, &picloud.JobRun{
		JobID: strconv.FormatInt(job.ID, 10), Attempt: job.Attempt, MaxAttempts: job.MaxAttempts,
		ScriptID: a.ScriptID, Trigger: picloud.TriggerCron, Request: a.request(), Schedule: a.firing(),
	}, schedule)
}

// work runs one attempt of a job and maps its outcome to River's: nil
// completes the job; an error retries it (or, out of attempts, discards
// it: a dead letter); JobSnooze waits without using an attempt; JobCancel
// ends it. schedule, when set, is the firing's schedule, which must still
// exist and be enabled.
func (q *Queue) work(ctx context.Context, row *rivertype.JobRow, run *picloud.JobRun, schedule string) error {
	trigger := string(run.Trigger)
	if row.Attempt == 1 && !snoozed(row) {
		q.m.latency(trigger, time.Since(row.CreatedAt))
	}
	sc, err := q.store.Script(ctx, run.ScriptID)
	switch {
	case picloud.ErrorCode(err) == picloud.ENotFound:
		q.m.finished(trigger, resultDead)
		return river.JobCancel(fmt.Errorf("not_found: script %s was deleted", run.ScriptID))
	case err != nil:
		return q.busy(ctx, trigger, err)
	case sc.Disabled && run.Trigger != picloud.TriggerAsync:
		// A disabled script's subscriptions and schedules do not fire.
		q.m.finished(trigger, resultSkipped)
		return nil
	case sc.Disabled:
		// An async run was accepted for it: it waits for the script to be
		// enabled again through its retries, then is a dead letter to
		// requeue.
		return q.failed(row, trigger, fmt.Errorf("unavailable: %s", picloud.ErrDisabled(sc).Message))
	}
	if schedule != "" {
		s, err := q.store.Schedule(ctx, schedule)
		if picloud.ErrorCode(err) == picloud.ENotFound || err == nil && !s.Enabled {
			q.m.finished(trigger, resultSkipped)
			return nil
		} else if err != nil {
			return q.busy(ctx, trigger, err)
		}
	}

	log, err := q.runner.RunJob(ctx, run)
	if err != nil && ctx.Err() != nil {
		// Stopping: River makes the job available again, attempt unused.
		return errors.Join(err, ctx.Err())
	}
	switch picloud.ErrorCode(err) {
	case "":
	case picloud.ENotFound:
		q.m.finished(trigger, resultDead)
		return river.JobCancel(fmt.Errorf("not_found: %s", picloud.ErrorMessage(err)))
	case picloud.EOverloaded, picloud.EUnavailable:
		// The gate or the sink is full, or the script was disabled just
		// now (its next attempt tells).
		return river.JobSnooze(snoozeBusy)
	default:
		return q.failed(row, trigger, err)
	}
	if log.Status == picloud.StatusSuccess {
		q.m.finished(trigger, resultSucceeded)
		return nil
	}
	msg := string(log.Status)
	if log.Error != nil {
		msg = fmt.Sprintf("%s: %s: %s", log.Status, log.Error.Kind, log.Error.Message)
	}
	return q.failed(row, trigger, errors.New(msg))
}

// failed ends an attempt that failed: River retries the job, or, out of
// attempts, discards it (a dead letter, kept 30 days). A firing out of
// attempts is cancelled instead: a dead letter too, kept 24 h, as a failing
// per-second schedule makes thousands a day.
func (q *Queue) failed(row *rivertype.JobRow, trigger string, err error) error {
	if row.Attempt < row.MaxAttempts {
		q.m.finished(trigger, resultRetried)
		return err
	}
	q.m.finished(trigger, resultDead)
	if trigger == string(picloud.TriggerCron) {
		return river.JobCancel(err)
	}
	return err
}

// busy snoozes a job the store could not answer for: a store failure is
// not the script's, and must not use its attempts.
func (q *Queue) busy(ctx context.Context, trigger string, err error) error {
	if ctx.Err() != nil {
		return errors.Join(err, ctx.Err())
	}
	q.log.Warn("job: store unavailable, retrying", "trigger", trigger, "error", err)
	return river.JobSnooze(snoozeBusy)
}

// snoozed reports whether River snoozed the job before (River counts the
// snoozes in its metadata): a snooze gives the attempt back, so the job
// starts at attempt 1 again, and its latency was counted the first time.
func snoozed(row *rivertype.JobRow) bool {
	var md struct {
		Snoozes int64 `json:"snoozes"`
	}
	return len(row.Metadata) > 0 && json.Unmarshal(row.Metadata, &md) == nil && md.Snoozes > 0
}
