package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
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
// It reports requests per second and p50/p99 latency of both, and the ratio.
func BenchmarkServer(b *testing.B) {
	const concurrency = 16
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
			a, err := app.New(app.Config{Orchestrator: orchestrator.Config{GateWait: 2 * time.Second}}, store)
			if err != nil {
				b.Fatal(err)
			}
			a.Start(ctx)
			platform := serve(b, a.Handler())
			sc := &picloud.Script{Name: "hello", Source: `#{hello: "world", n: 42}`}
			if err := store.CreateScript(ctx, sc); err != nil {
				b.Fatal(err)
			}
			bare := serve(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"hello":"world","n":42}`))
			}))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency * 2}}
			load(b, client, bare+"/", concurrency, 500) // warm up connections
			load(b, client, platform+"/fn/hello", concurrency, 500)
			b.ResetTimer()
			bareStats := load(b, client, bare+"/", concurrency, b.N)
			platStats := load(b, client, platform+"/fn/hello", concurrency, b.N)
			b.StopTimer()
			if err := a.Stop(ctx); err != nil {
				b.Fatal(err)
			}
			n, err := store.CountExecutions(ctx, sc.ID)
			if err != nil || n != int64(b.N+500) {
				b.Fatalf("stored execution rows = %d (%v), want %d requests", n, err, b.N+500)
			}
			b.ReportMetric(bareStats.rps, "bare-req/s")
			b.ReportMetric(platStats.rps, "picloud-req/s")
			b.ReportMetric(platStats.rps/bareStats.rps, "ratio")
			b.ReportMetric(float64(bareStats.p50.Microseconds()), "bare-p50-µs")
			b.ReportMetric(float64(bareStats.p99.Microseconds()), "bare-p99-µs")
			b.ReportMetric(float64(platStats.p50.Microseconds()), "picloud-p50-µs")
			b.ReportMetric(float64(platStats.p99.Microseconds()), "picloud-p99-µs")
			b.Logf("%s: bare %.0f req/s (p50 %v, p99 %v); picloud %.0f req/s (p50 %v, p99 %v); ratio %.2f; %d rows for %d requests",
				name, bareStats.rps, bareStats.p50, bareStats.p99, platStats.rps, platStats.p50, platStats.p99,
				platStats.rps/bareStats.rps, n, b.N+500)
		})
	}
}

func serve(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

type loadStats struct {
	rps      float64
	p50, p99 time.Duration
}

// load sends n GET requests from `workers` goroutines and measures them.
func load(b *testing.B, client *http.Client, url string, workers, n int) loadStats {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
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
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failed.Load(); f > 0 {
		b.Fatalf("%s: %d of %d requests failed", url, f, n)
	}
	slices.Sort(lat)
	return loadStats{rps: float64(n) / elapsed.Seconds(), p50: lat[n/2], p99: lat[n*99/100]}
}
