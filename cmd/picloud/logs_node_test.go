package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/sqlite"
)

// TestLogsShowNode checks that `picloud logs` names the node of a row that
// has one (a cluster's) and prints a row without one (the all-in-one
// server's, a manager's test run) exactly as before, and that --json keeps
// the field as the API sends it. The rows are written into the server's own
// SQLite store beside it (WAL takes a second writer), as a manager's
// ingestion would write a node's.
func TestLogsShowNode(t *testing.T) {
	dataDir := t.TempDir()
	url, token, stop := startServer(t, dataDir)
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)

	file := filepath.Join(t.TempDir(), "greet.rhai")
	os.WriteFile(file, []byte(`"hi"`), 0o644)
	if out, _, err := cli(t, "deploy", file); err != nil || !strings.Contains(out, "created greet") {
		t.Fatalf("deploy: %q %v", out, err)
	}

	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dataDir, "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sc, err := store.ScriptByName(ctx, "greet")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	row := func(id string, minute int, node string) *picloud.ExecutionLog {
		return &picloud.ExecutionLog{
			ID: id, ScriptID: sc.ID, ScriptVersion: 1, Trigger: picloud.TriggerHTTP, Status: picloud.StatusSuccess,
			StartedAt: picloud.Time{Time: at.Add(time.Duration(minute) * time.Minute)}, DurationMS: 1.5, Operations: 3,
			Request:  &picloud.RequestRecord{Method: "GET", Path: "/fn/greet"},
			Response: &picloud.ResponseRecord{Status: 200},
			Node:     node,
		}
	}
	if err := store.InsertExecutions(ctx, []*picloud.ExecutionLog{
		row("exec-without-node", 0, ""),
		row("exec-on-node-a", 1, "node-a"),
	}); err != nil {
		t.Fatal(err)
	}

	out, _, err := cli(t, "logs", "greet")
	if err != nil {
		t.Fatalf("logs: %q %v", out, err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("logs printed %d lines, want 2:\n%s", len(lines), out)
	}
	// Newest first: the node's row, then the one without a node.
	if !strings.HasSuffix(lines[0], "GET /fn/greet -> 200  node node-a") {
		t.Errorf("the node's row does not name its node: %q", lines[0])
	}
	if !strings.HasSuffix(lines[1], "GET /fn/greet -> 200") || strings.Contains(lines[1], "node") {
		t.Errorf("a row without a node changed: %q", lines[1])
	}

	out, _, err = cli(t, "logs", "greet", "--json")
	var page struct{ Items []map[string]any }
	if err != nil || json.Unmarshal([]byte(out), &page) != nil || len(page.Items) != 2 {
		t.Fatalf("logs --json: %q %v", out, err)
	}
	if page.Items[0]["node"] != "node-a" {
		t.Errorf("--json: the node's row has node %v, want node-a", page.Items[0]["node"])
	}
	if _, ok := page.Items[1]["node"]; ok {
		t.Errorf("--json: a row without a node has a node field: %v", page.Items[1])
	}
}
