package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestMissedFirings kills the server with SIGKILL while a schedule fires
// every 2 s, keeps it down past at least two firings, and starts it again
// with each policy for missed firings: run-once makes exactly one catch-up
// firing (for the latest missed time), skip none; then the schedule fires as
// before. The rows are counted by the scheduled time each run saw.
func TestMissedFirings(t *testing.T) {
	if !hasFlag("missed-firings") {
		t.Skip("this build's serve has no --missed-firings")
	}
	for _, policy := range []string{"run-once", "skip"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel() // light scenarios, mostly waiting: the two policies share the time
			eachStore(t, func(t *testing.T, b *backend) { missedFirings(t, b, policy) })
		})
	}
}

// firingSource answers with the firing's scheduled time.
const firingSource = `#{at: request.schedule.scheduled_at}`

const firingPeriod = 2 * time.Second

func missedFirings(t *testing.T, b *backend, policy string) {
	ctx := scenario(t)
	args := append(b.args(), "--jobs-poll-interval", "100ms", "--missed-firings", policy)
	s := startServer(ctx, t, "first", nil, args...)
	c := newClient(s.base, 2)
	id, err := c.deploy(ctx, "ticker", firingSource, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sched struct {
		ID string `json:"id"`
	}
	if err := c.admin(ctx, http.MethodPost, "/api/scripts/"+id+"/schedules", map[string]any{"cron": "*/2 * * * * *"}, &sched); err != nil {
		t.Fatal(err)
	}
	if _, err := awaitFirings(ctx, c, sched.ID, func(f []time.Time) bool { return len(f) >= 1 }); err != nil {
		t.Fatal(err)
	}
	// Kill half a period after a firing, when it has run.
	sleepUntil(ctx, nextBoundary(time.Now()).Add(firingPeriod/4))
	killed := time.Now()
	s.kill()

	// Down past two firings; started again just after a firing time, so
	// that the start (migrations and all) ends well before the next one:
	// every missed time is before the restart, every later one after it.
	restart := nextBoundary(killed.Add(2 * firingPeriod)).Add(100 * time.Millisecond)
	sleepUntil(ctx, restart)
	restarted := time.Now()
	s2 := startServer(ctx, t, "restarted", nil, args...)
	if up := time.Since(restarted); up > firingPeriod-200*time.Millisecond {
		t.Logf("the restart took %v, close to the period: the count below may mix missed and normal firings", up)
	}
	c2 := newClient(s2.base, 2)
	// Wait for a normal firing after the restart; the catch-up, queued at
	// start, has run by then.
	firings, err := awaitFirings(ctx, c2, sched.ID, func(f []time.Time) bool {
		for _, at := range f {
			if at.After(restarted) {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	var missed []time.Time
	seen := map[time.Time]int{}
	for _, at := range firings {
		seen[at]++
		if at.After(killed) && !at.After(restarted) {
			missed = append(missed, at)
		}
	}
	for at, n := range seen {
		if n > 1 {
			t.Errorf("%s ran %d times", at.Format(time.RFC3339), n)
		}
	}
	latest := restarted.Truncate(firingPeriod) // the latest missed time
	switch policy {
	case "run-once":
		if len(missed) != 1 || !missed[0].Equal(latest) {
			t.Errorf("run-once: the missed times %v ran, want exactly the latest, %s", missed, latest.Format(time.RFC3339))
		}
	case "skip":
		if len(missed) != 0 {
			t.Errorf("skip: the missed times %v ran, want none", missed)
		}
	}
	t.Logf("RESULT missed_firings store=%s policy=%s down=%v catch_up_runs=%d runs=%d",
		b.kind, policy, restarted.Sub(killed).Round(time.Millisecond), len(missed), len(firings))
}

// nextBoundary is the first firing time of the 2 s schedule after t.
func nextBoundary(t time.Time) time.Time { return t.Truncate(firingPeriod).Add(firingPeriod) }

func sleepUntil(ctx context.Context, at time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(at)):
	}
}

// awaitFirings reads the schedule's runs until done accepts their scheduled
// times, and returns them.
func awaitFirings(ctx context.Context, c *client, scheduleID string, done func([]time.Time) bool) ([]time.Time, error) {
	for {
		var page struct {
			Items []struct {
				Status   string `json:"status"`
				Response *struct {
					Body string `json:"body"`
				} `json:"response"`
			} `json:"items"`
		}
		if err := c.admin(ctx, http.MethodGet, "/api/schedules/"+scheduleID+"/executions?limit=200", nil, &page); err != nil {
			return nil, err
		}
		var at []time.Time
		for _, it := range page.Items {
			var out struct {
				At time.Time `json:"at"`
			}
			if it.Response == nil || json.Unmarshal([]byte(it.Response.Body), &out) != nil || out.At.IsZero() {
				return nil, fmt.Errorf("a run of the schedule did not answer its scheduled time: %+v", it)
			}
			at = append(at, out.At)
		}
		if done(at) {
			return at, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("schedule %s: runs at %v: %w", scheduleID, at, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
