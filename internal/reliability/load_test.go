package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// helloSource answers with the marker it was called with, so that a 2xx
// answer proves the script ran for that very request.
const helloSource = `#{k: request.query.k}`

// outcome is what one request of the load got.
type outcome struct {
	marker   string
	phase    int32 // the scenario's phase when the request was sent
	answered bool  // the status line arrived (a cut connection without one is no answer)
	status   int
	code     string // the error code of an error body
	execID   string // the execution id of an error body
	echoed   bool   // a 2xx body carried the marker back
	err      error
}

// loadGen is N goroutines calling one script as fast as they can (with an
// optional pause), each request carrying a unique marker ?k=wW-I (post-wW-I
// for POST requests).
type loadGen struct {
	c        *client
	path     string
	body     []byte // sent with POST; nil: GET
	pause    time.Duration
	phase    *atomic.Int32
	stopped  atomic.Bool
	answered atomic.Int64
	wg       sync.WaitGroup

	mu       sync.Mutex
	outcomes []outcome
	seen     map[seenKey]int // answers so far by phase and kind, for waitSeen
}

// seenKey counts answers of one kind (outcome.kind) in one phase.
type seenKey struct {
	phase int32
	kind  string
}

// kind is "2xx", "STATUS CODE" (e.g. "503 unavailable") or "no answer".
func (o outcome) kind() string {
	switch {
	case !o.answered:
		return "no answer"
	case o.status >= 200 && o.status < 300:
		return "2xx"
	}
	return fmt.Sprintf("%d %s", o.status, o.code)
}

// startLoad starts workers calling path (e.g. /fn/hello). phase, when not
// nil, tags each outcome with the scenario's phase at the time of sending.
func startLoad(ctx context.Context, c *client, path string, workers int, pause time.Duration, phase *atomic.Int32) *loadGen {
	return startLoadWith(ctx, c, path, nil, workers, pause, phase)
}

// startPostLoad is startLoad with POST requests carrying body.
func startPostLoad(ctx context.Context, c *client, path string, body []byte, workers int, pause time.Duration, phase *atomic.Int32) *loadGen {
	return startLoadWith(ctx, c, path, body, workers, pause, phase)
}

func startLoadWith(ctx context.Context, c *client, path string, body []byte, workers int, pause time.Duration, phase *atomic.Int32) *loadGen {
	if phase == nil {
		phase = new(atomic.Int32)
	}
	l := &loadGen{c: c, path: path, body: body, pause: pause, phase: phase, seen: map[seenKey]int{}}
	for w := range workers {
		l.wg.Add(1)
		go l.worker(ctx, w)
	}
	return l
}

func (l *loadGen) worker(ctx context.Context, w int) {
	defer l.wg.Done()
	var mine []outcome
	defer func() {
		l.mu.Lock()
		l.outcomes = append(l.outcomes, mine...)
		l.mu.Unlock()
	}()
	for i := 0; !l.stopped.Load() && ctx.Err() == nil; i++ {
		o := outcome{marker: fmt.Sprintf("w%d-%d", w, i), phase: l.phase.Load()}
		if l.body != nil {
			o.marker = "post-" + o.marker // apart from a GET load's on the same script
		}
		target := l.path + "?k=" + url.QueryEscape(o.marker)
		var r *response
		var err error
		if l.body != nil {
			r, err = l.c.do(ctx, http.MethodPost, target, nil, l.body)
		} else {
			r, err = l.c.get(ctx, target, nil)
		}
		if err != nil {
			o.err = err
		} else {
			o.answered, o.status = true, r.status
			if r.status >= 200 && r.status < 300 {
				var body struct {
					K string `json:"k"`
				}
				o.echoed = r.bodyErr == nil && json.Unmarshal(r.body, &body) == nil && body.K == o.marker
			} else {
				e := r.errorBody()
				o.code, o.execID = e.Error.Code, e.Error.ExecutionID
			}
			l.answered.Add(1)
		}
		mine = append(mine, o)
		l.mu.Lock()
		l.seen[seenKey{o.phase, o.kind()}]++
		l.mu.Unlock()
		if l.pause > 0 {
			time.Sleep(l.pause)
		}
	}
}

// waitAnswered waits until n requests have been answered in all.
func (l *loadGen) waitAnswered(ctx context.Context, n int64) error {
	for l.answered.Load() < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the load got %d answers, waiting for %d: %w", l.answered.Load(), n, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// waitSeen waits until n answers of a kind (outcome.kind) came in a phase.
func (l *loadGen) waitSeen(ctx context.Context, phase int32, kind string, n int) error {
	for {
		l.mu.Lock()
		got := l.seen[seenKey{phase, kind}]
		l.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the load got %d answers %q in phase %d, waiting for %d: %w", got, kind, phase, n, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// stop stops the workers and returns every outcome.
func (l *loadGen) stop() []outcome {
	l.stopped.Store(true)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.outcomes
}

// tally is the loss count of a load against the rows found.
type tally struct {
	requests    int
	answered    int
	executed    int // answered requests that ran the script, so must have a row
	notExecuted int // answered but refused before running (429, 503 unavailable): no row is due
	lost        int
	missing     []string // the first few lost markers or ids
	byStatus    map[int]int
	notEchoed   int // 2xx answers whose body was not the script's echo of the marker
}

// rowIndex is what rows exist: by marker (the query's k) and by id.
type rowIndex struct {
	byMarker map[string]int
	byID     map[string]bool
	total    int
}

func indexRows(ids, markers []string) rowIndex {
	ix := rowIndex{byMarker: map[string]int{}, byID: map[string]bool{}, total: len(ids)}
	for i, id := range ids {
		ix.byID[id] = true
		if markers[i] != "" {
			ix.byMarker[markers[i]]++
		}
	}
	return ix
}

// count checks every answered request against the rows. A 2xx answer must
// have a row with its marker; an error answer naming an execution id must
// have that row; an answer refused before running has none to have.
func count(outcomes []outcome, rows rowIndex) tally {
	t := tally{requests: len(outcomes), byStatus: map[int]int{}}
	for _, o := range outcomes {
		if !o.answered {
			continue
		}
		t.answered++
		t.byStatus[o.status]++
		var found bool
		var what string
		switch {
		case o.status >= 200 && o.status < 300:
			if !o.echoed {
				t.notEchoed++
			}
			found, what = rows.byMarker[o.marker] > 0, "marker "+o.marker
		case o.execID != "":
			found, what = rows.byID[o.execID], "execution "+o.execID+" (marker "+o.marker+")"
		default:
			t.notExecuted++
			continue
		}
		t.executed++
		if !found {
			t.lost++
			if len(t.missing) < 10 {
				t.missing = append(t.missing, what)
			}
		}
	}
	return t
}

func (t tally) statuses() string {
	var codes []int
	for c := range t.byStatus {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var b strings.Builder
	for i, c := range codes {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d:%d", c, t.byStatus[c])
	}
	return b.String()
}

// rowsViaAPI reads a script's rows through the admin API.
func rowsViaAPI(c *client, scriptID string) func(context.Context) (rowIndex, error) {
	return func(ctx context.Context) (rowIndex, error) {
		rows, err := c.logs(ctx, scriptID)
		if err != nil {
			return rowIndex{}, err
		}
		ids, markers := make([]string, len(rows)), make([]string, len(rows))
		for i, r := range rows {
			ids[i], markers[i] = r.ID, r.Request.Query["k"]
		}
		return indexRows(ids, markers), nil
	}
}

// rowsViaDB reads a script's rows from the database itself.
func rowsViaDB(b *backend, scriptID string) func(context.Context) (rowIndex, error) {
	return func(ctx context.Context) (rowIndex, error) {
		rows, err := b.executionRows(ctx, scriptID)
		if err != nil {
			return rowIndex{}, err
		}
		ids, markers := make([]string, len(rows)), make([]string, len(rows))
		for i, r := range rows {
			ids[i], markers[i] = r.id, r.marker
		}
		return indexRows(ids, markers), nil
	}
}

// awaitRows reads the rows until every answered request has its row or
// within has passed (a restarted server replays its journal, a restored store
// is fed from it: both take a moment). It returns the last count.
func awaitRows(ctx context.Context, t *testing.T, outcomes []outcome, read func(context.Context) (rowIndex, error), within time.Duration) (tally, rowIndex) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var last tally
	var lastRows rowIndex
	var lastErr error
	for {
		rows, err := read(ctx)
		if err == nil {
			last, lastRows, lastErr = count(outcomes, rows), rows, nil
			if last.lost == 0 {
				return last, lastRows
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				t.Errorf("reading the execution rows: %v", lastErr)
			}
			return last, lastRows
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// checkLoss fails the test when an answered request has no row, and logs the
// figures as a RESULT line.
func checkLoss(t *testing.T, name, store string, tl tally, rows rowIndex, extra string) {
	t.Helper()
	t.Logf("RESULT scenario=%s store=%s requests=%d answered=%d executed=%d not_executed=%d rows=%d lost=%d statuses=%s%s",
		name, store, tl.requests, tl.answered, tl.executed, tl.notExecuted, rows.total, tl.lost, tl.statuses(), extra)
	if tl.lost > 0 {
		t.Errorf("%d of %d answered executions have no row, e.g. %s", tl.lost, tl.executed, strings.Join(tl.missing, ", "))
	}
	if tl.notEchoed > 0 {
		t.Errorf("%d 2xx answers did not carry their marker back: they were not the script's answers", tl.notEchoed)
	}
	if tl.executed == 0 {
		t.Errorf("no request was answered by the script: the scenario tested nothing")
	}
}
