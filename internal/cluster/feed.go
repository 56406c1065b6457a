package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/picloud/picloud"
)

// FeedBuffer is how many changes a subscriber may lag behind before it is
// dropped. A node drains its stream as fast as the network allows; one that
// cannot is better reconnected (its hello expires its whole cache) than
// allowed to hold up every other stream.
const FeedBuffer = 256

// Feed fans script changes out to the manager's change streams (one
// subscriber per connected node).
//
// With a picloud.ChangeNotifier (the PostgreSQL store), Publish announces a
// change through the database and Start listens there, so that a change
// made through any manager reaches the nodes of every manager. Without one
// (SQLite: a single manager), Publish delivers in process.
type Feed struct {
	notifier picloud.ChangeNotifier
	log      *slog.Logger
	buffer   int

	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
	// listened is set once the notifier listened: its first ok=false is
	// the start (streams opened before it resynchronise), not an outage.
	// ready is closed then (at once without a notifier).
	listened bool
	ready    chan struct{}
}

type subscriber struct {
	ch     chan picloud.ScriptChange
	closed bool // guarded by Feed.mu
}

// NewFeed makes a feed; notifier nil delivers in process only.
func NewFeed(notifier picloud.ChangeNotifier, logger *slog.Logger) *Feed {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Feed{notifier: notifier, log: logger, buffer: FeedBuffer, subs: map[*subscriber]struct{}{}, ready: make(chan struct{})}
	if notifier == nil {
		close(f.ready) // in process: every change is heard
	}
	return f
}

// Start listens for the changes announced through the notifier until ctx
// ends or Stop; without a notifier it does nothing. It returns at once.
func (f *Feed) Start(ctx context.Context) {
	if f.notifier == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil || f.stopped {
		return
	}
	ctx, f.cancel = context.WithCancel(ctx)
	f.done = make(chan struct{})
	go func() {
		defer close(f.done)
		for ctx.Err() == nil {
			err := f.notifier.ListenScriptChanges(ctx, f.heard)
			if ctx.Err() != nil {
				return
			}
			// ListenScriptChanges reconnects by itself and returns only when
			// ctx ends; should it return early, listen again after a pause,
			// and resynchronise the nodes, which may have missed changes.
			f.log.Error("cluster: listening for script changes stopped; listening again", "err", err)
			f.resync()
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
}

// heard is the notifier's callback.
func (f *Feed) heard(c picloud.ScriptChange, ok bool) {
	if !ok {
		f.mu.Lock()
		first := !f.listened
		if first {
			f.listened = true
			close(f.ready)
		}
		f.mu.Unlock()
		if first {
			f.log.Info("cluster: listening for script changes in the database")
		} else {
			f.log.Warn("cluster: script changes may have been missed (the database listener reconnected); the nodes reconnect and expire their caches")
		}
		f.resync()
		return
	}
	f.deliver(c)
}

// Ready is closed once the feed hears every change: at once without a
// notifier, else when the notifier first listens. A change stream waits for
// it (bounded) before its hello, so that a node connecting to a manager
// that has just started is not sent a hello, then closed to resynchronise,
// then made to wait for its reconnection backoff.
func (f *Feed) Ready() <-chan struct{} { return f.ready }

// Stop stops listening and closes every subscriber's channel (their
// streams end). It is idempotent; the feed delivers nothing afterwards.
func (f *Feed) Stop() {
	f.mu.Lock()
	f.stopped = true
	cancel, done := f.cancel, f.done
	for s := range f.subs {
		f.drop(s)
	}
	f.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Publish announces c to every change stream, this manager's and (through
// the notifier) every other manager's; with a notifier, this manager's
// streams get c back through the listener Start runs, like everyone's, so
// that every stream sees the changes in the database's order. When the
// notifier fails, c is still
// delivered to this manager's streams and the error is returned: the
// other managers' nodes see the change only at their next reconnection.
func (f *Feed) Publish(ctx context.Context, c picloud.ScriptChange) error {
	if f.notifier == nil {
		f.deliver(c)
		return nil
	}
	if err := f.notifier.NotifyScriptChange(ctx, c); err != nil {
		f.deliver(c)
		return fmt.Errorf("cluster: announce the change of script %s: %w", c.ID, err)
	}
	return nil
}

// Subscribe returns a channel of the changes published from now on, and
// the function that ends the subscription (idempotent). The channel is
// closed when the subscriber falls FeedBuffer changes behind, when the
// feed's listener may have missed changes, and at Stop: the stream then
// ends and its node reconnects, expiring its cache on the new hello.
func (f *Feed) Subscribe() (<-chan picloud.ScriptChange, func()) {
	s := &subscriber{ch: make(chan picloud.ScriptChange, f.buffer)}
	f.mu.Lock()
	if f.stopped {
		s.closed = true
		close(s.ch)
	} else {
		f.subs[s] = struct{}{}
	}
	f.mu.Unlock()
	return s.ch, func() {
		f.mu.Lock()
		f.drop(s)
		f.mu.Unlock()
	}
}

// Subscribers is the number of open subscriptions (connected streams).
func (f *Feed) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// deliver hands c to every subscriber, dropping the ones whose buffer is
// full rather than waiting for them.
func (f *Feed) deliver(c picloud.ScriptChange) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		select {
		case s.ch <- c:
		default:
			f.log.Warn("cluster: a change stream fell behind; closing it (its node reconnects)", "buffer", f.buffer)
			f.drop(s)
		}
	}
}

// resync closes every subscriber, so that each node reconnects and, on the
// new stream's hello, expires its whole cache.
func (f *Feed) resync() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		f.drop(s)
	}
}

// drop closes s once; f.mu is held.
func (f *Feed) drop(s *subscriber) {
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
	delete(f.subs, s)
}
