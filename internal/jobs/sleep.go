package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// On SQLite River's client sleeps (is stopped) while no job is unfinished.
// Running, it wakes up more than twenty times a second whatever the poll
// interval (its completer ticks every 50 ms; its producer polls, its elector
// and its queue settings poll query the database every few seconds):
// measured, about 200 ms of CPU per 30 s, against 0.2 ms for an idle
// process without it. One process uses a SQLite database, so this process
// inserts every job: each insert wakes the client (River then fetches at
// once), and a client without unfinished jobs for sleepAfter stops. It runs
// as long as any job waits, a retry's backoff included, so River's
// scheduler and maintenance (the job cleaner) run then. On PostgreSQL other
// processes insert too, announced by LISTEN/NOTIFY: the client runs all the
// time.
const (
	sleepAfter = 30 * time.Second // no unfinished job for this long: sleep
	sleepCheck = 5 * time.Second  // how often an awake client checks
	wakeRetry  = 5 * time.Second  // after a failed start
)

// wakeUp tells the keeper that a job may be waiting. It never blocks: a
// River worker calls it (through Publish).
func (q *Queue) wakeUp() {
	if q.poke == nil {
		return
	}
	select {
	case q.poke <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// keep runs River's client on SQLite: started while jobs are unfinished,
// stopped once none has been for sleepAfter. Stop cancels ctx, then sends
// its own context on stop: keep stops the client with it, answers on done
// and returns.
func (q *Queue) keep(ctx context.Context, stop <-chan context.Context, done chan<- error) {
	var (
		awake    bool
		ticker   *time.Ticker
		lastBusy time.Time
	)
	asleep := func() {
		ticker.Stop()
		ticker, awake = nil, false
		q.awake.Store(false)
	}
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
				asleep()
			}
			done <- err
			return
		case <-q.poke:
			lastBusy = time.Now()
			if awake {
				continue
			}
			n, err := q.river.unfinished(ctx, "", 1)
			if err == nil && n == 0 {
				continue // a duplicate insert, a requeue of nothing
			}
			if err == nil {
				err = q.river.client.Start(context.WithoutCancel(ctx))
			}
			if err != nil {
				if ctx.Err() == nil {
					q.log.Warn("jobs: start River", "error", err)
					time.AfterFunc(wakeRetry, q.wakeUp)
				}
				continue
			}
			awake, ticker = true, time.NewTicker(min(sleepCheck, max(q.sleepAfter/2, time.Millisecond)))
			q.awake.Store(true)
		case <-tick:
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
