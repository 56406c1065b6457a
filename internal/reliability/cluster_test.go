package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// clusterBound is the most the whole cluster test may take, setup included.
const clusterBound = 170 * time.Second

// clusterToken is the cluster token of the test's managers and nodes (at
// least 16 bytes, as they require).
const clusterToken = "reliability-cluster-token-5e1fab1e"

// TestCluster runs PiCloud as a cluster of real processes on loopback: one
// manager on a fresh PostgreSQL database, two nodes, and Caddy in front with
// the shipped deploy/Caddyfile.cluster (its addresses and check intervals set
// for the test), then goes through the scenarios in order on the same
// cluster: deploy and invoke through Caddy (both nodes serve), a script
// update reaching both nodes, a node with a wrong cluster token refused, a
// node killed with SIGKILL under load, a node restarted with SIGTERM under
// load (a rolling upgrade), the manager killed and restarted under load, and
// a schedule firing once per time with two managers.
func TestCluster(t *testing.T) {
	caddyBin, err := exec.LookPath("caddy")
	if err != nil {
		t.Skip("caddy is not on PATH (Debian: apt-get install caddy): the cluster test is skipped")
	}
	if os.Getenv("PICLOUD_TEST_DATABASE_URL") == "" {
		t.Skip("PICLOUD_TEST_DATABASE_URL is not set: the cluster test needs PostgreSQL and is skipped")
	}
	if help, _ := exec.Command(binPath, "manager", "-h").CombinedOutput(); !strings.Contains(string(help), "-cluster-token") {
		t.Skip("this build has no `picloud manager --cluster-token`: the cluster test is skipped")
	}
	// Its processes are its own, and mostly wait (the manager's 10 s
	// outage, the schedule's seconds): it runs beside the other parallel
	// scenarios rather than after them.
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), clusterBound)
	defer cancel()
	start := time.Now()
	c := startCluster(ctx, t, caddyBin)

	// The scenarios share the cluster and build on each other (scenario 2
	// updates scenario 1's script): the first failure stops the rest.
	for _, sc := range []struct {
		name string
		run  func(context.Context, *testing.T, *cluster)
	}{
		{"1_deploy_and_spread", clusterSpread},
		{"2_update_reaches_nodes", clusterUpdate},
		{"6_wrong_token_refused", clusterWrongToken},
		{"3_node_killed_under_load", clusterKillNode},
		{"3b_node_restarted_with_sigterm", clusterRollingRestart},
		{"4_manager_restarted_under_load", clusterRestartManager},
		{"5_schedule_once_with_two_managers", clusterTwoManagers},
	} {
		if !t.Run(sc.name, func(t *testing.T) { sc.run(ctx, t, c) }) {
			break
		}
	}
	t.Logf("RESULT scenario=cluster total=%v", time.Since(start).Round(time.Millisecond))
}

// cluster is the test's processes and how to reach them.
type cluster struct {
	t     *testing.T
	b     *backend
	via   *client // through Caddy
	caddy *server

	managers     [2]*server // the second runs in scenario 5 only
	managerAddrs [2]string
	managerDirs  [2]string

	nodes     map[string]*server
	nodeAddrs map[string]string
	nodeDirs  map[string]string

	helloID string // scenario 1's script, updated by scenario 2
}

var nodeNames = []string{"node-a", "node-b"}

func startCluster(ctx context.Context, t *testing.T, caddyBin string) *cluster {
	t.Helper()
	b := postgresBackend(t)
	dir := t.TempDir()
	c := &cluster{t: t, b: b, nodes: map[string]*server{}, nodeAddrs: map[string]string{}, nodeDirs: map[string]string{}}
	for i := range c.managerAddrs {
		c.managerAddrs[i] = freeAddr(t)
		c.managerDirs[i] = filepath.Join(dir, fmt.Sprintf("manager-%d", i+1))
	}
	for _, n := range nodeNames {
		c.nodeAddrs[n] = freeAddr(t)
		c.nodeDirs[n] = filepath.Join(dir, n)
	}
	c.startManager(ctx, t, 0)
	for _, n := range nodeNames {
		c.startNode(ctx, t, n)
	}
	c.startCaddy(ctx, caddyBin, filepath.Join(dir, "caddy"))
	c.via = newClient(c.caddy.base, 8)

	// Both nodes registered: their first heartbeat is at start.
	if err := c.awaitNodes(ctx, func(nodes map[string]string) bool {
		return nodes["node-a"] == "ok" && nodes["node-b"] == "ok"
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

// managerArgs are a manager's flags. Retention is off so that no row the
// scenarios count is pruned; the database is reached directly.
func (c *cluster) managerArgs(i int) []string {
	args := []string{"manager",
		"--addr", c.managerAddrs[i],
		"--data-dir", c.managerDirs[i],
		"--database-url", c.b.dbURL,
		"--cluster-token", clusterToken,
		"--retention-max-age", "0", "--retention-max-rows", "0",
	}
	if hasFlag("jobs-poll-interval") {
		args = append(args, "--jobs-poll-interval", "100ms")
	}
	return args
}

// startManager starts manager i (0 or 1), failing t if it does not come
// up. The process belongs to the whole cluster test (killed at its end, its
// output logged if any scenario failed), whichever scenario starts it.
func (c *cluster) startManager(ctx context.Context, t *testing.T, i int) {
	t.Helper()
	if i > 0 {
		// Every manager seals and opens secrets with the same key
		// (docs/cluster.md): the second gets a copy of the first's.
		key, err := os.ReadFile(filepath.Join(c.managerDirs[0], "secret.key"))
		if err == nil {
			err = os.MkdirAll(c.managerDirs[i], 0o700)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(c.managerDirs[i], "secret.key"), key, 0o600)
		}
		if err != nil {
			t.Fatalf("giving manager-%d the secret key: %v", i+1, err)
		}
	}
	s, err := spawn(ctx, c.t, fmt.Sprintf("manager-%d", i+1), c.managerAddrs[i], nil, c.managerArgs(i))
	if err != nil {
		t.Fatal(err)
	}
	c.managers[i] = s
}

// nodeArgs are a node's flags, with the cluster token given.
func (c *cluster) nodeArgs(name, token string) []string {
	return []string{"node",
		"--manager", "http://" + c.managerAddrs[0],
		"--cluster-token", token,
		"--addr", c.nodeAddrs[name],
		"--data-dir", c.nodeDirs[name],
		"--name", name,
	}
}

// startNode starts a node with the cluster token, as startManager does.
func (c *cluster) startNode(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	s, err := spawn(ctx, c.t, name, c.nodeAddrs[name], nil, c.nodeArgs(name, clusterToken))
	if err != nil {
		t.Fatal(err)
	}
	c.nodes[name] = s
}

// caddyfileFor turns the shipped Caddyfile into the test's: Caddy's admin
// endpoint and automatic HTTPS off, listening on loopback only, and the
// health checks every 500 ms (the shipped 1 s would only make the test wait
// longer for Caddy to notice a node die or come back). The addresses come in
// through the environment placeholders the shipped file reads.
func caddyfileFor(shipped string) (string, error) {
	out := shipped
	for _, r := range []struct{ directive, value string }{
		{"health_interval", "500ms"},
	} {
		re := regexp.MustCompile(`(?m)^([ \t]*` + r.directive + `)[ \t]+\S+[ \t]*$`)
		if len(re.FindAllString(out, -1)) != 2 {
			return "", fmt.Errorf("deploy/Caddyfile.cluster: want %s in both reverse_proxy blocks (the test sets it)", r.directive)
		}
		out = re.ReplaceAllString(out, "${1} "+r.value)
	}
	for _, env := range []string{"{$PICLOUD_SITE:", "{$PICLOUD_NODES:", "{$PICLOUD_MANAGERS:", "{$PICLOUD_ACCESS_LOG:"} {
		if !strings.Contains(out, env) {
			return "", fmt.Errorf("deploy/Caddyfile.cluster: no %s...} placeholder (the test sets the addresses through it)", env)
		}
	}
	return "{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n}\n\n" + out, nil
}

// startCaddy runs Caddy with the shipped Caddyfile made the test's, and
// waits until it answers (its own 404 for /cluster/).
func (c *cluster) startCaddy(ctx context.Context, caddyBin, dir string) {
	t := c.t
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile(filepath.Join(root, "deploy", "Caddyfile.cluster"))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := caddyfileFor(string(shipped))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PICLOUD_") && !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	env = append(env,
		// Caddy keeps its state (autosaved config, certificates) under
		// these: the test's directory, not the user's.
		"HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir,
		"PICLOUD_SITE=http://"+addr,
		"PICLOUD_NODES="+c.nodeAddrs["node-a"]+" "+c.nodeAddrs["node-b"],
		"PICLOUD_MANAGERS="+c.managerAddrs[0]+" "+c.managerAddrs[1],
		"PICLOUD_ACCESS_LOG="+filepath.Join(dir, "access.log"),
	)
	cmd := exec.Command(caddyBin, "run", "--config", confPath, "--adapter", "caddyfile")
	cmd.Env = env
	out := &outputBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	s := &server{t: t, label: "caddy", cmd: cmd, addr: addr, base: "http://" + addr, out: out, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting caddy: %v", err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("caddy output:\n%s\ncaddy configuration:\n%s", out.String(), conf)
		}
	})
	c.caddy = s
	hc := newClient(s.base, 1)
	for {
		r, err := hc.get(ctx, "/cluster/v1/changes", nil)
		if err == nil && r.status == http.StatusNotFound {
			return
		}
		select {
		case <-s.exited:
			t.Fatalf("caddy exited: %v", s.err)
		case <-ctx.Done():
			t.Fatalf("caddy did not answer: %v (last: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// nodeList reads GET /api/nodes (through Caddy): each node's status by name.
func (c *cluster) nodeList(ctx context.Context) (map[string]string, error) {
	var list struct {
		Items []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"items"`
	}
	if err := c.via.admin(ctx, http.MethodGet, "/api/nodes", nil, &list); err != nil {
		return nil, err
	}
	nodes := map[string]string{}
	for _, n := range list.Items {
		nodes[n.Name] = n.Status
	}
	return nodes, nil
}

// awaitNodes reads the node list until done accepts it (10 s at most).
func (c *cluster) awaitNodes(ctx context.Context, done func(map[string]string) bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		nodes, err := c.nodeList(ctx)
		if err == nil && done(nodes) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("GET /api/nodes: %v (last error: %v)", nodes, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// nodeRow is an execution row as PostgreSQL has it, with the node that ran
// it.
type nodeRow struct {
	id, marker, node string
}

// clusterRows reads a script's execution rows from PostgreSQL itself.
func (c *cluster) clusterRows(ctx context.Context, scriptID string) ([]nodeRow, error) {
	conn, err := pgx.Connect(ctx, c.b.dbURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	rs, err := conn.Query(ctx, "SELECT id::text, request, node FROM executions WHERE script_id::text = $1", scriptID)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer rs.Close()
	var rows []nodeRow
	for rs.Next() {
		var id, node string
		var req *string
		if err := rs.Scan(&id, &req, &node); err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		var r struct {
			Query map[string]string `json:"query"`
		}
		if req != nil {
			json.Unmarshal([]byte(*req), &r)
		}
		rows = append(rows, nodeRow{id: id, marker: r.Query["k"], node: node})
	}
	return rows, rs.Err()
}

// rowsViaCluster is clusterRows as awaitRows reads rows.
func (c *cluster) rowsViaCluster(scriptID string) func(context.Context) (rowIndex, error) {
	return func(ctx context.Context) (rowIndex, error) {
		rows, err := c.clusterRows(ctx, scriptID)
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

// servedBy counts, by node, the rows of the outcomes that pass keep.
func servedBy(rows []nodeRow, outcomes []outcome, keep func(outcome) bool) map[string]int {
	wanted := map[string]bool{}
	for _, o := range outcomes {
		if keep(o) {
			wanted[o.marker] = true
		}
	}
	by := map[string]int{}
	for _, r := range rows {
		if wanted[r.marker] {
			by[r.node]++
		}
	}
	return by
}

// fire sends n requests through c with 4 workers and returns their outcomes.
func fire(ctx context.Context, c *client, path string, n int64) ([]outcome, error) {
	l := startLoad(ctx, c, path, 4, 0, nil)
	err := l.waitAnswered(ctx, n)
	return l.stop(), err
}

// all2xx fails the test for every answer that is not a 2xx with the
// script's echo.
func all2xx(t *testing.T, what string, outcomes []outcome) {
	t.Helper()
	bad := map[string]int{}
	for _, o := range outcomes {
		switch {
		case o.kind() != "2xx":
			k := o.kind()
			if o.err != nil {
				k += " (" + o.err.Error() + ")"
			}
			bad[k]++
		case !o.echoed:
			bad["2xx without the marker"]++
		}
	}
	for k, n := range bad {
		t.Errorf("%s: %d of %d answers were %s, want 2xx", what, n, len(outcomes), k)
	}
}

// clusterSpread (1): a script deployed through Caddy (to the manager) is
// served through Caddy by both nodes, and each row names its node.
func clusterSpread(ctx context.Context, t *testing.T, c *cluster) {
	id, err := c.via.deploy(ctx, "hello-1", helloSource, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.helloID = id
	outcomes, err := fire(ctx, c.via, "/fn/hello-1", 200)
	if err != nil {
		t.Fatal(err)
	}
	all2xx(t, "invocations through Caddy", outcomes)

	// The rows, as the admin API (through Caddy) lists them.
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	logs, err := awaitLogs(wctx, c.via, id, len(outcomes))
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]int{}
	for _, l := range logs {
		var row struct {
			Node string `json:"node"`
		}
		json.Unmarshal(l.raw, &row)
		by[row.Node]++
	}
	t.Logf("RESULT scenario=cluster_spread requests=%d rows=%d by_node=%v", len(outcomes), len(logs), by)
	for _, n := range nodeNames {
		if by[n] == 0 {
			t.Errorf("%s ran none of the %d invocations through Caddy (rows by node: %v)", n, len(logs), by)
		}
	}
	for n := range by {
		if !slices.Contains(nodeNames, n) {
			t.Errorf("%d rows name the node %q, want node-a or node-b (rows by node: %v)", by[n], n, by)
		}
	}
}

// clusterUpdate (2): after PUT /api/scripts/{id} on the manager, each node,
// called directly, serves the new version within 10 s (a generous bound for
// convergence: the bench measures the time).
func clusterUpdate(ctx context.Context, t *testing.T, c *cluster) {
	if c.helloID == "" {
		t.Fatal("scenario 1 deployed no script")
	}
	updated := time.Now()
	if err := c.via.admin(ctx, http.MethodPut, "/api/scripts/"+c.helloID, map[string]any{"source": `#{k: request.query.k, v: 2}`}, nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	took := make([]time.Duration, len(nodeNames))
	errs := make([]error, len(nodeNames))
	for i, n := range nodeNames {
		wg.Add(1)
		go func() {
			defer wg.Done()
			took[i], errs[i] = awaitVersion2(ctx, newClient(c.nodes[n].base, 1), n, updated)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("RESULT scenario=cluster_update converged_%s=%v converged_%s=%v", nodeNames[0], took[0].Round(time.Millisecond), nodeNames[1], took[1].Round(time.Millisecond))

	// And through Caddy, whichever node answers: the new version only.
	for i := range 40 {
		r, err := c.via.get(ctx, fmt.Sprintf("/fn/hello-1?k=after-%d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			V int `json:"v"`
		}
		if r.status != http.StatusOK || json.Unmarshal(r.body, &body) != nil || body.V != 2 {
			t.Errorf("through Caddy after both nodes converged: %s %s, want 200 with v 2", statusText(r.status), r.body)
		}
	}
}

// awaitVersion2 calls a node directly until it answers with v 2, 10 s at
// most, and returns how long after updated it did.
func awaitVersion2(ctx context.Context, c *client, node string, updated time.Time) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var last string
	for i := 0; ; i++ {
		r, err := c.get(ctx, fmt.Sprintf("/fn/hello-1?k=%s-poll-%d", node, i), nil)
		if err == nil && r.status == http.StatusOK {
			var body struct {
				V int `json:"v"`
			}
			if json.Unmarshal(r.body, &body) == nil && body.V == 2 {
				return time.Since(updated), nil
			}
			last = string(r.body)
		} else if err != nil {
			last = err.Error()
		} else {
			last = statusText(r.status) + " " + string(r.body)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s still serves the old version 10 s after the update (last answer: %s)", node, last)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// clusterWrongToken (6): a node started with another cluster token is
// refused. What the binary does: the node starts and keeps running (a node
// may start before its manager, so it keeps retrying), logs the manager's
// refusal, reports itself down (503, so that Caddy takes it out of
// rotation), answers callers 503 unavailable, serves no script, and
// never appears in GET /api/nodes. The cluster API itself answers 401
// without the token or with a wrong one, and Caddy does not publish it.
func clusterWrongToken(ctx context.Context, t *testing.T, c *cluster) {
	const name = "node-bad"
	dir := t.TempDir()
	c.nodeAddrs[name], c.nodeDirs[name] = freeAddr(t), filepath.Join(dir, "data")
	bad, err := spawn(ctx, t, name, c.nodeAddrs[name], nil, c.nodeArgs(name, "not-the-cluster-token-at-all"))
	if err != nil {
		t.Fatal(err)
	}
	// Its first heartbeat and change-feed connection are at start: the
	// refusal is in its log within moments.
	refused := regexp.MustCompile(`(?i)refused this node's cluster token`)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for !refused.MatchString(bad.out.String()) && bad.running() && wctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	if !bad.running() {
		t.Errorf("the node with a wrong cluster token exited (%v); it is expected to keep running, refused", bad.err)
	} else if !refused.MatchString(bad.out.String()) {
		t.Errorf("the node with a wrong cluster token has not logged the manager's refusal after 10 s")
	}
	bc := newClient(bad.base, 1)
	st, h, err := healthNow(ctx, bc)
	if err != nil {
		t.Fatal(err)
	}
	if m, tok := h.Components["manager"].Status, h.Components["cluster_token"].Status; st != http.StatusServiceUnavailable || m != "down" || tok != "down" {
		t.Errorf("the refused node's /api/health: %s, manager %q, cluster_token %q; want 503 with both down", statusText(st), m, tok)
	}
	if r, err := bc.get(ctx, "/fn/hello-1?k=refused", nil); err != nil {
		t.Fatal(err)
	} else if r.status != http.StatusServiceUnavailable || r.errorBody().Error.Code != "unavailable" {
		t.Errorf("an invocation on the refused node: %s %s, want 503 unavailable (it cannot get the script, and its caller needs no credentials)", statusText(r.status), r.body)
	}

	nodes, err := c.nodeList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := nodes[name]; ok {
		t.Errorf("GET /api/nodes lists %s, which has a wrong cluster token: %v", name, nodes)
	}
	for _, n := range nodeNames {
		if _, ok := nodes[n]; !ok {
			t.Errorf("GET /api/nodes does not list %s: %v", n, nodes)
		}
	}

	// The cluster API on the manager: 401 without the token and with a
	// wrong one, 200 with it.
	direct := newClient("http://"+c.managerAddrs[0], 1)
	path := "/cluster/v1/scripts?name=hello-1"
	for _, tc := range []struct {
		what, header string
		want         int
	}{
		{"without a token", "", http.StatusUnauthorized},
		{"with a wrong token", "Bearer not-the-cluster-token-at-all", http.StatusUnauthorized},
		{"with the admin token", "Bearer " + adminToken, http.StatusUnauthorized},
		{"with the cluster token", "Bearer " + clusterToken, http.StatusOK},
	} {
		hdr := http.Header{}
		if tc.header != "" {
			hdr.Set("Authorization", tc.header)
		}
		r, err := direct.get(ctx, path, hdr)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != tc.want {
			t.Errorf("GET %s on the manager %s: %s %s, want %s", path, tc.what, statusText(r.status), r.body, statusText(tc.want))
		} else if tc.want == http.StatusUnauthorized && r.errorBody().Error.Code != "unauthorized" {
			t.Errorf("GET %s on the manager %s: body %s, want the error code unauthorized", path, tc.what, r.body)
		}
	}
	// A node's side of it (the manager dispatching a job): the same.
	r, err := newClient(c.nodes["node-a"].base, 1).do(ctx, http.MethodPost, "/cluster/v1/run",
		http.Header{"Authorization": {"Bearer not-the-cluster-token-at-all"}}, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusUnauthorized || r.errorBody().Error.Code != "unauthorized" {
		t.Errorf("POST /cluster/v1/run on node-a with a wrong token: %s %s, want 401 unauthorized", statusText(r.status), r.body)
	}
	// Through Caddy, even with the token: Caddy's own 404, not PiCloud's.
	for _, p := range []string{path, "/cluster/v1/changes", "/cluster/v1/run"} {
		r, err := c.via.get(ctx, p, http.Header{"Authorization": {"Bearer " + clusterToken}})
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusNotFound || len(r.body) != 0 {
			t.Errorf("GET %s through Caddy: %s %q, want Caddy's empty 404", p, statusText(r.status), r.body)
		}
	}
}

// Phases of the node-kill and manager-restart scenarios. phaseRouted is the
// node-kill's only: node-a dead for long enough that Caddy's health check has
// taken it out.
const (
	phaseUp int32 = iota
	phaseDown
	phaseRouted
	phaseBack
	phases
)

var clusterPhases = [phases]string{"up", "down", "routed", "back"}

// phaseKinds counts outcomes by phase and kind: "phase:kind" counts, and
// how many were sent and answered 2xx in each phase.
func phaseKinds(outcomes []outcome) (kinds map[string]int, sent, ok [phases]int) {
	kinds = map[string]int{}
	for _, o := range outcomes {
		kinds[clusterPhases[o.phase]+":"+o.kind()]++
		sent[o.phase]++
		if o.kind() == "2xx" {
			ok[o.phase]++
		}
	}
	return kinds, sent, ok
}

// clusterKillNode (3): node-a is killed with SIGKILL while callers keep
// calling through Caddy, GETs and POSTs with a body: Caddy routes around it
// (a GET is retried on node-b; once the health check has taken node-a out,
// every request goes to node-b); node-a is started again on the same journal
// and comes back; and every request answered 2xx (by either node) has its
// row in PostgreSQL.
func clusterKillNode(ctx context.Context, t *testing.T, c *cluster) {
	id, err := c.via.deploy(ctx, "hello-3", helloSource, nil)
	if err != nil {
		t.Fatal(err)
	}
	// GETs, and POSTs with a body: Caddy retries them on different terms
	// (deploy/Caddyfile.cluster).
	var phase atomic.Int32
	load := startLoad(ctx, c.via, "/fn/hello-3", 3, 10*time.Millisecond, &phase)
	posts := startPostLoad(ctx, c.via, "/fn/hello-3", []byte(`{"payload": "a body Caddy must keep to retry"}`), 2, 10*time.Millisecond, &phase)
	fail := func(err error) {
		if err != nil {
			load.stop()
			posts.stop()
			t.Fatal(err)
		}
	}
	fail(load.waitAnswered(ctx, 150))
	phase.Store(phaseDown)
	c.nodes["node-a"].kill()
	killed := time.Now()
	// node-a's rows PostgreSQL had when it died: the rest of its answered
	// requests must come from its journal after the restart.
	atKill := map[string]bool{}
	if rows, err := c.clusterRows(ctx, id); err == nil {
		for _, r := range rows {
			if r.node == "node-a" {
				atKill[r.id] = true
			}
		}
	} else {
		t.Logf("reading the rows at the kill: %v", err)
	}
	// Three of the test's health-check intervals (500 ms): Caddy has
	// taken node-a out by then (a generous bound for convergence).
	sleepUntil(ctx, killed.Add(1500*time.Millisecond))
	phase.Store(phaseRouted)
	fail(load.waitAnswered(ctx, load.answered.Load()+200))
	sleepUntil(ctx, killed.Add(3*time.Second))
	phase.Store(phaseBack)
	c.startNode(ctx, t, "node-a")
	fail(load.waitAnswered(ctx, load.answered.Load()+100))
	getOutcomes, postOutcomes := load.stop(), posts.stop()
	outcomes := append(append([]outcome{}, getOutcomes...), postOutcomes...)

	// Right after the kill, Caddy retries a GET node-a had (or could not
	// reach) on node-b: nearly all succeed (the bound leaves room for the
	// odd one Caddy gave up on). A POST node-a had is not retried (it may
	// have run), nor, in Caddy 2.6, one that picked node-a before the
	// health check took it out (deploy/Caddyfile.cluster): logged only.
	// Once node-a is out, and after it is back, every request succeeds.
	kinds, _, _ := phaseKinds(outcomes)
	for _, m := range []struct {
		method   string
		outcomes []outcome
	}{{"GET", getOutcomes}, {"POST", postOutcomes}} {
		k, sent, ok := phaseKinds(m.outcomes)
		if m.method == "GET" && ok[phaseDown]*10 < sent[phaseDown]*9 {
			t.Errorf("right after node-a was killed, %d of %d GET requests through Caddy succeeded, want at least 90%% (answers: %s)", ok[phaseDown], sent[phaseDown], summary(k))
		}
		for _, p := range []int32{phaseRouted, phaseBack} {
			if sent[p] == 0 || ok[p] != sent[p] {
				t.Errorf("%s requests through Caddy while node-a was %s: %d of %d succeeded, want all (answers: %s)",
					m.method, map[int32]string{phaseRouted: "dead and out of rotation", phaseBack: "restarting and back"}[p], ok[p], sent[p], summary(k))
			}
		}
	}
	tl, rows := awaitRows(ctx, t, outcomes, c.rowsViaCluster(id), 20*time.Second)
	by, replayed := map[string]int{}, 0
	if all, err := c.clusterRows(ctx, id); err == nil {
		by = servedBy(all, outcomes, func(o outcome) bool { return o.kind() == "2xx" })
		before := map[string]bool{}
		for _, o := range outcomes {
			if o.phase != phaseBack {
				before[o.marker] = true
			}
		}
		for _, r := range all {
			if r.node == "node-a" && before[r.marker] && !atKill[r.id] {
				replayed++
			}
		}
	}
	postKinds, _, _ := phaseKinds(postOutcomes)
	checkLoss(t, "cluster_kill_node", "postgres", tl, rows, fmt.Sprintf(" answers=%s post_answers=%s by_node=%v node_a_rows_at_kill=%d node_a_rows_delivered_after_kill=%d",
		summary(kinds), summary(postKinds), by, len(atKill), replayed))
}

// clusterRollingRestart (3b): node-b is restarted as docs/cluster.md's
// rolling upgrade does it (SIGTERM, then start it again) while callers keep
// calling through Caddy: it drains first (--shutdown-drain, 2 s: its health
// answers 503 while it still serves, and Caddy's check, every 500 ms here,
// takes it out), exits 0 having finished what it had, every GET and every
// POST is answered 2xx, and every answered request has its row. (Without the
// drain, POSTs that picked node-b between its listener closing and Caddy's
// health check noticing failed with Caddy 2.6's 502: deploy/Caddyfile.cluster.)
func clusterRollingRestart(ctx context.Context, t *testing.T, c *cluster) {
	id, err := c.via.deploy(ctx, "hello-3b", helloSource, nil)
	if err != nil {
		t.Fatal(err)
	}
	var phase atomic.Int32
	load := startLoad(ctx, c.via, "/fn/hello-3b", 3, 10*time.Millisecond, &phase)
	posts := startPostLoad(ctx, c.via, "/fn/hello-3b", []byte(`{"payload": "a body"}`), 2, 10*time.Millisecond, &phase)
	fail := func(err error) {
		if err != nil {
			load.stop()
			posts.stop()
			t.Fatal(err)
		}
	}
	fail(load.waitAnswered(ctx, 150))
	phase.Store(phaseDown)
	if err := c.nodes["node-b"].signal(syscall.SIGTERM); err != nil {
		fail(err)
	}
	code, err := c.nodes["node-b"].wait(ctx)
	fail(err)
	if code != 0 {
		t.Errorf("node-b exited %d after SIGTERM, want 0", code)
	}
	phase.Store(phaseBack)
	c.startNode(ctx, t, "node-b")
	fail(load.waitAnswered(ctx, load.answered.Load()+200))
	getOutcomes, postOutcomes := load.stop(), posts.stop()
	outcomes := append(append([]outcome{}, getOutcomes...), postOutcomes...)

	all2xx(t, "GET requests through Caddy while node-b restarted", getOutcomes)
	all2xx(t, "POST requests through Caddy while node-b restarted (it drained first)", postOutcomes)
	tl, rows := awaitRows(ctx, t, outcomes, c.rowsViaCluster(id), 20*time.Second)
	kinds, _, _ := phaseKinds(getOutcomes)
	postKinds, _, _ := phaseKinds(postOutcomes)
	checkLoss(t, "cluster_rolling_restart", "postgres", tl, rows, fmt.Sprintf(" exit=%d answers=%s post_answers=%s", code, summary(kinds), summary(postKinds)))
}

// healthSample is one GET /api/health of a node during the manager's outage.
type healthSample struct {
	status int
	health string
	err    error
}

// clusterRestartManager (4): the manager is killed with SIGKILL while 4
// callers keep calling through Caddy, stays down 10 s and is started again:
// the nodes keep answering from their script caches (every request 2xx),
// both stay in Caddy's rotation (their health answers 200 "degraded"), and
// once the manager is back every answered request's row reaches PostgreSQL
// from the nodes' journals.
func clusterRestartManager(ctx context.Context, t *testing.T, c *cluster) {
	id, err := c.via.deploy(ctx, "hello-4", helloSource, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Both nodes have the script compiled before the manager goes, and
	// node-a (restarted in scenario 3) is back in Caddy's rotation.
	for _, n := range nodeNames {
		r, err := newClient(c.nodes[n].base, 1).get(ctx, "/fn/hello-4?k=warm-"+n, nil)
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("warming %s: %v %v", n, r, err)
		}
	}
	if err := c.awaitRotation(ctx, "hello-4", id, "node-a"); err != nil {
		t.Fatal(err)
	}

	var phase atomic.Int32
	// 4 callers at about 40 requests a second: a few hundred during the
	// outage.
	load := startLoad(ctx, c.via, "/fn/hello-4", 4, 100*time.Millisecond, &phase)
	fail := func(err error) {
		if err != nil {
			load.stop()
			t.Fatal(err)
		}
	}
	fail(load.waitAnswered(ctx, 40))
	phase.Store(phaseDown)
	c.managers[0].kill()

	// Down for 10 s (the scenario, not an assertion), watching node-a's
	// health meanwhile.
	var samples []healthSample
	nc := newClient(c.nodes["node-a"].base, 1)
	for until := time.Now().Add(10 * time.Second); time.Now().Before(until) && ctx.Err() == nil; {
		st, h, err := healthNow(ctx, nc)
		samples = append(samples, healthSample{st, h.Status, err})
		time.Sleep(200 * time.Millisecond)
	}
	phase.Store(phaseBack)
	c.startManager(ctx, t, 0)
	fail(load.waitAnswered(ctx, load.answered.Load()+40))
	outcomes := load.stop()

	kinds, sent, _ := phaseKinds(outcomes)
	all2xx(t, "invocations through Caddy while the manager was down or restarting", outcomes)
	if sent[phaseDown] == 0 {
		t.Errorf("no invocation was sent while the manager was down")
	}
	degraded := 0
	for _, s := range samples {
		switch {
		case s.err != nil || s.status != http.StatusOK:
			t.Errorf("node-a's /api/health with the manager down: %d %v, want 200", s.status, s.err)
		case s.health == "degraded":
			degraded++
		}
	}
	if degraded == 0 {
		t.Errorf("node-a's /api/health never said degraded in %d samples with the manager down", len(samples))
	}

	tl, rows := awaitRows(ctx, t, outcomes, c.rowsViaCluster(id), 30*time.Second)
	all, err := c.clusterRows(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	down := servedBy(all, outcomes, func(o outcome) bool { return o.phase == phaseDown && o.kind() == "2xx" })
	for _, n := range nodeNames {
		if down[n] == 0 {
			t.Errorf("%s served none of the requests while the manager was down (rows by node: %v): a degraded node must stay in Caddy's rotation", n, down)
		}
	}
	checkLoss(t, "cluster_manager_restart", "postgres", tl, rows, fmt.Sprintf(" down=10s answers=%s down_by_node=%v health_degraded=%d/%d",
		summary(kinds), down, degraded, len(samples)))
}

// awaitRotation calls the script through Caddy until a row shows that node
// ran one of the calls (20 s at most): a restarted node is back in Caddy's
// rotation once its health checks pass and its passive failure expired.
func (c *cluster) awaitRotation(ctx context.Context, script, scriptID, node string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for i := 0; ; i++ {
		for j := range 4 {
			c.via.get(ctx, fmt.Sprintf("/fn/%s?k=probe-%d-%d", script, i, j), nil)
		}
		rows, err := c.clusterRows(ctx, scriptID)
		if err == nil {
			for _, r := range rows {
				if r.node == node && strings.HasPrefix(r.marker, "probe-") {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s ran none of the calls through Caddy for 20 s: it is not back in rotation (last error: %v)", node, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// clusterTwoManagers (5): with a second manager on the same database, a
// schedule firing every second runs once per firing time (River elects one
// leader to plan them), on the nodes.
func clusterTwoManagers(ctx context.Context, t *testing.T, c *cluster) {
	id, err := c.via.deploy(ctx, "ticker", firingSource, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sched struct {
		ID string `json:"id"`
	}
	if err := c.via.admin(ctx, http.MethodPost, "/api/scripts/"+id+"/schedules", map[string]any{"cron": "* * * * * *"}, &sched); err != nil {
		t.Fatal(err)
	}
	c.startManager(ctx, t, 1)
	both := time.Now()
	// Firings over 5 s with both managers up. The first may wait for the
	// leader's election (the manager killed in scenario 4 held it): up to
	// 45 s in all.
	wctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	firings, err := c.awaitScheduleRuns(wctx, sched.ID, func(runs []scheduleRun) bool {
		first := time.Time{}
		for _, r := range runs {
			if r.at.After(both) && (first.IsZero() || r.at.Before(first)) {
				first = r.at
			}
		}
		if first.IsZero() {
			return false
		}
		for _, r := range runs {
			if !r.at.Before(first.Add(5 * time.Second)) {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if !c.managers[0].running() || !c.managers[1].running() {
		t.Fatalf("a manager exited while the schedule fired")
	}
	seen := map[time.Time]int{}
	byNode := map[string]int{}
	var times []time.Time
	for _, f := range firings {
		if seen[f.at]++; seen[f.at] == 1 {
			times = append(times, f.at)
		}
		byNode[f.node]++
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for at, n := range seen {
		if n > 1 {
			t.Errorf("the firing of %s ran %d times with two managers, want once", at.Format(time.RFC3339), n)
		}
	}
	for n, k := range byNode {
		if !slices.Contains(nodeNames, n) {
			t.Errorf("%d firings ran on %q, want a node (node-a or node-b): the manager dispatches them", k, n)
		}
	}
	// Missing seconds are logged, not failed: a firing planned late (the
	// leader busy) is not a duplicate, which is what two managers could do.
	missing := 0
	if len(times) > 1 {
		missing = int(times[len(times)-1].Sub(times[0])/time.Second) + 1 - len(times)
	}
	t.Logf("RESULT scenario=cluster_two_managers firings=%d distinct=%d missing_seconds=%d by_node=%v", len(firings), len(times), missing, byNode)
}

// scheduleRun is one run of a schedule: its firing time (the script answers
// it) and the node that ran it.
type scheduleRun struct {
	at   time.Time
	node string
}

// awaitScheduleRuns reads the schedule's runs until done accepts them.
func (c *cluster) awaitScheduleRuns(ctx context.Context, scheduleID string, done func([]scheduleRun) bool) ([]scheduleRun, error) {
	for {
		var page struct {
			Items []struct {
				Node     string `json:"node"`
				Status   string `json:"status"`
				Response *struct {
					Body string `json:"body"`
				} `json:"response"`
			} `json:"items"`
		}
		err := c.via.admin(ctx, http.MethodGet, "/api/schedules/"+scheduleID+"/executions?limit=200", nil, &page)
		var runs []scheduleRun
		if err == nil {
			for _, it := range page.Items {
				var out struct {
					At time.Time `json:"at"`
				}
				if it.Response == nil || json.Unmarshal([]byte(it.Response.Body), &out) != nil || out.At.IsZero() {
					return nil, fmt.Errorf("a run of the schedule did not answer its firing time: %+v", it)
				}
				runs = append(runs, scheduleRun{at: out.At, node: it.Node})
			}
			if done(runs) {
				return runs, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("schedule %s: %d runs (last error: %v): %w", scheduleID, len(runs), err, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestClusterCaddyfile checks, without PostgreSQL, that the shipped
// deploy/Caddyfile.cluster has what TestCluster sets in it, and that the
// test's version adapts: the invocation routes on the nodes, the rest on the
// managers, /cluster/ answered by Caddy itself.
func TestClusterCaddyfile(t *testing.T) {
	caddyBin, err := exec.LookPath("caddy")
	if err != nil {
		t.Skip("caddy is not on PATH (Debian: apt-get install caddy): skipped")
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile(filepath.Join(root, "deploy", "Caddyfile.cluster"))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := caddyfileFor(string(shipped))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddyBin, "adapt", "--config", path, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir,
		"PICLOUD_SITE=http://127.0.0.1:1", "PICLOUD_NODES=127.0.0.1:2 127.0.0.1:3",
		"PICLOUD_MANAGERS=127.0.0.1:4", "PICLOUD_ACCESS_LOG="+filepath.Join(dir, "access.log"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("caddy adapt: %v\n%s", err, conf)
	}
	// The routes of the site, in order, as the adapted JSON has them.
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Listen []string `json:"listen"`
					Routes []struct {
						Handle []struct {
							Routes []json.RawMessage `json:"routes"`
						} `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("caddy adapt's output: %v", err)
	}
	var routes []string
	for _, srv := range cfg.Apps.HTTP.Servers {
		if !slices.Equal(srv.Listen, []string{"127.0.0.1:1"}) {
			t.Errorf("Caddy listens on %v, want 127.0.0.1:1 only", srv.Listen)
		}
		for _, r := range srv.Routes {
			for _, h := range r.Handle {
				for _, sub := range h.Routes {
					routes = append(routes, string(sub))
				}
			}
		}
	}
	has := func(r string, parts ...string) bool {
		for _, p := range parts {
			if !strings.Contains(r, p) {
				return false
			}
		}
		return true
	}
	want := []struct {
		what  string
		parts []string
	}{
		{"/cluster/* answered 404 by Caddy", []string{`"/cluster/*"`, `"static_response"`, `"status_code":404`}},
		{"/fn/* and /api/execute/* to both nodes, checked at /api/health", []string{`"/fn/*"`, `"/api/execute/*"`, `"127.0.0.1:2"`, `"127.0.0.1:3"`, `"uri":"/api/health"`, `"interval":500000000`, `"retries":`}},
		{"the rest to the manager, checked at /api/health", []string{`"127.0.0.1:4"`, `"uri":"/api/health"`}},
	}
	next := 0
	for _, w := range want {
		found := false
		for next < len(routes) && !found {
			found = has(routes[next], w.parts...)
			next++
		}
		if !found {
			t.Errorf("no route %s (after the ones before it) in the adapted configuration:\n%s", w.what, strings.Join(routes, "\n"))
		}
	}
}
