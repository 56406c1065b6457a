package picloud

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// The triggers of Step 9: what starts an execution besides an HTTP request
// (TriggerHTTP) and a test invocation (TriggerTest).
const (
	TriggerCron  Trigger = "cron"  // a schedule's firing
	TriggerAsync Trigger = "async" // an asynchronous invocation (Prefer: respond-async, /api/scripts/{id}/async)
	TriggerEvent Trigger = "event" // an event a script emitted to a topic this script subscribes to
)

// EQueueFull is the code of a refused asynchronous invocation or event: the
// script's (or the server's) queue is at its bound. HTTP 429 with Retry-After.
const EQueueFull = "queue_full"

// The script settings of Step 9 and their ranges.
const (
	DefaultMaxAttempts   = 3   // attempts of an async or event run when max_attempts is 0
	MaxMaxAttemptsLimit  = 100 // the max_attempts setting's range
	MaxSubscriptions     = 64  // topics one script may subscribe to
	MaxScheduleBodyBytes = 64 << 10
	MaxCronBytes         = 256
)

// ValidTopic reports whether topic names an event topic: lower-case letters,
// digits, '.', '_' and '-', starting with a letter or digit, at most 128 bytes
// ("order.created").
func ValidTopic(topic string) bool { return slug(topic, lowerDigits, lowerDigits+"._-", 128) }

// Topics splits a stored subscriptions setting ("a,b") into topics, trimmed,
// without empty entries and duplicates, in order.
func Topics(setting string) []string {
	var out []string
	for _, t := range strings.Split(setting, ",") {
		t = strings.TrimSpace(t)
		if t != "" && !contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Schedule is a cron trigger of a script. Cron is the expression as given
// (5 fields, 6 with seconds first, @hourly-style shortcuts, @every <duration>);
// Timezone an IANA name ("" is UTC); Body the request body each firing gets.
// LastScheduledAt is the scheduled time of the newest firing planned (zero:
// none yet); the missed-firing policy reads it at start.
type Schedule struct {
	ID              string `json:"id"`
	ScriptID        string `json:"script_id"`
	Cron            string `json:"cron"`
	Timezone        string `json:"timezone"`
	Body            string `json:"body"`
	Enabled         bool   `json:"enabled"`
	LastScheduledAt Time   `json:"last_scheduled_at"`
	CreatedAt       Time   `json:"created_at"`
	UpdatedAt       Time   `json:"updated_at"`
	// NextRuns are the next firing times (the API fills them; stores do not).
	NextRuns []Time `json:"next_runs,omitempty"`
}

// ScheduleUpdate is a partial update of a schedule (and, with Cron set, the
// body of POST /api/scripts/{id}/schedules; Enabled defaults to true there).
type ScheduleUpdate struct {
	Cron     *string `json:"cron"`
	Timezone *string `json:"timezone"`
	Body     *string `json:"body"`
	Enabled  *bool   `json:"enabled"`
}

// Apply changes s as the update says.
func (u ScheduleUpdate) Apply(s *Schedule) {
	if u.Cron != nil {
		s.Cron = strings.TrimSpace(*u.Cron)
	}
	if u.Timezone != nil {
		s.Timezone = strings.TrimSpace(*u.Timezone)
	}
	if u.Body != nil {
		s.Body = *u.Body
	}
	if u.Enabled != nil {
		s.Enabled = *u.Enabled
	}
}

// ScheduleStore keeps schedules. Deleting a script deletes its schedules.
// Methods return an *Error with ENotFound where that applies.
type ScheduleStore interface {
	// CreateSchedule stores s, filling ID and the times.
	CreateSchedule(ctx context.Context, s *Schedule) error
	Schedule(ctx context.Context, id string) (*Schedule, error)
	// ListSchedules lists a script's schedules (every schedule for ""),
	// oldest first.
	ListSchedules(ctx context.Context, scriptID string) ([]*Schedule, error)
	UpdateSchedule(ctx context.Context, id string, u ScheduleUpdate) (*Schedule, error)
	DeleteSchedule(ctx context.Context, id string) error
	// AdvanceSchedule sets last_scheduled_at to at when it is unset or
	// earlier, and reports whether it did (false: another process planned
	// this firing or a later one already).
	AdvanceSchedule(ctx context.Context, id string, at time.Time) (bool, error)
}

// JobState is where an asynchronous run (async, event or cron) stands.
type JobState string

const (
	JobQueued    JobState = "queued"    // waiting for its first attempt (or scheduled)
	JobRunning   JobState = "running"   // an attempt is running
	JobSucceeded JobState = "succeeded" // an attempt succeeded
	JobRetrying  JobState = "retrying"  // an attempt failed; the next waits for its backoff
	JobDead      JobState = "dead"      // out of attempts (or discarded): a dead letter
)

// JobRequest is the request an asynchronous run gets, kept with its job: the
// original request's method, path, query, headers (PiCloud's credentials
// stripped before it is stored) and body.
type JobRequest struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Subpath string              `json:"subpath,omitempty"`
	Query   map[string][]string `json:"query,omitempty"`
	Header  map[string][]string `json:"headers,omitempty"`
	Body    []byte              `json:"body,omitempty"`
}

// Event is what events::emit(topic, payload) makes, and what a subscriber's
// run sees as request.event.
type Event struct {
	ID        string          `json:"id"`
	Topic     string          `json:"topic"`
	Payload   json.RawMessage `json:"payload"`
	EmittedBy string          `json:"emitted_by"` // the emitting script's name
	// Depth is the event chain's depth: 1 for an event emitted by a run
	// that no event triggered, n+1 for one emitted by a run of an event of
	// depth n.
	Depth int `json:"depth"`
}

// ScheduleFiring is what a cron run sees as request.schedule.
type ScheduleFiring struct {
	ID          string `json:"id"`
	Cron        string `json:"cron"`
	ScheduledAt Time   `json:"scheduled_at"`
}

// JobAttempt is one attempt of a job: its execution (readable at
// /api/executions/{id}) and outcome.
type JobAttempt struct {
	Attempt     int             `json:"attempt"`
	ExecutionID string          `json:"execution_id"`
	Status      ExecutionStatus `json:"status"`
	StartedAt   Time            `json:"started_at"`
	Error       *ExecError      `json:"error"`
}

// Job is an asynchronous run of a script and its attempts (GET /api/jobs/{id},
// the dead letters).
type Job struct {
	ID             string          `json:"id"`
	ScriptID       string          `json:"script_id"`
	ScriptName     string          `json:"script_name"`
	Trigger        Trigger         `json:"trigger"`
	State          JobState        `json:"state"`
	Attempt        int             `json:"attempt"` // attempts started so far
	MaxAttempts    int             `json:"max_attempts"`
	IdempotencyKey string          `json:"idempotency_key,omitempty"`
	Request        *JobRequest     `json:"request"`
	Schedule       *ScheduleFiring `json:"schedule,omitempty"`
	Event          *Event          `json:"event,omitempty"`
	CreatedAt      Time            `json:"created_at"`
	ScheduledAt    Time            `json:"scheduled_at"` // when the next attempt may start
	FinalizedAt    Time            `json:"finalized_at"`
	Attempts       []JobAttempt    `json:"attempts"`
	// Errors are the failed attempts' errors as the queue recorded them
	// (also for attempts whose execution row was pruned).
	Errors []JobError `json:"errors"`
}

// JobError is a failed attempt as the queue recorded it.
type JobError struct {
	Attempt int    `json:"attempt"`
	At      Time   `json:"at"`
	Error   string `json:"error"`
}

// JobAccepted is the body of a 202 answer to an asynchronous invocation.
type JobAccepted struct {
	JobID string `json:"job_id"`
	// Existing is true when an Idempotency-Key matched a job accepted
	// within the last 24 h: that job, not a new one.
	Existing bool `json:"existing,omitempty"`
}

// MaxIdempotencyKeyBytes bounds an Idempotency-Key header: it is stored
// with the job and is part of its uniqueness.
const MaxIdempotencyKeyBytes = 255

// ValidIdempotencyKey checks an Idempotency-Key header's value ("" is no
// key): at most MaxIdempotencyKeyBytes of printable ASCII. Both routes that
// queue a run (Prefer: respond-async and /api/scripts/{id}/async) apply it.
func ValidIdempotencyKey(key string) error {
	if len(key) > MaxIdempotencyKeyBytes {
		return fieldError("Idempotency-Key", "Idempotency-Key is over %d bytes", MaxIdempotencyKeyBytes)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return fieldError("Idempotency-Key", "Idempotency-Key must be printable ASCII")
		}
	}
	return nil
}

// ScheduleList answers the schedule lists.
type ScheduleList struct {
	Items []*Schedule `json:"items"`
}

// JobList answers GET /api/dead-letters.
type JobList struct {
	Items []*Job `json:"items"`
}

// PreviewRequest is the body of POST /api/schedules/preview.
type PreviewRequest struct {
	Cron     string `json:"cron"`
	Timezone string `json:"timezone"`
}

// PreviewResponse answers it: the next firing times.
type PreviewResponse struct {
	NextRuns []Time `json:"next_runs"`
}

// ExecutionQuery selects execution logs (newest first). Empty fields match
// everything; Limit 0 means 50.
type ExecutionQuery struct {
	ScriptID   string
	Trigger    Trigger
	JobID      string
	ScheduleID string
	// Statuses and Triggers keep the rows whose status (trigger) is one of
	// those listed; empty lists match every row. Triggers combines with
	// Trigger (both must hold).
	Statuses []ExecutionStatus
	Triggers []Trigger
	// Since and Until bound started_at: Since inclusive (started_at >=
	// Since), Until exclusive (started_at < Until); zero times are unbounded.
	Since time.Time
	Until time.Time
	// Text keeps the rows where one log line's message, or the error's
	// message, contains Text, compared case-insensitively (Unicode simple
	// folding, as strings.ToLower); "" matches every row.
	Text   string
	Limit  int
	Offset int
}

// TextPrefilter is a LIKE pattern (escape character '\\') the stores may put
// in SQL to narrow a text search before MatchText checks each row: it matches
// the stored JSON of the logs or the error whenever MatchText would match.
// ok is false when no such pattern is safe: text with characters the JSON
// encoding escapes or that fold differently outside ASCII (the store then
// scans the otherwise filtered rows). The pattern is ASCII, and the SQL
// compares it ignoring ASCII case. (The two non-ASCII letters whose lower
// case is ASCII, the Kelvin sign and the dotted capital I, are the one gap:
// a message holding them may be missed by a search for "k" or "i".)
func TextPrefilter(text string) (pattern string, ok bool) {
	if text == "" {
		return "", false
	}
	var b strings.Builder
	b.WriteByte('%')
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return "", false
		}
		if c == '%' || c == '_' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('%')
	return b.String(), true
}

// MatchText reports whether l matches ExecutionQuery.Text t: t is "" or is a
// case-insensitive substring of a log line's message or the error's message.
// Both stores apply it, so that they answer the same.
func (l *ExecutionLog) MatchText(t string) bool {
	if t == "" {
		return true
	}
	t = strings.ToLower(t)
	for _, line := range l.Logs {
		if strings.Contains(strings.ToLower(line.Message), t) {
			return true
		}
	}
	return l.Error != nil && strings.Contains(strings.ToLower(l.Error.Message), t)
}

// ErrDisabled is the error of a disabled script's invocations, queued runs
// and manual firings: 503 unavailable.
func ErrDisabled(sc *Script) *Error {
	return Errorf(EUnavailable, "script %q is disabled", sc.Name)
}

// EnqueueOptions say how an asynchronous run is queued.
type EnqueueOptions struct {
	Trigger        Trigger // TriggerAsync when empty
	IdempotencyKey string  // the caller's Idempotency-Key header ("" for none)
}

// JobRun is one attempt of a job, as the queue hands it to the orchestrator
// (the one place that runs executions).
type JobRun struct {
	JobID       string
	Attempt     int // 1 for the first attempt
	MaxAttempts int
	ScriptID    string
	Trigger     Trigger
	Request     *JobRequest
	Schedule    *ScheduleFiring // cron runs
	Event       *Event          // event runs
}

// JobQueue is the job queue (internal/jobs, on River) as the manager and the
// orchestrator use it.
type JobQueue interface {
	// Enqueue queues an asynchronous run of sc. With an IdempotencyKey that
	// sc's runs used within the last 24 h it returns that job and existing
	// true. A full queue is an *Error with EQueueFull whose Details hold
	// "retry_after" (seconds); a disabled script is EUnavailable.
	Enqueue(ctx context.Context, sc *Script, req *JobRequest, opts EnqueueOptions) (job *Job, existing bool, err error)
	// Publish delivers the events a successful execution of from emitted:
	// one queued run per enabled subscriber of each event's topic.
	Publish(ctx context.Context, from *Script, events []Event) error
	// Job returns a job with its attempts (ENotFound when unknown).
	Job(ctx context.Context, id string) (*Job, error)
	// DeadLetters lists the dead jobs, of one script or ("") all, newest first.
	DeadLetters(ctx context.Context, scriptID string, limit int) ([]*Job, error)
	// Requeue makes a dead job queued again (it gets at least one more attempt).
	Requeue(ctx context.Context, id string) (*Job, error)
	// Discard deletes a dead job.
	Discard(ctx context.Context, id string) error
	// FireSchedule queues a firing of s now (POST /api/schedules/{id}/run).
	FireSchedule(ctx context.Context, s *Schedule) (*Job, error)
	// SchedulesChanged tells the planner that schedules, or a script's
	// enabled setting, changed: it replans at once.
	SchedulesChanged()
}

// JobRunner runs one attempt of a job (the orchestrator). The error is set
// when nothing ran: the script is gone (ENotFound), disabled (EUnavailable),
// or the server is busy (EOverloaded, EUnavailable); otherwise the row of
// the execution, already recorded, tells the outcome.
type JobRunner interface {
	RunJob(ctx context.Context, run *JobRun) (*ExecutionLog, error)
}
