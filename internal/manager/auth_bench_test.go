package manager_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/sqlite"
)

// BenchmarkAdminAuth measures what authentication adds to an admin request
// (a handler that does nothing), with the token and with a session cookie,
// and with a named API token, all answered from memory, beside the store read each request made before
// the cache.
func BenchmarkAdminAuth(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "picloud.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := manager.EnsureAdminToken(ctx, s, adminToken); err != nil {
		b.Fatal(err)
	}
	named := manager.NewToken()
	if err := s.CreateAPIToken(ctx, &picloud.APIToken{Name: "reader", Scopes: []string{"read"}, Prefix: named[:12], Hash: manager.HashToken(named)}); err != nil {
		b.Fatal(err)
	}
	m := manager.New(manager.Config{Store: s})
	h := m.Require("read", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	rec := httptest.NewRecorder()
	m.HandleCreateSession(rec, httptest.NewRequest("POST", "/api/session", strings.NewReader(`{"token":"`+adminToken+`"}`)))
	var cookie string
	for _, c := range rec.Result().Cookies() {
		cookie = c.Value
	}
	for _, bc := range []struct{ name, header, value string }{
		{"bearer", "Authorization", "Bearer " + adminToken},
		{"session", "Cookie", manager.SessionCookie + "=" + cookie},
		{"named-bearer", "Authorization", "Bearer " + named},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/thing", nil)
			req.Header.Set(bc.header, bc.value)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h(w, req)
				if w.Code != http.StatusNoContent {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
	b.Run("store-read", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.AdminTokenHash(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
