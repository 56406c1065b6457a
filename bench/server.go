package main

// `go run . server` measures PiCloud the way users run it: it builds
// cmd/picloud, starts `picloud serve` on a fresh data directory (SQLite, or
// PostgreSQL with -database-url) and drives it over loopback HTTP:
//
//   - end to end: a small script with the audit log on against a bare net/http
//     handler returning the same JSON, in a process of its own as picloud
//     serve is (-bare-in-process: in the load generator's), in alternating
//     rounds of the same run; a PiCloud round ends when its last execution row is
//     written (picloud_sink_written_total), and afterwards the stored rows
//     must equal the requests sent;
//   - neighbours: the hello script's latency alone, next to a CPU-heavy
//     script, and next to a hostile one (an endless loop that runs into its
//     operation budget);
//   - cold start: from the PUT of a new version to its first response.

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const benchToken = "bench-admin-token-0123456789" // serve refuses tokens under 24 characters

type serverOpts struct {
	binary      string
	databaseURL string
	requests    int
	rounds      int
	concurrency int
	runs        int
	neighbours  int
	neighbourN  int
	coldRuns    int
	journalSync string
	moduleN     int
	bareInProc  bool
}

// runServer is the `server` subcommand.
func runServer(args []string) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	var o serverOpts
	fs.StringVar(&o.binary, "picloud", "", "a built picloud binary (default: build ../cmd/picloud)")
	fs.StringVar(&o.databaseURL, "database-url", os.Getenv("PICLOUD_BENCH_DATABASE_URL"), "postgres://... to run on PostgreSQL (PICLOUD_BENCH_DATABASE_URL); the executions table is emptied first")
	fs.IntVar(&o.requests, "requests", 20000, "requests per side in the end-to-end comparison")
	fs.IntVar(&o.rounds, "rounds", 4, "alternating rounds the requests are split into")
	fs.IntVar(&o.concurrency, "concurrency", 16, "concurrent keep-alive connections")
	fs.IntVar(&o.runs, "runs", 3, "repetitions of the end-to-end comparison (median and spread)")
	fs.IntVar(&o.neighbours, "neighbours", 2, "concurrent callers of the heavy or hostile script")
	fs.IntVar(&o.neighbourN, "neighbour-requests", 5000, "hello requests measured in each neighbour scenario")
	fs.IntVar(&o.moduleN, "module-requests", 3000, "requests measured for each host module's workload")
	fs.IntVar(&o.coldRuns, "cold-runs", 20, "PUT-then-invoke measurements for cold start")
	fs.StringVar(&o.journalSync, "journal-sync", "", "picloud serve's --journal-sync: interval or always (default: the server's, interval)")
	fs.BoolVar(&o.bareInProc, "bare-in-process", false, "serve the bare handler from the load generator's process (the comparison before 2026-12-06's session 21), not from a process of its own")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := benchServer(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		return 1
	}
	return 0
}

func benchServer(o serverOpts, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "picloud-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.binary == "" {
		o.binary = filepath.Join(tmp, "picloud")
		logf("building ../cmd/picloud")
		build := exec.Command("go", "build", "-o", o.binary, "./cmd/picloud")
		build.Dir, build.Stdout, build.Stderr = "..", os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	srv, err := startPiCloud(o, tmp)
	if err != nil {
		return err
	}
	defer srv.stop()
	store := "SQLite"
	if o.databaseURL != "" {
		store = "PostgreSQL"
	}
	if o.journalSync != "" {
		store += ", --journal-sync " + o.journalSync
	}

	bare := startBare() // the upstream of the http-get workload; the in-process bare side
	defer bare.Close()
	bareAddr, barePid := bare.Addr().String(), 0
	if !o.bareInProc {
		bp, err := startBareProcess()
		if err != nil {
			return err
		}
		defer bp.stop()
		bareAddr, barePid = bp.addr, bp.cmd.Process.Pid
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * o.concurrency, MaxIdleConns: 16 * o.concurrency}}
	hello, err := srv.deploy("hello", `#{hello: "world", n: 42}`, 0)
	if err != nil {
		return err
	}
	// A CPU-heavy neighbour (tens of milliseconds of work) and a hostile one:
	// an endless loop stopped by its operation budget (1,000,000 operations).
	if _, err := srv.deploy("heavy", "let s = 0; for i in 0..300000 { s += i % 7; } #{sum: s}", 0); err != nil {
		return err
	}
	if _, err := srv.deploy("hostile", "let n = 0; loop { n += 1; }", 1_000_000); err != nil {
		return err
	}

	// End to end.
	helloURL, bareURL := srv.url+"/fn/hello", "http://"+bareAddr+"/"
	load(client, bareURL, o.concurrency, 500, nil)
	load(client, helloURL, o.concurrency, 500, nil)
	sent := 500
	drain := func() error { return srv.waitWritten(sent) }
	if err := drain(); err != nil {
		return err
	}
	var e2e []e2eRun
	// CPU time per request of each side, which a busy machine moves much
	// less than req/s: a bare round's is the bench process's (load
	// generator, and the bare handler with -bare-in-process) plus the bare
	// server process's, a PiCloud round's the bench process's (load
	// generator) plus picloud serve's (handler and sink; a PostgreSQL
	// server's own is not counted).
	self, server := os.Getpid(), srv.cmd.Process.Pid
	for run := range o.runs {
		var b, p latencies
		var cpu e2eCPU
		for r := range o.rounds {
			n := o.requests/o.rounds + btoi(r < o.requests%o.rounds)
			c0, _ := cpuTime(self)
			bs0 := bareCPU(barePid)
			b.add(load(client, bareURL, o.concurrency, n, nil))
			c1, _ := cpuTime(self)
			bs1 := bareCPU(barePid)
			s1, _ := cpuTime(server)
			sent += n
			p.add(load(client, helloURL, o.concurrency, n, drain))
			c2, _ := cpuTime(self)
			s2, _ := cpuTime(server)
			cpu.bare += c1 - c0
			cpu.bareServer += bs1 - bs0
			cpu.client += c2 - c1
			cpu.server += s2 - s1
			cpu.n += n
		}
		rows, err := srv.rows(hello, sent)
		if err != nil {
			return err
		}
		e2e = append(e2e, e2eRun{bare: b.summary(), picloud: p.summary(), rowsOK: rows, cpu: cpu})
		logf("end to end run %d: ratio %.2f, CPU ratio %.2f", run+1, e2e[run].picloud.rps/e2e[run].bare.rps, cpu.ratio())
	}

	// Neighbours.
	var nb []*neighbourRun
	for _, sc := range []struct{ name, url string }{{"alone", ""}, {"heavy", srv.url + "/fn/heavy"}, {"hostile", srv.url + "/fn/hostile"}} {
		r := &neighbourRun{name: sc.name}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var statuses sync.Map
		if sc.url != "" {
			for range o.neighbours {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						t0 := time.Now()
						resp, err := client.Get(sc.url)
						if err != nil {
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						v, _ := statuses.LoadOrStore(resp.StatusCode, new(atomic.Int64))
						v.(*atomic.Int64).Add(1)
						r.addNeighbour(time.Since(t0))
					}
				})
			}
			time.Sleep(200 * time.Millisecond) // let the neighbours get going
		}
		var l latencies
		l.add(load(client, helloURL, o.concurrency/2, o.neighbourN, nil))
		close(stop)
		wg.Wait()
		r.hello = l.summary()
		statuses.Range(func(k, v any) bool {
			r.statuses = append(r.statuses, fmt.Sprintf("%d×%d", v.(*atomic.Int64).Load(), k))
			return true
		})
		slices.Sort(r.statuses)
		nb = append(nb, r)
		logf("neighbours %s: hello p99 %v", sc.name, r.hello.p99)
	}

	// Cold start: a new version, then the first request that runs it.
	var cold []coldRun
	for i := range o.coldRuns {
		src := fmt.Sprintf("#{hello: \"world\", n: 42, version: %d}", i+2)
		t0 := time.Now()
		if err := srv.update(hello, src); err != nil {
			return err
		}
		t1 := time.Now()
		want := fmt.Sprintf(`"version":%d`, i+2)
		for {
			resp, err := client.Get(helloURL)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), want) {
				break
			}
		}
		t2 := time.Now()
		cold = append(cold, coldRun{put: t1.Sub(t0), first: t2.Sub(t1), total: t2.Sub(t0)})
	}
	warm := load(client, helloURL, 1, 200, nil)

	mods, err := benchModules(o, srv, client, bare.Addr().String())
	if err != nil {
		return err
	}
	printServer(out, o, store, e2e, nb, cold, warm)
	printModules(out, o, mods)
	return nil
}

// moduleRun is one host module's workload measured end to end.
type moduleRun struct {
	name, what string
	lat        summary
}

// moduleWorkloads are each host module's hot path as a script (Step 8): the
// same work as internal/executor's BenchmarkKV, BenchmarkWebhookVerifyGitHub
// and BenchmarkHTTPGet, here through the real server and its audit log.
var moduleWorkloads = []struct{ name, what, source string }{
	{"hello", "the hello script, for scale", `#{hello: "world", n: 42}`},
	{"kv-get", "kv::get of a small map", `let v = kv::get("k"); if v == () { kv::set("k", #{hello: "world", n: 42}); } v ?? #{}`},
	{"kv-set", "kv::set of a small map", `kv::set("k", #{hello: "world", n: 42}); "ok"`},
	{"kv-incr", "kv::incr of a counter", `kv::incr("n", 1)`},
	{"hmac", "an HMAC-SHA256 signature check of a 1 KiB body", `let body = "x"; body.pad(1024, "y");
let sig = crypto::hmac_sha256("bench-secret", body);
crypto::equal(sig, crypto::hmac_sha256("bench-secret", body))`},
	{"http-get", "http::get of a small JSON document on loopback", `http::get(request.query.url).json`},
}

func benchModules(o serverOpts, srv *picloudServer, client *http.Client, upstream string) ([]moduleRun, error) {
	var runs []moduleRun
	for _, w := range moduleWorkloads {
		name := "mod-" + w.name
		in := map[string]any{"name": name, "source": w.source, "egress_allow": upstream}
		var sc struct{ ID string }
		if err := srv.admin("POST", "/api/scripts", in, &sc); err != nil {
			return nil, fmt.Errorf("deploy %s: %w", name, err)
		}
		url := srv.url + "/fn/" + name + "?url=http://" + upstream + "/"
		load(client, url, o.concurrency, 200, nil) // warm up
		l := load(client, url, o.concurrency, o.moduleN, nil)
		if l.failed > 0 {
			return nil, fmt.Errorf("%s: %d of %d requests failed", name, l.failed, o.moduleN)
		}
		runs = append(runs, moduleRun{name: w.name, what: w.what, lat: l.summary()})
		logf("module %s: %.0f req/s", w.name, l.summary().rps)
	}
	return runs, nil
}

func printModules(w io.Writer, o serverOpts, runs []moduleRun) {
	fmt.Fprintf(w, "\n### Host modules\n\n")
	fmt.Fprintf(w, "Each module's hot path as a script, %d requests over %d keep-alive connections, every execution logged.\n\n",
		o.moduleN, o.concurrency)
	fmt.Fprintln(w, "| workload | what | req/s | p50 ms | p99 ms |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range runs {
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s |\n", r.name, r.what, r.lat.rps, ms(r.lat.p50), ms(r.lat.p99))
	}
}

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// picloudServer is a running `picloud serve`.
type picloudServer struct {
	cmd *exec.Cmd
	url string
}

func startPiCloud(o serverOpts, tmp string) (*picloudServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"serve", "--addr", addr, "--data-dir", filepath.Join(tmp, "data"), "--log-level", "warn",
		"--retention-max-rows", "0", "--retention-max-age", "0"}
	if o.databaseURL != "" {
		args = append(args, "--database-url", o.databaseURL)
	}
	if o.journalSync != "" {
		args = append(args, "--journal-sync", o.journalSync)
	}
	cmd := exec.Command(o.binary, args...)
	cmd.Env = append(os.Environ(), "PICLOUD_ADMIN_TOKEN="+benchToken)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &picloudServer{cmd: cmd, url: "http://" + addr}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get(s.url + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("picloud serve did not answer /api/health: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if o.databaseURL != "" { // start from an empty audit trail: the row check counts them
		names := []string{"hello", "heavy", "hostile", "cold"}
		for _, w := range moduleWorkloads {
			names = append(names, "mod-"+w.name) // a second run would find them taken
		}
		for _, name := range names {
			if id, err := s.scriptID(name); err == nil && id != "" {
				s.admin("DELETE", "/api/scripts/"+id, nil, nil)
			}
		}
	}
	return s, nil
}

func (s *picloudServer) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
	}
}

func (s *picloudServer) admin(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, body)
	req.Header.Set("Authorization", "Bearer "+benchToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (s *picloudServer) scriptID(name string) (string, error) {
	var list struct{ Items []struct{ ID string } }
	if err := s.admin("GET", "/api/scripts?name="+name, nil, &list); err != nil || len(list.Items) == 0 {
		return "", err
	}
	return list.Items[0].ID, nil
}

func (s *picloudServer) deploy(name, source string, maxOps int) (string, error) {
	in := map[string]any{"name": name, "source": source}
	if maxOps > 0 {
		in["max_operations"] = maxOps
	}
	var sc struct{ ID string }
	err := s.admin("POST", "/api/scripts", in, &sc)
	return sc.ID, err
}

func (s *picloudServer) update(id, source string) error {
	return s.admin("PUT", "/api/scripts/"+id, map[string]any{"source": source}, nil)
}

// waitWritten waits until the sink has written n execution rows.
func (s *picloudServer) waitWritten(n int) error {
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		req, _ := http.NewRequest("GET", s.url+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+benchToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "picloud_sink_written_total "); ok {
				if f, _ := strconv.ParseFloat(v, 64); int(f) >= n {
					return nil
				}
			}
		}
	}
	return fmt.Errorf("the sink did not write %d rows within a minute", n)
}

// rows reports whether script id has exactly n stored execution rows: the
// logs endpoint has one at offset n-1 and none at offset n.
func (s *picloudServer) rows(id string, n int) (bool, error) {
	var page struct{ Items []json.RawMessage }
	if err := s.admin("GET", fmt.Sprintf("/api/scripts/%s/logs?limit=1&offset=%d", id, n-1), nil, &page); err != nil {
		return false, err
	}
	last := len(page.Items)
	if err := s.admin("GET", fmt.Sprintf("/api/scripts/%s/logs?limit=1&offset=%d", id, n), nil, &page); err != nil {
		return false, err
	}
	return last == 1 && len(page.Items) == 0, nil
}

// bareHandler is the bare side: net/http answering the hello script's JSON.
var bareHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"hello":"world","n":42}`))
})

func startBare() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go http.Serve(ln, bareHandler)
	return ln
}

// runBareServer is the hidden `bare-server` subcommand: the bare handler in
// a process of its own, as picloud serve is one, so that both sides pay the
// same hand-offs between processes (a load generator and a handler in one
// Go process pass a request between goroutines, not between processes). It
// prints its address and serves until its standard input closes.
func runBareServer() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare-server:", err)
		return 1
	}
	fmt.Println(ln.Addr().String())
	go http.Serve(ln, bareHandler)
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// bareProcess is a running `bench bare-server`.
type bareProcess struct {
	cmd   *exec.Cmd
	stdin io.Closer
	addr  string
}

func startBareProcess() (*bareProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "bare-server")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line := make([]byte, 0, 64)
	for b := make([]byte, 1); ; {
		if _, err := out.Read(b); err != nil {
			in.Close()
			cmd.Wait()
			return nil, fmt.Errorf("bare-server: no address: %w", err)
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	return &bareProcess{cmd: cmd, stdin: in, addr: string(line)}, nil
}

func (p *bareProcess) stop() {
	p.stdin.Close()
	p.cmd.Wait()
}

// bareCPU is the bare server process's CPU time (0 without one).
func bareCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	c, _ := cpuTime(pid)
	return c
}

// latencies accumulates rounds of one side.
type latencies struct {
	lat     []time.Duration
	elapsed time.Duration
	failed  int
}

func (l *latencies) add(r latencies) {
	l.lat = append(l.lat, r.lat...)
	l.elapsed += r.elapsed
	l.failed += r.failed
}

type summary struct {
	n             int
	rps           float64
	p50, p99, max time.Duration
	failed        int
}

func (l *latencies) summary() summary {
	slices.Sort(l.lat)
	n := len(l.lat)
	if n == 0 {
		return summary{failed: l.failed}
	}
	return summary{n: n, rps: float64(n) / l.elapsed.Seconds(), p50: l.lat[n/2], p99: l.lat[n*99/100], max: l.lat[n-1], failed: l.failed}
}

// load sends n GET requests from workers goroutines. When done is not nil,
// the measured time lasts until it returns.
func load(client *http.Client, url string, workers, n int, done func() error) latencies {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range max(1, workers) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				resp, err := client.Get(url)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				lat[i] = time.Since(t0)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if done != nil {
		if err := done(); err != nil {
			logf("%v", err)
		}
	}
	return latencies{lat: lat, elapsed: time.Since(start), failed: int(failed.Load())}
}

type e2eRun struct {
	bare, picloud summary
	rowsOK        bool
	cpu           e2eCPU
}

// e2eCPU is the CPU time a run's rounds took: bare (the load generator's
// process: with -bare-in-process the bare handler's too) and bareServer
// (the bare server process's), and for PiCloud the load generator's
// (client) and picloud serve's (server), over n requests a side.
type e2eCPU struct {
	bare, bareServer, client, server time.Duration
	n                                int
}

func (c e2eCPU) perReq(d time.Duration) float64 {
	return float64(d.Microseconds()) / float64(max(c.n, 1))
}

// ratio is bare's CPU per request over PiCloud's (client and server): the
// throughput ratio the two sides would have on otherwise idle cores.
func (c e2eCPU) ratio() float64 {
	return c.perReq(c.bare+c.bareServer) / max(c.perReq(c.client+c.server), 1e-9)
}

type neighbourRun struct {
	name     string
	hello    summary
	mu       sync.Mutex
	nlat     []time.Duration
	statuses []string
}

func (r *neighbourRun) addNeighbour(d time.Duration) {
	r.mu.Lock()
	r.nlat = append(r.nlat, d)
	r.mu.Unlock()
}

type coldRun struct{ put, first, total time.Duration }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func median(xs []float64) (med, lo, hi float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2], s[0], s[len(s)-1]
}

func printServer(w io.Writer, o serverOpts, store string, e2e []e2eRun, nb []*neighbourRun, cold []coldRun, warm latencies) {
	fmt.Fprintf(w, "## PiCloud server (%s), `picloud serve` over loopback\n\n", store)
	fmt.Fprintf(w, "%d requests per side per run in %d alternating rounds, %d keep-alive connections, %d runs.\n\n",
		o.requests, o.rounds, o.concurrency, o.runs)
	fmt.Fprintln(w, "| run | bare req/s | bare p50 / p99 ms | PiCloud req/s | PiCloud p50 / p99 ms | ratio | rows = requests |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	var ratios, prps []float64
	for i, r := range e2e {
		ratio := r.picloud.rps / r.bare.rps
		ratios, prps = append(ratios, ratio), append(prps, r.picloud.rps)
		ok := "yes"
		if !r.rowsOK {
			ok = "**no**"
		}
		if r.bare.failed+r.picloud.failed > 0 {
			ok += fmt.Sprintf(" (%d failed requests)", r.bare.failed+r.picloud.failed)
		}
		fmt.Fprintf(w, "| %d | %.0f | %s / %s | %.0f | %s / %s | %.2f | %s |\n", i+1, r.bare.rps, ms(r.bare.p50), ms(r.bare.p99),
			r.picloud.rps, ms(r.picloud.p50), ms(r.picloud.p99), ratio, ok)
	}
	m, lo, hi := median(ratios)
	pm, plo, phi := median(prps)
	fmt.Fprintf(w, "\nRatio: median **%.2f** (%.2f–%.2f); PiCloud %.0f req/s (%.0f–%.0f).\n\n", m, lo, hi, pm, plo, phi)

	bareWhere := "the bare server's own process (handler)"
	if o.bareInProc {
		bareWhere = "the bench process (the bare handler runs in it, -bare-in-process)"
	}
	fmt.Fprintf(w, "CPU time per request, µs (a busy machine moves it much less than req/s): bare is the bench process (load generator) plus %s during the bare rounds; PiCloud is the bench process (load generator) plus `picloud serve` (handler and sink) during the PiCloud rounds%s. The CPU ratio is the throughput ratio the sides would have on otherwise idle cores.\n\n",
		bareWhere, map[bool]string{true: "; PostgreSQL's own CPU is not counted", false: ""}[o.databaseURL != ""])
	fmt.Fprintln(w, "| run | bare client | bare server | bare total | PiCloud client | PiCloud server | PiCloud total | CPU ratio |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	var cratios []float64
	for i, r := range e2e {
		c := r.cpu
		cratios = append(cratios, c.ratio())
		fmt.Fprintf(w, "| %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f |\n", i+1, c.perReq(c.bare), c.perReq(c.bareServer), c.perReq(c.bare+c.bareServer),
			c.perReq(c.client), c.perReq(c.server), c.perReq(c.client+c.server), c.ratio())
	}
	cm, clo, chi := median(cratios)
	fmt.Fprintf(w, "\nCPU ratio: median **%.2f** (%.2f–%.2f).\n\n", cm, clo, chi)

	fmt.Fprintf(w, "### A misbehaving neighbour\n\n")
	fmt.Fprintf(w, "The hello script under %d connections, alone and while %d callers loop on `heavy` (a 300,000-iteration loop) or `hostile` (`loop {}` with max_operations 1,000,000).\n\n",
		max(1, o.concurrency/2), o.neighbours)
	fmt.Fprintln(w, "| neighbour | hello req/s | hello p50 ms | hello p99 ms | p99 vs alone | neighbour calls (count×status) | neighbour p50 ms |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range nb {
		np50 := "–"
		if len(r.nlat) > 0 {
			slices.Sort(r.nlat)
			np50 = ms(r.nlat[len(r.nlat)/2])
		}
		st := strings.Join(r.statuses, ", ")
		if st == "" {
			st = "–"
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %.1f× | %s | %s |\n", r.name, r.hello.rps, ms(r.hello.p50), ms(r.hello.p99),
			float64(r.hello.p99)/float64(nb[0].hello.p99), st, np50)
	}

	fmt.Fprintf(w, "\n### Cold start\n\n")
	fmt.Fprintf(w, "`PUT /api/scripts/{id}` with a new source, then `GET /fn/hello` until the new version answers; %d times.\n\n", len(cold))
	var put, first, total []float64
	for _, c := range cold {
		put = append(put, float64(c.put.Microseconds())/1000)
		first = append(first, float64(c.first.Microseconds())/1000)
		total = append(total, float64(c.total.Microseconds())/1000)
	}
	ws := warm.summary()
	fmt.Fprintln(w, "| | median ms | min–max ms |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, row := range []struct {
		name string
		xs   []float64
	}{{"PUT (new version stored)", put}, {"first response of the new version", first}, {"PUT to first response", total}} {
		m, lo, hi := median(row.xs)
		fmt.Fprintf(w, "| %s | %.2f | %.2f–%.2f |\n", row.name, m, lo, hi)
	}
	fmt.Fprintf(w, "| a warm request, for comparison (one connection) | %s | p99 %s |\n", ms(ws.p50), ms(ws.p99))
}
