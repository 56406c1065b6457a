package app_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/postgres/pgtest"
	"github.com/picloud/picloud/internal/sqlite"
)

// BenchmarkAuditedWrite measures what the audit trail adds to an
// administrative write: PUT /api/scripts/{id}/kv/{key} through the handler
// (no network), its event recorded ("recorded") or refused at once by the
// store ("not-recorded": the write, the middleware and the failure path,
// without the insert). Run it as
//
//	go test ./internal/app -run '^$' -bench AuditedWrite -count 6
func BenchmarkAuditedWrite(b *testing.B) {
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
		for _, side := range []string{"recorded", "not-recorded"} {
			b.Run(name+"/"+side, func(b *testing.B) {
				store := open(b)
				if side == "not-recorded" {
					store = failingAudit{store}
				}
				ctx := context.Background()
				if _, err := manager.EnsureAdminToken(ctx, store, testToken); err != nil {
					b.Fatal(err)
				}
				a, err := app.New(app.Config{}, store)
				if err != nil {
					b.Fatal(err)
				}
				a.Start(ctx)
				b.Cleanup(func() { a.Stop(context.Background()) })
				h := a.Handler()
				send := func(method, path string, body []byte) int {
					req := httptest.NewRequest(method, path, bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+testToken)
					req.Header.Set("Content-Type", "application/json")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					return w.Code
				}
				if code := send("POST", "/api/scripts", []byte(`{"name": "bench", "source": "1"}`)); code != http.StatusCreated {
					b.Fatalf("create: %d", code)
				}
				body := []byte(`{"value": {"n": 1}}`)
				b.ResetTimer()
				for range b.N {
					if code := send("PUT", "/api/scripts/bench/kv/k", body); code != http.StatusOK {
						b.Fatalf("kv put: %d", code)
					}
				}
			})
		}
	}
}
