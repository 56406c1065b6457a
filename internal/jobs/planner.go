package jobs

import (
	"context"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/cron"
)

// planned is one enabled schedule of an enabled script, as the planner
// holds it between loads.
type planned struct {
	s     *picloud.Schedule
	sc    *picloud.Script
	cron  *cron.Schedule
	next  time.Time // the next firing; zero: none (the expression never fires again)
	retry time.Time // after a failed insert: not before then
}

// maxCatchUp bounds the firings walked in one step to find the latest one
// due (a per-second schedule missed for days).
const maxCatchUp = 1_000_000

// plan is the planner loop: it fires each planned schedule at its next time
// and sleeps until the earliest next one. It reloads the schedules when told
// (SchedulesChanged) and every PlanRefresh while any is planned (another
// process's edits). With none planned it holds no timer at all on SQLite
// (one process: every edit is its own); on PostgreSQL it still reloads every
// PlanRefresh, as a schedule another process created must fire here too
// once that process stops.
func (q *Queue) plan(ctx context.Context) {
	var (
		plan       []*planned
		refreshAt  time.Time // when to reload
		loadFailed bool
		reload     = true
		timer      *time.Timer
		shared     = q.river.listen != nil // other processes use the database
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if reload {
			p, err := q.load(ctx)
			if ctx.Err() != nil {
				return
			}
			if loadFailed = err != nil; loadFailed {
				q.log.Warn("jobs: load schedules", "error", err)
			} else {
				plan = p
			}
			refreshAt, reload = time.Now().Add(q.cfg.PlanRefresh), false
		}
		now := time.Now()
		for _, p := range plan {
			if !p.next.IsZero() && !p.next.After(now) && !p.retry.After(now) {
				q.fire(ctx, p, now)
			}
		}
		// The earliest wake: the next firing, the next refresh.
		var wake time.Time
		for _, p := range plan {
			if at := later(p.next, p.retry); !p.next.IsZero() && (wake.IsZero() || at.Before(wake)) {
				wake = at
			}
		}
		if (len(plan) > 0 || loadFailed || shared) && (wake.IsZero() || refreshAt.Before(wake)) {
			wake = refreshAt
		}
		var tick <-chan time.Time
		if !wake.IsZero() {
			d := max(time.Until(wake), 0)
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			tick = timer.C
		} else if timer != nil {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
			reload = true
		case <-tick:
			reload = !time.Now().Before(refreshAt)
		}
	}
}

// load reads the enabled schedules of enabled scripts and computes each
// one's next firing after the latest of its last planned firing, its last
// edit and its script's (a paused schedule resumed, or a disabled script
// enabled, does not catch up with the pause).
func (q *Queue) load(ctx context.Context) ([]*planned, error) {
	all, err := q.store.ListSchedules(ctx, "")
	if err != nil {
		return nil, err
	}
	scripts := map[string]*picloud.Script{}
	var plan []*planned
	for _, s := range all {
		if !s.Enabled {
			continue
		}
		sc, ok := scripts[s.ScriptID]
		if !ok {
			sc, err = q.store.Script(ctx, s.ScriptID)
			if picloud.ErrorCode(err) == picloud.ENotFound {
				sc = nil // deleted meanwhile: its schedules go with it
			} else if err != nil {
				return nil, err
			}
			scripts[s.ScriptID] = sc
		}
		if sc == nil || sc.Disabled {
			continue
		}
		c, err := cron.Parse(s.Cron, s.Timezone)
		if err != nil {
			// The API validates expressions: this one was stored by an
			// older or newer PiCloud.
			q.log.Warn("jobs: schedule not planned", "schedule", s.ID, "cron", s.Cron, "error", err)
			continue
		}
		// The script's last edit counts too: enabling a script does not
		// catch up with the firings of while it was disabled.
		base := later(later(s.LastScheduledAt.Time, sc.UpdatedAt.Time), later(s.CreatedAt.Time, s.UpdatedAt.Time))
		plan = append(plan, &planned{s: s, sc: sc, cron: c, next: c.Next(base)})
	}
	return plan, nil
}

// fire queues p's latest firing due at now (the ones before it coalesce into
// it) and plans the next. A firing due before the queue started was missed
// while no process ran: MissedSkip drops it.
func (q *Queue) fire(ctx context.Context, p *planned, now time.Time) {
	at := p.next
	for range maxCatchUp {
		n := p.cron.Next(at)
		if n.IsZero() || n.After(now) {
			break
		}
		at = n
	}
	if at.Before(q.startedAt) && q.cfg.MissedFirings == MissedSkip {
		q.log.Info("jobs: missed firing skipped", "schedule", p.s.ID, "scheduled_at", at)
	} else {
		res, err := q.insertFiring(ctx, p.sc, p.s, at, false)
		if err != nil {
			if ctx.Err() == nil {
				q.log.Warn("jobs: schedule firing", "schedule", p.s.ID, "scheduled_at", at, "error", err)
			}
			p.retry = now.Add(time.Second)
			return
		}
		if !res.UniqueSkippedAsDuplicate {
			q.m.fired()
		}
	}
	// The insert came first: a crash between the two leaves the firing
	// queued and last_scheduled_at behind, which the next start's unique
	// insert of the same firing absorbs.
	// A schedule deleted since the load is not found: its firing is
	// skipped when it runs, and the delete's replan drops it.
	if _, err := q.store.AdvanceSchedule(ctx, p.s.ID, at); err != nil && ctx.Err() == nil && picloud.ErrorCode(err) != picloud.ENotFound {
		q.log.Warn("jobs: advance schedule", "schedule", p.s.ID, "error", err)
	}
	p.next, p.retry = p.cron.Next(at), time.Time{}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
