package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/sqlite"
)

// BenchmarkHandler is the platform's own cost of one invocation with the
// audit log on, without the network: the handler called directly, the sink
// writing to SQLite (flushed inside the timed part). "memory" keeps the
// journal in memory (what app.Config{} without a directory does); "journal"
// writes it to files as `picloud serve` does, fsynced every ~100 ms.
func BenchmarkHandler(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchmarkHandler(b, false) })
	b.Run("journal", func(b *testing.B) { benchmarkHandler(b, true) })
}

func benchmarkHandler(b *testing.B, journal bool) {
	ctx := context.Background()
	dir := b.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "picloud.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	var cfg app.Config
	if journal {
		cfg.Sink.Dir = filepath.Join(dir, "journal")
	}
	a, err := app.New(cfg, store)
	if err != nil {
		b.Fatal(err)
	}
	a.Start(ctx)
	if err := store.CreateScript(ctx, &picloud.Script{Name: "hello", Source: `#{hello: "world", n: 42}`}); err != nil {
		b.Fatal(err)
	}
	h := a.Handler()
	req := httptest.NewRequest("GET", "/fn/hello", nil)
	req.Header.Set("User-Agent", "Go-http-client/1.1")
	req.Header.Set("Accept-Encoding", "gzip")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, req)
			if w.status != 200 {
				b.Fatalf("status %d", w.status)
			}
		}
	})
	if err := a.Stop(ctx); err != nil {
		b.Fatal(err)
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int)   { w.status = s }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return len(p), nil
}
