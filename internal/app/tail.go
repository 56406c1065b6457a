package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/metrics"
	"github.com/picloud/picloud/internal/tail"
)

// tailRelay announces stored execution rows to the live tail: to this
// process's hub at once, and on a manager whose store carries them between
// processes (PostgreSQL's NOTIFY) to the other managers, whose relays load
// the rows by id and publish them to their own hubs.
type tailRelay struct {
	hub      *tail.Hub
	server   *tail.Server
	store    picloud.ExecutionStore
	notifier picloud.ExecutionNotifier // nil: this process's hub only
	log      *slog.Logger

	ids    chan []string // ids waiting for their NOTIFY
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// notifyQueue is how many batches of ids may wait for their NOTIFY; past it
// a batch is not announced (the other managers' tails miss it) rather than
// slowing the sink's writer or the ingestion.
const notifyQueue = 256

// loadTimeout bounds reading one announced row.
const loadTimeout = 5 * time.Second

func newTailRelay(store picloud.Store, m *metrics.Metrics, notifier picloud.ExecutionNotifier, log *slog.Logger) *tailRelay {
	hub := tail.NewHub(tail.Config{
		OnSubscribers: func(n int) { m.TailStreams.Set(float64(n)) },
		OnDropped:     m.TailDropped.Inc,
	})
	r := &tailRelay{hub: hub, server: &tail.Server{Hub: hub, Store: store, Logger: log},
		store: store, notifier: notifier, log: log}
	if notifier != nil {
		r.ids = make(chan []string, notifyQueue)
	}
	return r
}

// stored is the hook of every write of rows to the store (the sink's, the
// cluster ingestion's): it never waits.
func (r *tailRelay) stored(rows []*picloud.ExecutionLog) {
	r.hub.Publish(rows)
	if r.notifier == nil {
		return
	}
	ids := make([]string, len(rows))
	for i, l := range rows {
		ids[i] = l.ID
	}
	select {
	case r.ids <- ids:
	default:
		r.log.Warn("tail: too many rows waiting to be announced to the other managers; their tails miss some", "rows", len(ids))
	}
}

// start runs the NOTIFY sender and the listener (a manager on PostgreSQL).
func (r *tailRelay) start() {
	if r.notifier == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case ids := <-r.ids:
				nctx, cancel := context.WithTimeout(ctx, loadTimeout)
				if err := r.notifier.NotifyExecutions(nctx, ids); err != nil && ctx.Err() == nil {
					r.log.Warn("tail: announcing stored rows to the other managers", "rows", len(ids), "err", err)
				}
				cancel()
			}
		}
	}()
	go func() {
		defer r.wg.Done()
		r.notifier.ListenExecutions(ctx, func(ids []string) { r.load(ctx, ids) })
	}()
}

// load publishes the rows another manager stored, when anyone is tailing.
func (r *tailRelay) load(ctx context.Context, ids []string) {
	if r.hub.Subscribers() == 0 {
		return
	}
	rows := make([]*picloud.ExecutionLog, 0, len(ids))
	for _, id := range ids {
		lctx, cancel := context.WithTimeout(ctx, loadTimeout)
		l, err := r.store.Execution(lctx, id)
		cancel()
		if err != nil {
			if ctx.Err() == nil && picloud.ErrorCode(err) != picloud.ENotFound {
				r.log.Warn("tail: loading a row another manager stored", "id", id, "err", err)
			}
			continue
		}
		rows = append(rows, l)
	}
	r.hub.Publish(rows)
}

// stop ends the streams and the relay's goroutines.
func (r *tailRelay) stop() {
	r.server.Close()
	if r.cancel != nil {
		r.cancel()
		r.wg.Wait()
	}
}
