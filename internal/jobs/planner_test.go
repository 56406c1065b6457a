package jobs

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/postgres/pgtest"
)

func createSchedule(t *testing.T, s picloud.Store, sch *picloud.Schedule) *picloud.Schedule {
	t.Helper()
	if err := s.CreateSchedule(context.Background(), sch); err != nil {
		t.Fatal(err)
	}
	return sch
}

// firings returns the scheduled times of the runs of schedule id, in order,
// and fails on a time fired twice.
func firings(t *testing.T, id string, runners ...*runner) []time.Time {
	t.Helper()
	seen := map[time.Time]int{}
	var out []time.Time
	for _, r := range runners {
		for _, run := range r.Runs() {
			if run.Schedule == nil || run.Schedule.ID != id {
				continue
			}
			at := run.Schedule.ScheduledAt.Time
			if seen[at]++; seen[at] == 2 {
				t.Errorf("%s fired twice", at.Format(time.RFC3339Nano))
			}
			out = append(out, at)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// TestPerSecondSchedule: a 6-field schedule firing every second runs each
// second once, with the firing as its request.
func TestPerSecondSchedule(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		r := &runner{store: s}
		q := start(t, s, r, Config{})
		sc := createScript(t, s, &picloud.Script{Name: "tick"})
		sch := createSchedule(t, s, &picloud.Schedule{ScriptID: sc.ID, Cron: "* * * * * *", Body: "hi", Enabled: true})
		q.SchedulesChanged()
		eventually(t, 10*time.Second, "3 firings", func() bool { return len(firings(t, sch.ID, r)) >= 3 })
		at := firings(t, sch.ID, r)
		for i := 1; i < len(at); i++ {
			if d := at[i].Sub(at[i-1]); d != time.Second {
				t.Errorf("firings %s and %s: %s apart", at[i-1], at[i], d)
			}
		}
		for _, run := range r.Runs()[:1] {
			if run.Trigger != picloud.TriggerCron || run.Attempt != 1 || run.Request == nil || string(run.Request.Body) != "hi" ||
				run.Request.Method != "POST" || run.Request.Path != "/fn/tick" || run.Schedule.Cron != "* * * * * *" ||
				run.Schedule.ScheduledAt.Nanosecond() != 0 {
				t.Errorf("firing run: %+v %+v", run, run.Schedule)
			}
			job, err := q.Job(ctx, run.JobID)
			if err != nil || job.Trigger != picloud.TriggerCron || job.Schedule == nil || job.Schedule.ID != sch.ID {
				t.Errorf("firing job: %v %+v", err, job)
			}
		}
		got, err := s.Schedule(ctx, sch.ID)
		if err != nil || got.LastScheduledAt.IsZero() {
			t.Errorf("last scheduled at: %v %+v", err, got)
		}

		// Paused: it stops firing. A manual firing runs anyway.
		if _, err := s.UpdateSchedule(ctx, sch.ID, picloud.ScheduleUpdate{Enabled: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		q.SchedulesChanged()
		time.Sleep(100 * time.Millisecond) // the replan
		n := len(r.Runs())
		got, _ = s.Schedule(ctx, sch.ID)
		job, err := q.FireSchedule(ctx, got)
		if err != nil || job.Trigger != picloud.TriggerCron {
			t.Fatalf("fire: %v %+v", err, job)
		}
		waitState(t, q, job.ID, picloud.JobSucceeded, 5*time.Second)
		time.Sleep(1200 * time.Millisecond) // a planned firing would show by now
		if runs := r.Runs(); len(runs) > n+1 {
			// At most one planned firing may have been under way at the pause.
			extra := 0
			for _, run := range runs[n:] {
				if run.JobID != job.ID {
					extra++
				}
			}
			if extra > 1 {
				t.Errorf("%d firings after the pause", extra)
			}
		}

		// A disabled script: FireSchedule refuses.
		if _, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Enabled: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		_, err = q.FireSchedule(ctx, got)
		wantCode(t, err, picloud.EUnavailable)
	})
}

// TestFiringOfPausedScheduleSkipped: a firing queued before its schedule was
// paused (or its script disabled) completes without running.
func TestFiringSkipped(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		r := &runner{store: s}
		q := start(t, s, r, Config{})
		sc := createScript(t, s, &picloud.Script{Name: "a"})
		paused := createSchedule(t, s, &picloud.Schedule{ScriptID: sc.ID, Cron: "@yearly", Enabled: false})
		res, err := q.insertFiring(ctx, sc, paused, time.Now(), false)
		if err != nil {
			t.Fatal(err)
		}
		job := waitState(t, q, fmt.Sprint(res.Job.ID), picloud.JobSucceeded, 5*time.Second)
		if len(r.Runs()) != 0 || len(job.Attempts) != 0 {
			t.Errorf("a paused schedule's firing ran: %+v", r.Runs())
		}
	})
}

// TestTwoProcessesFireOnce: two queues (two River clients, two pools) on
// one PostgreSQL database fire each scheduled time exactly once.
func TestTwoProcessesFireOnce(t *testing.T) {
	t.Parallel()
	dbURL := os.Getenv("PICLOUD_TEST_DATABASE_URL")
	if dbURL == "" {
		t.Skip("PICLOUD_TEST_DATABASE_URL is not set")
	}
	{
		s1 := pgtest.Open(t, dbURL)
		s2 := reopenPostgres(t, s1)
		r1, r2 := &runner{store: s1}, &runner{store: s2}
		q1 := start(t, s1, r1, Config{})
		q2 := start(t, s2, r2, Config{})
		sc := createScript(t, s1, &picloud.Script{Name: "tick"})
		var schedules []*picloud.Schedule
		for _, cron := range []string{"* * * * * *", "*/2 * * * * *", "@every 1s"} {
			schedules = append(schedules, createSchedule(t, s1, &picloud.Schedule{ScriptID: sc.ID, Cron: cron, Enabled: true}))
		}
		q1.SchedulesChanged()
		q2.SchedulesChanged()
		eventually(t, 15*time.Second, "4 firings of each", func() bool {
			for _, sch := range schedules {
				if len(firings(t, sch.ID, r1, r2)) < 4 {
					return false
				}
			}
			return true
		})
		for _, sch := range schedules {
			firings(t, sch.ID, r1, r2) // fails on a time fired twice
		}
		// Both planned: each process's planner inserted some firings or
		// found them inserted; the jobs table holds one per time.
		ctx := context.Background()
		res, err := q1.river.client.JobList(ctx, river.NewJobListParams().Kinds(kindCron).First(10000))
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string]bool{}
		for _, row := range res.Jobs {
			if keys[string(row.EncodedArgs)] {
				t.Errorf("firing inserted twice: %s", row.EncodedArgs)
			}
			keys[string(row.EncodedArgs)] = true
		}
		t.Logf("runs: process 1 %d, process 2 %d", len(r1.Runs()), len(r2.Runs()))
	}
}

// TestMissedFirings: a firing due while no process ran fires once at start
// (MissedRunOnce), or not at all (MissedSkip).
func TestMissedFirings(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{MissedRunOnce, MissedSkip} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
				ctx := context.Background()
				s := open(t)
				sc := createScript(t, s, &picloud.Script{Name: "daily"})
				// A daily schedule whose firing comes a second or two after
				// its creation; no queue runs until it passed.
				due := time.Now().UTC().Truncate(time.Second).Add(2 * time.Second)
				cron := fmt.Sprintf("%d %d %d * * *", due.Second(), due.Minute(), due.Hour())
				sch := createSchedule(t, s, &picloud.Schedule{ScriptID: sc.ID, Cron: cron, Enabled: true})
				time.Sleep(time.Until(due.Add(100 * time.Millisecond)))
				r := &runner{store: s}
				q := start(t, s, r, Config{MissedFirings: policy})
				eventually(t, 5*time.Second, "the missed firing planned", func() bool {
					got, err := s.Schedule(ctx, sch.ID)
					if err != nil {
						t.Fatal(err)
					}
					return got.LastScheduledAt.Equal(due)
				})
				if policy == MissedSkip {
					res, err := q.river.client.JobList(ctx, river.NewJobListParams().Kinds(kindCron))
					if err != nil || len(res.Jobs) != 0 {
						t.Errorf("skipped firing queued: %v %d jobs", err, len(res.Jobs))
					}
					if runs := r.Runs(); len(runs) != 0 {
						t.Errorf("skipped firing ran: %+v", runs)
					}
					return
				}
				eventually(t, 5*time.Second, "the missed firing's run", func() bool { return len(r.Runs()) == 1 })
				if at := firings(t, sch.ID, r); len(at) != 1 || !at[0].Equal(due) {
					t.Errorf("firings %v, want %s", at, due)
				}
			})
		})
	}
}

// TestEnablingDoesNotCatchUp: a firing time that passed while the script
// was disabled does not run when it is enabled again, under either missed-
// firing policy (that policy is about the server being down).
func TestEnablingDoesNotCatchUp(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		sc := createScript(t, s, &picloud.Script{Name: "paused-script"})
		due := time.Now().UTC().Truncate(time.Second).Add(2 * time.Second)
		cron := fmt.Sprintf("%d %d %d * * *", due.Second(), due.Minute(), due.Hour())
		sch := createSchedule(t, s, &picloud.Schedule{ScriptID: sc.ID, Cron: cron, Enabled: true})
		off, on := false, true
		if _, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		r := &runner{store: s}
		q := start(t, s, r, Config{MissedFirings: MissedRunOnce})
		time.Sleep(time.Until(due.Add(200 * time.Millisecond)))
		if _, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Enabled: &on}); err != nil {
			t.Fatal(err)
		}
		q.SchedulesChanged()
		// A per-second schedule of the same script, created now, shows the
		// planner has replanned and fired since the enable.
		tick := createSchedule(t, s, &picloud.Schedule{ScriptID: sc.ID, Cron: "* * * * * *", Enabled: true})
		q.SchedulesChanged()
		eventually(t, 5*time.Second, "the per-second schedule's firing", func() bool { return len(firings(t, tick.ID, r)) > 0 })
		if at := firings(t, sch.ID, r); len(at) != 0 {
			t.Errorf("the firing of while the script was disabled ran: %v", at)
		}
		if got, err := s.Schedule(ctx, sch.ID); err != nil || !got.LastScheduledAt.IsZero() {
			t.Errorf("last_scheduled_at %v (%v), want unset", got.LastScheduledAt, err)
		}
	})
}

// TestFailedFiringRetried: a failing firing is retried like any job, then
// is a dead letter.
func TestFailedFiringRetried(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		r := &runner{store: s}
		r.setOutcome(func(*picloud.JobRun) (picloud.ExecutionStatus, error) { return picloud.StatusError, nil })
		q := start(t, s, r, Config{RetryBase: 50 * time.Millisecond})
		sc := createScript(t, s, &picloud.Script{Name: "a", MaxAttempts: 2})
		sch := createSchedule(t, s, &picloud.Schedule{ScriptID: sc.ID, Cron: "@yearly", Enabled: true})
		job, err := q.FireSchedule(ctx, sch)
		if err != nil {
			t.Fatal(err)
		}
		job = waitState(t, q, job.ID, picloud.JobDead, 10*time.Second)
		if job.Attempt != 2 || len(job.Attempts) != 2 || len(job.Errors) != 2 || job.Schedule == nil {
			t.Errorf("dead firing: %+v", job)
		}
		dead, err := q.DeadLetters(ctx, sc.ID, 10)
		if err != nil || len(dead) != 1 || dead[0].ID != job.ID {
			t.Errorf("dead letters: %v %+v", err, dead)
		}
	})
}

// TestOtherProcessSchedule: on PostgreSQL a process with no schedule planned
// still reloads every PlanRefresh, so that a schedule another process
// created (and maybe planned alone, then stopped) fires here too.
func TestOtherProcessSchedule(t *testing.T) {
	t.Parallel()
	dbURL := os.Getenv("PICLOUD_TEST_DATABASE_URL")
	if dbURL == "" {
		t.Skip("PICLOUD_TEST_DATABASE_URL is not set")
	}
	s1 := pgtest.Open(t, dbURL)
	r := &runner{store: s1}
	start(t, s1, r, Config{PlanRefresh: 100 * time.Millisecond})
	// Another process's edit: this queue is not told (no SchedulesChanged).
	s2 := reopenPostgres(t, s1)
	sc := createScript(t, s2, &picloud.Script{Name: "tick"})
	sch := createSchedule(t, s2, &picloud.Schedule{ScriptID: sc.ID, Cron: "* * * * * *", Enabled: true})
	eventually(t, 5*time.Second, "a firing", func() bool { return len(firings(t, sch.ID, r)) > 0 })
}
