package app_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/orchestrator"
)

// TestOverview: GET /api/overview reports this server's role, version and
// scripts, its gate while an execution runs and after one is refused, its
// sink, and the cluster's nodes from the store.
func TestOverview(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		e := newEnv(t, store, app.Config{Orchestrator: orchestrator.Config{MaxConcurrency: 1, GateWait: -1, MemoryLimit: 1 << 30}})
		overview := func() picloud.Overview {
			t.Helper()
			var o picloud.Overview
			e.do("GET", "/api/overview", nil, 200, &o)
			return o
		}
		o := overview()
		if o.Role != "serve" || o.Version != picloud.BuildVersion || o.Scripts != 0 || o.Nodes != (picloud.OverviewNodes{}) {
			t.Errorf("an empty server: %+v", o)
		}
		if o.Gate.Slots != 1 || o.Gate.Running != 0 || o.Gate.RejectedTotal != 0 || o.Gate.MemoryLimitBytes != 1<<30 {
			t.Errorf("gate: %+v", o.Gate)
		}
		if o.Sink.Capacity <= 0 || o.Sink.Queued != 0 {
			t.Errorf("sink: %+v", o.Sink)
		}

		e.create("slow", "loop { }", "timeout_ms", 1500, "max_operations", picloud.MaxOperationsLimit)
		e.create("quick", `1`)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); e.request("GET", "/fn/slow", nil) }()
		waitFor(t, func() bool { return overview().Gate.Running == 1 })
		if o := overview(); o.Scripts != 2 || o.Gate.MemoryReservedBytes <= 0 {
			t.Errorf("while slow runs: %+v", o)
		}
		if resp, b := e.request("GET", "/fn/quick", nil); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("quick while the one slot is taken: %d %s", resp.StatusCode, b)
		}
		if o := overview(); o.Gate.RejectedTotal != 1 {
			t.Errorf("after a refusal: %+v", o.Gate)
		}
		wg.Wait()
		if o := overview(); o.Gate.Running != 0 || o.Gate.MemoryReservedBytes != 0 {
			t.Errorf("after slow: %+v", o.Gate)
		}

		now := time.Now()
		for _, n := range []*picloud.Node{
			{Name: "a", Address: "http://127.0.0.1:1", Status: picloud.NodeOK, LastHeartbeat: picloud.Time{Time: now}},
			{Name: "b", Address: "http://127.0.0.1:2", Status: picloud.NodeDegraded, LastHeartbeat: picloud.Time{Time: now}},
			{Name: "c", Address: "http://127.0.0.1:3", Status: picloud.NodeOK, LastHeartbeat: picloud.Time{Time: now.Add(-time.Hour)}},
		} {
			if err := store.SaveNode(context.Background(), n); err != nil {
				t.Fatal(err)
			}
		}
		if o := overview(); o.Nodes != (picloud.OverviewNodes{Total: 3, Healthy: 1}) {
			t.Errorf("nodes: %+v", o.Nodes)
		}
		if resp, _ := e.request("GET", "/api/overview", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("without the token: %d", resp.StatusCode)
		}
	})
}

// TestOverviewManager: a cluster manager says so.
func TestOverviewManager(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := startManager(t, open(t), "")
		var o picloud.Overview
		e.do("GET", "/api/overview", nil, 200, &o)
		if o.Role != "manager" || o.Gate.Slots <= 0 || o.Nodes.Total != 0 {
			t.Errorf("manager overview: %+v", o)
		}
	})
}
