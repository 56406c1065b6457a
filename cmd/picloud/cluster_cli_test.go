package main

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/audit"
	"github.com/picloud/picloud/internal/journal"
	"github.com/picloud/picloud/internal/postgres/pgtest"
)

const testClusterToken = "cluster-token-0123456789abcdef"

// parseNode parses node's flags as runNode does (with the environment) and
// checks them.
func parseNode(t *testing.T, args ...string) (*nodeOptions, error) {
	t.Helper()
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o nodeOptions
	o.register(fs)
	if _, err := parse(fs, args); err != nil {
		return nil, err
	}
	return &o, o.check()
}

func TestNodeFlags(t *testing.T) {
	t.Setenv("PICLOUD_CLUSTER_TOKEN", "")
	t.Setenv("PICLOUD_MANAGER_URL", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cluster-token", testClusterToken}, "--manager"},
		{[]string{"--manager", "http://127.0.0.1:8000"}, "cluster token is required"},
		{[]string{"--manager", "http://127.0.0.1:8000", "--cluster-token", "short"}, "at least 16"},
		{[]string{"--manager", "localhost:8000", "--cluster-token", testClusterToken}, "http:// or https://"},
		{[]string{"--manager", "ftp://manager", "--cluster-token", testClusterToken}, "http:// or https://"},
		{[]string{"--manager", "http://", "--cluster-token", testClusterToken}, "no host"},
		{[]string{"--manager", "http://u:p@manager", "--cluster-token", testClusterToken}, "credentials"},
		{[]string{"--manager", "http://manager?x=1", "--cluster-token", testClusterToken}, "query"},
		{[]string{"--manager", "http://manager", "--cluster-token", testClusterToken, "--advertise", "node-1:8001"}, "--advertise"},
		{[]string{"--manager", "http://manager", "--cluster-token", testClusterToken, "--name", "a/b"}, "--name"},
		{[]string{"--manager", "http://manager", "--cluster-token", testClusterToken, "--tls-cert", "c.pem"}, "--tls-key"},
		{[]string{"--manager", "http://manager", "--cluster-token", testClusterToken, "--max-emits", "0"}, "--max-emits"},
		{[]string{"--manager", "http://manager", "--cluster-token", testClusterToken, "--functions-origin", "fn.example.com"}, "--functions-origin"},
	} {
		_, err := parseNode(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("node %q: %v, want an error about %s", tc.args, err, tc.want)
		}
	}
	if o, err := parseNode(t, "--manager", "https://manager.example.com:8443/", "--cluster-token", testClusterToken); err != nil {
		t.Errorf("valid flags refused: %v", err)
	} else if o.addr != ":8001" || o.sf.dataDir != "./picloud-node" || o.name.value != "" || o.advertise.value != "" {
		t.Errorf("defaults: addr %q, data dir %q, name %q, advertise %q", o.addr, o.sf.dataDir, o.name.value, o.advertise.value)
	}

	// A node has no store, job queue, retention or admin token to set.
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	var o nodeOptions
	o.register(fs)
	for _, name := range []string{"database-url", "retention-max-age", "retention-max-rows", "retention-interval",
		"jobs-poll-interval", "max-queued", "max-queued-per-script", "missed-firings", "token"} {
		if fs.Lookup(name) != nil {
			t.Errorf("node takes --%s", name)
		}
	}
	for _, name := range []string{"max-concurrency", "gate-wait", "memory-limit", "max-body-bytes", "default-timeout",
		"max-log-lines", "log-level", "log-format", "journal-sync", "journal-max-bytes", "shutdown-timeout",
		"sink-flush-timeout", "public-metrics", "trusted-proxies", "functions-origin", "max-emits", "max-event-depth",
		"egress-allow", "cluster-ca", "tls-cert", "tls-key"} {
		if fs.Lookup(name) == nil {
			t.Errorf("node lacks --%s", name)
		}
	}
}

// The node's variables are named for what they hold (PICLOUD_MANAGER_URL,
// not PICLOUD_MANAGER), and the command line wins over them.
func TestNodeEnvironment(t *testing.T) {
	t.Setenv("PICLOUD_MANAGER_URL", "http://manager.internal:8000")
	t.Setenv("PICLOUD_CLUSTER_TOKEN", testClusterToken)
	t.Setenv("PICLOUD_NODE_NAME", "web-7")
	t.Setenv("PICLOUD_ADVERTISE_URL", "http://10.0.0.7:8001")
	t.Setenv("PICLOUD_MANAGER", "http://wrong:1")
	t.Setenv("PICLOUD_NAME", "wrong")
	o, err := parseNode(t)
	if err != nil {
		t.Fatal(err)
	}
	if o.manager.value != "http://manager.internal:8000" || o.cluster.token != testClusterToken || o.name.value != "web-7" || o.advertise.value != "http://10.0.0.7:8001" {
		t.Errorf("from the environment: manager %q, token %q, name %q, advertise %q", o.manager.value, o.cluster.token, o.name.value, o.advertise.value)
	}
	o, err = parseNode(t, "--manager", "https://other:9000", "--name", "web-8")
	if err != nil {
		t.Fatal(err)
	}
	if o.manager.value != "https://other:9000" || o.name.value != "web-8" {
		t.Errorf("flags over the environment: manager %q, name %q", o.manager.value, o.name.value)
	}
	t.Setenv("PICLOUD_MANAGER_URL", "manager.internal")
	if _, err := parseNode(t); err == nil || !strings.Contains(err.Error(), "--manager") {
		t.Errorf("a bad PICLOUD_MANAGER_URL: %v", err)
	}
}

func TestNodeDefaultNameAndAdvertise(t *testing.T) {
	for addr, want := range map[string]string{"[::]:8001": "web-1:8001", "0.0.0.0:9000": "web-1:9000", "10.0.0.5:8001": "web-1:8001"} {
		if got := defaultNodeName("web-1", addr); got != want {
			t.Errorf("defaultNodeName(web-1, %s) = %q, want %q", addr, got, want)
		}
	}
	for _, tc := range []struct {
		addr     string
		tls      bool
		want     string
		wildcard bool
	}{
		{"[::]:8001", false, "http://127.0.0.1:8001", true},
		{"0.0.0.0:8001", true, "https://127.0.0.1:8001", true},
		{":8001", false, "http://127.0.0.1:8001", true},
		{"10.0.0.5:8002", false, "http://10.0.0.5:8002", false},
		{"[fd00::5]:8001", true, "https://[fd00::5]:8001", false},
	} {
		got, wildcard := defaultAdvertise(tc.addr, tc.tls)
		if got != tc.want || wildcard != tc.wildcard {
			t.Errorf("defaultAdvertise(%s, %v) = %q %v, want %q %v", tc.addr, tc.tls, got, wildcard, tc.want, tc.wildcard)
		}
	}
}

func TestManagerFlags(t *testing.T) {
	t.Setenv("PICLOUD_CLUSTER_TOKEN", "")
	dataDir := filepath.Join(t.TempDir(), "data")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "cluster token is required"},
		{[]string{"--cluster-token", "fifteen-bytes.."}, "at least 16"},
		{[]string{"--cluster-token", testClusterToken, "--tls-key", "k.pem"}, "--tls-cert"},
		{[]string{"--cluster-token", testClusterToken, "--max-queued", "0"}, "--max-queued"},
		{[]string{"--cluster-token", testClusterToken, "--tls-cert", "missing.pem", "--tls-key", "missing.pem"}, "missing.pem"},
		{[]string{"--cluster-token", testClusterToken, "--cluster-ca", filepath.Join(t.TempDir(), "none.pem")}, "--cluster-ca"},
	} {
		args := append([]string{"manager", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, tc.args...)
		if _, _, err := cli(t, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("manager %q: %v, want an error about %s", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(dataDir); err == nil {
		t.Error("the data directory was created before the flags were checked")
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	if _, _, err := cli(t, "manager", "--data-dir", dataDir, "--cluster-token", testClusterToken, "--cluster-ca", notPEM); err == nil ||
		!strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a --cluster-ca without a certificate: %v", err)
	}
	// The environment gives the token as well.
	t.Setenv("PICLOUD_CLUSTER_TOKEN", "short")
	if _, _, err := cli(t, "manager", "--data-dir", dataDir); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("a short PICLOUD_CLUSTER_TOKEN: %v", err)
	}
}

// startRole runs `picloud ROLE args...` on a free loopback port until the
// test stops it, and returns the port's address and the standard output and
// error.
func startRole(t *testing.T, role string, args ...string) (addr string, stdout, stderr *syncBuffer, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	args = append([]string{role, "--addr", addr, "--log-level", "warn"}, args...)
	go func() { done <- run(ctx, args, nil, stdout, stderr) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("%s stopped at start: %v\n%s", role, err, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start:\n%s", role, stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var once bool
	stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v\n%s", role, err, stderr)
		}
	}
	t.Cleanup(stop)
	return addr, stdout, stderr, stop
}

// errText is err's message, "" for nil (eventually's "done").
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// A manager on SQLite and a node started like the binary starts them: the
// CLI deploys through the manager, the node serves the script and its rows
// reach the manager with its name, `picloud nodes` lists it, and the
// manager itself serves no invocations. On SQLite, and on PostgreSQL when
// PICLOUD_TEST_DATABASE_URL is set.
func TestManagerAndNode(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testManagerAndNode(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		dbURL := os.Getenv("PICLOUD_TEST_DATABASE_URL")
		if dbURL == "" {
			t.Skip("PICLOUD_TEST_DATABASE_URL is not set: the manager on PostgreSQL is skipped")
		}
		testManagerAndNode(t, []string{"--database-url", pgtest.URL(t, dbURL)})
	})
}

func testManagerAndNode(t *testing.T, store []string) {
	t.Setenv("PICLOUD_CLUSTER_TOKEN", testClusterToken)
	mAddr, mOut, mErr, stopManager := startRole(t, "manager", append([]string{"--data-dir", t.TempDir()}, store...)...)
	managerURL := "http://" + mAddr
	token := regexp.MustCompile(`pct_[0-9a-f]+`).FindString(mOut.String())
	if token == "" {
		t.Fatalf("the manager's first start printed no admin token:\n%s", mOut)
	}
	if warned := strings.Contains(mErr.String(), "only one manager"); warned != (len(store) == 0) {
		t.Errorf("warning about SQLite: %v, on SQLite: %v\n%s", warned, len(store) == 0, mErr)
	}
	t.Setenv("PICLOUD_URL", managerURL)
	t.Setenv("PICLOUD_TOKEN", token)

	t.Setenv("PICLOUD_MANAGER_URL", managerURL)
	nAddr, _, _, stopNode := startRole(t, "node", "--data-dir", t.TempDir(), "--name", "test-node")
	nodeURL := "http://" + nAddr

	file := filepath.Join(t.TempDir(), "hello.rhai")
	os.WriteFile(file, []byte(`#{hello: request.query.name ?? "world"}`), 0o644)
	if out, _, err := cli(t, "deploy", file); err != nil || !strings.Contains(out, "created hello") {
		t.Fatalf("deploy: %q %v", out, err)
	}
	eventually(t, "invoking through the node", func() string {
		out, _, err := cli(t, "invoke", "hello", "--server", nodeURL, "--path", "?name=node")
		if err == nil && strings.TrimSpace(out) != `{"hello":"node"}` {
			t.Fatalf("invoke through the node: %q", out)
		}
		return errText(err)
	})
	if out, _, err := cli(t, "invoke", "hello"); err == nil || !strings.Contains(out, "this is a manager") {
		t.Errorf("invoke on the manager: %q %v", out, err)
	}
	eventually(t, "the execution's row on the manager", func() string {
		out, _, err := cli(t, "logs", "hello", "--json")
		var page picloud.ExecutionList
		if err != nil || json.Unmarshal([]byte(out), &page) != nil {
			t.Fatalf("logs: %q %v", out, err)
		}
		if len(page.Items) != 1 || page.Items[0].Node != "test-node" {
			return fmt.Sprintf("rows %+v", page.Items)
		}
		return ""
	})

	eventually(t, "the node listed ok", func() string {
		out, _, err := cli(t, "nodes", "--json")
		var list picloud.NodeList
		if err != nil || json.Unmarshal([]byte(out), &list) != nil {
			t.Fatalf("nodes --json: %q %v", out, err)
		}
		if len(list.Items) != 1 || list.Items[0].Name != "test-node" || list.Items[0].Status != picloud.NodeOK {
			return fmt.Sprintf("nodes: %s", out)
		}
		if n := list.Items[0]; n.Address != nodeURL || n.Capacity < 1 || n.Version == "" {
			t.Fatalf("node record: %+v", n)
		}
		return ""
	})
	out, _, err := cli(t, "nodes")
	if err != nil || !regexp.MustCompile(`(?m)^NAME +ADDRESS +STATUS +LOAD/CAP +JOURNAL +LAST HEARTBEAT +VERSION\n`+
		`test-node +`+regexp.QuoteMeta(nodeURL)+` +ok +0/\d+ +\d.* ago +\S+`).MatchString(out) {
		t.Fatalf("nodes: %q %v", out, err)
	}

	stopNode()
	if out, _, err := cli(t, "nodes", "rm", "test-node"); err != nil || !strings.Contains(out, "forgot node test-node") {
		t.Fatalf("nodes rm: %q %v", out, err)
	}
	if _, _, err := cli(t, "nodes", "rm", "test-node"); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Errorf("nodes rm of a forgotten node: %v", err)
	}
	if out, _, err := cli(t, "nodes"); err != nil || !strings.Contains(out, "no nodes") {
		t.Errorf("nodes after rm: %q %v", out, err)
	}
	stopManager()
}

func TestNodesUsage(t *testing.T) {
	if _, _, err := cli(t, "nodes", "frob"); err == nil || !strings.Contains(err.Error(), "unknown nodes command") {
		t.Errorf("nodes frob: %v", err)
	}
	if _, _, err := cli(t, "nodes", "rm"); err == nil || !strings.Contains(err.Error(), "wrong number") {
		t.Errorf("nodes rm without a name: %v", err)
	}
	if out, _, err := cli(t, "help"); err != nil || !strings.Contains(out, "manager") || !strings.Contains(out, "node --manager URL") || !strings.Contains(out, "nodes [ls]") {
		t.Errorf("help: %v\n%s", err, out)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var b strings.Builder
	writeNodeTable(&b, []*picloud.Node{{Name: "n1", Address: "http://10.0.0.1:8001", Status: picloud.NodeLost, Load: 2, Capacity: 8,
		JournalBytes: 3 << 20, LastHeartbeat: picloud.Time{Time: now.Add(-95 * time.Second)}, Version: "v1"}}, now)
	if !regexp.MustCompile(`n1 +http://10.0.0.1:8001 +lost +2/8 +3.0 MiB +1m35s ago +v1`).MatchString(b.String()) {
		t.Errorf("table:\n%s", b.String())
	}
}

// testCA is a certificate authority made for one test, and a certificate
// it signed for 127.0.0.1.
type testCA struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "picloud test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCA{caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool()}
	c.pool.AddCert(ca)
	for file, block := range map[string]*pem.Block{
		c.caFile: {Type: "CERTIFICATE", Bytes: caDER}, c.certFile: {Type: "CERTIFICATE", Bytes: der}, c.keyFile: {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// The cluster over TLS both ways: the manager serves HTTPS and the node
// trusts it through --cluster-ca; the node serves HTTPS too and the manager
// trusts it the same way when it dispatches a job to it.
func TestManagerAndNodeTLS(t *testing.T) {
	ca := newTestCA(t)
	t.Setenv("PICLOUD_CLUSTER_TOKEN", testClusterToken)
	tlsFlags := []string{"--tls-cert", ca.certFile, "--tls-key", ca.keyFile, "--cluster-ca", ca.caFile}
	mAddr, mOut, _, _ := startRole(t, "manager", append([]string{"--data-dir", t.TempDir()}, tlsFlags...)...)
	managerURL := "https://" + mAddr
	token := regexp.MustCompile(`pct_[0-9a-f]+`).FindString(mOut.String())
	// No --name, no --advertise: the defaults (hostname:port, and the
	// listening address over https) must reach the manager as they are.
	nAddr, _, _, _ := startRole(t, "node", append([]string{"--data-dir", t.TempDir(), "--manager", managerURL}, tlsFlags...)...)
	nodeURL := "https://" + nAddr
	hostname, _ := os.Hostname()
	_, port, _ := net.SplitHostPort(nAddr)

	// The CLI's client, trusting the test's CA.
	trusting := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
	m := &client{server: managerURL, token: token, http: trusting}
	ctx := context.Background()
	var sc picloud.Script
	if err := m.do(ctx, "POST", "/api/scripts", picloud.ScriptUpdate{Name: ptr("tls"), Source: ptr(`#{ok: true}`)}, &sc); err != nil {
		t.Fatalf("deploy over https: %v", err)
	}
	eventually(t, "the node registered over https", func() string {
		var list picloud.NodeList
		if err := m.do(ctx, "GET", "/api/nodes", nil, &list); err != nil {
			return errText(err)
		}
		if len(list.Items) != 1 || list.Items[0].Name != hostname+":"+port || list.Items[0].Address != nodeURL || list.Items[0].Status != picloud.NodeOK {
			return fmt.Sprintf("nodes: %+v", list.Items)
		}
		return ""
	})

	// An asynchronous invocation: the node queues it on the manager, which
	// dispatches the attempt back to a node over https.
	req, _ := http.NewRequest("POST", nodeURL+"/fn/tls", nil)
	req.Header.Set("Prefer", "respond-async")
	resp, err := trusting.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var accepted picloud.JobAccepted
	json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	jobID := accepted.JobID
	if resp.StatusCode != http.StatusAccepted || jobID == "" {
		t.Fatalf("async invocation through the node: %d %+v", resp.StatusCode, accepted)
	}
	eventually(t, "the job run on the node", func() string {
		var j picloud.Job
		if err := m.do(ctx, "GET", "/api/jobs/"+jobID, nil, &j); err != nil {
			return errText(err)
		}
		if j.State != picloud.JobSucceeded {
			return fmt.Sprintf("job %s: %s %+v", jobID, j.State, j.Errors)
		}
		if len(j.Attempts) == 0 {
			return fmt.Sprintf("job %s has no attempt yet", jobID)
		}
		return ""
	})
}

// `picloud node` with no execution flags runs what app.NewNode builds from
// a configuration that sets only the cluster's fields; and a manager takes
// every one of serve's flags.
func TestNodeDefaultsMatchApp(t *testing.T) {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o nodeOptions
	o.register(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	base := app.NodeConfig{ManagerURL: "http://127.0.0.1:1", Token: testClusterToken, Name: "n", Advertise: "http://127.0.0.1:2"}
	cfg := o.appConfig()
	flagged := base
	flagged.Executor, flagged.Orchestrator, flagged.Sink = cfg.Executor, cfg.Orchestrator, cfg.Sink
	flagged.Sink.Dir = filepath.Join(t.TempDir(), "journal")
	flagged.PublicMetrics, flagged.TrustedProxies = cfg.PublicMetrics, cfg.TrustedProxies
	fromFlags, err := app.NewNode(flagged)
	if err != nil {
		t.Fatal(err)
	}
	zero, err := app.NewNode(base)
	if err != nil {
		t.Fatal(err)
	}
	got, want := fromFlags.Config(), zero.Config()
	if !reflect.DeepEqual(got.Orchestrator, want.Orchestrator) {
		t.Errorf("orchestrator:\n node %+v\n  app %+v", got.Orchestrator, want.Orchestrator)
	}
	if !reflect.DeepEqual(got.Executor, want.Executor) {
		t.Errorf("executor:\n node %+v\n  app %+v", got.Executor, want.Executor)
	}
	if got.PublicMetrics != want.PublicMetrics || got.TrustedProxies.String() != want.TrustedProxies.String() {
		t.Errorf("metrics and proxies: node %v %v, app %v %v", got.PublicMetrics, got.TrustedProxies, want.PublicMetrics, want.TrustedProxies)
	}
	gs, ws := got.Sink, want.Sink
	if cmp.Or(ws.Sync, journal.SyncInterval) != gs.Sync || cmp.Or(ws.MaxJournalBytes, audit.DefaultMaxJournalBytes) != gs.MaxJournalBytes {
		t.Errorf("sink: node %q %d, app %q %d", gs.Sync, gs.MaxJournalBytes, ws.Sync, ws.MaxJournalBytes)
	}

	sfs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var so serveOptions
	so.register(sfs)
	mfs := flag.NewFlagSet("manager", flag.ContinueOnError)
	var mo managerOptions
	mo.register(mfs)
	sfs.VisitAll(func(f *flag.Flag) {
		if m := mfs.Lookup(f.Name); m == nil || m.DefValue != f.DefValue {
			t.Errorf("manager's --%s: %+v, serve's default %q", f.Name, m, f.DefValue)
		}
	})
	for _, name := range []string{"cluster-token", "cluster-ca", "tls-cert", "tls-key"} {
		if mfs.Lookup(name) == nil {
			t.Errorf("manager lacks --%s", name)
		}
	}
}
