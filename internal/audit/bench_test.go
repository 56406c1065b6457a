package audit_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/audit"
	"github.com/picloud/picloud/internal/sqlite"
)

// BenchmarkRecord records rows from 16 goroutines (a server's concurrent
// requests) into a real SQLite store: in memory (no journal), and through the
// journal with each sync policy. ns/op covers Record and the final Stop, so
// every row is in the database; record-ns/op is the Record phase alone, what
// a request waits for.
//
//	go test -run '^$' -bench Record -benchtime 20000x ./internal/audit/
func BenchmarkRecord(b *testing.B) {
	for _, c := range []struct{ name, dir, sync string }{
		{"memory", "", ""}, {"interval", "journal", "interval"}, {"always", "journal", "always"},
	} {
		b.Run(c.name, func(b *testing.B) {
			tmp := b.TempDir()
			store, err := sqlite.Open(context.Background(), filepath.Join(tmp, "picloud.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			cfg := audit.Config{Sync: c.sync}
			if c.dir != "" {
				cfg.Dir = filepath.Join(tmp, c.dir)
			}
			s, err := audit.New(store, cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0))) // 16 goroutines
			b.ResetTimer()
			t0 := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					l := execLog(int(n.Add(1)))
					l.ID = fmt.Sprintf("%s-%d", l.ID, time.Now().UnixNano())
					if err := s.Record(context.Background(), l); err != nil {
						b.Error(err)
						return
					}
				}
			})
			recording := time.Since(t0)
			if err := s.Stop(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(recording.Nanoseconds())/float64(b.N), "record-ns/op")
			if got, _ := store.CountExecutions(context.Background(), "script"); got != int64(b.N) {
				b.Fatalf("%d rows stored, want %d", got, b.N)
			}
		})
	}
}
