package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/postgres/pgtest"
	"github.com/picloud/picloud/internal/sqlite"
)

const testToken = "test-token-0123456789abcdef" // at least 24 characters, as serve requires

// forEachStore runs fn on SQLite, and on PostgreSQL when
// PICLOUD_TEST_DATABASE_URL is set.
func forEachStore(t *testing.T, fn func(t *testing.T, open func(t *testing.T) picloud.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, func(t *testing.T) picloud.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "picloud.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
	t.Run("postgres", func(t *testing.T) {
		url := os.Getenv("PICLOUD_TEST_DATABASE_URL")
		if url == "" {
			t.Skip("PICLOUD_TEST_DATABASE_URL is not set")
		}
		t.Parallel()
		fn(t, func(t *testing.T) picloud.Store { return pgtest.Open(t, url) })
	})
}

// env is a running application behind an httptest server.
type env struct {
	t     *testing.T
	app   *app.App
	store picloud.Store
	srv   *httptest.Server
}

func newEnv(t *testing.T, store picloud.Store, cfg app.Config) *env {
	t.Helper()
	ctx := context.Background()
	if _, err := manager.EnsureAdminToken(ctx, store, testToken); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	a.Start(ctx)
	srv := httptest.NewServer(a.Handler())
	srv.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	t.Cleanup(func() {
		srv.Close()
		a.Stop(context.Background())
	})
	return &env{t: t, app: a, store: store, srv: srv}
}

// request sends a request; hdr alternates names and values.
func (e *env) request(method, path string, body []byte, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// admin sends an admin API call with the token and decodes the JSON answer.
func (e *env) admin(method, path string, in any) (int, map[string]any) {
	e.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	resp, b := e.request(method, path, body, "Authorization", "Bearer "+testToken, "Content-Type", "application/json")
	out := map[string]any{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			e.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode, out
}

// create makes a script and returns its id.
func (e *env) create(name, source string, extra ...any) string {
	e.t.Helper()
	in := map[string]any{"name": name, "source": source}
	for i := 0; i+1 < len(extra); i += 2 {
		in[extra[i].(string)] = extra[i+1]
	}
	code, out := e.admin("POST", "/api/scripts", in)
	if code != http.StatusCreated {
		e.t.Fatalf("create %s: %d %v", name, code, out)
	}
	return out["id"].(string)
}

// logs waits until script id has at least n execution logs and returns them.
func (e *env) logs(id string, n int) []map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, out := e.admin("GET", "/api/scripts/"+id+"/logs?limit=200", nil)
		if code != 200 {
			e.t.Fatalf("logs: %d %v", code, out)
		}
		items, _ := out["items"].([]any)
		if len(items) >= n || time.Now().After(deadline) {
			if len(items) < n {
				e.t.Fatalf("logs: %d items, want %d", len(items), n)
			}
			list := make([]map[string]any, len(items))
			for i, it := range items {
				list[i] = it.(map[string]any)
			}
			return list
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func errCode(body []byte) string {
	var eb struct{ Error struct{ Code string } }
	json.Unmarshal(body, &eb)
	return eb.Error.Code
}

func errBody(t *testing.T, out map[string]any) map[string]any {
	t.Helper()
	e, ok := out["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error in %v", out)
	}
	return e
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
