package audit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/audit"
	"github.com/picloud/picloud/internal/sqlite"
)

// fakeStore is an execution store whose writes a test controls.
type fakeStore struct {
	picloud.ExecutionStore // unused methods
	insert                 func(ctx context.Context, logs []*picloud.ExecutionLog) error
}

func (f *fakeStore) InsertExecutions(ctx context.Context, logs []*picloud.ExecutionLog) error {
	return f.insert(ctx, logs)
}

// stuck is a store write that waits until released or cancelled.
func stuck(release <-chan struct{}) func(context.Context, []*picloud.ExecutionLog) error {
	return func(ctx context.Context, _ []*picloud.ExecutionLog) error {
		select {
		case <-release:
			return errors.New("released")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// tally wraps a store and counts the rows of every successful write by id,
// in order, to find rows written twice.
type tally struct {
	picloud.ExecutionStore
	mu    sync.Mutex
	ids   []string
	fail  atomic.Bool
	calls atomic.Int64
}

func (s *tally) InsertExecutions(ctx context.Context, logs []*picloud.ExecutionLog) error {
	s.calls.Add(1)
	if s.fail.Load() {
		return errors.New("database unreachable")
	}
	if err := s.ExecutionStore.InsertExecutions(ctx, logs); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range logs {
		s.ids = append(s.ids, l.ID)
	}
	return nil
}

func (s *tally) written() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ids)
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newSink(t *testing.T, store picloud.ExecutionStore, cfg audit.Config) *audit.Sink {
	t.Helper()
	s, err := audit.New(store, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s.Stop(ctx) // a sink a test abandoned: stop its writer
	})
	return s
}

func start(t *testing.T, s *audit.Sink) {
	t.Helper()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func execLog(i int) *picloud.ExecutionLog {
	return &picloud.ExecutionLog{
		ID: fmt.Sprintf("exec-%05d", i), ScriptID: "script", ScriptVersion: 1, Trigger: picloud.TriggerHTTP,
		Status: picloud.StatusSuccess, StartedAt: picloud.Time{Time: time.Now().UTC()}, DurationMS: 0.5, Operations: 42,
		Request: &picloud.RequestRecord{Method: "GET", Path: "/fn/x", Headers: map[string]string{"accept": "*/*"},
			Body: "request body", BodySize: 12},
		Response: &picloud.ResponseRecord{Status: 200, Headers: map[string]string{"content-type": "text/plain"},
			Body: "hello", BodySize: 5},
	}
}

func record(t *testing.T, s *audit.Sink, from, to int) []string {
	t.Helper()
	var ids []string
	for i := from; i < to; i++ {
		l := execLog(i)
		if err := s.Record(context.Background(), l); err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
		ids = append(ids, l.ID)
	}
	return ids
}

// storedIDs checks that exactly ids are in store, each once.
func checkStored(t *testing.T, store *sqlite.Store, ids []string) {
	t.Helper()
	ctx := context.Background()
	if n, err := store.CountExecutions(ctx, "script"); err != nil || n != int64(len(ids)) {
		t.Fatalf("%d rows stored (%v), want %d", n, err, len(ids))
	}
	for _, id := range ids {
		if _, err := store.Execution(ctx, id); err != nil {
			t.Fatalf("row %s: %v", id, err)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
	}
}

func journalFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.journal"))
	return m
}

// TestRowsSurviveCrash: rows recorded while the store is unreachable, and
// rows already stored, are all in the store exactly once after a restart that
// never called Stop.
func TestRowsSurviveCrash(t *testing.T) {
	dir, db := t.TempDir(), openStore(t)
	before := &tally{ExecutionStore: db}
	s1 := newSink(t, before, audit.Config{Dir: dir, QueueSize: 8})
	start(t, s1)
	ids := record(t, s1, 0, 50)
	waitFor(t, func() bool { return s1.Len() == 0 })
	before.fail.Store(true) // the database goes away, then the process dies
	ids = append(ids, record(t, s1, 50, 300)...)
	// The crash: s1 is abandoned with its files as they are.

	after := &tally{ExecutionStore: db}
	s2 := newSink(t, after, audit.Config{Dir: dir})
	if s2.Len() < 250 {
		t.Fatalf("after the crash %d rows wait in the journal, want at least the 250 never stored", s2.Len())
	}
	start(t, s2)
	if err := s2.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkStored(t, db, ids)
	if got := after.written(); !slices.Equal(got[len(got)-250:], ids[50:]) {
		t.Errorf("replayed rows out of order")
	}
}

// TestTornRecordSkipped: a record cut by the crash is skipped, the rest
// replayed.
func TestTornRecordSkipped(t *testing.T) {
	dir, db := t.TempDir(), openStore(t)
	release := make(chan struct{})
	defer close(release)
	s1 := newSink(t, &fakeStore{insert: stuck(release)}, audit.Config{Dir: dir})
	start(t, s1)
	ids := record(t, s1, 0, 20)
	segs := journalFiles(t, dir)
	last := segs[len(segs)-1]
	st, _ := os.Stat(last)
	if err := os.Truncate(last, st.Size()-10); err != nil {
		t.Fatal(err)
	}

	s2 := newSink(t, db, audit.Config{Dir: dir})
	start(t, s2)
	if err := s2.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkStored(t, db, ids[:19])
}

// TestTrimDeletesStoredSegments: segments whose rows are all stored are
// deleted as the writer goes, and a clean stop leaves nothing to replay.
func TestTrimDeletesStoredSegments(t *testing.T) {
	dir, db := t.TempDir(), openStore(t)
	s := newSink(t, db, audit.Config{Dir: dir, SegmentBytes: 4 << 10})
	start(t, s)
	ids := record(t, s, 0, 400) // about 40 segments
	waitFor(t, func() bool { return s.Len() == 0 && len(journalFiles(t, dir)) <= 2 })
	if b := s.JournalBytes(); b > 8<<10 {
		t.Errorf("everything stored, the journal still holds %d bytes", b)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkStored(t, db, ids)
	if f := journalFiles(t, dir); len(f) != 0 {
		t.Errorf("after a clean stop: %v left", f)
	}
}

// TestStoreOutage: while the store fails, rows wait in the journal (most of
// them only there: the queue holds 4); when it recovers they are all written,
// once each, in order.
func TestStoreOutage(t *testing.T) {
	db := openStore(t)
	st := &tally{ExecutionStore: db}
	st.fail.Store(true)
	var retries atomic.Int64
	s := newSink(t, st, audit.Config{Dir: t.TempDir(), QueueSize: 4, BatchSize: 16,
		RetryDelay: time.Millisecond, MaxRetryDelay: 2 * time.Millisecond, OnRetry: func() { retries.Add(1) },
		OnLost: func(int) { t.Error("a row was counted lost") }})
	start(t, s)
	ids := record(t, s, 0, 500)
	waitFor(t, func() bool { return retries.Load() >= 5 })
	if n := s.Len(); n < 500-16 {
		t.Fatalf("during the outage %d rows wait, want every row but those in the failing batch", n)
	}
	if n, _ := db.CountExecutions(context.Background(), "script"); n != 0 {
		t.Fatalf("%d rows stored while the store fails", n)
	}
	// Pending counts the failing batch too: every row recorded.
	if n := s.Pending(); n != 500 {
		t.Fatalf("during the outage Pending = %d, want 500", n)
	}
	ids = append(ids, record(t, s, 500, 510)...)
	st.fail.Store(false)
	waitFor(t, func() bool { return s.Len() == 0 && s.Pending() == 0 })
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := st.written(); !slices.Equal(got, ids) {
		t.Fatalf("written %d rows, want the %d recorded once each in order", len(got), len(ids))
	}
	checkStored(t, db, ids)
}

// TestAdmitWaitsForTheStore: over MaxJournalBytes, Admit waits; it answers
// unavailable when its context ends, and lets executions in again when the
// store catches up.
func TestAdmitWaitsForTheStore(t *testing.T) {
	db := openStore(t)
	st := &tally{ExecutionStore: db}
	st.fail.Store(true)
	s := newSink(t, st, audit.Config{Dir: t.TempDir(), MaxJournalBytes: 32 << 10, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond})
	start(t, s)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Admit(done); err != nil {
		t.Fatalf("Admit with room = %v", err)
	}
	var ids []string
	for i := 0; s.JournalBytes() < 32<<10; i++ {
		ids = append(ids, record(t, s, i, i+1)...)
	}
	if err := s.Admit(done); picloud.ErrorCode(err) != picloud.EUnavailable {
		t.Fatalf("Admit over the bound with its context ended = %v, want unavailable", err)
	}
	admitted := make(chan error)
	go func() { admitted <- s.Admit(context.Background()) }()
	st.fail.Store(false) // the store returns
	if err := <-admitted; err != nil {
		t.Fatalf("Admit after the store caught up = %v", err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkStored(t, db, ids)
}

// TestStopWithStuckWrite: Stop returns its context's error while a write is
// stuck; the rows stay in the journal and the next start stores them.
func TestStopWithStuckWrite(t *testing.T) {
	dir, db := t.TempDir(), openStore(t)
	release := make(chan struct{})
	defer close(release)
	s1 := newSink(t, &fakeStore{insert: stuck(release)}, audit.Config{Dir: dir})
	start(t, s1)
	ids := record(t, s1, 0, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s1.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want the deadline", err)
	}
	if err := s1.Stop(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Stop = %v, want the first one's result", err)
	}
	if err := s1.Record(context.Background(), execLog(99)); err != audit.ErrClosed {
		t.Fatalf("Record after Stop = %v, want ErrClosed", err)
	}
	if err := s1.Start(context.Background()); err != audit.ErrClosed {
		t.Fatalf("Start after Stop = %v, want ErrClosed", err)
	}

	s2 := newSink(t, db, audit.Config{Dir: dir})
	start(t, s2)
	if err := s2.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkStored(t, db, ids)
}

// TestStopIsIdempotent: every row recorded is stored by Stop, which may be
// called again, and Record is refused after it.
func TestStopIsIdempotent(t *testing.T) {
	for _, dir := range []string{"", t.TempDir()} {
		db := openStore(t)
		s := newSink(t, db, audit.Config{Dir: dir, BatchSize: 7})
		start(t, s)
		ids := record(t, s, 0, 100)
		for range 2 {
			if err := s.Stop(context.Background()); err != nil {
				t.Fatalf("dir %q: Stop = %v", dir, err)
			}
		}
		checkStored(t, db, ids)
		if err := s.Record(context.Background(), execLog(100)); err != audit.ErrClosed {
			t.Fatalf("dir %q: Record after Stop = %v, want ErrClosed", dir, err)
		}
	}
}

// TestInMemoryBackpressure: with the journal in memory, a full queue makes
// Record wait, and return its context's error when the context ends; Admit
// says unavailable.
func TestInMemoryBackpressure(t *testing.T) {
	db := openStore(t)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	s := newSink(t, &fakeStore{insert: func(ctx context.Context, logs []*picloud.ExecutionLog) error {
		once.Do(func() { entered <- struct{}{}; <-release })
		return db.InsertExecutions(ctx, logs)
	}}, audit.Config{QueueSize: 2, Linger: -1})
	start(t, s)
	ids := record(t, s, 0, 1)
	<-entered // the writer holds row 0 in a stuck write
	ids = append(ids, record(t, s, 1, 3)...)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Record(done, execLog(3)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Record on a full queue with its context ended = %v", err)
	}
	if err := s.Admit(done); picloud.ErrorCode(err) != picloud.EUnavailable {
		t.Fatalf("Admit on a full queue = %v, want unavailable", err)
	}
	waiting := make(chan error)
	go func() { waiting <- s.Record(context.Background(), execLog(4)) }()
	close(release)
	if err := <-waiting; err != nil {
		t.Fatalf("Record after room appeared = %v", err)
	}
	ids = append(ids, execLog(4).ID)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkStored(t, db, ids)
}

// TestAlwaysSyncsBeforeRecordReturns: under the always policy, Record
// returns after an fsync covering its row.
func TestAlwaysSyncsBeforeRecordReturns(t *testing.T) {
	var synced atomic.Uint64
	s := newSink(t, openStore(t), audit.Config{Dir: t.TempDir(), Sync: "always",
		OnSync: func(through uint64) { synced.Store(max(synced.Load(), through)) }})
	start(t, s)
	var wg sync.WaitGroup
	var recorded atomic.Uint64
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 20 {
				record(t, s, i*100+k, i*100+k+1)
				// Records are numbered from 1 in a new journal: n Records
				// have returned, so a record numbered n or more has, and
				// it must be durable.
				if n := recorded.Add(1); synced.Load() <= n {
					t.Errorf("%d Records returned with only the records below %d durable", n, synced.Load())
				}
			}
		}()
	}
	wg.Wait()
	if synced.Load() != 161 {
		t.Errorf("durable below %d after 160 records, want 161", synced.Load())
	}
}

func TestNewRejectsUnknownSyncPolicy(t *testing.T) {
	if _, err := audit.New(openStore(t), audit.Config{Dir: t.TempDir(), Sync: "never"}, nil); err == nil {
		t.Fatal("an unknown sync policy was accepted")
	}
}

// TestFlush: Flush returns once every row recorded before it is in the store
// (journal on files, spilled rows read back, and in memory), and returns the
// context's error while the store is failing.
func TestFlush(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  audit.Config
	}{
		{"journal", audit.Config{Dir: t.TempDir(), Linger: time.Hour}},
		{"spilled", audit.Config{Dir: t.TempDir(), QueueSize: 2, Linger: time.Hour}},
		{"memory", audit.Config{Linger: time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openStore(t)
			st := &tally{ExecutionStore: db}
			cfg := tc.cfg
			cfg.RetryDelay, cfg.MaxRetryDelay = time.Millisecond, time.Millisecond
			s := newSink(t, st, cfg)
			start(t, s)
			// The writer would linger an hour for a batch to fill: Flush
			// cuts that short.
			st.fail.Store(true)
			ids := record(t, s, 0, 5)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if err := s.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Flush while the store fails = %v, want the deadline", err)
			}
			st.fail.Store(false)
			if err := s.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			checkStored(t, db, ids)
		})
	}
}

// TestFlushAfterDamagedJournal: records the journal skips as damaged on
// open are counted as recorded but can never be stored; Flush must still
// return once the writer has nothing left, not wait for them forever.
func TestFlushAfterDamagedJournal(t *testing.T) {
	dir, db := t.TempDir(), openStore(t)
	release := make(chan struct{})
	defer close(release)
	s1 := newSink(t, &fakeStore{insert: stuck(release)}, audit.Config{Dir: dir, SegmentBytes: 1 << 10})
	start(t, s1)
	record(t, s1, 0, 40)
	segs := journalFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("%d segments, want several", len(segs))
	}
	// Damage a byte in the middle of the first segment: the rest of that
	// segment is skipped on open.
	f, err := os.OpenFile(segs[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	b := make([]byte, 1)
	f.ReadAt(b, st.Size()/2)
	b[0] ^= 0xff
	f.WriteAt(b, st.Size()/2)
	f.Close()

	s2 := newSink(t, db, audit.Config{Dir: dir, SegmentBytes: 1 << 10})
	start(t, s2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s2.Flush(ctx); err != nil {
		t.Fatalf("Flush after a damaged journal = %v, want nil once the rest is stored", err)
	}
	n, err := db.CountExecutions(context.Background(), "script")
	if err != nil || n == 0 || n >= 40 {
		t.Fatalf("%d rows stored (%v), want those of the undamaged records only", n, err)
	}
}
