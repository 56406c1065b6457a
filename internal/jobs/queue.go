package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/picloud/picloud"
)

// Enqueue implements picloud.JobQueue. The bounds are checked before the
// insert, without a lock: concurrent inserts may pass them by a few jobs.
// A full queue refuses even a request whose Idempotency-Key matches a
// queued job; its retry gets that job.
func (q *Queue) Enqueue(ctx context.Context, sc *picloud.Script, req *picloud.JobRequest, opts picloud.EnqueueOptions) (*picloud.Job, bool, error) {
	if sc.Disabled {
		return nil, false, picloud.ErrDisabled(sc)
	}
	if err := q.admit(ctx, sc); err != nil {
		return nil, false, err
	}
	args := runArgs{
		ScriptID: sc.ID, ScriptName: sc.Name, Trigger: cmp.Or(opts.Trigger, picloud.TriggerAsync),
		Request: req, IdempotencyKey: opts.IdempotencyKey,
	}
	io := &river.InsertOpts{MaxAttempts: maxAttempts(sc), Tags: []string{scriptTag(sc.ID)}}
	if opts.IdempotencyKey != "" {
		io.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: allStates}
	}
	res, err := q.river.client.Insert(ctx, args, io)
	if err != nil {
		return nil, false, fmt.Errorf("jobs: enqueue %s: %w", sc.Name, err)
	}
	q.wakeUp()
	job, err := q.job(ctx, res.Job, false)
	return job, res.UniqueSkippedAsDuplicate, err
}

// admit refuses a run of sc when its queue, or the server's, is full.
func (q *Queue) admit(ctx context.Context, sc *picloud.Script) error {
	n, err := q.river.unfinished(ctx, sc.ID, q.cfg.MaxQueuedPerScript)
	if err != nil {
		return fmt.Errorf("jobs: count queued: %w", err)
	}
	what := fmt.Sprintf("script %q has %d queued runs", sc.Name, n)
	if n < q.cfg.MaxQueuedPerScript {
		if n, err = q.river.unfinished(ctx, "", q.cfg.MaxQueued); err != nil {
			return fmt.Errorf("jobs: count queued: %w", err)
		}
		if n < q.cfg.MaxQueued {
			return nil
		}
		what = fmt.Sprintf("the server has %d queued runs", n)
	}
	q.m.refused("queue_full")
	return &picloud.Error{
		Code:    picloud.EQueueFull,
		Message: what + ", its bound; retry later",
		Details: map[string]any{"retry_after": retryAfterFull},
	}
}

// Publish implements picloud.JobQueue: one run per enabled subscriber of
// each event's topic that admits the emitter and that it admits (confined
// scripts, picloud.MutuallyAdmitted; from nil: an emitter that is no stored
// script, which no confined subscriber admits), all inserted in one
// transaction. The queue bounds do not apply (the emit budget and the chain
// depth bound events).
func (q *Queue) Publish(ctx context.Context, from *picloud.Script, events []picloud.Event) error {
	var params []river.InsertManyParams
	var emitter string
	if from != nil {
		emitter = from.Name
	}
	// An execution may emit many events of one topic: its subscribers are
	// read once.
	subscribers := map[string][]*picloud.Script{}
	for _, ev := range events {
		if ev.ID == "" {
			ev.ID = uuid.NewString()
		}
		ev.EmittedBy = cmp.Or(ev.EmittedBy, emitter)
		ev.Depth = max(ev.Depth, 1)
		subs, ok := subscribers[ev.Topic]
		if !ok {
			var err error
			if subs, err = q.store.SubscribedScripts(ctx, ev.Topic); err != nil {
				return fmt.Errorf("jobs: publish %s: %w", ev.Topic, err)
			}
			subscribers[ev.Topic] = subs
		}
		for _, sc := range subs {
			if sc.Disabled {
				continue
			}
			// Confined scripts (picloud.Script.ConfinedTo) exchange events
			// only with the scripts they admit and that admit them.
			if !picloud.MutuallyAdmitted(from, sc) {
				q.log.Info("jobs: event not delivered: the emitter and the subscriber do not admit each other (confined scripts)",
					"topic", ev.Topic, "emitter", emitter, "emitter_confined_to", confinedTo(from),
					"subscriber", sc.Name, "subscriber_confined_to", sc.ConfinedTo)
				continue
			}
			e := ev
			params = append(params, river.InsertManyParams{
				Args: runArgs{ScriptID: sc.ID, ScriptName: sc.Name, Trigger: picloud.TriggerEvent, Event: &e},
				InsertOpts: &river.InsertOpts{
					MaxAttempts: maxAttempts(sc), Tags: []string{scriptTag(sc.ID)},
				},
			})
		}
	}
	if len(params) > 0 {
		if _, err := q.river.client.InsertMany(ctx, params); err != nil {
			return fmt.Errorf("jobs: publish: %w", err)
		}
		q.wakeUp()
	}
	q.m.published(len(events), len(params))
	return nil
}

// Job implements picloud.JobQueue.
func (q *Queue) Job(ctx context.Context, id string) (*picloud.Job, error) {
	row, err := q.row(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := q.flush(ctx); err != nil {
		return nil, err
	}
	return q.job(ctx, row, true)
}

// DeadLetters implements picloud.JobQueue. limit 0 means 50.
func (q *Queue) DeadLetters(ctx context.Context, scriptID string, limit int) ([]*picloud.Job, error) {
	if limit <= 0 {
		limit = 50
	}
	p := river.NewJobListParams().
		Kinds(kindRun, kindCron).
		States(rivertype.JobStateDiscarded, rivertype.JobStateCancelled).
		OrderBy(river.JobListOrderByFinalizedAt, river.SortOrderDesc).
		First(min(limit, 10000))
	if scriptID != "" {
		p = p.TagsAny(scriptTag(scriptID))
	}
	res, err := q.river.client.JobList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("jobs: dead letters: %w", err)
	}
	if err := q.flush(ctx); err != nil {
		return nil, err
	}
	out := make([]*picloud.Job, 0, len(res.Jobs))
	for _, row := range res.Jobs {
		job, err := q.job(ctx, row, true)
		if err != nil {
			return nil, err
		}
		out = append(out, job)
	}
	return out, nil
}

// Requeue implements picloud.JobQueue: River's retry makes the job
// available now, with one more attempt if it had none left.
func (q *Queue) Requeue(ctx context.Context, id string) (*picloud.Job, error) {
	row, err := q.deadRow(ctx, id)
	if err != nil {
		return nil, err
	}
	if row, err = q.river.client.JobRetry(ctx, row.ID); err != nil {
		return nil, fmt.Errorf("jobs: requeue %s: %w", id, err)
	}
	q.wakeUp()
	if err := q.flush(ctx); err != nil {
		return nil, err
	}
	return q.job(ctx, row, true)
}

// Discard implements picloud.JobQueue.
func (q *Queue) Discard(ctx context.Context, id string) error {
	row, err := q.deadRow(ctx, id)
	if err != nil {
		return err
	}
	if _, err := q.river.client.JobDelete(ctx, row.ID); errors.Is(err, rivertype.ErrNotFound) {
		return picloud.Errorf(picloud.ENotFound, "job %q not found", id)
	} else if err != nil {
		return fmt.Errorf("jobs: discard %s: %w", id, err)
	}
	return nil
}

// FireSchedule implements picloud.JobQueue: a firing now, which runs even
// when the schedule is paused (people and tests try a schedule out).
func (q *Queue) FireSchedule(ctx context.Context, s *picloud.Schedule) (*picloud.Job, error) {
	sc, err := q.store.Script(ctx, s.ScriptID)
	if err != nil {
		return nil, err
	}
	if sc.Disabled {
		return nil, picloud.ErrDisabled(sc)
	}
	res, err := q.insertFiring(ctx, sc, s, time.Now(), true)
	if err != nil {
		return nil, err
	}
	return q.job(ctx, res.Job, false)
}

// insertFiring inserts the firing of s at at, with the script's attempts
// like any job, unique over every state.
func (q *Queue) insertFiring(ctx context.Context, sc *picloud.Script, s *picloud.Schedule, at time.Time, manual bool) (*rivertype.JobInsertResult, error) {
	args := cronArgs{
		ScriptID: sc.ID, ScriptName: sc.Name, ScheduleID: s.ID, Cron: s.Cron, Body: s.Body,
		ScheduledAt: at.UTC(), Manual: manual,
	}
	res, err := q.river.client.Insert(ctx, args, &river.InsertOpts{
		MaxAttempts: maxAttempts(sc),
		Tags:        []string{scriptTag(sc.ID)},
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByState: allStates},
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: fire schedule %s: %w", s.ID, err)
	}
	q.wakeUp()
	return res, nil
}

// SchedulesChanged implements picloud.JobQueue.
func (q *Queue) SchedulesChanged() {
	select {
	case q.wake <- struct{}{}:
	default: // a replan is pending already
	}
}

// row reads a job of this package's kinds.
func (q *Queue) row(ctx context.Context, id string) (*rivertype.JobRow, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return nil, picloud.Errorf(picloud.ENotFound, "job %q not found", id)
	}
	row, err := q.river.client.JobGet(ctx, n)
	if errors.Is(err, rivertype.ErrNotFound) || err == nil && row.Kind != kindRun && row.Kind != kindCron {
		return nil, picloud.Errorf(picloud.ENotFound, "job %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("jobs: job %s: %w", id, err)
	}
	return row, nil
}

// deadRow reads a dead job; any other is an invalid_request.
func (q *Queue) deadRow(ctx context.Context, id string) (*rivertype.JobRow, error) {
	row, err := q.row(ctx, id)
	if err != nil {
		return nil, err
	}
	if st := stateOf(row); st != picloud.JobDead {
		// Not found among the dead letters (GET /api/dead-letters/{id}
		// answers the same): a live job is never requeued or discarded.
		return nil, picloud.Errorf(picloud.ENotFound, "job %s is not a dead letter (it is %s)", id, st)
	}
	return row, nil
}

func (q *Queue) flush(ctx context.Context) error {
	if q.cfg.Flush == nil {
		return nil
	}
	if err := q.cfg.Flush(ctx); err != nil {
		return fmt.Errorf("jobs: flush execution logs: %w", err)
	}
	return nil
}

// stateOf maps River's state to the job's.
func stateOf(row *rivertype.JobRow) picloud.JobState {
	switch row.State {
	case rivertype.JobStateRunning:
		return picloud.JobRunning
	case rivertype.JobStateCompleted:
		return picloud.JobSucceeded
	case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
		return picloud.JobDead
	case rivertype.JobStateRetryable:
		return picloud.JobRetrying
	}
	// available, scheduled, pending: waiting, for a first attempt or a next
	// one (a snooze gives the attempt back).
	if row.Attempt > 0 {
		return picloud.JobRetrying
	}
	return picloud.JobQueued
}

// job makes the picloud.Job of row; with attempts, its attempts' executions
// too (the caller flushes the sink first).
func (q *Queue) job(ctx context.Context, row *rivertype.JobRow, attempts bool) (*picloud.Job, error) {
	id := strconv.FormatInt(row.ID, 10)
	j := &picloud.Job{
		ID: id, State: stateOf(row), Attempt: row.Attempt, MaxAttempts: row.MaxAttempts,
		CreatedAt: picloud.Time{Time: row.CreatedAt.UTC()}, ScheduledAt: picloud.Time{Time: row.ScheduledAt.UTC()},
		Attempts: []picloud.JobAttempt{}, Errors: []picloud.JobError{},
	}
	if row.FinalizedAt != nil {
		j.FinalizedAt.Time = row.FinalizedAt.UTC()
	}
	for _, e := range row.Errors {
		j.Errors = append(j.Errors, picloud.JobError{Attempt: e.Attempt, At: picloud.Time{Time: e.At.UTC()}, Error: e.Error})
	}
	switch row.Kind {
	case kindRun:
		var a runArgs
		if err := json.Unmarshal(row.EncodedArgs, &a); err != nil {
			return nil, fmt.Errorf("jobs: job %s: %w", id, err)
		}
		j.ScriptID, j.ScriptName, j.Trigger, j.IdempotencyKey, j.Event = a.ScriptID, a.ScriptName, a.Trigger, a.IdempotencyKey, a.Event
		j.Request = a.request()
	case kindCron:
		var a cronArgs
		if err := json.Unmarshal(row.EncodedArgs, &a); err != nil {
			return nil, fmt.Errorf("jobs: job %s: %w", id, err)
		}
		j.ScriptID, j.ScriptName, j.Trigger = a.ScriptID, a.ScriptName, picloud.TriggerCron
		j.Schedule = a.firing()
		j.Request = a.request()
	}
	if !attempts || row.Attempt == 0 && len(row.Errors) == 0 {
		return j, nil
	}
	logs, err := q.store.QueryExecutions(ctx, picloud.ExecutionQuery{JobID: id, Limit: 1000})
	if err != nil {
		return nil, fmt.Errorf("jobs: job %s: attempts: %w", id, err)
	}
	// SQLite may give a deleted job's id to a new one: its executions are
	// older than the job.
	created := row.CreatedAt.Add(-time.Second)
	for _, l := range logs {
		if l.StartedAt.Before(created) {
			continue
		}
		j.Attempts = append(j.Attempts, picloud.JobAttempt{
			Attempt: l.Attempt, ExecutionID: l.ID, Status: l.Status, StartedAt: l.StartedAt, Error: l.Error,
		})
	}
	slices.SortFunc(j.Attempts, func(a, b picloud.JobAttempt) int {
		return cmp.Or(cmp.Compare(a.Attempt, b.Attempt), a.StartedAt.Compare(b.StartedAt.Time))
	})
	return j, nil
}

// request is the request an async or event run gets: an event's is a POST
// of its payload as JSON.
func (a *runArgs) request() *picloud.JobRequest {
	if a.Request != nil {
		return a.Request
	}
	r := &picloud.JobRequest{Method: "POST", Path: "/fn/" + a.ScriptName}
	if a.Event != nil {
		r.Header = map[string][]string{"Content-Type": {"application/json"}}
		r.Body = a.Event.Payload
	}
	return r
}

// request is the request a firing gets: a POST of the schedule's body.
func (a *cronArgs) request() *picloud.JobRequest {
	return &picloud.JobRequest{Method: "POST", Path: "/fn/" + a.ScriptName, Body: []byte(a.Body)}
}

func (a *cronArgs) firing() *picloud.ScheduleFiring {
	return &picloud.ScheduleFiring{ID: a.ScheduleID, Cron: a.Cron, ScheduledAt: picloud.Time{Time: a.ScheduledAt}}
}

func confinedTo(sc *picloud.Script) string {
	if sc == nil {
		return ""
	}
	return sc.ConfinedTo
}
