// Package audit is the execution-log sink. Record writes each row to a local
// journal (package journal) before the response is sent, then a writer feeds
// the store from it in batches and acknowledges what the store committed, so
// that the journal can be trimmed. A row is never dropped because the store
// fails: the write is retried forever with a capped backoff while the row
// waits in the journal, which survives kill -9 and, fsynced by its policy,
// power loss. On start the journal is replayed; the stores' inserts are
// idempotent by execution id, so a row stored before a crash is not doubled.
//
// The writer keeps up to QueueSize rows in memory, so that it does not read
// back what was just written. Beyond that, and until it has caught up, rows
// are only in the journal and the writer reads them back from it: memory stays
// bounded by count and the backlog by the journal's bytes. Past
// MaxJournalBytes, Admit makes new executions wait.
//
// With Dir == "" the journal is in memory only, for tests that do not care
// about durability: the queue is bounded by QueueSize and Record waits for
// room (backpressure), returning the context's error when it ends first.
package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/journal"
)

// ErrClosed is returned by Record and Start after Stop, and by Flush once
// the writer has stopped.
var ErrClosed = errors.New("audit: sink closed")

// Defaults of Config.
const (
	DefaultMaxJournalBytes = 1 << 30
	DefaultQueueSize       = 4096
	DefaultBatchSize       = 512
	DefaultLinger          = 10 * time.Millisecond
	DefaultRetryDelay      = 100 * time.Millisecond
	DefaultMaxRetryDelay   = 5 * time.Second
	DefaultWriteTimeout    = 30 * time.Second
)

// Config tunes the sink; zero fields take the defaults.
type Config struct {
	// Dir is the journal's directory; "" keeps the journal in memory, where
	// nothing survives the process.
	Dir string
	// Sync is the journal's fsync policy: journal.SyncInterval (the default)
	// or journal.SyncAlways.
	Sync string
	// MaxJournalBytes bounds the journal (DefaultMaxJournalBytes): past it,
	// Admit waits for the store to catch up.
	MaxJournalBytes int64
	// SegmentBytes is the size of the journal's files (journal's default, at
	// most an eighth of MaxJournalBytes: only whole files are deleted, and
	// the one being written must fit well under the bound for a caught-up
	// store to let Admit through).
	SegmentBytes int64
	QueueSize    int // rows the writer holds in memory (DefaultQueueSize)
	BatchSize    int // rows per store write at most (DefaultBatchSize)
	// Linger is how long the writer waits for a batch to fill once its first
	// row has arrived (DefaultLinger; negative: not at all). Under load it
	// turns many one-row transactions into a few big ones; an idle sink runs
	// no timer.
	Linger        time.Duration
	RetryDelay    time.Duration // first delay after a failed write, doubled each time (DefaultRetryDelay)
	MaxRetryDelay time.Duration // the delay's cap (DefaultMaxRetryDelay)
	WriteTimeout  time.Duration // one store write at most (DefaultWriteTimeout)

	// OnWritten, OnRetry, OnLost and OnJournalError report outcomes
	// (metrics); nil is fine. A row is lost only when the journal cannot take
	// it and the memory queue is full, or, with an in-memory journal, when
	// Stop gives up on the store. OnSync is the journal's fsync hook.
	OnWritten      func(n int)
	OnRetry        func()
	OnLost         func(n int)
	OnJournalError func()
	OnSync         func(through uint64)
	// OnStored, when set, gets each batch the store took, right after the
	// write succeeded (the live tail announces the rows). It runs on the
	// writer's goroutine, so it must not block; the slice is the writer's
	// and may be reused once it returns (the rows themselves are not
	// changed afterwards).
	OnStored func(rows []*picloud.ExecutionLog)
}

// entry is a row in the writer's memory queue; seq is its journal record (0:
// not journaled).
type entry struct {
	seq uint64
	log *picloud.ExecutionLog
}

// Sink implements picloud.ExecutionSink over a picloud.ExecutionStore.
type Sink struct {
	store picloud.ExecutionStore
	cfg   Config
	log   *slog.Logger
	j     *journal.Journal // nil: in memory
	bufs  sync.Pool        // *[]byte records being encoded

	mu    sync.Mutex // orders journal writes with the queue
	queue []entry
	// spilled: the rows from journal record diskFrom on are only in the
	// journal, and the writer reads them back before taking from the queue
	// again. Record decides under mu, so no row is in both.
	spilled  bool
	diskFrom uint64
	started  bool
	closed   bool
	room     chan struct{} // closed (and replaced) when room may have appeared
	// recorded counts the rows handed to the sink (those replayed from the
	// journal included) and stored those written to the store; progress is
	// closed (and replaced) when stored grows. Flush waits on them.
	recorded, stored uint64
	progress         chan struct{}
	flushers         int  // Flush calls waiting: the writer does not linger for them
	busy             bool // the writer holds rows taken from the queue or the journal, not yet stored
	stopErr          error
	errAt            time.Time // when a journal failure was last logged

	wake   chan struct{} // a row was queued, or the sink closed
	quit   context.Context
	abort  context.CancelFunc // ends the writer's store writes when Stop gives up
	done   chan struct{}
	reader *journal.Reader // the writer's
	stop   sync.Once
}

var _ picloud.ExecutionSink = (*Sink)(nil)

// New makes a sink writing to store, opening (and checking) the journal in
// cfg.Dir. Call Start to begin writing and replay what the journal holds.
func New(store picloud.ExecutionStore, cfg Config, logger *slog.Logger) (*Sink, error) {
	cfg.MaxJournalBytes = cmp.Or(cfg.MaxJournalBytes, DefaultMaxJournalBytes)
	cfg.QueueSize = max(cmp.Or(cfg.QueueSize, DefaultQueueSize), 1)
	cfg.BatchSize = max(cmp.Or(cfg.BatchSize, DefaultBatchSize), 1)
	cfg.Linger = cmp.Or(cfg.Linger, DefaultLinger)
	cfg.RetryDelay = cmp.Or(cfg.RetryDelay, DefaultRetryDelay)
	cfg.MaxRetryDelay = max(cmp.Or(cfg.MaxRetryDelay, DefaultMaxRetryDelay), cfg.RetryDelay)
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout)
	cfg.SegmentBytes = min(cmp.Or(cfg.SegmentBytes, journal.DefaultSegmentBytes), max(cfg.MaxJournalBytes/8, 1<<10))
	cfg.Sync = cmp.Or(cfg.Sync, journal.SyncInterval)
	if cfg.Sync != journal.SyncInterval && cfg.Sync != journal.SyncAlways {
		return nil, fmt.Errorf("audit: journal sync policy %q: want %s or %s", cfg.Sync, journal.SyncInterval, journal.SyncAlways)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{store: store, cfg: cfg, log: logger, room: make(chan struct{}), progress: make(chan struct{}),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.quit, s.abort = context.WithCancel(context.Background())
	if cfg.Dir != "" {
		j, err := journal.Open(cfg.Dir, journal.Options{Sync: cfg.Sync, SegmentBytes: cfg.SegmentBytes,
			OnSync: cfg.OnSync, Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		s.j = j
		if first, next := j.First(), j.Next(); first < next {
			s.spilled, s.diskFrom = true, first // replayed by the writer
			s.recorded = next - first
		}
	}
	return s, nil
}

// Config is the configuration the sink runs with, defaults filled in.
func (s *Sink) Config() Config { return s.cfg }

// Start starts the writer, which first replays the journal: its rows are
// inserted again (the stores skip the ones they hold) and trimmed. A store
// that is down at start delays the replay, as it delays any write; it does
// not fail Start. The writer runs until Stop, not until ctx ends.
func (s *Sink) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return nil
	}
	s.started = true
	if s.spilled {
		s.log.InfoContext(ctx, "audit: replaying the execution journal",
			"records", s.j.Next()-s.diskFrom, "bytes", s.j.Bytes())
	}
	go s.run()
	return nil
}

// Len is the number of rows recorded and not yet handed to the store.
func (s *Sink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.queue)
	if s.spilled {
		n += int(s.j.Next() - s.diskFrom)
	}
	return n
}

// Pending is the number of rows recorded (or replayed from the journal)
// and not yet written to the store: unlike Len, it counts the batch the
// writer holds while its write is retried.
func (s *Sink) Pending() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recorded - s.stored
}

// JournalBytes is the size of the journal's files (0 in memory).
func (s *Sink) JournalBytes() int64 {
	if s.j == nil {
		return 0
	}
	return s.j.Bytes()
}

// Full reports whether new executions must wait for room (Admit): the
// journal is over its bound because the store is not keeping up. Health
// reports it: while it lasts no script runs.
func (s *Sink) Full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.full() && !s.closed
}

// full reports whether new executions must wait. mu is held.
func (s *Sink) full() bool {
	if s.j == nil {
		return len(s.queue) >= s.cfg.QueueSize
	}
	return s.j.Bytes() >= s.cfg.MaxJournalBytes
}

// Admit returns when the sink can take another row: at once, unless the
// journal is over MaxJournalBytes (in memory: the queue is full) because the
// store is not keeping up. When ctx ends first it returns an unavailable
// *picloud.Error. Call it before running an execution, whose Record then
// never waits for room.
func (s *Sink) Admit(ctx context.Context) error {
	for {
		s.mu.Lock()
		full, room := s.full() && !s.closed, s.room
		s.mu.Unlock()
		if !full {
			return nil
		}
		select {
		case <-room:
		case <-ctx.Done():
			return picloud.Errorf(picloud.EUnavailable, "the execution log is full: the database is not keeping up")
		}
	}
}

// signalRoom wakes Admit and Record waiters to look again. mu is held.
func (s *Sink) signalRoom() {
	close(s.room)
	s.room = make(chan struct{})
}

func (s *Sink) wakeWriter() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Record journals l and queues it for the store. When it returns nil, l
// survives kill -9, and power loss too under the always sync policy. With a
// file journal it does not wait for room (Admit does); in memory it waits
// while the queue is full, until ctx ends. The sink keeps l: do not change it
// afterwards.
func (s *Sink) Record(ctx context.Context, l *picloud.ExecutionLog) error {
	if s.j == nil {
		return s.recordInMemory(ctx, l)
	}
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer s.bufs.Put(bp)
	rec, err := appendRecord((*bp)[:0], l)
	*bp = rec
	if err != nil { // the store could not encode it either
		s.lost(1)
		return err
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	seq, jerr := s.j.Write(rec)
	switch {
	case jerr != nil:
		// Keep the row in memory for the store: it is only not durable.
		full := len(s.queue) >= s.cfg.QueueSize
		if !full {
			s.queue = append(s.queue, entry{log: l})
			s.recorded++
		}
		s.journalFailed(jerr)
		s.mu.Unlock()
		if full {
			s.lost(1)
			return fmt.Errorf("audit: execution %s lost: %w", l.ID, jerr)
		}
		s.wakeWriter()
		return nil
	case s.spilled || len(s.queue) >= s.cfg.QueueSize:
		if !s.spilled {
			s.spilled, s.diskFrom = true, seq
		}
		s.recorded++
	default:
		s.queue = append(s.queue, entry{seq: seq, log: l})
		s.recorded++
	}
	s.mu.Unlock()
	s.wakeWriter()
	if err := s.j.WaitDurable(seq); err != nil {
		// Written, so it survives kill -9 and reaches the store; the fsync
		// failure is logged by the journal.
		s.mu.Lock()
		s.journalFailed(err)
		s.mu.Unlock()
	}
	return nil
}

// journalFailed logs a journal failure, at most every ten seconds, and
// counts it. mu is held.
func (s *Sink) journalFailed(err error) {
	if s.cfg.OnJournalError != nil {
		s.cfg.OnJournalError()
	}
	if now := time.Now(); now.Sub(s.errAt) >= 10*time.Second {
		s.errAt = now
		s.log.Error("audit: the execution journal failed; rows are kept in memory only", "err", err)
	}
}

func (s *Sink) lost(n int) {
	if n > 0 && s.cfg.OnLost != nil {
		s.cfg.OnLost(n)
	}
}

func (s *Sink) recordInMemory(ctx context.Context, l *picloud.ExecutionLog) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		if len(s.queue) < s.cfg.QueueSize {
			s.queue = append(s.queue, entry{log: l})
			s.recorded++
			s.mu.Unlock()
			s.wakeWriter()
			return nil
		}
		room := s.room
		s.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Flush waits until every row recorded before the call is in the store, or
// until ctx ends (its error then). The admin API calls it, briefly, before
// reading execution logs, so that a log read right after an invocation
// shows it (the writer lingers to fill batches).
func (s *Sink) Flush(ctx context.Context) error {
	s.mu.Lock()
	target := s.recorded
	if s.stored >= target {
		s.mu.Unlock()
		return nil
	}
	s.flushers++
	defer func() {
		s.mu.Lock()
		s.flushers--
		s.mu.Unlock()
	}()
	// Counting can be off (records the journal skipped as damaged, a batch
	// read twice after a read error), so a writer with nothing left to do also
	// ends the wait: every row recorded before is then stored or gone.
	for s.stored < target && (s.busy || len(s.queue) > 0 || s.spilled) {
		progress := s.progress
		s.mu.Unlock()
		s.wakeWriter() // cut a linger short
		select {
		case <-progress:
		case <-s.done:
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
	}
	s.mu.Unlock()
	return nil
}

// Stop refuses new rows, makes the journal durable, and writes everything
// recorded to the store. When ctx ends first it stops the writer and returns
// the context's error: what was not stored stays in the journal for the next
// Start (with an in-memory journal it is lost, and counted). Stop is
// idempotent: later calls return the first one's result once the writer has
// stopped.
func (s *Sink) Stop(ctx context.Context) error {
	s.stop.Do(func() {
		s.mu.Lock()
		s.closed = true
		start := !s.started
		s.started = true
		s.signalRoom()
		s.mu.Unlock()
		if s.j != nil {
			if err := s.j.Sync(); err != nil {
				s.log.Error("audit: fsync of the execution journal failed", "err", err)
			}
		}
		if start { // rows recorded before Start, or in the journal, still go to the store
			go s.run()
		}
		s.wakeWriter()
	})
	select {
	case <-s.done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.stopErr
	case <-ctx.Done():
		err := fmt.Errorf("audit: flushing execution logs: %w", ctx.Err())
		s.mu.Lock()
		if s.stopErr == nil {
			s.stopErr = err
		}
		s.mu.Unlock()
		s.abort()
		return err
	}
}

// run is the writer.
func (s *Sink) run() {
	defer close(s.done)
	var linger *time.Timer
	if s.cfg.Linger > 0 {
		linger = time.NewTimer(time.Hour)
		linger.Stop()
	}
	var batch []*picloud.ExecutionLog
	for {
		var through uint64
		var ok bool
		batch, through, ok = s.collect(batch[:0], linger)
		if !ok {
			break
		}
		if len(batch) > 0 && !s.write(batch) {
			s.unwritten(len(batch))
			break
		}
		s.mu.Lock()
		s.stored += uint64(len(batch))
		s.busy = false
		close(s.progress)
		s.progress = make(chan struct{})
		s.mu.Unlock()
		clear(batch)
		if s.j != nil && through > 0 {
			s.j.Ack(through)
			s.mu.Lock()
			s.signalRoom()
			s.mu.Unlock()
		}
	}
	if s.reader != nil {
		s.reader.Close()
	}
	if s.j != nil {
		if err := s.j.Close(); err != nil {
			s.log.Error("audit: closing the execution journal", "err", err)
		}
	}
}

// unwritten accounts for the rows left behind when Stop gave up: n in the
// batch being written, plus the queue.
func (s *Sink) unwritten(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lost := 0
	for _, e := range s.queue {
		if e.seq == 0 {
			lost++
		}
	}
	if s.j == nil {
		lost += n
		s.log.Warn("audit: execution logs lost at shutdown: the store did not take them in time", "rows", lost)
	} else {
		s.log.Warn("audit: execution logs left in the journal for the next start", "rows", len(s.queue)+n)
	}
	s.lost(lost)
}

// collect returns the next batch and the journal position it covers (0: none
// to acknowledge); false when the sink is closed and everything is written,
// or Stop gave up.
func (s *Sink) collect(batch []*picloud.ExecutionLog, linger *time.Timer) ([]*picloud.ExecutionLog, uint64, bool) {
	var through uint64
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			batch, through = s.take(batch, through)
			s.mu.Unlock()
			break
		}
		if s.spilled {
			from := s.diskFrom
			s.mu.Unlock()
			return s.readBack(batch, from)
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return batch, 0, false
		}
		select {
		case <-s.wake:
		case <-s.quit.Done():
			return batch, 0, false
		}
	}
	s.mu.Lock()
	flushing := s.flushers > 0
	s.mu.Unlock()
	if linger == nil || len(batch) >= s.cfg.BatchSize || flushing {
		return batch, through, true
	}
	// More rows are probably on their way: wait a little for them.
	linger.Reset(s.cfg.Linger)
	defer linger.Stop()
	for len(batch) < s.cfg.BatchSize {
		select {
		case <-s.wake:
			s.mu.Lock()
			batch, through = s.take(batch, through)
			closed, flushing := s.closed, s.flushers > 0
			s.mu.Unlock()
			if closed || flushing {
				return batch, through, true
			}
		case <-linger.C:
			return batch, through, true
		case <-s.quit.Done():
			return batch, through, true
		}
	}
	return batch, through, true
}

// take moves rows from the queue into batch. mu is held.
func (s *Sink) take(batch []*picloud.ExecutionLog, through uint64) ([]*picloud.ExecutionLog, uint64) {
	k := min(s.cfg.BatchSize-len(batch), len(s.queue))
	if k <= 0 {
		return batch, through
	}
	wasFull := len(s.queue) >= s.cfg.QueueSize
	s.busy = true
	for _, e := range s.queue[:k] {
		batch = append(batch, e.log)
		if e.seq > 0 {
			through = e.seq + 1
		}
	}
	n := copy(s.queue, s.queue[k:])
	clear(s.queue[n:])
	s.queue = s.queue[:n]
	if wasFull && s.j == nil {
		s.signalRoom()
	}
	return batch, through
}

// readBack reads the next batch from the journal, from record from on.
func (s *Sink) readBack(batch []*picloud.ExecutionLog, from uint64) ([]*picloud.ExecutionLog, uint64, bool) {
	if s.reader == nil || s.reader.Next() != from {
		if s.reader != nil {
			s.reader.Close()
		}
		s.reader = s.j.NewReader(from)
	}
	start, bad := len(batch), 0
	_, err := s.reader.Read(s.cfg.BatchSize, func(seq uint64, rec []byte) {
		l, err := parseRecord(rec)
		if err != nil { // checksummed, so written this way: it can never be stored
			s.log.Error("audit: an unreadable journal record is skipped", "seq", seq, "err", err)
			bad++
			return
		}
		batch = append(batch, l)
	})
	s.lost(bad)
	if err != nil {
		// Drop what this read gave: the next one starts again at from, and
		// the rows would otherwise be written (and counted) twice.
		batch = batch[:start]
		s.log.Error("audit: reading the execution journal", "err", err)
		select {
		case <-time.After(s.cfg.RetryDelay):
		case <-s.quit.Done():
			return batch, 0, false
		}
		return batch, 0, true
	}
	through := s.reader.Next()
	s.mu.Lock()
	s.busy = s.busy || len(batch) > 0
	s.diskFrom = through
	if through >= s.j.Next() {
		s.spilled = false // caught up: Record queues rows again
	}
	s.mu.Unlock()
	return batch, through, true
}

// write stores a batch, retrying a failed write with a doubling delay for as
// long as it takes: the rows are safe in the journal meanwhile. It returns
// false when Stop gives up.
func (s *Sink) write(batch []*picloud.ExecutionLog) bool {
	delay := s.cfg.RetryDelay
	for {
		ctx, cancel := context.WithTimeout(s.quit, s.cfg.WriteTimeout)
		err := s.store.InsertExecutions(ctx, batch)
		cancel()
		if err == nil {
			if s.cfg.OnWritten != nil {
				s.cfg.OnWritten(len(batch))
			}
			if s.cfg.OnStored != nil {
				s.cfg.OnStored(batch)
			}
			return true
		}
		if s.quit.Err() != nil {
			return false
		}
		s.log.Warn("audit: writing execution logs failed, retrying", "rows", len(batch), "retry_in", delay, "err", err)
		if s.cfg.OnRetry != nil {
			s.cfg.OnRetry()
		}
		select {
		case <-time.After(delay):
		case <-s.quit.Done():
			return false
		}
		delay = min(delay*2, s.cfg.MaxRetryDelay)
	}
}
