package main

// `go run . cluster` measures cluster mode (Step 10) on this machine, with the
// real binary, a real Caddy and a real PostgreSQL:
//
//   - throughput of the hello script (the same as `bench server`'s) against
//     the all-in-one server directly, the all-in-one server through Caddy, one
//     manager and one node through Caddy, and one manager and two nodes
//     through Caddy (round robin), in interleaved rounds; a round ends when
//     its last execution row is written (picloud_sink_written_total of the
//     server or the nodes), so the figure is sustained throughput, the
//     cluster's posting of rows to the manager included;
//   - change-feed convergence: PUT a new version on the manager, then poll
//     both nodes directly until both answer it;
//   - kv::get latency: one kv::get per execution on the all-in-one server and
//     on a node (where it is a round trip to the manager), per request and as
//     the execution's duration_ms from the execution logs.
//
// Every process runs on PostgreSQL: the all-in-one server and the manager
// each on a database of their own that the bench drops and creates afresh
// (psql) on the server --database-url names.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// benchClusterToken is the cluster token of the bench's manager and nodes
// (at least 16 bytes, as both require).
const benchClusterToken = "bench-cluster-token-0123456789"

type clusterOpts struct {
	binary      string
	databaseURL string
	database    string
	caddy       string
	duration    time.Duration
	rounds      int
	concurrency int
	updates     int
	kvRequests  int
	keep        bool
}

// runCluster is the `cluster` subcommand.
func runCluster(args []string) int {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	var o clusterOpts
	fs.StringVar(&o.binary, "picloud", "", "a built picloud binary with the manager and node commands (default: build ../cmd/picloud)")
	fs.StringVar(&o.databaseURL, "database-url", os.Getenv("PICLOUD_BENCH_DATABASE_URL"), "postgres://... of a PostgreSQL server (PICLOUD_BENCH_DATABASE_URL; required): the bench drops and creates its own databases on it, named by -database")
	fs.StringVar(&o.database, "database", "picloud_bench_cluster", "the cluster's database; the all-in-one server's is this name with _aio; both are dropped and created afresh")
	fs.StringVar(&o.caddy, "caddy", "caddy", "the caddy binary (looked up in PATH)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "load time of each setup in each throughput round")
	fs.IntVar(&o.rounds, "rounds", 3, "interleaved throughput rounds (the figure is their median)")
	fs.IntVar(&o.concurrency, "concurrency", 16, "concurrent keep-alive connections of the throughput load")
	fs.IntVar(&o.updates, "updates", 100, "script updates timed in the change-feed convergence")
	fs.IntVar(&o.kvRequests, "kv-requests", 1000, "kv::get executions timed on each side (one connection)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (process logs, Caddyfile) and the databases")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := benchCluster(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench cluster:", err)
		return 1
	}
	return 0
}

func (o clusterOpts) check() error {
	switch {
	case o.databaseURL == "":
		return errors.New("-database-url is required: cluster mode runs on PostgreSQL (postgres://user:pass@host:5432/postgres)")
	case o.rounds < 1 || o.concurrency < 1 || o.updates < 1 || o.kvRequests < 1:
		return errors.New("-rounds, -concurrency, -updates and -kv-requests must be at least 1")
	case o.duration <= 0:
		return errors.New("-duration must be positive")
	}
	return nil
}

func benchCluster(o clusterOpts, out io.Writer) (err error) {
	if err := o.check(); err != nil {
		return err
	}
	caddy, err := exec.LookPath(o.caddy)
	if err != nil {
		return fmt.Errorf("caddy: %w (Debian: apt-get install caddy; or -caddy PATH)", err)
	}
	tmp, err := os.MkdirTemp("", "picloud-cluster-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	if o.binary == "" {
		o.binary = filepath.Join(tmp, "picloud")
		logf("building ../cmd/picloud")
		build := exec.Command("go", "build", "-o", o.binary, "./cmd/picloud")
		build.Dir, build.Stdout, build.Stderr = "..", os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	if err := checkClusterBinary(o.binary); err != nil {
		return err
	}

	// Fresh databases: the all-in-one server's and the cluster's.
	aioURL, err := freshDatabase(o.databaseURL, o.database+"_aio")
	if err != nil {
		return err
	}
	clusterURL, err := freshDatabase(o.databaseURL, o.database)
	if err != nil {
		return err
	}
	if !o.keep {
		defer func() {
			for _, db := range []string{o.database + "_aio", o.database} {
				if derr := dropDatabase(o.databaseURL, db); derr != nil && err == nil {
					err = derr
				}
			}
		}()
	}

	// The processes. Every one runs until the end (an idle one costs
	// nothing measurable: see docs/performance-server.md's idle cost), so
	// that the rounds can alternate between the setups.
	var procs []*proc
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
		}
	}()
	start := func(name string, args []string, ready func(*proc) error) (*proc, error) {
		p, err := startProc(name, o.binary, args, []string{"PICLOUD_ADMIN_TOKEN=" + benchToken}, filepath.Join(tmp, name+".log"))
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		p.token = benchToken
		if strings.HasPrefix(name, "node") {
			p.token = benchClusterToken
		}
		if err := ready(p); err != nil {
			return nil, fmt.Errorf("%s: %w\n%s", name, err, p.tail(20))
		}
		return p, nil
	}
	common := []string{"--log-level", "warn", "--retention-max-rows", "0", "--retention-max-age", "0"}
	aioAddr, mgrAddr, n1Addr, n2Addr := freeAddr(), freeAddr(), freeAddr(), freeAddr()
	aio, err := start("serve", append([]string{"serve", "--addr", aioAddr, "--data-dir", filepath.Join(tmp, "serve"),
		"--database-url", aioURL}, common...), healthy("http://"+aioAddr, ""))
	if err != nil {
		return err
	}
	mgr, err := start("manager", append([]string{"manager", "--addr", mgrAddr, "--data-dir", filepath.Join(tmp, "manager"),
		"--database-url", clusterURL, "--cluster-token", benchClusterToken}, common...), healthy("http://"+mgrAddr, ""))
	if err != nil {
		return err
	}
	var nodes []*proc
	for i, addr := range []string{n1Addr, n2Addr} {
		name := fmt.Sprintf("node-%d", i+1)
		n, err := start(name, []string{"node", "--manager", mgr.url, "--cluster-token", benchClusterToken,
			"--addr", addr, "--data-dir", filepath.Join(tmp, name), "--name", name, "--log-level", "warn"},
			healthy("http://"+addr, "ok"))
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	if err := waitNodesListed(mgr, 2); err != nil {
		return err
	}

	// Caddy, one process with three sites on loopback.
	caddyfile := filepath.Join(tmp, "Caddyfile")
	viaAIO, via1, via2 := freeAddr(), freeAddr(), freeAddr()
	if err := os.WriteFile(caddyfile, []byte(clusterCaddyfile(aioAddr, via1, via2, viaAIO, mgrAddr, n1Addr, n2Addr)), 0o600); err != nil {
		return err
	}
	cp, err := startCaddy(caddy, caddyfile, tmp)
	if err != nil {
		return err
	}
	procs = append(procs, cp)
	for _, a := range []string{viaAIO, via1, via2} {
		if err := healthy("http://"+a, "")(cp); err != nil {
			return fmt.Errorf("caddy on %s: %w\n%s", a, err, cp.tail(20))
		}
	}

	aioAdmin := &picloudServer{cmd: aio.cmd, url: aio.url}
	mgrAdmin := &picloudServer{cmd: mgr.cmd, url: mgr.url}
	for _, s := range []*picloudServer{aioAdmin, mgrAdmin} {
		for _, sc := range []struct{ name, src string }{{"hello", `#{hello: "world", n: 42}`}, {"kvget", kvGetSource}} {
			if _, err := s.deploy(sc.name, sc.src, 0); err != nil {
				return fmt.Errorf("deploy %s on %s: %w", sc.name, s.url, err)
			}
		}
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * o.concurrency, MaxIdleConns: 16 * o.concurrency}}
	written := func(ps ...*proc) func() (float64, error) {
		return func() (float64, error) {
			var sum float64
			for _, p := range ps {
				v, err := p.metric("picloud_sink_written_total")
				if err != nil {
					return 0, err
				}
				sum += v
			}
			return sum, nil
		}
	}
	setups := []*clusterSetup{
		{name: "all-in-one, direct", url: aio.url + "/fn/hello", written: written(aio)},
		{name: "all-in-one through Caddy", url: "http://" + viaAIO + "/fn/hello", written: written(aio), base: true},
		{name: "1 manager + 1 node through Caddy", url: "http://" + via1 + "/fn/hello", written: written(nodes...)},
		{name: "1 manager + 2 nodes through Caddy", url: "http://" + via2 + "/fn/hello", written: written(nodes...)},
	}
	load0 := loadAvg()
	if err := benchThroughput(o, client, setups, procs); err != nil {
		return err
	}
	conv, err := benchConvergence(o, client, mgrAdmin, nodes)
	if err != nil {
		return err
	}
	kv, err := benchKVLatency(o, client, aioAdmin, mgrAdmin, nodes[0])
	if err != nil {
		return err
	}
	printCluster(out, o, setups, conv, kv, load0+" → "+loadAvg())
	return nil
}

// loadAvg is the 1-minute load average: how busy the (shared) machine was.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f, _, _ := strings.Cut(string(b), " ")
	return f
}

// kvGetSource does one kv::get per execution; the first execution of a
// script also sets the key (its warm-up), every later one only reads it.
const kvGetSource = `let v = kv::get("k"); if v == () { kv::set("k", #{hello: "world", n: 42}); } v ?? #{}`

// checkClusterBinary fails early, with a clear message, on a picloud binary
// from before Step 10.
func checkClusterBinary(binary string) error {
	b, _ := exec.Command(binary, "help").CombinedOutput()
	if !strings.Contains(string(b), "manager") || !strings.Contains(string(b), "node") {
		return fmt.Errorf("%s has no manager and node commands (`%s help` does not list them): build it from Step 10 or later", binary, binary)
	}
	return nil
}

// clusterCaddyfile is the loopback configuration: no admin endpoint, no
// HTTPS, one site per setup. The cluster sites are deploy/Caddyfile.cluster's
// routing and proxy settings (invocations to the nodes with retries, active
// and passive health checks; the rest to the manager), with round robin for
// its least_conn so that two nodes share the load evenly whatever their
// speed; without its compression (the hello answer is below Caddy's
// minimum length anyway) and access log. The all-in-one site is
// deploy/Caddyfile's proxy.
func clusterCaddyfile(aio, via1, via2, viaAIO, mgr, n1, n2 string) string {
	var b strings.Builder
	b.WriteString("{\n\tadmin off\n\tauto_https off\n}\n")
	site := func(listen string) {
		host, port, _ := net.SplitHostPort(listen)
		fmt.Fprintf(&b, "\nhttp://%s:%s {\n\tbind %s\n", host, port, host)
	}
	site(viaAIO)
	fmt.Fprintf(&b, "\treverse_proxy %s {\n\t\theader_up X-Forwarded-Proto {scheme}\n\t}\n}\n", aio)
	for _, c := range []struct {
		listen string
		nodes  []string
	}{{via1, []string{n1}}, {via2, []string{n1, n2}}} {
		site(c.listen)
		b.WriteString("\thandle /cluster/* {\n\t\trespond 404\n\t}\n")
		fmt.Fprintf(&b, "\t@invoke path /fn/* /api/execute/*\n\thandle @invoke {\n\t\treverse_proxy %s {\n", strings.Join(c.nodes, " "))
		for _, line := range []string{
			"lb_policy round_robin",
			"lb_retries 2", "lb_try_duration 5s", "lb_try_interval 250ms", "lb_retry_match {\n\t\t\t\tmethod GET HEAD\n\t\t\t}",
			"health_uri /api/health", "health_interval 2s", "health_timeout 2s", "health_status 2xx",
			"fail_duration 5s", "max_fails 1",
			"header_up X-Forwarded-Proto {scheme}",
		} {
			fmt.Fprintf(&b, "\t\t\t%s\n", line)
		}
		b.WriteString("\t\t}\n\t}\n")
		fmt.Fprintf(&b, "\thandle {\n\t\treverse_proxy %s {\n\t\t\theader_up X-Forwarded-Proto {scheme}\n\t\t}\n\t}\n}\n", mgr)
	}
	return b.String()
}

func startCaddy(caddy, caddyfile, tmp string) (*proc, error) {
	// Caddy keeps its state under XDG_DATA_HOME even without certificates:
	// keep it in the temporary directory, not in the user's home.
	env := []string{"XDG_DATA_HOME=" + filepath.Join(tmp, "caddy-data"), "XDG_CONFIG_HOME=" + filepath.Join(tmp, "caddy-config")}
	return startProc("caddy", caddy, []string{"run", "--config", caddyfile, "--adapter", "caddyfile"}, env, filepath.Join(tmp, "caddy.log"))
}

// ---------------------------------------------------------------------------
// Throughput

type clusterSetup struct {
	name    string
	url     string
	written func() (float64, error) // execution rows the setup's processes have written
	base    bool                    // the setup the others' ratio is to
	noDrain bool                    // written has no figure: rounds end with the load
	rounds  []summary
	// cpu is the CPU time each of the bench's processes spent over the
	// measured rounds (by process name), served the requests counted in
	// requests: a cost per request the machine's other load barely moves.
	cpu      map[string]time.Duration
	requests int
}

func benchThroughput(o clusterOpts, client *http.Client, setups []*clusterSetup, procs []*proc) error {
	for _, s := range setups { // warm-up: connections, compiled caches, the JIT-less first runs
		s.round(client, o.concurrency, time.Second)
		s.cpu = map[string]time.Duration{}
	}
	for r := range o.rounds {
		for _, s := range setups {
			c0 := cpuTimes(procs)
			sum := s.round(client, o.concurrency, o.duration)
			for name, c := range cpuTimes(procs) {
				s.cpu[name] += c - c0[name]
			}
			s.requests += sum.n
			if sum.failed > 0 {
				return fmt.Errorf("%s: %d of %d requests failed", s.name, sum.failed, sum.n)
			}
			s.rounds = append(s.rounds, sum)
			logf("round %d/%d %-35s %6.0f req/s  p50 %s ms  p99 %s ms", r+1, o.rounds, s.name, sum.rps, ms(sum.p50), ms(sum.p99))
		}
	}
	return nil
}

// cpuTimes is the CPU time every process has used so far, by name (0 for
// one that cannot be read).
func cpuTimes(procs []*proc) map[string]time.Duration {
	out := make(map[string]time.Duration, len(procs))
	for _, p := range procs {
		c, _ := cpuTime(p.cmd.Process.Pid)
		out[p.name] = c
	}
	return out
}

// round loads s for d, then waits until every answered request's execution
// row is written; the rate counts the wait.
func (s *clusterSetup) round(client *http.Client, workers int, d time.Duration) summary {
	w0, err := s.written()
	if err != nil && !s.noDrain {
		logf("%s: %v: rounds end with the load, not with the last row", s.name, err)
		s.noDrain = true
	}
	l := loadFor(client, s.url, workers, d)
	if !s.noDrain {
		t0 := time.Now()
		want := w0 + float64(len(l.lat)-l.failed)
		for {
			w, err := s.written()
			if err == nil && w >= want {
				break
			}
			if time.Since(t0) > time.Minute {
				logf("%s: %v rows of %v written after a minute", s.name, w-w0, want-w0)
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		l.elapsed += time.Since(t0)
	}
	return l.summary()
}

// loadFor sends GET requests from workers goroutines for d.
func loadFor(client *http.Client, url string, workers int, d time.Duration) latencies {
	var (
		mu     sync.Mutex
		all    []time.Duration
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range max(1, workers) {
		wg.Go(func() {
			var lat []time.Duration
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := client.Get(url)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				lat = append(lat, time.Since(t0))
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return latencies{lat: all, elapsed: time.Since(start), failed: int(failed.Load())}
}

// ---------------------------------------------------------------------------
// Change-feed convergence

type convRun struct {
	put, first, last time.Duration // the PUT; from its answer to the first node's and to the last node's first new answer
}

// benchConvergence updates a script on the manager o.updates times and polls
// every node directly (a few milliseconds apart) until each answers the new
// version.
func benchConvergence(o clusterOpts, client *http.Client, mgr *picloudServer, nodes []*proc) ([]convRun, error) {
	id, err := mgr.deploy("conv", `#{marker: "m0"}`, 0)
	if err != nil {
		return nil, fmt.Errorf("deploy conv: %w", err)
	}
	// Both nodes cache the script first: the measure is of a change reaching
	// a node that holds the old version, not of a first load.
	for _, n := range nodes {
		if _, err := pollUntil(client, n.url+"/fn/conv", `"m0"`, 10*time.Second); err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
	}
	var runs []convRun
	for i := 1; i <= o.updates; i++ {
		marker := fmt.Sprintf(`"m%d"`, i)
		t0 := time.Now()
		if err := mgr.update(id, fmt.Sprintf("#{marker: %s}", marker)); err != nil {
			return nil, err
		}
		t1 := time.Now()
		var (
			wg   sync.WaitGroup
			at   = make([]time.Time, len(nodes))
			errs = make([]error, len(nodes))
		)
		for k, n := range nodes {
			wg.Go(func() { at[k], errs[k] = pollUntil(client, n.url+"/fn/conv", marker, 10*time.Second) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("update %d: %w", i, err)
		}
		first, last := at[0], at[0]
		for _, t := range at[1:] {
			if t.Before(first) {
				first = t
			}
			if t.After(last) {
				last = t
			}
		}
		runs = append(runs, convRun{put: t1.Sub(t0), first: first.Sub(t1), last: last.Sub(t1)})
		time.Sleep(20 * time.Millisecond) // a little apart, like edits
	}
	rs := slices.Clone(runs)
	slices.SortFunc(rs, func(a, b convRun) int { return int(a.last - b.last) })
	logf("convergence: p50 %s ms, max %s ms", ms(rs[len(rs)/2].last), ms(rs[len(rs)-1].last))
	return runs, nil
}

// pollUntil GETs url every few milliseconds until the body holds want, and
// returns when that answer arrived.
func pollUntil(client *http.Client, url, want string, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			at := time.Now()
			if resp.StatusCode == 200 && strings.Contains(string(b), want) {
				return at, nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s did not answer %s within %v (last: %s)", url, want, timeout, last)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// kv::get latency

type kvSide struct {
	name     string
	request  []time.Duration // per request, one connection
	duration []float64       // the executions' duration_ms
	node     string          // the node field of the rows (cluster side)
}

// benchKVLatency runs the kvget script o.kvRequests times on the all-in-one
// server and on one node (directly, one connection each, alternating in
// chunks so that the machine's noise hits both), then reads the executions'
// duration_ms from the logs (on the manager for the node's).
func benchKVLatency(o clusterOpts, client *http.Client, aio, mgr *picloudServer, node *proc) ([]*kvSide, error) {
	sides := []*kvSide{
		{name: "all-in-one (kv on PostgreSQL)"},
		{name: "node (kv through the manager)"},
	}
	urls := []string{aio.url + "/fn/kvget", node.url + "/fn/kvget"}
	admins := []*picloudServer{aio, mgr}
	// Warm-up: the first execution sets the key; the rest warm the caches.
	const warm = 50
	for k := range sides {
		if l := load(client, urls[k], 1, warm, nil); l.failed > 0 {
			return nil, fmt.Errorf("%s: %d of %d warm-up requests failed", urls[k], l.failed, warm)
		}
	}
	const chunk = 100
	for done := 0; done < o.kvRequests; done += chunk {
		n := min(chunk, o.kvRequests-done)
		for k, s := range sides {
			l := load(client, urls[k], 1, n, nil)
			if l.failed > 0 {
				return nil, fmt.Errorf("%s: %d of %d requests failed", urls[k], l.failed, n)
			}
			s.request = append(s.request, l.lat...)
		}
	}
	for k, s := range sides {
		id, err := admins[k].scriptID("kvget")
		if err != nil {
			return nil, err
		}
		rows, err := newestRows(admins[k], id, warm+o.kvRequests, o.kvRequests)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		for _, r := range rows {
			if r.Status != "success" {
				return nil, fmt.Errorf("%s: an execution ended %s", s.name, r.Status)
			}
			s.duration = append(s.duration, r.DurationMS)
			s.node = r.Node
		}
	}
	logf("kv::get: all-in-one p50 %s ms, node p50 %s ms", ms(pct(sides[0].request, 0.5)), ms(pct(sides[1].request, 0.5)))
	return sides, nil
}

type logRow struct {
	Status     string  `json:"status"`
	DurationMS float64 `json:"duration_ms"`
	Node       string  `json:"node"`
}

// newestRows waits until script id has total execution rows (a node's rows
// reach the store some milliseconds after their responses) and returns the
// newest n.
func newestRows(s *picloudServer, id string, total, n int) ([]logRow, error) {
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var page struct{ Items []logRow }
		if err := s.admin("GET", fmt.Sprintf("/api/scripts/%s/logs?limit=1&offset=%d", id, total-1), nil, &page); err != nil {
			return nil, err
		}
		if len(page.Items) == 1 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("script %s has fewer than %d execution rows after a minute", id, total)
		}
	}
	var rows []logRow
	for len(rows) < n {
		var page struct{ Items []logRow }
		if err := s.admin("GET", fmt.Sprintf("/api/scripts/%s/logs?limit=%d&offset=%d", id, min(200, n-len(rows)), len(rows)), nil, &page); err != nil {
			return nil, err
		}
		if len(page.Items) == 0 {
			return nil, fmt.Errorf("script %s: the logs ended at %d rows of %d", id, len(rows), n)
		}
		rows = append(rows, page.Items...)
	}
	return rows[:n], nil
}

// ---------------------------------------------------------------------------
// Output

func printCluster(w io.Writer, o clusterOpts, setups []*clusterSetup, conv []convRun, kv []*kvSide, loads string) {
	fmt.Fprintf(w, "## Cluster mode (PostgreSQL, Caddy %s), on loopback\n\n", caddyVersion(o.caddy))
	fmt.Fprintf(w, "Measured %s on %d CPUs (%s), %s; every process on the same machine; load average (1 min) %s from the first throughput round to the end.\n",
		time.Now().Format("2006-01-02"), runtime.NumCPU(), cpuModel(), runtime.Version(), loads)
	fmt.Fprintf(w, "Command: `go run . cluster %s`.\n\n", strings.Join(redactURLs(os.Args[2:]), " "))

	fmt.Fprintf(w, "### Throughput of the hello script\n\n")
	fmt.Fprintf(w, "%d interleaved rounds of %v per setup, %d keep-alive connections; a round ends when its last execution row is written", o.rounds, o.duration, o.concurrency)
	var noDrain []string
	for _, s := range setups {
		if s.noDrain {
			noDrain = append(noDrain, s.name)
		}
	}
	if len(noDrain) > 0 {
		fmt.Fprintf(w, " (except %s: no sink metric, the round ends with the load)", strings.Join(noDrain, ", "))
	}
	fmt.Fprintf(w, ". Median of the rounds (min–max).\n\n")
	var base *clusterSetup
	for _, s := range setups {
		if s.base {
			base = s
		}
	}
	fmt.Fprintln(w, "| setup | req/s | p50 ms | p99 ms | ratio to all-in-one through Caddy |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, s := range setups {
		var rps, p50, p99, ratio []float64
		for i, r := range s.rounds {
			rps = append(rps, r.rps)
			p50 = append(p50, float64(r.p50.Microseconds())/1000)
			p99 = append(p99, float64(r.p99.Microseconds())/1000)
			ratio = append(ratio, r.rps/base.rounds[i].rps) // the same round's: the same neighbours
		}
		m, lo, hi := median(rps)
		m50, _, _ := median(p50)
		m99, _, _ := median(p99)
		mr, rlo, rhi := median(ratio)
		fmt.Fprintf(w, "| %s | %.0f (%.0f–%.0f) | %.2f | %.2f | %.2f (%.2f–%.2f) |\n", s.name, m, lo, hi, m50, m99, mr, rlo, rhi)
	}

	fmt.Fprintf(w, "\nCPU time per request over the measured rounds, in µs, of each process the bench started (PostgreSQL's and the load generator's not counted); it moves much less with the machine's other load than req/s does.\n\n")
	fmt.Fprintln(w, "| setup | Caddy | all-in-one server | manager | nodes | total |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, s := range setups {
		per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 / float64(max(1, s.requests)) }
		var nodes, total time.Duration
		for name, d := range s.cpu {
			total += d
			if strings.HasPrefix(name, "node") {
				nodes += d
			}
		}
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.0f | %.0f | %.0f |\n", s.name, per(s.cpu["caddy"]), per(s.cpu["serve"]),
			per(s.cpu["manager"]), per(nodes), per(total))
	}

	fmt.Fprintf(w, "\n### Change-feed convergence\n\n")
	fmt.Fprintf(w, "`PUT /api/scripts/{id}` on the manager with a new marker, then both nodes polled directly every 2 ms until each answers it; %d updates.\n\n", len(conv))
	var put, first, last []time.Duration
	for _, c := range conv {
		put, first, last = append(put, c.put), append(first, c.first), append(last, c.last)
	}
	fmt.Fprintln(w, "| | p50 ms | p99 ms | max ms |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, row := range []struct {
		name string
		xs   []time.Duration
	}{{"the PUT's round trip", put}, {"PUT's answer → first node serves it", first}, {"PUT's answer → both nodes serve it", last}} {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", row.name, ms(pct(row.xs, 0.5)), ms(pct(row.xs, 0.99)), ms(pct(row.xs, 1)))
	}
	verdict := "met"
	if pct(last, 0.99) >= time.Second {
		verdict = "**not met**"
	}
	fmt.Fprintf(w, "\nThe aim (both nodes within 1 s at p99): %s.\n", verdict)

	fmt.Fprintf(w, "\n### kv::get latency\n\n")
	fmt.Fprintf(w, "`%s`: one kv::get per execution (the key is set by the first), %d executions per side on one connection, directly (no Caddy), alternating in chunks of 100. Request: the client's round trip; execution: the row's duration_ms.\n\n", kvGetSource, o.kvRequests)
	fmt.Fprintln(w, "| where | request p50 ms | request p99 ms | execution p50 ms | execution p99 ms |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, s := range kv {
		name := s.name
		if s.node != "" {
			name += " (rows from " + s.node + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f | %.2f |\n", name, ms(pct(s.request, 0.5)), ms(pct(s.request, 0.99)),
			pctF(s.duration, 0.5), pctF(s.duration, 0.99))
	}
	a, n := kv[0], kv[1]
	fmt.Fprintf(w, "| **added on a node** | %+.2f | %+.2f | %+.2f | %+.2f |\n",
		float64((pct(n.request, 0.5)-pct(a.request, 0.5)).Microseconds())/1000,
		float64((pct(n.request, 0.99)-pct(a.request, 0.99)).Microseconds())/1000,
		pctF(n.duration, 0.5)-pctF(a.duration, 0.5), pctF(n.duration, 0.99)-pctF(a.duration, 0.99))
}

// pct is the nearest-rank percentile (p in (0, 1]) of xs.
func pct(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[max(0, int(math.Ceil(p*float64(len(s))))-1)]
}

func pctF(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[max(0, int(math.Ceil(p*float64(len(s))))-1)]
}

func caddyVersion(caddy string) string {
	b, err := exec.Command(caddy, "version").Output()
	if err != nil {
		return "?"
	}
	v, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	return v
}

// redactURLs hides the password of a database URL in the printed command.
func redactURLs(args []string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		prefix := ""
		if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "-") {
			prefix, a = k+"=", v
		}
		if u, err := url.Parse(a); err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				out[i] = prefix + u.Redacted()
			}
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Databases and processes

// freshDatabase drops and creates database name on the server of serverURL
// (with psql) and returns its URL.
func freshDatabase(serverURL, name string) (string, error) {
	if err := dropDatabase(serverURL, name); err != nil {
		return "", err
	}
	if err := psql(serverURL, name, fmt.Sprintf(`CREATE DATABASE %q`, name)); err != nil {
		return "", err
	}
	u, _ := url.Parse(serverURL)
	u.Path = "/" + name
	return u.String(), nil
}

func dropDatabase(serverURL, name string) error {
	return psql(serverURL, name, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name))
}

// psql runs one statement on the server of serverURL, connected to its
// database unless that is the one the statement is about (then to postgres).
func psql(serverURL, about, stmt string) error {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("-database-url must be a postgres:// URL, not %q", serverURL)
	}
	if strings.TrimPrefix(u.Path, "/") == about || u.Path == "" || u.Path == "/" {
		u.Path = "/postgres"
	}
	out, err := exec.Command("psql", u.String(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", stmt).CombinedOutput()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return errors.New("psql not found: the bench creates its databases with it (Debian: apt-get install postgresql-client)")
		}
		return fmt.Errorf("psql %s: %v: %s", stmt, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// freeAddr is a loopback address with a port free at the time of the call.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a process the bench started; its output goes to a log file.
type proc struct {
	name, url, log string
	token          string // opens its /metrics
	cmd            *exec.Cmd
	done           chan struct{}
}

func startProc(name, binary string, args, env []string, logPath string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	for i, a := range args {
		if a == "--addr" && i+1 < len(args) {
			p.url = "http://" + args[i+1]
		}
	}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// tail is the last n lines of the process's output.
func (p *proc) tail(n int) string {
	f, err := os.Open(p.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, "  "+p.name+": "+sc.Text())
	}
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// healthy waits until GET base/api/health answers 200 (with status want,
// when not empty), or fails when the process exits or 30 s pass.
func healthy(base, want string) func(*proc) error {
	return func(p *proc) error {
		var last string
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			select {
			case <-p.done:
				return fmt.Errorf("exited (%v)", p.cmd.ProcessState)
			default:
			}
			resp, err := http.Get(base + "/api/health")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var h struct{ Status string }
				json.Unmarshal(b, &h)
				if resp.StatusCode == 200 && (want == "" || h.Status == want) {
					return nil
				}
				last = fmt.Sprintf("%d %s", resp.StatusCode, b)
			} else {
				last = err.Error()
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s/api/health did not answer 200 %s within 30 s (last: %s)", base, cmp.Or(want, "(any status)"), last)
			}
		}
	}
}

// waitNodesListed waits until the manager lists n nodes, all ok.
func waitNodesListed(mgr *proc, n int) error {
	s := &picloudServer{cmd: mgr.cmd, url: mgr.url}
	var last string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var list struct {
			Items []struct{ Name, Status string }
		}
		if err := s.admin("GET", "/api/nodes", nil, &list); err != nil {
			last = err.Error()
			continue
		}
		ok := 0
		for _, it := range list.Items {
			if it.Status == "ok" {
				ok++
			}
		}
		if ok == n {
			return nil
		}
		last = fmt.Sprintf("%+v", list.Items)
	}
	return fmt.Errorf("the manager did not list %d nodes ok within 30 s (last: %s)", n, last)
}

// metric reads one counter from the process's /metrics, opened by its
// token (the admin token on a server or a manager, the cluster token on a
// node).
func (p *proc) metric(name string) (float64, error) {
	req, _ := http.NewRequestWithContext(context.Background(), "GET", p.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("%s/metrics: %d %s", p.url, resp.StatusCode, bytes.TrimSpace(b))
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("%s/metrics has no %s", p.url, name)
}
