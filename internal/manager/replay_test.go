package manager_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/sqlite"
)

// TestReplayDeadline: a replay is bounded as a whole. The captures run
// newest first; the run the deadline cuts and every capture after it are
// listed as not replayable with a "deadline:" reason, the ones run before
// are answered, and the request ends near the deadline, not after the
// script's own timeout.
func TestReplayDeadline(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	const deadline = 300 * time.Millisecond
	m := manager.New(manager.Config{Store: s, Executor: executor.New(executor.Config{}, nil), ReplayDeadline: deadline})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/scripts/{id}/replay", m.HandleReplay)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	src := "if request.query.slow == \"1\" { loop { } }\n\"ok\""
	sc := &picloud.Script{Name: "slowpoke", Source: src, TimeoutMS: 10_000, MaxOperations: picloud.MaxOperationsLimit, MaxConcurrency: 1}
	if err := s.CreateScript(ctx, sc); err != nil {
		t.Fatal(err)
	}
	// Newest first: two quick captures, the slow one, two older quick ones.
	base := time.Now().Add(-time.Minute)
	slow := []bool{false, false, true, false, false}
	ids := make([]string, len(slow))
	var rows []*picloud.ExecutionLog
	for i, sl := range slow {
		id, _ := uuid.NewV7()
		ids[i] = id.String()
		q := map[string]string{}
		if sl {
			q["slow"] = "1"
		}
		rows = append(rows, &picloud.ExecutionLog{ID: ids[i], ScriptID: sc.ID, ScriptVersion: 1, Trigger: picloud.TriggerHTTP,
			Status: picloud.StatusSuccess, StartedAt: picloud.Time{Time: base.Add(-time.Duration(i) * time.Second)},
			Request: &picloud.RequestRecord{Method: "GET", Path: "/fn/slowpoke", Query: q}})
	}
	if err := s.InsertExecutions(ctx, rows); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	resp, err := srv.Client().Post(srv.URL+"/api/scripts/slowpoke/replay", "application/json", strings.NewReader(`{"source":`+quote(src)+`}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	took := time.Since(start)
	var out picloud.ReplayResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("replay: %d %v", resp.StatusCode, err)
	}
	if took > deadline+2*time.Second {
		t.Errorf("the replay took %v, past its %v deadline", took, deadline)
	}
	if len(out.Items) != 2 || out.Items[0].ExecutionID != ids[0] || out.Items[1].ExecutionID != ids[1] ||
		!out.Items[0].Same || out.Items[0].Live.Body != "ok" {
		t.Errorf("items: %+v, want the two newest, run", out.Items)
	}
	if len(out.NotReplayable) != 3 {
		t.Fatalf("not replayable: %+v, want the slow one and the two after it", out.NotReplayable)
	}
	for i, nr := range out.NotReplayable {
		if nr.ExecutionID != ids[i+2] || !strings.HasPrefix(nr.Reason, "deadline: ") {
			t.Errorf("not replayable %d: %+v, want %s with a deadline reason", i, nr, ids[i+2])
		}
	}

	// Without a slow capture, the same deadline is no limit.
	quick := `"ok"`
	if _, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Source: &quick}); err != nil {
		t.Fatal(err)
	}
	resp2, err := srv.Client().Post(srv.URL+"/api/scripts/slowpoke/replay", "application/json", strings.NewReader(`{"source":"\"ok\""}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	out = picloud.ReplayResponse{}
	if err := json.NewDecoder(resp2.Body).Decode(&out); err != nil || len(out.Items) != 5 || len(out.NotReplayable) != 0 {
		t.Errorf("quick replay: %v %d items %+v", err, len(out.Items), out.NotReplayable)
	}
}
