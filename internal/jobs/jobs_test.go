package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/metrics"
	"github.com/picloud/picloud/internal/sqlite"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	p := &retryPolicy{base: time.Second, max: 5 * time.Minute}
	for _, tc := range []struct {
		attempt  int
		lo, high time.Duration
	}{
		{1, 800 * time.Millisecond, 1200 * time.Millisecond},
		{2, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{3, 3200 * time.Millisecond, 4800 * time.Millisecond},
		{9, 204800 * time.Millisecond, 5 * time.Minute},
		{10, 5 * time.Minute, 5 * time.Minute},
		{1000, 5 * time.Minute, 5 * time.Minute},
	} {
		for _, r := range []float64{0, 0.5, 0.999999} {
			if d := p.delay(tc.attempt, r); d < tc.lo || d > tc.high {
				t.Errorf("delay(%d, %g) = %s, want [%s, %s]", tc.attempt, r, d, tc.lo, tc.high)
			}
		}
	}
}

func TestStateOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		state   rivertype.JobState
		attempt int
		want    picloud.JobState
	}{
		{rivertype.JobStateAvailable, 0, picloud.JobQueued},
		{rivertype.JobStateScheduled, 0, picloud.JobQueued},
		{rivertype.JobStatePending, 0, picloud.JobQueued},
		{rivertype.JobStateAvailable, 1, picloud.JobRetrying},
		{rivertype.JobStateRetryable, 1, picloud.JobRetrying},
		{rivertype.JobStateRunning, 1, picloud.JobRunning},
		{rivertype.JobStateCompleted, 1, picloud.JobSucceeded},
		{rivertype.JobStateDiscarded, 3, picloud.JobDead},
		{rivertype.JobStateCancelled, 1, picloud.JobDead},
	} {
		if got := stateOf(&rivertype.JobRow{State: tc.state, Attempt: tc.attempt}); got != tc.want {
			t.Errorf("stateOf(%s, attempt %d) = %s, want %s", tc.state, tc.attempt, got, tc.want)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	s := openSQLite(t)
	if _, err := New(Config{MissedFirings: "sometimes"}, s, &runner{store: s}); err == nil {
		t.Error("New accepted missed firings policy \"sometimes\"")
	}
	q, err := New(Config{}, s, &runner{store: s})
	if err != nil {
		t.Fatal(err)
	}
	c := q.Config()
	if c.PollInterval != time.Second || c.MaxQueued != 10000 || c.MaxQueuedPerScript != 1000 ||
		c.RetryBase != time.Second || c.RetryMax != 5*time.Minute || c.MissedFirings != MissedRunOnce || c.Workers == 0 {
		t.Errorf("defaults: %+v", c)
	}
	// Never started: Stop is a no-op.
	if err := q.Stop(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestAsyncRun(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		r := &runner{store: s}
		q := start(t, s, r, Config{})
		sc := createScript(t, s, &picloud.Script{Name: "hello", MaxAttempts: 5})
		req := &picloud.JobRequest{Method: "PUT", Path: "/fn/hello/x", Body: []byte(`{"a":1}`)}
		job, existing, err := q.Enqueue(ctx, sc, req, picloud.EnqueueOptions{})
		if err != nil || existing {
			t.Fatalf("enqueue: %v, existing %v", err, existing)
		}
		if job.Trigger != picloud.TriggerAsync || job.ScriptID != sc.ID || job.ScriptName != "hello" || job.MaxAttempts != 5 {
			t.Errorf("accepted job: %+v", job)
		}
		job = waitState(t, q, job.ID, picloud.JobSucceeded, 10*time.Second)
		runs := r.Runs()
		if len(runs) != 1 {
			t.Fatalf("runs: %+v", runs)
		}
		run := runs[0]
		if run.JobID != job.ID || run.Attempt != 1 || run.MaxAttempts != 5 || run.Trigger != picloud.TriggerAsync ||
			run.Request.Method != "PUT" || string(run.Request.Body) != `{"a":1}` || run.ScriptID != sc.ID {
			t.Errorf("run: %+v", run)
		}
		if len(job.Attempts) != 1 || job.Attempts[0].Status != picloud.StatusSuccess || job.Attempts[0].Attempt != 1 ||
			job.Attempts[0].ExecutionID == "" || job.Attempt != 1 || job.FinalizedAt.IsZero() {
			t.Errorf("job: %+v", job)
		}
		if _, err := q.Job(ctx, "12345678"); picloud.ErrorCode(err) != picloud.ENotFound {
			t.Errorf("unknown job: %v", err)
		}
		if _, err := q.Job(ctx, "x"); picloud.ErrorCode(err) != picloud.ENotFound {
			t.Errorf("bad id: %v", err)
		}
		// A disabled script takes no async run.
		sc.Disabled = true
		_, _, err = q.Enqueue(ctx, sc, req, picloud.EnqueueOptions{})
		wantCode(t, err, picloud.EUnavailable)
	})
}

// TestRetriesThenDeadLetter: a failing run is retried about a second later,
// then twice as late, then is a dead letter; requeued, it runs again.
func TestRetriesThenDeadLetter(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		r := &runner{store: s}
		r.setOutcome(func(*picloud.JobRun) (picloud.ExecutionStatus, error) { return picloud.StatusError, nil })
		m := metrics.New(nil)
		q := start(t, s, r, Config{Metrics: m})
		sc := createScript(t, s, &picloud.Script{Name: "flaky"}) // max_attempts 0: 3
		job, _, err := q.Enqueue(ctx, sc, &picloud.JobRequest{Method: "POST", Path: "/fn/flaky"}, picloud.EnqueueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		job = waitState(t, q, job.ID, picloud.JobDead, 20*time.Second)
		if job.Attempt != 3 || job.MaxAttempts != 3 || len(job.Attempts) != 3 || len(job.Errors) != 3 {
			t.Fatalf("dead job: %+v", job)
		}
		for i, a := range job.Attempts {
			if a.Attempt != i+1 || a.Status != picloud.StatusError || a.Error == nil {
				t.Errorf("attempt %d: %+v", i+1, a)
			}
		}
		if e := job.Errors[0].Error; e != "error: ErrorRuntime: boom" {
			t.Errorf("recorded error %q", e)
		}
		// The backoff: ~1 s (±20%), then ~2 s. The bounds are generous:
		// polling adds up to PollInterval, a loaded machine more.
		gap1 := job.Attempts[1].StartedAt.Sub(job.Attempts[0].StartedAt.Time)
		gap2 := job.Attempts[2].StartedAt.Sub(job.Attempts[1].StartedAt.Time)
		if gap1 < 700*time.Millisecond || gap1 > 4*time.Second {
			t.Errorf("first retry after %s, want about 1 s", gap1)
		}
		if gap2 < 1400*time.Millisecond || gap2 > 6*time.Second {
			t.Errorf("second retry after %s (first %s), want about 2 s", gap2, gap1)
		}
		dead, err := q.DeadLetters(ctx, "", 0)
		if err != nil || len(dead) != 1 || dead[0].ID != job.ID || len(dead[0].Attempts) != 3 {
			t.Fatalf("dead letters: %v %+v", err, dead)
		}
		if dead, err := q.DeadLetters(ctx, "other", 0); err != nil || len(dead) != 0 {
			t.Errorf("another script's dead letters: %v %+v", err, dead)
		}
		if dead, err := q.DeadLetters(ctx, sc.ID, 0); err != nil || len(dead) != 1 {
			t.Errorf("the script's dead letters: %v %+v", err, dead)
		}

		// Requeued, it runs once more and succeeds.
		r.setOutcome(nil)
		again, err := q.Requeue(ctx, job.ID)
		if err != nil || again.State == picloud.JobDead {
			t.Fatalf("requeue: %v %+v", err, again)
		}
		job = waitState(t, q, job.ID, picloud.JobSucceeded, 10*time.Second)
		if job.Attempt != 4 || len(job.Attempts) != 4 || job.Attempts[3].Status != picloud.StatusSuccess {
			t.Errorf("requeued job: %+v", job)
		}
		if n := len(r.Runs()); n != 4 {
			t.Errorf("%d runs, want 4", n)
		}
		if dead, err := q.DeadLetters(ctx, "", 0); err != nil || len(dead) != 0 {
			t.Errorf("dead letters after the requeue: %v %+v", err, dead)
		}
		for result, want := range map[string]float64{resultRetried: 2, resultDead: 1, resultSucceeded: 1} {
			if got := testutil.ToFloat64(m.JobsFinished.WithLabelValues("async", result)); got != want {
				t.Errorf("jobs finished %s: %g, want %g", result, got, want)
			}
		}
		// The latency of the first attempt only (and of the requeued run's).
		if n := histogramCount(t, m, "picloud_job_latency_seconds"); n < 1 || n > 2 {
			t.Errorf("job latency samples: %d", n)
		}
		// Only dead jobs are requeued or discarded.
		_, err = q.Requeue(ctx, job.ID)
		wantCode(t, err, picloud.ENotFound)
		wantCode(t, q.Discard(ctx, job.ID), picloud.ENotFound)
	})
}

func TestDiscard(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		r := &runner{store: s}
		r.setOutcome(func(*picloud.JobRun) (picloud.ExecutionStatus, error) { return picloud.StatusTimeout, nil })
		q := start(t, s, r, Config{})
		sc := createScript(t, s, &picloud.Script{Name: "slow", MaxAttempts: 1})
		job, _, err := q.Enqueue(ctx, sc, &picloud.JobRequest{Method: "POST"}, picloud.EnqueueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		job = waitState(t, q, job.ID, picloud.JobDead, 10*time.Second)
		if len(job.Errors) != 1 || !strings.HasPrefix(job.Errors[0].Error, "timeout") {
			t.Errorf("dead job: %+v", job)
		}
		if err := q.Discard(ctx, job.ID); err != nil {
			t.Fatal(err)
		}
		_, err = q.Job(ctx, job.ID)
		wantCode(t, err, picloud.ENotFound)
		wantCode(t, q.Discard(ctx, job.ID), picloud.ENotFound)
	})
}

// TestOutcomes: how the runner's answers end an attempt.
func TestOutcomes(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		r := &runner{store: s}
		var mu sync.Mutex
		busy := map[string]int{} // job id -> busy answers left
		r.setOutcome(func(run *picloud.JobRun) (picloud.ExecutionStatus, error) {
			mu.Lock()
			defer mu.Unlock()
			switch run.Request.Path {
			case "/busy":
				if busy[run.JobID] < 2 {
					busy[run.JobID]++
					return "", picloud.Errorf(picloud.EOverloaded, "busy")
				}
			case "/gone":
				return "", picloud.Errorf(picloud.ENotFound, "script gone")
			case "/budget":
				return picloud.StatusBudgetExceeded, nil
			}
			return picloud.StatusSuccess, nil
		})
		q := start(t, s, r, Config{})
		sc := createScript(t, s, &picloud.Script{Name: "s", MaxAttempts: 2})
		enqueue := func(path string) string {
			job, _, err := q.Enqueue(ctx, sc, &picloud.JobRequest{Method: "POST", Path: path}, picloud.EnqueueOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return job.ID
		}
		// Busy twice (snoozed, not an attempt), then a success at attempt 1.
		job := waitState(t, q, enqueue("/busy"), picloud.JobSucceeded, 10*time.Second)
		if job.Attempt != 1 || len(job.Errors) != 0 {
			t.Errorf("snoozed job: %+v", job)
		}
		// Script gone: dead at once, no retry.
		job = waitState(t, q, enqueue("/gone"), picloud.JobDead, 10*time.Second)
		if job.Attempt != 1 || len(job.Errors) != 1 || !strings.Contains(job.Errors[0].Error, "not_found") {
			t.Errorf("gone job: %+v", job)
		}
		// budget_exceeded is retried.
		job = waitState(t, q, enqueue("/budget"), picloud.JobDead, 15*time.Second)
		if job.Attempt != 2 || len(job.Attempts) != 2 {
			t.Errorf("budget job: %+v", job)
		}

		// A disabled script (disabled after its runs were queued): its
		// async run fails, then is a dead letter; its event run is skipped
		// without running.
		off := createScript(t, s, &picloud.Script{Name: "off", Disabled: true})
		insert := func(a runArgs) string {
			res, err := q.river.client.Insert(ctx, a, &river.InsertOpts{MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			q.wakeUp()
			return strconv.FormatInt(res.Job.ID, 10)
		}
		async := insert(runArgs{ScriptID: off.ID, ScriptName: "off", Trigger: picloud.TriggerAsync, Request: &picloud.JobRequest{Method: "POST"}})
		event := insert(runArgs{ScriptID: off.ID, ScriptName: "off", Trigger: picloud.TriggerEvent, Event: &picloud.Event{Topic: "t", Payload: json.RawMessage(`1`)}})
		job = waitState(t, q, async, picloud.JobDead, 10*time.Second)
		if len(job.Errors) != 1 || !strings.Contains(job.Errors[0].Error, "disabled") {
			t.Errorf("disabled script's async job: %+v", job)
		}
		job = waitState(t, q, event, picloud.JobSucceeded, 10*time.Second)
		if len(job.Attempts) != 0 {
			t.Errorf("disabled script's event job: %+v", job)
		}
		for _, run := range r.Runs() {
			if run.ScriptID == off.ID {
				t.Errorf("a disabled script ran: %+v", run)
			}
		}
	})
}

// compact is JSON without insignificant space (PostgreSQL's jsonb, where
// River keeps args, reformats it).
func compact(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return "invalid JSON: " + string(b)
	}
	return buf.String()
}

// histogramCount is the number of samples of the histogram name.
func histogramCount(t *testing.T, m *metrics.Metrics, name string) uint64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, metric := range mf.GetMetric() {
				n += metric.GetHistogram().GetSampleCount()
			}
		}
	}
	return n
}

// syncBuffer is a bytes.Buffer for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func ptr[T any](v T) *T { return &v }

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		r := &runner{store: s}
		q := start(t, s, r, Config{})
		a := createScript(t, s, &picloud.Script{Name: "a"})
		b := createScript(t, s, &picloud.Script{Name: "b"})
		req := &picloud.JobRequest{Method: "POST"}
		first, existing, err := q.Enqueue(ctx, a, req, picloud.EnqueueOptions{IdempotencyKey: "k1"})
		if err != nil || existing {
			t.Fatal(err, existing)
		}
		if first.IdempotencyKey != "k1" {
			t.Errorf("key: %+v", first)
		}
		waitState(t, q, first.ID, picloud.JobSucceeded, 10*time.Second)
		// The same key: the first job, also once it finished.
		again, existing, err := q.Enqueue(ctx, a, req, picloud.EnqueueOptions{IdempotencyKey: "k1"})
		if err != nil || !existing || again.ID != first.ID {
			t.Errorf("same key: %v existing %v id %s, want %s", err, existing, again.ID, first.ID)
		}
		// Another key, another script, no key: new jobs.
		ids := map[string]bool{first.ID: true}
		for _, tc := range []struct {
			sc  *picloud.Script
			key string
		}{{a, "k2"}, {b, "k1"}, {a, ""}, {a, ""}} {
			job, existing, err := q.Enqueue(ctx, tc.sc, req, picloud.EnqueueOptions{IdempotencyKey: tc.key})
			if err != nil || existing || ids[job.ID] {
				t.Errorf("%s key %q: %v existing %v id %s", tc.sc.Name, tc.key, err, existing, job.ID)
			}
			ids[job.ID] = true
		}
		eventually(t, 10*time.Second, "5 runs", func() bool { return len(r.Runs()) == 5 })
	})
}

func TestBackpressure(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		r := &runner{store: s}
		release := make(chan struct{})
		r.setOutcome(func(*picloud.JobRun) (picloud.ExecutionStatus, error) {
			<-release
			return picloud.StatusSuccess, nil
		})
		m := metrics.New(nil)
		q := start(t, s, r, Config{MaxQueuedPerScript: 2, MaxQueued: 3, Metrics: m})
		t.Cleanup(func() { close(release) }) // before the queue stops (cleanups run last first)
		a := createScript(t, s, &picloud.Script{Name: "a"})
		b := createScript(t, s, &picloud.Script{Name: "b"})
		req := &picloud.JobRequest{Method: "POST"}
		for range 2 {
			if _, _, err := q.Enqueue(ctx, a, req, picloud.EnqueueOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := q.Enqueue(ctx, a, req, picloud.EnqueueOptions{})
		e := wantCode(t, err, picloud.EQueueFull)
		if e.Details["retry_after"] != retryAfterFull || !strings.Contains(e.Message, `script "a"`) {
			t.Errorf("refusal: %+v", e)
		}
		// The server's bound: 3 in all.
		if _, _, err := q.Enqueue(ctx, b, req, picloud.EnqueueOptions{}); err != nil {
			t.Fatal(err)
		}
		_, _, err = q.Enqueue(ctx, b, req, picloud.EnqueueOptions{})
		if e := wantCode(t, err, picloud.EQueueFull); !strings.Contains(e.Message, "server") {
			t.Errorf("refusal: %+v", e)
		}
		// Events are not refused.
		b2 := createScript(t, s, &picloud.Script{Name: "sub", Subscriptions: []string{"x"}})
		_ = b2
		if err := q.Publish(ctx, a, []picloud.Event{{Topic: "x", Payload: json.RawMessage(`{}`)}}); err != nil {
			t.Fatal(err)
		}
		n, err := q.river.unfinished(ctx, "", 100)
		if err != nil || n != 4 {
			t.Errorf("unfinished: %d %v, want 4", n, err)
		}
		if got := testutil.ToFloat64(m.JobsRefused.WithLabelValues("queue_full")); got != 2 {
			t.Errorf("refused: %g, want 2", got)
		}
		if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(`
# HELP picloud_jobs_queued Unfinished jobs: queued, scheduled, retrying or running.
# TYPE picloud_jobs_queued gauge
picloud_jobs_queued 4
# HELP picloud_events_delivered_total Subscriber runs queued for published events.
# TYPE picloud_events_delivered_total counter
picloud_events_delivered_total 1
`), "picloud_jobs_queued", "picloud_events_delivered_total"); err != nil {
			t.Error(err)
		}
	})
}

func TestPublish(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		r := &runner{store: s}
		q := start(t, s, r, Config{})
		from := createScript(t, s, &picloud.Script{Name: "shop"})
		b := createScript(t, s, &picloud.Script{Name: "mailer", Subscriptions: []string{"order.created"}, MaxAttempts: 7})
		c := createScript(t, s, &picloud.Script{Name: "stock", Subscriptions: []string{"stock.low", "order.created"}})
		createScript(t, s, &picloud.Script{Name: "other", Subscriptions: []string{"order.created.v2"}})
		createScript(t, s, &picloud.Script{Name: "off", Subscriptions: []string{"order.created"}, Disabled: true})
		events := []picloud.Event{
			{Topic: "order.created", Payload: json.RawMessage(`{"id":7}`), Depth: 2},
			{Topic: "nobody.listens", Payload: json.RawMessage(`1`)},
		}
		if err := q.Publish(ctx, from, events); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "2 event runs", func() bool { return len(r.Runs()) >= 2 })
		time.Sleep(200 * time.Millisecond) // a third, wrong run would show by now
		runs := r.Runs()
		if len(runs) != 2 {
			t.Fatalf("runs: %+v", runs)
		}
		got := map[string]picloud.JobRun{}
		for _, run := range runs {
			got[run.ScriptID] = run
		}
		for _, sc := range []*picloud.Script{b, c} {
			run, ok := got[sc.ID]
			if !ok {
				t.Errorf("%s did not run", sc.Name)
				continue
			}
			ev := run.Event
			if run.Trigger != picloud.TriggerEvent || ev == nil || ev.Topic != "order.created" || compact(ev.Payload) != `{"id":7}` ||
				ev.EmittedBy != "shop" || ev.Depth != 2 || ev.ID == "" || run.Request == nil || compact(run.Request.Body) != `{"id":7}` {
				t.Errorf("%s's run: %+v event %+v", sc.Name, run, ev)
			}
		}
		if got[b.ID].Event.ID != got[c.ID].Event.ID || got[b.ID].MaxAttempts != 7 || got[c.ID].MaxAttempts != 3 {
			t.Errorf("runs: %+v", got)
		}
		job, err := q.Job(ctx, got[b.ID].JobID)
		if err != nil || job.Trigger != picloud.TriggerEvent || job.Event == nil || job.Event.Topic != "order.created" {
			t.Errorf("event job: %v %+v", err, job)
		}
	})
}

// TestSQLiteUnderLoad: River and the store share SQLite's one writer
// connection; concurrent inserts, attempts and store writes must never see
// SQLITE_BUSY.
func TestSQLiteUnderLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openSQLite(t)
	r := &runner{store: s}
	// River logs what fails inside it (a completion, a fetch): at warn and
	// above, into logs.
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	q := start(t, s, r, Config{Workers: 8, MaxQueued: 100000, MaxQueuedPerScript: 100000, Logger: logger})
	scripts := make([]*picloud.Script, 4)
	for i := range scripts {
		scripts[i] = createScript(t, s, &picloud.Script{Name: fmt.Sprintf("load-%d", i), Subscriptions: []string{"tick"}})
	}
	const goroutines, each = 16, 40
	began := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each*2)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				sc := scripts[(g+i)%len(scripts)]
				key := ""
				if i%5 == 0 {
					key = fmt.Sprintf("k-%d-%d", g, i)
				}
				if _, _, err := q.Enqueue(ctx, sc, &picloud.JobRequest{Method: "POST"}, picloud.EnqueueOptions{IdempotencyKey: key}); err != nil {
					errs <- err
				}
				if i%10 == 0 {
					if err := q.Publish(ctx, sc, []picloud.Event{{Topic: "tick", Payload: json.RawMessage(`1`)}}); err != nil {
						errs <- err
					}
					// The store's own writes, on the same connection.
					if _, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{MaxAttempts: ptr(int64(3))}); err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("queued in %s; %d runs so far", time.Since(began), len(r.Runs()))
	close(errs)
	for err := range errs {
		t.Errorf("under load: %v", err)
	}
	// Every async run plus one event run per subscriber and publish.
	want := goroutines*each + goroutines*(each/10)*len(scripts)
	eventually(t, 120*time.Second, fmt.Sprintf("%d runs", want), func() bool { return len(r.Runs()) >= want })
	eventually(t, 10*time.Second, "an empty queue", func() bool {
		n, err := q.river.unfinished(ctx, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	if n := len(r.Runs()); n != want {
		t.Errorf("%d runs, want %d", n, want)
	}
	t.Logf("%d runs in %s", want, time.Since(began))
	if l := logs.String(); l != "" {
		t.Errorf("River logged:\n%s", l)
	}
}

// TestSQLiteRescuesAtStart: a job left running by a process that died runs
// again at the next start (SQLite has one process), its interrupted attempt
// recorded; one out of attempts is a dead letter.
func TestSQLiteRescuesAtStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openSQLite(t)
	r := &runner{store: s}
	q, err := New(Config{PollInterval: 50 * time.Millisecond}, s, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.river.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sc := createScript(t, s, &picloud.Script{Name: "a", MaxAttempts: 2})
	again, _, err := q.Enqueue(ctx, sc, &picloud.JobRequest{Method: "POST"}, picloud.EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dead, _, err := q.Enqueue(ctx, sc, &picloud.JobRequest{Method: "POST"}, picloud.EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The dead process: both running, the second at its last attempt.
	if _, err := s.(sqliteStore).WriterDB().ExecContext(ctx, `UPDATE river_job SET state = 'running',
		attempt = CASE id WHEN ? THEN 1 ELSE 2 END, attempted_at = datetime('now', 'subsec', '-1 second')`, again.ID); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(context.Background()) })
	job := waitState(t, q, again.ID, picloud.JobSucceeded, 10*time.Second)
	if job.Attempt != 2 || len(job.Errors) != 1 || !strings.HasPrefix(job.Errors[0].Error, "interrupted") {
		t.Errorf("rescued job: %+v", job)
	}
	job, err = q.Job(ctx, dead.ID)
	if err != nil || job.State != picloud.JobDead || len(job.Errors) != 1 {
		t.Errorf("rescued job out of attempts: %v %+v", err, job)
	}
	if runs := r.Runs(); len(runs) != 1 || runs[0].JobID != again.ID || runs[0].Attempt != 2 {
		t.Errorf("runs: %+v", runs)
	}
}

// TestSleeps: River's client runs only while jobs are unfinished; an
// insert wakes it, on PostgreSQL also another process's.
func TestSleeps(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		r := &runner{store: s}
		q, err := New(Config{PollInterval: 50 * time.Millisecond}, s, r)
		if err != nil {
			t.Fatal(err)
		}
		q.sleepAfter = 200 * time.Millisecond
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := q.Stop(context.Background()); err != nil {
				t.Error(err)
			}
		})
		sc := createScript(t, s, &picloud.Script{Name: "a", Subscriptions: []string{"again"}})
		sch := createSchedule(t, s, &picloud.Schedule{ScriptID: sc.ID, Cron: "@yearly", Enabled: true})
		time.Sleep(50 * time.Millisecond)
		if q.awake.Load() {
			t.Error("awake with no job")
		}
		steps := 3
		if s.Kind() == "postgres" {
			steps = 4
		}
		for i := range steps {
			var id string
			switch i {
			case 0:
				job, _, err := q.Enqueue(ctx, sc, &picloud.JobRequest{Method: "POST"}, picloud.EnqueueOptions{})
				if err != nil {
					t.Fatal(err)
				}
				id = job.ID
			case 1:
				job, err := q.FireSchedule(ctx, sch)
				if err != nil {
					t.Fatal(err)
				}
				id = job.ID
			case 2:
				if err := q.Publish(ctx, sc, []picloud.Event{{Topic: "again", Payload: json.RawMessage(`1`)}}); err != nil {
					t.Fatal(err)
				}
				eventually(t, 5*time.Second, "the event run", func() bool { return len(r.Runs()) == 3 })
				id = r.Runs()[2].JobID
			case 3:
				// Another process inserts (a queue that only inserts):
				// River's notification wakes this one.
				other, err := New(Config{}, reopenPostgres(t, s), &runner{})
				if err != nil {
					t.Fatal(err)
				}
				job, _, err := other.Enqueue(ctx, sc, &picloud.JobRequest{Method: "POST"}, picloud.EnqueueOptions{})
				if err != nil {
					t.Fatal(err)
				}
				id = job.ID
			}
			waitState(t, q, id, picloud.JobSucceeded, 5*time.Second)
			eventually(t, 5*time.Second, "River asleep", func() bool { return !q.awake.Load() })
		}
		if n := len(r.Runs()); n != steps {
			t.Errorf("%d runs, want %d", n, steps)
		}
	})
}

// TestInsertWhileWaking: jobs inserted while River's client starts (the
// first insert wakes it, the others race its start) all run. On SQLite an
// insert pokes River's producer, which the start re-creates: without the
// queue's lock around both, `go test -race` reports the race.
func TestInsertWhileWaking(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		r := &runner{store: s}
		q, err := New(Config{PollInterval: 50 * time.Millisecond}, s, r)
		if err != nil {
			t.Fatal(err)
		}
		q.sleepAfter = time.Millisecond
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := q.Stop(context.Background()); err != nil {
				t.Error(err)
			}
		})
		sc := createScript(t, s, &picloud.Script{Name: "a"})
		const rounds, inserters = 5, 4
		for i := range rounds {
			eventually(t, 5*time.Second, "River asleep", func() bool { return !q.awake.Load() })
			var wg sync.WaitGroup
			for range inserters {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, _, err := q.Enqueue(ctx, sc, &picloud.JobRequest{Method: "POST"}, picloud.EnqueueOptions{}); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			want := (i + 1) * inserters
			eventually(t, 5*time.Second, fmt.Sprintf("%d runs", want), func() bool { return len(r.Runs()) == want })
		}
	})
}

// countingStore counts SubscribedScripts calls.
type countingStore struct {
	*sqlite.Store
	subscribed atomic.Int32
}

func (s *countingStore) SubscribedScripts(ctx context.Context, topic string) ([]*picloud.Script, error) {
	s.subscribed.Add(1)
	return s.Store.SubscribedScripts(ctx, topic)
}

// TestPublishReadsEachTopicOnce: the events of one execution read each
// topic's subscribers once, however many share it.
func TestPublishReadsEachTopicOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &countingStore{Store: openSQLite(t).(*sqlite.Store)}
	r := &runner{store: s}
	q := start(t, s, r, Config{})
	from := createScript(t, s, &picloud.Script{Name: "shop"})
	createScript(t, s, &picloud.Script{Name: "mailer", Subscriptions: []string{"order.created"}})
	var events []picloud.Event
	for i := range 10 {
		events = append(events, picloud.Event{Topic: "order.created", Payload: json.RawMessage(strconv.Itoa(i))})
	}
	events = append(events, picloud.Event{Topic: "nobody.listens", Payload: json.RawMessage(`1`)})
	if err := q.Publish(ctx, from, events); err != nil {
		t.Fatal(err)
	}
	if n := s.subscribed.Load(); n != 2 {
		t.Errorf("%d subscriber reads for 2 topics", n)
	}
	eventually(t, 10*time.Second, "10 event runs", func() bool { return len(r.Runs()) == 10 })
}

// TestLatencyOncePerJob: a job snoozed while the server is busy (its
// attempt given back, so it starts at attempt 1 again) is one latency
// sample, not one per try.
func TestLatencyOncePerJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openSQLite(t)
	r := &runner{store: s}
	var busy atomic.Int32
	r.setOutcome(func(*picloud.JobRun) (picloud.ExecutionStatus, error) {
		if busy.Add(1) <= 2 {
			return "", picloud.Errorf(picloud.EOverloaded, "busy")
		}
		return picloud.StatusSuccess, nil
	})
	m := metrics.New(nil)
	q := start(t, s, r, Config{Metrics: m})
	sc := createScript(t, s, &picloud.Script{Name: "s"})
	job, _, err := q.Enqueue(ctx, sc, &picloud.JobRequest{Method: "POST"}, picloud.EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, q, job.ID, picloud.JobSucceeded, 10*time.Second)
	if n := histogramCount(t, m, "picloud_job_latency_seconds"); n != 1 {
		t.Errorf("%d latency samples for one job, want 1", n)
	}
}
