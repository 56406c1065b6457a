package jobs

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/picloud/picloud"
)

// The job kinds, as River stores them.
const (
	kindRun  = "picloud_run"  // an async or event run
	kindCron = "picloud_cron" // a schedule's firing
)

// runArgs are an async or event run's. The river:"unique" fields make the
// unique key of an insert with an Idempotency-Key (the others have no
// unique options, and so no key).
type runArgs struct {
	ScriptID       string              `json:"script_id" river:"unique"`
	ScriptName     string              `json:"script_name"`
	Trigger        picloud.Trigger     `json:"trigger"`
	Request        *picloud.JobRequest `json:"request,omitempty"`
	Event          *picloud.Event      `json:"event,omitempty"`
	IdempotencyKey string              `json:"idempotency_key,omitempty" river:"unique"`
}

func (runArgs) Kind() string { return kindRun }

// cronArgs are a schedule firing's: unique by schedule and scheduled time,
// so every process that plans the firing inserts the same job. Manual
// firings (FireSchedule) are a key of their own.
type cronArgs struct {
	ScriptID    string    `json:"script_id"`
	ScriptName  string    `json:"script_name"`
	ScheduleID  string    `json:"schedule_id" river:"unique"`
	Cron        string    `json:"cron"`
	Body        string    `json:"body"`
	ScheduledAt time.Time `json:"scheduled_at" river:"unique"`
	Manual      bool      `json:"manual,omitempty" river:"unique"`
}

func (cronArgs) Kind() string { return kindCron }

// allStates makes an idempotency key or a firing unique over every state,
// finished ones included, until the row is deleted (see the retentions).
var allStates = rivertype.JobStates()

// scriptTag tags a job with its script, for listing a script's dead letters
// (River's tags allow letters, digits, '_' and '-').
func scriptTag(scriptID string) string { return "script_" + scriptID }

// maxAttempts is a script's attempts per job.
func maxAttempts(sc *picloud.Script) int {
	if sc.MaxAttempts > 0 {
		return int(sc.MaxAttempts)
	}
	return picloud.DefaultMaxAttempts
}

// retryPolicy spaces retries exponentially: base after the first failed
// attempt, twice as long after each next one, ±20% jitter so that jobs
// failed together do not retry together, never more than max.
type retryPolicy struct{ base, max time.Duration }

// NextRetry implements river.ClientRetryPolicy.
func (p *retryPolicy) NextRetry(row *rivertype.JobRow) time.Time {
	return time.Now().Add(p.delay(row.Attempt, rand.Float64()))
}

// delay is the wait after the failed attempt number attempt (1-based), r
// a random number in [0, 1).
func (p *retryPolicy) delay(attempt int, r float64) time.Duration {
	d := p.base
	for i := 1; i < attempt && d < p.max; i++ {
		d *= 2
	}
	d = time.Duration(float64(d) * (0.8 + 0.4*r))
	return max(min(d, p.max), time.Millisecond)
}

var _ river.ClientRetryPolicy = (*retryPolicy)(nil)
