package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// River's client sleeps (is stopped) while no job is unfinished. Running, it
// wakes up more than twenty times a second whatever the poll interval (its
// completer ticks every 50 ms; its producer, elector and queue settings poll
// query the database every few seconds): measured, about 200 ms of CPU per
// 30 s, against 0.2 ms for an idle process without it.
//
// Each job this process inserts wakes the client (River then fetches at
// once); a client without unfinished jobs for sleepAfter stops. It runs as
// long as any job waits, a retry's backoff included, so River's scheduler
// and maintenance (the job cleaner) run then. On SQLite one process uses the
// database, so it inserts every job. On PostgreSQL other processes insert
// too: a connection of its own listens, while the client sleeps, for River's
// insert notifications, and a check every PlanRefresh finds the rest (a job
// left running by a process that died).
const (
	sleepAfter = 30 * time.Second // no unfinished job for this long: sleep
	sleepCheck = 5 * time.Second  // how often an awake client checks
	wakeRetry  = 5 * time.Second  // after a failed start or listen
)

// wakeUp tells the keeper that a job may be waiting. It never blocks: a
// River worker calls it (through Publish).
func (q *Queue) wakeUp() {
	select {
	case q.poke <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// keep runs River's client: started while jobs are unfinished, stopped once
// none has been for sleepAfter. Stop cancels ctx, then sends its own context
// on stop: keep stops the client with it, answers on done and returns.
func (q *Queue) keep(ctx context.Context, stop <-chan context.Context, done chan<- error) {
	var (
		awake    bool
		ticker   *time.Ticker // awake: the idle check; asleep: PostgreSQL's check
		lastBusy time.Time
	)
	setTicker := func(d time.Duration) {
		if ticker != nil {
			ticker.Stop()
			ticker = nil
		}
		if d > 0 {
			ticker = time.NewTicker(d)
		}
	}
	asleep := func() {
		awake = false
		q.awake.Store(false)
		if q.river.listen != nil {
			setTicker(q.cfg.PlanRefresh)
		} else {
			setTicker(0) // SQLite: nothing to check, no timer at all
		}
	}
	woke := func() {
		awake, lastBusy = true, time.Now()
		q.awake.Store(true)
		setTicker(min(sleepCheck, max(q.sleepAfter/2, time.Millisecond)))
	}
	asleep()
	defer setTicker(0)
	for {
		var tick <-chan time.Time
		if ticker != nil {
			tick = ticker.C
		}
		select {
		case c := <-stop:
			var err error
			if awake {
				err = q.stopClient(c)
			}
			done <- err
			return
		case <-q.poke:
			lastBusy = time.Now()
			if !awake && q.start(ctx) {
				woke()
			}
		case <-tick:
			if !awake {
				if q.start(ctx) {
					woke()
				}
				continue
			}
			n, err := q.river.unfinished(ctx, "", 1)
			if err != nil || n > 0 {
				lastBusy = time.Now()
				continue
			}
			if time.Since(lastBusy) < q.sleepAfter {
				continue
			}
			// A job inserted meanwhile may be running: stopping waits for
			// it, and its wake-up (pending on q.poke) starts the client
			// again. When Stop interrupts the wait, the client stays awake
			// for Stop to stop.
			if err := q.river.client.Stop(ctx); err != nil {
				continue
			}
			asleep()
			q.wakeUp() // recount: an insert may have come before the stop
		}
	}
}

// start starts River's client if a job is unfinished, and reports whether
// it did.
func (q *Queue) start(ctx context.Context) bool {
	n, err := q.river.unfinished(ctx, "", 1)
	if err == nil && n == 0 {
		q.startErr.Store(nil) // the database answers: nothing to start
		return false          // a duplicate insert, a requeue of nothing
	}
	if err == nil {
		err = q.river.client.Start(context.WithoutCancel(ctx))
	}
	if err != nil {
		if ctx.Err() == nil {
			q.startErr.Store(&err)
			q.log.Warn("jobs: start River", "error", err)
			time.AfterFunc(wakeRetry, q.wakeUp)
		}
		return false
	}
	q.startErr.Store(nil)
	return true
}

// listen wakes the keeper on each insert notification until ctx ends,
// reconnecting after a failure (and waking the keeper then: notifications
// may have been missed).
func (q *Queue) listen(ctx context.Context) {
	for {
		// The listener wakes the keeper once LISTEN is in place, then on
		// each notification: either says it works.
		err := q.river.listen(ctx, func() {
			q.listenErr.Store(nil)
			q.wakeUp()
		})
		if ctx.Err() != nil {
			return
		}
		q.listenErr.Store(&err)
		q.log.Warn("jobs: listen for other processes' jobs", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wakeRetry):
		}
	}
}

// stopClient stops River's client: it stops fetching and waits for the
// running attempts until ctx ends, then cancels them and gives them a
// moment to record their outcome.
func (q *Queue) stopClient(ctx context.Context) error {
	err := q.river.client.Stop(ctx)
	if err == nil {
		return nil
	}
	hard, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if herr := q.river.client.StopAndCancel(hard); herr != nil {
		return fmt.Errorf("jobs: stop: %w", errors.Join(err, herr))
	}
	return nil
}

// Health is the queue's health for /api/health: an error while River's
// client fails to start (jobs wait: the database is away or refuses River's
// queries) or while the listener for other processes' jobs is down (they
// wait for the next check, up to PlanRefresh). Neither loses a job.
func (q *Queue) Health(context.Context) error {
	if p := q.startErr.Load(); p != nil {
		return fmt.Errorf("River does not start: %w", *p)
	}
	if p := q.listenErr.Load(); p != nil {
		return fmt.Errorf("not listening for other processes' jobs: %w", *p)
	}
	return nil
}
