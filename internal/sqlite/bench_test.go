package sqlite_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/sqlite"
)

// helloRow is the row the server benchmark's hello script leaves: an HTTP GET
// from Go's client, a small JSON answer.
func helloRow(scriptID string, at time.Time) *picloud.ExecutionLog {
	return &picloud.ExecutionLog{
		ID: uuid.Must(uuid.NewV7()).String(), ScriptID: scriptID, ScriptVersion: 1,
		Trigger: picloud.TriggerHTTP, Status: picloud.StatusSuccess, StartedAt: picloud.Time{Time: at},
		DurationMS: 0.031, Operations: 4,
		Request: &picloud.RequestRecord{Method: "GET", Path: "/fn/hello", Query: map[string]string{},
			Headers: map[string]string{"Accept-Encoding": "gzip", "User-Agent": "Go-http-client/1.1"}},
		Response: &picloud.ResponseRecord{Status: 200, Headers: map[string]string{"Content-Type": "application/json"},
			Body: `{"hello":"world","n":42}`, BodySize: 24},
		Logs: []picloud.LogLine{}, Outbound: []picloud.OutboundCall{},
	}
}

// BenchmarkInsertExecutions stores hello rows in batches of 100 (what the
// sink's 10 ms linger gathers at about 10,000 requests a second) into a
// fresh database; ns/row is the store's cost of one row, the sink's share of
// a request, and cpu-ns/row the process's CPU time for it (which a busy
// machine moves less).
//
//	go test ./internal/sqlite -run '^$' -bench InsertExecutions -benchtime 200000x -count 10
func BenchmarkInsertExecutions(b *testing.B) {
	const batch = 100
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "picloud.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	scripts := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	rows := make([]*picloud.ExecutionLog, b.N)
	at := time.Now()
	for i := range rows {
		rows[i] = helloRow(scripts[i%len(scripts)], at.Add(time.Duration(i)*time.Microsecond))
	}
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < len(rows); i += batch {
		if err := s.InsertExecutions(ctx, rows[i:min(i+batch, len(rows))]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/row")
	if n, err := s.CountExecutions(ctx, ""); err != nil || n != int64(b.N) {
		b.Fatalf("%d rows stored (%v), want %d", n, err, b.N)
	}
}

// processCPU is the CPU time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
