// Package audit is the execution-log sink: it takes logs off the request path
// into a bounded queue and writes them to the store in batches. A full queue
// makes callers wait (backpressure) rather than dropping rows; a failed write
// is retried, and only after the last retry is the batch logged at warn and
// counted as lost.
package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/picloud/picloud"
)

// ErrClosed is returned by Record after Stop.
var ErrClosed = errors.New("audit: sink closed")

// Config tunes the sink; zero fields take the defaults.
type Config struct {
	QueueSize  int           // logs waiting at most (4096)
	BatchSize  int           // logs per write at most (512)
	Retries    int           // retries of a failed write (5)
	RetryDelay time.Duration // first retry delay, doubled each time (100 ms)
	// Linger is how long the writer waits for a batch to fill once its first
	// log has arrived (10 ms; negative: not at all). Under load it turns many
	// one-row transactions into a few big ones; an idle sink runs no timer.
	Linger time.Duration
	// OnWritten, OnRetry and OnLost report outcomes (metrics); nil is fine.
	OnWritten func(n int)
	OnRetry   func()
	OnLost    func(n int)
}

// Sink implements picloud.ExecutionSink over a picloud.ExecutionStore.
type Sink struct {
	store picloud.ExecutionStore
	cfg   Config
	log   *slog.Logger
	queue chan *picloud.ExecutionLog

	mu       sync.RWMutex // held for reading while sending, for writing to close
	closed   bool
	started  bool
	done     chan struct{}
	stopOnce sync.Once
}

var _ picloud.ExecutionSink = (*Sink)(nil)

// New makes a sink writing to store. Call Start before Record.
func New(store picloud.ExecutionStore, cfg Config, logger *slog.Logger) *Sink {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 4096
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 512
	}
	if cfg.Retries == 0 {
		cfg.Retries = 5
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 100 * time.Millisecond
	}
	if cfg.Linger == 0 {
		cfg.Linger = 10 * time.Millisecond
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sink{store: store, cfg: cfg, log: logger,
		queue: make(chan *picloud.ExecutionLog, cfg.QueueSize), done: make(chan struct{})}
}

// Start starts the writer. The writer runs until Stop, not until ctx ends, so
// that nothing queued is lost when a request context is cancelled.
func (s *Sink) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	go s.run()
}

// Len is the number of queued logs.
func (s *Sink) Len() int { return len(s.queue) }

// Record queues l, waiting for room while the queue is full.
func (s *Sink) Record(ctx context.Context, l *picloud.ExecutionLog) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.queue <- l:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop refuses new logs, writes everything queued and returns when done or
// when ctx ends. It is idempotent.
func (s *Sink) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.queue) // no sender holds the read lock now
		if !s.started {
			s.started = true
			go s.run()
		}
		s.mu.Unlock()
	})
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Sink) run() {
	defer close(s.done)
	batch := make([]*picloud.ExecutionLog, 0, s.cfg.BatchSize)
	var linger *time.Timer
	if s.cfg.Linger > 0 {
		linger = time.NewTimer(time.Hour)
		linger.Stop()
	}
	for open := true; open; {
		l, ok := <-s.queue
		if !ok {
			return
		}
		batch = append(batch, l)
		batch, open = s.fill(batch)
		if open && linger != nil && len(batch) < s.cfg.BatchSize {
			// More logs are probably on their way: wait a little for them.
			linger.Reset(s.cfg.Linger)
		wait:
			for len(batch) < s.cfg.BatchSize {
				select {
				case l, ok := <-s.queue:
					if !ok {
						open = false
						break wait
					}
					batch = append(batch, l)
					batch, open = s.fill(batch)
					if !open {
						break wait
					}
				case <-linger.C:
					break wait
				}
			}
			linger.Stop()
		}
		s.write(batch)
		clear(batch)
		batch = batch[:0]
	}
}

// fill adds to batch what is already queued, without waiting for more. It
// reports false when the queue is closed.
func (s *Sink) fill(batch []*picloud.ExecutionLog) ([]*picloud.ExecutionLog, bool) {
	for len(batch) < s.cfg.BatchSize {
		select {
		case l, ok := <-s.queue:
			if !ok {
				return batch, false
			}
			batch = append(batch, l)
		default:
			return batch, true
		}
	}
	return batch, true
}

// write stores a batch, retrying with a doubling delay.
func (s *Sink) write(batch []*picloud.ExecutionLog) {
	delay := s.cfg.RetryDelay
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s.store.InsertExecutions(ctx, batch)
		cancel()
		if err == nil {
			if s.cfg.OnWritten != nil {
				s.cfg.OnWritten(len(batch))
			}
			return
		}
		if attempt >= s.cfg.Retries {
			s.log.Warn("audit: execution logs lost after retries", "rows", len(batch), "attempts", attempt+1, "err", err)
			if s.cfg.OnLost != nil {
				s.cfg.OnLost(len(batch))
			}
			return
		}
		s.log.Warn("audit: write failed, retrying", "rows", len(batch), "retry_in", delay, "err", err)
		if s.cfg.OnRetry != nil {
			s.cfg.OnRetry()
		}
		time.Sleep(delay)
		delay = min(delay*2, 5*time.Second)
	}
}
