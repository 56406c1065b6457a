package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/audit"
	"github.com/picloud/picloud/internal/postgres"
	"github.com/picloud/picloud/internal/postgres/pgtest"
)

// sseEvent is one event of a tail stream.
type sseEvent struct {
	id, name, data string
}

// openTail opens a tail stream and returns its events (pings skipped); the
// stream closes when the test ends, before the server does.
func (e *env) openTail(path string, hdr ...string) <-chan sseEvent {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	ch := make(chan sseEvent, 100)
	go func() {
		defer close(ch)
		br := bufio.NewReader(resp.Body)
		var ev sseEvent
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			if line == "" {
				if ev.name != "" {
					ch <- ev
				}
				ev = sseEvent{}
				continue
			}
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimPrefix(v, " ")
			switch k {
			case "id":
				ev.id = v
			case "event":
				ev.name = v
			case "data":
				ev.data = v
			}
		}
	}()
	return ch
}

func nextEvent(t *testing.T, ch <-chan sseEvent) (sseEvent, *picloud.ExecutionLog) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the tail stream ended")
		}
		var l picloud.ExecutionLog
		if ev.name != "execution" || json.Unmarshal([]byte(ev.data), &l) != nil || l.ID != ev.id {
			t.Fatalf("event %+v", ev)
		}
		return ev, &l
	case <-time.After(converge):
		t.Fatal("no tail event")
	}
	panic("unreachable")
}

// TestTail: an invocation appears on the tail streams that select it, by
// name or id, once stored; a stream resumed with Last-Event-ID first gets
// what it missed.
func TestTail(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{Sink: audit.Config{Dir: t.TempDir()}})
		echo := e.create("echo", `log::info("got " + request.query.k); request.query.k`)
		e.create("other", `"x"`)
		byName := e.openTail("/api/scripts/echo/tail")
		byID := e.openTail("/api/tail?script=" + echo)
		all := e.openTail("/api/tail")

		if resp, _ := e.request("GET", "/fn/other", nil); resp.StatusCode != 200 {
			t.Fatalf("other: %d", resp.StatusCode)
		}
		if resp, b := e.request("GET", "/fn/echo?k=Hello", nil); resp.StatusCode != 200 || string(b) != "Hello" {
			t.Fatalf("echo: %d %s", resp.StatusCode, b)
		}
		var first *picloud.ExecutionLog
		for _, ch := range []<-chan sseEvent{byName, byID} {
			_, l := nextEvent(t, ch)
			if l.ScriptID != echo || l.Trigger != picloud.TriggerHTTP || l.Status != picloud.StatusSuccess ||
				l.Request == nil || l.Request.Path != "/fn/echo" || len(l.Logs) != 1 || l.Logs[0].Message != "got Hello" {
				t.Fatalf("tailed %+v", l)
			}
			first = l
		}
		_, l1 := nextEvent(t, all)
		_, l2 := nextEvent(t, all)
		if l1.ScriptID == echo || l2.ID != first.ID {
			t.Fatalf("the global tail got %s then %s", l1.ScriptID, l2.ScriptID)
		}
		resp, b := e.request("GET", "/metrics", nil, "Authorization", "Bearer "+testToken)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "picloud_tail_streams 3") {
			t.Fatalf("metrics: %d, want picloud_tail_streams 3", resp.StatusCode)
		}

		// Missed while away: resumed first, then live.
		if resp, _ := e.request("GET", "/fn/echo?k=Again", nil); resp.StatusCode != 200 {
			t.Fatal("echo again")
		}
		e.logs(echo, 2) // stored
		resumed := e.openTail("/api/scripts/"+echo+"/tail", "Last-Event-ID", first.ID)
		if _, l := nextEvent(t, resumed); len(l.Logs) != 1 || l.Logs[0].Message != "got Again" {
			t.Fatalf("resumed %+v", l)
		}
		if resp, _ := e.request("GET", "/fn/echo?k=Live", nil); resp.StatusCode != 200 {
			t.Fatal("echo live")
		}
		if _, l := nextEvent(t, resumed); len(l.Logs) != 1 || l.Logs[0].Message != "got Live" {
			t.Fatalf("live after resume %+v", l)
		}

		// An unknown script is 404, not a stream.
		if resp, _ := e.request("GET", "/api/scripts/nope/tail", nil, "Authorization", "Bearer "+testToken); resp.StatusCode != 404 {
			t.Fatalf("unknown script: %d", resp.StatusCode)
		}
		// Without the token: 401.
		if resp, _ := e.request("GET", "/api/tail", nil); resp.StatusCode != 401 {
			t.Fatalf("no token: %d", resp.StatusCode)
		}
	})
}

// TestTailAcrossManagers: on PostgreSQL a row stored through another store
// value (another manager) reaches this manager's tail.
func TestTailAcrossManagers(t *testing.T) {
	dbURL := os.Getenv("PICLOUD_TEST_DATABASE_URL")
	if dbURL == "" {
		t.Skip("PICLOUD_TEST_DATABASE_URL is not set")
	}
	t.Parallel()
	shared := pgtest.URL(t, dbURL)
	openStore := func() *postgres.Store {
		s, err := postgres.Open(context.Background(), shared)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	here, other := openStore(), openStore()
	e := startManager(t, here, "")
	id := e.create("remote", `"x"`)
	stream := e.openTail("/api/scripts/remote/tail")

	// The manager's listener may not listen yet: store and announce rows
	// until one arrives.
	sent := map[string]bool{}
	deadline := time.Now().Add(converge)
	for {
		rid, _ := uuid.NewV7()
		row := &picloud.ExecutionLog{ID: rid.String(), ScriptID: id, ScriptVersion: 1, Trigger: picloud.TriggerHTTP,
			Status: picloud.StatusSuccess, StartedAt: picloud.Time{Time: time.Now().UTC()},
			Logs: []picloud.LogLine{{Level: "info", Message: "from the other manager"}}}
		if err := other.InsertExecutions(context.Background(), []*picloud.ExecutionLog{row}); err != nil {
			t.Fatal(err)
		}
		if err := other.NotifyExecutions(context.Background(), []string{row.ID}); err != nil {
			t.Fatal(err)
		}
		sent[row.ID] = true
		select {
		case ev, ok := <-stream:
			if !ok {
				t.Fatal("the tail stream ended")
			}
			if !sent[ev.id] || !strings.Contains(ev.data, "from the other manager") {
				t.Fatalf("event %+v", ev)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no row from the other store value reached the tail")
		}
	}
}

// TestTailSeesNodes: a manager's tail shows the executions its nodes ran,
// announced when it stores the batches they send.
func TestTailSeesNodes(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		m := startManager(t, open(t), "")
		n := startNode(t, "node-a", m.srv.URL, clusterToken)
		m.create("hello", `log::info("on a node"); "hi"`)
		stream := m.openTail("/api/tail?script=hello")
		n.serves("/fn/hello", "hi")
		_, l := nextEvent(t, stream)
		if l.Node != "node-a" || len(l.Logs) != 1 || l.Logs[0].Message != "on a node" {
			t.Fatalf("tailed %+v", l)
		}
	})
}
