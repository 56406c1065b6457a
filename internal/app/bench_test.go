package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/orchestrator"
	"github.com/picloud/picloud/internal/postgres/pgtest"
	"github.com/picloud/picloud/internal/sqlite"
)

// BenchmarkServer compares end-to-end invocations of a small script over
// loopback HTTP, with every execution logged, against a bare net/http handler
// returning the same JSON, in the same run. b.N is the number of requests
// per side; run it as
//
//	go test ./internal/app -run '^$' -bench Server -benchtime 20000x
//
// The two sides take turns in rounds (bare, PiCloud, bare, PiCloud, ...) so
// that a neighbour's load on a shared machine hits both alike. A PiCloud
// round ends when its last execution row is stored, not when its last
// response arrives, so the sink's work is inside the measured time. It
// reports requests per second and p50/p99 latency of both, the ratio, and
// the process CPU time per request of each side (client included).
func BenchmarkServer(b *testing.B) {
	const concurrency, rounds = 16, 4
	stores := map[string]func(b *testing.B) picloud.Store{
		"sqlite": func(b *testing.B) picloud.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "picloud.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
	}
	if url := os.Getenv("PICLOUD_TEST_DATABASE_URL"); url != "" {
		stores["postgres"] = func(b *testing.B) picloud.Store { return pgtest.Open(b, url) }
	}
	for _, name := range []string{"sqlite", "postgres"} {
		open, ok := stores[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			store := open(b)
			ctx := context.Background()
			manager.EnsureAdminToken(ctx, store, testToken)
			// As `picloud serve` runs by default: requests wait up to 2 s for a slot.
			// The journal on files, as `picloud serve` keeps it in its data directory.
			cfg := app.Config{Orchestrator: orchestrator.Config{GateWait: 2 * time.Second}}
			cfg.Sink.Dir = filepath.Join(b.TempDir(), "journal")
			a, err := app.New(cfg, store)
			if err != nil {
				b.Fatal(err)
			}
			// pprof labels (inherited by the goroutines each side starts) split
			// a -cpuprofile into side=picloud, side=bare and side=sink.
			pprof.Do(ctx, pprof.Labels("side", "sink"), func(ctx context.Context) { a.Start(ctx) })
			platform := serve(b, "picloud", a.Handler())
			sc := &picloud.Script{Name: "hello", Source: `#{hello: "world", n: 42}`}
			if err := store.CreateScript(ctx, sc); err != nil {
				b.Fatal(err)
			}
			bare := serve(b, "bare", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"hello":"world","n":42}`))
			}))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency * 2}}
			sent := 0
			stored := func() { // waits until every execution sent so far is stored
				for {
					n, err := store.CountExecutions(ctx, sc.ID)
					if err != nil {
						b.Fatal(err)
					}
					if n >= int64(sent) {
						return
					}
					time.Sleep(time.Millisecond)
				}
			}
			load(b, client, bare+"/", concurrency, 500, nil) // warm up connections
			load(b, client, platform+"/fn/hello", concurrency, 500, nil)
			sent += 500
			stored()
			b.ResetTimer()
			var bareStats, platStats loadStats
			for r := range rounds {
				n := b.N/rounds + btoi(r < b.N%rounds) // b.N spread over the rounds
				bareStats.add(load(b, client, bare+"/", concurrency, n, nil))
				sent += n
				platStats.add(load(b, client, platform+"/fn/hello", concurrency, n, stored))
			}
			b.StopTimer()
			if err := a.Stop(ctx); err != nil {
				b.Fatal(err)
			}
			n, err := store.CountExecutions(ctx, sc.ID)
			if err != nil || n != int64(sent) {
				b.Fatalf("stored execution rows = %d (%v), want %d requests", n, err, sent)
			}
			bs, ps := bareStats.summary(), platStats.summary()
			b.ReportMetric(bs.rps, "bare-req/s")
			b.ReportMetric(ps.rps, "picloud-req/s")
			b.ReportMetric(ps.rps/bs.rps, "ratio")
			b.ReportMetric(float64(bs.p50.Microseconds()), "bare-p50-µs")
			b.ReportMetric(float64(bs.p99.Microseconds()), "bare-p99-µs")
			b.ReportMetric(float64(ps.p50.Microseconds()), "picloud-p50-µs")
			b.ReportMetric(float64(ps.p99.Microseconds()), "picloud-p99-µs")
			b.ReportMetric(bs.cpuPerReq, "bare-cpu-µs/req")
			b.ReportMetric(ps.cpuPerReq, "picloud-cpu-µs/req")
			b.Logf("%s: bare %.0f req/s (p50 %v, p99 %v, %.0f µs CPU/req); picloud %.0f req/s (p50 %v, p99 %v, %.0f µs CPU/req); ratio %.2f; %d rows for %d requests",
				name, bs.rps, bs.p50, bs.p99, bs.cpuPerReq, ps.rps, ps.p50, ps.p99, ps.cpuPerReq,
				ps.rps/bs.rps, n, sent)
		})
	}
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

func serve(b *testing.B, side string, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	pprof.Do(context.Background(), pprof.Labels("side", side), func(context.Context) { go srv.Serve(ln) })
	b.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// loadStats accumulates rounds of one side.
type loadStats struct {
	lat     []time.Duration
	elapsed time.Duration
	cpu     time.Duration // process CPU time (user + system)
}

func (s *loadStats) add(r loadStats) {
	s.lat = append(s.lat, r.lat...)
	s.elapsed += r.elapsed
	s.cpu += r.cpu
}

type loadSummary struct {
	rps       float64
	p50, p99  time.Duration
	cpuPerReq float64 // µs
}

func (s *loadStats) summary() loadSummary {
	n := len(s.lat)
	slices.Sort(s.lat)
	return loadSummary{rps: float64(n) / s.elapsed.Seconds(), p50: s.lat[n/2], p99: s.lat[n*99/100],
		cpuPerReq: float64(s.cpu.Microseconds()) / float64(n)}
}

// processCPU is the CPU time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// load sends n GET requests from `workers` goroutines and measures them. When
// done is not nil, the round lasts until it returns.
func load(b *testing.B, client *http.Client, url string, workers, n int, done func()) loadStats {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	side := "bare"
	if strings.Contains(url, "/fn/") {
		side = "picloud"
	}
	cpu0, start := processCPU(), time.Now()
	for range workers {
		wg.Add(1)
		go pprof.Do(context.Background(), pprof.Labels("side", side+"-client"), func(context.Context) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	if done != nil {
		done()
	}
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	if f := failed.Load(); f > 0 {
		b.Fatalf("%s: %d of %d requests failed", url, f, n)
	}
	return loadStats{lat: lat, elapsed: elapsed, cpu: cpu}
}
