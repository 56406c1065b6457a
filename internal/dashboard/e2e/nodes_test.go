package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/sqlite"
)

// TestDashboardNodes runs web/e2e/nodes.mjs in headless Chromium against a
// real `picloud serve`: the Nodes page's empty state first, then three nodes
// saved straight into the server's SQLite store (as a manager saves the
// heartbeats it receives) while the page is open: two that keep reporting
// and one whose last heartbeat is old enough to be lost. The script checks
// the rows, the lost badge and the polling, and forgets the lost node; this
// test then checks that the store no longer holds it. Same environment and
// skips as TestDashboard.
func TestDashboardNodes(t *testing.T) {
	root, web, chromium, node := e2eTools(t)

	bin := buildPicloud(t, root)
	data := t.TempDir()
	base, logs := serveData(t, bin, data)

	// The server's own database, opened beside it: SQLite in WAL mode takes
	// a second process's writes (they wait on the busy timeout).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	store, err := sqlite.Open(ctx, filepath.Join(data, "picloud.db"))
	if err != nil {
		t.Fatalf("e2e: open the server's store: %v", err)
	}
	defer store.Close()

	shots := os.Getenv("E2E_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(web, "e2e", "screenshots")
	}
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "nodes.mjs"))
	cmd.Dir = web
	cmd.Env = append(os.Environ(),
		"PICLOUD_URL="+base.url,
		"PICLOUD_ADMIN_TOKEN="+base.token,
		"CHROMIUM="+chromium,
		"E2E_SCREENSHOTS="+shots,
	)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("e2e: start node e2e/nodes.mjs: %v", err)
	}

	// Two nodes keep reporting as real ones do, so that they stay ok and
	// degraded however long the browser takes; they stop when the test ends.
	beat, stopBeat := context.WithCancel(ctx)
	var beating sync.WaitGroup
	defer func() {
		stopBeat()
		beating.Wait()
	}()

	var out strings.Builder
	seeded := false
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := lines.Text()
		out.WriteString(line + "\n")
		if line != "e2e: seed nodes" || seeded {
			continue
		}
		seeded = true
		err := seedNodes(ctx, store, time.Now())
		if err == nil {
			err = seedNodeExecutions(ctx, base, store, time.Now())
		}
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("e2e: seed the nodes: %v\nweb/e2e/nodes.mjs:\n%s%s", err, out.String(), stderr.String())
		}
		beating.Add(1)
		go func() {
			defer beating.Done()
			heartbeat(beat, t, store)
		}()
		if _, err := io.WriteString(stdin, "seeded\n"); err != nil {
			t.Errorf("e2e: tell nodes.mjs the nodes are there: %v", err)
		}
	}
	err = cmd.Wait()
	t.Logf("web/e2e/nodes.mjs:\n%s%s", out.String(), stderr.String())
	if err != nil {
		t.Fatalf("e2e: %v\nserver log:\n%s", err, logs.String())
	}
	if !seeded {
		t.Fatal("e2e: nodes.mjs passed without asking for the nodes to be seeded")
	}

	// Forget went through the API to the store, not just off the page.
	stopBeat()
	beating.Wait()
	nodes, err := store.ListNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	if want := []string{"e2e-node-a", "e2e-node-b"}; !reflect.DeepEqual(names, want) {
		t.Errorf("nodes in the store after Forget = %q, want %q", names, want)
	}
}

// liveNodes are the two nodes that keep reporting, as of now.
func liveNodes(now time.Time) []*picloud.Node {
	started := picloud.Time{Time: now.Add(-10 * time.Minute)}
	return []*picloud.Node{
		{
			Name: "e2e-node-a", Address: "http://127.0.0.1:18001", Version: "e2e",
			Capacity: 8, Load: 3, Status: picloud.NodeOK,
			Components: map[string]picloud.HealthComponent{
				"journal": {Status: "ok", Kind: "journal"},
				"manager": {Status: "ok"},
			},
			StartedAt: started, LastHeartbeat: picloud.Time{Time: now},
		},
		{
			Name: "e2e-node-b", Address: "http://127.0.0.1:18002", Version: "e2e",
			Capacity: 4, Load: 4, Status: picloud.NodeDegraded, JournalBytes: 5120,
			Components: map[string]picloud.HealthComponent{
				"journal": {Status: "ok", Kind: "journal"},
				"manager": {Status: "down", Message: "unreachable"},
			},
			StartedAt: started, LastHeartbeat: picloud.Time{Time: now},
		},
	}
}

// seedNodes saves the two live nodes and one that last reported twice
// NodeLostAfter ago, so that the manager's list calls it lost.
func seedNodes(ctx context.Context, store picloud.NodeStore, now time.Time) error {
	old := now.Add(-2 * picloud.NodeLostAfter)
	nodes := append(liveNodes(now), &picloud.Node{
		Name: "e2e-node-gone:8003", Address: "http://127.0.0.1:18003", Version: "e2e",
		Capacity: 8, Status: picloud.NodeOK,
		StartedAt: picloud.Time{Time: now.Add(-time.Hour)}, LastHeartbeat: picloud.Time{Time: old},
	})
	for _, n := range nodes {
		if err := store.SaveNode(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// seedNodeExecutions creates the script e2e-on-node through the API and
// writes two of its executions into the store, as a manager's ingestion
// would: e2e-exec-on-node ran on e2e-node-a, and an older test run on the
// manager itself has no node (nodes.mjs's last steps read them).
func seedNodeExecutions(ctx context.Context, base server, store picloud.ExecutionStore, now time.Time) error {
	req, err := http.NewRequestWithContext(ctx, "POST", base.url+"/api/scripts",
		strings.NewReader(`{"name": "e2e-on-node", "source": "\"hi\""}`))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+base.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("create the script e2e-on-node: %w", err)
	}
	defer res.Body.Close()
	var sc picloud.Script
	if err := json.NewDecoder(res.Body).Decode(&sc); err != nil || res.StatusCode != http.StatusCreated || sc.ID == "" {
		return fmt.Errorf("create the script e2e-on-node: HTTP %d, %v", res.StatusCode, err)
	}
	row := func(id string, trigger picloud.Trigger, at time.Time, node string) *picloud.ExecutionLog {
		return &picloud.ExecutionLog{
			ID: id, ScriptID: sc.ID, ScriptVersion: 1, Trigger: trigger, Status: picloud.StatusSuccess,
			StartedAt: picloud.Time{Time: at}, DurationMS: 2, Operations: 5,
			Request:  &picloud.RequestRecord{Method: "GET", Path: "/fn/e2e-on-node"},
			Response: &picloud.ResponseRecord{Status: 200},
			Node:     node,
		}
	}
	return store.InsertExecutions(ctx, []*picloud.ExecutionLog{
		row("e2e-exec-on-manager", picloud.TriggerTest, now.Add(-2*time.Minute), ""),
		row("e2e-exec-on-node", picloud.TriggerHTTP, now.Add(-time.Minute), "e2e-node-a"),
	})
}

// heartbeat saves the live nodes every second until ctx ends, well inside
// NodeLostAfter.
func heartbeat(ctx context.Context, t *testing.T, store picloud.NodeStore) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			for _, n := range liveNodes(now) {
				if err := store.SaveNode(ctx, n); err != nil && ctx.Err() == nil {
					t.Errorf("e2e: heartbeat of %s: %v", n.Name, err)
				}
			}
		}
	}
}

// serveData is serve with the data directory chosen by the caller, who
// opens the same database.
func serveData(t *testing.T, bin, data string) (server, *syncBuffer) {
	t.Helper()
	return serveWith(t, bin, data, freeAddr(t), nil, nil)
}

// serveWith is serveData on addr, with more flags and environment
// (PICLOUD_ settings, say) for the server.
func serveWith(t *testing.T, bin, data, addr string, args, env []string) (server, *syncBuffer) {
	t.Helper()
	token := "pct_e2e_" + randomHex(16)
	logs := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--data-dir", data}, args...)...)
	cmd.Env = append(append(cleanEnv(), env...), "PICLOUD_ADMIN_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("e2e: start picloud serve: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	url := "http://" + addr
	if err := waitHealthy(url, done); err != nil {
		t.Fatalf("e2e: picloud serve on %s: %v\n%s", addr, err, logs.String())
	}
	return server{url: url, token: token}, logs
}

// waitHealthy polls url's /api/health until it answers 200, the process
// exits (done) or 30 s pass.
func waitHealthy(url string, done <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			return fmt.Errorf("exited: %v", err)
		default:
		}
		res, err := http.Get(url + "/api/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy after 30 s: %v", errOr(err, res))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
