package reliability

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestKill9UnderLoad kills the server with SIGKILL while 8 callers keep it
// busy, starts it again on the same data directory (and database), and checks
// that every request that got an answer has its execution row: the row is in
// the journal before the response is sent, and the restarted server replays
// the journal into the store. It runs with both journal sync policies: a
// written file survives kill -9 whether or not it was fsynced.
func TestKill9UnderLoad(t *testing.T) {
	eachStore(t, func(t *testing.T, b *backend) {
		policies := []string{""}
		if hasFlag("journal-sync") {
			policies = []string{"interval", "always"}
		}
		for _, policy := range policies {
			t.Run("sync="+policy, func(t *testing.T) { kill9(t, b, policy) })
		}
	})
}

func kill9(t *testing.T, b *backend, policy string) {
	ctx := scenario(t)
	args := b.args()
	if policy != "" {
		args = append(args, "--journal-sync", policy)
	}
	s := startServer(ctx, t, "first", nil, args...)
	c := newClient(s.base, 8)
	// Both policies share the backend: a script of their own keeps the
	// counts apart.
	id, err := c.deploy(ctx, "hello-"+cmp.Or(policy, "default"), helloSource, nil)
	if err != nil {
		t.Fatal(err)
	}
	load := startLoad(ctx, c, "/fn/hello-"+cmp.Or(policy, "default"), 8, 0, nil)
	if err := load.waitAnswered(ctx, 3000); err != nil {
		load.stop()
		t.Fatal(err)
	}
	s.kill() // mid-load: some requests are running, some answers half sent
	outcomes := load.stop()

	// What the store had when the process died: the rest must come from
	// the journal.
	extra := ""
	if policy != "" {
		extra = " journal_sync=" + policy
	}
	if before, err := rowsViaDB(b, id)(ctx); err != nil {
		t.Logf("reading the store after the kill: %v", err)
	} else {
		at := count(outcomes, before)
		extra += fmt.Sprintf(" in_store_at_kill=%d", at.executed-at.lost)
	}

	s2 := startServer(ctx, t, "restarted", nil, args...)
	tl, rows := awaitRows(ctx, t, outcomes, rowsViaAPI(newClient(s2.base, 2), id), 10*time.Second)
	checkLoss(t, "kill9", b.kind, tl, rows, extra)
}

// TestSIGTERMUnderLoad sends SIGTERM while 8 callers keep the server busy: the
// process must exit 0, and every answered request's row must be in the
// database when it has exited (read directly, not through a restarted server:
// a clean shutdown flushes everything itself).
func TestSIGTERMUnderLoad(t *testing.T) {
	eachStore(t, func(t *testing.T, b *backend) {
		ctx := scenario(t)
		s := startServer(ctx, t, "server", nil, b.args()...)
		c := newClient(s.base, 8)
		id, err := c.deploy(ctx, "hello", helloSource, nil)
		if err != nil {
			t.Fatal(err)
		}
		load := startLoad(ctx, c, "/fn/hello", 8, 0, nil)
		if err := load.waitAnswered(ctx, 1000); err != nil {
			load.stop()
			t.Fatal(err)
		}
		if err := s.signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		code, err := s.wait(ctx)
		outcomes := load.stop()
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 {
			t.Errorf("exit status %d after SIGTERM, want 0", code)
		}
		rows, err := rowsViaDB(b, id)(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tl := count(outcomes, rows)
		extra := fmt.Sprintf(" exit=%d", code)
		if tl.lost > 0 {
			// Not the store after a clean exit: say whether the journal still
			// had them (the flush failed) or they are gone.
			s2 := startServer(ctx, t, "restarted", nil, b.args()...)
			after, _ := awaitRows(ctx, t, outcomes, rowsViaAPI(newClient(s2.base, 2), id), 5*time.Second)
			extra += fmt.Sprintf(" recovered_by_replay=%d", tl.lost-after.lost)
		}
		checkLoss(t, "sigterm", b.kind, tl, rows, extra)
	})
}

// Phases of the database-cut scenario.
const (
	phaseBefore int32 = iota
	phaseCut
	phaseRestored
)

var phaseNames = []string{"before", "cut", "restored"}

// sample is one monitoring request of the database-cut scenario.
type sample struct {
	phase  int32
	route  string
	status int    // 0: no answer
	health string // its status
	store  string // its store component's status
	err    error
}

// monitor polls /api/health and /metrics (with the token) every 100 ms.
type monitor struct {
	stopped atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	samples []sample
}

func startMonitor(ctx context.Context, c *client, phase *atomic.Int32) *monitor {
	m := &monitor{}
	poll := func(route string, hdr http.Header) {
		defer m.wg.Done()
		for !m.stopped.Load() && ctx.Err() == nil {
			sm := sample{phase: phase.Load(), route: route}
			r, err := c.get(ctx, route, hdr)
			if err != nil {
				sm.err = err
			} else {
				sm.status = r.status
				if route == "/api/health" {
					var h health
					json.Unmarshal(r.body, &h)
					sm.health, sm.store = h.Status, h.Components["store"].Status
				}
			}
			m.mu.Lock()
			m.samples = append(m.samples, sm)
			m.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}
	m.wg.Add(2)
	go poll("/api/health", nil)
	go poll("/metrics", bearer())
	return m
}

func (m *monitor) stop() []sample {
	m.stopped.Store(true)
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.samples
}

// healthNow is one /api/health answer.
func healthNow(ctx context.Context, c *client) (int, health, error) {
	r, err := c.get(ctx, "/api/health", nil)
	if err != nil {
		return 0, health{}, err
	}
	var h health
	json.Unmarshal(r.body, &h)
	return r.status, h, nil
}

// TestDatabaseCut cuts PostgreSQL away for 10 s (through the proxy; the
// shared server is never stopped) while 4 callers keep calling a script whose
// compiled form is cached: invocations must keep answering 2xx throughout
// (served from the script cache, their rows kept in the journal), /api/health
// must answer 200 (degraded during the cut) and /metrics must answer; once the
// database is back, every answered request has its row.
//
// SQLite has no network between PiCloud and its database to cut, so this
// scenario runs on PostgreSQL only.
func TestDatabaseCut(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		b := postgresBackend(t)
		ctx := scenario(t)
		s := startServer(ctx, t, "server", nil, b.args()...)
		c := newClient(s.base, 8)
		id, err := c.deploy(ctx, "hello", helloSource, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Warm the script cache: the outage starts with the script compiled.
		for i := range 3 {
			r, err := c.get(ctx, fmt.Sprintf("/fn/hello?k=warm-%d", i), nil)
			if err != nil || r.status != http.StatusOK {
				t.Fatalf("warming the cache: %v %v", r, err)
			}
		}
		if st, h, err := healthNow(ctx, c); err != nil || st != http.StatusOK || h.Status != "ok" || h.Service != "picloud" {
			t.Errorf("health before the cut: %d %+v %v, want 200 {service: picloud, status: ok}", st, h, err)
		}

		var phase atomic.Int32
		mon := startMonitor(ctx, c, &phase)
		load := startLoad(ctx, c, "/fn/hello", 4, 5*time.Millisecond, &phase)
		if err := load.waitAnswered(ctx, 200); err != nil {
			load.stop()
			mon.stop()
			t.Fatal(err)
		}
		phase.Store(phaseCut)
		b.proxy.Cut()
		// The outage lasts 10 s: that is the scenario, not an assertion.
		select {
		case <-time.After(10 * time.Second):
		case <-ctx.Done():
		}
		phase.Store(phaseRestored)
		b.proxy.Restore()
		if err := load.waitAnswered(ctx, load.answered.Load()+200); err != nil {
			t.Error(err)
		}
		outcomes := load.stop()
		samples := mon.stop()

		// Invocations: every request answered, and answered 2xx, in every phase.
		type perPhase struct{ sent, ok int }
		var phases [3]perPhase
		bad := map[string]int{}
		for _, o := range outcomes {
			phases[o.phase].sent++
			switch {
			case !o.answered:
				bad[fmt.Sprintf("%s: no answer (%v)", phaseNames[o.phase], o.err)]++
			case o.status < 200 || o.status > 299:
				bad[fmt.Sprintf("%s: %d %s", phaseNames[o.phase], o.status, o.code)]++
			default:
				phases[o.phase].ok++
			}
		}
		for what, n := range bad {
			t.Errorf("invocation %s, %d times", what, n)
		}
		if phases[phaseCut].sent == 0 {
			t.Errorf("no invocation was sent during the cut")
		}

		// Health and metrics answered throughout; health said degraded during the cut.
		degraded, healthBad, metricsBad := 0, map[string]int{}, map[string]int{}
		for _, sm := range samples {
			what := phaseNames[sm.phase] + ": "
			if sm.err != nil {
				what += "no answer (" + sm.err.Error() + ")"
			} else {
				what += statusText(sm.status)
			}
			switch {
			case sm.route == "/metrics" && sm.status != http.StatusOK:
				metricsBad[what]++
			case sm.route == "/api/health" && (sm.status != http.StatusOK || (sm.health != "ok" && sm.health != "degraded")):
				healthBad[what+" status "+sm.health]++
			case sm.route == "/api/health" && sm.phase == phaseCut && sm.health == "degraded" && sm.store == "down":
				degraded++
			}
		}
		for what, n := range healthBad {
			t.Errorf("/api/health %s, %d times; want 200 ok or degraded throughout", what, n)
		}
		for what, n := range metricsBad {
			t.Errorf("/metrics %s, %d times; want 200 throughout", what, n)
		}
		if degraded == 0 {
			t.Errorf("/api/health never said degraded with the store down during the cut")
		}

		// The store is back: health says ok again, and the rows arrive.
		for {
			st, h, err := healthNow(ctx, c)
			if err == nil && st == http.StatusOK && h.Status == "ok" {
				break
			}
			if ctx.Err() != nil {
				t.Errorf("health did not return to ok after the database came back: %d %+v %v", st, h, err)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		tl, rows := awaitRows(ctx, t, outcomes, rowsViaAPI(c, id), 12*time.Second)
		checkLoss(t, "dbcut", b.kind, tl, rows, fmt.Sprintf(" during_cut=%d during_cut_2xx=%d health_degraded=%d",
			phases[phaseCut].sent, phases[phaseCut].ok, degraded))
	})
}

// TestJournalFull cuts PostgreSQL away from a server whose journal may hold
// only 64 KiB: once the journal is full, invocations wait (the gate wait,
// 200 ms here) and then get 503 unavailable, nothing else; the process keeps
// answering; when the database is back the journal drains, invocations answer
// 2xx again, and every answered execution has its row.
//
// Like TestDatabaseCut, PostgreSQL only: SQLite has no network to cut.
func TestJournalFull(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		b := postgresBackend(t)
		ctx := scenario(t)
		s := startServer(ctx, t, "server", nil, append(b.args(), "--journal-max-bytes", "65536", "--gate-wait", "200ms")...)
		c := newClient(s.base, 4)
		id, err := c.deploy(ctx, "hello", helloSource, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := c.get(ctx, "/fn/hello?k=warm", nil); err != nil || r.status != http.StatusOK {
			t.Fatalf("warming the cache: %v %v", r, err)
		}

		var phase atomic.Int32
		load := startLoad(ctx, c, "/fn/hello", 4, 2*time.Millisecond, &phase)
		wait := func(err error) {
			if err != nil {
				load.stop()
				t.Fatal(err)
			}
		}
		wait(load.waitAnswered(ctx, 100))
		phase.Store(phaseCut)
		b.proxy.Cut()
		// Cut until the bound shows: 20 requests refused for a full journal.
		wait(load.waitSeen(ctx, phaseCut, "503 unavailable", 20))
		phase.Store(phaseRestored)
		b.proxy.Restore()
		// The journal drains and invocations run again.
		wait(load.waitSeen(ctx, phaseRestored, "2xx", 200))
		outcomes := load.stop()

		kinds, bad := map[string]int{}, map[string]int{}
		for _, o := range outcomes {
			k := phaseNames[o.phase] + ":" + o.kind()
			kinds[k]++
			if o.phase == phaseBefore && o.kind() != "2xx" || o.kind() != "2xx" && o.kind() != "503 unavailable" {
				bad[k]++
			}
		}
		for k, n := range bad {
			t.Errorf("invocation %s, %d times; want 2xx, or 503 unavailable while the journal is full", k, n)
		}
		tl, rows := awaitRows(ctx, t, outcomes, rowsViaAPI(c, id), 12*time.Second)
		checkLoss(t, "journal_full", b.kind, tl, rows, " journal_max_bytes=65536 answers="+summary(kinds))
	})
}
