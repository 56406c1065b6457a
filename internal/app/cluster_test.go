package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/audit"
	"github.com/picloud/picloud/internal/cluster"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/orchestrator"
)

const clusterToken = "cluster-token-0123456789abcdef"

// converge bounds how long a change takes to reach the nodes in these
// tests: generous, the feed takes milliseconds.
const converge = 10 * time.Second

// startManager runs a manager on store behind a loopback server listening
// on addr ("" picks a port): a manager restarted on the same address is the
// same URL to its nodes.
func startManager(t *testing.T, store picloud.Store, addr string) *env {
	t.Helper()
	ctx := context.Background()
	if _, err := manager.EnsureAdminToken(ctx, store, testToken); err != nil {
		t.Fatal(err)
	}
	a, err := app.NewManager(app.Config{Jobs: jobsConfig(), SecretBox: testBox(t)}, store, app.ClusterConfig{Token: clusterToken})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := serveOn(t, cmpOr(addr, "127.0.0.1:0"), a.Handler())
	e := &env{t: t, app: a, store: store, srv: srv}
	t.Cleanup(func() { stopManager(e) })
	return e
}

// stopManager stops a manager as `picloud manager` does on shutdown: the
// change streams end first, since an HTTP server waits for every request.
// It is idempotent.
func stopManager(e *env) {
	e.app.CloseStreams()
	e.srv.CloseClientConnections()
	e.srv.Close()
	e.app.Stop(context.Background())
}

// serveOn starts an httptest server for h listening on addr.
func serveOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	var l net.Listener
	var err error
	// A restarted manager takes its old port back: retry briefly in case
	// the old listener is not quite gone.
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	return srv
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// testNode is a running node behind a loopback server.
type testNode struct {
	t    *testing.T
	name string
	node *app.Node
	srv  *httptest.Server
}

// startNode runs a node named name following the manager at managerURL,
// its journal in a directory of its own. Its cache trusts a script for an
// hour: only the change feed makes it see a change.
func startNode(t *testing.T, name, managerURL, token string) *testNode {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n, err := app.NewNode(app.NodeConfig{ManagerURL: managerURL, Token: token, Name: name,
		Advertise:    "http://" + l.Addr().String(),
		Orchestrator: orchestrator.Config{CacheTTL: time.Hour},
		Sink:         audit.Config{Dir: t.TempDir(), RetryDelay: 20 * time.Millisecond, MaxRetryDelay: 200 * time.Millisecond}})
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(n.Handler())
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Stop(ctx)
	})
	return &testNode{t: t, name: name, node: n, srv: srv}
}

// request sends a request to the node; hdr alternates names and values.
func (n *testNode) request(method, path string, body []byte, hdr ...string) (*http.Response, []byte) {
	n.t.Helper()
	req, err := http.NewRequest(method, n.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		n.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := n.srv.Client().Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// serves waits until the node answers GET path with 200 and want.
func (n *testNode) serves(path, want string) {
	n.t.Helper()
	deadline := time.Now().Add(converge)
	for {
		resp, b := n.request("GET", path, nil)
		if resp.StatusCode == 200 && string(b) == want {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("after %v: %s: GET %s answers %d %q, want %q", converge, n.name, path, resp.StatusCode, b, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// health is the node's GET /api/health.
func (n *testNode) health() (int, picloud.Health) {
	n.t.Helper()
	resp, b := n.request("GET", "/api/health", nil)
	var h picloud.Health
	if err := json.Unmarshal(b, &h); err != nil {
		n.t.Fatalf("%s: health: %d %s", n.name, resp.StatusCode, b)
	}
	return resp.StatusCode, h
}

// rows waits until script id has at least want rows in the store, and
// returns them.
func rows(t *testing.T, store picloud.Store, id string, want int) []*picloud.ExecutionLog {
	t.Helper()
	deadline := time.Now().Add(converge)
	for {
		list, err := store.ListExecutions(context.Background(), id, 500, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) >= want {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: script %s has %d rows in the store, want %d", converge, id, len(list), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCluster runs a manager and two nodes in process: scripts deployed
// and changed through the manager are served by both nodes, their rows,
// kv, secrets, events and asynchronous runs go through the manager, and a
// node outlives its manager's absence.
func TestCluster(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		m := startManager(t, store, "")
		managerAddr := m.srv.Listener.Addr().String()
		a := startNode(t, "node-a", m.srv.URL, clusterToken)
		b := startNode(t, "node-b", m.srv.URL, clusterToken)
		nodes := []*testNode{a, b}

		// Both nodes register (their first heartbeat is at start).
		var list picloud.NodeList
		until(t, converge, "both nodes listed by the manager", func() bool {
			list = picloud.NodeList{}
			m.do("GET", "/api/nodes", nil, 200, &list)
			return len(list.Items) == 2
		})
		for i, it := range list.Items {
			if it.Name != nodes[i].name || it.Address != "http://"+nodes[i].srv.Listener.Addr().String() ||
				it.Status != picloud.NodeOK || it.Capacity == 0 || it.Version == "" || it.Components["journal"].Status != "ok" {
				t.Errorf("node %d listed as %+v", i, it)
			}
		}

		// Deploy, then update: both nodes serve each version.
		hello := m.create("hello", `"v1"`)
		for _, n := range nodes {
			n.serves("/fn/hello", "v1")
		}
		m.do("PUT", "/api/scripts/"+hello, map[string]any{"source": `"v2"`}, 200, nil)
		for _, n := range nodes {
			n.serves("/fn/hello", "v2")
			n.serves("/api/execute/"+hello, "v2")
		}
		// The rows reach the store, each with the node that ran it.
		byNode := map[string]int{}
		for _, l := range rows(t, store, hello, 6) {
			byNode[l.Node]++
		}
		if byNode["node-a"] < 3 || byNode["node-b"] < 3 || len(byNode) != 2 {
			t.Errorf("rows by node: %v", byNode)
		}

		// The manager serves no invocation.
		for _, path := range []string{"/fn/hello", "/api/execute/" + hello} {
			resp, body := m.request("GET", path, nil)
			if resp.StatusCode != 404 || errCode(body) != "not_found" || !strings.Contains(string(body), "this is a manager") {
				t.Errorf("manager %s = %d %s", path, resp.StatusCode, body)
			}
		}
		// A node serves no admin API.
		if resp, body := a.request("GET", "/api/scripts", nil, "Authorization", "Bearer "+testToken); resp.StatusCode != 404 ||
			!strings.Contains(string(body), "this is a node") {
			t.Errorf("node /api/scripts = %d %s", resp.StatusCode, body)
		}

		// kv:: on node A, read on node B (one namespace: the script's).
		m.create("kv", `if request.method == "PUT" { kv::set("k", request.body); "set" } else { kv::get("k") }`)
		if resp, body := a.request("PUT", "/fn/kv", []byte(`"shared"`), "Content-Type", "application/json"); resp.StatusCode != 200 {
			t.Fatalf("kv::set on node A = %d %s", resp.StatusCode, body)
		}
		b.serves("/fn/kv", "shared")
		// A deleted script is gone from both nodes (their caches trust it for
		// an hour: the feed's deletion drops it).
		gone := m.create("gone", `"here"`)
		for _, n := range nodes {
			n.serves("/fn/gone", "here")
		}
		m.do("DELETE", "/api/scripts/"+gone, nil, 204, nil)
		for _, n := range nodes {
			until(t, converge, n.name+": a deleted script still served", func() bool {
				resp, body := n.request("GET", "/fn/gone", nil)
				return resp.StatusCode == 404 && errCode(body) == "not_found"
			})
		}

		// secret() on a node.
		m.do("PUT", "/api/secrets/SHARED", map[string]any{"value": "s3cr3t-value"}, 204, nil)
		m.create("secret", `secret("SHARED")`)
		b.serves("/fn/secret", "s3cr3t-value")

		// events::emit on a node reaches a subscriber, which runs on a node.
		m.create("shop", `events::emit("order.created", #{id: 7}); "ok"`)
		mailer := m.create("mailer", `request.body.id`, "subscriptions", []string{"order.created"})
		if resp, body := a.request("POST", "/fn/shop", nil); resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("shop on node A = %d %s", resp.StatusCode, body)
		}
		run := rows(t, store, mailer, 1)[0]
		if run.Trigger != picloud.TriggerEvent || run.Status != picloud.StatusSuccess || (run.Node != "node-a" && run.Node != "node-b") {
			t.Errorf("subscriber's run: trigger %s status %s node %q", run.Trigger, run.Status, run.Node)
		}

		// An asynchronous invocation on a node is queued on the manager and
		// run on a node.
		worker := m.create("worker", `"worked"`)
		resp, body := b.request("POST", "/fn/worker", nil, "Prefer", "respond-async")
		var acc picloud.JobAccepted
		if json.Unmarshal(body, &acc); resp.StatusCode != 202 || acc.JobID == "" {
			t.Fatalf("async on node B = %d %s", resp.StatusCode, body)
		}
		// The attempt's row comes from the node's journal, which may
		// deliver it after the manager's queue has marked the job done.
		var job *picloud.Job
		until(t, converge, "the async job's attempt recorded", func() bool {
			job = m.job(acc.JobID, picloud.JobSucceeded)
			return len(job.Attempts) > 0
		})
		if len(job.Attempts) != 1 {
			t.Fatalf("job attempts: %+v", job.Attempts)
		}
		l, err := store.Execution(context.Background(), job.Attempts[0].ExecutionID)
		if err != nil || l.ScriptID != worker || l.Trigger != picloud.TriggerAsync || (l.Node != "node-a" && l.Node != "node-b") {
			t.Errorf("async run's row: %+v, %v", l, err)
		}

		// The manager's metrics count the cluster.
		_, metrics := m.request("GET", "/metrics", nil, "Authorization", "Bearer "+testToken)
		for _, want := range []string{`picloud_cluster_nodes{status="ok"} 2`, `picloud_cluster_feed_streams 2`,
			`picloud_cluster_dispatch_total{result=`, `picloud_cluster_ingested_rows_total `} {
			if !strings.Contains(string(metrics), want) {
				t.Errorf("manager metrics lack %s", want)
			}
		}

		// The manager away: node A serves what it has, is degraded, and
		// keeps the rows until the manager is back.
		offline := m.create("offline", `"still here"`)
		a.serves("/fn/offline", "still here")
		rows(t, store, offline, 1)
		stopManager(m)
		for i := 0; i < 5; i++ {
			if resp, body := a.request("GET", "/fn/offline", nil); resp.StatusCode != 200 || string(body) != "still here" {
				t.Fatalf("node A without its manager = %d %s", resp.StatusCode, body)
			}
		}
		var h picloud.Health
		until(t, converge, "node A degraded without its manager", func() bool {
			var code int
			code, h = a.health()
			return code == 200 && h.Status == picloud.HealthDegraded
		})
		if h.Components["manager"].Status != picloud.HealthDown || h.Components["journal"].Status != picloud.HealthOK {
			t.Errorf("node A's health without its manager: %+v", h)
		}
		if n, _ := store.CountExecutions(context.Background(), offline); n != 1 {
			t.Errorf("rows reached the store without a manager: %d", n)
		}

		m = startManager(t, store, managerAddr)
		rows(t, store, offline, 6)
		until(t, converge, "node A healthy again", func() bool {
			code, h := a.health()
			return code == 200 && h.Status == picloud.HealthOK
		})
		// The feed is followed again: a change reaches node A.
		m.do("PUT", "/api/scripts/"+offline, map[string]any{"source": `"back"`}, 200, nil)
		a.serves("/fn/offline", "back")
		resp, body = a.request("GET", "/metrics", nil, "Authorization", "Bearer "+clusterToken)
		for _, want := range []string{"picloud_cluster_manager_up 1", "picloud_cluster_feed_reconnects_total 1", "picloud_cluster_script_changes_total"} {
			if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
				t.Errorf("node A metrics (%d) lack %s", resp.StatusCode, want)
			}
		}

		// Stopping a node delivers its journal to the manager.
		last := m.create("last", `"last"`)
		if resp, body := a.request("GET", "/fn/last", nil); resp.StatusCode != 200 || string(body) != "last" {
			t.Fatalf("last call on node A = %d %s", resp.StatusCode, body)
		}
		a.srv.Close()
		if err := a.node.Stop(context.Background()); err != nil {
			t.Fatalf("node A's stop: %v", err)
		}
		if n, _ := store.CountExecutions(context.Background(), last); n != 1 {
			t.Errorf("rows of the last call after node A stopped: %d, want 1", n)
		}
	})
}

// TestClusterToken: a node with another token is refused by the manager
// (its heartbeat, every cluster route), and the nodes' own cluster routes
// refuse it too.
func TestClusterToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		m := startManager(t, store, "")
		good := startNode(t, "good", m.srv.URL, clusterToken)
		until(t, converge, "the good node registered", func() bool {
			var list picloud.NodeList
			m.do("GET", "/api/nodes", nil, 200, &list)
			return len(list.Items) == 1
		})

		const wrong = "another-token-0123456789abcdef"
		c, err := cluster.NewClient(cluster.ClientConfig{ManagerURL: m.srv.URL, Token: wrong})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Heartbeat(context.Background(), &picloud.Node{Name: "intruder", Address: "http://127.0.0.1:1", Status: picloud.NodeOK})
		if !cluster.Refused(err) {
			t.Fatalf("heartbeat with a wrong token: %v, want the manager's refusal", err)
		}
		for _, r := range []struct{ method, path string }{{"PUT", "/cluster/v1/nodes/intruder"}, {"GET", "/cluster/v1/scripts?name=x"},
			{"GET", "/cluster/v1/changes"}, {"POST", "/cluster/v1/executions"}} {
			for _, auth := range []string{"", "Bearer " + wrong, "Bearer " + testToken} {
				var hdr []string
				if auth != "" {
					hdr = []string{"Authorization", auth}
				}
				if resp, body := m.request(r.method, r.path, []byte(`{}`), hdr...); resp.StatusCode != 401 || errCode(body) != "unauthorized" {
					t.Errorf("manager %s %s with %q = %d %s", r.method, r.path, auth, resp.StatusCode, body)
				}
			}
		}
		var list picloud.NodeList
		m.do("GET", "/api/nodes", nil, 200, &list)
		if len(list.Items) != 1 || list.Items[0].Name != "good" {
			t.Errorf("nodes after the intruder: %+v", list.Items)
		}
		// A node started with the wrong token reports itself down (a
		// proxy takes it out of rotation), and its callers get 503
		// unavailable, never a 401 that would ask them for credentials.
		bad := startNode(t, "bad", m.srv.URL, wrong)
		until(t, converge, "the node with the wrong token down", func() bool {
			code, h := bad.health()
			return code == 503 && h.Components["manager"].Status == picloud.HealthDown &&
				h.Components["cluster_token"].Status == picloud.HealthDown &&
				strings.Contains(h.Components["manager"].Message, "cluster token")
		})
		if resp, body := bad.request("GET", "/fn/anything", nil); resp.StatusCode != 503 || errCode(body) != "unavailable" {
			t.Errorf("a refused node answered /fn/ with %d %s, want 503 unavailable", resp.StatusCode, body)
		}
		// A node's own cluster routes: the run route and metrics.
		for _, path := range []string{cluster.PathRun, "/metrics"} {
			method := "GET"
			if path == cluster.PathRun {
				method = "POST"
			}
			if resp, body := good.request(method, path, []byte(`{}`), "Authorization", "Bearer "+wrong); resp.StatusCode != 401 || errCode(body) != "unauthorized" {
				t.Errorf("node %s with a wrong token = %d %s", path, resp.StatusCode, body)
			}
		}
	})
}

// TestNodesRoutes: GET /api/nodes on `picloud serve` lists none; a node
// whose heartbeat is too old is listed lost; DELETE forgets one (404 once
// gone); both are admin routes.
func TestNodesRoutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		e := newEnv(t, store, app.Config{})
		var list picloud.NodeList
		if code, out := e.admin("GET", "/api/nodes", nil); code != 200 || fmt.Sprint(out["items"]) != "[]" {
			t.Fatalf("nodes on serve = %d %v", code, out)
		}
		if resp, _ := e.request("GET", "/api/nodes", nil); resp.StatusCode != 401 {
			t.Errorf("nodes without the admin token = %d", resp.StatusCode)
		}
		ctx := context.Background()
		now := time.Now()
		for _, n := range []*picloud.Node{
			{Name: "fresh", Address: "http://127.0.0.1:1", Status: picloud.NodeDegraded, LastHeartbeat: picloud.Time{Time: now}},
			{Name: "gone", Address: "http://127.0.0.1:2", Status: picloud.NodeOK, LastHeartbeat: picloud.Time{Time: now.Add(-time.Minute)}},
		} {
			if err := store.SaveNode(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		e.do("GET", "/api/nodes", nil, 200, &list)
		if len(list.Items) != 2 || list.Items[0].Status != picloud.NodeDegraded || list.Items[1].Status != picloud.NodeLost {
			t.Fatalf("nodes = %+v", list.Items)
		}
		e.do("DELETE", "/api/nodes/gone", nil, 204, nil)
		e.do("DELETE", "/api/nodes/gone", nil, 404, nil)
		list = picloud.NodeList{}
		e.do("GET", "/api/nodes", nil, 200, &list)
		if len(list.Items) != 1 || list.Items[0].Name != "fresh" {
			t.Errorf("nodes after delete = %+v", list.Items)
		}
	})
}

// NewNode refuses a configuration the manager would refuse at every
// heartbeat.
func TestNewNodeRefuses(t *testing.T) {
	base := app.NodeConfig{ManagerURL: "http://127.0.0.1:1", Token: clusterToken, Name: "web-1:8001", Advertise: "http://127.0.0.1:8001"}
	if _, err := app.NewNode(base); err != nil {
		t.Fatalf("a good configuration: %v", err)
	}
	for what, change := range map[string]func(*app.NodeConfig){
		"--cluster-token": func(c *app.NodeConfig) { c.Token = "short" },
		"--manager":       func(c *app.NodeConfig) { c.ManagerURL = "" },
		"--name":          func(c *app.NodeConfig) { c.Name = "web 1" },
		"--advertise":     func(c *app.NodeConfig) { c.Advertise = "127.0.0.1:8001" },
	} {
		c := base
		change(&c)
		if _, err := app.NewNode(c); err == nil || !strings.Contains(err.Error(), what) {
			t.Errorf("%s: %v", what, err)
		}
	}
}

// TestNodeDrain: a node shutting down first drains: its health answers 503
// (so that a proxy takes it out of rotation) and its report says down (so
// that no job is dispatched to it), while it still serves what it gets.
func TestNodeDrain(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		m := startManager(t, store, "")
		n := startNode(t, "draining", m.srv.URL, clusterToken)
		m.create("hello", `"hi"`)
		n.serves("/fn/hello", "hi")
		if code, h := n.health(); code != 200 || h.Components["shutdown"].Status != picloud.HealthOK {
			t.Fatalf("before draining: health %d %+v", code, h)
		}

		n.node.Drain()
		if code, h := n.health(); code != 503 || h.Components["shutdown"].Status != picloud.HealthDown {
			t.Errorf("draining: health %d %+v, want 503 with shutdown down", code, h)
		}
		n.serves("/fn/hello", "hi")
		until(t, converge, "the manager to list the draining node down", func() bool {
			var list picloud.NodeList
			m.do("GET", "/api/nodes", nil, 200, &list)
			return len(list.Items) == 1 && list.Items[0].Status == picloud.NodeDown
		})
	})
}
